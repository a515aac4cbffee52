"""The place gazetteer: import_places from generated files, and GET /api/places/ finding
neighborhoods and places by name, with the optional geocoder off, on, and failing."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pytest
from django.core.management import CommandError, call_command
from shapely.geometry import LineString, Point, box

from geodata.models import Place
from geodata.places import gazetteer as places

pytestmark = pytest.mark.django_db

URL = "/api/places/"


def places_frame(crs: int = 4326) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {
            "NAME": [
                "Rue de l'Église",
                "Église Saint-Pierre",
                "Harbor Road",
                "Market Square",
                None,
            ],
            "TYPE": ["street", "landmark", "street", "square", "street"],
        },
        geometry=[
            LineString([(4.011, 50.002), (4.019, 50.002)]),
            Point(4.012, 50.004),
            LineString([(4.021, 50.001), (4.029, 50.009)]),
            box(4.001, 50.001, 4.002, 50.002),
            Point(4.0, 50.0),
        ],
        crs=4326,
    )
    return frame.to_crs(crs)


def write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    frame.to_file(path, engine="pyogrio")
    return path


def run(path: Path, *args: str, commit: bool = True) -> str:
    out = StringIO()
    call_command("import_places", str(path), *args, *(["--commit"] if commit else []), stdout=out)
    return out.getvalue()


def imported(tmp_path) -> None:
    run(write(places_frame(), tmp_path / "places.geojson"), "--name-field", "NAME",
        "--kind-field", "TYPE")  # fmt: skip


# --- the import ---------------------------------------------------------------------------


def test_it_imports_a_geojson_with_kinds_points_and_extents(tmp_path):
    output = run(
        write(places_frame(), tmp_path / "places.geojson"),
        "--name-field", "NAME", "--kind-field", "TYPE",
    )  # fmt: skip
    assert "Read 4 places" in output
    assert "feature 5: no NAME" in output
    street = Place.objects.get(name="Rue de l'Église")
    assert street.kind == "street"
    assert street.name_normalized == "rue de l'eglise"
    assert street.source == "places.geojson"
    # The middle of the street, on it; the box is the street's.
    assert street.point.x == pytest.approx(4.015) and street.point.y == pytest.approx(50.002)
    assert (street.min_lon, street.max_lon) == pytest.approx((4.011, 4.019))
    square = Place.objects.get(name="Market Square")
    assert 4.001 <= square.point.x <= 4.002 and 50.001 <= square.point.y <= 50.002


def test_a_place_whose_name_or_kind_cannot_be_stored_is_left_out_and_said(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "NAME": ["Quay\uffff Street", "Old\x07 Mill", "Fine Lane"],
            "TYPE": ["street", "landmark", "street\ufdd0"],
        },
        geometry=[Point(4.011, 50.002), Point(4.012, 50.004), Point(4.013, 50.005)],
        crs=4326,
    )
    output = run(
        write(frame, tmp_path / "odd.gpkg"), "--name-field", "NAME", "--kind-field", "TYPE"
    )

    assert "feature 1: NAME contains a character that cannot be stored (U+FFFF)" in output
    assert "feature 2: NAME contains a character that cannot be stored (U+0007)" in output
    assert "feature 3: TYPE contains a character that cannot be stored (U+FDD0)" in output
    assert not Place.objects.exists()


def test_a_dry_run_writes_nothing(tmp_path):
    output = run(write(places_frame(), tmp_path / "p.geojson"), "--name-field", "NAME",
                 commit=False)  # fmt: skip
    assert "Dry run" in output
    assert not Place.objects.exists()
    assert "Would store 4 places from p.geojson (replacing 0 " in output
    assert output.splitlines()[-1] == (
        "Dry run: nothing was written. Run again with --commit to apply."
    )


def test_a_dry_run_says_what_it_would_replace_and_keeps_it(tmp_path):
    path = write(places_frame(), tmp_path / "places.geojson")
    run(path, "--name-field", "NAME", "--kind-field", "TYPE")
    before = list(Place.objects.order_by("pk").values_list("pk", "name", "kind"))

    output = run(path, "--name-field", "NAME", "--kind", "place", commit=False)

    assert "Would store 4 places from places.geojson (replacing 4 " in output
    assert list(Place.objects.order_by("pk").values_list("pk", "name", "kind")) == before


def test_it_reprojects_and_replaces_an_earlier_import_of_the_same_file(tmp_path):
    path = write(places_frame(3857), tmp_path / "places.gpkg")
    run(path, "--name-field", "NAME", "--kind", "place")
    output = run(path, "--name-field", "NAME")
    assert "replacing 4" in output
    assert Place.objects.count() == 4
    church = Place.objects.get(name="Église Saint-Pierre")
    assert church.kind == "place"
    assert church.point.x == pytest.approx(4.012) and church.point.y == pytest.approx(50.004)


def test_a_missing_field_is_named_with_the_fields_there_are(tmp_path):
    path = write(places_frame(), tmp_path / "places.geojson")
    with pytest.raises(CommandError, match=r"no field 'STREET' \(--name-field\).*NAME, TYPE"):
        run(path, "--name-field", "STREET")
    with pytest.raises(CommandError, match=r"no field 'KIND' \(--kind-field\)"):
        run(path, "--name-field", "NAME", "--kind-field", "KIND")
    assert not Place.objects.exists()


def test_a_missing_layer_or_file_is_named(tmp_path):
    path = write(places_frame(), tmp_path / "places.gpkg")
    with pytest.raises(CommandError, match=r"no layer 'streets' \(--layer\)"):
        run(path, "--name-field", "NAME", "--layer", "streets")
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "nothing.geojson", "--name-field", "NAME")


def test_a_shapefile_without_prj_is_refused_until_its_crs_is_given(tmp_path):
    # A shapefile holds one geometry type: the places as points.
    frame = places_frame(3857)
    path = write(frame.set_geometry(frame.geometry.centroid), tmp_path / "places.shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(CommandError, match="places.shp.*--source-srid"):
        run(path, "--name-field", "NAME")
    assert not Place.objects.exists()
    run(path, "--name-field", "NAME", "--source-srid", "3857")
    assert Place.objects.get(name="Market Square").point.x == pytest.approx(4.0015, abs=1e-6)


def test_a_file_that_is_not_spatial_is_refused_naming_it(tmp_path):
    path = tmp_path / "notes.geojson"
    path.write_text("this is not GeoJSON")
    with pytest.raises(CommandError, match="notes.geojson"):
        run(path, "--name-field", "NAME")


# --- the search ---------------------------------------------------------------------------


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [result["name"] for result in response.json()["results"]]


def test_it_finds_neighborhoods_by_a_prefix_in_any_case(client, city):
    response = client.get(URL, {"q": "EAST s"})
    assert names(response) == ["East Side"]
    (east,) = response.json()["results"]
    assert east["kind"] == east["source"] == "neighborhood"
    assert east["bbox"] == pytest.approx([4.010, 50.000, 4.020, 50.010])
    assert 4.010 <= east["lon"] <= 4.020 and 50.0 <= east["lat"] <= 50.010
    assert response.json()["note"] is None


def test_it_matches_accents_both_ways(client, city, tmp_path):
    imported(tmp_path)
    assert names(client.get(URL, {"q": "eglise"})) == ["Église Saint-Pierre", "Rue de l'Église"]
    assert names(client.get(URL, {"q": "ÉGLISE S"})) == ["Église Saint-Pierre"]


def test_prefix_matches_come_before_word_and_substring_matches(client, city, tmp_path):
    imported(tmp_path)
    # "Harbor" (neighborhood) and "Harbor Road" start with it; nothing else holds it.
    assert names(client.get(URL, {"q": "harbor"})) == ["Harbor", "Harbor Road"]
    # "ar": "Market Square" holds it inside a word, "Harbor"... too; no name starts with it.
    found = names(client.get(URL, {"q": "ar"}))
    assert set(found) == {"Harbor", "Harbor Road", "Market Square"}
    # "side": a word of "West Side" and "East Side" starts with it.
    assert names(client.get(URL, {"q": "side"})) == ["East Side", "West Side"]
    # "s": "Market Square" has a word starting with it, "Rue de l'Église" only holds it.
    found = names(client.get(URL, {"q": "s"}))
    assert found.index("Market Square") < found.index("Rue de l'Église")


def test_results_are_limited_to_ten(client, city):
    Place.objects.bulk_create(
        Place(
            name=f"Linden Lane {i}",
            name_normalized=f"linden lane {i}",
            kind="street",
            point=f"SRID=4326;POINT(4.01 50.00{i % 10})",
            min_lon=4.0,
            min_lat=50.0,
            max_lon=4.02,
            max_lat=50.01,
            source="test",
        )
        for i in range(30)
    )
    assert len(names(client.get(URL, {"q": "linden"}))) == places.SEARCH_LIMIT


def test_retired_neighborhoods_are_not_found(client, city):
    city.harbor.version.is_active = False
    city.harbor.version.save()
    assert names(client.get(URL, {"q": "harbor"})) == []


@pytest.mark.parametrize("query", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 101}, {"q": "a\x00"}])
def test_a_missing_blank_or_long_query_is_a_400_naming_q(client, city, query):
    response = client.get(URL, query)
    assert response.status_code == 400
    assert "q" in response.json()


def test_wildcards_in_the_query_are_plain_text(client, city, tmp_path):
    imported(tmp_path)
    assert names(client.get(URL, {"q": "%"})) == []
    assert names(client.get(URL, {"q": "_"})) == []


# --- the optional geocoder ----------------------------------------------------------------


class StubGeocoder:
    """A Nominatim stand-in on 127.0.0.1: records what it was asked, answers `reply`."""

    def __init__(self, reply=None, status: int = 200) -> None:
        self.asked: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                stub.asked.append(
                    {"path": urlsplit(self.path).path, **parse_qs(urlsplit(self.path).query)}
                )
                body = json.dumps(reply if reply is not None else []).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def geocoder(request):
    stubs = []

    def start(reply=None, status: int = 200) -> StubGeocoder:
        stubs.append(StubGeocoder(reply, status))
        return stubs[-1]

    yield start
    for stub in stubs:
        stub.close()


NOMINATIM_HIT = {
    "lat": "50.0061",
    "lon": "4.0135",
    "display_name": "Bakery Lane, East Side",
    "type": "residential",
    "boundingbox": ["50.0060", "50.0062", "4.0130", "4.0140"],
}


def test_the_geocoder_is_off_by_default(client, city, settings, monkeypatch):
    assert settings.MAPIDEAS_GEOCODER_URL == ""

    def never(*args, **kwargs):
        raise AssertionError("no request may leave the server")

    monkeypatch.setattr(places.urllib.request, "urlopen", never)
    assert names(client.get(URL, {"q": "bakery"})) == []


def test_the_geocoder_adds_its_places_within_the_city(client, city, settings, geocoder):
    stub = geocoder([NOMINATIM_HIT, {"lat": "nan", "lon": "x"}])
    settings.MAPIDEAS_GEOCODER_URL = stub.url + "/"
    body = client.get(URL, {"q": "Bakery"}).json()
    assert body["note"] is None
    assert body["results"] == [
        {
            "name": "Bakery Lane, East Side",
            "kind": "residential",
            "source": "geocoder",
            "lon": 4.0135,
            "lat": 50.0061,
            "bbox": [4.0130, 50.0060, 4.0140, 50.0062],
        }
    ]
    (asked,) = stub.asked
    assert asked["path"] == "/search"
    assert asked["q"] == ["Bakery"] and asked["bounded"] == ["1"]
    # The city's extent (all the test city's neighborhoods): west, north, east, south.
    west, north, east, south = (float(v) for v in asked["viewbox"][0].split(","))
    assert (west, north, east, south) == pytest.approx((3.998, 50.010, 4.060, 50.000))
    # Asked again: answered from the cache, not the geocoder.
    client.get(URL, {"q": "bakery"})
    assert len(stub.asked) == 1


def test_local_names_come_first_and_are_not_repeated(client, city, settings, geocoder):
    stub = geocoder([{**NOMINATIM_HIT, "display_name": "East Side"}, NOMINATIM_HIT])
    settings.MAPIDEAS_GEOCODER_URL = stub.url
    assert names(client.get(URL, {"q": "east"})) == ["East Side", "Bakery Lane, East Side"]


@pytest.mark.parametrize("status", [500, 200])
def test_a_failing_geocoder_degrades_to_local_results_with_a_note(
    client, city, settings, geocoder, status
):
    stub = geocoder(reply={"error": "x"}, status=status)
    settings.MAPIDEAS_GEOCODER_URL = stub.url
    body = client.get(URL, {"q": "west"}).json()
    assert [r["name"] for r in body["results"]] == ["West Side"]
    assert body["note"] == places.GEOCODER_FAILED_NOTE


def test_an_unreachable_or_slow_geocoder_degrades_too(client, city, settings, monkeypatch):
    def timeout(*args, **kwargs):
        raise TimeoutError("timed out")

    monkeypatch.setattr(places.urllib.request, "urlopen", timeout)
    settings.MAPIDEAS_GEOCODER_URL = "http://127.0.0.1:9"
    body = client.get(URL, {"q": "west"}).json()
    assert names_of(body) == ["West Side"]
    assert body["note"] == places.GEOCODER_FAILED_NOTE


def names_of(body: dict) -> list[str]:
    return [r["name"] for r in body["results"]]


def test_the_geocoder_url_must_be_http(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from mapideas import settings as project_settings

    monkeypatch.setenv("MAPIDEAS_GEOCODER_URL", "file:///etc/passwd")
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_GEOCODER_URL"):
        project_settings._geocoder_url()
    monkeypatch.setenv("MAPIDEAS_GEOCODER_TIMEOUT", "0")
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_GEOCODER_TIMEOUT"):
        project_settings._geocoder_timeout()
