"""What the map shows of a viewport: the pins themselves when they are few (or the map is
zoomed in far), else clusters with exact counts. A read: a selector, like selectors.py.

Clusters are one GROUP BY in the database on the pins' stored H3 cell (mapideas/cells.py)
of a resolution chosen by zoom: the cheapest exact grouping there is (an integer column,
nothing computed per row). Below zoom 10, where even the coarsest stored cell is a few
pixels, squares of about GRID_PX pixels snapped in the database are counted instead. Pins
written by raw SQL may have no cells (NULL): those are grouped by such squares too, so they
are counted all the same. When a level would give more than MAX_FEATURES groups, the next
coarser one is used; the last resort is a grid sized so that the bbox cannot hold more
squares than MAX_FEATURES, so no answer ever carries more than that many features.

Counts kept on write (`counts` given, as the API does): a GROUP BY over the pins in
view costs a scan of them (241 ms for a city of 1M pins), so the H3 clusters are read from
mapideas_viewportcount instead, which database triggers keep exact in the transaction of
every write (mapideas.map.viewport_counts). What a cluster counts does not change: the pins of
its cell that are in view. The cells lying wholly inside the viewport are read from the
summary; the pins of the cells the viewport's edge cuts are counted from the pins, in the
smaller part of each such cell's box: inside the edge, or outside it (then subtracted from
the cell's count). Filters
the summary cannot answer (a `created` date range), the grid below zoom 10 and a viewport
too large to list its cells take the GROUP BY path, as before.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Literal

import h3
from django.contrib.gis.geos import Polygon
from django.db import connections
from django.db.models import Avg, BooleanField, Count, F, FloatField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Floor

from mapideas.cells import CELL_FIELDS
from mapideas.map.coordinates import Latitude, Longitude
from mapideas.map.viewport_counts import CountFilters, cell_counts
from mapideas.models import Idea
from mapideas.pins import fields as pin_fields
from neighborhoods.spatial_index import in_spatial_index, rtree_ids_sql

# No answer carries more features than this, pins or clusters: what a map move may weigh.
MAX_FEATURES = 5000
# At most this many pins in view (with the filters) are shown as pins at any zoom.
PIN_THRESHOLD = 1000
# From this zoom on, pins are shown whatever their number (a street's worth of map).
PINS_ZOOM = 16
# The H3 resolution clusters start from, by zoom: a cell is then some 20 to 60 px across.
RESOLUTION_BY_ZOOM = ((10, 7), (12, 8), (15, 9))
# Below this zoom the coarsest stored cell (~2.8 km across) is under 20 px: hundreds of
# bubbles would pile up on a city. Squares of about GRID_PX on screen are counted instead.
GRID_BELOW_ZOOM = 10
GRID_PX = 48
# The square (degrees) pins without cells are grouped by, next to the cells of a resolution:
# about a cell's width.
GRID_DEGREES = {7: 0.02, 8: 0.008, 9: 0.003}

# Wider than PostGIS's float4 rounding of `&&` (at most ~3e-5 degrees at 180° of longitude).
EDGE_STRIP_DEGREES = 1e-4
# Counts kept on write: a cell is read from the summary when its centre is farther from the
# viewport's edges than its reach (centre to farthest vertex, measured on cells at the
# viewport's corners) times CELL_REACH_MARGIN plus INTERIOR_MARGIN_DEGREES, or when its
# vertices are all inside by that margin: then every pin of it is in view, whatever the
# cells' small change of shape across a viewport and the curvature of their edges
# (geodesics, centimetres off the straight lines at these sizes).
CELL_REACH_MARGIN = 1.25
INTERIOR_MARGIN_DEGREES = 1e-4
# More cells than this in the viewport (a region's worth at resolution 9): the GROUP BY path.
MAX_LISTED_CELLS = 20000
# PostGIS: the cut cells' pins are counted whole from the covering index by cell when they
# are at most this many (about 10 ms of index-only reads); more (the coarse cells of a
# whole-city view), only the smaller part of each cell, through the spatial index.
MAX_CUT_PINS_BY_CELL = 60000

# SpatiaLite: boxes asked of the R*Tree per compound SELECT (SQLite's limit is 500).
SPATIALITE_BOXES = 250

Mode = Literal["pins", "clusters"]
# The public pin (mapideas.pins.fields) as the map reads it: `.values()` dicts, with the
# coordinates as `lon` and `lat` (_newest below), made into Features by PIN_ROWS' builder
# (mapideas.map.api). Ids of the category and team, not their names: a city has a few,
# named once per answer in the answer's language, where joining them cost two JSON decodes
# per pin.
PIN_ROWS = pin_fields.PinRows(by_position=False, coordinates=("lon", "lat"))
PIN_VALUES = PIN_ROWS.keys


@dataclass(frozen=True)
class Cluster:
    cell: str  # an H3 cell (its hexadecimal name) or a grid square ("grid-<size>-<x>-<y>")
    count: int
    # Where the bubble goes: an H3 cell's centre; a grid square's pins' mean position (a
    # square is larger and its centre can be far from them).
    lon: float
    lat: float


@dataclass(frozen=True)
class Viewport:
    mode: Mode
    total: int  # exact: every pin in view with the filters
    truncated: bool  # pins mode only: more pins than MAX_FEATURES, the newest shown
    # The pins' public fields as PIN_VALUES rows (lon, lat for the location), newest first:
    # plain rows, not model instances, since up to 5,000 are read per map move.
    pins: list[dict] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    # What the clusters group by: "h3-7", "h3-8", "h3-9" or "grid-<degrees>".
    level: str = ""
    # Clusters read from the counts kept on write: exact as of the last commit, so there is
    # nothing to cache (and nothing to invalidate).
    counted_on_write: bool = False


def viewport(
    ideas: QuerySet[Idea], bbox: Polygon, zoom: int, counts: CountFilters | None = None
) -> Viewport:
    """The pins or clusters of `ideas` (already filtered) inside `bbox` at `zoom`.

    `bbox` is a cleaned BBoxField value (WGS84), matched as /api/ideas/?bbox= matches it.
    `counts`: when `ideas` is selectors.public_ideas() with exactly these filters, the
    clusters are read from the counts kept on write; None counts the pins themselves.
    """
    in_view = _in_bbox(ideas, bbox)
    if zoom >= PINS_ZOOM:
        return _pins(ideas, in_view, bbox)
    if counts is not None and zoom >= GRID_BELOW_ZOOM:
        few = _few_by_counts(ideas, bbox, zoom, counts)
        if few is not None:
            return (
                _pins(ideas, in_view, bbox)
                if few
                else _clusters(ideas, in_view, bbox, zoom, counts)
            )
    # A LIMIT, not a COUNT: deciding "few" must not cost a scan of everything in view. On
    # PostGIS by `&&` alone (below): the exact test makes PostgreSQL underestimate the rows
    # and start parallel workers, 15 ms for 1,001 rows. A stray pin or two at the edge can
    # only turn "few" into clusters, whose counts are exact all the same.
    limit = PIN_THRESHOLD + 1
    candidates = _rough(ideas, bbox) if _postgis(ideas) else in_view
    if candidates.order_by().values("pk")[:limit].count() <= min(PIN_THRESHOLD, MAX_FEATURES):
        return _pins(ideas, in_view, bbox)
    return _clusters(ideas, in_view, bbox, zoom, counts)


def _few_by_counts(
    ideas: QuerySet[Idea], bbox: Polygon, zoom: int, filters: CountFilters
) -> bool | None:
    """Whether at most PIN_THRESHOLD pins are in view, decided from the counts kept on
    write when they settle it, else None. The pins of the cells wholly in view are at least
    that many; with those of the cells the edges cut (and any without a cell), at most.

    Asking the pins instead (the LIMIT below) reads their pages through the spatial index:
    163 ms for a zoom-13 view of a 1M-pin city when they were not in PostgreSQL's buffers."""
    resolution = next((res for up_to, res in RESOLUTION_BY_ZOOM if zoom <= up_to), 9)
    plan = _cell_plan(bbox, resolution)
    if plan is None:
        return None
    whole, without_cell = cell_counts(
        using=ideas.db, resolution=resolution, cells=[*plan.interior, *plan.cut], filters=filters
    )
    at_least = sum(whole.get(cell, 0) for cell in plan.interior)
    if at_least > PIN_THRESHOLD:
        return False
    at_most = at_least + sum(whole.get(cell, 0) for cell in plan.cut) + without_cell
    if at_most <= min(PIN_THRESHOLD, MAX_FEATURES):
        return True
    return None


