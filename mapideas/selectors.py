"""Reads for ideas: the public querysets every page, API and export starts from."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from mapideas.models import Category, Idea, Open311Client, RoutingEvent
from neighborhoods.models import Neighborhood, Team
from neighborhoods.routing import NearbyNeighborhood, Route, nearest_other_neighborhood, route
from neighborhoods.selectors import active_neighborhoods


def public_ideas() -> QuerySet[Idea]:
    """Ideas anyone may see, with what their public fields need, newest first.

    The neighborhood comes along for its name and slug, not its polygon: loading a polygon per
    pin made a page of pins ~80x slower on SpatiaLite. A page that needs it loads it once.
    """
    return (
        Idea.objects.select_related("category", "neighborhood", "team")
        .defer("neighborhood__geometry")
        .order_by("-created_at", "-id")
    )


def team_ideas(*, team: Team) -> QuerySet[Idea]:
    return public_ideas().filter(team=team)


def team_also_in_area_ideas(*, team: Team) -> QuerySet[Idea]:
    """Open pins owned by another team that lie in `team`'s area too (overlapping polygons)."""
    return (
        public_ideas().filter(also_in_teams=team, status__in=Idea.OPEN_STATUSES).exclude(team=team)
    )


def categories() -> QuerySet[Category]:
    return Category.objects.all()


def neighborhoods_with_counts() -> QuerySet[Neighborhood]:
    """Neighborhoods with their team and the number of ideas routed to them.

    Counted in a subquery, not a join + GROUP BY: grouping by every column drags the polygons
    through the sort (about 1 s for 77 neighborhoods on SpatiaLite, against milliseconds).
    """
    pins = (
        Idea.objects.filter(neighborhood=OuterRef("pk"))
        .order_by()
        .values("neighborhood")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        active_neighborhoods()
        .select_related("team")
        .annotate(idea_count=Coalesce(Subquery(pins, output_field=IntegerField()), Value(0)))
        .order_by("name")
    )


def routing_history(*, idea: Idea) -> QuerySet[RoutingEvent]:
    """Where the pin was routed and every move since, oldest first (for its public page)."""
    return idea.routing_events.select_related(
        "from_neighborhood", "to_neighborhood", "from_team", "to_team"
    ).order_by("created_at", "id")


@dataclass(frozen=True)
class RoutePreview:
    """Where a pin would go, and the neighborhood just over the border when there is one."""

    route: Route
    nearby: NearbyNeighborhood | None

    @property
    def near_border(self) -> bool:
        return self.nearby is not None


def route_preview(*, location: Point, category: Category | None = None) -> RoutePreview | None:
    """What idea_create would decide for a pin here, without writing anything.

    None when the point is outside the service area (idea_create would refuse it).
    """
    routed = route(location, category.slug if category is not None else None)
    if routed is None:
        return None
    hint_m = settings.MAPIDEAS_BORDER_HINT_M
    nearby = (
        nearest_other_neighborhood(location, routed.neighborhood, within_m=hint_m)
        if hint_m > 0
        else None
    )
    return RoutePreview(route=routed, nearby=nearby)


# --- Open311 GeoReport v2 -----------------------------------------------------------------


def open311_client_by_key(key: str) -> Open311Client | None:
    """The client a key was issued to, revoked or not (the caller says which), or None."""
    return Open311Client.objects.filter(key_hash=Open311Client.hash_key(key)).first()


def open311_requests(
    *,
    ids: Collection[int] | None = None,
    service_codes: Collection[str] | None = None,
    statuses: Collection[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Idea]:
    """Pins as Open311 service requests, newest first. `ids`, when given, overrides the rest
    (as the spec says); `statuses` are Open311's "open" and "closed"."""
    ideas = public_ideas()
    if ids is not None:
        return ideas.filter(pk__in=ids)
    if service_codes:
        ideas = ideas.filter(category__slug__in=service_codes)
    if statuses and set(statuses) != {"open", "closed"}:
        if "open" in statuses:
            ideas = ideas.filter(status__in=Idea.OPEN_STATUSES)
        else:
            ideas = ideas.exclude(status__in=Idea.OPEN_STATUSES)
    if start is not None:
        ideas = ideas.filter(created_at__gte=start)
    if end is not None:
        ideas = ideas.filter(created_at__lte=end)
    return ideas
