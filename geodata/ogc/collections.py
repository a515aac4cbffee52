"""The collections the OGC API – Features endpoint (/ogc/, geodata.ogc) serves.

One entry per layer, of two kinds:

- `Collection`: rows of a table, read through a selector (a queryset); the database pages,
  filters by bbox and time, and counts.
- `ComputedCollection`: a layer computed from the pins (the engagement layers of
  geodata.engagement): the whole layer is computed for the request's parameters (held a few
  seconds, geodata.ogc.computed), then paged, filtered by bbox (shapely) and counted in Python.

Adding a layer is one more entry in COLLECTIONS: the endpoints, links, extents, paging, bbox
and datetime filters, HTML pages and the OpenAPI description all come from the entry.

What a layer shows is decided by its selector and its serializer, the same ones the JSON API
uses; the pins' fields are the public pin of mapideas.pins.fields, which the exports write too,
so the three never disagree and no personal field (author, contact details) can appear here.
Names of categories and teams are in the request's language, as in the JSON API
(neighborhoods.translated_names), each beside its slug.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import h3
from django.db.models import Max, Min, QuerySet
from django_filters import FilterSet
from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geodata.engagement.query import QUERY_SERIALIZERS
from geodata.ogc.computed import CACHE_SECONDS, ComputedFeatures, computed_features
from mapideas.map import maps
from mapideas.pins import features as pin_features
from mapideas.pins import selectors
from mapideas.pins.filters import IdeaFilter
from mapideas.pins.serializers import IdeaFeatureSerializer, NeighborhoodFeatureSerializer
from mapideas.plumbing.db_routers import replica_alias
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
    # A total order on non-null fields, ending with the id: the keys of keyset paging
    # (mapideas.plumbing.keyset), so following `next` visits every feature exactly once.
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
    # How many rows match the FilterSet's cleaned filters (whole collection: no bbox, no
    # datetime), from counts kept on write, or None where they cannot say; None: no such
    # counts (the rows are counted, up to a bound).
    total: Callable[[dict[str, Any]], int | None] | None = None
    # A page's fast path: the selected rows read as plain `.values()` rows, and those rows
    # made into the Features `serializer` makes (the JSON API's list does the same); None:
    # the serializer on model instances. A single feature is always serialized.
    feature_rows: Callable[[QuerySet], QuerySet] | None = None
    features_of_rows: Callable[[list[dict]], list[dict]] | None = None


@dataclass(frozen=True)
class ComputedCollection:
    """One OGC collection computed from the pins: a geodata.engagement layer, with the
    parameters of its /api/engagement/ endpoint (the same checks, the same 400s)."""

    id: str
    title: str
    description: str
    # The layer's name in geodata.engagement (and /export/<layer>.<ext>).
    layer: str
    title_property: str = "name"
    # Parameters the collection fixes (a resolution, say): not taken from the request.
    fixed: tuple[tuple[str, str], ...] = ()
    # The rows whose bounding box is the spatial extent (the layer's own geometries), cheaper
    # than computing the layer; None: the extent is the computed layer's, default parameters.
    extent_rows: Callable[[], QuerySet] | None = None
    # The parameters a feature id implies when the request does not give them (a hexagon's
    # resolution is in its cell index), so every id a page lists can be looked up alone.
    id_parameters: Callable[[str], dict[str, str]] | None = None
    # Computed layers have no per-feature time: `datetime` is checked and matches every
    # feature, as Part 1 asks; `created_after`/`created_before` choose the pins counted.
    temporal_field: None = None
    id_is_integer: bool = False
    geometry_field: str = "geometry"

    @property
    def parameters(self) -> type[serializers.Serializer]:
        """The layer's query serializer (geodata.engagement.query): its fields, the checks."""
        return QUERY_SERIALIZERS[self.layer]

    @property
    def filters(self) -> tuple[str, ...]:
        """Query parameters beyond limit, offset, bbox and datetime."""
        fixed = dict(self.fixed)
        # keys(): the same names, but the DRF stubs type iterating `fields` as giving Fields.
        names = self.parameters().fields.keys()  # noqa: SIM118
        return tuple(name for name in names if name not in fixed)

    def features(self, params: dict[str, str]) -> ComputedFeatures:
        """The layer for these parameters (ValidationError naming a bad one)."""
        return computed_features(self.layer, {**params, **dict(self.fixed)})


