"""GET /api/ideas/similar/: open pins near a pin being written that are probably about the
same thing (mapideas.similar), so the citizen can support one instead."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mapideas.models import TITLE_MAX_LENGTH
from mapideas.pins.serializers import CategorySlugField
from mapideas.similar import selectors as similar
from mapideas.submission import services


class SimilarQuerySerializer(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)
    title = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=TITLE_MAX_LENGTH,
    )
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000
    )
    # Optional, like /api/route/'s: the citizen may not have chosen one yet.
    category = CategorySlugField(required=False, allow_null=True)
    zoom = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=22,
        help_text="The map's zoom: the search radius is 50 m from zoom 17 up to 1 km at 12.",
    )
    radius_m = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=similar.MAX_RADIUS_M,
        help_text="The search radius in metres, instead of the one the zoom gives.",
    )


class SimilarPinSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="idea.pk")
    title = serializers.CharField(source="idea.title")
    status = serializers.CharField(source="idea.status")
    category = serializers.CharField(source="idea.category.slug")
    distance_m = serializers.SerializerMethodField()
    score = serializers.FloatField(help_text="Text similarity (0-1) + 0.2 for the same category.")
    url = serializers.SerializerMethodField()
    support_count = serializers.IntegerField(source="idea.support_count")
    support_url = serializers.SerializerMethodField(
        help_text="The pin page's support form (POST with the CSRF token)."
    )

    def get_distance_m(self, pin: similar.SimilarPin) -> float:
        return round(pin.distance_m, 1)

    def get_url(self, pin: similar.SimilarPin) -> str:
        return pin.idea.get_absolute_url()

    def get_support_url(self, pin: similar.SimilarPin) -> str:
        return reverse("idea-support", args=[pin.idea.pk])


@extend_schema(
    summary="Open pins near a pin being written, ranked by similarity of text and category",
    parameters=[SimilarQuerySerializer],
    responses={
        200: SimilarPinSerializer(many=True),
        400: OpenApiResponse(description="A missing or bad parameter, named in the answer."),
    },
)
class SimilarIdeas(APIView):
    """GET: at most 5 public open pins within the radius (from `radius_m`, else from `zoom`)
    whose title and description share words with the given ones, the same category counting
    extra; best first. Nothing is written."""

    def get(self, request: Request) -> Response:
        given = SimilarQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        radius = data.get("radius_m") or similar.radius_for_zoom(data.get("zoom"))
        pins = similar.similar_pins(
            location=services.location_from_lonlat(data["lon"], data["lat"]),
            title=data["title"],
            description=data["description"],
            category=data.get("category"),
            radius_m=radius,
        )
        return Response(SimilarPinSerializer(pins, many=True).data)
