"""Reads for ideas: the public querysets every page, API and export starts from."""

from django.db.models import Count, QuerySet

from mapideas.models import Category, Idea, RoutingEvent
from neighborhoods.models import Neighborhood, Team
from neighborhoods.selectors import active_neighborhoods


def public_ideas() -> QuerySet[Idea]:
    """Ideas anyone may see, with what their public fields need, newest first."""
    return Idea.objects.select_related("category", "neighborhood", "team").order_by(
        "-created_at", "-id"
    )


def team_ideas(*, team: Team) -> QuerySet[Idea]:
    return public_ideas().filter(team=team)


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
