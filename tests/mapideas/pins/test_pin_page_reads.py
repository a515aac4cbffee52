"""The reads of a pin's page (mapideas.pins.selectors: the pin, its photo, its timeline),
whose SQL is compiled once: each gives what the QuerySet it is written as gives the ORM, for
a pin with every part of a timeline (a move by hand, answers with shown and hidden photos, a
withdrawn and an active hand-off)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch
from django.utils import timezone

from mapideas.handoffs import services as handoffs
from mapideas.models import Handoff, Idea, IdeaPhoto, TimelinePhoto
from mapideas.pins import selectors
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_reassign, idea_status_change
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def storied_pin(city, category, east_member, west_member):
    pin = idea_create(
        kind="issue",
        title="Leaking hydrant",
        category=category,
        location=IN_EAST,
    )
    IdeaPhoto.objects.create(idea=pin, name="hydrant.jpg", width=640, height=480, bytes=9000)
    idea_status_change(
        idea=pin,
        status="acknowledged",
        answer="Seen.",
        photos={"before": upload(gps_jpeg()), "after": upload(gps_jpeg())},
        actor=east_member,
    )
    TimelinePhoto.objects.filter(role=TimelinePhoto.Role.AFTER).update(hidden_at=timezone.now())
    first, _token = handoffs.handoff_create(
        idea=pin,
        body_name="Water Works",
        body_email="works@water.example",
        message="Please fix.",
        actor=east_member,
    )
    handoffs.handoff_withdraw(handoff=first, actor=east_member)
    handoffs.handoff_create(
        idea=pin,
        body_name="Pipe Co",
        body_email="pipes@pipe.example",
        message="Please fix.",
        actor=east_member,
    )
    idea_reassign(idea=pin, team=city.west_team, reason="Ours after all.", actor=east_member)
    return Idea.objects.get(pk=pin.pk)


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_the_pin_is_the_orms_with_its_relations(storied_pin):
    found = selectors.visible_idea(user=AnonymousUser(), pk=storied_pin.pk)
    want = selectors.all_ideas().get(pk=storied_pin.pk)
    assert found is not None
    assert _fields(found) == {**_fields(want), "location": found.location}
    assert found.location.equals_exact(want.location, 1e-12)
    for relation in ("category", "team", "neighborhood"):
        assert _fields(getattr(found, relation)) == _fields(getattr(want, relation))
    assert selectors.visible_idea(user=AnonymousUser(), pk=storied_pin.pk + 1000) is None


def test_the_photo_is_the_orms_and_none_once_hidden(storied_pin):
    want = IdeaPhoto.objects.get(idea=storied_pin)
    assert _fields(selectors.idea_photo(idea=storied_pin)) == _fields(want)
    IdeaPhoto.objects.filter(pk=want.pk).update(hidden_at=timezone.now())
    assert selectors.idea_photo(idea=storied_pin) is None


def test_the_timeline_is_what_the_orm_reads(storied_pin):
    entries = selectors.idea_timeline(idea=storied_pin)

    routing = list(
        selectors.routing_history(idea=storied_pin)
    )  # oldest first: created, then the move by hand
    updates = list(
        storied_pin.updates.select_related("team", "duplicate_of")
        .prefetch_related(
            Prefetch("photos", queryset=selectors.answer_photos(), to_attr="shown_photos")
        )
        .order_by("created_at", "id")
    )
    shown = Handoff.objects.filter(idea=storied_pin).exclude(state=Handoff.State.WITHDRAWN)
    assert [e.routing.pk for e in entries if e.routing] == [e.pk for e in routing]
    assert len(routing) == 2
    for got, want in zip([e.routing for e in entries if e.routing], routing, strict=True):
        assert _fields(got) == _fields(want)
        assert (got.to_team.name, got.to_neighborhood.name) == (
            want.to_team.name,
            want.to_neighborhood.name,
        )
    got_updates = [e.update for e in entries if e.update]
    assert [u.pk for u in got_updates] == [u.pk for u in updates]
    for got, want in zip(got_updates, updates, strict=True):
        assert _fields(got) == _fields(want)
        assert got.team.name == want.team.name
        # The before photo only: the after one is hidden.
        assert [p.pk for p in got.shown_photos] == [p.pk for p in want.shown_photos]
        assert [p.role for p in got.shown_photos] == ["before"]
    got_handoffs = [e.handoff for e in entries if e.handoff]
    assert [h.pk for h in got_handoffs] == [h.pk for h in shown] != []
    assert [(h.body_name, h.team.name) for h in got_handoffs] == [("Pipe Co", "East Team")]


@pytest.mark.parametrize("pk", [0, 2**63, 10**30])
def test_a_number_no_pin_can_have_is_no_pin(city, pk):
    # Past a 64-bit integer, SQLite cannot even compare the number: None, not an error.
    assert selectors.visible_idea(user=AnonymousUser(), pk=pk) is None
