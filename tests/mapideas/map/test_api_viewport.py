"""GET /api/ideas/viewport/: a FeatureCollection of pins (as /api/ideas/ gives them) or of
clusters with exact counts, for a required bbox and zoom and the filters of /api/ideas/."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from mapideas.map import viewport as viewport_module
from mapideas.models import Category, Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST, ON_ISLAND
from tests.spatial_index import assert_read_through_rtree, bbox_param, edge_pins

pytestmark = pytest.mark.django_db

URL = "/api/ideas/viewport/"
CITY = "3.99,49.99,4.07,50.02"
PERSONAL = {"author", "author_id", "contact_email", "contact_name", "contact_phone", "email"}


@pytest.fixture
def ideas(city, category):
    """Nine pins: six ideas West, two issues East (another category), one idea on the island."""
    other = Category.objects.get(slug="lighting-safety")
    made = [
        idea_create(
            kind="idea",
            title=f"W{i}",
            category=category,
            location=Point(IN_WEST.x + i * 0.0005, IN_WEST.y, srid=4326),
            contact_email=f"w{i}@example.org",
            contact_name="Private Person",
        )
        for i in range(6)
    ]
    made += [
        idea_create(kind="issue", title=f"E{i}", category=other, location=IN_EAST) for i in range(2)
    ]
    made.append(idea_create(kind="idea", title="I", category=category, location=ON_ISLAND))
    return made


@pytest.fixture
def clusters(monkeypatch):
    """Three pins are "few": more make clusters."""
    monkeypatch.setattr(viewport_module, "PIN_THRESHOLD", 3)


def get(**params):
    return APIClient().get(URL, params)


def walk_keys(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from walk_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from walk_keys(inner)


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago", "Asia/Kolkata"])
def test_it_gives_the_pins_as_api_ideas_does(ideas, settings, zone):
    # Built by hand for speed (viewport_api.pin_feature): field for field the same, dates in
    # the site's time zone included.
    settings.TIME_ZONE = zone
    Idea.objects.filter(title="W3").update(
        answer="Fixed <soon>", answer_at=timezone.now(), support_count=2, event_name="Fair"
    )
    response = get(bbox=CITY, zoom=13)

    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["mode"] == "pins"
    assert body["total"] == 9 and body["truncated"] is False
    listed = APIClient().get("/api/ideas/", {"bbox": CITY}).json()["features"]
    assert body["features"] == listed


def test_it_gives_clusters_with_exact_counts(ideas, clusters):
    body = get(bbox=CITY, zoom=13).json()

    assert body["mode"] == "clusters"
    assert body["total"] == 9
    assert body["truncated"] is False
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        assert feature["properties"]["cluster"] is True
        assert feature["properties"]["cell"] == feature["id"]
    counts = sorted(f["properties"]["count"] for f in body["features"])
    # West's six pins lie within ~200 m, East's two on one spot, the island's alone.
    assert sum(counts) == 9
    assert counts[-1] >= 2


def test_the_filters_of_api_ideas_apply_to_the_counts(ideas, clusters):
    body = get(bbox=CITY, zoom=12, kind="idea", team="west-team").json()

    assert body["mode"] == "clusters"
    assert body["total"] == 6
    assert sum(f["properties"]["count"] for f in body["features"]) == 6


def test_the_bbox_limits_the_count(ideas, clusters):
    west_only = "3.99,49.99,4.0095,50.02"

    body = get(bbox=west_only, zoom=13).json()

    assert body["total"] == 6
    assert sum(f["properties"]["count"] for f in body["features"]) == 6


def test_pins_awaiting_confirmation_are_neither_shown_nor_counted(ideas, clusters):
    Idea.objects.filter(title__in=["W0", "W1"]).update(awaiting_confirmation=True)

    clustered = get(bbox=CITY, zoom=13).json()
    pinned = get(bbox=CITY, zoom=16).json()

    assert clustered["total"] == 7
    assert pinned["total"] == 7
    assert {f["properties"]["title"] for f in pinned["features"]} & {"W0", "W1"} == set()


def test_no_answer_carries_personal_fields(ideas, clusters):
    for zoom in (13, 17):
        body = get(bbox=CITY, zoom=zoom).json()
        assert body["features"]
        assert not set(walk_keys(body)) & PERSONAL
        assert b"example.org" not in get(bbox=CITY, zoom=zoom).content
        assert b"Private Person" not in get(bbox=CITY, zoom=zoom).content


def test_zoom_16_gives_pins_cut_at_the_cap_and_says_so(ideas, monkeypatch):
    monkeypatch.setattr(viewport_module, "MAX_FEATURES", 4)

    body = get(bbox=CITY, zoom=16).json()

    assert body["mode"] == "pins"
    assert body["truncated"] is True
    assert body["total"] == 9
    assert [f["properties"]["title"] for f in body["features"]] == ["I", "E1", "E0", "W5"]


def test_no_answer_carries_more_features_than_the_cap(ideas, monkeypatch):
    monkeypatch.setattr(viewport_module, "MAX_FEATURES", 2)
    monkeypatch.setattr(viewport_module, "PIN_THRESHOLD", 1)

    for zoom in range(0, 23):
        body = get(bbox=CITY, zoom=zoom).json()
        assert len(body["features"]) <= 2, zoom
        assert body["total"] == 9


@override_settings(VIEWPORT_CACHE_SECONDS=60)
def test_clusters_counted_on_write_are_never_stale(ideas, clusters, category):
    # Cached answers are invalidated when a pin changes. Counts kept on write are
    # exact at every commit, so they are not cached at all.
    assert get(bbox=CITY, zoom=13).json()["total"] == 9
    idea_create(kind="idea", title="new", category=category, location=IN_EAST)

    assert get(bbox=CITY, zoom=13).json()["total"] == 10
    assert get(bbox=CITY, zoom=13, kind="idea").json()["total"] == 8


@override_settings(VIEWPORT_CACHE_SECONDS=60)
def test_clusters_counted_from_the_pins_are_cached_briefly(ideas, clusters, category):
    # A date range is not in the counts kept on write: those answers count the pins and are
    # cached for VIEWPORT_CACHE_SECONDS, the staleness accepted.
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    before = get(bbox=CITY, zoom=13, created_after=since).json()
    idea_create(kind="idea", title="new", category=category, location=IN_EAST)

    assert get(bbox=CITY, zoom=13, created_after=since).json() == before
    # Another query is another key.
    assert get(bbox=CITY, zoom=13, created_after=since, kind="idea").json()["total"] == 8


@override_settings(VIEWPORT_CACHE_SECONDS=0)
def test_no_cache_when_the_setting_is_0(ideas, clusters, category):
    get(bbox=CITY, zoom=13)
    idea_create(kind="idea", title="new", category=category, location=IN_EAST)

    assert get(bbox=CITY, zoom=13).json()["total"] == 10


@override_settings(VIEWPORT_CACHE_SECONDS=60)
def test_pins_are_never_cached(ideas, category):
    get(bbox=CITY, zoom=16)
    idea_create(kind="idea", title="new", category=category, location=IN_EAST)

    assert get(bbox=CITY, zoom=16).json()["total"] == 10


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"zoom": 10}, "bbox"),
        ({"bbox": CITY}, "zoom"),
        ({"bbox": "", "zoom": 10}, "bbox"),
        ({"bbox": "1,2,3", "zoom": 10}, "bbox"),
        ({"bbox": "4.1,50,4.0,50.1", "zoom": 10}, "bbox"),
        ({"bbox": "4,50.1,4.1,50", "zoom": 10}, "bbox"),
        ({"bbox": "nan,50,4.1,50.1", "zoom": 10}, "bbox"),
        ({"bbox": "4,50,inf,50.1", "zoom": 10}, "bbox"),
        ({"bbox": "-181,50,4.1,50.1", "zoom": 10}, "bbox"),
        ({"bbox": "4,-91,4.1,50.1", "zoom": 10}, "bbox"),
        ({"bbox": CITY, "zoom": -1}, "zoom"),
        ({"bbox": CITY, "zoom": 23}, "zoom"),
        ({"bbox": CITY, "zoom": "ten"}, "zoom"),
        ({"bbox": CITY, "zoom": "10.5"}, "zoom"),
        ({"bbox": CITY, "zoom": 10, "category": "no-such"}, "category"),
        ({"bbox": CITY, "zoom": 10, "status": "lost"}, "status"),
        ({"bbox": CITY, "zoom": 10, "created_after": "yesterday"}, "created_after"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(city, params, field):
    response = get(**params)

    assert response.status_code == 400
    assert field in response.json()


def test_an_empty_view_is_an_empty_collection(city):
    body = get(bbox="10,10,11,11", zoom=10).json()

    assert body == {
        "type": "FeatureCollection",
        "mode": "pins",
        "total": 0,
        "truncated": False,
        "level": "",
        "features": [],
    }


def test_it_is_not_taken_for_a_pin_id(ideas):
    # The route comes before any api/ideas/<...> pattern.
    from django.urls import resolve

    assert resolve(URL).url_name == "api-ideas-viewport"


@pytest.mark.parametrize("zoom", [10, 13, 16])
def test_the_spatial_index_finds_the_pins_on_the_edges_and_no_pin_outside(
    city, category, clusters, zoom
):
    # The counts kept on write, and the pins of the cells the edges cut read from the R*Tree
    # box by box on SpatiaLite: the same answer as the exact test.
    pins = edge_pins(category)

    with CaptureQueriesContext(connection) as queries:
        body = get(bbox=bbox_param(), zoom=zoom).json()

    assert body["total"] == len(pins.inside)
    if body["mode"] == "pins":
        assert {f["id"] for f in body["features"]} == {p.pk for p in pins.inside}
    else:
        assert sum(f["properties"]["count"] for f in body["features"]) == len(pins.inside)
    if connection.vendor == "sqlite" and body.get("level") == "h3-9":
        # The cut cells' boxes, each asked of the R*Tree.
        assert any("UNION ALL" in q["sql"] for q in queries.captured_queries)
    assert_read_through_rtree(queries.captured_queries, "mapideas_idea", "location")


def test_many_cut_cells_are_asked_of_the_spatial_index_in_several_unions(
    city, category, clusters, monkeypatch
):
    # SQLite unites at most 500 SELECTs in one compound: the boxes go in chunks.
    monkeypatch.setattr(viewport_module, "SPATIALITE_BOXES", 2)
    pins = edge_pins(category)

    body = get(bbox=bbox_param(), zoom=13).json()

    assert body["level"] == "h3-9"
    assert body["total"] == len(pins.inside)
