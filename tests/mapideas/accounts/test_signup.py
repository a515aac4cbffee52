"""`/accounts/signup/`: a citizen's account, completed through a link emailed to the address
given, so the page answers the same whether the address already has an account or not (its
owner gets an email saying someone tried instead). The sign-up form asks for an address and,
optionally, a username that is never the address; the link's page asks for the password
(Django's validators), so whoever reads the mailbox chooses it, not whoever signed up. At
most MAPIDEAS_RATE_SIGNUP per client IP address; linked from the header and the login page,
and only when the city takes pins from signed-in people. Sign-ups never confirmed have no
password, cannot log in and are deleted once their link has expired."""

import base64
import binascii
import contextlib
import re
from datetime import timedelta
from io import StringIO
from urllib.parse import unquote, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains
from rest_framework.test import APIClient

from mapideas.accounts.services import DUPLICATE_USERNAME_MESSAGE
from mapideas.models import EmailOutbox, Idea
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

URL = "/accounts/signup/"
PASSWORD = "river-lantern-copper-71"
ADDRESS = "zq.citizen@mail.example"
KNOWN = "zq.owner@mail.example"
# The emailed link, as the email writes it (absolute, on MAPIDEAS_SITE_URL).
LINK = re.compile(r"https?://[^\s/]+(/accounts/signup/confirm/\S+)")
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def form(**overrides) -> dict:
    """The sign-up form: no password (the link's page asks for it)."""
    return {"username": "zq-citizen", "email": ADDRESS, **overrides}


def passwords(password: str = PASSWORD, again: str | None = None, **extra) -> dict:
    """The link's page's form: the new password, twice."""
    return {"password": password, "password_again": password if again is None else again, **extra}


def emails_to(address: str) -> list[EmailOutbox]:
    return list(EmailOutbox.objects.filter(to__iexact=address).order_by("pk"))


def link_to(address: str) -> str:
    """The path of the last sign-up link emailed to `address`."""
    found = LINK.findall(emails_to(address)[-1].body)
    assert found, emails_to(address)[-1].body
    return found[-1]


def signed_in(client: Client):
    return client.get("/").context["user"]


@pytest.fixture
def owner(make_user):
    """An account that already uses the address KNOWN."""
    user = make_user("zq-owner", password=PASSWORD)
    user.email = KNOWN
    user.save()
    return user


@pytest.fixture
def clock(monkeypatch):
    """Moves Django's clock (timezone.now) forward."""

    def later(delta: timedelta) -> None:
        moved = timezone.now() + delta
        monkeypatch.setattr(timezone, "now", lambda: moved)

    return later


def test_it_is_linked_from_the_header_and_the_login_page(client, city):
    assertContains(client.get("/"), f'href="{URL}"')
    assertContains(client.get("/accounts/login/"), f'href="{URL}"')
    page = client.get(URL)
    assert page.status_code == 200
    for field in ("username", "email"):
        assertContains(page, f'name="{field}"')
    assert 'type="password"' not in page.text  # chosen on the link's page


# --- The same answer for every address ---------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"username": ""},
        {"password": "x", "password_again": "y"},  # a password typed anyway is ignored
        {"username": "no spaces allowed"},
        {"username": "zq@example"},
    ],
    ids=["valid", "no-username", "password-typed", "bad-username", "username-with-at"],
)
def test_known_and_unknown_addresses_get_the_same_answer(city, owner, overrides):
    known = Client().post(URL, form(email=KNOWN, **overrides))
    unknown = Client().post(URL, form(email=ADDRESS, **overrides))

    assert known.status_code == unknown.status_code
    assert known.headers.get("Location") == unknown.headers.get("Location")
    # Alike but for the CSRF token and the address typed (a form with errors shows it again).
    assert CSRF.sub(b"", known.content).replace(KNOWN.encode(), b"ADDRESS") == CSRF.sub(
        b"", unknown.content
    ).replace(ADDRESS.encode(), b"ADDRESS")
    assert b"already uses" not in known.content


