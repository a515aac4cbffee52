"""\"Is it fixed?\": some days after a pin is marked done, its author and its followers are
asked once, by email, whether the problem really is fixed.

Queueing (`fix_checks_queue`) runs in every `manage.py send_notifications` (every minute):
one cheap query finds the pins with someone still to ask, and each of them is handled in
its own short transaction that locks the pin, writes one FixCheck per person and that
person's email (EmailOutbox) together. A person is an address (`person_hash_of`): the
author who also follows is asked once, and a person is never asked twice about one pin
(the FixCheck's unique constraint holds even against two runs at once).

The email's two links open a page (fix_check_views), never an answer: a mail scanner that
follows them answers nothing. Their token is random (`secrets.token_urlsafe`), names no one,
and only its SHA-256 is kept; it works once, until FixCheck.expires_at
(`fix_check_answer`).
"""

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from mapideas.models import EmailOutbox, FixCheck, FixFeedback, Follower, Idea
from mapideas.notifications.services import absolute, email_subject, one_line, unsubscribe_url
from mapideas.outcomes.selectors import person_hash_of
from mapideas.outcomes.services import FeedbackResult, feedback_give
from mapideas.pins.selectors import public_ideas
from neighborhoods.models import Team

# A link works this long after it is sent; then the pin's page is the way to answer.
LINK_DAYS = 30
# A closure is asked about at most this many days after it was due (Team.fix_check_days):
# a team that turns the question on, or lengthens its delay, does not mail about every pin
# it closed in the past years.
LATEST_DAYS = 30
# Pins asked about per run at most: a team that turns the question on with hundreds of pins
# closed in the window is asked about over a few minutes' runs, each short (about 10 ms a
# pin), not in one run that holds up the sending.
PINS_PER_RUN = 200


