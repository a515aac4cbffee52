"""`make load`: a run of mixed traffic against a real server, then the promises checked.

1. starts the server as `make run` does (scripts/run.sh: migrate, demo city if the database
   is empty, gunicorn on 127.0.0.1:LOAD_PORT), with rate limits off (MAPIDEAS_RATE_LIMITS=off:
   the traffic comes from one address);
2. drives mixed citizen traffic with Locust for LOAD_SECONDS (default 600) with LOAD_USERS
   visitors (default 12): pins sent with Idempotency-Keys and retried until acknowledged,
   deliberate retries of acknowledged pins, map viewports, lists, pin pages, the map page,
   supports, comments by signed-in citizens, exports (scripts/load_locustfile.py). The
   signed-in citizens log in through /accounts/login/ with a pool of active accounts made
   first through manage.py (sign-up signs nobody in: its emailed link does); their password
   is drawn for the run and travels by environment variable only;
3. PASS when no answer was a server error (5xx, also counted in gunicorn's access log), every
   pin was acknowledged, every retry gave back its pin, every signed-in visitor logged in and
   some commented, and the database holds exactly one row per acknowledged pin: the rows of
   this run equal the acknowledged submissions.

DATABASE_URL as for `make run` (LOAD_DATABASE_URL overrides it; default: SpatiaLite in
var/load-run.sqlite3, kept apart from `make run`'s database). With LOAD_SERVER_URL set, no
server is started: the traffic goes there (the database must be DATABASE_URL's; that
server's login limit, MAPIDEAS_RATE_LIMITS, counts the visitors' logins, one per signed-in
visitor).
Files (the access log, Locust's CSV statistics, the report) go to var/load-run/.
Exit status 0 only on PASS.
"""

import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ACCESS_STATUS = re.compile(r'" (\d{3}) ')


@dataclass
class LoadResult:
    seconds: int
    users: int
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    acknowledged: int = 0
    rows: int = 0
    distinct_rows: int = 0
    rows_not_acknowledged: int = 0
    replays_checked: int = 0
    given_up: int = 0
    citizens: int = 0  # accounts in the pool the signed-in visitors log in with
    broken: list[str] = field(default_factory=list)
    access_log_5xx: int | None = None

    @property
    def server_errors(self) -> int:
        return sum(n for key, n in self.statuses.items() if int(key.rsplit(" ", 1)[1]) >= 500)

    @property
    def comments(self) -> int:
        """Comments the signed-in visitors made (201s)."""
        return self.statuses.get("POST /api/ideas/<id>/comments/ 201", 0)

    @property
    def logins(self) -> int:
        return self.statuses.get("POST /accounts/login/ 302", 0)

    @property
    def connection_errors(self) -> int:
        return sum(n for key, n in self.statuses.items() if key.endswith(" 0"))

    @property
    def problems(self) -> list[str]:
        found = list(self.broken)
        if self.server_errors:
            found.append(f"{self.server_errors} server errors (5xx)")
        if self.access_log_5xx:
            found.append(f"{self.access_log_5xx} 5xx answers in the access log")
        if self.given_up:
            found.append(f"{self.given_up} pins never acknowledged")
        if not (self.rows == self.distinct_rows == self.acknowledged):
            found.append(
                f"{self.rows} rows ({self.distinct_rows} distinct) for "
                f"{self.acknowledged} acknowledged pins"
            )
        if self.rows_not_acknowledged:
            found.append(f"{self.rows_not_acknowledged} rows whose pin was never acknowledged")
        if self.acknowledged == 0:
            found.append("no pin was acknowledged at all")
        if self.comments == 0:
            found.append("no signed-in visitor made a comment")
        return found

    def summary(self) -> str:
        by_status = Counter()
        for key, n in self.statuses.items():
            by_status[key.rsplit(" ", 1)[1]] += n
        lines = [
            f"load run: {self.seconds} s, {self.users} visitors",
            f"requests: {self.requests} ({self.rps:.1f}/s); response time p50 "
            f"{self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, p99 {self.p99_ms:.0f} ms",
            "answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())),
            "by request:",
            *(f"  {n:>8}  {key}" for key, n in sorted(self.statuses.items())),
            f"server errors (5xx): {self.server_errors}"
            + (
                f"; in the access log: {self.access_log_5xx}"
                if self.access_log_5xx is not None
                else ""
            ),
            f"connection errors: {self.connection_errors}",
            f"signed-in visitors: {self.logins} logins with {self.citizens} accounts; "
            f"comments made: {self.comments}",
            f"pins acknowledged: {self.acknowledged}; rows of this run: {self.rows} "
            f"({self.distinct_rows} distinct); deliberate retries answered with their pin: "
            f"{self.replays_checked}",
        ]
        problems = self.problems
        lines.append("PASS" if not problems else "FAIL: " + "; ".join(problems))
        return "\n".join(lines)


