"""Open311 GeoReport v2 endpoints: thin views over mapideas.open311.selectors and services.

Each view is routed twice (mapideas/open311/urls.py), `.json` and `.xml`, each URL with its
one renderer. Every error, whatever raised it, leaves in the spec's shape and with the status
the spec says: 400 bad input, 403 a missing or unusable api_key, 404 an unknown resource,
service_code or jurisdiction.
"""

import re
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback

from mapideas.models import ID_MAX, Category, Open311Client
from mapideas.open311 import selectors as open311_selectors
from mapideas.open311 import services as open311_services
from mapideas.open311.renderers import ExtensionNegotiation, Open311JSONRenderer
from mapideas.open311.serializers import (
    ERRORS_SCHEMA,
    MAX_REQUESTS,
    DiscoverySerializer,
    JurisdictionQuerySerializer,
    RequestsQuerySerializer,
    ServiceDefinitionSerializer,
    ServiceRequestCreatedSerializer,
    ServiceRequestInputSerializer,
    ServiceRequestSerializer,
    ServiceSerializer,
    request_rows,
    service_requests,
)
from mapideas.pins import selectors as pins_selectors
from mapideas.plumbing.parsers import BoundedJSONParser
from mapideas.submission import services as submission_services

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint's behaviour last changed (discovery's `changeset`): bump it with the API.
CHANGESET = "2026-11-26T00:00:00Z"
FORMATS = ["text/xml", "application/json"]
# Our field names, as Open311 clients know them (errors from idea_create name ours).
OPEN311_FIELDS = {
    "location": "lat, long",
    "title": "description",
    "contact_email": "email",
    "contact_name": "first_name, last_name",
    "contact_phone": "phone",
}
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,100}")


class Open311Error(exceptions.APIException):
    """An error with the spec's status and one description per problem."""

    def __init__(self, status_code: int, *descriptions: str) -> None:
        super().__init__(detail=list(descriptions))
        self.status_code = status_code
        self.descriptions = list(descriptions)


def _descriptions(detail: object, field: str = "") -> list[str]:
    """DRF's nested error detail as `field: reason` lines."""
    if isinstance(detail, Mapping):
        lines = []
        for key, value in detail.items():
            name = "request" if key == "non_field_errors" else OPEN311_FIELDS.get(key) or key
            lines += _descriptions(value, f"{field}.{name}" if field else name)
        return lines
    if isinstance(detail, list | tuple):
        return [line for item in detail for line in _descriptions(item, field)]
    return [f"{field}: {detail}" if field else str(detail)]


def open311_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every refusal as the spec's error list; anything else is a bug and stays a 500."""
    if isinstance(exc, Open311Error):
        code, descriptions = exc.status_code, exc.descriptions
    elif isinstance(exc, submission_services.IdempotencyConflict):
        code, descriptions = 422, [f"Idempotency-Key: {exc}"]
    elif isinstance(exc, exceptions.ValidationError):
        code, descriptions = status.HTTP_400_BAD_REQUEST, _descriptions(exc.detail)
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        code, descriptions = status.HTTP_400_BAD_REQUEST, _descriptions(detail)
    elif isinstance(exc, Http404):
        code, descriptions = status.HTTP_404_NOT_FOUND, [_("Not found.")]
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code, descriptions = status.HTTP_403_FORBIDDEN, [f"api_key: {exc.detail}"]
    elif isinstance(exc, exceptions.APIException):
        code, descriptions = exc.status_code, _descriptions(exc.detail)
    else:
        return None
    set_rollback()
    headers = {}
    wait = getattr(exc, "wait", None)  # Throttled's
    if wait:
        headers["Retry-After"] = str(int(wait))
    return Response(
        [{"code": code, "description": text} for text in descriptions],
        status=code,
        headers=headers,
    )


def _errors(*codes: int) -> dict:
    described = {
        400: "Bad input; each error names the field and why.",
        403: "api_key missing, unknown or revoked.",
        404: "Unknown service_code, service request or jurisdiction_id.",
        415: "The body is neither application/x-www-form-urlencoded nor JSON.",
    }
    return {code: OpenApiResponse(ERRORS_SCHEMA, description=described[code]) for code in codes}


class Open311Schema(AutoSchema):
    """Operation ids that say the resource, the method and the format:
    `open311_requests_post_xml`, not the path mangled."""

    def get_operation_id(self) -> str:
        view = self.view
        assert isinstance(view, Open311View)  # the schema of Open311View's subclasses only
        extension = self.path.rsplit(".", 1)[-1]
        return f"open311_{view.resource}_{self.method.lower()}_{extension}"


