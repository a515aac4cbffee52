"""Mixed citizen traffic for `make load` (scripts/load_run.py), run by Locust, headless.

Two kinds of visitor:
- anonymous citizens send pins (POST /api/ideas/, each with a new Idempotency-Key, sent again
  with the same key after a connection error or a 503 until acknowledged; now and then an
  acknowledged pin is deliberately sent again, which must give back the same pin), move the
  map (viewport), open pin pages and lists, support pins and download exports;
- signed-in citizens comment on pins and read: each logs in through /accounts/login/ with an
  account of the pool load_run.py made before the run (sign-up signs nobody in: its emailed
  link does, and the password is chosen there).

Every answer is tallied by request name and status; at the end the tally, the acknowledged
keys and pin ids and any broken promise go to LOAD_REPORT (JSON), which load_run.py checks
against the database. Settings come from the environment: LOAD_POINTS (a JSON file of
[lon, lat] points inside the city), LOAD_RUN_ID (marks this run's pin titles), LOAD_REPORT,
LOAD_CITIZENS (a JSON list of the pool's usernames) and LOAD_CITIZEN_PASSWORD (their
password: in the environment, never in a URL or a command line).
"""

import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from collections import Counter

from locust import HttpUser, between, events, task

POINTS: list[list[float]] = json.loads(open(os.environ["LOAD_POINTS"]).read())  # noqa: SIM115
RUN_ID = os.environ.get("LOAD_RUN_ID", "local")
REPORT = os.environ.get("LOAD_REPORT", "load-report.json")
BBOX = [
    min(p[0] for p in POINTS),
    min(p[1] for p in POINTS),
    max(p[0] for p in POINTS),
    max(p[1] for p in POINTS),
]
MAX_ATTEMPTS = 20
CITIZENS: list[str] = json.loads(os.environ.get("LOAD_CITIZENS", "[]"))
CITIZEN_PASSWORD = os.environ.get("LOAD_CITIZEN_PASSWORD", "")
# Each signed-in visitor takes the next account of the pool (they share one only when
# Locust starts more of them than the pool holds: sessions stay apart).
_NEXT_CITIZEN = itertools.cycle(CITIZENS) if CITIZENS else None
_NEXT_CITIZEN_LOCK = threading.Lock()


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()  # "name status" -> n
        self.acked: dict[str, int] = {}  # Idempotency-Key -> pin id
        self.bodies: dict[str, dict] = {}
        self.pin_ids: list[int] = []
        self.broken: list[str] = []  # promises broken, in words
        self.given_up = 0
        self.replays_checked = 0

    def count(self, name: str, status: int) -> None:
        with self.lock:
            self.statuses[f"{name} {status}"] += 1

    def broke(self, what: str) -> None:
        with self.lock:
            if len(self.broken) < 100:
                self.broken.append(what)


TALLY = Tally()


def pin_body(key: str) -> dict:
    lon, lat = random.choice(POINTS)
    return {
        "kind": random.choice(["idea", "issue"]),
        "title": f"load {RUN_ID} {key}",
        "description": "Load run: " + " ".join(random.choices(["bench", "tree", "lamp"], k=8)),
        "category": "other",
        "location": {"type": "Point", "coordinates": [lon, lat]},
    }


def some_bbox() -> str:
    """A random viewport inside the city, from street level to the whole city."""
    width = (BBOX[2] - BBOX[0]) * random.choice([0.02, 0.1, 0.3, 1.0])
    height = (BBOX[3] - BBOX[1]) * (width / (BBOX[2] - BBOX[0]))
    x = random.uniform(BBOX[0], BBOX[2] - width)
    y = random.uniform(BBOX[1], BBOX[3] - height)
    return f"{x:.5f},{y:.5f},{x + width:.5f},{y + height:.5f}"


