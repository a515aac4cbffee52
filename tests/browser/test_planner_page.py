"""The planner page in Chromium: every map draws from local files, the thin areas are hatched,
tooltips show names as text, the table is there, and the page fits a phone; the demo city
shows rates per resident, response times and who is heard, and passes axe."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from geodata.planner import maps as planner_maps
from geodata.planner import page as planner_page
from neighborhoods.models import Neighborhood
from tests.browser.test_accessibility import assert_none, axe_source, axe_violations  # noqa: F401
from tests.browser.test_drop_a_pin import nothing_ran
from tests.geodata.engagement import engagement_city as grid
from tests.geodata.planner.test_planner_service import slow_layer

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
    expect(maps).to_have_count(5)
    names = [maps.nth(i).get_attribute("id") for i in range(5)]
    drawn = {name: page.evaluate(COUNT_PATHS, name) for name in names}
    heatmap, choropleth, hexagons, coldspots, _service = names
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


# --- reads at a glance: the summary first, the maps, then the long table, collapsed ---------

FILTER_LABEL = "Show only the neighborhoods or teams whose name contains"


@pytest.fixture
def planted_city(category, make_user, log_in):
    version = grid.grid_version()
    grid.insert_pins(grid.planted_pins(), category, version)
    log_in(make_user("paula", planner=True))


def open_table(page: Page):
    page.goto("/planner/")
    table = page.locator("#rates-table")
    page.locator("#rates-details summary").click()
    expect(table).to_be_visible()
    return table


def header(page: Page, name: str):
    """The column header whose sort button is `name`."""
    button = page.get_by_role("button", name=name, exact=True)
    return page.locator("#rates-table thead th").filter(has=button)


def pins_column(table) -> list[int]:
    return [int(n) for n in table.locator("tbody tr td:nth-child(3)").all_text_contents()]


def test_what_needs_attention_comes_first_and_the_table_comes_last_collapsed(
    page: Page, live_server, planted_city, traffic
):
    page.goto("/planner/")

    summary = page.get_by_role("region", name="What needs attention")
    expect(summary).to_be_in_viewport()
    main_headings = page.locator(".planner-main h2")
    expect(main_headings.first).to_have_text("What needs attention")
    items = summary.get_by_role("listitem")
    # The planted gap: the three thinnest of its four squares, by name; then its cold spots.
    expect(items.nth(0)).to_contain_text("Thin area 1 of 4")
    expect(items.nth(0)).to_contain_text("R3 C3")
    expect(items.nth(2)).to_contain_text("R4 C3")
    expect(summary).to_contain_text("Cold spot")
    expect(summary).to_contain_text("Outreach 1")
    expect(summary.get_by_role("link", name="Rates by neighborhood").first).to_have_attribute(
        "href", "#rates"
    )

    # Then the maps, each before the long table, which is collapsed.
    tables = page.locator("#tables")
    expect(page.locator("#rates-details")).not_to_have_attribute("open", "")
    expect(page.locator("#rates-table")).to_be_hidden()
    summary_top = summary.bounding_box()["y"]
    maps_top = [m.bounding_box()["y"] for m in page.locator(".planner-map").all()]
    assert summary_top < min(maps_top)
    assert max(maps_top) < tables.bounding_box()["y"]

    page.get_by_text("The figures of 64 neighborhoods, as a table").click()
    expect(page.locator("#rates-table tbody tr")).to_have_count(64)
    assert traffic.console_errors == []


def test_on_a_phone_what_needs_attention_is_on_the_first_screen(
    page: Page, live_server, planted_city
):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/planner/")

    expect(page.get_by_role("region", name="What needs attention")).to_be_in_viewport()
    # The filters are folded there, one tap away.
    category = page.get_by_label("Category")
    expect(category).to_be_hidden()
    page.locator("#filters-box summary").click()
    expect(category).to_be_visible()


def test_the_table_sorts_by_a_column_with_the_keyboard_and_says_how(
    page: Page, live_server, planted_city
):
    table = open_table(page)
    pins = table.get_by_role("button", name="Pins", exact=True)
    pins_header = header(page, "Pins")
    expect(pins_header).not_to_have_attribute("aria-sort", re.compile(".*"))

    pins.focus()
    page.keyboard.press("Enter")
    expect(pins_header).to_have_attribute("aria-sort", "ascending")
    counts = pins_column(table)
    assert counts == sorted(counts) and counts[0] == 0

    page.keyboard.press("Space")
    expect(pins_header).to_have_attribute("aria-sort", "descending")
    counts = pins_column(table)
    assert counts == sorted(counts, reverse=True) and counts[-1] == 0

    # Another column takes over the order; the first says nothing any more.
    name = table.get_by_role("button", name="Neighborhood", exact=True)
    name.click()
    expect(header(page, "Neighborhood")).to_have_attribute("aria-sort", "ascending")
    expect(pins_header).not_to_have_attribute("aria-sort", re.compile(".*"))
    expect(table.locator("tbody tr th").first).to_have_text("R0 C0")
    expect(table.locator("tbody tr th").last).to_have_text("R7 C7")


def test_the_table_sorts_areas_without_a_figure_last_either_way(
    page: Page, live_server, planted_city
):
    """The ratio of the planted gap is 0, of a square without residents none: last both ways."""
    Neighborhood.objects.filter(slug=grid.cell_slug(0, 0)).update(population=0)
    table = open_table(page)
    ratio = table.get_by_role("button", name="Ratio", exact=True)
    ratio.click()
    expect(table.locator("tbody tr").last).to_have_attribute("data-slug", "r0-c0")
    ratio.click()
    expect(header(page, "Ratio")).to_have_attribute("aria-sort", "descending")
    expect(table.locator("tbody tr").last).to_have_attribute("data-slug", "r0-c0")


def test_the_table_filters_by_neighborhood_or_team_name(page: Page, live_server, planted_city):
    table = open_table(page)
    rows = table.locator("tbody tr:visible")
    box = page.get_by_label(FILTER_LABEL)

    box.fill("r3 ")
    expect(rows).to_have_count(8)
    expect(page.locator("#rates-filter-status")).to_have_text("8 of 64 neighborhoods shown")
    box.fill("grid team")  # every square's team
    expect(rows).to_have_count(64)
    box.fill("nowhere")
    expect(rows).to_have_count(0)
    expect(page.locator("#rates-filter-status")).to_have_text("0 of 64 neighborhoods shown")
    box.fill("")
    expect(rows).to_have_count(64)
    expect(page.locator("#rates-filter-status")).to_be_empty()


def test_on_a_phone_the_open_table_scrolls_in_its_own_box(page: Page, live_server, planted_city):
    page.set_viewport_size({"width": 360, "height": 740})
    table = open_table(page)
    page.get_by_label(FILTER_LABEL).fill("r")
    table.get_by_role("button", name="Ratio", exact=True).click()

    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    box = page.locator("#rates-details .table-scroll")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")  # the table scrolls inside
    assert box.bounding_box()["width"] <= 360
    for part in ("#attention", "#rates-details summary", ".table-filter"):
        assert page.locator(part).bounding_box()["width"] <= 360, part


def test_without_scripts_the_table_still_reads(browser, live_server, planted_city, page: Page):
    """No sort buttons and no filter box (they would do nothing), the rows as the server
    ordered them, thinnest first."""
    context = browser.new_context(java_script_enabled=False)
    context.add_cookies(page.context.cookies())
    bare = context.new_page()
    bare.goto(f"{live_server.url}/planner/")
    bare.locator("#rates-details summary").click()
    table = bare.locator("#rates-table")
    expect(table).to_be_visible()
    expect(table.get_by_role("button")).to_have_count(0)
    expect(bare.locator(".table-filter")).to_be_hidden()
    expect(bare.get_by_label("Category")).to_be_visible()  # the filters stay open
    expect(table.locator("tbody tr").first).to_have_attribute("data-slug", "r3-c3")
    context.close()


# --- the demo city: rates per resident, response times, who is heard --------------------------


@pytest.fixture
def demo_city(make_user, log_in):
    call_command("load_demo_city", "--commit", stdout=StringIO())
    log_in(make_user("paula", planner=True))


@pytest.mark.parametrize("width", [1280, 360])
def test_the_demo_city_shows_rates_per_resident_response_times_and_who_is_heard(
    page: Page,
    live_server,
    demo_city,
    traffic,
    axe_source,  # noqa: F811
    width,
):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/planner/")
    page.wait_for_load_state("networkidle")

    expect(page.locator("#rates-title")).to_have_text("Pins per 1,000 residents, by neighborhood")
    maps = page.locator(".planner-map .folium-map.leaflet-container")
    expect(maps).to_have_count(5)
    service = page.locator("#service .folium-map").get_attribute("id")
    # Every neighborhood coloured, those with too few pins hatched over, the spots outlined.
    areas = Neighborhood.objects.count()
    assert page.evaluate(COUNT_PATHS, service) > areas
    expect(page.locator(f"#{service} path[fill='url(#planner-thin-hatch)']").first).to_be_attached()
    expect(page.locator("#service-legend")).to_contain_text("too few pins to say")
    # The Northwest Side team answers slowly: its areas are the slowest of the page's, and
    # at least one of them is a slow spot, in the table, on the map and in the summary.
    expect(page.locator("#teams-table")).to_contain_text("Northwest Side team")
    expect(page.locator("#service")).to_contain_text("Getis-Ord Gi*")
    expect(page.locator("#slow-table tbody tr").first).to_contain_text("slow spot")
    expect(page.get_by_role("region", name="What needs attention")).to_contain_text("Slow answers")

    heard = page.locator("#heard")
    for attribute in ("per_capita_income", "households_below_poverty_pct"):
        chart = heard.get_by_role("img", name=re.compile(attribute))
        expect(chart).to_have_count(1)
        expect(chart.locator("g.fifth")).to_have_count(5)
    expect(heard).to_contain_text(
        "Neighborhood-level estimates; nothing is inferred about a person."
    )
    expect(heard).to_contain_text("Spearman's rank correlation")
    expect(page.get_by_role("region", name="What needs attention")).to_contain_text("Who is heard")

    page.locator("#teams-details summary").click()
    expect(page.locator("#teams-table")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert_none(axe_violations(page, axe_source))
    assert traffic.console_errors == []
    assert traffic.failed == []


def test_a_slow_spot_is_outlined_on_the_response_times_map(
    page: Page, live_server, planted_city, monkeypatch
):
    """The grid's pins are never answered, so no square is slower than its neighbours: one is
    made a slow spot, as slowspots would flag it."""
    spots = slow_layer()
    monkeypatch.setattr(planner_page.engagement_slowspots, "slowspots", lambda *a, **k: spots)

    page.goto("/planner/")

    service = page.locator("#service .folium-map").get_attribute("id")
    outlined = page.locator(f"#{service} path[stroke='{planner_maps.SLOW_COLOR}']")
    expect(outlined).to_have_count(1)
    expect(page.locator("#slow-table tbody tr")).to_have_count(1)
    expect(page.locator("#slow-table")).to_contain_text("slow spot")
    expect(page.get_by_role("region", name="What needs attention")).to_contain_text("Slow answers")