def test_a_sign_up_signs_nobody_in_and_sends_the_link(client, city):
    response = client.post(URL, form())

    assert response.status_code == 200
    assertContains(response, "email")
    assert not signed_in(client).is_authenticated
    assert not get_user_model().objects.get(email=ADDRESS).has_usable_password()
    (email,) = emails_to(ADDRESS)
    assert LINK.search(email.body)
    assert "zq-citizen" in email.body  # the username it logs in with


def test_the_link_activates_the_account_signs_it_in_and_goes_to_next(client, city):
    client.post(URL, form(next="/ideas/"))
    link = link_to(ADDRESS)

    page = client.get(link)
    assert page.status_code == 200  # a form: a mail scanner opening the link does nothing
    assertContains(page, "zq-citizen")  # the username it will log in with
    assertContains(page, ADDRESS)  # whose account: a link someone else sent shows it is not
    for field in ("password", "password_again"):
        assertContains(page, f'name="{field}"')
    assertContains(page, 'autocomplete="new-password"')
    assert not get_user_model().objects.get(username="zq-citizen").is_active
    assert "no-store" in page["Cache-Control"]
    response = client.post(link, passwords(next=page.context["next"]))

    assert response.status_code == 302
    assert response["Location"] == "/ideas/"
    user = get_user_model().objects.get(username="zq-citizen")
    assert user.is_active and user.email == ADDRESS
    assert user.check_password(PASSWORD)
    assert not user.is_staff and not user.is_superuser
    assert signed_in(client) == user
    assert Client().login(username="zq-citizen", password=PASSWORD)


def test_the_link_goes_to_the_map_when_next_is_another_host(client, city):
    client.post(URL, form(next="https://evil.example/"))
    link = link_to(ADDRESS)
    response = client.post(link, passwords(next="https://evil.example/"))

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_link_works_once(client, city):
    client.post(URL, form())
    link = link_to(ADDRESS)
    assert client.post(link, passwords()).status_code == 302

    other = Client()
    for response in (other.get(link), other.post(link, passwords("another-lantern-river-9"))):
        assert response.status_code in (400, 404)
        assertContains(response, "link", status_code=response.status_code)
    assert not signed_in(other).is_authenticated
    assert Client().login(username="zq-citizen", password=PASSWORD)


def test_the_link_expires(client, city, clock):
    client.post(URL, form())
    link = link_to(ADDRESS)
    clock(timedelta(days=8))

    for response in (client.get(link), client.post(link, passwords())):
        assert response.status_code in (400, 404)
        assertContains(response, "link", status_code=response.status_code)
    assert not signed_in(client).is_authenticated
    assert not get_user_model().objects.filter(is_active=True).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/signup/confirm/1/forged/",
        "/accounts/signup/confirm/9223372036854775808/forged/",
        "/accounts/signup/confirm/0/1-2-3/",
    ],
)
def test_a_forged_link_is_a_clear_page_not_an_error(client, city, path):
    client.post(URL, form())
    user = get_user_model().objects.get(email=ADDRESS)
    for candidate in (path, path.replace("/1/", f"/{user.pk}/")):
        for response in (client.get(candidate), client.post(candidate, passwords())):
            assert response.status_code in (400, 404)
    pending = get_user_model().objects.get(email=ADDRESS)
    assert not pending.is_active and not pending.has_usable_password()


def test_a_link_for_another_account_opens_nothing(client, city):
    client.post(URL, form())
    client.post(URL, form(username="zq-second", email="zq.second@mail.example"))
    first = get_user_model().objects.get(email=ADDRESS)
    second_link = link_to("zq.second@mail.example")
    swapped = re.sub(r"/confirm/\d+/", f"/confirm/{first.pk}/", second_link)

    assert client.post(swapped, passwords()).status_code in (400, 404)
    assert not get_user_model().objects.filter(is_active=True).exists()


