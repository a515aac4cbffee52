"""Writes of "Is it really fixed?": residents confirm or dispute a closed pin, the team
decides on the disputes, and enough disputes reopen the pin without staff.

One verdict per person per closure of a pin. A person is a verified email address, kept as
a keyed hash (`person_hash_of`): the address of an account that completed its sign-up link
(models.VerifiedAddress), an address that followed the confirmation link emailed to it, or
the address an "Is it fixed?" email reached (the caller vouches with `confirmed=True` and
the FixCheck's hash). Feedback awaiting its link is neither counted nor shown to the team.

Reopening by residents: after each confirmed dispute, the distinct people disputing the
current closure within the team's window are counted, one per network (`ip_hash`: several
accounts from one address count once), and at the team's threshold the pin goes back to
work through the workflow (workflow.services._record_update, a Reopening caused by the
disputes, a public answer in the pin's language), its followers and its team are emailed.
"""

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from mapideas.models import (
    ANSWER_MAX_LENGTH,
    FEEDBACK_NOTE_MAX_LENGTH,
    FixFeedback,
    Follower,
    Idea,
    IdeaUpdate,
    Reopening,
    TimelinePhoto,
)
from mapideas.notifications.services import CONFIRM_MAX_AGE
from mapideas.outcomes import emails
from mapideas.outcomes.links import feedback_from_confirm_token
from mapideas.outcomes.selectors import (
    counted_disputes,
    disputing_people,
    has_verified_address,
    person_hash_of,
)
from mapideas.participation.services import clean_email
from mapideas.pins.photos import ProcessedPhoto, photo_delete, photo_process, photo_save
from mapideas.pins.roles import can_work_on
from mapideas.pins.services import _clean_text, _locked, _person
from mapideas.plumbing.ratelimit import SUBMISSIONS, RateLimited
from mapideas.plumbing.stored_text import stored_text
from mapideas.workflow import services as workflow_services
from mapideas.workflow import statuses as workflow

__all__ = [
    "FeedbackResult",
    "Outcome",
    "feedback_confirm",
    "feedback_give",
    "person_hash_of",
]

V = FixFeedback.Verdict
D = FixFeedback.Decision

NOT_PUBLIC_MESSAGE = gettext_lazy("No such pin.")
NOT_CLOSED_MESSAGE = gettext_lazy(
    "This pin is not closed: residents confirm or dispute a pin once its team has marked it "
    "done or declined."
)
FIXED_ONLY_WHEN_DONE_MESSAGE = gettext_lazy(
    "Only a pin marked done can be confirmed fixed; say whether the problem is still there."
)
VERDICT_MESSAGE = gettext_lazy("Choose “fixed” or “still there”.")
PHOTO_ONLY_WITH_DISPUTE_MESSAGE = gettext_lazy(
    "A photo goes with “still there”: it shows the team what is left."
)
EMAIL_NEEDED_MESSAGE = gettext_lazy(
    "Give your email address (we send a link to confirm it), or sign in."
)
SOURCE_MESSAGE = gettext_lazy("Unknown source of feedback.")

# What the pin's public answer says when residents' disputes reopen it (in its language).
REOPENED_ANSWER = gettext_lazy(
    "Reopened: %(count)s residents reported that the problem is still there. The team will "
    "look at it again."
)

DECIDE_FORBIDDEN = gettext_lazy(
    "Only members of the pin's team and administrators decide on its disputes; planners read only."
)
DECIDED_MESSAGE = gettext_lazy("These reports were already decided.")
NO_PENDING_MESSAGE = gettext_lazy("This pin has no report waiting for a decision.")
REASON_REQUIRED_MESSAGE = gettext_lazy(
    "Tell the residents why the pin stays closed: a public answer is required."
)


class Outcome(enum.StrEnum):
    # Counted now (a signed-in verified person, an "Is it fixed?" answer, a followed link).
    RECORDED = "recorded"
    # This person already gave their verdict on this closure: nothing counted twice.
    ALREADY_GIVEN = "already_given"
    # Stored, not counted: a link was emailed to the address (or was recently).
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    # Counted, and it was the dispute that reopened the pin.
    REOPENED = "reopened"


