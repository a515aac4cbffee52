"""Reads for ideas: the public querysets every page, API and export starts from."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from mapideas import workflow
from mapideas.models import (
    PUBLIC_PINS,
    Category,
    Comment,
    Follower,
    Idea,
    IdeaNote,
    IdeaPhoto,
    IdeaUpdate,
    Open311Client,
    RoutingEvent,
    Support,
)
from mapideas.roles import can_see_internal
from mapideas.viewport_counts import neighborhood_pin_count
from neighborhoods.models import Neighborhood, Team
from neighborhoods.routing import NearbyNeighborhood, Route, nearest_other_neighborhood, route
from neighborhoods.selectors import active_neighborhoods


def all_ideas() -> QuerySet[Idea]:
    """Every pin, those awaiting their author's email confirmation included, with what their
    fields need, newest first: for the teams and staff (queues, workspaces, a pin's page seen
    by its staff). Anything the public sees starts from `public_ideas()` instead.

    The neighborhood comes along for its name and slug, not its polygon: loading a polygon per
    pin made a page of pins ~80x slower on SpatiaLite. A page that needs it loads it once.
    """
    return (
        Idea.objects.select_related("category", "neighborhood", "team")
        .defer("neighborhood__geometry")
        .order_by("-created_at", "-id")
    )


def public_ideas() -> QuerySet[Idea]:
    """Pins anyone may see: every public page, list, API, export, OGC and Open311 answer and
    the planner's layers start here. A pin sent with an email address stays out until the
    link sent to that address is followed (services.idea_confirm), as FixMyStreet does. A
    pin hidden by moderation (enough flags, or removed by staff: mapideas.moderation) stays
    out until staff keep it.

    The photo's row comes along (a join, not a query per pin) for the Features' `photo_url`."""
    return all_ideas().filter(PUBLIC_PINS).select_related("photo")


def idea_photo(*, idea: Idea) -> IdeaPhoto | None:
    """The pin's photo if it has one that moderators have not hidden. Whether the pin itself
    may be seen is the caller's check (views._post_target)."""
    return IdeaPhoto.objects.filter(idea=idea, hidden_at__isnull=True).first()


def visible_idea(*, user, pk: int) -> Idea | None:
    """Pin `pk` as this person may see it, or None: public pins for anyone; a pin awaiting its
    author's email confirmation, or hidden by moderation, only for the staff who read its
    team's work (everyone else is told no such pin exists, never its content)."""
    idea = all_ideas().filter(pk=pk).first()
    if idea is None:
        return None
    if not idea.is_public and not can_see_internal(user, idea):
        return None
    return idea


def team_ideas(*, team: Team) -> QuerySet[Idea]:
    """The pins routed to a team, awaiting ones included: the team sees a pin at once."""
    return all_ideas().filter(team=team)


def team_also_in_area_ideas(*, team: Team) -> QuerySet[Idea]:
    """Open pins owned by another team that lie in `team`'s area too (overlapping polygons)."""
    return all_ideas().filter(also_in_teams=team, status__in=Idea.OPEN_STATUSES).exclude(team=team)


def categories() -> QuerySet[Category]:
    return Category.objects.all()


def neighborhoods_with_counts() -> QuerySet[Neighborhood]:
    """Neighborhoods with their team and the number of public pins routed to them.

    Public pins only: the count is public (the API), and must not betray a pin awaiting its
    author's confirmation. Read from the counts kept on write (mapideas.viewport_counts),
    in a subquery: grouping by every column would drag the polygons through the sort.
    """
    return (
        active_neighborhoods()
        .select_related("team")
        .annotate(idea_count=neighborhood_pin_count())
        .order_by("name")
    )


def routing_history(*, idea: Idea) -> QuerySet[RoutingEvent]:
    """Where the pin was routed and every move since, oldest first (for its public page)."""
    return idea.routing_events.select_related(
        "from_neighborhood", "to_neighborhood", "from_team", "to_team"
    ).order_by("created_at", "id")


@dataclass(frozen=True)
class RoutePreview:
    """Where a pin would go, and the neighborhood just over the border when there is one."""

    route: Route
    nearby: NearbyNeighborhood | None

    @property
    def near_border(self) -> bool:
        return self.nearby is not None


def route_preview(*, location: Point, category: Category | None = None) -> RoutePreview | None:
    """What idea_create would decide for a pin here, without writing anything.

    None when the point is outside the service area (idea_create would refuse it).
    """
    routed = route(location, category.slug if category is not None else None)
    if routed is None:
        return None
    hint_m = settings.MAPIDEAS_BORDER_HINT_M
    nearby = (
        nearest_other_neighborhood(location, routed.neighborhood, within_m=hint_m)
        if hint_m > 0
        else None
    )
    return RoutePreview(route=routed, nearby=nearby)


# --- The district teams' workflow ---------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a pin's public timeline: a routing event or a status change / answer."""

    created_at: datetime
    routing: RoutingEvent | None = None
    update: IdeaUpdate | None = None


def idea_timeline(*, idea: Idea) -> list[TimelineEntry]:
    """The pin's public history, oldest first: where it was routed and every move, merged
    in time with the teams' status changes and answers. Nothing internal (notes, who did it,
    who it is assigned to)."""
    updates = idea.updates.select_related("team", "duplicate_of").order_by("created_at", "id")
    entries = [TimelineEntry(e.created_at, routing=e) for e in routing_history(idea=idea)]
    entries += [TimelineEntry(u.created_at, update=u) for u in updates]
    # Stable: at the same instant, routing (the pin arriving) comes before the answer.
    return sorted(entries, key=lambda entry: entry.created_at)


