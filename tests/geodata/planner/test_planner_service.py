"""The planner page's response times and who is heard (geodata.planner): the median working
days to a first answer by neighborhood on a map, areas with too few pins hatched with no
figure anywhere, the slow spots outlined and named in the summary, a table of the teams; and,
per area attribute, the fifths of residents' rates against the city's, the least heard fifth
in the summary."""

import re

import pytest
from django.utils.html import escape
from pytest_django.asserts import assertContains, assertNotContains

from geodata.engagement import service as engagement_service
from geodata.engagement import slowspots as engagement_slowspots
from geodata.engagement.fields import Pace
from geodata.engagement.query import parse_query
from geodata.engagement.slowspots import Slowspots
from geodata.planner import maps as planner_maps
from geodata.planner import page as planner_page
from neighborhoods.models import Neighborhood, Team
from neighborhoods.selectors import active_neighborhoods
from tests.geodata.engagement import engagement_city as grid
from tests.geodata.planner.test_planner_summary import figures, summary

pytestmark = pytest.mark.django_db

SCRIPT_NAME = "<script>window.__xss=3</script>"
GAP_NAMES = [grid.cell_name(r, c) for r, c in sorted(grid.GAP)]
SLOW_NAME = grid.cell_name(6, 6)


@pytest.fixture
def planted(category):
    version = grid.grid_version()
    grid.insert_pins(grid.planted_pins(), category, version)


@pytest.fixture
def planner_client(client, make_user):
    client.force_login(make_user("paula", planner=True))
    return client


def section(response, anchor: str) -> str:
    return response.content.decode().split(f'id="{anchor}"')[1].split("</section>")[0]


def slow_layer() -> Slowspots:
    """The grid's slow spot layer, with one square made a slow spot (the planted pins are
    never answered: no square is slower than its neighbours)."""
    selection, _ = parse_query("slowspots", {})
    spots = engagement_slowspots.slowspots(engagement_service.service_neighborhoods(selection))
    frame = spots.frame.copy()
    (slow,) = frame.index[frame["name"] == SLOW_NAME]
    frame.loc[slow, ["significance", "z_score", "p_value"]] = [Pace.SLOW, 3.1, 0.001]
    frame.loc[slow, ["median_first_answer", "median_first_answer_more_than"]] = [12, None]
    return Slowspots(frame, spots.alpha, spots.permutations, spots.seed, spots.message)


def features(fmap) -> list[dict]:
    """The features of the map's first layer (every neighborhood, with its tooltip's text)."""
    layers = [child for child in fmap._children.values() if hasattr(child, "data")]
    return layers[0].data["features"]


# --- response times -------------------------------------------------------------------------


def test_response_times_show_on_a_map_with_a_legend_in_working_days(planner_client, planted):
    response = planner_client.get("/planner/")

    part = section(response, "service")
    assert 'class="planner-map"' in part and "folium-map" in part
    for words in ("under 1 working day", "10 working days or more", "too few pins to say"):
        assert words in part
    assert "slow spot" in part and "fast spot" in part
    assert "City-wide median to a first answer:" in part
    # Take the layers away: the exports and the API, with the page's filters.
    assert 'href="/export/service-neighborhoods.geojson"' in part
    assert 'href="/api/engagement/service/slowspots/"' in part
    assert 'href="/export/service-teams.csv"' in part


def test_an_area_with_too_few_pins_is_hatched_and_shows_no_figure(planted):
    spots = slow_layer()

    fmap = planner_maps.service_map(spots)

    by_name = {f["properties"]["name"]: f["properties"] for f in features(fmap)}
    for name in GAP_NAMES:
        shown = by_name[name]
        assert shown["fill"] == planner_maps.NO_RATE_COLOR
        for figure in ("pins", "median", "p90", "within", "waiting", "answered"):
            assert shown[figure] == "too few pins to say"
    # Drawn over with the hatching, as many as there are areas with too few pins.
    hatched = [child for child in fmap._children.values() if hasattr(child, "data")][1]
    assert len(hatched.data["features"]) == int(spots.frame["too_few"].sum()) >= len(GAP_NAMES)
    other = by_name[grid.cell_name(0, 0)]
    assert re.fullmatch(r"\d+", other["pins"])
    assert other["median"].startswith("more than ")  # the planted pins wait still


def test_a_slow_spot_is_outlined_listed_and_named_in_the_summary(
    planner_client, planted, monkeypatch
):
    spots = slow_layer()
    monkeypatch.setattr(planner_page.engagement_slowspots, "slowspots", lambda *a, **k: spots)

    response = planner_client.get("/planner/")

    part = section(response, "service")
    table = part.split('id="slow-table"')[1].split("</table>")[0]
    assert SLOW_NAME in table and "12 working days" in table and "slow spot" in table
    fmap = planner_maps.service_map(spots)
    outlined = [child for child in fmap._children.values() if hasattr(child, "data")][-1]
    assert len(outlined.data["features"]) == 1
    assert outlined.data["features"][0]["properties"]["color"] == planner_maps.SLOW_COLOR
    items = summary(response)
    assert "Slow answers" in items and SLOW_NAME in items
    assert re.search(
        r"median 12 working days to a first answer against the city&#x27;s "
        r"(more than )?\d+ working days \(z = 3.10, p = 0.0010\)",
        items,
    )
    assert 'href="#service"' in items