def _in_bbox(ideas: QuerySet[Idea], bbox: Polygon) -> QuerySet[Idea]:
    """The pins inside the bbox, its edges included: what /api/ideas/?bbox= (ST_Intersects)
    selects, at two thirds of its cost on PostGIS (1M pins, a whole-city bbox).

    For points, "intersects a rectangle" is a comparison of coordinates, made exactly here.
    The spatial index comes first (`&&` on PostGIS, the R*Tree on SpatiaLite, where the
    comparison alone scanned every pin: 0.8 s at zoom 13 for 100,000); alone it is not exact
    (it compares boxes rounded outward to 32-bit floats, so a pin a metre outside the edge
    would be counted)."""
    return _rough(_with_coordinates(ideas).filter(_inside(bbox)), bbox)


def _with_coordinates(ideas: QuerySet[Idea]) -> QuerySet[Idea]:
    return ideas.alias(view_lon=Longitude("location"), view_lat=Latitude("location"))


def _inside(bbox: Polygon) -> Q:
    min_lon, min_lat, max_lon, max_lat = bbox.extent
    return Q(view_lon__range=(min_lon, max_lon), view_lat__range=(min_lat, max_lat))


def _rough(ideas: QuerySet[Idea], bbox: Polygon) -> QuerySet[Idea]:
    """The pins the spatial index finds for the bbox: every pin in view, and possibly a few
    up to a metre outside it."""
    return in_spatial_index(ideas, "location", bbox.extent)


