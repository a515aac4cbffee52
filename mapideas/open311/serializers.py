"""What Open311 clients send and get back. Field names are the spec's, not ours.

Nothing here reads or writes the pin's contact fields except the POST input: no output
serializer has an email, a name or a phone.

Names are in the city's language (settings.LANGUAGE_CODE), whatever the request's: GeoReport
v2 has no language negotiation, its answers are cached and shared by the systems that
aggregate them, and its sentences (service_notice) are the city's; the rule and its reasons
are in neighborhoods.translated_names. `service_code` is the category's slug, beside
`service_name`; the spec has no field for a team's slug, so `agency_responsible` stands alone.
"""

from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mapideas.map.coordinates import Latitude, Longitude
from mapideas.models import (
    DESCRIPTION_MAX_LENGTH,
    ID_MAX,
    MEDIA_URL_MAX_LENGTH,
    Category,
    Idea,
    media_url_validator,
)
from mapideas.pins import fields as pin_fields
from mapideas.pins.serializers import COORDINATE_PRECISION
from mapideas.plumbing.stored_text import StoredTextSerializerField
from neighborhoods.translated_names import city_language

# The spec's defaults and limits for GET requests ("Response Volume").
MAX_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000


def comma_list(value: str) -> list[str]:
    """`a,b, c` (the spec's "comma delimited"), empty items dropped."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _encodable(value: str) -> bool:
    # A JSON body may carry a lone surrogate ("\ud800"), which no database can store.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- Errors ---------------------------------------------------------------------------------


# Every response with a 4xx status is a list of these (OpenAPI schema: drf-spectacular wraps
# only 2xx responses in arrays, so the list is spelt out).
ERRORS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {
            "code": {"type": "integer", "description": "The HTTP status: 400, 403, 404…"},
            "description": {
                "type": "string",
                "description": "The field at fault and why: `field: reason`.",
            },
        },
    },
}


# --- Discovery ------------------------------------------------------------------------------


class EndpointSerializer(serializers.Serializer):
    specification = serializers.CharField()
    url = serializers.CharField()
    changeset = serializers.CharField()
    type = serializers.ChoiceField(choices=["production", "test"])
    formats = serializers.ListField(child=serializers.CharField())


class DiscoverySerializer(serializers.Serializer):
    changeset = serializers.CharField()
    contact = serializers.CharField(allow_null=True)
    key_service = serializers.CharField(allow_null=True)
    endpoints = EndpointSerializer(many=True)


# --- Services -------------------------------------------------------------------------------


class ServiceSerializer(serializers.Serializer):
    """A category as an Open311 service: service_code is the category's slug."""

    service_code = serializers.CharField(source="slug")
    service_name = serializers.CharField(source="name")
    description = serializers.SerializerMethodField()
    metadata = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    keywords = serializers.SerializerMethodField()
    group = serializers.SerializerMethodField()

    def get_description(self, category: Category) -> str | None:
        return None  # categories have a name only

    def get_metadata(self, category: Category) -> bool:
        return False  # no extra attributes: lat/long and a description are all we ask

    def get_type(self, category: Category) -> str:
        return "realtime"  # the POST answers with the new pin's id at once

    def get_keywords(self, category: Category) -> str | None:
        return None

    def get_group(self, category: Category) -> str | None:
        return None


class AttributeValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


class AttributeSerializer(serializers.Serializer):
    """The spec's attribute; we define none (documented so clients know the shape)."""

    variable = serializers.BooleanField()
    code = serializers.CharField()
    datatype = serializers.CharField()
    # The spec's field name; DRF's metaclass takes declared fields off the class, so this does
    # not replace Field.required (the stubs see the class attribute, typed bool, overridden).
    required = serializers.BooleanField()  # type: ignore[assignment]
    datatype_description = serializers.CharField(allow_null=True)
    order = serializers.IntegerField()
    description = serializers.CharField()
    values = AttributeValueSerializer(many=True)


