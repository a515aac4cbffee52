"""manage.py export_layer: the HTTP export, written whole or not at all (GeoJSON here; the
other formats in test_export_formats.py)."""

import io
import json
import re
import subprocess
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command

from geodata.exports import layers as exports
from mapideas.submission.services import idea_create
from tests.conftest import IN_WEST

pytestmark = pytest.mark.django_db


@pytest.fixture
def ideas(city, category):
    # No password: hashing one would only slow the tests down.
    author = get_user_model().objects.create_user("alice.author", email="alice@example.org")
    return [
        idea_create(
            kind="idea",
            title="Bench by the pond",
            category=category,
            location=IN_WEST,
            author=author,
        ),
        idea_create(
            kind="issue",
            title="Broken light",
            category=category,
            # More decimals than any export writes.
            location=Point(4.0151234567, 50.0051234567, srid=4326),
            author=author,
        ),
    ]


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_layer", *args, stdout=out)
    return out.getvalue()


def ogr_feature_count(path) -> int:
    summary = subprocess.run(  # noqa: S603 - a fixed command on a file the test wrote
        ["ogrinfo", "-ro", "-al", "-so", str(path)],  # noqa: S607 - gdal-bin from the system
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(re.search(r"Feature Count: (\d+)", summary).group(1))


def test_it_writes_the_ideas_layer_that_gdal_can_read(tmp_path, ideas):
    path = tmp_path / "ideas.geojson"

    output = export("ideas", str(path))

    assert output == f"Wrote 2 features (ideas) to {path}.\n"
    assert ogr_feature_count(path) == 2


def test_it_writes_rfc7946_geojson_in_lon_lat_order_with_six_decimals_at_most(tmp_path, ideas):
    path = tmp_path / "ideas.json"
    export("ideas", str(path))

    collection = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection
    by_title = {f["properties"]["title"]: f for f in collection["features"]}
    assert by_title["Bench by the pond"]["geometry"] == {
        "type": "Point",
        "coordinates": [Decimal("4.001"), Decimal("50.001")],
    }
    lon, lat = by_title["Broken light"]["geometry"]["coordinates"]
    assert (lon, lat) == (Decimal("4.015123"), Decimal("50.005123"))
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        for number in feature["geometry"]["coordinates"]:
            assert -number.as_tuple().exponent <= 6


def test_it_writes_no_personal_data(tmp_path, ideas):
    path = tmp_path / "ideas.geojson"
    export("ideas", str(path))

    text = path.read_text(encoding="utf-8")
    assert "alice" not in text
    assert "example.org" not in text
    for feature in json.loads(text)["features"]:
        assert "author" not in feature["properties"]


def test_it_writes_the_same_bytes_as_the_http_export(tmp_path, client, ideas):
    path = tmp_path / "ideas.geojson"
    export("ideas", str(path), "--kind", "issue")

    response = client.get("/export/ideas.geojson", {"kind": "issue"})

    assert path.read_bytes() == b"".join(response.streaming_content)


def test_it_filters_ideas_by_team(tmp_path, city, ideas):
    path = tmp_path / "east.geojson"

    output = export("ideas", str(path), "--team", city.east_team.slug)

    assert "Wrote 1 feature " in output
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["team_slug"] for f in features] == [city.east_team.slug]
    assert ogr_feature_count(path) == 1


def test_it_writes_the_neighborhoods_layer(tmp_path, city, ideas):
    path = tmp_path / "neighborhoods.geojson"

    export("neighborhoods", str(path))

    assert ogr_feature_count(path) == 4
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    counts = {f["id"]: f["properties"]["idea_count"] for f in features}
    assert counts == {"east-side": 1, "enclave": 0, "harbor": 0, "west-side": 1}


