"""Who may change where an idea goes. (Who may see a team's work: neighborhoods.roles.)"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

from mapideas.models import Idea
from neighborhoods.roles import is_planner


def can_reassign(user: AbstractBaseUser | AnonymousUser, idea: Idea) -> bool:
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
