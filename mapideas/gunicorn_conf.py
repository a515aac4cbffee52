"""gunicorn's settings, shared by `make run` (scripts/run.sh) and the bench's HTTP row
(bench/rows.py), so the bench measures the server as it is run:

    gunicorn mapideas.wsgi --config python:mapideas.gunicorn_conf --bind 127.0.0.1:8000

WEB_CONCURRENCY  worker processes (default: 2 per CPU core). A worker waiting for
                 PostgreSQL holds no core, so with the database on the same machine more
                 workers than cores keep the cores busy (measured in the README's
                 "Benchmarks": 2 workers on 2 cores left them idle between round trips).
WEB_THREADS      threads per worker (default 1: sync workers). Above 1, gthread workers,
                 which also keep HTTP connections alive; set DB_POOL_SIZE too, so a
                 worker's threads share a bounded pool of connections (settings.py).
WEB_TIMEOUT      seconds before a stuck worker is restarted (default 30).

Database connections: DB_CONN_MAX_AGE (one persistent connection per worker thread) or
DB_POOL_SIZE (a pool per worker), and DB_PREPARE_THRESHOLD; scripts/run.sh sets them.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


workers = max(1, _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
threads = max(1, _int("WEB_THREADS", 1))
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("WEB_TIMEOUT", 30)
# gthread only: how long an idle client's connection is kept open for its next request.
keepalive = 5
# Every request on stdout, as before (an access log costs little next to a request).
accesslog = "-"
