"""Who may change a pin: where it goes (re-assign) and its workflow (status, answers, notes,
assignment, duplicates). Who may see a team's work: neighborhoods.roles.

Planners read everything (every team's queue, internal notes) but do not change the workflow:
answering citizens is the district teams' job, and a planner's word on a pin would speak for
a team they are not in. They keep the right to re-assign a pin to another team (routing
corrections, as before). Superusers can do everything.
"""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q
from django.utils.translation import gettext_lazy

from mapideas.models import Idea
from neighborhoods.roles import is_planner

WORK_FORBIDDEN = gettext_lazy(
    "Only members of the pin's team (or of a team whose area it lies in too, while it is "
    "open) and administrators can change it; planners read only."
)


OFFLINE_FORBIDDEN = gettext_lazy(
    "Only members of a team and administrators can enter input on a resident's behalf; "
    "planners read only."
)


def can_enter_offline(user: User | AnonymousUser) -> bool:
    """Who may enter input gathered offline (a phone call, a meeting, a paper form) on a
    resident's behalf: superusers and members of any team, whichever team the pin is then
    routed to. Not planners who are in no team: as with answers, entering input speaks to
    residents for the city, which is the district teams' job."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.teams.exists()


def can_reassign(user: User | AnonymousUser, idea: Idea) -> bool:
    """Who may send one pin to another team by hand.

    Members of the pin's current team; members of the city-wide triage team for the pins it
    answers for (its queue, and any pin outside every neighborhood, even once assigned);
    planners and superusers.
    """
    if not user.is_authenticated:
        return False
    if is_planner(user):
        return True
    mine = Q(pk=idea.team_id)
    if idea.neighborhood_id is None:
        mine |= Q(is_triage=True)
    return user.teams.filter(mine).exists()


def _team_ids_of(idea: Idea, *, open_only_for_also_in: bool) -> Q:
    mine = Q(pk=idea.team_id)
    if idea.is_open or not open_only_for_also_in:
        mine |= Q(ideas_also_in_area=idea)
    return mine


def can_work_on(user: User | AnonymousUser, idea: Idea) -> bool:
    """Who may change a pin's workflow: status and answers, notes, assignment, duplicates.

    Superusers; members of the pin's team; members of a team the pin lies "also in the area"
    of while it is open (their workspace shows it to them). Not planners (read-only).
    """
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.teams.filter(_team_ids_of(idea, open_only_for_also_in=True)).exists()


def can_see_internal(user: User | AnonymousUser, idea: Idea) -> bool:
    """Who may read a pin's internal notes and assignment: planners and superusers, members
    of its team and of the teams it lies in the area of."""
    if not user.is_authenticated:
        return False
    if is_planner(user):
        return True
    return user.teams.filter(_team_ids_of(idea, open_only_for_also_in=False)).exists()
