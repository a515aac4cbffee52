"""A fixed-window rate limit per client IP address, in Django's cache.

The address is never stored: the cache key holds its keyed hash (HMAC with SECRET_KEY).
With the default local-memory cache each server process counts on its own, so with
WEB_CONCURRENCY workers a client gets up to that many times the limit.
"""

import time

from django.core.cache import cache
from django.http import HttpRequest

from mapideas.models import keyed_hash


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR: gunicorn serves on 127.0.0.1 behind the site's proxy, which must pass the
    # client's address along for the limit to be per client (README, "Following a pin").
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hit(request: HttpRequest, bucket: str, rate: tuple[int, int]) -> int | None:
    """Count one request of this client in `bucket`; None if allowed, else the seconds to
    wait (for Retry-After) until the window ends."""
    limit, period = rate
    now = time.time()
    window = int(now // period)
    key = f"mapideas:rate:{bucket}:{keyed_hash('ip', client_address(request))}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period + 1)
        count = 1
    if count <= limit:
        return None
    return max(1, int((window + 1) * period - now + 0.999))
