"""Reading neighborhood boundaries from real files: GeoJSON, Shapefile (bare or zipped),
GeoPackage, in any CRS, with invalid polygons repaired and reported.

This module only reads and cleans; neighborhoods.services.neighborhoods_import writes.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from pyproj import CRS
from pyproj.exceptions import CRSError

from neighborhoods.services import NeighborhoodInput

SUPPORTED_SUFFIXES = (".geojson", ".json", ".shp", ".zip", ".gpkg")


class BoundaryFileError(Exception):
    """The file cannot be imported as it is; the message says why and what to do."""


@dataclass
class BoundaryFile:
    items: list[NeighborhoodInput]
    source_crs: str
    # Human-readable notes, one per repaired or merged feature.
    repairs: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)


def read_boundaries(
    path: Path,
    *,
    name_field: str,
    population_field: str | None = None,
    team_field: str | None = None,
    source_srid: int | None = None,
    repair: bool = True,
) -> BoundaryFile:
    frame = _read_frame(path)
    _require_fields(frame, path, name_field, population_field, team_field)
    frame, source_crs = _to_wgs84(frame, source_srid)
    return _neighborhoods(
        frame,
        name_field=name_field,
        population_field=population_field,
        team_field=team_field,
        repair=repair,
        source_crs=source_crs,
    )


def _read_frame(path: Path) -> gpd.GeoDataFrame:
    if not path.exists():
        raise BoundaryFileError(f"{path}: no such file.")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise BoundaryFileError(
            f"{path}: unsupported file type {path.suffix or '(none)'}; use GeoJSON, a Shapefile "
            "(.shp, or zipped as .zip) or a GeoPackage (.gpkg)."
        )
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several DataSource/DataLayer error types
        raise BoundaryFileError(f"{path}: could not be read as a boundary file ({exc}).") from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        raise BoundaryFileError(f"{path}: the file has no geometry column.")
    if frame.empty:
        raise BoundaryFileError(f"{path}: the file holds no features.")
    return frame


def _require_fields(frame: gpd.GeoDataFrame, path: Path, *fields: str | None) -> None:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    for wanted in fields:
        if wanted is not None and wanted not in frame.columns:
            raise BoundaryFileError(
                f"{path}: no field {wanted!r}. Fields in the file: {', '.join(columns)}."
            )


def _to_wgs84(frame: gpd.GeoDataFrame, source_srid: int | None) -> tuple[gpd.GeoDataFrame, str]:
    if source_srid is not None:
        try:
            crs = CRS.from_epsg(source_srid)
        except CRSError as exc:
            raise BoundaryFileError(f"--source-srid {source_srid}: unknown EPSG code.") from exc
        # An explicit --source-srid wins over whatever the file says (e.g. a wrong .prj).
        frame = frame.set_crs(crs, allow_override=True)
    elif frame.crs is None:
        raise BoundaryFileError(
            "The file does not say which coordinate reference system it uses (no or unreadable "
            ".prj). Give it with --source-srid, e.g. --source-srid 4326 for longitude/latitude."
        )
    source = frame.crs.to_string()
    frame = frame.to_crs(4326)
    min_x, min_y, max_x, max_y = frame.total_bounds
    if not all(math.isfinite(v) for v in (min_x, min_y, max_x, max_y)) or not (
        -180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90
    ):
        raise BoundaryFileError(
            f"Reprojected from {source}, the coordinates fall off the globe "
            f"({min_x:.1f}, {min_y:.1f}, {max_x:.1f}, {max_y:.1f}): the file's CRS is wrong. "
            "Give the right one with --source-srid."
        )
    return frame, source


def _polygonal(geometry: shapely.Geometry) -> shapely.MultiPolygon | None:
    """The polygonal part of a geometry as a 2D MultiPolygon (None if it has none)."""
    geometry = shapely.force_2d(geometry)
    if isinstance(geometry, shapely.Polygon):
        parts = [geometry]
    elif isinstance(geometry, shapely.MultiPolygon):
        parts = list(geometry.geoms)
    elif isinstance(geometry, shapely.GeometryCollection):
        parts = []
        for part in geometry.geoms:
            found = _polygonal(part)
            if found is not None:
                parts.extend(found.geoms)
    else:
        return None
    parts = [p for p in parts if not p.is_empty and p.area > 0]
    return shapely.MultiPolygon(parts) if parts else None


def _population(value: object, name: str, population_field: str) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        raise BoundaryFileError(
            f"{name}: {population_field} is {value!r}, not a number of residents."
        ) from None
    if not math.isfinite(number) or number < 0:
        raise BoundaryFileError(f"{name}: {population_field} is {value!r}, not a population.")
    return round(number)


def _neighborhoods(
    frame: gpd.GeoDataFrame,
    *,
    name_field: str,
    population_field: str | None,
    team_field: str | None,
    repair: bool,
    source_crs: str,
) -> BoundaryFile:
    result = BoundaryFile(items=[], source_crs=source_crs)
    by_name: dict[str, dict] = {}
    for position, row in enumerate(frame.itertuples(index=False), start=1):
        record = row._asdict()
        raw_name = record.get(name_field)
        name = "" if raw_name is None or raw_name != raw_name else str(raw_name).strip()
        if not name:
            raise BoundaryFileError(f"Feature {position}: {name_field} is empty.")
        geometry = record.get(frame.geometry.name)
        if geometry is None or geometry.is_empty:
            raise BoundaryFileError(f"{name} (feature {position}): no geometry.")
        if not shapely.is_valid(geometry):
            reason = shapely.is_valid_reason(geometry)
            if not repair:
                raise BoundaryFileError(
                    f"{name} (feature {position}): invalid polygon ({reason}). "
                    "Fix the file or import without --no-repair."
                )
            geometry = shapely.make_valid(geometry)
            result.repairs.append(f"{name}: repaired ({reason})")
        polygons = _polygonal(geometry)
        if polygons is None:
            raise BoundaryFileError(
                f"{name} (feature {position}): a {geometry.geom_type}, not a polygon."
            )
        population = (
            _population(record.get(population_field), name, population_field)
            if population_field
            else None
        )
        team = record.get(team_field) if team_field else None
        team_name = None if team is None or team != team else str(team).strip() or None
        if name in by_name:
            # Several features with one name are one neighborhood drawn in pieces.
            entry = by_name[name]
            entry["parts"].append(polygons)
            if population is not None:
                entry["population"] = (entry["population"] or 0) + population
            result.merged.append(f"{name}: feature {position} merged into the earlier one")
        else:
            by_name[name] = {"parts": [polygons], "population": population, "team": team_name}
    for name, entry in by_name.items():
        merged = entry["parts"][0]
        if len(entry["parts"]) > 1:
            merged = _polygonal(shapely.union_all(entry["parts"]))
        # RFC 7946: exterior rings counter-clockwise, holes clockwise.
        merged = shapely.orient_polygons(merged)
        result.items.append(
            NeighborhoodInput(
                name=name,
                geometry=_to_geos(merged),
                population=entry["population"],
                team_name=entry["team"],
            )
        )
    return result


def _to_geos(geometry: shapely.MultiPolygon) -> MultiPolygon:
    geos = GEOSGeometry(memoryview(shapely.to_wkb(geometry)), srid=4326)
    if not isinstance(geos, MultiPolygon):
        geos = MultiPolygon(geos, srid=4326)
    return geos
