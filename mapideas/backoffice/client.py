"""Open311 GeoReport v2 as a client: the calls MapIdeas makes to a city's back office.

Every call goes through mapideas.plumbing.outbound (private addresses refused unless the city
allows them, time and size bounded). JSON only: `.json` resources, form-encoded POSTs, as the
spec says (https://wiki.open311.org/GeoReport_v2). What the remote answers is not trusted:
anything that is not the shape the spec gives is a RemoteError that says what was wrong.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from django.utils.dateparse import parse_datetime

from mapideas.plumbing import outbound

# A remote's answer is a list of requests or services: a few megabytes is plenty.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class RemoteError(Exception):
    """The remote answered, but not with what was asked: an HTTP error, or a body that is not
    GeoReport v2. `status` is its HTTP status."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(Exception):
    """No answer: refused by our outbound rules, no connection, a time-out, a broken
    connection. `reached`: the request may have arrived (a POST may have been stored)."""

    def __init__(self, message: str, *, reached: bool) -> None:
        super().__init__(message)
        self.reached = reached


@dataclass(frozen=True)
class Remote:
    """Where and how to call one back office."""

    base_url: str
    jurisdiction_id: str = ""
    api_key: str = ""

    def url(self, resource: str, query: Mapping[str, str] | None = None) -> str:
        base = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        params = dict(query or {})
        if self.jurisdiction_id:
            params.setdefault("jurisdiction_id", self.jurisdiction_id)
        return base + resource + (("?" + urlencode(params)) if params else "")


@dataclass(frozen=True)
class RemoteRequest:
    """One service request as the remote lists it."""

    service_request_id: str
    status: str
    status_notes: str
    description: str
    service_code: str
    updated_datetime: datetime | None
    requested_datetime: datetime | None


@dataclass(frozen=True)
class Posted:
    """The answer to a POST: the request's id, or a token to follow up (the spec allows
    either)."""

    service_request_id: str = ""
    token: str = ""


def _call(method: str, url: str, *, form: Mapping[str, str] | None = None) -> Any:
    body = urlencode(form).encode() if form is not None else None
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        response = outbound.request(
            method, url, body=body, headers=headers, max_bytes=MAX_ANSWER_BYTES
        )
    except outbound.OutboundRefused as refused:
        raise Unreachable(f"refused: {refused}", reached=False) from None
    except outbound.OutboundError as failed:
        raise Unreachable(f"{failed.kind}: {failed}", reached=failed.reached) from None
    if not 200 <= response.status < 300:
        raise RemoteError(_error_text(response), status=response.status)
    try:
        return response.json()
    except outbound.OutboundError:
        raise RemoteError(
            "the answer is not JSON: " + _excerpt(response.body), status=response.status
        ) from None


