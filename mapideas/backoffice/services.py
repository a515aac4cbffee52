"""Forwarding pins to a city's back office over Open311 GeoReport v2, and reading its answers
back: configuration (staff), the worker (`manage.py sync_backoffice`), and staff actions.

The queue's rows are written where pins are routed (mapideas.backoffice.queue). The worker
follows the rules of the webhook queue (decision 0022): a row is taken with a lease (a
conditional UPDATE; no transaction is held while the remote answers), failures back off and
are retried without end, a back office that is down is backed off as a whole. What is
particular to a back office (decision 0023):

- A POST that may have been stored without an answer (a time-out after the request was sent,
  a 5xx, an answer that cannot be read, a worker killed mid-call) is never posted again
  blindly. The row is marked SENDING before the call, so even a worker killed at any step
  leaves a trace; such a row is searched for on the remote (its requests.json, by service
  code and time window, matching the pin's reference in the description). Not found once
  the remote has had `listing_delay` to list it: posted again. Found: forwarded. A remote
  that cannot be searched, or whose capped lists cannot be narrowed enough to be sure: the
  pin is held for staff to check, and listed for them.
- Token answers are followed up (`tokens/<token>.json`) until the request id comes.
- Statuses come back in batches (`requests.json?service_request_id=a,b,c`, and FixMyStreet's
  servicerequestupdates.json where offered), applied only when the remote request changed
  since the last exchange (its updated_datetime) and after the pin's last local step, so an
  old remote state never undoes a later local decision.
"""

import base64
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from mapideas.audit import services as audit
from mapideas.backoffice import client
from mapideas.backoffice.queue import forwards_reconcile
from mapideas.models import BackofficeEndpoint, BackofficeForward, Category, Idea, IdeaUpdate
from mapideas.notifications.services import absolute
from mapideas.pins.serializers import photo_url
from mapideas.plumbing import outbound
from mapideas.plumbing.backoff import backoff
from mapideas.plumbing.stored_text import stored_text
from mapideas.workflow import services as workflow
from neighborhoods.models import Team

Forward = BackofficeForward
State = Forward.State
# How long a worker holds a row it took: longer than one outbound call may last.
CLAIM = timedelta(seconds=120)
# The remote's clock and ours may differ: the search window is widened by this each side.
CLOCK_MARGIN = timedelta(minutes=10)
# Calls one search may make while narrowing a capped list; past it the pin is held.
SEARCH_CALLS = 40
# Remote ids read per requests.json call, and forwards whose status is read per run.
IDS_PER_CALL = 50
STATUS_READS_PER_RUN = 2000
# The remote's status -> the pin's, unless the endpoint's status_map says otherwise.
DEFAULT_STATUS_MAP = {"closed": Idea.Status.DONE}
# A forward failing for longer than this is shown to staff as failing.
FAILING_AFTER = timedelta(hours=1)


# --- the API key -------------------------------------------------------------------------------


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"mapideas.backoffice.api_key:" + settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


class KeyMissing(Exception):
    """The endpoint's API key cannot be had: says why (no secret in the message)."""


def api_key(endpoint: BackofficeEndpoint) -> str:
    """The key to send: from the environment variable the endpoint names, or decrypted from
    the database (encrypted with a key derived from SECRET_KEY: a database copy alone does
    not give it away)."""
    if endpoint.api_key_env:
        value = os.environ.get(endpoint.api_key_env, "")
        if not value:
            raise KeyMissing(f"the environment variable {endpoint.api_key_env} is not set")
        return value
    if not endpoint.api_key_encrypted:
        return ""
    try:
        return _fernet().decrypt(endpoint.api_key_encrypted.encode()).decode()
    except InvalidToken:
        raise KeyMissing(
            "the stored API key cannot be decrypted (SECRET_KEY changed?): enter it again"
        ) from None


def remote_of(endpoint: BackofficeEndpoint) -> client.Remote:
    return client.Remote(
        base_url=endpoint.base_url,
        jurisdiction_id=endpoint.jurisdiction_id,
        api_key=api_key(endpoint),
    )


# --- configuration (the staff pages) -----------------------------------------------------------


def _checked_url(base_url: str) -> str:
    base_url = base_url.strip()
    try:
        outbound.check_url(base_url)
    except outbound.OutboundRefused as refused:
        raise ValidationError({"base_url": [str(refused)]}) from None
    return base_url if base_url.endswith("/") else base_url + "/"


def _audit(actor: User | AnonymousUser | None, endpoint: BackofficeEndpoint, said: str) -> None:
    audit.audit_record(
        actor=actor,
        action=audit.Action.BACKOFFICE,
        summary=audit.in_site_language(
            lambda: gettext(said) % {"name": endpoint.name, "url": endpoint.base_url}
        ),
        team=endpoint.team,
    )


