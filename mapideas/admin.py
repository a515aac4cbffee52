from typing import TYPE_CHECKING, Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from mapideas.answers.services import texts_clean
from mapideas.models import (
    AreaAlert,
    Category,
    EmailOutbox,
    Flag,
    Idea,
    Open311Client,
    ResponseTemplate,
    TimelinePhoto,
)
from mapideas.open311.services import open311_client_create, open311_client_revoke
from mapideas.plumbing.stored_text import validate_stored_text
from neighborhoods.models import CategoryRule
from neighborhoods.routing import active_version
from neighborhoods.selectors import active_neighborhoods
from neighborhoods.translated_names import TranslatedNameAdminMixin

if TYPE_CHECKING:
    # What ModelAdmin.get_fields returns, as the stubs name it (no such name at run time).
    from django.contrib.admin.options import _FieldGroups


@admin.register(Category)
class CategoryAdmin(TranslatedNameAdminMixin, admin.ModelAdmin):
    # TranslatedNameAdminMixin: one "Name (Français)" box per other language.
    list_display = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Idea)
class IdeaAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "category", "status", "team", "neighborhood", "created_at"]
    list_filter = ["status", "kind", "category", "team", "channel"]
    search_fields = ["title", "description"]
    # Routing decides these; the location widget would load OpenLayers from a CDN. What an
    # Open311 client sent about the reporter is shown to staff as it came, never edited.
    # The workflow's fields change only through its services (the pin's page), which check
    # the transition and record the step in the pin's history.
    readonly_fields = [
        "neighborhood",
        "team",
        "created_at",
        "updated_at",
        "open311_client",
        "media_url",
        "contact_email",
        "contact_name",
        "contact_phone",
        "status",
        "assignee",
        "duplicate_of",
        "first_response_at",
        "answer",
        "answer_at",
    ]
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


