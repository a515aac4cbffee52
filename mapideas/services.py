"""Writes for ideas. Every pin, whatever door it came through, is created by `idea_create`."""

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, Point
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mapideas.models import TITLE_MAX_LENGTH, Category, Idea, Open311Client, RoutingEvent
from mapideas.rerouting import RerouteResult, reroute_open_ideas
from neighborhoods.models import BoundaryVersion, Team
from neighborhoods.routing import route
from neighborhoods.services import version_hold, version_switch

OUTSIDE_MESSAGE = (
    "This place is outside every neighborhood the city serves. "
    "Move the pin inside the city's neighborhoods."
)
REASSIGN_REASON_MESSAGE = "Say why the pin goes to another team."


def location_from_lonlat(lon: object, lat: object, *, field: str = "location") -> Point:
    """A WGS84 point from longitude and latitude, or a ValidationError naming `field`.

    Refuses what is not a finite number and what lies off the globe, so that NaN or a swapped
    pair never reaches the database.
    """
    try:
        lon_f, lat_f = float(lon), float(lat)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError({field: ["Longitude and latitude must be numbers."]}) from None
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)):
        raise ValidationError({field: ["Longitude and latitude must be finite numbers."]})
    if not -90 <= lat_f <= 90:
        raise ValidationError({field: [f"Latitude must be between -90 and 90, not {lat_f}."]})
    if not -180 <= lon_f <= 180:
        raise ValidationError({field: [f"Longitude must be between -180 and 180, not {lon_f}."]})
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
    author: AbstractBaseUser | None = None,
    created_at: datetime | None = None,
    media_url: str = "",
    contact_email: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    open311_client: Open311Client | None = None,
) -> Idea:
    """Route the pin and store it; a pin that cannot be routed is refused, nothing written.

    The contact fields are personal data (kept for staff, never published).
    """
    # An empty point (`POINT EMPTY`, or NaNs, which GEOS treats as empty) has no x to read.
    if location.empty:
        raise ValidationError({"location": ["Give a point with a longitude and a latitude."]})
    if location.srid not in (None, 4326):
        try:
            location = location.transform(4326, clone=True)
        except (GDALException, GEOSException):
            raise ValidationError(
                {"location": [f"Unknown coordinate reference system (SRID {location.srid})."]}
            ) from None
    location = location_from_lonlat(location.x, location.y)
    for _attempt in range(3):
        routed = route(location, category.slug)
        if routed is None:
            raise ValidationError({"location": [OUTSIDE_MESSAGE]})
        # Boundaries switched while routing: route again by the new ones.
        if version_hold(routed.version):
            break
    else:
        raise ValidationError({"location": ["Boundaries are being changed; try again."]})
    idea = Idea(
        kind=kind,
        title=title.strip(),
        description=description.strip(),
        category=category,
        location=location,
        neighborhood=routed.neighborhood,
        team=routed.team,
        channel=channel,
        author=author if author is not None and author.is_authenticated else None,
        media_url=media_url.strip(),
        contact_email=contact_email.strip(),
        contact_name=contact_name.strip(),
        contact_phone=contact_phone.strip(),
        open311_client=open311_client,
    )
    if created_at is not None:
        idea.created_at = created_at
    # The related objects come from the database (routing, the caller's category): checking
    # that they exist would cost a query each for nothing.
    idea.full_clean(exclude=["category", "neighborhood", "team", "author", "open311_client"])
    idea.save()
    if routed.also_in:
        idea.also_in_teams.set(routed.also_in)
    RoutingEvent.objects.create(
        idea=idea,
        cause=RoutingEvent.Cause.CREATED,
        to_neighborhood=routed.neighborhood,
        to_team=routed.team,
        boundary_version=routed.version,
        reason=routed.reason,
        created_at=idea.created_at,
    )
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

    The pin keeps its neighborhood (the place did not change, only who answers for it).
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [REASSIGN_REASON_MESSAGE]})
    # Lock first, then check: two staff re-assigning at once must not both pass the check.
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    if team.pk == idea.team_id:
        raise ValidationError({"team": [f"The pin is already with {team.name}."]})
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
    idea.save(update_fields=["team", "updated_at"])
    return event


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
