"""Writes for ideas. Every pin, whatever door it came through, is created by `idea_create`."""

import hashlib
import json
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from mapideas import notifications, workflow
from mapideas.models import (
    ANSWER_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    HIDE_REASON_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Category,
    Comment,
    Follower,
    Idea,
    IdeaNote,
    IdeaPhoto,
    IdeaUpdate,
    Open311Client,
    RoutingEvent,
    Support,
    keyed_hash,
)
from mapideas.photos import ProcessedPhoto, photo_delete, photo_process, photo_save
from mapideas.rerouting import RerouteResult, reroute_open_ideas
from mapideas.roles import (
    OFFLINE_FORBIDDEN,
    WORK_FORBIDDEN,
    can_enter_offline,
    can_reassign,
    can_see_internal,
    can_work_on,
)
from neighborhoods.models import BoundaryVersion, Team
from neighborhoods.routing import route
from neighborhoods.services import version_hold, version_switch

# Messages shown to people are translated in the request's language (gettext; `_` is a
# throwaway variable in this module, hence the full names). OUTSIDE_MESSAGE is a plain str
# (tests and the browser tests look for it in pages), translated where it is said.
OUTSIDE_MESSAGE = gettext_noop(
    "This place is outside every neighborhood the city serves. "
    "Move the pin inside the city's neighborhoods."
)
REASSIGN_REASON_MESSAGE = gettext_lazy("Say why the pin goes to another team.")
REASSIGN_FORBIDDEN = gettext_lazy(
    "Only the pin's team, the city-wide triage team (for pins outside every neighborhood) "
    "and planners can re-assign it."
)


def location_from_lonlat(lon: object, lat: object, *, field: str = "location") -> Point:
    """A WGS84 point from longitude and latitude, or a ValidationError naming `field`.

    Refuses what is not a finite number and what lies off the globe, so that NaN or a swapped
    pair never reaches the database.
    """
    try:
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
    author: AbstractBaseUser | None = None,
    created_at: datetime | None = None,
    media_url: str = "",
    contact_email: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    open311_client: Open311Client | None = None,
    awaiting_confirmation: bool = False,
    idempotency: "Idempotency | None" = None,
) -> Idea:
    """Route the pin and store it; a pin that cannot be routed is refused, nothing written.

    With `idempotency` the row carries its key, unique in the database: a second pin with the
    same key raises IntegrityError (idea_submit_once turns that into the first pin).

    The contact fields are personal data (kept for staff, never published).
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
            location = location.transform(4326, clone=True)
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
        open311_client=open311_client,
        awaiting_confirmation=awaiting_confirmation,
        confirmation_sent_at=timezone.now() if awaiting_confirmation else None,
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
    idea.save()
    # A new pin has no photo (_create_with_photo attaches one afterwards): said here, so
    # reading idea.photo (the 201's photo_url) costs no query.
    Idea.photo.related.set_cached_value(idea, None)
    if routed.also_in:
        idea.also_in_teams.set(routed.also_in)
    RoutingEvent.objects.create(
        idea=idea,
        cause=RoutingEvent.Cause.CREATED,
        to_neighborhood=routed.neighborhood,
        to_team=routed.team,
        boundary_version=routed.version,
        # Kept in the site's language, whatever the request's: a record, not a message.
        reason=routed.reason_in(settings.LANGUAGE_CODE),
        created_at=idea.created_at,
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
    return idea


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
def idea_submit(
    *,
    kind: str,
    title: str,
    description: str = "",
    category: Category,
    location: Point,
    channel: str = Idea.Channel.WEB,
    author: AbstractBaseUser | None = None,
    email: str = "",
    name: str = "",
    photo: File | None = None,
    idempotency: "Idempotency | None" = None,
) -> Idea:
    """A citizen's pin from the web form or the API, sent a way the city allows: signed in
    (the author, who follows it), with an email address (routed at once, public once the
    emailed link is followed: idea_confirm), or anonymously. The email and name are
    personal data (contact_email, contact_name), never published; a signed-in author's are
    their account's, so what they type is not kept.

    An optional `photo` (an uploaded file) is checked and re-encoded first (mapideas.photos):
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
            kind=kind,
            title=title,
            description=description,
            category=category,
            location=location,
            channel=channel,
            person=person,
            email=email,
            name=name,
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


def _idea_submit_create(
    *,
    kind: str,
    title: str,
    description: str,
    category: Category,
    location: Point,
    channel: str,
    person: AbstractBaseUser | None,
    email: str,
    name: str,
    idempotency: "Idempotency | None" = None,
) -> Idea:
    pin = {
        "kind": kind,
        "title": title,
        "description": description,
        "category": category,
        "location": location,
        "channel": channel,
        "idempotency": idempotency,
    }
    if person is not None:
        return idea_create(**pin, author=person)
    if email:
        return idea_create(
            **pin,
            contact_email=clean_email(email),
            contact_name=name or "",
            awaiting_confirmation=True,
        )
    return idea_create(**pin)


