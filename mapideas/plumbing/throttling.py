"""The API's rate limits: DRF's throttle over mapideas.plumbing.ratelimit's counters (not DRF's
own cache history), so a page and the API that do the same thing share one allowance.

A view whose requests count as they arrive lists RateLimitThrottle in `throttle_classes`
and names its limits in `rate_limits`. DRF checks throttles before the view runs, so a view
that counts a request only once it is well formed (or once the pin it names is found) calls
`throttle(request, ...)` at that point instead. Both answer DRF's Throttled: a 429 with
Retry-After.
"""

from typing import Any

from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from mapideas.plumbing import ratelimit


class RateLimitThrottle(BaseThrottle):
    """Counts a write (never a GET) against its view's `rate_limits`, or against the limits
    it was made with."""

    def __init__(self, *limits: ratelimit.RateLimit) -> None:
        self.limits = limits
        self.retry_after: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        limits = self.limits or tuple(getattr(view, "rate_limits", ()))
        self.retry_after = ratelimit.count(request, *limits)
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after


def throttle(request: Request, *limits: ratelimit.RateLimit) -> None:
    """Count this request against `limits` now, where the view knows it should count:
    raises Throttled beyond one."""
    limiter = RateLimitThrottle(*limits)
    if not limiter.allow_request(request, None):
        raise Throttled(wait=limiter.wait())