OUTCOME_MESSAGES = {
    Outcome.RECORDED: gettext_lazy("Thank you: your answer is counted."),
    Outcome.ALREADY_GIVEN: gettext_lazy(
        "You already answered about this pin since it was closed: your first answer counts, once."
    ),
    Outcome.AWAITING_CONFIRMATION: gettext_lazy(
        "Almost done: open the link we sent to your email address to confirm your answer."
    ),
    Outcome.REOPENED: gettext_lazy(
        "Thank you: with your answer, enough residents say the problem is still there, and the "
        "pin is reopened."
    ),
}


@dataclass(frozen=True)
class FeedbackResult:
    """What feedback_give (or a followed link) did: the `outcome`, the row (for a repeat,
    the earlier one), and the Reopening when this feedback reopened the pin."""

    outcome: Outcome
    feedback: FixFeedback
    reopening: Reopening | None = None

    @property
    def counted(self) -> bool:
        return self.outcome in (Outcome.RECORDED, Outcome.REOPENED)

    @property
    def message(self) -> str:
        return str(OUTCOME_MESSAGES[self.outcome])


def check_feedback_allowed(idea: Idea, verdict: str) -> None:
    """What feedback_give refuses about the pin and the verdict, without writing."""
    if verdict not in V.values:
        raise ValidationError({"verdict": [VERDICT_MESSAGE]})
    if not idea.is_public:
        raise ValidationError({"idea": [NOT_PUBLIC_MESSAGE]})
    if idea.status not in workflow.CLOSED or idea.closed_at is None:
        raise ValidationError({"verdict": [NOT_CLOSED_MESSAGE]})
    if verdict == V.FIXED and idea.status != Idea.Status.DONE:
        raise ValidationError({"verdict": [FIXED_ONLY_WHEN_DONE_MESSAGE]})


def _clean_note(note: str) -> str:
    try:
        note = stored_text(note or "")
    except ValidationError as exc:
        raise ValidationError({"note": exc.messages}) from None
    return _clean_text(note, field="note", max_length=FEEDBACK_NOTE_MAX_LENGTH)


@dataclass(frozen=True)
class _Giver:
    """Who gives the feedback, as stored: their hash, whether it counts at once, and where a
    confirmation link goes otherwise."""

    person_hash: str
    confirmed: bool
    user: User | None
    email: str


def _giver(*, user: User | None, email: str, person_hash: str | None, confirmed: bool) -> _Giver:
    if person_hash:
        # An "Is it fixed?" answer: the caller holds the hash of the address its email reached.
        return _Giver(person_hash, confirmed, user, "" if confirmed else clean_email(email))
    if user is not None and not email and has_verified_address(user):
        return _Giver(person_hash_of(user.email), True, user, "")
    if user is not None and not email and user.email:
        # An account whose address was never proved (made by staff): the link proves it.
        email = user.email
    if not (email or "").strip():
        raise ValidationError({"email": [EMAIL_NEEDED_MESSAGE]})
    email = clean_email(email)
    return _Giver(person_hash_of(email), confirmed, user, "" if confirmed else email)


def feedback_give(
    *,
    idea: Idea,
    verdict: str,
    note: str = "",
    photo: File | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    email: str = "",
    ip_hash: str = "",
    source: str,
    person_hash: str | None = None,
    confirmed: bool = False,
    now: datetime | None = None,
    rate_identity: str | None = None,
) -> FeedbackResult:
    """A resident's verdict on a closed public pin: "fixed" (on a pin marked done) or
    "still_there" (done or declined), with an optional note and, for a dispute, a photo.

    Who: a signed-in person whose address is verified counts at once; anyone else gives an
    email address and gets a confirmation link (an account whose address was never proved,
    its own address); an "Is it fixed?" answer passes the FixCheck's `person_hash` with
    `confirmed=True`. One verdict per person per closure: a repeat changes nothing and says
    so (ALREADY_GIVEN). `ip_hash` (ratelimit.client_address_hash) makes one network count
    once towards reopening.

    `rate_identity` (ratelimit.client_identity of the request) is counted against the
    submissions' limit once the input is well formed, before anything is written, outside
    the transaction (RateLimited beyond it). The photo is checked and re-encoded first
    (mapideas.pins.photos): a refused photo refuses everything, naming `photo`, nothing
    written. Bad input: a ValidationError naming the field."""
    now = now or timezone.now()
    if source not in FixFeedback.Source.values:
        raise ValidationError({"source": [SOURCE_MESSAGE]})
    # As stored now (the caller's copy may be older), checked again under the row lock.
    idea = Idea.objects.get(pk=idea.pk)
    check_feedback_allowed(idea, verdict)
    note = _clean_note(note)
    if photo is not None and verdict != V.STILL_THERE:
        raise ValidationError({"photo": [PHOTO_ONLY_WITH_DISPUTE_MESSAGE]})
    giver = _giver(
        user=_person(user),  # type: ignore[arg-type]  # the project's users are auth Users
        email=email,
        person_hash=person_hash,
        confirmed=confirmed,
    )
    processed = photo_process(photo) if photo is not None else None
    if rate_identity is not None:
        retry_after = SUBMISSIONS.hit(rate_identity)
        if retry_after is not None:
            raise RateLimited(retry_after)
    name = photo_save(processed) if processed is not None else None
    try:
        result = _feedback_write(
            idea=idea,
            verdict=verdict,
            note=note,
            photo=processed,
            photo_name=name,
            giver=giver,
            ip_hash=ip_hash,
            source=source,
            now=now,
        )
    except BaseException:
        if name is not None:
            photo_delete(name)
        raise
    if name is not None and not result.feedback.photos.filter(name=name).exists():
        photo_delete(name)  # a repeat: the earlier feedback stays as it was
    return result


