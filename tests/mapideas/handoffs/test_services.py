"""Hand-offs to an outside body (mapideas.handoffs.services): the email and its link, the
token checks, the body's accept and report, and the team's approval, send-back and
withdrawal; the public status changes only at approval, and the public timeline names the
body, never its address."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from mapideas.handoffs import services as handoffs
from mapideas.models import AuditEvent, EmailOutbox, Handoff, Idea, TimelinePhoto
from mapideas.pins.selectors import idea_timeline
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg, upload

pytestmark = pytest.mark.django_db

BODY = "City Water Works"
ADDRESS = "works@water.example"


@pytest.fixture
def pin(city, category):
    return idea_create(
        kind="issue",
        title="Leaking hydrant",
        description="Water everywhere.",
        category=category,
        location=IN_EAST,
        contact_name="Ann Resident",
        contact_email="ann@mail.example",
    )


def hand(pin, actor, **given):
    return handoffs.handoff_create(
        idea=pin,
        body_name=given.pop("body_name", BODY),
        body_email=given.pop("body_email", ADDRESS),
        message=given.pop("message", "Fix the hydrant, please."),
        actor=actor,
        **given,
    )


def link_of(email: EmailOutbox) -> str:
    found = re.search(r"https?://\S+/handoffs/\S+/", email.body)
    assert found is not None, email.body
    return found.group(0)


def test_create_queues_an_email_whose_link_carries_no_address(pin, east_member):
    handoff, token = hand(pin, east_member)
    email = EmailOutbox.objects.get(to=ADDRESS)
    link = link_of(email)
    assert urlparse(link).path == f"/handoffs/{handoff.pk}/{token}/"
    assert "water" not in link.lower() and "@" not in link
    assert "Fix the hydrant, please." in email.body
    assert BODY in email.subject
    # Only a keyed hash of the token is kept.
    assert token not in handoff.token_hash
    assert handoff.expires_at - handoff.created_at == timedelta(days=14)
    assert AuditEvent.objects.get(action=AuditEvent.Action.HANDOFF).idea_number == pin.pk
    # Nothing of the citizen reaches the body.
    assert "ann@mail.example" not in email.body and "Ann Resident" not in email.body


def test_token_checks(pin, east_member, category):
    handoff, token = hand(pin, east_member)
    other_pin = idea_create(kind="issue", title="Other", category=category, location=IN_EAST)
    other, other_token = hand(other_pin, east_member, body_name="Gas Co")
    assert handoffs.handoff_from_token(pk=handoff.pk, token=token) == handoff
    assert handoffs.handoff_from_token(pk=handoff.pk, token=token + "x") is None
    assert handoffs.handoff_from_token(pk=handoff.pk, token=other_token) is None
    assert handoffs.handoff_from_token(pk=2**70, token=token) is None
    Handoff.objects.filter(pk=handoff.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = handoffs.handoff_from_token(pk=handoff.pk, token=token)
    assert expired is not None and not handoffs.link_works(expired)
    with pytest.raises(ValidationError):
        handoffs.handoff_accept(handoff=expired)


def test_the_body_page_refuses_bad_links_showing_nothing_of_the_pin(pin, east_member):
    handoff, token = hand(pin, east_member)
    client = Client()
    ok = client.get(f"/handoffs/{handoff.pk}/{token}/")
    assert ok.status_code == 200 and "Leaking hydrant" in ok.content.decode()
    assert "ann@mail.example" not in ok.content.decode()
    forged = client.get(f"/handoffs/{handoff.pk}/forged/")
    assert forged.status_code == 404 and "Leaking hydrant" not in forged.content.decode()
    Handoff.objects.filter(pk=handoff.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    gone = client.get(f"/handoffs/{handoff.pk}/{token}/")
    assert gone.status_code == 410 and "Leaking hydrant" not in gone.content.decode()


def test_status_changes_publicly_only_when_the_team_approves(pin, east_member):
    handoff, token = hand(pin, east_member)
    handoffs.handoff_accept(handoff=handoff)
    handoff = handoffs.handoff_report(
        handoff=handoff, comment="Valve replaced.", photo=upload(gps_jpeg())
    )
    assert handoff.state == Handoff.State.REPORTED and handoff.photo_name
    pin.refresh_from_db()
    assert pin.status == Idea.Status.NEW
    handoffs.handoff_approve(handoff=handoff, actor=east_member)
    pin.refresh_from_db()
    assert pin.status == Idea.Status.DONE
    assert pin.answer == f"Done by {BODY}: Valve replaced."
    after = TimelinePhoto.objects.get(idea=pin)
    assert after.role == TimelinePhoto.Role.AFTER and after.update is not None
    handoff.refresh_from_db()
    assert handoff.state == Handoff.State.APPROVED and handoff.decided_at
    # The link is over.
    assert not handoffs.link_works(handoffs.handoff_from_token(pk=handoff.pk, token=token))


def test_the_team_hears_of_the_report(pin, east_member, city):
    city.east_team.notify_email = "east@city.example"
    city.east_team.save()
    handoff, _token = hand(pin, east_member)
    handoffs.handoff_report(handoff=handoff, comment="Valve replaced.")
    assert "Valve replaced." in EmailOutbox.objects.get(to="east@city.example").body


def test_send_back_emails_a_new_link_and_the_old_one_stops(pin, east_member):
    handoff, token = hand(pin, east_member)
    handoffs.handoff_report(handoff=handoff, comment="Done, roughly.")
    handoff, new_token = handoffs.handoff_return(
        handoff=handoff, note="The valve still drips.", actor=east_member
    )
    assert handoff.state == Handoff.State.RETURNED
    assert handoffs.handoff_from_token(pk=handoff.pk, token=token) is None
    assert handoffs.link_works(handoffs.handoff_from_token(pk=handoff.pk, token=new_token))
    email = EmailOutbox.objects.filter(to=ADDRESS).latest("id")
    assert "The valve still drips." in email.body and new_token in email.body
    with pytest.raises(ValidationError):  # nothing to approve until reported again
        handoffs.handoff_approve(handoff=handoff, actor=east_member)


def test_withdraw(pin, east_member):
    handoff, token = hand(pin, east_member)
    handoffs.handoff_withdraw(handoff=handoff, actor=east_member)
    assert not handoffs.link_works(handoffs.handoff_from_token(pk=handoff.pk, token=token))
    assert not any(entry.handoff for entry in idea_timeline(idea=pin))
    # The pin may be handed again.
    hand(pin, east_member, body_name="Gas Co")


def test_one_active_handoff_and_only_open_pins(pin, east_member):
    hand(pin, east_member)
    with pytest.raises(ValidationError):
        hand(pin, east_member, body_name="Gas Co")
    Idea.objects.filter(pk=pin.pk).update(status=Idea.Status.DONE)
    Handoff.objects.update(state=Handoff.State.WITHDRAWN)
    with pytest.raises(ValidationError, match="open pin"):
        hand(pin, east_member, body_name="Gas Co")


def _counts():
    return (Handoff.objects.count(), EmailOutbox.objects.count(), AuditEvent.objects.count())


def test_permission_refusals_write_nothing(pin, east_member, west_member, planner):
    before = _counts()
    for person in (None, west_member, planner):
        with pytest.raises(PermissionDenied):
            hand(pin, person)
    assert _counts() == before
    handoff, _token = hand(pin, east_member)
    handoffs.handoff_report(handoff=handoff, comment="Valve replaced.")
    before = _counts()
    for action in (handoffs.handoff_approve, handoffs.handoff_withdraw):
        with pytest.raises(PermissionDenied):
            action(handoff=handoff, actor=west_member)
    with pytest.raises(PermissionDenied):
        handoffs.handoff_return(handoff=handoff, note="No.", actor=planner)
    assert _counts() == before
    handoff.refresh_from_db()
    assert handoff.state == Handoff.State.REPORTED
    assert Idea.objects.get(pk=pin.pk).status == Idea.Status.NEW


def test_the_public_timeline_names_the_body_never_its_address(pin, east_member):
    hand(pin, east_member)
    entries = [entry.handoff for entry in idea_timeline(idea=pin) if entry.handoff]
    assert [h.body_name for h in entries] == [BODY]
    page = Client().get(f"/ideas/{pin.pk}/").content.decode()
    assert "handed to" in page and BODY in page
    assert ADDRESS not in page and "Fix the hydrant" not in page
    api = Client().get(f"/api/ideas/{pin.pk}/")
    assert ADDRESS not in api.content.decode() and "Fix the hydrant" not in api.content.decode()
    # The API's timeline tells the same story as the page.
    (step,) = [entry for entry in api.json()["timeline"] if entry["type"] == "handoff"]
    assert (step["body"], step["team_slug"]) == (BODY, "east-team")


def test_the_team_sees_the_report_photo_and_the_public_does_not(pin, east_member):
    handoff, _token = hand(pin, east_member)
    handoffs.handoff_report(handoff=handoff, comment="Done.", photo=upload(gps_jpeg()))
    url = f"/ideas/{pin.pk}/handoffs/{handoff.pk}/photo.jpg"
    assert Client().get(url).status_code == 404
    team = Client()
    team.force_login(east_member)
    response = team.get(url)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
