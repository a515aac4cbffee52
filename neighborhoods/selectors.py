"""Reads for neighborhoods: what is current is the active boundary version."""

from django.db.models import QuerySet

from neighborhoods.models import Neighborhood


def active_neighborhoods() -> QuerySet[Neighborhood]:
    """The neighborhoods routing uses now (older versions are kept for history only)."""
    return Neighborhood.objects.filter(version__is_active=True)
