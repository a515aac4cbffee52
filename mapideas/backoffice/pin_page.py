"""The back offices' part of the pin's page (mapideas.pins.page): for those who see the pin's
internals, where it was forwarded and where it stands there. Never for the public."""

from django.http import HttpRequest

from mapideas.backoffice import selectors
from mapideas.models import Idea
from mapideas.pins.roles import can_see_internal


def forward_context(request: HttpRequest, idea: Idea) -> dict:
    if not can_see_internal(request.user, idea):
        return {}
    return {"backoffice_forwards": selectors.idea_forwards(idea)}
