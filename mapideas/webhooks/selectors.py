"""Reads of webhooks for the staff pages: endpoints with the state of their queue, and an
endpoint's delivery log."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from mapideas.models import WebhookDelivery, WebhookEndpoint
from mapideas.pins.selectors import public_ideas


def endpoints() -> QuerySet[WebhookEndpoint]:
    """Every endpoint, with `pending` (deliveries not yet delivered), `waiting_for_pin`
    (those held because their pin is not public now: awaiting its author's confirmation or
    hidden by moderators) and `oldest_pending` (when the oldest of them was queued). Counted
    in subqueries over the pending rows only (a partial index): a receiver's long log of
    delivered rows is never read for them."""
    pending = WebhookDelivery.objects.filter(endpoint=OuterRef("pk"), delivered_at__isnull=True)
    waiting = pending.filter(idea__isnull=False).exclude(idea__in=public_ideas().values("pk"))
    return WebhookEndpoint.objects.annotate(
        pending=_count(pending),
        waiting_for_pin=_count(waiting),
        oldest_pending=Subquery(pending.order_by("id").values("created_at")[:1]),
    ).order_by("id")


def _count(rows: QuerySet[WebhookDelivery]) -> Coalesce:
    counted = rows.order_by().values("endpoint").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted), 0)


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