def _postgis(ideas: QuerySet[Idea]) -> bool:
    return connections[ideas.db].vendor == "postgresql"


def _edge_strips(bbox: Polygon) -> Q:
    """Pins in thin strips just outside the bbox's four edges (OR'ed, so a corner pin is
    matched once): where PostGIS's `&&` can match pins that are not in view."""
    min_lon, min_lat, max_lon, max_lat = bbox.extent
    m = EDGE_STRIP_DEGREES
    strips = [
        (min_lon - m, min_lat - m, min_lon, max_lat + m),
        (max_lon, min_lat - m, max_lon + m, max_lat + m),
        (min_lon - m, min_lat - m, max_lon + m, min_lat),
        (min_lon - m, max_lat, max_lon + m, max_lat + m),
    ]
    q = Q()
    for strip in strips:
        box = Polygon.from_bbox(strip)
        box.srid = 4326
        q |= Q(location__bboverlaps=box)
    return q


def _newest(pins: QuerySet[Idea]) -> list[dict]:
    return list(
        pins.order_by("-created_at", "-id")
        .annotate(lon=Longitude("location"), lat=Latitude("location"))
        .values(*PIN_VALUES, "lon", "lat")[: MAX_FEATURES + 1]
    )


def _pins(ideas: QuerySet[Idea], in_view: QuerySet[Idea], bbox: Polygon) -> Viewport:
    if _postgis(ideas):
        # By `&&` alone, the exact test made in Python: with ST_X/ST_Y ranges in the SQL,
        # PostgreSQL guessed one row and joined the names by nested loops (88 ms for 2,806
        # pins of a 1M city, 12 ms for the scan itself).
        x0, y0, x1, y1 = bbox.extent
        rough = _newest(_rough(ideas, bbox))
        newest = [r for r in rough if x0 <= r["lon"] <= x1 and y0 <= r["lat"] <= y1]
        if len(newest) < len(rough) and len(rough) > MAX_FEATURES:
            # Pins just outside took places within the LIMIT: ask again, exactly.
            newest = _newest(in_view)
    else:
        newest = _newest(in_view)
    truncated = len(newest) > MAX_FEATURES
    total = in_view.order_by().count() if truncated else len(newest)
    return Viewport(mode="pins", total=total, truncated=truncated, pins=newest[:MAX_FEATURES])


