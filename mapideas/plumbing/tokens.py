"""Signed tokens for the links MapIdeas emails (follow, unsubscribe, confirm an alert): a row's
id signed with SECRET_KEY and a salt per use, so one link's token never opens another's."""

from datetime import timedelta

from django.core import signing


def id_from_token(token: str, *, salt: str, max_age: timedelta | None = None) -> int | None:
    """The id a signed token names, or None if it is forged, damaged or expired."""
    try:
        value = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    return value if isinstance(value, int) else None
