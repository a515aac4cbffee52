"""Hostile input, endpoint by endpoint: every malformed request gets a 4xx whose body names
the field (where the format has a place for it), never a 5xx, and never writes a pin.

One table per endpoint: the JSON API (`POST /api/ideas/`), the citizen form (`POST /`),
Open311 (`POST /open311/v2/requests.json`), area alerts (`POST /api/subscriptions/`), and
the read endpoints that parse coordinates or a bbox (`/api/ideas/?bbox=`, `/api/route/`,
`/api/engagement/*`, `/ogc/collections/ideas/items?bbox=`).

A case's `field` is what the answer must name: a key of DRF's `{"field": [...]}`, a form
error's field, or the start of an Open311 error description. `None` where the format has no
field to name: a body that is not JSON at all, a wrong content type, a body over the size
limit; those must still be 4xx with a message.
"""

import json
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.test import Client

from mapideas.models import AreaAlert, Idea
from mapideas.open311.services import open311_client_create
from tests.conftest import IN_EAST
from tests.mapideas.open311.open311_support import ROOT

pytestmark = pytest.mark.django_db

LON, LAT = IN_EAST.x, IN_EAST.y
# Django's default, 2.5 MB; the JSON parsers keep to it too (mapideas.plumbing.parsers).
OVER_THE_LIMIT = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
DEEP = 100_000  # nested lists: deeper than Python's recursion limit


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    content_type: str
    field: str | None


def raw_json(text: str) -> bytes:
    return text.encode()


def pin(**overrides) -> dict:
    body = {
        "kind": "issue",
        "title": "Broken swing",
        "description": "The chain is gone.",
        "category": "parks-green-space",
        "location": {"type": "Point", "coordinates": [LON, LAT]},
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not ...}


def point(*coordinates) -> dict:
    return {"type": "Point", "coordinates": list(coordinates)}


def as_json(body) -> bytes:
    return json.dumps(body).encode()


def pin_with_raw_location(location: str) -> bytes:
    """A pin whose location is written as raw JSON text (NaN, 1e999: not json.dumps-able)."""
    text = json.dumps(pin(location="@@"))
    return text.replace('"@@"', location).encode()


def deeply_nested(key: str | None = None) -> bytes:
    nested = "[" * DEEP + "]" * DEEP
    if key is None:
        return nested.encode()
    return pin_with_raw_location(nested) if key == "location" else nested.encode()


