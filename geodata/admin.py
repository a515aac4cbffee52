from django.contrib import admin

from geodata.models import Place


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    """Imported places, to look one up; they change by importing again (import_places)."""

    list_display = ["name", "kind", "source", "imported_at"]
    list_filter = ["kind", "source"]
    search_fields = ["name", "name_normalized"]
    readonly_fields = ["name_normalized", "imported_at"]
