"""Signed webhooks (mapideas.webhooks.services): what is queued for which event, what a
receiver gets and can check, and that a receiver that is down gets every event afterwards,
in order per pin. Against a real HTTP server on 127.0.0.1 (allowed in the settings, as a
city allows its own network)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mapideas.models import Idea, WebhookDelivery, WebhookEndpoint
from mapideas.moderation.services import idea_flag, idea_moderate
from mapideas.notifications.services import idea_confirm_token
from mapideas.submission.services import idea_confirm, idea_create
from mapideas.webhooks import selectors
from mapideas.webhooks import services as webhooks
from mapideas.workflow.services import idea_status_change
from tests.conftest import IN_EAST
from tests.mapideas.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db

ALL_EVENTS = list(WebhookEndpoint.Event.values)


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    running = Receiver()
    running.start()
    yield running
    running.stop()


def endpoint_for(receiver: Receiver, events=ALL_EVENTS) -> tuple[WebhookEndpoint, str]:
    return webhooks.endpoint_create(url=receiver.url, description="Works orders", events=events)


def pin(category, title="Broken bench", location=IN_EAST, **more) -> Idea:
    return idea_create(kind="issue", title=title, category=category, location=location, **more)


def due_now() -> None:
    """Time passes: every back-off is over."""
    past = timezone.now() - timedelta(seconds=1)
    WebhookEndpoint.objects.update(retry_at=past)
    WebhookDelivery.objects.update(next_attempt_at=past)


def test_a_new_pin_reaches_the_receiver_signed_and_without_personal_data(
    city, category, receiver, make_user
):
    endpoint, secret = endpoint_for(receiver)
    created = pin(
        category,
        description="By the pond.",
        contact_name="Ann Example",
        contact_phone="+32 470 00 00 00",
        author=make_user("zelda-author"),
    )

    result = webhooks.send_pending()

    assert result.delivered == 1
    (got,) = receiver.received
    assert webhooks.signature_valid(secret, got.headers["x-mapideas-signature"], got.body)
    assert got.headers["x-mapideas-event"] == "pin.created"
    assert got.headers["content-type"].startswith("application/json")
    payload = got.payload
    assert payload["event"] == "pin.created"
    assert payload["pin"]["id"] == created.pk
    assert payload["pin"]["geometry"]["type"] == "Point"
    assert payload["pin"]["properties"]["title"] == "Broken bench"
    assert payload["pin_url"].endswith(f"/ideas/{created.pk}/")
    text = got.body.decode()
    for personal in ("Ann Example", "+32 470", "zelda"):
        assert personal not in text.replace("Broken bench", "")
    delivery = WebhookDelivery.objects.get()
    assert delivery.delivered_at is not None and delivery.last_status == 200
    assert got.headers["x-mapideas-delivery"] == str(delivery.pk)


def test_a_signature_fails_on_another_body_another_secret_or_an_old_time(city, category):
    body = b'{"event":"pin.created"}'
    header = webhooks.signature("whsec_a", 1_700_000_000, body)
    assert webhooks.signature_valid("whsec_a", header, body, now=1_700_000_010)
    assert not webhooks.signature_valid("whsec_a", header, body + b" ", now=1_700_000_010)
    assert not webhooks.signature_valid("whsec_b", header, body, now=1_700_000_010)
    assert not webhooks.signature_valid("whsec_a", header, body, now=1_700_000_000 + 301)
    assert not webhooks.signature_valid("whsec_a", "t=x,v1=00", body)


def test_status_changes_and_answers_are_events_of_their_own(city, category, receiver, east_member):
    endpoint_for(receiver)
    created = pin(category)
    idea_status_change(idea=created, status="acknowledged", actor=east_member)
    idea_status_change(
        idea=created, status="acknowledged", answer="Crew booked.", actor=east_member
    )
    idea_status_change(idea=created, status="done", answer="Repaired.", actor=east_member)

    webhooks.send_pending()

    events = [(r.payload["event"], r.payload.get("change")) for r in receiver.received]
    assert events == [
        ("pin.created", None),
        ("pin.status_changed", {"from_status": "new", "to_status": "acknowledged", "answer": None}),
        (
            "pin.answered",
            {"from_status": "acknowledged", "to_status": "acknowledged", "answer": "Crew booked."},
        ),
        (
            "pin.status_changed",
            {"from_status": "acknowledged", "to_status": "done", "answer": "Repaired."},
        ),
    ]
    # The pin as it was at each event, never who acted.
    assert [r.payload["pin"]["properties"]["status"] for r in receiver.received] == [
        "new",
        "acknowledged",
        "acknowledged",
        "done",
    ]
    assert east_member.username not in receiver.received[1].body.decode()


def test_an_endpoint_gets_only_the_events_it_asked_for(city, category, receiver, east_member):
    endpoint_for(receiver, events=["pin.answered"])
    created = pin(category)
    idea_status_change(idea=created, status="acknowledged", actor=east_member)
    idea_status_change(idea=created, status="done", answer="Repaired.", actor=east_member)

    webhooks.send_pending()

    # A status change that carries an answer is an answer too; the one without is not.
    assert [r.payload["change"]["to_status"] for r in receiver.received] == ["done"]


def test_nothing_is_queued_without_an_endpoint_nor_by_a_change_rolled_back(city, category):
    pin(category)
    assert not WebhookDelivery.objects.exists()
    WebhookEndpoint.objects.create(
        url="https://hooks.example/in", events=ALL_EVENTS, secret_salt="s" * 64
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        pin(category, title="Rolled back")
        raise RuntimeError
    assert not WebhookDelivery.objects.exists()


def test_a_receiver_down_for_a_while_gets_every_event_afterwards_in_order_per_pin(
    city, category, receiver, east_member
):
    endpoint, secret = endpoint_for(receiver)
    receiver.stop()
    pins = [pin(category, title=f"Pin {n}") for n in range(3)]
    for each in pins:
        idea_status_change(idea=each, status="acknowledged", actor=east_member)
        idea_status_change(idea=each, status="planned", answer="Next week.", actor=east_member)

    down = webhooks.send_pending()

    # One try, then the whole receiver is backed off: nothing else is tried this run.
    assert (down.delivered, down.failed, down.endpoints_backed_off) == (0, 1, 1)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.retry_at > timezone.now()
    assert "connection" in endpoint.last_error
    assert webhooks.send_pending().failed == 0  # backed off: not even tried
    for _ in range(3):  # still down at the next tries: never given up
        due_now()
        assert webhooks.send_pending().failed == 1
    endpoint.refresh_from_db()
    assert endpoint.failures == 4

    receiver.start()  # back up, on the same port
    due_now()
    up = webhooks.send_pending()

    assert up.delivered == 9 and up.failed == 0
    assert not WebhookDelivery.objects.filter(delivered_at__isnull=True).exists()
    by_pin: dict[int, list[str]] = {}
    for got in receiver.received:
        assert webhooks.signature_valid(secret, got.headers["x-mapideas-signature"], got.body)
        by_pin.setdefault(got.payload["pin"]["id"], []).append(
            got.payload["pin"]["properties"]["status"]
        )
    assert by_pin == {each.pk: ["new", "acknowledged", "planned"] for each in pins}
    endpoint.refresh_from_db()
    assert (endpoint.failing_since, endpoint.failures, endpoint.retry_at) == (None, 0, None)


def test_a_delivery_the_receiver_refuses_holds_its_pins_later_events_only(
    city, category, receiver, east_member
):
    endpoint_for(receiver)
    first, second = pin(category, title="First"), pin(category, title="Second")
    idea_status_change(idea=first, status="acknowledged", actor=east_member)
    receiver.answers = [422]  # the first delivery (first's creation) is refused

    result = webhooks.send_pending()

    assert (result.delivered, result.failed, result.endpoints_backed_off) == (1, 1, 0)
    assert [r.payload["pin"]["id"] for r in receiver.received] == [second.pk]
    refused = WebhookDelivery.objects.filter(idea=first).order_by("id").first()
    assert refused.last_status == 422 and refused.attempts == 1
    assert refused.next_attempt_at > timezone.now()

    due_now()
    webhooks.send_pending()
    assert [
        r.payload["event"] for r in receiver.received if r.payload["pin"]["id"] == first.pk
    ] == [
        "pin.created",
        "pin.status_changed",
    ]


def test_a_pin_the_public_cannot_see_is_not_sent_until_it_can(city, category, receiver, planner):
    endpoint_for(receiver)
    waiting = pin(
        category,
        title="Awaiting",
        contact_email="author@mail.example",
        awaiting_confirmation=True,
    )
    assert waiting.awaiting_confirmation

    webhooks.send_pending()
    assert receiver.received == []
    assert WebhookDelivery.objects.filter(delivered_at__isnull=True).count() == 1

    idea_confirm(token=idea_confirm_token(waiting))
    webhooks.send_pending()
    assert [r.payload["pin"]["id"] for r in receiver.received] == [waiting.pk]
    assert "author@mail.example" not in receiver.received[0].body.decode()


def test_a_pin_hidden_by_moderators_holds_its_events_until_it_is_kept(
    city, category, receiver, settings, make_user, east_member
):
    settings.MAPIDEAS_FLAGS_TO_HIDE = 1
    endpoint_for(receiver)
    flagged = pin(category)
    webhooks.send_pending()
    idea_flag(idea=flagged, reason="spam", user=make_user("flagger"))
    idea_status_change(idea=flagged, status="acknowledged", actor=east_member)

    webhooks.send_pending()
    assert len(receiver.received) == 1  # the creation, sent before it was hidden

    idea_moderate(idea=flagged, decision="keep", actor=east_member)
    webhooks.send_pending()
    assert [r.payload["event"] for r in receiver.received] == ["pin.created", "pin.status_changed"]


def test_one_sender_takes_a_delivery_and_one_killed_mid_post_leaves_it_to_be_sent_again(
    city, category, receiver
):
    endpoint_for(receiver)
    pin(category)
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()

    assert webhooks._claim(delivery, now)
    assert not webhooks._claim(delivery, now)  # a second sender
    assert webhooks.send_pending().delivered == 0  # held by the first

    # The first sender was killed after its POST: its lease runs out, the delivery goes again
    # with the same id (receivers deduplicate by X-MapIdeas-Delivery).
    WebhookDelivery.objects.update(claimed_until=now - timedelta(seconds=1))
    assert webhooks.send_pending().delivered == 1
    assert receiver.received[0].headers["x-mapideas-delivery"] == str(delivery.pk)


def test_a_private_or_loopback_receiver_is_refused_unless_the_city_allows_it(
    city, category, settings, receiver
):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    for url in (receiver.url, "http://10.1.2.3/hook", "http://169.254.169.254/latest/"):
        with pytest.raises(ValidationError) as refused:
            webhooks.endpoint_create(url=url, description="", events=ALL_EVENTS)
        assert list(refused.value.message_dict) == ["url"]
    assert not WebhookEndpoint.objects.exists()

    # Allowed when made, refused since: each try is refused and the receiver backed off.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    endpoint, _secret = endpoint_for(receiver)
    pin(category)
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    assert webhooks.send_pending().endpoints_backed_off == 1
    assert receiver.received == []
    endpoint.refresh_from_db()
    assert endpoint.last_error.startswith("refused:")


def test_a_test_delivery_is_sent_at_once_and_logged(city, receiver):
    endpoint, secret = endpoint_for(receiver)

    delivery = webhooks.ping_send(endpoint)

    assert webhooks.ping_ok(delivery)
    (got,) = receiver.received
    assert got.payload["event"] == "ping"
    assert webhooks.signature_valid(secret, got.headers["x-mapideas-signature"], got.body)
    assert webhooks.send_pending().delivered == 0  # not sent again


def test_a_rotated_secret_signs_the_deliveries_still_pending(city, category, receiver):
    endpoint, old = endpoint_for(receiver)
    pin(category)
    new = webhooks.endpoint_rotate_secret(endpoint)

    webhooks.send_pending()

    got = receiver.received[0]
    assert new != old
    assert webhooks.signature_valid(new, got.headers["x-mapideas-signature"], got.body)
    assert not webhooks.signature_valid(old, got.headers["x-mapideas-signature"], got.body)


def test_the_log_forgets_delivered_rows_after_thirty_days_never_pending_ones(
    city, category, receiver
):
    endpoint_for(receiver)
    pin(category)
    webhooks.send_pending()
    receiver.stop()
    pin(category, title="Pending for long")
    long_ago = timezone.now() - timedelta(days=31)
    WebhookDelivery.objects.update(created_at=long_ago)
    WebhookDelivery.objects.filter(delivered_at__isnull=False).update(delivered_at=long_ago)

    assert webhooks.delivered_prune() == 1
    assert WebhookDelivery.objects.filter(delivered_at__isnull=True).count() == 1


def test_the_staff_list_counts_what_is_pending_and_what_waits_for_its_pin(city, category, receiver):
    endpoint, _secret = endpoint_for(receiver)
    pin(category)
    pin(category, title="Awaiting", contact_email="a@mail.example", awaiting_confirmation=True)
    webhooks.send_pending()
    receiver.stop()
    pin(category, title="Queued while down")

    listed = selectors.endpoint(endpoint.pk)
    assert (listed.pending, listed.waiting_for_pin) == (2, 1)
    assert listed.oldest_pending is not None
