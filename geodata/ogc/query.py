"""Reading an OGC API – Features request: its query parameters, checked, and the features
they select.

Every unknown parameter and every bad value is an OgcError, which the views turn into a 400
(or 404) with the OGC exception body `{"code", "description"}` naming the parameter: nothing a
client sends reaches the database unchecked, so no request ends in a 500.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import shapely
from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import QueryDict
from django.utils import timezone as django_timezone
from rest_framework.exceptions import ValidationError as ApiValidationError

from geodata.ogc.collections import CRS84, AnyCollection, Collection, ComputedCollection
from geodata.ogc.computed import ComputedFeature, ComputedFeatures
from mapideas.pins.filters import BBoxField, bbox_geometry
from mapideas.plumbing import keyset
from neighborhoods.spatial_index import in_spatial_index

DEFAULT_LIMIT = 10
# Far beyond any city's pins, and within every database's integer OFFSET.
MAX_OFFSET = 2**31 - 1
# Feature ids of integer collections: digits only, and small enough for a 64-bit column.
_INTEGER_ID = re.compile(r"[0-9]{1,18}")
_DIGITS = re.compile(r"[0-9]+")
# RFC 3339 date-time; seconds may be left out, as GDAL does when it builds `datetime`.
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
# A full date; GDAL writes a date alone as `2024-05-01T`.
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T?")
OPEN_END = ("", "..")

FORMAT_PARAMETER = "f"
FORMATS = ("json", "html")
ITEMS_PARAMETERS = ("f", "limit", "offset", "cursor", "bbox", "bbox-crs", "datetime")


class OgcError(Exception):
    """A request the OGC API answers with an exception document, not with data."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def invalid(parameter: str, message: str) -> OgcError:
    return OgcError(400, "InvalidParameterValue", f"Parameter {parameter}: {message}")


def not_found(description: str) -> OgcError:
    return OgcError(404, "NotFound", description)


def max_limit() -> int:
    """The most features in one page: MAPIDEAS_MAX_PAGE_SIZE, the JSON API's cap (read per
    request, so a deployment changes both with one setting)."""
    return settings.MAPIDEAS_MAX_PAGE_SIZE


def single_values(params: QueryDict, allowed: Iterable[str]) -> dict[str, str]:
    """Each query parameter's value. Unknown, repeated or empty parameters are refused, as
    OGC API – Features Part 1 asks (/req/core/query-param-unknown, -invalid)."""
    allowed = tuple(allowed)
    values = {}
    for name in params:
        if name not in allowed:
            raise invalid(name, f"unknown parameter; this resource takes {', '.join(allowed)}.")
        given = params.getlist(name)
        if len(given) != 1:
            raise invalid(name, "give it once.")
        value = given[0]
        if value == "":
            raise invalid(name, "give a value, or leave the parameter out.")
        if "\x00" in value:
            # PostgreSQL refuses NUL in text: it must never get that far.
            raise invalid(name, "must not contain NUL characters.")
        values[name] = value
    return values


def output_format(values: dict[str, str], accept: str) -> str:
    """ "json" or "html": `f` if given, else the Accept header (a browser asks for text/html
    first); JSON for every other client, as pygeoapi does."""
    if FORMAT_PARAMETER in values:
        chosen = values[FORMAT_PARAMETER]
        if chosen not in FORMATS:
            raise invalid(FORMAT_PARAMETER, f"use one of {', '.join(FORMATS)}.")
        return chosen
    html = json = 0.0
    for part in accept.split(","):
        media_type, _, rest = part.strip().partition(";")
        quality = 1.0
        for option in rest.split(";"):
            key, _, number = option.strip().partition("=")
            if key == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        media_type = media_type.strip().lower()
        if media_type in ("text/html", "application/xhtml+xml"):
            html = max(html, quality)
        elif media_type in ("application/json", "application/geo+json"):
            json = max(json, quality)
    return "html" if html > 0 and html > json else "json"


def _integer(name: str, value: str, *, minimum: int, maximum: int | None = None) -> int:
    if not _DIGITS.fullmatch(value):
        raise invalid(name, "give a whole number.")
    # Past 30 digits the exact value no longer matters (and int() of thousands of digits is
    # slow): it is above any maximum.
    number = int(value) if len(value) <= 30 else 10**30
    if number < minimum:
        raise invalid(name, f"give a whole number of at least {minimum}.")
    if maximum is not None and number > maximum:
        raise invalid(name, f"give a whole number from {minimum} to {maximum}.")
    return number


@dataclass(frozen=True)
class TimeRange:
    """`datetime` as a half-open range: start <= t < end; None is an open end."""

    start: datetime | None
    end: datetime | None