class ServiceDefinitionSerializer(serializers.Serializer):
    service_code = serializers.CharField(source="slug")
    attributes = serializers.SerializerMethodField()

    @extend_schema_field(AttributeSerializer(many=True))
    def get_attributes(self, category: Category) -> list:
        return []  # no service asks for more than the spec's own fields


# --- Service requests out -------------------------------------------------------------------

# Open311's names for the public pin's fields (mapideas.pins.fields.PUBLIC_PIN), in one place:
# each is that field, read and typed as the specification says, names in the city's language
# and times to the second as the spec writes them. The other fields of a service request are
# Open311's own: made from public fields (status and status_notes from the status and the
# answer, service_notice from the team and neighborhood, lat and long from the location), the
# two public columns only Open311 returns (updated_datetime, and media_url, which an Open311
# client sent), or nothing we have (address...). None reads a column of
# mapideas.pins.fields.NEVER_PUBLIC.
PIN_FIELDS = {
    "service_request_id": "id",
    "service_name": "category_name",
    "service_code": "category",
    "description": "description",
    "agency_responsible": "team",
    "requested_datetime": "created_at",
}


def _pin_key(name: str) -> str:
    """The `.values()` key of Open311's `name`: the public pin's field PIN_FIELDS maps it to,
    read as the specification says (names in the city's language: the column itself)."""
    field = pin_fields.BY_NAME[PIN_FIELDS[name]]
    if field.render is pin_fields.Render.NAME:
        return f"{field.relation}__name"  # `name` is the city's language
    if field.render is pin_fields.Render.SLUG:
        return f"{field.relation}__slug"
    if field.render is pin_fields.Render.VALUE:
        return field.reads[0]
    raise ValueError(f"{name}: Open311 has no field for a pin's {field.render.value}")


# Open311's name -> the row's key, checked at import (a field Open311 cannot read fails here).
PIN_KEYS = {name: _pin_key(name) for name in PIN_FIELDS}


def pin_field(name: str, **kwargs) -> serializers.Field:
    """The published schema's field of Open311's `name`, typed as the public pin's field."""
    field = pin_fields.BY_NAME[PIN_FIELDS[name]]
    if field.type is pin_fields.Type.DATETIME:
        return serializers.DateTimeField(**kwargs)
    if field.type is pin_fields.Type.INTEGER:
        return serializers.IntegerField(**kwargs)
    return serializers.CharField(**kwargs)


# What a service request is made of: the public fields of PIN_KEYS, Open311's own two
# (media_url, updated_at) and what its sentences say. Plain rows of one query, joined to the
# category, team and neighborhood, with the coordinates read by the database: a model
# instance per pin and per relation, a GEOS point and DRF's calls per field were most of the
# time of a list of 1,000 (85 ms of CPU). A key added to a request is added here
# (tests/mapideas/open311 check a list costs one query).
REQUEST_VALUES = tuple(
    dict.fromkeys(
        (
            *PIN_KEYS.values(),
            "status",
            "answer",
            "reopened_at",
            "dispute_count",
            "fix_confirmed_count",
            "neighborhood__name",
            "media_url",
            "updated_at",
        )
    )
)


def request_rows(ideas: QuerySet[Idea]) -> QuerySet[Idea, dict[str, Any]]:
    """`ideas` (public pins, filtered and ordered by the caller) read as the rows
    `service_requests` makes requests of."""
    return ideas.annotate(lon=Longitude("location"), lat=Latitude("location")).values(
        *REQUEST_VALUES, "lon", "lat"
    )


def w3c_datetime(value: datetime | None, zone: tzinfo) -> str | None:
    """A date-time as the spec writes it: W3C/ISO 8601 to the second in `zone` (the current
    time zone), UTC as "Z": the pins' own form without the fraction of a second."""
    if value is None:
        return None
    return pin_fields.iso_datetime(value.replace(microsecond=0), zone)


