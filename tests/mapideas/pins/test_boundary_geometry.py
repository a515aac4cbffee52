"""mapideas.pins.serializers.BoundaryGeometryField: a neighborhood's polygons as the database
writes their GeoJSON (6 decimals), the same text the engagement layers serve, never stale."""

import json

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from rest_framework_gis.fields import GeometryField

from geodata.engagement import rates
from mapideas.pins.serializers import COORDINATE_PRECISION
from tests.conftest import square


@pytest.mark.django_db
def test_a_boundary_reads_as_its_polygons_rounded_to_six_decimals(client, city):
    city.west.geometry = MultiPolygon(
        square(4.0001234567, 50.0007654321, 4.0100000049, 50.01), srid=4326
    )
    city.west.save()
    served = {
        f["properties"]["slug"]: f["geometry"]
        for f in client.get("/api/neighborhoods/").json()["features"]
    }
    plain = GeometryField(precision=COORDINATE_PRECISION).to_representation(city.west.geometry)
    assert served[city.west.slug]["type"] == "MultiPolygon"
    assert served[city.west.slug]["coordinates"] == [
        [[list(point) for point in ring] for ring in polygon] for polygon in plain["coordinates"]
    ]
    assert served[city.west.slug]["coordinates"][0][0][0] == [4.000123, 50.000765]


@pytest.mark.django_db
def test_every_neighborhood_reads_as_in_the_engagement_layers(client, city):
    served = {
        f["properties"]["slug"]: f["geometry"]
        for f in client.get("/api/neighborhoods/").json()["features"]
    }
    frame = rates.active_frame()
    assert set(served) == set(frame["slug"])
    for slug, text in zip(frame["slug"], frame["geojson"], strict=True):
        assert GEOSGeometry(text).equals_exact(GEOSGeometry(json.dumps(served[slug])), 1e-9)


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
