"""The JSON API: thin views over selectors (reads) and services (writes)."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.pagination import GeoJsonPagination

from mapideas import ratelimit, selectors, services
from mapideas.db_routers import replica_alias
from mapideas.filters import IdeaFilter
from mapideas.models import Idea
from mapideas.parsers import JSONParser
from mapideas.serializers import (
    CategorySerializer,
    IdeaFeatureSerializer,
    IdeaInputSerializer,
    NeighborhoodFeatureSerializer,
    RoutePreviewSerializer,
    RouteQuerySerializer,
)


class IdeaPagination(GeoJsonPagination):
    """Pages of at most MAPIDEAS_MAX_PAGE_SIZE features; `count` and `next` say what is left."""

    page_size = 500
    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:
        # Read per request, not frozen at import.
        return settings.MAPIDEAS_MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int | None:
        # DRF caps only an asked-for page_size; cap the default too, for a setting below 500.
        size = super().get_page_size(request)
        return min(size, self.max_page_size) if size else size


class CategoryList(generics.ListAPIView):
    serializer_class = CategorySerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.categories()


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

    def get_queryset(self):
        # GET only (POST writes through services): a public list may lag a little.
        return selectors.public_ideas().using(replica_alias())

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
            "photo": given.validated_data.get("photo"),
        }
        key = request.headers.get("Idempotency-Key")
        try:
            once = None
            if key is not None:
                # Scoped to the sender (account or address) and kept as a keyed hash.
                once = services.idempotency(
                    key=key,
                    scope=ratelimit.client_identity(request),
                    pin=pin,
                )
                # A retry of a pin already stored is answered without counting it again.
                replayed = services.idea_replayed(once)
                if replayed is not None:
                    return idea_created_response(replayed, replayed=True)
            # Counted once the pin is well formed, as the form does (MAPIDEAS_RATE_SUBMISSIONS).
            retry_after = ratelimit.hit(request, "submit", settings.MAPIDEAS_RATE_SUBMISSIONS)
            if retry_after is not None:
                raise Throttled(wait=retry_after)
            # Refuses a way of sending the city does not allow (MAPIDEAS_SUBMISSION_MODES):
            # a 400 naming `email`, or a 403 (Django's PermissionDenied) to sign in.
            if once is None:
                return idea_created_response(services.idea_submit(**pin), replayed=False)
            idea, replayed = services.idea_submit_once(idempotency=once, **pin)
        except services.IdempotencyConflict as exc:
            return Response({"Idempotency-Key": [str(exc)]}, status=422)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return idea_created_response(idea, replayed=replayed)


def idea_created_response(idea: Idea, *, replayed: bool) -> Response:
    """The 201 for a new pin, and the same body again for a retry with its Idempotency-Key
    (with `Idempotent-Replayed: true`, as Stripe's API says it)."""
    feature = IdeaFeatureSerializer(idea).data
    if idea.awaiting_confirmation:
        # A foreign member (RFC 7946, 6.1): the pin is not in the public outputs yet.
        feature["awaiting_confirmation"] = True
    response = Response(feature, status=status.HTTP_201_CREATED)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


class NeighborhoodList(generics.ListAPIView):
    serializer_class = NeighborhoodFeatureSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.neighborhoods_with_counts().using(replica_alias())

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        # Boundaries change rarely; counts may be a minute stale for shared caches.
        response["Cache-Control"] = "public, max-age=60"
        return response


@extend_schema(
    summary="Where a pin would go (neighborhood, team, border hint); nothing is written",
    parameters=[RouteQuerySerializer],
    responses={
        200: RoutePreviewSerializer,
        400: OpenApiResponse(description="Bad coordinates, or a place outside the city."),
    },
)
class RoutePreviewView(APIView):
    """GET: where a pin at lon/lat (with a category, if chosen) would go; nothing is written.

    The pin form asks this as the citizen places the pin, so they see the team, and the
    neighborhood over the border when the pin is within MAPIDEAS_BORDER_HINT_M of one.
    """

    def get(self, request: Request) -> Response:
        given = RouteQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        location = services.location_from_lonlat(
            given.validated_data["lon"], given.validated_data["lat"]
        )
        preview = selectors.route_preview(
            location=location, category=given.validated_data.get("category")
        )
        if preview is None:
            raise ValidationError({"location": [gettext(services.OUTSIDE_MESSAGE)]})
        return Response(RoutePreviewSerializer(preview).data)