class Open311View(APIView):
    # Clients prove themselves with the api_key field, not sessions: so no CSRF either (a
    # forged cross-site POST would need the key).
    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (FormParser, BoundedJSONParser)
    # Replaced per URL (as_view(renderer_classes=...)): the extension decides the format.
    renderer_classes = (Open311JSONRenderer,)
    content_negotiation_class = ExtensionNegotiation
    # The XML root element of a success (errors are always <errors>).
    xml_root = "response"
    # Names the operations in the OpenAPI schema.
    resource = "open311"
    schema = Open311Schema()

    def get_exception_handler(self):
        return open311_exception_handler

    @staticmethod
    def check_jurisdiction(given: object) -> None:
        served = settings.MAPIDEAS_OPEN311_JURISDICTION
        # Optional, as the spec allows an endpoint serving one jurisdiction: empty is absent.
        if given in (None, "") or given == served:
            return
        raise Open311Error(
            status.HTTP_404_NOT_FOUND,
            _("jurisdiction_id: %(given)s is not served here; this endpoint serves %(served)s.")
            % {"given": repr(given), "served": repr(served)},
        )

    def check_query_jurisdiction(self, request: Request) -> None:
        self.check_jurisdiction(request.query_params.get("jurisdiction_id"))


def _category(code: str) -> Category:
    category = (
        pins_selectors.categories().filter(slug=code).first() if _SLUG.fullmatch(code) else None
    )
    if category is None:
        raise Open311Error(
            status.HTTP_404_NOT_FOUND,
            _("service_code: no service %(code)s; services.json lists the service codes.")
            % {"code": repr(code)},
        )
    return category


def _query(request: Request, lists: tuple[str, ...]) -> dict[str, str]:
    """The query string with empty parameters dropped (the spec treats them as absent) and
    the repeatable ones joined by commas (`status=open&status=closed`)."""
    params = {}
    for name in request.query_params:
        values = [v for v in request.query_params.getlist(name) if v.strip()]
        if values:
            params[name] = ",".join(values) if name in lists else values[-1]
    return params


JURISDICTION = [JurisdictionQuerySerializer]


class DiscoveryView(Open311View):
    resource = "discovery"
    xml_root = "discovery"

    @extend_schema(
        tags=["open311"],
        summary="Open311 service discovery: where the GeoReport v2 endpoint is, and its formats",
        responses={200: DiscoverySerializer},
    )
    def get(self, request: Request) -> Response:
        json_url = request.build_absolute_uri(reverse("open311-discovery-json"))
        contact = settings.MAPIDEAS_OPEN311_CONTACT or None
        document = {
            "changeset": CHANGESET,
            "contact": contact,
            "key_service": "API keys for POST are issued by the city's staff"
            + (", at the contact above." if contact else "."),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": json_url.removesuffix("/discovery.json"),
                    "changeset": CHANGESET,
                    "type": "test" if settings.DEBUG else "production",
                    "formats": FORMATS,
                }
            ],
        }
        return Response(DiscoverySerializer(document).data)


class ServiceListView(Open311View):
    resource = "services"
    xml_root = "services"

    @extend_schema(
        tags=["open311"],
        summary="Open311 services: the categories a pin can have (service_code = slug)",
        parameters=JURISDICTION,
        responses={200: ServiceSerializer(many=True), **_errors(404)},
    )
    def get(self, request: Request) -> Response:
        self.check_query_jurisdiction(request)
        return Response(ServiceSerializer(pins_selectors.categories(), many=True).data)


class ServiceDefinitionView(Open311View):
    resource = "service"
    xml_root = "service_definition"

    @extend_schema(
        tags=["open311"],
        summary="Open311 service definition: no service has extra attributes (metadata false)",
        description="Answers for every known service_code with an empty attributes list (the "
        "call is optional when metadata is false); an unknown service_code is a 404.",
        parameters=[
            *JURISDICTION,
            OpenApiParameter("service_code", str, OpenApiParameter.PATH),
        ],
        responses={200: ServiceDefinitionSerializer, **_errors(404)},
    )
    def get(self, request: Request, service_code: str) -> Response:
        self.check_query_jurisdiction(request)
        return Response(ServiceDefinitionSerializer(_category(service_code)).data)


