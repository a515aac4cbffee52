"""Refuse bodies before any view reads them: a JSON or form body declared larger than
DATA_UPLOAD_MAX_MEMORY_SIZE (a 413 with a message, JSON for JSON; Django would answer an empty
HTML 400 from deep inside the view), and form bodies, url-encoded or multipart, whose text is
not UTF-8.

Django decodes form fields with `errors="replace"`: bytes that are not UTF-8 would become
U+FFFD and be stored as if the person had typed them (in multipart, a field name or a file
name that is not UTF-8 makes Django drop the part without a word: a photo silently lost).
This refuses such a body instead with a 400 naming the field, before any view (or the CSRF
check) reads it, for every page and API:

- url-encoded: read through `request.body`, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE still
  applies first (a larger body is a 400 without being read);
- multipart: checked while Django's own parser reads it, in one pass (`_CheckedMultipart`
  watches the bytes go by): text parts through an incremental UTF-8 decoder, file contents
  not kept at all (they are bytes: a photo), part headers (field and file names) decoded.
  Django's limits stay Django's: DATA_UPLOAD_MAX_MEMORY_SIZE for the text parts, the
  number of fields and files, its upload handlers for the files. The body is parsed here
  (`request.POST`, as the CSRF check would), so a refusal comes before any view runs, and
  the first bad part stops the reading: a photo after a bad title is not read.

Multipart bodies are not refused by their declared length: their files (photos) may be larger,
and Django applies the limit to their other fields.
"""

import base64
import binascii
import codecs
import contextlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

FORM_ENCODED = "application/x-www-form-urlencoded"
JSON = "application/json"
MULTIPART = "multipart/form-data"


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


class NotUTF8(MultiPartParserError):
    """A multipart part whose text is not UTF-8, naming its field. A MultiPartParserError, so
    that where a view's own parser meets it (DRF, for a PUT) it is still a 400."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


# A part's headers end within this many bytes, or the check gives up on the body (Django's
# parser refuses headers larger than its own limit, which is smaller).
_MAX_HEADERS = 64 * 1024
_NAME = re.compile(rb"""[;\s]name\s*=\s*(?:"([^"]*)"|([^;\s]*))""", re.IGNORECASE)
_EXTENDED_PARAMETER = re.compile(r"([\w-]+)\*\s*=\s*([^']*)'[^']*'([^;\s]*)")
_PARAMETER = re.compile(r"""[;\s]([\w-]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))""")


