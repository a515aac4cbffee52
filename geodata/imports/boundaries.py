"""Reading neighborhood boundaries from real files: GeoJSON, Shapefile (bare or zipped),
GeoPackage, in any CRS, with invalid polygons repaired and reported.

`read_boundaries` reads and cleans; `import_boundaries` stores the result as a new boundary
version (neighborhoods.services) and activates it, re-routing open pins
(mapideas.rerouting.services),
or does all that in a transaction it rolls back, for a dry run.
"""

import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.utils.translation import gettext as _
from pyproj import CRS
from pyproj.exceptions import CRSError

from mapideas.models import RoutingEvent
from mapideas.plumbing.stored_text import stored_text
from mapideas.rerouting.services import RerouteResult, boundaries_activate
from neighborhoods.models import BoundaryVersion
from neighborhoods.services import BoundaryChanges, NeighborhoodInput, boundary_version_create

THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.0*)?$")
SUPPORTED_SUFFIXES = (".geojson", ".json", ".shp", ".zip", ".gpkg")


class BoundaryFileError(Exception):
    """The file cannot be imported as it is; the message says why and what to do.

    `field` names the `read_boundaries` argument at fault ("path" for the file itself), so a
    form can show the message next to the field to change.
    """

    def __init__(self, message: str, *, field: str = "path") -> None:
        super().__init__(message)
        self.field = field


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
    priority_field: str | None = None,
    source_srid: int | None = None,
    repair: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> BoundaryFile:
    frame = _read_frame(path)
    _require_fields(
        frame,
        path,
        name_field=name_field,
        population_field=population_field,
        team_field=team_field,
        priority_field=priority_field,
    )
    frame, source_crs = _to_wgs84(frame, source_srid)
    return _neighborhoods(
        frame,
        name_field=name_field,
        population_field=population_field,
        team_field=team_field,
        priority_field=priority_field,
        repair=repair,
        source_crs=source_crs,
        progress=progress,
    )


def _read_frame(path: Path) -> gpd.GeoDataFrame:
    if not path.exists():
        raise BoundaryFileError(_("%(path)s: no such file.") % {"path": path})
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise BoundaryFileError(
            _(
                "%(path)s: unsupported file type %(suffix)s; use GeoJSON, a Shapefile "
                "(.shp, or zipped as .zip) or a GeoPackage (.gpkg)."
            )
            % {"path": path, "suffix": path.suffix or _("(none)")}
        )
    _check_file(path)
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several DataSource/DataLayer error types
        raise BoundaryFileError(
            _("%(path)s: could not be read as a boundary file (%(error)s).")
            % {"path": path, "error": exc}
        ) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        raise BoundaryFileError(_("%(path)s: the file has no geometry column.") % {"path": path})
    if frame.empty:
        raise BoundaryFileError(_("%(path)s: the file holds no features.") % {"path": path})
    _check_vertices(frame, path)
    return frame


def _check_file(path: Path) -> None:
    """Refuse, before GDAL reads a byte of it, a file over MAPIDEAS_IMPORT_MAX_BYTES (a zip: by
    what it unpacks to, so a zip bomb is not unpacked), a damaged zip, and a shapefile without
    the .shx and .dbf it cannot be read without."""
    limit = settings.MAPIDEAS_IMPORT_MAX_BYTES
    size = path.stat().st_size
    if size > limit:
        raise BoundaryFileError(
            _(
                "%(path)s: %(size)s bytes, more than the %(limit)s an import reads "
                "(MAPIDEAS_IMPORT_MAX_BYTES)."
            )
            % {"path": path, "size": f"{size:,}", "limit": f"{limit:,}"}
        )
    suffix = path.suffix.lower()
    if suffix == ".shp":
        siblings = {p.name.lower() for p in path.parent.iterdir()}
        _check_shapefile_parts(path, [path.name], siblings)
    if suffix != ".zip":
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise BoundaryFileError(
            _("%(path)s: the .zip file is damaged or not a zip file.") % {"path": path}
        ) from None
    unpacked = sum(member.file_size for member in members)
    if unpacked > limit:
        raise BoundaryFileError(
            _(
                "%(path)s: unpacks to %(size)s bytes, more than the %(limit)s an import reads "
                "(MAPIDEAS_IMPORT_MAX_BYTES)."
            )
            % {"path": path, "size": f"{unpacked:,}", "limit": f"{limit:,}"}
        )
    names = [member.filename for member in members if not member.is_dir()]
    shapefiles = [name for name in names if name.lower().endswith(".shp")]
    _check_shapefile_parts(path, shapefiles, {name.lower() for name in names})


