"""GET /api/ideas/viewport/: what the map draws for its viewport, pins or clusters.

A thin view over mapideas.map.viewport.viewport() (the read). Clusters are read from the counts
kept on write (mapideas.map.viewport_counts) whenever the filters allow it: those answers are
exact as of the last commit and never cached, so a new, moved, re-routed, hidden or deleted
pin shows in the very next answer; there is nothing to invalidate. The answers that still
count the pins themselves (a `created_after` or `created_before` day, the squares below zoom
10, a viewport too large to list its cells) cost a scan, and are cached for
VIEWPORT_CACHE_SECONDS: the issue accepts counts a few seconds stale, and that cache is not
invalidated on write (no write path, raw SQL included, could be trusted to bump it), so those
counts may lag by at most that many seconds. Pin answers are never cached, so a pin just
dropped shows at once where pins are drawn.
"""

import hashlib
import json

from django import forms
from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from mapideas.map.viewport import PIN_ROWS, Cluster, Viewport, viewport
from mapideas.map.viewport_counts import CountFilters, count_filters_of
from mapideas.models import Idea
from mapideas.pins import selectors
from mapideas.pins.fields import PinContext
from mapideas.pins.filters import BBoxField, IdeaFilter
from mapideas.pins.serializers import COORDINATE_PRECISION, GEOJSON_POINT_SCHEMA
from mapideas.plumbing.renderers import FastJSONRenderer
from neighborhoods.translated_names import active_language

MAX_ZOOM = 22
CACHE_PREFIX = "viewport:"


class ViewportQuerySerializer(serializers.Serializer):
    """The viewport: both required, unlike /api/ideas/'s optional bbox."""

    bbox = serializers.CharField(help_text="minlon,minlat,maxlon,maxlat in WGS84 (RFC 7946, 5)")
    zoom = serializers.IntegerField(min_value=0, max_value=MAX_ZOOM)

    def validate_bbox(self, value: str) -> Polygon | None:
        try:
            return BBoxField().clean(value)
        except forms.ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


def cluster_feature(cluster: Cluster) -> dict:
    return {
        "id": cluster.cell,
        "type": "Feature",
        "geometry": {
            "type": "Point",
            "coordinates": [
                round(cluster.lon, COORDINATE_PRECISION),
                round(cluster.lat, COORDINATE_PRECISION),
            ],
        },
        "properties": {"cluster": True, "count": cluster.count, "cell": cluster.cell},
    }


def viewport_collection(answer: Viewport) -> dict:
    """An RFC 7946 FeatureCollection with foreign members saying what it holds."""
    if answer.mode == "pins":
        # The API's rule (neighborhoods.translated_names): names in the request's language,
        # dates in the site's time zone, as the serializer gives them.
        context = PinContext.of(
            active_language(), timezone.get_current_timezone(), rows=answer.pins
        )
        # The Feature IdeaFeatureSerializer makes of the pin, from its PIN_VALUES row: the
        # builder mapideas.pins.fields compiles from the public pin's fields, as a plain
        # function (the serializer costs ~0.1 ms a pin, up to 5,000 a map move).
        # tests/mapideas/map/test_api_viewport.py checks the two agree, field for field.
        pin_feature = PIN_ROWS.builder(context)
        features = [pin_feature(row) for row in answer.pins]
    else:
        features = [cluster_feature(cluster) for cluster in answer.clusters]
    return {
        "type": "FeatureCollection",
        "mode": answer.mode,
        "total": answer.total,
        "truncated": answer.truncated,
        "level": answer.level,
        "features": features,
    }


def _cache_key(bbox: Polygon, zoom: int, filters: IdeaFilter) -> str:
    """The normalised query: the bbox as numbers, the zoom, the filters as cleaned."""
    cleaned = sorted(
        (name, str(getattr(value, "pk", value)))
        for name, value in filters.form.cleaned_data.items()
        if value not in (None, "")
    )
    query = json.dumps([bbox.extent, zoom, cleaned], default=str)
    return CACHE_PREFIX + hashlib.sha256(query.encode()).hexdigest()


def count_filters(filters: IdeaFilter) -> CountFilters | None:
    """The valid filters as the counts kept on write can answer them, or None (a date)."""
    return count_filters_of(filters.form.cleaned_data)


_COLLECTION_SCHEMA = {
    "type": "object",
    "required": ["type", "mode", "total", "truncated", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "mode": {"type": "string", "enum": ["pins", "clusters"]},
        "total": {"type": "integer", "description": "Every pin in view with the filters."},
        "truncated": {
            "type": "boolean",
            "description": "Pins mode: more pins in view than one answer carries (5,000).",
        },
        "level": {
            "type": "string",
            "description": 'What clusters group by: "h3-7", "h3-8", "h3-9" or "grid-<degrees>".',
        },
        "features": {
            "type": "array",
            "maxItems": 5000,
            "items": {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                    "geometry": GEOJSON_POINT_SCHEMA,
                    "properties": {
                        "type": "object",
                        "description": (
                            "A cluster: `cluster` (true), `count` (its pins, exact), `cell`. "
                            "A pin: the properties /api/ideas/ gives it."
                        ),
                    },
                },
            },
        },
    },
}


@extend_schema(
    summary="What the map draws for a viewport: pins when few, else clusters with exact counts",
    parameters=[
        OpenApiParameter(
            "bbox",
            OpenApiTypes.STR,
            required=True,
            description="minlon,minlat,maxlon,maxlat in WGS84",
        ),
        OpenApiParameter("zoom", OpenApiTypes.INT, required=True, description="0 to 22"),
    ],
    responses={
        200: OpenApiResponse(
            response=_COLLECTION_SCHEMA,
            description=(
                "A FeatureCollection of at most 5,000 features: the pins in view (newest "
                "first) when there are few or zoom >= 16, else clusters."
            ),
        ),
        400: OpenApiResponse(description="A missing or wrong bbox, zoom or filter, named."),
    },
    filters=True,  # the filters of /api/ideas/, though the answer is no list of ideas
)
class IdeaViewport(GenericAPIView):
    """GET: the viewport's pins or clusters, with the filters of /api/ideas/."""

    # Documents the filters in the schema. They are applied below, not by filter_queryset():
    # the bbox is the selector's (required here), and matching it twice costs time.
    filterset_class = IdeaFilter
    pagination_class = None
    # Up to 5,000 features an answer: encoded by orjson (mapideas.plumbing.renderers).
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]

    def get_queryset(self) -> QuerySet[Idea]:
        return selectors.public_ideas()

    def get(self, request: Request) -> Response:
        given = ViewportQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        bbox, zoom = given.validated_data["bbox"], given.validated_data["zoom"]
        params = request.query_params.copy()
        params.pop("bbox", None)
        filters = IdeaFilter(params, queryset=self.get_queryset(), request=request)
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        key = _cache_key(bbox, zoom, filters)
        body = cache.get(key)
        if body is None:
            answer = viewport(filters.qs, bbox, zoom, count_filters(filters))
            body = viewport_collection(answer)
            if (
                answer.mode == "clusters"
                and not answer.counted_on_write
                and settings.VIEWPORT_CACHE_SECONDS > 0
            ):
                cache.set(key, body, settings.VIEWPORT_CACHE_SECONDS)
        return Response(body)