def _instant_bounds(text: str) -> tuple[datetime, datetime | None]:
    """The first instant a date-time or date covers, and the first one after it (None past
    the last representable day)."""
    if match := _DATE.fullmatch(text):
        day = date(*(int(part) for part in match.groups()))
        # A date alone is that whole day, in the site's time zone, as the API's created_after.
        start = django_timezone.make_aware(datetime.combine(day, time.min))
        try:
            end = django_timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
        except OverflowError:
            end = None
        return start, end
    match = _DATE_TIME.fullmatch(text)
    if not match:
        raise ValueError("not an RFC 3339 date-time or date")
    year, month, day_, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        zone = UTC
    else:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        zone = timezone(-offset if sign == "-" else offset)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    instant = datetime(
        int(year), int(month), int(day_), int(hour), int(minute), int(second or 0), micro, zone
    )
    try:
        # An instant matches features stamped with it: the database keeps microseconds.
        return instant, instant + timedelta(microseconds=1)
    except OverflowError:
        return instant, None


def parse_datetime(value: str) -> TimeRange:
    """OGC `datetime`: an instant (`2024-05-01T10:00:00Z`, or a date for its whole day), or an
    interval `start/end` where either end may be open (`..` or empty)."""
    parts = value.split("/")
    if len(parts) > 2:
        raise invalid("datetime", "give an instant or one interval start/end.")
    start: datetime | None
    end: datetime | None
    try:
        if len(parts) == 1:
            if value in OPEN_END:
                raise ValueError("an instant cannot be open")
            start, end = _instant_bounds(value)
        else:
            first, last = parts
            start = None if first in OPEN_END else _instant_bounds(first)[0]
            end = None if last in OPEN_END else _instant_bounds(last)[1]
        # Compared in UTC by the database; out-of-range years fail here, not in the database.
        start = start.astimezone(UTC) if start else None
        end = end.astimezone(UTC) if end else None
    except (ValueError, OverflowError) as exc:
        raise invalid(
            "datetime",
            f"{exc}. Give an RFC 3339 date-time (2024-05-01T10:00:00Z) or date (2024-05-01), "
            "or an interval such as 2024-05-01/2024-05-31, ../2024-05-31 or 2024-05-01/..",
        ) from None
    if start is not None and end is not None and start >= end:
        raise invalid("datetime", "the start of the interval is after its end.")
    return TimeRange(start=start, end=end)


@dataclass(frozen=True)
class ItemsQuery:
    """A checked /items request."""

    limit: int
    offset: int
    # Where the page starts when a `next` or `prev` link was followed (keyset paging).
    cursor: keyset.Cursor | None
    bbox: Polygon | None
    time_range: TimeRange | None
    # The collection's extra filters (category, team…) as given, for its FilterSet.
    filters: dict[str, str]
    # Every parameter as given except `f`, `offset` and `cursor`: the paging links repeat them.
    given: dict[str, str]


def items_parameters(collection: AnyCollection) -> tuple[str, ...]:
    return ITEMS_PARAMETERS + collection.filters


def feature_parameters(collection: AnyCollection) -> tuple[str, ...]:
    """What /items/{featureId} takes: `f`, and a computed collection's parameters (its
    figures depend on them: a neighborhood's ratio with `category=...`, say)."""
    if isinstance(collection, ComputedCollection):
        return (FORMAT_PARAMETER, *collection.filters)
    return (FORMAT_PARAMETER,)


def parse_items_query(collection: AnyCollection, values: dict[str, str]) -> ItemsQuery:
    """Check an /items request's parameters (already reduced to single values)."""
    limit = DEFAULT_LIMIT
    if "limit" in values:
        # Above the maximum is not an error: the page is cut to it, and `next` links the rest
        # (OGC API – Features Part 1, 7.15.3).
        limit = _integer("limit", values["limit"], minimum=1)
    limit = min(limit, max_limit())
    offset = 0
    if "offset" in values:
        offset = _integer("offset", values["offset"], minimum=0, maximum=MAX_OFFSET)
    cursor = _cursor(collection, values["cursor"]) if "cursor" in values else None
    if cursor is not None and "offset" in values:
        raise invalid("cursor", "give offset or cursor, not both.")
    crs = values.get("bbox-crs", CRS84)
    if crs != CRS84:
        raise invalid("bbox-crs", f"only {CRS84} (longitude, latitude in WGS84) is supported.")
    bbox = None
    if "bbox" in values:
        try:
            bbox = BBoxField().clean(values["bbox"])
        except ValidationError as exc:
            raise invalid("bbox", " ".join(exc.messages)) from None
    time_range = parse_datetime(values["datetime"]) if "datetime" in values else None
    return ItemsQuery(
        limit=limit,
        offset=offset,
        cursor=cursor,
        bbox=bbox,
        time_range=time_range,
        filters={name: values[name] for name in collection.filters if name in values},
        given={
            name: value for name, value in values.items() if name not in ("f", "offset", "cursor")
        },
    )


