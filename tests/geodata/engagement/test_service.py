"""Service equity: every figure of the service layers (neighborhoods, teams, hexagons) equals a
computation written here with pandas, numpy.busday_count and a hand-written Kaplan-Meier, to the
last pin; areas below the minimum count show nothing anywhere; slow spots are found where they
were planted, and nowhere when answer times do not depend on the place."""

import csv
import io
import json
from datetime import date
from fractions import Fraction

import h3
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from django.test import Client
from pyproj import CRS, Transformer

from geodata.engagement.query import parse_query
from geodata.engagement.service import (
    km_quantile,
    service_hexagons,
    service_neighborhoods,
    service_teams,
)
from geodata.engagement.slowspots import slowspots
from mapideas.models import Idea
from tests.geodata.engagement import service_city
from tests.geodata.engagement.service_city import (
    CITY_HOLIDAY,
    EAST_HOLIDAY,
    NOW,
    POPULATION,
    SIZE,
    TARGETS,
    WEEKMASKS,
    ZONE,
    cell_slug,
)

pytestmark = pytest.mark.django_db

MIN_COUNT = 10
HOLIDAYS = {"West Grid": [CITY_HOLIDAY], "East Grid": [CITY_HOLIDAY, EAST_HOLIDAY]}
QUANTITIES = (("median", Fraction(1, 2)), ("p90", Fraction(9, 10)))


@pytest.fixture
def local_time(settings):
    settings.TIME_ZONE = ZONE


@pytest.fixture
def timed_city(local_time, category):
    version = service_city.build_grid()
    service_city.insert(service_city.timed_pins(), category, version)


# --- the figures, computed here --------------------------------------------------------------


def local_day(moment) -> date:
    return pd.Timestamp(moment).tz_convert(ZONE).date()


def working_days(team: str, start: date, end: date) -> int:
    return max(
        0, int(np.busday_count(start, end, weekmask=WEEKMASKS[team], holidays=HOLIDAYS[team]))
    )


def kaplan_meier(times: list[int], events: list[bool], q: Fraction):
    """The product-limit estimate, in exact fractions: (quantile, more than)."""
    survival = Fraction(1)
    for t in sorted({t for t, e in zip(times, events, strict=True) if e}):
        at_risk = sum(1 for x in times if x >= t)
        deaths = sum(1 for x, e in zip(times, events, strict=True) if e and x == t)
        survival *= 1 - Fraction(deaths, at_risk)
        if survival <= 1 - q:
            return t, None
    return None, max(times)


def pins_here() -> pd.DataFrame:
    rows = []
    for idea in Idea.objects.select_related("team", "neighborhood"):
        team = idea.team.name
        created = local_day(idea.created_at)
        today = local_day(NOW)
        answered = idea.first_response_at is not None
        done = idea.status == "done" and idea.closed_at is not None
        first = working_days(
            team, created, local_day(idea.first_response_at) if answered else today
        )
        to_done = working_days(team, created, local_day(idea.closed_at) if done else today)
        rows.append(
            {
                "team": team,
                "slug": idea.neighborhood.slug,
                "cell": {
                    r: h3.latlng_to_cell(idea.location.y, idea.location.x, r) for r in (7, 8, 9)
                },
                "answered": answered,
                "first": first,
                "done": done,
                "to_done": to_done,
                "within": answered and first <= TARGETS[team],
                "waiting_past": not answered and first > TARGETS[team],
                "closed": idea.closed_at is not None,
                "reopened": idea.closed_at is not None and idea.reopen_count > 0,
                "disputed": idea.closed_at is not None and idea.dispute_count > 0,
            }
        )
    return pd.DataFrame(rows)


