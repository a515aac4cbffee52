"""mapideas.workflow.selectors.team_response_stats and overdue_q, at fixed times."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from mapideas.models import Idea
from mapideas.submission.services import idea_create
from mapideas.workflow import selectors
from mapideas.workflow.services import idea_status_change
from neighborhoods.models import Holiday
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # a Wednesday


def day(d: int, hour: int = 12, month: int = 3, year: int = 2026) -> datetime:
    return datetime(year, month, d, hour, tzinfo=UTC)


@pytest.fixture
def pin_at(category, monkeypatch):
    root = get_user_model().objects.create_superuser("root", password="pw-for-tests")

    def make(created: datetime, answered: datetime | None = None, where=IN_EAST, answer=""):
        idea = idea_create(
            kind="idea", title="p", category=category, location=where, created_at=created
        )
        if answered is not None:
            monkeypatch.setattr(timezone, "now", lambda: answered)
            status = Idea.Status.NEW if answer else Idea.Status.ACKNOWLEDGED
            idea_status_change(idea=idea, status=status, answer=answer, actor=root)
            monkeypatch.undo()
        return idea

    return make


def test_it_measures_the_last_90_days(city, pin_at):
    pin_at(day(2, 9), day(3, 9))  # 1 day, within
    pin_at(day(6), day(9))  # Friday to Monday: 3 days, 1 working day, within
    pin_at(day(2), day(10), answer="Looking into it.")  # an answer alone: 8 days, 6 working: late
    pin_at(day(9, 10))  # waiting 7 working days (Monday 9 to Tuesday 17): late
    pin_at(day(17, 10))  # waiting, not yet due: not counted
    pin_at(day(1, month=12, year=2025), day(2, month=12, year=2025))  # before the period
    pin_at(day(2), day(3), where=IN_WEST)  # another team's

    stats = selectors.team_response_stats(team=city.east_team, now=NOW)

    assert (stats.pinned, stats.answered) == (5, 3)
    assert (stats.within_target, stats.decided) == (2, 4)
    assert stats.share_within_target == 0.5
    assert stats.median == timedelta(days=3)
    assert (stats.days, stats.target_days) == (90, 5)


def test_the_median_of_an_even_count_is_the_middle_pair(city, pin_at):
    pin_at(day(2, 9), day(2, 11))  # 2 hours
    pin_at(day(2, 9), day(2, 15))  # 6 hours

    stats = selectors.team_response_stats(team=city.east_team, now=NOW)

    assert stats.median == timedelta(hours=4)


def test_nothing_to_measure(city):
    stats = selectors.team_response_stats(team=city.east_team, now=NOW)

    assert (stats.median, stats.share_within_target, stats.pinned) == (None, None, 0)


def test_overdue_is_past_the_teams_target_in_working_days(city, pin_at):
    city.west_team.response_target_days = 2
    city.west_team.save()
    # Whole local days (neighborhoods.calendars): the day pinned counts, today does not.
    late_east = pin_at(day(10, 23))  # Tuesday 10 to Tuesday 17: 6 working days, target 5
    due_east = pin_at(day(11, 0))  # from Wednesday 11: 5
    late_west = pin_at(day(13, 23), where=IN_WEST)  # Friday, Monday, Tuesday: 3, target 2
    due_west = pin_at(day(14, 10), where=IN_WEST)  # pinned Saturday: Monday, Tuesday: 2
    answered = pin_at(day(2), day(12))  # answered late, but answered: not overdue now

    overdue = set(Idea.objects.filter(selectors.overdue_q(now=NOW)).values_list("pk", flat=True))

    assert overdue == {late_east.pk, late_west.pk}
    assert {due_east.pk, due_west.pk, answered.pk}.isdisjoint(overdue)


def test_a_weekend_pin_starts_its_clock_on_monday(city, pin_at):
    # Its 5 working days are Monday 9 to Friday 13: answered on Monday 16 it is within its
    # target, so it is overdue from Tuesday 17 at 00:00.
    saturday = pin_at(day(7, 10))

    monday_night = datetime(2026, 3, 16, 23, 59, tzinfo=UTC)
    tuesday = datetime(2026, 3, 17, 0, 1, tzinfo=UTC)

    def late(now):
        return Idea.objects.filter(selectors.overdue_q(now=now), pk=saturday.pk).exists()

    assert not late(monday_night)
    assert late(tuesday)


def test_holidays_and_the_teams_week_count(city, pin_at):
    """The city's holidays, the team's own and its working week (neighborhoods.calendars)."""
    wednesday = pin_at(day(11, 9))  # Wed 11 to Wed 18: 5 working days, target 5: due
    tuesday = pin_at(day(10, 9))  # 6: late
    tuesday_west = pin_at(day(10, 9), where=IN_WEST)

    def overdue():
        return set(Idea.objects.filter(selectors.overdue_q(now=NOW)).values_list("pk", flat=True))

    assert overdue() == {tuesday.pk, tuesday_west.pk}
    # A holiday of the East team's only (Monday 16): its Tuesday pin has had 5 working days.
    Holiday.objects.create(date=date(2026, 3, 16), name="East day", team=city.east_team)
    assert overdue() == {tuesday_west.pk}
    # The East team works on Saturdays too: Saturday 14 is a working day, 6 again.
    city.east_team.working_weekdays = "1111110"
    city.east_team.save()
    assert overdue() == {tuesday.pk, tuesday_west.pk}
    # The workspace's share within target counts the same days: one pin past its target.
    stats = selectors.team_response_stats(team=city.east_team, now=NOW)
    assert (stats.within_target, stats.decided) == (0, 1)
    # A city holiday (Thursday 12) counts for every team.
    Holiday.objects.create(date=date(2026, 3, 12), name="City day")
    assert overdue() == set()
    assert wednesday.pk not in overdue()


def test_reopenings_are_measured_beside_the_first_answers(city, pin_at, monkeypatch):
    """A reopening's answer is timed from the reopening, on its own line: the pins' first
    answers (and so the median above) stay what they were."""
    root = get_user_model().objects.get(username="root")

    def step(idea, at, status, answer):
        monkeypatch.setattr(timezone, "now", lambda: at)
        idea_status_change(idea=idea, status=status, answer=answer, actor=root)
        monkeypatch.undo()

    quick = pin_at(day(2, 9), day(3, 9))
    step(quick, day(4), Idea.Status.DONE, "Fixed.")
    step(quick, day(5), Idea.Status.IN_PROGRESS, "Residents say it is back: reopened.")
    step(quick, day(9), Idea.Status.IN_PROGRESS, "A crew is booked.")  # 4 days after
    slow = pin_at(day(2, 9), day(3, 9))
    step(slow, day(4), Idea.Status.DECLINED, "Not ours.")
    step(slow, day(6), Idea.Status.UNDER_REVIEW, "We look again.")  # waiting since
    before = selectors.team_response_stats(team=city.east_team, now=NOW).median

    stats = selectors.team_response_stats(team=city.east_team, now=NOW)

    assert (stats.reopened, stats.reopenings_answered) == (2, 1)
    assert stats.reopening_median == timedelta(days=4)
    assert stats.median == before == timedelta(days=1)


def test_the_counts_equal_a_pin_by_pin_computation_around_local_midnights(city, category):
    """Waits that start or end near local midnight, weekends and holidays: the database's
    groups by local day give what reading each pin and converting its times here gives."""
    import random

    import numpy as np

    from neighborhoods import calendars

    rng = random.Random(11)
    Holiday.objects.create(date=date(2026, 2, 16), name="A holiday")
    expected_rows = []
    for _ in range(60):
        created = NOW - timedelta(days=rng.uniform(0, 80), minutes=rng.choice([0, 5, 59]))
        answered = None if rng.random() < 0.25 else created + timedelta(hours=rng.uniform(0.1, 300))
        answered = answered if answered is None or answered <= NOW else None
        idea = idea_create(
            kind="idea", title="p", category=category, location=IN_EAST, created_at=created
        )
        Idea.objects.filter(pk=idea.pk).update(first_response_at=answered)
        expected_rows.append((created, answered))

    stats = selectors.team_response_stats(team=city.east_team, now=NOW)

    team = city.east_team
    calendar = calendars.team_calendar(team)
    today = calendars.local_dates([NOW])[0]
    pinned_on = calendars.local_dates([c for c, _a in expected_rows])
    answered_on = calendars.local_dates([a for _c, a in expected_rows])
    done = ~np.isnat(answered_on)
    taken = np.asarray(calendar.working_days(pinned_on, np.where(done, answered_on, today)))
    target = team.response_target_days
    waits = sorted(a - c for c, a in expected_rows if a is not None)
    middle = len(waits) // 2
    median = waits[middle] if len(waits) % 2 else (waits[middle - 1] + waits[middle]) / 2
    assert stats.pinned == len(expected_rows)
    assert stats.answered == len(waits)
    assert stats.within_target == int((done & (taken <= target)).sum())
    assert stats.decided == len(waits) + int((~done & (taken > target)).sum())
    assert stats.median == median
