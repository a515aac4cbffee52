"""The citizen map with many pins in view: clusters with their counts, which zoom in to the
pins when clicked or when Enter is pressed on them."""

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import Page, expect

from mapideas.map import viewport
from mapideas.submission.services import idea_create
from tests.browser.test_drop_a_pin import map_name, pins_on_map
from tests.conftest import IN_EAST, IN_WEST

ZOOM = "name => window[name].getZoom()"
# The clusters on the map (the legend shows a sample bubble too: map-legend.js).
BUBBLES = ".leaflet-marker-pane .cluster-bubble"


@pytest.fixture
def many_pins(city, category, monkeypatch):
    """Nine pins, more than a threshold lowered to 3: the city's map starts with clusters.
    A title that is markup shows as text wherever it is drawn."""
    monkeypatch.setattr(viewport, "PIN_THRESHOLD", 3)
    spots = [IN_WEST] * 5 + [IN_EAST] * 4
    for i, spot in enumerate(spots):
        idea_create(
            kind="idea",
            title=f"<b>Pin {i}</b>",
            category=category,
            location=Point(spot.x + i * 0.00001, spot.y, srid=4326),
        )


def test_clusters_show_their_counts_and_zoom_in_to_the_pins(page: Page, live_server, many_pins):
    page.goto("/")

    expect(page.locator("#pins-status")).to_have_text("9 pins in view — zoom in to list them.")
    bubbles = page.locator(BUBBLES)
    expect(bubbles).to_have_count(2)
    assert sorted(int(text) for text in bubbles.all_text_contents()) == [4, 5]
    expect(page.locator("#pins-in-view li")).to_have_count(0)
    assert pins_on_map(page) == 0

    before = page.evaluate(ZOOM, map_name(page))
    page.get_by_role("button", name="5 pins here: zoom in").click()

    expect(page.locator("#pins-status")).to_have_text("5 pins in view.")
    assert page.evaluate(ZOOM, map_name(page)) == before + 2
    expect(page.locator(BUBBLES)).to_have_count(0)
    expect(page.locator("#pins-in-view li")).to_have_count(5)
    expect(page.locator("#pins-in-view a").first).to_have_text("<b>Pin 4</b>")
    assert pins_on_map(page) == 5


def test_a_cluster_is_a_tab_stop_that_enter_zooms_into(page: Page, live_server, many_pins):
    page.goto("/")
    cluster = page.get_by_role("button", name="4 pins here: zoom in")
    expect(cluster).to_be_visible()
    before = page.evaluate(ZOOM, map_name(page))

    cluster.focus()
    expect(cluster).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#pins-status")).to_have_text("4 pins in view.")
    assert page.evaluate(ZOOM, map_name(page)) == before + 2
    assert pins_on_map(page) == 4
