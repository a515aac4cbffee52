"""No URL that MapIdeas sends, serves or redirects to carries an email address, a name or a
username, plainly or encoded: a URL ends up in access logs, browser histories, Referer headers
and mail scanners' reports, where no one erases it.

Recognisable personal strings (all of them contain MARKER) are seeded through the real flows:
a pin sent with an address and a name, its confirmation, follows by email and by account,
area alerts, comments, supports, flags, team work (assigning, answering, offline input on a
resident's behalf), the teams' emails and digests, sign-up and login. Then every URL is
collected: the links and forms of every page each role reaches (anonymous, a citizen, a team
member, a planner, staff), the answers of the API endpoints the URLconf lists, the Location
of every redirect, and every URL of every email sent (bodies, HTML alternatives, headers).
Each URL is read every way a token might hide a value: as it is, percent-decoded, and every
path segment, query key and value, and part of a Django signing token decoded as base64 and
base64url (at each alignment), zlib-inflated (signing's `.`-prefixed payloads) and as hex.
"""

import base64
import binascii
import html
import json
import re
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qsl, unquote, unquote_plus, urlencode, urljoin, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from mapideas.alerts.services import queue_area_alerts
from mapideas.models import Idea
from mapideas.notifications.services import queue_digests, send_pending
from mapideas.outcomes.fix_checks import fix_checks_queue
from neighborhoods.models import Team
from neighborhoods.roles import planners_group
from tests.conftest import IN_EAST, IN_WEST

# Every personal string contains it: found in any reading of a URL, something leaked.
MARKER = "leaky"
CITIZEN_EMAIL = "leaky.person@example.org"
CITIZEN_NAME = "Leakyfirst Leakysurname"
API_EMAIL = "leaky.api-sender@example.org"
API_NAME = "Leakyapi Sender"
FOLLOWER_EMAIL = "leaky.follower@example.org"
ALERT_EMAIL = "leaky.alerts@example.org"
OFFLINE_EMAIL = "leaky.resident@example.org"
OFFLINE_NAME = "Leakyresident Offline"
TEAM_MAILBOX = "leaky-east-team@example.org"
DIGEST_MAILBOX = "leaky-west-team@example.org"
SIGNUP_USERNAME = "leaky-signup"
SIGNUP_EMAIL = "leaky.signup@example.org"
DISPUTE_EMAILS = ("leaky.neighbour@example.org", "leaky.passer-by@example.org")
PASSWORD = "pw-for-tests"

ROLES = {
    # role: (username, email, first name, last name)
    "citizen": ("leaky-username", "leaky.user@example.org", "Leakyuserfirst", "Leakyuserlast"),
    "team member": ("leaky-member", "leaky.member@example.org", "Leakymember", "Leakyteam"),
    "planner": ("leaky-planner", "leaky.planner@example.org", "Leakyplanner", "Leakyplan"),
    "staff": ("leaky-staff", "leaky.staff@example.org", "Leakystaff", "Leakyadmin"),
}

# Pages each role starts from, besides what the URLconf lists and the emails link to.
STARTS = ["/", "/alerts/", "/teams/", "/teams/east-team/", "/teams/west-team/", "/planner/"]
STARTS += ["/staff/moderation/", "/staff/boundaries/", "/accounts/my-data/", "/admin/"]
STARTS += ["/accounts/login/", "/accounts/signup/", "/accounts/delete/", "/api/docs/"]
# Fetched, never their answers' links: the static files, the language switch (a POST) and
# logging out (a POST; a GET would end the session the crawl is reading as).
NOT_FETCHED = ("/static/", "/i18n/", "/accounts/logout/")
QUERY_IGNORED = ("/admin/", "/api/schema/", "/api/docs/", "/jsi18n/")
# Text worth reading for URLs; photos and GeoPackages are not.
TEXT_TYPES = ("text/", "json", "xml", "javascript", "csv", "kml")
# Links emailed by the flows above; each must have been read.
EMAILED_ROUTES = ["/ideas/confirm/", "/follow/confirm/", "/unsubscribe/", "/unsubscribe/team/"]
EMAILED_ROUTES += ["/alerts/confirm/", "/alerts/unsubscribe/", "/ideas/fixed/"]
EMAILED_ROUTES += ["/feedback/confirm/", "/teams/east-team/checks/"]
# Each role fetches at most this many pages (one per shape: see `shape`).
BUDGET = 400