AnyCollection = Collection | ComputedCollection


def _cell_resolution(feature_id: str) -> dict[str, str]:
    """A hexagon id's own resolution, so /items/{cell} finds a resolution-9 cell too."""
    try:
        valid = h3.is_valid_cell(feature_id)
    except (ValueError, TypeError):
        valid = False
    if not valid:
        return {}
    return {"resolution": str(h3.get_resolution(feature_id))}


_ENGAGEMENT = (
    "Computed from the public pins on request, as /api/engagement/{path} (the same figures "
    f"and parameters; held for up to {CACHE_SECONDS:.0f} seconds). "
)
_NO_TIME = (
    " No per-feature time: `datetime` matches every feature; `created_after` and "
    "`created_before` (days) choose the pins counted."
)


def _hexagons(resolution: int | None) -> "ComputedCollection":
    fixed = () if resolution is None else (("resolution", str(resolution)),)
    which = (
        "resolution 8 unless `resolution` (7, 8 or 9) says otherwise"
        if resolution is None
        else f"resolution {resolution}"
    )
    return ComputedCollection(
        id="engagement-hexagons" if resolution is None else f"engagement-hexagons-{resolution}",
        title=f"Engagement by hexagon ({'H3' if resolution is None else f'H3 r{resolution}'})",
        description=(
            _ENGAGEMENT.format(path="hexagons/")
            + f"H3 cells at {which}: pins per cell, residents by areal weighting of the "
            "neighborhood populations, pins per 1,000 residents and per km², the ratio to the "
            "city rate and a `thin` flag. Every cell overlapping a neighborhood is listed."
            + _NO_TIME
        ),
        layer="engagement-hexagons",
        title_property="cell",
        fixed=fixed,
        id_parameters=_cell_resolution if resolution is None else None,
    )


_SERVICE = (
    "Response times in working days of each pin's team (its week and holidays): pins, answered, "
    "Kaplan-Meier median and 90th percentile to a first answer and to done (null with "
    "`*_more_than` when not reached), the share answered within target, pins waiting past it, "
    "reopened and disputed shares of closed pins, answered pins per 1,000 residents. An area "
    "with fewer than `min_count` pins has `too_few` and no figure."
)


def _service(name: str, title: str, path: str, what: str, **options) -> "ComputedCollection":
    return ComputedCollection(
        id=name,
        title=title,
        description=_ENGAGEMENT.format(path=path) + what + " " + _SERVICE + _NO_TIME,
        layer=name,
        **options,
    )


