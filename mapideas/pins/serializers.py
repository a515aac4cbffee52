"""JSON shapes of the public API. GeoJSON per RFC 7946: WGS84, lon,lat, no `crs` member."""

import re

import orjson
from django.contrib.gis.geos import GEOSGeometry
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from mapideas.models import Category, Idea
from mapideas.pins import fields as pin_fields
from neighborhoods.compiled_queries import CompiledQuery
from neighborhoods.models import Neighborhood

# What Django's SlugField accepts (Unicode letters included).
SLUG_PATTERN = re.compile(r"[-\w]+")


# Six decimals is about 10 cm (mapideas.pins.fields): imported from here by many outputs.
COORDINATE_PRECISION = pin_fields.COORDINATE_PRECISION


class CategorySerializer(serializers.ModelSerializer):
    """A category: its slug (the key, the same in every language) and its name in the
    request's language (the language cookie, else Accept-Language), as a pin's `category`
    and `category_name`."""

    name = serializers.CharField(source="display_name", read_only=True)

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
    """A GeoJSON geometry in; the serializer refuses anything but a Point. An empty one
    (`POINT EMPTY`) is refused here, for every API that takes a point: it has no place, and
    reading its coordinates fails."""

    def to_internal_value(self, value: object) -> GEOSGeometry:
        geometry = super().to_internal_value(value)
        if geometry.empty:
            raise serializers.ValidationError(_("Give a point with a longitude and a latitude."))
        return geometry


class CategorySlugField(serializers.SlugRelatedField):
    """A category by its slug. Text that cannot be a slug (a NUL byte, say, which PostgreSQL
    refuses outright) is "no such category" without asking the database."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", queryset=Category.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not SLUG_PATTERN.fullmatch(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data)[:100])
        # Every pin sent names its category: read by SQL compiled once (slugs are unique).
        found = _category_by_slug(data)
        if not found:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return found[0]


_category_by_slug = CompiledQuery(
    lambda slug: Category.objects.filter(slug=slug),
    examples=(("compiled-example-a",), ("compiled-example-b",)),
)


@extend_schema_field({"type": "string"})
class PinPageField(serializers.Field):
    """The pin's page (Render.PAGE), site-relative."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Idea) -> str:
        return value.get_absolute_url()


@extend_schema_field({"type": "string", "nullable": True})
class PinPhotoField(serializers.Field):
    """The pin's photo on this site (Render.PHOTO): null when it has none, or moderators hid
    it; the view that serves it checks the pin is public. Never where the file is stored."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Idea) -> str | None:
        # public_ideas() joins the photo; a pin without one raises RelatedObjectDoesNotExist,
        # an AttributeError, hence getattr's default.
        photo = getattr(value, "photo", None)
        if photo is None or photo.hidden_at is not None:
            return None
        return photo_url(value.pk)


def serializer_field(field: pin_fields.PinField) -> serializers.Field:
    """The DRF field that renders `field` from a model instance, as the row builders of
    mapideas.pins.fields render it from a plain row (tests compare the two)."""
    if field.render is pin_fields.Render.SLUG:
        return serializers.CharField(source=f"{field.relation}.slug", read_only=True)
    if field.render is pin_fields.Render.NAME:
        # display_name: neighborhoods.translated_names, in the active (the request's) language.
        return serializers.CharField(source=f"{field.relation}.display_name", read_only=True)
    if field.render is pin_fields.Render.PAGE:
        return PinPageField()
    if field.render is pin_fields.Render.PHOTO:
        return PinPhotoField()
    key = field.reads[0]
    # None: the field's own name (DRF refuses a source that repeats it).
    source = None if key == field.name else key.replace("__", ".")
    if field.type is pin_fields.Type.INTEGER:
        return serializers.IntegerField(read_only=True, source=source)
    if field.type is pin_fields.Type.DATETIME:
        return serializers.DateTimeField(read_only=True, allow_null=field.nullable, source=source)
    # A nullable text read through a relation (the neighborhood of a pin in a gap) is None
    # when the related row is missing.
    return serializers.CharField(
        read_only=True, source=source, default=None if field.nullable else empty
    )


class IdeaFeatureSerializer(GeoFeatureModelSerializer):
    """An idea as a GeoJSON Feature. Only public fields: never the author."""

    location = GeometryField(precision=COORDINATE_PRECISION)

    class Meta:
        model = Idea
        geo_field = pin_fields.GEOMETRY
        # mapideas.pins.fields.PUBLIC_PIN: the names, their order; their fields below.
        fields = list(pin_fields.PUBLIC_PIN_NAMES)

    def get_properties(self, instance: Idea, fields) -> dict:
        # rest_framework_gis moves `id` to the Feature's top-level "id" and drops it from the
        # properties; keep it in both, as the export does (clients and GIS tools read either).
        return {"id": instance.pk, **super().get_properties(instance, fields)}


# Declared after the class, from the specification: the fields the model cannot describe
# (names, slugs, URLs, the read-only columns). The model's own columns (`model_column`) are
# left to ModelSerializer, which gives them the model's choices and lengths.
IdeaFeatureSerializer._declared_fields.update(
    {f.name: serializer_field(f) for f in pin_fields.PUBLIC_PIN if not f.model_column}
)


def photo_url(pk: int) -> str:
    """Where pin `pk`'s photo is served (views.idea_photo), site-relative like `url`."""
    return reverse("idea-photo", args=[pk])


@extend_schema_field(
    {
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {
            "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
            "coordinates": {"type": "array", "items": {"type": "array"}},
        },
    }
)
class BoundaryGeometryField(serializers.Field):
    """A neighborhood's polygons as GeoJSON: the database's own text (`outline`, written by
    selectors.neighborhoods_with_counts with AsGeoJSON at COORDINATE_PRECISION decimals), only
    parsed here.

    Boundaries weigh much: converting the polygons in Python (GEOS to GDAL's JSON, then
    rounding) took 0.4 s for a large city, paid by the first request of every worker after
    each start, as the conversions were kept per process. The database writes the same
    RFC 7946 text in C within the query that reads the rows, and the engagement layers
    already serve that text (geodata.engagement.rates), so both outputs carry the same
    coordinates."""

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "outline")
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> dict:
        return orjson.loads(value)


class NeighborhoodFeatureSerializer(GeoFeatureModelSerializer):
    team = serializers.CharField(source="team.display_name", read_only=True)
    team_slug = serializers.CharField(source="team.slug", read_only=True)
    idea_count = serializers.IntegerField(read_only=True)
    geometry = BoundaryGeometryField()

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
    # The teams of the other neighborhoods covering the point (overlapping polygons): their
    # names and, in the same order, their slugs.
    also_in = serializers.SerializerMethodField()
    also_in_slugs = serializers.SerializerMethodField()
    near_border = serializers.BooleanField()
    # Metres to the other side's border, when the pin is within MAPIDEAS_BORDER_HINT_M of it.
    border_distance_m = serializers.SerializerMethodField()
    other_side = serializers.CharField(source="nearby.neighborhood.name", default=None)
    other_side_slug = serializers.CharField(source="nearby.neighborhood.slug", default=None)

    def get_also_in(self, preview) -> list[str]:
        return [team.display_name for team in preview.route.also_in]

    def get_also_in_slugs(self, preview) -> list[str]:
        return [team.slug for team in preview.route.also_in]

    def get_border_distance_m(self, preview) -> float | None:
        return round(preview.nearby.distance_m, 1) if preview.nearby is not None else None