def expected_figures(pins: pd.DataFrame, population: float | None, min_count=MIN_COUNT) -> dict:
    names = [
        "count", "answered", "done", "waiting_past_target", "within_target_share", "closed",
        "reopened_share", "disputed_share", "answered_per_1000",
        *(f"{q}_{w}{m}" for q in ("median", "p90") for w in ("first_answer", "done")
          for m in ("", "_more_than")),
    ]  # fmt: skip
    if len(pins) < min_count:
        return {"too_few": True} | dict.fromkeys(names)
    answered = int(pins["answered"].sum())
    decided = answered + int(pins["waiting_past"].sum())
    closed = int(pins["closed"].sum())
    figures = {
        "too_few": False,
        "count": len(pins),
        "answered": answered,
        "done": int(pins["done"].sum()),
        "waiting_past_target": int(pins["waiting_past"].sum()),
        "within_target_share": pins["within"].sum() / decided if decided else None,
        "closed": closed,
        "reopened_share": pins["reopened"].sum() / closed if closed else None,
        "disputed_share": pins["disputed"].sum() / closed if closed else None,
        "answered_per_1000": answered / population * 1000 if population else None,
    }
    for what, times, events in (("first_answer", "first", "answered"), ("done", "to_done", "done")):
        for name, q in QUANTITIES:
            value, more = kaplan_meier(list(pins[times]), list(pins[events]), q)
            figures[f"{name}_{what}"] = value
            figures[f"{name}_{what}_more_than"] = more
    return figures


def assert_row(row, expected: dict, where: str) -> None:
    for name, value in expected.items():
        got = row[name]
        if value is None:
            assert got is None or got != got, (where, name, got)
        elif isinstance(value, bool):
            assert bool(got) is value, (where, name, got)
        else:
            assert got == pytest.approx(float(value), rel=1e-9), (where, name, got, value)


# --- every figure, to the last pin ----------------------------------------------------------


def selection():
    return parse_query("service-neighborhoods", {})[0]


def test_every_neighborhood_figure_is_the_one_computed_here(timed_city):
    pins = pins_here()
    layer = service_neighborhoods(selection(), now=NOW).frame.set_index("slug")
    assert len(layer) == SIZE * SIZE
    for slug, row in layer.iterrows():
        mine = pins[pins["slug"] == slug]
        assert_row(row, expected_figures(mine, POPULATION), slug)
    # Some neighborhoods are below the minimum count, some wait past their target.
    assert layer["too_few"].any() and not layer["too_few"].all()
    assert (layer["waiting_past_target"].dropna() > 0).any()


def test_every_team_figure_is_the_one_computed_here(timed_city):
    pins = pins_here()
    layer = service_teams(selection(), now=NOW).frame.set_index("team")
    assert sorted(layer.index) == ["East Grid", "West Grid"]
    for team, row in layer.iterrows():
        mine = pins[pins["team"] == team]
        assert_row(row, expected_figures(mine, POPULATION * SIZE * SIZE / 2), team)
        assert row.geometry.geom_type == "MultiPolygon"
        assert row.geometry.area == pytest.approx(0.01 * 0.01 * SIZE * SIZE / 2)


def cell_population(cell: str) -> float:
    """Residents of a cell: each neighborhood's 1,000 shared by area, in an equal-area
    projection centred on the city."""
    centre = (service_city.WEST + SIZE * 0.005, service_city.SOUTH + SIZE * 0.005)
    laea = CRS.from_proj4(f"+proj=laea +lat_0={centre[1]} +lon_0={centre[0]} +datum=WGS84 +units=m")
    project = Transformer.from_crs(4326, laea, always_xy=True).transform
    hexagon = shapely.ops.transform(
        project, shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])
    )
    total = 0.0
    for r in range(SIZE):
        for c in range(SIZE):
            x0, y0 = service_city.WEST + c * 0.01, service_city.SOUTH + r * 0.01
            square = shapely.ops.transform(project, shapely.box(x0, y0, x0 + 0.01, y0 + 0.01))
            total += POPULATION * hexagon.intersection(square).area / square.area
    return total


