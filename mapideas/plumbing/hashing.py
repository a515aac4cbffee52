"""Keyed hashes: what MapIdeas keeps of a token or an IP address instead of the value, and
what an emailed link carries of the address it is bound to (plumbing/tokens.py)."""

import hashlib
import hmac

from django.conf import settings


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` keyed with SECRET_KEY, hex: what is kept of a token or an IP
    address (never the raw value). `purpose` separates uses, so one hash says nothing of
    another."""
    key = f"mapideas.{purpose}:{settings.SECRET_KEY}".encode()
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
