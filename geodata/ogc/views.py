"""OGC API – Features (Part 1: Core, GeoJSON, HTML, OpenAPI 3.0) at /ogc/.

Thin DRF views: the collections are in geodata.ogc.collections, the checks of a request in
geodata.ogc.query, the documents in geodata.ogc.documents. Each view answers JSON (GeoJSON for
features) or, for `f=html` or a browser's Accept header, an HTML page. Every error is an OGC
exception document `{"code", "description"}` with a 400 or 404, never DRF's or Django's own.

They are DRF views with extend_schema so the project's OpenAPI document (/api/schema/, the
landing page's service-desc) describes them, as the OAS 3.0 conformance class requires.
"""

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geodata.ogc import documents
from geodata.ogc.collections import COLLECTIONS, CRS84, AnyCollection, ComputedCollection
from geodata.ogc.query import (
    DEFAULT_LIMIT,
    FORMAT_PARAMETER,
    FORMATS,
    MAX_OFFSET,
    OgcError,
    feature_parameters,
    find_feature,
    items_parameters,
    not_found,
    output_format,
    parse_items_query,
    single_values,
)

# --- OpenAPI description ------------------------------------------------------------------

LINK_SCHEMA = {
    "type": "object",
    "required": ["href", "rel"],
    "properties": {
        "href": {"type": "string"},
        "rel": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
    },
}
LINKS_SCHEMA = {"type": "array", "items": LINK_SCHEMA}
EXCEPTION_SCHEMA = {
    "type": "object",
    "required": ["code", "description"],
    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
}
COLLECTION_SCHEMA = {
    "type": "object",
    "required": ["id", "links"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "itemType": {"type": "string"},
        "crs": {"type": "array", "items": {"type": "string"}},
        "links": LINKS_SCHEMA,
        "extent": {
            "type": "object",
            "properties": {
                "spatial": {
                    "type": "object",
                    "properties": {
                        "bbox": {
                            "type": "array",
                            "items": {
                                "type": "array",
                                "items": {"type": "number"},
                                "minItems": 4,
                                "maxItems": 4,
                            },
                        },
                        "crs": {"type": "string"},
                    },
                },
                "temporal": {
                    "type": "object",
                    "properties": {
                        "interval": {
                            "type": "array",
                            "items": {
                                "type": "array",
                                "items": {
                                    "type": "string",
                                    "format": "date-time",
                                    "nullable": True,
                                },
                                "minItems": 2,
                                "maxItems": 2,
                            },
                        },
                        "trs": {"type": "string"},
                    },
                },
            },
        },
    },
}
FEATURE_SCHEMA = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "geometry": {"type": "object", "nullable": True, "description": "GeoJSON, WGS84 lon,lat"},
        "properties": {"type": "object", "nullable": True},
        "links": LINKS_SCHEMA,
    },
}
FEATURE_COLLECTION_SCHEMA = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": FEATURE_SCHEMA},
        "links": LINKS_SCHEMA,
        "timeStamp": {"type": "string", "format": "date-time"},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
    },
}
LANDING_SCHEMA = {
    "type": "object",
    "required": ["links"],
    "properties": {
        "title": {"type": "string"},
        "description": {"type": "string"},
        "links": LINKS_SCHEMA,
    },
}
CONFORMANCE_SCHEMA = {
    "type": "object",
    "required": ["conformsTo"],
    "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
}
COLLECTIONS_SCHEMA = {
    "type": "object",
    "required": ["links", "collections"],
    "properties": {
        "links": LINKS_SCHEMA,
        "collections": {"type": "array", "items": COLLECTION_SCHEMA},
    },
}

F_PARAMETER = OpenApiParameter(
    FORMAT_PARAMETER,
    str,
    enum=list(FORMATS),
    allow_blank=False,
    description=(
        "The format: json (GeoJSON for features) or html. Without it, the Accept header "
        "decides; JSON unless text/html is preferred."
    ),
)
COLLECTION_ID = OpenApiParameter(
    "collectionId",
    str,
    OpenApiParameter.PATH,
    enum=list(COLLECTIONS),
    description="The collection: " + ", ".join(COLLECTIONS),
)
FEATURE_ID = OpenApiParameter(
    "featureId",
    str,
    OpenApiParameter.PATH,
    description=(
        "The feature's id: an idea's number, a neighborhood's slug (also in "
        "engagement-neighborhoods and coldspots), a hexagon's H3 cell index."
    ),
)


