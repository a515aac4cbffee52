"""Writes of a new pin. Every pin, whatever door it came through, is created by `idea_create`;
what clients send (the map's form, the API, Open311) goes through `pin_submit`: idempotency,
the rate limit, then `idea_submit` (a citizen's pin, sent a way the city allows) or Open311's
own mapping."""

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict, Unpack, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from mapideas.backoffice import queue as backoffice
from mapideas.models import (
    Category,
    Follower,
    Idea,
    IdeaPhoto,
    Open311Client,
    RoutingEvent,
)
from mapideas.notifications import services as notifications
from mapideas.participation.services import clean_email
from mapideas.pins.photos import ProcessedPhoto, photo_delete, photo_process, photo_save
from mapideas.pins.services import _person
from mapideas.plumbing.hashing import keyed_hash
from mapideas.plumbing.ratelimit import RateLimit, RateLimited
from mapideas.webhooks import services as webhooks
from neighborhoods.compiled_queries import CompiledInsert, CompiledQuery
from neighborhoods.routing import route
from neighborhoods.services import version_hold

# The two rows every new pin writes, compiled once (neighborhoods.compiled_queries).
_insert_pin = CompiledInsert(Idea)
_insert_routing_event = CompiledInsert(RoutingEvent)

# Messages shown to people are translated in the request's language (gettext; `_` is a
# throwaway variable in this module, hence the full names). OUTSIDE_MESSAGE is a plain str
# (tests and the browser tests look for it in pages), translated where it is said.
OUTSIDE_MESSAGE = gettext_noop(
    "This place is outside every neighborhood the city serves. "
    "Move the pin inside the city's neighborhoods."
)


def location_from_lonlat(lon: object, lat: object, *, field: str = "location") -> Point:
    """A WGS84 point from longitude and latitude, or a ValidationError naming `field`.

    Refuses what is not a finite number and what lies off the globe, so that NaN or a swapped
    pair never reaches the database.
    """
    try:
        # Any value on purpose (a form's, a JSON body's): what float() refuses is caught here.
        lon_f, lat_f = float(lon), float(lat)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(
            {field: [gettext("Longitude and latitude must be numbers.")]}
        ) from None
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)):
        raise ValidationError({field: [gettext("Longitude and latitude must be finite numbers.")]})
    if not -90 <= lat_f <= 90:
        raise ValidationError(
            {field: [gettext("Latitude must be between -90 and 90, not %(lat)s.") % {"lat": lat_f}]}
        )
    if not -180 <= lon_f <= 180:
        raise ValidationError(
            {
                field: [
                    gettext("Longitude must be between -180 and 180, not %(lon)s.") % {"lon": lon_f}
                ]
            }
        )
    return Point(lon_f, lat_f, srid=4326)


