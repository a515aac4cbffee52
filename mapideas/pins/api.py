"""The JSON API of one pin (docs/interfaces/http-api.md): its public story, the team's status
changes and internal notes, and citizens' support, comments and follow.

Session login at /accounts/login/ (DRF's SessionAuthentication, so a signed-in POST needs
the CSRF token). Every write goes through the same services as the pages (each room's services.py),
which check permissions again under the pin's row lock: these views only translate HTTP.
Who sees a pin is selectors.visible_idea: a pin that is not public (awaiting its author's
email confirmation, or hidden by moderation) is a 404 for everyone but the staff of its team.
"""

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from mapideas.models import (
    Idea,
)
from mapideas.pins import selectors
from mapideas.pins.serializers import (
    CategorySerializer,
    IdeaFeatureSerializer,
    NeighborhoodFeatureSerializer,
    RoutePreviewSerializer,
    RouteQuerySerializer,
)
from mapideas.plumbing import keyset
from mapideas.plumbing.db_routers import replica_alias
from mapideas.plumbing.renderers import FastJSONRenderer
from mapideas.submission import services


def _pin(request: Request, pk: int) -> Idea:
    idea = selectors.visible_idea(user=request.user, pk=pk)
    if idea is None:
        raise NotFound(_("No pin with this number."))
    return idea


# --- the pin and its public story ------------------------------------------------------------


class TimelinePhotoSerializer(serializers.Serializer):
    """A before or after photo of a team's answer (re-encoded JPEG, no metadata)."""

    role = serializers.ChoiceField(choices=["before", "after"])
    url = serializers.CharField(help_text="Where it is served, site-relative like the pin's url.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class TimelineEntrySerializer(serializers.Serializer):
    """One public step: where the pin was routed, a status change / public answer, or its
    hand-off to an outside body (its name only). Never who did it (staff names are personal
    data) nor anything internal."""

    at = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=["routing", "update", "handoff"])
    # routing: why it moved (created, boundary change, re-assigned) and where to
    cause = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    neighborhood = serializers.CharField(allow_null=True)
    neighborhood_slug = serializers.CharField(
        allow_null=True, help_text="The neighborhood's slug: the same in every language."
    )
    # update: the status change (from == to for an answer alone), the answer, the team
    from_status = serializers.CharField(allow_null=True)
    to_status = serializers.CharField(allow_null=True)
    answer = serializers.CharField(allow_null=True)
    duplicate_of = serializers.IntegerField(allow_null=True)
    from_city_system = serializers.BooleanField(
        allow_null=True,
        help_text=(
            "update: true when the step was taken in the city's own work-order system and read "
            "back from it, false when the team took it here (null for routing and handoff)."
        ),
    )
    # handoff: the outside body the team handed the pin to (a utility, a contractor)
    body = serializers.CharField(
        allow_null=True, help_text="handoff: the body's name, as the pin's page shows it."
    )
    team = serializers.CharField(help_text="The team's name in the request's language.")
    team_slug = serializers.CharField(help_text="The team's slug: the same in every language.")
    photos = TimelinePhotoSerializer(
        many=True,
        help_text="update: the answer's before and after photos ([] for routing, or none).",
    )


def _timeline(idea: Idea) -> list[dict]:
    rows: list[dict] = []
    for entry in selectors.idea_timeline(idea=idea):
        row = dict.fromkeys(TimelineEntrySerializer().fields, None) | {
            "at": entry.created_at,
            "photos": [],
        }
        if entry.handoff is not None:
            handoff = entry.handoff
            row |= {
                "type": "handoff",
                "body": handoff.body_name,
                "team": handoff.team.display_name,
                "team_slug": handoff.team.slug,
            }
        elif entry.routing is not None:
            event = entry.routing
            row |= {
                "type": "routing",
                "cause": event.cause,
                "reason": event.reason,
                "neighborhood": event.to_neighborhood.name if event.to_neighborhood else None,
                "neighborhood_slug": (
                    event.to_neighborhood.slug if event.to_neighborhood else None
                ),
                "team": event.to_team.display_name,
                "team_slug": event.to_team.slug,
            }
        else:
            update = entry.update
            # Each entry is a routing event, a hand-off or an update (selectors.idea_timeline).
            assert update is not None
            row |= {
                "type": "update",
                "from_status": update.from_status,
                "to_status": update.to_status,
                "answer": update.answer,
                "duplicate_of": update.duplicate_of_id,
                "from_city_system": update.from_city_system,
                "team": update.team.display_name,
                "team_slug": update.team.slug,
                "photos": [
                    {
                        "role": photo.role,
                        "url": reverse("idea-timeline-photo", args=[idea.pk, photo.pk]),
                        "width": photo.width,
                        "height": photo.height,
                    }
                    for photo in getattr(update, "shown_photos", [])
                ],
            }
        rows.append(TimelineEntrySerializer(row).data)
    return rows


def _detail(idea: Idea) -> dict:
    """The pin as a GeoJSON Feature (as in /api/ideas/) with its public timeline as a
    foreign member (RFC 7946, 6.1)."""
    fresh = selectors.all_ideas().get(pk=idea.pk)
    return {**IdeaFeatureSerializer(fresh).data, "timeline": _timeline(fresh)}


@extend_schema(
    summary="One pin as a GeoJSON Feature, with its public timeline",
    responses={200: OpenApiResponse(description="A Feature with a `timeline` member."), 404: None},
)
class IdeaDetail(APIView):
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(_pin(request, pk)))


