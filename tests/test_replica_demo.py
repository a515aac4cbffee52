"""Past one machine, proved on this one: `make replica-demo` (scripts/replica_demo.sh) starts a
PostgreSQL primary and a streaming replica, two app servers, sends pins through both and
reads the engagement layer from the replica, with nothing lost (docs/operations/scaling.md).

It runs on the PostGIS leg of `make test` only (about 45 s): streaming replication is
PostgreSQL's, and the script starts its own clusters and servers on free ports whatever the
leg's DATABASE_URL.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "replica_demo.sh"


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.contrib.gis.db.backends.postgis",
    reason="PostgreSQL streaming replication: runs on the PostGIS leg",
)
def test_two_servers_a_primary_and_a_replica_lose_no_pin():
    env = {
        name: value
        for name, value in os.environ.items()
        # The script sets the databases, cache and key of its own servers.
        if name not in {"DATABASE_URL", "DATABASE_REPLICA_URL", "CACHE_URL", "SECRET_KEY"}
    }
    env["REPLICA_DEMO_PINS"] = "200"
    done = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [shutil.which("bash") or "/bin/bash", str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "PASS" in output
    assert "every pin acknowledged: 200 of 200" in output
    assert "FAIL" not in output
