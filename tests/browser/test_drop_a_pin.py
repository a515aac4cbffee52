"""The pages in a real browser: drop a pin by mouse or keyboard, see where it went, and check
that no page needs another host or runs text that people typed."""

import re
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone
from playwright.sync_api import Page, expect

from mapideas.models import Idea
from mapideas.submission.services import OUTSIDE_MESSAGE, idea_create
from neighborhoods.models import Neighborhood, Team
from tests.conftest import IN_EAST, IN_WEST, ON_ISLAND, ON_SHARED_BORDER, OUTSIDE_CITY

SHOTS = Path(tempfile.gettempdir()) / "mapideas-shots"

XSS_TITLE = '<img src=x onerror="window.__xss=1">'
XSS_DESCRIPTION = "<script>window.__xss=2</script>"
XSS_TEAM = 'East <b>Team</b><img src=x onerror="window.__xss=3">'
XSS_NEIGHBORHOOD = 'East <i>Side</i><svg onload="window.__xss=4"></svg>'

# Counts Leaflet circle markers (the pins pin-map.js draws) on the page's folium map.
COUNT_PINS = """name => {
  let n = 0;
  window[name].eachLayer(layer => { if (layer instanceof L.CircleMarker) n += 1; });
  return n;
}"""
OPEN_PIN_POPUPS = """name => {
  window[name].eachLayer(layer => { if (layer instanceof L.CircleMarker) layer.openPopup(); });
}"""
# How many pixels of the heatmap canvas are not fully transparent.
HEAT_PAINTED = """() => {
  const canvas = document.querySelector("canvas.leaflet-heatmap-layer");
  if (!canvas || !canvas.width || !canvas.height) return 0;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
  return painted;
}"""


def map_name(page: Page) -> str:
    """The global JS name of the folium map, as pin-map.js is told it."""
    return page.locator("script[data-map]").get_attribute("data-map")


def map_point(page: Page, point: Point) -> tuple[float, float]:
    """Where `point` is on screen, in page coordinates."""
    name = map_name(page)
    x, y = page.evaluate(
        "([name, lat, lon]) => {"
        "  const p = window[name].latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [name, point.y, point.x],
    )
    box = page.locator(f"#{name}").bounding_box()
    return box["x"] + x, box["y"] + y


def pins_on_map(page: Page) -> int:
    return page.evaluate(COUNT_PINS, map_name(page))


def nothing_ran(page: Page, requests: list[str]) -> None:
    assert page.evaluate("() => window.__xss") is None
    # Injected markup would show up as elements, and the <img> as a request for /x.
    assert page.locator("img[src='x'], svg[onload], .pin-popup script").count() == 0
    assert not any(urlsplit(url).path == "/x" for url in requests)


