"""GET /api/ideas/: a paginated FeatureCollection, filtered by place, team, category, status,
kind and map viewport; a bad filter is a 400 naming it."""

import json

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.utils.encoders import JSONEncoder

from mapideas.models import Category, Idea
from mapideas.pins import selectors
from mapideas.pins.serializers import IdeaFeatureSerializer
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST, ON_ISLAND

pytestmark = pytest.mark.django_db

URL = "/api/ideas/"


@pytest.fixture
def ideas(city, category):
    """Four pins: two in the West Team's area (one in the Enclave), one East, one on the island."""
    other = Category.objects.get(slug="lighting-safety")
    made = {
        "west_idea": idea_create(kind="idea", title="W", category=category, location=IN_WEST),
        "enclave_issue": idea_create(kind="issue", title="En", category=other, location=IN_ENCLAVE),
        "east_issue": idea_create(kind="issue", title="E", category=category, location=IN_EAST),
        "island_idea": idea_create(kind="idea", title="I", category=other, location=ON_ISLAND),
    }
    Idea.objects.filter(pk=made["east_issue"].pk).update(status=Idea.Status.DONE)
    return made


def get(**params):
    return APIClient().get(URL, params)


def titles(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {f["properties"]["title"] for f in response.json()["features"]}


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago"])
def test_it_gives_the_features_the_serializer_makes(ideas, settings, zone):
    """The list reads plain rows and builds each Feature with the public pin's compiled
    builder (mapideas.pins.fields.PinRows), for speed: field for field what
    IdeaFeatureSerializer makes of the same pins, dates in the site's time zone, a photo's
    URL and an answer included."""
    settings.TIME_ZONE = zone
    Idea.objects.filter(pk=ideas["west_idea"].pk).update(
        answer="Fixed <soon>", answer_at=timezone.now(), support_count=2, event_name="Fair"
    )
    want = IdeaFeatureSerializer(selectors.public_ideas(), many=True).data["features"]

    listed = get().json()["features"]

    assert listed == json.loads(json.dumps(want, cls=JSONEncoder))


def test_it_lists_every_idea_as_a_feature_collection_newest_first(ideas):
    response = get()

    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["count"] == 4
    assert body["next"] is None and body["previous"] is None
    assert [f["properties"]["title"] for f in body["features"]] == ["I", "E", "En", "W"]
    assert all(f["type"] == "Feature" for f in body["features"])


def test_it_lists_an_empty_collection_when_there_are_no_ideas(city):
    body = get().json()

    assert body["type"] == "FeatureCollection"
    assert body["count"] == 0
    assert body["features"] == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"neighborhood": "west-side"}, {"W"}),
        ({"neighborhood": "enclave"}, {"En"}),
        ({"neighborhood": "harbor"}, {"I"}),
        ({"team": "west-team"}, {"W", "En"}),
        ({"team": "east-team"}, {"E"}),
        ({"category": "lighting-safety"}, {"En", "I"}),
        ({"category": "streets-sidewalks"}, set()),
        ({"status": "done"}, {"E"}),
        ({"status": "new"}, {"W", "En", "I"}),
        ({"kind": "issue"}, {"En", "E"}),
        ({"kind": "idea"}, {"W", "I"}),
        ({"team": "west-team", "kind": "issue"}, {"En"}),
        ({"team": "west-team", "category": "parks-green-space", "status": "new"}, {"W"}),
        ({"team": "east-team", "status": "new"}, set()),
        ({"team": ""}, {"W", "En", "E", "I"}),
    ],
)
def test_it_filters(ideas, params, expected):
    response = get(**params)

    assert titles(response) == expected
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("bbox", "expected"),
    [
        ("4.000,50.000,4.010,50.010", {"W", "En"}),
        ("4.0025,50.0025,4.0035,50.0035", {"En"}),
        ("4.050,50.000,4.060,50.010", {"I"}),
        ("-180,-90,180,90", {"W", "En", "E", "I"}),
        ("4.031,50.000,4.049,50.010", set()),
        (" 4.014 , 50.004 , 4.016 , 50.006 ", {"E"}),
        ("4.015,50.005,4.015,50.005", {"E"}),
        ("4.014,50.005,4.016,50.005", {"E"}),
        ("4.015,50.004,4.015,50.006", {"E"}),
        ("4.016,50.005,4.016,50.005", set()),
        ("", {"W", "En", "E", "I"}),
    ],
    ids=[
        "west",
        "enclave-only",
        "island",
        "world",
        "gap",
        "spaces",
        "on-the-pin",
        "flat-through-the-pin",
        "thin-through-the-pin",
        "point-beside-the-pin",
        "empty",
    ],
)
def test_it_filters_by_bbox(ideas, bbox, expected):
    assert titles(get(bbox=bbox)) == expected


def test_it_combines_bbox_with_other_filters(ideas):
    assert titles(get(bbox="4.000,50.000,4.020,50.010", kind="issue", status="new")) == {"En"}


