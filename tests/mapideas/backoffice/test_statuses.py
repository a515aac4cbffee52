"""Answers read back from the back office (mapideas.backoffice.services.statuses_read): a
request closed there closes the pin, with its notes as the public answer, marked as coming
from the city's system. Only what changed there since the last read, and after the team's
last step on MapIdeas: an old remote state never undoes a later local decision. Rows for
requests that are not the pins' are ignored."""

from datetime import UTC, datetime

import pytest

from mapideas.backoffice import services as backoffice
from mapideas.models import BackofficeEndpoint, BackofficeForward, Idea, IdeaUpdate
from mapideas.workflow.services import idea_reassign, idea_status_change
from tests.mapideas.backoffice.georeport_server import Behaviour

pytestmark = pytest.mark.django_db

State = BackofficeForward.State


@pytest.fixture
def forwarded(endpoint, remote, make_pin):
    """A pin forwarded to East Team's back office, and its request's id there."""
    idea = make_pin()
    backoffice.sync()
    forward = BackofficeForward.objects.get(idea=idea)
    assert forward.state == State.FORWARDED
    return Idea.objects.get(pk=idea.pk), forward.remote_id


def read_back() -> backoffice.SyncResult:
    result = backoffice.SyncResult()
    for endpoint in BackofficeEndpoint.objects.all():
        backoffice.statuses_read(endpoint, result)
    return result


def city_updates(idea: Idea) -> list[IdeaUpdate]:
    return list(IdeaUpdate.objects.filter(idea=idea, from_city_system=True).order_by("pk"))


def test_a_request_closed_in_the_back_office_closes_the_pin_with_its_notes(forwarded, remote):
    idea, remote_id = forwarded
    remote.close(remote_id, "Filled on Tuesday by the roads crew.")

    assert read_back().statuses_applied == 1

    idea.refresh_from_db()
    assert idea.status == Idea.Status.DONE
    (update,) = city_updates(idea)
    assert update.to_status == Idea.Status.DONE
    assert update.answer == "Filled on Tuesday by the roads crew."
    assert update.team_id == idea.team_id
    forward = BackofficeForward.objects.get(idea=idea)
    assert (forward.remote_status, forward.remote_notes) == (
        "closed",
        "Filled on Tuesday by the roads crew.",
    )
    # Read again, nothing changed there: nothing more is written.
    assert read_back().statuses_applied == 0
    assert len(city_updates(idea)) == 1


def test_a_request_closed_without_notes_gives_the_citizen_a_default_answer(forwarded, remote):
    idea, remote_id = forwarded
    remote.close(remote_id)

    read_back()

    (update,) = city_updates(idea)
    assert update.to_status == Idea.Status.DONE
    assert update.answer == "Updated in the city's work-order system."


def test_the_first_read_of_an_open_request_writes_nothing(endpoint, remote, make_pin):
    idea = make_pin()
    backoffice.forward_pending()
    remote_id = BackofficeForward.objects.get(idea=idea).remote_id
    remote.update(remote_id, status="open", notes="Received")

    assert read_back().statuses_applied == 0
    assert city_updates(idea) == []
    assert BackofficeForward.objects.get(idea=idea).remote_notes == "Received"


def test_nothing_is_applied_unless_the_requests_updated_datetime_moved(forwarded, remote):
    idea, remote_id = forwarded
    read_back()  # the request as it is: open
    moment = BackofficeForward.objects.get(idea=idea).remote_updated_at
    # Notes changed there, but the request says it was not updated since.
    remote.update(remote_id, status="open", notes="Crew booked.", at=moment)

    assert read_back().statuses_applied == 0
    assert city_updates(idea) == []

    # Once it moves, the change is applied (it was not taken as seen before).
    remote.update(remote_id, status="open", notes="Crew booked.")
    assert read_back().statuses_applied == 1
    (update,) = city_updates(idea)
    assert (update.to_status, update.answer) == (Idea.Status.NEW, "Crew booked.")


def test_a_pin_reopened_on_mapideas_is_not_closed_again_by_the_old_remote_state(
    forwarded, remote, east_member
):
    idea, remote_id = forwarded
    remote.close(remote_id, "Done.")
    read_back()
    idea_status_change(
        idea=Idea.objects.get(pk=idea.pk),
        status=Idea.Status.IN_PROGRESS,
        answer="Still broken, a neighbour says: we look again.",
        actor=east_member,
    )

    assert read_back().statuses_applied == 0

    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.IN_PROGRESS
    # Until the back office closes it again.
    remote.close(remote_id, "Done for good.")
    read_back()
    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.DONE
    assert city_updates(idea)[-1].answer == "Done for good."