def _collections_taking(name: str, *, computed_only: bool = False) -> str:
    return ", ".join(
        c.id
        for c in COLLECTIONS.values()
        if name in c.filters and (isinstance(c, ComputedCollection) or not computed_only)
    )


# What OpenApiParameter takes as a parameter's type: a Python type or a JSON schema.
ParameterType = type[str] | dict[str, Any]


def _filterset_parameter(collection, name: str) -> tuple[ParameterType, list | None, str]:
    """A FilterSet filter's type, enum and description (choices become enums)."""
    choices = getattr(collection.filterset.base_filters[name].field, "choices", None)
    enum = (
        [value for value, _label in choices if value != ""]
        if choices is not None and not hasattr(choices, "queryset")
        else None
    )
    return str, enum, f"As in /api/ideas/ ({'one of the values' if enum else 'a slug'})"


def _serializer_parameter(
    collection: ComputedCollection, name: str
) -> tuple[ParameterType, list | None, str]:
    """A computed collection's parameter, typed from its /api/engagement/ serializer."""
    field = collection.parameters().fields[name]
    schema: dict = {}
    if isinstance(field, serializers.IntegerField | serializers.FloatField):
        schema["type"] = "integer" if isinstance(field, serializers.IntegerField) else "number"
        if field.min_value is not None:
            schema["minimum"] = field.min_value
        if field.max_value is not None:
            schema["maximum"] = field.max_value
    elif isinstance(field, serializers.DateField):
        schema = {"type": "string", "format": "date"}
    enum = list(field.choices) if isinstance(field, serializers.ChoiceField) else None
    if field.default is not serializers.empty:
        schema = {"type": "string", **schema, "default": field.default}
    described = str(field.help_text or "").rstrip(".") or ("one of the values" if enum else "")
    return (schema or str), enum, f"As in /api/engagement/ ({described})"


def _filter_parameters(*, computed_only: bool = False) -> list[OpenApiParameter]:
    """The collections' extra parameters, typed from their FilterSets or serializers: one
    per name, saying which collections take it."""
    parameters = []
    seen: set[str] = set()
    for collection in COLLECTIONS.values():
        # isinstance() at each use, not a flag: mypy narrows `collection` only on isinstance().
        if not isinstance(collection, ComputedCollection) and (
            computed_only or collection.filterset is None
        ):
            continue
        for name in collection.filters:
            if name in seen:
                continue
            seen.add(name)
            kind, enum, description = (
                _serializer_parameter(collection, name)
                if isinstance(collection, ComputedCollection)
                else _filterset_parameter(collection, name)
            )
            taken_by = _collections_taking(name, computed_only=computed_only)
            parameters.append(
                OpenApiParameter(
                    name,
                    kind,
                    enum=enum,
                    allow_blank=False,
                    description=(
                        f"{description}; taken by: {taken_by}. Other collections answer 400."
                    ),
                )
            )
    return parameters


ITEMS_QUERY_PARAMETERS = [
    F_PARAMETER,
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT},
        description=(
            f"Features per page ({DEFAULT_LIMIT} by default). Above MAPIDEAS_MAX_PAGE_SIZE "
            "(1000 unless configured) the page is cut to it, not refused; `next` links the rest."
        ),
    ),
    OpenApiParameter(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        description=(
            "Features to skip, for clients that count their way through (a deep offset reads "
            "every feature before it); the `next` and `prev` links use `cursor` instead."
        ),
    ),
    OpenApiParameter(
        "cursor",
        str,
        description=(
            "Where the page starts: the value a `next` or `prev` link carries (opaque; follow "
            "the links rather than building one). Not with `offset`. Table collections only: "
            "the computed layers page by offset."
        ),
    ),
    OpenApiParameter(
        "bbox",
        {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        style="form",
        explode=False,
        description="minlon,minlat,maxlon,maxlat (CRS84): features that intersect the box.",
    ),
    OpenApiParameter(
        "bbox-crs",
        str,
        enum=[CRS84],
        allow_blank=False,
        description="The bbox's CRS: CRS84 only.",
    ),
    OpenApiParameter(
        "datetime",
        str,
        allow_blank=False,
        description=(
            "An RFC 3339 instant or date (a whole day), or an interval start/end with `..` "
            "for an open end, on when a pin was created. Collections without time (the "
            "neighborhoods and the computed engagement layers) check the value and match "
            "every feature."
        ),
    ),
    *_filter_parameters(),
]
ERRORS = {
    (400, documents.JSON): OpenApiResponse(EXCEPTION_SCHEMA, description="A bad parameter."),
}
NOT_FOUND = {
    (404, documents.JSON): OpenApiResponse(EXCEPTION_SCHEMA, description="No such resource."),
}
HTML_PAGE = OpenApiResponse(OpenApiTypes.STR, description="The same, as an HTML page.")