@pytest.mark.parametrize("resolution", [7, 8, 9])
def test_every_hexagon_figure_is_the_one_computed_here(timed_city, resolution):
    pins = pins_here()
    pins["here"] = [cells[resolution] for cells in pins["cell"]]
    layer = service_hexagons(selection(), resolution=resolution, now=NOW).frame.set_index("cell")
    assert set(pins["here"]) <= set(layer.index)
    for cell, row in layer.iterrows():
        mine = pins[pins["here"] == cell]
        population = cell_population(cell) if len(mine) >= MIN_COUNT else None
        assert_row(row, expected_figures(mine, population), cell)
    if resolution < 9:  # at 9 (0.1 km²) no cell of this small city has 10 pins
        assert not layer["too_few"].all()


def test_the_kaplan_meier_quantiles_count_waiting_pins_as_waiting_so_far():
    # Events before censorings at a tied time: at 2 the pin censored at 2 is still at risk,
    # S(2) = 3/4 * 2/3 = 1/2, the median is 2; S never reaches 1/10: more than 3.
    times, events = np.array([1, 2, 2, 3]), np.array([True, True, False, False])
    assert km_quantile(times, events, 0.5) == (2, None)
    assert km_quantile(times, events, 0.9) == (None, 3)
    assert km_quantile(np.array([1, 2, 3, 4]), np.array([True, True, False, False]), 0.5) == (
        2,
        None,
    )
    # Most pins still wait: the median is "more than" the longest wait, never a small number.
    assert km_quantile(np.array([0, 9, 9, 9]), np.array([True, False, False, False]), 0.5) == (
        None,
        9,
    )


# --- too few pins: no figure, anywhere -------------------------------------------------------

SERVICE_APIS = {
    "service-neighborhoods": "service/neighborhoods",
    "service-teams": "service/teams",
    "service-hexagons": "service/hexagons",
    "slowspots": "service/slowspots",
    "slowspots-hexagons": "service/slowspots-hexagons",
}


def min_count(layer: str) -> str:
    # Both teams have hundreds of pins: hide them all, the areas only some.
    return "100000" if layer == "service-teams" else "15"


NAMES = {"name", "slug", "team", "team_slug", "cell", "too_few", "significance"}


def assert_nothing_shown(properties: dict, where: str) -> None:
    assert properties["too_few"] in (True, "true", "1", 1), where
    for name, value in properties.items():
        if name not in NAMES and name != "island":
            assert value in (None, ""), (where, name, value)


@pytest.mark.parametrize("layer", SERVICE_APIS)
def test_below_the_minimum_count_the_api_shows_no_figure(timed_city, layer):
    response = Client().get(f"/api/engagement/{SERVICE_APIS[layer]}/", {"min_count": "15"})
    assert response.status_code == 200, response.content
    features = response.json()["features"]
    assert response.json()["min_count"] == 15
    shown = [f for f in features if not f["properties"]["too_few"]]
    assert shown, "some area has enough pins"
    for feature in features:
        properties = feature["properties"]
        if properties["too_few"]:
            assert_nothing_shown(properties, feature["id"])
        else:
            assert properties["count"] >= 15


def test_the_minimum_count_cannot_be_lowered(timed_city):
    response = Client().get("/api/engagement/service/neighborhoods/", {"min_count": "5"})
    assert response.status_code == 400
    assert "min_count" in response.json()


@pytest.mark.parametrize("layer", SERVICE_APIS)
@pytest.mark.parametrize("extension", ["geojson", "csv"])
def test_below_the_minimum_count_the_exports_show_no_figure(timed_city, layer, extension):
    response = Client().get(
        f"/export/{layer}.{extension}", {"resolution": "8", "min_count": min_count(layer)}
    )
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.getvalue()
    if extension == "geojson":
        rows = [f["properties"] for f in json.loads(content)["features"]]
    else:
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
        for row in rows:
            row.pop("wkt", None)
            row["too_few"] = row["too_few"] in ("true", "True", "1")
    hidden = [r for r in rows if r["too_few"]]
    assert hidden and (len(hidden) < len(rows) or layer == "service-teams")
    for row in hidden:
        assert_nothing_shown(row, str(row))


