"""Email to the people who follow a pin, through an outbox.

Every status change and public answer (services._record_update, the one place all of them go
through: status changes, answers, duplicates, bulk changes) queues one email per confirmed
follower in `EmailOutbox`, in the transaction of the change itself: a change rolled back
queues nothing, a committed one cannot lose its emails. Nothing is sent during a request:
`manage.py send_notifications` (cron or a systemd timer, every minute) sends the pending
rows with `send_pending`.

Emails are plain text; subjects are one line (CR, LF and other control characters in user
text become spaces: no header injection). Each carries its one-click unsubscribe link, in the
body and in the List-Unsubscribe header (RFC 2369 / RFC 8058).
"""

import fcntl
import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mapideas.answers.services import answer_language
from mapideas.models import (
    EmailOutbox,
    Follower,
    Idea,
    IdeaUpdate,
    TimelinePhoto,
)
from mapideas.notifications import services as notifications
from mapideas.plumbing.tokens import BoundId, bound_id_from_token, bound_token
from neighborhoods.models import Team

UNSUBSCRIBE_SALT = "mapideas.unsubscribe"
TEAM_STOP_SALT = "mapideas.team-stop"
CONFIRM_SALT = "mapideas.follow-confirm"
# A confirmation link works for this long; then following again sends a new one.
CONFIRM_MAX_AGE = timedelta(days=7)
SUBJECT_MAX_LENGTH = 200

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


def in_default_language(compose):
    """Emails to teams and to addresses not yet tied to a pin are written in the site's
    language (LANGUAGE_CODE), not in the language of the request that happened to queue
    them. Emails about a pin to its author and followers are written in the pin's language
    instead (in_pin_language)."""

    @functools.wraps(compose)
    def composed(*args, **kwargs):
        with translation.override(settings.LANGUAGE_CODE):
            return compose(*args, **kwargs)

    return composed


def in_pin_language(compose):
    """Emails about a pin (the first argument) to the people who follow it are written in
    the language its author used (Idea.language), else the site's: the answer templates
    (mapideas.answers) speak it too, and those following a pin mostly share its author's."""

    @functools.wraps(compose)
    def composed(idea: Idea, *args, **kwargs):
        with translation.override(answer_language(idea)):
            return compose(idea, *args, **kwargs)

    return composed


def one_line(text: str) -> str:
    """User text made safe for a header: no CR, LF or other control character."""
    return re.sub(r" {2,}", " ", _CONTROL.sub(" ", text)).strip()


def absolute(path: str) -> str:
    return settings.MAPIDEAS_SITE_URL.rstrip("/") + path


def unsubscribe_token(follower: Follower) -> str:
    return signing.dumps(follower.pk, salt=UNSUBSCRIBE_SALT)


def confirm_token(follower: Follower) -> str:
    return signing.dumps(follower.pk, salt=CONFIRM_SALT)


def unsubscribe_url(follower: Follower) -> str:
    return absolute(reverse("unsubscribe", args=[unsubscribe_token(follower)]))


def _pin_line(idea: Idea) -> str:
    return _("pin #%(pk)s “%(title)s”") % {"pk": idea.pk, "title": one_line(idea.title)}


def _update_text(idea: Idea, update: IdeaUpdate, team_name: str) -> tuple[str, str]:
    """The subject and the first lines of the email about one step of the pin's timeline."""
    if update.changes_status:
        status = update.get_to_status_display()
        what = _("status: %(status)s") % {"status": status}
        said = _("%(team)s set the status of %(pin)s to %(status)s.") % {
            "team": team_name,
            "pin": _pin_line(idea),
            "status": status,
        }
    else:
        what = _("%(team)s answered") % {"team": team_name}
        said = _("%(team)s answered on %(pin)s.") % {"team": team_name, "pin": _pin_line(idea)}
    subject = one_line(
        _("Pin #%(pk)s “%(title)s”: %(what)s") % {"pk": idea.pk, "title": idea.title, "what": what}
    )
    if len(subject) > SUBJECT_MAX_LENGTH:
        subject = subject[: SUBJECT_MAX_LENGTH - 1] + "…"
    return subject, said