JSON = "application/json"
FORM_ENCODED = "application/x-www-form-urlencoded"
NON_POINTS = {
    "linestring": {"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.001, LAT]]},
    "polygon": {
        "type": "Polygon",
        "coordinates": [[[LON, LAT], [LON + 0.001, LAT], [LON, LAT + 0.001], [LON, LAT]]],
    },
    "multipoint": {"type": "MultiPoint", "coordinates": [[LON, LAT]]},
    "collection": {"type": "GeometryCollection", "geometries": [point(LON, LAT)]},
    "feature": {"type": "Feature", "geometry": point(LON, LAT), "properties": {}},
    "no_type": {"coordinates": [LON, LAT]},
    "text": "somewhere near the park",
    "number": 4,
    "list": [LON, LAT],
}

API_CASES = [
    Case(
        "coordinates_not_numbers", as_json(pin(location=point("east", "north"))), JSON, "location"
    ),
    Case("coordinates_null", as_json(pin(location=point(None, None))), JSON, "location"),
    Case("coordinates_bool", as_json(pin(location=point(True, False))), JSON, "location"),
    Case("coordinates_missing", as_json(pin(location=point())), JSON, "location"),
    Case("one_coordinate", as_json(pin(location=point(LON))), JSON, "location"),
    Case("coordinates_nested", as_json(pin(location=point([LON], [LAT]))), JSON, "location"),
    Case("coordinates_nan_text", as_json(pin(location=point("NaN", "NaN"))), JSON, "location"),
    Case("coordinates_inf_text", as_json(pin(location=point("Infinity", LAT))), JSON, "location"),
    # Not JSON (RFC 8259 has no NaN): a parse error, which has no field to name.
    Case(
        "coordinates_nan_literal",
        pin_with_raw_location('{"type": "Point", "coordinates": [NaN, 50]}'),
        JSON,
        None,
    ),
    # Valid JSON numbers that overflow a double to infinity.
    Case(
        "coordinates_overflow",
        pin_with_raw_location(f'{{"type": "Point", "coordinates": [1e999, {LAT}]}}'),
        JSON,
        "location",
    ),
    Case(
        "coordinates_overflow_negative",
        pin_with_raw_location(f'{{"type": "Point", "coordinates": [{LON}, -1e999]}}'),
        JSON,
        "location",
    ),
    Case("latitude_beyond_90", as_json(pin(location=point(LON, 95.0))), JSON, "location"),
    Case("latitude_below_minus_90", as_json(pin(location=point(LON, -90.5))), JSON, "location"),
    Case("longitude_beyond_180", as_json(pin(location=point(360 + LON, LAT))), JSON, "location"),
    Case("swapped_lon_lat", as_json(pin(location=point(LAT, LON))), JSON, "location"),
    Case("huge_coordinates", as_json(pin(location=point(1e308, 1e308))), JSON, "location"),
    *[
        Case(f"not_a_point_{name}", as_json(pin(location=geometry)), JSON, "location")
        for name, geometry in NON_POINTS.items()
    ],
    Case("location_missing", as_json(pin(location=...)), JSON, "location"),
    Case("location_deeply_nested", deeply_nested("location"), JSON, None),
    Case("body_deeply_nested_list", deeply_nested(), JSON, None),
    Case("body_deeply_nested_object", ('{"a":' * DEEP + "1" + "}" * DEEP).encode(), JSON, None),
    Case("body_huge", as_json(pin(description="x" * OVER_THE_LIMIT)), JSON, None),
    Case("body_not_json", b"kind=issue&title=Hello", JSON, None),
    Case("body_empty", b"", JSON, "title"),
    Case("body_a_list", as_json([pin()]), JSON, "non_field_errors"),
    Case("body_a_string", as_json("pin"), JSON, "non_field_errors"),
    Case("body_null", b"null", JSON, "non_field_errors"),
    Case("unknown_category", as_json(pin(category="no-such-category")), JSON, "category"),
    Case(
        "category_an_object", as_json(pin(category={"slug": "parks-green-space"})), JSON, "category"
    ),
    Case("category_a_list", as_json(pin(category=["parks-green-space"])), JSON, "category"),
    Case("category_with_nul", as_json(pin(category="parks\x00")), JSON, "category"),
    Case("unknown_kind", as_json(pin(kind="complaint")), JSON, "kind"),
    Case("title_overlong", as_json(pin(title="t" * 5000)), JSON, "title"),
    Case("title_a_number", as_json(pin(title=["a"])), JSON, "title"),
    Case("title_with_nul", as_json(pin(title="Broken\x00swing")), JSON, "title"),
    Case(
        "title_lone_surrogate",
        raw_json(json.dumps(pin(title="@@")).replace("@@", "\\ud800")),
        JSON,
        "title",
    ),
    # Echoed in the error message ("... is not a valid choice"), it made the renderer fail: 500.
    Case(
        "kind_lone_surrogate",
        raw_json(json.dumps(pin(kind="@@")).replace("@@", "\\ud800")),
        JSON,
        "kind",
    ),
    Case(
        "key_lone_surrogate",
        raw_json(json.dumps(pin(extra="x")).replace("extra", "\\udc00")),
        JSON,
        "non_field_errors",
    ),
    Case(
        "description_lone_surrogate",
        raw_json(json.dumps(pin(description="@@")).replace("@@", "x\\udfff")),
        JSON,
        "description",
    ),
    Case("description_overlong", as_json(pin(description="d" * 100_000)), JSON, "description"),
    Case("name_overlong", as_json(pin(email="ann@mail.example", name="n" * 1000)), JSON, "name"),
    Case("email_invalid", as_json(pin(email="not an email")), JSON, "email"),
    Case("email_overlong", as_json(pin(email="a" * 300 + "@mail.example")), JSON, "email"),
    Case("invalid_utf8", as_json(pin(title="@@")).replace(b"@@", b"\xff\xfe\xc3("), JSON, None),
    Case(
        "invalid_utf8_charset_latin1_declared_utf8",
        "é".encode("latin-1") + as_json(pin()),
        JSON,
        None,
    ),
    Case("content_type_text", as_json(pin()), "text/plain", None),
    Case("content_type_xml", b"<pin><title>x</title></pin>", "application/xml", None),
    Case(
        "content_type_form",
        urlencode(pin(location="4,50")).encode(),
        "application/x-www-form-urlencoded",
        None,
    ),
    Case("content_type_multipart_without_boundary", as_json(pin()), "multipart/form-data", None),
]


def ids(cases):
    return [case.name for case in cases]


def api_error_fields(response) -> set[str]:
    body = response.json()
    assert isinstance(body, dict), body
    return set(body)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.MAPIDEAS_RATE_LIMITS = False


@pytest.mark.parametrize("case", API_CASES, ids=ids(API_CASES))
def test_the_api_refuses_a_malformed_pin_naming_the_field(client, city, category, case):
    before = Idea.objects.count()

    response = client.post("/api/ideas/", case.body, content_type=case.content_type)

    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert Idea.objects.count() == before
    if case.field is not None:
        assert case.field in api_error_fields(response), response.content[:300]
    else:
        assert response_message(response), response.content[:300]


def test_a_well_formed_pin_goes_through(client, city, category):
    """The table's baseline: the same body without the fault is a 201."""
    response = client.post("/api/ideas/", as_json(pin()), content_type=JSON)

    assert response.status_code == 201, response.content
    assert Idea.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "content_type"),
    [("/api/ideas/", JSON), ("/api/subscriptions/", JSON), ("/", FORM_ENCODED)],
)
def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(
    client, city, category, url, content_type
):
    """A "1 GB" Content-Length with a small body: refused by the declared length alone (the
    server would otherwise wait for, or buffer, a gigabyte)."""
    response = client.post(
        url, as_json(pin()), content_type=content_type, CONTENT_LENGTH=str(10**9)
    )

    assert response.status_code == 413, response.content[:300]
    assert "too large" in response_message(response)
    assert Idea.objects.count() == 0