@transaction.atomic
def _feedback_write(
    *,
    idea: Idea,
    verdict: str,
    note: str,
    photo: ProcessedPhoto | None,
    photo_name: str | None,
    giver: _Giver,
    ip_hash: str,
    source: str,
    now: datetime,
) -> FeedbackResult:
    idea = _locked(idea)
    check_feedback_allowed(idea, verdict)  # again, under the lock
    assert idea.closed_at is not None  # checked above
    earlier = (
        FixFeedback.objects.select_for_update()
        .filter(idea=idea, closed_at=idea.closed_at, person_hash=giver.person_hash)
        .first()
    )
    if earlier is not None and (earlier.confirmed_at is not None or not giver.confirmed):
        if earlier.confirmed_at is None:
            _send_confirmation(earlier, now=now)
            return FeedbackResult(Outcome.AWAITING_CONFIRMATION, earlier)
        return FeedbackResult(Outcome.ALREADY_GIVEN, earlier)
    if earlier is not None:
        # Waiting for its link, now given by someone who counts at once: this one holds.
        feedback = earlier
        feedback.verdict, feedback.note, feedback.source = verdict, note, source
        feedback.user, feedback.email = giver.user, ""
        feedback.ip_hash = ip_hash or feedback.ip_hash
        feedback.created_at = now
        feedback.photos.all().delete()
        feedback.save()
    else:
        feedback = FixFeedback.objects.create(
            idea=idea,
            closed_at=idea.closed_at,
            verdict=verdict,
            note=note,
            source=source,
            user=giver.user,
            email=giver.email,
            person_hash=giver.person_hash,
            ip_hash=ip_hash,
            created_at=now,
        )
    if photo is not None and photo_name is not None:
        TimelinePhoto.objects.create(
            idea=idea,
            feedback=feedback,
            role=TimelinePhoto.Role.DISPUTE,
            name=photo_name,
            width=photo.width,
            height=photo.height,
            bytes=len(photo.content),
            created_at=now,
        )
    if not giver.confirmed:
        _send_confirmation(feedback, now=now)
        return FeedbackResult(Outcome.AWAITING_CONFIRMATION, feedback)
    return _count(idea, feedback, now=now)


def _send_confirmation(feedback: FixFeedback, *, now: datetime) -> None:
    # At most one link a day to one address for one verdict: asking again sends no flood.
    sent = feedback.confirmation_sent_at
    if sent is None or sent < now - timedelta(days=1):
        emails.queue_feedback_confirmation(feedback)
        feedback.confirmation_sent_at = now
        feedback.save(update_fields=["confirmation_sent_at"])