class ServiceRequestListView(Open311View):
    resource = "requests"
    xml_root = "service_requests"

    @extend_schema(
        tags=["open311"],
        summary="Open311 service requests (pins), newest first",
        description=f"By default the last 90 days; a window spans at most 90 days; at most "
        f"{MAX_REQUESTS} requests. service_request_id overrides the other filters. status: "
        "open (new, acknowledged, under review, planned, in progress) or closed (done, "
        "declined, duplicate).",
        parameters=[RequestsQuerySerializer],
        responses={200: ServiceRequestSerializer(many=True), **_errors(400, 404)},
    )
    def get(self, request: Request) -> Response:
        self.check_query_jurisdiction(request)
        given = RequestsQuerySerializer(
            data=_query(request, ("service_request_id", "service_code", "status"))
        )
        given.is_valid(raise_exception=True)
        query = given.validated_data
        if "service_request_id" in query:
            ideas = open311_selectors.open311_requests(ids=query["service_request_id"])
        else:
            ideas = open311_selectors.open311_requests(
                service_codes=query.get("service_code"),
                statuses=query.get("status"),
                start=query["start_date"],
                end=query["end_date"],
            )
        return Response(service_requests(request_rows(ideas)[:MAX_REQUESTS]))

    @extend_schema(
        tags=["open311"],
        summary="Open311: post a service request; it is pinned and routed like any pin",
        description="Needs an api_key issued by staff. lat and long are required (no "
        "geocoder yet). The pin is an issue; its title is the description's first line. "
        "email, first_name, last_name and phone are kept for staff and never returned.",
        request={
            "application/x-www-form-urlencoded": ServiceRequestInputSerializer,
            "application/json": ServiceRequestInputSerializer,
        },
        responses={
            201: ServiceRequestCreatedSerializer(many=True),
            **_errors(400, 403, 404, 415),
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data
        client = self._client(data)
        self.check_jurisdiction(data.get("jurisdiction_id"))
        given = ServiceRequestInputSerializer(data=data)
        given.is_valid(raise_exception=True)
        fields = given.validated_data
        category = _category(fields["service_code"])
        location = submission_services.location_from_lonlat(fields["long"], fields["lat"])
        # As POST /api/ideas/: a retry with the same key (scoped to this client) gets the
        # request stored the first time, never a second one.
        submitted = open311_services.open311_request_submit(
            client=client,
            idempotency_key=request.headers.get("Idempotency-Key"),
            category=category,
            location=location,
            description=fields.get("description", ""),
            email=fields.get("email", ""),
            first_name=fields.get("first_name", ""),
            last_name=fields.get("last_name", ""),
            phone=fields.get("phone", ""),
            media_url=fields.get("media_url", ""),
        )
        response = Response(
            ServiceRequestCreatedSerializer([submitted.idea], many=True).data,
            status=status.HTTP_201_CREATED,
        )
        if submitted.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    def _client(self, data: object) -> Open311Client:
        """The client whose key came with the POST; a 403 for any other key (checked before
        the fields, so without a key nothing about the input is told)."""
        if not isinstance(data, Mapping):
            # A JSON list or string: nothing can be read from it, the key included.
            raise Open311Error(
                status.HTTP_400_BAD_REQUEST,
                _("request: send the fields as a form or JSON object."),
            )
        key = data.get("api_key")
        if not isinstance(key, str) or not key.strip():
            raise Open311Error(
                status.HTTP_403_FORBIDDEN,
                _(
                    "api_key: missing; posting a service request needs the key staff issued to "
                    "your application."
                ),
            )
        client = open311_selectors.open311_client_by_key(key.strip())
        if client is None:
            raise Open311Error(status.HTTP_403_FORBIDDEN, _("api_key: not a key issued here."))
        if not client.is_active:
            raise Open311Error(
                status.HTTP_403_FORBIDDEN,
                _("api_key: this key was revoked on %(day)s; ask the city's staff for a new one.")
                % {"day": f"{client.revoked_at:%Y-%m-%d}"},
            )
        return client


class ServiceRequestDetailView(Open311View):
    resource = "request"
    xml_root = "service_requests"

    @extend_schema(
        tags=["open311"],
        summary="Open311: one service request (a list of one, as the spec has it)",
        parameters=[
            *JURISDICTION,
            OpenApiParameter("service_request_id", str, OpenApiParameter.PATH),
        ],
        responses={200: ServiceRequestSerializer(many=True), **_errors(404)},
    )
    def get(self, request: Request, service_request_id: str) -> Response:
        self.check_query_jurisdiction(request)
        found: list = []
        if service_request_id.isascii() and service_request_id.isdigit():
            pk = int(service_request_id)
            if 0 < pk <= ID_MAX:
                found = list(request_rows(pins_selectors.public_ideas().filter(pk=pk)))
        if not found:
            raise Open311Error(
                status.HTTP_404_NOT_FOUND,
                _("service_request_id: no service request %(id)s.")
                % {"id": repr(service_request_id)},
            )
        return Response(service_requests(found))
