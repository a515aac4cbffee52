"""POST /api/ideas/: a pin is routed on arrival; bad input is a 400 naming the field, and
nothing is written."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from rest_framework.test import APIClient

from mapideas.models import Idea
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

URL = "/api/ideas/"
SECRET_USERNAME = "zq-author-username-5309"
SECRET_EMAIL = "zq.author.5309@mail.example"


def body(point: Point = IN_WEST, **overrides) -> dict:
    data = {
        "kind": "idea",
        "title": "More benches",
        "description": "Along the canal, please.",
        "category": "parks-green-space",
        "location": {"type": "Point", "coordinates": [point.x, point.y]},
    }
    data.update(overrides)
    return data


def post(data, client: APIClient | None = None):
    return (client or APIClient()).post(URL, data, format="json")


def post_raw(raw: str | bytes, content_type: str = "application/json"):
    return APIClient().generic("POST", URL, raw, content_type=content_type)


def assert_refused(response, field: str) -> None:
    """A 400 whose body names `field` with at least one message, and no row written."""
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert errors[field] and all(isinstance(m, str) and m for m in errors[field])
    assert Idea.objects.count() == 0


# --- Routing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "neighborhood", "team"),
    [
        (IN_WEST, "West Side", "West Team"),
        (IN_EAST, "East Side", "East Team"),
        (ON_ISLAND, "Harbor", "Harbor Team"),
        (IN_ENCLAVE, "Enclave", "West Team"),
    ],
    ids=["west", "east", "island", "enclave"],
)
def test_it_routes_a_new_pin_to_the_team_of_its_neighborhood(
    city, category, point, neighborhood, team
):
    response = post(body(point))

    assert response.status_code == 201, response.content
    feature = response.json()
    assert feature["properties"]["neighborhood"] == neighborhood
    assert feature["properties"]["team"] == team
    idea = Idea.objects.get()
    assert idea.neighborhood.name == neighborhood
    assert idea.team.name == team
    assert idea.channel == Idea.Channel.API


def test_it_routes_a_pin_on_a_shared_border_to_the_same_neighborhood_every_time(city, category):
    names = {post(body(ON_SHARED_BORDER)).json()["properties"]["neighborhood"] for _ in range(3)}

    assert names == {"East Side"}
    assert set(Idea.objects.values_list("neighborhood__slug", flat=True)) == {"east-side"}


def test_it_refuses_a_pin_outside_the_service_area(city, category):
    response = post(body(OUTSIDE_CITY))

    assert_refused(response, "location")
    assert "outside every neighborhood" in response.json()["location"][0]


def test_it_sends_a_pin_in_a_gap_inside_the_service_area_to_city_wide_triage(city, category):
    response = post(body(IN_EMPTY_HOLE))

    assert response.status_code == 201
    properties = response.json()["properties"]
    assert (properties["neighborhood"], properties["team"]) == (None, "City-wide triage")


def test_it_refuses_every_pin_while_the_city_has_no_neighborhoods(category):
    assert_refused(post(body(IN_WEST)), "location")


def test_it_answers_with_a_geojson_feature_of_the_public_fields(city, category):
    response = post(body(IN_EAST, kind="issue", title="  Broken lamp  "))

    assert response.status_code == 201
    feature = response.json()
    idea = Idea.objects.get()
    assert feature["type"] == "Feature"
    assert feature["id"] == idea.pk
    # RFC 7946: lon,lat, no crs member.
    assert feature["geometry"] == {"type": "Point", "coordinates": [IN_EAST.x, IN_EAST.y]}
    assert "crs" not in feature and "crs" not in feature["geometry"]
    props = feature["properties"]
    assert {
        "id",
        "kind",
        "title",
        "description",
        "category",
        "status",
        "neighborhood",
        "team",
        "created_at",
    } <= set(props)
    assert props["id"] == idea.pk
    assert props["kind"] == "issue"
    assert props["title"] == "Broken lamp"
    assert props["description"] == "Along the canal, please."
    assert props["category"] == "parks-green-space"
    assert props["status"] == "new"
    assert props["created_at"].endswith("Z")


def test_it_accepts_a_pin_without_a_description(city, category):
    data = body()
    del data["description"]

    response = post(data)

    assert response.status_code == 201
    assert Idea.objects.get().description == ""


def test_it_accepts_a_location_in_another_crs_as_ewkt(city, category):
    mercator = IN_EAST.transform(3857, clone=True)

    response = post(body(location=mercator.ewkt))

    assert response.status_code == 201, response.content
    assert response.json()["properties"]["neighborhood"] == "East Side"
    stored = Idea.objects.get().location
    assert stored.srid == 4326
    assert stored.x == pytest.approx(IN_EAST.x) and stored.y == pytest.approx(IN_EAST.y)


# --- Mass assignment and the author --------------------------------------------------------


def test_it_ignores_status_team_neighborhood_and_author_in_the_body(city, category):
    other = get_user_model().objects.create(username="mallory")

    response = post(
        body(
            IN_WEST,
            status="done",
            team=city.east_team.slug,
            team_slug=city.east_team.slug,
            neighborhood=city.east.slug,
            author=other.pk,
            channel="paper",
            id=999999,
            created_at="2000-01-01T00:00:00Z",
        )
    )

    assert response.status_code == 201, response.content
    idea = Idea.objects.get()
    assert idea.status == Idea.Status.NEW
    assert idea.team == city.west_team
    assert idea.neighborhood == city.west
    assert idea.author is None
    assert idea.channel == Idea.Channel.API
    assert idea.pk != 999999
    assert idea.created_at.year > 2000


def test_it_stores_the_logged_in_author_but_never_outputs_them(city, category, make_user):
    author = make_user(SECRET_USERNAME)
    author.email = SECRET_EMAIL
    author.first_name = "Zqfirstname"
    author.save()
    client = APIClient()
    client.force_login(author)

    response = post(body(IN_WEST), client)

    assert response.status_code == 201
    assert Idea.objects.get().author == author
    listed = client.get(URL)
    for content in (response.content, listed.content):
        for secret in (SECRET_USERNAME, SECRET_EMAIL, "Zqfirstname", f'"author":{author.pk}'):
            assert secret.encode() not in content
        assert b"author" not in content


def test_it_stores_no_author_for_an_anonymous_pin(city, category):
    assert post(body()).status_code == 201

    assert Idea.objects.get().author is None


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["kind", "title", "category", "location"])
def test_it_refuses_a_pin_missing_a_required_field(city, category, field):
    data = body()
    del data[field]

    assert_refused(post(data), field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "complaint"),
        ("kind", "Idea"),
        ("kind", None),
        ("title", ""),
        ("title", "   "),
        ("title", "x" * 201),
        ("title", None),
        ("title", {"text": "nested"}),
        ("title", "nul\x00byte"),
        ("description", "x" * 5001),
        ("description", None),
        ("category", "no-such-category"),
        ("category", ""),
        ("category", ["parks-green-space"]),
        ("category", {"slug": "parks-green-space"}),
        ("category", None),
    ],
)
def test_it_refuses_a_bad_value_naming_the_field(city, category, field, value):
    assert_refused(post(body(**{field: value})), field)


def test_it_accepts_a_title_of_exactly_the_maximum_length(city, category):
    response = post(body(title="x" * 200, description="y" * 5000))

    assert response.status_code == 201
    idea = Idea.objects.get()
    assert len(idea.title) == 200 and len(idea.description) == 5000


@pytest.mark.parametrize(
    "location",
    [
        {"type": "LineString", "coordinates": [[4.001, 50.001], [4.002, 50.002]]},
        {"type": "MultiPoint", "coordinates": [[4.001, 50.001]]},
        {
            "type": "Polygon",
            "coordinates": [[[4.001, 50.001], [4.002, 50.001], [4.002, 50.002], [4.001, 50.001]]],
        },
        {"type": "Point"},
        {"type": "Point", "coordinates": []},
        {"type": "Point", "coordinates": [4.001]},
        {"type": "Point", "coordinates": ["abc", 50.001]},
        {"type": "Point", "coordinates": [4.001, 91]},
        {"type": "Point", "coordinates": [4.001, -90.5]},
        {"type": "Point", "coordinates": [181, 50.001]},
        {"type": "Point", "coordinates": ["NaN", "NaN"]},
        {"coordinates": [4.001, 50.001]},
        {},
        "garbage",
        "",
        "POINT EMPTY",
        "POINT(nan nan)",
        "SRID=999999;POINT(4.001 50.001)",
        [4.001, 50.001],
        4.001,
        None,
    ],
    ids=[
        "linestring",
        "multipoint",
        "polygon",
        "no-coordinates",
        "empty-coordinates",
        "one-coordinate",
        "lon-text",
        "lat-91",
        "lat-below-minus-90",
        "lon-181",
        "nan-as-string",
        "no-type",
        "empty-object",
        "garbage-text",
        "empty-text",
        "empty-point-wkt",
        "nan-point-wkt",
        "unknown-srid",
        "bare-list",
        "bare-number",
        "null",
    ],
)
def test_it_refuses_a_location_that_is_not_a_usable_point(city, category, location):
    assert_refused(post(body(location=location)), "location")


def test_it_refuses_nan_coordinates_sent_as_json_nan(city, category):
    raw = json.dumps(body()).replace("[4.001, 50.001]", "[NaN, NaN]")
    assert "NaN" in raw

    response = post_raw(raw)

    assert response.status_code == 400
    assert Idea.objects.count() == 0


def test_it_refuses_infinite_coordinates_sent_as_overflowing_numbers(city, category):
    raw = json.dumps(body()).replace("[4.001, 50.001]", "[1e400, 50.001]")

    assert_refused(post_raw(raw), "location")


def test_it_refuses_a_body_that_is_not_json(city, category):
    response = post_raw(b"kind=idea&title={oops", "application/json")

    assert response.status_code == 400
    assert Idea.objects.count() == 0


def test_it_refuses_a_json_body_that_is_not_an_object(city, category):
    response = post_raw(json.dumps([body()]))

    assert response.status_code == 400
    assert Idea.objects.count() == 0


def test_it_refuses_a_form_encoded_body(city, category):
    # multipart/form-data is taken (for a photo: tests/mapideas/pins/test_api_ideas_photo.py);
    # application/x-www-form-urlencoded is not.
    response = post_raw(
        "kind=idea&title=Form&category=parks-green-space&location=POINT(4.001+50.001)",
        content_type="application/x-www-form-urlencoded",
    )

    assert 400 <= response.status_code < 500
    assert response.status_code == 415
    assert Idea.objects.count() == 0


def test_it_refuses_an_empty_body_naming_the_required_fields(city, category):
    response = post_raw(b"{}")

    assert response.status_code == 400
    assert {"kind", "title", "category", "location"} <= set(response.json())
    assert Idea.objects.count() == 0
