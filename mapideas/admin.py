from django import forms
from django.contrib import admin

from mapideas.models import Category, Idea
from neighborhoods.models import CategoryRule
from neighborhoods.routing import active_version
from neighborhoods.selectors import active_neighborhoods


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


def _category_choices() -> list[tuple[str, str]]:
    # Read per form, so a category added a moment ago is there; the empty choice first, so an
    # edited rule whose category was since deleted is not silently given another one.
    return [("", "---------")] + [(c.slug, f"{c.name} ({c.slug})") for c in Category.objects.all()]


class CategoryRuleForm(forms.ModelForm):
    """A rule names a category and neighborhoods by slug (the neighborhoods app knows nothing of
    categories, and slugs outlive boundary versions): check both against what exists now."""

    category = forms.ChoiceField(choices=_category_choices, label="Category")

    class Meta:
        model = CategoryRule
        fields = ["category", "team", "neighborhood_slugs", "note"]

    def clean_neighborhood_slugs(self) -> str:
        raw = self.cleaned_data.get("neighborhood_slugs", "")
        given = CategoryRule(neighborhood_slugs=raw).slugs
        if not given:
            return ""
        version = active_version()
        if version is None:
            raise forms.ValidationError(
                "No boundary version is active, so no neighborhood slug can be checked: leave "
                "this empty (city-wide) or activate boundaries first."
            )
        known = set(active_neighborhoods().values_list("slug", flat=True))
        unknown = [slug for slug in dict.fromkeys(given) if slug not in known]
        if unknown:
            raise forms.ValidationError(
                "Not a neighborhood of the active boundary version (%(version)s): %(unknown)s.",
                params={"version": version.label, "unknown": ", ".join(unknown)},
                code="unknown_slugs",
            )
        # One per line, each once: how the admin shows it next time.
        return "\n".join(dict.fromkeys(given))


@admin.register(CategoryRule)
class CategoryRuleAdmin(admin.ModelAdmin):
    """Rules apply to new pins at once, and to open pins at the next re-route."""

    form = CategoryRuleForm
    list_display = ["category", "team", "where", "note"]
    list_filter = ["team"]
    search_fields = ["category", "neighborhood_slugs", "note"]

    @admin.display(description="Where")
    def where(self, rule: CategoryRule) -> str:
        return ", ".join(rule.slugs) or "city-wide"
