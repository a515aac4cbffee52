"""Reads of webhooks for the staff pages: endpoints with the state of their queue, and an
endpoint's delivery log."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet

from mapideas.models import WebhookDelivery, WebhookEndpoint
from mapideas.pins.selectors import public_ideas


def endpoints() -> QuerySet[WebhookEndpoint]:
    """Every endpoint, with `pending` (deliveries not yet delivered), `waiting_for_pin`
    (those held because their pin is not public now: awaiting its author's confirmation or
    hidden by moderators) and `oldest_pending` (when the oldest of them was queued)."""
    pending = Q(deliveries__delivered_at__isnull=True)
    return WebhookEndpoint.objects.annotate(
        pending=Count("deliveries", filter=pending),
        waiting_for_pin=Count(
            "deliveries",
            filter=pending
            & Q(deliveries__idea__isnull=False)
            & ~Q(deliveries__idea__in=public_ideas().values("pk")),
        ),
        oldest_pending=Min("deliveries__created_at", filter=pending),
    ).order_by("id")


def endpoint(pk: int) -> WebhookEndpoint | None:
    return endpoints().filter(pk=pk).first()


@dataclass(frozen=True)
class LogLine:
    delivery: WebhookDelivery
    state: str  # "delivered", "pending", "failing", "test passed", "test failed"

    @property
    def when(self) -> datetime:
        return self.delivery.last_attempt_at or self.delivery.created_at


def delivery_log(endpoint: WebhookEndpoint, *, limit: int = 100) -> list[LogLine]:
    """The endpoint's latest deliveries, newest first, each with its state in words."""
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).defer("body").order_by("-id")[:limit]
    return [LogLine(row, _state(row)) for row in rows]


def _state(delivery: WebhookDelivery) -> str:
    ok = delivery.last_status is not None and 200 <= delivery.last_status < 300
    if delivery.event == "ping":
        return "test passed" if ok else "test failed"
    if delivery.delivered_at is not None:
        return "delivered"
    return "failing" if delivery.attempts else "pending"
