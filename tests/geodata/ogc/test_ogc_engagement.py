"""/ogc/: the engagement layers (geodata.engagement) as OGC API – Features collections, on the
city with a planted gap (tests/geodata/engagement/engagement_city.py). Their figures must be those
of
/api/engagement/... for the same parameters; GDAL reads them in test_ogc_api.py."""

import json

import h3
import pytest
import shapely
from django.test import Client
from rest_framework.test import APIClient

from geodata.engagement import layers as engagement
from geodata.ogc import computed as ogc_computed
from tests.geodata.engagement import engagement_city as grid

pytestmark = pytest.mark.django_db

ENGAGEMENT_COLLECTIONS = (
    "engagement-neighborhoods",
    "engagement-hexagons",
    "engagement-hexagons-7",
    "engagement-hexagons-9",
    "coldspots",
    "representativeness",
    "service-neighborhoods",
    "service-teams",
    "service-hexagons",
    "slowspots",
    "slowspots-hexagons",
)


@pytest.fixture
def planted(category):
    version = grid.grid_version()
    pins = grid.planted_pins()
    grid.insert_pins(pins, category, version)
    return pins


def get(path: str, **params):
    return APIClient().get(path, params)


def items(collection: str, **params) -> dict:
    response = get(f"/ogc/collections/{collection}/items", **params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/geo+json"
    return response.json()


def api(path: str, **params) -> dict:
    response = Client().get(f"/api/engagement/{path}/", params)
    assert response.status_code == 200, response.content
    return response.json()


def by_id(features: list[dict]) -> dict[str, dict]:
    return {f["id"]: {"geometry": f["geometry"], "properties": f["properties"]} for f in features}


def next_link(body: dict) -> str | None:
    following = [link for link in body["links"] if link["rel"] == "next"]
    assert len(following) <= 1
    return following[0]["href"] if following else None


def assert_ogc_error(response, parameter: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "description"}
    assert body["code"] == "InvalidParameterValue"
    assert parameter in body["description"]


def test_the_engagement_layers_are_listed_with_their_extents(planted):
    body = get("/ogc/collections").json()

    collections = {c["id"]: c for c in body["collections"]}
    assert list(collections) == ["ideas", "neighborhoods", *ENGAGEMENT_COLLECTIONS]
    # The grid: 8 squares of 0.01° from (4.00, 50.00).
    for name in ("engagement-neighborhoods", "coldspots"):
        assert collections[name]["extent"]["spatial"]["bbox"][0] == pytest.approx(
            [4.0, 50.0, 4.08, 50.08]
        )
        assert "temporal" not in collections[name]["extent"]
    # Hexagons: every cell overlapping the grid, so a little beyond it: the layer's bounds.
    cells = shapely.from_geojson([json.dumps(f["geometry"]) for f in api("hexagons")["features"]])
    hexagons = collections["engagement-hexagons"]["extent"]["spatial"]["bbox"][0]
    assert hexagons == pytest.approx(list(shapely.total_bounds(cells)))
    assert hexagons[0] < 4.0 and hexagons[3] > 50.08


@pytest.mark.parametrize(
    ("collection", "path", "params"),
    [
        ("engagement-neighborhoods", "neighborhoods", {}),
        ("engagement-neighborhoods", "neighborhoods", {"kind": "idea", "thin_below": "0.8"}),
        ("engagement-hexagons", "hexagons", {}),
        ("engagement-hexagons", "hexagons", {"resolution": "9", "channel": "web"}),
        ("engagement-hexagons-7", "hexagons", {"resolution": "7"}),
        ("engagement-hexagons-9", "hexagons", {"resolution": "9"}),
        ("coldspots", "coldspots", {}),
        ("coldspots", "coldspots", {"weights": "distance", "alpha": "0.1", "status": "new"}),
    ],
)
def test_items_carry_the_figures_of_the_engagement_api(planted, collection, path, params):
    # A fixed collection's resolution is not a parameter of it.
    ogc_params = {
        k: v for k, v in params.items() if not collection[-1].isdigit() or k != "resolution"
    }
    body = items(collection, limit=1000, **ogc_params)
    expected = api(path, **params)

    assert body["numberMatched"] == body["numberReturned"] == len(expected["features"])
    assert by_id(body["features"]) == by_id(expected["features"])
    # The layer's own figures (city rate, basis, message...) as a foreign member.
    assert body["engagement"] == {
        k: v for k, v in expected.items() if k not in ("type", "features")
    }
    properties = body["features"][0]["properties"]
    for name in ("count", "population", "per_1000", "ratio", "thin"):
        assert name in properties
    if collection == "coldspots":
        assert {"z_score", "p_value", "significance"} <= set(properties)


def test_the_planted_gap_is_thin_and_cold(planted):
    gap = {grid.cell_slug(r, c) for r, c in grid.GAP}

    neighborhoods = by_id(items("engagement-neighborhoods", limit=100)["features"])
    assert {slug for slug, f in neighborhoods.items() if f["properties"]["thin"]} == gap
    assert all(neighborhoods[slug]["properties"]["count"] == 0 for slug in gap)
    spots = by_id(items("coldspots", limit=100)["features"])
    assert {spots[slug]["properties"]["significance"] for slug in gap} == {"cold"}
    assert all(spots[slug]["properties"]["z_score"] < 0 for slug in gap)


def test_next_links_followed_to_the_end_visit_every_feature_exactly_once(planted):
    expected = [f["id"] for f in api("hexagons", resolution="9")["features"]]
    seen: list[str] = []
    url = "/ogc/collections/engagement-hexagons/items?limit=7&resolution=9"
    pages = 0
    while url:
        response = APIClient().get(url)
        assert response.status_code == 200
        body = response.json()
        assert body["numberMatched"] == len(expected)
        seen += [f["id"] for f in body["features"]]
        url = next_link(body)
        pages += 1

    assert pages == -(-len(expected) // 7)
    assert seen == expected  # every cell once, in the layer's order


def test_a_layer_is_computed_once_for_all_its_pages(planted, monkeypatch):
    calls = []
    compute = engagement.engagement_layer
    monkeypatch.setattr(
        engagement, "engagement_layer", lambda *a, **k: calls.append(a[0]) or compute(*a, **k)
    )
    url = "/ogc/collections/engagement-neighborhoods/items?limit=10&kind=issue"
    while url:
        body = APIClient().get(url).json()
        url = next_link(body)
    assert get("/ogc/collections/engagement-neighborhoods/items/r0-c0", kind="issue").status_code
    assert calls == ["engagement-neighborhoods"]

    # Other parameters are another layer; once the short cache expires, it is computed again.
    items("engagement-neighborhoods", kind="idea")
    monkeypatch.setattr(ogc_computed, "CACHE_SECONDS", 0.0)
    items("engagement-neighborhoods", kind="issue")
    assert calls == ["engagement-neighborhoods"] * 3


def test_bbox_keeps_the_features_that_intersect_it(planted):
    # Inside one square of the gap.
    body = items("engagement-neighborhoods", bbox="4.032,50.032,4.038,50.038")
    assert [f["id"] for f in body["features"]] == ["r3-c3"]
    assert body["numberMatched"] == 1
    # A small box on the corner four squares share: all four meet it.
    corner = items("coldspots", bbox="4.0299,50.0299,4.0301,50.0301")
    assert {f["id"] for f in corner["features"]} == {"r2-c2", "r2-c3", "r3-c2", "r3-c3"}
    # Hexagons: the cells whose outline meets the box, checked here with h3 and shapely.
    box = "4.01,50.01,4.025,50.02"
    cells = items("engagement-hexagons", bbox=box, limit=1000)
    every = api("hexagons")["features"]
    expected = {
        f["id"]
        for f in every
        if shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(f["id"])]).intersects(
            shapely.box(4.01, 50.01, 4.025, 50.02)
        )
    }
    assert {f["id"] for f in cells["features"]} == expected
    assert 0 < cells["numberMatched"] < len(every)
    # The paging links keep the box.
    assert "bbox=" in items("engagement-hexagons", bbox=box, limit=1)["links"][2]["href"]