@transaction.atomic
def idea_create(
    *,
    kind: str,
    title: str,
    description: str = "",
    category: Category,
    location: Point,
    channel: str = Idea.Channel.WEB,
    event_name: str = "",
    author: User | AnonymousUser | None = None,
    created_at: datetime | None = None,
    media_url: str = "",
    contact_email: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    contact_shared_with_city: bool = False,
    open311_client: Open311Client | None = None,
    awaiting_confirmation: bool = False,
    idempotency: "Idempotency | None" = None,
    language: str | None = None,
) -> Idea:
    """Route the pin and store it; a pin that cannot be routed is refused, nothing written.

    `language` is the language its author used (Idea.language: answers and emails about the
    pin are written in it). By default, for a pin a citizen sent (the web form, the API,
    Open311: CITIZEN_CHANNELS), the request's active language (author_language); "" for
    input staff enter or import, where nobody said.

    With `idempotency` the row carries its key, unique in the database: a second pin with the
    same key raises IntegrityError (pin_submit turns that into the first pin).

    The contact fields are personal data (kept for staff, never published).
    `contact_shared_with_city`: their owner agreed that they go with the pin to the city's own
    work-order system (mapideas.backoffice); never published either.
    `awaiting_confirmation` (idea_submit, for a citizen's pin sent with an email address and
    no account): the pin goes to its team at once but stays off every public output until
    the link emailed to `contact_email` in this transaction is followed (idea_confirm).
    """
    if awaiting_confirmation and (
        not contact_email.strip()
        or (author is not None and author.is_authenticated)
        or channel not in CITIZEN_CHANNELS
    ):
        # A programming error, not the citizen's: only idea_submit asks for this.
        raise ValueError("Only a citizen's web or API pin with an email and no account awaits.")
    # An empty point (`POINT EMPTY`, or NaNs, which GEOS treats as empty) has no x to read.
    if location.empty:
        raise ValidationError(
            {"location": [gettext("Give a point with a longitude and a latitude.")]}
        )
    if location.srid not in (None, 4326):
        try:
            # GEOS builds the copy as the class of its geometry type, a Point here; the stubs
            # type transform() as returning any GEOSGeometry.
            location = cast(Point, location.transform(4326, clone=True))
        except (GDALException, GEOSException):
            raise ValidationError(
                {
                    "location": [
                        gettext("Unknown coordinate reference system (SRID %(srid)s).")
                        % {"srid": location.srid}
                    ]
                }
            ) from None
    location = location_from_lonlat(location.x, location.y)
    for _attempt in range(3):
        routed = route(location, category.slug)
        if routed is None:
            raise ValidationError({"location": [gettext(OUTSIDE_MESSAGE)]})
        assert routed.version is not None  # route() names the version that decided
        # Boundaries switched while routing: route again by the new ones.
        if version_hold(routed.version):
            break
    else:
        raise ValidationError({"location": [gettext("Boundaries are being changed; try again.")]})
    idea = Idea(
        kind=kind,
        title=title.strip(),
        description=description.strip(),
        category=category,
        location=location,
        neighborhood=routed.neighborhood,
        team=routed.team,
        channel=channel,
        event_name=event_name.strip(),
        author=author if author is not None and author.is_authenticated else None,
        media_url=media_url.strip(),
        contact_email=contact_email.strip(),
        contact_name=contact_name.strip(),
        contact_phone=contact_phone.strip(),
        contact_shared_with_city=contact_shared_with_city,
        open311_client=open311_client,
        awaiting_confirmation=awaiting_confirmation,
        confirmation_sent_at=timezone.now() if awaiting_confirmation else None,
        language=_site_language(
            language
            if language is not None
            else (author_language() if channel in CITIZEN_CHANNELS else "")
        ),
    )
    if idempotency is not None:
        idea.idempotency_key = idempotency.key
        idea.idempotency_fingerprint = idempotency.fingerprint
    if created_at is not None:
        idea.created_at = created_at
    # The related objects come from the database (routing, the caller's category): checking
    # that they exist would cost a query each for nothing.
    # idempotency_key: the unique constraint decides, race-safe, at INSERT (not a SELECT here).
    idea.full_clean(
        exclude=[
            "category",
            "neighborhood",
            "team",
            "author",
            "open311_client",
            "idempotency_key",
        ]
    )
    idea.cells_follow_location()
    _insert_pin(idea)
    # A new pin has no photo (_create_with_photo attaches one afterwards): said here, so
    # reading idea.photo (the 201's photo_url) costs no query.
    Idea.photo.related.set_cached_value(idea, None)
    if routed.also_in:
        idea.also_in_teams.set(routed.also_in)
    _insert_routing_event(
        RoutingEvent(
            idea=idea,
            cause=RoutingEvent.Cause.CREATED,
            to_neighborhood=routed.neighborhood,
            to_team=routed.team,
            boundary_version=routed.version,
            # Kept in the site's language, whatever the request's: a record, not a message.
            reason=routed.reason_in(settings.LANGUAGE_CODE),
            created_at=idea.created_at,
        )
    )
    # A signed-in author with an email hears of every change to their pin (notifications).
    if idea.author is not None and idea.author.email:
        Follower.objects.create(idea=idea, user=idea.author, confirmed_at=timezone.now())
    # The address it was sent with gets the link that publishes it (in this transaction: a
    # pin rolled back queues nothing, a committed one cannot lose its link).
    if awaiting_confirmation:
        notifications.queue_idea_confirmation(idea)
    # Its team hears of it, if it asked for an email per new pin (Team.notify); an awaiting
    # pin too: the team sees it at once, only the public waits for the confirmation.
    notifications.notify_team_new_pin(idea)
    # The city's systems that listen hear of it (sent once the pin is public: webhooks).
    webhooks.pin_event_queue(idea, webhooks.Event.CREATED)
    # And its team's back office, where it has one (forwarded by sync_backoffice).
    backoffice.forward_queue(idea, new=True)
    return idea


def _site_language(code: str) -> str:
    """`code` if it is one of the site's languages (a regional variant as its language),
    else "" (nobody said, or a language the site does not have)."""
    codes = {c for c, _name in settings.LANGUAGES}
    code = (code or "").lower()
    if code in codes:
        return code
    base = code.split("-")[0]
    return base if base in codes else ""


