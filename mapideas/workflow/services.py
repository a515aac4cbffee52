"""Writes of the district teams' workflow: status and public answers, notes, assignment,
duplicates, bulk actions, reassignment and input gathered offline."""

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial
from typing import Final, Literal, NotRequired, TypedDict, Unpack

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from mapideas.answers.selectors import automatic_template, fits
from mapideas.answers.services import answer_language, template_render
from mapideas.audit import services as audit
from mapideas.backoffice import queue as backoffice
from mapideas.models import (
    ANSWER_MAX_LENGTH,
    ID_MAX,
    NOTE_MAX_LENGTH,
    Category,
    Follower,
    Idea,
    IdeaNote,
    IdeaUpdate,
    Reopening,
    ResponseTemplate,
    RoutingEvent,
    Support,
    TimelinePhoto,
)
from mapideas.notifications import services as notifications
from mapideas.participation.services import _recount_supports, clean_email, follow
from mapideas.pins.photos import ProcessedPhoto, photo_delete, photo_process, photo_save
from mapideas.pins.roles import (
    OFFLINE_FORBIDDEN,
    WORK_FORBIDDEN,
    can_enter_offline,
    can_reassign,
    can_work_on,
)
from mapideas.pins.selectors import public_ideas, visible_idea
from mapideas.pins.services import _clean_text, _locked, _person
from mapideas.submission.services import _create_with_photo, idea_create
from mapideas.webhooks import services as webhooks
from mapideas.workflow import statuses as workflow
from neighborhoods.models import Team

REASSIGN_REASON_MESSAGE = gettext_lazy("Say why the pin goes to another team.")


# What a merge into a pin that is not public, or does not exist, is told: the same words.
NO_SUCH_PIN_MESSAGE = gettext_lazy("No such pin.")


REASSIGN_FORBIDDEN = gettext_lazy(
    "Only the pin's team, the city-wide triage team (for pins outside every neighborhood) "
    "and planners can re-assign it."
)


# --- Offline input entered by staff ------------------------------------------------------

# What staff may say a resident's input came through. Not "import": files go through
# `manage.py import_ideas`, which records that channel itself.
STAFF_ENTRY_CHANNELS = tuple(c for c in Idea.OFFLINE_CHANNELS if c != Idea.Channel.IMPORT)


GATHERED_IN_FUTURE_MESSAGE = gettext_lazy("The date gathered cannot be in the future.")


def gathered_at(day: date | None, *, now: datetime | None = None) -> datetime:
    """When input gathered on `day` counts as pinned: now for today (or no day), else noon of
    that day in TIME_ZONE (noon, so the day stays the same in any nearby time zone)."""
    now = now or timezone.now()
    if day is None or day == timezone.localdate(now):
        return now
    if day > timezone.localdate(now):
        raise ValidationError({"gathered_on": [GATHERED_IN_FUTURE_MESSAGE]})
    return timezone.make_aware(datetime.combine(day, time(12)))


class OfflineInput(TypedDict):
    """What staff enter for input gathered offline (the keywords of _offline_idea_create)."""

    kind: str
    title: str
    description: NotRequired[str]
    category: Category
    location: Point
    channel: str
    event_name: NotRequired[str]
    gathered_on: NotRequired[date | None]
    contact_name: NotRequired[str]
    contact_email: NotRequired[str]
    contact_phone: NotRequired[str]
    send_follow_link: NotRequired[bool]


def offline_idea_create(
    *,
    actor: User | AnonymousUser | None,
    photo: File | None = None,
    **given: Unpack[OfflineInput],
) -> Idea:
    """Staff enter input gathered offline on a resident's behalf (_offline_idea_create),
    with an optional `photo` (a resident's letter or paper form, say) checked, re-encoded
    and stored with the pin as idea_submit does: a refused one refuses the pin, naming
    `photo`, nothing written."""
    if actor is None or not can_enter_offline(actor):
        raise PermissionDenied(OFFLINE_FORBIDDEN)
    processed = photo_process(photo) if photo is not None else None
    return _create_with_photo(
        processed,
        lambda: _offline_idea_create(actor=actor, **given),
    )


