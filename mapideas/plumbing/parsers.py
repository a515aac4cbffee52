"""DRF's JSON parser, hardened for hostile bodies
(docs/decisions/0005-hostile-input-hardening.md).

- A body declared larger than Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default) is
  refused by its Content-Length before a byte is read: a 413. mapideas.plumbing.middleware
  refuses it first for every JSON request; this is the same check where the parser is reached
  another way (DRF before 3.15 streamed the body to the parser, with no limit at all).
- JSON nested deeper than Python's recursion limit (100,000 `[`, a few hundred kB) makes
  `json.loads` raise RecursionError, which DRF lets through as a 500: a 400 here.
- A lone surrogate (`"\\ud800"`) is valid JSON but no text: it cannot be encoded as UTF-8,
  so storing it, or echoing it in an error message, failed with a 500. A 400 naming the
  field here (the top-level key it is under).
- Any other character MapIdeas does not store (a noncharacter, a control character but
  newline, tab and carriage return: mapideas.plumbing.stored_text), in any string or key of
  the body: a 400 naming the top-level field, before a serializer reads it. The serializers'
  text fields check the same rule (and normalise carriage returns) for the other bodies.
"""

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError, ValidationError

from mapideas.plumbing.stored_text import first_unstorable, unstorable_message

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "too_large"


def refuse_too_large(parser_context: dict | None) -> None:
    """A 413 when the declared Content-Length is over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    request = (parser_context or {}).get("request")
    if limit is None or request is None:
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ParseError(_("The Content-Length header is not a number.")) from None
    if length > limit:
        raise RequestTooLarge(
            _("The request body is too large: %(length)s bytes, at most %(limit)s are read.")
            % {"length": length, "limit": limit}
        )


class BoundedJSONParser(parsers.JSONParser):
    """The size and depth limits only: for Open311, which checks its api_key before saying
    anything about the fields, and refuses text no database can store itself."""

    def parse(self, stream, media_type=None, parser_context=None):
        refuse_too_large(parser_context)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the body is nested too deeply.")) from None


class JSONParser(BoundedJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_unstorable_text(data)
        return data


LONE_SURROGATE = gettext_lazy(
    "The text holds a lone surrogate (\\ud800-\\udfff): it is not Unicode text."
)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refusal(text: str) -> "StrOrPromise | None":
    """Why a string of the body cannot be stored, or None."""
    if not _is_text(text):
        return LONE_SURROGATE
    character = first_unstorable(text)
    return None if character is None else unstorable_message(character)


def refuse_unstorable_text(data: object) -> None:
    """A 400 naming the top-level field under which a string (or key) is not encodable, or
    holds a character MapIdeas does not store."""
    roots = list(data.items()) if isinstance(data, dict) else [("non_field_errors", data)]
    for root, value in roots:
        refused = _refusal(str(root))
        if refused is not None:
            raise ValidationError({"non_field_errors": [refused]})
        field = str(root)
        stack = [value]  # iterative: the depth is as deep as the parser allowed
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                refused = _refusal(item)
                if refused is not None:
                    raise ValidationError({field: [refused]})
            elif isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
