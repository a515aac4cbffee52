"""A fixed-window rate limit per client IP address, in Django's cache.

The address is never stored: the cache key holds its keyed hash (HMAC with SECRET_KEY).
The cache is shared by every server process (CACHE_URL: the database by default, or Redis),
so a client gets the limit however many workers or machines serve it.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from mapideas.plumbing.hashing import keyed_hash


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR: gunicorn serves on 127.0.0.1 behind the site's proxy, which must pass the
    # client's address along for the limit to be per client (README, "Following a pin").
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def client_address_hash(request: HttpRequest) -> str:
    """The client's IP address as a keyed hash, whoever is signed in."""
    return keyed_hash("ip", client_address(request))


def client_identity(request: HttpRequest) -> str:
    """Who is counted: a signed-in person by account (wherever they are), anyone else by
    IP address; kept only as a keyed hash."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return keyed_hash("account", str(user.pk))
    return keyed_hash("ip", client_address(request))


def hit(request: HttpRequest, bucket: str, rate: tuple[int, int]) -> int | None:
    """Count one request of this client in `bucket`; None if allowed, else the seconds to
    wait (for Retry-After) until the window ends. Always None with MAPIDEAS_RATE_LIMITS off
    (load tests)."""
    return hit_identity(client_identity(request), bucket, rate)


def hit_account_name(username: str, bucket: str, rate: tuple[int, int]) -> int | None:
    """As hit(), counted for the account a request names (a login attempt for `username`,
    wherever it comes from) rather than for who sends it; kept as a keyed hash too."""
    return hit_identity(keyed_hash("account-name", username.strip().casefold()), bucket, rate)


def hit_identity(identity: str, bucket: str, rate: tuple[int, int]) -> int | None:
    if not settings.MAPIDEAS_RATE_LIMITS:
        return None
    limit, period = rate
    now = time.time()
    window = int(now // period)
    key = f"mapideas:rate:{bucket}:{identity}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period + 1)
        count = 1
    if count <= limit:
        return None
    return max(1, int((window + 1) * period - now + 0.999))


def too_many_response(retry_after: int) -> HttpResponse:
    """The pages' 429 (the API raises DRF's Throttled instead), with Retry-After."""
    response = HttpResponse(
        _("Too many requests from your network: try again in %(seconds)s seconds.")
        % {"seconds": retry_after},
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(retry_after)
    return response