@transaction.atomic
def _offline_idea_create(
    *,
    actor: User | AnonymousUser | None,
    kind: str,
    title: str,
    description: str = "",
    category: Category,
    location: Point,
    channel: str,
    event_name: str = "",
    gathered_on: date | None = None,
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    send_follow_link: bool = False,
) -> Idea:
    """Staff enter input gathered offline (a phone call, a town-hall meeting, a paper form,
    a letter) on a resident's behalf. Routed by idea_create like any pin, so possibly to
    another team than the one entering it.

    The pin has no author (the staff member did not say it); who entered it is kept in an
    internal note. The resident's contact stays private. Staff cannot consent for the
    resident: with `send_follow_link` and an email, the address gets the same confirmation
    link as someone following from the pin's page, and hears nothing more until it is
    followed. `gathered_on` (not in the future) dates the pin (gathered_at).
    """
    # Signed in: can_enter_offline says so too; checked here so the note can be signed.
    if actor is None or not actor.is_authenticated or not can_enter_offline(actor):
        raise PermissionDenied(OFFLINE_FORBIDDEN)
    if channel not in STAFF_ENTRY_CHANNELS:
        choices = ", ".join(str(c) for c in STAFF_ENTRY_CHANNELS)
        raise ValidationError(
            {"channel": [gettext("Choose one of: %(choices)s.") % {"choices": choices}]}
        )
    contact_email = (contact_email or "").strip()
    if contact_email:
        try:
            contact_email = clean_email(contact_email)
        except ValidationError as exc:
            raise ValidationError({"contact_email": exc.message_dict["email"]}) from None
    idea = idea_create(
        kind=kind,
        title=title,
        description=description,
        category=category,
        location=location,
        channel=channel,
        event_name=event_name,
        created_at=gathered_at(gathered_on),
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
    )
    label = Idea.Channel(channel).label.lower()
    IdeaNote.objects.create(
        idea=idea,
        kind=IdeaNote.Kind.NOTE,
        text=f"Entered by staff on a resident's behalf ({label}).",
        author=actor,
    )
    if contact_email and send_follow_link:
        follow(idea=idea, email=contact_email)
    return idea


