"""/ogc/: OGC API – Features (Part 1 Core, GeoJSON, HTML, OpenAPI 3.0) over the public pins and
the active neighborhoods.

The last test is the real client: GDAL's OAPIF driver (`ogrinfo`) against a live server.
"""

import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from geodata.exports.layers import IDEA_PROPERTIES, NEIGHBORHOOD_PROPERTIES
from mapideas.models import Category, Idea
from mapideas.pins import selectors
from mapideas.pins.default_categories import default_categories_create
from mapideas.pins.serializers import IdeaFeatureSerializer
from mapideas.submission.services import idea_create
from neighborhoods.models import Neighborhood
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST, ON_ISLAND
from tests.spatial_index import assert_read_through_rtree, bbox_param, edge_pins

pytestmark = pytest.mark.django_db

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
XSS = "<script>alert('x')</script> bench"


@pytest.fixture
def ideas(city, category, make_user):
    """Four pins a day apart (2024-05-01 10:00Z, then +1 day each), one by a named citizen."""
    author = make_user("citizen-carla")
    other = Category.objects.get(slug="lighting-safety")
    made = {
        "west_idea": idea_create(
            kind="idea",
            title="Bench by the pond",
            category=category,
            location=IN_WEST,
            author=author,
        ),
        "enclave_issue": idea_create(
            kind="issue",
            title="Broken light",
            category=other,
            location=IN_ENCLAVE,
            channel=Idea.Channel.PAPER,
        ),
        "east_issue": idea_create(
            kind="issue",
            title="Pothole",
            category=category,
            location=IN_EAST,
        ),
        "island_idea": idea_create(kind="idea", title=XSS, category=other, location=ON_ISLAND),
    }
    for days, idea in enumerate(made.values()):
        Idea.objects.filter(pk=idea.pk).update(created_at=T0 + timedelta(days=days))
    Idea.objects.filter(pk=made["east_issue"].pk).update(status=Idea.Status.DONE)
    return made


def get(path: str, accept: str | None = None, **params):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    return APIClient().get(path, params, **headers)