class IdeaPagination(BasePagination):
    """Pages of at most MAPIDEAS_MAX_PAGE_SIZE features, read by key: `next` and `previous`
    carry a `cursor` (mapideas.plumbing.keyset), so the thousandth page is as fast as the
    first. `count` is exact where the counts kept on write answer the filters, or where the
    matches are few; otherwise an estimate, and `count_is_estimate` says so.

    `page=N` still works for the first MAX_PAGE_DEPTH pins (clients written for page
    numbers); deeper, a 400 naming `page` says to follow `next` (docs/decisions,
    keyset pagination)."""

    page_size = 500
    page_size_query_param = "page_size"
    page_query_param = "page"
    cursor_query_param = "cursor"
    # OFFSET reads every row before the page: page numbers reach this many pins deep.
    max_page_depth = 10_000

    @property
    def max_page_size(self) -> int:
        # Read per request, not frozen at import.
        return settings.MAPIDEAS_MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        """`page_size` if it is a whole number from 1, else the default; either capped at the
        setting (a setting below 500 caps the default too)."""
        size = self.page_size
        given = request.query_params.get(self.page_size_query_param)
        if given is not None and given.isascii() and given.isdigit() and len(given) <= 18:
            size = int(given) or size
        return min(size, self.max_page_size)

    def _page_number(self, request: Request, size: int) -> int:
        """The asked-for page number (1 when none): a 400 naming `page` for one that is no
        page number, given with a cursor, or deeper than page numbers reach."""
        page = request.query_params.get(self.page_query_param)
        if page is None:
            return 1
        if not (page.isascii() and page.isdigit() and len(page) <= 18 and int(page) >= 1):
            raise ValidationError({"page": [gettext("Give a page number: a whole number from 1.")]})
        if self.cursor_query_param in request.query_params:
            both = [gettext("Give a page number or a cursor, not both.")]
            raise ValidationError({"page": both, "cursor": both})
        if (int(page) - 1) * size >= self.max_page_depth:
            raise ValidationError(
                {
                    "page": [
                        gettext(
                            "Page numbers reach the first %(depth)s pins: further pages are "
                            "read by following the `next` link (cursor)."
                        )
                        % {"depth": self.max_page_depth}
                    ]
                }
            )
        return int(page)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        size = self.get_page_size(request)
        cursor = None
        token = request.query_params.get(self.cursor_query_param)
        if token is not None:
            try:
                cursor = keyset.decode(
                    token, model=queryset.model, ordering=keyset.ordering_of(queryset)
                )
            except keyset.BadCursor as bad:
                raise ValidationError({"cursor": [str(bad)]}) from None
        number = self._page_number(request, size)
        self.request = request
        self.page = keyset.page(queryset, size=size, cursor=cursor, offset=(number - 1) * size)
        if number > 1 and not self.page.rows:
            raise NotFound({"page": [gettext("This page is past the last one.")]})
        self.count = self._count(queryset, request, view)
        return self.page.rows

    def _count(self, queryset: Any, request: Request, view: Any) -> keyset.Count:
        """Exact from the counts kept on write when they can answer the filters, or from a
        first page that is the whole list; else counted up to a bound, and estimated past
        it."""
        if self.page.exact_count is not None:
            return keyset.Count(self.page.exact_count, exact=True)
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is not None:
            filters = filterset_class(request.query_params, queryset=queryset)
            # Already checked by the filter backend (a bad filter was its 400).
            if filters.is_valid():
                total = selectors.public_ideas_total(
                    using=queryset.db, filters=filters.form.cleaned_data
                )
                if total is not None:
                    return keyset.Count(total, exact=True)
        return keyset.bounded_count(queryset)

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "type": "FeatureCollection",
                "count": self.count.value,
                "count_is_estimate": not self.count.exact,
                "next": self._link(self.page.next),
                "previous": self._link(self.page.previous),
                "features": data["features"],
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["type", "count", "count_is_estimate", "next", "previous", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "count": {
                    "type": "integer",
                    "description": "How many pins match: exact, unless count_is_estimate.",
                },
                "count_is_estimate": {
                    "type": "boolean",
                    "description": (
                        "true: `count` is an estimate (PostgreSQL's planner's), or on "
                        "SpatiaLite a lower bound; false: it is exact."
                    ),
                },
                "next": {**link, "description": "The next page (a `cursor`); null at the end."},
                "previous": {**link, "description": "The previous page; null at the start."},
                "features": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": (
                    "Where the page starts: the value the `next` or `previous` link carries "
                    "(opaque; follow the links rather than building one)."
                ),
                "schema": {"type": "string"},
            },
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": (
                    f"A page number, for the first {self.max_page_depth:,} pins only; further "
                    "pages are read by following `next`."
                ),
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": "Features per page (at most MAPIDEAS_MAX_PAGE_SIZE).",
                # 0 or no number: the default size, as DRF's page_size always read.
                "schema": {"type": "integer"},
            },
        ]


class CategoryList(generics.ListAPIView):
    serializer_class = CategorySerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.categories()


class NeighborhoodList(generics.ListAPIView):
    serializer_class = NeighborhoodFeatureSerializer
    pagination_class = None
    # A megabyte of polygons: orjson encodes it in a few ms, DRF's encoder in tens.
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]

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
            # The point is the pair given: both coordinates are named.
            outside = gettext(services.OUTSIDE_MESSAGE)
            raise ValidationError({"lon": [outside], "lat": [outside]})
        return Response(RoutePreviewSerializer(preview).data)