class _CheckedMultipart:
    """The request's body stream, read by Django's multipart parser as before; each chunk is
    also fed to a small scanner that finds the parts (by the boundary) and checks that their
    text is UTF-8. It keeps no more than a header block and the bytes of a possible
    boundary; a text part in base64 (allowed by the format, decoded by Django) is kept
    until its end, within DATA_UPLOAD_MAX_MEMORY_SIZE as Django keeps it. The first problem
    raises NotUTF8 from `read`, which ends the parse."""

    def __init__(self, stream: Any, boundary: bytes) -> None:
        self._stream = stream
        self._delimiter = b"\r\n--" + boundary
        # The body starts with the boundary itself: a line end before it makes it match.
        self._pending = b"\r\n"
        self._state = "preamble"  # then "headers", "part", and finally "done"
        self._field: str | None = None  # the text part being read, None for a file
        self._decoder: codecs.IncrementalDecoder | None = None
        self._base64: bytearray | None = None

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        data = self._stream.read(*args, **kwargs)
        self._feed(data)
        return data

    def readline(self, *args: Any, **kwargs: Any) -> bytes:
        data = self._stream.readline(*args, **kwargs)
        self._feed(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _feed(self, data: bytes) -> None:
        if self._state == "done" or not data:
            return
        self._pending += data
        while self._state != "done":
            if self._state == "headers":
                if not self._headers():
                    return
                continue
            found = self._pending.find(self._delimiter)
            if found == -1:
                # Keep what could be the start of a boundary cut by the chunk's end.
                keep = len(self._delimiter) - 1
                if len(self._pending) > keep:
                    self._text(self._pending[:-keep])
                    self._pending = self._pending[-keep:]
                return
            self._text(self._pending[:found])
            if self._state == "part":
                self._end_of_part()
            self._pending = self._pending[found + len(self._delimiter) :]
            self._state = "headers"

    def _headers(self) -> bool:
        """Read a part's header block if it is all here; False to wait for more bytes."""
        if len(self._pending) < 2:
            return False
        if self._pending.startswith(b"--"):  # the closing boundary
            self._state, self._pending = "done", b""
            return True
        end = self._pending.find(b"\r\n\r\n")
        if end == -1:
            if len(self._pending) > _MAX_HEADERS:
                self._state, self._pending = "done", b""  # left to Django's parser
            return False
        # The first line is the rest of the boundary's line (padding): the headers follow.
        lines = self._pending[:end].split(b"\r\n")[1:]
        self._pending = self._pending[end + 4 :]
        self._start_part(lines)
        return True

    def _start_part(self, lines: list[bytes]) -> None:
        self._state = "part"
        self._field, self._decoder, self._base64 = None, None, None
        disposition: str | None = None
        base64_encoded = False
        for line in lines:
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                raise NotUTF8(self._field_named_in(line)) from None
            name, _sep, value = text.partition(":")
            name = name.strip().lower()
            if name == "content-disposition":
                disposition = value
            elif name == "content-transfer-encoding":
                base64_encoded = value.strip().lower() == "base64"
        if disposition is None:
            return  # Django skips a part without a name
        parameters = {
            found[0].lower(): found[1] or found[2]
            for found in _PARAMETER.findall(";" + disposition)
        }
        field = parameters.get("name", "").strip()
        for parameter, charset, encoded in _EXTENDED_PARAMETER.findall(disposition):
            # RFC 2231 (filename*=UTF-8''...): percent-encoded bytes, which Django decodes
            # with errors="replace".
            if charset.strip().lower() not in ("utf-8", "utf8"):
                continue
            try:
                decoded = unquote_to_bytes(encoded).decode("utf-8")
            except UnicodeDecodeError:
                raise NotUTF8(_("a field name") if parameter.lower() == "name" else field) from None
            if parameter.lower() == "name":
                field = decoded.strip()
        if "filename" in parameters or "filename*" in disposition.lower():
            return  # a file: its content is bytes
        self._field = field
        if base64_encoded:
            self._base64 = bytearray()
        else:
            self._decoder = codecs.getincrementaldecoder("utf-8")()

    @staticmethod
    def _field_named_in(line: bytes) -> str:
        """The field a header line that is not UTF-8 belongs to, if its name is UTF-8."""
        found = _NAME.search(b";" + line)
        if found is not None:
            try:
                return (found.group(1) or found.group(2)).decode("utf-8").strip()
            except UnicodeDecodeError:
                pass
        return _("a field name")

    def _text(self, data: bytes) -> None:
        if self._state != "part" or self._field is None or not data:
            return
        if self._base64 is not None:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is None or len(self._base64) + len(data) <= limit:
                self._base64 += data
            else:
                self._base64 = None  # Django refuses it as too large
            return
        assert self._decoder is not None  # a text part has one or the other
        try:
            self._decoder.decode(data)
        except UnicodeDecodeError:
            raise NotUTF8(self._field) from None

    def _end_of_part(self) -> None:
        if self._field is None:
            return
        try:
            if self._decoder is not None:
                self._decoder.decode(b"", final=True)
            elif self._base64 is not None:
                raw = bytes(self._base64)
                # Django keeps text that is not base64 as it came.
                with contextlib.suppress(binascii.Error):
                    raw = base64.b64decode(raw)
                raw.decode("utf-8")
        except UnicodeDecodeError:
            raise NotUTF8(self._field) from None
        self._field, self._decoder, self._base64 = None, None, None


def _not_utf8(field: str) -> HttpResponse:
    return HttpResponseBadRequest(
        _("%(field)s: the text is not valid UTF-8.") % {"field": field},
        content_type="text/plain; charset=utf-8",
    )


class StrictFormEncodingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        too_large = self._too_large(request)
        if too_large is not None:
            return too_large
        if request.method in ("POST", "PUT", "PATCH") and self._utf8(request, FORM_ENCODED):
            field = first_undecodable_field(request.body)
            if field is not None:
                return _not_utf8(field)
        if request.method in ("POST", "PUT", "PATCH") and self._utf8(request, MULTIPART):
            refused = self._check_multipart(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    @staticmethod
    def _check_multipart(request: HttpRequest) -> HttpResponse | None:
        boundary = (request.content_params or {}).get("boundary")
        if not boundary or request._read_started:  # type: ignore[attr-defined]
            return None  # no boundary: Django's parser refuses the body itself (a 400)
        # Django's parser reads the request through its stream: the check watches it there.
        # (HttpRequest has no public way to wrap its stream; _stream is where WSGIRequest
        # and ASGIRequest both keep it.)
        request._stream = _CheckedMultipart(  # type: ignore[assignment] # a stream, duck-typed
            request._stream, boundary.encode("ascii", "replace")
        )
        if request.method != "POST":
            return None  # Django parses only POST bodies; a view's parser meets NotUTF8
        try:
            request.POST  # noqa: B018 - parsed now, the files going to the upload handlers
        except NotUTF8 as refused:
            return _not_utf8(refused.field)
        return None

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
    def _utf8(request: HttpRequest, content_type: str) -> bool:
        """Whether the body is of `content_type`, in UTF-8 (a declared other charset is read
        as declared: every byte is then a character)."""
        charset = (request.content_params or {}).get("charset", "utf-8")
        return request.content_type == content_type and charset.lower().replace("_", "-") in (
            "utf-8",
            "utf8",
        )