# --- Idempotent submission (issue 8) ----------------------------------------------------------

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
    by its size (it is re-encoded anyway), text without surrounding blanks."""

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

    return {name: canonical(value) for name, value in pin.items()}


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


def _replay(found: Idea, given: Idempotency) -> Idea:
    if found.idempotency_fingerprint != given.fingerprint:
        raise IdempotencyConflict(IDEMPOTENCY_CONFLICT_MESSAGE)
    return found


def idea_replayed(given: Idempotency) -> Idea | None:
    """The pin already stored under this key (a retry), else None. Raises
    IdempotencyConflict when the key came with different content."""
    found = Idea.objects.filter(idempotency_key=given.key).first()
    return None if found is None else _replay(found, given)


def _create_once(given: Idempotency, create: Callable[[], Idea]) -> tuple[Idea, bool]:
    """(the pin, False) when `create` writes it now, (the pin stored under the key before,
    True) for a retry. Two retries racing both try to INSERT; the unique index lets one
    through and the other gets IntegrityError, then reads the winner's committed row (a
    SELECT-then-INSERT check would let both in)."""
    found = idea_replayed(given)
    if found is not None:
        return found, True
    try:
        with transaction.atomic():
            return create(), False
    except IntegrityError:
        found = idea_replayed(given)
        if found is None:  # another constraint failed, not ours
            raise
        return found, True


def idea_submit_once(*, idempotency: Idempotency, **pin: Any) -> tuple[Idea, bool]:
    """idea_submit with a key: see _create_once."""
    return _create_once(idempotency, lambda: idea_submit(**pin, idempotency=idempotency))


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
    pk, email = found
    idea = Idea.objects.select_for_update().filter(pk=pk).first()
    if idea is None or idea.contact_email.lower() != email.lower():
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


DUPLICATE_EMAIL_MESSAGE = gettext_lazy(
    "An account already uses this email address: log in instead."
)
DUPLICATE_USERNAME_MESSAGE = gettext_lazy("This username is taken: choose another.")


@transaction.atomic
def citizen_signup(*, username: str, email: str, password: str) -> AbstractBaseUser:
    """A citizen's account (/accounts/signup/): a username (the email address when none is
    given), an email address no other account uses, and a password Django's validators
    (AUTH_PASSWORD_VALIDATORS) accept. A ValidationError names each field in fault.

    The email check is a read before the write, not a database constraint (auth_user has
    none on email): two sign-ups racing with one address could both pass; the username's
    unique index still stops a double account."""
    email = clean_email(email)
    username = (username or "").strip() or email
    user_model = get_user_model()
    errors: dict[str, list[str]] = {}
    if user_model.objects.filter(email__iexact=email).exists():
        errors["email"] = [DUPLICATE_EMAIL_MESSAGE]
    user = user_model(username=username, email=email)
    try:
        user.full_clean(exclude=["password"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if user_model.objects.filter(username__iexact=username).exists():
        errors.setdefault("username", []).append(DUPLICATE_USERNAME_MESSAGE)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    return user


# --- Offline input entered by staff ------------------------------------------------------

# What staff may say a resident's input came through. Not "import": files go through
# `manage.py import_ideas`, which records that channel itself.
STAFF_ENTRY_CHANNELS = tuple(c for c in Idea.OFFLINE_CHANNELS if c != Idea.Channel.IMPORT)
GATHERED_IN_FUTURE_MESSAGE = gettext_lazy("The date gathered cannot be in the future.")


def gathered_at(day: date | None, *, now: datetime | None = None) -> datetime:
    """When input gathered on `day` counts as pinned: now for today (or no day), else noon of
    that day in TIME_ZONE (noon, so the day stays the same in any nearby time zone)."""
    now = now or timezone.now()
    if day is None or day == timezone.localdate(now):
        return now
    if day > timezone.localdate(now):
        raise ValidationError({"gathered_on": [GATHERED_IN_FUTURE_MESSAGE]})
    return timezone.make_aware(datetime.combine(day, time(12)))


def offline_idea_create(
    *,
    actor: AbstractBaseUser | None,
    kind: str,
    title: str,
    description: str = "",
    category: Category,
    location: Point,
    channel: str,
    event_name: str = "",
    gathered_on: date | None = None,
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    send_follow_link: bool = False,
    photo: File | None = None,
) -> Idea:
    """Staff enter input gathered offline on a resident's behalf (_offline_idea_create),
    with an optional `photo` (a resident's letter or paper form, say) checked, re-encoded
    and stored with the pin as idea_submit does: a refused one refuses the pin, naming
    `photo`, nothing written."""
    if actor is None or not can_enter_offline(actor):
        raise PermissionDenied(OFFLINE_FORBIDDEN)
    processed = photo_process(photo) if photo is not None else None
    return _create_with_photo(
        processed,
        lambda: _offline_idea_create(
            actor=actor,
            kind=kind,
            title=title,
            description=description,
            category=category,
            location=location,
            channel=channel,
            event_name=event_name,
            gathered_on=gathered_on,
            contact_name=contact_name,
            contact_email=contact_email,
            contact_phone=contact_phone,
            send_follow_link=send_follow_link,
        ),
    )


@transaction.atomic
def _offline_idea_create(
    *,
    actor: AbstractBaseUser | None,
    kind: str,
    title: str,
    description: str = "",
    category: Category,
    location: Point,
    channel: str,
    event_name: str = "",
    gathered_on: date | None = None,
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    send_follow_link: bool = False,
) -> Idea:
    """Staff enter input gathered offline (a phone call, a town-hall meeting, a paper form,
    a letter) on a resident's behalf. Routed by idea_create like any pin, so possibly to
    another team than the one entering it.

    The pin has no author (the staff member did not say it); who entered it is kept in an
    internal note. The resident's contact stays private. Staff cannot consent for the
    resident: with `send_follow_link` and an email, the address gets the same confirmation
    link as someone following from the pin's page, and hears nothing more until it is
    followed. `gathered_on` (not in the future) dates the pin (gathered_at).
    """
    if actor is None or not can_enter_offline(actor):
        raise PermissionDenied(OFFLINE_FORBIDDEN)
    if channel not in STAFF_ENTRY_CHANNELS:
        choices = ", ".join(str(c) for c in STAFF_ENTRY_CHANNELS)
        raise ValidationError(
            {"channel": [gettext("Choose one of: %(choices)s.") % {"choices": choices}]}
        )
    contact_email = (contact_email or "").strip()
    if contact_email:
        try:
            contact_email = clean_email(contact_email)
        except ValidationError as exc:
            raise ValidationError({"contact_email": exc.message_dict["email"]}) from None
    idea = idea_create(
        kind=kind,
        title=title,
        description=description,
        category=category,
        location=location,
        channel=channel,
        event_name=event_name,
        created_at=gathered_at(gathered_on),
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
    )
    label = Idea.Channel(channel).label.lower()
    IdeaNote.objects.create(
        idea=idea,
        kind=IdeaNote.Kind.NOTE,
        text=f"Entered by staff on a resident's behalf ({label}).",
        author=actor,
    )
    if contact_email and send_follow_link:
        follow(idea=idea, email=contact_email)
    return idea


@transaction.atomic
def boundaries_activate(*, version: BoundaryVersion, reason: str = "") -> RerouteResult:
    """Switch routing to `version` and re-route the open pins, all in one transaction.

    Closed pins keep the neighborhood and team that closed them (and their history).
    """
    previous = version_switch(version)
    reason = reason or (
        f"Boundaries changed from {previous.label!r} to {version.label!r}."
        if previous
        else f"Boundaries set to {version.label!r}."
    )
    return reroute_open_ideas(version=version, reason=reason)


@transaction.atomic
def idea_reassign(
    *, idea: Idea, team: Team, reason: str, actor: AbstractBaseUser | None = None
) -> RoutingEvent:
    """Staff send one pin to another team by hand, with a reason, recorded like any re-route.

    This is also the workflow's "not our responsibility": the routing history stays one
    timeline. The pin keeps its neighborhood (the place did not change, only who answers for
    it) and its status; its assignee, a member of the old team, is unassigned. Later
    boundary changes keep the team staff chose (Idea.team_set_by_staff). An `actor` is
    checked (mapideas.roles.can_reassign); without one (commands, tests) the caller decided.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [REASSIGN_REASON_MESSAGE]})
    # Lock first, then check: two staff re-assigning at once must not both pass the check.
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    if actor is not None and not can_reassign(actor, idea):
        raise PermissionDenied(REASSIGN_FORBIDDEN)
    if team.pk == idea.team_id:
        raise ValidationError(
            {"team": [gettext("The pin is already with %(team)s.") % {"team": team.display_name}]}
        )
    if idea.assignee_id is not None and not team.members.filter(pk=idea.assignee_id).exists():
        IdeaNote.objects.create(
            idea=idea,
            kind=IdeaNote.Kind.UNASSIGNED,
            text=f"Unassigned: the pin went to {team.name}.",
            author=_person(actor),
        )
        idea.assignee = None
    event = RoutingEvent.objects.create(
        idea=idea,
        cause=RoutingEvent.Cause.MANUAL,
        from_neighborhood_id=idea.neighborhood_id,
        to_neighborhood_id=idea.neighborhood_id,
        from_team_id=idea.team_id,
        to_team=team,
        reason=reason,
        actor=actor if actor is not None and actor.is_authenticated else None,
    )
    idea.team = team
    # Boundary changes keep this team from now on (mapideas.rerouting).
    idea.team_set_by_staff = True
    idea.save(update_fields=["team", "team_set_by_staff", "assignee", "updated_at"])
    return event


