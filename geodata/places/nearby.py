"""The gazetteer's place nearest a point: how a pin's page (and a team's answer, {place}) names
where the pin is, through mapideas.pins.places, to which geodata's AppConfig registers
`place_near_idea`.

"Near" is within NEAR_METRES of the place's point (a point on a street's line, inside a
square: geodata.models.Place): 300 m is a few minutes' walk, close enough that "near Market
Square" helps someone find the pin, and a city block or two in any direction. Farther, the
page names the pin's neighborhood instead.

The query asks the spatial index first, on both databases: a box of NEAR_METRES around the
point narrows the places to those whose point is in it (PostGIS: the `&&` operator on the GiST
index; SpatiaLite: the R*Tree's table, which its planner does not use on its own; both through
neighborhoods.spatial_index), then the few left are measured on the spheroid and the nearest
taken. One indexed query per page.
"""

import math

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point, Polygon
from django.contrib.gis.measure import D
from django.db.models import QuerySet

from geodata.models import Place
from mapideas.models import Idea
from neighborhoods.compiled_queries import CompiledQuery
from neighborhoods.spatial_index import in_spatial_index

NEAR_METRES = 300
# Metres in a degree of latitude (and of longitude at the equator), with 10% to spare for the
# spheroid: the box must hold every point within the distance.
_METRES_PER_DEGREE = 111_000 / 1.1


def _box(point: Point, metres: float) -> tuple[float, float, float, float]:
    dlat = metres / _METRES_PER_DEGREE
    cos_lat = max(math.cos(math.radians(min(abs(point.y) + dlat, 90.0))), 1e-6)
    dlon = min(metres / (_METRES_PER_DEGREE * cos_lat), 180.0)
    return point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat


def _envelope(box: tuple[float, float, float, float]) -> Polygon:
    polygon = Polygon.from_bbox(box)
    polygon.srid = 4326
    return polygon


def nearest_place(point: Point, *, within_m: float = NEAR_METRES) -> Place | None:
    """The place whose point is nearest `point` (WGS84) and within `within_m` metres, or None;
    of places as near as each other, the first by name."""
    found = _nearest_place(
        point,
        _envelope(_box(point, within_m)),
        float(within_m),
        using=Place.objects.db_manager().db,
    )
    return found[0] if found else None


def _nearest_place_query(point: Point, box: Polygon, metres: float) -> QuerySet[Place]:
    return (
        in_spatial_index(Place.objects.all(), "point", box.extent)
        .filter(point__distance_lte=(point, D(m=metres), "spheroid"))
        .annotate(distance=Distance("point", point, spheroid=True))
        .order_by("distance", "name", "id")[:1]
    )


# Asked by every pin's page: compiled to SQL once per database (neighborhoods.compiled_queries),
# since compiling the distance on the spheroid cost more than the indexed query itself.
_nearest_place = CompiledQuery(
    _nearest_place_query,
    (
        (Point(1.25, 2.5, srid=4326), _envelope((1.0, 2.0, 1.5, 3.0)), 300.0),
        (Point(3.75, 4.125, srid=4326), _envelope((3.5, 4.0, 4.0, 4.25)), 450.0),
    ),
)


def place_near_idea(idea: Idea) -> str | None:
    """The name of the place near the pin, for mapideas.pins.places."""
    place = nearest_place(idea.location)
    return place.name if place is not None else None
