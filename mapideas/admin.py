from django.contrib import admin

from mapideas.models import Category, Idea


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Idea)
class IdeaAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "category", "status", "team", "neighborhood", "created_at"]
    list_filter = ["status", "kind", "category", "team", "channel"]
    search_fields = ["title", "description"]
    # Routing decides these; the location widget would load OpenLayers from a CDN.
    readonly_fields = ["neighborhood", "team", "created_at", "updated_at"]
    exclude = ["location"]
    raw_id_fields = ["author"]