def log(message: str) -> None:
    print(f"load: {message}", file=sys.stderr, flush=True)


def wait_ready(base: str, timeout: float, server: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise SystemExit(f"load: the server exited ({server.returncode})")
        try:
            with urllib.request.urlopen(f"{base}/api/categories/", timeout=5) as r:  # noqa: S310
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"load: no answer from {base} after {timeout:.0f} s")


def points_inside(base: str, count: int = 400) -> list[list[float]]:
    """Random points inside the city's neighborhoods (so every pin can be routed)."""
    import shapely
    from shapely.geometry import shape

    url = f"{base}/api/neighborhoods/"
    with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 (our own server)
        features = json.loads(r.read())["features"]
    city = shapely.union_all([shape(f["geometry"]) for f in features])
    minx, miny, maxx, maxy = city.bounds
    rng = random.Random(8)
    points: list[list[float]] = []
    while len(points) < count:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        # Well inside: a point on a border is routed too, but keep the test about load.
        if city.contains(shapely.Point(x, y).buffer(1e-4)):
            points.append([round(x, 6), round(y, 6)])
    return points


# Made in the database before the run, as manage.py does everything else here: sign-up
# completes through an emailed link, which a load run cannot read. One hash for the pool
# (each hash costs the server's hasher's full time); the password comes from the environment.
CITIZENS_CREATE = """
import json, os
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
names = json.loads(os.environ["LOAD_CITIZENS"])
password = make_password(os.environ["LOAD_CITIZEN_PASSWORD"])
get_user_model().objects.bulk_create(
    get_user_model()(username=n, email=n + "@load.example", password=password) for n in names
)
print(get_user_model().objects.filter(username__in=names, is_active=True).count())
"""


