"""Names that staff translate: a team's or a category's name in each of settings.LANGUAGES,
and the one rule saying which language each output names them in.

`name` holds the name in the city's own language (LANGUAGE_CODE); `name_translations` holds
the others, keyed by language code (``{"fr": "Équipe Nord", "nl": "Team Noord"}``). A language
left empty falls back to `name`, so a city can translate gradually. Plain JSON in the row, not
a column per language, because adding a language to LANGUAGES must not need a migration, and
not django-modeltranslation, whose query rewriting would change what the exports and the
routing code read from `name`.

Names and languages (docs/interfaces.md, "Names and languages", says the same for clients):

- The APIs answer in the request's language: Django's active language, which LocaleMiddleware
  takes from the language cookie, else Accept-Language, else LANGUAGE_CODE. That is /api/
  (ideas, one pin and its timeline, categories, neighborhoods, the route preview, the
  engagement layers), the map's viewport and the OGC API: people and their apps read these
  names.
- The exports (/export/<layer>.<format>, the export_layer command) write the city's language
  by default (`city_language()`): a file is joined and styled by GIS tools on its values, so
  the same layer must name things the same way whoever downloads it. `lang=<code>` (one of
  settings.LANGUAGES; anything else is a 400 naming `lang`; the command's --lang) asks for
  another; the planner page's export links pass the page's language that way when it is not
  the city's.
- Open311 (GeoReport v2) answers in the city's language: the spec has no language
  negotiation, its answers are cached and shared by the systems that aggregate them, and its
  sentences (service_notice) are the city's. `service_code` is the category's slug.
- Neighborhood names are proper names from the boundary file: one name, never translated,
  the same in every output.
- Beside every name an output gives the slug, the key that never changes with the language
  (`category`/`category_name`, `team`/`team_slug`, `neighborhood`/`neighborhood_slug`):
  match on the slug, show the name.

Every translated name comes from `translated_name()` (one at a time: `display_name` of Team
and Category) or `names_by_id()` (a whole table at once, for the outputs that build many pins
from plain rows: mapideas.pins.fields). This module knows names, not pins.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    # To mypy the mixin is the ModelAdmin it is mixed into, so super().get_fields() is known;
    # at run time a plain object: the models import this module, before the admin is loaded.
    from django.contrib.admin import ModelAdmin as _AdminMixinBase
else:
    _AdminMixinBase = object

# The longest name we keep in any language (the `name` columns are 200 characters).
MAX_NAME_LENGTH = 200


def other_languages() -> list[tuple[str, str]]:
    """(code, name) of each language a name can be translated into."""
    return [(code, label) for code, label in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def city_language() -> str:
    """The city's own language (settings.LANGUAGE_CODE): the language of every `name`, and
    of the exports unless they are asked for another."""
    return settings.LANGUAGE_CODE


def active_language() -> str:
    """The request's language (Django's active one: the language cookie, else
    Accept-Language, else the city's), as a code of settings.LANGUAGES ("fr-be" is "fr")."""
    return _base(get_language() or settings.LANGUAGE_CODE)


def _base(language: str) -> str:
    return language.split("-")[0].lower()


def translated_name(name: str, translations: dict | None, language: str | None = None) -> str:
    """`name` in `language` (default: the active one), else in the city's own language."""
    language = _base(language or get_language() or settings.LANGUAGE_CODE)
    if language != settings.LANGUAGE_CODE and translations:
        value = translations.get(language)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return name


def names_by_id(
    model: type[Model],
    language: str,
    *,
    ids: Iterable[int] | None = None,
    using: str | None = None,
) -> dict[int, tuple[str, str]]:
    """id -> (slug, name in `language`) of the rows of `model` (Team, Category: a slug, a
    `name` and its `name_translations`), all of them or those of `ids`, read in one query
    from the database `using`. For outputs that name many pins from plain rows: a city has
    a few categories and teams, so they are named once per answer, not per pin."""
    rows = model._default_manager.using(using).values_list(
        "pk", "slug", "name", "name_translations"
    )
    if ids is not None:
        rows = rows.filter(pk__in=set(ids))
    return {
        pk: (slug, translated_name(name, translations, language))
        for pk, slug, name, translations in rows
    }


def clean_translations(value: object) -> dict[str, str]:
    """The stored form: known language codes only, trimmed, empty ones dropped."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError(_("Translations must be an object of language code to name."))
    known = {code for code, _label in other_languages()}
    cleaned: dict[str, str] = {}
    for code, text in value.items():
        if code not in known:
            raise ValidationError(
                _("%(code)s is not one of the site's other languages (%(known)s).")
                % {"code": code, "known": ", ".join(sorted(known))}
            )
        if not isinstance(text, str):
            raise ValidationError(_("The %(code)s name must be text.") % {"code": code})
        text = text.strip()
        if len(text) > MAX_NAME_LENGTH:
            raise ValidationError(
                _("The %(code)s name is longer than %(limit)d characters.")
                % {"code": code, "limit": MAX_NAME_LENGTH}
            )
        if text:
            cleaned[code] = text
    return cleaned


class _TranslatedNameFormBase(forms.ModelForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.name_translations or {}
        for code, _label in other_languages():
            self.fields[f"name_{code}"].initial = stored.get(code, "")

    def clean(self) -> dict[str, Any]:
        # ModelForm.clean() returns self.cleaned_data (typed "or None" for overrides).
        super().clean()
        cleaned = self.cleaned_data
        self.instance.name_translations = clean_translations(
            {code: cleaned.get(f"name_{code}", "") for code, _label in other_languages()}
        )
        return cleaned


def _name_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=_("Name (%(language)s)") % {"language": label},
        max_length=MAX_NAME_LENGTH,
        required=False,
        help_text=_("Shown to people who read the site in this language; empty: the name."),
    )


# Declared on the class (not added in __init__) so the admin's form factory accepts them.
TranslatedNameAdminForm = type(
    "TranslatedNameAdminForm",
    (_TranslatedNameFormBase,),
    {f"name_{code}": _name_field(label) for code, label in other_languages()},
)


class TranslatedNameAdminMixin(_AdminMixinBase):
    """For a ModelAdmin: one "Name (Français)" box per other language right after `name`,
    instead of the raw JSON."""

    form = TranslatedNameAdminForm

    def get_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> list[str | list[str] | tuple[str, ...]]:
        extra = [f"name_{code}" for code, _label in other_languages()]
        fields = [
            f for f in super().get_fields(request, obj) if f not in extra + ["name_translations"]
        ]
        at = fields.index("name") + 1 if "name" in fields else len(fields)
        return fields[:at] + extra + fields[at:]
