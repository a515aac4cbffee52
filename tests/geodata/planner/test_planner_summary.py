"""The planner page reads at a glance (geodata.planner.page): first what needs attention (the
thinnest areas against the city, the cold spots, the top of the outreach list, thin hexagon
cells, each saying why and where the figures are), then the maps, then the long table,
collapsed. A new kind of finding is one more source of attention items."""

import re

import pytest
from django.utils.html import escape
from pytest_django.asserts import assertContains, assertNotContains

from geodata.engagement import coldspots as engagement_coldspots
from geodata.engagement import hexagons as engagement_hexagons
from geodata.engagement import outreach as engagement_outreach
from geodata.engagement import rates as engagement_rates
from geodata.engagement.query import parse_query
from geodata.planner import page as planner_page
from geodata.planner.page import AttentionItem, Figures
from neighborhoods.models import Neighborhood
from tests.geodata.engagement import engagement_city as grid

pytestmark = pytest.mark.django_db

SCRIPT_NAME = "<script>window.__xss=2</script>"
GAP_NAMES = [grid.cell_name(r, c) for r, c in sorted(grid.GAP)]


@pytest.fixture
def planted(category):
    version = grid.grid_version()
    grid.insert_pins(grid.planted_pins(), category, version)


@pytest.fixture
def planner_client(client, make_user):
    client.force_login(make_user("paula", planner=True))
    return client


def figures() -> Figures:
    selection, options = parse_query("engagement-hexagons", {})
    engagement = engagement_rates.neighborhood_engagement(selection)
    return Figures(
        engagement=engagement,
        hexagons=engagement_hexagons.hexagon_engagement(
            selection, engagement, resolution=options.resolution
        ),
        spots=engagement_coldspots.coldspots(engagement),
        outreach=engagement_outreach.outreach(engagement, limit=20),
        unit="per 1,000 residents",
    )


def summary(response) -> str:
    html = response.content.decode()
    return html.split('id="attention"')[1].split("</section>")[0]


def test_the_thinnest_areas_come_first_with_their_rate_against_the_city(planted):
    items = planner_page.attention_items(figures())

    thin = [item for item in items if item.href == "#rates"]
    # The four squares of the planted gap are thin; the summary names the first three.
    assert [item.name for item in thin] == GAP_NAMES[:3]
    assert [item.topic for item in thin] == [f"Thin area {n} of 4" for n in (1, 2, 3)]
    assert all("thin below 0.5 ×" in item.why for item in thin)
    assert items[: len(thin)] == thin


def test_cold_spots_outreach_and_thin_cells_follow_each_saying_where_to_look(planted):
    items = planner_page.attention_items(figures())

    cold = [item for item in items if item.topic == "Cold spot"]
    assert 1 <= len(cold) <= planner_page.ATTENTION_LIMIT
    assert all(item.href == "#coldspots" and "low rates cluster" in item.why for item in cold)
    outreach = [item for item in items if item.href == "#outreach"]
    assert [item.topic for item in outreach] == ["Outreach 1", "Outreach 2", "Outreach 3"]
    assert {item.name for item in outreach} <= set(GAP_NAMES)
    assert all(item.why.startswith("score ") for item in outreach)
    (cells,) = [item for item in items if item.href == "#hexagons"]
    assert re.fullmatch(r"\d+ thin cells?", cells.name)
    assert "residents live there" in cells.why
    kinds = [item.href for item in items]
    assert kinds == sorted(kinds, key=["#rates", "#coldspots", "#outreach", "#hexagons"].index)


def test_a_city_with_nothing_to_say_says_so(planner_client, category):
    grid.grid_version()  # boundaries and residents, no pin yet

    response = planner_client.get("/planner/")

    assert planner_page.attention_items(figures()) == []
    assertContains(response, "Nothing stands out")


def test_the_summary_is_first_then_the_maps_then_the_long_table_collapsed(planner_client, planted):
    response = planner_client.get("/planner/")
    html = response.content.decode()

    main = html.split('class="planner-main"')[1]
    order = [main.index(f'id="{part}"') for part in ("attention", "heatmap", "rates", "tables")]
    assert order == sorted(order)
    first_map = main.index('class="planner-map"')
    assert main.index('id="attention"') < first_map < main.index('id="rates-table"')
    # Collapsed: a <details> without `open`, its summary saying what it holds.
    details = re.search(r"<details[^>]*id=\"rates-details\"[^>]*>", html).group(0)
    assert " open" not in details
    assertContains(response, "The figures of 64 neighborhoods, as a table")
    # The contents list the summary, then each part, in the page's order.
    toc = html.split('class="planner-toc"')[1].split("</nav>")[0]
    anchors = re.findall(r'href="#([a-z]+)"', toc)
    assert anchors == ["attention", *(s.id for s in planner_page.SECTIONS), "exports"]
    items = summary(response)
    assert items.index(GAP_NAMES[0]) < items.index("Cold spot") < items.index("Outreach 1")


def test_names_in_the_summary_are_text(planner_client, planted):
    Neighborhood.objects.filter(slug=grid.cell_slug(3, 3)).update(name=SCRIPT_NAME)

    response = planner_client.get("/planner/")

    assert escape(SCRIPT_NAME) in summary(response)
    assertNotContains(response, SCRIPT_NAME)


def test_a_new_kind_of_finding_is_one_more_source(planner_client, planted, monkeypatch):
    """How the next summary items are added: a function from the figures to items."""

    def slow_answers(figures: Figures) -> list[AttentionItem]:
        name = figures.engagement.frame["name"].iloc[0]
        return [AttentionItem("Slow spot", name, "answers <take> 9 working days", "#x", "X")]

    monkeypatch.setattr(
        planner_page, "ATTENTION_SOURCES", (*planner_page.ATTENTION_SOURCES, slow_answers)
    )

    response = planner_client.get("/planner/")

    items = summary(response)
    assert items.rindex("</li>") > items.index("Slow spot") > items.index("Outreach 1")
    assert "answers &lt;take&gt; 9 working days" in items


def test_the_table_carries_the_team_and_the_numbers_to_sort_by(planner_client, planted):
    response = planner_client.get("/planner/")
    html = response.content.decode()

    table = html.split('id="rates-table"')[1].split("</table>")[0]
    assert "data-sortable" in html.split('id="rates-table"')[1].split(">")[0]
    row = table.split('data-slug="r0-c0"')[1].split("</tr>")[0]
    assert "<td>Grid Team</td>" in row
    count = int(re.search(r'data-sort="([^"]*)">(\d+)</td>', row).group(2))
    assert f'data-sort="{float(count)!r}">{count}</td>' in row
    assert 'data-sort="1000.0">1,000</td>' in row  # population, shown with a separator
    # The filter box is hidden until the script that makes it work shows it.
    assert re.search(r'<div class="table-filter" hidden>', html)
    assertContains(response, "geodata/planner-page.js")


def test_each_download_link_is_named_by_its_visible_words_first(planner_client, planted):
    """WCAG 2.5.3 (label in name): "GeoJSON", then which layer, for screen readers."""
    response = planner_client.get("/planner/")

    assertContains(
        response,
        '<a href="/api/ideas/">API<span class="visually-hidden">, Pins, as shown</span></a>',
        html=True,
    )
    html = response.content.decode()
    assert re.search(
        r'download>GeoJSON<span class="visually-hidden">, Rates by neighborhood</span></a>', html
    )
    assert 'aria-label="Pins, as shown' not in html
