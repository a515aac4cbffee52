"""Reads of back-office forwarding for the staff pages: the back offices with the state of
their queue, a team's forwards that need someone, a pin's forwards, the export of remote ids;
and who may read and act on them."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from mapideas.backoffice.services import FAILING_AFTER
from mapideas.models import BackofficeEndpoint, BackofficeForward, Idea
from neighborhoods.models import Team
from neighborhoods.roles import can_view_team, is_planner

Forward = BackofficeForward
State = Forward.State
# Not yet at the back office, and moved on by the worker.
WAITING = [State.QUEUED, State.SENDING, State.UNCERTAIN, State.TOKEN]
# Rows a section of a team's list shows at most (the count says how many there are).
SECTION_LIMIT = 100


# --- who -----------------------------------------------------------------------------------------


def may_configure(user: User | AnonymousUser) -> bool:
    """Site staff (User.is_staff): a back office receives the city's pins and, with a
    citizen's consent, their contact."""
    return user.is_authenticated and user.is_staff


def may_see_forwards(user: User | AnonymousUser, team: Team) -> bool:
    """Site staff, and who sees the team's workspace (its members, planners, superusers)."""
    return may_configure(user) or can_view_team(user, team)


def may_act_on_forwards(user: User | AnonymousUser, team: Team) -> bool:
    """Site staff, superusers and the team's members: the actions say what was done on the
    team's back office. Planners read only, as on the workspace."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return team.members.filter(pk=user.pk).exists()


def may_export(user: User | AnonymousUser) -> bool:
    """Planners and administrators (site staff), as the audit log's export."""
    return user.is_authenticated and (user.is_staff or is_planner(user))


def forward_teams(user: User | AnonymousUser) -> QuerySet[Team] | None:
    """The teams with a back office whose forwards this person may see; None when they may
    see no team's (not staff, not a planner, in no team)."""
    if not user.is_authenticated:
        return None
    with_backoffice = Team.objects.filter(
        pk__in=BackofficeEndpoint.objects.values("team_id")
    ).order_by("name")
    if may_configure(user) or is_planner(user):
        return with_backoffice
    if not user.teams.exists():
        return None
    return with_backoffice.filter(members=user)


# --- the back offices ----------------------------------------------------------------------------


@dataclass
class Counts:
    """What an endpoint's (or a team's) queue holds that is not forwarded and done with."""

    queued: int = 0  # waiting to be sent (or checked, or numbered), not failing
    failing: int = 0
    held: int = 0
    left: int = 0  # left behind when their pins moved, not closed there yet
    erasure: int = 0  # a citizen's erasure to pass on by hand

    @property
    def attention(self) -> int:
        return self.queued + self.failing + self.held + self.left + self.erasure


def failing_q(now: datetime) -> Q:
    """A waiting forward that has been failing for longer than FAILING_AFTER. One that
    failed more recently is still waiting (its section shows its last error): a back office
    down for a few minutes is retried without anyone's help."""
    return Q(state__in=WAITING) & Q(failing_since__lt=now - FAILING_AFTER)


