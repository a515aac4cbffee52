"""Reads of the district teams' workflow: queues, notes, members, response times."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from mapideas.map.viewport_counts import CountFilters, public_pin_total
from mapideas.models import (
    ID_MAX,
    NOT_PUBLIC_PINS,
    Category,
    Idea,
    IdeaNote,
    Reopening,
)
from mapideas.outcomes.selectors import disputed_ideas
from mapideas.pins.selectors import all_ideas, public_ideas
from mapideas.plumbing.days import first_instant, first_instant_after
from mapideas.plumbing.kept_reads import kept_read
from neighborhoods import calendars
from neighborhoods.compiled_queries import CompiledQuery
from neighborhoods.models import Team


def merge_original(*, pk: int) -> Idea | None:
    """Pin `pk` as the original another pin may be merged into, else None: a public pin only.
    The merge quotes the original's title in the duplicate's public answer and sends its
    supporters and followers there, so a pin the public cannot see (hidden by moderation,
    awaiting its author's confirmation), even the team's own, is no original; and one the
    team may not see at all must answer as a pin that does not exist. An id no primary key
    can hold names no pin (SQLite cannot even compare it)."""
    if not 0 < pk <= ID_MAX:
        return None
    return public_ideas().filter(pk=pk).first()


def team_ideas(*, team: Team) -> QuerySet[Idea]:
    """The pins routed to a team, awaiting ones included: the team sees a pin at once."""
    return all_ideas().filter(team=team)


def team_also_in_area_ideas(*, team: Team) -> QuerySet[Idea]:
    """Open pins owned by another team that lie in `team`'s area too (overlapping polygons)."""
    return all_ideas().filter(also_in_teams=team, status__in=Idea.OPEN_STATUSES).exclude(team=team)


def idea_duplicates(*, idea: Idea) -> list[Idea]:
    """The pins merged into this one (public: their pages point here), oldest first, with
    their number and title (what the pin's page lists).

    Sorted here, not by the database: asked to sort, SQLite walks the whole newest-first
    index rather than sort the few rows the `duplicate_of` index finds (160 ms at 100k pins,
    its statistics count every pin without a duplicate as one value)."""
    found = _duplicates_of(idea.pk, using=Idea.objects.db_manager().db)
    return sorted(found, key=lambda pin: (pin.created_at, pin.pk))


# Read on every pin page, compiled to SQL once per database (neighborhoods.compiled_queries):
# compiling it cost more than running it.
_duplicates_of = CompiledQuery(
    lambda idea_id: (
        public_ideas()
        .filter(duplicate_of_id=idea_id)
        .select_related(None)
        .only("id", "title", "created_at")
        .order_by()
    ),
    ((1,), (2,)),
)


def idea_notes(*, idea: Idea) -> QuerySet[IdeaNote]:
    """Internal notes and assignments, oldest first: staff only (roles.can_see_internal)."""
    return idea.notes.select_related("author", "assignee").order_by("created_at", "id")


def team_members(*, team: Team):
    return team.members.order_by("username")


def overdue_q(*, now: datetime | None = None) -> Q:
    """Pins still waiting for their first answer past their team's response target.

    No first answer (no status change away from "new", no public answer) and more than the
    target's working days since the day it was pinned, in its team's calendar (its week and
    holidays, local dates: neighborhoods.calendars): a pin pinned on Friday with a target of
    1 is overdue from Tuesday 00:00 (Friday and Monday have passed). One cutoff day per team,
    teams with the same cutoff in one clause, so it works across teams (the "also in your
    area" pins).
    """
    now = now or timezone.now()
    today = calendars.local_date(now)
    team_calendars = calendars.team_calendars()
    teams_by_cutoff: dict[date, list[int]] = {}
    for team_id, target in Team.objects.order_by().values_list("id", "response_target_days"):
        cutoff = team_calendars[team_id].overdue_before(today, target)
        teams_by_cutoff.setdefault(cutoff, []).append(team_id)
    late = Q(pk__in=[])
    for cutoff, team_ids in sorted(teams_by_cutoff.items()):
        late |= Q(team_id__in=team_ids, created_at__lt=calendars.local_midnight(cutoff))
    return Q(status=Idea.Status.NEW, first_response_at__isnull=True) & late


class QueueSort(models.TextChoices):
    NEWEST = "newest", "Newest first"
    OLDEST = "oldest", "Oldest first"


@dataclass(frozen=True)
class QueueFilters:
    """What a team's queue is narrowed to (forms.QueueFilterForm makes one from the query)."""

    status: str = ""
    category: Category | None = None
    kind: str = ""
    neighborhood: str = ""  # a slug: pins routed by earlier boundary versions match too
    created_after: date | None = None
    created_before: date | None = None
    overdue: bool = False
    # Closed pins with residents' disputes waiting for the team (mapideas.outcomes); pins
    # reopened after being closed.
    disputed: bool = False
    reopened: bool = False
    q: str = ""
    # A member by number (their user id: usernames may be email addresses, and the queue's
    # filters travel in URLs), or "none" for unassigned.
    assignee: str = ""
    sort: str = QueueSort.NEWEST


def _filtered(ideas: QuerySet[Idea], filters: QueueFilters, now: datetime) -> QuerySet[Idea]:
    if filters.status:
        ideas = ideas.filter(status=filters.status)
    if filters.category is not None:
        ideas = ideas.filter(category=filters.category)
    if filters.kind:
        ideas = ideas.filter(kind=filters.kind)
    if filters.neighborhood:
        ideas = ideas.filter(neighborhood__slug=filters.neighborhood)
    # Whole days in TIME_ZONE, both included, as the API's created_after/created_before.
    # A bound past the calendar's ends is open (mapideas.plumbing.days): every pin is within.
    start = first_instant(filters.created_after) if filters.created_after else None
    if start is not None:
        ideas = ideas.filter(created_at__gte=start)
    end = first_instant_after(filters.created_before) if filters.created_before else None
    if end is not None:
        ideas = ideas.filter(created_at__lt=end)
    if filters.overdue:
        ideas = ideas.filter(overdue_q(now=now))
    if filters.disputed:
        ideas = disputed_ideas(ideas)
    if filters.reopened:
        ideas = ideas.filter(reopen_count__gt=0)
    if filters.q:
        # icontains: LIKE on SpatiaLite (case-insensitive for ASCII), UPPER() LIKE on PostGIS.
        ideas = ideas.filter(Q(title__icontains=filters.q) | Q(description__icontains=filters.q))
    if filters.assignee == "none":
        ideas = ideas.filter(assignee__isnull=True)
    elif filters.assignee:
        ideas = ideas.filter(assignee_id=int(filters.assignee))
    ordering = ("created_at", "id") if filters.sort == QueueSort.OLDEST else ("-created_at", "-id")
    return ideas.order_by(*ordering)


def _with_queue_fields(ideas: QuerySet[Idea], now: datetime) -> QuerySet[Idea]:
    return ideas.select_related("assignee").annotate(
        is_overdue=Case(
            When(overdue_q(now=now), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def team_queue(
    *, team: Team, filters: QueueFilters | None = None, now: datetime | None = None
) -> QuerySet[Idea]:
    """A team's pins, filtered and sorted for its workspace, each with `is_overdue`.

    The workspace's list and map are both drawn from this queryset, so they show one set.
    """
    now = now or timezone.now()
    ideas = _filtered(team_ideas(team=team), filters or QueueFilters(), now)
    return _with_queue_fields(ideas, now)


def team_queue_total(*, team: Team, filters: QueueFilters | None = None) -> int | None:
    """How many pins `team_queue` holds with `filters`, exactly, without counting them: its
    public pins from the counts kept on write (mapideas.map.viewport_counts, per team, status,
    category, kind and neighborhood), plus its pins that are not public, which those leave
    out (a few, through their own partial index). None when a filter is one the kept counts
    cannot answer (dates, overdue, disputed, reopened, a search, an assignee): the caller
    counts the pins.

    Counting a large team's queue read every one of its pins (120 ms for 177,000 at 1M pins
    on PostGIS, on every page of its workspace)."""
    filters = filters or QueueFilters()
    if (
        filters.created_after
        or filters.created_before
        or filters.overdue
        or filters.disputed
        or filters.reopened
        or filters.q
        or filters.assignee
    ):
        return None
    ideas = team_ideas(team=team)
    public = public_pin_total(
        using=ideas.db,
        filters=CountFilters(
            category_id=filters.category.pk if filters.category is not None else None,
            status=filters.status or None,
            kind=filters.kind or None,
            team_id=team.pk,
            neighborhood_slug=filters.neighborhood or None,
        ),
    )
    not_public = _filtered(ideas.filter(NOT_PUBLIC_PINS), filters, timezone.now())
    return public + not_public.order_by().count()


def team_also_in_area_queue(
    *, team: Team, filters: QueueFilters | None = None, now: datetime | None = None
) -> QuerySet[Idea]:
    """The open pins another team owns in this team's area, with the same filters."""
    now = now or timezone.now()
    ideas = _filtered(team_also_in_area_ideas(team=team), filters or QueueFilters(), now)
    return _with_queue_fields(ideas, now)


@dataclass(frozen=True)
class ResponseStats:
    """How a team keeps its response-time commitment over a period."""

    days: int  # the period: pins pinned in the last `days` days
    target_days: int
    pinned: int  # pins of the period
    answered: int  # ... with a first answer
    # Pins answered within the target, over those whose outcome is known (answered, or
    # waiting past the target); None when there are none yet.
    within_target: int
    decided: int
    median: timedelta | None  # pinned to first answer (calendar time), answered pins only
    # Reopenings of the team's pins in the period (models.Reopening), each timed from the
    # reopening to the team's next public step: beside the first answers, never over them.
    reopened: int = 0
    reopenings_answered: int = 0
    reopening_median: timedelta | None = None

    @property
    def share_within_target(self) -> float | None:
        return self.within_target / self.decided if self.decided else None


def team_response_stats(
    *, team: Team, now: datetime | None = None, days: int = 90
) -> ResponseStats:
    """Median time to first answer and share answered within target, for the pins routed to
    the team that were pinned in the last `days` days. A pin still waiting but not yet past
    its target counts in neither share nor median: its outcome is not known yet.

    Within target: at most the target's working days from the day pinned to the day
    answered, in the team's calendar (neighborhoods.calendars: its week and holidays, local
    dates), as the service-equity layers count them.

    Counted by the database: the pins grouped by their local day pinned and day answered (a
    few hundred groups), and the median wait read as the middle one or two of the waits in
    order. Reading a row per pin cost 1.7 s for a team of a 1M-pin city, most of it making
    datetimes of the rows.
    """
    now = now or timezone.now()
    pins = Idea.objects.filter(
        team=team, created_at__gte=now - timedelta(days=days), created_at__lte=now
    ).order_by()
    zone = ZoneInfo(settings.TIME_ZONE)  # the calendars' zone (calendars.local_dates)
    groups = list(
        pins.annotate(
            pinned_on=TruncDate("created_at", tzinfo=zone),
            answered_on=TruncDate("first_response_at", tzinfo=zone),
        )
        .values_list("pinned_on", "answered_on")
        .annotate(n=Count("*"))
    )
    target = team.response_target_days
    calendar = calendars.team_calendar(team)
    today = calendars.local_dates([now])[0]
    pinned_on = np.array([g[0] for g in groups], dtype="datetime64[D]")
    answered_on = np.array(
        [np.datetime64("NaT") if g[1] is None else g[1] for g in groups], dtype="datetime64[D]"
    )
    counts = np.array([g[2] for g in groups], dtype=np.int64)
    answered = ~np.isnat(answered_on)
    # Working days to the answer, or so far for a pin still waiting.
    taken = np.asarray(
        calendar.working_days(pinned_on, np.where(answered, answered_on, today)), dtype=np.int64
    )
    within = int(counts[answered & (taken <= target)].sum())
    late_waiting = int(counts[~answered & (taken > target)].sum())
    answered_count = int(counts[answered].sum())
    reopenings = list(
        Reopening.objects.filter(
            idea__team=team, created_at__gte=now - timedelta(days=days), created_at__lte=now
        )
        .order_by()
        .values_list("created_at", "first_response_at")
    )
    reopening_waits = sorted(
        answered - reopened for reopened, answered in reopenings if answered is not None
    )
    return ResponseStats(
        days=days,
        target_days=target,
        pinned=int(counts.sum()),
        answered=answered_count,
        within_target=within,
        decided=answered_count + late_waiting,
        median=_median_wait(pins, answered_count),
        reopened=len(reopenings),
        reopenings_answered=len(reopening_waits),
        reopening_median=_median(reopening_waits),
    )


def team_response_stats_kept(*, team: Team, days: int = 90) -> ResponseStats:
    """team_response_stats as of at most TEAM_STATS_CACHE_SECONDS ago, from the answer cache:
    the workspace's figures over 90 days, which a team's queue pages would otherwise count
    again for every page (on SQLite, 170 ms for a team of a 100,000-pin city). Keyed by
    what changes the figures' meaning (the team, its target, the period), so a new target is
    counted at once; new answers show within the window (docs/decisions, stale reads).
    Evicted, they are counted again, by one request while the others wait for it
    (mapideas.plumbing.kept_reads): nothing depends on their being kept."""
    return kept_read(
        f"team-response-stats:{team.pk}:{team.response_target_days}:{days}",
        settings.TEAM_STATS_CACHE_SECONDS,
        lambda: team_response_stats(team=team, days=days),
        load=lambda kept: kept if isinstance(kept, ResponseStats) else None,
    )


def _median_wait(pins: QuerySet[Idea], answered: int) -> timedelta | None:
    """The median of the answered pins' waits (pinned to first answer): the middle one, or
    the mean of the middle two, of the waits in order, sorted by the database."""
    if not answered:
        return None
    waits = (
        pins.filter(first_response_at__isnull=False)
        .annotate(
            wait=ExpressionWrapper(
                F("first_response_at") - F("created_at"), output_field=DurationField()
            )
        )
        .order_by("wait")
        .values_list("wait", flat=True)
    )
    middle = answered // 2
    if answered % 2:
        return waits[middle]
    low, high = waits[middle - 1 : middle + 1]
    return (low + high) / 2


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2
