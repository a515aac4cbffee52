"""Signed webhooks: a JSON POST to the city's systems when a pin is created, changes status or
gets a public answer.

Queued, never sent during a request: each event writes one WebhookDelivery per endpoint that
subscribes to it, in the transaction of the event itself (a rolled-back change queues
nothing, a committed one cannot lose its deliveries). `manage.py send_webhooks` (every
minute, like send_notifications) sends them after the commit through
mapideas.plumbing.outbound (refuses private addresses, bounds time and size).

What a receiver can count on:
- Every delivery is retried without end, with a back-off, until the receiver answers 2xx.
  A receiver that cannot be reached, times out, or answers 5xx or 429 is backed off as a
  whole (1, 2, 4 ... 60 minutes): nothing is sent to it meanwhile, and everything is sent
  afterwards.
- A pin's deliveries to an endpoint arrive in the order of its events: the next one waits
  while an earlier one is pending.
- At least once: a sender killed after the receiver took a POST and before it wrote that
  down sends it again (same body, same X-MapIdeas-Delivery id: receivers deduplicate by it).
- The body is the pin as the public sees it (mapideas.pins.fields, the one public pin: no
  personal data) and it is sent only while the pin is public (mapideas.pins.selectors.
  public_ideas): the deliveries of a pin awaiting its author's confirmation or hidden by
  moderators wait, in order, until it is public again.
- Signed: `X-MapIdeas-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`, keyed
  with the endpoint's secret (shown once to staff, derived from SECRET_KEY, never stored).
"""

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from mapideas.audit import services as audit
from mapideas.map.coordinates import Latitude, Longitude
from mapideas.map.viewport import PIN_ROWS, PIN_VALUES
from mapideas.models import Idea, IdeaUpdate, WebhookDelivery, WebhookEndpoint
from mapideas.notifications.services import absolute
from mapideas.pins.fields import PinContext
from mapideas.pins.selectors import public_ideas
from mapideas.plumbing import outbound
from mapideas.plumbing.backoff import backoff
from mapideas.plumbing.hashing import keyed_hash
from mapideas.plumbing.stored_text import stored_text
from neighborhoods.compiled_queries import CompiledQuery

Event = WebhookEndpoint.Event
# The test delivery of the staff page's button: no pin.
PING = "ping"
SIGNATURE_HEADER = "X-MapIdeas-Signature"
# How long a sender holds a delivery it took: longer than one outbound call may last.
CLAIM = timedelta(seconds=120)
# How long a delivered delivery stays in its endpoint's log.
LOG_KEPT = timedelta(days=30)


# --- secrets and signatures --------------------------------------------------------------------


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's signing secret: derived from its salt and SECRET_KEY, never stored
    (a copy of the database alone cannot forge a delivery). Changing SECRET_KEY changes
    every endpoint's secret: rotate them and give receivers the new ones."""
    return "whsec_" + keyed_hash("webhook-secret", endpoint.secret_salt)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-MapIdeas-Signature value of `body` sent at `timestamp` (Unix seconds)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_valid(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: int = 300
) -> bool:
    """What a receiver checks (documented for cities' IT teams, used by the tests): the
    header's v1 is the HMAC of its t and the body, and t is within `tolerance` seconds of
    now (an old delivery replayed is refused)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- endpoints (the staff page) ----------------------------------------------------------------


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = [value for value in Event.values if value in set(events)]
    if not chosen:
        raise ValidationError({"events": [gettext("Choose at least one event.")]})
    return chosen


def _checked_url(url: str) -> str:
    url = url.strip()
    try:
        outbound.check_url(url)
    except outbound.OutboundRefused as refused:
        raise ValidationError({"url": [str(refused)]}) from None
    return url


def _clean_description(description: str) -> str:
    try:
        return stored_text(description.strip())
    except ValidationError as refused:
        raise ValidationError({"description": refused.messages}) from None


def endpoint_create(
    *,
    url: str,
    description: str,
    events: Iterable[str],
    actor: User | AnonymousUser | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown once). The URL is refused when it resolves to a
    loopback, private or link-local address the city has not allowed (plumbing.outbound)."""
    endpoint = WebhookEndpoint(
        url=_checked_url(url),
        description=_clean_description(description),
        events=_clean_events(events),
        secret_salt=secrets.token_hex(32),
    )
    endpoint.full_clean()
    with transaction.atomic():
        endpoint.save()
        _audit(actor, endpoint, gettext_noop("Webhook %(url)s added."))
    return endpoint, endpoint_secret(endpoint)


