"""neighborhoods.calendars: a team's working days, its week and the holidays, on local dates."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from neighborhoods.calendars import (
    Calendar,
    local_date,
    local_dates,
    local_midnight,
    team_calendar,
    team_calendars,
)
from neighborhoods.models import Holiday, Team

FRIDAY, SATURDAY, MONDAY = date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 9)


def test_pinned_friday_and_answered_monday_is_one_working_day():
    calendar = Calendar()
    assert calendar.working_days(FRIDAY, MONDAY) == 1
    assert calendar.working_days(FRIDAY, FRIDAY) == 0
    assert calendar.working_days(SATURDAY, MONDAY) == 0
    assert calendar.working_days(MONDAY, MONDAY + timedelta(days=14)) == 10


def test_holidays_and_the_week_count():
    assert Calendar(holidays=(FRIDAY,)).working_days(FRIDAY, MONDAY) == 0
    # Sunday to Thursday: Friday and Saturday are the weekend.
    sunday_to_thursday = Calendar(weekmask="1111001")
    assert sunday_to_thursday.working_days(FRIDAY, MONDAY) == 1  # the Sunday


def test_arrays_are_counted_at_once():
    starts = np.array([FRIDAY, SATURDAY, MONDAY], dtype="datetime64[D]")
    ends = np.array([MONDAY, MONDAY, MONDAY + timedelta(days=7)], dtype="datetime64[D]")
    assert list(Calendar().working_days(starts, ends)) == [1, 0, 5]


def test_days_are_local(settings):
    settings.TIME_ZONE = "America/Chicago"
    # Friday 20:00 in Chicago is Saturday 02:00 UTC: a Friday there.
    evening = datetime(2026, 3, 7, 2, 0, tzinfo=ZoneInfo("UTC"))
    assert local_date(evening) == FRIDAY
    assert list(local_dates([evening, None]).astype(str)) == ["2026-03-06", "NaT"]
    assert local_midnight(FRIDAY) == datetime(2026, 3, 6, tzinfo=ZoneInfo("America/Chicago"))


@pytest.mark.parametrize("target", [0, 1, 2, 5, 10])
@pytest.mark.parametrize("weekmask", ["1111100", "0111110", "1111111"])
def test_the_overdue_day_agrees_with_the_working_days(target, weekmask):
    calendar = Calendar(weekmask=weekmask, holidays=(date(2026, 3, 12), date(2026, 3, 16)))
    for today in (date(2026, 3, 1) + timedelta(days=n) for n in range(30)):
        cutoff = calendar.overdue_before(today, target)
        for pinned in (today - timedelta(days=n) for n in range(40)):
            late = calendar.working_days(pinned, today) > target
            assert late == (pinned < cutoff), (today, pinned)


@pytest.mark.django_db
def test_every_teams_calendar_in_two_queries(city):
    Team.objects.filter(pk=city.east_team.pk).update(working_weekdays="0111110")
    Holiday.objects.create(date=FRIDAY, name="City day")
    Holiday.objects.create(date=MONDAY, name="East day", team=city.east_team)

    with CaptureQueriesContext(connection) as queries:
        calendars = team_calendars()

    assert len(queries) == 2
    east, west = calendars[city.east_team.pk], calendars[city.west_team.pk]
    assert (east.weekmask, sorted(east.holidays)) == ("0111110", [FRIDAY, MONDAY])
    assert (west.weekmask, west.holidays) == ("1111100", (FRIDAY,))
    city.east_team.refresh_from_db()
    assert team_calendar(city.east_team) == east
