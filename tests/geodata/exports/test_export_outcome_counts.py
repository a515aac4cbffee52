"""Every export format carries what residents said of a closed pin as counts and dates
(`closed_at`, `fix_confirmations`, `disputes`, `reopenings`, `reopened_at`; a Shapefile's
ten-character names), never who said it."""

import csv
import io
import json
import zipfile
from pathlib import Path

import pyogrio.raw
import pytest
from django.test import Client

from geodata.exports import formats as export_formats
from tests.conftest import IN_WEST
from tests.mapideas.pins.disputed_pin import CONFIRMATIONS, DISPUTES, SECRETS, disputed_pin

pytestmark = pytest.mark.django_db

OUTCOME = {
    "closed_at": "2026-11-02T09:30:00Z",
    "fix_confirmations": CONFIRMATIONS,
    "disputes": DISPUTES,
    "reopenings": 1,
    "reopened_at": "2026-11-20T14:00:00Z",
}


@pytest.fixture
def pin(city, category, settings):
    settings.TIME_ZONE = "UTC"
    return disputed_pin(category, IN_WEST)


def download(extension: str) -> bytes:
    response = Client().get(f"/export/ideas.{extension}")
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


def read_ogr(tmp_path: Path, extension: str) -> tuple[dict[str, object], dict[str, str]]:
    """The one feature's fields, by their names in the file, and their types."""
    path = tmp_path / f"ideas.{extension}"
    path.write_bytes(download(extension))
    name = f"/vsizip/{path}" if extension == "shp.zip" else str(path)
    meta, _, _, field_data = pyogrio.raw.read(name)
    values = {field: column[0] for field, column in zip(meta["fields"], field_data, strict=True)}
    types = {field: str(dtype) for field, dtype in zip(meta["fields"], meta["dtypes"], strict=True)}
    return values, types


def test_the_geojson_carries_the_counts(pin):
    [feature] = json.loads(download("geojson"))["features"]

    assert {name: feature["properties"][name] for name in OUTCOME} == OUTCOME


def test_the_csv_carries_the_counts(pin):
    [row] = csv.DictReader(io.StringIO(download("csv").decode("utf-8-sig")))

    assert {name: row[name] for name in OUTCOME} == {k: str(v) for k, v in OUTCOME.items()}


@pytest.mark.parametrize("extension", ["gpkg", "shp.zip", "fgb", "kml"])
def test_each_ogr_format_carries_the_counts(tmp_path, pin, extension):
    fields, types = read_ogr(tmp_path, extension)

    shapefile = extension == "shp.zip"
    named = {
        (export_formats.SHAPEFILE_FIELDS.get(name, name) if shapefile else name): value
        for name, value in OUTCOME.items()
    }
    if shapefile:
        assert all(len(name) <= 10 for name in named)
    got = {name: fields[name] for name in named}
    # Counts are integer fields (KML's are text); dates ISO 8601 text.
    assert {name: str(value) for name, value in got.items()} == {
        name: str(value) for name, value in named.items()
    }
    if extension != "kml":
        counts = {name for name, value in named.items() if isinstance(value, int)}
        assert {name for name in counts if types[name].startswith("int")} == counts


@pytest.mark.parametrize("extension", list(export_formats.FORMATS))
def test_no_format_names_who_confirmed_or_disputed(tmp_path, pin, extension):
    raw = download(extension)
    blobs = [raw]
    if extension == "shp.zip":
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            blobs = [archive.read(name) for name in archive.namelist()]

    for blob in blobs:
        for secret in SECRETS:
            assert secret.encode() not in blob, (extension, secret)