def _counts(endpoint_ids: Iterable[int], now: datetime) -> dict[int, Counts]:
    """The counts of each endpoint, in two GROUP BYs: one over the rows not forwarded (the
    state index), one over the erasures not passed on."""
    ids = list(endpoint_ids)
    found = {pk: Counts() for pk in ids}
    failing = failing_q(now)
    rows = (
        Forward.objects.filter(endpoint_id__in=ids, state__in=[*WAITING, State.HELD, State.LEFT])
        .values("endpoint_id")
        .annotate(
            queued=Count("id", filter=Q(state__in=WAITING) & ~failing),
            failing=Count("id", filter=failing),
            held=Count("id", filter=Q(state=State.HELD)),
            left=Count("id", filter=Q(state=State.LEFT, left_closed_at__isnull=True)),
        )
        .order_by()
    )
    for row in rows:
        counts = found[row["endpoint_id"]]
        counts.queued, counts.failing = row["queued"], row["failing"]
        counts.held, counts.left = row["held"], row["left"]
    erasures = (
        _erasure_pending(Forward.objects.filter(endpoint_id__in=ids))
        .values("endpoint_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in erasures:
        found[row["endpoint_id"]].erasure = row["n"]
    return found


def _erasure_pending(forwards: QuerySet[Forward]) -> QuerySet[Forward]:
    return forwards.filter(erasure_requested_at__isnull=False, erasure_done_at__isnull=True)


@dataclass(frozen=True)
class EndpointRow:
    endpoint: BackofficeEndpoint
    counts: Counts


def endpoints() -> list[EndpointRow]:
    """Every back office, by team, with the counts of its queue."""
    rows = list(
        BackofficeEndpoint.objects.select_related("team", "category").order_by("team__name", "id")
    )
    counts = _counts((row.pk for row in rows), timezone.now())
    return [EndpointRow(row, counts[row.pk]) for row in rows]


def endpoint_counts(endpoint: BackofficeEndpoint) -> Counts:
    return _counts([endpoint.pk], timezone.now())[endpoint.pk]


def endpoint(pk: int) -> BackofficeEndpoint | None:
    return BackofficeEndpoint.objects.select_related("team", "category").filter(pk=pk).first()


def team_counts(teams: Iterable[Team]) -> list[tuple[Team, Counts]]:
    """Each team with the counts of its back offices' queues, summed."""
    teams = list(teams)
    by_endpoint = BackofficeEndpoint.objects.filter(team__in=teams).values_list("pk", "team_id")
    endpoint_team = dict(by_endpoint)
    counts = _counts(endpoint_team, timezone.now())
    summed = {team.pk: Counts() for team in teams}
    for endpoint_id, one in counts.items():
        total = summed[endpoint_team[endpoint_id]]
        total.queued += one.queued
        total.failing += one.failing
        total.held += one.held
        total.left += one.left
        total.erasure += one.erasure
    return [(team, summed[team.pk]) for team in teams]


# --- a team's forwards that need someone ---------------------------------------------------


@dataclass(frozen=True)
class Section:
    rows: list[BackofficeForward]
    count: int  # all the rows of the section (rows holds at most SECTION_LIMIT)

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


@dataclass(frozen=True)
class Attention:
    failing: Section
    held: Section
    pending: Section
    left: Section
    erasure: Section
    endpoints: list[BackofficeEndpoint] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(
            s.count for s in (self.failing, self.held, self.pending, self.left, self.erasure)
        )


def _section(rows: QuerySet[Forward], order: str) -> Section:
    return Section(rows=list(rows.order_by(order, "id")[:SECTION_LIMIT]), count=rows.count())


def team_attention(team: Team, *, now: datetime | None = None) -> Attention:
    """The team's forwards that need someone, by why: failing (FAILING_AFTER, or an error),
    held for staff to check, waiting, left behind at a back office when their pins moved,
    and citizens' erasures to pass on by hand. Oldest first."""
    now = now or timezone.now()
    forwards = Forward.objects.filter(endpoint__team=team).select_related("endpoint", "idea")
    failing = failing_q(now)
    return Attention(
        failing=_section(forwards.filter(failing), "failing_since"),
        held=_section(forwards.filter(state=State.HELD), "last_attempt_at"),
        pending=_section(forwards.filter(Q(state__in=WAITING) & ~failing), "created_at"),
        left=_section(forwards.filter(state=State.LEFT, left_closed_at__isnull=True), "left_at"),
        erasure=_section(_erasure_pending(forwards), "erasure_requested_at"),
        endpoints=list(BackofficeEndpoint.objects.filter(team=team).order_by("id")),
    )


def forward(pk: int) -> BackofficeForward | None:
    return (
        Forward.objects.select_related("endpoint", "endpoint__team", "idea").filter(pk=pk).first()
    )


# --- a pin's forwards, and the export ----------------------------------------------------------


def idea_forwards(idea: Idea) -> list[BackofficeForward]:
    """Where the pin was forwarded (and where it was left behind), first forward first."""
    return list(Forward.objects.filter(idea=idea).select_related("endpoint").order_by("id"))


def forwards_export() -> QuerySet[BackofficeForward]:
    """Every forward with what the export needs of its back office and team; nothing of
    the pin but its number."""
    return (
        Forward.objects.select_related("endpoint", "endpoint__team")
        .only(
            "id",
            "idea_id",
            "state",
            "service_code",
            "remote_id",
            "last_exchange_at",
            "last_error",
            "endpoint__name",
            "endpoint__team__slug",
        )
        .order_by("id")
    )
