"""Real processes for the crash tests (tests/mapideas/test_crash_safety.py) and the load run
(scripts/load_run.py): a live database the servers can see, gunicorn servers that can be
SIGKILLed, a private PostgreSQL cluster that can be restarted, and clients that retry.

A live database is a copy of a template made once per test session: `manage.py migrate`
plus a small city (seed_city, run in a child process with the live DATABASE_URL):
- SpatiaLite: a file, copied;
- PostGIS: a database on the server of the test run's DATABASE_URL, made with
  `CREATE DATABASE ... TEMPLATE ...` and dropped afterwards.

Run as `python -m tests.mapideas.crash_support seed PINS` (with DATABASE_URL) to seed.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PG_BIN = Path(os.environ.get("MAPIDEAS_PG_BIN", "/usr/lib/postgresql/15/bin"))
# The city of seed_city: four columns of neighborhoods (version 1, active), redrawn as two
# rows (version 2, inactive) so that activating version 2 moves every open pin.
WEST, SOUTH, EAST, NORTH = 4.00, 50.00, 4.04, 50.02
MARKER = "crash-test"
# Open pins in the template: enough that a re-route is still running when it is killed
# (PostGIS re-routes 20,000 pins in well under a second; SpatiaLite takes seconds for 5,000).
SEEDED_PINS = {"postgis": 20000, "spatialite": 5000}


def seeded_pins() -> int:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    return SEEDED_PINS["postgis" if engine.endswith("postgis") else "spatialite"]


# --- Ports, environment, children --------------------------------------------------------


def free_port(low: int, high: int) -> int:
    """A free TCP port in [low, high] (our share of the machine), else any free one."""
    candidates = list(range(low, high + 1))
    random.shuffle(candidates)
    for port in [*candidates, 0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a child (server, manage.py) on the live database."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "DATABASE_REPLICA_URL", "CACHE_URL", "SECRET_KEY"}
    }
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="mapideas.settings",
        SECRET_KEY="crash-tests-" + "k" * 40,
        DEBUG="false",
        # Counters in each process's memory: the limits are off anyway (load tests).
        CACHE_URL="locmem://",
        MAPIDEAS_RATE_LIMITS="off",
        DB_CONN_MAX_AGE="60",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def as_postgres(argv: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root: as user postgres then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


# --- Live databases ----------------------------------------------------------------------


@dataclass
class PgServer:
    host: str
    port: int
    user: str
    password: str = ""

    def url(self, name: str) -> str:
        auth = quote(self.user) + (f":{quote(self.password)}" if self.password else "")
        return f"postgis://{auth}@{self.host}:{self.port}/{name}"

    def connect(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        with self.connect(dbname) as conn:
            conn.execute(sql)

    def drop(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class LiveDatabase:
    """One live database: its URL, and its rows read with the driver, not with Django."""

    url: str
    path: Path | None = None  # SpatiaLite
    pg: PgServer | None = None
    name: str = ""

    def rows(self, sql: str) -> list[tuple]:
        if self.path is not None:
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                return conn.execute(sql).fetchall()
            finally:
                conn.close()
        assert self.pg is not None
        with self.pg.connect(self.name) as conn:
            return conn.execute(sql).fetchall()

    def value(self, sql: str):
        return self.rows(sql)[0][0]

    def drop(self) -> None:
        if self.path is not None:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        elif self.pg is not None:
            self.pg.drop(self.name)


class LiveDatabases:
    """Copies of one template database (migrated, seeded), for the current backend."""

    def __init__(self, engine: str, default: dict, workdir: Path, pins: dict[str, int]) -> None:
        self.workdir = workdir
        self.postgis = engine.endswith("postgis")
        pins_here = pins["postgis" if self.postgis else "spatialite"]
        self.made: list[LiveDatabase] = []
        if self.postgis:
            self.pg = PgServer(
                host=default.get("HOST") or "127.0.0.1",
                port=int(default.get("PORT") or 5432),
                user=default.get("USER") or "postgres",
                password=default.get("PASSWORD") or "",
            )
            self.template = f"ha_crash_tpl_{uuid.uuid4().hex[:10]}"
            self.pg.execute(f'CREATE DATABASE "{self.template}"')
            url = self.pg.url(self.template)
        else:
            self.template_path = workdir / "template.sqlite3"
            url = f"spatialite:///{self.template_path}"
        self.template_url = url
        env = server_env(url)
        manage(env, "migrate", "--noinput")
        seed(env, pins_here)

    def new(self) -> LiveDatabase:
        if self.postgis:
            name = f"ha_crash_{uuid.uuid4().hex[:10]}"
            self.pg.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            db = LiveDatabase(url=self.pg.url(name), pg=self.pg, name=name)
        else:
            path = self.workdir / f"live-{uuid.uuid4().hex[:8]}.sqlite3"
            shutil.copyfile(self.template_path, path)
            db = LiveDatabase(url=f"spatialite:///{path}", path=path)
        self.made.append(db)
        return db

    def close(self) -> None:
        for db in self.made:
            db.drop()
        if self.postgis:
            self.pg.drop(self.template)


def seed(env: dict[str, str], pins: int) -> None:
    done = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [PYTHON, "-m", "tests.mapideas.crash_support", "seed", str(pins)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{done.stdout}\n{done.stderr}")


def seed_city(pins: int) -> None:
    """In a child process with the live DATABASE_URL: the city and `pins` open pins."""
    import django

    django.setup()
    from django.contrib.gis.geos import MultiPolygon, Point, Polygon
    from django.db import transaction

    from mapideas.cells import pin_cells
    from mapideas.models import Category, Idea
    from mapideas.rerouting.services import boundaries_activate
    from neighborhoods.models import Neighborhood
    from neighborhoods.services import NeighborhoodInput, boundary_version_create

    def box(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
        ring = ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))
        return MultiPolygon(Polygon(ring), srid=4326)

    step = (EAST - WEST) / 4
    columns = [
        NeighborhoodInput(
            name=f"Column {i + 1}",
            geometry=box(WEST + i * step, SOUTH, WEST + (i + 1) * step, NORTH),
            team_name=f"Column Team {i + 1}",
        )
        for i in range(4)
    ]
    middle = (SOUTH + NORTH) / 2
    rows = [
        NeighborhoodInput(name="South Row", geometry=box(WEST, SOUTH, EAST, middle)),
        NeighborhoodInput(name="North Row", geometry=box(WEST, middle, EAST, NORTH)),
    ]
    with transaction.atomic():
        version, _ = boundary_version_create(label="crash test columns", items=columns)
        boundaries_activate(version=version)
        boundary_version_create(label="crash test rows", items=rows)
        category = Category.objects.order_by("pk").first()
        hoods = list(Neighborhood.objects.filter(version=version).select_related("team"))
        rng = random.Random(7)
        batch = []
        for n in range(pins):
            x, y = rng.uniform(WEST + 1e-4, EAST - 1e-4), rng.uniform(SOUTH + 1e-4, NORTH - 1e-4)
            column = min(3, int((x - WEST) / step))
            hood = next(h for h in hoods if h.name == f"Column {column + 1}")
            batch.append(
                Idea(
                    kind=Idea.Kind.IDEA,
                    title=f"seeded {n}",
                    category=category,
                    location=Point(x, y, srid=4326),
                    neighborhood=hood,
                    team=hood.team,
                    **pin_cells(x, y),
                )
            )
        Idea.objects.bulk_create(batch, batch_size=2000)


def random_point(rng: random.Random) -> tuple[float, float]:
    return rng.uniform(WEST + 1e-4, EAST - 1e-4), rng.uniform(SOUTH + 1e-4, NORTH - 1e-4)


# --- Servers -----------------------------------------------------------------------------


class Server:
    """gunicorn serving mapideas.wsgi, as `make run` does, in its own process group."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        log: Path,
        workers: int = 2,
        preload: bool = True,
        access_log: bool = False,
    ) -> None:
        self.env, self.port, self.log, self.workers = env, port, log, workers
        self.access_log = access_log
        # --preload: Django is imported once, in the master, before the workers fork (a
        # restart then takes half as long); the crash is the same SIGKILL to every process.
        self.preload = preload
        self.proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self, timeout: float = 60) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 (a fixed argv, no shell)
                [
                    GUNICORN,
                    "mapideas.wsgi",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(self.workers),
                    "--timeout",
                    "60",
                    *(["--preload"] if self.preload else []),
                    *(["--access-logfile", "-"] if self.access_log else []),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                ready = f"{self.base}/api/categories/"  # http://127.0.0.1 only
                with urllib.request.urlopen(ready, timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once: no graceful anything."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc = None


class PrivateCluster:
    """A PostgreSQL 15 cluster of our own (as scripts/replica_demo.sh starts them), so the
    test can restart it without disturbing anyone else's server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="mapideas-crash-pg-"))
        self.dir.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.server = PgServer(host="127.0.0.1", port=port, user="postgres")

    def _run(self, *argv: str, timeout: float = 120) -> None:
        done = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
            as_postgres(list(argv)),
            cwd="/",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("fsync = off\nfull_page_writes = off\n")
        self._pg_ctl("start")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "pg.log"),
            "-w", "-t", "60", "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1",
            *extra, action,
        )  # fmt: skip

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def copy_in(self, source: PgServer, source_db: str, name: str) -> LiveDatabase:
        """A copy of `source_db` (the template) in this cluster: pg_dump | psql."""
        self.server.execute(f'CREATE DATABASE "{name}"')
        dump = subprocess.Popen(  # noqa: S603
            [str(PG_BIN / "pg_dump"), "-h", source.host, "-p", str(source.port), "-U",
             source.user, "--no-owner", source_db],
            stdout=subprocess.PIPE,
            env={**os.environ, "PGPASSWORD": source.password},
        )  # fmt: skip
        restore = subprocess.run(  # noqa: S603
            [str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", "postgres", "-d", name],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )  # fmt: skip
        dump.wait(timeout=60)
        if dump.returncode != 0 or restore.returncode != 0:
            raise RuntimeError(f"copying the template failed:\n{restore.stderr[-3000:]}")
        return LiveDatabase(url=self.server.url(name), pg=self.server, name=name)


# --- Clients that retry until acknowledged -----------------------------------------------


@dataclass
class Tally:
    """What the clients saw, shared by their threads."""

    statuses: Counter = field(default_factory=Counter)
    connection_errors: int = 0
    acked: dict[str, int] = field(default_factory=dict)  # key -> pin id
    replayed: int = 0
    retry_after_missing: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int) -> None:
        with self.lock:
            self.statuses[status] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500 and status != 503)


def pin_body(key: str, rng: random.Random) -> bytes:
    x, y = random_point(rng)
    return json.dumps(
        {
            "kind": "idea",
            "title": f"{MARKER} {key}",
            "description": "Sent by a client that retries until acknowledged.",
            "category": "other",
            "location": {"type": "Point", "coordinates": [x, y]},
        }
    ).encode()


def submit_until_acked(
    base: str, key: str, body: bytes, tally: Tally, deadline: float, max_wait: float = 1.0
) -> int | None:
    """POST the pin with its Idempotency-Key until it is acknowledged (201): again after a
    connection error or a 503 (waiting as Retry-After says, at most `max_wait`)."""
    while time.monotonic() < deadline:
        request = urllib.request.Request(  # noqa: S310 (our own http://127.0.0.1 server)
            f"{base}/api/ideas/",
            body,
            {"Content-Type": "application/json", "Idempotency-Key": key},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                tally.count(response.status)
                answer = json.loads(response.read())
                with tally.lock:
                    tally.acked[key] = answer["id"]
                    if response.headers.get("Idempotent-Replayed") == "true":
                        tally.replayed += 1
                return answer["id"]
        except urllib.error.HTTPError as exc:
            tally.count(exc.code)
            if exc.code == 503:
                retry_after = exc.headers.get("Retry-After")
                if not retry_after:
                    with tally.lock:
                        tally.retry_after_missing += 1
                time.sleep(min(max_wait, float(retry_after or 1)))
                continue
            if exc.code >= 500:
                time.sleep(0.2)
                continue
            raise AssertionError(f"{exc.code} for {key}: {exc.read()[:500]!r}") from exc
        except (OSError, urllib.error.URLError, ConnectionError):
            with tally.lock:
                tally.connection_errors += 1
            time.sleep(0.1)
    return None


def submit_stream(
    base: str, keys: list[str], tally: Tally, threads: int, deadline: float, seed: int = 1
) -> list[threading.Thread]:
    """Start `threads` clients sending `keys` between them; returns the started threads."""
    chunks = [keys[i::threads] for i in range(threads)]

    def client(chunk: list[str], n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        for key in chunk:
            submit_until_acked(base, key, pin_body(key, rng), tally, deadline)

    started = [
        threading.Thread(target=client, args=(chunk, n), daemon=True)
        for n, chunk in enumerate(chunks)
    ]
    for thread in started:
        thread.start()
    return started


def marked_rows(db: LiveDatabase) -> list[tuple[int, str]]:
    return db.rows(f"SELECT id, title FROM mapideas_idea WHERE title LIKE '{MARKER} %'")  # noqa: S608


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        seed_city(int(sys.argv[2]))
    else:
        sys.exit("usage: python -m tests.mapideas.crash_support seed PINS")
