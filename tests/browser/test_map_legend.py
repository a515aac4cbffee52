"""The citizen map's legend says what each pin colour and a cluster's bubble mean, in the
page's language, drawn from the colours the map itself uses; it passes axe, and on a phone
it starts closed and opens with a tap, within the screen."""

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import Page, expect

from mapideas.map import viewport
from mapideas.submission.services import idea_create
from tests.browser.test_accessibility import AXE_JS, assert_none, axe_violations
from tests.browser.test_drop_a_pin import map_name
from tests.conftest import IN_EAST, IN_WEST

# The fill colour of the pin drawn nearest each point, as the browser computes it on the
# marker's SVG path (the map's own drawing, not a copy of its table).
DRAWN_FILLS = """([name, points]) => {
  const map = window[name];
  return points.map(([lat, lon]) => {
    let found = null;
    map.eachLayer(layer => {
      if (layer instanceof L.CircleMarker && layer.getLatLng().distanceTo([lat, lon]) < 1) {
        found = getComputedStyle(layer.getElement()).fill;
      }
    });
    return found;
  });
}"""
BACKGROUND = "node => getComputedStyle(node).backgroundColor"
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def axe_source() -> str:
    return AXE_JS.read_text()


def swatch_colour(page: Page, kind: str) -> str:
    return page.locator(f"#map-legend li[data-kind={kind}] .map-legend-pin").evaluate(BACKGROUND)


@pytest.fixture
def an_idea_and_an_issue(city, category):
    idea_create(kind="idea", title="Bench", category=category, location=IN_WEST)
    idea_create(kind="issue", title="Pothole", category=category, location=IN_EAST)


def test_the_legend_names_each_pin_colour_the_map_draws(
    page: Page, live_server, an_idea_and_an_issue
):
    page.goto("/")
    expect(page.locator("#pins-status")).to_have_text("2 pins in view.")

    legend = page.locator("#map-legend")
    expect(legend).to_be_visible()
    expect(legend).to_have_attribute("open", "")
    expect(legend.locator("summary")).to_have_text("Legend")
    # What a screen reader reads: the swatches and the sample bubble are hidden from it.
    expect(legend.locator("li > span:not([aria-hidden])")).to_have_text(
        ["Idea", "Issue", "Pins close together, with how many: select to zoom in."]
    )
    idea_fill, issue_fill = page.evaluate(
        DRAWN_FILLS, [map_name(page), [[IN_WEST.y, IN_WEST.x], [IN_EAST.y, IN_EAST.x]]]
    )
    assert idea_fill != issue_fill
    assert (swatch_colour(page, "idea"), swatch_colour(page, "issue")) == (idea_fill, issue_fill)


def test_a_tap_on_the_legend_drops_no_pin(page: Page, live_server, an_idea_and_an_issue):
    page.goto("/")
    page.locator("#map-legend li[data-kind=issue]").click()

    expect(page.locator(".leaflet-marker-icon[title='Your new pin']")).to_have_count(0)
    expect(page.locator("#id_latitude")).to_have_value("")


def test_its_cluster_is_drawn_as_the_maps_clusters(
    page: Page, live_server, city, category, monkeypatch
):
    monkeypatch.setattr(viewport, "PIN_THRESHOLD", 1)
    for i in range(3):
        point = Point(IN_WEST.x + i * 0.00001, IN_WEST.y, srid=4326)
        idea_create(kind="idea", title=f"Pin {i}", category=category, location=point)

    page.goto("/")
    on_the_map = page.locator(".leaflet-marker-pane .cluster-bubble").first
    expect(on_the_map).to_have_text("3")

    in_the_legend = page.locator("#map-legend .cluster-bubble")
    assert in_the_legend.evaluate(BACKGROUND) == on_the_map.evaluate(BACKGROUND)
    assert in_the_legend.get_attribute("aria-hidden") == "true"


def test_it_is_in_the_pages_language(page: Page, live_server, an_idea_and_an_issue):
    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": live_server.url}])
    page.goto("/")

    kinds = page.locator("#map-legend li[data-kind]")
    expect(kinds).to_have_text(["Idée", "Signalement"])


def test_axe_finds_no_serious_violation_with_the_legend_open(
    page: Page, live_server, an_idea_and_an_issue, axe_source
):
    page.goto("/")
    expect(page.locator("#map-legend")).to_have_attribute("open", "")
    page.wait_for_load_state("networkidle")

    assert_none(axe_violations(page, axe_source))


def test_on_a_phone_it_starts_closed_and_opens_within_the_screen(
    page: Page, live_server, an_idea_and_an_issue, axe_source
):
    page.set_viewport_size(PHONE)
    page.goto("/")
    legend = page.locator("#map-legend")
    expect(legend).to_be_visible()
    expect(legend).not_to_have_attribute("open", "")
    expect(legend.locator("li").first).to_be_hidden()

    legend.locator("summary").click()

    expect(legend.locator("li[data-kind=issue]")).to_be_visible()
    box = legend.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.wait_for_load_state("networkidle")
    assert_none(axe_violations(page, axe_source))
