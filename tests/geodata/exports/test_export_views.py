"""/export/<layer>.geojson: streamed FeatureCollections that match the API, filter like it,
and carry no personal data."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from django.test import Client, override_settings
from rest_framework.test import APIClient

from geodata.exports import layers as exports
from mapideas.models import Category, Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST, ON_ISLAND, ON_SHARED_BORDER

pytestmark = pytest.mark.django_db

IDEAS = "/export/ideas.geojson"
NEIGHBORHOODS = "/export/neighborhoods.geojson"
SECRET_USERNAME = "zq-export-author-8817"
SECRET_EMAIL = "zq.export.8817@mail.example"


@pytest.fixture
def ideas(city, category):
    """Five pins by an author whose name and email must never leave the database."""
    # No password: hashing one would triple this fixture's time.
    author = get_user_model().objects.create(username=SECRET_USERNAME, email=SECRET_EMAIL)
    lighting = Category.objects.get(slug="lighting-safety")
    made = [
        idea_create(kind="idea", title="W", category=category, location=IN_WEST, author=author),
        idea_create(
            kind="issue",
            title='Café "quoted"\n</script> ✓',
            description="Line one\nline \\ two",
            category=lighting,
            location=IN_ENCLAVE,
            author=author,
        ),
        idea_create(kind="issue", title="E", category=category, location=IN_EAST, author=author),
        idea_create(kind="idea", title="B", category=lighting, location=ON_SHARED_BORDER),
        idea_create(kind="idea", title="I", category=category, location=ON_ISLAND, author=author),
    ]
    Idea.objects.filter(pk=made[2].pk).update(status=Idea.Status.IN_PROGRESS)
    return made


def export(url: str, **params):
    response = Client().get(url, params)
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    raw = b"".join(response.streaming_content)
    return response, raw, json.loads(raw)


def api_features(**params) -> list[dict]:
    response = APIClient().get("/api/ideas/", {"page_size": 1000, **params})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next"] is None
    return body["features"]


def test_it_streams_the_ideas_as_a_geojson_download(ideas):
    response, _, body = export(IDEAS)

    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Disposition"].startswith('attachment; filename="mapideas-ideas-')
    assert response["Content-Disposition"].endswith('.geojson"')
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 5
    assert all(f["type"] == "Feature" for f in body["features"])
    assert [f["properties"]["title"] for f in body["features"]][0] == "I"  # newest first


def test_it_writes_the_same_features_as_the_api(ideas):
    _, _, body = export(IDEAS)

    exported = {f["id"]: f for f in body["features"]}
    served = {f["id"]: f for f in api_features()}
    assert exported.keys() == served.keys() == {i.pk for i in ideas}
    for pk, feature in served.items():
        assert exported[pk]["properties"] == feature["properties"]
        assert exported[pk]["geometry"] == feature["geometry"]


@override_settings(TIME_ZONE="Europe/Brussels")
def test_it_writes_the_same_times_as_the_api_in_a_city_not_on_utc(ideas):
    _, _, body = export(IDEAS)

    exported = {f["id"]: f["properties"]["created_at"] for f in body["features"]}
    served = {f["id"]: f["properties"]["created_at"] for f in api_features()}
    assert exported == served


def test_it_keeps_the_properties_order_of_the_api(ideas):
    _, _, body = export(IDEAS)

    assert list(body["features"][0]["properties"]) == list(api_features()[0]["properties"])


@pytest.mark.parametrize(
    "params",
    [
        {"team": "west-team"},
        {"neighborhood": "east-side"},
        {"category": "lighting-safety"},
        {"status": "in_progress"},
        {"kind": "issue"},
        {"bbox": "4.000,50.000,4.010,50.010"},
        {"bbox": "4.000,50.000,4.010,50.010", "kind": "idea"},
        {"team": "harbor-team", "status": "new"},
    ],
)
def test_it_filters_exactly_like_the_api(ideas, params):
    _, _, body = export(IDEAS, **params)

    exported = [f["id"] for f in body["features"]]
    assert exported == [f["id"] for f in api_features(**params)]
    assert exported  # each filter above matches something


def test_it_exports_every_idea_however_small_the_api_page(ideas, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    with override_settings(MAPIDEAS_MAX_PAGE_SIZE=2):
        _, _, body = export(IDEAS)

    assert len(body["features"]) == 5


def test_it_exports_an_empty_collection(city):
    _, _, body = export(IDEAS)

    assert body == {"type": "FeatureCollection", "features": []}


def test_it_leaks_no_personal_data(ideas):
    author = Idea.objects.exclude(author=None).first().author
    for url in (IDEAS, NEIGHBORHOODS):
        _, raw, _ = export(url)
        assert SECRET_USERNAME.encode() not in raw
        assert SECRET_EMAIL.encode() not in raw
        assert b"author" not in raw
        assert f'"user": {author.pk}'.encode() not in raw
    api = APIClient().get("/api/ideas/").content
    assert SECRET_USERNAME.encode() not in api and SECRET_EMAIL.encode() not in api


def test_it_streams_the_neighborhoods_as_the_api_lists_them(ideas):
    response, _, body = export(NEIGHBORHOODS)

    assert response["Content-Disposition"].startswith(
        'attachment; filename="mapideas-neighborhoods-'
    )
    served = APIClient().get("/api/neighborhoods/").json()["features"]
    assert [f["properties"] for f in body["features"]] == [f["properties"] for f in served]
    assert [f["geometry"] for f in body["features"]] == [f["geometry"] for f in served]
    counts = {f["properties"]["slug"]: f["properties"]["idea_count"] for f in body["features"]}
    assert counts == {"west-side": 1, "enclave": 1, "east-side": 2, "harbor": 1}


@pytest.mark.parametrize("layer", ["users", "Ideas", "ideas.json", "authors", "idea"])
def test_it_answers_404_for_an_unknown_layer(city, layer):
    response = Client().get(f"/export/{layer}.geojson")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bbox", "4.0,50.0,4.1"),
        ("bbox", "4.1,50.0,4.0,50.1"),
        ("bbox", "4.0,50.0,4.1,91"),
        ("bbox", "nan,50,4.1,50.1"),
        ("team", "no-such-team"),
        ("neighborhood", "atlantis"),
        ("category", "no-category"),
        ("status", "finished"),
        ("kind", "complaint"),
    ],
)
def test_it_refuses_a_bad_filter_with_json_naming_it(city, field, value):
    response = Client().get(IDEAS, {field: value})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    errors = json.loads(response.content)
    assert list(errors) == [field]
    assert errors[field] and all(isinstance(m, str) and m for m in errors[field])
