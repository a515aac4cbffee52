"""The language an export names categories and teams in: the city's unless `lang=` (the
download) or `--lang` (the export_layer command) asks for another of settings.LANGUAGES."""

from django.conf import settings
from rest_framework import serializers

from neighborhoods.translated_names import city_language


class LanguageQuerySerializer(serializers.Serializer):
    """`lang=`: the language the layer names categories and teams in (one of
    settings.LANGUAGES). Absent or empty: the city's (neighborhoods.translated_names says
    why), never the request's Accept-Language: a file's values must not depend on the
    browser that downloaded it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Built per request, so the choices are settings.LANGUAGES as they are now.
        self.fields["lang"] = serializers.ChoiceField(
            choices=[code for code, _label in settings.LANGUAGES], required=False
        )


def asked_language(asked: str) -> str:
    """`asked` if it is one of settings.LANGUAGES, the city's language if it is empty; else
    ValidationError naming `lang`. `lang=` here and `export_layer --lang` both go through it,
    so a file and a download of one query name things the same way."""
    given = LanguageQuerySerializer(data={"lang": asked} if asked else {})
    given.is_valid(raise_exception=True)
    return given.validated_data.get("lang") or city_language()
