"""Reads of hand-offs: a pin's, for its team's part of the pin's page."""

from django.db.models import QuerySet

from mapideas.models import ID_MAX, Handoff, Idea


def idea_handoffs(*, idea: Idea) -> QuerySet[Handoff]:
    """Every hand-off of the pin, newest first (for those who see its internals)."""
    return idea.handoffs.order_by("-created_at", "-id")


def idea_handoff(*, idea: Idea, pk: int) -> Handoff | None:
    """Hand-off `pk` of `idea`, or None (another pin's, or none)."""
    if not 0 < pk <= ID_MAX:
        return None
    return Handoff.objects.select_related("idea", "team").filter(idea=idea, pk=pk).first()
