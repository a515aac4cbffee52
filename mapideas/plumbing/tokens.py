"""Signed tokens for the links MapIdeas emails (follow, unsubscribe, confirm an alert or a pin,
stop a team's emails): a row's id signed with SECRET_KEY and a salt per use, so one link's
token never opens another's.

A token carries no personal data: Django's signing only base64-encodes its payload, and a
link's path ends up in access logs, browser histories, Referer headers and mail scanners'
reports. A link that must stop working when an email address changes (a pin's confirmation,
a team's stop link) carries a keyed hash of the address (`bound_token`), never the address.
"""

import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing

from mapideas.plumbing.hashing import keyed_hash

# Hex digits of the keyed hash a bound token keeps. The signature already vouches for the
# token; the hash only tells one address from another, and 96 bits do that.
TAG_LENGTH = 24


def id_from_token(token: str, *, salt: str, max_age: timedelta | None = None) -> int | None:
    """The id a signed token names, or None if it is forged, damaged or expired."""
    try:
        value = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    return value if isinstance(value, int) else None


def _tag(value: str, salt: str) -> str:
    # Addresses compare as MapIdeas cleans them (trimmed, case-insensitive).
    return keyed_hash(f"token.{salt}", value.strip().casefold())[:TAG_LENGTH]


def bound_token(pk: int, value: str, *, salt: str) -> str:
    """A signed token naming row `pk` that holds only while the row's `value` (an email
    address) is the one given here: it carries a keyed hash of the value, not the value."""
    return signing.dumps([pk, _tag(value, salt)], salt=salt)


@dataclass(frozen=True)
class BoundId:
    """What a bound token names: a row's id, and the hash of the value it was issued for."""

    pk: int
    tag: str
    salt: str

    def holds_for(self, value: str) -> bool:
        """True if `value`, the row's value now, is the one the token was issued for."""
        if not value.strip():
            return False
        if "@" in self.tag:
            # A token issued before links stopped carrying addresses: [pk, address]. Still
            # honoured, for that address only. Refusing it would protect no one (the address
            # is in the access log as soon as the link is opened, whatever the answer) and
            # would break links people keep: a team's stop link never expires. Nothing
            # issues this form any more.
            return hmac.compare_digest(self.tag.strip().casefold(), value.strip().casefold())
        return hmac.compare_digest(self.tag, _tag(value, self.salt))


def bound_id_from_token(
    token: str, *, salt: str, max_age: timedelta | None = None
) -> BoundId | None:
    """What a bound token names (check its value with `BoundId.holds_for`), or None if it is
    forged, damaged, expired or not a bound token."""
    try:
        value = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    match value:
        case [int() as pk, str() as tag] if not isinstance(pk, bool):
            return BoundId(pk=pk, tag=tag, salt=salt)
    return None
