"""`/api/engagement/...`: the engagement layers as RFC 7946 FeatureCollections, and the
outreach ranking. Thin views: parameters are checked here, figures come from
geodata.engagement.

Every endpoint takes the ideas API's filters that make sense city-wide (created_after,
created_before, category, kind, status, channel; applied by mapideas.filters.IdeaFilter to the
public pins) and its own parameters; a bad one is a 400 naming it.
"""

import json
from collections.abc import Mapping
from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geodata import engagement, exports
from geodata.engagement import Options, Period, Selection, Significance
from mapideas import selectors
from mapideas.db_routers import replica_alias
from mapideas.filters import IdeaFilter
from mapideas.models import Idea

# The IdeaFilter parameters the engagement layers take. Not bbox, neighborhood or team: a rate
# compared with the city's needs the whole city's pins.
FILTER_PARAMS = ("created_after", "created_before", "category", "kind", "status", "channel")
# Dates outside these years are refused: the trend's previous period is computed from them.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


# --- parameters ------------------------------------------------------------------------------


class EngagementQuerySerializer(serializers.Serializer):
    created_after = serializers.DateField(
        required=False, help_text="First day counted (YYYY-MM-DD, included)."
    )
    created_before = serializers.DateField(
        required=False, help_text="Last day counted (YYYY-MM-DD, included)."
    )
    category = serializers.CharField(required=False, help_text="Category slug.")
    kind = serializers.ChoiceField(choices=Idea.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=Idea.Status.choices, required=False)
    channel = serializers.ChoiceField(choices=Idea.Channel.choices, required=False)
    thin_below = serializers.FloatField(
        required=False,
        default=engagement.THIN_BELOW,
        min_value=0,
        max_value=100,
        help_text="A neighborhood (or cell) whose ratio to the city rate is below this is thin.",
    )
    trend_days = serializers.IntegerField(
        required=False,
        default=engagement.TREND_DAYS,
        min_value=1,
        max_value=3660,
        help_text="Length of the trend period when no date range is given (ending today).",
    )

    def validate_thin_below(self, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise serializers.ValidationError(_("Give a finite number."))
        return value

    def validate(self, data: dict) -> dict:
        errors = {}
        for name in ("created_after", "created_before"):
            day = data.get(name)
            if day is not None and not EARLIEST <= day <= LATEST:
                errors[name] = [
                    _("Give a day between %(earliest)s and %(latest)s.")
                    % {"earliest": EARLIEST, "latest": LATEST}
                ]
        after, before = data.get("created_after"), data.get("created_before")
        if not errors and after and before and after > before:
            errors["created_before"] = [_("The last day must not be before the first day.")]
        if errors:
            raise serializers.ValidationError(errors)
        return data


class HexagonQuerySerializer(EngagementQuerySerializer):
    resolution = serializers.IntegerField(
        required=False,
        default=8,
        min_value=min(engagement.RESOLUTIONS),
        max_value=max(engagement.RESOLUTIONS),
        help_text="H3 resolution: 7 (about 5 km² a cell), 8 (0.7 km²) or 9 (0.1 km²).",
    )


class ColdspotQuerySerializer(EngagementQuerySerializer):
    weights = serializers.ChoiceField(
        choices=engagement.WEIGHTS,
        required=False,
        default="queen",
        help_text="queen: neighborhoods sharing a border or corner (islands get their nearest "
        "one); distance: within the smallest distance giving everyone a neighbour.",
    )
    alpha = serializers.FloatField(
        required=False,
        default=engagement.ALPHA,
        min_value=0.001,
        max_value=0.5,
        help_text="False discovery rate of the Benjamini-Hochberg correction.",
    )

    def validate_alpha(self, value: float) -> float:
        if value != value:
            raise serializers.ValidationError(_("Give a finite number."))
        return value


class OutreachQuerySerializer(EngagementQuerySerializer):
    limit = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=1000, help_text="At most this many."
    )


# The parameters of each layer, for the API, /export/<layer>.<ext> and export_layer.
QUERY_SERIALIZERS: dict[str, type[EngagementQuerySerializer]] = {
    "engagement-neighborhoods": EngagementQuerySerializer,
    "engagement-hexagons": HexagonQuerySerializer,
    "coldspots": ColdspotQuerySerializer,
    "outreach": OutreachQuerySerializer,
}