def _set_key(endpoint: BackofficeEndpoint, api_key_value: str | None, api_key_env: str) -> None:
    endpoint.api_key_env = api_key_env.strip()
    if endpoint.api_key_env and not endpoint.api_key_env.replace("_", "").isalnum():
        raise ValidationError(
            {"api_key_env": [gettext("Give the name of an environment variable.")]}
        )
    if endpoint.api_key_env:
        endpoint.api_key_encrypted = ""
    elif api_key_value:
        endpoint.api_key_encrypted = _fernet().encrypt(api_key_value.strip().encode()).decode()


def endpoint_create(
    *,
    team: Team,
    name: str,
    base_url: str,
    category: Category | None = None,
    jurisdiction_id: str = "",
    api_key_value: str = "",
    api_key_env: str = "",
    searchable: bool = True,
    listing_delay: int = 600,
    reads_updates: bool = False,
    forward_from: datetime | None = None,
    actor: User | AnonymousUser | None = None,
) -> BackofficeEndpoint:
    """A team's back office (or the team's back office for one category). Its URL is refused
    when it resolves to a private address the city has not allowed (plumbing.outbound)."""
    endpoint = BackofficeEndpoint(
        team=team,
        category=category,
        name=_clean(name, "name"),
        base_url=_checked_url(base_url),
        jurisdiction_id=jurisdiction_id.strip(),
        searchable=searchable,
        listing_delay=listing_delay,
        reads_updates=reads_updates,
        forward_from=forward_from or timezone.now(),
    )
    _set_key(endpoint, api_key_value, api_key_env)
    _check_unique(endpoint)
    endpoint.full_clean(exclude=["team", "category"])
    with transaction.atomic():
        endpoint.save()
        _audit(actor, endpoint, gettext_noop("Back office %(name)s (%(url)s) added."))
    return endpoint


def _clean(text: str, field_name: str) -> str:
    try:
        cleaned = stored_text(text.strip())
    except ValidationError as refused:
        raise ValidationError({field_name: refused.messages}) from None
    if not cleaned:
        raise ValidationError({field_name: [gettext("This field is required.")]})
    return cleaned


def _check_unique(endpoint: BackofficeEndpoint) -> None:
    taken = BackofficeEndpoint.objects.filter(team=endpoint.team, category=endpoint.category)
    if endpoint.pk:
        taken = taken.exclude(pk=endpoint.pk)
    if taken.exists():
        raise ValidationError(
            {
                "category": [
                    gettext("This team already has a back office for this category.")
                    if endpoint.category_id
                    else gettext("This team already has a back office for its pins.")
                ]
            }
        )


def endpoint_update(
    endpoint: BackofficeEndpoint,
    *,
    name: str,
    base_url: str,
    jurisdiction_id: str,
    api_key_value: str | None,
    api_key_env: str,
    searchable: bool,
    listing_delay: int,
    reads_updates: bool,
    active: bool,
    actor: User | AnonymousUser | None = None,
) -> BackofficeEndpoint:
    """Change an endpoint; an empty `api_key_value` keeps the key it has. Pending forwards
    stay queued and go to the new URL."""
    endpoint.name = _clean(name, "name")
    endpoint.base_url = _checked_url(base_url)
    endpoint.jurisdiction_id = jurisdiction_id.strip()
    _set_key(endpoint, api_key_value, api_key_env)
    endpoint.searchable = searchable
    endpoint.listing_delay = listing_delay
    endpoint.reads_updates = reads_updates
    endpoint.active = active
    endpoint.full_clean(exclude=["team", "category"])
    with transaction.atomic():
        endpoint.save()
        _audit(actor, endpoint, gettext_noop("Back office %(name)s (%(url)s) changed."))
    return endpoint


def services_read(endpoint: BackofficeEndpoint) -> list[dict]:
    """Read the remote's services.json and the definitions of those with metadata, and keep
    them on the endpoint (with each service's attributes): what the mapping page offers.
    client.RemoteError or client.Unreachable say what went wrong; KeyMissing too."""
    remote = remote_of(endpoint)
    found = client.services(remote)
    for service in found:
        service["attributes"] = (
            client.service_definition(remote, service["service_code"])
            if service["metadata"]
            else []
        )
    endpoint.services = found
    endpoint.services_read_at = timezone.now()
    endpoint.save(update_fields=["services", "services_read_at"])
    return found


