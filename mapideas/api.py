"""The JSON API: thin views over selectors (reads) and services (writes)."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
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
        # Counted once the pin is well formed, as the form does (MAPIDEAS_RATE_SUBMISSIONS).
        retry_after = ratelimit.hit(request, "submit", settings.MAPIDEAS_RATE_SUBMISSIONS)
        if retry_after is not None:
            raise Throttled(wait=retry_after)
        location = given.validated_data["location"]
        try:
            # Refuses a way of sending the city does not allow (MAPIDEAS_SUBMISSION_MODES):
            # a 400 naming `email`, or a 403 (Django's PermissionDenied) to sign in.
            idea = services.idea_submit(
                kind=given.validated_data["kind"],
                title=given.validated_data["title"],
                description=given.validated_data["description"],
                category=given.validated_data["category"],
                location=location,
                channel=Idea.Channel.API,
                author=request.user,
                email=given.validated_data["email"],
                name=given.validated_data["name"],
                photo=given.validated_data.get("photo"),
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        feature = IdeaFeatureSerializer(idea).data
        if idea.awaiting_confirmation:
            # A foreign member (RFC 7946, 6.1): the pin is not in the public outputs yet.
            feature["awaiting_confirmation"] = True
        return Response(feature, status=status.HTTP_201_CREATED)


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
            raise ValidationError({"location": [services.OUTSIDE_MESSAGE]})
        return Response(RoutePreviewSerializer(preview).data)