def response_message(response) -> str:
    """The message of a 4xx that has no field to name: DRF's `detail`, or Django's text."""
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        return body["detail"] if isinstance(body, dict) else str(body)
    return response.content.decode()


# --- The citizen form on the map page (POST /, form-encoded, HTML errors) ---

FORM = FORM_ENCODED


def form(**overrides) -> dict:
    body = {
        "kind": "issue",
        "title": "Broken swing",
        "description": "The chain is gone.",
        "category": "parks-green-space",
        "latitude": LAT,
        "longitude": LON,
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not ...}


def encoded(body: dict) -> bytes:
    return urlencode(body).encode()


FORM_CASES = [
    Case("latitude_not_a_number", encoded(form(latitude="north")), FORM, "latitude"),
    Case("longitude_not_a_number", encoded(form(longitude="4,015")), FORM, "longitude"),
    Case("latitude_nan", encoded(form(latitude="nan")), FORM, "latitude"),
    Case("longitude_infinite", encoded(form(longitude="inf")), FORM, "longitude"),
    Case("latitude_overflow", encoded(form(latitude="1e999")), FORM, "latitude"),
    Case("latitude_beyond_90", encoded(form(latitude="95")), FORM, "latitude"),
    Case("longitude_beyond_180", encoded(form(longitude="200")), FORM, "longitude"),
    Case("swapped_lon_lat", encoded(form(latitude=LON, longitude=LAT)), FORM, "latitude"),
    Case("latitude_missing", encoded(form(latitude=...)), FORM, "latitude"),
    Case("unknown_category", encoded(form(category="no-such-category")), FORM, "category"),
    Case("category_with_nul", encoded(form(category="parks\x00")), FORM, "category"),
    Case("unknown_kind", encoded(form(kind="complaint")), FORM, "kind"),
    Case("title_overlong", encoded(form(title="t" * 5000)), FORM, "title"),
    Case("title_with_nul", encoded(form(title="Broken\x00swing")), FORM, "title"),
    Case("description_overlong", encoded(form(description="d" * 100_000)), FORM, "description"),
    Case("email_invalid", encoded(form(email="not an email")), FORM, "email"),
    Case("email_overlong", encoded(form(email="a" * 300 + "@mail.example")), FORM, "email"),
    Case(
        "invalid_utf8_title", encoded(form(title="@@")).replace(b"%40%40", b"%FF%FE"), FORM, "title"
    ),
    Case(
        "invalid_utf8_category",
        encoded(form(category="@@")).replace(b"%40%40", b"%C3%28"),
        FORM,
        "category",
    ),
    # A field whose name is not UTF-8 (was a 500: the name's check hid gettext).
    Case("invalid_utf8_field_name", encoded(form()) + b"&%FF%FE=x", FORM, "a field name"),
    Case("content_type_json", as_json(pin()), JSON, "title"),
    Case("body_huge", encoded(form(description="x" * OVER_THE_LIMIT)), FORM, None),
    Case("too_many_fields", b"&".join(b"f%d=1" % i for i in range(2000)), FORM, None),
]