def mapping_set(
    endpoint: BackofficeEndpoint,
    *,
    service_codes: Mapping[str, str],
    attribute_values: Mapping[str, Mapping[str, str]],
    status_map: Mapping[str, str],
    actor: User | AnonymousUser | None = None,
) -> BackofficeEndpoint:
    """Which remote service each category goes to, the values of required attributes a pin
    does not give, and which remote status is which pin status. Every code must be one the
    remote listed (services_read), every required attribute of a chosen service filled."""
    known = {service["service_code"]: service for service in endpoint.services}
    slugs = set(Category.objects.values_list("slug", flat=True))
    errors: dict[str, list[str]] = {}
    codes = {}
    for slug, code in service_codes.items():
        code = (code or "").strip()
        if not code:
            continue
        if slug not in slugs:
            errors.setdefault("service_codes", []).append(
                gettext("%(slug)s is not a category.") % {"slug": slug}
            )
        elif known and code not in known:
            errors.setdefault("service_codes", []).append(
                gettext("%(code)s is not a service of this back office.") % {"code": code}
            )
        else:
            codes[slug] = code
    values: dict[str, dict[str, str]] = {}
    for code in set(codes.values()):
        given = {k: str(v).strip() for k, v in (attribute_values.get(code) or {}).items()}
        for attribute in known.get(code, {}).get("attributes", []):
            if attribute["required"] and not given.get(attribute["code"]):
                errors.setdefault("attribute_values", []).append(
                    gettext("%(service)s needs a value for %(attribute)s.")
                    % {"service": code, "attribute": attribute["code"]}
                )
        values[code] = {k: v for k, v in given.items() if v}
    statuses = {}
    for remote_status, local in status_map.items():
        if not local:
            continue
        if local not in Idea.Status.values or local == Idea.Status.DUPLICATE:
            errors.setdefault("status_map", []).append(
                gettext("%(status)s is not a status a back office can set.") % {"status": local}
            )
        else:
            statuses[remote_status.strip().lower()] = local
    if errors:
        raise ValidationError(errors)
    endpoint.service_codes, endpoint.attribute_values = codes, values
    endpoint.status_map = statuses
    with transaction.atomic():
        endpoint.save(update_fields=["service_codes", "attribute_values", "status_map"])
        _audit(actor, endpoint, gettext_noop("Back office %(name)s: services mapped."))
    return endpoint


# --- what is sent ------------------------------------------------------------------------------


def reference(idea: Idea) -> str:
    """The pin's reference in the request's description: its page's address, unique across
    MapIdeas sites, and what a search on the remote matches."""
    return absolute(idea.get_absolute_url())


# Room kept in the description for the reference (remotes cut long descriptions).
DESCRIPTION_ROOM = 3500


def request_fields(forward: Forward, service_code: str) -> dict[str, str]:
    """The POST's form fields for the pin, as GeoReport v2 names them. The citizen's name
    and email only with their consent (Idea.contact_shared_with_city)."""
    idea = forward.idea
    text = idea.title + ("\n" + idea.description if idea.description else "")
    fields = {
        "service_code": service_code,
        "lat": f"{idea.location.y:.7f}",
        "long": f"{idea.location.x:.7f}",
        "description": f"{text[:DESCRIPTION_ROOM]}\n\n{reference(idea)}",
        "requested_datetime": idea.created_at.isoformat(),
    }
    if getattr(idea, "photo", None) is not None and idea.photo.hidden_at is None:
        fields["media_url"] = absolute(photo_url(idea.pk))
    elif idea.media_url:
        fields["media_url"] = idea.media_url
    if idea.contact_shared_with_city:
        if idea.contact_email or (idea.author and idea.author.email):
            fields["email"] = idea.contact_email or (idea.author.email if idea.author else "")
        name = idea.contact_name or (idea.author.get_full_name() if idea.author else "")
        if name:
            first, _space, last = name.partition(" ")
            fields["first_name"], fields["last_name"] = first, last
        if idea.contact_phone:
            fields["phone"] = idea.contact_phone
    for code, value in forward.endpoint.attribute_values.get(service_code, {}).items():
        fields[f"attribute[{code}]"] = value
    return fields


# --- the worker ---------------------------------------------------------------------------------


@dataclass
class SyncResult:
    forwarded: int = 0
    tokens: int = 0  # answered with a token, followed up next runs
    uncertain: int = 0  # may have arrived: searched for next
    held: int = 0  # held for staff
    failed: int = 0  # attempts that failed this run; each is tried again later
    statuses_applied: int = 0
    queued: int = 0  # rows queued by --reconcile
    errors: list[str] = field(default_factory=list)


def _due(now: datetime, skipped: set[int]) -> QuerySet[Forward]:
    return (
        Forward.objects.filter(
            state__in=[State.QUEUED, State.SENDING, State.UNCERTAIN, State.TOKEN],
            next_attempt_at__lte=now,
            endpoint__active=True,
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(endpoint__retry_at__isnull=True) | Q(endpoint__retry_at__lte=now))
        .exclude(endpoint_id__in=skipped)
        .select_related("endpoint", "idea", "idea__category", "idea__author", "idea__photo")
        .order_by("next_attempt_at", "id")
    )


