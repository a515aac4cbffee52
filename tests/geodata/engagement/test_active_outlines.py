"""The active neighborhoods as every engagement layer reads them (geodata.engagement.rates
.active_frame): their names, teams and figures read on each call, their outlines kept per
process and read again once a neighborhood is saved."""

import json

import pytest
from django.contrib.gis.geos import MultiPolygon
from django.db import connection
from django.test.utils import CaptureQueriesContext

from geodata.engagement import rates
from neighborhoods.selectors import active_neighborhoods
from tests.conftest import square

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def nothing_kept(monkeypatch):
    monkeypatch.setattr(rates, "_OUTLINES", {})


def outline_reads(queries) -> int:
    return sum("geometry" in q["sql"] for q in queries.captured_queries)


def test_the_outlines_are_read_once_and_the_names_every_time(city):
    first = rates.active_frame()
    city.east_team.name = "Harbour & <Docks> Team"
    city.east_team.save()

    with CaptureQueriesContext(connection) as queries:
        again = rates.active_frame()

    assert outline_reads(queries) == 0
    assert list(again.index) == list(first.index)
    assert again.loc[city.east.pk, "team"] == "Harbour & <Docks> Team"
    assert again.geometry.equals(first.geometry)
    assert list(again["geojson"]) == list(first["geojson"])


def test_a_redrawn_outline_is_read_again(city):
    rates.active_frame()
    east = active_neighborhoods().get(pk=city.east.pk)
    east.geometry = MultiPolygon(square(10.0, 10.0, 10.5, 10.5), srid=4326)
    east.save()

    with CaptureQueriesContext(connection) as queries:
        frame = rates.active_frame()

    assert outline_reads(queries) == 1
    assert frame.loc[city.east.pk, "geometry"].bounds == (10.0, 10.0, 10.5, 10.5)
    drawn = json.loads(frame.loc[city.east.pk, "geojson"])
    assert [10.5, 10.5] in drawn["coordinates"][0][0]
    # The others are the outlines kept before.
    assert frame.loc[city.west.pk, "geometry"].equals(
        rates.active_frame().loc[city.west.pk, "geometry"]
    )


def test_it_holds_only_so_many_outlines(city, monkeypatch):
    monkeypatch.setattr(rates, "_OUTLINES_KEPT", 1)

    frame = rates.active_frame()

    assert len(rates._OUTLINES) == 1
    assert frame.geometry.notna().all() and len(frame) == active_neighborhoods().count()
