"""`/api/engagement/...`: the engagement layers as RFC 7946 FeatureCollections, and the
outreach ranking. Thin views: parameters are checked here, figures come from
geodata.engagement.

Every endpoint takes the ideas API's filters that make sense city-wide (created_after,
created_before, category, kind, status, channel; applied by mapideas.pins.filters.IdeaFilter to the
public pins) and its own parameters; a bad one is a 400 naming it.

The layers name each neighborhood (`name`, `slug`) and its team (`team`, `team_slug`). Team
names are in the request's language, as everywhere in /api/ (neighborhoods.translated_names);
the figures are the same in every language, only the names differ. Nothing here is cached, so
no answer in one language is served to a request in another.
"""

import orjson
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geodata.engagement import fields as engagement_fields
from geodata.engagement import layers as engagement_layers
from geodata.engagement.fields import Pace, Significance
from geodata.engagement.query import (
    ColdspotQuerySerializer,
    EngagementQuerySerializer,
    HexagonQuerySerializer,
    OutreachQuerySerializer,
    RepresentativenessQuerySerializer,
    ServiceHexagonQuerySerializer,
    ServiceQuerySerializer,
    SlowspotHexagonQuerySerializer,
    SlowspotQuerySerializer,
    parse_query,
)
from geodata.exports import layers as exports
from mapideas.plumbing.renderers import FastJSONRenderer
from neighborhoods.translated_names import active_language


def feature_collection(layer: engagement_layers.EngagementLayer, language: str) -> dict:
    """The layer as an RFC 7946 FeatureCollection, teams named in `language`; its figures as
    foreign members."""
    features = [
        {
            "type": "Feature",
            "id": row.id,
            # The database's GeoJSON text, embedded as it is: parsing and encoding again
            # the polygons of thousands of cells was most of the answer's time.
            "geometry": orjson.Fragment(row.geometry),
            "properties": row.properties,
        }
        for row in exports.engagement_rows(layer, language)
    ]
    return {"type": "FeatureCollection", **layer.about, "features": features}


# --- response shapes (for the OpenAPI schema) ------------------------------------------------

GEOJSON_POLYGONAL_SCHEMA = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array", "items": {"type": "array"}},
    },
}


@extend_schema_field(GEOJSON_POLYGONAL_SCHEMA)
class PolygonalGeometryField(serializers.JSONField):
    """A GeoJSON Polygon or MultiPolygon in WGS84, 6 decimals."""


class CitySerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Pins in the active neighborhoods.")
    unassigned = serializers.IntegerField(help_text="Pins in no active neighborhood.")
    population = serializers.IntegerField(allow_null=True)
    area_km2 = serializers.FloatField()
    per_1000 = serializers.FloatField(allow_null=True)
    per_km2 = serializers.FloatField(allow_null=True)


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    previous_start = serializers.DateField()
    previous_end = serializers.DateField()


class AboutSerializer(serializers.Serializer):
    population_known = serializers.BooleanField(
        help_text="False: no per-resident figures, rates are per km²; `message` says why."
    )
    basis = serializers.ChoiceField(choices=["per_1000", "per_km2"])
    thin_below = serializers.FloatField()
    message = serializers.CharField()
    city = CitySerializer()
    period = PeriodSerializer()


class NeighborhoodPropertiesSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    team = serializers.CharField(help_text="The team's name in the request's language.")
    team_slug = serializers.CharField(help_text="The team's slug: the same in every language.")
    population = serializers.IntegerField(allow_null=True)
    area_km2 = serializers.FloatField()
    count = serializers.IntegerField()
    too_few = serializers.BooleanField(
        help_text="Fewer pins than the minimum count (10): no rate, ratio or share, only intervals."
    )
    per_1000 = serializers.FloatField(allow_null=True)
    per_1000_low = serializers.FloatField(allow_null=True, help_text="95% Poisson interval.")
    per_1000_high = serializers.FloatField(allow_null=True)
    per_km2 = serializers.FloatField(allow_null=True)
    per_km2_low = serializers.FloatField(allow_null=True)
    per_km2_high = serializers.FloatField(allow_null=True)
    ratio = serializers.FloatField(allow_null=True)
    ratio_low = serializers.FloatField(allow_null=True)
    ratio_high = serializers.FloatField(allow_null=True)
    thin = serializers.BooleanField(help_text="The ratio's upper bound is below thin_below.")
    offline_count = serializers.IntegerField()
    offline_share = serializers.FloatField(allow_null=True)
    count_current = serializers.IntegerField()
    count_previous = serializers.IntegerField()
    change = serializers.IntegerField(
        allow_null=True, help_text="Null when both periods hold fewer than 10 pins together."
    )
    thinning = serializers.BooleanField(
        help_text="Significantly fewer pins than the previous period (one-sided binomial test)."
    )