def test_a_sign_up_made_by_someone_else_cannot_hold_the_account(city):
    """The password is chosen by whoever follows the link. Someone signs up with another
    person's address and a password of their own; the owner of the address follows the link.
    The account is the owner's: its password is the one the owner chooses on the link's page,
    and the one typed at sign-up opens nothing, before or after."""
    intruder = Client()
    intruder.post(URL, form(password=PASSWORD, password_again=PASSWORD))
    assert not Client().login(username="zq-citizen", password=PASSWORD)

    owner = Client()
    link = link_to(ADDRESS)
    owners_password = "quarry-meadow-falcon-38"
    response = owner.post(link, {"password": owners_password, "password_again": owners_password})

    assert response.status_code == 302
    assert signed_in(owner).email == ADDRESS
    assert not Client().login(username="zq-citizen", password=PASSWORD), (
        "the password typed at sign-up opens the account its address's owner activated"
    )
    assert not signed_in(intruder).is_authenticated
    assert Client().login(username="zq-citizen", password=owners_password)


# --- A known address ---------------------------------------------------------------------------


def test_a_known_address_gets_an_email_saying_so_and_no_account_is_made(client, city, owner):
    response = client.post(URL, form(email="ZQ.Owner@Mail.Example"))

    assert response.status_code == 200
    assert list(get_user_model().objects.all()) == [owner]
    assert not signed_in(client).is_authenticated
    (email,) = emails_to(KNOWN)
    assert "/accounts/login/" in email.body
    assert "zq-owner" in email.body  # the username to log in with
    assert not LINK.search(email.body)
    assert owner.password == get_user_model().objects.get(pk=owner.pk).password


def test_an_unconfirmed_sign_up_gets_a_new_link(client, city):
    client.post(URL, form())
    first_link = link_to(ADDRESS)
    again = Client().post(URL, form(username="zq-again"))
    assert again.status_code == 200
    assert len(emails_to(ADDRESS)) == 2
    assert get_user_model().objects.filter(email__iexact=ADDRESS).count() == 1

    # The latest sign-up is the one the link completes; the first link no longer works.
    assert client.post(first_link, passwords()).status_code in (400, 404)
    assert client.post(link_to(ADDRESS), passwords("copper-river-lantern-72")).status_code == 302
    user = signed_in(client)
    assert user.get_username() == "zq-again"
    assert user.check_password("copper-river-lantern-72")


# --- The username ------------------------------------------------------------------------------


def test_the_username_is_never_the_email_address(client, city):
    response = client.post(URL, form(username="", email="Zq.Other@Mail.Example"))

    assert response.status_code == 200
    user = get_user_model().objects.get()
    assert user.email == "Zq.Other@mail.example"
    assert "@" not in user.username
    assert "zq" not in user.username.lower() and "other" not in user.username.lower()
    assert user.username.startswith("citizen-")
    assert user.username in emails_to(user.email)[-1].body  # told how to log in
    client.post(link_to(user.email), passwords())
    assert Client().login(username=user.username, password=PASSWORD)


@pytest.mark.parametrize("taken", [True, False])
def test_a_username_like_an_address_is_refused_whoever_has_it(client, city, make_user, taken):
    if taken:
        make_user("zq.owner@mail.example")  # an older account, named by its address

    response = client.post(URL, form(username="zq.owner@mail.example"))

    assert response.status_code == 400
    (error,) = response.context["form"].errors["username"]
    assert "@" in error
    assert not emails_to(ADDRESS)


def test_a_taken_username_is_a_field_error(client, city, make_user):
    make_user("ZQ-Citizen")

    response = client.post(URL, form())

    assert response.status_code == 400
    assert response.context["form"].errors["username"] == [DUPLICATE_USERNAME_MESSAGE]
    assert not emails_to(ADDRESS)


# --- The password, chosen on the link's page ---------------------------------------------------


