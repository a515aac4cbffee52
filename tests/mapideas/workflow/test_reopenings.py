"""Closing and reopening a pin (mapideas.workflow.services._record_update): a closure is
dated, a reopening owes the citizen a reason and starts its own response clock, kept beside
the pin's first answer, never over it."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from mapideas.models import Idea, Reopening
from mapideas.submission.services import idea_create
from mapideas.workflow.services import (
    REOPEN_ANSWER_REQUIRED_MESSAGE,
    idea_mark_duplicate,
    idea_status_change,
)
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db
S = Idea.Status


@pytest.fixture
def idea(city, category) -> Idea:
    return idea_create(kind="issue", title="Pothole", category=category, location=IN_EAST)


def fresh(idea: Idea) -> Idea:
    return Idea.objects.get(pk=idea.pk)


def test_closing_dates_the_closure(idea, east_member):
    assert idea.closed_at is None
    update = idea_status_change(idea=idea, status=S.DONE, answer="Filled.", actor=east_member)

    assert fresh(idea).closed_at == update.created_at


@pytest.mark.parametrize(
    ("closed", "reopened"), [(S.DONE, S.IN_PROGRESS), (S.DECLINED, S.UNDER_REVIEW)]
)
def test_a_reopening_needs_a_public_answer(idea, east_member, closed, reopened):
    idea_status_change(idea=idea, status=closed, answer="Closed.", actor=east_member)

    with pytest.raises(ValidationError) as refused:
        idea_status_change(idea=idea, status=reopened, actor=east_member)

    assert refused.value.message_dict == {"answer": [str(REOPEN_ANSWER_REQUIRED_MESSAGE)]}
    assert fresh(idea).status == closed
    assert not Reopening.objects.exists()


def test_a_reopening_starts_its_own_clock_beside_the_first_answer(idea, east_member):
    first = idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=east_member)
    closed = idea_status_change(idea=idea, status=S.DONE, answer="Filled.", actor=east_member)
    reopen = idea_status_change(
        idea=idea, status=S.IN_PROGRESS, answer="Still there: we go back.", actor=east_member
    )

    idea = fresh(idea)
    reopening = Reopening.objects.get()
    assert (reopening.update, reopening.cause) == (reopen, Reopening.Cause.TEAM)
    assert reopening.first_response_at is None
    assert (idea.reopen_count, idea.reopened_at) == (1, reopen.created_at)
    assert idea.closed_at == closed.created_at  # the closure it reopened stays dated

    answer = idea_status_change(
        idea=idea, status=S.IN_PROGRESS, answer="Crew booked.", actor=east_member
    )
    idea_status_change(idea=idea, status=S.DONE, answer="Filled again.", actor=east_member)

    reopening.refresh_from_db()
    assert reopening.first_response_at == answer.created_at
    assert fresh(idea).first_response_at == first.created_at  # never over the first answer
    assert reopening.first_response_at - reopening.created_at >= timedelta(0)


def test_an_unmerged_duplicate_is_not_a_reopening(idea, east_member, city, category):
    original = idea_create(kind="issue", title="Pothole", category=category, location=IN_EAST)
    idea_mark_duplicate(idea=idea, original=original, actor=east_member)
    idea_status_change(idea=idea, status=S.UNDER_REVIEW, actor=east_member)

    assert not Reopening.objects.exists()
    assert fresh(idea).reopen_count == 0
