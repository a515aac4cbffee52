from django.http import HttpRequest

from neighborhoods.roles import is_planner


def roles(request: HttpRequest) -> dict:
    """`is_planner` for the navigation: the planner link shows only to those who may open it."""
    user = getattr(request, "user", None)
    return {"user_is_planner": user is not None and is_planner(user)}
