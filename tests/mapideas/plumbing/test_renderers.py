"""mapideas.plumbing.renderers.FastJSONRenderer writes what DRF's JSONRenderer writes, faster."""

import json
from datetime import UTC, datetime
from decimal import Decimal

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
