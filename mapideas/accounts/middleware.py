"""Staff sessions have a bounded lifetime: a session opened by single sign-on, or by a staff
account (a team member, a planner, is_staff, a superuser), ends
MAPIDEAS_OIDC_STAFF_SESSION_SECONDS after its sign-in. The next sign-in through the provider
reads the person's groups again, so a group the city's IT team removed stops giving its team's
pages, also to a session that was open, within that time. Citizens' sessions are not bounded.

The sign-in time is kept in the session (`mark_signed_in`, called by the login page and the
provider's callback). A session without one (opened by the admin's login page, or before this
rule) counts from its first request seen here.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse

from mapideas.accounts.selectors import is_staff_account

SIGNED_IN_AT = "mapideas_signed_in_at"


def mark_signed_in(request: HttpRequest) -> None:
    request.session[SIGNED_IN_AT] = time.time()


class StaffSessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # No session cookie, no session: nothing is read (and no Vary: Cookie added).
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        now = time.time()
        signed_in_at = request.session.get(SIGNED_IN_AT)
        if not isinstance(signed_in_at, int | float):
            request.session[SIGNED_IN_AT] = now
            return
        if now - signed_in_at < settings.MAPIDEAS_OIDC_STAFF_SESSION_SECONDS:
            return
        # Past the lifetime: only then ask whether it is a staff session (one query).
        by_provider = request.session.get(BACKEND_SESSION_KEY) == settings.SINGLE_SIGN_ON_BACKEND
        if by_provider or is_staff_account(request.user):  # type: ignore[arg-type]  # signed in
            logout(request)