def _lease(now: datetime) -> datetime:
    # At least two whole calls: a lease that ran out while its worker still waits for the
    # remote lets another worker take the row (harmless, see _write, but wasted).
    return now + max(CLAIM, timedelta(seconds=2 * settings.OUTBOUND_DEADLINE + 10))


def _claim(forward: Forward, now: datetime) -> bool:
    """Take the row for a lease unless another worker did (one UPDATE: the database decides).
    The lease's end is also the worker's mark on the row: its writes are made only while
    the row still carries it (_write)."""
    lease = _lease(now)
    taken = (
        Forward.objects.filter(pk=forward.pk, state=forward.state)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=lease)
        == 1
    )
    if taken:
        forward.claimed_until = lease
    return taken


def _renew(forward: Forward) -> None:
    """Extend the lease before another call (a long search): _Lost when the row is no longer
    this worker's (its lease ran out and another took it, or staff settled it)."""
    lease = _lease(timezone.now())
    if not Forward.objects.filter(pk=forward.pk, claimed_until=forward.claimed_until).update(
        claimed_until=lease
    ):
        raise _Lost
    forward.claimed_until = lease


class _Down(Exception):
    """The back office as a whole is not answering: back it off."""


class _Lost(Exception):
    """The row is no longer this worker's: what it learnt is not written over another's."""


def _write(forward: Forward, **changes: object) -> bool:
    """Save what came of a step and let the row go (its lease ends), only if the row is still
    this worker's: a worker whose lease ran out (another took the row, and may have moved it
    on since), or whose row staff settled, writes nothing, so a late answer never undoes a
    later step (a FORWARDED row set back to QUEUED would be posted twice). A row whose pin
    moved away meanwhile (LEFT) keeps that state, with what was learnt (its remote id, for
    staff). False when nothing was written."""
    changes.setdefault("claimed_until", None)
    changes.setdefault("last_attempt_at", timezone.now())
    mine = Forward.objects.filter(pk=forward.pk, claimed_until=forward.claimed_until)
    written = mine.exclude(state=State.LEFT).update(**changes)
    if not written:
        changes.pop("state", None)
        changes.pop("next_attempt_at", None)
        written = mine.filter(state=State.LEFT).update(**changes)
    if written:
        for name, value in changes.items():
            setattr(forward, name, value)
    return bool(written)


def _failed(forward: Forward, state: str, error: str, *, wait: timedelta | None = None) -> None:
    now = timezone.now()
    _write(
        forward,
        state=state,
        last_error=error[:2000],
        failing_since=forward.failing_since or now,
        next_attempt_at=now + (wait if wait is not None else backoff(forward.attempts)),
    )


def _post(forward: Forward) -> str:
    endpoint = forward.endpoint
    code = endpoint.service_codes.get(forward.idea.category.slug, "")
    if not code:
        _failed(
            forward,
            State.QUEUED,
            f"no service code is mapped for the category {forward.idea.category.slug!r}",
        )
        return "failed"
    fields = request_fields(forward, code)
    remote = remote_of(endpoint)  # KeyMissing here: nothing was sent
    now = timezone.now()
    # Written before the call: from here on, a worker killed at any step leaves a SENDING
    # row whose lease runs out, which is searched for, never posted again blindly. Only if
    # the row is still this worker's and still to be sent: a pin that moved away meanwhile
    # (its never-sent row removed, or LEFT) is not posted.
    if not Forward.objects.filter(
        pk=forward.pk, state=State.QUEUED, claimed_until=forward.claimed_until
    ).update(
        state=State.SENDING,
        posted_at=now,
        service_code=code,
        attempts=F("attempts") + 1,
        sent_contact=forward.sent_contact or forward.idea.contact_shared_with_city,
    ):
        return "skipped"
    forward.state, forward.posted_at, forward.service_code = State.SENDING, now, code
    forward.attempts += 1
    try:
        posted = client.post_request(remote, fields)
    except client.Unreachable as failed:
        if failed.reached:
            _failed(forward, State.UNCERTAIN, str(failed), wait=timedelta(0))
            raise _Down(str(failed)) from None
        _failed(forward, State.QUEUED, str(failed))
        raise _Down(str(failed)) from None
    except client.RemoteError as refused:
        status = refused.status or 0
        if 400 <= status < 500 and status != 429:
            # Refused as asked: not stored. Shown to staff; tried again later.
            _failed(forward, State.QUEUED, str(refused))
            return "failed"
        if status == 429:
            _failed(forward, State.QUEUED, str(refused))
            raise _Down(str(refused)) from None
        # A 5xx, or a 2xx that cannot be read: it may have been stored.
        _failed(forward, State.UNCERTAIN, str(refused), wait=timedelta(0))
        if status >= 500:
            raise _Down(str(refused)) from None
        return "uncertain"
    return _got(forward, posted.service_request_id, posted.token)


