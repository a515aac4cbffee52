"""Measuring boundaries in metres: geodesic areas, buffers, overlaps and gaps.

Polygons are stored in WGS84 degrees; these helpers measure on the ellipsoid (areas) or in a
local azimuthal equidistant projection centred on the city (buffers, overlap and gap shapes),
which is accurate to well under 1% across a city.
"""

from dataclasses import dataclass

import shapely
from pyproj import CRS, Geod, Transformer

_GEOD = Geod(ellps="WGS84")

# Slivers below this are digitising noise, not a real overlap or gap.
SLIVER_TOLERANCE_M2 = 1.0


def area_m2(geometry: shapely.Geometry) -> float:
    area, _perimeter = _GEOD.geometry_area_perimeter(geometry)
    return abs(area)


def _local_projection(geometry: shapely.Geometry) -> tuple[Transformer, Transformer]:
    centre = geometry.centroid
    local = CRS.from_proj4(f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m")
    to_local = Transformer.from_crs(4326, local, always_xy=True)
    to_wgs84 = Transformer.from_crs(local, 4326, always_xy=True)
    return to_local, to_wgs84


def buffered_union(parts: list[shapely.Geometry], metres: float) -> shapely.MultiPolygon:
    """The union of `parts` with its holes filled, grown by `metres`, as a WGS84 MultiPolygon.

    Holes are filled because a gap enclosed by the city is the city's to sort out (the triage
    team gets its pins), however wide it is; the import reports each gap with its area.
    """
    union = shapely.union_all(parts)
    polygons = union.geoms if hasattr(union, "geoms") else [union]
    union = shapely.union_all(
        [shapely.Polygon(p.exterior) for p in polygons if isinstance(p, shapely.Polygon)]
    )
    if metres > 0:
        to_local, to_wgs84 = _local_projection(union)
        grown = shapely.transform(union, to_local.transform, interleaved=False).buffer(metres)
        union = shapely.transform(grown, to_wgs84.transform, interleaved=False)
    if isinstance(union, shapely.Polygon):
        union = shapely.MultiPolygon([union])
    return union


@dataclass(frozen=True)
class Overlap:
    first: str
    second: str
    area_m2: float


@dataclass(frozen=True)
class Gap:
    near: tuple[str, ...]
    area_m2: float
    where: tuple[float, float]  # lon, lat of a point inside the gap


def overlaps(named: dict[str, shapely.Geometry]) -> list[Overlap]:
    """Pairs of neighborhoods that share more than a sliver of area, largest first."""
    names = list(named)
    geometries = [named[n] for n in names]
    tree = shapely.STRtree(geometries)
    found = []
    left, right = tree.query(geometries, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i >= j:
            continue
        shared = shapely.intersection(geometries[i], geometries[j])
        if shared.is_empty:
            continue
        size = area_m2(shared)
        if size > SLIVER_TOLERANCE_M2:
            found.append(Overlap(names[i], names[j], size))
    return sorted(found, key=lambda o: -o.area_m2)


def gaps(named: dict[str, shapely.Geometry]) -> list[Gap]:
    """Holes enclosed by the neighborhoods that no neighborhood covers, largest first."""
    union = shapely.union_all(list(named.values()))
    polygons = union.geoms if hasattr(union, "geoms") else [union]
    names = list(named)
    tree = shapely.STRtree([named[n] for n in names])
    found = []
    for polygon in polygons:
        if not isinstance(polygon, shapely.Polygon):
            continue
        for ring in polygon.interiors:
            hole = shapely.Polygon(ring)
            size = area_m2(hole)
            if size <= SLIVER_TOLERANCE_M2:
                continue
            near = tuple(sorted(names[k] for k in tree.query(hole, predicate="intersects")))
            inside = hole.representative_point()
            found.append(Gap(near=near, area_m2=size, where=(inside.x, inside.y)))
    return sorted(found, key=lambda g: -g.area_m2)


def distance_m(point: shapely.Point, geometry: shapely.Geometry) -> float:
    """Metres from `point` to the nearest part of `geometry` (0 if it covers it), both WGS84.

    Measured in an azimuthal equidistant projection centred on the point, where distances from
    the centre are true on the ellipsoid: exact at the centimetre level for the few metres to
    kilometres a border hint looks at.
    """
    local = CRS.from_proj4(f"+proj=aeqd +lat_0={point.y} +lon_0={point.x} +datum=WGS84 +units=m")
    to_local = Transformer.from_crs(4326, local, always_xy=True)
    projected = shapely.transform(geometry, to_local.transform, interleaved=False)
    return float(shapely.distance(shapely.Point(0, 0), projected))