def endpoint_update(
    endpoint: WebhookEndpoint,
    *,
    url: str,
    description: str,
    events: Iterable[str],
    active: bool,
    actor: User | AnonymousUser | None = None,
) -> WebhookEndpoint:
    """Change where and what an endpoint receives. Pending deliveries stay queued: they go to
    the new URL, in order. Switched off, it gets nothing new, and what is pending waits."""
    endpoint.url = _checked_url(url)
    endpoint.description = _clean_description(description)
    endpoint.events = _clean_events(events)
    endpoint.active = active
    endpoint.full_clean()
    with transaction.atomic():
        endpoint.save(update_fields=["url", "description", "events", "active"])
        _audit(actor, endpoint, gettext_noop("Webhook %(url)s changed."))
    return endpoint


def endpoint_rotate_secret(
    endpoint: WebhookEndpoint, *, actor: User | AnonymousUser | None = None
) -> str:
    """A new secret (shown once); the old one signs nothing from now on, pending deliveries
    included."""
    endpoint.secret_salt = secrets.token_hex(32)
    with transaction.atomic():
        endpoint.save(update_fields=["secret_salt"])
        _audit(actor, endpoint, gettext_noop("Webhook %(url)s: a new secret."))
    return endpoint_secret(endpoint)


def endpoint_delete(endpoint: WebhookEndpoint, *, actor: User | AnonymousUser | None = None) -> int:
    """Remove an endpoint with its log and pending deliveries (they are not sent). The
    number of deliveries dropped before they were delivered."""
    with transaction.atomic():
        dropped = WebhookDelivery.objects.filter(
            endpoint=endpoint, delivered_at__isnull=True
        ).count()
        _audit(actor, endpoint, gettext_noop("Webhook %(url)s deleted."))
        endpoint.delete()
    return dropped


def _audit(actor: User | AnonymousUser | None, endpoint: WebhookEndpoint, said: str) -> None:
    audit.audit_record(
        actor=actor,
        action=audit.Action.WEBHOOK,
        summary=audit.in_site_language(lambda: gettext(said) % {"url": endpoint.url}),
    )


def endpoint_retry_now(endpoint: WebhookEndpoint) -> int:
    """Lift the back-off: the next send_webhooks run tries the endpoint's pending deliveries
    at once. The number of them."""
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(retry_at=None)
        return WebhookDelivery.objects.filter(endpoint=endpoint, delivered_at__isnull=True).update(
            next_attempt_at=timezone.now()
        )


# --- queueing, in the transaction of the event -------------------------------------------------


def _receives(endpoint: WebhookEndpoint, event: str, *, answered: bool) -> bool:
    # A status change that carries an answer is the answer too: an endpoint that asked for
    # answers gets it (one delivery, as one event).
    return event in endpoint.events or (
        event == Event.STATUS_CHANGED and answered and Event.ANSWERED in endpoint.events
    )


def _pin_feature(idea: Idea) -> dict:
    """The pin as every public output shows it (mapideas.pins.fields): the export's and the
    API's Feature, names in the city's language, dates in its time zone."""
    row = (
        Idea.objects.filter(pk=idea.pk)
        .annotate(lon=Longitude("location"), lat=Latitude("location"))
        .values(*PIN_VALUES, "lon", "lat")
        .get()
    )
    context = PinContext.of(settings.LANGUAGE_CODE, timezone.get_default_timezone(), rows=[row])
    return PIN_ROWS.builder(context)(row)


