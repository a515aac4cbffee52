"""Reads of citizens following what happens: comments, support, follow."""

from django.db.models import (
    QuerySet,
)

from mapideas.models import (
    Comment,
    Follower,
    Idea,
    Support,
)

# --- Citizens follow what happens ---------------------------------------------------------


def idea_comments(*, idea: Idea) -> QuerySet[Comment]:
    """The pin's comments, oldest first, hidden ones included (the page shows their reason
    in their place). Their authors are not loaded: the page never names them."""
    return idea.comments.select_related("team").order_by("created_at", "id")


def idea_supported(*, idea: Idea, user, token_hash: str = "") -> bool:
    """Whether this person (or this browser's anonymous token) supports the pin."""
    if user.is_authenticated:
        return Support.objects.filter(idea=idea, user=user).exists()
    if token_hash:
        return Support.objects.filter(idea=idea, token_hash=token_hash).exists()
    return False


def idea_followed(*, idea: Idea, user) -> bool:
    return user.is_authenticated and Follower.objects.filter(idea=idea, user=user).exists()
