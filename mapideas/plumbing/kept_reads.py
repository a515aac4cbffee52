"""Heavy reads kept in the answer cache for a few seconds, each a stale read named in
docs/decisions/0012-stale-reads-named-explicitly.md, and read by one request at a time.

When a kept read expires (or the cache evicts it), every request asking for it at that moment
would run the same heavy query beside the others: four planners opening their page after a
minute ran four GROUP BYs of a million pins on two cores, each four times as slow. Here the
first request marks the read as under way and reads; the others wait for its answer, up to
WAIT_SECONDS, then read it themselves (the reader failed, or the cache dropped the mark).
Nothing depends on a value being kept: evicted, it is read again.
"""

import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache

T = TypeVar("T")

# How long a request waits for another reading the same value, and how often it looks.
WAIT_SECONDS = 30
POLL_SECONDS = 0.05


def kept_read(
    key: str,
    seconds: int,
    read: Callable[[], T],
    *,
    dump: Callable[[T], Any] | None = None,
    load: Callable[[Any], T | None] | None = None,
) -> T:
    """`read()`'s value, kept under `key` for `seconds` (0 or less: read every time).
    `dump` and `load` store it in another form (compressed, say); `load` answers None for a
    stored value it does not accept, which is then read again."""
    if seconds <= 0:
        return read()
    marker = f"{key}:reading"

    def kept() -> T | None:
        stored = cache.get(key)
        if stored is None:
            return None
        return load(stored) if load is not None else stored

    value = kept()
    holding = value is None and cache.add(marker, True, WAIT_SECONDS)
    waited = 0.0
    while value is None and not holding and waited < WAIT_SECONDS and cache.get(marker):
        time.sleep(POLL_SECONDS)
        waited += POLL_SECONDS
        value = kept()
    if value is not None:
        return value
    try:
        value = read()
        cache.set(key, dump(value) if dump is not None else value, seconds)
    finally:
        if holding:
            cache.delete(marker)
    return value
