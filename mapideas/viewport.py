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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import h3
from django.contrib.gis.geos import Polygon
from django.db import connections
from django.db.models import Avg, Count, F, FloatField, Func, Q, QuerySet, Value
from django.db.models.functions import Floor

from mapideas.cells import CELL_FIELDS
from mapideas.filters import bbox_geometry
from mapideas.models import Idea

# No answer carries more features than this (issue 7), pins or clusters.
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

Mode = Literal["pins", "clusters"]
# What a pin feature shows (mapideas.serializers.IdeaFeatureSerializer's fields).
PIN_VALUES = (
    "id",
    "kind",
    "title",
    "description",
    "category__slug",
    "category__name",
    "status",
    "channel",
    "event_name",
    "neighborhood__name",
    "neighborhood__slug",
    "team__name",
    "team__slug",
    "created_at",
    "answer",
    "answer_at",
    "support_count",
    # The photo's row, if any (a join), for `photo_url`.
    "photo__id",
    "photo__hidden_at",
)


class _X(Func):
    function = "ST_X"  # PostGIS and SpatiaLite alike
    output_field = FloatField()


class _Y(Func):
    function = "ST_Y"
    output_field = FloatField()


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


def viewport(ideas: QuerySet[Idea], bbox: Polygon, zoom: int) -> Viewport:
    """The pins or clusters of `ideas` (already filtered) inside `bbox` at `zoom`.

    `bbox` is a cleaned BBoxField value (WGS84), matched as /api/ideas/?bbox= matches it.
    """
    in_view = _in_bbox(ideas, bbox)
    if zoom >= PINS_ZOOM:
        return _pins(in_view)
    # A LIMIT, not a COUNT: deciding "few" must not cost a scan of everything in view. On
    # PostGIS by `&&` alone (below): the exact test makes PostgreSQL underestimate the rows
    # and start parallel workers, 15 ms for 1,001 rows. A stray pin or two at the edge can
    # only turn "few" into clusters, whose counts are exact all the same.
    few = PIN_THRESHOLD + 1
    candidates = _rough(ideas, bbox) if _postgis(ideas) else in_view
    if candidates.order_by().values("pk")[:few].count() <= min(PIN_THRESHOLD, MAX_FEATURES):
        return _pins(in_view)
    return _clusters(ideas, in_view, bbox, zoom)


def _in_bbox(ideas: QuerySet[Idea], bbox: Polygon) -> QuerySet[Idea]:
    """The pins inside the bbox, its edges included: what /api/ideas/?bbox= (ST_Intersects)
    selects, at two thirds of its cost on PostGIS (1M pins, a whole-city bbox).

    For points, "intersects a rectangle" is a comparison of coordinates, made exactly here.
    On PostGIS `&&` comes first, for the spatial index; alone it is not exact (it compares
    float4 boxes rounded outward, so a pin a metre outside the edge would be counted)."""
    inside = _with_coordinates(ideas).filter(_inside(bbox))
    return _rough(inside, bbox) if _postgis(ideas) else inside


def _with_coordinates(ideas: QuerySet[Idea]) -> QuerySet[Idea]:
    return ideas.alias(view_lon=_X("location"), view_lat=_Y("location"))


def _inside(bbox: Polygon) -> Q:
    min_lon, min_lat, max_lon, max_lat = bbox.extent
    return Q(view_lon__range=(min_lon, max_lon), view_lat__range=(min_lat, max_lat))


def _rough(ideas: QuerySet[Idea], bbox: Polygon) -> QuerySet[Idea]:
    """PostGIS: the pins whose float4 box meets the bbox's (`&&`): every pin in view, and
    possibly a few up to a metre outside it."""
    return ideas.filter(location__bboverlaps=bbox_geometry(bbox))


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


def _pins(in_view: QuerySet[Idea]) -> Viewport:
    newest = list(
        in_view.order_by("-created_at", "-id")
        .annotate(lon=_X("location"), lat=_Y("location"))
        .values(*PIN_VALUES, "lon", "lat")[: MAX_FEATURES + 1]
    )
    truncated = len(newest) > MAX_FEATURES
    total = in_view.order_by().count() if truncated else len(newest)
    return Viewport(mode="pins", total=total, truncated=truncated, pins=newest[:MAX_FEATURES])


def _clusters(ideas: QuerySet[Idea], in_view: QuerySet[Idea], bbox: Polygon, zoom: int) -> Viewport:
    if zoom >= GRID_BELOW_ZOOM:
        start = next((res for up_to, res in RESOLUTION_BY_ZOOM if zoom <= up_to), 9)
        for resolution in range(start, min(CELL_FIELDS) - 1, -1):
            clusters = _by_cell(ideas, in_view, bbox, resolution)
            if clusters is not None:
                return _answer(clusters, f"h3-{resolution}")
        smallest = GRID_DEGREES[min(CELL_FIELDS)]
    else:
        smallest = GRID_PX * 360 / (256 * 2**zoom)
    # Squares sized so the bbox spans at most MAX_FEATURES of them: no limit needed.
    size = _grid_size(bbox, smallest)
    return _answer(_by_grid(in_view, size) or [], f"grid-{size:g}")


def _answer(clusters: list[Cluster], level: str) -> Viewport:
    total = sum(c.count for c in clusters)
    return Viewport(mode="clusters", total=total, truncated=False, clusters=clusters, level=level)


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
    if counts.get(None):  # pins written without cells: group them by a grid
        room = MAX_FEATURES - len(clusters)
        extra = _by_grid(
            in_view.filter(**{f"{column}__isnull": True}), GRID_DEGREES[resolution], limit=room
        )
        if extra is None:
            return None
        clusters += extra
    return clusters


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
        .annotate(gx=Floor(_X("location") / step), gy=Floor(_Y("location") / step))
        .values("gx", "gy")
        .annotate(n=Count("pk"), lon=Avg(_X("location")), lat=Avg(_Y("location")))
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