def test_it_drops_a_pin_with_a_click_and_routes_it_to_the_team_of_that_place(
    page: Page, live_server, city, category
):
    page.goto("/")
    expect(page.locator("#pins-status")).to_have_text("0 pins in view.")

    page.mouse.click(*map_point(page, IN_EAST))

    expect(page.locator(".leaflet-marker-icon[title='Your new pin']")).to_be_visible()
    assert float(page.get_by_label("Latitude").input_value()) == pytest.approx(IN_EAST.y, abs=2e-4)
    assert float(page.get_by_label("Longitude").input_value()) == pytest.approx(IN_EAST.x, abs=2e-4)
    page.get_by_label("Issue", exact=True).check()
    page.get_by_label("Title").fill("Broken bench by the pond")
    page.get_by_label("Description").fill("The slats on the left are gone.")
    page.get_by_label("Category").select_option(label=category.name)
    page.get_by_role("button", name="Send").click()

    expect(page).to_have_url(re.compile(r"/ideas/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Broken bench by the pond")
    expect(page.locator("#idea-team")).to_have_text("East Team")
    expect(page.locator("#idea-neighborhood")).to_have_text("East Side")
    expect(page.get_by_role("status")).to_contain_text("Your issue was sent to East Team")

    (feature,) = page.request.get("/api/ideas/").json()["features"]
    assert feature["properties"]["title"] == "Broken bench by the pond"
    assert feature["properties"]["kind"] == "issue"
    assert feature["properties"]["category"] == category.slug
    assert feature["properties"]["team_slug"] == city.east_team.slug
    assert feature["properties"]["neighborhood_slug"] == city.east.slug
    assert feature["properties"]["channel"] == "web"
    assert page.url.endswith(feature["properties"]["url"])

    page.goto("/")
    expect(page.locator("#pins-in-view li")).to_have_text(
        ["Broken bench by the pond — East Team, East Side"]
    )
    assert pins_on_map(page) == 1


def test_it_drops_a_pin_with_the_keyboard_alone(page: Page, live_server, city, category):
    page.goto("/")
    page.get_by_label("Idea", exact=True).focus()
    page.keyboard.press("ArrowRight")  # the radio group's next choice: Issue
    page.keyboard.press("Tab")
    page.keyboard.type("Ferry shelter leaks")
    page.keyboard.press("Tab")
    page.keyboard.type("Water drips on the bench when it rains.")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # the first category
    page.keyboard.press("Tab")
    page.keyboard.type(f"{ON_ISLAND.y}")
    page.keyboard.press("Tab")
    page.keyboard.type(f"{ON_ISLAND.x}")
    page.keyboard.press("Tab")
    # The optional email address and name (MAPIDEAS_SUBMISSION_MODES): left empty, the pin
    # is sent anonymously.
    expect(page.get_by_label("Your email")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    # The optional photo, left empty.
    expect(page.get_by_label("Photo (optional)")).to_be_focused()
    page.keyboard.press("Tab")

    # Typed coordinates move the draft marker, as a click would.
    expect(page.locator(".leaflet-marker-icon[title='Your new pin']")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/ideas/\d+/$"))
    expect(page.locator("#idea-team")).to_have_text("Harbor Team")
    expect(page.locator("#idea-neighborhood")).to_have_text("Harbor")
    idea = Idea.objects.select_related("category").get()
    assert (idea.kind, idea.title, idea.category.slug) == (
        "issue",
        "Ferry shelter leaks",
        "streets-sidewalks",
    )
    assert idea.description == "Water drips on the bench when it rains."
    assert idea.team == city.harbor_team


def test_it_refuses_a_point_outside_every_neighborhood_and_says_so_by_the_fields(
    page: Page, live_server, city, category
):
    page.goto("/")
    page.get_by_label("Title").fill("Buoy is adrift")
    page.get_by_label("Category").select_option(label=category.name)
    page.get_by_label("Latitude").fill(str(OUTSIDE_CITY.y))
    page.get_by_label("Longitude").fill(str(OUTSIDE_CITY.x))
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Send").click()

    assert posted.value.status == 400
    error = page.get_by_role("alert").filter(has_text=OUTSIDE_MESSAGE)
    expect(error).to_be_visible()
    # The field to fix has the focus, so a phone scrolls it into view...
    latitude = page.get_by_label("Latitude")
    expect(latitude).to_be_focused()
    # ... and the error is right under the coordinates, not somewhere else on the page. Both
    # measured in one frame: the page may still be scrolling to the focused field.
    gap = page.evaluate(
        "([error, field]) => error.getBoundingClientRect().y - field.getBoundingClientRect().y",
        [error.element_handle(), latitude.element_handle()],
    )
    assert 0 <= gap < 150
    expect(page.get_by_label("Title")).to_have_value("Buoy is adrift")
    expect(latitude).to_have_value(str(OUTSIDE_CITY.y))
    assert not Idea.objects.exists()


def test_it_loads_every_page_from_the_live_server_alone(
    page: Page, live_server, city, category, planner, log_in, traffic
):
    idea = idea_create(kind="idea", title="Tree", category=category, location=IN_WEST)
    page.goto("/")
    expect(page.locator("#pins-status")).to_have_text("1 pin in view.")
    page.goto(idea.get_absolute_url())
    expect(page.locator(".leaflet-marker-icon[title='This pin']")).to_be_visible()
    log_in(planner)
    for url in (f"/teams/{city.west_team.slug}/", "/planner/"):
        assert page.goto(url).status == 200
    expect(page.locator("canvas.leaflet-heatmap-layer")).to_be_attached()

    assert traffic.blocked == []
    assert {urlsplit(url).hostname for url in traffic.requests} == {
        urlsplit(live_server.url).hostname
    }
    assert traffic.failed == []
    assert traffic.console_errors == []
    requested = {urlsplit(url).path for url in traffic.requests}
    assert {
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/images/marker-icon.png",
        "/static/vendor/jquery/jquery.min.js",
        "/static/vendor/leaflet.heat/leaflet-heat.js",
        "/static/mapideas/pin-map.js",
        "/static/mapideas/site.css",
    } <= requested


def test_it_shows_text_people_typed_as_text_and_never_runs_it(
    page: Page, live_server, city, category, east_member, log_in, traffic
):
    Team.objects.filter(pk=city.east_team.pk).update(name=XSS_TEAM)
    Neighborhood.objects.filter(pk=city.east.pk).update(name=XSS_NEIGHBORHOOD)
    idea = idea_create(
        kind="idea",
        title=XSS_TITLE,
        description=XSS_DESCRIPTION,
        category=category,
        location=IN_EAST,
    )

    page.goto("/")
    expect(page.locator("#pins-in-view a")).to_have_text([XSS_TITLE])
    expect(page.locator(".nb-label-text", has_text="East <i>Side</i>")).to_have_text(
        XSS_NEIGHBORHOOD
    )
    # The neighborhood's tooltip, away from the pin.
    page.mouse.move(*map_point(page, Point(4.018, 50.008, srid=4326)))
    expect(page.locator(".leaflet-tooltip")).to_contain_text(XSS_NEIGHBORHOOD)
    expect(page.locator(".leaflet-tooltip")).to_contain_text(XSS_TEAM)
    page.evaluate(OPEN_PIN_POPUPS, map_name(page))
    popup = page.locator(".leaflet-popup-content")
    expect(popup.locator("strong")).to_have_text(XSS_TITLE)
    expect(popup).to_contain_text(f"Team: {XSS_TEAM}")
    nothing_ran(page, traffic.requests)

    page.goto(idea.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text(XSS_TITLE)
    expect(page.locator(".description")).to_have_text(XSS_DESCRIPTION)
    expect(page.locator("#idea-team")).to_have_text(XSS_TEAM)
    expect(page.locator("#idea-neighborhood")).to_have_text(XSS_NEIGHBORHOOD)
    assert page.title().startswith(XSS_TITLE)
    nothing_ran(page, traffic.requests)

    log_in(east_member)
    page.goto(f"/teams/{city.east_team.slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(XSS_TEAM)
    expect(page.get_by_role("link", name=XSS_TITLE)).to_be_visible()
    nothing_ran(page, traffic.requests)


def test_it_logs_a_team_member_in_and_lists_the_team_pins_newest_first(
    page: Page, live_server, city, category, east_member
):
    now = timezone.now()
    for title, where, age in [
        ("Older east pin", IN_EAST, timedelta(days=3)),
        ("West pin", IN_WEST, timedelta(days=2)),
        ("Newer east pin", ON_SHARED_BORDER, timedelta(hours=1)),
    ]:
        idea_create(
            kind="idea", title=title, category=category, location=where, created_at=now - age
        )

    page.goto(f"/teams/{city.east_team.slug}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/teams/east-team/$"))
    page.get_by_label("Username").fill(east_member.username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/teams/{city.east_team.slug}/")
    expect(page.get_by_role("button", name=f"Log out {east_member.username}")).to_be_visible()
    # Each row links its pin by title (the first columns are the checkbox and the date).
    expect(page.locator("table.ideas tbody tr td > a")).to_have_text(
        ["Newer east pin", "Older east pin"]
    )


def test_it_draws_the_planner_heatmap_and_serves_its_exports(
    page: Page, live_server, city, category, planner, log_in
):
    for title, kind, where in [
        ("A", "issue", IN_EAST),
        ("B", "issue", IN_WEST),
        ("C", "idea", ON_ISLAND),
        ("D", "idea", IN_WEST),
    ]:
        idea_create(kind=kind, title=title, category=category, location=where)
    log_in(planner)

    # The planner page filters what rates can be compared on (not by team: a rate needs the
    # whole city); the heatmap and the exports follow the same filters.
    page.goto("/planner/?kind=issue")
    expect(page.locator("canvas.leaflet-heatmap-layer")).to_be_visible()
    page.wait_for_function(f"({HEAT_PAINTED})() > 0")
    expect(page.get_by_text("2 pins match")).to_be_visible()

    # A download link is named by its visible format first, then its layer (label in name;
    # Chromium puts a space before the hidden part, which is positioned).
    pins_as_geojson = re.compile(r"^GeoJSON ?, Pins, as shown$")
    ideas = page.request.get(page.get_by_role("link", name=pins_as_geojson).get_attribute("href"))
    assert ideas.status == 200
    assert ideas.headers["content-type"] == "application/geo+json"
    assert sorted(f["properties"]["title"] for f in ideas.json()["features"]) == ["A", "B"]

    counts = page.locator("#exports a[aria-describedby='neighborhood-counts']")
    areas = page.request.get(counts.filter(has_text="GeoJSON").get_attribute("href"))
    assert areas.status == 200
    assert areas.headers["content-type"] == "application/geo+json"
    assert len(areas.json()["features"]) == 4


@pytest.mark.parametrize("width,height", [(360, 740), (1280, 800)])
def test_it_fits_the_home_page_in_the_window(
    page: Page, live_server, city, category, width, height
):
    for title, where in [("Bench", IN_EAST), ("Lamp post out", IN_WEST)]:
        idea_create(kind="idea", title=title, category=category, location=where)
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/")
    expect(page.locator("#pins-status")).to_have_text("2 pins in view.")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"home-{width}x{height}.png")

    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    the_map = page.locator(f"#{map_name(page)}").bounding_box()
    assert the_map["width"] >= width * 0.6
    assert the_map["height"] >= height * 0.4
    # Every neighborhood is in view, so every one can take a pin.
    for point in (IN_WEST, IN_EAST, ON_ISLAND):
        x, y = map_point(page, point)
        assert the_map["x"] <= x <= the_map["x"] + the_map["width"]
        assert the_map["y"] <= y <= the_map["y"] + the_map["height"]
    title = page.get_by_label("Title")
    title.scroll_into_view_if_needed()
    box = title.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