def _count(idea: Idea, feedback: FixFeedback, *, now: datetime) -> FeedbackResult:
    """Confirm `feedback` on its locked pin: counted, and a dispute may reopen the pin."""
    if feedback.verdict == V.STILL_THERE:
        _follow_the_dispute(idea, feedback, now=now)
    feedback.confirmed_at = now
    feedback.email = ""  # the hash is what is kept of the address
    feedback.save(update_fields=["confirmed_at", "email"])
    counter = "fix_confirmed_count" if feedback.verdict == V.FIXED else "dispute_count"
    Idea.objects.filter(pk=idea.pk).update(**{counter: F(counter) + 1})
    setattr(idea, counter, getattr(idea, counter) + 1)
    if feedback.verdict == V.STILL_THERE:
        reopening = _reopen_if_disputed(idea, now=now)
        if reopening is not None:
            return FeedbackResult(Outcome.REOPENED, feedback, reopening)
    return FeedbackResult(Outcome.RECORDED, feedback)


def _follow_the_dispute(idea: Idea, feedback: FixFeedback, *, now: datetime) -> None:
    """Whoever says a closed pin's problem is still there hears what its team decides: they
    follow the pin (every email carries its one-click unsubscribe link). An account follows
    with its own address; an address is followed as confirmed, since it just proved itself
    by its link. An "Is it fixed?" answer came from its author or a follower already."""
    if feedback.user is not None:
        Follower.objects.get_or_create(
            idea=idea, user=feedback.user, defaults={"confirmed_at": now}
        )
    elif feedback.email:
        follower, _ = Follower.objects.get_or_create(
            idea=idea, email=feedback.email, defaults={"confirmed_at": now}
        )
        if follower.confirmed_at is None:
            follower.confirmed_at = now
            follower.save(update_fields=["confirmed_at"])


def _reopen_if_disputed(idea: Idea, *, now: datetime) -> Reopening | None:
    """Reopen the locked pin when the distinct people disputing its current closure within
    the team's window reach the team's threshold (0: never automatically)."""
    team = idea.team
    if team.reopen_threshold <= 0 or idea.status not in workflow.CLOSED:
        return None
    people = disputing_people(idea, now=now, window_days=team.reopen_window_days)
    if people < team.reopen_threshold:
        return None
    with translation.override(idea.language or settings.LANGUAGE_CODE):
        answer = str(REOPENED_ANSWER) % {"count": people}
    update = workflow_services._record_update(
        idea,
        status=workflow.REOPENINGS[idea.status],
        answer=answer[:ANSWER_MAX_LENGTH],
        actor=None,
        now=now,
        reopen_cause=Reopening.Cause.DISPUTES,
    )
    # Reopening leaves Idea.closed_at on the closure the disputes were about.
    _pending_disputes(idea).update(decision=D.REOPENED, decided_at=now)
    emails.queue_team_reopened(idea, people=people)
    return update.reopening


@transaction.atomic
def feedback_confirm(*, token: str, now: datetime | None = None) -> FeedbackResult | None:
    """Follow the link emailed to an address: its feedback counts (and may reopen the pin).
    None if the link is forged, damaged, expired, or the feedback is gone. Following it
    twice counts once (ALREADY_GIVEN). A pin reopened or closed again since counts the
    feedback in its totals, not towards reopening the new closure."""
    now = now or timezone.now()
    found = feedback_from_confirm_token(token)
    if found is None:
        return None
    feedback = FixFeedback.objects.select_related("idea").filter(pk=found.pk).first()
    if feedback is None:
        return None
    idea = _locked(feedback.idea)
    feedback = FixFeedback.objects.select_for_update().get(pk=feedback.pk)
    if feedback.confirmed_at is not None:
        return FeedbackResult(Outcome.ALREADY_GIVEN, feedback)
    if not found.holds_for(feedback.email) or not idea.is_public:
        return None
    if feedback.closed_at != idea.closed_at or idea.status not in workflow.CLOSED:
        # About a closure that is over: counted in the pin's totals only.
        if feedback.verdict == V.STILL_THERE:
            _follow_the_dispute(idea, feedback, now=now)
        feedback.confirmed_at = now
        feedback.email = ""
        feedback.save(update_fields=["confirmed_at", "email"])
        counter = "fix_confirmed_count" if feedback.verdict == V.FIXED else "dispute_count"
        Idea.objects.filter(pk=idea.pk).update(**{counter: F(counter) + 1})
        return FeedbackResult(Outcome.RECORDED, feedback)
    return _count(idea, feedback, now=now)


# --- the team's check queue: decisions on disputes ---------------------------------------------


def _pending_disputes(idea: Idea):
    assert idea.closed_at is not None
    return counted_disputes(idea, closed_at=idea.closed_at).filter(decision=D.PENDING)