class ColdspotPropertiesSerializer(NeighborhoodPropertiesSerializer):
    z_score = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    significance = serializers.ChoiceField(choices=Significance.ALL)
    neighbors = serializers.IntegerField(allow_null=True)
    island = serializers.BooleanField()


class HexagonPropertiesSerializer(serializers.Serializer):
    cell = serializers.CharField(help_text="H3 cell index.")
    count = serializers.IntegerField()
    too_few = serializers.BooleanField()
    population = serializers.FloatField(allow_null=True)
    area_km2 = serializers.FloatField()
    per_1000 = serializers.FloatField(allow_null=True)
    per_1000_low = serializers.FloatField(allow_null=True)
    per_1000_high = serializers.FloatField(allow_null=True)
    per_km2 = serializers.FloatField(allow_null=True)
    per_km2_low = serializers.FloatField(allow_null=True)
    per_km2_high = serializers.FloatField(allow_null=True)
    ratio = serializers.FloatField(allow_null=True)
    ratio_low = serializers.FloatField(allow_null=True)
    ratio_high = serializers.FloatField(allow_null=True)
    thin = serializers.BooleanField()


class RepresentativenessPropertiesSerializer(serializers.Serializer):
    attribute = serializers.CharField(help_text="The area attribute (import_population).")
    quintile = serializers.IntegerField(
        help_text="1: the fifth of residents with the lowest values, 5: the highest."
    )
    value_min = serializers.FloatField()
    value_max = serializers.FloatField()
    neighborhoods = serializers.IntegerField(help_text="Neighborhoods in this fifth.")
    population = serializers.IntegerField()
    count = serializers.IntegerField()
    too_few = serializers.BooleanField(help_text="Fewer than min_count pins: no rate.")
    per_1000 = serializers.FloatField(allow_null=True)
    per_1000_low = serializers.FloatField()
    per_1000_high = serializers.FloatField()
    ratio = serializers.FloatField(allow_null=True)
    ratio_low = serializers.FloatField()
    ratio_high = serializers.FloatField()
    spearman = serializers.FloatField(allow_null=True)
    spearman_p = serializers.FloatField(allow_null=True)
    summary = serializers.CharField(help_text="The attribute's figures in a sentence.")


class AttributeSummarySerializer(serializers.Serializer):
    neighborhoods = serializers.IntegerField()
    spearman = serializers.FloatField(allow_null=True)
    spearman_p = serializers.FloatField(allow_null=True)
    summary = serializers.CharField()


class OutreachItemSerializer(NeighborhoodPropertiesSerializer):
    rank = serializers.IntegerField()
    missing = serializers.FloatField()
    score = serializers.FloatField()
    reason = serializers.CharField()


def _collection(name: str, properties: type[serializers.Serializer], **extra) -> type:
    feature = type(
        f"{name}Feature",
        (serializers.Serializer,),
        {
            "type": serializers.ChoiceField(choices=["Feature"]),
            "id": serializers.CharField(),
            "geometry": PolygonalGeometryField(),
            "properties": properties(),
        },
    )
    return type(
        f"{name}Collection",
        (AboutSerializer,),
        {
            "type": serializers.ChoiceField(choices=["FeatureCollection"]),
            **extra,
            "features": feature(many=True),
        },
    )


NeighborhoodCollection = _collection("EngagementNeighborhood", NeighborhoodPropertiesSerializer)


HexagonCollection = _collection(
    "EngagementHexagon", HexagonPropertiesSerializer, resolution=serializers.IntegerField()
)


