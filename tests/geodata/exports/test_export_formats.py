"""Every export format, by download (/export/<layer>.<extension>) and by export_layer: GDAL reads
each one back, the filters apply, and no personal data gets into any of them."""

import csv
import io
import re
import subprocess
import zipfile
from pathlib import Path

import pyogrio.raw
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from geodata.exports import formats as export_formats
from geodata.exports import layers as exports
from mapideas.models import Idea, IdeaNote
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST, ON_ISLAND

pytestmark = pytest.mark.django_db

EXTENSIONS = list(export_formats.FORMATS)
SECRET_USERNAME = "zz-private-person"
SECRET_EMAIL = "zz-private-person@example.org"
# What an Open311 client sends about the reporter, and what staff write to each other.
SECRET_CONTACT = ("zz-contact@example.org", "Zz Contactname", "+1 555 0199 77")
SECRET_NOTE = "zz-internal-note: the caller sounded upset"
FORMULA_TITLES = ("=HYPERLINK(1)", "+1+2", "-3+4", "@SUM(A1)")


@pytest.fixture
def ideas(city, category):
    """Four pins whose author, reporter contact and internal notes must never leave the
    database."""
    # No password: hashing one would only slow the tests down.
    author = get_user_model().objects.create(username=SECRET_USERNAME, email=SECRET_EMAIL)
    pins = [
        idea_create(
            kind="idea", title="Bench by the pond", category=category, location=IN_WEST,
            author=author,
        ),
        idea_create(
            kind="issue", title="Café «éclairage»", description="Line one\nline two",
            category=category, location=IN_ENCLAVE, author=author,
        ),
        idea_create(
            kind="issue", title="Broken light", category=category, location=IN_EAST,
            author=author,
        ),
        idea_create(
            kind="idea", title="Island pier", category=category, location=ON_ISLAND,
            author=author,
        ),
    ]  # fmt: skip
    email, name, phone = SECRET_CONTACT
    Idea.objects.update(contact_email=email, contact_name=name, contact_phone=phone)
    for pin in pins:
        IdeaNote.objects.create(idea=pin, text=SECRET_NOTE, author=author)
    return pins


def download(layer: str, extension: str, **params) -> tuple[object, bytes]:
    response = Client().get(f"/export/{layer}.{extension}", params)
    assert response.status_code == 200, response
    return response, b"".join(response.streaming_content)


def downloaded_file(tmp_path: Path, layer: str, extension: str, **params) -> Path:
    _, raw = download(layer, extension, **params)
    path = tmp_path / f"{layer}.{extension}"
    path.write_bytes(raw)
    return path


def written_file(tmp_path: Path, layer: str, extension: str, *args: str) -> Path:
    path = tmp_path / f"{layer}.{extension}"
    call_command("export_layer", layer, str(path), *args, stdout=io.StringIO())
    return path


