"""A real Open311 GeoReport v2 server for the tests: an HTTP server on 127.0.0.1 (a random
port), in threads, that keeps the service requests it stores in memory, as a city's
work-order system would, and misbehaves as the test scripts it to.

What it serves (https://wiki.open311.org/GeoReport_v2), JSON only:
- GET services.json; GET services/<code>.json (SERVICES: "tree" has a required attribute).
- POST requests.json, form-encoded: checks api_key and jurisdiction_id (when the server has
  them), the service code and the required attributes (400/403 otherwise, as the spec's list
  of errors); stores the request and answers [{"service_request_id": ...}].
- GET tokens/<token>.json: [{"token": ..., "service_request_id": ...}] once numbered.
- GET requests.json?service_request_id=a,b,c (every other parameter ignored, as the spec
  says), or ?service_code=&start_date=&end_date= (a window on each request's
  requested_datetime: by default the time the server received it, as the spec has it; with
  `window_by = "requested"` the requested_datetime the client POSTed, when it sent one).
  Newest first; `cap` cuts every list to that many rows, `ignore_window` lists every request
  whatever the window (a broken server).
- GET servicerequestupdates.json?start_date= (FixMyStreet's), from `close` and `update`.
`max_window` refuses longer windows with a 400, as some servers do (MapIdeas' own: 90 days).

The test changes a stored request with `update` / `close` (status, notes, updated_datetime).

Behaviours: `queue(Behaviour(...))` scripts the next call of its kind (`on`: "post", "list"
for requests.json by window, "ids" for requests.json by id, "token", "services", "any"). Each
is used once, by the first call it fits, in the order queued:

- "timeout_before_store": sleep `seconds` (past the client's read timeout), store nothing
  (on a list: a list that never comes).
- "timeout_after_store": store, then sleep `seconds` before answering.
- "list_after": store, answer as usual, but list it (by window or by id) only `seconds`
  after storing. Any behaviour that stores can also be given `listed_in` seconds.
- "none": nothing special (to let a call pass before the next behaviour of its kind).
- "error_500": answer 500, storing nothing; with `store=True`, after storing it (on a list,
  a token: a 500).
- "malformed": answer 200 with broken JSON (after storing when `store`, the default).
- "xml": answer 200 with XML instead of JSON (after storing when `store`).
- "token": store, answer [{"token": ...}]; the id comes from tokens/<token>.json only after
  `lookups` look-ups (the request is listed from then on).
- "wrong_ids": by id, answer rows for ids that were not asked too (the asked ones as well).
- "unknown_ids": by id, leave the asked ids out (answers []).
- "bad_date": a list whose first row's updated_datetime is no date at all.
- "capped": cut this list to `rows` rows (the server-wide `cap` cuts every list).
- "ignore_window": list every request, whatever the window (with `rows`: capped too).
- "trickle": answer one byte every `seconds` (each gap under the read time-out, the whole
  past the client's deadline); a POST stores first.
- "hang": store (with `store=False`, not), set `holding`, then block until `release()`
  (used to SIGKILL a worker mid-call). On a list: the list as it is now, answered once
  released (an old answer arriving late).

Every call is kept in `calls` (method, path, query, form) for the test to look at.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.utils.dateparse import parse_datetime

SERVICES: list[dict[str, Any]] = [
    {
        "service_code": "pothole",
        "service_name": "Pothole",
        "description": "A hole in the road",
        "metadata": False,
        "type": "realtime",
        "keywords": "road",
        "group": "streets",
    },
    {
        "service_code": "tree",
        "service_name": "Tree",
        "description": "A tree to look at",
        "metadata": True,
        "type": "realtime",
        "keywords": "park",
        "group": "parks",
    },
]
DEFINITIONS: dict[str, dict[str, Any]] = {
    "tree": {
        "service_code": "tree",
        "attributes": [
            {
                "variable": False,
                "code": "notice",
                "datatype": "string",
                "required": False,
                "datatype_description": "",
                "order": 1,
                "description": "Trees are checked within a week.",
            },
            {
                "variable": True,
                "code": "species",
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": "",
                "order": 2,
                "description": "Which tree?",
                "values": [{"key": "oak", "name": "Oak"}, {"key": "elm", "name": "Elm"}],
            },
        ],
    }
}


@dataclass
class Behaviour:
    kind: str
    on: str = "post"
    seconds: float = 0.9
    store: bool | None = None  # None: as the kind does by default (see above)
    lookups: int = 1
    rows: int = 2
    listed_in: float = 0.0

    @property
    def stores(self) -> bool:
        return self.store if self.store is not None else self.kind != "error_500"


@dataclass
class Stored:
    service_request_id: str
    service_code: str
    description: str
    form: dict[str, str]
    received_at: datetime
    requested_datetime: datetime
    listed_from: float  # time.monotonic()
    status: str = "open"
    status_notes: str = ""
    updated_datetime: datetime | None = None
    token: str = ""
    token_lookups_left: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "service_request_id": self.service_request_id,
            "status": self.status,
            "status_notes": self.status_notes,
            "service_name": self.service_code,
            "service_code": self.service_code,
            "description": self.description,
            "requested_datetime": _w3c(self.requested_datetime),
            "updated_datetime": _w3c(self.updated_datetime or self.received_at),
            "lat": self.form.get("lat", ""),
            "long": self.form.get("long", ""),
            "media_url": self.form.get("media_url", ""),
        }


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]


def _w3c(moment: datetime) -> str:
    # With its microseconds: a test closes a request within the second it was made, and
    # "changed since" must see it.
    return moment.astimezone(UTC).isoformat()


def _parse(value: str) -> datetime | None:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


@dataclass
class GeoReportServer:
    api_key: str = ""
    jurisdiction_id: str = ""
    cap: int | None = None
    ignore_window: bool = False
    window_by: str = "received"  # or "requested": the requested_datetime the client sent
    # A window longer than this is refused with a 400 (MapIdeas' own server: 90 days).
    max_window: timedelta | None = None
    requests: dict[str, Stored] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    behaviours: list[Behaviour] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    port: int = 0
    _next_id: int = 1000

    # --- the test's side ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/open311/v2/"

    def queue(self, *behaviours: Behaviour) -> None:
        with self.lock:
            self.behaviours.extend(behaviours)

    def release(self) -> None:
        self.released.set()

    def rearm(self) -> None:
        """Ready for another "hang": not holding, not released."""
        self.holding.clear()
        self.released.clear()

    def by_reference(self, reference: str) -> list[Stored]:
        """Every stored request whose description ends with `reference` (the pin's)."""
        with self.lock:
            return [r for r in self.requests.values() if r.description.split()[-1:] == [reference]]

    def receive(self, form: dict[str, str]) -> Stored:
        """Store a request as if it had been POSTed and its answer lost (a client killed
        while it waited): no behaviour is used up."""
        return self._store(dict(form))

    def add_history(self, count: int, *, service_code: str = "pothole") -> None:
        """Requests the city took by other means (its phone line, its counters), one a day
        over the last `count` days: a remote with a past, whose lists are longer than any
        one hour's."""
        now = datetime.now(UTC)
        for n in range(count):
            stored = self._store({"service_code": service_code, "description": f"Call {n}"})
            stored.received_at = stored.requested_datetime = now - timedelta(days=n + 1)

    def update(self, request_id: str, *, status: str, notes: str = "", at: datetime | None = None):
        with self.lock:
            stored = self.requests[request_id]
            stored.status, stored.status_notes = status, notes
            stored.updated_datetime = at or datetime.now(UTC)
            self.updates.append(
                {
                    "update_id": f"u{len(self.updates) + 1}",
                    "service_request_id": request_id,
                    "status": status,
                    "description": notes,
                    "updated_datetime": _w3c(stored.updated_datetime),
                }
            )

    def close(self, request_id: str, notes: str = "", at: datetime | None = None) -> None:
        self.update(request_id, status="closed", notes=notes, at=at)

    def posts(self) -> list[Call]:
        return [call for call in self.calls if call.method == "POST"]

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        self.released.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # --- the server's side ---------------------------------------------------------------------

    def _take(self, on: str) -> Behaviour | None:
        with self.lock:
            for n, behaviour in enumerate(self.behaviours):
                if behaviour.on in (on, "any"):
                    return self.behaviours.pop(n)
        return None

    def _store(self, form: dict[str, str], *, listed_in: float = 0.0, token: str = "") -> Stored:
        now = datetime.now(UTC)
        requested = now
        if self.window_by == "requested" and form.get("requested_datetime"):
            requested = _parse(form["requested_datetime"]) or now
        with self.lock:
            self._next_id += 1
            stored = Stored(
                service_request_id=f"SR-{self._next_id}",
                service_code=form.get("service_code", ""),
                description=form.get("description", ""),
                form=form,
                received_at=now,
                requested_datetime=requested,
                listed_from=time.monotonic() + listed_in,
                token=token,
            )
            self.requests[stored.service_request_id] = stored
        return stored

    def _listed(self) -> list[Stored]:
        now = time.monotonic()
        with self.lock:
            return [
                r
                for r in self.requests.values()
                if r.listed_from <= now and not (r.token and r.token_lookups_left > 0)
            ]

    def _check_post(self, form: dict[str, str]) -> tuple[int, list[dict[str, Any]]] | None:
        def error(status: int, description: str) -> tuple[int, list[dict[str, Any]]]:
            return status, [{"code": status, "description": description}]

        if self.api_key and form.get("api_key") != self.api_key:
            return error(403, "Invalid api_key")
        if self.jurisdiction_id and form.get("jurisdiction_id") != self.jurisdiction_id:
            return error(404, "jurisdiction_id not found")
        code = form.get("service_code", "")
        if code not in {service["service_code"] for service in SERVICES}:
            return error(400, f"Service code {code} is invalid")
        for attribute in DEFINITIONS.get(code, {}).get("attributes", []):
            wanted = attribute["variable"] and attribute["required"]
            if wanted and not form.get(f"attribute[{attribute['code']}]"):
                return error(400, f"{attribute['code']} is required")
        if not form.get("lat") or not form.get("long"):
            return error(400, "A location is required")
        return None

    def post(self, form: dict[str, str], behaviour: Behaviour | None, answer) -> None:
        refused = self._check_post(form)
        if refused is not None:
            answer.json(*refused)
            return
        kind = behaviour.kind if behaviour else ""
        if kind == "timeout_before_store":
            time.sleep(behaviour.seconds)
            answer.gone()
            return
        if kind == "hang" and not behaviour.stores:
            self._hang()
            answer.gone()
            return
        if kind == "error_500" and not behaviour.stores:
            answer.json(500, [{"code": 500, "description": "Internal error"}])
            return
        if kind in ("malformed", "xml") and not behaviour.stores:
            answer.json(200, [{"service_request_id": "never-stored"}], behaviour)
            return
        if kind == "token":
            token = f"tok-{self._next_id + 1}"
            stored = self._store(form, token=token, listed_in=behaviour.listed_in)
            stored.token_lookups_left = behaviour.lookups
            answer.json(200, [{"token": token}])
            return
        listed_in = behaviour.listed_in if behaviour else 0.0
        if kind == "list_after":
            listed_in = behaviour.seconds
        stored = self._store(form, listed_in=listed_in)
        body = [{"service_request_id": stored.service_request_id}]
        if kind == "timeout_after_store":
            time.sleep(behaviour.seconds)
            answer.json(200, body)
        elif kind == "hang":
            self._hang()
            answer.json(200, body)
        elif kind == "error_500":
            answer.json(500, [{"code": 500, "description": "Internal error"}])
        else:
            answer.json(200, body, behaviour)

    def _hang(self) -> None:
        self.holding.set()
        self.released.wait(timeout=120)

    def token(self, token: str, answer) -> None:
        with self.lock:
            found = next((r for r in self.requests.values() if r.token == token), None)
            if found is None:
                rows: list[dict[str, Any]] = []
            elif found.token_lookups_left > 0:
                found.token_lookups_left -= 1
                rows = [{"token": token}]
            else:
                rows = [{"token": token, "service_request_id": found.service_request_id}]
        if found is None:
            answer.json(404, [{"code": 404, "description": "No such token"}])
        else:
            answer.json(200, rows)

    def list_requests(self, query: dict[str, str], behaviour: Behaviour | None, answer) -> None:
        kind = behaviour.kind if behaviour else ""
        listed = sorted(self._listed(), key=lambda r: r.requested_datetime, reverse=True)
        if query.get("service_request_id"):
            asked = [i.strip() for i in query["service_request_id"].split(",")]
            rows = [r for r in listed if r.service_request_id in asked]
            if kind == "wrong_ids":
                rows += [r for r in listed if r.service_request_id not in asked][:3]
                now = datetime.now(UTC)
                rows.append(Stored("SR-1", "pothole", "not one of yours", {}, now, now, 0.0))
            elif kind == "unknown_ids":
                rows = []
        else:
            rows = listed
            if not (self.ignore_window or kind == "ignore_window"):
                start = _parse(query.get("start_date", "")) if query.get("start_date") else None
                end = _parse(query.get("end_date", "")) if query.get("end_date") else None
                code = query.get("service_code", "")
                if self.max_window and start and end and end - start > self.max_window:
                    answer.json(400, [{"code": 400, "description": "The window is too long"}])
                    return
                rows = [
                    r
                    for r in rows
                    if (not code or r.service_code == code)
                    and (start is None or r.requested_datetime >= start)
                    and (end is None or r.requested_datetime <= end)
                ]
            if self.cap is not None:
                rows = rows[: self.cap]
            if kind in ("capped", "ignore_window") and behaviour is not None:
                rows = rows[: behaviour.rows]
        data = [r.row() for r in rows]
        if kind == "bad_date" and data:
            data[0]["updated_datetime"] = "the day before yesterday"
        if kind == "hang":
            self._hang()
        answer.json(200, data, behaviour)

    def updates_since(self, query: dict[str, str], answer) -> None:
        start = _parse(query.get("start_date", "")) or datetime.min.replace(tzinfo=UTC)
        with self.lock:
            rows = [u for u in self.updates if _parse(u["updated_datetime"]) >= start]
        answer.json(200, rows)


class _Answer:
    """How a handler answers: JSON (or the behaviour's broken forms of it), or nothing."""

    def __init__(self, handler: BaseHTTPRequestHandler, server: GeoReportServer) -> None:
        self.handler, self.server = handler, server

    def json(self, status: int, data: Any, behaviour: Behaviour | None = None) -> None:
        kind = behaviour.kind if behaviour else ""
        body = json.dumps(data).encode()
        content_type = "application/json; charset=utf-8"
        if kind == "malformed":
            body = body[: max(1, len(body) // 2)]
        elif kind == "xml":
            body = b'<?xml version="1.0" encoding="utf-8"?><service_requests></service_requests>'
            content_type = "text/xml; charset=utf-8"
        try:
            self.handler.send_response(status)
            self.handler.send_header("Content-Type", content_type)
            self.handler.send_header("Content-Length", str(len(body)))
            self.handler.end_headers()
            if kind == "trickle":
                for byte in body:
                    self.handler.wfile.write(bytes([byte]))
                    self.handler.wfile.flush()
                    time.sleep(behaviour.seconds if behaviour else 0.1)
            else:
                self.handler.wfile.write(body)
        except OSError:
            pass  # the client gave up (a time-out, a killed worker): as a real server

    def gone(self) -> None:
        """No answer at all: the connection is closed (the client timed out long ago)."""
        self.handler.close_connection = True


def _handler(server: GeoReportServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            form: dict[str, str] = {}
            if method == "POST":
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                form = {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
            with server.lock:
                server.calls.append(Call(method, path, query, form))
            answer = _Answer(self, server)
            prefix = "/open311/v2/"
            if not path.startswith(prefix):
                answer.json(404, [{"code": 404, "description": "Not found"}])
                return
            resource = path[len(prefix) :]
            elsewhere = query.get("jurisdiction_id") != server.jurisdiction_id
            if server.jurisdiction_id and method == "GET" and elsewhere:
                answer.json(404, [{"code": 404, "description": "jurisdiction_id not found"}])
                return
            if method == "POST" and resource == "requests.json":
                server.post(form, server._take("post"), answer)
            elif resource == "requests.json":
                behaviour = server._take("ids" if query.get("service_request_id") else "list")
                if behaviour is not None and behaviour.kind == "error_500":
                    answer.json(500, [{"code": 500, "description": "Internal error"}])
                elif behaviour is not None and behaviour.kind in ("timeout_before_store",):
                    time.sleep(behaviour.seconds)
                    answer.gone()
                else:
                    server.list_requests(query, behaviour, answer)
            elif resource.startswith("tokens/") and resource.endswith(".json"):
                behaviour = server._take("token")
                if behaviour is not None and behaviour.kind == "error_500":
                    answer.json(500, [{"code": 500, "description": "Internal error"}])
                else:
                    server.token(resource[len("tokens/") : -len(".json")], answer)
            elif resource == "services.json":
                answer.json(200, SERVICES, server._take("services"))
            elif resource.startswith("services/") and resource.endswith(".json"):
                code = resource[len("services/") : -len(".json")]
                if code in DEFINITIONS:
                    answer.json(200, DEFINITIONS[code])
                else:
                    answer.json(404, [{"code": 404, "description": "No such service"}])
            elif resource == "servicerequestupdates.json":
                server.updates_since(query, answer)
            else:
                answer.json(404, [{"code": 404, "description": "Not found"}])

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self._route("POST")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