ColdspotCollection = _collection(
    "Coldspot",
    ColdspotPropertiesSerializer,
    weights=serializers.ChoiceField(choices=engagement_fields.WEIGHTS),
    alpha=serializers.FloatField(),
    permutations=serializers.IntegerField(),
    seed=serializers.IntegerField(),
)


RepresentativenessCollection = _collection(
    "Representativeness",
    RepresentativenessPropertiesSerializer,
    attributes=serializers.DictField(child=AttributeSummarySerializer()),
)


class OutreachSerializer(AboutSerializer):
    results = OutreachItemSerializer(many=True)


# --- service equity (geodata.engagement.service, slowspots) ---------------------------------


_TEXT_FIELDS = {
    "name": "The neighborhood's name.",
    "slug": "The neighborhood's slug.",
    "team": "The team's name in the request's language.",
    "team_slug": "The team's slug: the same in every language.",
    "cell": "H3 cell index.",
}


def _service_properties(layer: str) -> type[serializers.Serializer]:
    """The properties of a service layer, typed from fields.LAYER_FIELDS: every figure may be
    null (too few pins, or not reached: see its `_more_than`)."""
    fields = engagement_fields.LAYER_FIELDS[layer]
    declared: dict[str, serializers.Field] = {}
    for name in fields.names:
        if name in _TEXT_FIELDS:
            declared[name] = serializers.CharField(help_text=_TEXT_FIELDS[name])
        elif name == "too_few":
            declared[name] = serializers.BooleanField(
                help_text="Fewer pins than min_count: every figure of the area is null."
            )
        elif name == "significance":
            declared[name] = serializers.ChoiceField(choices=Pace.ALL)
        elif name in fields.booleans:
            declared[name] = serializers.BooleanField()
        elif name in fields.integers:
            declared[name] = serializers.IntegerField(allow_null=True)
        else:
            declared[name] = serializers.FloatField(allow_null=True)
    title = "".join(part.title() for part in layer.split("-"))
    return type(f"{title}PropertiesSerializer", (serializers.Serializer,), declared)


class ServicePeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField(allow_null=True, help_text="First moment counted.")
    end = serializers.DateTimeField(allow_null=True, help_text="End of the range (excluded).")


def _service_collection(layer: str, **extra) -> type:
    title = "".join(part.title() for part in layer.split("-"))
    feature = type(
        f"{title}Feature",
        (serializers.Serializer,),
        {
            "type": serializers.ChoiceField(choices=["Feature"]),
            "id": serializers.CharField(),
            "geometry": PolygonalGeometryField(),
            "properties": _service_properties(layer)(),
        },
    )
    return type(
        f"{title}Collection",
        (serializers.Serializer,),
        {
            "type": serializers.ChoiceField(choices=["FeatureCollection"]),
            "message": serializers.CharField(),
            "min_count": serializers.IntegerField(),
            "as_of": serializers.DateTimeField(help_text="Waiting pins are timed to this."),
            "population_known": serializers.BooleanField(),
            "period": ServicePeriodSerializer(),
            **extra,
            "features": feature(many=True),
        },
    )


_SLOWSPOT_ABOUT = {
    "alpha": serializers.FloatField(),
    "permutations": serializers.IntegerField(),
    "seed": serializers.IntegerField(),
}


ServiceNeighborhoodCollection = _service_collection("service-neighborhoods")


ServiceTeamCollection = _service_collection("service-teams")


ServiceHexagonCollection = _service_collection(
    "service-hexagons", resolution=serializers.IntegerField()
)


SlowspotCollection = _service_collection("slowspots", **_SLOWSPOT_ABOUT)


SlowspotHexagonCollection = _service_collection(
    "slowspots-hexagons", resolution=serializers.IntegerField(), **_SLOWSPOT_ABOUT
)


BAD_PARAMETER = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description='A parameter is wrong; the body names it: {"resolution": ["..."]}.',
)


# --- views -----------------------------------------------------------------------------------


class _LayerView(APIView):
    layer: str
    # The only renderers that write the geometries' Fragments (feature_collection).
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]

    def get(self, request: Request) -> Response:
        selection, options = parse_query(self.layer, request.query_params)
        layer = engagement_layers.engagement_layer(self.layer, selection, options)
        return Response(feature_collection(layer, active_language()))


