"""POST /api/ideas/ with a photo (multipart/form-data), and `photo_url` in every public
output that carries a pin: the API, the viewport, the exports, the OGC API."""

import json

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from mapideas.models import Idea, IdeaPhoto
from mapideas.pins import photos
from mapideas.submission.services import idea_submit
from tests.conftest import IN_WEST, OUTSIDE_CITY
from tests.mapideas.pins.photo_files import gps_jpeg, upload

pytestmark = pytest.mark.django_db

URL = "/api/ideas/"


def fields(point=IN_WEST, **overrides) -> dict:
    data = {
        "kind": "idea",
        "title": "More benches",
        "description": "Along the canal, please.",
        "category": "parks-green-space",
        # In multipart, the location is GeoJSON text.
        "location": json.dumps({"type": "Point", "coordinates": [point.x, point.y]}),
    }
    return {**data, **overrides}


@pytest.fixture(autouse=True)
def photo_root(settings, tmp_path):
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path / "photos"
    return settings.MAPIDEAS_PHOTO_ROOT


def post_multipart(data: dict):
    return APIClient().post(URL, data, format="multipart")


def assert_refused(response, field: str) -> None:
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert Idea.objects.count() == 0 and IdeaPhoto.objects.count() == 0


@pytest.fixture
def with_photo(city, category) -> Idea:
    return idea_submit(
        kind="idea",
        title="With a photo",
        category=category,
        location=IN_WEST,
        photo=upload(gps_jpeg()),
    )


def test_multipart_with_a_photo_gives_its_url(city, category):
    response = post_multipart({**fields(), "photo": upload(gps_jpeg())})

    assert response.status_code == 201, response.content
    idea = Idea.objects.get()
    url = response.json()["properties"]["photo_url"]
    assert url == f"/ideas/{idea.pk}/photo.jpg"
    served = Client().get(url)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"


def test_multipart_without_a_photo_works_too(city, category):
    response = post_multipart(fields())

    assert response.status_code == 201, response.content
    assert response.json()["properties"]["photo_url"] is None


def test_json_still_works_and_has_no_photo(city, category):
    body = {**fields(), "location": {"type": "Point", "coordinates": [IN_WEST.x, IN_WEST.y]}}

    response = APIClient().post(URL, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["properties"]["photo_url"] is None


def test_a_photo_field_in_json_is_refused_naming_it(city, category):
    body = {**fields(), "location": {"type": "Point", "coordinates": [IN_WEST.x, IN_WEST.y]}}

    assert_refused(APIClient().post(URL, {**body, "photo": "aGVsbG8="}, format="json"), "photo")


def test_a_refused_photo_is_a_400_naming_photo_and_nothing_is_written(city, category):
    response = post_multipart({**fields(), "photo": upload(b"GIF89a? no", "x.jpg")})

    assert_refused(response, "photo")
    assert response.json()["photo"] == [photos.NOT_A_PHOTO_MESSAGE]


def test_a_photo_too_large_is_a_400_saying_the_limit(city, category, settings):
    settings.MAPIDEAS_PHOTO_MAX_BYTES = 300

    response = post_multipart({**fields(), "photo": upload(gps_jpeg())})

    assert_refused(response, "photo")
    assert response.json()["photo"] == [photos.too_big_message()]


def test_a_good_photo_with_a_place_outside_the_city_writes_nothing(city, category, photo_root):
    response = post_multipart({**fields(OUTSIDE_CITY), "photo": upload(gps_jpeg())})

    assert_refused(response, "location")
    assert not photo_root.exists() or not [p for p in photo_root.rglob("*") if p.is_file()]


def test_the_list_gives_photo_url_or_null(with_photo, category):
    without = idea_submit(kind="idea", title="No photo", category=category, location=IN_WEST)

    features = {f["id"]: f for f in Client().get(URL).json()["features"]}

    assert features[with_photo.pk]["properties"]["photo_url"] == f"/ideas/{with_photo.pk}/photo.jpg"
    assert features[without.pk]["properties"]["photo_url"] is None


def test_a_hidden_photo_has_no_url(with_photo):
    IdeaPhoto.objects.filter(idea=with_photo).update(hidden_at=timezone.now())

    feature = Client().get(URL).json()["features"][0]

    assert feature["properties"]["photo_url"] is None


def test_the_list_reads_photos_without_a_query_per_pin(
    with_photo, category, django_assert_max_num_queries
):
    for n in range(5):
        idea_submit(
            kind="idea",
            title=f"Pin {n}",
            category=category,
            location=IN_WEST,
            photo=upload(gps_jpeg()),
        )
    # The page (its photos joined), its count, and its categories' and teams' names.
    with django_assert_max_num_queries(4):
        response = Client().get(URL)

    assert sum(1 for f in response.json()["features"] if f["properties"]["photo_url"]) == 6


@pytest.mark.parametrize(
    "url",
    [
        "/export/ideas.geojson",
        "/ogc/collections/ideas/items?f=json",
        "/api/ideas/viewport/?bbox=3.9,49.9,4.1,50.1&zoom=18",
    ],
)
def test_other_outputs_carry_the_same_photo_url_and_never_the_file_name(with_photo, url):
    response = Client().get(url)

    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert f'"/ideas/{with_photo.pk}/photo.jpg"'.encode() in body
    assert with_photo.photo.name.encode() not in body
    assert str(photos.photo_storage().location).encode() not in body


def test_the_csv_export_has_a_photo_url_column(with_photo):
    response = Client().get("/export/ideas.csv")
    body = b"".join(response.streaming_content).decode()

    header, row = body.splitlines()[:2]
    assert "photo_url" in header.split(",")
    assert f"/ideas/{with_photo.pk}/photo.jpg" in row
