"""Reads of a team's response templates: those that fit a pin, and a status's automatic one."""

from django.db.models import Q, QuerySet

from mapideas.models import Idea, ResponseTemplate
from neighborhoods.models import Team


def team_templates(*, team: Team) -> QuerySet[ResponseTemplate]:
    return ResponseTemplate.objects.filter(team=team).select_related("category").order_by("name")


def templates_for_pin(*, idea: Idea) -> QuerySet[ResponseTemplate]:
    """The templates that fit `idea`: its team's, for its category or for any."""
    return (
        ResponseTemplate.objects.filter(team_id=idea.team_id)
        .filter(Q(category__isnull=True) | Q(category_id=idea.category_id))
        .select_related("category")
        .order_by("name", "id")
    )


def fits(template: ResponseTemplate, idea: Idea) -> bool:
    return template.team_id == idea.team_id and template.category_id in (None, idea.category_id)


def automatic_template(*, idea: Idea, status: str) -> ResponseTemplate | None:
    """The template the team attached to `status` that fits `idea`: one for its category
    before one for any category, then by name."""
    if not status:
        return None
    found = list(templates_for_pin(idea=idea).filter(status=status))
    found.sort(key=lambda t: (t.category_id is None, t.name, t.pk))
    return found[0] if found else None
