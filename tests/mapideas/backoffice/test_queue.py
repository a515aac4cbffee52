"""Which pins go to which back office (mapideas.backoffice.queue): a pin is queued in the
transaction that routes it, at its team's back office (its category's, if the team has one),
and follows its team when it moves: the request it left behind is listed for staff, a
request never sent is simply dropped. `forwards_reconcile` finds what any other path
missed."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from mapideas.backoffice import queue
from mapideas.backoffice import services as backoffice
from mapideas.models import BackofficeForward, Category, Idea
from mapideas.workflow.services import idea_reassign
from tests.conftest import IN_WEST
from tests.mapideas.backoffice.conftest import JURISDICTION, forward_of
from tests.mapideas.backoffice.georeport_server import GeoReportServer

pytestmark = pytest.mark.django_db

State = BackofficeForward.State


@pytest.fixture
def west_remote(remote):
    """West Team's own back office, another server."""
    server = GeoReportServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def west_endpoint(city, category, west_remote):
    made = backoffice.endpoint_create(
        team=city.west_team,
        name="West works",
        base_url=west_remote.url,
        listing_delay=1,
        forward_from=timezone.now() - timedelta(minutes=1),
    )
    backoffice.services_read(made)
    return backoffice.mapping_set(
        made, service_codes={category.slug: "pothole"}, attribute_values={}, status_map={}
    )


def other_category(category: Category) -> Category:
    return Category.objects.exclude(pk=category.pk).order_by("pk").first()


def test_a_new_pin_is_queued_at_its_teams_back_office_in_the_transaction_that_makes_it(
    endpoint, make_pin
):
    class Undone(Exception):
        pass

    with pytest.raises(Undone), transaction.atomic():
        idea = make_pin()
        assert forward_of(idea).endpoint == endpoint
        assert forward_of(idea).state == State.QUEUED
        raise Undone

    # Undone with the pin: no forward of a pin that was never made.
    assert not Idea.objects.exists()
    assert not BackofficeForward.objects.exists()


def test_a_pin_of_a_team_without_a_back_office_is_not_queued(endpoint, make_pin):
    make_pin(location=IN_WEST)

    assert not BackofficeForward.objects.exists()


def test_the_teams_back_office_for_the_pins_category_wins_over_its_general_one(
    city, category, endpoint, remote, make_pin
):
    trees = backoffice.endpoint_create(
        team=city.east_team,
        category=category,
        name="Parks works",
        base_url=remote.url,
        jurisdiction_id=JURISDICTION,
        forward_from=timezone.now() - timedelta(minutes=1),
    )

    of_category = make_pin("Fallen branch")
    other = make_pin("Pothole", category=other_category(category))

    assert forward_of(of_category).endpoint == trees
    assert forward_of(other).endpoint == endpoint
    # Reconciling finds nothing to add, and moves nothing.
    assert queue.forwards_reconcile() == 0
    assert BackofficeForward.objects.count() == 2


def test_a_pin_forwarded_before_its_categorys_back_office_was_set_up_stays_where_it_went(
    city, category, endpoint, remote, make_pin
):
    earlier = make_pin("Fallen branch")
    backoffice.sync()
    assert forward_of(earlier).state == State.FORWARDED

    trees = backoffice.endpoint_create(
        team=city.east_team, category=category, name="Parks works", base_url=remote.url
    )
    later = make_pin("Another branch")

    assert forward_of(later).endpoint == trees
    # A re-route of the older pin (a boundary change) keeps it at the general back office.
    assert queue.forwards_follow([earlier.pk]) == 0
    assert queue.forwards_reconcile() == 0
    kept = forward_of(earlier)
    assert (kept.endpoint, kept.state) == (endpoint, State.FORWARDED)


def test_pins_made_before_the_back_office_was_set_up_are_not_queued(
    city, category, remote, make_pin
):
    before = make_pin("Old pin")
    Idea.objects.filter(pk=before.pk).update(created_at=timezone.now() - timedelta(days=2))
    backoffice.endpoint_create(
        team=city.east_team,
        name="City works orders",
        base_url=remote.url,
        jurisdiction_id=JURISDICTION,
        forward_from=timezone.now() - timedelta(days=1),
    )
    after = make_pin("New pin")

    assert queue.forwards_reconcile() == 0
    assert not BackofficeForward.objects.filter(idea=before).exists()
    assert BackofficeForward.objects.filter(idea=after).exists()


def test_reconcile_queues_the_pins_that_were_routed_without_a_forward(endpoint, make_pin):
    missed = make_pin("Imported")
    BackofficeForward.objects.filter(idea=missed).delete()  # as a bulk path would leave it

    assert queue.forwards_reconcile() == 1
    assert forward_of(missed).state == State.QUEUED
    assert queue.forwards_reconcile() == 0


def test_reconcile_follows_pins_moved_in_bulk_to_another_team(
    city, endpoint, west_endpoint, make_pin
):
    sent = make_pin("Sent first")
    backoffice.sync()
    never_sent = make_pin("Not sent yet")
    # As an import or a script would move them: no forward follows by itself.
    Idea.objects.filter(pk__in=[sent.pk, never_sent.pk]).update(team=city.west_team)

    assert queue.forwards_reconcile() == 2

    left = BackofficeForward.objects.get(idea=sent, endpoint=endpoint)
    assert left.state == State.LEFT and left.left_at is not None
    assert not BackofficeForward.objects.filter(idea=never_sent, endpoint=endpoint).exists()
    assert forward_of(sent).endpoint == west_endpoint
    assert forward_of(never_sent).endpoint == west_endpoint


