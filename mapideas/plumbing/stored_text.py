"""What MapIdeas stores as text, decided once (docs/decisions/0016-stored-text.md).

Stored text holds no Unicode noncharacter (U+FDD0-U+FDEF, and U+xFFFE/U+xFFFF in every plane)
and no C0 or C1 control character but newline and tab; carriage returns are stored as
newlines (a browser's textarea sends CRLF). Lone surrogates never get this far: the JSON
parser refuses them (mapideas.plumbing.parsers) and decoded UTF-8 cannot hold one.

Every exported format and XML document then carries what is stored, and people see what
they typed: no invisible character changes a title's meaning or breaks a planner's file.

- `first_unstorable(text)`: the first character the rule refuses, or None.
- `stored_text(text)`: the text as stored (newlines normalised), or a ValidationError
  ("contains a character that cannot be stored (U+FFFF)"): for imports and services.
- `validate_stored_text`: the same check as a Django validator (model or form fields).
- `StoredTextField`: a form CharField that normalises and checks (pages, the admin).
- `StoredTextSerializerField`: the same for DRF serializers (the API, Open311).

The fields live here rather than in plumbing.forms so that geodata's staff forms, which may
not import a forms module of mapideas, use the same ones.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext
from rest_framework import serializers

# C0 but tab (U+0009), newline (U+000A) and carriage return (U+000D, normalised before the
# check); DEL and C1; the noncharacter block; the last two code points of each plane.
_UNSTORABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
    + "\ud800-\udfff]"
)
_CARRIAGE_RETURN = re.compile("\r\n?")

UNSTORABLE_CODE = "unstorable"


def first_unstorable(text: str) -> str | None:
    """The first character of `text` that MapIdeas does not store (a carriage return is
    stored, as a newline), or None."""
    found = _UNSTORABLE.search(text)
    return found.group() if found else None


def code_point(character: str) -> str:
    return f"U+{ord(character):04X}"


def unstorable_message(character: str) -> str:
    return gettext("contains a character that cannot be stored (%(code_point)s)") % {
        "code_point": code_point(character)
    }


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR as LF: what a textarea sends, stored as every other line end."""
    return _CARRIAGE_RETURN.sub("\n", text)


def validate_stored_text(text: str) -> None:
    """A Django validator: a ValidationError naming the first character not stored."""
    character = first_unstorable(normalise_newlines(text))
    if character is not None:
        raise ValidationError(
            unstorable_message(character),
            code=UNSTORABLE_CODE,
            params={"code_point": code_point(character)},
        )


def stored_text(text: str) -> str:
    """`text` as MapIdeas stores it: newlines normalised; a ValidationError if the rule
    refuses a character."""
    normalised = normalise_newlines(text)
    validate_stored_text(normalised)
    return normalised


class StoredTextField(forms.CharField):
    """A form's text field: `stored_text` applied, the error shown next to the field."""

    default_validators = [validate_stored_text]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # NUL is one of the characters refused: one message for it, not two.
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]

    def to_python(self, value):
        text = super().to_python(value)
        return normalise_newlines(text) if isinstance(text, str) else text


class StoredTextSerializerField(serializers.CharField):
    """A serializer's text field: `stored_text` applied, a 400 naming the field."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # NUL is one of the characters refused: one message for it, not two.
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]
        # The forms' validator: DRF answers its Django ValidationError as a 400 on the field.
        self.validators.append(validate_stored_text)

    def to_internal_value(self, data) -> str:
        return normalise_newlines(super().to_internal_value(data))