@pytest.mark.parametrize("case", FORM_CASES, ids=ids(FORM_CASES))
def test_the_form_refuses_a_malformed_pin_naming_the_field(client, city, category, case):
    before = Idea.objects.count()

    response = client.post("/", case.body, content_type=case.content_type)

    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert Idea.objects.count() == before
    if case.name.startswith("invalid_utf8"):
        # Refused before the form is read (mapideas.plumbing.middleware): a plain-text 400.
        assert response.content.decode().startswith(f"{case.field}: "), response.content
    elif case.field is not None:
        errors = response.context["form"].errors
        assert case.field in errors, errors
        # Shown next to the field in the page.
        assert errors[case.field][0][:40] in response.content.decode().replace("&#x27;", "'")


# --- Open311 (POST requests.json, form-encoded; errors describe "field: ...") ---


def report(key: str, **overrides) -> dict:
    body = {
        "api_key": key,
        "service_code": "parks-green-space",
        "lat": LAT,
        "long": LON,
        "description": "Broken swing",
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not ...}


OPEN311_CASES = [
    ("lat_not_a_number", {"lat": "north"}, "lat"),
    ("long_nan", {"long": "NaN"}, "long"),
    ("lat_infinite", {"lat": "-Infinity"}, "lat"),
    ("lat_overflow", {"lat": "1e999"}, "lat"),
    ("lat_beyond_90", {"lat": "95"}, "lat"),
    ("long_beyond_180", {"long": "-200"}, "long"),
    ("swapped_lat_long", {"lat": LON, "long": LAT}, "lat, long"),
    ("unknown_service_code", {"service_code": "no-such-category"}, "service_code"),
    ("service_code_with_nul", {"service_code": "parks\x00"}, "service_code"),
    ("description_overlong", {"description": "d" * 100_000}, "description"),
    ("description_with_nul", {"description": "Broken\x00swing"}, "description"),
    ("email_invalid", {"email": "not an email"}, "email"),
    ("media_url_not_http", {"media_url": "javascript:alert(1)"}, "media_url"),
    ("lat_missing", {"lat": ...}, "lat"),
]


@pytest.fixture
def open311_key(db):
    return open311_client_create(name="Hostile App").key


@pytest.mark.parametrize(
    ("overrides", "field"),
    [case[1:] for case in OPEN311_CASES],
    ids=[case[0] for case in OPEN311_CASES],
)
def test_open311_refuses_a_malformed_request_naming_the_field(
    city, category, open311_key, overrides, field
):
    response = Client().post(
        f"{ROOT}/requests.json", encoded(report(open311_key, **overrides)), content_type=FORM
    )

    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert Idea.objects.count() == 0
    [error] = response.json()
    assert error["description"].startswith(f"{field}: "), error


OPEN311_RAW_CASES = [
    Case("invalid_utf8_description", b"", FORM, "description"),  # the body is built per key
    Case("content_type_text", b"", "text/plain", None),
    Case("body_huge", b"", FORM, None),
    Case("json_deeply_nested", b"", JSON, None),
    Case("json_invalid_utf8", b"", JSON, None),
]


def open311_raw(case: Case, key: str) -> bytes:
    if case.name == "invalid_utf8_description":
        return encoded(report(key, description="@@")).replace(b"%40%40", b"%FF%FE")
    if case.name == "content_type_text":
        return encoded(report(key))
    if case.name == "body_huge":
        return encoded(report(key, description="x" * OVER_THE_LIMIT))
    if case.name == "json_deeply_nested":
        return deeply_nested()
    return as_json(report(key, description="@@")).replace(b"@@", b"\xff\xfe")


