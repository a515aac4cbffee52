"""A pin's page names its place: the gazetteer's place nearest the pin within 300 m (geodata's
provider, registered with mapideas.pins.places by its AppConfig), else its neighborhood, beside
its coordinates; one indexed query on either database."""

import time

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertContains, assertNotContains

from geodata.models import Place
from geodata.places.nearby import NEAR_METRES, nearest_place, place_near_idea
from mapideas.pins import places
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_EMPTY_HOLE
from tests.spatial_index import assert_read_through_rtree

pytestmark = pytest.mark.django_db

# Metres per degree at the test city's latitude (50° N): about 111.2 km north, 71.5 km east.
NORTH, EAST = 111_200, 71_500


def east_of(point: Point, metres: float) -> Point:
    return Point(point.x + metres / EAST, point.y, srid=4326)


def north_of(point: Point, metres: float) -> Point:
    return Point(point.x, point.y + metres / NORTH, srid=4326)


def place(name: str, point: Point, kind: str = "place") -> Place:
    return Place.objects.create(
        name=name,
        name_normalized=name.lower(),
        kind=kind,
        point=point,
        min_lon=point.x,
        min_lat=point.y,
        max_lon=point.x,
        max_lat=point.y,
        source="test.geojson",
    )


@pytest.fixture
def pin(city, category):
    return idea_create(kind="issue", title="Loose tile", category=category, location=IN_EAST)


def test_the_nearest_place_within_300_m_names_the_pin(pin):
    place("Market Square", east_of(IN_EAST, 120))
    place("Harbor Road", north_of(IN_EAST, 60), kind="street")
    place("Far Park", east_of(IN_EAST, 250))

    assert NEAR_METRES == 300
    assert nearest_place(IN_EAST).name == "Harbor Road"
    assert places.place_near(pin) == "Harbor Road"
    assert places.place_name(pin) == "Harbor Road"


def test_a_place_beyond_300_m_names_nothing_and_the_neighborhood_does(pin):
    # 320 m east and north: the box's corner, beyond the distance (a box alone would keep it).
    place("Beyond", Point(IN_EAST.x + 230 / EAST, IN_EAST.y + 230 / NORTH, srid=4326))
    place("Too far", north_of(IN_EAST, 310))

    assert nearest_place(IN_EAST) is None
    assert places.place_near(pin) is None
    assert places.place_name(pin) == "East Side"
    assert places.place_phrase(pin) == "in East Side"


def test_the_pins_page_says_near_which_place_beside_its_coordinates(client, pin):
    place("Market <Square>", east_of(IN_EAST, 40))

    response = client.get(f"/ideas/{pin.pk}/")

    assertContains(
        response,
        '<dd id="idea-place"><span id="idea-place-name">near Market &lt;Square&gt;</span>'
        f" · {IN_EAST.y:.6f}, {IN_EAST.x:.6f}</dd>",
        html=True,
    )


def test_without_a_place_near_the_page_names_the_neighborhood(client, pin):
    response = client.get(f"/ideas/{pin.pk}/")

    assertContains(response, '<span id="idea-place-name">in East Side</span>', html=True)


def test_a_pin_between_neighborhoods_with_no_place_near_shows_its_coordinates(
    client, city, category
):
    gap = idea_create(kind="idea", title="Gap", category=category, location=IN_EMPTY_HOLE)

    response = client.get(f"/ideas/{gap.pk}/")

    assertContains(
        response,
        f'<dd id="idea-place">{IN_EMPTY_HOLE.y:.6f}, {IN_EMPTY_HOLE.x:.6f}</dd>',
        html=True,
    )
    assertNotContains(response, "idea-place-name")
    assert places.place_name(gap) is None


def test_without_geodata_the_registry_names_the_neighborhood(pin):
    place("Market Square", east_of(IN_EAST, 40))
    places.unregister(place_near_idea)
    try:
        assert places.place_name(pin) == "East Side"
    finally:
        places.register(place_near_idea)
    assert places.place_name(pin) == "Market Square"


def test_it_is_one_query_through_the_spatial_index(pin):
    """Many places, one query: the box around the pin is asked of the spatial index (the
    R*Tree's table on SpatiaLite, `&&` on PostGIS), then the few in it are measured."""
    Place.objects.bulk_create(
        Place(
            name=f"Lane {i}",
            name_normalized=f"lane {i}",
            kind="street",
            point=Point(3.9 + (i % 100) * 0.002, 49.9 + (i // 100) * 0.002, srid=4326),
            min_lon=0,
            min_lat=0,
            max_lon=0,
            max_lat=0,
            source="grid",
        )
        for i in range(10_000)
    )
    grid_point = Point(3.9 + 57 * 0.002 + 10 / EAST, 49.9 + 52 * 0.002, srid=4326)

    with CaptureQueriesContext(connection) as queries:
        found = nearest_place(grid_point)

    assert found.name == "Lane 5257"
    [sql] = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "sqlite":
        assert_read_through_rtree(queries.captured_queries, "geodata_place", "point")
    else:
        assert "&&" in sql
    started = time.perf_counter()
    for _ in range(20):
        nearest_place(grid_point)
    assert (time.perf_counter() - started) / 20 < 0.05  # generous: about 1 ms here
