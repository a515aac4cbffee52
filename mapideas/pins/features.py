"""Public pins as the GeoJSON Features of the JSON API, made from plain rows: the fast path
of every list of pins (the JSON API's pin list, OGC API items).

The rows are `.values()` dicts with the coordinates read by the database; the public pin's
compiled row builder (mapideas.pins.fields.PinRows, as the map's viewport uses it) turns
each into the Feature IdeaFeatureSerializer makes of the pin. A model instance, a GEOS
point and the serializer per pin were most of a page's time (500 pins: most of 35 ms);
tests/mapideas/pins/test_api_ideas_list.py and tests/geodata/ogc check both make the same
Features."""

from django.db.models import QuerySet
from django.utils import timezone

from mapideas.map.coordinates import Latitude, Longitude
from mapideas.map.viewport import PIN_ROWS, PIN_VALUES
from mapideas.pins.fields import PinContext
from neighborhoods.translated_names import active_language


def feature_rows(pins: QuerySet) -> QuerySet:
    """`pins` (public pins, filtered and ordered by the caller) read as the rows `features`
    makes Features of."""
    return pins.annotate(lon=Longitude("location"), lat=Latitude("location")).values(
        *PIN_VALUES, "lon", "lat"
    )


def features(rows: list[dict]) -> list[dict]:
    """The Features of `rows` (feature_rows), in the request's language and time zone: the
    names of their categories and teams read once, for all of them."""
    context = PinContext.of(active_language(), timezone.get_current_timezone(), rows=rows)
    build = PIN_ROWS.builder(context)
    return [build(row) for row in rows]