# --- reading a URL every way it might carry a value --------------------------------------------


def _percent_decoded(text: str) -> list[str]:
    readings = [text]
    for decode in (unquote, unquote_plus):
        value = text
        for _ in range(3):  # twice-encoded values too
            decoded = decode(value)
            if decoded == value:
                break
            readings.append(decoded)
            value = decoded
    return readings


def _binary_readings(piece: str) -> Iterator[bytes]:
    """The bytes `piece` might encode: base64 or base64url at each of the four alignments
    (a value may start mid-segment), each also inflated (signing's compressed payloads), and
    hex."""
    piece = piece.strip("=")
    for start in range(4):
        chunk = piece[start:]
        if len(chunk) % 4 == 1:
            chunk = chunk[:-1]
        if len(chunk) < 4:
            break
        chunk += "=" * (-len(chunk) % 4)
        for alphabet in (b"-_", b"+/"):
            try:
                raw = base64.b64decode(chunk, altchars=alphabet)
            except (binascii.Error, ValueError):
                continue
            yield raw
            try:  # a truncated stream still gives what it holds
                inflated = zlib.decompressobj().decompress(raw)
            except zlib.error:
                continue
            yield inflated
    if len(piece) >= 8 and len(piece) % 2 == 0 and re.fullmatch(r"[0-9a-fA-F]+", piece):
        yield bytes.fromhex(piece)


def readings(url: str, depth: int = 2) -> Iterator[str]:
    """Every text `url` may be read as, lowercased."""
    for text in _percent_decoded(url):
        yield text.lower()
        if depth == 0:
            continue
        # Path segments, query keys and values, fragments, the parts of a signing token
        # (payload:timestamp:signature, a compressed payload after its leading `.`).
        pieces = set(re.split(r"[/?&=#:;,.@\s]+", text)) | set(re.split(r"[?&=#:;,.\s]+", text))
        for piece in pieces:
            if len(piece) < 4:
                continue
            for raw in _binary_readings(piece):
                yield raw.decode("latin-1").lower()
                yield raw.decode("utf-8", "ignore").lower()
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if len(text) >= 4 and text.isprintable():
                    # Text that decoded cleanly may itself be encoded: read it again.
                    yield from readings(text, depth - 1)


def personal_reading(url: str) -> str | None:
    """The reading of `url` that shows a personal string, or None."""
    return next((text for text in readings(url) if MARKER in text), None)


def test_the_reader_finds_what_tokens_hide():
    """The reader itself: each way a value can hide in a URL is found, and a plain one isn't."""
    from django.core import signing

    email = CITIZEN_EMAIL
    hidden = [
        f"/ideas/confirm/{signing.dumps([402, email], salt='s')}/",
        f"/x/{signing.dumps({'e': email, 'pad': 'z' * 200}, compress=True)}/",
        f"/teams/east-team/?assignee={email.replace('@', '%40')}",
        f"/x/?next=%2Fteams%2F%3Fassignee%3D{email.replace('@', '%2540')}",
        f"/x/{base64.urlsafe_b64encode(('ab' + email).encode()).decode().rstrip('=')}/",
        f"/x/{base64.b64encode(email.encode()).decode()}",
        f"/x/{email.encode().hex()}/",
        f"/x/?t=1:{base64.urlsafe_b64encode(json.dumps([1, email]).encode()).decode()}",
    ]
    for url in hidden:
        assert personal_reading(url), url
    plain = [
        f"/ideas/confirm/{signing.dumps([402, 'a' * 20], salt='s')}/",
        f"/unsubscribe/{signing.dumps(42, salt='s')}/",
        "/teams/east-team/?assignee=7&page=2",
    ]
    for url in plain:
        assert personal_reading(url) is None, url