def _cursor(collection: AnyCollection, token: str) -> keyset.Cursor:
    """The position a `next` or `prev` link of a table collection carries. A computed layer
    is paged by offset (it is computed whole anyway)."""
    if isinstance(collection, ComputedCollection):
        raise invalid("cursor", "this collection is paged with offset; follow its links.")
    try:
        return keyset.decode(token, model=collection.rows().model, ordering=collection.ordering)
    except keyset.BadCursor as bad:
        raise invalid("cursor", str(bad)) from None


def exact_total(collection: Collection, query: ItemsQuery) -> int | None:
    """How many features the query selects, from the collection's kept counts when they can
    answer it (no bbox, no datetime, filters they keep); None otherwise."""
    if collection.total is None or query.bbox is not None or query.time_range is not None:
        return None
    cleaned: dict[str, Any] = {}
    if query.filters and collection.filterset is not None:
        filters = collection.filterset(data=query.filters)
        # Checked already by select_features (a bad value was its 400).
        if not filters.is_valid():
            return None
        cleaned = filters.form.cleaned_data
    return collection.total(cleaned)


def select_features(collection: Collection, query: ItemsQuery) -> QuerySet:
    """The collection's features the query selects, in the collection's order (not paged)."""
    rows = collection.rows()
    if query.bbox is not None:
        field = collection.geometry_field
        # SpatiaLite tests `intersects` on every row unless the R*Tree narrows them first.
        rows = in_spatial_index(rows, field, query.bbox.extent, gist_lookup_follows=True)
        rows = rows.filter(**{f"{field}__intersects": bbox_geometry(query.bbox)})
    # A collection without time ignores `datetime`: its features have no temporal geometry,
    # and Part 1 (/req/core/fc-time-response) says they match any. The value was still checked.
    if query.time_range is not None and collection.temporal_field is not None:
        if query.time_range.start is not None:
            rows = rows.filter(**{f"{collection.temporal_field}__gte": query.time_range.start})
        if query.time_range.end is not None:
            rows = rows.filter(**{f"{collection.temporal_field}__lt": query.time_range.end})
    if query.filters and collection.filterset is not None:
        filters = collection.filterset(data=query.filters, queryset=rows)
        if not filters.is_valid():
            name, messages = next(iter(filters.errors.items()))
            raise invalid(name, " ".join(str(message) for message in messages))
        rows = filters.qs
    return rows.order_by(*collection.ordering)


def computed_layer(collection: ComputedCollection, params: dict[str, str]) -> ComputedFeatures:
    """The computed layer for the request's parameters; a bad one is a 400 naming it (the
    checks of /api/engagement/..., turned into the OGC exception)."""
    try:
        return collection.features(params)
    except ApiValidationError as exc:
        detail = exc.detail
        if isinstance(detail, dict) and detail:
            name, messages = next(iter(detail.items()))
        else:
            name, messages = "parameters", detail
        if not isinstance(messages, list | tuple):
            messages = [messages]
        raise invalid(name, " ".join(str(message) for message in messages)) from None


def select_computed(
    collection: ComputedCollection, query: ItemsQuery
) -> tuple[ComputedFeatures, list[ComputedFeature]]:
    """The computed layer (computed once for the whole request), and its features the query
    selects, in the layer's order (not paged).

    `bbox` keeps the features whose geometry intersects it (shapely, the same test as the
    database's for the table collections); `datetime` was checked and matches every feature.
    """
    layer = computed_layer(collection, query.filters)
    if query.bbox is None:
        return layer, list(layer.features)
    box = shapely.from_wkb(bytes(bbox_geometry(query.bbox).wkb))
    return layer, layer.intersecting(box)


def find_feature(
    collection: AnyCollection, feature_id: str, params: dict[str, str] | None = None
) -> Model | ComputedFeature | None:
    """The public feature with this id, or None (also for an id that cannot be one). A
    computed collection's feature is looked up in the layer for `params`."""
    if isinstance(collection, ComputedCollection):
        implied = collection.id_parameters(feature_id) if collection.id_parameters else {}
        return computed_layer(collection, {**implied, **(params or {})}).by_id.get(feature_id)
    value: Any = feature_id
    if collection.id_is_integer:
        if not _INTEGER_ID.fullmatch(feature_id):
            return None
        value = int(feature_id)
    elif "\x00" in feature_id:
        return None
    return collection.rows().filter(**{collection.id_field: value}).first()


def feature_id(collection: Collection, row: Model) -> int | str:
    return getattr(row, collection.id_field)
