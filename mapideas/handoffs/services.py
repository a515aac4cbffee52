"""Writes of hand-offs: a team hands a pin to an outside body with no account (a utility, a
contractor, another agency), the body accepts and reports the work done through an emailed
link, and the team approves (the pin is done, publicly), sends it back or withdraws it.

The link is /handoffs/<id>/<token>/: the row's id and a random token, of which only a keyed
hash is kept; nothing of the body's address is in it. A new token is made whenever the link
is emailed (handed, sent back): the previous link stops working. Team writes lock the pin,
then the hand-off (as the workflow's writes lock the pin first); the body's writes lock only
the hand-off. Nothing public changes until the team approves: then the workflow's
idea_status_change marks the pin done with the body's photo as the answer's "after" photo.
"""

import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from mapideas.audit import services as audit
from mapideas.models import ANSWER_MAX_LENGTH, ID_MAX, EmailOutbox, Handoff, Idea
from mapideas.notifications.services import absolute, email_subject, in_default_language, one_line
from mapideas.participation.services import clean_email
from mapideas.pins.photos import photo_delete, photo_process, photo_save, photo_storage
from mapideas.pins.roles import WORK_FORBIDDEN, can_work_on
from mapideas.pins.services import _clean_text, _locked
from mapideas.plumbing.hashing import keyed_hash
from mapideas.workflow.services import idea_status_change

State = Handoff.State

# How long a link works, in days: 14 unless the team says otherwise, within these bounds.
DAYS_DEFAULT = 14
DAYS_MIN = 1
DAYS_MAX = 90
BODY_NAME_MAX_LENGTH = 120
MESSAGE_MAX_LENGTH = 2000
COMMENT_MAX_LENGTH = 2000

# The states in which the body's link works (until it expires).
OPEN_STATES = frozenset({State.SENT, State.ACCEPTED, State.REPORTED, State.RETURNED})
# The states in which the pin is with the body: one such hand-off at a time.
ACTIVE_STATES = OPEN_STATES

NOT_OPEN_MESSAGE = gettext_lazy("Only an open pin can be handed to an outside body.")
ALREADY_HANDED_MESSAGE = gettext_lazy(
    "The pin is already handed to %(body)s: withdraw that hand-off first."
)
COMMENT_REQUIRED_MESSAGE = gettext_lazy("Say what was done.")
NOTE_REQUIRED_MESSAGE = gettext_lazy("Say what is missing.")
NOT_REPORTED_MESSAGE = gettext_lazy("The body has not reported the work done yet.")
CLOSED_MESSAGE = gettext_lazy("This hand-off is over: nothing more can be done with it.")


def token_hash(token: str) -> str:
    return keyed_hash("handoff", token)


def handoff_url(handoff: Handoff, token: str) -> str:
    return absolute(reverse("handoff-page", args=[handoff.pk, token]))


def _new_token(handoff: Handoff) -> str:
    token = secrets.token_urlsafe(32)
    handoff.token_hash = token_hash(token)
    return token


def handoff_from_token(*, pk: int, token: str) -> Handoff | None:
    """The hand-off a link names, whatever its state and expiry, or None if the id names
    none or the token is not its current one (forged, another hand-off's, replaced)."""
    if not 0 < pk <= ID_MAX or not token:
        return None
    handoff = Handoff.objects.select_related("idea", "idea__category", "team").filter(pk=pk).first()
    if handoff is None or not hmac.compare_digest(handoff.token_hash, token_hash(token)):
        return None
    return handoff


def link_works(handoff: Handoff, *, now=None) -> bool:
    """Whether the body's link still works: not expired, not withdrawn nor approved."""
    return handoff.state in OPEN_STATES and handoff.expires_at > (now or timezone.now())


def _check_team(actor: User | AnonymousUser | None, idea: Idea) -> User:
    if actor is None or not actor.is_authenticated or not can_work_on(actor, idea):
        raise PermissionDenied(WORK_FORBIDDEN)
    return actor


def _audit(actor: User, handoff: Handoff, text) -> None:
    audit.audit_record(
        actor=actor,
        action=audit.Action.HANDOFF,
        summary=audit.in_site_language(
            lambda: text() % {"pin": handoff.idea_id, "body": handoff.body_name}
        ),
        idea_number=handoff.idea_id,
        team=handoff.team,
    )


@in_default_language
def _queue_link(handoff: Handoff, token: str, *, note: str = "") -> EmailOutbox:
    """The email with the body's link, in the site's language (the body has no language of
    its own here). Only what the body needs: the pin as the public sees it, the team's
    message, the link and until when it works; nothing of the citizen."""
    idea = handoff.idea
    lines = [
        gettext("%(team)s hands you pin #%(pk)s “%(title)s”.")
        % {"team": handoff.team.name, "pk": idea.pk, "title": one_line(idea.title)},
        "",
    ]
    if note:
        lines += [gettext("Sent back to you, with this note:"), note, ""]
    if handoff.message:
        lines += [gettext("The team's message:"), handoff.message, ""]
    lines += [
        gettext(
            "Open this link to see the pin, accept it and report the work done (no account "
            "needed): %(url)s"
        )
        % {"url": handoff_url(handoff, token)},
        gettext("The link works until %(date)s.")
        % {"date": timezone.localtime(handoff.expires_at).strftime("%Y-%m-%d %H:%M")},
        "",
        gettext("Do not forward this email: whoever has the link can report on the pin."),
    ]
    subject = (
        gettext("Sent back: pin #%(pk)s “%(title)s”")
        if note
        else gettext("Pin #%(pk)s “%(title)s” handed to %(body)s")
    )
    return EmailOutbox.objects.create(
        to=handoff.body_email,
        subject=email_subject(
            subject % {"pk": idea.pk, "title": idea.title, "body": handoff.body_name}
        ),
        body="\n".join(lines),
    )