class Citizen(HttpUser):
    """Someone on the public map, not signed in."""

    weight = 4
    wait_time = between(0.2, 1.5)

    def get(self, url: str, name: str, ok: tuple[int, ...] = (200,)) -> object:
        with self.client.get(url, name=name, catch_response=True) as response:
            TALLY.count(name, response.status_code)
            if response.status_code in ok:
                response.success()
            else:
                response.failure(f"{response.status_code}")
            return response

    @task(3)
    def send_pin(self) -> None:
        key = str(uuid.uuid4())
        body = pin_body(key)
        for _attempt in range(MAX_ATTEMPTS):
            with self.client.post(
                "/api/ideas/",
                json=body,
                headers={"Idempotency-Key": key},
                name="POST /api/ideas/",
                catch_response=True,
            ) as response:
                status = response.status_code
                TALLY.count("POST /api/ideas/", status)
                if status == 201:
                    response.success()
                    pin_id = response.json()["id"]
                    with TALLY.lock:
                        TALLY.acked[key] = pin_id
                        TALLY.bodies[key] = body
                        TALLY.pin_ids.append(pin_id)
                    return
                if status == 0 or status == 503:
                    # Not acknowledged: the same key again, after Retry-After (capped).
                    response.failure(f"{status}, retrying")
                    time.sleep(min(2.0, float(response.headers.get("Retry-After") or 0.5)))
                    continue
                response.failure(f"{status}: {response.text[:200]}")
                TALLY.broke(f"pin refused with {status}: {response.text[:200]}")
                return
        with TALLY.lock:
            TALLY.given_up += 1

    @task(1)
    def send_a_pin_again(self) -> None:
        """A client that never saw the answer sends the acknowledged pin again: the same
        pin comes back, marked as a replay, and no row is added."""
        with TALLY.lock:
            if not TALLY.acked:
                return
            key = random.choice(list(TALLY.acked))
            pin_id, body = TALLY.acked[key], TALLY.bodies[key]
        with self.client.post(
            "/api/ideas/",
            json=body,
            headers={"Idempotency-Key": key},
            name="POST /api/ideas/ (retry)",
            catch_response=True,
        ) as response:
            TALLY.count("POST /api/ideas/ (retry)", response.status_code)
            if response.status_code != 201:
                response.failure(str(response.status_code))
                return
            response.success()
            same = response.json()["id"] == pin_id
            replayed = response.headers.get("Idempotent-Replayed") == "true"
            with TALLY.lock:
                TALLY.replays_checked += 1
            if not (same and replayed):
                TALLY.broke(f"a retry of {key} gave pin {response.json()['id']}, not {pin_id}")

    @task(6)
    def move_the_map(self) -> None:
        zoom = random.choice([11, 13, 15, 17])
        self.get(f"/api/ideas/viewport/?bbox={some_bbox()}&zoom={zoom}", "GET viewport")

    @task(2)
    def list_pins(self) -> None:
        response = self.get(f"/api/ideas/?bbox={some_bbox()}&page_size=50", "GET /api/ideas/")
        if getattr(response, "status_code", 0) == 200:
            ids = [f["id"] for f in response.json().get("features", [])[:10]]
            with TALLY.lock:
                TALLY.pin_ids.extend(ids)

    @task(3)
    def open_a_pin(self) -> None:
        with TALLY.lock:
            pin_id = random.choice(TALLY.pin_ids) if TALLY.pin_ids else None
        if pin_id is not None:
            # A pin sent with an email address waits off the public pages: 404 is honest.
            self.get(f"/ideas/{pin_id}/", "GET /ideas/<id>/", ok=(200, 404))
            self.get(f"/api/ideas/{pin_id}/", "GET /api/ideas/<id>/", ok=(200, 404))

    @task(1)
    def open_the_map(self) -> None:
        self.get("/", "GET /")

    @task(2)
    def support_a_pin(self) -> None:
        with TALLY.lock:
            pin_id = random.choice(TALLY.pin_ids) if TALLY.pin_ids else None
        if pin_id is None:
            return
        name = "POST /api/ideas/<id>/support/"
        with self.client.post(
            f"/api/ideas/{pin_id}/support/", name=name, catch_response=True
        ) as response:
            TALLY.count(name, response.status_code)
            if response.status_code in (200, 201, 404):
                response.success()
            else:
                response.failure(str(response.status_code))

    @task(1)
    def download_an_export(self) -> None:
        extension = random.choice(["geojson", "csv"])
        self.get(f"/export/ideas.{extension}?bbox={some_bbox()}", f"GET /export/ideas.{extension}")


class SignedInCitizen(HttpUser):
    """Someone with an account (one of the pool load_run.py made) who logs in, then comments
    on pins."""

    weight = 1
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        if _NEXT_CITIZEN is None:
            TALLY.broke("no citizen accounts to log in with (LOAD_CITIZENS is empty)")
            return
        with _NEXT_CITIZEN_LOCK:
            username = next(_NEXT_CITIZEN)
        self.client.get("/accounts/login/", name="GET /accounts/login/")
        with self.client.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
                "username": username,
                "password": CITIZEN_PASSWORD,
            },
            name="POST /accounts/login/",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            TALLY.count("POST /accounts/login/", response.status_code)
            if response.status_code == 302:
                response.success()
            else:
                errors = re.findall(r'(?:<li>|class="field-error"[^>]*>)([^<]+)<', response.text)
                response.failure(str(response.status_code))
                TALLY.broke(f"login refused ({response.status_code}): {errors[:3]}")

    @task(3)
    def comment(self) -> None:
        with TALLY.lock:
            pin_id = random.choice(TALLY.pin_ids) if TALLY.pin_ids else None
        if pin_id is None:
            return
        name = "POST /api/ideas/<id>/comments/"
        with self.client.post(
            f"/api/ideas/{pin_id}/comments/",
            json={"text": "Agreed, from the load run."},
            headers={"X-CSRFToken": self.client.cookies.get("csrftoken", "")},
            name=name,
            catch_response=True,
        ) as response:
            TALLY.count(name, response.status_code)
            # 404: a pin awaiting its emailed confirmation is not public yet.
            if response.status_code in (201, 404):
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(2)
    def read_comments(self) -> None:
        with TALLY.lock:
            pin_id = random.choice(TALLY.pin_ids) if TALLY.pin_ids else None
        if pin_id is None:
            return
        name = "GET /api/ideas/<id>/comments/"
        with self.client.get(
            f"/api/ideas/{pin_id}/comments/", name=name, catch_response=True
        ) as response:
            TALLY.count(name, response.status_code)
            if response.status_code in (200, 404):
                response.success()
            else:
                response.failure(str(response.status_code))


@events.test_stop.add_listener
def write_report(environment, **_kwargs) -> None:
    with TALLY.lock:
        report = {
            "statuses": dict(TALLY.statuses),
            "acked": TALLY.acked,
            "broken": TALLY.broken,
            "given_up": TALLY.given_up,
            "replays_checked": TALLY.replays_checked,
            "requests": environment.stats.total.num_requests,
            "rps": environment.stats.total.total_rps,
            "p50_ms": environment.stats.total.get_response_time_percentile(0.5),
            "p95_ms": environment.stats.total.get_response_time_percentile(0.95),
            "p99_ms": environment.stats.total.get_response_time_percentile(0.99),
        }
    with open(REPORT, "w") as f:
        json.dump(report, f)