# --- finding the URLs of an answer ------------------------------------------------------------


class _Links(HTMLParser):
    """The URLs of a page: every attribute that holds one, and what its GET forms would ask
    for (one URL per choice of each select, as a browser sends them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.forms: list[dict] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if name in {"href", "src", "action", "formaction", "poster", "data"} or (
                name.startswith("data-") and re.match(r"(https?:|/|\?)", value)
            ):
                self.urls.append(value)
            if name == "srcset":
                self.urls += [part.split()[0] for part in value.split(",") if part.split()]
            if name == "content" and "url=" in value.lower():  # meta refresh
                self.urls.append(value.split("=", 1)[1])
        if tag == "form":
            self.forms.append(
                {"method": values.get("method", "get").lower(), "action": values.get("action")}
                | {"fields": [], "choices": {}}
            )
        elif self.forms and tag in {"input", "textarea", "button"} and values.get("name"):
            if values.get("type") not in {"file", "password"}:
                self.forms[-1]["fields"].append((values["name"], values.get("value", "")))
        elif self.forms and tag == "select":
            self._select = values.get("name")
            if self._select:
                self.forms[-1]["choices"][self._select] = []
        elif self.forms and tag == "option" and self._select:
            self.forms[-1]["choices"][self._select].append(values.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _form_urls(page_url: str, form: dict) -> Iterator[str]:
    if form["method"] != "get":
        return
    action = form["action"] or page_url.split("?")[0]
    fields = list(form["fields"])
    yield f"{action}?{urlencode(fields)}"
    for name, choices in form["choices"].items():
        for choice in choices:
            yield f"{action}?{urlencode([*fields, (name, choice)])}"


TEXT_URL = re.compile(r"""(?:https?|mailto):[^\s"'<>\\)\]]+|(?<=["'])/[^"'\s<>\\]*(?=["'])""")


def urls_of(response, page_url: str) -> list[str]:
    """Every URL an answer gives: its headers', its body's (any text), its forms'."""
    urls = []
    for header in ("Location", "Link", "Refresh", "Content-Location", "List-Unsubscribe"):
        if header in response.headers:
            urls += re.findall(r"<([^>]+)>", response.headers[header]) or [response.headers[header]]
    content_type = response.headers.get("Content-Type", "")
    if response.streaming or not any(kind in content_type for kind in TEXT_TYPES):
        return urls
    text = response.content.decode(response.charset or "utf-8", "replace")
    # In a page, the URLs in scripts and data attributes too, as the browser reads them.
    urls += TEXT_URL.findall(html.unescape(text) if "html" in content_type else text)
    if "html" in content_type:
        links = _Links()
        links.feed(text)
        urls += links.urls
        for form in links.forms:
            urls += _form_urls(page_url, form)
    elif "json" in content_type:
        urls += list(_json_strings(response.json()))
    return urls


def _json_strings(value) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_strings(key)
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)
    elif isinstance(value, str) and re.match(r"(https?:|mailto:|/|\?)", value):
        yield value


def email_urls(message) -> Iterator[str]:
    bodies = [message.body, message.subject]
    bodies += [content for content, _type in getattr(message, "alternatives", [])]
    bodies += [str(value) for value in message.extra_headers.values()]
    for body in bodies:
        yield from TEXT_URL.findall(body)
        yield from re.findall(r"<(https?:[^>]+)>", body)


# --- the crawl --------------------------------------------------------------------------------


@dataclass
class Crawl:
    leaks: dict[str, str] = field(default_factory=dict)  # URL: where it was found, as what
    # A page that fails is a page not read: the promise cannot be said to hold.
    failed: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)
    fetched: int = 0

    def check(self, url: str, where: str) -> None:
        if url in self.checked:
            return
        self.checked.add(url)
        found = personal_reading(url)
        if found is not None:
            self.leaks[url] = f"from {where}; reads as {found[:160]!r}"

    def answer(self, response, url: str, where: str) -> list[str]:
        """Checks every URL of an answer; returns those of this site, as paths."""
        found = []
        for link in urls_of(response, url):
            self.check(link, f"{where}: {url}")
            path = local_path(link, base=url)
            if path is not None:
                found.append(path)
        return found


