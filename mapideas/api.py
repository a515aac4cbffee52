"""The JSON API: thin views over selectors (reads) and services (writes)."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.pagination import GeoJsonPagination

from mapideas import selectors, services
from mapideas.filters import IdeaFilter
from mapideas.models import Idea
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
            400: OpenApiResponse(description="A field is missing or wrong; the body names it."),
        },
    ),
)
class IdeaListCreate(generics.ListAPIView):
    """GET: a page of ideas as a FeatureCollection. POST: pin a new idea, routed on arrival."""

    serializer_class = IdeaFeatureSerializer
    filterset_class = IdeaFilter
    pagination_class = IdeaPagination

    def get_queryset(self):
        return selectors.public_ideas()

    def post(self, request: Request) -> Response:
        given = IdeaInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        location = given.validated_data["location"]
        try:
            idea = services.idea_create(
                kind=given.validated_data["kind"],
                title=given.validated_data["title"],
                description=given.validated_data["description"],
                category=given.validated_data["category"],
                location=location,
                channel=Idea.Channel.API,
                author=request.user,
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(IdeaFeatureSerializer(idea).data, status=status.HTTP_201_CREATED)


class NeighborhoodList(generics.ListAPIView):
    serializer_class = NeighborhoodFeatureSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.neighborhoods_with_counts()

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
