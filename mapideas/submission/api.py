"""`/api/ideas/`: the public pins (GET) and a citizen's new pin (POST)."""

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from mapideas.map.viewport import PIN_ROWS
from mapideas.models import Idea
from mapideas.pins import features as pin_features
from mapideas.pins import selectors
from mapideas.pins.api import IdeaPagination
from mapideas.pins.fields import PinContext
from mapideas.pins.filters import IdeaFilter
from mapideas.pins.serializers import (
    IdeaFeatureSerializer,
)
from mapideas.plumbing import ratelimit
from mapideas.plumbing.db_routers import replica_alias
from mapideas.plumbing.parsers import JSONParser
from mapideas.plumbing.renderers import FastJSONRenderer
from mapideas.submission import services
from mapideas.submission.serializers import IdeaInputSerializer
from neighborhoods.translated_names import active_language


@extend_schema_view(
    get=extend_schema(summary="Ideas in view, as a GeoJSON FeatureCollection, a page at a time"),
    post=extend_schema(
        summary="Pin a new idea; it is routed to its neighborhood's team on arrival",
        request=IdeaInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=False,
                description=(
                    "A new random key (a UUID) per pin: a retry with the same key returns "
                    "the pin stored the first time (header `Idempotent-Replayed: true`) "
                    "and never stores a second one."
                ),
            )
        ],
        responses={
            201: IdeaFeatureSerializer,
            400: OpenApiResponse(
                description=(
                    "A field is missing or wrong; the body names it (`email` when the city "
                    "does not take a pin sent this way, `photo` for a photo refused by its "
                    "type, size or pixel count)."
                )
            ),
            403: OpenApiResponse(description="This city takes pins from signed-in people only."),
            422: OpenApiResponse(
                description="The Idempotency-Key was used before for a pin with other content."
            ),
            429: OpenApiResponse(
                description="Too many pins from this account or address for now (Retry-After)."
            ),
        },
    ),
)
class IdeaListCreate(generics.ListAPIView):
    """GET: a page of ideas as a FeatureCollection. POST: pin a new idea, routed on arrival."""

    serializer_class = IdeaFeatureSerializer
    filterset_class = IdeaFilter
    pagination_class = IdeaPagination
    # JSON as everywhere, and multipart/form-data for a pin sent with a photo.
    parser_classes = [JSONParser, MultiPartParser]

    # orjson for pages of up to MAPIDEAS_MAX_PAGE_SIZE features, as the viewport.
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]

    def get_queryset(self):
        # GET only (POST writes through services): a public list may lag a little.
        return selectors.public_ideas().using(replica_alias())

    def list(self, request: Request, *args, **kwargs) -> Response:
        """A page of the filtered pins, read as plain rows and made into the Features
        IdeaFeatureSerializer makes (mapideas.pins.features, as OGC API items)."""
        page = self.paginate_queryset(
            pin_features.feature_rows(self.filter_queryset(self.get_queryset()))
        )
        assert page is not None  # pagination_class is set
        return self.get_paginated_response({"features": pin_features.features(page)})

    def post(self, request: Request) -> Response:
        given = IdeaInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        location = given.validated_data["location"]
        pin = {
            "kind": given.validated_data["kind"],
            "title": given.validated_data["title"],
            "description": given.validated_data["description"],
            "category": given.validated_data["category"],
            "location": location,
            "channel": Idea.Channel.API,
            "author": request.user,
            "email": given.validated_data["email"],
            "name": given.validated_data["name"],
            "contact_shared_with_city": given.validated_data["contact_shared_with_city"],
            "photo": given.validated_data.get("photo"),
        }
        try:
            # Refused with a 400 naming the field (`email` for a way of sending the city does
            # not allow, `Idempotency-Key` for a malformed key), a 403 to sign in, a 429
            # Throttled beyond MAPIDEAS_RATE_SUBMISSIONS: mapideas.plumbing.api_errors.
            submitted = services.pin_submit(
                sender=ratelimit.client_identity(request),
                idempotency_key=request.headers.get("Idempotency-Key"),
                rate=ratelimit.SUBMISSIONS,
                **pin,
            )
        except services.IdempotencyConflict as exc:
            return Response({"Idempotency-Key": [str(exc)]}, status=422)
        return idea_created_response(submitted.idea, replayed=submitted.replayed)


def idea_created_response(idea: Idea, *, replayed: bool) -> Response:
    """The 201 for a new pin, and the same body again for a retry with its Idempotency-Key
    (with `Idempotent-Replayed: true`, as Stripe's API says it).

    The Feature IdeaFeatureSerializer makes, made by the public pin's row builder from the
    pin in memory (as the list makes it from rows): the serializer copied its dozens of
    fields for every pin sent, a sixth of the time of a POST."""
    context = PinContext.of_pins(active_language(), timezone.get_current_timezone(), [idea])
    feature = PIN_ROWS.builder(context)(PIN_ROWS.row_of(idea))
    if idea.awaiting_confirmation:
        # A foreign member (RFC 7946, 6.1): the pin is not in the public outputs yet.
        feature["awaiting_confirmation"] = True
    response = Response(feature, status=status.HTTP_201_CREATED)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response
