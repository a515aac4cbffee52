from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from neighborhoods.models import BoundaryVersion, Holiday, Neighborhood, Team
from neighborhoods.translated_names import TranslatedNameAdminMixin

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _VersionCounts(TypedDict):
    """What BoundaryVersionAdmin.get_queryset annotates each version with."""

    _neighborhoods: int
    _teams: int


# Shown, all read-only (versions change through the commands). One tuple for both options:
# `fields` is typed to allow groups of fields, `readonly_fields` plain names.
_VERSION_FIELDS = (
    "label",
    "is_active",
    "created_at",
    "activated_at",
    "neighborhood_count",
    "team_count",
    "overlap_area_m2",
    "gap_area_m2",
    "report",
)


@admin.register(Team)
class TeamAdmin(TranslatedNameAdminMixin, admin.ModelAdmin):
    # TranslatedNameAdminMixin: one "Name (Français)" box per other language.
    list_display = [
        "name",
        "slug",
        "is_triage",
        "response_target_days",
        "fix_check_days",
        "reopen_threshold",
    ]
    search_fields = ["name"]
    filter_horizontal = ["members"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    # Days that are not working days: counted out of every response time (calendars.py).
    list_display = ["date", "name", "team"]
    list_filter = ["team"]
    date_hierarchy = "date"


@admin.register(Neighborhood)
class NeighborhoodAdmin(admin.ModelAdmin):
    # Boundaries change through import_neighborhoods, never by hand-editing; the GIS widget
    # would also load OpenLayers from a CDN.
    exclude = ["geometry"]
    # Team, priority and version decide routing: changing them in place would bypass
    # re-routing and the pins' history. Import a new boundary version instead.
    readonly_fields = ["version", "slug", "team", "priority", "area_m2"]
    list_display = ["name", "team", "population", "version"]
    list_filter = ["version", "team"]
    search_fields = ["name"]


@admin.register(BoundaryVersion)
class BoundaryVersionAdmin(admin.ModelAdmin):
    """Read-only: versions are created by import_neighborhoods and switched on by
    activate_boundaries (which re-routes open pins). No map widget: GeoDjango's loads
    OpenLayers from a CDN."""

    # All but the report, which is long: it is read on the version's own page.
    list_display = [name for name in _VERSION_FIELDS if name != "report"]
    list_filter = ["is_active"]
    fields = _VERSION_FIELDS
    readonly_fields = _VERSION_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[BoundaryVersion]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _neighborhoods=Count("neighborhoods", distinct=True),
                _teams=Count("neighborhoods__team", distinct=True),
            )
        )

    @admin.display(description="Neighborhoods", ordering="_neighborhoods")
    def neighborhood_count(
        self, version: "WithAnnotations[BoundaryVersion, _VersionCounts]"
    ) -> int:
        return version._neighborhoods

    @admin.display(description="Teams", ordering="_teams")
    def team_count(self, version: "WithAnnotations[BoundaryVersion, _VersionCounts]") -> int:
        return version._teams

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
