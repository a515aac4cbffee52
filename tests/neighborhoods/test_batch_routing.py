"""BatchRouter routes many points at once exactly as route() routes each one."""

import pytest

from neighborhoods import batch_routing
from neighborhoods.batch_routing import BatchRouter
from neighborhoods.models import CategoryRule
from neighborhoods.routing import active_version, route
from tests.conftest import (
    IN_EAST,
    IN_EMPTY_HOLE,
    IN_ENCLAVE,
    IN_WEST,
    ON_ISLAND,
    ON_SHARED_BORDER,
    OUTSIDE_CITY,
)

pytestmark = pytest.mark.django_db

POINTS = [IN_WEST, IN_EAST, ON_SHARED_BORDER, ON_ISLAND, IN_ENCLAVE, IN_EMPTY_HOLE, OUTSIDE_CITY]


def test_it_routes_every_point_and_category_as_route_does(city, monkeypatch):
    # A city-wide rule and one for the enclave; "parks-green-space" has none.
    CategoryRule.objects.create(category="other", team=city.harbor_team)
    CategoryRule.objects.create(category="other", team=city.east_team, neighborhood_slugs="enclave")
    # Queries of 3 points: the answers are put back together across them.
    monkeypatch.setattr(batch_routing, "_BATCH_POINTS", 3)
    pairs = [(point, category) for point in POINTS for category in ("other", "parks-green-space")]
    version = active_version()
    assert version is not None

    routes = BatchRouter(version).route(
        [(point.x, point.y) for point, _category in pairs], [category for _p, category in pairs]
    )

    for (point, category), routed in zip(pairs, routes, strict=True):
        expected = route(point, category)
        if expected is None:
            assert routed is None, (point, category)
            continue
        assert routed is not None, (point, category)
        assert (routed.neighborhood, routed.team, routed.also_in, routed.rule) == (
            expected.neighborhood,
            expected.team,
            expected.also_in,
            expected.rule,
        ), (point, category)
        assert routed.reason == expected.reason
    assert routes[POINTS.index(OUTSIDE_CITY) * 2] is None
