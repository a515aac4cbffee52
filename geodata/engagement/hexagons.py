"""H3 cells (resolution 7-9) with pin counts; with population, each cell's residents by areal
weighting of the neighborhood populations."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice, repeat

import geopandas as gpd
import h3
import h3.api.basic_int as h3_int
import numpy as np
import pandas as pd
import psycopg
import shapely
from django.db import connections
from django.db.models import Count, Q, QuerySet

from geodata.engagement.coldspots import _equal_area, _project
from geodata.engagement.fields import CHUNK_SIZE, OFFLINE_CHANNELS, RESOLUTIONS
from geodata.engagement.intervals import poisson_interval
from geodata.engagement.rates import (
    COUNTED_COLUMNS,
    INTERVAL_COLUMNS,
    NeighborhoodEngagement,
    Selection,
)
from mapideas.cells import CELL_FIELDS
from mapideas.map.coordinates import Latitude, Longitude
from mapideas.map.viewport_counts import cell_counts
from mapideas.models import Idea
from mapideas.pins.serializers import COORDINATE_PRECISION

try:
    # The compiled function under h3.api.basic_int.latlng_to_cell (which only passes its
    # integer through): the same cell, a third faster per call, for a million calls a request.
    from h3._cy import latlng_to_cell as _latlng_to_cell
except ImportError:  # h3 moved its internals: the public function gives the same cells
    _latlng_to_cell = h3_int.latlng_to_cell


# --- hexagons ---------------------------------------------------------------------------------


def _lon_lat(ideas: QuerySet[Idea]) -> Iterator[np.ndarray]:
    """The pins' coordinates as (n, 2) arrays of lon, lat: on PostgreSQL all at once, else
    CHUNK_SIZE rows at a time."""
    if connections[ideas.db].vendor == "postgresql":
        yield _lon_lat_postgresql(ideas)
        return
    rows = (
        ideas.order_by()
        .annotate(
            lon=Longitude("location"),
            lat=Latitude("location"),
        )
        .values_list("lon", "lat")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    while chunk := list(islice(rows, CHUNK_SIZE)):
        yield np.array(chunk, dtype=float)


def _lon_lat_postgresql(ideas: QuerySet[Idea]) -> np.ndarray:
    """Every pin's lon, lat in one row of two float8 arrays, read in binary: 16 bytes a pin
    and no Python object per row (a row per pin through the ORM took 3x as long)."""
    # The PostgreSQL backend's own module: imported only where the database is PostgreSQL.
    from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations

    sql, params = ideas.order_by().values_list("location").query.sql_with_params()
    # The ORM's own SQL as a subquery; its values are bound by compose_sql.
    arrays = f"SELECT array_agg(ST_X(p.location)), array_agg(ST_Y(p.location)) FROM ({sql}) p"  # noqa: S608
    # The queryset's own database: the replica when it was asked for (mapideas.plumbing.db_routers).
    connection = connections[ideas.db]
    # Only called on PostgreSQL (_lon_lat checks the vendor), whose operations (PostGIS's
    # too) have compose_sql.
    assert isinstance(connection.ops, PostgresOperations)
    query = connection.ops.compose_sql(arrays, params)
    connection.ensure_connection()
    # A server-binding cursor of the same connection (and transaction): Django's own
    # cursors bind on the client, and those cannot return binary results. The parameters
    # were bound above, by the driver's own quoting (compose_sql), as Django's cursor does.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, binary=True)
        row = cursor.fetchone()
    # An aggregate without GROUP BY: always one row (of NULLs when there are no pins).
    assert row is not None
    lon, lat = row
    if lon is None:
        return np.empty((0, 2), dtype=float)
    return np.column_stack((np.array(lon, dtype=float), np.array(lat, dtype=float)))


def pin_cells(ideas: QuerySet[Idea], resolution: int) -> pd.Series:
    """Pins per H3 cell at `resolution` (index: the cell as an unsigned integer).

    One GROUP BY on the cell stored with each pin at that resolution (mapideas.cells). Pins
    stored without cells (rows written by raw SQL) come back as the NULL group; only then
    are their coordinates read and binned here.
    """
    field = CELL_FIELDS[resolution]
    counts: dict[int, int] = {}
    unbinned = 0
    for cell, pins in ideas.order_by().values_list(field).annotate(pins=Count("*")):
        if cell is None:
            unbinned = pins
        else:
            counts[cell] = pins
    return _with_unbinned(ideas, resolution, counts, unbinned)


@dataclass(frozen=True)
class PinGroups:
    """A selection's pins counted once by (neighborhood, cell): both what the neighborhoods'
    figures count (rates.neighborhood_engagement's `counted`) and the pins per cell."""

    neighborhoods: pd.DataFrame  # rates.COUNTED_COLUMNS, the trend windows' columns 0
    cells: dict[int, int]  # pins per stored cell
    unbinned: int  # pins stored without a cell at the resolution


def pin_groups(selection: Selection, resolution: int) -> PinGroups:
    """One GROUP BY (neighborhood_id, cell at `resolution`) of the selection's pins, with
    how many came from offline channels: for a hexagon layer whose pins the kept totals
    cannot count (a date range). Its neighborhoods' figures and its cells each read the
    same pins before, two scans where the bare cell count is one (a 45-day range of the
    1M-pin bench city: 345 ms and 266 ms, one scan of both 350 ms)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}")
    field = CELL_FIELDS[resolution]
    rows = list(
        selection.ideas.order_by()
        .values_list("neighborhood_id", field)
        .annotate(pins=Count("*"), offline=Count("id", filter=Q(channel__in=OFFLINE_CHANNELS)))
    )
    neighborhoods: dict[int, list[int]] = {}
    cells: dict[int, int] = {}
    unbinned = 0
    for neighborhood_id, cell, pins, offline in rows:
        counted = neighborhoods.setdefault(
            -1 if neighborhood_id is None else neighborhood_id, [0, 0]
        )
        counted[0] += pins
        counted[1] += offline
        if cell is None:
            unbinned += pins
        else:
            cells[cell] = cells.get(cell, 0) + pins
    frame = pd.DataFrame(
        [(nid, pins, offline, 0, 0) for nid, (pins, offline) in neighborhoods.items()],
        columns=COUNTED_COLUMNS,
    )
    return PinGroups(frame, cells, unbinned)


def selection_cells(
    selection: Selection, resolution: int, groups: PinGroups | None = None
) -> pd.Series:
    """pin_cells of the selection's pins, read from the counts kept on write (a row a cell:
    mapideas.map.viewport_counts) when its filters allow, as the map's clusters are: at 1M
    pins the GROUP BY of every pin was most of a hexagon layer's time. Pins stored without
    cells (cell 0 there) are binned from their coordinates, as pin_cells does. `groups`:
    the selection's pin_groups at `resolution`, already read."""
    if groups is not None:
        return _with_unbinned(selection.ideas, resolution, dict(groups.cells), groups.unbinned)
    if selection.kept is None:
        return pin_cells(selection.ideas, resolution)
    counts, unbinned = cell_counts(
        using=selection.ideas.db, resolution=resolution, cells=None, filters=selection.kept
    )
    return _with_unbinned(selection.ideas, resolution, counts, unbinned)


