"""Which pins go to which back office: the forwarding queue's rows, written where pins are
routed.

A pin whose team (and category) has a back office gets one BackofficeForward there, written
in the transaction that routes it (mapideas.submission for a new pin, mapideas.workflow when
staff send it to another team). Bulk routing (a boundary change, a file import) does not
write a row per pin inside its own transaction: `forwards_follow` is called after it commits,
in batches, so a re-route of a million pins stays one fast statement. `forwards_reconcile`
(`manage.py sync_backoffice --reconcile`) finds any pin that should be queued and is not,
whatever path routed it: the safety net of "a pin is never lost".

When a pin moves to a team with another back office (or none), its request at the old one is
left there (GeoReport v2 has no call to withdraw a request): that forward becomes LEFT and
is listed for staff, who close it in the old system. A forward never sent is simply removed.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from mapideas.models import BackofficeEndpoint, BackofficeForward, Idea, RoutingEvent
from neighborhoods.compiled_queries import CompiledQuery

State = BackofficeForward.State
BATCH = 1000


def endpoint_of(
    endpoints: Sequence[BackofficeEndpoint], team_id: int, category_id: int, created_at: datetime
) -> BackofficeEndpoint | None:
    """The back office a pin of this team and category goes to: the team's endpoint for the
    category, else the team's general one; None when neither (or the pin is older than the
    endpoint's forward_from). A pin older than its category's endpoint stays with the
    general one (where it was forwarded before the category's was set up)."""
    general = None
    for endpoint in endpoints:
        if endpoint.team_id != team_id or not endpoint.active:
            continue
        if endpoint.category_id == category_id and created_at >= endpoint.forward_from:
            return endpoint
        if endpoint.category_id is None:
            general = endpoint
    if general is not None and created_at >= general.forward_from:
        return general
    return None


def _follow(ideas: Iterable[Idea], endpoints: Sequence[BackofficeEndpoint]) -> int:
    """Bring the forwards of these pins in line with their teams; the number queued."""
    ideas = list(ideas)
    if not ideas:
        return 0
    now = timezone.now()
    current = {
        idea.pk: endpoint_of(endpoints, idea.team_id, idea.category_id, idea.created_at)
        for idea in ideas
    }
    held = {
        (forward.idea_id, forward.endpoint_id): forward
        for forward in BackofficeForward.objects.filter(idea_id__in=list(current))
        .exclude(state=State.LEFT)
        .select_related("endpoint")
    }
    new = []
    for (idea_id, endpoint_id), forward in held.items():
        endpoint = current[idea_id]
        if endpoint is not None and endpoint.pk == endpoint_id:
            continue
        if not forward.endpoint.active:
            continue  # a back office switched off is paused, not left
        # Never sent: nothing to leave behind. Only while it still is so (a worker may have
        # taken it since it was read): one conditional DELETE, the database decides.
        never_sent = BackofficeForward.objects.filter(
            pk=forward.pk, state=State.QUEUED, posted_at__isnull=True
        )
        if not never_sent.delete()[0]:
            # Its lease is kept: a worker still waiting for the remote writes what it learns
            # (the request's id, for staff) onto the LEFT row, and never moves it on.
            BackofficeForward.objects.filter(pk=forward.pk).exclude(state=State.LEFT).update(
                state=State.LEFT, left_at=now
            )
    for idea in ideas:
        endpoint = current[idea.pk]
        if endpoint is not None and (idea.pk, endpoint.pk) not in held:
            new.append(BackofficeForward(endpoint=endpoint, idea=idea, created_at=now))
    # A pin that came back to a back office it had left is queued there again: the unique
    # (endpoint, idea) row is reused.
    returning = {
        (forward.idea_id, forward.endpoint_id): forward
        for forward in BackofficeForward.objects.filter(
            state=State.LEFT,
            idea_id__in=[forward.idea_id for forward in new],
        )
    }
    created = 0
    for forward in new:
        old = returning.get((forward.idea_id, forward.endpoint_id))
        if old is not None:
            created += _return(old, now)
            continue
        BackofficeForward.objects.bulk_create([forward], ignore_conflicts=True)
        created += 1
    return created


def _return(old: BackofficeForward, now: datetime) -> int:
    """A pin back at a back office it had left: taken up where it was, where its request
    may still be; sent afresh when staff closed that request there (its answers are no
    longer the pin's: its closing would close the pin)."""
    back = BackofficeForward.objects.filter(pk=old.pk, state=State.LEFT)
    if old.left_closed_at is not None:
        return back.update(
            state=State.QUEUED, left_at=None, left_closed_at=None, next_attempt_at=now,
            remote_id="", token="", posted_at=None, not_found_at=None, held_reason="",
            remote_status="", remote_notes="", remote_updated_at=None, attempts=0,
            failing_since=None, last_error="",
        )  # fmt: skip
    if old.remote_id:
        state = State.FORWARDED
    elif old.token:
        state = State.TOKEN
    elif old.posted_at is not None:
        state = State.UNCERTAIN
    else:
        state = State.QUEUED
    return back.update(state=state, left_at=None, next_attempt_at=now)


def _endpoints() -> list[BackofficeEndpoint]:
    return list(BackofficeEndpoint.objects.filter(active=True))


# Asked for every new pin (compiled once: most teams have no back office).
_team_endpoints = CompiledQuery(
    lambda team_id: BackofficeEndpoint.objects.filter(active=True, team_id=team_id),
    examples=((-1,), (-2,)),
)


def forward_queue(idea: Idea, *, new: bool = False) -> int:
    """Queue `idea` for its team's back office, in the transaction that routes it, and leave
    its request at a back office it no longer belongs to. For a `new` pin, one query when its
    team has no back office. The number queued (0 or 1)."""
    endpoints = _team_endpoints(idea.team_id)
    if new and not endpoints:
        return 0
    return _follow([idea], endpoints)


def forwards_follow(idea_ids: Iterable[int]) -> int:
    """After bulk routing has committed (a boundary change, an import): bring the forwards of
    these pins in line with their teams, a batch per transaction. The number queued."""
    endpoints = _endpoints()
    if not endpoints and not BackofficeForward.objects.exists():
        return 0
    ids = list(idea_ids)
    queued = 0
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            ideas = Idea.objects.filter(pk__in=ids[start : start + BATCH]).only(
                "id", "team_id", "category_id", "created_at"
            )
            queued += _follow(ideas, endpoints)
    return queued


def forwards_reconcile() -> int:
    """Every pin that should be at a back office and has no forward there, and every forward
    whose pin has moved away: brought in line, in batches. The number queued."""
    endpoints = _endpoints()
    if not endpoints and not BackofficeForward.objects.exists():
        return 0
    queued = 0
    moved = (
        BackofficeForward.objects.exclude(state=State.LEFT)
        .filter(endpoint__active=True)
        .filter(
            ~Q(endpoint__team_id=F("idea__team_id"))
            | (
                Q(endpoint__category_id__isnull=False)
                & ~Q(endpoint__category_id=F("idea__category_id"))
            )
        )
        .values_list("idea_id", flat=True)
    )
    queued += forwards_follow(list(moved))
    for endpoint in endpoints:
        there = BackofficeForward.objects.filter(
            idea_id=OuterRef("pk"), endpoint_id=endpoint.pk
        ).exclude(state=State.LEFT)
        missing = Idea.objects.filter(
            team_id=endpoint.team_id, created_at__gte=endpoint.forward_from
        ).filter(~Exists(there))
        if endpoint.category_id is not None:
            missing = missing.filter(category_id=endpoint.category_id)
        else:
            # Not the pins the team's endpoints for a category take (endpoint_of).
            for other in endpoints:
                if other.team_id == endpoint.team_id and other.category_id is not None:
                    missing = missing.exclude(
                        category_id=other.category_id, created_at__gte=other.forward_from
                    )
        queued += forwards_follow(list(missing.values_list("pk", flat=True)))
    return queued


def forwards_follow_boundaries(version_id: int) -> int:
    """After a boundary change has committed: the pins it sent to another team follow, in
    batches (mapideas.rerouting wrote a RoutingEvent for each). The number queued."""
    if not BackofficeEndpoint.objects.exists():
        return 0
    moved = (
        RoutingEvent.objects.filter(
            boundary_version_id=version_id, cause=RoutingEvent.Cause.BOUNDARY_CHANGE
        )
        .exclude(from_team_id=F("to_team_id"))
        .values_list("idea_id", flat=True)
    )
    return forwards_follow(list(moved))


def contact_erasure_pass_on(idea_ids: Iterable[int]) -> int:
    """A citizen's erasure, passed on: the forwards that sent their contact are listed for
    staff (GeoReport v2 has no call to erase a request's contact). In the erasure's
    transaction. The number listed."""
    return BackofficeForward.objects.filter(
        idea_id__in=list(idea_ids), sent_contact=True, erasure_requested_at__isnull=True
    ).update(erasure_requested_at=timezone.now())