def service_requests(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The service requests of `rows` (request_rows), every field in the spec's order and
    every sentence in the city's language (the module's docstring): switched to once, and
    the status labels translated once, for the whole list."""
    zone = timezone.get_current_timezone()
    language = city_language()
    switch = translation.get_language() != language
    with translation.override(language) if switch else nullcontext():
        # The enum's labels, once: get_status_display() rebuilds and hashes the field's lazy
        # choices on every call (half the time of a 1,000-request list).
        labels = {status: str(label) for status, label in Idea.Status.choices}
        return [_service_request(row, labels, zone) for row in rows]


_OPEN = frozenset(Idea.OPEN_STATUSES)
_ID, _NAME, _CODE, _DESCRIPTION, _AGENCY, _REQUESTED = (
    PIN_KEYS[name]
    for name in (
        "service_request_id",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "requested_datetime",
    )
)


def _service_request(row: Mapping[str, Any], labels: Mapping[str, str], zone: tzinfo) -> dict:
    status = row["status"]
    return {
        "service_request_id": row[_ID],
        # Open311 knows "open" and "closed": our open statuses are the ones boundary
        # changes still move (Idea.OPEN_STATUSES); done, declined and duplicate are closed.
        "status": "open" if status in _OPEN else "closed",
        "status_notes": status_notes(
            labels[status],
            answer=row["answer"],
            reopened_at=row["reopened_at"],
            disputes=row["dispute_count"],
            fixes=row["fix_confirmed_count"],
        ),
        "service_name": row[_NAME],
        "service_code": row[_CODE],
        "description": row[_DESCRIPTION],
        "agency_responsible": row[_AGENCY],
        "service_notice": service_notice(row[_AGENCY], row["neighborhood__name"]),
        "requested_datetime": w3c_datetime(row[_REQUESTED], zone),
        "updated_datetime": w3c_datetime(row["updated_at"], zone),
        "expected_datetime": None,  # no service levels yet
        "address": None,  # no geocoder: pins are points, not addresses
        "address_id": None,
        "zipcode": None,
        "lat": round(row["lat"], COORDINATE_PRECISION),
        "long": round(row["lon"], COORDINATE_PRECISION),
        "media_url": row["media_url"] or None,
    }


# The published schema of a service request (the docstring below is its description). The
# requests themselves are made by `service_requests`, from rows: given one (request_rows),
# this serializer makes the same.
class ServiceRequestSerializer(serializers.Serializer):
    """A pin as an Open311 service request: public fields only, never the contact fields."""

    service_request_id = pin_field("service_request_id")
    status = serializers.CharField(read_only=True, help_text="open or closed")
    status_notes = serializers.CharField(
        read_only=True,
        help_text=(
            "Our finer status (New, In progress, Declined…) and the team's latest public "
            "answer, when there is one; then, for a pin closed before, when it was last "
            "reopened and how many residents said the problem is still there or confirmed "
            "the fix"
        ),
    )
    service_name = pin_field("service_name")
    service_code = pin_field("service_code")
    description = pin_field("description")
    agency_responsible = pin_field("agency_responsible", help_text="The district team")
    service_notice = serializers.CharField(read_only=True)
    requested_datetime = pin_field("requested_datetime")
    updated_datetime = serializers.DateTimeField()
    expected_datetime = serializers.CharField(read_only=True, allow_null=True)
    # Always null: no service levels, no geocoder (the spec's fields, documented as such).
    address = serializers.CharField(read_only=True, allow_null=True)
    address_id = serializers.CharField(read_only=True, allow_null=True)
    zipcode = serializers.CharField(read_only=True, allow_null=True)
    lat = serializers.FloatField(read_only=True)
    long = serializers.FloatField(read_only=True)
    media_url = serializers.CharField(read_only=True, allow_null=True)

    def to_representation(self, instance: Mapping[str, Any]) -> dict[str, Any]:
        return service_requests([instance])[0]


def status_notes(
    label: str, *, answer: str, reopened_at: datetime | None, disputes: int, fixes: int
) -> str:
    """The spec's "why status was changed to current state or more details on current status
    than conveyed with status alone": our finer status (its `label`) and the team's latest
    public answer, then what residents said after the pin was closed (when it was last
    reopened, how many said the problem is still there, how many that the fix holds). Counts
    and a date, never who. Called in the city's language (service_requests)."""
    sentences = [f"{label}: {answer}" if answer else label]
    if reopened_at is not None:
        day = date_format(timezone.localtime(reopened_at), "DATE_FORMAT")
        sentences.append(_("Reopened on %(day)s.") % {"day": day})
    if disputes:
        sentences.append(
            ngettext(
                "%(count)d resident said the problem is still there.",
                "%(count)d residents said the problem is still there.",
                disputes,
            )
            % {"count": disputes}
        )
    if fixes:
        sentences.append(
            ngettext(
                "%(count)d resident confirmed the fix.",
                "%(count)d residents confirmed the fix.",
                fixes,
            )
            % {"count": fixes}
        )
    return " ".join(sentences)


