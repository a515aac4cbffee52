"""mapideas.workflow: the transition table and working-day arithmetic (no database)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from mapideas.models import Idea
from mapideas.workflow import statuses as workflow

S = Idea.Status
UTC = ZoneInfo("UTC")


def at(text: str, zone=UTC) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


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


# --- working days -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "start,end,hours",
    [
        ("2026-03-02T09:00", "2026-03-02T17:00", 8),  # Monday
        ("2026-03-06T12:00", "2026-03-09T12:00", 24),  # Friday noon to Monday noon
        ("2026-03-07T10:00", "2026-03-08T22:00", 0),  # all weekend
        ("2026-03-07T10:00", "2026-03-09T06:00", 6),  # Saturday to Monday 06:00
        ("2026-03-02T00:00", "2026-03-16T00:00", 240),  # two weeks
        ("2026-03-09T12:00", "2026-03-06T12:00", -24),  # backwards
    ],
)
def test_it_counts_only_monday_to_friday(start, end, hours):
    assert workflow.working_time_between(at(start), at(end), UTC) == timedelta(hours=hours)


@pytest.mark.parametrize(
    "moment,days,cutoff",
    [
        ("2026-03-13T12:00", 5, "2026-03-06T12:00"),  # Friday -> the Friday before
        ("2026-03-09T12:00", 1, "2026-03-06T12:00"),  # Monday -> Friday
        ("2026-03-14T12:00", 5, "2026-03-07T00:00"),  # Saturday: the week ended Friday night
        ("2026-03-09T00:00", 5, "2026-02-28T00:00"),  # Monday 00:00: a week back, flat weekend
    ],
)
def test_it_finds_the_cutoff(moment, days, cutoff):
    assert workflow.working_days_before(at(moment), days, UTC) == at(cutoff)


@pytest.mark.parametrize("days", [1, 2, 5, 10])
@pytest.mark.parametrize(
    "moment", ["2026-03-13T12:00", "2026-03-14T03:00", "2026-03-16T00:00", "2026-03-17T23:59"]
)
def test_the_cutoff_agrees_with_the_working_time(moment, days):
    now = at(moment)
    cutoff = workflow.working_days_before(now, days, UTC)
    limit = timedelta(days=days)
    for minutes in range(-3 * 24 * 60, 3 * 24 * 60, 97):
        pinned = cutoff + timedelta(minutes=minutes)
        late = workflow.working_time_between(pinned, now, UTC) > limit
        assert late == (pinned < cutoff), pinned


def test_it_counts_in_the_site_time_zone():
    chicago = ZoneInfo("America/Chicago")
    # Friday 20:00 in Chicago is Saturday 02:00 UTC: four working hours there, none in UTC.
    start = at("2026-03-06T22:00", chicago) - timedelta(hours=2)
    end = at("2026-03-07T12:00", chicago)
    assert workflow.working_time_between(start, end, chicago) == timedelta(hours=4)
    assert workflow.working_time_between(start, end, UTC) == timedelta(hours=0)


def test_within_target():
    pinned = at("2026-03-06T12:00")  # Friday noon
    assert workflow.within_target(pinned, at("2026-03-13T12:00"), 5)
    assert not workflow.within_target(pinned, at("2026-03-13T12:01"), 5)
