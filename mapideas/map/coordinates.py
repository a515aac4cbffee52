"""A point's coordinates read by the database, for the paths that read many pins: a GEOS
point per row (what reading `location` builds) costs more than the rest of the row.

ST_X and ST_Y are the same functions on PostGIS and SpatiaLite. The pins' locations are
WGS84, so x is the longitude and y the latitude.
"""

from django.db.models import FloatField, Func


class Longitude(Func):
    """A point's x, its longitude: `.annotate(lon=Longitude("location"))`."""

    function = "ST_X"
    output_field = FloatField()


class Latitude(Func):
    """A point's y, its latitude."""

    function = "ST_Y"
    output_field = FloatField()
