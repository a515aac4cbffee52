"""GET /api/places/?q=...: the map's place search (geodata.places)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geodata.places import gazetteer as places


class PlaceQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        min_length=1,
        max_length=places.QUERY_MAX_LENGTH,
        help_text="A neighborhood, street or place name, or its beginning; accents and case "
        "are ignored.",
    )


class PlaceResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField(help_text="neighborhood, or the imported kind (street, park...)")
    # DRF's metaclass takes declared fields out of the class, so this field does not replace
    # Field.source at run time; the stubs see only the class attribute.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["neighborhood", "place", "geocoder"]
    )
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    bbox = serializers.ListField(
        child=serializers.FloatField(),
        min_length=4,
        max_length=4,
        help_text="[min lon, min lat, max lon, max lat], EPSG:4326: what the map fits.",
    )


class PlaceSearchSerializer(serializers.Serializer):
    results = PlaceResultSerializer(many=True)
    note = serializers.CharField(
        allow_null=True,
        help_text="Set when the external geocoder was asked and failed: the results are the "
        "city's own names only.",
    )


@extend_schema(
    summary="Find a neighborhood, street or place by name, for the map to go there",
    parameters=[PlaceQuerySerializer],
    responses={
        200: PlaceSearchSerializer,
        400: OpenApiResponse(description="`q` missing, blank or longer than 100 characters."),
    },
)
class PlaceSearchView(APIView):
    """GET: at most 10 places whose name holds `q`, accents and case ignored, names starting
    with it first: active neighborhoods, places imported with `manage.py import_places`, and,
    when MAPIDEAS_GEOCODER_URL is set, the external geocoder's within the city."""

    def get(self, request: Request) -> Response:
        given = PlaceQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        found = places.search_places(given.validated_data["q"])
        response = Response(PlaceSearchSerializer(found).data)
        # Names change only with an import; a minute's staleness is harmless.
        response["Cache-Control"] = "public, max-age=60"
        return response
