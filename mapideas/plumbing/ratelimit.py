"""A fixed-window rate limit per client: every limit of the site, and the one way requests
are counted against them.

The counters live in a store of their own (mapideas.plumbing.rate_counters: a table in the
database, or a Redis that never evicts, RATE_LIMIT_URL), shared by every server process, so a
client gets the limit however many workers or machines serve it, and nothing the site caches
can evict a counter. A window starts at a multiple of its period and ends at its stated end,
however often it is hit: "10/h" is 10 from one hour's start to the next.

The address is never stored: the counter holds its keyed hash (HMAC with SECRET_KEY).

Every count goes through `hit_identity`. A page says its limit with `@rate_limited(...)`
(counted as the view is entered) or, when only a well-formed request may count, asks
`too_many(request, ...)` where it knows; the API has the same two ways, with DRF's Throttled
as its answer (mapideas.plumbing.throttling); a service counts a client it was given with
`RateLimit.hit` and raises RateLimited. A count is committed at once, before the caller's own
transaction opens: it holds even when the request's write then fails.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from mapideas.plumbing.hashing import keyed_hash
from mapideas.plumbing.rate_counters import counter_store


def now() -> float:
    """The clock the windows are read from (seconds since the epoch); tests control it."""
    return time.time()


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


def anonymous_identity(request: HttpRequest) -> str | None:
    """The client's IP address as a keyed hash when nobody is signed in; None (not counted)
    for a signed-in person."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return None
    return client_identity(request)


def login_account_name(request: HttpRequest) -> str | None:
    """The account a login attempt names (its `username`, wherever the attempt comes from),
    as a keyed hash; None when it names none."""
    username = request.POST.get("username", "")
    if not username.strip():
        return None
    return keyed_hash("account-name", username.strip().casefold())


class RateLimited(Exception):
    """Raised by a service that counted its client beyond a limit: each door answers it in
    its own way (the API's 429 Throttled, a page's too_many_response)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RateLimit:
    """One limit: its counters (`bucket`), the setting that holds its (requests, seconds),
    read at every request, and who is counted (`identity`: None leaves a request
    uncounted). A page and the API that do the same thing share one RateLimit, so one
    allowance."""

    bucket: str
    setting: str
    identity: Callable[[HttpRequest], str | None] = client_identity

    @property
    def rate(self) -> tuple[int, int]:
        return getattr(settings, self.setting)

    def hit(self, identity: str) -> int | None:
        """Count one request of `identity`: None if allowed, else the seconds to wait."""
        return hit_identity(identity, self.bucket, self.rate)


# Every limit of the site. Per account when signed in, else per IP address, unless said.
SUBMISSIONS = RateLimit("submit", "MAPIDEAS_RATE_SUBMISSIONS")
COMMENTS = RateLimit("comment", "MAPIDEAS_RATE_COMMENTS")
# Only anonymous supports: a signed-in person supports a pin once, whatever they send.
SUPPORT = RateLimit("support", "MAPIDEAS_RATE_SUPPORT", identity=anonymous_identity)
FOLLOW = RateLimit("follow", "MAPIDEAS_RATE_FOLLOW")
FLAGS = RateLimit("flag", "MAPIDEAS_RATE_FLAGS")
ALERTS = RateLimit("alert", "MAPIDEAS_RATE_ALERT")
# Sign-ups per IP address, signed in or not: counted per account, a session would go on
# making accounts from one address (each new one signed in, and counted afresh).
SIGNUP = RateLimit("signup", "MAPIDEAS_RATE_SIGNUP", identity=client_address_hash)
# Sign-up emails per address asked for (counted by the sign-up service, with the address's
# keyed hash): beyond it a sign-up answers as any other and emails nothing.
SIGNUP_EMAILS = RateLimit("signup-email", "MAPIDEAS_RATE_SIGNUP_EMAILS", identity=lambda r: None)
# Login attempts, twice: per IP address, signed in or not (one address guessing many
# passwords), and per account name tried (many addresses guessing one account's).
LOGIN = RateLimit("login", "MAPIDEAS_RATE_LOGIN", identity=client_address_hash)
LOGIN_ACCOUNT = RateLimit("login-account", "MAPIDEAS_RATE_LOGIN", identity=login_account_name)


def count(request: HttpRequest, *limits: RateLimit) -> int | None:
    """Count this request against every one of `limits` (each by its own identity); None if
    all allow it, else the longest wait in seconds (for Retry-After)."""
    waits = []
    for limit in limits:
        identity = limit.identity(request)
        if identity is not None:
            waits.append(limit.hit(identity))
    return max((wait for wait in waits if wait is not None), default=None)


def hit(request: HttpRequest, bucket: str, rate: tuple[int, int]) -> int | None:
    """Count one request of this client in `bucket`; None if allowed, else the seconds to
    wait (for Retry-After) until the window ends."""
    return hit_identity(client_identity(request), bucket, rate)


def hit_identity(identity: str, bucket: str, rate: tuple[int, int]) -> int | None:
    """The one place a request is counted: in the window of `rate` (requests, seconds) that
    holds now. Always None with MAPIDEAS_RATE_LIMITS off (load tests)."""
    if not settings.MAPIDEAS_RATE_LIMITS:
        return None
    limit, period = rate
    moment = now()
    start = int(moment // period) * period
    end = start + period
    hits = counter_store().increment(
        bucket=bucket, identity=identity, window=(start, end), now=moment
    )
    if hits <= limit:
        return None
    return max(1, math.ceil(end - moment))


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


def too_many(request: HttpRequest, *limits: RateLimit) -> HttpResponse | None:
    """For a page that counts a request only once it knows it is well formed: counts it
    against `limits`; the 429 page when it goes beyond one, else None."""
    retry_after = count(request, *limits)
    return None if retry_after is None else too_many_response(retry_after)


def rate_limited(
    *limits: RateLimit,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A page's limits, counted as the view is entered, for a POST (the pages' writes; the
    page itself, a GET, is never counted): beyond one, the 429 page, and the view does not
    run."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                refused = too_many(request, *limits)
                if refused is not None:
                    return refused
            return view(request, *args, **kwargs)

        return limited

    return decorator