def _body(event: str, feature: dict | None, change: dict | None, now: datetime) -> str:
    payload: dict[str, object] = {"event": event, "occurred_at": now}
    if feature is not None:
        payload["pin_url"] = absolute(str(feature["properties"]["url"]))
        payload["pin"] = feature
    if change is not None:
        payload["change"] = change
    return json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


# Asked for every new pin and every status change (compiled once: most cities have none).
_active_endpoints = CompiledQuery(
    lambda: WebhookEndpoint.objects.filter(active=True).only("id", "events"), examples=((), ())
)


def pin_event_queue(idea: Idea, event: str, *, update: IdeaUpdate | None = None) -> int:
    """Queue `event` about `idea` for every active endpoint that receives it; the number
    queued. Call it inside the transaction that makes the event (mapideas.submission for a
    new pin, mapideas.workflow for every status change and public answer). One query when no
    endpoint listens."""
    answered = update is not None and bool(update.answer)
    endpoints = [
        endpoint
        for endpoint in _active_endpoints()
        if _receives(endpoint, event, answered=answered)
    ]
    if not endpoints:
        return 0
    now = timezone.now()
    change = None
    if update is not None:
        # The step as the pin's public timeline shows it; never who took it.
        change = {
            "from_status": update.from_status,
            "to_status": update.to_status,
            "answer": update.answer or None,
        }
    body = _body(event, _pin_feature(idea), change, now)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint_id=endpoint.pk, idea=idea, event=event, body=body, created_at=now)
        for endpoint in endpoints
    )
    return len(endpoints)


# --- sending (manage.py send_webhooks) ---------------------------------------------------------


@dataclass
class SendResult:
    delivered: int = 0
    failed: int = 0  # attempts that failed this run; each is tried again later
    endpoints_backed_off: int = 0


def _due(now: datetime, skipped: set[int]) -> QuerySet[WebhookDelivery]:
    """The deliveries a sender may take now: pending, due, not held by another sender, to an
    active endpoint that is not backed off, of a pin the public may see (or of no pin), and
    the oldest pending of their pin at their endpoint (the order of a pin's events)."""
    earlier_pending = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        idea_id=OuterRef("idea_id"),
        delivered_at__isnull=True,
        id__lt=OuterRef("id"),
    )
    return (
        WebhookDelivery.objects.filter(
            delivered_at__isnull=True,
            next_attempt_at__lte=now,
            endpoint__active=True,
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(endpoint__retry_at__isnull=True) | Q(endpoint__retry_at__lte=now))
        .filter(Q(idea__isnull=True) | Q(idea_id__in=public_ideas().values("pk")))
        .exclude(endpoint_id__in=skipped)
        .filter(~Exists(earlier_pending))
        .select_related("endpoint")
        .order_by("id")
    )


def _claim(delivery: WebhookDelivery, now: datetime) -> bool:
    """Take the delivery for CLAIM, unless another sender took it meanwhile (one UPDATE: the
    database decides, on SQLite as on PostgreSQL)."""
    taken = (
        WebhookDelivery.objects.filter(pk=delivery.pk, delivered_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM)
    )
    return taken == 1


class Outcome:
    DELIVERED = "delivered"
    REFUSED_BY_RECEIVER = "refused"  # a 4xx other than 429: this delivery waits, others go
    RECEIVER_DOWN = "down"  # no answer, a time-out, 5xx, 429, a refused address: back off


