"""Reads of mapideas.submission: the pin a confirmation link names."""

from mapideas.models import Idea
from mapideas.notifications import services as notifications
from mapideas.pins import selectors as pins_selectors


def pin_of_confirm_link(*, token: str) -> Idea | None:
    """The pin a confirmation link would publish, shown to whoever holds the link (its page,
    its photo), or None where services.idea_confirm would refuse it: a forged, damaged or
    expired link, a pin gone, or a pin whose address is no longer the one the link was sent
    to."""
    found = notifications.idea_from_confirm_token(token)
    if found is None:
        return None
    idea = pins_selectors.all_ideas().filter(pk=found.pk).first()
    if idea is None or not found.holds_for(idea.contact_email):
        return None
    return idea
