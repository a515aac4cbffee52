"""Text stored before MapIdeas refused what it cannot store (docs/decisions/0016-stored-text.md)
still leaves in every export format: GDAL reads each one back, and the XML ones (KML) parse.
The rows are written directly, as old data would be, past the rule."""

import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from geodata.exports import formats as export_formats
from mapideas.models import Category, Idea
from mapideas.submission.services import idea_create
from neighborhoods.models import Neighborhood, Team
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db

EXTENSIONS = list(export_formats.FORMATS)
XML_EXTENSIONS = [e for e, f in export_formats.FORMATS.items() if f.driver == "KML"]


def hostile_text() -> str:
    """Every C0 and C1 control, DEL, noncharacters of the first and second planes; NUL last
    (GDAL's text ends at a NUL: whatever followed it would not be written at all)."""
    controls = "".join(chr(c) for c in range(1, 0x20)) + "".join(chr(c) for c in range(0x7F, 0xA0))
    text = f"start {controls}\ufdd0\ufdef\ufffe\uffff\U0001fffe\U0001ffff end"
    # PostgreSQL's text cannot hold NUL at all, not even as old data.
    return text if connection.vendor == "postgresql" else text + "\x00"


@pytest.fixture
def old_rows(city, category):
    """A pin, its category, team and neighborhood holding every such character."""
    bad = hostile_text()
    pins = [
        idea_create(kind="issue", title="Plain pin", category=category, location=IN_WEST),
        idea_create(kind="issue", title="Hostile pin", category=category, location=IN_EAST),
    ]
    Idea.objects.filter(pk=pins[1].pk).update(
        title=f"Hostile pin {bad}", description=bad, answer=bad, event_name=bad[:200]
    )
    Category.objects.filter(pk=category.pk).update(name=f"Parks {bad}"[:200])
    Team.objects.filter(pk=city.east_team.pk).update(name=f"East Team {bad}"[:200])
    Neighborhood.objects.filter(pk=city.east.pk).update(name=f"East Side {bad}"[:200])
    return pins


def downloaded(tmp_path: Path, layer: str, extension: str) -> Path:
    response = Client().get(f"/export/{layer}.{extension}")
    assert response.status_code == 200, response
    path = tmp_path / f"{layer}.{extension}"
    path.write_bytes(b"".join(response.streaming_content))
    return path


def ogrinfo(path: Path) -> str:
    name = f"/vsizip/{path}" if path.name.endswith(".zip") else str(path)
    finished = subprocess.run(  # noqa: S603 - a fixed command on a file the test wrote
        ["ogrinfo", "-ro", "-al", name],  # noqa: S607 - gdal-bin from the system
        capture_output=True,
        text=True,
        errors="replace",
    )
    assert finished.returncode == 0, finished.stderr
    assert "ERROR" not in finished.stderr, finished.stderr
    return finished.stdout


@pytest.mark.parametrize("extension", EXTENSIONS)
@pytest.mark.parametrize(("layer", "count"), [("ideas", 2), ("neighborhoods", 4)])
def test_gdal_reads_every_format_back(tmp_path, old_rows, extension, layer, count):
    path = downloaded(tmp_path, layer, extension)

    read = ogrinfo(path)

    assert f"Feature Count: {count}" in read or extension == "csv"
    assert read.count("OGRFeature(") == count
    assert "start" in read and " end" in read


@pytest.mark.parametrize("extension", XML_EXTENSIONS)
@pytest.mark.parametrize("layer", ["ideas", "neighborhoods"])
def test_the_xml_formats_are_well_formed(tmp_path, old_rows, extension, layer):
    path = downloaded(tmp_path, layer, extension)
    content = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zipped:
            content = zipped.read(zipped.namelist()[0])

    root = ET.fromstring(content)  # noqa: S314 - our own export, not untrusted input

    texts = "".join(root.itertext())
    assert ("Hostile pin" if layer == "ideas" else "East Team") in texts
    assert "\uffff" not in texts and "\x01" not in texts
    assert " end" in texts