def _responses(schema: dict, media_type: str = documents.JSON, *, found: bool = False) -> dict:
    return {
        (200, media_type): OpenApiResponse(schema),
        (200, documents.HTML): HTML_PAGE,
        **ERRORS,
        **(NOT_FOUND if found else {}),
    }


# --- Views --------------------------------------------------------------------------------


class ReadClientFormat(BaseContentNegotiation):
    """Leave `f` and Accept to the views: DRF must not answer 406 to `Accept: text/html` or
    `application/geo+json` before the view has chosen HTML or GeoJSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class OgcView(APIView):
    """Public and read-only; answers with OGC exception documents."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = ReadClientFormat
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def read_format(
        self, request: Request, parameters: tuple[str, ...] = (FORMAT_PARAMETER,)
    ) -> tuple[dict[str, str], str]:
        """The query's values (any parameter but `parameters` is a 400) and the format."""
        values = single_values(request.query_params, parameters)
        return values, output_format(values, request.headers.get("Accept", ""))

    def answer(
        self,
        request: Request,
        fmt: str,
        document: dict,
        *,
        template: str,
        context: dict | None = None,
        media_type: str = documents.JSON,
    ) -> HttpResponse:
        response: HttpResponse
        if fmt == "html":
            response = TemplateResponse(
                request._request,
                template,
                {
                    "document": document,
                    "tile_url": settings.MAPIDEAS_TILE_URL,
                    "tile_attribution": settings.MAPIDEAS_TILE_ATTRIBUTION,
                    **(context or {}),
                },
            )
        else:
            response = Response(document, content_type=media_type)
        # The same URL answers JSON or HTML by the Accept header: caches must keep both.
        patch_vary_headers(response, ["Accept"])
        return response

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, OgcError):
            return ogc_error(exc.status, exc.code, exc.description)
        if isinstance(exc, Http404):
            return ogc_error(404, "NotFound", str(exc) or "Not found.")
        if isinstance(exc, APIException):
            # DRF's own refusals (405 for a POST, say) in the same OGC form.
            return ogc_error(exc.status_code, exc.default_code, str(exc.detail))
        return super().handle_exception(exc)


def ogc_error(status: int, code: str, description: str) -> Response:
    return Response(
        {"code": code, "description": description}, status=status, content_type=documents.JSON
    )


def collection_or_404(collection_id: str) -> AnyCollection:
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise not_found(
            f"No collection {collection_id!r}. The collections: {', '.join(COLLECTIONS)}."
        )
    return collection


