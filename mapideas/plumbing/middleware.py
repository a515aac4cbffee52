"""Refuse bodies before any view reads them: a JSON or form body declared larger than
DATA_UPLOAD_MAX_MEMORY_SIZE (a 413 with a message, JSON for JSON; Django would answer an empty
HTML 400 from deep inside the view), and form bodies that are not UTF-8.

Multipart bodies are left to Django and the views: their files (photos) may be larger, and
Django applies the limit to their other fields.

Django decodes form-encoded fields with `errors="replace"`: bytes that are not UTF-8 would
become U+FFFD and be stored as if the person had typed them. This refuses such a body instead
with a 400 naming the field, before any view (or the CSRF check) reads it. The body is read
through `request.body`, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE still applies first (a larger
body is a 400 without being read).
"""

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

FORM_ENCODED = "application/x-www-form-urlencoded"
JSON = "application/json"


def _decoded(part: bytes) -> str:
    return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")


def first_undecodable_field(body: bytes) -> str | None:
    """The name of the first field whose name or value is not UTF-8, else None."""
    for pair in body.split(b"&"):
        name, _sep, value = pair.partition(b"=")
        try:
            field = _decoded(name)
        except UnicodeDecodeError:
            return _("a field name")
        try:
            _decoded(value)
        except UnicodeDecodeError:
            return field
    return None


class StrictFormEncodingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        too_large = self._too_large(request)
        if too_large is not None:
            return too_large
        if request.method in ("POST", "PUT", "PATCH") and self._utf8_form(request):
            field = first_undecodable_field(request.body)
            if field is not None:
                return HttpResponseBadRequest(
                    _("%(field)s: the text is not valid UTF-8.") % {"field": field},
                    content_type="text/plain; charset=utf-8",
                )
        return self.get_response(request)

    @staticmethod
    def _too_large(request: HttpRequest) -> HttpResponse | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or request.content_type not in (JSON, FORM_ENCODED):
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponseBadRequest(_("The Content-Length header is not a number."))
        if length <= limit:
            return None
        message = _(
            "The request body is too large: %(length)s bytes, at most %(limit)s are read."
        ) % {"length": length, "limit": limit}
        if request.content_type == JSON:
            return JsonResponse({"detail": message}, status=413)
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")

    @staticmethod
    def _utf8_form(request: HttpRequest) -> bool:
        content_type = request.content_type or ""
        charset = (request.content_params or {}).get("charset", "utf-8")
        return content_type == FORM_ENCODED and charset.lower().replace("_", "-") in (
            "utf-8",
            "utf8",
        )