def items(collection: str = "ideas", **params) -> dict:
    response = get(f"/ogc/collections/{collection}/items", **params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/geo+json"
    return response.json()


def titles(body: dict) -> set[str]:
    return {feature["properties"]["title"] for feature in body["features"]}


def rel(body: dict, name: str, media_type: str | None = None) -> list[dict]:
    return [
        link
        for link in body["links"]
        if link["rel"] == name and (media_type is None or link["type"] == media_type)
    ]


def assert_ogc_error(response, status: int, parameter: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "description"}
    assert parameter in body["description"]


# --- Landing page, conformance, collections -------------------------------------------------


def test_the_landing_page_links_the_definition_the_docs_conformance_and_data(city):
    response = get("/ogc/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    links = {(link["rel"], link["type"]): link["href"] for link in body["links"]}
    assert links[("self", "application/json")] == "http://testserver/ogc/?f=json"
    assert links[("alternate", "text/html")] == "http://testserver/ogc/?f=html"
    assert links[("conformance", "application/json")] == "http://testserver/ogc/conformance"
    assert links[("data", "application/json")] == "http://testserver/ogc/collections"
    service_desc = "application/vnd.oai.openapi+json;version=3.0"
    assert links[("service-desc", service_desc)] == "http://testserver/api/schema/?format=json"
    assert links[("service-doc", "text/html")] == "http://testserver/api/docs/"


def test_the_service_desc_describes_the_ogc_paths_and_their_parameters(city):
    schema = get("/api/schema/", format="json").json()

    for path in (
        "/ogc/",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/{collectionId}",
        "/ogc/collections/{collectionId}/items",
        "/ogc/collections/{collectionId}/items/{featureId}",
    ):
        assert path in schema["paths"], path
    items_get = schema["paths"]["/ogc/collections/{collectionId}/items"]["get"]
    parameters = {p["name"]: p for p in items_get["parameters"]}
    assert {"f", "limit", "offset", "cursor", "bbox", "bbox-crs", "datetime"} <= set(parameters)
    assert {"category", "status", "kind", "neighborhood", "team", "channel"} <= set(parameters)
    assert set(parameters["collectionId"]["schema"]["enum"]) == {
        "ideas",
        "neighborhoods",
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
    }
    # The engagement layers' own parameters, typed as in /api/engagement/.
    assert parameters["resolution"]["schema"]["minimum"] == 7
    assert parameters["resolution"]["schema"]["maximum"] == 9
    assert set(parameters["weights"]["schema"]["enum"]) == {"queen", "distance"}
    feature_get = schema["paths"]["/ogc/collections/{collectionId}/items/{featureId}"]["get"]
    assert {"resolution", "thin_below", "category"} <= {
        p["name"] for p in feature_get["parameters"]
    }
    assert "done" in parameters["status"]["schema"]["enum"]
    assert parameters["limit"]["schema"]["minimum"] == 1
    assert "application/geo+json" in items_get["responses"]["200"]["content"]
    assert "text/html" in items_get["responses"]["200"]["content"]
    assert {"400", "404"} <= set(items_get["responses"])


def test_the_ogc_views_add_no_warning_or_error_to_the_openapi_schema():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)
    messages = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    assert [m for m in messages if "ogc" in m.lower()] == []


def test_conformance_declares_core_geojson_html_and_openapi(city):
    body = get("/ogc/conformance").json()

    assert set(body["conformsTo"]) == {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    }


def test_collections_lists_ideas_and_neighborhoods_with_their_extents(ideas):
    body = get("/ogc/collections").json()

    by_id = {c["id"]: c for c in body["collections"]}
    # Then the engagement layers (tests/geodata/ogc/test_ogc_engagement.py).
    assert list(by_id)[:2] == ["ideas", "neighborhoods"]
    assert rel(body, "self", "application/json")
    ideas_collection = by_id["ideas"]
    assert ideas_collection["itemType"] == "feature"
    assert ideas_collection["crs"] == [CRS84]
    assert ideas_collection["extent"]["spatial"]["crs"] == CRS84
    # The pins: the West Side's one (4.001, 50.001) to the island's (4.055, 50.005).
    assert ideas_collection["extent"]["spatial"]["bbox"][0] == pytest.approx(
        [4.001, 50.001, 4.055, 50.005]
    )
    assert ideas_collection["extent"]["temporal"]["interval"] == [
        ["2024-05-01T10:00:00Z", "2024-05-04T10:00:00Z"]
    ]
    items_links = rel(ideas_collection, "items", "application/geo+json")
    assert items_links[0]["href"] == "http://testserver/ogc/collections/ideas/items?f=json"
    neighborhoods = by_id["neighborhoods"]
    assert neighborhoods["extent"]["spatial"]["bbox"][0] == pytest.approx(
        [3.998, 50.0, 4.06, 50.01]
    )
    assert "temporal" not in neighborhoods["extent"]


def test_a_collection_with_no_features_yet_has_no_spatial_extent(city):
    body = get("/ogc/collections/ideas").json()

    assert "spatial" not in body["extent"]
    assert body["extent"]["temporal"]["interval"] == [[None, None]]


def test_one_collection_links_itself_and_its_items(ideas):
    response = get("/ogc/collections/neighborhoods")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "neighborhoods"
    assert body["title"] == "Neighborhoods"
    assert rel(body, "self", "application/json")[0]["href"].endswith(
        "/ogc/collections/neighborhoods?f=json"
    )
    assert rel(body, "items", "application/geo+json")
    assert rel(body, "items", "text/html")


# --- Items -----------------------------------------------------------------------------------


def test_items_are_a_geojson_page_with_counts_time_stamp_and_links(ideas):
    body = items()

    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 4
    assert body["numberReturned"] == 4
    assert datetime.fromisoformat(body["timeStamp"]).tzinfo is not None
    # Newest first, as the API lists them.
    assert [f["properties"]["title"] for f in body["features"]] == [
        XSS,
        "Pothole",
        "Broken light",
        "Bench by the pond",
    ]
    feature = body["features"][-1]
    assert feature["id"] == ideas["west_idea"].pk
    assert feature["geometry"] == {"type": "Point", "coordinates": [4.001, 50.001]}
    assert rel(body, "self", "application/geo+json")
    assert rel(body, "alternate", "text/html")
    assert rel(body, "collection", "application/json")[0]["href"].endswith(
        "/ogc/collections/ideas?f=json"
    )
    assert rel(body, "next") == [] and rel(body, "prev") == []


def test_item_properties_are_the_apis_and_carry_no_personal_data(ideas):
    idea = Idea.objects.get(pk=ideas["west_idea"].pk)
    response = get(f"/ogc/collections/ideas/items/{idea.pk}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["id"] == idea.pk
    assert body["properties"] == IdeaFeatureSerializer(idea).data["properties"]
    # The same properties as the API and the exports, in the same order.
    assert tuple(body["properties"]) == IDEA_PROPERTIES
    text = (
        response.content.decode() + get("/ogc/collections/ideas/items", limit=100).content.decode()
    )
    for personal in ("author", "citizen-carla", "email", "contact", "phone"):
        assert personal not in text


@pytest.mark.parametrize("language", ["en", "fr"])
def test_an_items_page_holds_the_features_the_serializer_makes(ideas, language):
    """A page is made from plain rows (Collection.feature_rows), one feature from the pin:
    both are what IdeaFeatureSerializer makes, in the request's language, each feature
    with its id, as the single feature's own document has it."""
    with translation.override(language):
        body = (
            APIClient()
            .get("/ogc/collections/ideas/items", {"limit": 100}, HTTP_ACCEPT_LANGUAGE=language)
            .json()
        )
        # As JSON: the serializer's coordinates are a tuple.
        want = json.loads(
            json.dumps(
                IdeaFeatureSerializer(
                    selectors.public_ideas().order_by("-created_at", "-id"), many=True
                ).data["features"]
            )
        )
    assert [f["id"] for f in body["features"]] == [f["id"] for f in want]
    for got, expected in zip(body["features"], want, strict=True):
        assert list(got) == ["type", "id", "geometry", "properties"]
        assert got["geometry"] == expected["geometry"]
        assert got["properties"] == expected["properties"]
        one = get(f"/ogc/collections/ideas/items/{got['id']}").json()
        assert (one["id"], one["geometry"]) == (got["id"], got["geometry"])


def test_neighborhoods_are_features_named_by_slug_with_idea_counts(ideas):
    body = items("neighborhoods")

    assert body["numberMatched"] == 4
    by_id = {f["id"]: f for f in body["features"]}
    assert sorted(by_id) == ["east-side", "enclave", "harbor", "west-side"]
    assert tuple(by_id["west-side"]["properties"]) == NEIGHBORHOOD_PROPERTIES
    assert by_id["west-side"]["properties"]["idea_count"] == 1
    assert by_id["harbor"]["geometry"]["type"] == "MultiPolygon"
    one = get("/ogc/collections/neighborhoods/items/enclave").json()
    assert one["properties"]["name"] == "Enclave"
    assert one["properties"]["team"] == "West Team"


def test_next_links_followed_to_the_end_visit_every_feature_exactly_once(city, category):
    for n in range(23):
        idea = idea_create(kind="idea", title=f"pin {n}", category=category, location=IN_EAST)
        # Some share a time stamp: the id breaks the tie, so no page repeats or skips one.
        Idea.objects.filter(pk=idea.pk).update(created_at=T0 + timedelta(hours=n // 3))
    seen: list[int] = []
    url = "/ogc/collections/ideas/items?limit=5"
    pages = 0
    while url:
        response = APIClient().get(url)
        assert response.status_code == 200
        body = response.json()
        assert body["numberMatched"] == 23
        assert body["numberReturned"] == len(body["features"]) <= 5
        seen += [f["id"] for f in body["features"]]
        if pages:
            assert rel(body, "prev", "application/geo+json")
        following = rel(body, "next")
        assert len(following) <= 1
        assert all(link["type"] == "application/geo+json" for link in following)
        url = following[0]["href"] if following else None
        pages += 1

    assert pages == 5
    assert sorted(seen) == sorted(Idea.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 23


def test_next_links_keep_the_filters(ideas):
    body = items(limit=1, kind="issue", bbox="3.9,49.9,4.1,50.1")

    query = parse_qs(urlsplit(rel(body, "next")[0]["href"]).query)
    assert query == {
        "f": ["json"],
        "limit": ["1"],
        "kind": ["issue"],
        "bbox": ["3.9,49.9,4.1,50.1"],
        "cursor": query["cursor"],
    }


def test_limit_defaults_to_ten_and_is_cut_to_the_max_page_size_not_refused(
    city, category, settings
):
    for n in range(12):
        idea_create(kind="idea", title=f"pin {n}", category=category, location=IN_WEST)

    assert items()["numberReturned"] == 10
    settings.MAPIDEAS_MAX_PAGE_SIZE = 4
    body = items(limit=1000000)
    assert body["numberReturned"] == 4
    assert parse_qs(urlsplit(rel(body, "next")[0]["href"]).query)["limit"] == ["4"]


def test_bbox_selects_the_features_that_intersect_it(ideas):
    assert titles(items(bbox="3.998,50.0,4.010,50.010")) == {"Bench by the pond", "Broken light"}
    assert titles(items(bbox="4.05,50.0,4.06,50.01", **{"bbox-crs": CRS84})) == {XSS}
    # A box with no area is the point it names.
    assert titles(items(bbox="4.015,50.005,4.015,50.005")) == {"Pothole"}
    assert {f["id"] for f in items("neighborhoods", bbox="4.05,50.0,4.06,50.01")["features"]} == {
        "harbor"
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # An instant matches the pins stamped with it; a date, that whole day.
        ("2024-05-02T10:00:00Z", {"Broken light"}),
        ("2024-05-02T12:00:00+02:00", {"Broken light"}),
        ("2024-05-02T10:00Z", {"Broken light"}),
        ("2024-05-02T10:00:01Z", set()),
        ("2024-05-03", {"Pothole"}),
        # Intervals: closed (both days whole), open at either end, open at both.
        ("2024-05-02/2024-05-03", {"Broken light", "Pothole"}),
        ("2024-05-01T10:00:00Z/2024-05-02T10:00:00Z", {"Bench by the pond", "Broken light"}),
        ("../2024-05-01T23:00:00Z", {"Bench by the pond"}),
        ("2024-05-03T10:00:00Z/..", {"Pothole", XSS}),
        ("2024-05-03T10:00:00Z/", {"Pothole", XSS}),
        ("../..", {"Bench by the pond", "Broken light", "Pothole", XSS}),
    ],
)
def test_datetime_takes_an_instant_or_an_interval_on_the_creation_time(ideas, value, expected):
    assert titles(items(datetime=value)) == expected


def test_datetime_on_neighborhoods_which_have_no_time_matches_every_feature(ideas):
    assert items("neighborhoods", datetime="2000-01-01/2000-01-02")["numberMatched"] == 4
    # The value is still checked.
    assert_ogc_error(
        get("/ogc/collections/neighborhoods/items", datetime="yesterday"), 400, "datetime"
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "lighting-safety"}, {"Broken light", XSS}),
        ({"status": "done"}, {"Pothole"}),
        ({"kind": "issue"}, {"Broken light", "Pothole"}),
        ({"neighborhood": "enclave"}, {"Broken light"}),
        ({"team": "west-team"}, {"Bench by the pond", "Broken light"}),
        ({"channel": "paper"}, {"Broken light"}),
        ({"kind": "issue", "team": "east-team"}, {"Pothole"}),
    ],
)
def test_ideas_take_the_apis_filters(ideas, params, expected):
    assert titles(items(**params)) == expected


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "99999999999999999999"}, "offset"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "4,50,3,51"}, "bbox"),
        ({"bbox": "nan,1,2,3"}, "bbox"),
        ({"bbox": "0,0,1,1,2,2"}, "bbox"),
        (
            {"bbox": "3,50,4,51", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"},
            "bbox-crs",
        ),
        ({"datetime": "2024-13-01"}, "datetime"),
        ({"datetime": "2024-05-01T25:00:00Z"}, "datetime"),
        ({"datetime": "2024-05-03/2024-05-01"}, "datetime"),
        ({"datetime": "a/b/c"}, "datetime"),
        ({"datetime": ".."}, "datetime"),
        ({"datetime": "0001-01-01T00:00:00+05:00"}, "datetime"),
        ({"status": "lost"}, "status"),
        ({"category": "no-such-category"}, "category"),
        ({"neighborhood": "atlantis"}, "neighborhood"),
        ({"team": "\x00"}, "team"),
        ({"f": "xml"}, "f"),
        ({"sortby": "title"}, "sortby"),
        ({"limit": ""}, "limit"),
        ({"limit": ["1", "2"]}, "limit"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(ideas, params, parameter):
    assert_ogc_error(get("/ogc/collections/ideas/items", **params), 400, parameter)


def test_the_ideas_filters_are_unknown_parameters_for_neighborhoods(ideas):
    assert_ogc_error(get("/ogc/collections/neighborhoods/items", team="west-team"), 400, "team")


def test_other_resources_refuse_unknown_parameters(city):
    assert_ogc_error(get("/ogc/collections", limit="1"), 400, "limit")


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/collections/pins",
        "/ogc/collections/pins/items",
        "/ogc/collections/pins/items/1",
        "/ogc/collections/ideas/items/999999",
        "/ogc/collections/ideas/items/not-a-number",
        "/ogc/collections/ideas/items/99999999999999999999999999",
        "/ogc/collections/neighborhoods/items/atlantis",
        "/ogc/collections/neighborhoods/items/west%00side",
    ],
)
def test_an_unknown_collection_or_feature_is_a_404_in_the_ogc_form(ideas, path):
    response = get(path)

    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


