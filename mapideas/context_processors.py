from django.conf import settings
from django.http import HttpRequest

from neighborhoods.roles import is_planner


def roles(request: HttpRequest) -> dict:
    """`is_planner` for the navigation: the planner link shows only to those who may open it."""
    user = getattr(request, "user", None)
    return {"user_is_planner": user is not None and is_planner(user)}


def accounts(request: HttpRequest) -> dict:
    """`signup_open` for the header and the login page: citizens are offered sign-up only
    when the city takes pins from signed-in people (MAPIDEAS_SUBMISSION_MODES)."""
    return {"signup_open": "account" in settings.MAPIDEAS_SUBMISSION_MODES}
