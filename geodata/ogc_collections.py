"""The collections the OGC API – Features endpoint (/ogc/, geodata.ogc) serves.

One entry per layer. Adding a layer (the engagement layers of geodata.engagement, say) is one
more `Collection(...)` in COLLECTIONS: the endpoints, links, extents, paging, bbox and datetime
filters, HTML pages and the OpenAPI description all come from the entry.

What a layer shows is decided by its selector and its serializer, the same ones the JSON API
and the exports use (geodata.exports reads its property lists from those serializers), so the
three never disagree and no personal field (author, contact details) can appear here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Min, QuerySet
from django_filters import FilterSet
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from mapideas import maps, selectors
from mapideas.filters import IdeaFilter
from mapideas.serializers import IdeaFeatureSerializer, NeighborhoodFeatureSerializer
from neighborhoods.selectors import active_neighborhoods

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


@dataclass(frozen=True)
class Collection:
    """One OGC collection: where its rows come from and how a row becomes a Feature."""

    id: str
    title: str
    description: str
    # The rows anyone may see, called per request. Never a broader queryset: whatever the
    # selector leaves out (non-public rows) can then not be reached by any OGC request.
    rows: Callable[[], QuerySet]
    serializer: type[GeoFeatureModelSerializer]
    geometry_field: str
    # A total order, so offset paging visits every feature exactly once.
    ordering: tuple[str, ...]
    # The Feature's "id" and the {featureId} of its URL. An integer field (`pk`) is looked up
    # only for digits, so no text ever reaches an integer column.
    id_field: str = "pk"
    id_is_integer: bool = True
    # The property HTML pages show as each feature's name (user text: always escaped).
    title_property: str = "id"
    # The date-time `datetime` filters on, and the temporal extent; None for a layer without
    # time (it then matches any `datetime`, as OGC API – Features Part 1 requires).
    temporal_field: str | None = None
    # Extra query parameters (beyond limit, offset, bbox, datetime), checked by this FilterSet:
    # the same filters, and the same 400s, as the JSON API.
    filterset: type[FilterSet] | None = None
    filters: tuple[str, ...] = ()
    # The rows whose bounding box is the spatial extent, when cheaper to read than `rows`
    # (the same rows without per-row counts); None for `rows` itself.
    extent_rows: Callable[[], QuerySet] | None = None


COLLECTIONS: dict[str, Collection] = {
    collection.id: collection
    for collection in (
        Collection(
            id="ideas",
            title="Ideas and issues",
            description=(
                "Pins citizens dropped on the city map, each routed to the district team of "
                "the neighborhood it falls in. Public fields only."
            ),
            # Looked up on each call, not bound at import: the selector is the one place that
            # decides which pins are public.
            rows=lambda: selectors.public_ideas(),
            serializer=IdeaFeatureSerializer,
            geometry_field="location",
            ordering=("-created_at", "-id"),
            title_property="title",
            temporal_field="created_at",
            filterset=IdeaFilter,
            filters=("category", "status", "kind", "neighborhood", "team", "channel"),
        ),
        Collection(
            id="neighborhoods",
            title="Neighborhoods",
            description=(
                "The neighborhoods of the active boundary version, with the team that answers "
                "for each and the number of pins routed to it."
            ),
            rows=lambda: selectors.neighborhoods_with_counts(),
            serializer=NeighborhoodFeatureSerializer,
            geometry_field="geometry",
            ordering=("name", "id"),
            # The slug, as in the exports: it follows a neighborhood across boundary versions,
            # where the primary key does not.
            id_field="slug",
            id_is_integer=False,
            title_property="name",
            extent_rows=lambda: active_neighborhoods(),
        ),
    )
}


@dataclass(frozen=True)
class Extent:
    bbox: tuple[float, float, float, float] | None
    interval: tuple[datetime | None, datetime | None] | None


def collection_extent(collection: Collection) -> Extent:
    """The collection's bounding box and time span, from the database (two aggregates)."""
    rows = (collection.extent_rows or collection.rows)()
    bbox = maps.extent(rows, field=collection.geometry_field)
    interval = None
    if collection.temporal_field is not None:
        span = (
            collection.rows()
            .order_by()
            .aggregate(start=Min(collection.temporal_field), end=Max(collection.temporal_field))
        )
        if span["start"] is not None:
            interval = (span["start"], span["end"])
    return Extent(bbox=bbox, interval=interval)
