"""GET /api/ideas/ pages by key: `next` and `previous` carry a cursor, every pin is read
once whatever is pinned meanwhile, a bad cursor is a 400 naming `cursor`; `count` is exact
where the counts kept on write or a bounded count give it, and flagged as an estimate
otherwise."""

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from mapideas.models import Category, Idea
from mapideas.plumbing import keyset
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db

URL = "/api/ideas/"


@pytest.fixture
def pins(city, category):
    """23 public pins, four of them pinned at the same instant (the id breaks the tie), and one
    awaiting its author's confirmation (never listed)."""
    other = Category.objects.get(slug="lighting-safety")
    made = [
        idea_create(
            kind="idea" if n % 2 else "issue",
            title=f"P{n}",
            category=category if n % 3 else other,
            location=IN_WEST if n % 4 else IN_EAST,
        )
        for n in range(23)
    ]
    start = timezone.now() - timedelta(days=30)
    for n, pin in enumerate(made):
        at = start if 5 <= n <= 8 else start + timedelta(hours=n)
        Idea.objects.filter(pk=pin.pk).update(created_at=at)
    hidden = idea_create(kind="idea", title="Unconfirmed", category=category, location=IN_WEST)
    Idea.objects.filter(pk=hidden.pk).update(awaiting_confirmation=True)
    return made


def newest_first() -> list[int]:
    return list(
        Idea.objects.filter(awaiting_confirmation=False)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )


def get(url=URL, **params):
    response = APIClient().get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(body: dict) -> list[int]:
    return [f["id"] for f in body["features"]]


def test_following_next_reads_every_pin_once_in_order(pins):
    body = get(page_size=5)
    read = ids(body)
    while body["next"]:
        assert "cursor=" in body["next"] and "page_size=5" in body["next"]
        body = get(body["next"])
        read += ids(body)

    assert read == newest_first()
    assert len(read) == 23
    assert body["next"] is None


def test_pins_added_between_pages_neither_repeat_nor_skip_one(pins, category):
    before = newest_first()
    body = get(page_size=4)
    read = ids(body)
    while body["next"]:
        # Newer than every pin read so far: it is before the cursor, not in a later page.
        idea_create(kind="idea", title="Meanwhile", category=category, location=IN_EAST)
        body = get(body["next"])
        read += ids(body)

    assert read == before


def test_following_previous_reads_the_same_pages_backwards(pins):
    pages = [get(page_size=6)]
    while pages[-1]["next"]:
        pages.append(get(pages[-1]["next"]))
    assert [len(ids(p)) for p in pages] == [6, 6, 6, 5]

    back = pages[-1]
    seen = [ids(back)]
    while back["previous"]:
        back = get(back["previous"])
        seen.append(ids(back))

    assert seen == [ids(p) for p in reversed(pages)]
    assert back["previous"] is None


def test_the_filters_stay_in_the_links(pins):
    body = get(page_size=2, kind="idea")
    read = ids(body)
    while body["next"]:
        assert "kind=idea" in body["next"]
        body = get(body["next"])
        read += ids(body)

    assert read == [p for p in newest_first() if Idea.objects.get(pk=p).kind == "idea"]


def test_page_numbers_still_work_near_the_start(pins):
    second = get(page=2, page_size=5)

    assert ids(second) == newest_first()[5:10]
    # Its links read by key from there.
    assert "cursor=" in second["next"] and "page=" not in second["next"]
    assert ids(get(second["next"])) == newest_first()[10:15]
    assert ids(get(second["previous"])) == newest_first()[:5]


def test_a_page_number_past_the_depth_page_numbers_reach_is_a_400_naming_page(pins):
    response = APIClient().get(URL, {"page": 21, "page_size": 500})

    assert response.status_code == 400
    assert list(response.json()) == ["page"]
    assert "next" in response.json()["page"][0]


def test_a_page_number_and_a_cursor_together_is_a_400_naming_both(pins):
    cursor = get(page_size=5)["next"].split("cursor=")[1].split("&")[0]
    response = APIClient().get(URL, {"page": 2, "cursor": cursor})

    assert response.status_code == 400
    assert set(response.json()) == {"page", "cursor"}


def test_a_bad_cursor_with_a_page_number_is_a_400_naming_the_cursor(pins):
    response = APIClient().get(URL, {"page": 1, "cursor": "nan"})

    assert response.status_code == 400
    assert list(response.json()) == ["cursor"]


def _token(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "%%%",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _token([1, 2]),
        _token({"after": ["2024-01-01T00:00:00+00:00"]}),
        _token({"after": ["2024-01-01T00:00:00+00:00", 1], "before": []}),
        _token({"sideways": ["2024-01-01T00:00:00+00:00", 1]}),
        _token({"after": ["2024-01-01T00:00:00", 1]}),
        _token({"after": ["2024-13-01T00:00:00+00:00", 1]}),
        _token({"after": [20240101, 1]}),
        _token({"after": ["2024-01-01T00:00:00+00:00", "1"]}),
        _token({"after": ["2024-01-01T00:00:00+00:00", True]}),
        _token({"after": ["2024-01-01T00:00:00+00:00", 2**70]}),
        _token({"after": ["2024-01-01T00:00:00+00:00", 1.5]}),
        _token({"after": ["2024-01-01T00:00:00\x00+00:00", 1]}),
        "A" * 5000,
    ],
)
def test_a_bad_cursor_is_a_400_naming_cursor(pins, cursor):
    response = APIClient().get(URL, {"cursor": cursor})

    assert response.status_code == 400, response.content
    errors = response.json()
    assert list(errors) == ["cursor"]
    assert errors["cursor"] and all(isinstance(m, str) and m for m in errors["cursor"])


def test_a_cursor_past_every_pin_is_an_empty_last_page(pins):
    oldest = Idea.objects.order_by("created_at", "id").first()
    cursor = keyset.encode((oldest.created_at, oldest.pk))

    body = get(cursor=cursor)

    assert body["features"] == [] and body["next"] is None


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"kind": "idea"},
        {"category": "lighting-safety", "team": "west-team"},
        {"neighborhood": "west-side", "status": "new", "channel": "web"},
    ],
    ids=["all", "kind", "category-and-team", "neighborhood-status-channel"],
)
def test_the_count_is_exact_from_the_kept_counts(pins, params):
    expected = len(get(page_size=1000, **params)["features"])

    with CaptureQueriesContext(connection) as queries:
        body = get(page_size=2, **params)

    assert body["count"] == expected and body["count_is_estimate"] is False
    # The summary's sum, no COUNT over the pins.
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_a_count_the_kept_counts_cannot_give_is_exact_while_few(pins):
    body = get(page_size=2, bbox="4.000,50.000,4.010,50.010")

    assert body["count"] == len(get(page_size=100, bbox="4.000,50.000,4.010,50.010")["features"])
    assert body["count_is_estimate"] is False


def test_a_count_past_the_bound_is_flagged_as_an_estimate(pins, monkeypatch):
    monkeypatch.setattr(keyset, "COUNT_BOUND", 3)

    body = get(page_size=2, bbox="3.9,49.9,4.1,50.1")

    assert body["count_is_estimate"] is True
    # At least the bound and one more: a lower bound on SpatiaLite, the planner's guess on
    # PostgreSQL.
    assert body["count"] >= 4
    assert len(body["features"]) == 2


@override_settings(MAPIDEAS_MAX_PAGE_SIZE=4)
def test_the_page_size_is_capped_on_cursor_pages_too(pins):
    body = get(page_size=100)
    second = get(body["next"])

    assert len(ids(body)) == len(ids(second)) == 4
    assert ids(second) == newest_first()[4:8]
