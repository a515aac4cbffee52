"""The planner page's engagement parts (/planner/ and geodata.planner.maps, planner_charts): the
choropleth and its table on a city with a planted gap
(tests/geodata/engagement/engagement_city.py), the
hexagons, the significant cold spots only, the trend, the outreach list, the charts, the links
that take each layer away, escaping, and no asset from another host."""

import json
import re
from datetime import timedelta

import h3
import pytest
from django.utils.html import escape
from pytest_django.asserts import assertContains, assertNotContains

from geodata.engagement import fields as engagement_fields
from geodata.engagement import hexagons as engagement_hexagons
from geodata.engagement import outreach as engagement_outreach
from geodata.engagement import rates as engagement_rates
from geodata.engagement.query import parse_query
from geodata.planner import charts as planner_charts
from geodata.planner import maps as planner_maps
from mapideas.models import Idea
from mapideas.submission.services import idea_create
from neighborhoods.models import Neighborhood
from tests.conftest import IN_EAST, IN_WEST
from tests.geodata.engagement import engagement_city as grid

pytestmark = pytest.mark.django_db

GAP_NAMES = sorted(grid.cell_name(r, c) for r, c in grid.GAP)
SCRIPT_NAME = "<script>window.__xss=1</script>"
COLD_LAYER = "Significant cold and hot spots"
EXPORT_EXTENSIONS = ("geojson", "gpkg", "shp.zip", "csv", "fgb", "kml")


@pytest.fixture
def planted(category):
    version = grid.grid_version()
    pins = grid.planted_pins()
    grid.insert_pins(pins, category, version)
    return pins


@pytest.fixture
def planner_client(client, make_user):
    client.force_login(make_user("paula", planner=True))
    return client


def table_slugs(response) -> list[str]:
    table = response.content.decode().split('id="rates-table"')[1].split("</table>")[0]
    return re.findall(r'<tr class="[^"]*" data-slug="([^"]+)"', table)


def thin_slugs(response) -> set[str]:
    table = response.content.decode().split('id="rates-table"')[1].split("</table>")[0]
    return set(re.findall(r'<tr class="is-thin" data-slug="([^"]+)"', table))


def map_layers(response) -> list[dict]:
    """The GeoJSON collections the page's maps draw."""
    return [
        json.loads(data)
        for data in re.findall(r"_add\((\{\"features\".*?\})\);\n", response.content.decode())
    ]


def test_it_flags_the_planted_gap_thin_in_the_table_and_on_the_map(planner_client, planted):
    response = planner_client.get("/planner/")

    assert response.status_code == 200
    gap = {grid.cell_slug(r, c) for r, c in grid.GAP}
    assert thin_slugs(response) == gap
    assertContains(response, "<strong>4 thin neighborhoods</strong>", html=True)
    assertContains(response, "Pins per 1,000 residents, by neighborhood")
    # On the map: the gap is hatched and said thin in the tooltip.
    layers = map_layers(response)
    choropleth = next(c for c in layers if c["features"][0]["properties"].get("trend"))
    thin = {
        f["properties"]["name"] for f in choropleth["features"] if "THIN" in f["properties"]["thin"]
    }
    assert thin == set(GAP_NAMES)
    # No pin: too few for a rate, so no class colour; the hatch says thin.
    no_rate = {
        f["properties"]["name"]
        for f in choropleth["features"]
        if f["properties"]["fill"] == planner_maps.NO_RATE_COLOR
    }
    assert no_rate == set(GAP_NAMES)
    assertContains(response, f"url(#{planner_maps.HATCH_PATTERN_ID})")
    assertContains(response, f'<pattern id="{planner_maps.HATCH_PATTERN_ID}"')
    # The legend states the class breaks in pins per 1,000 residents.
    result = engagement_rates.neighborhood_engagement(
        parse_query("engagement-neighborhoods", {})[0]
    )
    rate = result.city_rate
    assertContains(
        response, f"below {planner_charts.number(0.25 * rate)} (under 0.25 × the city rate)"
    )
    assertContains(response, f"{planner_charts.number(2 * rate)} and above")