@extend_schema(
    summary="Pins per 1,000 residents and per km² by neighborhood, against the city rate",
    parameters=[EngagementQuerySerializer],
    responses={200: NeighborhoodCollection, 400: BAD_PARAMETER},
)
class EngagementNeighborhoods(_LayerView):
    layer = "engagement-neighborhoods"


@extend_schema(
    summary="Pins per H3 cell, with residents by areal weighting when population is known",
    parameters=[HexagonQuerySerializer],
    responses={200: HexagonCollection, 400: BAD_PARAMETER},
)
class EngagementHexagons(_LayerView):
    layer = "engagement-hexagons"


@extend_schema(
    summary="Cold and hot spots of engagement (Getis-Ord Gi*, false discovery rate held)",
    parameters=[ColdspotQuerySerializer],
    responses={200: ColdspotCollection, 400: BAD_PARAMETER},
)
class EngagementColdspots(_LayerView):
    layer = "coldspots"


@extend_schema(
    summary="Pins per 1,000 residents by population-weighted fifth of each area attribute",
    parameters=[RepresentativenessQuerySerializer],
    responses={200: RepresentativenessCollection, 400: BAD_PARAMETER},
)
class EngagementRepresentativeness(_LayerView):
    """Neighborhood-level estimates: how areas of a profile are heard, nothing about a person."""

    layer = "representativeness"


@extend_schema(
    summary="Where an in-person event or kiosk would add the most voices, best first",
    parameters=[OutreachQuerySerializer],
    responses={200: OutreachSerializer, 400: BAD_PARAMETER},
)
class EngagementOutreach(APIView):
    """The ranking; the same with polygons, in every format: /export/outreach.<ext>."""

    def get(self, request: Request) -> Response:
        selection, options = parse_query("outreach", request.query_params)
        layer = engagement_layers.engagement_layer("outreach", selection, options)
        # The rows of /export/outreach.<ext> without their polygons: teams renamed the same way.
        results = [row.properties for row in exports.engagement_rows(layer, active_language())]
        return Response({**layer.about, "results": results})


_SERVICE = (
    " In working days of each pin's team (its week and holidays, local dates); medians and 90th "
    "percentiles are Kaplan-Meier estimates counting waiting pins as waiting so far. An area "
    "with fewer than min_count pins shows no figure."
)


@extend_schema(
    summary="How fast each neighborhood's pins are answered and done",
    description=_SERVICE.strip(),
    parameters=[ServiceQuerySerializer],
    responses={200: ServiceNeighborhoodCollection, 400: BAD_PARAMETER},
)
class ServiceNeighborhoods(_LayerView):
    layer = "service-neighborhoods"


@extend_schema(
    summary="How fast each team answers its pins, drawn as its neighborhoods",
    description=_SERVICE.strip(),
    parameters=[ServiceQuerySerializer],
    responses={200: ServiceTeamCollection, 400: BAD_PARAMETER},
)
class ServiceTeams(_LayerView):
    layer = "service-teams"


@extend_schema(
    summary="How fast the pins of each H3 cell are answered and done",
    description=_SERVICE.strip(),
    parameters=[ServiceHexagonQuerySerializer],
    responses={200: ServiceHexagonCollection, 400: BAD_PARAMETER},
)
class ServiceHexagons(_LayerView):
    layer = "service-hexagons"


@extend_schema(
    summary="Slow and fast spots of first answers by neighborhood (Getis-Ord Gi*)",
    description=_SERVICE.strip(),
    parameters=[SlowspotQuerySerializer],
    responses={200: SlowspotCollection, 400: BAD_PARAMETER},
)
class ServiceSlowspots(_LayerView):
    layer = "slowspots"


@extend_schema(
    summary="Slow and fast spots of first answers by H3 cell (Getis-Ord Gi*)",
    description=_SERVICE.strip(),
    parameters=[SlowspotHexagonQuerySerializer],
    responses={200: SlowspotHexagonCollection, 400: BAD_PARAMETER},
)
class ServiceSlowspotHexagons(_LayerView):
    layer = "slowspots-hexagons"