def _with_unbinned(
    ideas: QuerySet[Idea], resolution: int, counts: dict[int, int], unbinned: int
) -> pd.Series:
    """`counts` (pins per stored cell) as a Series by cell, with the `unbinned` pins (stored
    without a cell at `resolution`) binned from their coordinates."""
    if unbinned:
        field = CELL_FIELDS[resolution]
        for cell, pins in _cells_from_coordinates(
            ideas.filter(**{f"{field}__isnull": True}), resolution
        ).items():
            counts[cell] = counts.get(cell, 0) + pins
    if not counts:
        return pd.Series(dtype=np.int64)
    series = pd.Series(counts, dtype=np.int64)
    series.index = series.index.astype(np.uint64)
    return series.sort_index()


def _cells_from_coordinates(ideas: QuerySet[Idea], resolution: int) -> dict[int, int]:
    """Pins per cell computed from their coordinates (for pins stored without a cell).

    h3-py 4 has no vectorised latlng_to_cell (v3's h3.unstable.vect is gone), so the C call
    is mapped over the coordinates with no Python work in between: about 0.75 s per million
    pins on one core.
    """
    cells = [
        np.fromiter(
            map(_latlng_to_cell, chunk[:, 1].tolist(), chunk[:, 0].tolist(), repeat(resolution)),
            dtype=np.uint64,
            count=len(chunk),
        )
        for chunk in _lon_lat(ideas)
    ]
    if not cells:
        return {}
    unique, counts = np.unique(np.concatenate(cells), return_counts=True)
    return {int(cell): int(n) for cell, n in zip(unique, counts, strict=True)}