def _answer_photo_lines(idea: Idea, update: IdeaUpdate) -> list[str]:
    """A line per photo the team gave with the answer ("Photo after: <url>"), before then
    after: served by the pin's photo view while the pin is public."""
    lines = []
    for photo in update.photos.filter(hidden_at__isnull=True).order_by("-role", "pk"):
        url = absolute(reverse("idea-timeline-photo", args=[idea.pk, photo.pk]))
        if photo.role == TimelinePhoto.Role.BEFORE:
            lines.append(_("Photo before: %(url)s") % {"url": url})
        else:
            lines.append(_("Photo after: %(url)s") % {"url": url})
    return lines


@in_pin_language
def notify_followers(idea: Idea, update: IdeaUpdate) -> int:
    """Queue an email about `update` to each confirmed follower of `idea` with an address.

    Called inside the transaction that wrote the update. Returns how many were queued."""
    followers = [
        follower
        for follower in Follower.objects.filter(idea=idea, confirmed_at__isnull=False)
        .select_related("user")
        .order_by("pk")
        if follower.address
    ]
    if not followers:
        # Most steps have nobody to tell: compose nothing (a pin's URL is the first reverse()
        # of a process, which loads every page's module: seconds for a command).
        return 0
    team_name = idea.team.name  # the team that has the pin signed the update
    subject, said = _update_text(idea, update, team_name)
    pin_url = absolute(idea.get_absolute_url())
    photo_lines = _answer_photo_lines(idea, update)
    rows = []
    for follower in followers:
        to = follower.address
        stop = unsubscribe_url(follower)
        lines = [said, ""]
        if update.answer:
            lines += [_("Their answer:"), "", update.answer, ""]
        if photo_lines:
            lines += [*photo_lines, ""]
        lines += [
            _("See the pin and its history: %(url)s") % {"url": pin_url},
            "",
            "-- ",
            _("You get this email because you follow this pin on MapIdeas."),
            _("Stop following it (one click, no login): %(url)s") % {"url": stop},
        ]
        rows.append(
            EmailOutbox(to=to, subject=subject, body="\n".join(lines), unsubscribe_url=stop)
        )
    EmailOutbox.objects.bulk_create(rows)
    return len(rows)


@in_default_language
def queue_confirmation(follower: Follower) -> EmailOutbox:
    """The email that asks an address to confirm it wants to follow a pin."""
    idea = follower.idea
    link = absolute(reverse("follow-confirm", args=[confirm_token(follower)]))
    body = "\n".join(
        [
            _(
                "Someone (we hope you) asked to follow %(pin)s on MapIdeas,\n"
                "to get an email when its status changes or its team answers."
            )
            % {"pin": _pin_line(idea)},
            "",
            _("To confirm, open this link within %(days)s days: %(url)s")
            % {"days": CONFIRM_MAX_AGE.days, "url": link},
            "",
            _("If it was not you, ignore this email: nothing will be sent to you."),
        ]
    )
    subject = one_line(_("Confirm: follow pin #%(pk)s on MapIdeas") % {"pk": idea.pk})
    return EmailOutbox.objects.create(to=follower.email, subject=subject, body=body)


# --- a pin sent with an email address: the link that publishes it (services.idea_submit) -----

IDEA_CONFIRM_SALT = "mapideas.idea-confirm"


def idea_confirm_token(idea: Idea) -> str:
    # Bound to the address the pin was sent with (a keyed hash of it: no address in a URL),
    # so the link works only for that address.
    return bound_token(idea.pk, idea.contact_email, salt=IDEA_CONFIRM_SALT)


def idea_from_confirm_token(token: str) -> BoundId | None:
    """The pin a confirmation link names, with the address it was sent to as a hash
    (`BoundId.holds_for`), or None if it is forged, damaged or older than CONFIRM_MAX_AGE."""
    return bound_id_from_token(token, salt=IDEA_CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)


@in_pin_language
def queue_idea_confirmation(idea: Idea) -> EmailOutbox:
    """The email that asks the address a pin was sent with to confirm it, which puts the pin
    on the public map. Called by services.idea_create, in the transaction that writes it."""
    link = absolute(reverse("idea-confirm", args=[idea_confirm_token(idea)]))
    body = "\n".join(
        [
            _("Thank you for your %(kind)s, %(pin)s.")
            % {"kind": idea.get_kind_display().lower(), "pin": _pin_line(idea)},
            _("It is already with %(team)s, the team that answers for that place.")
            % {"team": idea.team.name},
            "",
            _(
                "To show it on the public map, and to get an email when its status changes or\n"
                "its team answers, open this link within %(days)s days: %(url)s"
            )
            % {"days": CONFIRM_MAX_AGE.days, "url": link},
            "",
            _("Your email address is never shown to anyone but the city's staff."),
            _(
                "If you did not send this pin, ignore this email: it will not be published, and\n"
                "nothing more will be sent to you."
            ),
        ]
    )
    subject = email_subject(
        _("Confirm your pin #%(pk)s “%(title)s” on MapIdeas") % {"pk": idea.pk, "title": idea.title}
    )
    return EmailOutbox.objects.create(to=idea.contact_email, subject=subject, body=body)


