"""The engagement layers over HTTP (/api/engagement/...), as downloads (/export/<layer>.<ext>)
and from export_layer: RFC 7946 collections, 400s naming the bad parameter, every format read
back by GDAL with the figures in it."""

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pyogrio
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from geodata.exports import formats as export_formats
from mapideas.submission.services import idea_create
from neighborhoods.models import Neighborhood
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST

pytestmark = pytest.mark.django_db

ENGAGEMENT_LAYERS = ("engagement-neighborhoods", "engagement-hexagons", "coldspots", "outreach")
COLLECTIONS = ("neighborhoods", "hexagons", "coldspots")


@pytest.fixture
def pins(city, category):
    for point in (IN_WEST, IN_WEST, IN_WEST, IN_ENCLAVE, IN_EAST):
        idea_create(kind="idea", title="x", category=category, location=point)
    idea_create(kind="issue", title="y", category=category, location=IN_EAST, channel="paper")


@pytest.fixture
def populated(pins, city):
    Neighborhood.objects.filter(pk=city.harbor.pk).update(population=5000)


def get(path: str, **params):
    return Client().get(f"/api/engagement/{path}/", params)


def decimals(value: object) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


@pytest.mark.parametrize("path", COLLECTIONS)
def test_each_layer_is_an_rfc7946_feature_collection_with_its_figures(populated, path):
    response = get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert "crs" not in body
    assert body["population_known"] is True
    assert body["basis"] == "per_1000"
    assert body["features"]
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["id"], str)
        coordinates = re.findall(r"-?\d+\.\d+", json.dumps(feature["geometry"]["coordinates"]))
        assert max(len(c.split(".")[1]) for c in coordinates) <= 6
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        properties = feature["properties"]
        for name in ("count", "area_km2", "per_km2", "per_1000", "ratio", "thin"):
            assert name in properties
        assert all(decimals(v) <= 6 for v in properties.values() if isinstance(v, float))


def test_the_neighborhood_layer_gives_rates_trend_and_offline_share(populated, city):
    body = get("neighborhoods").json()
    east = next(f for f in body["features"] if f["id"] == "east-side")["properties"]
    assert east["count"] == 2
    assert east["population"] == 9000
    # 2 pins: too few for a rate, its interval, a share or a change: no figure is shown.
    assert east["too_few"] is True
    assert east["per_1000"] is None and east["ratio"] is None
    assert east["per_1000_low"] is None and east["per_1000_high"] is None
    assert east["offline_count"] == 1
    assert east["offline_share"] is None
    assert east["count_current"] == 2 and east["count_previous"] == 0
    assert east["change"] is None and east["thinning"] is False
    # Harbor has 5,000 residents and no pins, but 6 pins among 26,800 residents say little:
    # its rate may be up to 3.3 times the city's, so it is not thin.
    harbor = next(f for f in body["features"] if f["id"] == "harbor")["properties"]
    assert harbor["count"] == 0 and harbor["thin"] is False
    assert harbor["ratio_high"] is None  # too few pins: no figure shown
    assert body["city"]["per_1000"] == pytest.approx(6 / (12000 + 800 + 9000 + 5000) * 1000, 1e-5)


def test_coldspots_say_which_test_ran(populated):
    body = get("coldspots", weights="distance", alpha="0.1").json()
    assert body["weights"] == "distance"
    assert body["alpha"] == 0.1
    assert {f["properties"]["significance"] for f in body["features"]} <= {
        "cold",
        "hot",
        "not significant",
        "not tested",
    }
    assert all("z_score" in f["properties"] for f in body["features"])


def test_a_city_without_population_says_so(pins):
    body = get("neighborhoods").json()
    assert body["population_known"] is False
    assert body["basis"] == "per_km2"
    assert "no population" in body["message"]
    assert all(f["properties"]["per_1000"] is None for f in body["features"])
    outreach = get("outreach").json()
    assert outreach["population_known"] is False


def test_outreach_is_a_ranked_list_with_its_reasons(populated):
    body = get("outreach", limit="2").json()
    assert body["message"]
    results = body["results"]
    assert [r["rank"] for r in results] == [1, 2]
    assert results[0]["score"] >= results[1]["score"]
    assert results[0]["slug"] == "harbor"  # 5,000 residents, no pins, nothing offline
    assert "nothing has come from offline channels yet" in results[0]["reason"]


# --- names: the request's language, the slug beside each ---------------------------------------

