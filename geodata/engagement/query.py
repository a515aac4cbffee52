"""The engagement layers' parameters, checked once for the API, the OGC collections, the planner
page and the export command: the ideas API's city-wide filters plus each layer's own."""

from collections.abc import Mapping
from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from geodata.engagement import fields as engagement_fields
from geodata.engagement import rates as engagement_rates
from geodata.engagement.rates import Options, Period, Selection
from mapideas.map import viewport_counts
from mapideas.models import Idea
from mapideas.pins import selectors
from mapideas.pins.filters import IdeaFilter
from mapideas.plumbing.db_routers import replica_alias
from neighborhoods.services import ATTRIBUTE_NAME

# The IdeaFilter parameters the engagement layers take. Not bbox, neighborhood or team: a rate
# compared with the city's needs the whole city's pins.
FILTER_PARAMS = ("created_after", "created_before", "category", "kind", "status", "channel")


# Dates outside these years are refused: the trend's previous period is computed from them.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


# --- parameters ------------------------------------------------------------------------------


class PinFilterSerializer(serializers.Serializer):
    """The city-wide pin filters every engagement layer takes."""

    created_after = serializers.DateField(
        required=False, help_text="First day counted (YYYY-MM-DD, included)."
    )
    created_before = serializers.DateField(
        required=False, help_text="Last day counted (YYYY-MM-DD, included)."
    )
    category = serializers.CharField(required=False, help_text="Category slug.")
    kind = serializers.ChoiceField(choices=Idea.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=Idea.Status.choices, required=False)
    channel = serializers.ChoiceField(choices=Idea.Channel.choices, required=False)

    def validate(self, data: dict) -> dict:
        errors = {}
        for name in ("created_after", "created_before"):
            day = data.get(name)
            if day is not None and not EARLIEST <= day <= LATEST:
                errors[name] = [
                    _("Give a day between %(earliest)s and %(latest)s.")
                    % {"earliest": EARLIEST, "latest": LATEST}
                ]
        after, before = data.get("created_after"), data.get("created_before")
        if not errors and after and before and after > before:
            errors["created_before"] = [_("The last day must not be before the first day.")]
        if errors:
            raise serializers.ValidationError(errors)
        return data


class EngagementQuerySerializer(PinFilterSerializer):
    thin_below = serializers.FloatField(
        required=False,
        default=engagement_fields.THIN_BELOW,
        min_value=0,
        max_value=100,
        help_text="A neighborhood (or cell) whose ratio to the city rate is below this is thin.",
    )
    trend_days = serializers.IntegerField(
        required=False,
        default=engagement_fields.TREND_DAYS,
        min_value=1,
        max_value=3660,
        help_text="Length of the trend period when no date range is given (ending today).",
    )

    def validate_thin_below(self, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise serializers.ValidationError(_("Give a finite number."))
        return value


class HexagonQuerySerializer(EngagementQuerySerializer):
    resolution = serializers.IntegerField(
        required=False,
        default=8,
        min_value=min(engagement_fields.RESOLUTIONS),
        max_value=max(engagement_fields.RESOLUTIONS),
        help_text="H3 resolution: 7 (about 5 km² a cell), 8 (0.7 km²) or 9 (0.1 km²).",
    )


class ColdspotQuerySerializer(EngagementQuerySerializer):
    weights = serializers.ChoiceField(
        choices=engagement_fields.WEIGHTS,
        required=False,
        default="queen",
        help_text="queen: neighborhoods sharing a border or corner (islands get their nearest "
        "one); distance: within the smallest distance giving everyone a neighbour.",
    )
    alpha = serializers.FloatField(
        required=False,
        default=engagement_fields.ALPHA,
        min_value=0.001,
        max_value=0.5,
        help_text="False discovery rate of the Benjamini-Hochberg correction.",
    )

    def validate_alpha(self, value: float) -> float:
        if value != value:
            raise serializers.ValidationError(_("Give a finite number."))
        return value


class OutreachQuerySerializer(EngagementQuerySerializer):
    limit = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=1000, help_text="At most this many."
    )


class RepresentativenessQuerySerializer(EngagementQuerySerializer):
    attribute = serializers.CharField(
        required=False,
        max_length=50,
        help_text="Only this area attribute (as declared at import_population); all by default. "
        "One no neighborhood has gives no feature, and the message lists the known ones.",
    )

    def validate_attribute(self, value: str) -> str:
        if not ATTRIBUTE_NAME.match(value):
            raise serializers.ValidationError(
                _("An attribute name is lowercase letters, digits and underscores.")
            )
        return value


