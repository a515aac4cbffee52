"""Reads of "Is it really fixed?": who a person is, the disputes that count, the team's
check queue and what a pin's page shows."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, QuerySet

from mapideas.models import FixFeedback, Idea, TimelinePhoto, VerifiedAddress
from mapideas.plumbing.hashing import keyed_hash
from mapideas.workflow import statuses as workflow
from neighborhoods.models import Team

V = FixFeedback.Verdict
D = FixFeedback.Decision


def person_hash_of(address: str) -> str:
    """The person an email address is, as kept with their verdicts (FixFeedback.person_hash)
    and "Is it fixed?" questions (FixCheck.person_hash): a keyed hash of the address trimmed
    and case-folded, never the address."""
    return keyed_hash("person", (address or "").strip().casefold())


def has_verified_address(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """True if `user` is signed in with an address proved by its sign-up link, and still
    has that address (models.VerifiedAddress)."""
    if user is None or not user.is_authenticated:
        return False
    email = getattr(user, "email", "") or ""
    return bool(email) and VerifiedAddress.objects.filter(user_id=user.pk, email=email).exists()


def counted_disputes(idea: Idea, *, closed_at: datetime) -> QuerySet[FixFeedback]:
    """The disputes of one closure of the pin that count: confirmed, not dismissed."""
    return FixFeedback.objects.filter(
        idea=idea, closed_at=closed_at, verdict=V.STILL_THERE, confirmed_at__isnull=False
    ).exclude(decision=D.DISMISSED)


def distinct_voices(pairs: Iterable[tuple[str, str]]) -> int:
    """How many people (ip_hash, person_hash) pairs of disputes are: the disputes from one
    network (ip_hash) count once, those without one count by person."""
    return len({f"ip:{ip}" if ip else f"person:{person}" for ip, person in pairs})


def disputing_people(idea: Idea, *, now: datetime, window_days: int) -> int:
    """How many distinct people dispute the pin's current closure within the last
    `window_days`: the disputes from one network (ip_hash) count once, those without one
    count by person."""
    if idea.closed_at is None:
        return 0
    rows = (
        counted_disputes(idea, closed_at=idea.closed_at)
        .filter(created_at__gte=now - timedelta(days=window_days))
        .values_list("ip_hash", "person_hash")
    )
    return distinct_voices(rows)


# --- the team's check queue -----------------------------------------------------------------


def pending_disputes() -> QuerySet[FixFeedback]:
    """Confirmed disputes of their pin's current closure waiting for the team's decision."""
    return FixFeedback.objects.filter(
        verdict=V.STILL_THERE,
        confirmed_at__isnull=False,
        decision=D.PENDING,
        closed_at=F("idea__closed_at"),
    )


def disputed_ideas(ideas: QuerySet[Idea]) -> QuerySet[Idea]:
    """Of `ideas`, the closed ones with disputes waiting for their team's decision."""
    return ideas.filter(status__in=workflow.CLOSED, pk__in=pending_disputes().values("idea_id"))


@dataclass(frozen=True)
class QueueItem:
    """One pin of a team's check queue: its pending disputes (oldest first), how many
    people (one per network) they are, and since when."""

    idea: Idea
    disputes: list[FixFeedback]
    people: int
    since: datetime


def check_queue(team: Team) -> list[QueueItem]:
    """The team's closed pins with pending confirmed disputes, the longest waiting first."""
    ideas = disputed_ideas(Idea.objects.filter(team=team)).select_related("category")
    by_idea: dict[int, list[FixFeedback]] = {}
    disputes = (
        pending_disputes()
        .filter(idea__in=ideas)
        .prefetch_related("photos")
        .order_by("created_at", "id")
    )
    for dispute in disputes:
        by_idea.setdefault(dispute.idea_id, []).append(dispute)
    items = [
        QueueItem(
            idea=idea,
            disputes=by_idea[idea.pk],
            people=distinct_voices((d.ip_hash, d.person_hash) for d in by_idea[idea.pk]),
            since=by_idea[idea.pk][0].created_at,
        )
        for idea in ideas
        if idea.pk in by_idea
    ]
    return sorted(items, key=lambda item: (item.since, item.idea.pk))


def pending_check_count(team: Team) -> int:
    """How many of the team's pins wait in its check queue."""
    return disputed_ideas(Idea.objects.filter(team=team)).count()


def dispute_photo(*, pk: int) -> TimelinePhoto | None:
    """A dispute's photo (not hidden by moderators), with its pin for the caller's check."""
    return (
        TimelinePhoto.objects.select_related("idea", "feedback")
        .filter(pk=pk, role=TimelinePhoto.Role.DISPUTE, hidden_at__isnull=True)
        .first()
    )


def given_verdict(idea: Idea, *, person_hash: str) -> FixFeedback | None:
    """The verdict this person gave on the pin's current closure, if any."""
    if idea.closed_at is None:
        return None
    return FixFeedback.objects.filter(
        idea=idea, closed_at=idea.closed_at, person_hash=person_hash
    ).first()