def test_the_table_lists_every_neighborhood_thinnest_first(planner_client, planted):
    response = planner_client.get("/planner/")

    frame = engagement_rates.neighborhood_engagement(
        parse_query("engagement-neighborhoods", {})[0]
    ).frame
    # Ordered by the unrounded ratio (raw_ratio): the gap first, though it shows none.
    expected = frame.sort_values(["raw_ratio", "name"])["slug"].tolist()
    assert table_slugs(response) == expected
    assert table_slugs(response)[:4] == [grid.cell_slug(r, c) for r, c in sorted(grid.GAP)]
    first = frame.sort_values(["raw_ratio", "name"]).iloc[4]
    row = response.content.decode().split(f'data-slug="{first.slug}"')[1].split("</tr>")[0]
    # Each figure carries its number for the sort buttons (data-sort).
    assert f'<td class="num" data-sort="{float(first["count"])!r}">{first["count"]}</td>' in row
    assert '<td class="num" data-sort="1000.0">1,000</td>' in row  # population
    assert f"{first.ratio:.2f} ×" in row


def test_the_threshold_and_the_filters_apply_to_everything(planner_client, planted):
    ideas = [p for p in planted if p.kind == Idea.Kind.IDEA]
    # Thin is the ratio's upper 95% bound under thin_below: with ideas only (7-13 pins a
    # square) a threshold of 2 makes squares beside the gap thin too.
    params = {"kind": "idea", "thin_below": "2"}

    response = planner_client.get("/planner/", params)

    assert response.status_code == 200
    assertContains(response, f"{len(ideas)} pins match across 64 neighborhoods.")
    selection, options = parse_query("engagement-neighborhoods", params)
    expected = engagement_rates.neighborhood_engagement(selection, thin_below=2).frame
    assert thin_slugs(response) == set(expected.loc[expected["thin"], "slug"])
    assert len(thin_slugs(response)) > 4
    assertContains(response, 'value="2"')
    hexagons = engagement_hexagons.hexagon_engagement(
        selection, engagement_rates.neighborhood_engagement(selection)
    )
    assertContains(
        response, f"{len(hexagons.frame)} cells, {(hexagons.frame['count'] > 0).sum()} with pins"
    )
    # The weekly chart counts the same pins.
    weeks = re.findall(r"<title>Week of [\d-]+: (\d+) pins?</title>", response.content.decode())
    assert sum(int(n) for n in weeks) == len(ideas)


def test_the_hexagon_resolution_is_the_planners(planner_client, planted):
    response = planner_client.get("/planner/", {"resolution": "7"})

    assert response.status_code == 200
    assertContains(response, "Hexagons (H3, resolution 7)")
    (cells,) = [c for c in map_layers(response) if "cell" in c["features"][0]["properties"]]
    resolutions = {h3.get_resolution(f["properties"]["cell"]) for f in cells["features"]}
    assert resolutions == {7}
    assertContains(response, '<option value="7" selected>7: about 5 km² a cell</option>', html=True)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"resolution": "12"}, "resolution", "Select a valid choice."),
        ({"thin_below": "-1"}, "thin_below", "greater than or equal to 0"),
        ({"thin_below": "lots"}, "thin_below", "Enter a number."),
        (
            {"created_after": "2026-06-30", "created_before": "2026-06-01"},
            "created_before",
            "The last day must not be before the first day.",
        ),
    ],
)
def test_a_bad_parameter_is_a_400_naming_its_field(planner_client, planted, params, field, message):
    response = planner_client.get("/planner/", params)

    assert response.status_code == 400
    body = response.content.decode()
    error = body.split(f'id="id_{field}_error"')[1].split("</div>")[0]
    assert message in error
    assertNotContains(response, "leaflet.js", status_code=400)