def test_a_pin_sent_to_another_team_leaves_its_request_and_goes_to_the_new_back_office(
    city, endpoint, west_endpoint, remote, west_remote, make_pin
):
    idea = make_pin()
    backoffice.sync()
    remote_id = forward_of(idea).remote_id

    idea_reassign(idea=idea, team=city.west_team, reason="Their street")

    left = BackofficeForward.objects.get(idea=idea, endpoint=endpoint)
    assert (left.state, left.remote_id) == (State.LEFT, remote_id)
    assert forward_of(idea).endpoint == west_endpoint
    assert forward_of(idea).state == State.QUEUED

    backoffice.sync()
    assert forward_of(idea).state == State.FORWARDED
    assert len(west_remote.by_reference(backoffice.reference(idea))) == 1
    # Nothing is withdrawn from the old back office (GeoReport v2 cannot): listed for staff.
    assert len(remote.by_reference(backoffice.reference(idea))) == 1


def test_a_pin_moved_before_it_was_sent_is_simply_dropped_from_the_old_queue(
    city, endpoint, west_endpoint, make_pin
):
    idea = make_pin()

    idea_reassign(idea=idea, team=city.west_team, reason="Their street")

    assert list(BackofficeForward.objects.filter(idea=idea).values_list("endpoint", "state")) == [
        (west_endpoint.pk, State.QUEUED)
    ]


def test_a_pin_sent_to_a_team_without_a_back_office_leaves_its_request(city, endpoint, make_pin):
    idea = make_pin()
    backoffice.sync()

    idea_reassign(idea=idea, team=city.harbor_team, reason="The harbour's")

    assert BackofficeForward.objects.get(idea=idea).state == State.LEFT


def test_a_pin_that_comes_back_takes_up_its_request_where_it_was(
    city, endpoint, west_endpoint, remote, make_pin
):
    idea = make_pin()
    backoffice.sync()
    remote_id = forward_of(idea).remote_id

    idea_reassign(idea=idea, team=city.west_team, reason="Their street")
    idea_reassign(idea=Idea.objects.get(pk=idea.pk), team=city.east_team, reason="Ours")

    back = BackofficeForward.objects.get(idea=idea, endpoint=endpoint)
    assert (back.state, back.remote_id) == (State.FORWARDED, remote_id)
    backoffice.sync()
    assert len(remote.by_reference(backoffice.reference(idea))) == 1


def test_a_pin_that_comes_back_after_a_round_of_back_offices_takes_up_its_own_request(
    city, category, endpoint, west_endpoint, remote, make_pin
):
    harbor_remote = GeoReportServer()
    harbor_remote.start()
    try:
        harbor = backoffice.endpoint_create(
            team=city.harbor_team, name="Harbour works", base_url=harbor_remote.url
        )
        backoffice.mapping_set(
            harbor, service_codes={category.slug: "pothole"}, attribute_values={}, status_map={}
        )
        idea = make_pin()
        backoffice.sync()
        remote_id = forward_of(idea).remote_id
        for team in (city.west_team, city.harbor_team, city.east_team):
            idea_reassign(idea=Idea.objects.get(pk=idea.pk), team=team, reason="Moved on")
            backoffice.sync()
    finally:
        harbor_remote.stop()

    states = dict(BackofficeForward.objects.filter(idea=idea).values_list("endpoint", "state"))
    assert states == {
        endpoint.pk: State.FORWARDED,
        west_endpoint.pk: State.LEFT,
        harbor.pk: State.LEFT,
    }
    assert forward_of(idea).remote_id == remote_id
    assert len(remote.by_reference(backoffice.reference(idea))) == 1


def test_a_pin_that_comes_back_after_staff_closed_its_old_request_is_sent_afresh(
    city, endpoint, west_endpoint, remote, make_pin
):
    idea = make_pin()
    backoffice.sync()
    first_id = forward_of(idea).remote_id
    idea_reassign(idea=idea, team=city.west_team, reason="Their street")
    left = BackofficeForward.objects.get(idea=idea, endpoint=endpoint)
    remote.close(first_id, "Moved to the West team.")
    backoffice.forward_left_closed(left)

    idea_reassign(idea=Idea.objects.get(pk=idea.pk), team=city.east_team, reason="Ours after all")
    backoffice.sync()

    back = BackofficeForward.objects.get(idea=idea, endpoint=endpoint)
    assert back.state == State.FORWARDED
    assert back.remote_id != first_id
    # The closed request's answer is not the pin's: it stays open.
    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.NEW


def test_an_endpoint_switched_off_pauses_its_queue_and_keeps_its_rows(city, endpoint, make_pin):
    idea = make_pin()
    endpoint.active = False
    endpoint.save()

    result = backoffice.sync(reconcile=True)

    assert result.forwarded == 0
    assert forward_of(idea).state == State.QUEUED
