"""Hostile import files: broken zips, shapefiles with missing parts, a zip bomb, a "1 GB"
GeoJSON, a polygon with a million vertices, a CSV with a 100 MB line. Each is refused with a
message naming the file (or the feature, or the line) before it costs memory, by the importer
itself (`read_boundaries`, `csv_rows`), so the command, the staff upload and `import_ideas`
all refuse it; nothing is written.

The limits are settings: MAPIDEAS_IMPORT_MAX_BYTES (a file, or what a zip unpacks to) and
MAPIDEAS_IMPORT_MAX_VERTICES (one feature); lines longer than csv_files.MAX_LINE_BYTES.
"""

import resource
import time
import zipfile
from io import StringIO
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from shapely.geometry import box

from geodata.imports import csv_files, uploads
from geodata.imports.boundaries import BoundaryFileError, read_boundaries
from geodata.imports.ideas import IdeaImportError, ideas_import_csv
from mapideas.models import Idea
from neighborhoods.models import BoundaryVersion

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


@pytest.fixture
def shapefile(tmp_path) -> Path:
    """A valid two-feature shapefile: its .shp, .shx, .dbf, .prj and .cpg."""
    frame = gpd.GeoDataFrame(
        {"NAME": ["Old Town", "Riverside"]},
        geometry=[box(4.00, 50.00, 4.01, 50.01), box(4.01, 50.00, 4.02, 50.01)],
        crs=4326,
    )
    directory = tmp_path / "shp"
    directory.mkdir()
    path = directory / "wards.shp"
    frame.to_file(path, engine="pyogrio")
    return path


def zipped(
    tmp_path: Path, shapefile: Path, *, leave_out: tuple[str, ...] = (), name: str = "wards.zip"
) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(shapefile.parent.iterdir()):
            if part.suffix not in leave_out:
                archive.write(part, part.name)
    return path


