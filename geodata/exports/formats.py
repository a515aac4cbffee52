"""The export formats: GeoJSON and CSV streamed as text, the OGR formats written by pyogrio.

Every format is written from the same rows (geodata.exports: `idea_rows`, `neighborhood_rows`,
`engagement_rows`), so the properties are defined once and no format can carry a field the
others do not (and no personal data: the rows hold public fields only). Coordinates are WGS84
(EPSG:4326) with the database's 6 decimals everywhere.

The OGR formats (GeoPackage, Shapefile, FlatGeobuf, KML) are written to a file chunk by chunk:
the first chunk creates the layer and each further one is appended (pyogrio `append=True`), so
memory holds one chunk, never the layer. GDAL accepts appends to FlatGeobuf and KML too, but
they are slow and grow with the file (measured, synthetic pins: FlatGeobuf 90 s and +110 MB for
200,000; KML 550 s and +200 MB for 20,000), and appends to a GeoPackage update its spatial index
row by row. So these three are written as a GeoPackage without a spatial index first, then
converted in one pass that GDAL streams in batches (pyogrio's Arrow stream; no pyarrow needed),
a GeoPackage's index built once at the end: 200,000 pins in about 7 s, KML with flat memory.
FlatGeobuf still takes about 0.6 KB a feature while GDAL builds its spatial index (+115 MB for
200,000), which is the price of the index.

Text stored before MapIdeas refused what it cannot store (docs/decisions/0016-stored-text.md)
may hold characters a format cannot carry; each format gets what it can read back:
- KML is XML: what XML 1.0 cannot carry becomes U+FFFD (mapideas.plumbing.xml_text), else
  GDAL writes it as it is and then refuses to read the whole file;
- the other formats written through GDAL, and CSV, get U+FFFD for NUL (GDAL's text ends at a
  NUL: the rest of the value would be lost, and a NUL in a CSV field breaks GDAL's reading of
  the rows after it);
- GeoJSON carries every character, escaped, as it is.
"""

import csv
import json
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely

from geodata.exports import layers as exports
from geodata.exports.layers import LAYER_SPECS, Row, feature_collection, features
from mapideas.pins.serializers import COORDINATE_PRECISION
from mapideas.plumbing import request_watch
from mapideas.plumbing.xml_text import REPLACEMENT, xml_text


@dataclass(frozen=True)
class Format:
    extension: str  # after the layer name: /export/ideas.<extension>
    label: str
    content_type: str
    driver: str | None = None  # the OGR driver; None for the formats streamed as text


FORMATS = {
    f.extension: f
    for f in (
        Format("geojson", "GeoJSON", "application/geo+json"),
        Format("gpkg", "GeoPackage", "application/geopackage+sqlite3", "GPKG"),
        Format("shp.zip", "Shapefile (zip)", "application/zip", "ESRI Shapefile"),
        Format("csv", "CSV", "text/csv; charset=utf-8"),
        Format("fgb", "FlatGeobuf", "application/flatgeobuf", "FlatGeobuf"),
        Format("kml", "KML", "application/vnd.google-earth.kml+xml", "KML"),
    )
}
# File names export_layer accepts, and the format each one means.
SUFFIXES = {f".{extension}": extension for extension in FORMATS} | {".json": "geojson"}

PROPERTIES = {name: spec.properties for name, spec in LAYER_SPECS.items()}
GEOMETRY_TYPES = {name: spec.geometry_type for name, spec in LAYER_SPECS.items()}
# Drivers written via a staging GeoPackage (see above): FlatGeobuf and KML, whose appends are
# slow and grow with the file, and the GeoPackage itself, whose appends update its spatial
# index row by row (200,000 pins: 11 s against 4 s without it, then 2 s to copy the staging
# file into one with its index built at once).
VIA_GEOPACKAGE = frozenset({"GPKG", "FlatGeobuf", "KML"})
STAGING_OPTIONS = {"SPATIAL_INDEX": "NO"}
# Rows per write to an OGR file: each write opens the file again, which costs about as much
# as writing a few thousand rows (200,000 pins, staging GeoPackage: 11 s in chunks of 2,000,
# 4.5 s in chunks of 20,000). Memory holds one chunk (about 2.5 KB a row).
WRITE_CHUNK_ROWS = 10_000

