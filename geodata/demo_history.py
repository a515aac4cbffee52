"""The demo pins' past: first answers, closures, residents' disputes and reopenings, so the
demo city shows response times, overdue pins and the check queue from the first `make run`.

Every step goes through the workflow's own writer (mapideas.workflow.services._record_update,
as mapideas.outcomes does for its reopenings), backdated with its `now`, and every resident's
verdict through mapideas.outcomes.services.feedback_give, backdated the same way, as if an
"Is it fixed?" email had been answered. So the rows are those the product writes (IdeaUpdate,
Reopening, FixFeedback, Idea.first_response_at, closed_at, dispute_count, reopen_count), with
one exception: `Idea.updated_at` is the time of the load.

The teams do not answer at one pace. The Northwest Side team, whose residents speak up
(geodata.demo.SIDE_WEIGHT), answers slowly and misses its target (5 working days) for many
pins: a cluster of slow adjacent areas the slow-spot layer finds, team medians that differ.
Downtown and the north lakefront answer within a day or two. Time is counted in each team's
working days (its week and the city's holidays), as neighborhoods.calendars counts it.
"""

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings

from mapideas.models import FixFeedback, Idea
from mapideas.outcomes.selectors import person_hash_of
from mapideas.outcomes.services import feedback_give
from mapideas.workflow import statuses as workflow
from mapideas.workflow.services import _record_update
from neighborhoods.calendars import DEFAULT_WEEKMASK, team_calendars
from neighborhoods.models import Holiday, Team

S = Idea.Status

# Median working days to a first answer, by side: the Northwest Side is the slow spot (and
# its pins are past their target), the Far Southeast Side and the Southwest Side lag a little.
TEAM_PACE: dict[str, float] = {
    "Central": 1.0,
    "North Side": 2.0,
    "Far North Side": 3.0,
    "Northwest Side": 14.0,
    "West Side": 4.0,
    "South Side": 4.0,
    "Southwest Side": 5.0,
    "Far Southwest Side": 3.0,
    "Far Southeast Side": 6.0,
}
# The share of a team's pins it never answers (still waiting, long past the target).
SLOW_TEAMS_FORGET = 0.08
OTHERS_FORGET = 0.02

# The Central team covers downtown's Saturdays: Tuesday to Saturday. Every other team keeps
# Team.working_weekdays' default, Monday to Friday.
TEAM_WEEK = {"Central": "0111110"}

# The first step a team takes, by kind of pin: (status, weight).
FIRST_STEP: dict[str, list[tuple[str, int]]] = {
    Idea.Kind.ISSUE: [
        (S.ACKNOWLEDGED, 45),
        (S.IN_PROGRESS, 25),
        (S.DONE, 18),
        (S.UNDER_REVIEW, 7),
        (S.DECLINED, 5),
    ],
    Idea.Kind.IDEA: [
        (S.UNDER_REVIEW, 45),
        (S.ACKNOWLEDGED, 25),
        (S.PLANNED, 15),
        (S.DECLINED, 10),
        (S.DONE, 5),
    ],
}
# The chance an open pin is closed later (if its day has come), and done rather than declined.
CLOSES: dict[str, float] = {Idea.Kind.ISSUE: 0.8, Idea.Kind.IDEA: 0.35}
DONE_RATHER_THAN_DECLINED: dict[str, float] = {Idea.Kind.ISSUE: 0.9, Idea.Kind.IDEA: 0.4}
# Mean calendar days from the first answer to the closure.
DAYS_TO_CLOSE: dict[str, float] = {Idea.Kind.ISSUE: 25.0, Idea.Kind.IDEA: 50.0}

ANSWERS: dict[str, str] = {
    S.ACKNOWLEDGED: "Thank you: the district team has logged this and will look at it.",
    S.UNDER_REVIEW: "We are reviewing this with the department concerned.",
    S.PLANNED: "This is planned: we will post here when work starts.",
    S.IN_PROGRESS: "A crew has been scheduled.",
    S.DONE: "Fixed: thank you for reporting it.",
    S.DECLINED: "We cannot do this here: the reasons are explained at the next ward meeting.",
}
REOPEN_DONE_AGAIN = "Fixed again after residents' reports: thank you for telling us."

