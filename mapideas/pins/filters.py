"""The filters shared by the ideas API, the maps and the exports.

One FilterSet, so `/api/ideas/?team=x` and `/export/ideas.geojson?team=x` always agree.
"""

from datetime import date

import django_filters
from django import forms
from django.contrib.gis.geos import GEOSGeometry, LineString, Point, Polygon
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from mapideas.models import Category, Idea
from mapideas.plumbing.days import first_instant, first_instant_after
from neighborhoods.models import Neighborhood, Team
from neighborhoods.selectors import active_neighborhoods
from neighborhoods.spatial_index import in_spatial_index


class BBoxField(forms.CharField):
    """`minlon,minlat,maxlon,maxlat` in WGS84, as in RFC 7946 section 5."""

    def clean(self, value: str | None) -> Polygon | None:
        value = super().clean(value)
        if not value:
            return None
        parts = value.split(",")
        if len(parts) != 4:
            raise forms.ValidationError(_("Give four numbers: minlon,minlat,maxlon,maxlat."))
        try:
            min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
        except ValueError:
            raise forms.ValidationError(
                _("Give four numbers: minlon,minlat,maxlon,maxlat.")
            ) from None
        numbers = (min_lon, min_lat, max_lon, max_lat)
        if any(n != n or n in (float("inf"), float("-inf")) for n in numbers):
            raise forms.ValidationError(_("The numbers must be finite."))
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
            raise forms.ValidationError(_("Longitudes must be between -180 and 180."))
        if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
            raise forms.ValidationError(_("Latitudes must be between -90 and 90."))
        if min_lon > max_lon or min_lat > max_lat:
            raise forms.ValidationError(_("The minimum must not be greater than the maximum."))
        return Polygon.from_bbox(numbers)


def bbox_geometry(box: Polygon) -> GEOSGeometry:
    """The geometry to intersect with for a cleaned bbox (BBoxField), in WGS84.

    A bbox with no area (one point, or a line) is valid RFC 7946, but as a polygon it is
    invalid and PostGIS and SpatiaLite disagree on what it intersects: query the point or line
    it really is.
    """
    min_lon, min_lat, max_lon, max_lat = box.extent
    geometry: GEOSGeometry = box
    if (min_lon, min_lat) == (max_lon, max_lat):
        geometry = Point(min_lon, min_lat)
    elif min_lon == max_lon or min_lat == max_lat:
        geometry = LineString((min_lon, min_lat), (max_lon, max_lat))
    geometry.srid = 4326
    return geometry


@extend_schema_field(OpenApiTypes.STR)
class BBoxFilter(django_filters.Filter):
    field_class = BBoxField

    def filter(self, qs: QuerySet, value: Polygon | None) -> QuerySet:
        if value is None:
            return qs
        # SpatiaLite tests `intersects` on every pin unless the R*Tree narrows them first.
        rows = in_spatial_index(qs, "location", value.extent, gist_lookup_follows=True)
        return rows.filter(location__intersects=bbox_geometry(value))


class IdeaFilter(django_filters.FilterSet):
    bbox = BBoxFilter(label=gettext_lazy("Bounding box"))
    # By slug, so pins routed by an earlier boundary version (closed ones keep theirs) match.
    neighborhood = django_filters.ModelChoiceFilter(
        queryset=active_neighborhoods(), to_field_name="slug", method="filter_neighborhood"
    )
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), to_field_name="slug")
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), to_field_name="slug"
    )
    status = django_filters.ChoiceFilter(choices=Idea.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Idea.Kind.choices)
    channel = django_filters.ChoiceFilter(choices=Idea.Channel.choices)
    # ?created_after=YYYY-MM-DD&created_before=YYYY-MM-DD, both days included (whole days in
    # the site's TIME_ZONE). Two filters, so that an error names the parameter a client sent.
    created_after = django_filters.DateFilter(
        label=gettext_lazy("Pinned from"), method="filter_created_after"
    )
    created_before = django_filters.DateFilter(
        label=gettext_lazy("Pinned until"), method="filter_created_before"
    )

    class Meta:
        model = Idea
        fields = [
            "bbox",
            "neighborhood",
            "team",
            "category",
            "status",
            "kind",
            "channel",
            "created_after",
            "created_before",
        ]

    def filter_neighborhood(self, qs: QuerySet, name: str, value: Neighborhood) -> QuerySet:
        return qs.filter(neighborhood__slug=value.slug)

    # The calendar's ends are open bounds (mapideas.plumbing.days): every pin lies within.
    def filter_created_after(self, qs: QuerySet, name: str, value: date) -> QuerySet:
        start = first_instant(value)
        return qs if start is None else qs.filter(created_at__gte=start)

    def filter_created_before(self, qs: QuerySet, name: str, value: date) -> QuerySet:
        end = first_instant_after(value)
        return qs if end is None else qs.filter(created_at__lt=end)


def filter_parameters() -> tuple[str, ...]:
    """The query parameters IdeaFilter reads, in its order, as a request (or the export
    command's options) spells them."""
    return tuple(IdeaFilter.base_filters)
