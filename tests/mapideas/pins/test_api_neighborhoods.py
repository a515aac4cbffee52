"""GET /api/neighborhoods/: every neighborhood as a Feature with its team and idea count."""

import pytest
from rest_framework.test import APIClient

from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST, ON_ISLAND, ON_SHARED_BORDER

pytestmark = pytest.mark.django_db

URL = "/api/neighborhoods/"


def by_slug(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {f["properties"]["slug"]: f for f in response.json()["features"]}


def test_it_lists_every_neighborhood_with_its_team_and_population(city):
    response = APIClient().get(URL)

    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert "count" not in body  # one small layer, not paginated
    assert [f["properties"] for f in body["features"]] == [
        {
            "name": "East Side",
            "slug": "east-side",
            "team": "East Team",
            "team_slug": "east-team",
            "population": 9000,
            "idea_count": 0,
        },
        {
            "name": "Enclave",
            "slug": "enclave",
            "team": "West Team",
            "team_slug": "west-team",
            "population": 800,
            "idea_count": 0,
        },
        {
            "name": "Harbor",
            "slug": "harbor",
            "team": "Harbor Team",
            "team_slug": "harbor-team",
            "population": None,
            "idea_count": 0,
        },
        {
            "name": "West Side",
            "slug": "west-side",
            "team": "West Team",
            "team_slug": "west-team",
            "population": 12000,
            "idea_count": 0,
        },
    ]


def test_it_counts_the_ideas_routed_to_each_neighborhood(city, category):
    for point in (IN_WEST, IN_WEST, IN_ENCLAVE, IN_EAST, ON_SHARED_BORDER, ON_ISLAND):
        idea_create(kind="idea", title="t", category=category, location=point)

    features = by_slug(APIClient().get(URL))

    counts = {slug: f["properties"]["idea_count"] for slug, f in features.items()}
    assert counts == {"west-side": 2, "enclave": 1, "east-side": 2, "harbor": 1}


def test_it_writes_geometry_as_geojson_multipolygons_with_holes_and_islands(city):
    features = by_slug(APIClient().get(URL))

    west = features["west-side"]["geometry"]
    assert west["type"] == "MultiPolygon"
    assert len(west["coordinates"]) == 1
    assert len(west["coordinates"][0]) == 3  # exterior + enclave hole + empty hole
    harbor = features["harbor"]["geometry"]
    assert len(harbor["coordinates"]) == 2  # mainland + island
    # RFC 7946: lon,lat, no crs member.
    assert [4.05, 50.0] in [list(p) for p in harbor["coordinates"][1][0]]
    assert all("crs" not in f["geometry"] for f in features.values())


def test_it_lets_shared_caches_keep_the_layer_a_minute(city):
    response = APIClient().get(URL)

    assert response["Cache-Control"] == "public, max-age=60"


def test_it_lists_an_empty_collection_before_any_import(db):
    body = APIClient().get(URL).json()

    assert body == {"type": "FeatureCollection", "features": []}
