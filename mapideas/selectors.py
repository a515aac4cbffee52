"""Reads for ideas: the public querysets every page, API and export starts from."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db.models import Count, QuerySet

from mapideas.models import Category, Idea, RoutingEvent
from neighborhoods.models import Neighborhood, Team
from neighborhoods.routing import NearbyNeighborhood, Route, nearest_other_neighborhood, route
from neighborhoods.selectors import active_neighborhoods


def public_ideas() -> QuerySet[Idea]:
    """Ideas anyone may see, with what their public fields need, newest first."""
    return Idea.objects.select_related("category", "neighborhood", "team").order_by(
        "-created_at", "-id"
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
    """Neighborhoods with their team and the number of ideas routed to them."""
    return (
        active_neighborhoods()
        .select_related("team")
        .annotate(idea_count=Count("ideas"))
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