@pytest.mark.parametrize("layer", SERVICE_APIS)
def test_below_the_minimum_count_the_ogc_items_show_no_figure(timed_city, layer):
    response = Client().get(
        f"/ogc/collections/{layer}/items",
        {"limit": "1000", "f": "json", "min_count": min_count(layer)},
    )
    assert response.status_code == 200, response.content
    features = response.json()["features"]
    hidden = [f for f in features if f["properties"]["too_few"]]
    assert hidden and (len(hidden) < len(features) or layer == "service-teams")
    for feature in hidden:
        assert_nothing_shown(feature["properties"], feature["id"])


# --- slow spots ------------------------------------------------------------------------------

SLOW = frozenset((r, c) for r in (1, 2, 3) for c in (1, 2, 3))


def test_a_planted_cluster_of_slow_answers_is_a_slow_spot(local_time, category):
    version = service_city.build_grid()
    service_city.insert(service_city.timed_pins(5, slow=SLOW, count=(14, 20)), category, version)
    spots = slowspots(service_neighborhoods(selection(), now=NOW)).frame.set_index("slug")
    slow = set(spots.index[spots["significance"] == "slow"])
    assert cell_slug(2, 2) in slow
    planted = {cell_slug(r, c) for r, c in SLOW}
    assert slow <= planted
    assert len(slow) >= 2


def test_a_planted_cluster_of_slow_answers_is_found_in_hexagons(local_time, category):
    version = service_city.build_grid()
    service_city.insert(service_city.timed_pins(5, slow=SLOW, count=(40, 50)), category, version)
    layer = service_hexagons(selection(), resolution=8, now=NOW)
    spots = slowspots(layer, hexagons=True).frame.set_index("cell")
    slow = spots[spots["significance"] == "slow"]
    assert len(slow) >= 2
    # Every slow cell's centre is in the planted block (rows and columns 1-3) or on its edge.
    for cell in slow.index:
        lat, lng = h3.cell_to_latlng(cell)
        assert 4.005 <= lng <= 4.045 and 50.005 <= lat <= 50.045, cell


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_answer_times_drawn_independently_of_place_make_no_slow_spot(local_time, category, seed):
    version = service_city.build_grid(one_team=True)
    service_city.insert(service_city.timed_pins(seed, count=(14, 20)), category, version)
    service = service_neighborhoods(selection(), now=NOW)
    spots = slowspots(service).frame
    assert set(spots["significance"]) <= {"not significant", "not tested"}
    assert (spots["significance"] == "not significant").sum() >= 30


@pytest.mark.parametrize("layer", SERVICE_APIS)
@pytest.mark.parametrize("extension", ["gpkg", "fgb", "shp.zip", "kml"])
def test_every_export_format_carries_the_service_layers(tmp_path, timed_city, layer, extension):
    api = Client().get(f"/api/engagement/{SERVICE_APIS[layer]}/").json()["features"]
    response = Client().get(f"/export/{layer}.{extension}")
    assert response.status_code == 200
    path = tmp_path / f"{layer}.{extension}"
    content = b"".join(response.streaming_content) if response.streaming else response.getvalue()
    path.write_bytes(content)
    frame = pyogrio.read_dataframe(f"/vsizip/{path}" if extension == "shp.zip" else path)
    assert len(frame) == len(api)
    if extension == "kml":
        return  # properties as text in ExtendedData
    # By id: FlatGeobuf's spatial index orders the features along a curve.
    key = {"service-teams": "team_slug"}.get(layer, "cell" if "hexagons" in layer else "slug")
    median = "med_first" if extension == "shp.zip" else "median_first_answer"
    expected = {f["properties"][key]: f["properties"]["median_first_answer"] for f in api}
    got = {k: None if v != v else v for k, v in zip(frame[key], frame[median], strict=True)}
    assert got == expected