@pytest.mark.parametrize("case", OPEN311_RAW_CASES, ids=ids(OPEN311_RAW_CASES))
def test_open311_refuses_a_malformed_body(city, category, open311_key, case):
    response = Client().post(
        f"{ROOT}/requests.json", open311_raw(case, open311_key), content_type=case.content_type
    )

    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert Idea.objects.count() == 0
    if case.name == "invalid_utf8_description":
        assert response.content.decode().startswith("description: "), response.content
    elif case.field is not None:
        [error] = response.json()
        assert error["description"].startswith(f"{case.field}: "), error


# --- Area alerts (POST /api/subscriptions/, JSON) ---


def alert(**overrides) -> dict:
    body = {"email": "ann@mail.example", "point": point(LON, LAT), "radius_m": 500}
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not ...}


SUBSCRIPTION_CASES = [
    Case("point_not_numbers", as_json(alert(point=point("east", "north"))), JSON, "point"),
    Case("point_nan_text", as_json(alert(point=point("NaN", LAT))), JSON, "point"),
    Case(
        "point_overflow",
        as_json(alert(point="@@")).replace(
            b'"@@"', f'{{"type": "Point", "coordinates": [1e999, {LAT}]}}'.encode()
        ),
        JSON,
        "point",
    ),
    Case("latitude_beyond_90", as_json(alert(point=point(LON, 91))), JSON, "point"),
    Case("swapped_lon_lat", as_json(alert(point=point(LAT, LON))), JSON, "point"),
    Case("not_a_point", as_json(alert(point=NON_POINTS["polygon"])), JSON, "point"),
    Case("radius_nan", as_json(alert(radius_m="NaN")), JSON, "radius_m"),
    Case("radius_huge", as_json(alert(radius_m=10**30)), JSON, "radius_m"),
    Case(
        "unknown_neighborhood",
        as_json(alert(point=..., radius_m=..., neighborhood="atlantis")),
        JSON,
        "neighborhood",
    ),
    Case(
        "neighborhood_with_nul",
        as_json(alert(point=..., radius_m=..., neighborhood="east\x00")),
        JSON,
        "neighborhood",
    ),
    Case("unknown_frequency", as_json(alert(frequency="hourly")), JSON, "frequency"),
    Case("email_overlong", as_json(alert(email="a" * 300 + "@mail.example")), JSON, "email"),
    Case("body_deeply_nested", deeply_nested(), JSON, None),
    Case("body_huge", as_json(alert(email="x" * OVER_THE_LIMIT)), JSON, None),
    Case("invalid_utf8", as_json(alert(email="@@")).replace(b"@@", b"\xff\xfe"), JSON, None),
    Case("content_type_text", as_json(alert()), "text/plain", None),
]


@pytest.mark.parametrize("case", SUBSCRIPTION_CASES, ids=ids(SUBSCRIPTION_CASES))
def test_an_alert_subscription_refuses_malformed_input_naming_the_field(client, city, case):
    response = client.post("/api/subscriptions/", case.body, content_type=case.content_type)

    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert AreaAlert.objects.count() == 0
    if case.field is not None:
        assert case.field in api_error_fields(response), response.content[:300]


# --- Reads that parse coordinates or a bbox ---

BAD_BBOXES = [
    ("min_greater_than_max", "4.02,50.0,4.0,50.01"),
    ("min_lat_greater_than_max", "4.0,50.01,4.02,50.0"),
    ("three_numbers", "4.0,50.0,4.02"),
    ("five_numbers", "4.0,50.0,4.02,50.01,3"),
    ("not_numbers", "a,b,c,d"),
    ("nan", "nan,50.0,4.02,50.01"),
    ("infinite", "-inf,-90,inf,90"),
    ("overflow", "-1e999,-90,1e999,90"),
    ("beyond_the_globe", "-181,-91,181,91"),
    ("latitude_beyond_90", "4.0,50.0,4.02,95"),
    ("empty_parts", ",,,"),
    ("with_nul", "4.0,50.0\x00,4.02,50.01"),
    ("very_long", ",".join(["1"] * 100_000)),
]


