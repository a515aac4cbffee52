"""WCAG 2.1 AA and more: axe-core, installed from the npm registry (package.json), runs its
default rules (every rule it enables by default: WCAG 2.0, 2.1 and 2.2 A and AA, and its best
practices) on every page a person reaches and finds no serious or critical violation.

axe is read from node_modules by the test only: it is no static file of the site. It is
injected with page.evaluate, which the page's Content-Security-Policy does not govern (a
<script> tag would be refused, and the `traffic` fixture fails the test on that).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from playwright.sync_api import Page, expect

from mapideas.accounts import services as accounts
from mapideas.accounts.selectors import signup_token
from mapideas.alerts import services as alerts
from mapideas.models import Idea
from mapideas.moderation.services import idea_flag
from mapideas.notifications import services as notifications
from mapideas.participation.services import follow
from mapideas.submission.services import idea_create
from tests.browser.test_drop_a_pin import map_name, map_point
from tests.conftest import IN_EAST

AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
PACKAGE_JSON = Path(settings.BASE_DIR) / "package.json"
# 30 m east of IN_EAST (at 50° N a degree of longitude is about 71.7 km): beside its pin.
BESIDE_THE_PIN = Point(IN_EAST.x + 30 / 71_700, IN_EAST.y, srid=4326)
# No runOnly: axe's default rules, a superset of the WCAG A and AA ones it enables.
RUN_AXE = """() => axe.run(document).then(result =>
  result.violations.map(v => ({
    id: v.id, help: v.help, impact: v.impact,
    targets: v.nodes.slice(0, 4).map(node => node.target.join(" ")),
  })))"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: `make setup` installs it with npm ci.")
    return AXE_JS.read_text()


def test_the_pages_are_checked_by_the_pinned_axe_core(page: Page, live_server, axe_source):
    """The axe-core the tests load is the release package.json pins (`make setup` runs npm ci
    when package-lock.json changes)."""
    pinned = json.loads(PACKAGE_JSON.read_text())["dependencies"]["axe-core"]
    page.goto("/alerts/")
    page.evaluate(axe_source)
    assert page.evaluate("() => axe.version") == pinned


@dataclass
class Visit:
    """Who opens which page: `path` may name `{idea}` (a pin of East Team) and `{team}`."""

    path: str
    who: str | None = None  # None (anonymous), "member" (of East Team), "outsider" or "planner"
    status: int = 200


PAGES = {
    "home": Visit("/"),
    "pin": Visit("/ideas/{idea}/"),
    "pin as its team": Visit("/ideas/{idea}/", who="member"),
    "teams": Visit("/teams/", who="member"),
    "team workspace": Visit("/teams/{team}/", who="member"),
    "offline input": Visit("/teams/{team}/offline/", who="member"),
    "planner": Visit("/planner/", who="planner"),
    "alerts": Visit("/alerts/"),
    "login": Visit("/accounts/login/"),
    "signup": Visit("/accounts/signup/"),
    "signup link expired": Visit("/accounts/signup/confirm/1/0-forged/", status=400),
    "your data": Visit("/accounts/delete/", who="member"),
    "moderation": Visit("/staff/moderation/", who="member"),
    "boundaries": Visit("/staff/boundaries/", who="planner"),
    "audit log": Visit("/staff/audit/?action=moderation", who="planner"),
    "ogc landing": Visit("/ogc/"),
    "ogc collections": Visit("/ogc/collections?f=html"),
    "ogc items": Visit("/ogc/collections/ideas/items?f=html"),
    "ogc feature": Visit("/ogc/collections/ideas/items/{idea}?f=html"),
    "not found": Visit("/no-such-page/", status=404),
    "forbidden": Visit("/teams/{team}/", who="outsider", status=403),
}


