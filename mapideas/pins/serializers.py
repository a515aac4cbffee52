"""JSON shapes of the public API. GeoJSON per RFC 7946: WGS84, lon,lat, no `crs` member."""

import hashlib
import re
import threading
from collections import OrderedDict

from django.contrib.gis.geos import GEOSGeometry
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from mapideas.models import Category, Idea
from neighborhoods.models import Neighborhood

# What Django's SlugField accepts (Unicode letters included).
SLUG_PATTERN = re.compile(r"[-\w]+")


# Six decimals is about 10 cm: more only leaks noise and bytes.
COORDINATE_PRECISION = 6


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["slug", "name"]


# The OpenAPI schema of a GeoJSON Point in WGS84 (RFC 7946 section 3.1.2).
GEOJSON_POINT_SCHEMA = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 3,
            "example": [-87.6298, 41.8781],
        },
    },
}


@extend_schema_field(GEOJSON_POINT_SCHEMA)
class PointField(GeometryField):
    """A GeoJSON geometry in; the serializer refuses anything but a Point."""


class CategorySlugField(serializers.SlugRelatedField):
    """A category by its slug. Text that cannot be a slug (a NUL byte, say, which PostgreSQL
    refuses outright) is "no such category" without asking the database."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", queryset=Category.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not SLUG_PATTERN.fullmatch(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data)[:100])
        return super().to_internal_value(data)


class IdeaFeatureSerializer(GeoFeatureModelSerializer):
    """An idea as a GeoJSON Feature. Only public fields: never the author."""

    category: "serializers.SlugRelatedField[Category]" = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    category_name = serializers.CharField(source="category.display_name", read_only=True)
    # None for a pin in a gap between neighborhoods (the triage team has it).
    neighborhood = serializers.CharField(source="neighborhood.name", read_only=True, default=None)
    neighborhood_slug = serializers.CharField(
        source="neighborhood.slug", read_only=True, default=None
    )
    team = serializers.CharField(source="team.display_name", read_only=True)
    team_slug = serializers.CharField(source="team.slug", read_only=True)
    location = GeometryField(precision=COORDINATE_PRECISION)
    # The team's latest public answer and when it came ("" and null before any). Never the
    # internal notes, the assignee or who answered.
    answer = serializers.CharField(read_only=True)
    answer_at = serializers.DateTimeField(read_only=True, allow_null=True)
    # How many people support the pin (a count, never who).
    support_count = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    # The pin's photo on this site (null when it has none, or moderators hid it): the view
    # that serves it checks the pin is public. Never where the file is stored.
    photo_url = serializers.SerializerMethodField()

    class Meta:
        model = Idea
        geo_field = "location"
        fields = [
            "id",
            "kind",
            "title",
            "description",
            "category",
            "category_name",
            "status",
            "channel",
            # The meeting or campaign an offline pin was gathered at ("" for the others).
            "event_name",
            "neighborhood",
            "neighborhood_slug",
            "team",
            "team_slug",
            "created_at",
            "answer",
            "answer_at",
            "support_count",
            "url",
            "photo_url",
        ]

    def get_properties(self, instance: Idea, fields) -> dict:
        # rest_framework_gis moves `id` to the Feature's top-level "id" and drops it from the
        # properties; keep it in both, as the export does (clients and GIS tools read either).
        return {"id": instance.pk, **super().get_properties(instance, fields)}

    def get_url(self, idea: Idea) -> str:
        return idea.get_absolute_url()

    def get_photo_url(self, idea: Idea) -> str | None:
        # public_ideas() joins the photo; a pin without one raises RelatedObjectDoesNotExist,
        # an AttributeError, hence getattr's default.
        photo = getattr(idea, "photo", None)
        if photo is None or photo.hidden_at is not None:
            return None
        return photo_url(idea.pk)


def photo_url(pk: int) -> str:
    """Where pin `pk`'s photo is served (views.idea_photo), site-relative like `url`."""
    return reverse("idea-photo", args=[pk])


class BoundaryGeometryField(GeometryField):
    """A neighborhood's polygons as GeoJSON, converted once per process and polygon.

    Boundaries change rarely and weigh much: converting the 77 of the demo city took 285 ms
    a request, the rest of /api/neighborhoods/ 30 ms. A conversion is kept under a digest of
    the polygons' bytes, so a changed boundary (whatever changed it) is converted afresh,
    never served stale. Kept for BOUNDARY_CACHE_SIZE polygons (a few versions of a large
    city), least recently used dropped first. Callers must not modify what it returns."""

    def to_representation(self, value):
        if not isinstance(value, GEOSGeometry):
            return super().to_representation(value)
        key = (self.precision, hashlib.blake2b(bytes(value.ewkb), digest_size=16).digest())
        with _boundary_lock:
            cached = _boundary_cache.get(key)
            if cached is not None:
                _boundary_cache.move_to_end(key)
                return cached
        converted = super().to_representation(value)
        with _boundary_lock:
            _boundary_cache[key] = converted
            while len(_boundary_cache) > BOUNDARY_CACHE_SIZE:
                _boundary_cache.popitem(last=False)
        return converted


BOUNDARY_CACHE_SIZE = 4096


_boundary_cache: OrderedDict = OrderedDict()


_boundary_lock = threading.Lock()  # gthread workers serve requests in threads


class NeighborhoodFeatureSerializer(GeoFeatureModelSerializer):
    team = serializers.CharField(source="team.display_name", read_only=True)
    team_slug = serializers.CharField(source="team.slug", read_only=True)
    idea_count = serializers.IntegerField(read_only=True)
    geometry = BoundaryGeometryField(precision=COORDINATE_PRECISION)

    class Meta:
        model = Neighborhood
        geo_field = "geometry"
        fields = ["name", "slug", "team", "team_slug", "population", "idea_count"]


class RouteQuerySerializer(serializers.Serializer):
    """GET /api/route/'s query: where the pin is and, if chosen yet, its category."""

    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    # Optional: the form asks as soon as a pin is placed, usually before a category is picked
    # (without one, no category rule applies). An empty `category=` is "not chosen yet".
    category = CategorySlugField(required=False, allow_null=True)


class RoutePreviewSerializer(serializers.Serializer):
    """GET /api/route/'s answer (a mapideas.pins.selectors.RoutePreview)."""

    neighborhood = serializers.CharField(source="route.neighborhood.name", default=None)
    neighborhood_slug = serializers.CharField(source="route.neighborhood.slug", default=None)
    team = serializers.CharField(source="route.team.display_name")
    team_slug = serializers.CharField(source="route.team.slug")
    reason = serializers.CharField(source="route.reason")
    also_in = serializers.SerializerMethodField()
    near_border = serializers.BooleanField()
    # Metres to the other side's border, when the pin is within MAPIDEAS_BORDER_HINT_M of it.
    border_distance_m = serializers.SerializerMethodField()
    other_side = serializers.CharField(source="nearby.neighborhood.name", default=None)

    def get_also_in(self, preview) -> list[str]:
        return [team.display_name for team in preview.route.also_in]

    def get_border_distance_m(self, preview) -> float | None:
        return round(preview.nearby.distance_m, 1) if preview.nearby is not None else None
