"""Reads of the Open311 GeoReport v2 server."""

from collections.abc import Collection
from datetime import datetime

from django.db.models import (
    QuerySet,
)

from mapideas.models import (
    Idea,
    Open311Client,
)
from mapideas.pins.selectors import public_ideas

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