def author_language() -> str:
    """The language of the request being answered (LocaleMiddleware: the language chosen on
    the site, else Accept-Language, else LANGUAGE_CODE), as one of the site's languages."""
    return _site_language(translation.get_language() or "")


# --- How a citizen may send a pin (MAPIDEAS_SUBMISSION_MODES) -----------------------------------

# The doors a citizen uses; staff-entered pins (phone, paper, meetings, imports) never await.
CITIZEN_CHANNELS = (Idea.Channel.WEB, Idea.Channel.API)


SIGN_IN_REQUIRED_MESSAGE = gettext_lazy(
    "Sign in to send a pin: this city takes pins from signed-in people only."
)


EMAIL_OR_SIGN_IN_MESSAGE = gettext_lazy("Give your email address or sign in.")


EMAIL_REQUIRED_MESSAGE = gettext_lazy("Give your email address.")


def _email_not_taken_message(modes: tuple[str, ...]) -> str:
    ways = []
    if "account" in modes:
        ways.append(gettext("sign in"))
    if "anonymous" in modes:
        ways.append(gettext("leave the email address empty to send it without one"))
    return gettext("This city does not take pins with just an email address: %(ways)s.") % {
        "ways": gettext(" or ").join(ways)
    }


def _allowed_submission(*, signed_in: bool, email: str) -> None:
    """Refuse a way of sending a pin the city does not allow (MAPIDEAS_SUBMISSION_MODES):
    a ValidationError naming `email`, or PermissionDenied when only signing in would do.

    Someone signed in may always send one: "account" offers citizens sign-up, and staff
    (who have accounts whatever the setting) are never turned away from the map."""
    modes = settings.MAPIDEAS_SUBMISSION_MODES
    if signed_in:
        return
    if modes == ("account",):
        raise PermissionDenied(str(SIGN_IN_REQUIRED_MESSAGE))
    if email and "email" not in modes:
        raise ValidationError({"email": [_email_not_taken_message(modes)]})
    if not email and "anonymous" not in modes:
        message = EMAIL_OR_SIGN_IN_MESSAGE if "account" in modes else EMAIL_REQUIRED_MESSAGE
        raise ValidationError({"email": [message]})


# Not atomic itself: it writes only through idea_create (atomic) or, with a photo,
# _create_with_photo (atomic): one transaction either way, without a savepoint's two more
# round trips per pin.
class PinContent(TypedDict):
    """What a citizen's pin says and where it is, as every door receives it."""

    kind: str
    title: str
    description: NotRequired[str]
    category: Category
    location: Point


def idea_submit(
    *,
    channel: str = Idea.Channel.WEB,
    author: User | AnonymousUser | None = None,
    email: str = "",
    name: str = "",
    contact_shared_with_city: bool = False,
    photo: File | None = None,
    idempotency: "Idempotency | None" = None,
    **content: Unpack[PinContent],
) -> Idea:
    """A citizen's pin from the web form or the API, sent a way the city allows: signed in
    (the author, who follows it), with an email address (routed at once, public once the
    emailed link is followed: idea_confirm), or anonymously. The email and name are
    personal data (contact_email, contact_name), never published; a signed-in author's are
    their account's, so what they type is not kept.

    `contact_shared_with_city` is their consent that their name and contact details go with
    the pin to the city's own work-order system (mapideas.backoffice). Kept only for a pin
    that has contact details (signed in, or with an email): an anonymous pin has nothing to
    share, and its consent is not stored as given.

    An optional `photo` (an uploaded file) is checked and re-encoded first (mapideas.pins.photos):
    a refused photo refuses the whole pin, with a ValidationError naming `photo`, and
    nothing is written; an accepted one is stored with the pin, both or neither."""
    if channel not in CITIZEN_CHANNELS:
        raise ValueError(f"idea_submit is for the web and the API, not {channel!r}.")
    person = _person(author)
    email = (email or "").strip()
    _allowed_submission(signed_in=person is not None, email=email)
    processed = photo_process(photo) if photo is not None else None
    return _create_with_photo(
        processed,
        lambda: _idea_submit_create(
            content=content,
            channel=channel,
            person=person,
            email=email,
            name=name,
            contact_shared_with_city=contact_shared_with_city,
            idempotency=idempotency,
        ),
    )