def _got(forward: Forward, request_id: str, token: str = "") -> str:
    now = timezone.now()
    if request_id:
        _write(
            forward,
            state=State.FORWARDED,
            remote_id=request_id[:200],
            token=token[:200] or forward.token,
            last_error="",
            failing_since=None,
            held_reason="",
            not_found_at=None,
            last_exchange_at=now,
        )
        return "forwarded"
    _write(
        forward,
        state=State.TOKEN,
        token=token[:200],
        last_error="",
        failing_since=None,
        last_exchange_at=now,
        next_attempt_at=now + timedelta(minutes=1),
    )
    return "token"


def _follow_token(forward: Forward) -> str:
    try:
        request_id = client.token_request_id(remote_of(forward.endpoint), forward.token)
    except client.Unreachable as failed:
        _failed(forward, State.TOKEN, str(failed))
        raise _Down(str(failed)) from None
    except client.RemoteError as refused:
        _failed(forward, State.TOKEN, f"token {forward.token}: {refused}")
        if (refused.status or 0) >= 500:
            raise _Down(str(refused)) from None
        return "failed"
    if request_id:
        return _got(forward, request_id)
    # Not numbered yet: asked again later, more slowly each time.
    attempts = forward.attempts + 1
    _write(
        forward,
        state=State.TOKEN,
        attempts=attempts,
        last_exchange_at=timezone.now(),
        next_attempt_at=timezone.now() + backoff(attempts),
    )
    return "token"


class _Unsure(Exception):
    """A capped list could not be narrowed enough to be sure the request is not there."""


def reference_in(description: str) -> str:
    """The pin reference a request's description carries: the last of this site's addresses
    in it (request_fields puts the pin's last), so that a citizen's text quoting another
    pin's address is never taken for that pin's request."""
    site = absolute("/")
    for token in reversed(description.split()):
        if token.startswith(site):
            return token
    return ""


# The first list a search asks for: the remote's requests of the last days, whatever else
# they are, a list as long as the remote gives (see _search).
PROBE = timedelta(days=30)


def _search(
    remote: client.Remote,
    code: str,
    ref: str,
    windows: list[tuple[datetime, datetime]],
    before_call: Callable[[], None],
) -> str | None:
    """The remote id of the request whose description holds `ref`, made in one of the
    windows; None when the remote's lists show it is not there.

    A remote may cap its lists (at a few rows, even) without saying so, but every list it
    gives shows its cap is at least that long: a list shorter than the longest seen in this
    search is whole. So the first list asked is a wide one (the last PROBE), longer than
    the windows' on a remote with any history; then each window: a list as long as the
    longest seen may be cut, so its window is halved and both halves are read, down to a
    second. _Unsure when the calls run out or a one-second window is still full."""
    longest = 0
    calls = 0
    now = timezone.now()
    todo: list[tuple[datetime, datetime] | None] = [*windows[::-1], None]
    while todo:
        window = todo.pop()
        calls += 1
        if calls > SEARCH_CALLS:
            raise _Unsure(f"its lists are capped: not narrowed within {SEARCH_CALLS} calls")
        before_call()
        window_start, window_end = window or (now - PROBE, now + CLOCK_MARGIN)
        rows = client.requests_between(
            remote, service_code=code, start=window_start, end=window_end
        )
        for row in rows:
            if reference_in(row.description) == ref:
                return row.service_request_id
        longest = max(longest, len(rows))
        if window is None or not rows or len(rows) < longest:
            continue  # the probe, or a whole list
        if window_end - window_start <= timedelta(seconds=1):
            raise _Unsure("its lists are capped even over one second")
        middle = window_start + (window_end - window_start) / 2
        todo += [(window_start, middle), (middle, window_end)]
    return None


