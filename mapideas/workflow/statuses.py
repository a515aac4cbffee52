"""The district teams' workflow: which status may follow which.

Pure rules, no database: the services (mapideas.workflow.services) apply them, the forms offer
only what they allow. When an answer is due is counted in working days of the team's calendar
(neighborhoods.calendars), by the selectors.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from mapideas.models import Idea

S = Idea.Status

# Every allowed status change, from -> to. Forward steps may be skipped (a quick fix goes from
# new to done); going back is limited to what a team really does: a plan dropped back to
# review, work paused back to planned, a pin reopened (done -> in progress), a refusal or a
# merge reconsidered (-> under review). Nothing goes back to "new": once answered, a pin has
# been answered. "Not our responsibility" is no status: it re-routes the pin to another team
# (mapideas.workflow.services.idea_reassign), which keeps the routing history one timeline.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset(
        {
            S.ACKNOWLEDGED,
            S.UNDER_REVIEW,
            S.PLANNED,
            S.IN_PROGRESS,
            S.DONE,
            S.DECLINED,
            S.DUPLICATE,
        }
    ),
    S.ACKNOWLEDGED: frozenset(
        {S.UNDER_REVIEW, S.PLANNED, S.IN_PROGRESS, S.DONE, S.DECLINED, S.DUPLICATE}
    ),
    S.UNDER_REVIEW: frozenset({S.PLANNED, S.IN_PROGRESS, S.DONE, S.DECLINED, S.DUPLICATE}),
    S.PLANNED: frozenset({S.UNDER_REVIEW, S.IN_PROGRESS, S.DONE, S.DECLINED, S.DUPLICATE}),
    S.IN_PROGRESS: frozenset({S.PLANNED, S.DONE, S.DECLINED}),
    S.DONE: frozenset({S.IN_PROGRESS}),
    S.DECLINED: frozenset({S.UNDER_REVIEW}),
    S.DUPLICATE: frozenset({S.UNDER_REVIEW}),
}

# The citizen is owed a reason (public answer) for these. A duplicate gets a default answer
# pointing at the original when the team gives none (services.idea_mark_duplicate).
ANSWER_REQUIRED = frozenset({S.DONE, S.DECLINED, S.DUPLICATE})

# A closed pin: its team says the work is over. Residents may confirm or dispute it
# (mapideas.outcomes); moving it back to an open status is a reopening (REOPENINGS), which
# owes the citizen a reason too and starts its own response clock (models.Reopening).
CLOSED = frozenset({S.DONE, S.DECLINED})
REOPENINGS: dict[str, str] = {S.DONE: S.IN_PROGRESS, S.DECLINED: S.UNDER_REVIEW}


def is_reopening(current: str, new: str) -> bool:
    return current in CLOSED and new in Idea.OPEN_STATUSES


# Statuses a team sets with a plain status change; "duplicate" needs the original pin
# (services.idea_mark_duplicate).
PLAIN_STATUSES = tuple(status for status in S if status != S.DUPLICATE)


def label(status: str) -> str:
    return S(status).label.lower()


def next_statuses(current: str, *, plain: bool = False) -> list[str]:
    """What `current` may become, in the workflow's order (without "duplicate" if `plain`)."""
    allowed = TRANSITIONS.get(current, frozenset())
    return [s for s in S if s in allowed and not (plain and s == S.DUPLICATE)]


def check_transition(current: str, new: str, *, field: str = "status") -> None:
    """A ValidationError naming `field` unless `current` may become `new`."""
    if new not in S.values:
        raise ValidationError({field: [_("%(status)s is not a status.") % {"status": repr(new)}]})
    if new in TRANSITIONS.get(current, frozenset()):
        return
    allowed = ", ".join(label(s) for s in next_statuses(current)) or _("nothing")
    raise ValidationError(
        {
            field: [
                _("A pin that is %(current)s cannot become %(new)s; it can become: %(allowed)s.")
                % {"current": label(current), "new": label(new), "allowed": allowed}
            ]
        }
    )