def _check_may_decide(actor: User | AnonymousUser | None, idea: Idea) -> User:
    if actor is None or not actor.is_authenticated or not can_work_on(actor, idea):
        raise PermissionDenied(DECIDE_FORBIDDEN)
    return actor


def _decide(idea: Idea, decision: str, actor: User, now: datetime) -> int:
    # The pin's row lock is held: no dispute of it is counted meanwhile.
    return _pending_disputes(idea).update(decision=decision, decided_at=now, decided_by=actor)


def _locked_with_pending(idea: Idea, actor: User | AnonymousUser | None) -> tuple[Idea, User]:
    idea = _locked(idea)
    person = _check_may_decide(actor, idea)
    if idea.status not in workflow.CLOSED or not _pending_disputes(idea).exists():
        raise ValidationError({"decision": [NO_PENDING_MESSAGE]})
    return idea, person


@transaction.atomic
def disputes_reopen(
    *, idea: Idea, answer: str, actor: User | AnonymousUser | None, now: datetime | None = None
) -> IdeaUpdate:
    """The team agrees: the pin goes back to work (workflow.statuses.REOPENINGS) with a
    public answer, through the workflow's own rules (idea_status_change), and the pending
    disputes are decided "reopened"."""
    now = now or timezone.now()
    idea, person = _locked_with_pending(idea, actor)
    update = workflow_services.idea_status_change(
        idea=idea, status=workflow.REOPENINGS[idea.status], answer=answer, actor=person
    )
    _decide(idea, D.REOPENED, person, now)
    return update


@transaction.atomic
def disputes_keep_closed(
    *, idea: Idea, answer: str, actor: User | AnonymousUser | None, now: datetime | None = None
) -> IdeaUpdate:
    """The team keeps the pin closed and tells the residents why (a public answer, no status
    change); the pending disputes are decided "kept closed" and still count towards
    reopening if more residents dispute it within the window."""
    now = now or timezone.now()
    idea, person = _locked_with_pending(idea, actor)
    if not (answer or "").strip():
        raise ValidationError({"answer": [REASON_REQUIRED_MESSAGE]})
    update = workflow_services.idea_status_change(
        idea=idea, status=idea.status, answer=answer, actor=person
    )
    _decide(idea, D.KEPT_CLOSED, person, now)
    return update


@transaction.atomic
def dispute_dismiss(
    *, feedback: FixFeedback, actor: User | AnonymousUser | None, now: datetime | None = None
) -> FixFeedback:
    """Moderation: one dispute is abuse or spam. It no longer counts towards reopening, nor
    in the pin's public count, and leaves the queue."""
    now = now or timezone.now()
    idea = _locked(feedback.idea)
    person = _check_may_decide(actor, idea)
    feedback = FixFeedback.objects.select_for_update().get(pk=feedback.pk)
    if feedback.verdict != V.STILL_THERE or feedback.confirmed_at is None:
        raise ValidationError({"decision": [NO_PENDING_MESSAGE]})
    if feedback.decision == D.DISMISSED:
        raise ValidationError({"decision": [DECIDED_MESSAGE]})
    feedback.decision, feedback.decided_at, feedback.decided_by = D.DISMISSED, now, person
    feedback.save(update_fields=["decision", "decided_at", "decided_by"])
    Idea.objects.filter(pk=idea.pk, dispute_count__gt=0).update(
        dispute_count=F("dispute_count") - 1
    )
    return feedback


# --- housekeeping ----------------------------------------------------------------------------


def unconfirmed_feedback_purge(*, now: datetime | None = None) -> int:
    """Delete the answers whose confirmation link expired unused (their address, note and
    photos with them: nothing counted them, and an address nobody proved is not kept).
    Run by `manage.py send_notifications`. Returns how many were deleted."""
    cutoff = (now or timezone.now()) - CONFIRM_MAX_AGE
    expired = FixFeedback.objects.filter(confirmed_at__isnull=True).filter(
        Q(confirmation_sent_at__lt=cutoff)
        | Q(confirmation_sent_at__isnull=True, created_at__lt=cutoff)
    )
    # The photos' files go once the deletion is committed (mapideas.apps: post_delete).
    _deleted, per_model = expired.delete()
    return per_model.get(FixFeedback._meta.label, 0)