# --- the teams: an email for each new pin, or a daily digest (Team.notify) -------------------

# The most pins one digest lists; the rest are in the team's queue.
DIGEST_MAX_PINS = 200


def team_stop_token(team: Team) -> str:
    # Bound to the team's address (a keyed hash of it: no mailbox in a URL): a link sent to a
    # former address stops nothing.
    return bound_token(team.pk, team.notify_email, salt=TEAM_STOP_SALT)


def team_from_stop_token(token: str) -> Team | None:
    """The team a stop link names, or None if it is forged or damaged, or the team's address
    changed since it was sent."""
    found = bound_id_from_token(token, salt=TEAM_STOP_SALT)
    team = Team.objects.filter(pk=found.pk).first() if found else None
    if found is None or team is None or not found.holds_for(team.notify_email):
        return None
    return team


def _team_footer(team: Team, stop: str) -> list[str]:
    return [
        "",
        "-- ",
        _("%(team)s gets these emails: %(how)s (set in the admin).")
        % {"team": team.name, "how": team.get_notify_display().lower()},
        _("Stop them (one click, no login): %(url)s") % {"url": stop},
    ]


def _pin_summary(idea: Idea) -> str:
    where = idea.neighborhood.name if idea.neighborhood else _("between neighborhoods")
    return _("#%(pk)s “%(title)s” (%(kind)s, %(category)s, %(where)s): %(url)s") % {
        "pk": idea.pk,
        "title": one_line(idea.title),
        "kind": idea.get_kind_display(),
        "category": idea.category.name,
        "where": where,
        "url": absolute(idea.get_absolute_url()),
    }


@in_default_language
def notify_team_new_pin(idea: Idea) -> EmailOutbox | None:
    """Queue the email about a new pin to its team, if the team asked for one per pin.

    Called by services.idea_create, in the transaction that writes the pin."""
    team = idea.team
    if team.notify != Team.Notify.EACH or not team.notify_email:
        return None
    stop = absolute(reverse("team-unsubscribe", args=[team_stop_token(team)]))
    lines = [
        _("A new %(kind)s was pinned for %(team)s:")
        % {"kind": idea.get_kind_display().lower(), "team": team.name},
        "",
    ]
    lines += [_pin_summary(idea), ""]
    if idea.description:
        lines += [idea.description, ""]
    lines += [
        _("The team's queue: %(url)s")
        % {"url": absolute(reverse("team-workspace", args=[team.slug]))}
    ]
    lines += _team_footer(team, stop)
    return EmailOutbox.objects.create(
        to=team.notify_email,
        subject=email_subject(
            _("New pin #%(pk)s for %(team)s: “%(title)s”")
            % {"pk": idea.pk, "team": team.name, "title": idea.title}
        ),
        body="\n".join(lines),
        unsubscribe_url=stop,
    )


def email_subject(text: str) -> str:
    subject = one_line(text)
    if len(subject) > SUBJECT_MAX_LENGTH:
        subject = subject[: SUBJECT_MAX_LENGTH - 1] + "…"
    return subject