def _check_shapefile_parts(path: Path, shapefiles: list[str], present: set[str]) -> None:
    for shp in shapefiles:
        stem = shp[: -len(".shp")]
        missing = [part for part in (".shx", ".dbf") if f"{stem}{part}".lower() not in present]
        if missing:
            raise BoundaryFileError(
                _(
                    "%(path)s: the shapefile %(shp)s comes without its %(missing)s "
                    "(a shapefile is read from its .shp, .shx and .dbf, with a .prj for its CRS)."
                )
                % {"path": path, "shp": shp, "missing": _(" and ").join(missing)}
            )


def _check_vertices(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Refuse a feature with more than MAPIDEAS_IMPORT_MAX_VERTICES vertices, naming it: repair,
    reprojection and routing on it would cost time and memory out of all proportion."""
    limit = settings.MAPIDEAS_IMPORT_MAX_VERTICES
    counts = shapely.get_num_coordinates(frame.geometry.values)
    worst = int(counts.argmax())
    if counts[worst] > limit:
        raise BoundaryFileError(
            _(
                "%(path)s: feature %(position)s has %(vertices)s vertices, more than the "
                "%(limit)s a feature may have (MAPIDEAS_IMPORT_MAX_VERTICES); simplify it first "
                "(for example ogr2ogr -simplify)."
            )
            % {
                "path": path,
                "position": worst + 1,
                "vertices": f"{int(counts[worst]):,}",
                "limit": f"{limit:,}",
            }
        )


def _require_fields(frame: gpd.GeoDataFrame, path: Path, **fields: str | None) -> None:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    for argument, wanted in fields.items():
        if wanted is not None and wanted not in frame.columns:
            raise BoundaryFileError(
                _("%(path)s: no field %(field)s. Fields in the file: %(fields)s.")
                % {"path": path, "field": repr(wanted), "fields": ", ".join(columns)},
                field=argument,
            )


def _to_wgs84(frame: gpd.GeoDataFrame, source_srid: int | None) -> tuple[gpd.GeoDataFrame, str]:
    if source_srid is not None:
        try:
            crs = CRS.from_epsg(source_srid)
        except CRSError as exc:
            raise BoundaryFileError(
                _("--source-srid %(srid)s: unknown EPSG code.") % {"srid": source_srid},
                field="source_srid",
            ) from exc
        # An explicit --source-srid wins over whatever the file says (e.g. a wrong .prj).
        frame = frame.set_crs(crs, allow_override=True)
    elif frame.crs is None:
        raise BoundaryFileError(
            _(
                "The file does not say which coordinate reference system it uses (no or "
                "unreadable .prj). Give it with --source-srid, e.g. --source-srid 4326 for "
                "longitude/latitude."
            ),
            field="source_srid",
        )
    source = frame.crs.to_string()
    frame = frame.to_crs(4326)
    min_x, min_y, max_x, max_y = frame.total_bounds
    if not all(math.isfinite(v) for v in (min_x, min_y, max_x, max_y)) or not (
        -180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90
    ):
        raise BoundaryFileError(
            _(
                "Reprojected from %(source)s, the coordinates fall off the globe "
                "(%(bounds)s): the file's CRS is wrong. Give the right one with --source-srid."
            )
            % {
                "source": source,
                "bounds": f"{min_x:.1f}, {min_y:.1f}, {max_x:.1f}, {max_y:.1f}",
            },
            field="source_srid",
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
    text = str(value).strip()
    # Thousands separators ("12,345") are fine; a decimal comma ("1,5") is not a head count.
    if THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        number = float(text)
    except ValueError:
        raise BoundaryFileError(
            _("%(name)s: %(field)s is %(value)s, not a number of residents.")
            % {"name": name, "field": population_field, "value": repr(value)},
            field="population_field",
        ) from None
    if not math.isfinite(number) or number < 0 or not number.is_integer():
        raise BoundaryFileError(
            _("%(name)s: %(field)s is %(value)s, not a whole number of residents.")
            % {"name": name, "field": population_field, "value": repr(value)},
            field="population_field",
        )
    return int(number)


def _priority(value: object, name: str, priority_field: str) -> int:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return 0
    try:
        number = float(str(value).strip())
    except ValueError:
        raise BoundaryFileError(
            _("%(name)s: %(field)s is %(value)s, not a number.")
            % {"name": name, "field": priority_field, "value": repr(value)},
            field="priority_field",
        ) from None
    if not number.is_integer() or not -32768 <= number <= 32767:
        raise BoundaryFileError(
            _("%(name)s: %(field)s is %(value)s, not a whole number.")
            % {"name": name, "field": priority_field, "value": repr(value)},
            field="priority_field",
        )
    return int(number)


def _stored_name(name: str, *, position: int, field: str, form_field: str) -> str:
    """A name read from the file, as MapIdeas stores text (mapideas.plumbing.stored_text):
    a name holding a control character or a noncharacter refuses the file, naming the
    feature and its column."""
    try:
        return stored_text(name)
    except ValidationError as exc:
        raise BoundaryFileError(
            _("Feature %(position)s: %(field)s %(reason)s.")
            % {"position": position, "field": field, "reason": exc.messages[0]},
            field=form_field,
        ) from None


def _neighborhoods(
    frame: gpd.GeoDataFrame,
    *,
    name_field: str,
    population_field: str | None,
    team_field: str | None,
    priority_field: str | None,
    repair: bool,
    source_crs: str,
    progress: Callable[[int, int], None] | None,
) -> BoundaryFile:
    result = BoundaryFile(items=[], source_crs=source_crs)
    by_name: dict[str, dict] = {}
    total = len(frame)
    columns = list(frame.columns)
    for position, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        if progress is not None and (position % 100 == 0 or position == total):
            progress(position, total)
        record = dict(zip(columns, values, strict=True))
        raw_name = record.get(name_field)
        name = "" if raw_name is None or raw_name != raw_name else str(raw_name).strip()
        if not name:
            raise BoundaryFileError(
                _("Feature %(position)s: %(field)s is empty.")
                % {"position": position, "field": name_field},
                field="name_field",
            )
        name = _stored_name(name, position=position, field=name_field, form_field="name_field")
        geometry = record.get(frame.geometry.name)
        if geometry is None or geometry.is_empty:
            raise BoundaryFileError(
                _("%(name)s (feature %(position)s): no geometry.")
                % {"name": name, "position": position}
            )
        if not shapely.is_valid(geometry):
            reason = shapely.is_valid_reason(geometry)
            if not repair:
                raise BoundaryFileError(
                    _(
                        "%(name)s (feature %(position)s): invalid polygon (%(reason)s). "
                        "Fix the file or import without --no-repair."
                    )
                    % {"name": name, "position": position, "reason": reason},
                    field="repair",
                )
            geometry = shapely.make_valid(geometry)
            result.repairs.append(f"{name}: repaired ({reason})")
        polygons = _polygonal(geometry)
        if polygons is None:
            raise BoundaryFileError(
                _("%(name)s (feature %(position)s): a %(type)s, not a polygon.")
                % {"name": name, "position": position, "type": geometry.geom_type}
            )
        population = (
            _population(record.get(population_field), name, population_field)
            if population_field
            else None
        )
        team = record.get(team_field) if team_field else None
        team_name = None if team is None or team != team else str(team).strip() or None
        if team_name is not None and team_field is not None:
            team_name = _stored_name(
                team_name, position=position, field=team_field, form_field="team_field"
            )
        priority = (
            _priority(record.get(priority_field), name, priority_field) if priority_field else 0
        )
        if name in by_name:
            # Several features with one name are one neighborhood drawn in pieces.
            entry = by_name[name]
            entry["parts"].append(polygons)
            if population is not None:
                entry["population"] = (entry["population"] or 0) + population
            result.merged.append(f"{name}: feature {position} merged into the earlier one")
        else:
            by_name[name] = {
                "parts": [polygons],
                "population": population,
                "team": team_name,
                "priority": priority,
            }
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
                priority=entry["priority"],
            )
        )
    return result


def _to_geos(geometry: shapely.MultiPolygon) -> MultiPolygon:
    geos = GEOSGeometry(memoryview(shapely.to_wkb(geometry)), srid=4326)
    if not isinstance(geos, MultiPolygon):
        geos = MultiPolygon(geos, srid=4326)
    return geos


@dataclass
class MovedIdeas:
    """Open pins a boundary change sends to another team (or neighborhood)."""

    total: int = 0
    team_changed: int = 0
    by_teams: list[tuple[str, str, int]] = field(default_factory=list)  # from, to, count
    examples: list[str] = field(default_factory=list)


@dataclass
class BoundaryImport:
    file: BoundaryFile
    changes: BoundaryChanges
    moved: MovedIdeas | None  # None when the version was stored without activating it
    version: BoundaryVersion | None  # None after a dry run: nothing was written
    committed: bool


class _DryRun(Exception):
    def __init__(self, result: BoundaryImport) -> None:
        self.result = result


def _moved(version: BoundaryVersion, reroute: RerouteResult) -> MovedIdeas:
    events = RoutingEvent.objects.filter(
        boundary_version=version, cause=RoutingEvent.Cause.BOUNDARY_CHANGE
    )
    by_teams = (
        events.exclude(from_team=F("to_team"))
        .values_list("from_team__name", "to_team__name")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    examples = [
        f"#{e.idea_id} {e.idea.title!r}: {e.from_team.name if e.from_team else '-'} -> "
        f"{e.to_team.name}"
        for e in events.exclude(from_team=F("to_team")).select_related(
            "idea", "from_team", "to_team"
        )[:20]
    ]
    return MovedIdeas(
        total=reroute.moved,
        team_changed=reroute.team_changed,
        by_teams=[(a, b, n) for a, b, n in by_teams],
        examples=examples,
    )


def _report_text(boundaries: BoundaryFile, changes: BoundaryChanges) -> str:
    lines = [f"Source CRS: {boundaries.source_crs}"]
    lines += boundaries.repairs + boundaries.merged
    lines += [f"Overlap: {o.first} / {o.second}: {o.area_m2:,.0f} m²" for o in changes.overlaps]
    lines += [
        f"Gap near {', '.join(g.near) or 'no neighborhood'}: {g.area_m2:,.0f} m² "
        f"at ({g.where[0]:.6f}, {g.where[1]:.6f})"
        for g in changes.gaps
    ]
    return "\n".join(lines)


def import_boundaries(
    boundaries: BoundaryFile,
    *,
    label: str,
    commit: bool,
    activate: bool = True,
    actor: User | AnonymousUser | None = None,
) -> BoundaryImport:
    """Store `boundaries` as a new version and (by default) activate it, re-routing open pins.

    Without `commit` everything is done inside a transaction that is then rolled back: the
    report (changes, overlaps, gaps, pins that would move) is exact, and nothing is written.
    """
    try:
        with transaction.atomic():
            version, changes = boundary_version_create(
                label=label, items=boundaries.items, report=""
            )
            version.report = _report_text(boundaries, changes)
            version.save(update_fields=["report"])
            moved = None
            if activate:
                reroute = boundaries_activate(
                    version=version, reason=f"New boundaries: {label}", actor=actor
                )
                moved = _moved(version, reroute)
            result = BoundaryImport(
                file=boundaries, changes=changes, moved=moved, version=version, committed=commit
            )
            if not commit:
                raise _DryRun(result)
    except _DryRun as dry_run:
        dry_run.result.version = None
        return dry_run.result
    return result