def _excerpt(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return repr(text) if text else "an empty body"


def _error_text(response: outbound.OutboundResponse) -> str:
    """HTTP <status>, with the spec's error descriptions when the body gives them."""
    said = ""
    try:
        data = response.json()
    except outbound.OutboundError:
        data = None
    if isinstance(data, list):
        said = "; ".join(
            str(item.get("description", ""))[:300] for item in data if isinstance(item, dict)
        )
    elif response.body:
        said = _excerpt(response.body)
    return f"HTTP {response.status}" + (f": {said}" if said else "")


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RemoteError(f"{key} is not text: {value!r:.80}")
    return str(value).strip()


def _when(item: Mapping[str, Any], key: str) -> datetime | None:
    raw = _text(item, key)
    if not raw:
        return None
    try:
        parsed = parse_datetime(raw)
    except ValueError:
        parsed = None
    if parsed is None:
        raise RemoteError(f"{key} is not a date and time: {raw!r:.80}")
    # The spec's dates carry their offset; one without is read as UTC rather than guessed.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _rows(data: Any, what: str) -> list[Mapping[str, Any]]:
    # Some servers wrap the list ({"service_requests": [...]} in XML-to-JSON style).
    if isinstance(data, dict) and len(data) == 1:
        (inner,) = data.values()
        if isinstance(inner, list):
            data = inner
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise RemoteError(f"the {what} answer is not a list of objects")
    return data


def services(remote: Remote) -> list[dict[str, Any]]:
    """GET services.json: [{service_code, service_name, metadata, ...}]."""
    rows = _rows(_call("GET", remote.url("services.json")), "services")
    found = []
    for row in rows:
        code = _text(row, "service_code")
        if not code:
            raise RemoteError("a service has no service_code")
        found.append(
            {
                "service_code": code,
                "service_name": _text(row, "service_name") or code,
                "metadata": str(row.get("metadata", "")).lower() == "true",
            }
        )
    return found


def service_definition(remote: Remote, service_code: str) -> list[dict[str, Any]]:
    """GET services/<code>.json: the service's attributes, [{code, required, datatype,
    description, values}]."""
    data = _call("GET", remote.url(f"services/{quote(service_code, safe='')}.json"))
    if not isinstance(data, dict) or not isinstance(data.get("attributes", []), list):
        raise RemoteError(f"the definition of {service_code!r} has no list of attributes")
    attributes = []
    for attribute in data.get("attributes", []):
        if not isinstance(attribute, dict) or not _text(attribute, "code"):
            raise RemoteError(f"an attribute of {service_code!r} has no code")
        if str(attribute.get("variable", "true")).lower() == "false":
            continue  # information shown to the reporter, not a field to fill
        attributes.append(
            {
                "code": _text(attribute, "code"),
                "required": str(attribute.get("required", "")).lower() == "true",
                "datatype": _text(attribute, "datatype") or "string",
                "description": _text(attribute, "description"),
                "values": [
                    _text(value, "key")
                    for value in attribute.get("values") or []
                    if isinstance(value, dict)
                ],
            }
        )
    return attributes


def post_request(remote: Remote, fields: Mapping[str, str]) -> Posted:
    """POST requests.json, form-encoded, with the API key and jurisdiction. An answer that is
    not a request id or a token is a RemoteError (the request may still have been stored:
    the caller decides)."""
    form = dict(fields)
    if remote.jurisdiction_id:
        form["jurisdiction_id"] = remote.jurisdiction_id
    if remote.api_key:
        form["api_key"] = remote.api_key
    rows = _rows(_call("POST", remote.url("requests.json", {}), form=form), "POST")
    if not rows:
        raise RemoteError("the POST answer is an empty list")
    request_id, token = _text(rows[0], "service_request_id"), _text(rows[0], "token")
    if not request_id and not token:
        raise RemoteError("the POST answer has neither a service_request_id nor a token")
    return Posted(service_request_id=request_id, token=token)


def token_request_id(remote: Remote, token: str) -> str:
    """GET tokens/<token>.json: the request id once the remote has one, "" until then."""
    data = _call("GET", remote.url(f"tokens/{quote(token, safe='')}.json"))
    for row in _rows(data, "token"):
        if _text(row, "token") in ("", token):
            request_id = _text(row, "service_request_id")
            if request_id:
                return request_id
    return ""


def _requests(data: Any, *, unreadable_left_out: bool = False) -> list[RemoteRequest]:
    """The requests of a requests.json answer. A row that is not the spec's shape is a
    RemoteError, or with `unreadable_left_out` left out (the others are still good)."""
    found = []
    for row in _rows(data, "requests"):
        try:
            request_id = _text(row, "service_request_id")
            if not request_id:
                continue  # a request the remote has not numbered yet cannot be matched
            found.append(
                RemoteRequest(
                    service_request_id=request_id,
                    status=_text(row, "status").lower(),
                    status_notes=_text(row, "status_notes"),
                    description=_text(row, "description"),
                    service_code=_text(row, "service_code"),
                    updated_datetime=_when(row, "updated_datetime"),
                    requested_datetime=_when(row, "requested_datetime"),
                )
            )
        except RemoteError:
            if not unreadable_left_out:
                raise
    return found


def requests_by_id(remote: Remote, ids: Iterable[str]) -> list[RemoteRequest]:
    """GET requests.json?service_request_id=a,b,c: what the remote says of these requests.
    Rows for ids not asked are the remote's mistake: dropped here, as rows that cannot be
    read (one bad row does not keep the others' answers from the pins)."""
    asked = list(ids)
    rows = _requests(
        _call("GET", remote.url("requests.json", {"service_request_id": ",".join(asked)})),
        unreadable_left_out=True,
    )
    wanted = set(asked)
    return [row for row in rows if row.service_request_id in wanted]


def _w3c(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def requests_between(
    remote: Remote, *, service_code: str, start: datetime, end: datetime
) -> list[RemoteRequest]:
    """GET requests.json?service_code=&start_date=&end_date=: the remote's requests of one
    service made in a time window (as far as it lists them: it may cap the list)."""
    query = {"service_code": service_code, "start_date": _w3c(start), "end_date": _w3c(end)}
    return _requests(_call("GET", remote.url("requests.json", query)))


def updates_since(remote: Remote, start: datetime) -> list[RemoteRequest]:
    """FixMyStreet's servicerequestupdates.json?start_date=: the updates made since `start`,
    each read as a request's new status and notes (its update_id is not kept)."""
    data = _call("GET", remote.url("servicerequestupdates.json", {"start_date": _w3c(start)}))
    found = []
    for row in _rows(data, "updates"):
        request_id = _text(row, "service_request_id")
        if request_id:
            found.append(
                RemoteRequest(
                    service_request_id=request_id,
                    status=_text(row, "status").lower(),
                    status_notes=_text(row, "description"),
                    description="",
                    service_code="",
                    updated_datetime=_when(row, "updated_datetime"),
                    requested_datetime=None,
                )
            )
    return found
