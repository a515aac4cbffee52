"""The place gazetteer: reading street and place names from any file OGR reads, storing them
(Place), and finding a place by name for the map's search box.

`read_places` reads and checks a file; `import_places` stores what was read, replacing the
places an earlier import of the same file left; `search_places` finds neighborhoods and places
by name, and asks the optional external geocoder (MAPIDEAS_GEOCODER_URL) too.
"""

import hashlib
import json
import logging
import math
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pyogrio
import shapely
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.db import transaction

from geodata.imports import boundaries
from geodata.models import Place
from mapideas.map import maps
from mapideas.plumbing.stored_text import first_unstorable, unstorable_message
from mapideas.plumbing.text import normalise
from neighborhoods.selectors import active_neighborhoods

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = Place._meta.get_field("name").max_length
KIND_MAX_LENGTH = Place._meta.get_field("kind").max_length
SEARCH_LIMIT = 10
QUERY_MAX_LENGTH = 100
# Rows read from the database per search before ranking: prefix matches are looked for first,
# so a common substring ("straat") cannot push them out.
_CANDIDATES = 200
GEOCODER_CACHE_SECONDS = 24 * 3600
GEOCODER_FAILED_NOTE = (
    "The external place search did not answer; these are the city's own place names only."
)


class PlaceFileError(Exception):
    """The file cannot be imported as it is; the message names the file or field at fault."""


@dataclass
class PlaceInput:
    name: str
    kind: str
    point: tuple[float, float]  # lon, lat
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


@dataclass
class PlaceFile:
    items: list[PlaceInput]
    source_crs: str
    # Features left out, one note each (no name, no geometry).
    skipped: list[str] = field(default_factory=list)


def read_places(
    path: Path,
    *,
    name_field: str,
    kind_field: str | None = None,
    default_kind: str = "place",
    layer: str | None = None,
    source_srid: int | None = None,
) -> PlaceFile:
    """Read the named features of `path` (any format OGR reads, any CRS), reprojected to
    EPSG:4326. Features without a name or a geometry are skipped and reported."""
    if not path.exists():
        raise PlaceFileError(f"{path}: no such file.")
    try:
        # The same size, zip-bomb and shapefile-parts checks as a boundary file.
        boundaries._check_file(path)
        layers = [name for name, _type in pyogrio.list_layers(path)]
    except boundaries.BoundaryFileError as exc:
        raise PlaceFileError(str(exc)) from exc
    except Exception as exc:  # pyogrio raises several DataSource error types
        raise PlaceFileError(f"{path}: could not be read as a spatial file ({exc}).") from exc
    if layer is not None and layer not in layers:
        raise PlaceFileError(
            f"{path}: no layer {layer!r} (--layer). Layers in the file: {', '.join(layers)}."
        )
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:
        raise PlaceFileError(f"{path}: could not be read as a spatial file ({exc}).") from exc
    if frame.geometry is None or frame.empty:
        raise PlaceFileError(f"{path}: the file holds no features with a geometry.")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    for option, wanted in (("--name-field", name_field), ("--kind-field", kind_field)):
        if wanted is not None and wanted not in columns:
            raise PlaceFileError(
                f"{path}: no field {wanted!r} ({option}). Fields in the file: {', '.join(columns)}."
            )
    try:
        frame, source_crs = boundaries._to_wgs84(frame, source_srid)
    except boundaries.BoundaryFileError as exc:
        raise PlaceFileError(f"{path}: {exc}") from exc
    items: list[PlaceInput] = []
    skipped: list[str] = []
    for number, (name, kind, geometry) in enumerate(
        zip(
            frame[name_field],
            frame[kind_field] if kind_field else [default_kind] * len(frame),
            frame.geometry,
            strict=True,
        ),
        start=1,
    ):
        name = _text(name)[:NAME_MAX_LENGTH]
        if not name:
            skipped.append(f"feature {number}: no {name_field}")
            continue
        kind_text = _text(kind)
        # Place names are shown, searched and exported like any stored text: a feature whose
        # name or kind holds a character MapIdeas never stores is left out, and said.
        unstorable = first_unstorable(name) or first_unstorable(kind_text)
        if unstorable is not None:
            skipped.append(
                f"feature {number}: {name_field if first_unstorable(name) else kind_field} "
                f"{unstorable_message(unstorable)}"
            )
            continue
        if geometry is None or geometry.is_empty:
            skipped.append(f"feature {number} ({name}): no geometry")
            continue
        west, south, east, north = (float(v) for v in geometry.bounds)
        items.append(
            PlaceInput(
                name=name,
                kind=(kind_text or default_kind)[:KIND_MAX_LENGTH],
                point=_point_on(geometry),
                bbox=(west, south, east, north),
            )
        )
    return PlaceFile(items=items, source_crs=source_crs, skipped=skipped)