def token_hash(token: str) -> str:
    """What is kept of a link's token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _language(idea: Idea) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return idea.language if idea.language in codes else settings.LANGUAGE_CODE


# --- queueing the questions ------------------------------------------------------------------


def _has_address() -> Q:
    # A follower's address: its own email, or its account's (Follower.address).
    return Q(user__isnull=True) | ~Q(user__email="")


def due_idea_ids(*, now: datetime, limit: int | None = None) -> list[int]:
    """The public pins marked done whose team asks "Is it fixed?", closed at least the team's
    delay ago (and not more than LATEST_DAYS beyond it), not asked about yet, with someone to
    ask: an author with an email, or a confirmed follower with an address.

    Those who follow the pin at that moment are asked; who follows it later answers on the
    pin's page. So a pin leaves this list for good once asked about: run every minute, the
    query stays one (one condition per distinct delay, whatever the number of teams), over
    the pins closed in the window."""
    delays = sorted(
        days
        for days in set(
            Team.objects.filter(fix_check_days__isnull=False).values_list(
                "fix_check_days", flat=True
            )
        )
        if days is not None
    )
    if not delays:
        return []
    window = Q()
    for days in delays:
        due = now - timedelta(days=days)
        window |= Q(
            team__fix_check_days=days,
            closed_at__lte=due,
            closed_at__gt=due - timedelta(days=LATEST_DAYS),
        )
    followers = Follower.objects.filter(idea=OuterRef("pk"), confirmed_at__isnull=False).filter(
        _has_address()
    )
    author = Q(author__isnull=False, author__is_active=True) & ~Q(author__email="")
    return list(
        public_ideas()
        .filter(window, status=Idea.Status.DONE)
        .filter(~Exists(FixCheck.objects.filter(idea=OuterRef("pk"))))
        .filter(author | Exists(followers))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


@dataclass(frozen=True)
class _Person:
    address: str
    user: User | None
    follower: Follower | None  # for the one-click link that stops the pin's emails


def _people(idea: Idea) -> dict[str, _Person]:
    """Who is asked about the pin, by person (person_hash_of): its author, if the account has
    an email, and each confirmed follower with an address; one person once."""
    people: dict[str, _Person] = {}
    author = idea.author
    if author is not None and author.is_active and author.email:
        people[person_hash_of(author.email)] = _Person(author.email, author, None)
    followers = (
        Follower.objects.filter(idea=idea, confirmed_at__isnull=False)
        .filter(_has_address())
        .select_related("user")
        .order_by("pk")
    )
    for follower in followers:
        address = follower.address
        person = person_hash_of(address)
        known = people.get(person)
        if known is None:
            people[person] = _Person(address, follower.user, follower)
        elif known.follower is None:
            # The author following their pin: one person, whose email can stop the pin's.
            people[person] = _Person(known.address, known.user, follower)
    return people


def fix_checks_queue(*, now: datetime | None = None) -> int:
    """Ask "Is it fixed?" of everyone due (`due_idea_ids`): one FixCheck and one email per
    person, in one transaction per pin, PINS_PER_RUN pins at most (the next run takes the
    rest). Returns how many emails were queued. Idempotent,
    and safe with two runs at once: the pin's row is locked, and the FixCheck's unique
    constraint (idea, person) refuses a second question to one person whatever happens."""
    now = now or timezone.now()
    queued = 0
    for pk in due_idea_ids(now=now, limit=PINS_PER_RUN):
        with transaction.atomic():
            # Locked, and checked again: reopened or hidden meanwhile, nobody is asked.
            idea = (
                public_ideas()
                .select_for_update(of=("self",))
                .select_related(None)
                .filter(pk=pk, status=Idea.Status.DONE, closed_at__isnull=False)
                .first()
            )
            if idea is not None:
                queued += _ask(idea, now=now)
    return queued


def _ask(idea: Idea, *, now: datetime) -> int:
    closed_at = idea.closed_at
    assert closed_at is not None  # selected so
    people = _people(idea)
    asked = set(
        FixCheck.objects.filter(idea=idea, person_hash__in=people).values_list(
            "person_hash", flat=True
        )
    )
    # Those who already gave their verdict on this closure (on the pin's page) are not asked:
    # their question is written as answered, so it is settled for good.
    answered = dict(
        FixFeedback.objects.filter(
            idea=idea, closed_at=closed_at, person_hash__in=people, confirmed_at__isnull=False
        ).values_list("person_hash", "confirmed_at")
    )
    queued = 0
    for person, who in people.items():
        if person in asked:
            continue
        token = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():  # a savepoint: one refused row spoils nothing else
                check = FixCheck.objects.create(
                    idea=idea,
                    person_hash=person,
                    user=who.user,
                    token_hash=token_hash(token),
                    closed_at=closed_at,
                    sent_at=now,
                    expires_at=now + timedelta(days=LINK_DAYS),
                    answered_at=answered.get(person),
                )
                if check.answered_at is None:
                    _queue_email(idea, token=token, person=who, expires_at=check.expires_at)
                    queued += 1
        except IntegrityError:
            continue  # asked meanwhile by another run: never twice
    return queued


def fix_check_url(token: str, answer: str) -> str:
    return absolute(reverse("fix-check", args=[token])) + f"?answer={answer}"


def _queue_email(idea: Idea, *, token: str, person: _Person, expires_at: datetime) -> None:
    """The question, plain text, in the pin's language (Idea.language), with a link per
    answer; both open the page that asks for the button."""
    with translation.override(_language(idea)):
        closed = formats.date_format(timezone.localtime(idea.closed_at), "DATE_FORMAT")
        until = formats.date_format(timezone.localtime(expires_at), "DATE_FORMAT")
        pin = _("pin #%(pk)s “%(title)s”") % {"pk": idea.pk, "title": one_line(idea.title)}
        lines = [
            _("%(team)s marked %(pin)s as done on %(date)s.")
            % {"team": idea.team.name, "pin": pin, "date": closed},
            "",
        ]
        if idea.answer:
            lines += [_("Their answer:"), "", idea.answer, ""]
        lines += [
            _("Is the problem really fixed? Tell them: each link opens a page with one button."),
            "",
            _("Yes, it is fixed: %(url)s") % {"url": fix_check_url(token, "yes")},
            "",
            _("No, it is still there: %(url)s") % {"url": fix_check_url(token, "no")},
            "",
            _(
                "The links work once, until %(date)s. The pin's page shows how many people "
                "answered, never who."
            )
            % {"date": until},
            _("See the pin: %(url)s") % {"url": absolute(idea.get_absolute_url())},
            "",
            "-- ",
        ]
        stop = ""
        if person.follower is not None:
            stop = unsubscribe_url(person.follower)
            lines += [
                _("You get this email because you follow this pin on MapIdeas; we ask once."),
                _("Stop following it (one click, no login): %(url)s") % {"url": stop},
            ]
        else:
            lines += [_("You get this email because you sent this pin; we ask once.")]
        subject = email_subject(
            _("Is it fixed? Pin #%(pk)s “%(title)s”") % {"pk": idea.pk, "title": idea.title}
        )
    EmailOutbox.objects.create(
        to=person.address, subject=subject, body="\n".join(lines), unsubscribe_url=stop
    )


# --- the page's answer -----------------------------------------------------------------------


class LinkState(enum.StrEnum):
    OPEN = "open"  # the question may be answered
    ANSWERED = "answered"  # answered already, through this link or the pin's page
    EXPIRED = "expired"
    # The pin is no longer done (reopened, or its team changed its status): nothing to confirm.
    NOT_DONE = "not_done"
    # The pin is no longer public (hidden by moderation): its link shows nothing of it.
    GONE = "gone"


@dataclass(frozen=True)
class FixCheckLink:
    check: FixCheck
    state: LinkState


def _state(check: FixCheck, *, now: datetime) -> LinkState:
    idea = check.idea
    if not idea.is_public:
        return LinkState.GONE
    if check.answered_at is not None:
        return LinkState.ANSWERED
    if check.expires_at <= now:
        return LinkState.EXPIRED
    if idea.status != Idea.Status.DONE or idea.closed_at is None:
        return LinkState.NOT_DONE
    return LinkState.OPEN


def fix_check_of_link(*, token: str, now: datetime | None = None) -> FixCheckLink | None:
    """The question a link's token names, with what may be done with it; None for a token
    MapIdeas never sent (or whose pin is deleted)."""
    now = now or timezone.now()
    check = (
        FixCheck.objects.select_related(
            "idea", "idea__category", "idea__neighborhood", "idea__team"
        )
        .defer("idea__neighborhood__geometry")
        .filter(token_hash=token_hash(token))
        .first()
    )
    return None if check is None else FixCheckLink(check, _state(check, now=now))


@dataclass(frozen=True)
class FixCheckAnswer:
    """What answering did: the link's state when it was pressed, and A's feedback result
    when it was OPEN and the answer was taken."""

    state: LinkState
    check: FixCheck
    result: FeedbackResult | None = None


def fix_check_answer(
    *,
    token: str,
    verdict: str,
    note: str = "",
    photo: File | None = None,
    ip_hash: str = "",
    now: datetime | None = None,
) -> FixCheckAnswer | None:
    """Answer "Is it fixed?" by the link's token: the person's verdict (outcomes.services
    .feedback_give, counted at once: the email reached the address), and the link is used
    up, in one transaction (the FixCheck's row locked: two presses answer once). None for an
    unknown token; a link not OPEN answers nothing and says why (`state`). Bad input: a
    ValidationError naming the field (`note`, `photo`), nothing written, the link still
    open. Rate limits are the caller's, counted before this (outside the transaction)."""
    now = now or timezone.now()
    with transaction.atomic():
        check = (
            FixCheck.objects.select_for_update(of=("self",))
            .select_related("idea", "user")
            .filter(token_hash=token_hash(token))
            .first()
        )
        if check is None:
            return None
        state = _state(check, now=now)
        if state != LinkState.OPEN:
            return FixCheckAnswer(state, check)
        result = feedback_give(
            idea=check.idea,
            verdict=verdict,
            note=note,
            photo=photo,
            user=check.user,
            ip_hash=ip_hash,
            source=FixFeedback.Source.FIX_CHECK,
            person_hash=check.person_hash,
            confirmed=True,
            now=now,
        )
        check.answered_at = now
        check.save(update_fields=["answered_at"])
    return FixCheckAnswer(LinkState.OPEN, check, result)
