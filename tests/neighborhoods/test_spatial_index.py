"""neighborhoods.spatial_index.in_spatial_index(): the rows a geometry filter starts from,
found through the spatial index on both databases (the R*Tree on SpatiaLite, `&&` on PostGIS)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mapideas.models import Idea
from neighborhoods.spatial_index import in_spatial_index
from tests.spatial_index import BBOX, assert_read_through_rtree, edge_pins

pytestmark = pytest.mark.django_db


def test_it_finds_every_pin_on_the_edges_and_the_exact_test_leaves_those_outside(city, category):
    pins = edge_pins(category)

    with CaptureQueriesContext(connection) as queries:
        rough = set(
            in_spatial_index(Idea.objects.all(), "location", BBOX).values_list("pk", flat=True)
        )

    assert {p.pk for p in pins.inside} <= rough
    if connection.vendor == "sqlite":
        # The R*Tree's float32 boxes do hold pins just outside: the exact test is needed.
        assert rough & {p.pk for p in pins.outside}
    exact = Idea.objects.filter(pk__in=rough, location__intersects=pins.bbox)
    assert set(exact.values_list("pk", flat=True)) == {p.pk for p in pins.inside}
    assert_read_through_rtree(queries.captured_queries, "mapideas_idea", "location")
    if connection.vendor != "sqlite":
        assert "&&" in queries.captured_queries[0]["sql"]


def test_it_leaves_postgis_to_a_lookup_that_uses_the_index_itself(city, category):
    rows = Idea.objects.filter(kind="idea")
    narrowed = in_spatial_index(rows, "location", BBOX, gist_lookup_follows=True)

    if connection.vendor == "sqlite":
        assert "idx_mapideas_idea_location" in str(narrowed.query)
    else:
        assert str(narrowed.query) == str(rows.query)


def test_a_field_that_is_no_geometry_is_refused(db):
    with pytest.raises(TypeError):
        in_spatial_index(Idea.objects.all(), "title", BBOX)
