"""Rate-limit counters are shared by every server process (RATE_LIMIT_URL's store: the
database, or Redis), not kept per process; CACHE_URL chooses where answers are cached.

Each hit here runs in its own Python process, as two gunicorn workers or two machines would:
the second process must see the first one's count.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from mapideas import settings as project_settings
from tests.mapideas.plumbing.test_rate_limit_store import REDIS_URL, redis_client

ROOT = Path(__file__).resolve().parents[3]

# One rate-limited hit from a fresh process: prints None (allowed) or the seconds to wait.
HIT = """
import django
django.setup()
from django.apps import apps
from django.db import connection
from django.test import RequestFactory
from mapideas.plumbing import ratelimit
if {create_table}:
    with connection.schema_editor() as editor:
        editor.create_model(apps.get_model("mapideas", "RateLimitCounter"))
request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
print(ratelimit.hit(request, {bucket!r}, (2, 3600)))
"""


def hit_in_new_process(env: dict[str, str], bucket: str, *, create_table: bool = False) -> str:
    code = HIT.format(bucket=bucket, create_table=create_table)
    # The code is this module's own template, with a bucket name made here.
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "mapideas.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


# The hits' limit: 2 an hour, in a window that starts on the hour (plumbing.ratelimit).
PERIOD = 3600
# The three hits, each a new Python process, take seconds; on a loaded machine, more.
HITS_TAKE = 120


def clear_of_the_window_end() -> None:
    """Start the hits in a window they all fall in: a run that began a minute before the
    hour would count its third hit in the next window, and see it allowed."""
    left = PERIOD - time.time() % PERIOD
    if left < HITS_TAKE:
        time.sleep(left + 1)


def database_url_of_this_test(tmp_path: Path) -> str:
    """The PostGIS test database itself; for SpatiaLite, whose test database lives in this
    process's memory, a file of its own (the counters' table is all the hits need)."""
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        return (
            f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return f"spatialite:///{tmp_path / 'cache.sqlite3'}"


@pytest.mark.django_db(transaction=True)
def test_processes_count_together_in_the_database(tmp_path):
    env = {
        "DATABASE_URL": database_url_of_this_test(tmp_path),
        "RATE_LIMIT_URL": "db://",
        "SECRET_KEY": django_settings.SECRET_KEY,
    }
    bucket = f"test-{uuid.uuid4().hex}"

    clear_of_the_window_end()
    answers = [
        hit_in_new_process(env, bucket, create_table=connection.vendor == "sqlite"),
        hit_in_new_process(env, bucket),
        hit_in_new_process(env, bucket),
    ]

    assert answers[:2] == ["None", "None"]
    assert 0 < int(answers[2]) <= 3600


def test_processes_count_together_in_redis():
    client = redis_client()  # a skip without Redis, unless under CI
    env = {"RATE_LIMIT_URL": REDIS_URL, "SECRET_KEY": django_settings.SECRET_KEY}
    bucket = f"test-{uuid.uuid4().hex}"

    clear_of_the_window_end()
    answers = [hit_in_new_process(env, bucket) for _ in range(3)]

    assert answers[:2] == ["None", "None"]
    assert 0 < int(answers[2]) <= 3600
    client.flushdb()


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("", "django.core.cache.backends.db.DatabaseCache"),
        ("db://", "django.core.cache.backends.db.DatabaseCache"),
        ("redis://cache.internal:6379/0", "django.core.cache.backends.redis.RedisCache"),
        ("locmem://", "django.core.cache.backends.locmem.LocMemCache"),
    ],
)
def test_cache_url_chooses_the_backend(monkeypatch, url, backend):
    monkeypatch.setenv("CACHE_URL", url)

    assert project_settings._caches()["default"]["BACKEND"] == backend


def test_an_unknown_cache_url_stops_start_up_naming_it(monkeypatch):
    monkeypatch.setenv("CACHE_URL", "memcached://x")

    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        project_settings._caches()
