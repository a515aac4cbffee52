"""The planner page in Chromium: every map draws from local files, the thin areas are hatched,
tooltips show names as text, the table is there, and the page fits a phone."""

from playwright.sync_api import Page, expect

from neighborhoods.models import Neighborhood
from tests.browser.test_drop_a_pin import nothing_ran
from tests.geodata.engagement import engagement_city as grid

XSS_NAME = '<img src=x onerror="window.__xss=5">'
# Vector shapes Leaflet drew on a map (neighborhoods, hexagons, spots).
COUNT_PATHS = """name => {
  let n = 0;
  window[name].eachLayer(layer => { if (layer instanceof L.Path) n += 1; });
  return n;
}"""


def test_the_planner_sees_every_map_the_thin_areas_and_the_table(
    page: Page, live_server, category, make_user, log_in, traffic
):
    version = grid.grid_version()
    grid.insert_pins(grid.planted_pins(), category, version)
    Neighborhood.objects.filter(slug=grid.cell_slug(3, 3)).update(name=XSS_NAME)
    log_in(make_user("paula", planner=True))

    page.goto("/planner/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Where people speak up")
    maps = page.locator(".planner-map .folium-map.leaflet-container")
    expect(maps).to_have_count(4)
    names = [maps.nth(i).get_attribute("id") for i in range(4)]
    drawn = {name: page.evaluate(COUNT_PATHS, name) for name in names}
    heatmap, choropleth, hexagons, coldspots = names
    assert drawn[choropleth] == 64 + 4  # every neighborhood, then the 4 thin ones hatched
    assert drawn[hexagons] > 64
    assert drawn[coldspots] >= 64 + 4  # outlines, then at least the gap as cold spots
    expect(page.locator(f"#{choropleth} path[fill='url(#planner-thin-hatch)']")).to_have_count(4)

    table = page.locator("#rates-table")
    expect(table.locator("tbody tr")).to_have_count(64)
    expect(table.locator("tbody tr.is-thin")).to_have_count(4)
    expect(table.locator("tbody tr").first.locator("th")).to_have_text(XSS_NAME)
    expect(page.get_by_label("Hexagon size (H3 resolution)")).to_have_value("8")
    expect(page.get_by_label("Thin below (× the city rate)")).to_have_value("0.5")

    # The tooltip of the renamed square shows its name as text.
    page.locator(f"#{choropleth}").scroll_into_view_if_needed()
    x, y = page.evaluate(
        "([name, lat, lon]) => { const p = window[name].latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [choropleth, grid.SOUTH + 3.5 * grid.STEP, grid.WEST + 3.5 * grid.STEP],
    )
    box = page.locator(f"#{choropleth}").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    tooltip = page.locator(".leaflet-tooltip.foliumtooltip").first
    expect(tooltip).to_contain_text(XSS_NAME)
    expect(tooltip).to_contain_text("THIN: below 0.5 × the city rate")
    nothing_ran(page, traffic.requests)

    # A phone: nothing wider than the screen but what scrolls inside its own box.
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    expect(page.get_by_label("Category")).to_be_visible()

    assert traffic.console_errors == []
    assert traffic.failed == []