def test_only_what_public_ideas_selects_is_ever_served(ideas, monkeypatch):
    """The ideas collection reads selectors.public_ideas() on each request: whatever it leaves
    out (today nothing is hidden; pins taken down later would be) never reaches a client."""
    hidden = ideas["enclave_issue"]
    public = selectors.public_ideas
    monkeypatch.setattr(selectors, "public_ideas", lambda: public().exclude(pk=hidden.pk))

    body = items(limit=100)
    # (numberMatched of the whole collection comes from the counts kept on write, which
    # count by the same rule in the database's triggers: the stand-in above is not theirs.)
    assert body["numberReturned"] == 3
    assert "Broken light" not in titles(body)
    assert titles(items(channel="paper")) == set()
    assert get(f"/ogc/collections/ideas/items/{hidden.pk}").status_code == 404
    assert "Broken light" not in get("/ogc/collections/ideas/items", f="html").content.decode()


def test_writes_are_refused_in_the_ogc_form(city):
    response = APIClient().post("/ogc/collections/ideas/items", {}, format="json")

    assert response.status_code == 405
    assert set(response.json()) == {"code", "description"}


# --- Formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "f", "expected"),
    [
        (None, None, "application/json"),
        ("*/*", None, "application/json"),
        ("application/json", None, "application/json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None, "text/html"),
        ("text/html", "json", "application/json"),
        ("application/json", "html", "text/html"),
    ],
)
def test_the_format_is_f_else_the_accept_header_else_json(city, accept, f, expected):
    response = get("/ogc/collections", accept=accept, **({"f": f} if f else {}))

    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == expected
    assert "Accept" in response["Vary"]