# A DBF field name has at most 10 characters: the longer properties get these names in a
# Shapefile (and only there; the README lists them). The others keep their own names.
SHAPEFILE_FIELDS = {
    "description": "descriptn",
    "category_name": "cat_name",
    "neighborhood": "nbhd",
    "neighborhood_slug": "nbhd_slug",
    "support_count": "supports",
    "fix_confirmations": "fix_confs",
    "reopened_at": "reopen_at",
    # The engagement layers (geodata.engagement).
    "offline_count": "offl_count",
    "offline_share": "offl_share",
    "count_current": "cnt_curr",
    "count_previous": "cnt_prev",
    "significance": "signif",
    "per_1000_low": "p1000_low",
    "per_1000_high": "p1000_high",
    "per_km2_low": "pkm2_low",
    "per_km2_high": "pkm2_high",
    "neighborhoods": "nbhds",
    # The service-equity layers (geodata.engagement.service, slowspots).
    "median_first_answer": "med_first",
    "median_first_answer_more_than": "med_1st_gt",
    "p90_first_answer": "p90_first",
    "p90_first_answer_more_than": "p90_1st_gt",
    "within_target_share": "in_target",
    "waiting_past_target": "late_wait",
    "median_done": "med_done",
    "median_done_more_than": "med_don_gt",
    "p90_done_more_than": "p90_don_gt",
    "reopened_share": "reopen_shr",
    "disputed_share": "disput_shr",
    "answered_per_1000": "ans_p1000",
}

# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection"): a
# title such as `=HYPERLINK("http://evil.example", "click")` would become a live link, or
# worse, in the planner's spreadsheet. A leading apostrophe makes the cell plain text.
FORMULA_STARTS = ("=", "+", "-", "@")


def format_for_suffix(name: str) -> Format | None:
    """The format a file name asks for (`.shp.zip` before `.zip`), or None."""
    lowered = name.lower()
    for suffix, extension in sorted(SUFFIXES.items(), key=lambda item: -len(item[0])):
        if lowered.endswith(suffix) and len(lowered) > len(suffix):
            return FORMATS[extension]
    return None


def supported() -> str:
    return ", ".join(FORMATS)


# --- text formats, streamed ------------------------------------------------------------------


def geojson_chunks(rows: Iterable[Row]) -> Iterator[str]:
    return feature_collection(features(iter(rows)))


# The size of a piece of a streamed download (geodata.exports.views). One feature is a few
# hundred bytes: sent one by one, each would be a system call and a chunk's framing (200,000
# pins: 200,000 writes; in pieces, about 2,000).
DOWNLOAD_PIECE_BYTES = 64 * 1024


def joined(pieces: Iterable[str], size: int = DOWNLOAD_PIECE_BYTES) -> Iterator[bytes]:
    """`pieces` as UTF-8 in pieces of about `size` bytes (at least; one piece is never cut),
    in the same order: memory holds one piece, whatever the layer's size."""
    waiting: list[str] = []
    length = 0
    for piece in pieces:
        waiting.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(waiting).encode()
            waiting, length = [], 0
    if waiting:
        yield "".join(waiting).encode()


def _without_nul(text: str) -> str:
    return text.replace("\x00", REPLACEMENT)


def _text_cleaned(rows: Iterable[Row], clean: Callable[[str], str]) -> Iterator[Row]:
    """The rows with `clean` applied to every text property (see the module's docstring)."""
    for row in rows:
        properties = {
            name: clean(value) if isinstance(value, str) else value
            for name, value in row.properties.items()
        }
        yield Row(row.id, properties, row.geometry)


def _spreadsheet_safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    """A file-like object for csv.writer that hands back what it was given."""

    def write(self, text: str) -> str:
        return text


def csv_chunks(layer: str, rows: Iterable[Row]) -> Iterator[str]:
    """A CSV a spreadsheet opens as it is: UTF-8 with a BOM, one line per row, as it comes.

    The columns are the layer's public properties, then `longitude` and `latitude` (ideas) and
    the geometry as `wkt` (both layers).
    """
    writer = csv.writer(_Line())
    points = GEOMETRY_TYPES[layer] == "Point"
    header = [*PROPERTIES[layer], *(("longitude", "latitude") if points else ()), "wkt"]
    yield "\ufeff" + writer.writerow(header)
    for row in _text_cleaned(rows, _without_nul):
        geometry = json.loads(row.geometry)
        coordinates = tuple(geometry["coordinates"]) if points else ()
        wkt = shapely.to_wkt(
            shapely.from_geojson(row.geometry), rounding_precision=COORDINATE_PRECISION
        )
        values = [_spreadsheet_safe(v) for v in row.properties.values()]
        yield writer.writerow([*values, *coordinates, wkt])


# --- OGR formats, written to a file by pyogrio -------------------------------------------------


