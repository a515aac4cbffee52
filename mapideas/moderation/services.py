"""Moderation: anyone flags a pin; MAPIDEAS_FLAGS_TO_HIDE flags hide it from every public
output until staff of its team keep it or remove it.

The writes (flag, decide) and the queue's read are here rather than in services.py and
selectors.py, next to each other, as mapideas.alerts keeps area alerts. Like every service:
one transaction, the pin's row locked, permissions checked here and not only in the pages.

- A flag is one per person per pin, ever: by account when signed in, else by a keyed hash of
  the IP address (models.Flag says why not a cookie). Flagging again changes nothing.
- Hidden means `Idea.hidden_by_moderation_at` is set: selectors.public_ideas() leaves the pin
  out, so the map, lists, API, OGC, exports, Open311, engagement layers and alerts follow; its
  page is a 404 for the public (views.visible_pin_or_404), staff of its team see it with a banner.
- "keep": the pin is public again and its flags are cleared; MAPIDEAS_FLAGS_TO_HIDE new
  flags (from people who have not flagged it before) are needed to hide it again.
- "remove": the pin stays hidden for good. Its status is left as it is: a removal is not an
  answer to the citizen's idea (the workflow's "declined" is), and a status change would
  email its followers about a pin they can no longer open.
Each decision is an internal note on the pin (IdeaNote), signed by who decided.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mapideas.audit import services as audit
from mapideas.models import FLAG_TEXT_MAX_LENGTH, Flag, Idea, IdeaNote
from mapideas.pins import selectors
from mapideas.pins.roles import can_work_on
from neighborhoods.roles import is_planner

DECIDE_FORBIDDEN = gettext_lazy(
    "Only members of the pin's team (or of a team whose area it lies in too, while it is "
    "open) and administrators decide on flagged pins; planners read only."
)
QUEUE_FORBIDDEN = gettext_lazy(
    "Only team members, planners and administrators see the moderation queue."
)
NOTHING_TO_DECIDE_MESSAGE = gettext_lazy("This pin has no flags waiting for a decision.")
REMOVED_MESSAGE = gettext_lazy("This pin was removed by moderators.")
KEEP, REMOVE = "keep", "remove"
DECISIONS = {KEEP: "kept", REMOVE: "removed"}


@dataclass(frozen=True)
class FlagResult:
    flag: Flag
    created: bool  # False: this person had flagged the pin already (nothing changed)
    hidden: bool  # whether the pin is now hidden from the public


def _locked(idea: Idea) -> Idea:
    return Idea.objects.select_for_update().select_related("team").get(pk=idea.pk)


@transaction.atomic
def idea_flag(
    *,
    idea: Idea,
    reason: str,
    text: str = "",
    user: User | AnonymousUser | None = None,
    flagger_hash: str = "",
) -> FlagResult:
    """Someone flags a pin: a signed-in `user`, else the keyed hash of their IP address
    (`flagger_hash`). The MAPIDEAS_FLAGS_TO_HIDE-th flag since staff last decided hides the
    pin. A ValidationError names `reason` or `text`; a pin already hidden takes no flags
    (ValidationError on `idea`: the callers answer 404, as for a pin that does not exist)."""
    if reason not in Flag.Reason.values:
        raise ValidationError(
            {
                "reason": [
                    _("Choose one of: %(choices)s.") % {"choices": ", ".join(Flag.Reason.values)}
                ]
            }
        )
    text = (text or "").strip()
    if len(text) > FLAG_TEXT_MAX_LENGTH:
        raise ValidationError(
            {
                "text": [
                    _("At most %(max)s characters, not %(length)s.")
                    % {"max": FLAG_TEXT_MAX_LENGTH, "length": len(text)}
                ]
            }
        )
    person = user if user is not None and user.is_authenticated else None
    who: dict[str, Any]
    if person is not None:
        who = {"flagged_by": person}
    elif flagger_hash:
        who = {"flagged_by": None, "flagger_hash": flagger_hash}
    else:
        raise PermissionDenied("An anonymous flag needs the flagger's keyed hash.")
    # The lock orders concurrent flags of one pin: the count and the hiding stay exact.
    idea = _locked(idea)
    if not idea.is_public:
        raise ValidationError({"idea": [_("No public pin with this number.")]})
    flag, created = Flag.objects.get_or_create(
        idea=idea, **who, defaults={"reason": reason, "text": text}
    )
    if created:
        pin = Idea.objects.filter(pk=idea.pk)
        pin.update(flag_count=F("flag_count") + 1)
        # Read back after the write: on SQLite (no row locks) the write lock is only held
        # from the first write, so the count read before it may be stale.
        idea.flag_count = pin.values_list("flag_count", flat=True).get()
        if idea.flag_count >= settings.MAPIDEAS_FLAGS_TO_HIDE:
            idea.hidden_by_moderation_at = timezone.now()
            pin.update(hidden_by_moderation_at=idea.hidden_by_moderation_at)
    return FlagResult(flag=flag, created=created, hidden=idea.hidden_by_moderation_at is not None)


@transaction.atomic
def idea_moderate(
    *, idea: Idea, decision: str, actor: User | AnonymousUser | None, reason: str = ""
) -> Idea:
    """Staff decide on a flagged pin: KEEP (public again, flags cleared) or REMOVE (hidden
    for good). Who may: roles.can_work_on (the pin's team, teams whose area it lies in while
    open, administrators); others get PermissionDenied and nothing is written. Recorded as
    an internal note signed by `actor`."""
    if decision not in DECISIONS:
        raise ValidationError(
            {"decision": [_("Choose %(keep)s or %(remove)s.") % {"keep": KEEP, "remove": REMOVE}]}
        )
    reason = (reason or "").strip()
    if len(reason) > FLAG_TEXT_MAX_LENGTH:
        raise ValidationError(
            {
                "reason": [
                    _("At most %(max)s characters, not %(length)s.")
                    % {"max": FLAG_TEXT_MAX_LENGTH, "length": len(reason)}
                ]
            }
        )
    idea = _locked(idea)
    # Anonymous visitors may not work on a pin either (can_work_on): refused the same way.
    if actor is None or not actor.is_authenticated or not can_work_on(actor, idea):
        raise PermissionDenied(DECIDE_FORBIDDEN)
    if idea.moderation_decision == DECISIONS[REMOVE] or idea.flag_count == 0:
        raise ValidationError({"decision": [NOTHING_TO_DECIDE_MESSAGE]})
    now = timezone.now()
    open_flags = Flag.objects.filter(idea=idea, cleared_at__isnull=True)
    reasons = sorted(set(open_flags.values_list("reason", flat=True)))
    was_hidden = idea.hidden_by_moderation_at is not None
    flags = idea.flag_count
    open_flags.update(cleared_at=now)
    idea.flag_count = 0
    idea.moderation_decision = DECISIONS[decision]
    idea.moderation_decided_at = now
    if decision == KEEP:
        idea.hidden_by_moderation_at = None
    elif idea.hidden_by_moderation_at is None:  # removed before the flags hid it
        idea.hidden_by_moderation_at = now
    idea.save(
        update_fields=[
            "flag_count",
            "moderation_decision",
            "moderation_decided_at",
            "hidden_by_moderation_at",
            "updated_at",
        ]
    )
    labels = ", ".join(Flag.Reason(r).label.lower() for r in reasons)
    text = (
        f"Moderation: {DECISIONS[decision]} after {flags} flag(s) ({labels})"
        f"{', while hidden' if was_hidden else ''}."
    )
    if reason:
        text += f" {reason}"
    IdeaNote.objects.create(idea=idea, kind=IdeaNote.Kind.NOTE, text=text, author=actor)
    audit.audit_record(
        actor=actor,
        action=audit.Action.MODERATION,
        summary=audit.in_site_language(
            lambda: (
                (_("Pin #%(pin)s kept.") if decision == KEEP else _("Pin #%(pin)s removed."))
                % {"pin": idea.pk}
            )
        ),
        idea_number=idea.pk,
        team=idea.team,
    )
    return idea


# --- Reads --------------------------------------------------------------------------------


def can_see_queue(user: User | AnonymousUser) -> bool:
    """Team members (their teams' pins), planners (all, read-only), administrators (all)."""
    if not user.is_authenticated:
        return False
    return is_planner(user) or user.teams.exists()


def moderation_queue(*, user: User) -> QuerySet[Idea]:
    """The flagged pins waiting for a decision that `user` sees: every one for planners and
    administrators, else those of the user's teams (routed to them, or lying in their area
    too). Hidden ones first, then the most flagged, then the newest. Each pin carries its
    waiting flags as `open_flags` (one query for the page)."""
    ideas = selectors.all_ideas().filter(flag_count__gt=0).exclude(moderation_decision="removed")
    if not is_planner(user):
        teams = user.teams.all()
        # A subquery, not .distinct() over a join: DISTINCT would compare every column.
        theirs = Idea.objects.filter(Q(team__in=teams) | Q(also_in_teams__in=teams))
        ideas = ideas.filter(pk__in=theirs.values("pk"))
    return ideas.prefetch_related(
        Prefetch(
            "flags",
            queryset=Flag.objects.filter(cleared_at__isnull=True).order_by("created_at", "id"),
            to_attr="open_flags",
        )
    ).order_by(F("hidden_by_moderation_at").desc(nulls_last=True), "-flag_count", "-id")
