"""The workflow's writes (mapideas.workflow.services): status changes and answers, internal notes,
assignment, duplicates, bulk changes. Each checks who may, under a lock, and records itself."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from mapideas.models import Idea, IdeaNote, IdeaUpdate
from mapideas.rerouting.services import boundaries_activate
from mapideas.submission.services import idea_create
from mapideas.workflow.services import (
    ANSWER_REQUIRED_MESSAGE,
    NOTE_REQUIRED_MESSAGE,
    duplicate_answer,
    idea_assign,
    idea_mark_duplicate,
    idea_note_add,
    idea_reassign,
    idea_status_change,
    ideas_bulk_update,
)
from tests.conftest import IN_EAST, IN_WEST
from tests.layered_city import IN_PORT_OVERLAP, layered_version

pytestmark = pytest.mark.django_db
S = Idea.Status


@pytest.fixture
def idea(city, category) -> Idea:
    return idea_create(kind="issue", title="Broken swing", category=category, location=IN_EAST)


@pytest.fixture
def other(city, category) -> Idea:
    return idea_create(kind="issue", title="Swing broken", category=category, location=IN_EAST)


def fresh(idea: Idea) -> Idea:
    return Idea.objects.get(pk=idea.pk)


# --- status and answers -------------------------------------------------------------------


def test_it_changes_the_status_and_records_the_step(idea, east_member):
    update = idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=east_member)

    idea = fresh(idea)
    assert idea.status == S.ACKNOWLEDGED
    assert (update.from_status, update.to_status) == (S.NEW, S.ACKNOWLEDGED)
    assert update.team_id == idea.team_id
    assert update.actor == east_member
    assert idea.first_response_at == update.created_at
    assert (idea.answer, idea.answer_at) == ("", None)


def test_it_keeps_the_first_response_time(idea, east_member):
    first = idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=east_member)
    idea_status_change(idea=idea, status=S.PLANNED, answer="Next spring.", actor=east_member)

    idea = fresh(idea)
    assert idea.first_response_at == first.created_at
    assert idea.answer == "Next spring."
    assert idea.answer_at > first.created_at


def test_an_answer_alone_is_a_first_response(idea, east_member):
    update = idea_status_change(
        idea=idea, status=S.NEW, answer="We are looking at it.", actor=east_member
    )

    idea = fresh(idea)
    assert not update.changes_status
    assert idea.status == S.NEW
    assert idea.first_response_at == update.created_at
    assert idea.answer == "We are looking at it."


def test_it_refuses_the_same_status_without_an_answer(idea, east_member):
    with pytest.raises(ValidationError) as caught:
        idea_status_change(idea=idea, status=S.NEW, actor=east_member)

    assert "status" in caught.value.message_dict
    assert not IdeaUpdate.objects.exists()


@pytest.mark.parametrize("status", [S.DONE, S.DECLINED])
def test_it_requires_a_public_answer_for_done_and_declined(idea, east_member, status):
    with pytest.raises(ValidationError) as caught:
        idea_status_change(idea=idea, status=status, answer="   ", actor=east_member)

    label = Idea.Status(status).label.lower()
    assert caught.value.message_dict == {"answer": [ANSWER_REQUIRED_MESSAGE.format(status=label)]}
    assert fresh(idea).status == S.NEW
    assert not IdeaUpdate.objects.exists()


def test_it_refuses_a_transition_outside_the_table(idea, east_member):
    idea_status_change(idea=idea, status=S.DONE, answer="Fixed.", actor=east_member)

    with pytest.raises(ValidationError) as caught:
        idea_status_change(idea=idea, status=S.DECLINED, answer="No.", actor=east_member)

    (message,) = caught.value.message_dict["status"]
    assert message == "A pin that is done cannot become declined; it can become: in progress."
    assert fresh(idea).status == S.DONE
    assert IdeaUpdate.objects.count() == 1


def test_it_sends_duplicates_through_mark_duplicate(idea, east_member):
    with pytest.raises(ValidationError) as caught:
        idea_status_change(idea=idea, status=S.DUPLICATE, answer="Same.", actor=east_member)

    assert "duplicate_of" in caught.value.message_dict["status"][0]


def test_closing_a_pin_makes_it_closed_for_open311(idea, east_member):
    idea_status_change(idea=idea, status=S.DONE, answer="Fixed.", actor=east_member)

    assert not fresh(idea).is_open


def test_it_refuses_an_answer_too_long(idea, east_member):
    with pytest.raises(ValidationError) as caught:
        idea_status_change(idea=idea, status=S.ACKNOWLEDGED, answer="x" * 5001, actor=east_member)

    assert "answer" in caught.value.message_dict


# --- permissions in the services ------------------------------------------------------------


def test_it_refuses_someone_else_in_every_service(idea, other, west_member, planner):
    for person in (west_member, planner, None):
        with pytest.raises(PermissionDenied):
            idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=person)
        with pytest.raises(PermissionDenied):
            idea_note_add(idea=idea, text="hm", author=person)
        with pytest.raises(PermissionDenied):
            idea_assign(idea=idea, assignee=None, actor=person)
        with pytest.raises(PermissionDenied):
            idea_mark_duplicate(idea=idea, original=other, actor=person)
        with pytest.raises(PermissionDenied):
            ideas_bulk_update(ideas=[idea.pk], status=S.ACKNOWLEDGED, actor=person)
    assert not IdeaUpdate.objects.exists()
    assert not IdeaNote.objects.exists()
    assert fresh(idea).status == S.NEW


def test_a_superuser_may_do_it_all(idea, other):
    root = get_user_model().objects.create_superuser("root", password="pw")

    idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=root)
    idea_note_add(idea=idea, text="Checked.", author=root)
    idea_mark_duplicate(idea=other, original=idea, actor=root)

    assert fresh(idea).status == S.ACKNOWLEDGED
    assert fresh(other).duplicate_of_id == idea.pk


# --- internal notes ---------------------------------------------------------------------


def test_it_adds_an_internal_note(idea, east_member):
    note = idea_note_add(idea=idea, text="  Call the parks crew.  ", author=east_member)

    assert (note.kind, note.text, note.author) == (
        IdeaNote.Kind.NOTE,
        "Call the parks crew.",
        east_member,
    )
    assert fresh(idea).first_response_at is None  # internal: not an answer to the citizen


def test_it_refuses_an_empty_note(idea, east_member):
    with pytest.raises(ValidationError) as caught:
        idea_note_add(idea=idea, text=" \n", author=east_member)

    assert caught.value.message_dict == {"text": [NOTE_REQUIRED_MESSAGE]}


# --- assignment -------------------------------------------------------------------------


def test_it_assigns_a_member_of_the_team_and_unassigns(idea, east_member, make_user, city):
    colleague = make_user("erin", teams=[city.east_team])

    assigned = idea_assign(idea=idea, assignee=colleague, actor=east_member)
    assert fresh(idea).assignee == colleague
    unassigned = idea_assign(idea=idea, assignee=None, actor=east_member)

    assert fresh(idea).assignee is None
    assert (assigned.kind, assigned.assignee) == (IdeaNote.Kind.ASSIGNED, colleague)
    assert (unassigned.kind, unassigned.assignee) == (IdeaNote.Kind.UNASSIGNED, colleague)


def test_it_refuses_an_assignee_outside_the_team(idea, east_member, west_member):
    with pytest.raises(ValidationError) as caught:
        idea_assign(idea=idea, assignee=west_member, actor=east_member)

    assert caught.value.message_dict == {
        "assignee": ["wendy is not a member of East Team, which has the pin."]
    }
    assert fresh(idea).assignee is None


def test_reassigning_to_another_team_unassigns(idea, east_member, city):
    idea_assign(idea=idea, assignee=east_member, actor=east_member)

    idea_reassign(idea=idea, team=city.west_team, reason="Not ours: West park.", actor=east_member)

    idea = fresh(idea)
    assert (idea.team, idea.assignee) == (city.west_team, None)
    assert idea.notes.filter(kind=IdeaNote.Kind.UNASSIGNED).exists()


def test_reassign_checks_the_actor(idea, west_member, city):
    with pytest.raises(PermissionDenied):
        idea_reassign(idea=idea, team=city.west_team, reason="Mine now.", actor=west_member)

    assert fresh(idea).team == city.east_team


# --- duplicates -----------------------------------------------------------------------------


def test_it_marks_a_duplicate_with_a_default_answer(idea, other, east_member):
    update = idea_mark_duplicate(idea=other, original=idea, actor=east_member)

    other = fresh(other)
    assert (other.status, other.duplicate_of_id) == (S.DUPLICATE, idea.pk)
    assert update.duplicate_of_id == idea.pk
    assert other.answer == duplicate_answer(idea)
    assert f"#{idea.pk}" in other.answer
    assert list(idea.duplicates.all()) == [other]


def test_it_points_the_duplicates_of_a_duplicate_at_the_original(
    city, category, idea, other, east_member
):
    third = idea_create(kind="issue", title="Swing again", category=category, location=IN_EAST)
    idea_mark_duplicate(idea=third, original=other, actor=east_member)

    idea_mark_duplicate(idea=other, original=idea, actor=east_member)

    assert fresh(third).duplicate_of_id == idea.pk


def test_it_refuses_a_duplicate_of_itself_or_of_a_duplicate(idea, other, east_member):
    with pytest.raises(ValidationError) as itself:
        idea_mark_duplicate(idea=idea, original=idea, actor=east_member)
    idea_mark_duplicate(idea=other, original=idea, actor=east_member)
    with pytest.raises(ValidationError) as chained:
        idea_mark_duplicate(idea=idea, original=other, actor=east_member)

    assert "duplicate_of" in itself.value.message_dict
    assert (
        f"mark this one as a duplicate of #{idea.pk}"
        in chained.value.message_dict["duplicate_of"][0]
    )


def test_reopening_a_duplicate_unmerges_it(idea, other, east_member):
    idea_mark_duplicate(idea=other, original=idea, actor=east_member)

    idea_status_change(
        idea=other, status=S.UNDER_REVIEW, answer="Not the same swing.", actor=east_member
    )

    assert fresh(other).duplicate_of_id is None


# --- bulk -------------------------------------------------------------------------------


def test_it_changes_a_selection_with_one_answer(city, category, idea, other, east_member):
    result = ideas_bulk_update(
        ideas=[idea.pk, other.pk], status=S.PLANNED, answer="Both in the spring.", actor=east_member
    )

    assert len(result.updates) == 2
    for pin in (idea, other):
        pin = fresh(pin)
        assert (pin.status, pin.answer) == (S.PLANNED, "Both in the spring.")


def test_it_assigns_a_selection_leaving_those_already_assigned(idea, other, east_member):
    idea_assign(idea=idea, assignee=east_member, actor=east_member)

    result = ideas_bulk_update(ideas=[idea.pk, other.pk], assignee=east_member, actor=east_member)

    assert [n.idea_id for n in result.notes] == [other.pk]
    assert fresh(other).assignee == east_member


def test_it_writes_nothing_when_one_pin_is_not_theirs(city, category, idea, east_member):
    west_pin = idea_create(kind="idea", title="West", category=category, location=IN_WEST)

    with pytest.raises(PermissionDenied) as caught:
        ideas_bulk_update(ideas=[idea.pk, west_pin.pk], status=S.ACKNOWLEDGED, actor=east_member)

    assert f"#{west_pin.pk}" in str(caught.value)
    assert fresh(idea).status == S.NEW
    assert not IdeaUpdate.objects.exists()


def test_it_writes_nothing_when_one_transition_is_refused(idea, other, east_member):
    idea_status_change(idea=other, status=S.DONE, answer="Fixed.", actor=east_member)

    with pytest.raises(ValidationError) as caught:
        ideas_bulk_update(ideas=[idea.pk, other.pk], status=S.PLANNED, actor=east_member)

    assert caught.value.message_dict["status"][0].startswith(f"#{other.pk}: ")
    assert fresh(idea).status == S.NEW
    assert IdeaUpdate.objects.count() == 1


def test_it_rolls_back_a_failure_halfway(idea, other, east_member, monkeypatch):
    """A write that fails after others succeeded (a database error, say) undoes them all."""
    from mapideas.workflow import services

    real = services._record_update
    calls = []

    def flaky(pin, **kwargs):
        calls.append(pin.pk)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(pin, **kwargs)

    monkeypatch.setattr(services, "_record_update", flaky)
    with pytest.raises(RuntimeError):
        ideas_bulk_update(ideas=[idea.pk, other.pk], status=S.ACKNOWLEDGED, actor=east_member)

    assert fresh(idea).status == fresh(other).status == S.NEW
    assert not IdeaUpdate.objects.exists()


def test_it_names_missing_pins_and_needs_an_action(idea, east_member):
    with pytest.raises(ValidationError) as missing:
        ideas_bulk_update(ideas=[idea.pk, 999999], status=S.PLANNED, actor=east_member)
    with pytest.raises(ValidationError) as nothing:
        ideas_bulk_update(ideas=[idea.pk], actor=east_member)
    with pytest.raises(ValidationError) as empty:
        ideas_bulk_update(ideas=[], status=S.PLANNED, actor=east_member)

    assert missing.value.message_dict == {"ideas": ["No such pin: #999999."]}
    assert "action" in nothing.value.message_dict
    assert "ideas" in empty.value.message_dict


def test_an_also_in_area_team_may_work_on_open_pins_only(city, category, east_member):
    """Where neighborhoods overlap, the other team sees the open pin and may answer it."""
    boundaries_activate(version=layered_version())
    pin = idea_create(kind="idea", title="Overlap", category=category, location=IN_PORT_OVERLAP)
    assert pin.team == city.harbor_team
    assert list(pin.also_in_teams.all()) == [city.east_team]

    idea_status_change(idea=pin, status=S.DONE, answer="Fixed by East.", actor=east_member)
    with pytest.raises(PermissionDenied):  # closed: no longer in their workspace
        idea_status_change(idea=pin, status=S.IN_PROGRESS, answer="Again", actor=east_member)

    assert fresh(pin).status == S.DONE
