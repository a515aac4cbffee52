"""route(): the place decides the team, on every backend, for every awkward shape."""

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from neighborhoods.routing import covering, route
from tests.conftest import (
    IN_EAST,
    IN_EMPTY_HOLE,
    IN_ENCLAVE,
    IN_WEST,
    ON_ISLAND,
    ON_SHARED_BORDER,
    OUTSIDE_CITY,
)
from tests.spatial_index import assert_read_through_rtree

pytestmark = pytest.mark.django_db


def test_it_routes_a_point_inside_a_neighborhood_to_its_team(city):
    routed = route(IN_EAST, "parks-green-space")
    assert routed.neighborhood == city.east
    assert routed.team == city.east_team


def test_it_returns_none_outside_every_neighborhood(city):
    assert route(OUTSIDE_CITY) is None


def test_it_routes_a_point_on_a_shared_border_to_exactly_one_neighborhood_every_time(city):
    answers = {route(ON_SHARED_BORDER).neighborhood.slug for _ in range(5)}
    # Both polygons cover the border; the smaller one (East Side) owns it.
    assert answers == {"east-side"}


def test_it_routes_a_point_on_an_island_of_a_multipolygon(city):
    routed = route(ON_ISLAND)
    assert routed.neighborhood == city.harbor
    assert routed.team == city.harbor_team


def test_it_routes_a_point_in_a_hole_to_the_neighborhood_that_fills_it(city):
    assert route(IN_ENCLAVE).neighborhood == city.enclave


def test_it_sends_a_point_in_an_unfilled_hole_to_city_wide_triage(city):
    routed = route(IN_EMPTY_HOLE)
    assert routed.neighborhood is None
    assert routed.team.is_triage
    assert "triage" in routed.reason


def test_it_routes_a_point_on_an_outer_corner(city):
    assert route(Point(3.998, 50.000, srid=4326)).neighborhood == city.west


def test_it_accepts_a_point_in_another_crs(city):
    web_mercator = IN_WEST.transform(3857, clone=True)
    assert route(web_mercator).neighborhood == city.west


def test_it_sends_a_point_deep_inside_a_wide_enclosed_gap_to_triage(db):
    # A ring of neighborhoods around a 2 km hole: its middle is ~1 km from any polygon, far
    # beyond the 250 m buffer, yet enclosed by the city, so the city must sort it out.
    from django.contrib.gis.geos import MultiPolygon

    from mapideas.rerouting.services import boundaries_activate
    from neighborhoods.services import NeighborhoodInput, boundary_version_create
    from tests.conftest import square

    outer = square(
        4.00,
        50.00,
        4.06,
        50.04,
        holes=[((4.02, 50.01), (4.02, 50.03), (4.04, 50.03), (4.04, 50.01))],
    )
    version, changes = boundary_version_create(
        label="ring",
        items=[NeighborhoodInput(name="Ring", geometry=MultiPolygon(outer, srid=4326))],
    )
    boundaries_activate(version=version)

    assert len(changes.gaps) == 1
    routed = route(Point(4.03, 50.02, srid=4326))
    assert routed.neighborhood is None and routed.team.is_triage


def test_it_reads_the_neighborhoods_through_the_spatial_index(city):
    with CaptureQueriesContext(connection) as queries:
        routed = route(ON_SHARED_BORDER)
        owners = list(covering(ON_SHARED_BORDER, city.east.version))

    assert routed.neighborhood == city.east
    assert owners == [city.east, city.west]
    assert_read_through_rtree(queries.captured_queries, "neighborhoods_neighborhood", "geometry")