FRENCH_TEAMS = {"west-team": "Équipe Ouest", "east-team": "Équipe Est", "harbor-team": "Port"}


@pytest.fixture
def french_teams(populated, city):
    for team in (city.west_team, city.east_team, city.harbor_team):
        team.name_translations = {"fr": FRENCH_TEAMS[team.slug]}
        team.save()


def named(path: str, language: str | None = None) -> list[dict]:
    """The properties of each neighborhood of a layer that names teams (the outreach list
    holds them as `results`)."""
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = Client().get(f"/api/engagement/{path}/", **headers)
    assert response.status_code == 200, response.content
    body = response.json()
    if path == "outreach":
        return body["results"]
    return [feature["properties"] for feature in body["features"]]


TEAM_LAYERS = ("neighborhoods", "coldspots", "outreach")


@pytest.mark.parametrize("path", TEAM_LAYERS)
def test_asked_in_french_the_layers_name_teams_in_french_with_their_slugs(french_teams, path):
    french = named(path, "fr")

    assert french
    teams = {p["slug"]: (p["team"], p["team_slug"]) for p in french}
    # The outreach list holds only the neighborhoods worth a visit: harbor among them.
    assert teams["harbor"] == ("Port", "harbor-team")
    if path != "outreach":
        assert teams["west-side"] == ("Équipe Ouest", "west-team")
        assert teams["east-side"] == ("Équipe Est", "east-team")
    for properties in french:
        assert properties["team"] == FRENCH_TEAMS[properties["team_slug"]]
        # Neighborhood names are proper names: the same in every language, slug beside.
        assert properties["name"] and properties["slug"]


@pytest.mark.parametrize("path", TEAM_LAYERS)
def test_asked_nothing_the_layers_name_teams_in_the_citys_language(french_teams, city, path):
    english = {team.slug: team.name for team in (city.west_team, city.east_team, city.harbor_team)}

    for properties in named(path):
        assert properties["team"] == english[properties["team_slug"]]
    teams = {p["slug"]: p["team"] for p in named(path, "en")}
    assert teams["harbor"] == "Harbor Team"


@pytest.mark.parametrize("path", TEAM_LAYERS)
def test_only_the_names_change_with_the_language(french_teams, path):
    def figures(language: str | None) -> list[dict]:
        return [{k: v for k, v in p.items() if k != "team"} for p in named(path, language)]

    assert figures("fr") == figures(None)