def test_one_feature_by_id_has_the_figures_for_the_same_parameters(planted):
    response = get("/ogc/collections/engagement-neighborhoods/items/r3-c3", kind="issue")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    expected = by_id(api("neighborhoods", kind="issue")["features"])["r3-c3"]
    assert {"geometry": body["geometry"], "properties": body["properties"]} == expected
    self_link = next(link for link in body["links"] if link["rel"] == "self")
    assert "kind=issue" in self_link["href"]


def test_a_hexagon_is_found_at_its_own_resolution(planted):
    fine = api("hexagons", resolution="9")["features"][0]

    body = get(f"/ogc/collections/engagement-hexagons/items/{fine['id']}").json()
    assert body["properties"] == fine["properties"]
    assert get(f"/ogc/collections/engagement-hexagons-9/items/{fine['id']}").status_code == 200
    # Not in the layer at another resolution, nor in another collection.
    for path in (
        f"/ogc/collections/engagement-hexagons-7/items/{fine['id']}",
        f"/ogc/collections/engagement-hexagons/items/{fine['id']}?resolution=8",
        "/ogc/collections/engagement-hexagons/items/not-a-cell",
        "/ogc/collections/coldspots/items/atlantis",
    ):
        response = APIClient().get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "NotFound"


@pytest.mark.parametrize(
    ("collection", "params", "parameter"),
    [
        ("engagement-hexagons", {"resolution": "6"}, "resolution"),
        ("engagement-hexagons", {"resolution": "10"}, "resolution"),
        ("engagement-hexagons", {"resolution": "eight"}, "resolution"),
        ("engagement-hexagons-9", {"resolution": "9"}, "resolution"),
        ("engagement-neighborhoods", {"thin_below": "nan"}, "thin_below"),
        ("engagement-neighborhoods", {"thin_below": "-1"}, "thin_below"),
        ("engagement-neighborhoods", {"channel": "pigeon"}, "channel"),
        ("engagement-neighborhoods", {"kind": "wish"}, "kind"),
        ("engagement-neighborhoods", {"status": "lost"}, "status"),
        ("engagement-neighborhoods", {"category": "no-such-category"}, "category"),
        ("engagement-neighborhoods", {"created_after": "2024-13-01"}, "created_after"),
        (
            "engagement-neighborhoods",
            {"created_after": "2024-02-01", "created_before": "2024-01-01"},
            "created_before",
        ),
        ("engagement-neighborhoods", {"weights": "queen"}, "weights"),
        ("engagement-neighborhoods", {"team": "grid-team"}, "team"),
        ("coldspots", {"weights": "rook"}, "weights"),
        ("coldspots", {"alpha": "0"}, "alpha"),
        ("coldspots", {"datetime": "yesterday"}, "datetime"),
        ("coldspots", {"bbox": "1,2,3"}, "bbox"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(planted, collection, params, parameter):
    assert_ogc_error(get(f"/ogc/collections/{collection}/items", **params), parameter)


def test_a_bad_parameter_of_one_feature_is_a_400_too(planted):
    response = get("/ogc/collections/engagement-hexagons/items/r0-c0", resolution="6")
    assert_ogc_error(response, "resolution")
    assert_ogc_error(get("/ogc/collections/coldspots/items/r0-c0", limit="1"), "limit")


def test_datetime_is_checked_and_matches_every_feature(planted):
    """The layers have no per-feature time (OGC Part 1: such features match any datetime);
    created_after/created_before choose the pins counted."""
    every = items("engagement-neighborhoods", limit=100)
    dated = items("engagement-neighborhoods", limit=100, datetime="2000-01-01/2000-01-02")
    assert dated["numberMatched"] == every["numberMatched"] == grid.SIZE**2
    assert dated["features"] == every["features"]
    long_ago = items("engagement-neighborhoods", limit=100, created_before="2000-01-02")
    assert {f["properties"]["count"] for f in long_ago["features"]} == {0}


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/collections/engagement-hexagons",
        "/ogc/collections/engagement-hexagons/items",
        "/ogc/collections/coldspots/items?limit=3&weights=distance",
        "/ogc/collections/coldspots/items/r3-c3",
    ],
)
def test_every_engagement_resource_has_an_html_page(planted, path):
    response = APIClient().get(path, {"f": "html"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "MapIdeas" in response.content.decode()


def test_the_html_items_page_links_each_feature_with_the_same_parameters(planted):
    page = get("/ogc/collections/coldspots/items", f="html", weights="distance").content.decode()

    assert "/ogc/collections/coldspots/items/r0-c0?f=html&amp;weights=distance" in page
