"""A district team member signs in through the city's identity provider, in Chromium, against a
real OpenID Connect provider: node-oidc-provider (npm "oidc-provider", package.json's
devDependencies), started here on 127.0.0.1 with tests/browser/oidc_provider.mjs.

Their groups claim names the team: they are its member and open its page. The city's IT team
takes the group away at the provider: the session already open keeps the page until its
bounded lifetime (MAPIDEAS_OIDC_STAFF_SESSION_SECONDS) passes, then loses it; the next sign-in
reads the groups again and the membership is gone."""

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import Page, expect

from mapideas.accounts.middleware import SIGNED_IN_AT
from mapideas.accounts.selectors import single_sign_on_username
from neighborhoods.roles import is_planner
from tests.browser.test_accessibility import assert_none, axe_source, axe_violations

__all__ = ["axe_source"]  # the module-scoped fixture, used here too

PROVIDER_SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
NODE = shutil.which("node") or "/usr/bin/node"
CLIENT_ID = "mapideas-test"
CLIENT_SECRET = "a-client-secret-for-the-test-provider"  # noqa: S105  # a test provider's


@dataclass
class Provider:
    issuer: str
    accounts_file: Path

    def set_groups(self, login: str, groups: list[str]) -> None:
        """What the city's IT team does in its directory: read again at each sign-in."""
        accounts = json.loads(self.accounts_file.read_text())
        accounts["accounts"][login]["groups"] = groups
        self.accounts_file.write_text(json.dumps(accounts))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def provider(live_server, tmp_path, settings) -> Iterator[Provider]:
    accounts_file = tmp_path / "accounts.json"
    accounts_file.write_text(
        json.dumps(
            {
                "accounts": {
                    "eva": {
                        "email": "eva.staff@city.example",
                        "groups": ["mapideas-team-east-team", "mapideas-planners", "payroll"],
                    }
                }
            }
        )
    )
    config = tmp_path / "provider.json"
    config.write_text(
        json.dumps(
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uri": f"{live_server.url}/accounts/oidc/callback/",
                "accounts_file": str(accounts_file),
            }
        )
    )
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - a fixed command on a file the test wrote
        [NODE, str(PROVIDER_SCRIPT), str(port), str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == "listening":
                break
        else:
            pytest.fail(f"the OpenID Connect provider did not start: {process.wait()}")
        issuer = f"http://127.0.0.1:{port}"
        # The city's configuration, as the environment would give it (mapideas/settings.py).
        settings.MAPIDEAS_OIDC_ENABLED = True
        settings.MAPIDEAS_OIDC_ISSUER = issuer
        settings.MAPIDEAS_OIDC_NAME = "Test City ID"
        settings.MAPIDEAS_OIDC_PLANNER_GROUP = "mapideas-planners"
        settings.MAPIDEAS_OIDC_TEAM_PREFIX = "mapideas-team-"
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_RP_SCOPES = "openid email profile groups"
        settings.AUTHENTICATION_BACKENDS = [
            settings.LOCAL_SIGN_IN_BACKEND,
            settings.SINGLE_SIGN_ON_BACKEND,
        ]
        # The provider is on this machine: outbound calls may reach it only when allowed.
        settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        yield Provider(issuer=issuer, accounts_file=accounts_file)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _sign_in(page: Page, live_server, provider: Provider, login: str) -> None:
    """From the login page, through the provider (its sign-in form unless its own session
    still knows the person), back to MapIdeas."""
    page.goto("/accounts/login/?next=/teams/")
    page.get_by_role("link", name="Sign in with Test City ID").click()
    page.wait_for_url(lambda url: url.startswith((provider.issuer, live_server.url + "/teams/")))
    if page.url.startswith(provider.issuer):
        page.get_by_label("Login name").fill(login)
        page.get_by_role("button", name="Sign in at the provider").click()
    page.wait_for_url(live_server.url + "/teams/")


def test_a_team_member_signs_in_through_the_city_provider(
    page: Page, live_server, city, provider, settings, axe_source
):
    page.goto("/accounts/login/")
    assert_none(axe_violations(page, axe_source))

    _sign_in(page, live_server, provider, "eva")
    user = get_user_model().objects.get(username=single_sign_on_username("eva"))
    assert user.email == "eva.staff@city.example"
    assert list(user.teams.all()) == [city.east_team]
    assert is_planner(user)
    team_page = f"/teams/{city.east_team.slug}/"
    response = page.goto(team_page)
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_contain_text("East Team")

    # The city's IT team removes both groups. The open session keeps its rights until its
    # bounded lifetime is over (here 2 seconds from the sign-in), then loses the page.
    provider.set_groups("eva", ["payroll"])
    page.reload()
    expect(page.locator("h1")).to_contain_text("East Team")
    settings.MAPIDEAS_OIDC_STAFF_SESSION_SECONDS = 2
    (session_key,) = (
        cookie["value"]
        for cookie in page.context.cookies(live_server.url)
        if cookie["name"] == settings.SESSION_COOKIE_NAME
    )
    signed_in_at = SessionStore(session_key=session_key)[SIGNED_IN_AT]
    time.sleep(max(0.0, signed_in_at + 2.2 - time.time()))
    page.goto(team_page)
    assert page.url.startswith(live_server.url + "/accounts/login/")
    expect(page.get_by_role("link", name="Sign in with Test City ID")).to_be_visible()

    # The next sign-in reads the groups again: no team, no planner role.
    settings.MAPIDEAS_OIDC_STAFF_SESSION_SECONDS = 3600
    _sign_in(page, live_server, provider, "eva")
    user.refresh_from_db()
    assert list(user.teams.all()) == []
    assert not is_planner(user)
    assert get_user_model().objects.filter(username__startswith="oidc-").count() == 1
    response = page.goto(team_page)
    assert response is not None and response.status == 403