def _text(value: object) -> str:
    # pandas gives None or NaN for an empty attribute.
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split())


def _point_on(geometry: shapely.Geometry) -> tuple[float, float]:
    """A point on the feature: the middle of a line (a street's centroid may lie off it, in
    a bend), a point inside a polygon, the point itself."""
    if geometry.geom_type in ("LineString", "MultiLineString"):
        merged = geometry
        if geometry.geom_type == "MultiLineString":
            merged = shapely.line_merge(geometry)
        if merged.geom_type == "MultiLineString":
            merged = max(merged.geoms, key=lambda line: line.length)
        point = merged.interpolate(0.5, normalized=True)
    else:
        point = geometry.point_on_surface()
    return float(point.x), float(point.y)


@transaction.atomic
def import_places(places: PlaceFile, *, source: str) -> tuple[int, int]:
    """Store the places read from `source` (a file name), replacing those an earlier import of
    the same source left: all or nothing. Returns (deleted, created)."""
    deleted, _by_model = Place.objects.filter(source=source).delete()
    Place.objects.bulk_create(
        [
            Place(
                name=item.name,
                name_normalized=normalise(item.name)[:NAME_MAX_LENGTH],
                kind=item.kind,
                point=Point(*item.point, srid=4326),
                min_lon=item.bbox[0],
                min_lat=item.bbox[1],
                max_lon=item.bbox[2],
                max_lat=item.bbox[3],
                source=source,
            )
            for item in places.items
        ],
        batch_size=1000,
    )
    return deleted, len(places.items)


@dataclass
class PlaceResult:
    name: str
    kind: str
    source: str  # "neighborhood", "place" (imported) or "geocoder"
    lon: float
    lat: float
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


@dataclass
class PlaceSearch:
    results: list[PlaceResult]
    # Said to the citizen when the external geocoder was asked and failed.
    note: str | None = None


def _rank(name_normalized: str, query: str) -> int:
    """0 for a name starting with the query, 1 for a word of it starting with it, 2 for the
    query anywhere else in it."""
    if name_normalized.startswith(query):
        return 0
    if any(word.startswith(query) for word in name_normalized.split()):
        return 1
    return 2


def search_places(query: str, *, limit: int = SEARCH_LIMIT) -> PlaceSearch:
    """Active neighborhoods and imported places whose name holds `query`, accents and case
    ignored: names starting with it first, then names with a word starting with it, then the
    rest; shorter names first within each (the closest match), neighborhoods before places of
    the same rank. Then, when MAPIDEAS_GEOCODER_URL is set and places are missing, what the
    external geocoder finds within the city."""
    wanted = normalise(query)
    if not wanted:
        return PlaceSearch(results=[])
    ranked: list[tuple[tuple, PlaceResult | int]] = []
    # Neighborhoods are few (hundreds) and their names are not stored normalised: matched in
    # Python on the names alone, their polygons read only for the matches kept.
    for pk, name in active_neighborhoods().values_list("pk", "name"):
        normalised = normalise(name)
        if wanted in normalised:
            ranked.append(((_rank(normalised, wanted), len(normalised), 0, normalised), pk))
    places = Place.objects.filter(name_normalized__contains=wanted).order_by("name_normalized")
    candidates = {p.pk: p for p in places.filter(name_normalized__startswith=wanted)[:_CANDIDATES]}
    candidates.update((p.pk, p) for p in places[:_CANDIDATES] if p.pk not in candidates)
    for place in candidates.values():
        ranked.append(
            (
                (_rank(place.name_normalized, wanted), len(place.name_normalized), 1, place.name),
                PlaceResult(
                    name=place.name,
                    kind=place.kind,
                    source="place",
                    lon=place.point.x,
                    lat=place.point.y,
                    bbox=(place.min_lon, place.min_lat, place.max_lon, place.max_lat),
                ),
            )
        )
    ranked.sort(key=lambda pair: pair[0])
    kept = [item for _key, item in ranked[:limit]]
    neighborhood_ids = [item for item in kept if isinstance(item, int)]
    polygons = {n.pk: n for n in active_neighborhoods().filter(pk__in=neighborhood_ids)}
    results = [
        _neighborhood_result(polygons[item]) if isinstance(item, int) else item for item in kept
    ]
    note = None
    if settings.MAPIDEAS_GEOCODER_URL and len(results) < limit:
        # Kept a day per query: a search box asks as the citizen types, and Nominatim's usage
        # policy allows one request a second. Failures are not kept: the next search retries.
        asked = f"{settings.MAPIDEAS_GEOCODER_URL}\n{wanted}\n{limit}"
        key = "geocoder:" + hashlib.sha256(asked.encode()).hexdigest()
        try:
            found = cache.get(key)
            if found is None:
                found = geocode(query, limit=limit)
                cache.set(key, found, GEOCODER_CACHE_SECONDS)
        except GeocoderError as exc:
            logger.warning("Geocoder failed for a place search: %s", exc)
            note = GEOCODER_FAILED_NOTE
        else:
            seen = {normalise(result.name) for result in results}
            results += [r for r in found if normalise(r.name) not in seen]
    return PlaceSearch(results=results[:limit], note=note)


