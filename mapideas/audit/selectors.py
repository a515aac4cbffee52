"""Reads of the audit log for planners and administrators (the page and its CSV export)."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.utils import timezone

from mapideas.models import AuditEvent
from neighborhoods.roles import is_planner


def can_read_audit(user: User | AnonymousUser) -> bool:
    """Planners and administrators (site staff): the log names staff accounts."""
    return user.is_authenticated and (user.is_staff or is_planner(user))


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor_id: int | None = None  # a staff account's id
    since: date | None = None
    until: date | None = None  # included
    idea_number: int | None = None


def audit_actors() -> list[tuple[int, str]]:
    """The accounts that took an action in the log, (id, username now), by username."""
    ids = AuditEvent.objects.filter(actor__isnull=False).values("actor_id").distinct()
    return sorted(
        get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"),
        key=lambda row: row[1],
    )


def audit_events(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The log's events that `filters` select, newest first."""
    events = AuditEvent.objects.select_related("team").order_by("-created_at", "-id")
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.actor_id is not None:
        events = events.filter(actor_id=filters.actor_id)
    zone = timezone.get_current_timezone()
    if filters.since is not None:
        events = events.filter(created_at__gte=datetime.combine(filters.since, time.min, zone))
    if filters.until is not None:
        events = events.filter(created_at__lte=datetime.combine(filters.until, time.max, zone))
    if filters.idea_number is not None:
        events = events.filter(idea_number=filters.idea_number)
    return events
