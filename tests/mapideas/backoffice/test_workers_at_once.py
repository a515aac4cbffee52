"""A worker waiting for the remote while the rest of the world moves on: a pin re-routed in
the middle of its POST, a worker whose lease ran out while an old answer was on its way and
another worker took the row. What the late worker learnt never undoes a later step.

The worker runs in a thread on its own database connection: these tests commit."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from mapideas.backoffice import services as backoffice
from mapideas.models import BackofficeForward, Idea
from mapideas.pins.default_categories import default_categories_create
from mapideas.workflow.services import idea_reassign
from tests.mapideas.backoffice.conftest import forward_of, time_passes
from tests.mapideas.backoffice.georeport_server import Behaviour, GeoReportServer

pytestmark = pytest.mark.django_db(transaction=True)

State = BackofficeForward.State


@pytest.fixture(autouse=True)
def categories_after_a_flush(transactional_db) -> None:
    # The flush after another transactional test removed the categories the data migration
    # wrote.
    default_categories_create()


def in_a_thread(target) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_pin_moved_while_its_request_is_posted_keeps_the_requests_number_for_staff(
    city, category, endpoint, remote, make_pin
):
    west_remote = GeoReportServer()
    west_remote.start()
    try:
        west = backoffice.endpoint_create(
            team=city.west_team, name="West works", base_url=west_remote.url
        )
        backoffice.mapping_set(
            west, service_codes={category.slug: "pothole"}, attribute_values={}, status_map={}
        )
        idea = make_pin()
        remote.queue(Behaviour("hang"))
        worker = in_a_thread(backoffice.forward_pending)
        try:
            assert remote.holding.wait(10), "the POST never reached the back office"

            idea_reassign(idea=idea, team=city.west_team, reason="Their street")
        finally:
            remote.release()
            worker.join(10)

        left = BackofficeForward.objects.get(idea=idea, endpoint=endpoint)
        (request,) = remote.by_reference(backoffice.reference(idea))
        assert (left.state, left.remote_id) == (State.LEFT, request.service_request_id)
        time_passes()
        backoffice.sync()
        assert (forward_of(idea).endpoint, forward_of(idea).state) == (west, State.FORWARDED)
        # Left alone by later runs: staff close it there.
        assert BackofficeForward.objects.get(idea=idea, endpoint=endpoint).state == State.LEFT
        assert len(west_remote.by_reference(backoffice.reference(idea))) == 1
    finally:
        west_remote.stop()


@pytest.mark.parametrize("held", [1, 2], ids=["its-first-list", "its-last-list"])
def test_a_worker_whose_lease_ran_out_while_an_old_answer_came_does_not_undo_a_later_post(
    endpoint, remote, make_pin, held
):
    idea = make_pin()
    remote.queue(Behaviour("timeout_before_store"))
    backoffice.forward_pending()
    forward = forward_of(idea)
    assert forward.state == State.UNCERTAIN
    # Past the listing delay: a search that does not find it now has it posted again.
    wait = forward.posted_at + timedelta(seconds=1) - timezone.now()
    time.sleep(max(0.0, wait.total_seconds()))
    time_passes()
    # The first worker's search: one of its lists (empty: the pin is not there) is held on
    # the way (the first, its wide one; or the last, its window's).
    remote.queue(*[Behaviour("none", on="list")] * (held - 1), Behaviour("hang", on="list"))
    first = in_a_thread(backoffice.forward_pending)
    try:
        assert remote.holding.wait(10), "the search never reached the back office"
        # Its lease runs out; another worker takes the row, does not find the pin either,
        # and posts it.
        BackofficeForward.objects.filter(pk=forward.pk).update(
            claimed_until=timezone.now() - timedelta(seconds=1)
        )
        backoffice.forward_pending()
        time_passes()
        backoffice.forward_pending()
        assert forward_of(idea).state == State.FORWARDED
    finally:
        remote.release()
        first.join(10)

    # The old "not there" came too late to count: the pin is not posted a second time.
    forward = forward_of(idea)
    assert forward.state == State.FORWARDED
    time_passes()
    backoffice.forward_pending()
    assert len(remote.by_reference(backoffice.reference(idea))) == 1
    assert Idea.objects.count() == 1


def test_two_runs_reading_the_same_closing_write_the_answer_once(endpoint, remote, make_pin):
    idea = make_pin()
    backoffice.sync()
    remote.close(forward_of(idea).remote_id, "Filled on Tuesday.")
    # One run's read of the statuses is held on the way, with the request closed in it;
    # meanwhile another run reads and applies it.
    remote.queue(Behaviour("hang", on="ids"))
    first = in_a_thread(lambda: backoffice.statuses_read(endpoint, backoffice.SyncResult()))
    try:
        assert remote.holding.wait(10), "the read never reached the back office"
        result = backoffice.SyncResult()
        backoffice.statuses_read(endpoint, result)
        assert result.statuses_applied == 1
    finally:
        remote.release()
        first.join(10)

    pin = Idea.objects.get(pk=idea.pk)
    assert pin.status == Idea.Status.DONE
    assert list(pin.updates.filter(from_city_system=True).values_list("answer", flat=True)) == [
        "Filled on Tuesday."
    ]