def test_no_slow_spot_says_so_and_adds_nothing_to_the_summary(planner_client, planted):
    response = planner_client.get("/planner/")

    assertContains(response, 'id="no-slow-spots"')
    assert "Slow answers" not in summary(response)
    assert planner_page.slowspot_attention(figures()) == []


def test_the_teams_table_is_folded_sortable_and_hides_figures_below_the_minimum(
    planner_client, planted, category
):
    quiet = Team.objects.create(name="Quiet team", slug="quiet-team")
    Neighborhood.objects.filter(name__in=GAP_NAMES).update(team=quiet)

    response = planner_client.get("/planner/")

    part = section(response, "service")
    details = re.search(r"<details[^>]*id=\"teams-details\"[^>]*>", part).group(0)
    assert " open" not in details
    table = part.split('id="teams-table"')[1].split("</table>")[0]
    assert "data-sortable" in part.split('id="teams-table"')[1][:40]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], flags=re.S)
    quiet_row = next(row for row in rows if "Quiet team" in row)
    assert "too few pins to say" in quiet_row
    assert not re.search(r">\d", quiet_row.replace("Quiet team", ""))
    grid_row = next(row for row in rows if "Grid Team" in row)
    assert re.search(r'data-sort="\d+\.0">\d+</td>', grid_row)


def test_hostile_neighborhood_and_team_names_are_text_in_popups_and_tables(planner_client, planted):
    Neighborhood.objects.filter(name=SLOW_NAME).update(name=SCRIPT_NAME)
    Team.objects.filter(name="Grid Team").update(name=SCRIPT_NAME)

    response = planner_client.get("/planner/")

    assertNotContains(response, SCRIPT_NAME)
    part = section(response, "service")
    assert escape(SCRIPT_NAME) in part.split('id="teams-table"')[1]
    selection, _ = parse_query("slowspots", {})
    spots = engagement_slowspots.slowspots(engagement_service.service_neighborhoods(selection))
    shown = features(planner_maps.service_map(spots))
    names = {f["properties"]["name"] for f in shown}
    teams = {f["properties"]["team"] for f in shown}
    assert escape(SCRIPT_NAME) in names and SCRIPT_NAME not in names
    assert escape(SCRIPT_NAME) in teams and SCRIPT_NAME not in teams


# --- who is heard ---------------------------------------------------------------------------


def test_without_area_attributes_the_page_says_how_to_load_them(planner_client, planted):
    response = planner_client.get("/planner/")

    part = section(response, "heard")
    assert 'id="no-attributes"' in part
    assert "import_population" in part and "--attribute" in part
    assert "Who is heard" not in summary(response)


@pytest.fixture
def incomes(planted):
    """An income per square, lowest in and around the gap (where few pins come from)."""
    for neighborhood in active_neighborhoods():
        row, column = next(
            (r, c)
            for r in range(grid.SIZE)
            for c in range(grid.SIZE)
            if grid.cell_name(r, c) == neighborhood.name
        )
        distance = max(abs(row - 3.5), abs(column - 3.5))
        neighborhood.attributes = {"median_income": 20000 + 10000 * distance + row + column / 10}
        neighborhood.save(update_fields=["attributes"])


def test_each_attribute_charts_its_fifths_against_the_city_rate(planner_client, incomes):
    response = planner_client.get("/planner/")

    part = section(response, "heard")
    assert "Neighborhood-level estimates; nothing is inferred about a person." in part
    chart = part.split('id="heard-median-income-chart"')[1].split("</svg>")[0]
    assert 'role="img"' in part and "heard-median-income-chart-title" in chart
    assert chart.count('<g class="fifth">') == 5
    assert "Fifth 1 (lowest)" in chart and "Fifth 5 (highest)" in chart
    assert "city " in chart  # the city rate's line
    assert re.search(
        r"Spearman's rank correlation between median_income and the neighborhoods' rates: "
        r"-?\d\.\d\d \(p = ",
        part,
    )
    assert "The fifth of residents with the lowest median_income" in part
    table = part.split('class="rates heard-table"')[1].split("</table>")[0]
    assert table.count('<th scope="row">') == 5
    assert 'href="/api/engagement/representativeness/"' in part


def test_the_least_heard_fifth_is_in_the_summary_when_its_interval_is_below_the_city(
    planner_client, incomes
):
    response = planner_client.get("/planner/")

    items = summary(response)
    assert "Who is heard" in items
    assert "Fifth 1 (lowest) by median_income" in items
    assert re.search(r"0\.\d\d × the city rate \(0\.\d\d to 0\.\d\d\)", items)
    assert 'href="#heard"' in items


def test_the_page_filters_apply_to_response_times(planner_client, planted):
    response = planner_client.get("/planner/", {"created_after": "2030-01-01"})

    part = section(response, "service")
    # Nothing pinned after 2030: every area has too few pins, no figure anywhere.
    assert "working days</td>" not in part
    assert "service-neighborhoods.geojson?created_after=2030-01-01" in part


def test_times_read_in_working_days_and_say_more_than_when_most_pins_still_wait():
    assert planner_maps.days_text(1, None) == "1 working day"
    assert planner_maps.days_text(12, None) == "12 working days"
    assert planner_maps.days_text(None, 30) == "more than 30 working days"
    assert planner_maps.days_text(None, None) == "—"