def test_a_remote_change_older_than_the_teams_last_step_is_kept_as_seen_not_applied(
    forwarded, remote, east_member
):
    idea, remote_id = forwarded
    # Closed there, and before the next read, the team took the pin up again here.
    remote.close(remote_id, "Done.")
    idea_status_change(
        idea=idea, status=Idea.Status.IN_PROGRESS, answer="On it.", actor=east_member
    )

    assert read_back().statuses_applied == 0

    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.IN_PROGRESS
    assert BackofficeForward.objects.get(idea=idea).remote_status == "closed"


def test_a_request_reopened_in_the_back_office_reopens_the_pin(forwarded, remote):
    idea, remote_id = forwarded
    remote.close(remote_id, "Done.")
    read_back()

    remote.update(remote_id, status="open", notes="The hole is back.")
    read_back()

    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.IN_PROGRESS
    assert city_updates(idea)[-1].answer == "The hole is back."


def test_the_endpoints_status_map_says_which_remote_status_is_which(
    endpoint, forwarded, remote, category
):
    idea, remote_id = forwarded
    backoffice.mapping_set(
        endpoint,
        service_codes={category.slug: "pothole"},
        attribute_values={},
        status_map={"scheduled": Idea.Status.PLANNED},
    )
    remote.update(remote_id, status="scheduled", notes="Next week.")

    read_back()

    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.PLANNED


def test_rows_for_requests_that_were_not_asked_are_ignored(
    city, endpoint, forwarded, remote, make_pin
):
    idea, remote_id = forwarded
    moved = make_pin("Moved away")
    backoffice.sync()
    moved_id = BackofficeForward.objects.get(idea=moved).remote_id
    idea_reassign(idea=moved, team=city.west_team, reason="Their street")
    # The request it left behind is closed there: not the pin's business any more.
    remote.close(moved_id, "Not ours.")
    remote.queue(Behaviour("wrong_ids", on="ids"))

    read_back()

    assert Idea.objects.get(pk=moved.pk).status == Idea.Status.NEW
    assert city_updates(moved) == []
    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.NEW


def test_requests_the_remote_does_not_list_are_left_as_they_were(forwarded, remote):
    idea, remote_id = forwarded
    remote.close(remote_id, "Done.")
    remote.queue(Behaviour("unknown_ids", on="ids"))

    assert read_back().statuses_applied == 0
    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.NEW

    assert read_back().statuses_applied == 1
    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.DONE


def test_fixmystreets_updates_are_read_where_the_back_office_offers_them(
    endpoint, forwarded, remote
):
    idea, remote_id = forwarded
    BackofficeEndpoint.objects.filter(pk=endpoint.pk).update(reads_updates=True)
    remote.close(remote_id, "Fixed.")
    # The batch read misses it (a remote whose list lags): its updates feed has it.
    remote.queue(Behaviour("unknown_ids", on="ids"))

    assert read_back().statuses_applied == 1
    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.DONE


def test_a_back_office_that_fails_to_answer_is_backed_off_and_read_later(
    endpoint, forwarded, remote
):
    idea, remote_id = forwarded
    remote.close(remote_id, "Done.")
    remote.queue(Behaviour("error_500", on="ids"))

    result = backoffice.sync()

    assert "reading statuses: HTTP 500" in result.errors[0]
    endpoint.refresh_from_db()
    assert endpoint.retry_at is not None and endpoint.failures == 1
    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.NEW

    # Backed off: not read at the next run.
    assert backoffice.sync().statuses_applied == 0
    BackofficeEndpoint.objects.update(retry_at=datetime(2000, 1, 1, tzinfo=UTC))
    assert backoffice.sync().statuses_applied == 1
    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.DONE


def test_a_request_the_remote_no_longer_lists_does_not_keep_the_others_from_being_read(
    endpoint, remote, make_pin, monkeypatch
):
    """Reads go to the requests read least recently, a bounded number per run: one the
    remote forgot (purged after a year, say) goes to the back of the line like the others."""
    monkeypatch.setattr(backoffice, "STATUS_READS_PER_RUN", 1)
    forgotten, answered = make_pin("Forgotten"), make_pin("Answered")
    backoffice.forward_pending()
    forgotten_id = BackofficeForward.objects.get(idea=forgotten).remote_id
    with remote.lock:
        del remote.requests[forgotten_id]
    remote.close(BackofficeForward.objects.get(idea=answered).remote_id, "Done.")

    read_back()
    read_back()

    assert Idea.objects.get(pk=answered.pk).status == Idea.Status.DONE


def test_a_row_that_cannot_be_read_leaves_the_others_read(endpoint, remote, make_pin):
    first, second = make_pin("First"), make_pin("Second")
    backoffice.forward_pending()
    for pin in (first, second):
        remote.close(BackofficeForward.objects.get(idea=pin).remote_id, "Done.")
    remote.queue(Behaviour("bad_date", on="ids"))

    assert read_back().statuses_applied == 1

    assert read_back().statuses_applied == 1
    assert {Idea.objects.get(pk=pin.pk).status for pin in (first, second)} == {Idea.Status.DONE}