def _neighborhood_result(neighborhood) -> PlaceResult:
    geometry = neighborhood.geometry
    point = geometry.point_on_surface
    return PlaceResult(
        name=neighborhood.name,
        kind="neighborhood",
        source="neighborhood",
        lon=point.x,
        lat=point.y,
        bbox=tuple(geometry.extent),
    )


class GeocoderError(Exception):
    """The external geocoder could not be asked or gave no usable answer."""


def geocode(query: str, *, limit: int = SEARCH_LIMIT) -> list[PlaceResult]:
    """Ask the Nominatim-compatible geocoder at MAPIDEAS_GEOCODER_URL, bounded to the city's
    extent (the active neighborhoods' box): a street of the same name in another city is never
    offered. Raises GeocoderError on any failure; the caller degrades to local results."""
    box = maps.extent(active_neighborhoods())
    if box is None:
        return []
    min_lon, min_lat, max_lon, max_lat = box
    params = urllib.parse.urlencode(
        {
            "q": query,
            "format": "jsonv2",
            "limit": str(limit),
            # Nominatim's viewbox is x1,y1,x2,y2 (any two corners); bounded=1 keeps results in it.
            "viewbox": f"{min_lon},{max_lat},{max_lon},{min_lat}",
            "bounded": "1",
        }
    )
    url = settings.MAPIDEAS_GEOCODER_URL.rstrip("/") + "/search?" + params
    # The scheme is http(s), checked at start-up (settings._geocoder_url): never file:.
    request = urllib.request.Request(  # noqa: S310
        url,
        # Nominatim's usage policy asks for an identifying User-Agent.
        headers={"User-Agent": "MapIdeas place search", "Accept": "application/json"},
    )
    try:
        timeout = settings.MAPIDEAS_GEOCODER_TIMEOUT
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            # A place list is small; more than 1 MB is not a geocoder's answer.
            body = json.loads(answer.read(1024 * 1024))
    except (OSError, ValueError) as exc:  # URLError, timeouts and bad JSON alike
        raise GeocoderError(str(exc)) from exc
    if not isinstance(body, list):
        raise GeocoderError("the answer is not a list of places")
    results = []
    for hit in body[:limit]:
        try:
            lat, lon = float(hit["lat"]), float(hit["lon"])
            # Nominatim's boundingbox is [min lat, max lat, min lon, max lon], as strings.
            south, north, west, east = (float(v) for v in hit.get("boundingbox") or ())
            name = str(hit.get("display_name") or hit["name"])[:NAME_MAX_LENGTH]
        except (KeyError, TypeError, ValueError):
            continue  # one odd hit does not spoil the others
        if not all(math.isfinite(v) for v in (lat, lon, south, north, west, east)):
            continue
        results.append(
            PlaceResult(
                name=name,
                kind=str(hit.get("type") or hit.get("category") or "place")[:KIND_MAX_LENGTH],
                source="geocoder",
                lon=lon,
                lat=lat,
                bbox=(west, south, east, north),
            )
        )
    return results