@pytest.mark.parametrize(
    ("password", "words"),
    [("short1", "too short"), ("password123", "too common"), ("83920174650", "entirely numeric")],
)
def test_weak_passwords_meet_django_validators(client, city, password, words):
    client.post(URL, form())
    link = link_to(ADDRESS)

    response = client.post(link, passwords(password))

    assert response.status_code == 400
    errors = response.context["form"].errors["password"]
    assert any(words in error for error in errors), errors
    assert not signed_in(client).is_authenticated
    pending = get_user_model().objects.get(email=ADDRESS)
    assert not pending.is_active and not pending.has_usable_password()
    # The link still works: the person tries another password.
    assert client.post(link, passwords()).status_code == 302


@pytest.mark.parametrize("like", ["lanternriver", "zqcitizen-mail"])
def test_a_password_like_the_username_or_the_address_is_refused(client, city, like):
    client.post(URL, form(username="lanternriver"))

    response = client.post(link_to(ADDRESS), passwords(like))

    assert response.status_code == 400
    assert any("similar" in e for e in response.context["form"].errors["password"])


@pytest.mark.parametrize(
    "data",
    [passwords(again=PASSWORD + "x"), {"password": PASSWORD}, {}],
    ids=["differ", "once", "none"],
)
def test_the_two_passwords_must_be_given_and_match(client, city, data):
    client.post(URL, form())

    response = client.post(link_to(ADDRESS), data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "password_again" in errors or "password" in errors
    assert set(errors) <= {"password", "password_again"}
    assert not get_user_model().objects.get(email=ADDRESS).is_active


class CountingHasher(MD5PasswordHasher):
    """Django's MD5 hasher (the tests' own), counting the hashes it makes."""

    made = 0

    def encode(self, password, salt):
        CountingHasher.made += 1
        return super().encode(password, salt)


def test_no_sign_up_hashes_a_password_whatever_the_address(client, city, owner, settings):
    """What keeps the answer's time alike: a hash costs far more than anything else a sign-up
    does, and no path makes one (new address, sign-up never completed, known address)."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.made = 0

    for address in (ADDRESS, ADDRESS, KNOWN):
        assert (
            client.post(URL, form(username="", email=address, password=PASSWORD)).status_code == 200
        )

    assert CountingHasher.made == 0
    assert len(emails_to(ADDRESS)) == 2 and len(emails_to(KNOWN)) == 1
    # The hasher is in use: following the link hashes the password chosen there.
    client.post(link_to(ADDRESS), passwords())
    assert CountingHasher.made == 1


# --- The sign-up form's fields -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("email", "not-an-address"), ("username", "no spaces allowed")]
)
def test_bad_fields_are_named(client, city, field, value):
    response = client.post(URL, form(**{field: value}))

    assert response.status_code == 400
    assert field in response.context["form"].errors


# --- Unconfirmed accounts ----------------------------------------------------------------------


def test_an_unconfirmed_account_cannot_log_in_nor_pin(client, city, category, settings):
    client.post(URL, form())
    pending = get_user_model().objects.get(email=ADDRESS)

    # It has no password: none typed, not even an empty one, logs it in.
    for password in (PASSWORD, ""):
        response = client.post("/accounts/login/", {"username": "zq-citizen", "password": password})
        assert response.status_code == 200  # the form again, with its error
        assert not signed_in(client).is_authenticated

    # Even a session made for it is no one's.
    api = APIClient()
    api.force_login(pending)
    settings.MAPIDEAS_SUBMISSION_MODES = ("account",)
    answer = api.post(
        "/api/ideas/",
        {
            "kind": "issue",
            "title": "Broken bench",
            "category": category.slug,
            "location": {"type": "Point", "coordinates": [IN_EAST.x, IN_EAST.y]},
        },
        format="json",
    )
    assert answer.status_code == 403
    assert not Idea.objects.exists()


def run_purge() -> None:
    call_command("send_notifications", stdout=StringIO(), stderr=StringIO())


def test_unconfirmed_sign_ups_are_deleted_once_their_link_has_expired(
    client, city, clock, make_user
):
    client.post(URL, form())
    confirmed = Client()
    confirmed.post(URL, form(username="zq-confirmed", email="zq.confirmed@mail.example"))
    confirmed.post(link_to("zq.confirmed@mail.example"), passwords())
    # An account staff switched off is not a sign-up: it stays.
    switched_off = make_user("zq-switched-off")
    switched_off.is_active = False
    switched_off.save()

    clock(timedelta(days=6))
    run_purge()
    assert get_user_model().objects.filter(username="zq-citizen").exists()

    clock(timedelta(days=2))  # 8 days after the sign-up: its link expired
    run_purge()
    assert set(get_user_model().objects.values_list("username", flat=True)) == {
        "zq-confirmed",
        "zq-switched-off",
    }
    # Its username and address are free again.
    assert Client().post(URL, form()).status_code == 200


# --- No personal data in the links -------------------------------------------------------------


def _decodings(part: str) -> list[str]:
    found = [part, unquote(part)]
    for candidate in re.split(r"[^A-Za-z0-9_-]+", part):
        padded = candidate + "=" * (-len(candidate) % 4)
        with contextlib.suppress(binascii.Error, ValueError):
            found.append(base64.urlsafe_b64decode(padded).decode("utf-8", "replace"))
    return found


def test_the_emails_put_no_personal_data_in_their_links(client, city, owner):
    client.post(URL, form(username="zq-citizen", next="/ideas/"))
    client.post(URL, form(username="zq-other", email=KNOWN))

    personal = ["zq.citizen", "zq.owner", "zq-citizen", "zq-owner", "mail.example"]
    urls = [url for e in EmailOutbox.objects.all() for url in re.findall(r"https?://\S+", e.body)]
    assert urls
    for url in urls:
        parts = urlsplit(url)
        for decoded in _decodings(parts.path + "?" + parts.query):
            assert not any(p in decoded.lower() for p in personal), (url, decoded)


# --- Limits and the city's choice --------------------------------------------------------------


def test_it_is_rate_limited_per_address(client, city, settings):
    settings.MAPIDEAS_RATE_SIGNUP = (2, 3600)
    for n in range(2):
        assert (
            client.post(URL, form(username=f"zq{n}", email=f"zq{n}@mail.example")).status_code
            == 200
        )

    response = client.post(URL, form(username="zq9", email="zq9@mail.example"))

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert get_user_model().objects.count() == 2


def test_it_is_off_when_accounts_are_not_a_way_to_pin(client, city, settings):
    settings.MAPIDEAS_SUBMISSION_MODES = ("email", "anonymous")

    assert client.get(URL).status_code == 404
    assert client.post(URL, form()).status_code == 404
    assert 'href="/accounts/signup/"' not in client.get("/").content.decode()
    assert not get_user_model().objects.exists()


def test_one_address_gets_at_most_its_allowance_of_sign_up_emails_from_any_network(city, settings):
    settings.MAPIDEAS_RATE_SIGNUP_EMAILS = (2, 3600)
    answers = []
    for n in range(4):
        # Each from its own network: the limit per IP address never applies.
        response = Client(REMOTE_ADDR=f"198.51.100.{n + 1}").post(
            URL, form(username=f"zq-flood-{n}")
        )
        answers.append((response.status_code, "signup-sent" in response.content.decode()))

    assert answers == [(200, True)] * 4  # the same answer, whether an email went or not
    assert len(emails_to(ADDRESS)) == 2
    # A sign-up beyond the allowance changes nothing: the username is the last one emailed.
    (pending,) = get_user_model().objects.filter(email__iexact=ADDRESS)
    assert pending.username == "zq-flood-1"


def test_a_known_address_gets_at_most_its_allowance_of_notices(city, settings, owner):
    settings.MAPIDEAS_RATE_SIGNUP_EMAILS = (2, 3600)
    for n in range(4):
        response = Client(REMOTE_ADDR=f"198.51.100.{n + 1}").post(URL, form(email=KNOWN))
        assert response.status_code == 200

    assert len(emails_to(KNOWN)) == 2