def _look_for(forward: Forward) -> str:
    """A POST that may have been stored: find it on the remote before posting again."""
    endpoint = forward.endpoint
    if not endpoint.searchable:
        _write(
            forward,
            state=State.HELD,
            held_reason=gettext_noop(
                "It may have reached the back office, which cannot be searched: check there."
            ),
        )
        return "held"
    posted_at = forward.posted_at or forward.created_at
    now = timezone.now()
    # The remote got it while the POST lasted, and has listed it by listed_by: the window
    # ends there (not now: a row searched for days would ask for ever longer lists, which
    # a capped remote cuts and some refuse).
    listed_by = (
        posted_at
        + timedelta(seconds=settings.OUTBOUND_DEADLINE)
        + timedelta(seconds=endpoint.listing_delay)
    )
    windows = [(posted_at - CLOCK_MARGIN, min(now, listed_by) + CLOCK_MARGIN)]
    # The request is dated by the pin's creation (request_fields' requested_datetime): a
    # remote that keeps that date lists it there, one that does not, when it got it.
    created = forward.idea.created_at
    if created < posted_at - CLOCK_MARGIN:
        windows.append((created - CLOCK_MARGIN, created + CLOCK_MARGIN))
    try:
        found = _search(
            remote_of(endpoint),
            forward.service_code,
            reference(forward.idea),
            windows,
            lambda: _renew(forward),
        )
    except _Unsure as unsure:
        _write(forward, state=State.HELD, held_reason=f"not found for sure: {unsure}")
        return "held"
    except client.Unreachable as failed:
        _failed(forward, State.UNCERTAIN, str(failed))
        raise _Down(str(failed)) from None
    except client.RemoteError as refused:
        _failed(forward, State.UNCERTAIN, f"searching: {refused}")
        if (refused.status or 0) >= 500:
            raise _Down(str(refused)) from None
        return "failed"
    if found:
        return _got(forward, found)
    # The remote may list a stored request only later: posted again only once it has had
    # listing_delay (after the longest a POST can last) to list it, before the search began
    # (`now`: a list read before listed_by may not show it yet).
    if now < listed_by:
        _write(
            forward,
            state=State.UNCERTAIN,
            not_found_at=forward.not_found_at or now,
            next_attempt_at=listed_by,
        )
        return "uncertain"
    _write(forward, state=State.QUEUED, not_found_at=None, next_attempt_at=timezone.now())
    return "uncertain"


def _step(forward: Forward) -> str:
    if forward.state == State.QUEUED:
        return _post(forward)
    if forward.state == State.TOKEN:
        return _follow_token(forward)
    # SENDING with its lease run out (a worker stopped mid-call), or UNCERTAIN.
    return _look_for(forward)


def _endpoint_down(endpoint_id: int, error: str) -> None:
    endpoint = BackofficeEndpoint.objects.get(pk=endpoint_id)
    now = timezone.now()
    endpoint.failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    endpoint.retry_at = now + backoff(endpoint.failures)
    endpoint.last_error = error[:2000]
    endpoint.save(update_fields=["failures", "failing_since", "retry_at", "last_error"])


def _endpoint_up(endpoint_id: int) -> None:
    BackofficeEndpoint.objects.filter(pk=endpoint_id, failures__gt=0).update(
        failures=0, failing_since=None, retry_at=None, last_error=""
    )


def forward_pending(*, batch_size: int = 50, result: SyncResult | None = None) -> SyncResult:
    """Move every due forward one step: post, follow up a token, or search. A back office
    that does not answer is backed off at its first failure of the run."""
    result = result or SyncResult()
    started = timezone.now()
    skipped: set[int] = set()
    while True:
        rows = list(_due(started, skipped)[:batch_size])
        if not rows:
            return result
        progressed = False
        for forward in rows:
            if forward.endpoint_id in skipped or not _claim(forward, timezone.now()):
                continue
            progressed = True
            try:
                outcome = _step(forward)
            except client.RemoteError as refused:  # a row the remote cannot read at all
                _failed(forward, forward.state, str(refused))
                outcome = "failed"
            except KeyMissing as missing:
                _failed(forward, forward.state, str(missing))
                _endpoint_down(forward.endpoint_id, str(missing))
                skipped.add(forward.endpoint_id)
                result.failed += 1
                continue
            except _Down as down:
                _endpoint_down(forward.endpoint_id, str(down))
                skipped.add(forward.endpoint_id)
                result.failed += 1
                result.errors.append(f"{forward.endpoint.name}: {down}")
                continue
            except _Lost:
                continue  # another worker has the row now, or staff settled it
            if outcome == "skipped":
                continue  # its pin moved away before it was sent
            if outcome in ("forwarded", "token", "uncertain", "held"):
                _endpoint_up(forward.endpoint_id)
            if outcome == "forwarded":
                result.forwarded += 1
            elif outcome == "token":
                result.tokens += 1
            elif outcome == "uncertain":
                result.uncertain += 1
            elif outcome == "held":
                result.held += 1
            else:
                result.failed += 1
        if not progressed:
            return result


# --- statuses back ------------------------------------------------------------------------------


def _mapped(endpoint: BackofficeEndpoint, forward: Forward, row: client.RemoteRequest) -> str:
    """The pin status the remote's status means ("" for none). A remote reopening (closed ->
    open) reopens a closed pin."""
    status_map = {**DEFAULT_STATUS_MAP, **endpoint.status_map}
    mapped = status_map.get(row.status, "")
    if (
        not mapped
        and row.status == "open"
        and forward.remote_status == "closed"
        and forward.idea.status in (Idea.Status.DONE, Idea.Status.DECLINED)
    ):
        return (
            Idea.Status.IN_PROGRESS
            if forward.idea.status == Idea.Status.DONE
            else Idea.Status.UNDER_REVIEW
        )
    return mapped