@pytest.mark.parametrize("name", ["ideas.shp", "ideas.zip", "ideas.xlsx", "ideas", ".gpkg"])
def test_it_refuses_formats_it_cannot_write_naming_the_supported_ones(tmp_path, city, name):
    with pytest.raises(CommandError, match=r"\.geojson, \.gpkg, \.shp\.zip, \.csv, \.fgb, \.kml"):
        export("ideas", str(tmp_path / name))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("option", "value"),
    [("--team", "no-such-team"), ("--bbox", "1,2,3"), ("--status", "lost")],
)
def test_it_names_the_invalid_filter(tmp_path, city, option, value):
    with pytest.raises(CommandError, match=f"^{option}: "):
        export("ideas", str(tmp_path / "ideas.geojson"), option, value)
    assert list(tmp_path.iterdir()) == []


def test_it_refuses_filters_on_the_neighborhoods_layer(tmp_path, city):
    with pytest.raises(CommandError, match="ideas layer only"):
        export("neighborhoods", str(tmp_path / "n.geojson"), "--team", city.east_team.slug)


def test_it_refuses_a_missing_directory(tmp_path, city):
    with pytest.raises(CommandError, match="does not exist"):
        export("ideas", str(tmp_path / "nowhere" / "ideas.geojson"))


@pytest.mark.parametrize("name", ["ideas.geojson", "ideas.csv", "ideas.gpkg", "ideas.shp.zip"])
def test_it_leaves_the_previous_file_untouched_when_the_export_fails(
    tmp_path, ideas, monkeypatch, name
):
    path = tmp_path / name
    path.write_text("previous export", encoding="utf-8")
    real_rows = exports.idea_rows

    def failing_rows(queryset, language=None):
        yield next(real_rows(queryset, language))
        raise RuntimeError("database went away")

    monkeypatch.setattr(exports, "idea_rows", failing_rows)
    with pytest.raises(RuntimeError, match="database went away"):
        export("ideas", str(path))

    assert path.read_text(encoding="utf-8") == "previous export"
    assert [p.name for p in tmp_path.iterdir()] == [name]


# --- --lang: the names of /export/...?lang= ----------------------------------------------------


@pytest.fixture
def french(city, category):
    category.name_translations = {"fr": "Jardins publics"}
    category.save()
    city.west_team.name_translations = {"fr": "Équipe Ouest"}
    city.west_team.save()
    return city


def test_lang_writes_the_names_in_that_language(tmp_path, ideas, french):
    path = tmp_path / "ideas.geojson"

    export("ideas", str(path), "--lang", "fr", "--team", french.west_team.slug)

    properties = json.loads(path.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert (properties["category"], properties["category_name"]) == (
        "parks-green-space",
        "Jardins publics",
    )
    assert (properties["team"], properties["team_slug"]) == ("Équipe Ouest", "west-team")


def test_lang_names_the_teams_of_the_neighborhoods_and_engagement_layers(tmp_path, ideas, french):
    for layer in ("neighborhoods", "engagement-neighborhoods"):
        path = tmp_path / f"{layer}.geojson"
        export(layer, str(path), "--lang", "fr")
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
        teams = {f["properties"]["slug"]: f["properties"]["team"] for f in features}
        assert teams["west-side"] == "Équipe Ouest", layer


def test_without_lang_it_writes_the_citys_language(tmp_path, ideas, french):
    path = tmp_path / "ideas.geojson"

    export("ideas", str(path), "--team", french.west_team.slug)

    properties = json.loads(path.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert properties["team"] == "West Team"
    assert properties["category_name"] == "Parks and green space"


def test_lang_writes_the_same_bytes_as_the_http_export_with_lang(tmp_path, client, ideas, french):
    path = tmp_path / "ideas.geojson"
    export("ideas", str(path), "--lang", "fr")

    response = client.get("/export/ideas.geojson", {"lang": "fr"})

    assert path.read_bytes() == b"".join(response.streaming_content)


@pytest.mark.parametrize("lang", ["xx", "fr-be", "FR"])
def test_an_unknown_lang_fails_naming_lang(tmp_path, city, lang):
    path = tmp_path / "ideas.geojson"

    with pytest.raises(CommandError, match="--lang") as failed:
        export("ideas", str(path), "--lang", lang)

    assert lang in str(failed.value)
    assert not path.exists()