@in_default_language
def _queue_team_report(handoff: Handoff) -> EmailOutbox | None:
    """The team hears of the body's report, if it set an address for its emails."""
    team = handoff.team
    if not team.notify_email:
        return None
    idea = handoff.idea
    body = "\n".join(
        [
            gettext("%(body)s reports the work on pin #%(pk)s “%(title)s” done:")
            % {"body": handoff.body_name, "pk": idea.pk, "title": one_line(idea.title)},
            "",
            handoff.body_comment,
            "",
            gettext("Review it on the pin's page: %(url)s")
            % {"url": absolute(idea.get_absolute_url())},
        ]
    )
    return EmailOutbox.objects.create(
        to=team.notify_email,
        subject=email_subject(
            gettext("Pin #%(pk)s: %(body)s reports the work done")
            % {"pk": idea.pk, "body": handoff.body_name}
        ),
        body=body,
    )


@transaction.atomic
def handoff_create(
    *,
    idea: Idea,
    body_name: str,
    body_email: str,
    message: str = "",
    days: int = DAYS_DEFAULT,
    actor: User | AnonymousUser | None,
) -> tuple[Handoff, str]:
    """A member of the pin's team hands the open pin to an outside body: the hand-off, the
    email with its link (queued), the audit record. Returns it and its token (the link's)."""
    idea = _locked(idea)
    person = _check_team(actor, idea)
    body_name = one_line(_clean_text(body_name, field="body_name", max_length=BODY_NAME_MAX_LENGTH))
    message = _clean_text(message, field="message", max_length=MESSAGE_MAX_LENGTH)
    problems: dict[str, list[str]] = {}
    if not body_name:
        problems["body_name"] = [gettext("Name the body the pin goes to.")]
    try:
        body_email = clean_email(body_email or "")
    except ValidationError as exc:
        problems["body_email"] = [m for ms in exc.message_dict.values() for m in ms]
    if not DAYS_MIN <= days <= DAYS_MAX:
        problems["days"] = [
            gettext("Between %(min)s and %(max)s days.") % {"min": DAYS_MIN, "max": DAYS_MAX}
        ]
    if not idea.is_open:
        problems.setdefault("__all__", []).append(str(NOT_OPEN_MESSAGE))
    active = idea.handoffs.filter(state__in=ACTIVE_STATES).first()
    if active is not None:
        problems.setdefault("__all__", []).append(
            str(ALREADY_HANDED_MESSAGE) % {"body": active.body_name}
        )
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    handoff = Handoff(
        idea=idea,
        team=idea.team,
        body_name=body_name,
        body_email=body_email,
        message=message,
        expires_at=now + timedelta(days=days),
        created_by=person,
        created_at=now,
    )
    token = _new_token(handoff)
    handoff.save()
    _queue_link(handoff, token)
    _audit(person, handoff, lambda: gettext("Pin #%(pin)s handed to %(body)s."))
    return handoff, token


def _locked_open(handoff: Handoff) -> Handoff:
    """The hand-off locked, if its link still works; else a ValidationError."""
    handoff = Handoff.objects.select_for_update().select_related("idea", "team").get(pk=handoff.pk)
    if not link_works(handoff):
        raise ValidationError({"__all__": [CLOSED_MESSAGE]})
    return handoff


@transaction.atomic
def handoff_accept(*, handoff: Handoff) -> Handoff:
    """The body takes the work on (from its link: the caller checked the token)."""
    handoff = _locked_open(handoff)
    if handoff.state in (State.SENT, State.RETURNED):
        handoff.state = State.ACCEPTED
        handoff.accepted_at = handoff.accepted_at or timezone.now()
        handoff.save(update_fields=["state", "accepted_at"])
    return handoff