def test_a_geojson_only_client_gets_geojson(ideas):
    response = get("/ogc/collections/ideas/items", accept="application/geo+json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/ideas",
        "/ogc/collections/neighborhoods/items",
        "/ogc/collections/neighborhoods/items/harbor",
    ],
)
def test_every_resource_has_an_html_page(ideas, path):
    response = get(path, f="html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "MapIdeas" in response.content.decode()


def test_html_item_pages_escape_titles_and_load_leaflet_locally(ideas, settings):
    settings.MAPIDEAS_TILE_URL = ""
    island = ideas["island_idea"]
    for path in ("/ogc/collections/ideas/items", f"/ogc/collections/ideas/items/{island.pk}"):
        page = get(path, accept="text/html").content.decode()

        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; bench" in page
        # The map's data: json_script escapes < and >, so the title cannot end the script.
        assert "\\u003Cscript\\u003Ealert" in page
        assert 'id="ogc-map"' in page
        assert "/static/vendor/leaflet/leaflet.js" in page
        assert "/static/geodata/ogc-map.js" in page
        assert "cdn" not in page.lower() and "unpkg" not in page.lower()


def test_html_items_page_links_the_next_page_as_html(ideas):
    page = get("/ogc/collections/ideas/items", f="html", limit="2").content.decode()

    assert re.search(r'href="[^"]*cursor=[^"]*" rel="next"', page)
    assert "4 features" in page


# --- The real client -------------------------------------------------------------------------


@pytest.fixture
def live_ogc_url(transactional_db, django_db_setup, live_server) -> str:
    # Flushes between live-server tests remove the default categories: put them back.
    default_categories_create()
    return f"{live_server.url}/ogc/"


def ogrinfo(*args: str) -> str:
    result = subprocess.run(  # noqa: S603 - a fixed command against the test's own server
        ["ogrinfo", "-ro", *args],  # noqa: S607 - gdal-bin from the system
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_PROXY": "*", "no_proxy": "*", "GDAL_HTTP_TIMEOUT": "60"},
    )
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr, result.stderr
    return result.stdout


def test_gdal_lists_the_collections_and_reads_every_feature(live_ogc_url, city, category):
    """Also the computed engagement layers: listed with their counts and typed fields, and
    read page after page like any other."""
    # More pins than GDAL's page of 10, so it must follow the next links.
    for n in range(11):
        idea_create(kind="idea", title=f"Tree {n}", category=category, location=IN_WEST)
    idea_create(
        kind="issue", title="Café «éclairage»", category=category, location=Point(4.015, 50.005)
    )
    # Every neighborhood with residents: the engagement layers give rates per 1,000.
    Neighborhood.objects.filter(pk=city.harbor.pk).update(population=5000)

    summary = ogrinfo("-al", "-so", f"OAPIF:{live_ogc_url}")
    assert "Layer name: ideas" in summary
    assert "Layer name: neighborhoods" in summary
    layers = dict(re.findall(r"Layer name: ([\w-]+)\n(.*?)(?=Layer name: |\Z)", summary, re.S))
    counts = {name: re.search(r"Feature Count: (\d+)", text)[1] for name, text in layers.items()}
    hexagons = {
        resolution: len(
            APIClient().get(f"/api/engagement/hexagons/?resolution={resolution}").json()["features"]
        )
        for resolution in (7, 8, 9)
    }
    assert counts == {
        "ideas": "12",
        "neighborhoods": "4",
        "engagement-neighborhoods": "4",
        "engagement-hexagons": str(hexagons[8]),
        "engagement-hexagons-7": str(hexagons[7]),
        "engagement-hexagons-9": str(hexagons[9]),
        "coldspots": "4",
        "representativeness": "0",  # the test city has no area attribute
        "service-neighborhoods": "4",
        "service-teams": "3",
        "service-hexagons": str(hexagons[8]),
        "slowspots": "4",
        "slowspots-hexagons": str(hexagons[8]),
    }
    assert "title: String" in layers["ideas"]
    for field in ("count: Integer", "per_1000: Real", "ratio: Real", "thin: Integer(Boolean)"):
        assert field in layers["engagement-neighborhoods"], field
    for field in ("z_score: Real", "p_value: Real", "significance: String"):
        assert field in layers["coldspots"], field
    assert "Geometry: Multi Polygon" in layers["coldspots"]
    assert "Geometry: Polygon" in layers["engagement-hexagons"]

    figures = ogrinfo(f"OAPIF:{live_ogc_url}", "engagement-neighborhoods")
    assert figures.count("OGRFeature(engagement-neighborhoods):") == 4
    # West Side: 11 trees, 12,000 residents.
    assert "name (String) = West Side" in figures
    assert "count (Integer) = 11" in figures
    assert f"per_1000 (Real) = {11 / 12000 * 1000:.6f}".rstrip("0") in figures

    features = ogrinfo(f"OAPIF:{live_ogc_url}", "ideas")
    assert features.count("OGRFeature(ideas):") == 12
    assert "title (String) = Café «éclairage»" in features
    assert "POINT (4.015 50.005)" in features


def test_bbox_keeps_the_features_on_its_edges_and_none_just_outside(city, category):
    pins = edge_pins(category)

    with CaptureQueriesContext(connection) as queries:
        body = items(bbox=bbox_param(), limit=100)

    assert {f["id"] for f in body["features"]} == {p.pk for p in pins.inside}
    assert_read_through_rtree(queries.captured_queries, "mapideas_idea", "location")
    with CaptureQueriesContext(connection) as queries:
        found = items("neighborhoods", bbox="4.0299,50.0,4.0299,50.0")["features"]
    assert {f["id"] for f in found} == {"harbor"}
    assert_read_through_rtree(queries.captured_queries, "neighborhoods_neighborhood", "geometry")