def _covering_cells(geometry: shapely.Geometry, resolution: int) -> list[int]:
    """The cells that overlap the polygon (not only those whose centre is inside it): with
    them, the areal weights of every neighborhood add up to 1."""
    shape = h3.geo_to_h3shape(shapely.geometry.mapping(geometry))
    return [
        h3.str_to_int(c)
        for c in h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap")
    ]


def _cell_polygon(cell: int) -> shapely.Polygon:
    return shapely.Polygon([(lng, lat) for lat, lng in h3_int.cell_to_boundary(cell)])


def polygon_geojson(polygon: shapely.Polygon) -> str:
    """RFC 7946 text of a ring-only polygon: counter-clockwise, 6 decimals."""
    polygon = shapely.orient_polygons(polygon)
    ring = [
        [round(x, COORDINATE_PRECISION), round(y, COORDINATE_PRECISION)]
        for x, y in polygon.exterior.coords
    ]
    return json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":"))


@dataclass(frozen=True)
class HexagonEngagement:
    """One row per cell (index: the cell as an integer) with HEXAGON_FIELDS, `geometry` and
    `geojson`: every cell overlapping a neighborhood, and every other cell holding a pin."""

    engagement: NeighborhoodEngagement
    frame: gpd.GeoDataFrame
    resolution: int
    message: str


def areal_population(
    neighborhoods: gpd.GeoDataFrame, cells: list[int], resolution: int
) -> pd.Series:
    """Residents of each cell: sum over neighborhoods of population × area(cell ∩ n) / area(n).

    Areas are measured in one equal-area projection; `cells` must cover the neighborhoods
    (`_covering_cells`), so each neighborhood's population is shared out in full.
    """
    population = pd.Series(0.0, index=pd.Index(cells, dtype=np.uint64))
    if len(neighborhoods) == 0 or not cells:
        return population
    to_metres = _equal_area(neighborhoods.geometry)
    parts = _project(neighborhoods.geometry.values, to_metres)
    hexagons = _project(np.array([_cell_polygon(c) for c in cells], dtype=object), to_metres)
    tree = shapely.STRtree(hexagons)
    nbhd, cell = tree.query(parts, predicate="intersects")
    shared = shapely.area(shapely.intersection(parts[nbhd], hexagons[cell]))
    whole = shapely.area(parts)
    residents = neighborhoods["population"].astype(float).to_numpy()
    shares = residents[nbhd] * shared / whole[nbhd]
    summed = np.bincount(cell, weights=shares, minlength=len(cells))
    population[:] = summed
    return population


@dataclass(frozen=True)
class _CityCells:
    """What a resolution's cells are, whatever the pins: the cells covering the city, each
    with its polygon, RFC 7946 text and area, and (when every population is known) its
    residents by areal weighting."""

    covering: frozenset[int]
    polygons: dict[int, shapely.Polygon]
    geojson: dict[int, str]
    area_km2: dict[int, float]
    population: pd.Series | None


# Per process, the few latest (boundaries, populations, resolution) asked for, keyed by the
# neighborhoods' shapes themselves (their RFC 7946 text: a row id can come back after a
# rollback or a flush, a shape cannot be mistaken) and populations. Recomputing one takes a
# second at resolution 9 (the polygons of thousands of cells, their intersections with each
# neighborhood), on every request; nothing here is a count of pins.
_CITY_CELLS: dict[tuple, _CityCells] = {}
_CITY_CELLS_KEPT = 6