def test_the_hexagons_name_no_team_in_any_language(french_teams):
    english = get("hexagons").json()
    french = Client().get("/api/engagement/hexagons/", HTTP_ACCEPT_LANGUAGE="fr").json()

    assert french["features"] == english["features"]
    assert all("team" not in f["properties"] for f in french["features"])


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("hexagons", {"resolution": "6"}, "resolution"),
        ("hexagons", {"resolution": "10"}, "resolution"),
        ("hexagons", {"resolution": "eight"}, "resolution"),
        ("neighborhoods", {"created_after": "2024-13-01"}, "created_after"),
        ("neighborhoods", {"created_before": "yesterday"}, "created_before"),
        ("neighborhoods", {"created_after": "0001-01-01"}, "created_after"),
        (
            "neighborhoods",
            {"created_after": "2024-02-01", "created_before": "2024-01-01"},
            "created_before",
        ),
        ("neighborhoods", {"thin_below": "nan"}, "thin_below"),
        ("neighborhoods", {"thin_below": "-1"}, "thin_below"),
        ("neighborhoods", {"trend_days": "0"}, "trend_days"),
        ("neighborhoods", {"category": "no-such-category"}, "category"),
        ("neighborhoods", {"channel": "pigeon"}, "channel"),
        ("coldspots", {"weights": "rook"}, "weights"),
        ("coldspots", {"alpha": "0"}, "alpha"),
        ("outreach", {"limit": "0"}, "limit"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(city, path, params, field):
    response = get(path, **params)
    assert response.status_code == 400
    assert field in response.json()


def test_empty_parameters_count_as_absent(pins):
    assert get("neighborhoods", created_after="", category="").status_code == 200


def test_the_layers_are_in_the_openapi_schema(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in (*COLLECTIONS, "outreach"):
        operation = schema["paths"][f"/api/engagement/{path}/"]["get"]
        assert "200" in operation["responses"] and "400" in operation["responses"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"created_after", "category", "channel", "thin_below"} <= names
    hexagons = schema["paths"]["/api/engagement/hexagons/"]["get"]["parameters"]
    resolution = next(p for p in hexagons if p["name"] == "resolution")
    assert (resolution["schema"]["minimum"], resolution["schema"]["maximum"]) == (7, 9)


# --- exports --------------------------------------------------------------------------------


def read_back(path: Path, extension: str):
    if extension == "shp.zip":
        return pyogrio.read_dataframe(f"/vsizip/{path}")
    return pyogrio.read_dataframe(path)


def download(tmp_path: Path, layer: str, extension: str, **params) -> Path:
    response = Client().get(f"/export/{layer}.{extension}", params)
    assert response.status_code == 200
    path = tmp_path / f"{layer}.{extension}"
    content = b"".join(response.streaming_content) if response.streaming else response.getvalue()
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("layer", ENGAGEMENT_LAYERS)
@pytest.mark.parametrize("extension", ["gpkg", "fgb", "shp.zip", "geojson", "kml", "csv"])
def test_every_engagement_layer_exports_in_every_format_with_its_figures(
    tmp_path, populated, layer, extension
):
    path = download(tmp_path, layer, extension, resolution="9")
    if layer == "outreach":
        expected = get("outreach", resolution="9").json()["results"]
        ids = [r["slug"] for r in expected]
        by_id = {r["slug"]: r for r in expected}
    else:
        api = "hexagons" if layer == "engagement-hexagons" else layer.removeprefix("engagement-")
        features = get(api, resolution="9").json()["features"]
        ids = [f["id"] for f in features]
        by_id = {f["id"]: f["properties"] for f in features}
    key = "cell" if layer == "engagement-hexagons" else "slug"
    count_field = "count"
    if extension == "csv":
        text = path.read_bytes().decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r[key] for r in rows] == [str(i) for i in ids]
        assert rows[0]["wkt"].startswith(("POLYGON", "MULTIPOLYGON"))
        assert [int(r[count_field]) for r in rows] == [by_id[i]["count"] for i in ids]
        return
    frame = read_back(path, extension)
    assert len(frame) == len(ids)
    assert frame.crs.to_epsg() == 4326
    if extension == "kml":
        return  # KML keeps the properties as text in ExtendedData; counted above
    frame = frame.set_index(key)
    for feature_id in ids:
        expected = by_id[feature_id]
        assert int(frame.loc[feature_id, "count"]) == expected["count"]
        assert frame.loc[feature_id, "area_km2"] == pytest.approx(expected["area_km2"], abs=1e-6)
        if expected["per_1000"] is not None:
            assert frame.loc[feature_id, "per_1000"] == pytest.approx(expected["per_1000"], 1e-6)
    if layer != "engagement-hexagons":
        share = "offl_share" if extension == "shp.zip" else "offline_share"
        assert share in frame.columns


def test_an_export_with_a_bad_parameter_is_a_400(city):
    response = Client().get("/export/engagement-hexagons.gpkg", {"resolution": "12"})
    assert response.status_code == 400
    assert "resolution" in response.json()


def test_export_layer_writes_the_engagement_layers(tmp_path, populated):
    target = tmp_path / "cold.gpkg"
    call_command("export_layer", "coldspots", str(target), "--alpha", "0.1", "--channel", "web")
    frame = pyogrio.read_dataframe(target)
    assert {"z_score", "p_value", "significance", "per_1000"} <= set(frame.columns)
    assert int(frame["count"].sum()) == 5  # the paper pin is filtered out

    hexagons = tmp_path / "hexagons.shp.zip"
    call_command("export_layer", "engagement-hexagons", str(hexagons), "--resolution", "7")
    assert len(pyogrio.read_dataframe(f"/vsizip/{hexagons}")) >= 1
    with zipfile.ZipFile(hexagons) as zipped:
        assert "engagement-hexagons.dbf" in zipped.namelist()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["engagement-hexagons", "x.gpkg", "--resolution", "12"], "--resolution"),
        (["coldspots", "x.gpkg", "--team", "west-team"], "ideas layer only"),
        (["ideas", "x.gpkg", "--thin-below", "0.3"], "engagement layers only"),
    ],
)
def test_export_layer_refuses_bad_engagement_options(tmp_path, city, args, message):
    args = [str(tmp_path / a) if a == "x.gpkg" else a for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("export_layer", *args)


def test_every_format_is_offered_for_the_engagement_layers():
    assert set(export_formats.FORMATS) == {"geojson", "gpkg", "shp.zip", "csv", "fgb", "kml"}
    for layer in ENGAGEMENT_LAYERS:
        assert layer in export_formats.PROPERTIES