def service_notice(team_name: str, neighborhood_name: str | None) -> str:
    where = f" for {neighborhood_name}" if neighborhood_name else ""
    return f"Sent to {team_name}{where}."


class ServiceRequestCreatedSerializer(serializers.Serializer):
    service_request_id = serializers.IntegerField(source="pk")
    service_notice = serializers.SerializerMethodField()
    account_id = serializers.SerializerMethodField()

    def get_service_notice(self, idea: Idea) -> str:
        neighborhood = idea.neighborhood
        return service_notice(idea.team.name, neighborhood.name if neighborhood else None)

    def get_account_id(self, idea: Idea) -> str | None:
        return None  # no citizen accounts through Open311


# --- Queries and the POST body in -----------------------------------------------------------


class JurisdictionQuerySerializer(serializers.Serializer):
    jurisdiction_id = serializers.CharField(
        required=False,
        help_text="Optional: this endpoint serves one jurisdiction (see discovery); "
        "another one is a 404.",
    )


class RequestsQuerySerializer(JurisdictionQuerySerializer):
    """GET requests.{format}'s query. Repeated parameters are joined by commas first."""

    service_request_id = serializers.CharField(
        required=False,
        max_length=30_000,
        help_text="Comma-separated ids; overrides every other filter.",
    )
    service_code = serializers.CharField(
        required=False, max_length=10_000, help_text="Comma-separated service codes."
    )
    start_date = serializers.DateTimeField(
        required=False, help_text="W3C date-time, e.g. 2026-01-01T00:00:00Z (inclusive)."
    )
    end_date = serializers.DateTimeField(
        required=False, help_text="W3C date-time (inclusive); at most 90 days after start_date."
    )
    status = serializers.CharField(
        required=False, max_length=100, help_text="Comma-separated: open, closed."
    )

    def validate_service_request_id(self, value: str) -> list[int]:
        ids = []
        for item in comma_list(value):
            if not item.isascii() or not item.isdigit() or not 0 < int(item) <= ID_MAX:
                raise serializers.ValidationError(
                    _("%(item)s is not a service request id (a positive whole number).")
                    % {"item": repr(item)}
                )
            ids.append(int(item))
        if len(ids) > MAX_REQUESTS:
            raise serializers.ValidationError(
                _("Ask for at most %(max)s ids at once.") % {"max": MAX_REQUESTS}
            )
        return ids

    def validate_service_code(self, value: str) -> list[str]:
        return comma_list(value)

    def validate_status(self, value: str) -> list[str]:
        statuses = comma_list(value)
        unknown = [s for s in statuses if s not in ("open", "closed")]
        if unknown:
            raise serializers.ValidationError(
                _("%(status)s is not a status: use open or closed (or both, comma-separated).")
                % {"status": repr(unknown[0])}
            )
        return statuses

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The spec's window: 90 days at most, the last 90 days by default."""
        start: datetime | None = attrs.get("start_date")
        end: datetime | None = attrs.get("end_date")
        try:
            # Neither: the last 90 days; one: 90 days from or to it.
            if end is None:
                end = timezone.now() if start is None else start + MAX_SPAN
            if start is None:
                start = end - MAX_SPAN
        except OverflowError:
            # Within 90 days of year 1 or 9999: the window runs to the end of the calendar.
            start = start or datetime.min.replace(tzinfo=UTC)
            end = end or datetime.max.replace(tzinfo=UTC)
        if end < start:
            raise serializers.ValidationError({"end_date": [_("end_date is before start_date.")]})
        if end - start > MAX_SPAN:
            raise serializers.ValidationError(
                {
                    "end_date": [
                        _("From start_date to end_date is at most 90 days (the spec's limit).")
                    ]
                }
            )
        attrs["start_date"], attrs["end_date"] = start, end
        return attrs


