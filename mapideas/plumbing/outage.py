"""A database outage is a 503 with Retry-After, never a 500
(docs/decisions/0004-database-outage-is-a-503.md).

When PostgreSQL restarts, fails over or refuses connections, a request fails with Django's
OperationalError or InterfaceError. The client did nothing wrong and should try again: it
gets `503 Service Unavailable` with `Retry-After` (JSON under /api/ and /open311/, a short
plain page elsewhere), and a pin it sends again with its Idempotency-Key is stored once.

Two hooks, because a database error can surface in two places:
- `DatabaseOutageMiddleware.process_exception`: raised by a view (also with DEBUG on);
- `server_error` (Django's handler500): raised by a middleware, e.g. the session saved in
  SessionMiddleware.process_response, which process_exception never sees.

The connection itself recovers without help: Django closes a connection that had errors
and is no longer usable at the end of the request, and CONN_HEALTH_CHECKS (settings) checks
a persistent one before the next request uses it, so the request after the database is
back gets a fresh connection.

SQLite reports programming errors ("no such column") as OperationalError too; there only
the errors that mean "busy or unreachable" are an outage, the rest stay 500s.
"""

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext, gettext_noop
from django.views import defaults

logger = logging.getLogger(__name__)

# How long a client should wait: a PostgreSQL restart (`pg_ctl restart -m fast`) or a
# failover takes a few seconds.
RETRY_AFTER_SECONDS = 3
MESSAGE = gettext_noop(
    "The database is not reachable just now. Nothing was changed; try again shortly."
)
# SQLite's OperationalErrors that mean the file is busy or unreachable, not a bad query.
SQLITE_OUTAGE = ("database is locked", "unable to open", "disk i/o error", "readonly database")


def is_outage(exc: BaseException | None) -> bool:
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if cause is not None and type(cause).__module__.startswith(("sqlite3", "_sqlite3")):
        return any(text in str(exc).lower() for text in SQLITE_OUTAGE)
    return True


def outage_response(request: HttpRequest) -> HttpResponse:
    path = request.path
    if path.startswith(("/api/", "/open311/")):
        response: HttpResponse = JsonResponse({"detail": gettext(MESSAGE)}, status=503)
    else:
        response = HttpResponse(
            gettext(MESSAGE), status=503, content_type="text/plain; charset=utf-8"
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Never cached by a proxy: the next request should reach a recovered server.
    response["Cache-Control"] = "no-store"
    return response


class DatabaseOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_outage(exception):
            return None
        logger.warning(
            "Database unavailable during %s %s: %s", request.method, request.path, exception
        )
        return outage_response(request)


def server_error(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """handler500: a 503 for a database outage raised outside a view, else Django's 500."""
    if is_outage(sys.exc_info()[1]):
        return outage_response(request)
    return defaults.server_error(request, *args, **kwargs)