def city_cells(neighborhoods: gpd.GeoDataFrame, resolution: int, with_population: bool):
    key = (
        resolution,
        with_population,
        tuple(neighborhoods["geojson"]),
        tuple(None if pd.isna(p) else int(p) for p in neighborhoods["population"]),
    )
    cached = _CITY_CELLS.get(key)
    if cached is not None:
        return cached
    covering: set[int] = set()
    for geometry in neighborhoods.geometry:
        covering.update(_covering_cells(geometry, resolution))
    cells = sorted(covering)
    polygons = {c: _cell_polygon(c) for c in cells}
    computed = _CityCells(
        covering=frozenset(covering),
        polygons=polygons,
        geojson={c: polygon_geojson(polygons[c]) for c in cells},
        area_km2={c: h3_int.cell_area(c, unit="km^2") for c in cells},
        population=areal_population(neighborhoods, cells, resolution) if with_population else None,
    )
    while len(_CITY_CELLS) >= _CITY_CELLS_KEPT:
        _CITY_CELLS.pop(next(iter(_CITY_CELLS)))
    _CITY_CELLS[key] = computed
    return computed


def hexagon_engagement(
    selection: Selection,
    engagement: NeighborhoodEngagement,
    *,
    resolution: int = 8,
    groups: PinGroups | None = None,
) -> HexagonEngagement:
    """The cells' figures against `engagement`'s city rate; `groups`: the selection's
    pin_groups at `resolution` when the caller read them (for `engagement` too)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}")
    neighborhoods = engagement.frame
    city = city_cells(neighborhoods, resolution, engagement.population_known)
    counts = selection_cells(selection, resolution, groups)
    cells = sorted(city.covering | {int(c) for c in counts.index})
    # Cells holding pins outside every neighborhood (the triage team's gaps) are few.
    polygons = [city.polygons.get(c) or _cell_polygon(c) for c in cells]
    index = pd.Index(np.array(cells, dtype=np.uint64), name="cell_int")
    frame = gpd.GeoDataFrame(
        {
            "cell": [h3.int_to_str(c) for c in cells],
            "count": counts.reindex(index, fill_value=0).to_numpy(dtype=np.int64),
        },
        geometry=gpd.GeoSeries(polygons, crs="EPSG:4326", index=index),
        index=index,
    )
    frame["area_km2"] = [city.area_km2.get(c) or h3_int.cell_area(c, unit="km^2") for c in cells]
    # Honest small numbers, as for neighborhoods (rates.neighborhood_engagement).
    pins_low, pins_high = poisson_interval(frame["count"].to_numpy())
    frame["too_few"] = frame["count"] < engagement.min_count
    shown = ~frame["too_few"]
    frame["per_km2"] = (frame["count"] / frame["area_km2"]).where(shown)
    frame["per_km2_low"] = pins_low / frame["area_km2"]
    frame["per_km2_high"] = pins_high / frame["area_km2"]
    if engagement.population_known and city.population is not None:
        # A cell outside every neighborhood (pins in a gap) has no known residents: NaN.
        frame["population"] = city.population.reindex(index).to_numpy()
        thousands = frame["population"].where(frame["population"] > 0) / 1000
        frame["per_1000"] = (frame["count"] / thousands).where(shown)
        frame["per_1000_low"] = pins_low / thousands
        frame["per_1000_high"] = pins_high / thousands
        message = (
            "Residents of each cell by areal weighting of the neighborhood populations; "
            + engagement.message
        )
    else:
        frame["population"] = np.nan
        frame["per_1000"] = frame["per_1000_low"] = frame["per_1000_high"] = np.nan
        message = engagement.message
    reference = engagement.city_rate
    basis = engagement.basis
    for suffix in ("", "_low", "_high"):
        frame[f"ratio{suffix}"] = (
            frame[f"{basis}{suffix}"] / reference if reference else pd.Series(np.nan, index=index)
        )
    frame["thin"] = (frame["ratio_high"] < engagement.thin_below).fillna(False).astype(bool)
    # Below the minimum count no figure is shown, as for neighborhoods (rates.INTERVAL_COLUMNS).
    for column in INTERVAL_COLUMNS:
        frame[column] = frame[column].where(shown)
    frame["geojson"] = [
        city.geojson.get(c) or polygon_geojson(p) for c, p in zip(cells, polygons, strict=True)
    ]
    return HexagonEngagement(engagement, frame, resolution, message)
