"""A small GeoReport v2 server for the staff pages' tests: services.json and
services/<code>.json, served on 127.0.0.1 from a thread. `failing` makes every answer a 500
with the spec's list of errors, as a back office that is down for maintenance."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SERVICES = [
    {"service_code": "POT", "service_name": "Pothole", "metadata": False, "type": "realtime"},
    {"service_code": "TREE", "service_name": "Fallen tree", "metadata": True, "type": "realtime"},
]
DEFINITIONS = {
    "TREE": {
        "service_code": "TREE",
        "attributes": [
            {
                "variable": True,
                "code": "crew",
                "datatype": "string",
                "required": True,
                "description": "Which crew goes",
                "order": 1,
            },
            {
                "variable": True,
                "code": "note",
                "datatype": "string",
                "required": False,
                "description": "A note",
                "order": 2,
            },
        ],
    }
}
MAINTENANCE = [{"code": 500, "description": "Down for maintenance until 18:00"}]


@dataclass
class ServicesStub:
    failing: bool = False
    paths: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/open311/v2/"

    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                stub.paths.append(path)
                status, body = stub.answer(path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[int, Any]:
        if self.failing:
            return 500, MAINTENANCE
        if path == "/open311/v2/services.json":
            return 200, SERVICES
        prefix, suffix = "/open311/v2/services/", ".json"
        if path.startswith(prefix) and path.endswith(suffix):
            code = path[len(prefix) : -len(suffix)]
            if code in DEFINITIONS:
                return 200, DEFINITIONS[code]
        return 404, [{"code": 404, "description": "No such resource"}]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
