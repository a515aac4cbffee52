from django.contrib import admin

from neighborhoods.models import Neighborhood, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


@admin.register(Neighborhood)
class NeighborhoodAdmin(admin.ModelAdmin):
    # Boundaries change through import_neighborhoods, never by hand-editing; the GIS widget
    # would also load OpenLayers from a CDN.
    exclude = ["geometry"]
    list_display = ["name", "team", "population"]
    list_filter = ["team"]
    search_fields = ["name"]
