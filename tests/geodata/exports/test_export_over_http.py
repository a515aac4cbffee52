"""Exports over HTTP from gunicorn as `make run` serves it (mapideas/gunicorn_conf.py), with a
WEB_TIMEOUT far shorter than the download: a slow client gets the whole layer and no worker is
killed; a client that stops reading is dropped, its worker kept
(docs/decisions/0020-exports-over-http.md).

The server works on a live database of its own (tests/mapideas/crash_support.py: a copy of a
template migrated and seeded once per session with 20,000 pins on PostGIS, 5,000 on
SpatiaLite, copied onto itself here up to AT_LEAST_PINS).
"""

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pyogrio
import pytest

from tests.mapideas.crash_support import (
    GUNICORN,
    PYTHON,
    ROOT,
    LiveDatabase,
    free_port,
    server_env,
)

# Seconds: a step of the server's own work may take this long (plus the heartbeat's grace),
# a client may take no byte for this long.
# Above 2: closing a connection, gunicorn's main loop waits up to 2 s for the client to close
# its end (util.close_graceful), and beats no heartbeat meanwhile.
WEB_TIMEOUT = 3
# A download paced to last this long: well past the time-out, a few seconds in all.
DOWNLOAD_SECONDS = 2 * WEB_TIMEOUT + 1
# What a seeded pin weighs in GeoJSON, about, to pace the client (bytes).
PIN_BYTES = 600
# Pins in the served city: enough that their GeoJSON outgrows what the sockets' buffers hold
# between server and client (up to about 4 MB on Linux), so the server does wait on a slow
# client, as it does for a city's layer (SpatiaLite's seeded city is copied onto itself).
AT_LEAST_PINS = 16_000
GROW = """
import django
django.setup()
from django.db import connection
from mapideas.models import Idea
columns = ", ".join(
    connection.ops.quote_name(f.column) for f in Idea._meta.concrete_fields if not f.primary_key
)
copy = f"INSERT INTO mapideas_idea ({{columns}}) SELECT {{columns}} FROM mapideas_idea"
with connection.cursor() as cursor:
    while Idea.objects.count() < {at_least}:
        cursor.execute(copy)
"""


@pytest.fixture(scope="module")
def server(live_databases, tmp_path_factory):
    """One server for the module's tests (each reads the log it adds: see `log_since`)."""
    db = live_databases.new()
    subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [PYTHON, "-c", GROW.format(at_least=AT_LEAST_PINS)],
        cwd=ROOT,
        env=server_env(db.url),
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = free_port(8800, 8899)
    log = tmp_path_factory.mktemp("export-http") / "gunicorn.log"
    env = server_env(db.url, WEB_TIMEOUT=str(WEB_TIMEOUT), WEB_CONCURRENCY="1")
    with open(log, "ab") as out:
        proc = subprocess.Popen(  # noqa: S603 (a fixed argv, no shell)
            [
                GUNICORN,
                "mapideas.wsgi",
                "--config",
                "python:mapideas.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = get(port, "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield port, log, db
    finally:
        proc.send_signal(signal.SIGINT)  # a quick stop: the tests are over
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(
    port: int,
    path: str,
    *,
    bytes_per_second: float | None = None,
    stall: float = 0.0,
    receive_buffer: int = 16 * 1024,
) -> tuple[int, dict[str, str], bytes]:
    """GET `path` on a raw socket with a small receive buffer: at most `bytes_per_second`
    (the whole body, read as it comes, when None), after a silence of `stall` seconds once
    the headers are in. Returns the status, the headers and the body as sent (chunked:
    undecoded)."""
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        client.settimeout(30)
        client.connect(("127.0.0.1", port))
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            piece = client.recv(4096)
            if not piece:
                break
            received += piece
        head, _, body = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, value in (line.split(":", 1) for line in header_lines)
        }
        time.sleep(stall)
        started = time.monotonic()
        pieces = [body]
        length = len(body)
        tail = body[-16:]
        while True:
            try:
                piece = client.recv(8192)
            except ConnectionResetError:
                break
            if not piece:
                break
            pieces.append(piece)
            length += len(piece)
            tail = (tail + piece)[-16:]
            if tail.endswith(b"\r\n0\r\n\r\n"):
                break  # the last chunk: closed at once, as a browser does
            if bytes_per_second:
                ahead = length / bytes_per_second - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        return int(status_line.split()[1]), headers, b"".join(pieces)


def dechunked(body: bytes) -> bytes | None:
    """The body of a chunked answer, or None when it was cut off before its last chunk."""
    out: list[bytes] = []
    at = 0
    while True:
        end = body.find(b"\r\n", at)
        if end < 0:
            return None
        size = int(body[at:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        start = end + 2
        if len(body) < start + size + 2:
            return None
        out.append(body[start : start + size])
        at = start + size + 2


def log_since(log: Path, offset: int) -> str:
    with open(log, "rb") as text:
        text.seek(offset)
        return text.read().decode(errors="replace")


def stored_pins(db: LiveDatabase) -> int:
    # Every seeded pin is public (seed_city), and so is every copy: the layer is all of them.
    return db.value("SELECT COUNT(*) FROM mapideas_idea")


def test_a_slow_client_downloads_every_pin_with_no_worker_killed(server):
    port, log, db = server
    offset = log.stat().st_size
    pins = stored_pins(db)
    rate = pins * PIN_BYTES / DOWNLOAD_SECONDS
    started = time.monotonic()

    status, headers, body = get(port, "/export/ideas.geojson", bytes_per_second=rate)

    took = time.monotonic() - started
    assert status == 200
    assert headers["transfer-encoding"] == "chunked"
    document = dechunked(body)
    assert document is not None, "the download was cut off"
    features = json.loads(document)["features"]
    assert len(features) == pins >= AT_LEAST_PINS
    assert took > 2 * WEB_TIMEOUT, f"the download took {took:.1f} s: the test proved nothing"
    assert "WORKER TIMEOUT" not in log_since(log, offset)


def test_a_geopackage_is_written_and_sent_whole(server, tmp_path):
    port, log, db = server
    offset = log.stat().st_size

    status, headers, body = get(port, "/export/ideas.gpkg", receive_buffer=256 * 1024)

    assert status == 200
    assert int(headers["content-length"]) == len(body)
    path = Path(tmp_path / "ideas.gpkg")
    path.write_bytes(body)
    assert pyogrio.read_info(path)["features"] == stored_pins(db)
    assert "WORKER TIMEOUT" not in log_since(log, offset)


def test_a_client_that_stops_reading_is_dropped_and_its_worker_kept(server):
    port, log, _db = server
    offset = log.stat().st_size
    _, _, body = get(port, "/export/ideas.geojson", stall=2 * WEB_TIMEOUT + 1, receive_buffer=4096)

    assert dechunked(body) is None  # cut off: the server gave up on the silent client
    status, _, _ = get(port, "/healthz")  # the same (only) worker answers
    assert status == 200
    assert "WORKER TIMEOUT" not in log_since(log, offset)