class ServiceRequestInputSerializer(serializers.Serializer):
    """POST requests.{format}'s form (application/x-www-form-urlencoded, or JSON).

    `email`, `first_name`, `last_name` and `phone` are kept for staff only and never returned.
    `device_id`, `account_id` and `attribute[…]` are accepted and ignored.
    """

    api_key = serializers.CharField(help_text="The key staff issued to your application.")
    jurisdiction_id = serializers.CharField(required=False, allow_blank=True)
    service_code = serializers.CharField(
        max_length=100, help_text="A service_code from services.{format}."
    )
    lat = serializers.FloatField(
        min_value=-90, max_value=90, required=False, allow_null=True, help_text="WGS84"
    )
    long = serializers.FloatField(
        min_value=-180, max_value=180, required=False, allow_null=True, help_text="WGS84"
    )
    address_string = StoredTextSerializerField(
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="Not enough alone: there is no geocoder yet, so lat and long are required.",
    )
    address_id = StoredTextSerializerField(required=False, allow_blank=True, max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    device_id = StoredTextSerializerField(required=False, allow_blank=True, max_length=200)
    account_id = StoredTextSerializerField(required=False, allow_blank=True, max_length=200)
    first_name = StoredTextSerializerField(required=False, allow_blank=True, max_length=99)
    last_name = StoredTextSerializerField(required=False, allow_blank=True, max_length=100)
    phone = StoredTextSerializerField(required=False, allow_blank=True, max_length=50)
    description = StoredTextSerializerField(
        required=False,
        allow_blank=True,
        max_length=DESCRIPTION_MAX_LENGTH,
        trim_whitespace=True,
        help_text="The first line becomes the pin's title.",
    )
    media_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MEDIA_URL_MAX_LENGTH,
        validators=[media_url_validator],
        help_text="An http(s) URL of a photo or page.",
    )

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            bad = {
                name: [_("Send text that is valid UTF-8.")]
                for name in self.fields
                if isinstance(data.get(name), str) and not _encodable(data.get(name))
            }
            if bad:
                raise serializers.ValidationError(bad)
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        lat, lon = attrs.get("lat"), attrs.get("long")
        if lat is None and lon is None:
            if attrs.get("address_string") or attrs.get("address_id"):
                raise serializers.ValidationError(
                    {
                        "lat": [
                            _(
                                "lat and long are required: this server has no geocoder yet, so "
                                "an address_string or address_id alone cannot be placed on the map."
                            )
                        ]
                    }
                )
            raise serializers.ValidationError(
                {"lat": [_("lat and long are required (WGS84 degrees).")]}
            )
        if lat is None:
            raise serializers.ValidationError({"lat": [_("Send lat with long.")]})
        if lon is None:
            raise serializers.ValidationError({"long": [_("Send long with lat.")]})
        return attrs
