"""Property-based: whatever body or bbox a client sends, the server never answers 5xx, and a
pin is written exactly when it answers 201.

Hypothesis generates arbitrary JSON (any shape), pins with arbitrary values in each field
(NaN and infinite coordinates, NUL bytes, lone surrogates, very long text), raw bytes as a
body, and arbitrary bbox strings. Derandomized: the same examples on every run, so a failure
is reproducible; a fixed number per test keeps it fast on both databases.
"""

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapideas.models import Idea
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

EXAMPLES = 100
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    # The fixtures (the city, the client) are set up once per test, not per example: fine
    # here, since each example's only write is undone (or checked) within it.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text as hostile as JSON can carry it: NUL, lone surrogates (\ud800), and long runs.
hostile_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=50),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "\ufeff", "<script>", "=1+1"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\x00"]), st.integers(0, 20_000)),
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([IN_EAST.x, IN_EAST.y, 90.0, -90.0, 180.0, -180.0, 90.0000001]),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | hostile_text,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(hostile_text, children, max_size=5)
    ),
    max_leaves=20,
)
coordinates = st.one_of(
    st.lists(numbers, min_size=0, max_size=4),
    st.tuples(
        st.floats(min_value=3.99, max_value=4.07), st.floats(min_value=49.99, max_value=50.02)
    ).map(list),
    json_values,
)
locations = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["Point", "point", "LineString", "Polygon", ""]),
            "coordinates": coordinates,
        }
    ),
    json_values,
)
pins = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.one_of(st.sampled_from(["idea", "issue"]), hostile_text),
        "title": st.one_of(st.just("Swing"), hostile_text, json_values),
        "description": st.one_of(hostile_text, json_values),
        "category": st.one_of(st.sampled_from(["parks-green-space", "other"]), hostile_text),
        "location": locations,
        "email": st.one_of(st.just("ann@mail.example"), hostile_text),
        "name": hostile_text,
        "status": hostile_text,
        "team": json_values,
    },
)


def dumps(value) -> bytes:
    """JSON as a client could send it: NaN/Infinity as Python writes them (not RFC 8259, but
    sent all the same), lone surrogates escaped."""
    return json.dumps(value, allow_nan=True).encode()


def post_and_check(client, body: bytes, content_type: str = "application/json") -> None:
    before = Idea.objects.count()

    response = client.post("/api/ideas/", body, content_type=content_type)

    assert response.status_code < 500, (response.status_code, body[:300])
    if response.status_code == 201:
        assert Idea.objects.count() == before + 1
        Idea.objects.filter(pk=response.json()["id"]).delete()
    else:
        assert 400 <= response.status_code < 500
        assert Idea.objects.count() == before


@pytest.fixture
def api(client, city, settings):
    settings.MAPIDEAS_RATE_LIMITS = False
    return client


@SETTINGS
@given(body=json_values)
def test_any_json_body_is_never_a_server_error(api, body):
    post_and_check(api, dumps(body))


@SETTINGS
@given(body=pins)
def test_any_pin_shaped_body_is_never_a_server_error(api, body):
    post_and_check(api, dumps(body))


@SETTINGS
@given(body=st.binary(max_size=2000))
def test_any_bytes_are_never_a_server_error(api, body):
    post_and_check(api, body)


@SETTINGS
@given(
    lon=numbers,
    lat=numbers,
    title=hostile_text,
)
def test_any_coordinates_and_title_are_never_a_server_error(api, lon, lat, title):
    body = {
        "kind": "issue",
        "title": title,
        "category": "parks-green-space",
        "location": {"type": "Point", "coordinates": [lon, lat]},
    }
    post_and_check(api, dumps(body))


bbox_parts = st.one_of(
    numbers.map(repr),
    st.text(alphabet="0123456789.-+eE,naifNAIF ", max_size=12),
    hostile_text,
)


@SETTINGS
@given(
    bbox=st.one_of(
        st.lists(bbox_parts, min_size=0, max_size=6).map(",".join),
        hostile_text,
    )
)
def test_any_bbox_is_a_200_or_a_400_naming_it(api, bbox):
    # As bytes on the wire: a lone surrogate goes as the (invalid UTF-8) bytes it would be.
    query = quote(bbox.encode("utf-8", "surrogatepass"), safe="")
    response = api.get(f"/api/ideas/?bbox={query}")

    assert response.status_code in (200, 400), (response.status_code, bbox)
    if response.status_code == 400:
        assert "bbox" in response.json()
