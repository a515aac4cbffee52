"""mapideas.pins.serializers.BoundaryGeometryField: a neighborhood's polygons converted once per
process, never served stale when they change."""

import pytest
from django.contrib.gis.geos import MultiPolygon
from rest_framework_gis.fields import GeometryField

from mapideas.pins.serializers import COORDINATE_PRECISION, BoundaryGeometryField
from tests.conftest import square


def test_a_boundary_reads_as_the_plain_field_gives_it():
    polygons = MultiPolygon(square(4.0001234567, 50.0007654321, 4.01, 50.01), srid=4326)
    plain = GeometryField(precision=COORDINATE_PRECISION).to_representation(polygons.clone())
    field = BoundaryGeometryField(precision=COORDINATE_PRECISION)
    first = field.to_representation(polygons.clone())
    again = field.to_representation(polygons.clone())
    assert first == plain and again == plain
    assert again is first  # converted once


def test_a_changed_boundary_is_converted_afresh():
    field = BoundaryGeometryField(precision=COORDINATE_PRECISION)
    before = field.to_representation(MultiPolygon(square(4.0, 50.0, 4.01, 50.01), srid=4326))
    moved = MultiPolygon(square(4.0, 50.0, 4.02, 50.01), srid=4326)
    after = field.to_representation(moved)
    assert after != before
    assert after == GeometryField(precision=COORDINATE_PRECISION).to_representation(moved)


def test_the_cache_is_bounded(monkeypatch):
    from mapideas.pins import serializers

    monkeypatch.setattr(serializers, "BOUNDARY_CACHE_SIZE", 3)
    field = BoundaryGeometryField(precision=COORDINATE_PRECISION)
    for i in range(6):
        field.to_representation(MultiPolygon(square(4.0, 50.0, 4.01 + i / 100, 50.01), srid=4326))
    assert len(serializers._boundary_cache) <= 3


@pytest.mark.django_db
def test_the_api_serves_a_boundary_edited_in_place(client, city):
    neighborhood = city.west
    first = client.get("/api/neighborhoods/").json()
    neighborhood.geometry = MultiPolygon(square(3.99, 49.99, 4.0, 50.0), srid=4326)
    neighborhood.save()
    again = client.get("/api/neighborhoods/").json()
    shapes = {f["properties"]["slug"]: f["geometry"] for f in again["features"]}
    assert shapes[neighborhood.slug]["coordinates"][0][0][0] == [3.99, 49.99]
    assert first != again