def _clusters(
    ideas: QuerySet[Idea],
    in_view: QuerySet[Idea],
    bbox: Polygon,
    zoom: int,
    counts: CountFilters | None = None,
) -> Viewport:
    if zoom >= GRID_BELOW_ZOOM:
        start = next((res for up_to, res in RESOLUTION_BY_ZOOM if zoom <= up_to), 9)
        for resolution in range(start, min(CELL_FIELDS) - 1, -1):
            clusters: list[Cluster] | None = _UNANSWERED
            if counts is not None:
                clusters = _by_counted_cell(ideas, in_view, bbox, resolution, counts)
            counted_on_write = clusters is not _UNANSWERED
            if not counted_on_write:
                clusters = _by_cell(ideas, in_view, bbox, resolution)
            if clusters is not None:
                return _answer(clusters, f"h3-{resolution}", counted_on_write)
        smallest = GRID_DEGREES[min(CELL_FIELDS)]
    else:
        smallest = GRID_PX * 360 / (256 * 2**zoom)
    # Squares sized so the bbox spans at most MAX_FEATURES of them: no limit needed.
    size = _grid_size(bbox, smallest)
    return _answer(_by_grid(in_view, size) or [], f"grid-{size:g}")


def _answer(clusters: list[Cluster], level: str, counted_on_write: bool = False) -> Viewport:
    total = sum(c.count for c in clusters)
    return Viewport(
        mode="clusters",
        total=total,
        truncated=False,
        clusters=clusters,
        level=level,
        counted_on_write=counted_on_write,
    )


def _by_cell(
    ideas: QuerySet[Idea], in_view: QuerySet[Idea], bbox: Polygon, resolution: int
) -> list[Cluster] | None:
    """Clusters by the stored H3 cell, or None when there would be more than MAX_FEATURES.

    On PostGIS the GROUP BY tests the bbox with `&&` alone, as the bare query would: the
    exact test on every pin (ST_X, ST_Y) made the GROUP BY 1.7x slower over a whole city.
    `&&` may match pins up to a float4 rounding (about a metre) outside the edges, so those
    are counted by the index, in strips along the edges, and taken off their cells."""
    column = CELL_FIELDS[resolution]

    def by_cell(pins: QuerySet[Idea], limit: int | None = None) -> dict[int | None, int]:
        groups = pins.order_by().values(cell=F(column)).annotate(n=Count("pk"))
        rows = groups.values_list("cell", "n")
        return dict(rows if limit is None else rows[:limit])

    if _postgis(ideas):
        rough = _rough(ideas, bbox)
        counts = by_cell(rough, MAX_FEATURES + 1)
        if len(counts) > MAX_FEATURES:
            return None
        strayed = _with_coordinates(rough).filter(_edge_strips(bbox)).exclude(_inside(bbox))
        for cell, n in by_cell(strayed).items():
            counts[cell] -= n
    else:
        counts = by_cell(in_view, MAX_FEATURES + 1)
        if len(counts) > MAX_FEATURES:
            return None
    clusters = [_cell_cluster(cell, n) for cell, n in counts.items() if cell is not None and n]
    # Pins written without cells: grouped by a grid.
    return _with_cellless(clusters, in_view, column, resolution) if counts.get(None) else clusters


