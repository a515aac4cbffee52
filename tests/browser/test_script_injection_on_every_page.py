"""User text is shown as text on every page, never run. Script-injection payloads go
in everywhere people or staff type text (a pin's title, description, event name, answer and
comment; team, category and neighborhood names, in English and in their translations), then
Chromium opens every page of the site as the person who may see it, in English and in French,
and no payload may have run.

Each payload sets window.__xss when it runs: an <img onerror>, a <script>, an <svg onload>,
a javascript: link clicked by nobody but counted if rendered as a link, and a string that
would break out of an HTML attribute or a JSON script block."""

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import Page

from geodata.models import Place
from mapideas.models import Category, Idea
from mapideas.moderation.services import idea_flag
from mapideas.participation.services import comment_add
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from neighborhoods.models import Neighborhood, Team
from tests.browser.test_accessibility import PAGES
from tests.conftest import IN_EAST

PAYLOADS = {
    "title": "<img src=x onerror=\"window.__xss='title'\">",
    "description": "<script>window.__xss='description'</script>",
    "event": '"><svg onload="window.__xss=\'event\'"></svg>',
    "answer": "</script><script>window.__xss='answer'</script>",
    "comment": "<img src=x onerror=\"window.__xss='comment'\">",
    "team": "East <b>Team</b><img src=x onerror=\"window.__xss='team'\">",
    "team_fr": "Équipe <img src=x onerror=\"window.__xss='team_fr'\">",
    "category": "Parks <svg onload=\"window.__xss='category'\"></svg>",
    "category_fr": "Parcs '\"><img src=x onerror=\"window.__xss='category_fr'\">",
    "neighborhood": "East <i>Side</i><svg onload=\"window.__xss='neighborhood'\"></svg>",
    "place": "<a href=\"javascript:window.__xss='place'\">Rue</a>",
}


@pytest.fixture
def planted(city, category, east_member, planner):
    Team.objects.filter(pk=city.east_team.pk).update(
        name=PAYLOADS["team"], name_translations={"fr": PAYLOADS["team_fr"]}
    )
    Category.objects.filter(pk=category.pk).update(
        name=PAYLOADS["category"], name_translations={"fr": PAYLOADS["category_fr"]}
    )
    Neighborhood.objects.filter(pk=city.east.pk).update(name=PAYLOADS["neighborhood"])
    Place.objects.create(
        name=PAYLOADS["place"],
        name_normalized="rue",
        kind="street",
        point=IN_EAST,
        min_lon=IN_EAST.x,
        min_lat=IN_EAST.y,
        max_lon=IN_EAST.x,
        max_lat=IN_EAST.y,
        source="test",
    )
    category.refresh_from_db()
    idea = idea_create(
        kind=Idea.Kind.ISSUE,
        title=PAYLOADS["title"],
        description=PAYLOADS["description"],
        category=category,
        location=IN_EAST,
        event_name=PAYLOADS["event"],
    )
    idea_status_change(
        idea=idea, status="acknowledged", answer=PAYLOADS["answer"], actor=east_member
    )
    comment_add(idea=idea, author=east_member, text=PAYLOADS["comment"])
    # Seen in the moderation queue too.
    idea_flag(idea=idea, reason="spam", user=planner)
    idea_create(
        kind=Idea.Kind.IDEA,
        title=PAYLOADS["title"] + " 2",
        category=category,
        location=Point(IN_EAST.x + 0.0004, IN_EAST.y, srid=4326),
    )
    return idea


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_payload_runs_on_any_page(
    page: Page, live_server, city, east_member, planner, make_user, log_in, planted, language
):
    page.context.set_extra_http_headers({"Accept-Language": language})
    people = {"member": east_member, "planner": planner, "outsider": make_user("olga")}
    ran = {}
    for name, visit in PAGES.items():
        page.context.clear_cookies()
        if visit.who:
            log_in(people[visit.who])
        response = page.goto(visit.path.format(idea=planted.pk, team=city.east_team.slug))
        assert response.status == visit.status, name
        page.wait_for_load_state("networkidle")
        if name == "home":
            # What the scripts draw from the API: the place search's list, the similar pins
            # and the route hint, and a pin's popup.
            page.locator("#place-search input[role=combobox]").fill("rue")
            page.wait_for_load_state("networkidle")
        if name == "pin":  # the payloads are there, as text
            assert page.locator("h1").inner_text() == PAYLOADS["title"]
            assert PAYLOADS["answer"] in page.locator(".answer").first.inner_text()
        value = page.evaluate("() => window.__xss || null")
        if value is not None:
            ran[name] = value
        # A payload shown as a link would run when followed.
        links = page.evaluate(
            "() => [...document.querySelectorAll('a[href^=\"javascript:\"]')].length"
        )
        assert links == 0, f"{name}: a javascript: link was rendered"
    assert not ran, f"payloads ran: {ran}"
