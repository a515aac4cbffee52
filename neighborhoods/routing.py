"""Which neighborhood and team a point belongs to.

This is the one place routing is decided: the web form, the API and the CSV import all call
`route()`, so a pin reaches the same team whichever door it came through.
"""

from dataclasses import dataclass

from django.contrib.gis.geos import Point

from neighborhoods.models import Neighborhood, Team


@dataclass(frozen=True)
class Route:
    neighborhood: Neighborhood
    team: Team


def route(point: Point, category: str | None = None) -> Route | None:
    """The neighborhood covering `point` and its team, or None when no polygon covers it.

    `covers` (not `contains`/`within`) so that a point exactly on a boundary still matches.
    A point on a border shared by two neighborhoods is covered by both; the one with the
    alphabetically first slug wins, so the answer never depends on row order or on which
    database runs the query.

    `category` is the category slug of the pin. Today every category follows the place;
    the parameter is here so that category rules (a city-wide team for one category) can be
    added in this function without touching any caller.
    """
    if point.srid not in (None, 4326):
        point = point.transform(4326, clone=True)
    neighborhood = (
        Neighborhood.objects.filter(geometry__covers=point)
        .select_related("team")
        .order_by("slug")
        .first()
    )
    if neighborhood is None:
        return None
    return Route(neighborhood=neighborhood, team=neighborhood.team)
