"""Who may see what: team members, planners and administrators.

A planner is a member of the `planners` group (created by a migration): planners read every
team's workspace and the planner page. Superusers can do everything.
"""

# User: the site keeps Django's own user model; request.user is `User | AnonymousUser`.
from django.contrib.auth.models import AnonymousUser, Group, User

from neighborhoods.models import Team

PLANNERS_GROUP = "planners"


def is_planner(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.groups.filter(name=PLANNERS_GROUP).exists()


def can_view_team(user: User | AnonymousUser, team: Team) -> bool:
    """Members of the team, planners and superusers see a team's workspace."""
    if not user.is_authenticated:
        return False
    if is_planner(user):
        return True
    return team.members.filter(pk=user.pk).exists()


def planners_group() -> Group:
    group, _ = Group.objects.get_or_create(name=PLANNERS_GROUP)
    return group
