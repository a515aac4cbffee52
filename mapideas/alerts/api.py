"""POST /api/subscriptions/: subscribe an email address to area alerts (mapideas.alerts).

Its own module, next to the alerts it serves; thin like mapideas.api: the serializer checks
the shape, the service (alerts.alert_subscribe) the rest. Works without an account: DRF's
session authentication asks for a CSRF token only from signed-in sessions, as for
POST /api/ideas/.
"""

from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mapideas.alerts import services as alerts
from mapideas.models import ALERT_RADIUS_MAX_M, ALERT_RADIUS_MIN_M, AreaAlert
from mapideas.pins.serializers import SLUG_PATTERN, PointField
from mapideas.plumbing import ratelimit
from mapideas.plumbing.throttling import throttle
from mapideas.submission.services import location_from_lonlat


class SubscriptionInputSerializer(serializers.Serializer):
    """An alert for a neighborhood (its slug) or for a radius around a GeoJSON Point."""

    email = serializers.EmailField(max_length=254)
    neighborhood = serializers.CharField(
        max_length=200, required=False, help_text="A neighborhood's slug (GET /api/neighborhoods/)."
    )
    point = PointField(required=False, help_text="The centre, WGS84 [lon, lat] (RFC 7946).")
    radius_m = serializers.IntegerField(
        min_value=ALERT_RADIUS_MIN_M,
        max_value=ALERT_RADIUS_MAX_M,
        required=False,
        help_text="Metres around the point; only with `point`.",
    )
    frequency = serializers.ChoiceField(
        choices=AreaAlert.Frequency.choices, default=AreaAlert.Frequency.IMMEDIATE
    )

    def validate_neighborhood(self, value: str) -> str:
        # Text that cannot be a slug is no neighborhood, without asking the database.
        if not SLUG_PATTERN.fullmatch(value):
            raise serializers.ValidationError(alerts.UNKNOWN_NEIGHBORHOOD_MESSAGE)
        return value

    def validate_point(self, value: GEOSGeometry) -> Point:
        # GEOS gives a geometry the class of its type: a "Point" is a Point.
        if not isinstance(value, Point):
            raise serializers.ValidationError(
                _(
                    'Send a GeoJSON Point ({"type": "Point", "coordinates": [lon, lat]}), '
                    "not a %(type)s."
                )
                % {"type": value.geom_type}
            )
        try:
            return location_from_lonlat(value.x, value.y, field="point")
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["point"]) from None

    def validate(self, data: dict) -> dict:
        if ("neighborhood" in data) == ("point" in data):
            raise serializers.ValidationError(
                {"neighborhood": [alerts.ONE_AREA_MESSAGE], "point": [alerts.ONE_AREA_MESSAGE]}
            )
        if "point" in data and "radius_m" not in data:
            raise serializers.ValidationError({"radius_m": [alerts.RADIUS_MESSAGE]})
        return data


class SubscriptionAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()


@extend_schema(
    summary="Get an email about new pins in a neighborhood or around a point",
    description=(
        "Send `neighborhood` (a slug) or `point` with `radius_m`, not both. A link to confirm "
        "is emailed first; nothing else is sent before it is opened. The answer is the same "
        "whether or not the address was already subscribed."
    ),
    request=SubscriptionInputSerializer,
    responses={
        202: SubscriptionAcceptedSerializer,
        400: OpenApiResponse(description="A field is missing or wrong; the body names it."),
        429: OpenApiResponse(description="Too many subscriptions from this address for now."),
    },
    examples=[
        OpenApiExample(
            "A neighborhood, weekly",
            value={"email": "me@example.org", "neighborhood": "uptown", "frequency": "weekly"},
            request_only=True,
        ),
        OpenApiExample(
            "Around a point",
            value={
                "email": "me@example.org",
                "point": {"type": "Point", "coordinates": [-87.6298, 41.8781]},
                "radius_m": 500,
                "frequency": "immediate",
            },
            request_only=True,
        ),
    ],
)
class SubscriptionCreate(APIView):
    def post(self, request: Request) -> Response:
        given = SubscriptionInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        # Counted once the request is well formed: only these may lead to an email.
        throttle(request, ratelimit.ALERTS)
        data = given.validated_data
        alerts.alert_subscribe(
            email=data["email"],
            frequency=data["frequency"],
            neighborhood_slug=data.get("neighborhood", ""),
            center=data.get("point"),
            radius_m=data.get("radius_m"),
        )
        return Response({"detail": _(alerts.CONFIRM_SENT_MESSAGE)}, status=status.HTTP_202_ACCEPTED)
