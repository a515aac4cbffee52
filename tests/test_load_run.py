"""`make load` (scripts/load_run.py), short: 20 s of mixed traffic (pins with Idempotency-Keys
and deliberate retries, viewports, lists, pin pages, supports, comments by citizens logged in
with accounts made before the run, exports) driven by Locust against a real gunicorn server
on a live database, on both backends. Zero server errors, every login accepted, comments
made, and exactly one row per acknowledged pin. The full run is `make load` (10 minutes).
"""

import importlib.util
import time

import pytest

from tests.mapideas.crash_support import ROOT, Server, free_port, server_env

pytestmark = pytest.mark.load

SECONDS = 20


def load_run_module():
    spec = importlib.util.spec_from_file_location("load_run", ROOT / "scripts" / "load_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_short_load_run_has_no_server_error_and_one_row_per_acknowledged_pin(
    live_databases, tmp_path
):
    load_run = load_run_module()
    db = live_databases.new()
    env = server_env(db.url)
    log = tmp_path / "gunicorn.log"
    server = Server(env, free_port(8700, 8799), log, access_log=True)
    server.start()
    started = time.monotonic()
    try:
        result = load_run.run(
            server.base,
            database_env=env,
            seconds=SECONDS,
            users=6,
            workdir=tmp_path / "load",
            access_log=log,
        )
    finally:
        server.stop()

    print(result.summary())
    # The signed-in visitors logged in (through /accounts/login/, with accounts made before
    # the run), every one of them, and commented.
    logins = {k: n for k, n in result.statuses.items() if k.startswith("POST /accounts/login/ ")}
    assert logins and set(logins) == {"POST /accounts/login/ 302"}, result.summary()
    assert result.statuses.get("POST /api/ideas/<id>/comments/ 201", 0) > 0, result.summary()
    assert result.problems == [], result.summary()
    assert result.server_errors == 0 and result.access_log_5xx == 0
    assert result.acknowledged > 0 and result.rows == result.acknowledged
    assert result.requests > 50
    assert time.monotonic() - started < SECONDS + 60
