"""Reads of citizens following what happens: comments, support, follow."""

from mapideas.models import (
    Comment,
    Follower,
    Idea,
    Support,
)
from neighborhoods.compiled_queries import CompiledQuery

# --- Citizens follow what happens ---------------------------------------------------------


def idea_comments(*, idea: Idea) -> list[Comment]:
    """The pin's comments, oldest first, hidden ones included (the page shows their reason
    in their place). Their authors are not loaded: the page never names them."""
    return _comments_of(idea.pk, using=Comment.objects.db_manager().db)


# Read on every pin page, compiled to SQL once per database (neighborhoods.compiled_queries):
# compiling it cost more than running it.
_comments_of = CompiledQuery(
    lambda idea_id: (
        Comment.objects.filter(idea_id=idea_id).select_related("team").order_by("created_at", "id")
    ),
    ((1,), (2,)),
)


def idea_supported(*, idea: Idea, user, token_hash: str = "") -> bool:
    """Whether this person (or this browser's anonymous token) supports the pin."""
    if user.is_authenticated:
        return Support.objects.filter(idea=idea, user=user).exists()
    if token_hash:
        return Support.objects.filter(idea=idea, token_hash=token_hash).exists()
    return False


def idea_followed(*, idea: Idea, user) -> bool:
    return user.is_authenticated and Follower.objects.filter(idea=idea, user=user).exists()
