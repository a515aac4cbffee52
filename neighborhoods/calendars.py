"""Working days: THE count of a team's response times (the service-equity layers, the
workspace's "answered within target" and its overdue pins).

A team works the days of its week (Team.working_weekdays, seven 0s and 1s, Monday first: numpy's
weekmask) except the city's holidays (Holiday without a team) and its own (Holiday with it).
The working days from `start` to `end` are numpy.busday_count(start, end): the working days
in [start, end), counted on LOCAL dates (settings.TIME_ZONE). So a pin pinned on Friday and
answered on Monday took 1 working day (Friday), one answered the day it was pinned 0, and one
pinned on Saturday and answered on Monday 0 (nothing to count before Monday). Whole days,
not hours: a pin pinned at 16:55 and answered at 09:00 the next working day took 1.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models import Q

from neighborhoods.models import Holiday, Team

DEFAULT_WEEKMASK = "1111100"  # Monday to Friday, as Team.working_weekdays defaults


@dataclass(frozen=True)
class Calendar:
    """A team's working days: its week and the holidays that apply to it."""

    weekmask: str = DEFAULT_WEEKMASK
    holidays: tuple[date, ...] = ()
    _numpy: np.busdaycalendar = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        holidays = np.array(sorted(set(self.holidays)), dtype="datetime64[D]")
        object.__setattr__(
            self, "_numpy", np.busdaycalendar(weekmask=self.weekmask, holidays=holidays)
        )

    def working_days(self, start, end):
        """Working days in [start, end): dates, or arrays of dates (datetime64[D]) -> an int
        or an int array. Negative when end is before start (numpy's rule)."""
        counted = np.busday_count(
            np.asarray(start, dtype="datetime64[D]"),
            np.asarray(end, dtype="datetime64[D]"),
            busdaycal=self._numpy,
        )
        return int(counted) if np.ndim(counted) == 0 else counted

    def overdue_before(self, today: date, target_days: int) -> date:
        """The first local day whose pins are NOT yet past `target_days`: a pin pinned before
        it has had more than `target_days` working days by `today`.

        working_days(d, today) > target_days  <=>  d < overdue_before(today, target_days).
        """
        # The (target + 1)-th working day before today (rolled forward first, so a
        # non-working today counts back from the next working day, which adds none): the
        # latest day with target + 1 working days in [day, today).
        latest = np.busday_offset(
            np.datetime64(today, "D"), -(target_days + 1), roll="forward", busdaycal=self._numpy
        )
        return latest.astype(date) + timedelta(days=1)


def local_dates(moments: Iterable[datetime | None]) -> np.ndarray:
    """Aware datetimes -> their local dates (settings.TIME_ZONE) as datetime64[D]; None is NaT."""
    series = pd.to_datetime(pd.Series(list(moments), dtype=object), utc=True)
    return (
        series.dt.tz_convert(settings.TIME_ZONE)
        .dt.tz_localize(None)
        .to_numpy(dtype="datetime64[D]")
    )


def local_date(moment: datetime) -> date:
    return local_dates([moment])[0].astype(date)


def local_midnight(day: date) -> datetime:
    """The first instant of a local day (settings.TIME_ZONE)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def team_calendars() -> dict[int, Calendar]:
    """Every team's calendar by team id: two queries (the teams' weeks, the holidays)."""
    city: list[date] = []
    own: dict[int, list[date]] = {}
    for day, team_id in Holiday.objects.order_by().values_list("date", "team_id"):
        if team_id is None:
            city.append(day)
        else:
            own.setdefault(team_id, []).append(day)
    return {
        team_id: Calendar(weekmask=weekmask, holidays=(*city, *own.get(team_id, ())))
        for team_id, weekmask in Team.objects.order_by().values_list("id", "working_weekdays")
    }


def team_calendar(team: Team) -> Calendar:
    """One team's calendar (one query for the holidays)."""
    holidays = (
        Holiday.objects.filter(Q(team__isnull=True) | Q(team=team))
        .order_by()
        .values_list("date", flat=True)
    )
    return Calendar(weekmask=team.working_weekdays, holidays=tuple(holidays))
