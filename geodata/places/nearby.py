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
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D

from geodata.models import Place
from mapideas.models import Idea
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


def nearest_place(point: Point, *, within_m: float = NEAR_METRES) -> Place | None:
    """The place whose point is nearest `point` (WGS84) and within `within_m` metres, or None;
    of places as near as each other, the first by name."""
    places = in_spatial_index(Place.objects.all(), "point", _box(point, within_m))
    return (
        places.filter(point__distance_lte=(point, D(m=within_m), "spheroid"))
        .annotate(distance=Distance("point", point, spheroid=True))
        .order_by("distance", "name", "id")
        .first()
    )


def place_near_idea(idea: Idea) -> str | None:
    """The name of the place near the pin, for mapideas.pins.places."""
    place = nearest_place(idea.location)
    return place.name if place is not None else None