def local_path(url: str, *, base: str) -> str | None:
    """`url` as a path on this site, or None when it leads elsewhere."""
    site = urlsplit(settings.MAPIDEAS_SITE_URL).netloc
    parts = urlsplit(urljoin(base, url))
    if parts.scheme not in {"", "http", "https"} or parts.netloc not in {"", "testserver", site}:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def shape(path: str) -> str:
    """What two URLs share when fetching both would show nothing more: the path with its
    numbers and tokens blanked, and the names (not the values) of its query; only the path
    for Django's admin (its sorting and filtering) and the API's description (its formats)."""
    parts = urlsplit(path)
    segments = ["T" if len(s) > 24 else re.sub(r"\d+", "0", s) for s in parts.path.split("/")]
    keys = sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
    if parts.path.startswith(QUERY_IGNORED):
        keys = []
    return "/".join(segments) + "?" + "&".join(keys)


def crawl(client: Client, starts: list[str], crawled: Crawl, role: str) -> None:
    queue = deque(starts)
    seen: set[str] = set()
    fetched = 0
    while queue and fetched < BUDGET:
        path = queue.popleft()
        if shape(path) in seen or path.startswith(NOT_FETCHED):
            continue
        seen.add(shape(path))
        fetched += 1
        response = client.get(path)
        if response.status_code >= 500:
            crawled.failed.append(f"{role}: GET {path}: {response.status_code}")
        queue += crawled.answer(response, path, f"{role} page")
    crawled.fetched += fetched


def api_paths(values: dict) -> list[str]:
    """A path for every named route of the URLconf whose arguments `values` can fill."""
    paths = []

    def walk(patterns, namespace: str = "") -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue  # reached by the crawl, from /admin/
                prefix = f"{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names = list(pattern.pattern.regex.groupindex)
                if any(name not in values for name in names):
                    continue
                try:
                    paths.append(
                        reverse(namespace + pattern.name, kwargs={n: values[n] for n in names})
                    )
                except NoReverseMatch:
                    continue

    walk(get_resolver().url_patterns)
    return paths


# --- the people and their doings --------------------------------------------------------------


def make_person(role: str, city) -> tuple[Client, object]:
    username, email, first, last = ROLES[role]
    user = get_user_model().objects.create_user(
        username=username, email=email, password=PASSWORD, first_name=first, last_name=last
    )
    if role == "team member":
        city.east_team.members.add(user)
    if role == "planner":
        user.groups.add(planners_group())
    if role == "staff":
        user.is_staff = user.is_superuser = True
        user.save()
    client = Client()
    client.force_login(user)
    return client, user


def sent_emails(crawled: Crawl) -> list:
    """Sends what the outbox holds, and returns every email sent so far (the outbox's and any
    sent directly), with their URLs checked."""
    send_pending()
    for message in mail.outbox:
        for url in email_urls(message):
            crawled.check(url, f"email to {message.to}: {message.subject!r}")
    return list(mail.outbox)


def links_in(messages, fragment: str) -> list[str]:
    paths = []
    for message in messages:
        for url in email_urls(message):
            path = local_path(url, base="/")
            if path and fragment in path:
                paths.append(path)
    return paths


def post(client: Client, crawled: Crawl, path: str, data=None, **extra):
    response = client.post(path, data or {}, **extra)
    assert response.status_code < 500, (path, response.status_code)
    crawled.answer(response, path, "answer to a POST")
    return response