@transaction.atomic
def idea_reassign(
    *, idea: Idea, team: Team, reason: str, actor: User | AnonymousUser | None = None
) -> RoutingEvent:
    """Staff send one pin to another team by hand, with a reason, recorded like any re-route.

    This is also the workflow's "not our responsibility": the routing history stays one
    timeline. The pin keeps its neighborhood (the place did not change, only who answers for
    it) and its status; its assignee, a member of the old team, is unassigned. Later
    boundary changes keep the team staff chose (Idea.team_set_by_staff). An `actor` is
    checked (mapideas.pins.roles.can_reassign); without one (commands, tests) the caller decided.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [REASSIGN_REASON_MESSAGE]})
    # Lock first, then check: two staff re-assigning at once must not both pass the check.
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    if actor is not None and not can_reassign(actor, idea):
        raise PermissionDenied(REASSIGN_FORBIDDEN)
    if team.pk == idea.team_id:
        raise ValidationError(
            {"team": [gettext("The pin is already with %(team)s.") % {"team": team.display_name}]}
        )
    if idea.assignee_id is not None and not team.members.filter(pk=idea.assignee_id).exists():
        IdeaNote.objects.create(
            idea=idea,
            kind=IdeaNote.Kind.UNASSIGNED,
            text=f"Unassigned: the pin went to {team.name}.",
            author=_person(actor),
        )
        idea.assignee = None
    event = RoutingEvent.objects.create(
        idea=idea,
        cause=RoutingEvent.Cause.MANUAL,
        from_neighborhood_id=idea.neighborhood_id,
        to_neighborhood_id=idea.neighborhood_id,
        from_team_id=idea.team_id,
        to_team=team,
        reason=reason,
        actor=actor if actor is not None and actor.is_authenticated else None,
    )
    from_team = idea.team
    idea.team = team
    # Boundary changes keep this team from now on (mapideas.rerouting).
    idea.team_set_by_staff = True
    idea.save(update_fields=["team", "team_set_by_staff", "assignee", "updated_at"])
    # Its request stays at the old team's back office (listed for staff); the new team's
    # gets it.
    backoffice.forward_queue(idea)
    audit.audit_record(
        actor=actor,
        action=audit.Action.REASSIGNMENT,
        summary=audit.in_site_language(
            lambda: (
                gettext("Pin #%(pin)s sent from %(from)s to %(to)s: %(reason)s")
                % {"pin": idea.pk, "from": from_team.name, "to": team.name, "reason": reason}
            )
        ),
        idea_number=idea.pk,
        team=from_team,
    )
    return event


# --- The district teams' workflow (mapideas.workflow) -----------------------------------------
#
# Every write locks the pin first, then checks who may (mapideas.pins.roles.can_work_on) and what
# (mapideas.workflow), then writes the change and its timeline entry in one transaction:
# public steps in IdeaUpdate, internal ones in IdeaNote.

ANSWER_REQUIRED_MESSAGE = gettext_lazy(
    "Tell the citizen why: a public answer is required for {status}."
)


NOTE_REQUIRED_MESSAGE = gettext_lazy("Write the note.")
REOPEN_ANSWER_REQUIRED_MESSAGE = gettext_lazy(
    "Tell the citizen why the pin is reopened: a public answer is required."
)


def _check_may_work_on(actor: User | AnonymousUser | None, idea: Idea) -> User:
    """`actor`, who may change the pin's workflow (so is signed in: can_work_on says so too),
    else PermissionDenied."""
    if actor is None or not actor.is_authenticated or not can_work_on(actor, idea):
        raise PermissionDenied(WORK_FORBIDDEN)
    return actor


def _check_status_change(idea: Idea, status: str, answer: str) -> None:
    """What idea_status_change refuses, without writing: a ValidationError naming the field."""
    if status == Idea.Status.DUPLICATE:
        raise ValidationError(
            {
                "status": [
                    gettext(
                        "Mark the pin as a duplicate of another one instead (give duplicate_of)."
                    )
                ]
            }
        )
    if status == idea.status:
        if not answer:
            raise ValidationError(
                {
                    "status": [
                        gettext("The pin is already %(status)s: change it, or answer.")
                        % {"status": workflow.label(status)}
                    ]
                }
            )
        return  # an answer without a status change
    workflow.check_transition(idea.status, status)
    if status in workflow.ANSWER_REQUIRED and not answer:
        raise ValidationError(
            {"answer": [ANSWER_REQUIRED_MESSAGE.format(status=workflow.label(status))]}
        )
    if workflow.is_reopening(idea.status, status) and not answer:
        raise ValidationError({"answer": [REOPEN_ANSWER_REQUIRED_MESSAGE]})


def _record_update(
    idea: Idea,
    *,
    status: str,
    answer: str,
    actor: User | AnonymousUser | None,
    duplicate_of: Idea | None = None,
    now: datetime | None = None,
    reopen_cause: str = Reopening.Cause.TEAM,
    photos: Sequence[tuple[str, ProcessedPhoto, str]] = (),
    from_city_system: bool = False,
) -> IdeaUpdate:
    """Write one public step on a locked pin: the IdeaUpdate, the status and what follows.

    A step back from done or declined to an open status is a reopening (a Reopening row,
    caused by the team unless `reopen_cause` says residents' disputes did); the first step
    after it answers it, on the reopening's own clock. Closing sets Idea.closed_at."""
    now = now or timezone.now()
    if status == idea.status or not workflow.is_reopening(idea.status, status):
        # The first public step after the latest reopening is its answer.
        Reopening.objects.filter(idea=idea, first_response_at__isnull=True).update(
            first_response_at=now
        )
    update = IdeaUpdate.objects.create(
        idea=idea,
        from_status=idea.status,
        to_status=status,
        answer=answer,
        team_id=idea.team_id,
        duplicate_of=duplicate_of,
        actor=_person(actor),
        from_city_system=from_city_system,
        created_at=now,
    )
    fields = ["status", "updated_at"]
    if idea.first_response_at is None and (status != Idea.Status.NEW or answer):
        idea.first_response_at = now
        fields.append("first_response_at")
    if answer:
        idea.answer, idea.answer_at = answer, now
        fields += ["answer", "answer_at"]
    if status != Idea.Status.DUPLICATE and idea.duplicate_of_id is not None:
        idea.duplicate_of = None  # un-merged
        fields.append("duplicate_of")
    if duplicate_of is not None:
        idea.duplicate_of = duplicate_of
        fields.append("duplicate_of")
    if status in workflow.CLOSED and status != idea.status:
        idea.closed_at = now
        fields.append("closed_at")
    reopening = workflow.is_reopening(idea.status, status)
    if reopening:
        Reopening.objects.filter(idea=idea, first_response_at__isnull=True).update(
            first_response_at=now
        )
        Reopening.objects.create(idea=idea, update=update, cause=reopen_cause, created_at=now)
        idea.reopen_count += 1
        idea.reopened_at = now
        fields += ["reopen_count", "reopened_at"]
    idea.status = status
    idea.save(update_fields=fields)
    # The answer's photos (role, checked photo, stored file's name), before the followers'
    # email is written: it links to them.
    for role, photo, name in photos:
        TimelinePhoto.objects.create(
            idea=idea,
            update=update,
            role=role,
            name=name,
            width=photo.width,
            height=photo.height,
            bytes=len(photo.content),
            created_at=now,
        )
    # Its followers are told (an outbox row each, in this transaction: send_notifications
    # sends them after the commit; a rollback takes them back with the change).
    notifications.notify_followers(idea, update)
    _audit_update(idea, update, actor)
    # And the city's systems that listen (signed webhooks, queued likewise).
    if update.from_status != update.to_status:
        webhooks.pin_event_queue(idea, webhooks.Event.STATUS_CHANGED, update=update)
    elif update.answer:
        webhooks.pin_event_queue(idea, webhooks.Event.ANSWERED, update=update)
    return update


def _audit_update(idea: Idea, update: IdeaUpdate, actor: User | AnonymousUser | None) -> None:
    """The step in the staff's audit log, when a person took it."""

    def summary() -> str:
        # Called inside in_site_language: the status labels in the site's language too.
        values = {
            "pin": idea.pk,
            "from": workflow.label(update.from_status),
            "to": workflow.label(update.to_status),
            "original": update.duplicate_of_id,
        }
        if update.duplicate_of_id is not None:
            return gettext("Pin #%(pin)s merged into pin #%(original)s.") % values
        if update.from_status != update.to_status and update.answer:
            return gettext("Pin #%(pin)s: %(from)s → %(to)s, with a public answer.") % values
        if update.from_status != update.to_status:
            return gettext("Pin #%(pin)s: %(from)s → %(to)s.") % values
        return gettext("Pin #%(pin)s: a public answer.") % values

    if update.duplicate_of_id is not None:
        action = audit.Action.DUPLICATE
    elif update.from_status != update.to_status:
        action = audit.Action.STATUS
    else:
        action = audit.Action.ANSWER
    audit.audit_record(
        actor=actor,
        action=action,
        summary=audit.in_site_language(summary),
        idea_number=idea.pk,
        team=idea.team,
    )


# The photos a public answer may carry, by the form field that sends each.
ANSWER_PHOTO_ROLES: dict[str, str] = {
    TimelinePhoto.Role.BEFORE: "photo_before",
    TimelinePhoto.Role.AFTER: "photo_after",
}


TEMPLATE_MISFIT_MESSAGE = gettext_lazy(
    "This template is not one of the pin's team's templates for its category."
)


def _answer_photos(photos: Mapping[str, File | None] | None) -> dict[str, ProcessedPhoto]:
    """The answer's photos checked and re-encoded (mapideas.pins.photos), by role; a refused
    one is a ValidationError naming its field (`photo_before`, `photo_after`), nothing
    written. Read before any lock: decoding a photo takes time."""
    processed: dict[str, ProcessedPhoto] = {}
    for role, upload in (photos or {}).items():
        if role not in ANSWER_PHOTO_ROLES:
            raise ValidationError(
                {"photos": [gettext("Unknown photo role %(role)s.") % {"role": role}]}
            )
        if upload is None:
            continue
        try:
            processed[role] = photo_process(upload)
        except ValidationError as exc:
            messages = [m for ms in exc.message_dict.values() for m in ms]
            raise ValidationError({ANSWER_PHOTO_ROLES[role]: messages}) from None
    return processed


def _template_answer(
    idea: Idea, *, status: str, answer: str, template: ResponseTemplate | None
) -> str:
    """The answer a status change publishes: the one written; else the template chosen,
    rendered for this pin in its language; else, for a new status, the template its team
    attached to that status (mapideas.answers.selectors.automatic_template); else none."""
    if answer:
        return answer
    if template is not None:
        if not fits(template, idea):
            raise ValidationError({"template": [TEMPLATE_MISFIT_MESSAGE]})
    elif status != idea.status:
        template = automatic_template(idea=idea, status=status)
    if template is None:
        return ""
    rendered = template_render(template, idea, answer_language(idea), status=status)
    return _clean_text(rendered, field="template", max_length=ANSWER_MAX_LENGTH)


def idea_status_change(
    *,
    idea: Idea,
    status: str,
    answer: str = "",
    actor: User | AnonymousUser | None,
    template: ResponseTemplate | None = None,
    photos: Mapping[str, File | None] | None = None,
) -> IdeaUpdate:
    """A team moves a pin along the workflow (mapideas.workflow.statuses.TRANSITIONS), with a public
    answer (required for done and declined). The same status with an answer is an answer
    alone. "Duplicate" goes through idea_mark_duplicate; "not our responsibility" through
    idea_reassign.

    Without an answer, `template` (one of the pin's team's, for its category or any) is the
    answer, rendered in the pin's language; without either, a template the team attached to
    the new status is (_template_answer). `photos` ({"before": file, "after": file}, each
    optional) are checked as citizens' photos are and kept with the answer, all or nothing:
    the files are written first and deleted again if the change is refused."""
    answer = _clean_text(answer, field="answer", max_length=ANSWER_MAX_LENGTH)
    # Checked before the photos are decoded (again under the lock): nobody else costs a
    # worker a decode.
    _check_may_work_on(actor, idea)
    processed = _answer_photos(photos)
    names: dict[str, str] = {}
    try:
        for role, photo in processed.items():
            names[role] = photo_save(photo)
        with transaction.atomic():
            idea = _locked(idea)
            _check_may_work_on(actor, idea)
            answer = _template_answer(idea, status=status, answer=answer, template=template)
            _check_status_change(idea, status, answer)
            update = _record_update(
                idea,
                status=status,
                answer=answer,
                actor=actor,
                photos=[(role, photo, names[role]) for role, photo in processed.items()],
            )
    except BaseException:
        for name in names.values():
            photo_delete(name)
        raise
    return update


def idea_update_from_city_system(
    *, idea: Idea, status: str, answer: str, default_answer: str
) -> IdeaUpdate | None:
    """A step taken in the city's own work-order system and read back from it
    (mapideas.backoffice): written as the team's, marked as coming from the city's system.

    The workflow's rules hold as for a team: a status the pin cannot move to from where it
    is now (a merged duplicate "closed" remotely, say) is not applied, and the remote's
    notes, if new, are kept as an answer alone. A status that owes the citizen a reason gets
    `default_answer` when the remote gave no notes. None when there is nothing to record."""
    answer = answer.strip()[:ANSWER_MAX_LENGTH]
    with transaction.atomic():
        idea = _locked(idea)
        if status != idea.status and status not in workflow.TRANSITIONS.get(idea.status, ()):
            status = idea.status
        if status == idea.status and not answer:
            return None
        if not answer and (
            status in workflow.ANSWER_REQUIRED or workflow.is_reopening(idea.status, status)
        ):
            answer = default_answer
        return _record_update(idea, status=status, answer=answer, actor=None, from_city_system=True)


@transaction.atomic
def idea_note_add(*, idea: Idea, text: str, author: User | AnonymousUser | None) -> IdeaNote:
    """An internal note on a pin, for staff only (mapideas.pins.roles.can_see_internal)."""
    text = _clean_text(text, field="text", max_length=NOTE_MAX_LENGTH)
    if not text:
        raise ValidationError({"text": [NOTE_REQUIRED_MESSAGE]})
    idea = _locked(idea)
    person = _check_may_work_on(author, idea)
    return IdeaNote.objects.create(idea=idea, kind=IdeaNote.Kind.NOTE, text=text, author=person)


def _check_assignee(idea: Idea, assignee: User | None) -> None:
    if assignee is None:
        if idea.assignee_id is None:
            raise ValidationError({"assignee": [gettext("The pin is not assigned to anyone.")]})
        return
    if assignee.pk == idea.assignee_id:
        raise ValidationError(
            {
                "assignee": [
                    gettext("The pin is already assigned to %(user)s.")
                    % {"user": assignee.get_username()}
                ]
            }
        )
    if not idea.team.members.filter(pk=assignee.pk).exists():
        raise ValidationError(
            {
                "assignee": [
                    gettext("%(user)s is not a member of %(team)s, which has the pin.")
                    % {"user": assignee.get_username(), "team": idea.team.display_name}
                ]
            }
        )


def _record_assignment(
    idea: Idea, assignee: User | None, actor: User | AnonymousUser | None
) -> IdeaNote:
    if assignee is None:
        note = IdeaNote(kind=IdeaNote.Kind.UNASSIGNED, assignee=idea.assignee)
    else:
        note = IdeaNote(kind=IdeaNote.Kind.ASSIGNED, assignee=assignee)
    note.idea, note.author = idea, _person(actor)
    note.save()
    idea.assignee = assignee
    idea.save(update_fields=["assignee", "updated_at"])
    if assignee is None:
        summary = audit.in_site_language(
            lambda: gettext("Pin #%(pin)s unassigned.") % {"pin": idea.pk}
        )
    else:
        summary = audit.in_site_language(
            lambda: (
                gettext("Pin #%(pin)s assigned to %(user)s.")
                % {"pin": idea.pk, "user": assignee.get_username()}
            )
        )
    audit.audit_record(
        actor=actor,
        action=audit.Action.ASSIGNMENT,
        summary=summary,
        idea_number=idea.pk,
        team=idea.team,
    )
    return note


@transaction.atomic
def idea_assign(
    *, idea: Idea, assignee: User | None, actor: User | AnonymousUser | None
) -> IdeaNote:
    """Give a pin to a member of its team (None: unassign). Internal: recorded as a note."""
    idea = _locked(idea)
    _check_may_work_on(actor, idea)
    _check_assignee(idea, assignee)
    return _record_assignment(idea, assignee, actor)


def duplicate_answer(original: Idea) -> str:
    return f"This is the same as pin #{original.pk}, “{original.title}”: follow it there."


@transaction.atomic
def idea_mark_duplicate(
    *, idea: Idea, original: Idea, answer: str = "", actor: User | AnonymousUser | None
) -> IdeaUpdate:
    """Merge a pin into another: status "duplicate", `duplicate_of` the original, and a public
    answer (by default one pointing at the original). Pins that were duplicates of this one
    now point at the original too, so nobody follows a chain.

    Its supports and followers move to the original, one per person (after they are told of
    the merge).

    The original is a public pin (selectors.merge_original): the default answer quotes its
    title, and supporters and followers must never land where the public cannot follow. A
    pin that is not public is "No such pin." as one that does not exist, checked again here
    under the lock (moderation may have hidden it since the form was read).
    """
    answer = _clean_text(answer, field="answer", max_length=ANSWER_MAX_LENGTH)
    if original.pk == idea.pk:
        raise ValidationError({"duplicate_of": [gettext("A pin cannot be a duplicate of itself.")]})
    # Both locked, in id order, so two merges of the same pair cannot deadlock or cross.
    pks = [pk for pk in (idea.pk, original.pk) if pk is not None and 0 < pk <= ID_MAX]
    locked = {
        i.pk: i
        for i in Idea.objects.select_for_update()
        .select_related("team")
        .filter(pk__in=pks)
        .order_by("pk")
    }
    idea = locked[idea.pk]
    _check_may_work_on(actor, idea)
    if original.pk not in locked or not locked[original.pk].is_public:
        raise ValidationError({"duplicate_of": [NO_SUCH_PIN_MESSAGE]})
    original = locked[original.pk]
    if original.status == Idea.Status.DUPLICATE:
        raise ValidationError({"duplicate_of": [_chained_duplicate_message(original)]})
    workflow.check_transition(idea.status, Idea.Status.DUPLICATE)
    update = _record_update(
        idea,
        status=Idea.Status.DUPLICATE,
        answer=answer or duplicate_answer(original),
        actor=actor,
        duplicate_of=original,
    )
    Idea.objects.filter(duplicate_of=idea).update(duplicate_of=original)
    _move_supporters_and_followers(idea, original)
    return update


def _chained_duplicate_message(original: Idea) -> str:
    """Why a duplicate is no original, naming the pin it points to only while that one is
    public (else its number would say a pin the public cannot see exists)."""
    target = original.duplicate_of_id
    if target is not None and public_ideas().filter(pk=target).exists():
        return (
            f"Pin #{original.pk} is itself a duplicate of pin #{target}: "
            f"mark this one as a duplicate of #{target}."
        )
    return f"Pin #{original.pk} is itself a duplicate: it cannot be an original."


class _Unchanged(enum.Enum):
    """ideas_bulk_update's assignee when none is given (None means "unassign")."""

    UNCHANGED = enum.auto()


_UNCHANGED: Final = _Unchanged.UNCHANGED


def _already_assigned(idea: Idea, assignee: object) -> bool:
    return idea.assignee_id == getattr(assignee, "pk", None)


@dataclass(frozen=True)
class BulkResult:
    ideas: list[Idea]
    updates: list[IdeaUpdate]
    notes: list[IdeaNote]


@transaction.atomic
def ideas_bulk_update(
    *,
    ideas: list[int] | list[Idea],
    actor: User | AnonymousUser | None,
    status: str | None = None,
    answer: str = "",
    template: ResponseTemplate | None = None,
    assignee: User | None | Literal[_Unchanged.UNCHANGED] = _UNCHANGED,
) -> BulkResult:
    """One change to a selection of pins from a team's queue: a status (with one answer for
    all) and/or an assignee (None: unassign). All or nothing: every pin is locked and checked
    (who may, which transition, which assignee) before anything is written; one refusal
    refuses the lot, naming the pins.

    Without an answer, `template`, else the template the team attached to the status, is
    each pin's answer, rendered for that pin in its language (_template_answer).
    """
    ids = sorted({i.pk if isinstance(i, Idea) else int(i) for i in ideas})
    if not ids:
        raise ValidationError({"ideas": [gettext("Select at least one pin.")]})
    if status is None and assignee is _UNCHANGED:
        raise ValidationError({"action": [gettext("Choose a status or an assignee.")]})
    answer = _clean_text(answer, field="answer", max_length=ANSWER_MAX_LENGTH)
    # An id no primary key can hold names no pin; SQLite cannot even compare it (an error,
    # not an empty answer), so it is never sent.
    storable = [pk for pk in ids if 0 < pk <= ID_MAX]
    locked = list(
        Idea.objects.select_for_update()
        .select_related("team")
        .filter(pk__in=storable)
        .order_by("pk")
    )
    # A pin this person may not see (another team's, hidden or awaiting confirmation) is
    # named as one that does not exist: "Not yours" would say it is there. The one rule of
    # who sees a pin is pins.selectors.visible_idea, asked for the few pins not public.
    viewer = actor if actor is not None else AnonymousUser()
    seen = [i for i in locked if i.is_public or visible_idea(user=viewer, pk=i.pk) is not None]
    missing = sorted(set(ids) - {i.pk for i in seen})
    if missing:
        raise ValidationError(
            {
                "ideas": [
                    gettext("No such pin: %(pins)s.")
                    % {"pins": ", ".join(f"#{m}" for m in missing)}
                ]
            }
        )
    forbidden = [i.pk for i in locked if actor is None or not can_work_on(actor, i)]
    if forbidden:
        raise PermissionDenied(
            f"{WORK_FORBIDDEN} "
            + gettext("Not yours: %(pins)s.") % {"pins": ", ".join(f"#{pk}" for pk in forbidden)}
        )
    problems: dict[str, list[str]] = {}
    answers: dict[int, str] = {}
    for idea in locked:
        checks: list[Callable[[], None]] = []
        if status is not None:
            checks.append(partial(_check_bulk_status, idea, status, answer, template, answers))
        if assignee is not _UNCHANGED and not _already_assigned(idea, assignee):
            checks.append(partial(_check_assignee, idea, assignee))
        for check in checks:
            try:
                check()
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    problems.setdefault(field, []).extend(f"#{idea.pk}: {m}" for m in messages)
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    updates, notes = [], []
    for idea in locked:
        if status is not None:
            updates.append(
                _record_update(idea, status=status, answer=answers[idea.pk], actor=actor, now=now)
            )
        # Pins already with that person (or already unassigned) are left as they are.
        if assignee is not _UNCHANGED and not _already_assigned(idea, assignee):
            notes.append(_record_assignment(idea, assignee, actor))
    return BulkResult(ideas=locked, updates=updates, notes=notes)


def _check_bulk_status(
    idea: Idea,
    status: str,
    answer: str,
    template: ResponseTemplate | None,
    answers: dict[int, str],
) -> None:
    """One pin's part of a bulk status change: its answer (_template_answer) into `answers`,
    then what idea_status_change refuses."""
    answers[idea.pk] = _template_answer(idea, status=status, answer=answer, template=template)
    _check_status_change(idea, status, answers[idea.pk])


def _move_supporters_and_followers(idea: Idea, original: Idea) -> None:
    """On a merge: the duplicate's supports and followers go to the original, one per person
    (someone who supported or followed both keeps one; a confirmed address stays confirmed),
    and both support counts are recounted."""
    supports = Support.objects.filter(idea=idea)
    supports.filter(
        user__in=Support.objects.filter(idea=original, user__isnull=False).values("user")
    ).delete()
    supports.exclude(token_hash="").filter(
        token_hash__in=Support.objects.filter(idea=original)
        .exclude(token_hash="")
        .values("token_hash")
    ).delete()
    supports.update(idea=original)
    _recount_supports(idea.pk)
    _recount_supports(original.pk)

    followers = Follower.objects.filter(idea=idea)
    followers.filter(
        user__in=Follower.objects.filter(idea=original, user__isnull=False).values("user")
    ).delete()
    theirs = {f.email: f for f in Follower.objects.filter(idea=original).exclude(email="")}
    for follower in followers.exclude(email=""):
        kept = theirs.get(follower.email)
        if kept is None:
            continue
        if kept.confirmed_at is None and follower.confirmed_at is not None:
            kept.confirmed_at = follower.confirmed_at
            kept.save(update_fields=["confirmed_at"])
        follower.delete()
    followers.update(idea=original)
