"""gunicorn's settings, shared by `make run` (scripts/run.sh) and the bench's HTTP rows
(bench/rows.py, bench/rows_exports.py), so the bench measures the server as it is run:

    gunicorn mapideas.wsgi --config python:mapideas.gunicorn_conf --bind 127.0.0.1:8000

WEB_CONCURRENCY  worker processes (default: 2 per CPU core). A worker waiting for
                 PostgreSQL holds no core, so with the database on the same machine more
                 workers than cores keep the cores busy (measured in the README's
                 "Benchmarks": 2 workers on 2 cores left them idle between round trips).
WEB_THREADS      threads per worker (default 1: one request at a time per worker, as sync
                 workers served them). Above 1, a worker also keeps HTTP connections alive;
                 set DB_POOL_SIZE too, so a worker's threads share a bounded pool of
                 connections (settings.py).
WEB_TIMEOUT      seconds a step of MapIdeas' own work may take before its worker is restarted
                 (default 30): a view until it returns its answer, the making of each piece
                 of a streamed body; and seconds a client may take no byte of its answer
                 before it is dropped. Not the length of a download: a million pins stream
                 for longer than that (mapideas/plumbing/request_watch.py).

The workers are gthread workers, always: their main loop tells the arbiter they are alive
while a thread writes a long answer, where a sync worker is killed in the middle of any
request that lasts WEB_TIMEOUT (docs/decisions/0020-exports-over-http.md).

Database connections: DB_CONN_MAX_AGE (one persistent connection per worker thread: Django's
connections belong to a thread, and a worker's threads are the same ones from request to
request) or DB_POOL_SIZE (a pool per worker), and DB_PREPARE_THRESHOLD; scripts/run.sh sets
them.
"""

import multiprocessing
import os

from mapideas.plumbing import request_watch


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


workers = max(1, _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
threads = max(1, _int("WEB_THREADS", 1))
worker_class = "gthread"
timeout = _int("WEB_TIMEOUT", 30)
if threads == 1:
    # One connection at a time, closed after its answer, as a sync worker: a worker busy with
    # a download takes no new connection (it would wait behind the download), an idle one
    # does.
    worker_connections = 1
    keepalive = 0
else:
    # How long an idle client's connection is kept open for its next request.
    keepalive = 5
# Every request on stdout, as before (an access log costs little next to a request).
accesslog = "-"


def post_worker_init(worker) -> None:  # noqa: ANN001 (gunicorn's Worker)
    request_watch.install(worker, timeout)
    # The worker's database connections, opened by the thread that will use them (Django's
    # connections belong to a thread): a gthread worker serves requests from its pool.
    from mapideas.warmup import connect_databases  # the app is loaded by now

    pool = getattr(worker, "tpool", None)
    if pool is not None:
        connected = pool.submit(connect_databases)
        connected.add_done_callback(lambda _done: _ready(worker))
    else:
        connect_databases()
        _ready(worker)


# What a worker logs once it is ready to serve: the bench waits for every worker's line
# before it times anything (bench/rows.py), so no request is timed beside a booting worker.
WORKER_READY = "Worker ready"


def _ready(worker) -> None:  # noqa: ANN001 (gunicorn's Worker)
    worker.log.info("%s (pid: %s)", WORKER_READY, worker.pid)
