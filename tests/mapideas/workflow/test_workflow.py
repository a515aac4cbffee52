"""mapideas.workflow: the transition table (no database). Working days are
neighborhoods.calendars (tests/neighborhoods/test_calendars.py)."""

import pytest
from django.core.exceptions import ValidationError

from mapideas.models import Idea
from mapideas.workflow import statuses as workflow

S = Idea.Status


def test_it_lists_every_status_in_the_table():
    assert set(workflow.TRANSITIONS) == set(S.values)


def test_it_never_goes_back_to_new():
    assert all(S.NEW not in targets for targets in workflow.TRANSITIONS.values())


def test_it_allows_the_main_path_and_skips_forward():
    path = [S.NEW, S.ACKNOWLEDGED, S.UNDER_REVIEW, S.PLANNED, S.IN_PROGRESS, S.DONE]
    for current, new in zip(path, path[1:], strict=False):
        workflow.check_transition(current, new)
    workflow.check_transition(S.NEW, S.DONE)  # a quick fix


@pytest.mark.parametrize(
    "current,new",
    [(S.DONE, S.DECLINED), (S.DECLINED, S.DONE), (S.IN_PROGRESS, S.NEW), (S.DONE, S.PLANNED)],
)
def test_it_refuses_the_others_naming_the_field_and_what_is_allowed(current, new):
    with pytest.raises(ValidationError) as caught:
        workflow.check_transition(current, new)

    (message,) = caught.value.message_dict["status"]
    assert f"cannot become {workflow.label(new)}" in message
    for allowed in workflow.next_statuses(current):
        assert workflow.label(allowed) in message


def test_it_refuses_an_unknown_status():
    with pytest.raises(ValidationError) as caught:
        workflow.check_transition(S.NEW, "lost")

    assert "'lost' is not a status." in caught.value.message_dict["status"]


def test_the_closed_statuses_stay_closed_for_open311():
    assert {S.DONE, S.DECLINED, S.DUPLICATE}.isdisjoint(Idea.OPEN_STATUSES)
    assert {S.DONE, S.DECLINED, S.DUPLICATE} == workflow.ANSWER_REQUIRED