# Of the pins marked done at least a week ago (Team.fix_check_days), the share residents
# answer "Is it fixed?" about, and how many distinct residents dispute it: 3 (the default
# Team.reopen_threshold) within the window reopen the pin; fewer wait in the check queue.
ASKED_ABOUT_FIX = 0.25
DISPUTERS = [0, 0, 0, 1, 1, 2, 3]
FIX_CHECK_DAYS = 7


@dataclass(frozen=True)
class DemoHistory:
    answered: int
    closed: int
    disputes: int
    reopened: int


def us_federal_holidays(year: int) -> list[tuple[date, str]]:
    """The eleven US federal holidays of `year` (5 U.S.C. 6103), on the days offices close:
    one falling on a Saturday is observed the Friday before, on a Sunday the Monday after."""

    def nth(weekday: int, month: int, n: int) -> date:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))

    def last(weekday: int, month: int) -> date:
        end = date(year, month + 1, 1) - timedelta(days=1)
        return end - timedelta(days=(end.weekday() - weekday) % 7)

    def observed(day: date) -> date:
        return day + timedelta(days={5: -1, 6: 1}.get(day.weekday(), 0))

    return [
        (observed(date(year, 1, 1)), "New Year's Day"),
        (nth(0, 1, 3), "Birthday of Martin Luther King, Jr."),
        (nth(0, 2, 3), "Washington's Birthday"),
        (last(0, 5), "Memorial Day"),
        (observed(date(year, 6, 19)), "Juneteenth National Independence Day"),
        (observed(date(year, 7, 4)), "Independence Day"),
        (nth(0, 9, 1), "Labor Day"),
        (nth(0, 10, 2), "Columbus Day"),
        (observed(date(year, 11, 11)), "Veterans Day"),
        (nth(3, 11, 4), "Thanksgiving Day"),
        (observed(date(year, 12, 25)), "Christmas Day"),
    ]


def demo_holidays(start: date, end: date) -> int:
    """The city-wide holidays from `start` to `end` (the demo's months and a few weeks
    ahead), as Holiday rows: the ones missing are added, none changed. Returns how many."""
    wanted = {
        day: name
        for year in range(start.year, end.year + 1)
        for day, name in us_federal_holidays(year)
        if start <= day <= end
    }
    existing = set(
        Holiday.objects.filter(team__isnull=True, date__in=list(wanted)).values_list(
            "date", flat=True
        )
    )
    Holiday.objects.bulk_create(
        [
            Holiday(date=day, name=name)
            for day, name in sorted(wanted.items())
            if day not in existing
        ]
    )
    return len(wanted) - len(existing)


def demo_weeks() -> None:
    """TEAM_WEEK: a team's week, unless staff already changed it from the default."""
    for side, week in TEAM_WEEK.items():
        Team.objects.filter(name=f"{side} team", working_weekdays=DEFAULT_WEEKMASK).update(
            working_weekdays=week
        )


class _Clock:
    """A team's working days, for placing its answers: numpy's busday offsets on the same
    week and holidays neighborhoods.calendars counts with, on local dates."""

    def __init__(self, weekmask: str, holidays: tuple[date, ...]) -> None:
        self.calendar = np.busdaycalendar(
            weekmask=weekmask, holidays=np.array(sorted(set(holidays)), dtype="datetime64[D]")
        )
        self.zone = ZoneInfo(settings.TIME_ZONE)

    def after(self, start: datetime, working_days: int, rng: random.Random) -> datetime:
        """A moment in office hours `working_days` working days after `start` (0: the same
        day if it is a working day, else the next one), never before `start`."""
        local = start.astimezone(self.zone)
        day = np.busday_offset(
            np.datetime64(local.date(), "D"),
            working_days,
            roll="forward",
            busdaycal=self.calendar,
        ).astype(date)
        moment = datetime.combine(
            day, time(rng.randint(9, 16), rng.randint(0, 59)), tzinfo=self.zone
        )
        return max(moment, start + timedelta(minutes=rng.randint(20, 90)))


