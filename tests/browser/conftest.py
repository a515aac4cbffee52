"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

- The browser is /usr/bin/chromium (never `playwright install`, which downloads one).
- The live server is a thread of this process, so `settings` overrides reach it, and with
  SpatiaLite it is handed the in-memory test database.
- Every test gets the `traffic` record: requests to any host but the live server are aborted
  (no CDN, no tile server, no network at all) and fail the test, as do JavaScript exceptions
  and anything the Content-Security-Policy refuses.
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client

from mapideas.pins.default_categories import default_categories_create

# pytest-playwright's sync API runs an event loop in the main thread, so Django's ORM would
# refuse to run in test code ("You cannot call this from an async context"). The ORM calls
# here are synchronous and single-threaded on the test's side; `make test` exports this too.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Hooks in a conftest see the whole session's items: mark only this directory's.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(django_db_setup, live_server) -> str:
    """Relative URLs in page.goto() and page.request go to the live server.

    Depends on django_db_setup so the server starts after the test database exists (with
    SpatiaLite it must be handed the test's in-memory connection, not the configured file).
    """
    return live_server.url


@pytest.fixture(autouse=True)
def _browser_settings(settings) -> None:
    # No base map: its tiles would come from another host. Outlines and names suffice.
    settings.MAPIDEAS_TILE_URL = ""
    # The login test checks a real password; a fast hasher keeps make_user cheap.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _migrated_rows(transactional_db) -> None:
    """Put back the rows data migrations wrote, which the flush after each live-server test
    removes (the `category` fixture reads a default category).

    Not `django_db_serialized_rollback`: while pytest-playwright's loop runs, Django's
    connection handler (an asgiref Local) hands the test a different connection object from
    the one the database was set up and serialized on, so there is nothing to roll back to.
    """
    default_categories_create()


@dataclass
class Traffic:
    """What one page did on the network and in its console."""

    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    # HTTP statuses >= 400 and requests that never got an answer (except cancelled ones).
    failed: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
def traffic(page) -> Iterator[Traffic]:
    record = Traffic()

    def only_local(route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            record.blocked.append(route.request.url)
            route.abort("blockedbyclient")

    def on_request_failed(request) -> None:
        # pin-map.js cancels its pending /api/ideas/ fetch when the map moves again.
        if request.failure != "net::ERR_ABORTED":
            record.failed.append(f"{request.failure} {request.url}")

    page.context.route("**/*", only_local)
    page.on("request", lambda request: record.requests.append(request.url))
    page.on("requestfailed", on_request_failed)
    page.on(
        "response",
        lambda response: (
            response.status >= 400 and record.failed.append(f"{response.status} {response.url}")
        ),
    )
    page.on("console", lambda msg: msg.type == "error" and record.console_errors.append(msg.text))
    page.on("pageerror", lambda error: record.page_errors.append(str(error)))
    yield record
    assert record.blocked == [], "the page tried to leave the live server"
    assert record.page_errors == [], "JavaScript raised"
    # Every page runs under the Content-Security-Policy: a script it refused is a bug.
    refused = [text for text in record.console_errors if "Content Security Policy" in text]
    assert refused == [], "the Content-Security-Policy refused something the page needs"


@pytest.fixture
def log_in(page, live_server) -> Callable:
    """Give the browser a session for `user`, without a trip through the login form."""

    def log_in_as(user) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
        )

    return log_in_as