def test_every_map_links_its_layer_with_the_filters(planner_client, planted):
    params = {"kind": "idea", "channel": "paper", "thin_below": "0.7", "resolution": "9"}

    response = planner_client.get("/planner/", params)

    filters = "kind=idea&amp;channel=paper"
    for extension in EXPORT_EXTENSIONS:
        assertContains(response, f'href="/export/ideas.{extension}?{filters}"')
        for layer in ("engagement-neighborhoods", "coldspots", "outreach"):
            assertContains(
                response, f'href="/export/{layer}.{extension}?{filters}&amp;thin_below=0.7"'
            )
        assertContains(
            response,
            f'href="/export/engagement-hexagons.{extension}?{filters}&amp;thin_below=0.7&amp;resolution=9"',
        )
    assertContains(response, f'href="/api/ideas/?{filters}"')
    assertContains(response, f'href="/api/engagement/neighborhoods/?{filters}&amp;thin_below=0.7"')
    assertContains(
        response, f'href="/api/engagement/hexagons/?{filters}&amp;thin_below=0.7&amp;resolution=9"'
    )
    assertContains(response, f'href="/api/engagement/coldspots/?{filters}&amp;thin_below=0.7"')
    assertContains(response, f'href="/api/engagement/outreach/?{filters}&amp;thin_below=0.7"')
    # The links answer with the page's figures.
    body = planner_client.get("/api/engagement/neighborhoods/", params).json()
    thin = {f["id"] for f in body["features"] if f["properties"]["thin"]}
    assert thin == thin_slugs(response)


def test_only_significant_cold_and_hot_spots_are_drawn_with_the_method(planner_client, planted):
    response = planner_client.get("/planner/")

    assertContains(response, COLD_LAYER)
    spots = next(c for c in map_layers(response) if c["features"][0]["properties"].get("z"))
    drawn = {f["properties"]["name"] for f in spots["features"]}
    assert set(GAP_NAMES) <= drawn
    assert {f["properties"]["spot"] for f in spots["features"]} == {"cold spot"}
    for feature in spots["features"]:
        assert float(feature["properties"]["p"]) < 0.05
        assert float(feature["properties"]["z"]) < 0
    table = response.content.decode().split('id="spots-table"')[1].split("</table>")[0]
    assert table.count("cold spot") == len(drawn)
    assertContains(response, "Getis-Ord Gi*")
    assertContains(response, f"{engagement_fields.PERMUTATIONS} permutations")
    assertContains(response, "Benjamini-Hochberg false discovery rate q = 0.05")


def test_no_cold_spot_layer_without_a_significant_one(planner_client, city, category):
    for point in (IN_WEST, IN_WEST, IN_EAST):
        idea_create(kind="idea", title="x", category=category, location=point)

    response = planner_client.get("/planner/")

    assert response.status_code == 200
    assertNotContains(response, COLD_LAYER)
    assertContains(response, "No neighborhood is a significant cold or hot spot")


def test_a_city_without_population_is_per_km2_and_says_so(planner_client, city, category):
    # The conftest city: Harbor has no population.
    idea_create(kind="idea", title="x", category=category, location=IN_EAST)

    response = planner_client.get("/planner/")

    assert response.status_code == 200
    assertContains(response, "Pins per km², by neighborhood")
    assertContains(response, "Population is unknown")
    assertContains(response, "1 of 4 neighborhoods have no population")
    assertContains(response, "per km²")
    assertNotContains(response, "Pins per 1,000 residents, by neighborhood")


def test_the_trend_names_the_areas_getting_thinner(planner_client, planted):
    # The planted pins are all in the 30 days before grid.NOW: compare June with May.
    params = {"created_after": "2026-06-16", "created_before": "2026-06-30"}
    selection, _options = parse_query("engagement-neighborhoods", params)
    frame = engagement_rates.neighborhood_engagement(selection).frame

    response = planner_client.get("/planner/", params)

    thinning = response.content.decode().split('class="thinning"')[1].split("</ul>")[0]
    expected = frame.loc[frame["thinning"], "name"].tolist()
    assert expected
    assert sorted(re.findall(r"<li>([^<:]+):", thinning)) == sorted(expected)
    assertContains(response, "Pins from 2026-06-16 to 2026-06-30 against the 15 days before")