def parse_query(layer: str, params: Mapping[str, str]) -> tuple[Selection, Options]:
    """The pins and options `params` ask for; ValidationError (a 400) naming each bad one.

    Empty values count as absent, as in the ideas API (a form sends `created_after=`).
    """
    given = QUERY_SERIALIZERS[layer](data={k: v for k, v in params.items() if v != ""})
    given.is_valid(raise_exception=True)
    data = given.validated_data
    filters = {name: str(data[name]) for name in FILTER_PARAMS if data.get(name) is not None}
    # Figures over the whole city may lag the primary a little: read from the replica.
    pins = selectors.public_ideas().using(replica_alias())
    dated = IdeaFilter(filters, queryset=pins)
    if not dated.is_valid():
        raise ValidationError(dated.errors)
    undated = IdeaFilter(
        {k: v for k, v in filters.items() if not k.startswith("created_")},
        queryset=pins,
    )
    undated.is_valid()  # a subset of what was just found valid
    after, before = data.get("created_after"), data.get("created_before")
    selection = Selection(
        ideas=dated.qs,
        undated=undated.qs,
        since=engagement.midnight(after) if after else None,
        until=engagement.midnight(before + timedelta(days=1)) if before else None,
        period=Period.around(
            after=after, before=before, today=timezone.localdate(), days=data["trend_days"]
        ),
    )
    options = Options(
        thin_below=data["thin_below"],
        resolution=data.get("resolution", 8),
        weights=data.get("weights", "queen"),
        alpha=data.get("alpha", engagement.ALPHA),
        limit=data.get("limit"),
    )
    return selection, options


def feature_collection(layer: engagement.EngagementLayer) -> dict:
    """The layer as an RFC 7946 FeatureCollection; its figures as foreign members."""
    features = [
        {
            "type": "Feature",
            "id": row.id,
            "geometry": json.loads(row.geometry),
            "properties": row.properties,
        }
        for row in exports.engagement_rows(layer)
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
    team = serializers.CharField()
    team_slug = serializers.CharField()
    population = serializers.IntegerField(allow_null=True)
    area_km2 = serializers.FloatField()
    count = serializers.IntegerField()
    per_1000 = serializers.FloatField(allow_null=True)
    per_km2 = serializers.FloatField(allow_null=True)
    ratio = serializers.FloatField(allow_null=True)
    thin = serializers.BooleanField()
    offline_count = serializers.IntegerField()
    offline_share = serializers.FloatField(allow_null=True)
    count_current = serializers.IntegerField()
    count_previous = serializers.IntegerField()
    change = serializers.IntegerField()
    thinning = serializers.BooleanField()


class ColdspotPropertiesSerializer(NeighborhoodPropertiesSerializer):
    z_score = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    significance = serializers.ChoiceField(choices=Significance.ALL)
    neighbors = serializers.IntegerField(allow_null=True)
    island = serializers.BooleanField()


class HexagonPropertiesSerializer(serializers.Serializer):
    cell = serializers.CharField(help_text="H3 cell index.")
    count = serializers.IntegerField()
    population = serializers.FloatField(allow_null=True)
    area_km2 = serializers.FloatField()
    per_1000 = serializers.FloatField(allow_null=True)
    per_km2 = serializers.FloatField(allow_null=True)
    ratio = serializers.FloatField(allow_null=True)
    thin = serializers.BooleanField()


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
    weights=serializers.ChoiceField(choices=engagement.WEIGHTS),
    alpha=serializers.FloatField(),
    permutations=serializers.IntegerField(),
    seed=serializers.IntegerField(),
)


class OutreachSerializer(AboutSerializer):
    results = OutreachItemSerializer(many=True)


BAD_PARAMETER = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description='A parameter is wrong; the body names it: {"resolution": ["..."]}.',
)


# --- views -----------------------------------------------------------------------------------


class _LayerView(APIView):
    layer: str

    def get(self, request: Request) -> Response:
        selection, options = parse_query(self.layer, request.query_params)
        layer = engagement.engagement_layer(self.layer, selection, options)
        return Response(feature_collection(layer))


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
    summary="Where an in-person event or kiosk would add the most voices, best first",
    parameters=[OutreachQuerySerializer],
    responses={200: OutreachSerializer, 400: BAD_PARAMETER},
)
class EngagementOutreach(APIView):
    """The ranking; the same with polygons, in every format: /export/outreach.<ext>."""

    def get(self, request: Request) -> Response:
        selection, options = parse_query("outreach", request.query_params)
        layer = engagement.engagement_layer("outreach", selection, options)
        results = [properties for _id, properties in engagement.plain_properties(layer)]
        return Response({**layer.about, "results": results})