def _create_with_photo(photo: ProcessedPhoto | None, create: Callable[[], Idea]) -> Idea:
    """Run `create` (which writes a pin) and attach `photo` to the pin, both or neither.

    The file is written first, then the pin and the photo's row in one transaction; if that
    transaction fails (the pin cannot be routed, say), the file is deleted again. A caller's
    own outer transaction rolled back later would leave the file behind: unreachable (no row
    names it, and the name is random), so harmless."""
    if photo is None:
        return create()
    name = photo_save(photo)
    try:
        with transaction.atomic():
            idea = create()
            idea.photo = IdeaPhoto.objects.create(
                idea=idea,
                name=name,
                width=photo.width,
                height=photo.height,
                bytes=len(photo.content),
            )
    except BaseException:
        photo_delete(name)
        raise
    return idea


class _PinFields(TypedDict):
    """What idea_create is given for every citizen's pin, however it was sent."""

    kind: str
    title: str
    description: str
    category: Category
    location: Point
    channel: str
    idempotency: "Idempotency | None"


def _idea_submit_create(
    *,
    content: PinContent,
    channel: str,
    person: User | None,
    email: str,
    name: str,
    contact_shared_with_city: bool = False,
    idempotency: "Idempotency | None" = None,
) -> Idea:
    pin: _PinFields = {
        "kind": content["kind"],
        "title": content["title"],
        "description": content.get("description", ""),
        "category": content["category"],
        "location": content["location"],
        "channel": channel,
        "idempotency": idempotency,
    }
    if person is not None:
        return idea_create(**pin, author=person, contact_shared_with_city=contact_shared_with_city)
    if email:
        return idea_create(
            **pin,
            contact_email=clean_email(email),
            contact_name=name or "",
            contact_shared_with_city=contact_shared_with_city,
            awaiting_confirmation=True,
        )
    return idea_create(**pin)


# --- Idempotent submission, the rate limit: pin_submit -------------------------------------------

IDEMPOTENCY_KEY_MAX_LENGTH = 255


IDEMPOTENCY_KEY_RE = re.compile(rf"[\x21-\x7e]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}")


IDEMPOTENCY_CONFLICT_MESSAGE = gettext_lazy(
    "This Idempotency-Key was already used for a different pin: send a new key for a new pin."
)


class IdempotencyConflict(Exception):
    """The key was used before by the same client for a pin with other content."""


@dataclass(frozen=True)
class Idempotency:
    """What is kept of a client's Idempotency-Key: `key`, a keyed hash of the key with who
    sent it (so one client cannot reach another's pin by guessing keys, and the raw key is
    never stored), and `fingerprint`, a hash of what was sent with it."""

    key: str
    fingerprint: str


def _idempotency_fields(pin: dict[str, Any]) -> dict[str, object]:
    """What a retry must repeat for the same key: the pin's fields as the service takes
    them; a point by its coordinates, a row (category, author) by its id, an uploaded photo
    by its size (it is re-encoded anyway), text without surrounding blanks.

    The consent to share the contact with the city's system counts once given: left out
    while not, so that a key sent before it existed keeps its fingerprint (a retry across
    the upgrade is still a replay), and a retry that gives or withdraws it is other content."""

    def canonical(value: object) -> object:
        if isinstance(value, Point):
            return [round(value.x, 7), round(value.y, 7)]
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, File):
            return value.size
        if hasattr(value, "pk"):
            return value.pk
        return value

    return {
        name: canonical(value)
        for name, value in pin.items()
        if not (name == "contact_shared_with_city" and not value)
    }


def idempotency(*, key: str, scope: str, pin: dict[str, Any]) -> Idempotency:
    """The Idempotency for `key` from `scope` (ratelimit.client_identity, or an Open311
    client), for `pin` (the service's keyword arguments). Raises ValidationError naming
    `Idempotency-Key` for an empty, overlong or non-printable-ASCII key."""
    if not IDEMPOTENCY_KEY_RE.fullmatch(key or ""):
        raise ValidationError(
            {
                "Idempotency-Key": [
                    gettext(
                        "Give 1 to %(max)s printable ASCII characters "
                        "(a UUID, say), new for every pin."
                    )
                    % {"max": IDEMPOTENCY_KEY_MAX_LENGTH}
                ]
            }
        )
    canonical = json.dumps(
        _idempotency_fields(pin), sort_keys=True, default=str, separators=(",", ":")
    )
    return Idempotency(
        key=keyed_hash("idempotency", f"{scope}\n{key}"),
        fingerprint=hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest(),
    )


