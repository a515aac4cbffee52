"""OGC API – Features items page by key: the `next` and `prev` links carry a cursor (an
offset a client sends still works), and numberMatched is given only when it is exact (it is
optional in Part 1)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from mapideas.models import Idea
from mapideas.plumbing import keyset
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST
from tests.geodata.ogc.test_ogc_api import assert_ogc_error, rel

pytestmark = pytest.mark.django_db

URL = "/ogc/collections/ideas/items"
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def pins(city, category):
    made = []
    for n in range(17):
        pin = idea_create(
            kind="idea" if n % 2 else "issue",
            title=f"pin {n}",
            category=category,
            location=IN_EAST if n % 3 else IN_WEST,
        )
        # Some share a time stamp: the id breaks the tie.
        Idea.objects.filter(pk=pin.pk).update(created_at=T0 + timedelta(hours=n // 3))
        made.append(pin)
    return made


def newest_first() -> list[int]:
    return list(Idea.objects.order_by("-created_at", "-id").values_list("pk", flat=True))


def follow(url: str, name: str = "next") -> list[dict]:
    pages = []
    while url:
        response = APIClient().get(url)
        assert response.status_code == 200, response.content
        pages.append(response.json())
        following = rel(pages[-1], name, "application/geo+json")
        url = following[0]["href"] if following else None
    return pages


def ids(body: dict) -> list[int]:
    return [f["id"] for f in body["features"]]


def test_next_links_read_by_key_every_feature_once_in_order(pins, category):
    before = newest_first()
    pages = []
    url = f"{URL}?limit=4"
    while url:
        pages.append(APIClient().get(url).json())
        # Pinned meanwhile: newer than the cursor, so in no later page.
        idea_create(kind="idea", title="meanwhile", category=category, location=IN_EAST)
        following = rel(pages[-1], "next", "application/geo+json")
        assert all("cursor" in parse_qs(urlsplit(f["href"]).query) for f in following)
        url = following[0]["href"] if following else None

    assert [p for page in pages for p in ids(page)] == before
    assert [len(ids(page)) for page in pages] == [4, 4, 4, 4, 1]


def test_prev_links_read_the_same_pages_backwards(pins):
    pages = follow(f"{URL}?limit=5")
    last = rel(pages[-1], "self", "application/geo+json")[0]["href"]

    backwards = follow(last, "prev")

    assert [ids(p) for p in backwards] == [ids(p) for p in reversed(pages)]
    assert rel(pages[0], "prev") == []


def test_an_offset_is_still_honoured_and_its_links_read_by_key(pins):
    body = APIClient().get(URL, {"limit": 5, "offset": 10}).json()

    assert ids(body) == newest_first()[10:15]
    assert (
        ids(follow(rel(body, "next", "application/geo+json")[0]["href"])[0])
        == (newest_first()[15:])
    )
    assert (
        ids(follow(rel(body, "prev", "application/geo+json")[0]["href"], "none")[0])
        == (newest_first()[5:10])
    )


def test_numbermatched_is_exact_from_the_kept_counts_or_a_small_count(pins):
    assert APIClient().get(URL).json()["numberMatched"] == 17
    assert APIClient().get(URL, {"kind": "idea"}).json()["numberMatched"] == 8
    # A bbox the kept counts cannot answer: counted, being few.
    west = APIClient().get(URL, {"bbox": "3.998,50.0,4.010,50.010", "limit": 2}).json()
    assert west["numberMatched"] == 6


def test_numbermatched_is_left_out_when_it_would_be_an_estimate(pins, monkeypatch):
    monkeypatch.setattr(keyset, "COUNT_BOUND", 3)

    body = APIClient().get(URL, {"bbox": "3.9,49.9,4.1,50.1", "limit": 2}).json()

    assert "numberMatched" not in body
    assert body["numberReturned"] == 2 and rel(body, "next")
    page = APIClient().get(URL, {"bbox": "3.9,49.9,4.1,50.1", "f": "html"}).content.decode()
    assert "10 features on this page" in page


@pytest.mark.parametrize("cursor", ["x", "A" * 3000, keyset.encode(("not a time", 1))])
def test_a_bad_cursor_is_a_400_naming_it(pins, cursor):
    assert_ogc_error(APIClient().get(URL, {"cursor": cursor}), 400, "cursor")


def test_a_cursor_of_another_collection_is_a_400_naming_it(pins):
    cursor = keyset.encode(("Harbor", 1))

    assert_ogc_error(APIClient().get(URL, {"cursor": cursor}), 400, "cursor")


def test_a_cursor_and_an_offset_together_are_a_400_naming_cursor(pins):
    cursor = keyset.encode((T0, 1))

    assert_ogc_error(APIClient().get(URL, {"cursor": cursor, "offset": 3}), 400, "cursor")


def test_a_computed_collection_pages_by_offset_and_refuses_a_cursor(pins):
    url = "/ogc/collections/engagement-neighborhoods/items"
    body = APIClient().get(url, {"limit": 1}).json()

    assert "offset" in parse_qs(urlsplit(rel(body, "next")[0]["href"]).query)
    assert_ogc_error(APIClient().get(url, {"cursor": keyset.encode((T0, 1))}), 400, "cursor")


def test_the_neighborhoods_page_by_key_too(city):
    pages = follow("/ogc/collections/neighborhoods/items?limit=1")

    slugs = [p["features"][0]["id"] for p in pages]
    assert len(slugs) == len(set(slugs)) == pages[0]["numberMatched"]
