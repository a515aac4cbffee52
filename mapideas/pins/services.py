"""Helpers every write on an existing pin shares: the row lock, the acting person, clean text."""

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from mapideas.models import Idea

# The caller's user class (User for request.user), kept: the rows' foreign keys want it.
_UserT = TypeVar("_UserT", bound=AbstractBaseUser)


def _person(user: _UserT | AnonymousUser | None) -> _UserT | None:
    """The signed-in person acting, or None (nobody, or an anonymous visitor)."""
    return user if user is not None and user.is_authenticated else None


def _locked(idea: Idea) -> Idea:
    return Idea.objects.select_for_update().select_related("team").get(pk=idea.pk)


def _clean_text(text: str, *, field: str, max_length: int) -> str:
    text = (text or "").strip()
    if len(text) > max_length:
        raise ValidationError(
            {
                field: [
                    gettext("At most %(max)s characters, not %(length)s.")
                    % {"max": max_length, "length": len(text)}
                ]
            }
        )
    return text
