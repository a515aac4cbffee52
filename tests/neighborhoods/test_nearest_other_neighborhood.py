"""nearest_other_neighborhood(): the neighborhood just over the border, in metres."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pyproj import Geod

from neighborhoods.routing import nearest_other_neighborhood, route
from neighborhoods.services import NeighborhoodInput, boundary_version_create
from tests.conftest import IN_ENCLAVE, ON_SHARED_BORDER, square
from tests.spatial_index import assert_read_through_rtree

pytestmark = pytest.mark.django_db

GEOD = Geod(ellps="WGS84")


def east_of_border(metres: float) -> Point:
    lon, lat, _back = GEOD.fwd(ON_SHARED_BORDER.x, ON_SHARED_BORDER.y, 90, metres)
    return Point(lon, lat, srid=4326)


def test_it_finds_the_other_side_in_one_query(city, django_assert_num_queries):
    point = east_of_border(6.0)

    with django_assert_num_queries(1):
        nearby = nearest_other_neighborhood(point, city.east, within_m=15)

    assert nearby.neighborhood == city.west
    assert nearby.distance_m == pytest.approx(6.0, abs=0.05)


def test_it_returns_none_when_nothing_is_within_reach(city):
    assert nearest_other_neighborhood(east_of_border(30.0), city.east, within_m=15) is None
    assert nearest_other_neighborhood(IN_ENCLAVE, city.enclave, within_m=15) is None


def test_it_measures_from_a_point_outside_every_neighborhood(city):
    lon, lat, _back = GEOD.fwd(4.020, 50.0, 180, 12.0)  # 12 m south of East Side and Harbor

    nearby = nearest_other_neighborhood(Point(lon, lat, srid=4326), None, within_m=15)

    assert nearby.distance_m == pytest.approx(12.0, abs=0.1)
    # Equally near both: the first slug, the same every time.
    assert nearby.neighborhood == city.east


def test_it_accepts_a_point_in_another_crs(city):
    nearby = nearest_other_neighborhood(
        east_of_border(4.0).transform(3857, clone=True), city.east, within_m=15
    )

    assert nearby.distance_m == pytest.approx(4.0, abs=0.05)


def test_it_skips_a_neighborhood_whose_interior_holds_the_point(city):
    version, _changes = boundary_version_create(
        label="overlap",
        items=[
            NeighborhoodInput(
                name="Big", geometry=MultiPolygon(square(4.000, 50.000, 4.020, 50.010), srid=4326)
            ),
            NeighborhoodInput(
                name="Small",
                geometry=MultiPolygon(square(4.008, 50.002, 4.012, 50.008), srid=4326),
            ),
        ],
    )
    small = version.neighborhoods.get(slug="small")
    inside_both = Point(4.010, 50.005, srid=4326)

    # Deep inside Small (which lies inside Big): Big is not "over the border".
    assert nearest_other_neighborhood(inside_both, small, within_m=15) is None
    # 5 m inside Small's west edge, Big still holds the point; nothing else is near.
    lon, lat, _back = GEOD.fwd(4.008, 50.005, 90, 5.0)
    assert nearest_other_neighborhood(Point(lon, lat, srid=4326), small, within_m=15) is None
    # From Big, 5 m west of Small: Small is the other side.
    lon, lat, _back = GEOD.fwd(4.008, 50.005, 270, 5.0)
    big = version.neighborhoods.get(slug="big")
    nearby = nearest_other_neighborhood(Point(lon, lat, srid=4326), big, within_m=15)
    assert nearby.neighborhood == small
    assert nearby.distance_m == pytest.approx(5.0, abs=0.05)
    # The version is the owner's, not the active one (the `city` fixture's).
    assert route(inside_both).neighborhood.version != version


def test_it_reads_the_neighborhoods_through_the_spatial_index(city):
    with CaptureQueriesContext(connection) as queries:
        nearby = nearest_other_neighborhood(east_of_border(6.0), city.east, within_m=15)

    assert nearby.neighborhood == city.west
    assert_read_through_rtree(queries.captured_queries, "neighborhoods_neighborhood", "geometry")