def ogrinfo(path: Path, *options: str) -> str:
    name = f"/vsizip/{path}" if path.name.endswith(".zip") else str(path)
    return subprocess.run(  # noqa: S603 - a fixed command on a file the test wrote
        ["ogrinfo", "-ro", "-al", *options, name],  # noqa: S607 - gdal-bin from the system
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def feature_count(path: Path) -> int:
    return int(re.search(r"Feature Count: (\d+)", ogrinfo(path, "-so")).group(1))


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_it_downloads_each_format_so_gdal_reads_it(tmp_path, ideas, extension):
    response, raw = download("ideas", extension)
    path = tmp_path / f"ideas.{extension}"
    path.write_bytes(raw)

    fmt = export_formats.FORMATS[extension]
    assert response["Content-Type"] == fmt.content_type
    assert response["Content-Disposition"].startswith('attachment; filename="mapideas-ideas-')
    assert response["Content-Disposition"].endswith(f'.{extension}"')
    assert feature_count(path) == 4
    assert "WGS 84" in ogrinfo(path, "-so") or extension == "csv"
    assert "Bench by the pond" in ogrinfo(path)
    assert "Café «éclairage»" in ogrinfo(path)


@pytest.mark.parametrize("extension", EXTENSIONS)
@pytest.mark.parametrize(
    ("layer", "count", "value"), [("ideas", 4, "Island pier"), ("neighborhoods", 4, "Harbor Team")]
)
def test_it_writes_each_format_with_the_command(tmp_path, ideas, extension, layer, count, value):
    path = written_file(tmp_path, layer, extension)

    assert feature_count(path) == count
    assert value in ogrinfo(path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_it_filters_each_format_like_the_api(tmp_path, city, ideas, extension):
    (tmp_path / "view").mkdir()
    (tmp_path / "command").mkdir()
    by_view = downloaded_file(tmp_path / "view", "ideas", extension, team=city.west_team.slug)
    by_command = written_file(
        tmp_path / "command", "ideas", extension, "--team", city.east_team.slug
    )

    assert feature_count(by_view) == 2  # West Side and the Enclave
    assert "Broken light" not in ogrinfo(by_view)
    assert feature_count(by_command) == 1
    assert "Broken light" in ogrinfo(by_command)


@pytest.mark.parametrize("extension", [e for e, f in export_formats.FORMATS.items() if f.driver])
def test_it_appends_chunk_after_chunk(tmp_path, ideas, monkeypatch, extension):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 3)  # 3 + 1, and 3 + 0 for the neighborhoods
    monkeypatch.setattr(export_formats, "WRITE_CHUNK_ROWS", 3)

    assert feature_count(downloaded_file(tmp_path, "ideas", extension)) == 4
    assert feature_count(written_file(tmp_path, "neighborhoods", extension)) == 4


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_it_writes_an_empty_layer(tmp_path, city, extension):
    assert feature_count(downloaded_file(tmp_path, "ideas", extension)) == 0


def _fields_and_values(path: Path) -> list[str]:
    """What pyogrio reads from a GeoPackage or FlatGeobuf: field names and every value."""
    meta, _, _, field_data = pyogrio.raw.read(path)
    return [*meta["fields"], *(str(v) for column in field_data for v in column)]


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_it_leaks_no_personal_data_in_any_format(tmp_path, ideas, extension):
    (tmp_path / "view").mkdir()
    (tmp_path / "command").mkdir()
    for layer in exports.LAYERS:
        for path in (
            downloaded_file(tmp_path / "view", layer, extension),
            written_file(tmp_path / "command", layer, extension),
        ):
            blobs = [path.read_bytes()]
            if extension == "shp.zip":
                with zipfile.ZipFile(path) as zipped:
                    assert sorted(zipped.namelist()) == sorted(
                        f"{layer}.{part}" for part in ("shp", "shx", "dbf", "prj", "cpg")
                    )
                    blobs += [zipped.read(name) for name in zipped.namelist()]
            if extension in ("gpkg", "fgb"):
                blobs.append(" ".join(_fields_and_values(path)).encode())
            for blob in blobs:
                for secret in (SECRET_USERNAME, SECRET_EMAIL, SECRET_NOTE, *SECRET_CONTACT):
                    assert secret.encode() not in blob, (layer, secret)
                # No author field either ("AUTHORITY" is the CRS's, in the OGR formats).
                assert not re.search(rb"(?i)author(?!ity)", blob)


def test_it_writes_a_csv_a_spreadsheet_opens(ideas):
    _, raw = download("ideas", "csv")

    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == [*exports.IDEA_PROPERTIES, "longitude", "latitude", "wkt"]
    bench = next(r for r in rows if r["title"] == "Bench by the pond")
    assert (float(bench["longitude"]), float(bench["latitude"])) == (4.001, 50.001)
    assert bench["wkt"] == "POINT (4.001 50.001)"
    assert bench["id"] == str(ideas[0].pk)
    cafe = next(r for r in rows if r["title"].startswith("Café"))
    assert cafe["description"] == "Line one\nline two"


def test_it_writes_the_neighborhoods_csv_with_wkt(city):
    _, raw = download("neighborhoods", "csv")

    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == [*exports.NEIGHBORHOOD_PROPERTIES, "wkt"]
    assert [r["slug"] for r in rows] == ["east-side", "enclave", "harbor", "west-side"]
    harbor = next(r for r in rows if r["slug"] == "harbor")
    assert harbor["wkt"].startswith("MULTIPOLYGON (((4.02 50")
    assert harbor["population"] == ""


def test_it_neutralises_formulas_in_csv_cells(tmp_path, ideas, category):
    for title in FORMULA_TITLES:
        idea_create(kind="idea", title=title, category=category, location=IN_WEST)

    _, raw = download("ideas", "csv")
    by_command = written_file(tmp_path, "ideas", "csv")

    assert by_command.read_bytes() == raw
    titles = [r["title"] for r in csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))]
    assert set(titles) >= {"'" + title for title in FORMULA_TITLES}
    assert not set(titles) & set(FORMULA_TITLES)
    assert "Bench by the pond" in titles  # plain text is left alone


def test_it_names_the_shapefile_fields_within_ten_characters(tmp_path, ideas):
    path = downloaded_file(tmp_path, "ideas", "shp.zip")

    meta, _, _, field_data = pyogrio.raw.read(f"/vsizip/{path}")
    fields = list(meta["fields"])
    assert all(len(name) <= 10 for name in fields)
    expected = [export_formats.SHAPEFILE_FIELDS.get(p, p) for p in exports.IDEA_PROPERTIES]
    assert fields == expected
    assert "Line one\nline two" in list(field_data[fields.index("descriptn")])


@pytest.mark.parametrize("extension", ["xlsx", "shp", "zip", "json", "geojson.zip", "GPKG"])
def test_it_answers_404_naming_the_supported_formats(city, extension):
    response = Client().get(f"/export/ideas.{extension}")

    assert response.status_code == 404
    assert "geojson, gpkg, shp.zip, csv, fgb, kml" in response.content.decode()


@pytest.mark.parametrize("name", ["ideas.xlsx", "ideas.shp", "ideas.zip"])
def test_it_refuses_an_unknown_file_format_in_the_command(tmp_path, city, name):
    with pytest.raises(CommandError, match=r"\.gpkg, \.shp\.zip, \.csv, \.fgb, \.kml"):
        call_command("export_layer", "ideas", str(tmp_path / name))
    assert list(tmp_path.iterdir()) == []