def test_outreach_lists_the_ranking_with_its_reasons(planner_client, planted):
    response = planner_client.get("/planner/")

    ranked = engagement_outreach.outreach(
        engagement_rates.neighborhood_engagement(parse_query("outreach", {})[0]), limit=20
    )
    listed = response.content.decode().split('<ol class="outreach">')[1].split("</ol>")[0]
    assert re.findall(r"<strong>([^<]+)</strong>", listed) == ranked["name"].tolist()
    assert escape(ranked.iloc[0]["reason"]) in listed
    assertContains(response, 'href="/export/outreach.csv?thin_below=0.5"')


def test_names_are_escaped_in_tooltips_tables_and_charts(planner_client, planted):
    # A square with pins (the gap has too few for a rate, so no bar).
    Neighborhood.objects.filter(slug=grid.cell_slug(2, 2)).update(name=SCRIPT_NAME)

    response = planner_client.get("/planner/")

    assert response.status_code == 200
    body = response.content.decode()
    assert SCRIPT_NAME not in body
    assert "window.__xss" in body  # it is there, as text
    escaped = escape(SCRIPT_NAME)
    assert f'<th scope="row">{escaped}</th>' in body  # the table
    assert f"<title>{escaped}: " in body  # the bar chart
    names = [f["properties"].get("name") for c in map_layers(response) for f in c["features"]]
    assert escaped in names  # the tooltips (they render HTML)
    assert SCRIPT_NAME not in names


def test_no_asset_comes_from_another_host(planner_client, planted, settings):
    settings.MAPIDEAS_TILE_URL = ""

    response = planner_client.get("/planner/")

    body = response.content.decode()
    assert "cdn" not in body.lower() and "unpkg" not in body.lower()
    assert re.findall(r'(?:src|href)="(?:https?:)?//', body) == []
    assert body.count('src="/static/vendor/leaflet/leaflet.js"') == 1
    assert body.count('src="/static/vendor/leaflet.heat/leaflet-heat.js"') == 1
    # The heatmap, rates, hexagons, cold spots and response times.
    assert len(re.findall(r'<div class="folium-map" id="map_\w+"', body)) == 5


def test_an_empty_city_draws_without_failing(planner_client, db):
    response = planner_client.get("/planner/")

    assert response.status_code == 200
    assertContains(response, "There are no active boundaries")
    assertContains(response, "No neighborhoods are loaded yet.")


# --- the builders on their own -----------------------------------------------------------------


def test_the_legend_breaks_are_shares_of_the_city_rate(planted):
    result = engagement_rates.neighborhood_engagement(
        parse_query("engagement-neighborhoods", {})[0]
    )
    legend = planner_maps.legend(result)

    assert legend.unit == "per 1,000 residents"
    assert [c.low for c in legend.classes] == [None, *planner_maps.RATIO_BREAKS]
    assert legend.thin_rate == pytest.approx(result.city_rate * 0.5)
    assert planner_maps.class_color(0.0) == planner_maps.CLASS_COLORS[0]
    assert planner_maps.class_color(1.0) == planner_maps.CLASS_COLORS[3]
    assert planner_maps.class_color(5.0) == planner_maps.CLASS_COLORS[-1]
    assert planner_maps.class_color(float("nan")) == planner_maps.NO_RATE_COLOR


def test_too_many_hexagons_are_not_drawn(planted, monkeypatch, planner_client):
    monkeypatch.setattr(planner_maps, "MAX_HEXAGONS_DRAWN", 10)

    response = planner_client.get("/planner/", {"resolution": "9"})

    assert response.status_code == 200
    assertContains(response, "cells are too many to draw here")
    assert not [c for c in map_layers(response) if "cell" in c["features"][0]["properties"]]
    assertContains(
        response, 'href="/export/engagement-hexagons.fgb?thin_below=0.5&amp;resolution=9"'
    )


def test_the_weekly_counts_fill_empty_weeks(planted):
    selection, _options = parse_query("engagement-neighborhoods", {})
    weeks, cut = planner_charts.weekly_counts(selection.ideas, selection.period)

    assert not cut
    assert sum(w.count for w in weeks) == len(planted)
    assert all(
        b.start - a.start == timedelta(weeks=1) for a, b in zip(weeks, weeks[1:], strict=False)
    )
    assert all(w.start.weekday() == 0 for w in weeks)
