"""mapideas.plumbing.renderers.FastJSONRenderer writes what DRF's JSONRenderer writes, faster."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from mapideas.plumbing.renderers import FastJSONRenderer

SAMPLE = {
    "type": "FeatureCollection",
    "features": [
        {
            "id": 7,
            "geometry": {"type": "Point", "coordinates": [-87.62398, 41.88325]},
            "properties": {
                "title": 'Café <b>&</b> "quotes" \u2028 line \u2029 para 🚲',
                "created_at": datetime(2026, 11, 27, 5, 6, 7, 891234, tzinfo=UTC),
                "message": gettext_lazy("This field is required."),
                "amount": Decimal("1.50"),
                "none": None,
                "flag": True,
                "small": 1e-05,
            },
        }
    ],
    3: "an integer key",
}


def test_it_renders_the_same_json_as_drf():
    fast = FastJSONRenderer().render(SAMPLE, "application/json")
    drf = JSONRenderer().render(SAMPLE, "application/json")
    assert json.loads(fast) == json.loads(drf)


def test_dates_read_as_drf_writes_them():
    fast = json.loads(FastJSONRenderer().render(SAMPLE, "application/json"))
    assert fast["features"][0]["properties"]["created_at"] == "2026-11-27T05:06:07.891234Z"


def test_line_and_paragraph_separators_are_escaped_for_javascript():
    fast = FastJSONRenderer().render(SAMPLE, "application/json")
    assert "\u2028".encode() not in fast and "\u2029".encode() not in fast
    assert b"\\u2028" in fast and b"\\u2029" in fast
    assert "🚲".encode() in fast  # UTF-8, not \\u escapes, as DRF's UNICODE_JSON


def test_an_indented_answer_is_left_to_drf():
    indented = FastJSONRenderer().render(SAMPLE, "application/json; indent=2")
    assert indented == JSONRenderer().render(SAMPLE, "application/json; indent=2")
    assert b"\n  " in indented


def test_nothing_renders_as_nothing():
    assert FastJSONRenderer().render(None) == b""


def test_json_text_written_elsewhere_is_embedded_as_it_is():
    polygon = '{"type":"Polygon","coordinates":[[[4.0,50.0],[4.01,50.0],[4.0,50.01],[4.0,50.0]]]}'
    data = {"type": "Feature", "geometry": orjson.Fragment(polygon), "properties": {"n": 1}}
    compact = FastJSONRenderer().render(data, "application/json")
    assert polygon.encode() in compact
    assert json.loads(compact)["geometry"]["coordinates"][0][1] == [4.01, 50.0]
    # Indented by DRF (and so the browsable API): the same values, the text parsed first.
    indented = FastJSONRenderer().render(data, "application/json; indent=2")
    assert json.loads(indented) == json.loads(compact)
    assert b"\n  " in indented


@pytest.mark.django_db
def test_an_engagement_layer_reads_the_same_compact_and_indented(client, city):
    compact = client.get("/api/engagement/neighborhoods/")
    indented = client.get(
        "/api/engagement/neighborhoods/", HTTP_ACCEPT="application/json; indent=2"
    )
    assert compact.status_code == indented.status_code == 200
    assert json.loads(indented.content) == json.loads(compact.content)
    browsable = client.get("/api/engagement/neighborhoods/", HTTP_ACCEPT="text/html")
    assert browsable.status_code == 200 and b"MultiPolygon" in browsable.content
