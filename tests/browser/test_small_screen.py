"""Mobile first: at 360×740 with touch, as a small phone, the home page, a pin's page
and a team's workspace fit the screen's width, the map is big enough to aim at, and a pin is
placed with a tap and sent."""

import re

import pytest
from playwright.sync_api import Page, expect

from mapideas.models import Idea
from mapideas.submission.services import idea_create
from tests.browser.test_drop_a_pin import map_point
from tests.conftest import IN_EAST

WIDTH, HEIGHT = 360, 740
NEW_PIN = ".leaflet-marker-icon[title='Your new pin']"


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """This module's pages open in a phone-sized, touch-first context."""
    return {
        **browser_context_args,
        "viewport": {"width": WIDTH, "height": HEIGHT},
        "has_touch": True,
        "is_mobile": True,
    }


# <main> scrolls by itself on phones (site.css): content too wide for it would scroll there,
# not in the document, so both are measured.
# The elements reaching past the screen's right edge (outside a scrolling table or the map) say why.
WIDTHS = """width => ({
  document: document.documentElement.scrollWidth,
  main: document.querySelector("main").scrollWidth,
  past_the_edge: [...document.querySelectorAll("main *")]
    .filter(el => !el.closest(".table-scroll, .leaflet-container"))
    .filter(el => el.getBoundingClientRect().right > width + 0.5)
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + (typeof el.className === "string" && el.className ? "." + el.className : "")),
})"""


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(WIDTHS, WIDTH)
    assert max(widths["document"], widths["main"]) <= WIDTH, (
        f"wider than the {WIDTH} px screen: {widths}"
    )


def a_pin(category) -> Idea:
    return idea_create(
        kind=Idea.Kind.ISSUE,
        title="Broken bench by the pond",
        description="The slats on the left are gone.",
        category=category,
        location=IN_EAST,
    )


def test_a_pin_is_placed_with_a_tap_and_sent_on_a_small_phone(
    page: Page, live_server, city, category
):
    page.goto("/")
    no_horizontal_scroll(page)
    map_box = page.locator(".map-pane .folium-map").bounding_box()
    assert map_box["width"] <= WIDTH
    assert map_box["height"] >= 300
    expect(page.locator(".map-pane .folium-map")).to_be_visible()

    page.touchscreen.tap(*map_point(page, IN_EAST))

    expect(page.locator(NEW_PIN)).to_be_visible()
    assert float(page.get_by_label("Latitude").input_value()) == pytest.approx(IN_EAST.y, abs=5e-4)
    assert float(page.get_by_label("Longitude").input_value()) == pytest.approx(IN_EAST.x, abs=5e-4)
    expect(page.locator("#route-hint")).to_contain_text("East Team")
    page.get_by_label("Issue", exact=True).tap()
    page.get_by_label("Title").fill("Broken bench by the pond")
    page.get_by_label("Description").fill("The slats on the left are gone.")
    page.get_by_label("Category").select_option(label=category.name)
    no_horizontal_scroll(page)
    send = page.get_by_role("button", name="Send")
    send.scroll_into_view_if_needed()
    box = send.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    send.tap()

    expect(page).to_have_url(re.compile(r"/ideas/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Broken bench by the pond")
    expect(page.locator("#idea-team")).to_have_text("East Team")
    no_horizontal_scroll(page)


def test_a_pins_page_fits_a_small_phone(page: Page, live_server, city, category):
    idea = a_pin(category)
    page.goto(idea.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text("Broken bench by the pond")
    expect(page.locator(".map-pane .folium-map")).to_be_visible()
    no_horizontal_scroll(page)


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/teams/{team}/offline/", "member"),
        ("/staff/moderation/", "member"),
        ("/accounts/delete/", "member"),
        ("/planner/", "planner"),
        ("/staff/boundaries/", "planner"),
        ("/alerts/", None),
        ("/accounts/login/", None),
        ("/accounts/signup/", None),
        ("/ogc/collections/ideas/items?f=html", None),
    ],
)
def test_the_other_pages_fit_a_small_phone(
    page: Page, live_server, city, category, east_member, planner, log_in, path, who
):
    a_pin(category)
    if who:
        log_in(east_member if who == "member" else planner)
    response = page.goto(path.format(team=city.east_team.slug))
    assert response.status == 200
    no_horizontal_scroll(page)


def test_a_team_workspace_fits_a_small_phone(
    page: Page, live_server, city, category, east_member, log_in
):
    a_pin(category)
    log_in(east_member)
    page.goto(f"/teams/{city.east_team.slug}/")
    expect(page.get_by_role("link", name="Broken bench by the pond").first).to_be_visible()
    expect(page.locator(".map-pane .folium-map")).to_be_visible()
    no_horizontal_scroll(page)
