"""Two MapIdeas sites, each served by gunicorn as `make run` serves it (mapideas/gunicorn_conf.py),
each on its own database: site A forwards its pins to site B's Open311 server as its back
office, B's team answers and closes them, and A's public pages show B's answers after one
`sync_backoffice` run. Over real HTTP, with no stand-in on either side.

On a PostGIS test run, A is on PostGIS and B on SpatiaLite (a file made here); on a
SpatiaLite run, both are on SpatiaLite. A is a live copy of the crash tests' city
(tests/mapideas/crash_support.py); B is migrated and given the same city (without pins), so
that A's pins fall inside B's boundaries.
"""

import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.mapideas.crash_support import (
    EAST,
    GUNICORN,
    NORTH,
    PYTHON,
    ROOT,
    SOUTH,
    WEST,
    free_port,
    manage,
    seed,
    server_env,
)

# Forwarded pins: a few, in the first column of the city (Column Team 1's).
PINS = 3

CONFIGURE_A = """
import django
django.setup()
from mapideas.backoffice import services
from mapideas.models import Category
from neighborhoods.models import Team
endpoint = services.endpoint_create(
    team=Team.objects.get(name="Column Team 1"),
    name="Site B",
    base_url={base!r},
    api_key_value={key!r},
)
services.services_read(endpoint)
services.mapping_set(
    endpoint,
    service_codes={{category.slug: category.slug for category in Category.objects.all()}},
    attribute_values={{}},
    status_map={{}},
)
print(endpoint.pk)
"""

# B's team answers and closes, as a member does on B's team pages.
CLOSE_ON_B = """
import django
django.setup()
from django.contrib.auth.models import User
from mapideas.models import Idea
from mapideas.workflow.services import idea_status_change
for idea in Idea.objects.filter(pk__in={ids}).select_related("team"):
    member, _ = User.objects.get_or_create(username="crew-" + str(idea.team_id))
    idea.team.members.add(member)
    idea_status_change(
        idea=idea, status="done", answer="Fixed by the crew, pin " + str(idea.pk) + ".",
        actor=member,
    )
"""


class Site:
    """One MapIdeas site: its database, its environment, its gunicorn."""

    def __init__(self, name: str, database_url: str, port: int, logs: Path, **extra: str):
        self.name, self.port = name, port
        self.base = f"http://127.0.0.1:{port}"
        self.log = logs / f"{name}.log"
        self.env = server_env(
            database_url,
            MAPIDEAS_SITE_URL=self.base,
            # Each other's servers are on 127.0.0.1: allowed here, refused by default.
            MAPIDEAS_OUTBOUND_ALLOW="127.0.0.1/32",
            MAPIDEAS_OUTBOUND_READ_TIMEOUT="20",
            **extra,
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 (a fixed argv, no shell)
                [
                    GUNICORN,
                    "mapideas.wsgi",
                    "--config",
                    "python:mapideas.gunicorn_conf",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                ],
                cwd=ROOT,
                env={**self.env, "WEB_CONCURRENCY": "2"},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def get(self, path: str) -> tuple[int, bytes]:
        with urllib.request.urlopen(self.base + path, timeout=30) as response:  # noqa: S310
            return response.status, response.read()

    def post_json(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            assert response.status == 201
            return json.loads(response.read())

    def python(self, code: str) -> str:
        done = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
            [PYTHON, "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: {done.stdout}\n{done.stderr}")
        return done.stdout


@pytest.fixture
def sites(live_databases, tmp_path):
    a_db = live_databases.new()
    if live_databases.postgis:
        # B on the other backend: a SpatiaLite file, migrated, with the same city.
        b_url = f"spatialite:///{tmp_path / 'site-b.sqlite3'}"
        b_env = server_env(b_url)
        manage(b_env, "migrate", "--noinput")
        seed(b_env, 0)
    else:
        b_url = live_databases.new().url
    site_a = Site("site-a", a_db.url, free_port(8700, 8749), tmp_path)
    site_b = Site("site-b", b_url, free_port(8750, 8799), tmp_path)
    try:
        site_a.start()
        site_b.start()
        yield site_a, site_b
    finally:
        site_a.stop()
        site_b.stop()


def test_pins_forwarded_to_another_site_come_back_answered(sites):
    site_a, site_b = sites
    key = manage(site_b.env, "open311_key", "Site A").strip().splitlines()[-1]
    site_a.python(CONFIGURE_A.format(base=f"{site_b.base}/open311/v2/", key=key))
    category = json.loads(site_a.get("/api/categories/")[1])
    first = (category["results"] if isinstance(category, dict) else category)[0]["slug"]
    step = (EAST - WEST) / 4
    made = [
        site_a.post_json(
            "/api/ideas/",
            {
                "kind": "issue",
                "title": f"Broken light {n}",
                "description": "Out since Monday.",
                "category": first,
                "location": {
                    "type": "Point",
                    "coordinates": [WEST + step * (0.2 + 0.2 * n), (SOUTH + NORTH) / 2],
                },
            },
        )["id"]
        for n in range(PINS)
    ]

    out = manage(site_a.env, "sync_backoffice")
    assert f"Forwarded {PINS}," in out, out

    # On B, each pin is a service request of the mapped service, with A's reference.
    listed = json.loads(site_b.get(f"/open311/v2/requests.json?service_code={first}")[1])
    references = {f"{site_a.base}/ideas/{pk}/": pk for pk in made}
    on_b = {}
    for request in listed:
        for reference, pk in references.items():
            if reference in request["description"].split():
                assert request["service_code"] == first
                on_b[pk] = request["service_request_id"]
    assert sorted(on_b) == sorted(made), listed

    site_b.python(CLOSE_ON_B.format(ids=[int(i) for i in on_b.values()]))
    out = manage(site_a.env, "sync_backoffice")
    assert f"{PINS} answer(s) read back" in out, out

    for pk, remote_id in on_b.items():
        status, page = site_a.get(f"/ideas/{pk}/")
        assert status == 200
        assert f"Fixed by the crew, pin {remote_id}.".encode() in page
        pin = json.loads(site_a.get(f"/api/ideas/{pk}/")[1])
        assert pin["properties"]["status"] == "done"