def handoff_report(*, handoff: Handoff, comment: str, photo: File | None = None) -> Handoff:
    """The body reports the work done, with a comment and an optional after-photo (checked
    and re-encoded as citizens' photos are, before any lock). The team is told. A photo sent
    before replaces the earlier one."""
    comment = _clean_text(comment, field="comment", max_length=COMMENT_MAX_LENGTH)
    if not comment:
        raise ValidationError({"comment": [COMMENT_REQUIRED_MESSAGE]})
    processed = photo_process(photo) if photo is not None else None
    name = photo_save(processed) if processed is not None else ""
    try:
        with transaction.atomic():
            handoff = _locked_open(handoff)
            old_name = handoff.photo_name
            handoff.state = State.REPORTED
            handoff.body_comment = comment
            handoff.reported_at = timezone.now()
            handoff.accepted_at = handoff.accepted_at or handoff.reported_at
            fields = ["state", "body_comment", "reported_at", "accepted_at"]
            if processed is not None:
                handoff.photo_name = name
                handoff.photo_width, handoff.photo_height = processed.width, processed.height
                handoff.photo_bytes = len(processed.content)
                fields += ["photo_name", "photo_width", "photo_height", "photo_bytes"]
                if old_name:
                    transaction.on_commit(lambda: photo_delete(old_name))
            handoff.save(update_fields=fields)
            _queue_team_report(handoff)
    except BaseException:
        if name:
            photo_delete(name)
        raise
    return handoff


def _locked_for_team(handoff: Handoff, actor: User | AnonymousUser | None) -> tuple[Handoff, User]:
    """Pin, then hand-off, locked; `actor` checked against the pin as it is now."""
    _locked(handoff.idea)
    handoff = (
        Handoff.objects.select_for_update()
        .select_related("idea", "idea__team", "team")
        .get(pk=handoff.pk)
    )
    return handoff, _check_team(actor, handoff.idea)


def default_answer(handoff: Handoff) -> str:
    """The public answer an approval suggests: who did it, and what they said."""
    text = gettext("Done by %(body)s: %(comment)s") % {
        "body": handoff.body_name,
        "comment": handoff.body_comment,
    }
    return text[:ANSWER_MAX_LENGTH]


@transaction.atomic
def handoff_approve(
    *, handoff: Handoff, answer: str = "", actor: User | AnonymousUser | None
) -> Handoff:
    """The team approves the body's report: the pin is done, publicly, through the workflow
    (idea_status_change), with `answer` (by default default_answer) and the body's photo as
    the answer's "after" photo. Only a reported hand-off is approved."""
    handoff, person = _locked_for_team(handoff, actor)
    if handoff.state != State.REPORTED:
        raise ValidationError({"__all__": [NOT_REPORTED_MESSAGE]})
    photos: dict[str, File | None] = {}
    stream = None
    if handoff.photo_name:
        stream = photo_storage().open(handoff.photo_name, "rb")
        photos["after"] = File(stream, name="after.jpg")
    try:
        idea_status_change(
            idea=handoff.idea,
            status=Idea.Status.DONE,
            answer=answer.strip() or default_answer(handoff),
            actor=person,
            photos=photos,
        )
    finally:
        if stream is not None:
            stream.close()
    # The answer's photo is its own file now (re-encoded by the workflow): the body's goes.
    if handoff.photo_name:
        old_name = handoff.photo_name
        transaction.on_commit(lambda: photo_delete(old_name))
        handoff.photo_name = ""
    handoff.state = State.APPROVED
    handoff.decided_at = timezone.now()
    handoff.save(update_fields=["state", "decided_at", "photo_name"])
    _audit(person, handoff, lambda: gettext("Pin #%(pin)s: the work of %(body)s approved."))
    return handoff


@transaction.atomic
def handoff_return(
    *, handoff: Handoff, note: str, actor: User | AnonymousUser | None
) -> tuple[Handoff, str]:
    """The team sends the report back with a note, emailed to the body with a new link
    (valid again for as long as the first was). Returns it and the new token."""
    note = _clean_text(note, field="note", max_length=MESSAGE_MAX_LENGTH)
    handoff, person = _locked_for_team(handoff, actor)
    if not note:
        raise ValidationError({"note": [NOTE_REQUIRED_MESSAGE]})
    if handoff.state != State.REPORTED:
        raise ValidationError({"__all__": [NOT_REPORTED_MESSAGE]})
    now = timezone.now()
    handoff.state = State.RETURNED
    handoff.decided_at = now
    handoff.expires_at = now + (handoff.expires_at - handoff.created_at)
    token = _new_token(handoff)
    handoff.save(update_fields=["state", "decided_at", "expires_at", "token_hash"])
    _queue_link(handoff, token, note=note)
    _audit(person, handoff, lambda: gettext("Pin #%(pin)s: the work of %(body)s sent back."))
    return handoff, token


@transaction.atomic
def handoff_withdraw(*, handoff: Handoff, actor: User | AnonymousUser | None) -> Handoff:
    """The team takes the pin back: the link stops working, the photo sent (if any) goes,
    and the public timeline no longer says the pin was handed over."""
    handoff, person = _locked_for_team(handoff, actor)
    if handoff.state not in ACTIVE_STATES:
        raise ValidationError({"__all__": [CLOSED_MESSAGE]})
    if handoff.photo_name:
        old_name = handoff.photo_name
        transaction.on_commit(lambda: photo_delete(old_name))
        handoff.photo_name = ""
    handoff.state = State.WITHDRAWN
    handoff.decided_at = timezone.now()
    handoff.save(update_fields=["state", "decided_at", "photo_name"])
    _audit(person, handoff, lambda: gettext("Pin #%(pin)s: hand-off to %(body)s withdrawn."))
    return handoff