class Open311ClientForm(forms.ModelForm):
    class Meta:
        model = Open311Client
        fields = ["name"]

    def clean_name(self) -> str:
        # The model's one-live-key-per-name constraint reads revoked_at, which this form does
        # not edit, so Django's form validation skips it: check it here, to say it in the form.
        name = self.cleaned_data["name"].strip()
        live = Open311Client.objects.filter(name=name, revoked_at__isnull=True)
        if live.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("An Open311 client with this name has a live key.")
        return name


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    """Staff issue a key per application (shown once, on saving) and revoke it.

    Never deleted: pins keep saying which client sent them. The key itself is never stored,
    only its SHA-256 and first characters.
    """

    form = Open311ClientForm
    list_display = ["name", "key_prefix", "created_at", "created_by", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "key_prefix"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Open311Client | None = None) -> "_FieldGroups":
        if obj is None:
            return ["name"]  # the key is made by open311_client_create on saving
        return ["name", "key_prefix", "created_at", "created_by", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Open311Client | None = None):
        if obj is None:
            return []
        return ["key_prefix", "created_at", "created_by", "revoked_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Open311Client | None = None):
        return False

    def save_model(self, request: HttpRequest, obj: Open311Client, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        assert request.user.is_authenticated  # the admin lets only signed-in staff in
        issued = open311_client_create(name=obj.name, created_by=request.user)
        # The admin goes on with `obj` (its log entry, its redirect): make it the new row.
        obj.pk = issued.client.pk
        obj.refresh_from_db()
        self.message_user(
            request,
            f"The key for {issued.client.name} is {issued.key} — copy it now: it is shown "
            "only this once (only its first characters are kept).",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected clients' keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Open311Client]) -> None:
        revoked = [
            open311_client_revoke(client=client)
            for client in queryset.filter(revoked_at__isnull=True)
        ]
        self.message_user(
            request,
            f"Revoked {len(revoked)} key(s): " + (", ".join(c.name for c in revoked) or "none"),
            messages.SUCCESS,
        )


@admin.register(EmailOutbox)
class EmailOutboxAdmin(admin.ModelAdmin):
    """What send_notifications sent, is to send, or gave up on (with the last error).
    Written by mapideas.notifications only: read-only here."""

    list_display = ["subject", "to", "created_at", "sent_at", "attempts", "next_attempt_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["to", "subject"]
    readonly_fields = [
        "to",
        "subject",
        "body",
        "unsubscribe_url",
        "created_at",
        "sent_at",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EmailOutbox | None = None) -> bool:
        return False


@admin.register(AreaAlert)
class AreaAlertAdmin(admin.ModelAdmin):
    """Who asked for alerts of new pins (mapideas.alerts). Addresses are personal data:
    staff may look and delete (on request, or for abuse), not edit; people subscribe and
    confirm through the links, never through the admin."""

    list_display = ["email", "area", "frequency", "created_at", "confirmed_at", "last_checked_at"]
    list_filter = ["frequency", ("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "neighborhood_slug"]
    # The map widget would load OpenLayers from a CDN: the centre is shown as text.
    exclude = ["center"]
    readonly_fields = [
        "email",
        "area",
        "frequency",
        "created_at",
        "confirmed_at",
        "confirmation_sent_at",
        "last_idea_id",
        "held_idea_ids",
        "last_checked_at",
    ]

    @admin.display(description="Area")
    def area(self, alert: AreaAlert) -> str:
        return alert.area_label

    def get_fields(self, request: HttpRequest, obj: AreaAlert | None = None) -> "_FieldGroups":
        return list(self.readonly_fields)  # every field, each read-only

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AreaAlert | None = None) -> bool:
        return False


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    """Reports of pins (mapideas.moderation). Read-only: hiding, keeping and removing go
    through the moderation queue (/staff/moderation/), which keeps Idea.flag_count and the
    pin's notes in step."""

    list_display = ["idea", "reason", "created_at", "cleared_at"]
    list_filter = ["reason", ("cleared_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["idea", "reason", "text", "flagged_by", "created_at", "cleared_at"]
    # The anonymous flagger's keyed hash tells staff nothing: not shown.
    exclude = ["flagger_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Flag | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Flag | None = None) -> bool:
        return False


class ResponseTemplateForm(forms.ModelForm):
    """The teams' pages check a template's texts (mapideas.answers.services); so does this."""

    class Meta:
        model = ResponseTemplate
        fields = ["team", "name", "category", "status", "texts"]

    def clean_texts(self) -> dict[str, str]:
        texts = self.cleaned_data.get("texts")
        if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
            raise forms.ValidationError(
                'Give an object of texts by language code, e.g. {"en": "Thank you."}.'
            )
        try:
            return texts_clean(texts)
        except forms.ValidationError as exc:
            raise forms.ValidationError(
                [f"{field}: {m}" for field, ms in exc.message_dict.items() for m in ms]
            ) from None


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin):
    form = ResponseTemplateForm
    list_display = ["name", "team", "category", "status", "updated_at"]
    list_filter = ["team", "status"]
    search_fields = ["name"]


@admin.register(TimelinePhoto)
class TimelinePhotoAdmin(admin.ModelAdmin):
    """The photos of a pin's story (answers' before and after, residents' disputes): staff
    withdraw one from view (`hidden_at`: its URL is then a 404, the page and the API no
    longer list it) or bring it back. The file itself is never edited here."""

    list_display = ["idea", "role", "created_at", "hidden_at"]
    list_filter = ["role", ("hidden_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["idea", "update", "feedback", "role", "width", "height", "bytes"]
    exclude = ["name"]  # the file's random name tells staff nothing
    actions = ["hide", "show"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Hide the selected photos")
    def hide(self, request: HttpRequest, queryset: QuerySet[TimelinePhoto]) -> None:
        hidden = queryset.filter(hidden_at__isnull=True).update(hidden_at=timezone.now())
        self.message_user(request, f"{hidden} photo(s) hidden.", messages.SUCCESS)

    @admin.action(description="Show the selected photos again")
    def show(self, request: HttpRequest, queryset: QuerySet[TimelinePhoto]) -> None:
        shown = queryset.filter(hidden_at__isnull=False).update(hidden_at=None)
        self.message_user(request, f"{shown} photo(s) shown again.", messages.SUCCESS)


def keep_the_stored_text_rule(site: admin.AdminSite) -> None:
    """Staff type text too: every text box of every admin form (the translated names'
    boxes included) keeps the rule of what MapIdeas stores (mapideas.plumbing.stored_text),
    whichever app registered the model. Applied here, once every admin is registered,
    because neighborhoods' admin may not import mapideas."""
    for model in apps.get_models():
        try:
            model_admin = site.get_model_admin(model)
        except NotRegistered:
            continue
        model_admin.get_form = _checking_text(model_admin.get_form)  # type: ignore[method-assign]


def _checking_text(get_form: Any) -> Any:
    def get_form_checking_text(*args: Any, **kwargs: Any) -> Any:
        form = get_form(*args, **kwargs)
        for field in form.base_fields.values():
            # A JSON box's value is no text (a dict, a list): its own form checks its texts
            # (ResponseTemplateForm.clean_texts, the translated names' boxes).
            if (
                isinstance(field, forms.CharField)
                and not isinstance(field, forms.JSONField)
                and validate_stored_text not in field.validators
            ):
                field.validators.append(validate_stored_text)
        return form

    return get_form_checking_text