_UNANSWERED: list[Cluster] = []  # a sentinel: the summary cannot answer, count the pins


@dataclass(frozen=True)
class _CellPlan:
    # The cells wholly in view: their counts are the summary's.
    interior: list[int]
    # The cells that may have pins on both sides of an edge (or only outside it), each with
    # the box holding all of its pins (its vertices' extent, with a margin).
    cut: dict[int, tuple[float, float, float, float]]


def _box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> h3.LatLngPoly:
    return h3.LatLngPoly(
        [(min_lat, min_lon), (min_lat, max_lon), (max_lat, max_lon), (max_lat, min_lon)]
    )


def _cell_plan(bbox: Polygon, resolution: int) -> _CellPlan | None:
    """The cells of `resolution` that may hold pins in view, wholly in view or cut by an
    edge, or None when there are too many to list (the GROUP BY path then)."""
    return _cell_plan_of(bbox.extent, resolution)


@functools.lru_cache(maxsize=256)
def _cell_plan_of(extent: tuple[float, float, float, float], resolution: int) -> _CellPlan | None:
    # Cached: a map move asks twice (few pins or clusters, then the clusters), and many
    # clients ask for the same views. A plan is a pure function of the extent.
    min_lon, min_lat, max_lon, max_lat = extent
    # The reach of a cell (centre to farthest vertex) on each axis, measured at the
    # viewport's corners and centre (cells widen in longitude away from the equator).
    reach_lon = reach_lat = 0.0
    for lat, lon in (
        (min_lat, min_lon),
        (min_lat, max_lon),
        (max_lat, min_lon),
        (max_lat, max_lon),
        ((min_lat + max_lat) / 2, (min_lon + max_lon) / 2),
    ):
        cell = h3.latlng_to_cell(lat, lon, resolution)
        c_lat, c_lon = h3.cell_to_latlng(cell)
        for v_lat, v_lon in h3.cell_to_boundary(cell):
            reach_lon = max(reach_lon, abs(v_lon - c_lon))
            reach_lat = max(reach_lat, abs(v_lat - c_lat))
    if reach_lon > 90:  # a cell across the antimeridian: nothing to gain
        return None
    m = INTERIOR_MARGIN_DEGREES
    reach_lon = reach_lon * CELL_REACH_MARGIN + m
    reach_lat = reach_lat * CELL_REACH_MARGIN + m
    # Every cell with a pin in view has its centre within its reach of the viewport.
    grown = (min_lon - reach_lon, min_lat - reach_lat, max_lon + reach_lon, max_lat + reach_lat)
    mid_lat = math.radians((grown[1] + grown[3]) / 2)
    area_km2 = (grown[2] - grown[0]) * (grown[3] - grown[1]) * 111.32**2 * math.cos(mid_lat)
    if area_km2 / h3.average_hexagon_area(resolution, "km^2") > MAX_LISTED_CELLS:
        return None
    interior: list[int] = []
    cut: dict[int, tuple[float, float, float, float]] = {}
    for name in h3.polygon_to_cells(_box(*grown), resolution):
        lat, lon = h3.cell_to_latlng(name)
        if (
            min_lon + reach_lon < lon < max_lon - reach_lon
            and min_lat + reach_lat < lat < max_lat - reach_lat
        ):
            interior.append(h3.str_to_int(name))
            continue
        # Near an edge. A cell's edges are geodesics, which bow out of the straight lines
        # between its vertices by centimetres at these sizes: the margin covers them.
        vertices = h3.cell_to_boundary(name)
        lats, lons = [v[0] for v in vertices], [v[1] for v in vertices]
        box = (min(lons) - m, min(lats) - m, max(lons) + m, max(lats) + m)
        if min_lon < box[0] and box[2] < max_lon and min_lat < box[1] and box[3] < max_lat:
            interior.append(h3.str_to_int(name))
        elif box[0] <= max_lon and min_lon <= box[2] and box[1] <= max_lat and min_lat <= box[3]:
            cut[h3.str_to_int(name)] = box
        # else: wholly outside the viewport, nothing of it in view
    return _CellPlan(interior, cut)