@pytest.mark.parametrize(("bbox"), [b for _, b in BAD_BBOXES], ids=[n for n, _ in BAD_BBOXES])
@pytest.mark.parametrize(
    "url", ["/api/ideas/", "/api/ideas/viewport/?zoom=12", "/ogc/collections/ideas/items"]
)
def test_a_malformed_bbox_is_a_400_naming_it(client, city, url, bbox):
    separator = "&" if "?" in url else "?"
    response = client.get(f"{url}{separator}{urlencode({'bbox': bbox})}")

    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    named = "bbox" in body if "code" not in body else "bbox" in body["description"]
    assert named, body


@pytest.mark.parametrize(
    "url", ["/api/ideas/", "/api/ideas/viewport/?zoom=2", "/ogc/collections/ideas/items"]
)
def test_a_bbox_of_the_whole_globe_is_every_pin_not_an_error(client, city, category, url):
    """The whole world is a valid box (a map zoomed right out asks for it): every pin."""
    client.post("/api/ideas/", as_json(pin()), content_type=JSON)
    separator = "&" if "?" in url else "?"

    response = client.get(f"{url}{separator}bbox=-180,-90,180,90")

    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert body.get("total", body.get("count", body.get("numberMatched"))) == 1, body


ROUTE_CASES = [
    ("lon_not_a_number", {"lon": "east", "lat": LAT}, "lon"),
    ("lat_nan", {"lon": LON, "lat": "nan"}, "lat"),
    ("lon_infinite", {"lon": "inf", "lat": LAT}, "lon"),
    ("lat_overflow", {"lon": LON, "lat": "1e999"}, "lat"),
    ("lat_beyond_90", {"lon": LON, "lat": 95}, "lat"),
    ("swapped_lon_lat", {"lon": LAT, "lat": LON}, "lat"),
    ("unknown_category", {"lon": LON, "lat": LAT, "category": "nope"}, "category"),
    ("category_with_nul", {"lon": LON, "lat": LAT, "category": "parks\x00"}, "category"),
    ("lat_missing", {"lon": LON}, "lat"),
]


@pytest.mark.parametrize(
    ("params", "field"), [c[1:] for c in ROUTE_CASES], ids=[c[0] for c in ROUTE_CASES]
)
def test_the_route_preview_refuses_malformed_coordinates_naming_them(client, city, params, field):
    response = client.get("/api/route/", params)

    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert field in api_error_fields(response)


ENGAGEMENT_CASES = [
    ("neighborhoods/", {"thin_below": "nan"}, "thin_below"),
    ("neighborhoods/", {"thin_below": "inf"}, "thin_below"),
    ("neighborhoods/", {"thin_below": "1e999"}, "thin_below"),
    ("neighborhoods/", {"trend_days": "1e999"}, "trend_days"),
    ("neighborhoods/", {"created_after": "2024-13-45"}, "created_after"),
    ("neighborhoods/", {"created_after": "2024-05-02", "created_before": "2024-05-01"}, None),
    ("neighborhoods/", {"category": "x" * 10_000}, "category"),
    ("neighborhoods/", {"category": "parks\x00"}, "category"),
    ("hexagons/", {"resolution": "nan"}, "resolution"),
    ("hexagons/", {"resolution": "15"}, "resolution"),
    ("coldspots/", {"alpha": "nan"}, "alpha"),
    ("coldspots/", {"alpha": "-1"}, "alpha"),
    ("coldspots/", {"weights": "rook\x00"}, "weights"),
    ("outreach/", {"limit": "1e999"}, "limit"),
    ("outreach/", {"limit": "-5"}, "limit"),
]


@pytest.mark.parametrize(
    ("layer", "params", "field"),
    ENGAGEMENT_CASES,
    ids=[f"{c[0].rstrip('/')}-{'-'.join(c[1])}-{i}" for i, c in enumerate(ENGAGEMENT_CASES)],
)
def test_the_engagement_layers_refuse_malformed_parameters_naming_them(
    client, city, layer, params, field
):
    response = client.get(f"/api/engagement/{layer}", params)

    assert response.status_code == 400, (response.status_code, response.content[:300])
    if field is not None:
        assert field in api_error_fields(response), response.content[:300]