@pytest.fixture
def gdal_must_not_read(monkeypatch):
    """Fails the test if the file reaches GDAL: the refusal must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("the file was handed to GDAL")

    monkeypatch.setattr(pyogrio, "read_dataframe", refuse)


def test_a_zipped_shapefile_is_read_as_the_baseline(tmp_path, shapefile):
    result = read_boundaries(zipped(tmp_path, shapefile), name_field="NAME")

    assert sorted(item.name for item in result.items) == ["Old Town", "Riverside"]


def test_a_broken_zip_is_refused_naming_the_file(tmp_path, shapefile, gdal_must_not_read):
    good = zipped(tmp_path, shapefile).read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(good[: len(good) // 2])  # cut short: no central directory

    with pytest.raises(BoundaryFileError, match=r"broken\.zip: the \.zip file is damaged"):
        read_boundaries(broken, name_field="NAME")


def test_a_file_named_zip_that_is_not_one_is_refused(tmp_path, gdal_must_not_read):
    path = tmp_path / "wards.zip"
    path.write_bytes(b"PK\x03\x04 but nothing after")

    with pytest.raises(BoundaryFileError, match="damaged or not a zip file"):
        read_boundaries(path, name_field="NAME")


@pytest.mark.parametrize(
    ("leave_out", "missing"),
    [((".shx",), ".shx"), ((".dbf",), ".dbf"), ((".shx", ".dbf"), ".shx and .dbf")],
)
def test_a_zipped_shapefile_without_its_parts_is_refused_naming_them(
    tmp_path, shapefile, gdal_must_not_read, leave_out, missing
):
    path = zipped(tmp_path, shapefile, leave_out=leave_out)

    with pytest.raises(BoundaryFileError, match=rf"wards\.shp comes without its {missing}\b"):
        read_boundaries(path, name_field="NAME")


def test_a_bare_shapefile_without_its_shx_is_refused(shapefile, gdal_must_not_read):
    shapefile.with_suffix(".shx").unlink()

    with pytest.raises(BoundaryFileError, match=r"without its \.shx"):
        read_boundaries(shapefile, name_field="NAME")


def test_a_zip_bomb_is_refused_by_what_it_unpacks_to(tmp_path, settings, gdal_must_not_read):
    settings.MAPIDEAS_IMPORT_MAX_BYTES = 1 * MB
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("wards.geojson", b" " * (20 * MB))  # 20 MB of spaces, ~20 kB zipped
    assert path.stat().st_size < MB

    with pytest.raises(BoundaryFileError, match=r"bomb\.zip: unpacks to 20,971,520 bytes"):
        read_boundaries(path, name_field="NAME")


def test_a_1_gb_geojson_is_refused_by_its_size_before_it_is_read(tmp_path, gdal_must_not_read):
    path = tmp_path / "huge.geojson"
    with open(path, "wb") as file:
        file.write(b'{"type": "FeatureCollection", "features": [')
        file.truncate(1024 * MB)  # sparse: 1 GiB on paper, nothing on disk
    before, started = peak_rss_mb(), time.monotonic()

    with pytest.raises(BoundaryFileError, match=r"huge\.geojson: 1,073,741,824 bytes, more than"):
        read_boundaries(path, name_field="NAME")

    assert time.monotonic() - started < 1
    assert peak_rss_mb() - before < 50


def test_the_size_limit_is_a_setting(tmp_path, settings, shapefile):
    settings.MAPIDEAS_IMPORT_MAX_BYTES = 100

    with pytest.raises(BoundaryFileError, match="MAPIDEAS_IMPORT_MAX_BYTES"):
        read_boundaries(zipped(tmp_path, shapefile), name_field="NAME")


def million_vertex_geojson(path: Path) -> Path:
    """One neighborhood outlined by a circle of a million vertices (a valid polygon)."""
    angles = np.linspace(0, 2 * np.pi, 1_000_000, endpoint=False)
    ring = np.column_stack((4.01 + 0.01 * np.cos(angles), 50.0 + 0.01 * np.sin(angles)))
    frame = gpd.GeoDataFrame({"NAME": ["Circle"]}, geometry=[shapely.Polygon(ring)], crs=4326)
    frame.to_file(path, engine="pyogrio")
    return path


def test_a_polygon_with_a_million_vertices_is_refused_within_a_memory_bound(tmp_path):
    path = million_vertex_geojson(tmp_path / "circle.geojson")
    before = peak_rss_mb()

    with pytest.raises(BoundaryFileError) as refused:
        read_boundaries(path, name_field="NAME")

    message = str(refused.value)
    assert "feature 1 has 1,000,001 vertices" in message
    assert "MAPIDEAS_IMPORT_MAX_VERTICES" in message
    # Read once as WKB and counted; never repaired, reprojected or turned into GEOS objects.
    assert peak_rss_mb() - before < 300


def test_the_vertex_limit_is_a_setting(tmp_path, settings, shapefile):
    settings.MAPIDEAS_IMPORT_MAX_VERTICES = 4  # a box has 5

    with pytest.raises(BoundaryFileError, match="feature 1 has 5 vertices"):
        read_boundaries(shapefile, name_field="NAME")


def test_the_command_refuses_a_hostile_file_and_writes_nothing(tmp_path, shapefile, city):
    versions = BoundaryVersion.objects.count()
    path = zipped(tmp_path, shapefile, leave_out=(".dbf",))

    with pytest.raises(CommandError, match=r"without its \.dbf"):
        call_command(
            "import_neighborhoods", str(path), "--name-field", "NAME", "--commit", stdout=StringIO()
        )

    assert BoundaryVersion.objects.count() == versions


@pytest.mark.parametrize("case", ["broken_zip", "missing_parts", "too_many_vertices"])
def test_the_staff_upload_shows_the_refusal_and_writes_nothing(
    client, planner, city, tmp_path, shapefile, settings, monkeypatch, case
):
    monkeypatch.setattr(uploads, "UPLOAD_ROOT", tmp_path / "uploads")
    content = zipped(tmp_path, shapefile, leave_out=(".shx",)).read_bytes()
    name, expected = "wards.zip", "without its .shx"
    if case == "broken_zip":
        content, expected = content[:100], "damaged or not a zip file"
    if case == "too_many_vertices":
        settings.MAPIDEAS_IMPORT_MAX_VERTICES = 4
        content = zipped(tmp_path, shapefile, name="whole.zip").read_bytes()
        expected = "vertices"
    versions = BoundaryVersion.objects.count()
    client.force_login(planner)

    response = client.post(
        "/staff/boundaries/",
        {"file": SimpleUploadedFile(name, content), "name_field": "NAME", "repair": "on"},
    )

    assert response.status_code < 500
    assert expected in " ".join(response.context["form"].errors["file"])
    assert BoundaryVersion.objects.count() == versions
    assert not list((tmp_path / "uploads").glob("*/boundaries.*"))


# --- CSV (import_ideas, import_population: geodata.imports.csv_files) ---


def test_a_csv_with_a_100_mb_line_is_refused_naming_the_line(tmp_path, city):
    path = tmp_path / "forms.csv"
    with open(path, "wb") as file:
        file.write(b"lat,lon,title\n50.005,4.015,Bench\n")
        file.truncate(100 * MB)  # then 100 MB of NUL bytes without a line break
    before = peak_rss_mb()

    with pytest.raises(IdeaImportError, match=r"forms\.csv, line 3: longer than 1 MB"):
        ideas_import_csv(path=path, lat_field="lat", lon_field="lon", title_field="title")

    assert peak_rss_mb() - before < 50  # at most one 1 MB line was read
    assert Idea.objects.count() == 0


def test_a_csv_line_just_under_the_limit_is_read(tmp_path, city):
    path = tmp_path / "forms.csv"
    long_title = "x" * (csv_files.MAX_LINE_BYTES - 100)
    path.write_text(f"lat,lon,title\n50.005,4.015,{long_title}\n", encoding="utf-8")

    with pytest.raises(IdeaImportError) as refused:
        ideas_import_csv(path=path, lat_field="lat", lon_field="lon", title_field="title")

    # Read, and refused for what it holds (a cell over the csv module's field limit), not for
    # the length of its line.
    assert "longer than" not in str(refused.value)
    assert "line 2" in str(refused.value)


def test_a_csv_over_the_size_limit_is_refused_before_it_is_read(tmp_path, city, settings):
    settings.MAPIDEAS_IMPORT_MAX_BYTES = 10
    path = tmp_path / "forms.csv"
    path.write_text("lat,lon,title\n50.005,4.015,Bench\n", encoding="utf-8")

    with pytest.raises(IdeaImportError, match=r"forms\.csv: 33 bytes, more than the 10"):
        ideas_import_csv(path=path, lat_field="lat", lon_field="lon", title_field="title")

    assert Idea.objects.count() == 0
