"""mapideas.pins.filters: the bbox filter of /api/ideas/ (and the exports) selects exactly the
pins that intersect the bbox, through the spatial index on both databases."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.spatial_index import assert_read_through_rtree, bbox_param, edge_pins

pytestmark = pytest.mark.django_db


def test_the_bbox_keeps_the_pins_on_its_edges_and_none_just_outside(city, category):
    pins = edge_pins(category)

    with CaptureQueriesContext(connection) as queries:
        response = APIClient().get("/api/ideas/", {"bbox": bbox_param(), "limit": 100})

    assert response.status_code == 200, response.content
    assert {f["id"] for f in response.json()["features"]} == {p.pk for p in pins.inside}
    assert_read_through_rtree(queries.captured_queries, "mapideas_idea", "location")