def _in_any_box(ideas: QuerySet[Idea], boxes: list[tuple[float, float, float, float]]) -> RawSQL:
    """The pins in any of `boxes` (a few hundred at most), as one SQL condition: built as
    GEOS polygons and ORM lookups, they took longer than the query itself. By the spatial
    index on both databases (it only ever matches more; callers test the bbox exactly)."""
    quote = connections[ideas.db].ops.quote_name
    table = quote(Idea._meta.db_table)
    if _postgis(ideas):
        one = f"{table}.location && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
        params = [n for box in boxes for n in box]
        sql = " OR ".join([one] * len(boxes))
    else:
        # SpatiaLite: each box asked of the R*Tree (as neighborhoods.spatial_index asks it),
        # the ids united; its planner cannot use the R*Tree for an OR of boxes, and testing
        # the coordinates instead scanned every pin (1.5 s at zoom 13 for 100,000 pins).
        # SQLite unites at most 500 SELECTs in one compound: chunks of SPATIALITE_BOXES.
        one = rtree_ids_sql(ideas, "location")
        chunks = [boxes[i : i + SPATIALITE_BOXES] for i in range(0, len(boxes), SPATIALITE_BOXES)]
        sql = " OR ".join(
            f"{table}.id IN ({' UNION ALL '.join([one] * len(chunk))})" for chunk in chunks
        )
        params = [n for x0, y0, x1, y1 in boxes for n in (x1, x0, y1, y0)]
    # Constant SQL, numbers as parameters.
    return RawSQL(f"({sql})", params, output_field=BooleanField())  # noqa: S611


