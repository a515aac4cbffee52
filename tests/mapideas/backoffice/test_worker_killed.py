"""`manage.py sync_backoffice` SIGKILLed in the middle of a POST, for real: a child process
on a live database (tests/mapideas/crash_support.py), killed while the test's GeoReport v2
server holds its POST, once after storing the request and once before. Run again, each pin
ends forwarded and once on a remote that can be searched, or held for staff on one that
cannot: never posted twice, never lost."""

import contextlib
import json
import signal
import sqlite3
import subprocess

import pytest

from tests.mapideas.backoffice.georeport_server import Behaviour, GeoReportServer
from tests.mapideas.crash_support import (
    EAST,
    NORTH,
    PYTHON,
    ROOT,
    SOUTH,
    WEST,
    LiveDatabase,
    server_env,
)

pytestmark = pytest.mark.crash

SITE = "https://ideas.city.example"
KEY = "key-of-the-city-" + "z" * 20

# In the child, on the live database: Column Team 1's back office on the test server, and
# two new pins in its column. Prints the pins' ids.
SET_UP = """
import json
import django
django.setup()
from datetime import timedelta
from django.contrib.gis.geos import Point
from django.utils import timezone
from mapideas.backoffice import services
from mapideas.models import Category
from mapideas.submission.services import idea_create
from neighborhoods.models import Team
endpoint = services.endpoint_create(
    team=Team.objects.get(name="Column Team 1"),
    name="City works orders",
    base_url={base!r},
    api_key_value={key!r},
    searchable={searchable!r},
    listing_delay=0,
    forward_from=timezone.now() - timedelta(seconds=5),
)
services.services_read(endpoint)
category = Category.objects.order_by("pk").first()
services.mapping_set(
    endpoint, service_codes={{category.slug: "pothole"}}, attribute_values={{}}, status_map={{}}
)
ids = [
    idea_create(
        kind="issue", title=title, category=category, location=Point({x}, {y}, srid=4326)
    ).pk
    for title in ("Stored before the kill", "Killed before it was stored")
]
print(json.dumps(ids))
"""


def child_env(db: LiveDatabase) -> dict[str, str]:
    return server_env(
        db.url,
        MAPIDEAS_SITE_URL=SITE,
        MAPIDEAS_OUTBOUND_ALLOW="127.0.0.1/32",
        # Long enough that the child is still waiting when it is killed.
        MAPIDEAS_OUTBOUND_READ_TIMEOUT="30",
        MAPIDEAS_OUTBOUND_DEADLINE="60",
    )


def execute(db: LiveDatabase, sql: str) -> None:
    """A write to the live database, committed (LiveDatabase.rows only reads)."""
    if db.path is not None:
        conn = sqlite3.connect(db.path, timeout=30)
        try:
            conn.execute(sql)
            conn.commit()
        finally:
            conn.close()
    else:
        assert db.pg is not None
        with db.pg.connect(db.name) as conn:
            conn.execute(sql)


def time_passes(db: LiveDatabase) -> None:
    """As long after the kill as it takes: the dead worker's lease has run out, and the
    remote has long had its listing delay (posted_at a minute earlier: the search window
    still holds the POST)."""
    if db.path is not None:
        execute(
            db,
            "UPDATE mapideas_backofficeforward SET claimed_until = '2000-01-01 00:00:00', "
            "next_attempt_at = '2000-01-01 00:00:00', "
            "posted_at = strftime('%Y-%m-%d %H:%M:%f', posted_at, '-90 seconds') "
            "WHERE posted_at IS NOT NULL",
        )
    else:
        execute(
            db,
            "UPDATE mapideas_backofficeforward SET claimed_until = '2000-01-01T00:00:00Z', "
            "next_attempt_at = '2000-01-01T00:00:00Z', "
            "posted_at = posted_at - interval '90 seconds' WHERE posted_at IS NOT NULL",
        )
    execute(db, "UPDATE mapideas_backofficeendpoint SET retry_at = NULL")