def citizens_create(env: dict[str, str], names: list[str], password: str) -> int:
    """Active citizen accounts (no team, no staff), `names`, all with `password`: the pool
    the signed-in visitors log in with. Returns how many the database holds."""
    done = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [sys.executable, "manage.py", "shell", "-c", CITIZENS_CREATE],
        cwd=ROOT,
        env={**env, "LOAD_CITIZENS": json.dumps(names), "LOAD_CITIZEN_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"load: the citizens' accounts were not made:\n{done.stderr[-3000:]}")
    return int(done.stdout.strip().splitlines()[-1])


def count_rows(env: dict[str, str], run_id: str, acked_ids: set[int]) -> tuple[int, int, int]:
    """(rows of this run, distinct titles, rows whose id was never acknowledged)."""
    code = (
        "import json; from mapideas.models import Idea; "
        f"q = Idea.objects.filter(title__startswith={f'load {run_id} '!r}); "
        "print(json.dumps([list(q.values_list('id', flat=True)), "
        "q.values('title').distinct().count()]))"
    )
    done = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    ids, distinct = json.loads(done.stdout.strip().splitlines()[-1])
    return len(ids), distinct, len(set(ids) - acked_ids)


def run(
    base: str,
    *,
    database_env: dict[str, str],
    seconds: int,
    users: int,
    workdir: Path,
    access_log: Path | None = None,
) -> LoadResult:
    """Drive the traffic against `base` for `seconds`, then check the database."""
    workdir.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:12]
    points = workdir / "points.json"
    points.write_text(json.dumps(points_inside(base)))
    report = workdir / "report.json"
    report.unlink(missing_ok=True)
    # One account per visitor at most: as many as Locust could make signed-in visitors.
    citizens = [f"load-{run_id}-{n}" for n in range(users)]
    citizen_password = secrets.token_urlsafe(18)
    made = citizens_create(database_env, citizens, citizen_password)
    log(f"{made} citizen accounts to log in with")
    # The server's answers during the run only: on a busy machine a worker may be cut off by
    # gunicorn's timeout while it first imports the URLs at start-up (a 500 to the probe).
    log_offset = access_log.stat().st_size if access_log is not None and access_log.exists() else 0
    log(f"{users} visitors for {seconds} s against {base} (run {run_id})")
    locust = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "scripts" / "load_locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(max(1, users // 3)),
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "30",
            "--host",
            base,
            "--csv",
            str(workdir / "locust"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "LOAD_POINTS": str(points),
            "LOAD_RUN_ID": run_id,
            "LOAD_REPORT": str(report),
            "LOAD_CITIZENS": json.dumps(citizens),
            "LOAD_CITIZEN_PASSWORD": citizen_password,
        },
        capture_output=True,
        text=True,
        timeout=seconds + 300,
        check=False,
    )
    (workdir / "locust.log").write_text(locust.stdout + locust.stderr)
    if not report.exists():
        raise SystemExit(
            f"load: Locust wrote no report:\n{(locust.stdout + locust.stderr)[-3000:]}"
        )
    data = json.loads(report.read_text())
    acked_ids = set(data["acked"].values())
    result = LoadResult(
        seconds=seconds,
        users=users,
        requests=data["requests"],
        rps=data["rps"],
        p50_ms=data["p50_ms"] or 0,
        p95_ms=data["p95_ms"] or 0,
        p99_ms=data["p99_ms"] or 0,
        statuses=data["statuses"],
        acknowledged=len(data["acked"]),
        replays_checked=data["replays_checked"],
        given_up=data["given_up"],
        citizens=made,
        broken=data["broken"],
    )
    result.rows, result.distinct_rows, result.rows_not_acknowledged = count_rows(
        database_env, run_id, acked_ids
    )
    if access_log is not None and access_log.exists():
        with access_log.open("rb") as f:
            f.seek(log_offset)
            during = f.read().decode(errors="replace")
        result.access_log_5xx = sum(
            1
            for line in during.splitlines()
            if (m := ACCESS_STATUS.search(line)) and int(m.group(1)) >= 500
        )
    return result


def main() -> int:
    seconds = int(os.environ.get("LOAD_SECONDS", "600"))
    users = int(os.environ.get("LOAD_USERS", "12"))
    port = int(os.environ.get("LOAD_PORT", "8090"))
    database_url = (
        os.environ.get("LOAD_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or f"spatialite:///{ROOT / 'var' / 'load-run.sqlite3'}"
    )
    workdir = ROOT / "var" / "load-run"
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        # One address sends everything: the limits would answer 429s, not measure the server.
        "MAPIDEAS_RATE_LIMITS": "off",
    }
    base = os.environ.get("LOAD_SERVER_URL", "").rstrip("/")
    server = None
    access_log = workdir / "server.log"
    if not base:
        base = f"http://127.0.0.1:{port}"
        log(f"starting the server as `make run` does (scripts/run.sh), log in {access_log}")
        with open(access_log, "wb") as out:
            server = subprocess.Popen(  # noqa: S603 (a fixed argv, no shell)
                [shutil.which("bash") or "/bin/bash", str(ROOT / "scripts" / "run.sh")],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # The first run migrates and loads the demo city: minutes on a slow machine.
        wait_ready(base, timeout=900, server=server)
    else:
        access_log = None
    try:
        result = run(
            base,
            database_env=env,
            seconds=seconds,
            users=users,
            workdir=workdir,
            access_log=access_log,
        )
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
    masked = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", database_url)
    print(f"database: {masked}")
    print(result.summary())
    (workdir / "summary.txt").write_text(result.summary() + "\n")
    return 0 if not result.problems else 1


if __name__ == "__main__":
    sys.exit(main())