@extend_schema_view(
    get=extend_schema(
        operation_id="getLandingPage",  # the operation ids of OGC's own OpenAPI
        summary="The landing page: links to the API definition, conformance and data",
        tags=["ogc"],
        parameters=[F_PARAMETER],
        responses=_responses(LANDING_SCHEMA),
    )
)
class LandingView(OgcView):
    """/ogc/: what this service is and where its definition, conformance and data are."""

    def get(self, request: Request) -> HttpResponse:
        _values, fmt = self.read_format(request)
        return self.answer(
            request,
            fmt,
            documents.landing_document(request, fmt),
            template="geodata/ogc/landing.html",
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="getConformanceDeclaration",
        summary="The OGC conformance classes this API implements",
        tags=["ogc"],
        parameters=[F_PARAMETER],
        responses=_responses(CONFORMANCE_SCHEMA),
    )
)
class ConformanceView(OgcView):
    """/ogc/conformance: the conformance classes this service implements."""

    def get(self, request: Request) -> HttpResponse:
        _values, fmt = self.read_format(request)
        return self.answer(
            request, fmt, documents.conformance_document(), template="geodata/ogc/conformance.html"
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="getCollections",
        summary="The feature collections, with their extents",
        tags=["ogc"],
        parameters=[F_PARAMETER],
        responses=_responses(COLLECTIONS_SCHEMA),
    )
)
class CollectionsView(OgcView):
    """/ogc/collections: every collection with its extent and links."""

    def get(self, request: Request) -> HttpResponse:
        _values, fmt = self.read_format(request)
        document = documents.collections_document(request, list(COLLECTIONS.values()), fmt)
        return self.answer(request, fmt, document, template="geodata/ogc/collections.html")


@extend_schema_view(
    get=extend_schema(
        operation_id="describeCollection",
        summary="One feature collection: its extent and links to its features",
        tags=["ogc"],
        parameters=[COLLECTION_ID, F_PARAMETER],
        responses=_responses(COLLECTION_SCHEMA, found=True),
    )
)
class CollectionView(OgcView):
    """/ogc/collections/{collectionId}: one collection with its extent and links."""

    # collectionId and featureId: OGC's names, so the OpenAPI document uses them.
    def get(self, request: Request, collectionId: str) -> HttpResponse:
        collection = collection_or_404(collectionId)
        _values, fmt = self.read_format(request)
        document = documents.collection_document(request, collection, fmt)
        return self.answer(
            request,
            fmt,
            document,
            template="geodata/ogc/collection.html",
            context={"collection": collection},
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="getFeatures",
        summary="A page of a collection's features (bbox, datetime and the API's filters)",
        tags=["ogc"],
        parameters=[COLLECTION_ID, *ITEMS_QUERY_PARAMETERS],
        responses=_responses(FEATURE_COLLECTION_SCHEMA, documents.GEOJSON, found=True),
    )
)
class ItemsView(OgcView):
    """/ogc/collections/{collectionId}/items: a page of features, filtered, with paging links."""

    def get(self, request: Request, collectionId: str) -> HttpResponse:
        collection = collection_or_404(collectionId)
        values, fmt = self.read_format(request, items_parameters(collection))
        query = parse_items_query(collection, values)
        document = documents.items_document(request, collection, query, fmt)
        return self.answer(
            request,
            fmt,
            document,
            template="geodata/ogc/items.html",
            context={
                "collection": collection,
                "query": query,
                # A computed layer's feature pages show the figures for the same parameters.
                "feature_query": urlencode(
                    {
                        "f": "html",
                        **(query.filters if isinstance(collection, ComputedCollection) else {}),
                    }
                ),
                "rows": [
                    (feature["id"], documents.feature_title(collection, feature))
                    for feature in document["features"]
                ],
            },
            media_type=documents.GEOJSON,
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="getFeature",
        summary="One feature of a collection",
        tags=["ogc"],
        parameters=[
            COLLECTION_ID,
            FEATURE_ID,
            F_PARAMETER,
            *_filter_parameters(computed_only=True),
        ],
        responses=_responses(FEATURE_SCHEMA, documents.GEOJSON, found=True),
    )
)
class FeatureView(OgcView):
    """/ogc/collections/{collectionId}/items/{featureId}: one feature."""

    def get(self, request: Request, collectionId: str, featureId: str) -> HttpResponse:
        collection = collection_or_404(collectionId)
        values, fmt = self.read_format(request, feature_parameters(collection))
        params = {name: values[name] for name in collection.filters if name in values}
        found = find_feature(collection, featureId, params)
        if found is None:
            raise not_found(f"No feature {featureId!r} in the collection {collection.id!r}.")
        document = documents.feature_document(request, collection, found, fmt, params)
        return self.answer(
            request,
            fmt,
            document,
            template="geodata/ogc/feature.html",
            context={
                "collection": collection,
                "title": documents.feature_title(collection, document),
            },
            media_type=documents.GEOJSON,
        )
