"""Writes for ideas. Every pin, whatever door it came through, is created by `idea_create`."""

import math
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, Point
from django.core.exceptions import ValidationError
from django.db import transaction

from mapideas.models import Category, Idea, RoutingEvent
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
) -> Idea:
    """Route the pin and store it; a pin that cannot be routed is refused, nothing written."""
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
    )
    if created_at is not None:
        idea.created_at = created_at
    # The related objects come from the database (routing, the caller's category): checking
    # that they exist would cost a query each for nothing.
    idea.full_clean(exclude=["category", "neighborhood", "team", "author"])
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