def idea_replayed(given: Idempotency) -> Idea | None:
    """The pin already stored under this key (a retry), else None. Raises
    IdempotencyConflict when the key came with different content.

    Asked before every pin sent with a key, and nearly always answered "none": so first the
    key's fingerprint alone (the unique index answers it), by SQL compiled once, and the
    whole pin only for a retry."""
    found = _fingerprint_of_key(given.key)
    if not found:
        return None
    if found[0].idempotency_fingerprint != given.fingerprint:
        raise IdempotencyConflict(IDEMPOTENCY_CONFLICT_MESSAGE)
    return Idea.objects.get(pk=found[0].pk)


_fingerprint_of_key = CompiledQuery(
    lambda key: Idea.objects.filter(idempotency_key=key).only("idempotency_fingerprint"),
    examples=(("compiled-example-a",), ("compiled-example-b",)),
)


@dataclass(frozen=True)
class Submitted:
    """What pin_submit did: `idea`, written now, or stored before under the same key
    (`replayed`: a retry, to be answered as the first request was)."""

    idea: Idea
    replayed: bool


def pin_submit(
    *,
    sender: str,
    idempotency_key: str | None,
    rate: RateLimit | None,
    create: Callable[..., Idea] | None = None,
    **pin: Any,
) -> Submitted:
    """A pin sent by a client, whatever the door (the API, the map's form, Open311), in this
    order: the retry of a pin already stored under `idempotency_key` is answered with it
    (and not counted); else the sender is counted against `rate` (RateLimited beyond it);
    then `create(**pin)` writes it: idea_submit, which refuses a way of sending the city
    does not allow (MAPIDEAS_SUBMISSION_MODES: a ValidationError naming `email`, or
    PermissionDenied), unless the door writes its pins its own way (Open311).

    `sender` is who sent it (ratelimit.client_identity, or an Open311 client's): keys are
    scoped to it, and the rate counts it. A key is kept as a keyed hash with a fingerprint
    of `pin` (idempotency): the same key with other content raises IdempotencyConflict, a
    malformed one a ValidationError naming `Idempotency-Key`.

    Two retries racing both try to INSERT; the unique index lets one through and the other
    gets IntegrityError, then reads the winner's committed row (a SELECT-then-INSERT check
    would let both in)."""
    # The module's idea_submit at call time (a default argument would be the one at import).
    create = create or idea_submit
    once = None
    if idempotency_key is not None:
        once = idempotency(key=idempotency_key, scope=sender, pin=pin)
        stored = idea_replayed(once)
        if stored is not None:
            return Submitted(stored, replayed=True)
    # Counted once the pin is well formed, as it could be stored (and email sent).
    if rate is not None:
        retry_after = rate.hit(sender)
        if retry_after is not None:
            raise RateLimited(retry_after)
    if once is None:
        # No savepoint: the write is one transaction (idea_create, or with a photo
        # _create_with_photo) without the two more round trips of a nested one.
        return Submitted(create(**pin), replayed=False)
    # Outside any transaction, `create`'s own is the outermost: a duplicate key rolls it all
    # back, and no savepoint (two more round trips per pin) is needed. Inside a caller's,
    # a savepoint keeps the caller's transaction usable after the IntegrityError.
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else contextlib.nullcontext():
            return Submitted(create(**pin, idempotency=once), replayed=False)
    except IntegrityError:
        stored = idea_replayed(once)
        if stored is None:  # another constraint failed, not ours
            raise
        return Submitted(stored, replayed=True)


@transaction.atomic
def idea_confirm(*, token: str) -> Idea | None:
    """Follow the link emailed with a pin: the pin goes public and its address becomes a
    confirmed follower (it hears of every status change and answer). None if the link is
    forged, damaged, older than notifications.CONFIRM_MAX_AGE, or the pin is gone.
    Confirming twice is confirming once.

    An expired link publishes nothing: the pin stays in its team's queue, never public, and
    is not deleted (the team has it, and may have answered it already)."""
    found = notifications.idea_from_confirm_token(token)
    if found is None:
        return None
    idea = Idea.objects.select_for_update().filter(pk=found.pk).first()
    if idea is None or not found.holds_for(idea.contact_email):
        return None
    if idea.awaiting_confirmation:
        idea.awaiting_confirmation = False
        idea.save(update_fields=["awaiting_confirmation", "updated_at"])
    now = timezone.now()
    follower, _ = Follower.objects.get_or_create(
        idea=idea, email=idea.contact_email, defaults={"confirmed_at": now}
    )
    if follower.confirmed_at is None:
        follower.confirmed_at = now
        follower.save(update_fields=["confirmed_at"])
    return idea