@in_default_language
def queue_digests(*, now=None) -> int:
    """Queue the daily digest of each team that asked for one: the pins routed to it since
    its last digest (the last day, the first time). A team with no new pin gets no email.
    Teams are locked, so two runs at once do not send one digest twice. Returns how many
    were queued."""
    now = now or timezone.now()
    queued = 0
    with transaction.atomic():
        teams = (
            Team.objects.select_for_update()
            .filter(notify=Team.Notify.DAILY)
            .exclude(notify_email="")
            .order_by("pk")
        )
        for team in teams:
            since = team.digest_sent_at or now - timedelta(days=1)
            pins = (
                Idea.objects.filter(team=team, created_at__gt=since, created_at__lte=now)
                .select_related("category", "neighborhood")
                .defer("neighborhood__geometry")
                .order_by("created_at", "id")
            )
            total = pins.count()
            if total:
                stop = absolute(reverse("team-unsubscribe", args=[team_stop_token(team)]))
                shown = [_pin_summary(idea) for idea in pins[:DIGEST_MAX_PINS]]
                lines = [
                    _("%(total)s new pin(s) for %(team)s since %(since)s UTC:")
                    % {"total": total, "team": team.name, "since": f"{since:%d %b %Y %H:%M}"},
                    "",
                ]
                lines += shown
                if total > len(shown):
                    lines += ["", _("… and %(more)s more.") % {"more": total - len(shown)}]
                queue = absolute(reverse("team-workspace", args=[team.slug]))
                lines += ["", _("The team's queue: %(url)s") % {"url": queue}]
                lines += _team_footer(team, stop)
                EmailOutbox.objects.create(
                    to=team.notify_email,
                    subject=email_subject(
                        _("%(team)s: %(total)s new pin(s) by %(day)s")
                        % {"team": team.name, "total": total, "day": f"{now:%d %b %Y}"}
                    ),
                    body="\n".join(lines),
                    unsubscribe_url=stop,
                )
                queued += 1
            team.digest_sent_at = now
            team.save(update_fields=["digest_sent_at"])
    return queued


# --- sending (manage.py send_notifications) ---------------------------------------------------


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0  # attempts that failed this run (retried later unless at the cap)


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 1, 2, 4, 8... minutes, at most 1 h."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _message(row: EmailOutbox, mail_connection) -> EmailMessage:
    headers = {}
    if row.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{row.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return EmailMessage(
        subject=one_line(row.subject),
        body=row.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to],
        headers=headers,
        connection=mail_connection,
    )


def pending() -> QuerySet[EmailOutbox]:
    return EmailOutbox.objects.filter(
        sent_at__isnull=True, attempts__lt=settings.MAPIDEAS_EMAIL_MAX_ATTEMPTS
    )


def _send(rows: list[EmailOutbox], mail_connection, result: SendResult) -> None:
    for row in rows:
        row.attempts += 1
        try:
            _message(row, mail_connection).send()
        except Exception as exc:  # any backend error: keep it, try again later
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            # Later than the run's start, so this run does not take it again.
            row.next_attempt_at = timezone.now() + retry_delay(row.attempts)
            result.failed += 1
        else:
            row.sent_at = timezone.now()
            row.last_error = ""
            result.sent += 1
        row.save(update_fields=["attempts", "last_error", "next_attempt_at", "sent_at"])


def send_pending(*, batch_size: int = 50) -> SendResult:
    """Send the outbox rows that are due, oldest first; mark each sent, or count the failed
    attempt, keep its error and put the next try off (retry_delay) until the cap
    (MAPIDEAS_EMAIL_MAX_ATTEMPTS) is reached.

    On PostgreSQL several processes may run at once: each batch is locked with
    SELECT ... FOR UPDATE SKIP LOCKED and sent inside that transaction, so a row is sent by
    one process only. SQLite has no row locks, and a transaction held while talking to a
    mail server would hold its one write lock (pins could not be written): there each row is
    saved on its own, and one process runs at a time (the command takes a file lock)."""
    result = SendResult()
    started = timezone.now()
    skip_locked = connection.features.has_select_for_update_skip_locked
    with get_connection(fail_silently=False) as mail_connection:
        while True:
            with transaction.atomic():
                due = (
                    pending().filter(next_attempt_at__lte=started).order_by("next_attempt_at", "id")
                )
                if skip_locked:
                    due = due.select_for_update(skip_locked=True)
                rows = list(due[:batch_size])
                if not rows:
                    return result
                if skip_locked:
                    _send(rows, mail_connection, result)
            if not skip_locked:
                _send(rows, mail_connection, result)


@contextmanager
def single_runner(path) -> Iterator[bool]:
    """An exclusive, non-blocking file lock: True while held, False if another process has it
    (SQLite has no SKIP LOCKED, so there send_notifications runs one at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@transaction.atomic
def team_notifications_stop(*, token: str) -> Team | None:
    """The one-click link of a team's new-pin emails: the team gets no more (Team.notify
    becomes "none"; the admin sets it again). None if the link is bad or the team's address
    changed since."""
    team = notifications.team_from_stop_token(token)
    if team is None:
        return None
    Team.objects.filter(pk=team.pk).update(notify=Team.Notify.NONE)
    team.notify = Team.Notify.NONE
    return team