def run(db: LiveDatabase) -> str:
    done = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [PYTHON, "manage.py", "sync_backoffice"],
        cwd=ROOT,
        env=child_env(db),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def run_killed_mid_post(db: LiveDatabase, remote: GeoReportServer) -> None:
    """A run whose POST the server holds (see its queued "hang"), SIGKILLed there."""
    remote.rearm()
    child = subprocess.Popen(  # noqa: S603 (a fixed argv, no shell)
        [PYTHON, "manage.py", "sync_backoffice"],
        cwd=ROOT,
        env=child_env(db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        if not remote.holding.wait(60):
            child.kill()
            raise AssertionError(f"no POST reached the server: {child.communicate()[1]!r}")
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        child.wait(30)
        remote.release()


def forwards(db: LiveDatabase) -> dict[int, tuple[str, str]]:
    rows = db.rows("SELECT idea_id, state, remote_id FROM mapideas_backofficeforward")
    return {idea: (state, remote_id) for idea, state, remote_id in rows}


@pytest.fixture
def remote():
    server = GeoReportServer(api_key=KEY)
    server.start()
    # A remote with a past: its lists of the last days are longer than the last hour's.
    server.add_history(5)
    yield server
    server.stop()


def set_up(db: LiveDatabase, remote: GeoReportServer, *, searchable: bool) -> list[int]:
    step = (EAST - WEST) / 4
    done = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [
            PYTHON,
            "-c",
            SET_UP.format(
                base=remote.url,
                key=KEY,
                searchable=searchable,
                x=WEST + step / 2,
                y=(SOUTH + NORTH) / 2,
            ),
        ],
        cwd=ROOT,
        env=child_env(db),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def on_remote(remote: GeoReportServer, pin: int) -> list[str]:
    return [r.service_request_id for r in remote.by_reference(f"{SITE}/ideas/{pin}/")]


def test_a_worker_killed_mid_post_never_posts_a_pin_twice_nor_loses_it(live_databases, remote):
    db = live_databases.new()
    stored, not_stored = set_up(db, remote, searchable=True)

    # Killed while the server holds the first POST, which it stored.
    remote.queue(Behaviour("hang"))
    run_killed_mid_post(db, remote)
    assert forwards(db)[stored] == ("sending", "")
    assert len(on_remote(remote, stored)) == 1

    # The next run finds it there; killed again while the server holds the second pin's
    # POST, which it did not store.
    time_passes(db)
    remote.queue(Behaviour("hang", store=False))
    run_killed_mid_post(db, remote)
    assert forwards(db)[stored] == ("forwarded", on_remote(remote, stored)[0])
    assert forwards(db)[not_stored] == ("sending", "")
    assert on_remote(remote, not_stored) == []

    # Not there, after the remote had its listing delay: posted again, once.
    time_passes(db)
    run(db)
    time_passes(db)
    out = run(db)

    assert "Forwarded 1," in out, out
    for pin in (stored, not_stored):
        (request_id,) = on_remote(remote, pin)
        assert forwards(db)[pin] == ("forwarded", request_id)
    assert len(remote.posts()) == 3


def test_a_worker_killed_mid_post_to_a_remote_that_cannot_be_searched_holds_the_pin(
    live_databases, remote
):
    db = live_databases.new()
    stored, not_stored = set_up(db, remote, searchable=False)

    remote.queue(Behaviour("hang"))
    run_killed_mid_post(db, remote)
    time_passes(db)
    remote.queue(Behaviour("hang", store=False))
    run_killed_mid_post(db, remote)
    time_passes(db)
    out = run(db)

    # Whether the remote has it or not cannot be known there: staff check.
    assert forwards(db) == {stored: ("held", ""), not_stored: ("held", "")}
    assert "held for staff 1" in out, out
    assert len(on_remote(remote, stored)) == 1 and on_remote(remote, not_stored) == []
    assert len(remote.posts()) == 2