def idea_duplicates(*, idea: Idea) -> QuerySet[Idea]:
    """The pins merged into this one (public: their pages point here), oldest first."""
    return public_ideas().filter(duplicate_of=idea).order_by("created_at", "id")


def idea_notes(*, idea: Idea) -> QuerySet[IdeaNote]:
    """Internal notes and assignments, oldest first: staff only (roles.can_see_internal)."""
    return idea.notes.select_related("author", "assignee").order_by("created_at", "id")


def team_members(*, team: Team):
    return team.members.order_by("username")


def overdue_q(*, now: datetime | None = None) -> Q:
    """Pins still waiting for their first answer past their team's response target.

    No first answer (no status change away from "new", no public answer) and pinned more
    than the target's working days ago (mapideas.workflow: Mon-Fri, in TIME_ZONE). One
    cutoff per distinct target, so it works across teams (the "also in your area" pins).
    """
    now = now or timezone.now()
    targets = sorted(set(Team.objects.values_list("response_target_days", flat=True)))
    late = Q(pk__in=[])
    for days in targets:
        cutoff = workflow.working_days_before(now, days)
        late |= Q(team__response_target_days=days, created_at__lt=cutoff)
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
    q: str = ""
    assignee: str = ""  # a username, or "none" for unassigned
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
    if filters.created_after:
        start = timezone.make_aware(datetime.combine(filters.created_after, time.min))
        ideas = ideas.filter(created_at__gte=start)
    if filters.created_before:
        end = timezone.make_aware(
            datetime.combine(filters.created_before + timedelta(days=1), time.min)
        )
        ideas = ideas.filter(created_at__lt=end)
    if filters.overdue:
        ideas = ideas.filter(overdue_q(now=now))
    if filters.q:
        # icontains: LIKE on SpatiaLite (case-insensitive for ASCII), UPPER() LIKE on PostGIS.
        ideas = ideas.filter(Q(title__icontains=filters.q) | Q(description__icontains=filters.q))
    if filters.assignee == "none":
        ideas = ideas.filter(assignee__isnull=True)
    elif filters.assignee:
        ideas = ideas.filter(assignee__username=filters.assignee)
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

    @property
    def share_within_target(self) -> float | None:
        return self.within_target / self.decided if self.decided else None


def team_response_stats(
    *, team: Team, now: datetime | None = None, days: int = 90
) -> ResponseStats:
    """Median time to first answer and share answered within target, for the pins routed to
    the team that were pinned in the last `days` days. A pin still waiting but not yet past
    its target counts in neither share nor median: its outcome is not known yet.

    Computed in Python over one column pair: a team's 90 days are thousands of pins at most,
    and working days (mapideas.workflow) are simpler to get right here than in two SQLs.
    """
    now = now or timezone.now()
    rows = list(
        Idea.objects.filter(
            team=team, created_at__gte=now - timedelta(days=days), created_at__lte=now
        )
        .order_by()
        .values_list("created_at", "first_response_at")
    )
    target = team.response_target_days
    cutoff = workflow.working_days_before(now, target)
    waits = sorted(answered - created for created, answered in rows if answered is not None)
    within = sum(
        1
        for created, answered in rows
        if answered is not None and workflow.within_target(created, answered, target)
    )
    late_waiting = sum(1 for created, answered in rows if answered is None and created < cutoff)
    return ResponseStats(
        days=days,
        target_days=target,
        pinned=len(rows),
        answered=len(waits),
        within_target=within,
        decided=len(waits) + late_waiting,
        median=_median(waits),
    )


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


# --- Citizens follow what happens ---------------------------------------------------------


def idea_comments(*, idea: Idea) -> QuerySet[Comment]:
    """The pin's comments, oldest first, hidden ones included (the page shows their reason
    in their place). Their authors are not loaded: the page never names them."""
    return idea.comments.select_related("team").order_by("created_at", "id")


def idea_supported(*, idea: Idea, user, token_hash: str = "") -> bool:
    """Whether this person (or this browser's anonymous token) supports the pin."""
    if user.is_authenticated:
        return Support.objects.filter(idea=idea, user=user).exists()
    if token_hash:
        return Support.objects.filter(idea=idea, token_hash=token_hash).exists()
    return False


def idea_followed(*, idea: Idea, user) -> bool:
    return user.is_authenticated and Follower.objects.filter(idea=idea, user=user).exists()


# --- Open311 GeoReport v2 -----------------------------------------------------------------


def open311_client_by_key(key: str) -> Open311Client | None:
    """The client a key was issued to, revoked or not (the caller says which), or None."""
    return Open311Client.objects.filter(key_hash=Open311Client.hash_key(key)).first()


def open311_requests(
    *,
    ids: Collection[int] | None = None,
    service_codes: Collection[str] | None = None,
    statuses: Collection[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Idea]:
    """Pins as Open311 service requests, newest first. `ids`, when given, overrides the rest
    (as the spec says); `statuses` are Open311's "open" and "closed"."""
    ideas = public_ideas()
    if ids is not None:
        return ideas.filter(pk__in=ids)
    if service_codes:
        ideas = ideas.filter(category__slug__in=service_codes)
    if statuses and set(statuses) != {"open", "closed"}:
        if "open" in statuses:
            ideas = ideas.filter(status__in=Idea.OPEN_STATUSES)
        else:
            ideas = ideas.exclude(status__in=Idea.OPEN_STATUSES)
    if start is not None:
        ideas = ideas.filter(created_at__gte=start)
    if end is not None:
        ideas = ideas.filter(created_at__lte=end)
    return ideas