def _columns(layer: str, chunk: list[Row]) -> tuple[list[np.ndarray], list]:
    spec = LAYER_SPECS[layer]
    data, masks = [], []
    if chunk and list(chunk[0].properties) == list(spec.properties):
        # Every row's properties come in the layer's order: the columns are the rows turned
        # over in one go (zip, at C speed), not one look-up per row and property.
        columns = list(zip(*(row.properties.values() for row in chunk), strict=True))
    else:
        columns = [tuple(row.properties[name] for row in chunk) for name in spec.properties]
    for name, values in zip(spec.properties, columns, strict=True):
        as_objects = np.array(values, dtype=object)
        missing = as_objects == None  # noqa: E711 (numpy compares each value)
        if name in spec.integers:
            data.append(np.where(missing, 0, as_objects).astype(np.int64))
        elif name in spec.floats:
            data.append(np.where(missing, np.nan, as_objects).astype(np.float64))
        elif name in spec.booleans:
            data.append(np.array([bool(v) for v in values], dtype=bool))
        else:
            # NUL is rare: looked for in the whole column at once (one join, C speed), then
            # replaced value by value only in a column that has one.
            if "\x00" in "".join(map(str, values)):
                as_objects = np.array(
                    [_without_nul(v) if isinstance(v, str) else v for v in values], dtype=object
                )
            data.append(as_objects)
        masks.append(missing if missing.any() else None)
    return data, masks


def _write_chunks(
    target: Path,
    driver: str,
    layer: str,
    layer_name: str,
    fields: list[str] | tuple[str, ...],
    rows: Iterable[Row],
    options: dict,
) -> None:
    """The rows into `target`, WRITE_CHUNK_ROWS at a time: the first chunk creates the layer
    (and its fields, even with no row), each further one is appended. NUL in text becomes
    U+FFFD (_columns)."""
    iterator = iter(rows)
    first = True
    while True:
        # Over HTTP the file is written before its first byte is sent: each chunk shows the
        # worker is not stuck (mapideas.plumbing.request_watch), however long the layer.
        request_watch.progress()
        chunk = list(islice(iterator, WRITE_CHUNK_ROWS))
        if not chunk and not first:
            break
        data, masks = _columns(layer, chunk)
        geometry = shapely.to_wkb(shapely.from_geojson([row.geometry for row in chunk]))
        pyogrio.raw.write(
            target,
            np.asarray(geometry, dtype=object),
            data,
            list(fields),
            field_mask=masks if any(m is not None for m in masks) else None,
            layer=layer_name,
            driver=driver,
            geometry_type=GEOMETRY_TYPES[layer],
            crs="EPSG:4326",
            append=not first,
            **options,
        )
        first = False
        if len(chunk) < WRITE_CHUNK_ROWS:
            break


def write_ogr(fmt: Format, layer: str, rows: Iterable[Row], directory: Path) -> Path:
    """Write the layer into `directory` (which must be empty) and return the file written.

    For `shp.zip` the .shp/.shx/.dbf/.prj/.cpg are written, then zipped into one file.
    """
    names = PROPERTIES[layer]
    fields = list(names)
    options: dict = {}
    if fmt.extension == "shp.zip":
        fields = [SHAPEFILE_FIELDS.get(name, name) for name in names]
        options["encoding"] = "UTF-8"  # written to the .cpg, so GIS read accents right
    target = directory / f"{layer}.{fmt.extension.removesuffix('.zip')}"
    # Inside the file: KML (XML) refuses "-" in a layer name, so every format gets "_".
    layer_name = layer.replace("-", "_")
    if fmt.driver == "KML":
        rows = _text_cleaned(rows, xml_text)  # NUL included
    if fmt.driver in VIA_GEOPACKAGE:
        staging = directory / f"{layer}.staging.gpkg"
        # No spatial index in the staging file: appended to, GDAL would update it row by row.
        _write_chunks(
            staging, "GPKG", layer, layer_name, names, rows, {"layer_options": STAGING_OPTIONS}
        )
        with (
            request_watch.unwatched(),
            pyogrio.raw.open_arrow(staging, batch_size=exports.CHUNK_SIZE) as (meta, stream),
        ):
            # One pass: the GeoPackage's spatial index is built once, when the file is closed.
            pyogrio.raw.write_arrow(
                stream,
                target,
                layer=layer_name,
                driver=fmt.driver,
                geometry_name=meta["geometry_name"],
                geometry_type=GEOMETRY_TYPES[layer],
                crs="EPSG:4326",
            )
        staging.unlink()
        return target
    assert fmt.driver is not None
    _write_chunks(target, fmt.driver, layer, layer_name, fields, rows, options)
    if fmt.extension != "shp.zip":
        return target
    archive = directory / f"{layer}.shp.zip"
    with (
        request_watch.unwatched(),
        zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped,
    ):
        for part in ("shp", "shx", "dbf", "prj", "cpg"):
            member = target.with_suffix(f".{part}")
            zipped.write(member, member.name)
            os.remove(member)
    return archive