# --- service equity (geodata.engagement.service, slowspots) ---------------------------------


def _min_count_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        default=engagement_fields.MIN_COUNT,
        min_value=engagement_fields.MIN_COUNT,
        max_value=1_000_000,
        help_text=f"An area with fewer pins than this shows no figure (at least "
        f"{engagement_fields.MIN_COUNT}).",
    )


def _resolution_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        default=8,
        min_value=min(engagement_fields.RESOLUTIONS),
        max_value=max(engagement_fields.RESOLUTIONS),
        help_text="H3 resolution: 7 (about 5 km² a cell), 8 (0.7 km²) or 9 (0.1 km²).",
    )


def _alpha_field() -> serializers.FloatField:
    return serializers.FloatField(
        required=False,
        default=engagement_fields.ALPHA,
        min_value=0.001,
        max_value=0.5,
        help_text="False discovery rate of the Benjamini-Hochberg correction.",
    )


class ServiceQuerySerializer(PinFilterSerializer):
    min_count = _min_count_field()


class ServiceHexagonQuerySerializer(ServiceQuerySerializer):
    resolution = _resolution_field()


class SlowspotQuerySerializer(ServiceQuerySerializer):
    alpha = _alpha_field()

    def validate_alpha(self, value: float) -> float:
        if value != value:
            raise serializers.ValidationError(_("Give a finite number."))
        return value


class SlowspotHexagonQuerySerializer(SlowspotQuerySerializer):
    resolution = _resolution_field()


# The parameters of each layer, for the API, /export/<layer>.<ext> and export_layer.
QUERY_SERIALIZERS: dict[str, type[PinFilterSerializer]] = {
    "engagement-neighborhoods": EngagementQuerySerializer,
    "engagement-hexagons": HexagonQuerySerializer,
    "coldspots": ColdspotQuerySerializer,
    "outreach": OutreachQuerySerializer,
    "representativeness": RepresentativenessQuerySerializer,
    "service-neighborhoods": ServiceQuerySerializer,
    "service-teams": ServiceQuerySerializer,
    "service-hexagons": ServiceHexagonQuerySerializer,
    "slowspots": SlowspotQuerySerializer,
    "slowspots-hexagons": SlowspotHexagonQuerySerializer,
}


def parse_query(layer: str, params: Mapping[str, str]) -> tuple[Selection, Options]:
    """The pins and options `params` ask for; ValidationError (a 400) naming each bad one.

    Empty values count as absent, as in the ideas API (a form sends `created_after=`).
    """
    given = QUERY_SERIALIZERS[layer](data={k: v for k, v in params.items() if v != ""})
    given.is_valid(raise_exception=True)
    data = given.validated_data
    filters = {name: str(data[name]) for name in FILTER_PARAMS if data.get(name) is not None}
    # Figures over the whole city may lag the primary a little: read from the replica.
    pins = selectors.public_ideas().using(replica_alias())
    dated = IdeaFilter(filters, queryset=pins)
    if not dated.is_valid():
        raise ValidationError(dated.errors)
    undated = IdeaFilter(
        {k: v for k, v in filters.items() if not k.startswith("created_")},
        queryset=pins,
    )
    undated.is_valid()  # a subset of what was just found valid
    after, before = data.get("created_after"), data.get("created_before")
    selection = Selection(
        ideas=dated.qs,
        undated=undated.qs,
        since=engagement_rates.midnight(after) if after else None,
        until=engagement_rates.midnight(before + timedelta(days=1)) if before else None,
        kept=viewport_counts.count_filters_of(dated.form.cleaned_data),
        period=Period.around(
            after=after,
            before=before,
            today=timezone.localdate(),
            days=data.get("trend_days", engagement_fields.TREND_DAYS),
        ),
    )
    options = Options(
        thin_below=data.get("thin_below", engagement_fields.THIN_BELOW),
        resolution=data.get("resolution", 8),
        weights=data.get("weights", "queen"),
        alpha=data.get("alpha", engagement_fields.ALPHA),
        limit=data.get("limit"),
        min_count=data.get("min_count", engagement_fields.MIN_COUNT),
        attribute=data.get("attribute"),
    )
    return selection, options