def serious(violations: list[dict]) -> list[str]:
    return [
        f"{v['impact']} {v['id']}: {v['help']} at {v['targets']}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def axe_violations(page: Page, axe_source: str) -> list[str]:
    page.evaluate(axe_source)
    return serious(page.evaluate(RUN_AXE))


def assert_none(found: list[str]) -> None:
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(found)


def email_link_pages(idea: Idea, team) -> dict[str, str]:
    """The pages people reach from a link in an email: each a signed token."""
    follower = follow(idea=idea, email="follower@example.org").follower
    alert = alerts.alert_subscribe(email="alerts@example.org", neighborhood_slug="east-side")
    team.notify_email = "east@example.org"
    team.save(update_fields=["notify_email"])
    confirm_idea = notifications.idea_confirm_token(idea)
    accounts.citizen_signup(username="pat-signup", email="signup@example.org")
    signup = get_user_model().objects.get(username="pat-signup")
    return {
        "confirm a sign-up": f"/accounts/signup/confirm/{signup.pk}/{signup_token(signup)}/",
        "confirm a pin": f"/ideas/confirm/{confirm_idea}/",
        "confirm following": f"/follow/confirm/{notifications.confirm_token(follower)}/",
        "stop following": f"/unsubscribe/{notifications.unsubscribe_token(follower)}/",
        "confirm an alert": f"/alerts/confirm/{alerts.confirm_token(alert)}/",
        "stop an alert": f"/alerts/unsubscribe/{alerts.unsubscribe_token(alert)}/",
        "stop team emails": f"/unsubscribe/team/{notifications.team_stop_token(team)}/",
    }


EMAIL_LINK_PAGES = [
    "confirm a sign-up",
    "confirm a pin",
    "confirm following",
    "stop following",
    "confirm an alert",
    "stop an alert",
    "stop team emails",
]


@pytest.mark.parametrize("name", EMAIL_LINK_PAGES)
def test_axe_finds_no_serious_violation_on_an_email_links_page(
    page: Page, live_server, city, category, axe_source, name
):
    idea = idea_create(
        kind=Idea.Kind.ISSUE,
        title="Broken bench by the pond",
        category=category,
        location=IN_EAST,
        contact_email="author@example.org",
    )
    path = email_link_pages(idea, city.east_team)[name]

    response = page.goto(path)
    assert response.status == 200
    assert_none(axe_violations(page, axe_source))


@pytest.mark.parametrize("visit", PAGES.values(), ids=PAGES.keys())
def test_axe_finds_no_serious_violation(
    page: Page,
    live_server,
    city,
    category,
    east_member,
    planner,
    make_user,
    log_in,
    axe_source,
    visit,
):
    idea = idea_create(
        kind=Idea.Kind.ISSUE,
        title="Broken bench by the pond",
        description="The slats on the left are gone.",
        category=category,
        location=IN_EAST,
    )
    # A row in the moderation queue, so its table is checked too.
    idea_flag(idea=idea, reason="spam", user=planner)
    if visit.who == "member":
        log_in(east_member)
    elif visit.who == "planner":
        log_in(planner)
    elif visit.who == "outsider":
        log_in(make_user("olga"))

    response = page.goto(visit.path.format(idea=idea.pk, team=city.east_team.slug))
    assert response.status == visit.status
    page.wait_for_load_state("networkidle")
    assert_none(axe_violations(page, axe_source))


@pytest.mark.parametrize("width", [1280, 360])
def test_axe_finds_no_serious_violation_in_the_planners_open_table(
    page: Page, live_server, city, category, planner, log_in, axe_source, width
):
    """What the planner page shows only once used: the long table opened, sorted, filtered."""
    idea_create(kind=Idea.Kind.ISSUE, title="Broken bench", category=category, location=IN_EAST)
    log_in(planner)
    page.set_viewport_size({"width": width, "height": 740})
    page.goto("/planner/")
    page.wait_for_load_state("networkidle")
    page.locator("#rates-details summary").click()
    page.get_by_role("button", name="Pins", exact=True).click()
    page.get_by_label("Show only the neighborhoods or teams whose name contains").fill("east")
    expect(page.locator("#rates-filter-status")).not_to_be_empty()
    assert_none(axe_violations(page, axe_source))


def test_axe_finds_no_serious_violation_while_a_pin_is_written(
    page: Page, live_server, city, category, axe_source
):
    """What the home page shows only once used: places found, the new pin and where it goes,
    similar pins nearby, then the form sent back with its errors."""
    idea_create(
        kind=Idea.Kind.ISSUE,
        title="Broken bench by the pond",
        description="The slats are gone.",
        category=category,
        location=IN_EAST,
    )
    page.goto("/")
    page.get_by_label("Find a neighborhood, street or place").fill("east")
    expect(page.locator("#place-search-results button").first).to_be_visible()
    assert_none(axe_violations(page, axe_source))

    page.evaluate(
        "([name, lat, lon]) => window[name].setView([lat, lon], 17, { animate: false })",
        [map_name(page), BESIDE_THE_PIN.y, BESIDE_THE_PIN.x],
    )
    page.mouse.click(*map_point(page, BESIDE_THE_PIN))
    expect(page.locator(".leaflet-marker-icon[title='Your new pin']")).to_be_visible()
    expect(page.locator("#route-hint")).to_contain_text("East Team")
    page.get_by_label("Title").fill("the bench is broken")
    expect(page.locator("#similar-pins")).to_be_visible()
    assert_none(axe_violations(page, axe_source))

    page.get_by_label("Title").fill("")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".field-error").first).to_be_visible()
    assert_none(axe_violations(page, axe_source))