@pytest.mark.parametrize(
    "bbox",
    [
        "4.0,50.0,4.1",
        "4.0,50.0,4.1,50.1,5",
        "a,b,c,d",
        "4.0,50.0,4.1,north",
        "4.1,50.0,4.0,50.1",
        "4.0,50.1,4.1,50.0",
        "nan,50.0,4.1,50.1",
        "4.0,50.0,inf,50.1",
        "4.0,50.0,4.1,91",
        "4.0,-91,4.1,50",
        "-181,50.0,4.1,50.1",
        "4.0,50.0,181,50.1",
        "4.0;50.0;4.1;50.1",
        ",,,",
    ],
)
def test_it_refuses_a_bad_bbox_naming_it(ideas, bbox):
    response = get(bbox=bbox)

    assert response.status_code == 400, response.content
    errors = response.json()
    assert list(errors) == ["bbox"]
    assert errors["bbox"] and all(isinstance(m, str) and m for m in errors["bbox"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("neighborhood", "atlantis"),
        ("team", "no-team"),
        ("category", "no-category"),
        ("status", "finished"),
        ("kind", "complaint"),
    ],
)
def test_it_refuses_an_unknown_filter_value_naming_the_field(ideas, field, value):
    response = get(**{field: value})

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_it_pages_with_count_next_and_previous(ideas):
    first = get(page_size=3).json()

    assert first["count"] == 4
    assert [f["properties"]["title"] for f in first["features"]] == ["I", "E", "En"]
    assert first["count_is_estimate"] is False
    assert first["previous"] is None
    assert "cursor=" in first["next"] and "page_size=3" in first["next"]

    second = APIClient().get(first["next"]).json()
    assert second["count"] == 4
    assert [f["properties"]["title"] for f in second["features"]] == ["W"]
    assert second["next"] is None
    assert second["previous"] is not None


def test_it_keeps_filters_in_the_next_link(ideas):
    first = get(page_size=1, team="west-team").json()

    assert first["count"] == 2
    assert "team=west-team" in first["next"]
    second = APIClient().get(first["next"]).json()
    assert titles_of(first) | titles_of(second) == {"W", "En"}


def titles_of(body: dict) -> set[str]:
    return {f["properties"]["title"] for f in body["features"]}


def test_it_answers_404_for_a_page_past_the_end_naming_page(ideas):
    response = get(page=3, page_size=2)

    assert response.status_code == 404
    assert list(response.json()) == ["page"]


@pytest.mark.parametrize("page_number", ["nan", "0", "-1", "2015-01-01", "9" * 30, "1.5"])
def test_a_page_that_is_no_page_number_is_a_400_naming_page(ideas, page_number):
    response = get(page=page_number)

    assert response.status_code == 400
    assert list(response.json()) == ["page"]


def test_the_last_page_by_name_is_a_400_naming_page(ideas):
    # It needs every match counted: the last page is reached by following `next`.
    response = get(page="last")

    assert response.status_code == 400
    assert list(response.json()) == ["page"]


@override_settings(MAPIDEAS_MAX_PAGE_SIZE=2)
def test_it_caps_the_requested_page_size_at_the_setting(ideas):
    body = get(page_size=1000).json()

    assert len(body["features"]) == 2
    assert body["count"] == 4
    assert body["next"] is not None


@override_settings(MAPIDEAS_MAX_PAGE_SIZE=2)
def test_it_caps_the_default_page_size_at_the_setting(ideas):
    body = get().json()

    assert len(body["features"]) == 2
    assert body["count"] == 4
    assert body["next"] is not None


def test_it_reads_ideas_in_a_constant_number_of_queries(ideas, django_assert_max_num_queries):
    # The page, its count, and the names of the page's categories and of its teams (one
    # query each, in the answer's language), whatever the page's size.
    with django_assert_max_num_queries(4):
        body = get().json()

    assert {f["properties"]["team"] for f in body["features"]} == {
        "West Team",
        "East Team",
        "Harbor Team",
    }


def test_it_filters_by_channel_and_by_days_pinned_both_included(city, category):
    from datetime import datetime

    from django.utils import timezone

    from mapideas.submission.services import idea_create

    def pin(title, day, channel):
        idea_create(
            kind="idea",
            title=title,
            category=category,
            location=IN_EAST,
            channel=channel,
            created_at=timezone.make_aware(datetime(2026, 3, day, 23, 30)),
        )

    pin("March 1", 1, "web")
    pin("March 2", 2, "paper")
    pin("March 3", 3, "web")

    def titles(query):
        response = APIClient().get(f"/api/ideas/?{query}")
        assert response.status_code == 200
        return sorted(f["properties"]["title"] for f in response.json()["features"])

    assert titles("created_after=2026-03-02&created_before=2026-03-03") == ["March 2", "March 3"]
    assert titles("channel=paper") == ["March 2"]
    assert titles("channel=web&created_before=2026-03-01") == ["March 1"]
    bad = APIClient().get("/api/ideas/?created_after=yesterday&channel=pigeon")
    assert bad.status_code == 400
    assert set(bad.json()) == {"created_after", "channel"}