def post(delivery: WebhookDelivery) -> tuple[str, int | None, str]:
    """POST the delivery, signed now. (outcome, HTTP status or None, error text)."""
    endpoint = delivery.endpoint
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-MapIdeas-Event": delivery.event,
        "X-MapIdeas-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature(endpoint_secret(endpoint), int(time.time()), body),
    }
    try:
        # The receiver's answer is not read past a few kilobytes: only its status counts.
        response = outbound.request(
            "POST", endpoint.url, body=body, headers=headers, max_bytes=16384
        )
    except outbound.OutboundRefused as refused:
        return Outcome.RECEIVER_DOWN, None, f"refused: {refused}"
    except outbound.OutboundError as failed:
        return Outcome.RECEIVER_DOWN, None, f"{failed.kind}: {failed}"
    if 200 <= response.status < 300:
        return Outcome.DELIVERED, response.status, ""
    said = response.body[:500].decode("utf-8", "replace")
    error = f"HTTP {response.status}" + (f": {said}" if said else "")
    if response.status == 429 or response.status >= 500:
        return Outcome.RECEIVER_DOWN, response.status, error
    return Outcome.REFUSED_BY_RECEIVER, response.status, error


def _attempt(delivery: WebhookDelivery) -> str:
    """Send one delivery and write down what came of it, for it and for its endpoint."""
    outcome, status, error = post(delivery)
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status = status
    delivery.last_error = error[:2000]
    delivery.claimed_until = None
    endpoint = delivery.endpoint
    if outcome == Outcome.DELIVERED:
        delivery.delivered_at = now
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=None, failures=0, retry_at=None, last_error=""
        )
    elif outcome == Outcome.REFUSED_BY_RECEIVER:
        # This body was refused; the receiver is up. Try this one again later.
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    else:
        endpoint.failures += 1
        endpoint.failing_since = endpoint.failing_since or now
        endpoint.retry_at = now + backoff(endpoint.failures)
        endpoint.last_error = delivery.last_error
        endpoint.save(update_fields=["failures", "failing_since", "retry_at", "last_error"])
        delivery.next_attempt_at = endpoint.retry_at
    delivery.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "last_status",
            "last_error",
            "claimed_until",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return outcome


def send_pending(*, batch_size: int = 50) -> SendResult:
    """Send every delivery that is due, oldest first, a pin's in order; back an endpoint off
    at its first failure of the run (its other deliveries wait for its retry_at). Several
    senders may run at once, on either database: each takes a delivery with a conditional
    UPDATE (_claim), and never holds a transaction open while a receiver answers."""
    result = SendResult()
    started = timezone.now()
    skipped: set[int] = set()
    while True:
        rows = list(_due(started, skipped)[:batch_size])
        if not rows:
            return result
        progressed = False
        for delivery in rows:
            if delivery.endpoint_id in skipped or not _claim(delivery, timezone.now()):
                continue
            progressed = True
            outcome = _attempt(delivery)
            if outcome == Outcome.DELIVERED:
                result.delivered += 1
                continue
            result.failed += 1
            if outcome == Outcome.RECEIVER_DOWN:
                skipped.add(delivery.endpoint_id)
                result.endpoints_backed_off += 1
        if not progressed:
            return result


def delivered_prune(*, older_than: timedelta = LOG_KEPT) -> int:
    """Forget the deliveries delivered more than `older_than` ago (the log keeps the rest);
    pending ones are never pruned, whatever their age. The number deleted."""
    deleted, _by_model = WebhookDelivery.objects.filter(
        delivered_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


def ping_send(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """The staff page's "Send a test delivery": a `ping` POSTed now, signed as every
    delivery, written in the endpoint's log with what came of it. Not retried: it is a
    question asked now, and its answer is shown at once."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=PING,
        body=_body(PING, None, None, now),
        created_at=now,
        # Sent here and now; the sender never takes it.
        claimed_until=now + CLAIM,
    )
    outcome, status, error = post(delivery)
    delivery.attempts, delivery.last_attempt_at = 1, timezone.now()
    delivery.last_status, delivery.last_error = status, error[:2000]
    delivery.claimed_until = None
    # Answered or not, a test is not sent again: marked done (its log line keeps the error).
    delivery.delivered_at = delivery.last_attempt_at
    delivery.save()
    return delivery


def ping_ok(delivery: WebhookDelivery) -> bool:
    return delivery.last_status is not None and 200 <= delivery.last_status < 300