@pytest.mark.django_db
def test_no_url_carries_personal_data(city, category, mailoutbox):
    crawled = Crawl()
    Team.objects.filter(pk=city.east_team.pk).update(
        notify=Team.Notify.EACH, notify_email=TEAM_MAILBOX
    )
    Team.objects.filter(pk=city.west_team.pk).update(
        notify=Team.Notify.DAILY, notify_email=DIGEST_MAILBOX
    )
    people = {role: make_person(role, city) for role in ROLES}
    citizen, member, staff = people["citizen"][0], people["team member"][0], people["staff"][0]
    anonymous = Client()

    # A pin sent from the map's form with an address and a name; one from the API too.
    pin = {
        "kind": "issue",
        "title": "Swing chain snapped",
        "description": "Near the pond.",
        "category": "parks-green-space",
        "latitude": str(IN_EAST.y),
        "longitude": str(IN_EAST.x),
        "email": CITIZEN_EMAIL,
        "name": CITIZEN_NAME,
    }
    assert post(anonymous, crawled, "/", pin).status_code == 302
    answer = post(
        anonymous,
        crawled,
        "/api/ideas/",
        json.dumps(
            {
                "kind": "idea",
                "title": "More benches",
                "category": "parks-green-space",
                "location": {"type": "Point", "coordinates": [IN_WEST.x, IN_WEST.y]},
                "email": API_EMAIL,
                "name": API_NAME,
            }
        ),
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    east_pin = Idea.objects.get(contact_email=CITIZEN_EMAIL)

    # Its author confirms it; an address follows it and confirms; another asks for alerts.
    to_author = [m for m in sent_emails(crawled) if m.to == [CITIZEN_EMAIL]]
    (confirm,) = links_in(to_author, "/ideas/confirm/")
    crawled.answer(anonymous.get(confirm), confirm, "the pin's confirmation page")
    assert post(anonymous, crawled, confirm).status_code == 302
    post(anonymous, crawled, f"/ideas/{east_pin.pk}/follow/", {"email": FOLLOWER_EMAIL})
    post(
        anonymous,
        crawled,
        f"/api/ideas/{east_pin.pk}/follow/",
        json.dumps({"email": "leaky.api-follower@example.org"}),
        content_type="application/json",
    )
    post(
        anonymous,
        crawled,
        "/alerts/",
        {"email": ALERT_EMAIL, "frequency": "immediate", "neighborhood": "east-side"},
    )
    post(
        anonymous,
        crawled,
        "/api/subscriptions/",
        json.dumps(
            {
                "email": "leaky.api-alerts@example.org",
                "point": {"type": "Point", "coordinates": [IN_EAST.x, IN_EAST.y]},
                "radius_m": 500,
            }
        ),
        content_type="application/json",
    )
    for path in links_in(sent_emails(crawled), "/confirm/"):
        post(anonymous, crawled, path)

    # A citizen signs in, supports, comments, follows and flags.
    post(
        Client(),
        crawled,
        "/accounts/login/?next=/teams/",
        {"username": ROLES["citizen"][0], "password": PASSWORD},
    )
    post(citizen, crawled, f"/ideas/{east_pin.pk}/support/")
    post(citizen, crawled, f"/ideas/{east_pin.pk}/comments/", {"text": "Same on my street."})
    post(citizen, crawled, f"/ideas/{east_pin.pk}/follow/")
    post(citizen, crawled, f"/ideas/{east_pin.pk}/flag/", {"reason": "other"})
    post(citizen, crawled, "/", {**pin, "email": "", "name": "", "title": "Broken bench"})

    # The team works: assigns, notes, answers (the followers get an email), enters a letter.
    post(member, crawled, f"/ideas/{east_pin.pk}/assign/", {"assignee": ROLES["team member"][0]})
    post(member, crawled, f"/ideas/{east_pin.pk}/notes/", {"text": "Parks crew on Monday."})
    post(
        member,
        crawled,
        f"/ideas/{east_pin.pk}/status/",
        {"status": "acknowledged", "answer": "Thank you, we are on it."},
    )
    post(
        member,
        crawled,
        "/teams/east-team/offline/",
        {
            "kind": "issue",
            "title": "Letter about the fountain",
            "category": "parks-green-space",
            "latitude": str(IN_EAST.y),
            "longitude": str(IN_EAST.x),
            "channel": "letter",
            "contact_name": OFFLINE_NAME,
            "contact_email": OFFLINE_EMAIL,
            "send_follow_link": "on",
        },
    )
    post(staff, crawled, f"/ideas/{east_pin.pk}/status/", {"status": "planned", "answer": "Soon."})
    # The pin is marked done; a week later its author and followers are asked "Is it fixed?".
    post(member, crawled, f"/ideas/{east_pin.pk}/status/", {"status": "done", "answer": "Done."})
    fix_checks_queue(now=Idea.objects.get(pk=east_pin.pk).closed_at + timedelta(days=7))

    # Someone signs up, and someone tries with an address that has an account; whatever
    # sign-up emails is read with the rest, and its links followed.
    for email in (SIGNUP_EMAIL, ROLES["citizen"][1]):
        post(
            Client(),
            crawled,
            "/accounts/signup/",
            {
                "username": SIGNUP_USERNAME if email == SIGNUP_EMAIL else "",
                "email": email,
            },
        )
    for path in links_in(sent_emails(crawled), "/signup/"):
        crawled.answer(Client().get(path), path, "a sign-up link")
        chosen = {
            "password": "a long pass phrase 8841",
            "password_again": "a long pass phrase 8841",
        }
        if "/signup/confirm/" in path:
            # Choosing the password activates the account: its redirect is read too.
            assert post(Client(), crawled, path, chosen).status_code == 302

    # The alerts and the digests go out; every email is read and its links opened.
    queue_area_alerts()
    queue_digests()
    emails = sent_emails(crawled)
    assert len(emails) >= 8, [message.subject for message in emails]
    email_links = links_in(emails, "/")
    crawl(Client(), email_links, crawled, "email link")
    for path in links_in(emails, "unsubscribe"):
        post(Client(), crawled, path)
    for path in links_in(emails, "/ideas/fixed/")[:2]:
        post(Client(), crawled, path, {"answer": "yes"})

    # Two residents on two networks say it is still there, each with an address: the links
    # that confirm their answers are read and followed, and the second reopens the pin (the
    # team's threshold is 2), which emails the team its check queue and the followers.
    Team.objects.filter(pk=city.east_team.pk).update(reopen_threshold=2)
    for index, email in enumerate(DISPUTE_EMAILS):
        resident = Client(REMOTE_ADDR=f"10.0.0.{index + 1}")
        dispute = {"verdict": "still_there", "note": "Still snapped.", "email": email}
        post(resident, crawled, f"/ideas/{east_pin.pk}/feedback/", dispute)
        for path in links_in([m for m in sent_emails(crawled) if m.to == [email]], "/feedback/"):
            crawled.answer(resident.get(path), path, "a verdict's confirmation link")
            assert post(resident, crawled, path).status_code == 302
    assert Idea.objects.get(pk=east_pin.pk).status == Idea.Status.IN_PROGRESS
    later = [m for m in sent_emails(crawled) if m not in emails]
    crawl(Client(), links_in(later, "/"), crawled, "email link")

    # Every page each role reaches, and every endpoint the URLconf lists.
    values = {"pk": east_pin.pk, "slug": "east-team", "collectionId": "ideas"}
    starts = STARTS + api_paths(values)
    crawl(anonymous, starts, crawled, "anonymous")
    for role, (client, _user) in people.items():
        crawl(client, starts, crawled, role)

    # The crawl read what it set out to read: every kind of emailed link among them.
    read = " ".join(crawled.checked)
    for route in EMAILED_ROUTES:
        assert route in read, f"no {route} link was read: did its flow send nothing?"
    assert crawled.fetched > 100 and len(crawled.checked) > 500, (crawled.fetched, crawled.checked)
    assert not crawled.failed, crawled.failed
    assert not crawled.leaks, "URLs with personal data:\n" + "\n".join(
        f"{url}\n    ({where})" for url, where in sorted(crawled.leaks.items())
    )