def _last_local_step(idea_id: int) -> datetime | None:
    return (
        IdeaUpdate.objects.filter(idea_id=idea_id, from_city_system=False)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def _apply(forward: Forward, row: client.RemoteRequest) -> bool:
    """What the remote says of the request, onto the pin, if it changed since the last
    exchange and after the pin's last local step. True when the pin changed.

    Decided and written in one transaction, on the forward as it is then (locked; SQLite's
    transactions take its write lock when they begin): two runs that read the same change
    apply it once, and a run stopped midway leaves the answer and the state it came from
    both written or neither."""
    now = timezone.now()
    with transaction.atomic():
        current = (
            Forward.objects.select_for_update()
            .filter(pk=forward.pk)
            .values("remote_updated_at", "remote_status", "remote_notes")
            .first()
        )
        if current is None:
            return False
        for name, value in current.items():
            setattr(forward, name, value)
        if (
            row.updated_datetime is not None
            and forward.remote_updated_at is not None
            and row.updated_datetime <= forward.remote_updated_at
        ):
            # Not updated there since the state recorded: nothing to apply, and nothing to
            # record either (the forward keeps the remote state of its remote_updated_at,
            # so that a change made without moving updated_datetime is applied once it
            # moves).
            Forward.objects.filter(pk=forward.pk).update(last_exchange_at=now)
            forward.last_exchange_at = now
            return False
        changed_remotely = (
            row.status != forward.remote_status or row.status_notes != forward.remote_notes
        )
        last_local = _last_local_step(forward.idea_id)
        if (
            changed_remotely
            and row.updated_datetime is not None
            and last_local is not None
            and row.updated_datetime <= last_local
        ):
            # Older than what the team did since on MapIdeas: kept as seen, not applied.
            changed_remotely = False
        applied = False
        seen = {
            "last_exchange_at": now,
            "remote_status": row.status[:50],
            "remote_notes": row.status_notes,
            "remote_updated_at": row.updated_datetime or forward.remote_updated_at,
            "last_error": "",
        }
        if changed_remotely:
            status = _mapped(forward.endpoint, forward, row) or forward.idea.status
            notes = row.status_notes if row.status_notes != forward.remote_notes else ""
            if not forward.remote_status and status == forward.idea.status:
                # The first read: the request's notes as it was made ("received", say) are
                # no answer; only a status it already changed to is.
                notes = ""
            update = workflow.idea_update_from_city_system(
                idea=forward.idea,
                status=status,
                answer=notes,
                default_answer=audit.in_site_language(
                    lambda: gettext("Updated in the city's work-order system.")
                ),
            )
            applied = update is not None
        # Not _write: the row is no worker's (and stays FORWARDED).
        Forward.objects.filter(pk=forward.pk).update(**seen)
    for name, value in seen.items():
        setattr(forward, name, value)
    return applied


def statuses_read(endpoint: BackofficeEndpoint, result: SyncResult) -> None:
    """Read back the remote state of the endpoint's forwarded requests, in batches, oldest
    exchange first; and FixMyStreet's updates since the last read where offered."""
    remote = remote_of(endpoint)
    started = timezone.now()
    forwards = list(
        Forward.objects.filter(endpoint=endpoint, state=State.FORWARDED)
        .exclude(remote_id="")
        .select_related("idea", "endpoint")
        .order_by(F("last_exchange_at").asc(nulls_first=True), "id")[:STATUS_READS_PER_RUN]
    )
    by_id: dict[str, list[Forward]] = {}
    for forward in forwards:
        by_id.setdefault(forward.remote_id, []).append(forward)
    ids = list(by_id)
    for start in range(0, len(ids), IDS_PER_CALL):
        asked = ids[start : start + IDS_PER_CALL]
        rows = client.requests_by_id(remote, asked)
        for row in rows:
            for forward in by_id.get(row.service_request_id, []):
                result.statuses_applied += _apply(forward, row)
        # Asked about and not answered for (the remote forgot them, or could not say): to
        # the back of the line all the same, or they would be read first at every run and,
        # past STATUS_READS_PER_RUN of them, keep the others from being read at all.
        answered = {row.service_request_id for row in rows}
        Forward.objects.filter(
            pk__in=[f.pk for i in asked if i not in answered for f in by_id[i]]
        ).update(last_exchange_at=timezone.now())
    if endpoint.reads_updates:
        since = endpoint.last_status_read_at or endpoint.created_at
        for row in client.updates_since(remote, since - CLOCK_MARGIN):
            for forward in Forward.objects.filter(
                endpoint=endpoint, state=State.FORWARDED, remote_id=row.service_request_id
            ).select_related("idea", "endpoint"):
                result.statuses_applied += _apply(forward, row)
    BackofficeEndpoint.objects.filter(pk=endpoint.pk).update(last_status_read_at=started)


def sync(*, reconcile: bool = False) -> SyncResult:
    """One run of `manage.py sync_backoffice`: (with `reconcile`, queue what should be
    queued,) move the queue on, then read the statuses back from every back office that
    answers."""
    result = SyncResult()
    if reconcile:
        result.queued = forwards_reconcile()
    forward_pending(result=result)
    now = timezone.now()
    for endpoint in BackofficeEndpoint.objects.filter(active=True):
        if endpoint.retry_at is not None and endpoint.retry_at > now:
            continue
        try:
            statuses_read(endpoint, result)
        except (client.Unreachable, client.RemoteError, KeyMissing) as failed:
            result.errors.append(f"{endpoint.name}: reading statuses: {failed}")
            if not isinstance(failed, client.RemoteError) or (failed.status or 0) >= 500:
                _endpoint_down(endpoint.pk, f"reading statuses: {failed}")
    return result


# --- staff actions ------------------------------------------------------------------------------


def forward_retry(forward: Forward, *, actor: User | AnonymousUser | None = None) -> Forward:
    """ "Try now": a failing or waiting forward is taken at the next run, its back office's
    back-off lifted. A held one is posted again: staff checked it is not on the remote."""
    with transaction.atomic():
        forward = Forward.objects.select_for_update().get(pk=forward.pk)
        if forward.state == State.FORWARDED or forward.state == State.LEFT:
            raise ValidationError(gettext("This pin is not waiting to be sent."))
        changes: dict[str, object] = {"next_attempt_at": timezone.now()}
        if forward.state == State.HELD:
            changes.update(state=State.QUEUED, held_reason="", not_found_at=None)
        Forward.objects.filter(pk=forward.pk).update(**changes)
        BackofficeEndpoint.objects.filter(pk=forward.endpoint_id).update(retry_at=None)
        _forward_audit(actor, forward, gettext_noop("Pin #%(pin)s: sending to %(name)s again."))
    forward.refresh_from_db()
    return forward


def forward_found(
    forward: Forward, *, remote_id: str, actor: User | AnonymousUser | None = None
) -> Forward:
    """Staff found the pin's request on the remote: its id is recorded and the pin forwarded
    (never posted again)."""
    remote_id = remote_id.strip()
    if not remote_id or len(remote_id) > 200 or not remote_id.isprintable():
        raise ValidationError(
            {"remote_id": [gettext("Give the request's number at the back office.")]}
        )
    with transaction.atomic():
        forward = Forward.objects.select_for_update().get(pk=forward.pk)
        if forward.state not in (State.HELD, State.UNCERTAIN, State.TOKEN, State.QUEUED):
            raise ValidationError(gettext("This pin's request number is already known."))
        Forward.objects.filter(pk=forward.pk).update(
            state=State.FORWARDED, remote_id=remote_id, held_reason="", last_error="",
            failing_since=None, claimed_until=None,
        )  # fmt: skip
        _forward_audit(actor, forward, gettext_noop("Pin #%(pin)s: found at %(name)s by staff."))
    forward.refresh_from_db()
    return forward


def forward_left_closed(forward: Forward, *, actor: User | AnonymousUser | None = None) -> None:
    """Staff closed, in the old back office, the request a pin left behind."""
    with transaction.atomic():
        if Forward.objects.filter(pk=forward.pk, state=State.LEFT).update(
            left_closed_at=timezone.now()
        ):
            _forward_audit(
                actor, forward, gettext_noop("Pin #%(pin)s: closed at %(name)s by staff.")
            )


def forward_erasure_done(forward: Forward, *, actor: User | AnonymousUser | None = None) -> None:
    """Staff erased the citizen's contact details at the back office, by hand."""
    with transaction.atomic():
        if Forward.objects.filter(pk=forward.pk, erasure_requested_at__isnull=False).update(
            erasure_done_at=timezone.now()
        ):
            _forward_audit(
                actor, forward, gettext_noop("Pin #%(pin)s: contact erased at %(name)s by staff.")
            )


def _forward_audit(actor: User | AnonymousUser | None, forward: Forward, said: str) -> None:
    audit.audit_record(
        actor=actor,
        action=audit.Action.BACKOFFICE,
        summary=audit.in_site_language(
            lambda: gettext(said) % {"pin": forward.idea_id, "name": forward.endpoint.name}
        ),
        idea_number=forward.idea_id,
    )