def _weighted(options: list[tuple[str, int]], rng: random.Random) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _step(idea: Idea, status: str, at: datetime, *, answer: str = "") -> None:
    """One public step, backdated to `at`: a status change, with its answer where the
    workflow requires one (done, declined)."""
    workflow.check_transition(idea.status, status)
    if not answer and status in workflow.ANSWER_REQUIRED:
        answer = ANSWERS[status]
    _record_update(idea, status=status, answer=answer, actor=None, now=at)


def demo_history(ideas: list[Idea], *, now: datetime, rng: random.Random) -> DemoHistory:
    """Answer, close and dispute the demo pins as their teams and residents would have,
    up to `now`, on each team's calendar (its week, the holidays): deterministic for one
    `rng` seed and one `now`."""
    teams = {team.pk: team for team in Team.objects.all()}
    clocks = {
        pk: _Clock(calendar.weekmask, calendar.holidays)
        for pk, calendar in team_calendars().items()
    }
    answered = closed = disputes = reopened = 0
    voice = 0  # numbers the demo's residents: one hash and one network each
    for idea in sorted(ideas, key=lambda i: (i.created_at, i.pk)):
        team = teams[idea.team_id]
        side = team.name.removesuffix(" team")
        pace = TEAM_PACE.get(side, 5.0)
        forget = SLOW_TEAMS_FORGET if pace > 5 else OTHERS_FORGET
        clock = clocks[idea.team_id]
        if rng.random() < forget:
            continue
        days = int(pace * math.exp(rng.gauss(0, 0.6)))
        first_at = clock.after(idea.created_at, days, rng)
        if first_at >= now:
            continue  # still waiting: its answer is due in the future
        first = _weighted(FIRST_STEP[idea.kind], rng)
        # Three in five first steps say something; the others only change the status.
        _step(idea, first, first_at, answer=ANSWERS[first] if rng.random() < 0.6 else "")
        answered += 1
        last_at = first_at
        if first not in workflow.CLOSED:
            if rng.random() >= CLOSES[idea.kind]:
                continue
            closing_at = first_at + timedelta(
                days=rng.expovariate(1 / DAYS_TO_CLOSE[idea.kind]), hours=1
            )
            if closing_at >= now:
                continue
            done = rng.random() < DONE_RATHER_THAN_DECLINED[idea.kind]
            closing = S.DONE if done else S.DECLINED
            if done and idea.status in (S.ACKNOWLEDGED, S.PLANNED) and rng.random() < 0.5:
                _step(idea, S.IN_PROGRESS, first_at + (closing_at - first_at) / 2)
            _step(idea, closing, closing_at)
            last_at = closing_at
        closed += 1
        if idea.status != S.DONE or rng.random() >= ASKED_ABOUT_FIX:
            continue
        people = rng.choice(DISPUTERS)
        asked_at = last_at + timedelta(days=FIX_CHECK_DAYS)
        for n in range(people + (1 if people < 3 else 0)):
            at = asked_at + timedelta(days=rng.uniform(0, 10), hours=n)
            if at >= now:
                break
            voice += 1
            verdict = FixFeedback.Verdict.STILL_THERE if n < people else FixFeedback.Verdict.FIXED
            result = feedback_give(
                idea=idea,
                verdict=verdict,
                source=FixFeedback.Source.FIX_CHECK,
                person_hash=person_hash_of(f"demo-resident-{voice}"),
                ip_hash=person_hash_of(f"demo-network-{voice}"),
                confirmed=True,
                now=at,
            )
            disputes += verdict == FixFeedback.Verdict.STILL_THERE
            if result.reopening is not None:
                reopened += 1
                idea.refresh_from_db()
                again_at = clock.after(at, int(pace), rng)
                if again_at < now:
                    _step(idea, S.DONE, again_at, answer=REOPEN_DONE_AGAIN)
                break
    return DemoHistory(answered=answered, closed=closed, disputes=disputes, reopened=reopened)