# --- The district teams' workflow (mapideas.workflow) -----------------------------------------
#
# Every write locks the pin first, then checks who may (mapideas.roles.can_work_on) and what
# (mapideas.workflow), then writes the change and its timeline entry in one transaction:
# public steps in IdeaUpdate, internal ones in IdeaNote.

ANSWER_REQUIRED_MESSAGE = gettext_lazy(
    "Tell the citizen why: a public answer is required for {status}."
)
NOTE_REQUIRED_MESSAGE = gettext_lazy("Write the note.")


def _person(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _locked(idea: Idea) -> Idea:
    return Idea.objects.select_for_update().select_related("team").get(pk=idea.pk)


def _check_may_work_on(actor: AbstractBaseUser | None, idea: Idea) -> None:
    if actor is None or not can_work_on(actor, idea):
        raise PermissionDenied(WORK_FORBIDDEN)


def _clean_text(text: str, *, field: str, max_length: int) -> str:
    text = (text or "").strip()
    if len(text) > max_length:
        raise ValidationError(
            {
                field: [
                    gettext("At most %(max)s characters, not %(length)s.")
                    % {"max": max_length, "length": len(text)}
                ]
            }
        )
    return text


def _check_status_change(idea: Idea, status: str, answer: str) -> None:
    """What idea_status_change refuses, without writing: a ValidationError naming the field."""
    if status == Idea.Status.DUPLICATE:
        raise ValidationError(
            {
                "status": [
                    gettext(
                        "Mark the pin as a duplicate of another one instead (give duplicate_of)."
                    )
                ]
            }
        )
    if status == idea.status:
        if not answer:
            raise ValidationError(
                {
                    "status": [
                        gettext("The pin is already %(status)s: change it, or answer.")
                        % {"status": workflow.label(status)}
                    ]
                }
            )
        return  # an answer without a status change
    workflow.check_transition(idea.status, status)
    if status in workflow.ANSWER_REQUIRED and not answer:
        raise ValidationError(
            {"answer": [ANSWER_REQUIRED_MESSAGE.format(status=workflow.label(status))]}
        )


def _record_update(
    idea: Idea,
    *,
    status: str,
    answer: str,
    actor: AbstractBaseUser | None,
    duplicate_of: Idea | None = None,
    now: datetime | None = None,
) -> IdeaUpdate:
    """Write one public step on a locked pin: the IdeaUpdate, the status and what follows."""
    now = now or timezone.now()
    update = IdeaUpdate.objects.create(
        idea=idea,
        from_status=idea.status,
        to_status=status,
        answer=answer,
        team_id=idea.team_id,
        duplicate_of=duplicate_of,
        actor=_person(actor),
        created_at=now,
    )
    fields = ["status", "updated_at"]
    if idea.first_response_at is None and (status != Idea.Status.NEW or answer):
        idea.first_response_at = now
        fields.append("first_response_at")
    if answer:
        idea.answer, idea.answer_at = answer, now
        fields += ["answer", "answer_at"]
    if status != Idea.Status.DUPLICATE and idea.duplicate_of_id is not None:
        idea.duplicate_of = None  # un-merged
        fields.append("duplicate_of")
    if duplicate_of is not None:
        idea.duplicate_of = duplicate_of
        fields.append("duplicate_of")
    idea.status = status
    idea.save(update_fields=fields)
    # Its followers are told (an outbox row each, in this transaction: send_notifications
    # sends them after the commit; a rollback takes them back with the change).
    notifications.notify_followers(idea, update)
    return update


@transaction.atomic
def idea_status_change(
    *, idea: Idea, status: str, answer: str = "", actor: AbstractBaseUser | None
) -> IdeaUpdate:
    """A team moves a pin along the workflow (mapideas.workflow.TRANSITIONS), with a public
    answer (required for done and declined). The same status with an answer is an answer
    alone. "Duplicate" goes through idea_mark_duplicate; "not our responsibility" through
    idea_reassign."""
    answer = _clean_text(answer, field="answer", max_length=ANSWER_MAX_LENGTH)
    idea = _locked(idea)
    _check_may_work_on(actor, idea)
    _check_status_change(idea, status, answer)
    return _record_update(idea, status=status, answer=answer, actor=actor)


@transaction.atomic
def idea_note_add(*, idea: Idea, text: str, author: AbstractBaseUser | None) -> IdeaNote:
    """An internal note on a pin, for staff only (mapideas.roles.can_see_internal)."""
    text = _clean_text(text, field="text", max_length=NOTE_MAX_LENGTH)
    if not text:
        raise ValidationError({"text": [NOTE_REQUIRED_MESSAGE]})
    idea = _locked(idea)
    _check_may_work_on(author, idea)
    return IdeaNote.objects.create(idea=idea, kind=IdeaNote.Kind.NOTE, text=text, author=author)


def _check_assignee(idea: Idea, assignee: AbstractBaseUser | None) -> None:
    if assignee is None:
        if idea.assignee_id is None:
            raise ValidationError({"assignee": [gettext("The pin is not assigned to anyone.")]})
        return
    if assignee.pk == idea.assignee_id:
        raise ValidationError(
            {
                "assignee": [
                    gettext("The pin is already assigned to %(user)s.")
                    % {"user": assignee.get_username()}
                ]
            }
        )
    if not idea.team.members.filter(pk=assignee.pk).exists():
        raise ValidationError(
            {
                "assignee": [
                    gettext("%(user)s is not a member of %(team)s, which has the pin.")
                    % {"user": assignee.get_username(), "team": idea.team.display_name}
                ]
            }
        )


def _record_assignment(
    idea: Idea, assignee: AbstractBaseUser | None, actor: AbstractBaseUser | None
) -> IdeaNote:
    if assignee is None:
        note = IdeaNote(kind=IdeaNote.Kind.UNASSIGNED, assignee=idea.assignee)
    else:
        note = IdeaNote(kind=IdeaNote.Kind.ASSIGNED, assignee=assignee)
    note.idea, note.author = idea, _person(actor)
    note.save()
    idea.assignee = assignee
    idea.save(update_fields=["assignee", "updated_at"])
    return note


@transaction.atomic
def idea_assign(
    *, idea: Idea, assignee: AbstractBaseUser | None, actor: AbstractBaseUser | None
) -> IdeaNote:
    """Give a pin to a member of its team (None: unassign). Internal: recorded as a note."""
    idea = _locked(idea)
    _check_may_work_on(actor, idea)
    _check_assignee(idea, assignee)
    return _record_assignment(idea, assignee, actor)


def duplicate_answer(original: Idea) -> str:
    return f"This is the same as pin #{original.pk}, “{original.title}”: follow it there."


@transaction.atomic
def idea_mark_duplicate(
    *, idea: Idea, original: Idea, answer: str = "", actor: AbstractBaseUser | None
) -> IdeaUpdate:
    """Merge a pin into another: status "duplicate", `duplicate_of` the original, and a public
    answer (by default one pointing at the original). Pins that were duplicates of this one
    now point at the original too, so nobody follows a chain.

    Its supports and followers move to the original, one per person (after they are told of
    the merge).
    """
    answer = _clean_text(answer, field="answer", max_length=ANSWER_MAX_LENGTH)
    if original.pk == idea.pk:
        raise ValidationError({"duplicate_of": [gettext("A pin cannot be a duplicate of itself.")]})
    # Both locked, in id order, so two merges of the same pair cannot deadlock or cross.
    locked = {
        i.pk: i
        for i in Idea.objects.select_for_update()
        .select_related("team")
        .filter(pk__in=[idea.pk, original.pk])
        .order_by("pk")
    }
    if original.pk not in locked:
        raise ValidationError({"duplicate_of": [gettext("No such pin.")]})
    idea, original = locked[idea.pk], locked[original.pk]
    _check_may_work_on(actor, idea)
    if original.status == Idea.Status.DUPLICATE:
        raise ValidationError(
            {
                "duplicate_of": [
                    f"Pin #{original.pk} is itself a duplicate of pin #{original.duplicate_of_id}: "
                    f"mark this one as a duplicate of #{original.duplicate_of_id}."
                ]
            }
        )
    if original.awaiting_confirmation and not idea.awaiting_confirmation:
        # A public pin must not point (nor send its supporters) to one the public cannot see.
        raise ValidationError(
            {
                "duplicate_of": [
                    f"Pin #{original.pk} awaits its author's email confirmation: mark it as a "
                    f"duplicate of #{idea.pk} instead."
                ]
            }
        )
    workflow.check_transition(idea.status, Idea.Status.DUPLICATE)
    update = _record_update(
        idea,
        status=Idea.Status.DUPLICATE,
        answer=answer or duplicate_answer(original),
        actor=actor,
        duplicate_of=original,
    )
    Idea.objects.filter(duplicate_of=idea).update(duplicate_of=original)
    _move_supporters_and_followers(idea, original)
    return update


_UNCHANGED = object()


def _already_assigned(idea: Idea, assignee: object) -> bool:
    return idea.assignee_id == getattr(assignee, "pk", None)


@dataclass(frozen=True)
class BulkResult:
    ideas: list[Idea]
    updates: list[IdeaUpdate]
    notes: list[IdeaNote]


@transaction.atomic
def ideas_bulk_update(
    *,
    ideas: list[int] | list[Idea],
    actor: AbstractBaseUser | None,
    status: str | None = None,
    answer: str = "",
    assignee: AbstractBaseUser | None | object = _UNCHANGED,
) -> BulkResult:
    """One change to a selection of pins from a team's queue: a status (with one answer for
    all) and/or an assignee (None: unassign). All or nothing: every pin is locked and checked
    (who may, which transition, which assignee) before anything is written; one refusal
    refuses the lot, naming the pins.
    """
    ids = sorted({i.pk if isinstance(i, Idea) else int(i) for i in ideas})
    if not ids:
        raise ValidationError({"ideas": [gettext("Select at least one pin.")]})
    if status is None and assignee is _UNCHANGED:
        raise ValidationError({"action": [gettext("Choose a status or an assignee.")]})
    answer = _clean_text(answer, field="answer", max_length=ANSWER_MAX_LENGTH)
    locked = list(
        Idea.objects.select_for_update().select_related("team").filter(pk__in=ids).order_by("pk")
    )
    missing = sorted(set(ids) - {i.pk for i in locked})
    if missing:
        raise ValidationError(
            {
                "ideas": [
                    gettext("No such pin: %(pins)s.")
                    % {"pins": ", ".join(f"#{m}" for m in missing)}
                ]
            }
        )
    forbidden = [i.pk for i in locked if actor is None or not can_work_on(actor, i)]
    if forbidden:
        raise PermissionDenied(
            f"{WORK_FORBIDDEN} "
            + gettext("Not yours: %(pins)s.") % {"pins": ", ".join(f"#{pk}" for pk in forbidden)}
        )
    problems: dict[str, list[str]] = {}
    for idea in locked:
        checks = []
        if status is not None:
            checks.append(lambda idea=idea: _check_status_change(idea, status, answer))
        if assignee is not _UNCHANGED and not _already_assigned(idea, assignee):
            checks.append(lambda idea=idea: _check_assignee(idea, assignee))  # type: ignore[arg-type]
        for check in checks:
            try:
                check()
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    problems.setdefault(field, []).extend(f"#{idea.pk}: {m}" for m in messages)
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    updates, notes = [], []
    for idea in locked:
        if status is not None:
            updates.append(_record_update(idea, status=status, answer=answer, actor=actor, now=now))
        # Pins already with that person (or already unassigned) are left as they are.
        if assignee is not _UNCHANGED and not _already_assigned(idea, assignee):
            notes.append(_record_assignment(idea, assignee, actor))  # type: ignore[arg-type]
    return BulkResult(ideas=locked, updates=updates, notes=notes)


# --- Citizens follow what happens: support, comments, follow --------------------------------
#
# Support and follow are idempotent (doing it twice is doing it once); each write locks the
# pin first, so the denormalised support_count cannot drift under concurrent clicks.

COMMENT_REQUIRED_MESSAGE = gettext_lazy("Write a comment.")
COMMENT_FORBIDDEN = gettext_lazy("Sign in to comment: anonymous comments are off.")
HIDE_FORBIDDEN = gettext_lazy(
    "Only staff who work on the pin (its team, the teams it lies in the area of, planners) "
    "and administrators can hide a comment."
)
HIDE_REASON_MESSAGE = gettext_lazy("Say why the comment is hidden: the page shows the reason.")
DUPLICATE_SUPPORT_MESSAGE = gettext_lazy("This pin is a duplicate of pin #{pk}: support that one.")


def _supporter(user: AbstractBaseUser | None, token_hash: str) -> dict:
    person = _person(user)
    if person is not None:
        return {"user": person}
    if not token_hash:
        raise PermissionDenied(gettext("Anonymous support needs the supporter cookie."))
    return {"user": None, "token_hash": token_hash}


@transaction.atomic
def idea_support(*, idea: Idea, user: AbstractBaseUser | None = None, token_hash: str = "") -> bool:
    """One person supports a pin: a signed-in user (one row per pin and user), else the
    anonymous cookie's token (its keyed hash, models.keyed_hash). Supporting again changes
    nothing. True if the support is new. A duplicate's supporters belong to the original."""
    who = _supporter(user, token_hash)
    idea = _locked(idea)
    if idea.status == Idea.Status.DUPLICATE and idea.duplicate_of_id is not None:
        raise ValidationError(
            {"support": [DUPLICATE_SUPPORT_MESSAGE.format(pk=idea.duplicate_of_id)]}
        )
    _support, created = Support.objects.get_or_create(idea=idea, **who)
    if created:
        Idea.objects.filter(pk=idea.pk).update(support_count=F("support_count") + 1)
    return created


@transaction.atomic
def idea_unsupport(*, idea: Idea, user: AbstractBaseUser | None) -> bool:
    """A signed-in user takes their support back (anonymous support cannot be: the cookie
    proves nothing worth trusting with that). True if there was one."""
    if _person(user) is None:
        raise PermissionDenied(gettext("Sign in to take back a support."))
    idea = _locked(idea)
    deleted, _ = Support.objects.filter(idea=idea, user=user).delete()
    if deleted:
        Idea.objects.filter(pk=idea.pk).update(support_count=F("support_count") - deleted)
    return bool(deleted)


def _recount_supports(idea_id: int) -> None:
    Idea.objects.filter(pk=idea_id).update(
        support_count=Coalesce(
            Subquery(
                Support.objects.filter(idea=OuterRef("pk"))
                .order_by()
                .values("idea")
                .annotate(n=Count("id"))
                .values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        )
    )


@transaction.atomic
def comment_add(*, idea: Idea, author: AbstractBaseUser | None, text: str) -> Comment:
    """A signed-in person's public comment. A member of a team that may work on the pin
    speaks for the pin's team: the page signs the comment with the team's name."""
    if _person(author) is None:
        raise PermissionDenied(COMMENT_FORBIDDEN)
    text = _clean_text(text, field="text", max_length=COMMENT_MAX_LENGTH)
    if not text:
        raise ValidationError({"text": [COMMENT_REQUIRED_MESSAGE]})
    idea = _locked(idea)
    team = idea.team if can_work_on(author, idea) else None
    return Comment.objects.create(idea=idea, author=author, team=team, text=text)


@transaction.atomic
def comment_hide(*, comment: Comment, reason: str, actor: AbstractBaseUser | None) -> Comment:
    """Moderators take a comment off the public page, with a reason shown in its place."""
    reason = _clean_text(reason, field="reason", max_length=HIDE_REASON_MAX_LENGTH)
    comment = Comment.objects.select_for_update().select_related("idea").get(pk=comment.pk)
    if actor is None or not can_see_internal(actor, comment.idea):
        raise PermissionDenied(HIDE_FORBIDDEN)
    if not reason:
        raise ValidationError({"reason": [HIDE_REASON_MESSAGE]})
    if comment.is_hidden:
        raise ValidationError({"reason": [gettext("The comment is already hidden.")]})
    comment.hidden_at = timezone.now()
    comment.hidden_reason = reason
    comment.hidden_by = actor
    comment.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
    return comment


@dataclass(frozen=True)
class FollowResult:
    follower: Follower
    # An email address still to confirm: a confirmation email was queued (or one recently).
    needs_confirmation: bool


@transaction.atomic
def follow(*, idea: Idea, user: AbstractBaseUser | None = None, email: str = "") -> FollowResult:
    """Follow a pin: a signed-in person at once (their account's email), anyone else with an
    email address, which gets a confirmation link first; nothing is sent to it before.
    Following again changes nothing (an unconfirmed address gets a new link, at most one a
    day)."""
    idea = _locked(idea)
    person = _person(user)
    now = timezone.now()
    if person is not None:
        follower, _ = Follower.objects.get_or_create(
            idea=idea, user=person, defaults={"confirmed_at": now}
        )
        return FollowResult(follower, needs_confirmation=False)
    email = clean_email(email)
    follower, _ = Follower.objects.get_or_create(idea=idea, email=email)
    if follower.confirmed_at is not None:
        return FollowResult(follower, needs_confirmation=False)
    if follower.confirmation_sent_at is None or follower.confirmation_sent_at < now - timedelta(
        days=1
    ):
        notifications.queue_confirmation(follower)
        follower.confirmation_sent_at = now
        follower.save(update_fields=["confirmation_sent_at"])
    return FollowResult(follower, needs_confirmation=True)


def clean_email(email: str) -> str:
    email = (email or "").strip()
    if not email:
        raise ValidationError({"email": [gettext("Give your email address.")]})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": [gettext("Give a valid email address.")]}) from None
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


@transaction.atomic
def follow_confirm(*, token: str) -> Follower | None:
    """Confirm an address from the link it was sent; None if the link is bad or expired
    (or the follower is gone). Confirming twice is confirming once."""
    pk = notifications.follower_id_from(
        token, salt=notifications.CONFIRM_SALT, max_age=notifications.CONFIRM_MAX_AGE
    )
    follower = Follower.objects.select_for_update().filter(pk=pk).first() if pk else None
    if follower is None:
        return None
    if follower.confirmed_at is None:
        follower.confirmed_at = timezone.now()
        follower.save(update_fields=["confirmed_at"])
    return follower


@transaction.atomic
def unfollow(
    *, idea: Idea | None = None, user: AbstractBaseUser | None = None, token: str = ""
) -> bool:
    """Stop following: a signed-in person, a pin; or anyone with the one-click link of an
    email (`token`, no login). True if someone stopped following."""
    if token:
        pk = notifications.follower_id_from(token, salt=notifications.UNSUBSCRIBE_SALT)
        if pk is None:
            raise ValidationError({"token": [gettext("This unsubscribe link is damaged.")]})
        deleted, _ = Follower.objects.filter(pk=pk).delete()
        return bool(deleted)
    if _person(user) is None or idea is None:
        raise PermissionDenied(gettext("Sign in to unfollow, or use the link in the email."))
    deleted, _ = Follower.objects.filter(idea=idea, user=user).delete()
    return bool(deleted)


@transaction.atomic
def team_notifications_stop(*, token: str) -> Team | None:
    """The one-click link of a team's new-pin emails: the team gets no more (Team.notify
    becomes "none"; the admin sets it again). None if the link is bad or the team's address
    changed since."""
    team = notifications.team_from_stop_token(token)
    if team is None:
        return None
    Team.objects.filter(pk=team.pk).update(notify=Team.Notify.NONE)
    team.notify = Team.Notify.NONE
    return team


def _move_supporters_and_followers(idea: Idea, original: Idea) -> None:
    """On a merge: the duplicate's supports and followers go to the original, one per person
    (someone who supported or followed both keeps one; a confirmed address stays confirmed),
    and both support counts are recounted."""
    supports = Support.objects.filter(idea=idea)
    supports.filter(
        user__in=Support.objects.filter(idea=original, user__isnull=False).values("user")
    ).delete()
    supports.exclude(token_hash="").filter(
        token_hash__in=Support.objects.filter(idea=original)
        .exclude(token_hash="")
        .values("token_hash")
    ).delete()
    supports.update(idea=original)
    _recount_supports(idea.pk)
    _recount_supports(original.pk)

    followers = Follower.objects.filter(idea=idea)
    followers.filter(
        user__in=Follower.objects.filter(idea=original, user__isnull=False).values("user")
    ).delete()
    theirs = {f.email: f for f in Follower.objects.filter(idea=original).exclude(email="")}
    for follower in followers.exclude(email=""):
        kept = theirs.get(follower.email)
        if kept is None:
            continue
        if kept.confirmed_at is None and follower.confirmed_at is not None:
            kept.confirmed_at = follower.confirmed_at
            kept.save(update_fields=["confirmed_at"])
        follower.delete()
    followers.update(idea=original)


# --- Open311 GeoReport v2 (mapideas/open311/) -------------------------------------------------


def title_from_description(description: str, *, fallback: str) -> str:
    """A pin title for input that has none (Open311 sends only a description).

    The first non-empty line, whitespace collapsed, cut at a word boundary with "…" to fit
    TITLE_MAX_LENGTH; `fallback` (the category's name) when the description is empty.
    """
    first_line = next((line for line in description.splitlines() if line.strip()), "")
    title = re.sub(r"\s+", " ", first_line).strip() or fallback.strip()
    if len(title) <= TITLE_MAX_LENGTH:
        return title
    cut = title[: TITLE_MAX_LENGTH - 1]
    # Cut at the last space unless that would throw away most of the line (one long word).
    if " " in cut[TITLE_MAX_LENGTH // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def open311_request_create(
    *,
    client: Open311Client,
    category: Category,
    location: Point,
    description: str = "",
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    media_url: str = "",
    idempotency: Idempotency | None = None,
) -> Idea:
    """An Open311 service request, pinned like any other: an issue, through the API channel.

    Open311 has no title: it is made from the description (title_from_description).
    """
    return idea_create(
        kind=Idea.Kind.ISSUE,
        title=title_from_description(description, fallback=category.name),
        description=description,
        category=category,
        location=location,
        channel=Idea.Channel.API,
        media_url=media_url,
        contact_email=email,
        contact_name=" ".join(part.strip() for part in (first_name, last_name) if part.strip()),
        contact_phone=phone,
        open311_client=client,
        idempotency=idempotency,
    )


def open311_request_create_once(*, idempotency: Idempotency, **fields: Any) -> tuple[Idea, bool]:
    """open311_request_create with a key: see _create_once."""
    return _create_once(
        idempotency, lambda: open311_request_create(**fields, idempotency=idempotency)
    )


@dataclass(frozen=True)
class IssuedOpen311Key:
    client: Open311Client
    # The only time the key exists in clear: show it once, store it nowhere.
    key: str


def open311_client_create(
    *, name: str, created_by: AbstractBaseUser | None = None
) -> IssuedOpen311Key:
    """Issue a key to a new Open311 client. Refused if a client of that name has a live key."""
    # Hex, so a key never starts with "-" (a command-line option) nor needs URL-escaping.
    key = secrets.token_hex(24)
    client = Open311Client(
        name=name.strip(),
        key_prefix=key[: Open311Client.PREFIX_LENGTH],
        key_hash=Open311Client.hash_key(key),
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )
    # Checks the name and the one-live-key-per-name constraint; a concurrent twin still
    # meets the database's unique index.
    client.full_clean(exclude=["created_by"])
    client.save()
    return IssuedOpen311Key(client=client, key=key)


@transaction.atomic
def open311_client_revoke(*, client: Open311Client) -> Open311Client:
    """Revoke the client's key at once; revoking twice keeps the first time."""
    Open311Client.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    client.refresh_from_db(fields=["revoked_at"])
    return client