COLLECTIONS: dict[str, AnyCollection] = {
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
            # decides which pins are public. Public reads may lag a little: the replica.
            rows=lambda: selectors.public_ideas().using(replica_alias()),
            serializer=IdeaFeatureSerializer,
            geometry_field="location",
            ordering=("-created_at", "-id"),
            title_property="title",
            temporal_field="created_at",
            filterset=IdeaFilter,
            filters=("category", "status", "kind", "neighborhood", "team", "channel"),
            total=lambda filters: selectors.public_ideas_total(
                using=replica_alias(), filters=filters
            ),
            feature_rows=pin_features.feature_rows,
            features_of_rows=pin_features.features,
        ),
        Collection(
            id="neighborhoods",
            title="Neighborhoods",
            description=(
                "The neighborhoods of the active boundary version, with the team that answers "
                "for each and the number of pins routed to it."
            ),
            rows=lambda: selectors.neighborhoods_with_counts().using(replica_alias()),
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
        ComputedCollection(
            id="engagement-neighborhoods",
            title="Engagement by neighborhood",
            description=(
                _ENGAGEMENT.format(path="neighborhoods/")
                + "Per active neighborhood: pins, residents, pins per 1,000 residents and per "
                "km², the ratio to the city rate, a `thin` flag, the trend and the share of "
                "offline input." + _NO_TIME
            ),
            layer="engagement-neighborhoods",
            extent_rows=lambda: active_neighborhoods(),
        ),
        _hexagons(None),
        # One collection per other resolution, for clients that cannot add a parameter to
        # a collection's requests (QGIS, GDAL): each is a layer of its own there.
        _hexagons(7),
        _hexagons(9),
        ComputedCollection(
            id="coldspots",
            title="Cold and hot spots of engagement",
            description=(
                _ENGAGEMENT.format(path="coldspots/")
                + "The neighborhood figures plus Getis-Ord Gi*: `z_score`, `p_value` and "
                "`significance` (cold, hot, not significant, not tested) after the "
                "Benjamini-Hochberg correction at `alpha`." + _NO_TIME
            ),
            layer="coldspots",
            extent_rows=lambda: active_neighborhoods(),
        ),
        ComputedCollection(
            id="representativeness",
            title="Engagement by neighborhood profile",
            description=(
                _ENGAGEMENT.format(path="representativeness/")
                + "Per area attribute (import_population --attribute) and population-weighted "
                "fifth of residents (quintile 1: the lowest values): the union of its "
                "neighborhoods, residents, pins, pins per 1,000 residents and the ratio to the "
                "city rate with Poisson intervals (`too_few` below the minimum count), the "
                "attribute's range and Spearman's rank correlation. Neighborhood-level "
                "estimates, nothing about a person." + _NO_TIME
            ),
            layer="representativeness",
            extent_rows=lambda: active_neighborhoods(),
        ),
        _service(
            "service-neighborhoods",
            "Service by neighborhood",
            "service/neighborhoods/",
            "Per active neighborhood.",
            extent_rows=lambda: active_neighborhoods(),
        ),
        _service(
            "service-teams",
            "Service by team",
            "service/teams/",
            "Per team, its active neighborhoods as one MultiPolygon.",
            title_property="team",
            extent_rows=lambda: active_neighborhoods(),
        ),
        _service(
            "service-hexagons",
            "Service by hexagon (H3)",
            "service/hexagons/",
            "Per H3 cell at resolution 8 unless `resolution` (7, 8 or 9) says otherwise.",
            title_property="cell",
            id_parameters=_cell_resolution,
        ),
        _service(
            "slowspots",
            "Slow and fast spots of first answers",
            "service/slowspots/",
            "Per active neighborhood, plus Getis-Ord Gi* on the median working days to a "
            "first answer: `z_score`, `p_value`, `significance` (slow, fast, not significant, "
            "not tested) after the Benjamini-Hochberg correction at `alpha`.",
            extent_rows=lambda: active_neighborhoods(),
        ),
        _service(
            "slowspots-hexagons",
            "Slow and fast spots of first answers (H3)",
            "service/slowspots-hexagons/",
            "Per H3 cell (resolution 8 unless `resolution` says otherwise), plus Gi* on the "
            "median working days to a first answer between neighbouring cells.",
            title_property="cell",
            id_parameters=_cell_resolution,
        ),
    )
}


@dataclass(frozen=True)
class Extent:
    bbox: tuple[float, float, float, float] | None
    interval: tuple[datetime | None, datetime | None] | None


def collection_extent(collection: AnyCollection) -> Extent:
    """The collection's bounding box and time span, from the database (two aggregates); a
    computed collection without `extent_rows`: its layer's, for the default parameters."""
    if isinstance(collection, ComputedCollection):
        if collection.extent_rows is None:
            return Extent(bbox=collection.features({}).bbox, interval=None)
        return Extent(bbox=maps.extent(collection.extent_rows(), field="geometry"), interval=None)
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