def _area(box: tuple[float, float, float, float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _by_counted_cell(
    ideas: QuerySet[Idea],
    in_view: QuerySet[Idea],
    bbox: Polygon,
    resolution: int,
    filters: CountFilters,
) -> list[Cluster] | None:
    """Clusters by the stored H3 cell from the counts kept on write, or None when there
    would be more than MAX_FEATURES, or _UNANSWERED when the cells cannot be listed.

    The same clusters as _by_cell(): the pins in view of each cell. A cell wholly in view:
    its count in the summary. A cell cut by an edge: its pins are counted from the pins, in
    the smaller part of its box: the part in view (its pins there), or the parts outside
    (its count in the summary less its pins there). So a map move reads a few thousand
    summary rows and, at most, the pins of half of each cut cell."""
    plan = _cell_plan(bbox, resolution)
    if plan is None:
        return _UNANSWERED
    whole, without_cell = cell_counts(
        using=ideas.db,
        resolution=resolution,
        cells=[*plan.interior, *plan.cut],
        filters=filters,
    )
    counts = {cell: whole[cell] for cell in plan.interior if cell in whole}
    x0, y0, x1, y1 = bbox.extent
    inside_boxes: dict[int, list] = {}
    outside_boxes: dict[int, list] = {}
    for cell, box in plan.cut.items():
        if cell not in whole:
            continue  # no pin (with the filters) at all
        seen = (max(box[0], x0), max(box[1], y0), min(box[2], x1), min(box[3], y1))
        if _area(seen) * 2 <= _area(box):
            inside_boxes[cell] = [seen]
        else:
            bx0, by0, bx1, by1 = box
            parts = [
                (bx0, by0, x0, by1),  # left of the viewport
                (x1, by0, bx1, by1),  # right of it
                (max(bx0, x0), by0, min(bx1, x1), y0),  # below it
                (max(bx0, x0), y1, min(bx1, x1), by1),  # above it
            ]
            outside_boxes[cell] = [p for p in parts if p[0] <= p[2] and p[1] <= p[3]]
    column = CELL_FIELDS[resolution]
    cut = [cell for cell in plan.cut if cell in whole]
    if _postgis(ideas) and sum(whole[cell] for cell in cut) <= MAX_CUT_PINS_BY_CELL:
        # Every pin of the cut cells, read by cell from the covering index (migration 0016):
        # a few adjacent index pages a cell, where the boxes below read a heap page a pin.
        found = dict(
            _with_coordinates(ideas)
            .filter(_inside(bbox), **{f"{column}__in": cut})
            .order_by()
            .values(cell=F(column))
            .annotate(n=Count("*"))
            .values_list("cell", "n")
        )
        counts.update((cell, n) for cell, n in found.items() if n)
        inside_boxes, outside_boxes = {}, {}
    for boxes, outside in ((inside_boxes, False), (outside_boxes, True)):
        if not boxes:
            continue
        pins = _with_coordinates(ideas).filter(
            _in_any_box(ideas, [b for cell_boxes in boxes.values() for b in cell_boxes]),
            **{f"{column}__in": list(boxes)},
        )
        pins = pins.exclude(_inside(bbox)) if outside else pins.filter(_inside(bbox))
        found = dict(
            pins.order_by().values(cell=F(column)).annotate(n=Count("pk")).values_list("cell", "n")
        )
        for cell in boxes:
            seen_count = whole[cell] - found.get(cell, 0) if outside else found.get(cell, 0)
            if seen_count:
                counts[cell] = seen_count
    if len(counts) > MAX_FEATURES:
        return None
    clusters = [_cell_cluster(cell, n) for cell, n in counts.items()]
    # Pins written without cells (raw SQL): grouped by a grid.
    return _with_cellless(clusters, in_view, column, resolution) if without_cell else clusters


def _with_cellless(
    clusters: list[Cluster], in_view: QuerySet[Idea], column: str, resolution: int
) -> list[Cluster] | None:
    """`clusters` and the grid clusters of the pins in view without a stored cell, or None
    when together they are more than MAX_FEATURES."""
    extra = _by_grid(
        in_view.filter(**{f"{column}__isnull": True}),
        GRID_DEGREES[resolution],
        limit=MAX_FEATURES - len(clusters),
    )
    return None if extra is None else clusters + extra


def _cell_cluster(cell: int, count: int) -> Cluster:
    # At the cell's centre, computed from its id: averaging the pins' coordinates in the
    # GROUP BY took it from 1.7x to 2.5x the bare GROUP BY (1M pins).
    name = h3.int_to_str(cell)
    lat, lon = h3.cell_to_latlng(name)
    return Cluster(name, count, lon, lat)


def _by_grid(
    in_view: QuerySet[Idea], size: float, *, limit: int | None = None
) -> list[Cluster] | None:
    """Clusters by squares of `size` degrees snapped in the database, or None beyond `limit`."""
    step = Value(size, output_field=FloatField())
    groups = (
        in_view.order_by()
        .annotate(gx=Floor(Longitude("location") / step), gy=Floor(Latitude("location") / step))
        .values("gx", "gy")
        .annotate(n=Count("pk"), lon=Avg(Longitude("location")), lat=Avg(Latitude("location")))
        .values_list("gx", "gy", "n", "lon", "lat")
    )
    rows = list(groups if limit is None else groups[: limit + 1])
    if limit is not None and len(rows) > limit:
        return None
    return [
        Cluster(f"grid-{size:g}-{int(gx)}-{int(gy)}", n, lon, lat) for gx, gy, n, lon, lat in rows
    ]


def _grid_size(bbox: Polygon, smallest: float) -> float:
    """The smallest square size (from `smallest`, doubling) for which the bbox spans at most
    MAX_FEATURES squares, counted as the database will snap them (floor of x / size)."""
    min_lon, min_lat, max_lon, max_lat = bbox.extent
    size = smallest
    while True:
        across = math.floor(max_lon / size) - math.floor(min_lon / size) + 1
        down = math.floor(max_lat / size) - math.floor(min_lat / size) + 1
        if across * down <= MAX_FEATURES:
            return size
        size *= 2
