"""When a gunicorn worker is stuck, so that WEB_TIMEOUT bounds a request's work and not the
time its client takes to download the answer (mapideas/gunicorn_conf.py installs it in each
worker; docs/decisions/0020-exports-over-http.md).

A request is a series of steps of MapIdeas' own work: from its start until the view returns
its response, then the making of each piece of a streamed body, then closing it. Between two
steps gunicorn writes to the client, who may read slowly: that time is the client's, bounded
by a send time-out on the socket (a client that takes no byte for WEB_TIMEOUT seconds is
dropped, as a proxy's send time-out drops it), never by restarting the worker.

A step that lasts WEB_TIMEOUT seconds is a stuck worker: its heartbeat stops and gunicorn's
arbiter restarts it ("WORKER TIMEOUT"), as it restarted a sync worker whose request outlasted
the time-out. Work that rightly goes on for long before its first byte (a GeoPackage of a
million pins is written whole before it is sent) says it is moving with `progress()`.
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

# A step younger than this never holds back the heartbeat: gunicorn's threaded worker beats
# about once a second, and most steps (a piece of a body, most views) take milliseconds.
GRACE_S = 1.0


class RequestWatch:
    """The step in progress of each of a worker's threads."""

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self._clock = clock
        self._steps: dict[int, float] = {}  # thread id -> when its step in progress began

    def begin(self) -> None:
        """The calling thread starts a step (or shows that its step is still moving)."""
        self._steps[threading.get_ident()] = self._clock()

    def end(self) -> None:
        self._steps.pop(threading.get_ident(), None)

    def longest_step(self) -> float:
        """Seconds the oldest step in progress has run (0 when no thread is in a step)."""
        # list() copies the values in one go under the GIL: other threads may add or drop.
        started = list(self._steps.values())
        return self._clock() - min(started) if started else 0.0

    def alive(self) -> bool:
        """Whether the worker may tell the arbiter it is alive: no step is overdue."""
        return self.longest_step() < GRACE_S

    def heartbeat(self, notify: Callable[[], None]) -> Callable[[], None]:
        """`notify` (the worker's heartbeat), skipped while a step is overdue: a step that
        never ends makes the arbiter restart the worker WEB_TIMEOUT seconds later."""

        def beat() -> None:
            if self.alive():
                notify()

        return beat

    def app(self, application: Callable[..., Any]) -> Callable[..., Any]:
        """The WSGI application with its steps watched and the client's socket given a send
        time-out (`gunicorn.socket`)."""

        def watched(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
            client = environ.get("gunicorn.socket")
            if client is not None:
                client.settimeout(self.timeout)
            self.begin()
            try:
                body = application(environ, start_response)
            finally:
                self.end()
            file_wrapper = environ.get("wsgi.file_wrapper")
            if file_wrapper is not None and isinstance(body, file_wrapper):
                # A file on disk that gunicorn sends itself (sendfile): no work of ours, and
                # wrapping it would lose the sendfile.
                return body
            return _WatchedBody(self, body)

        return watched


class _WatchedBody:
    """A response body whose every piece, and its close(), is a step."""

    def __init__(self, watch: RequestWatch, body: Iterable[bytes]) -> None:
        self._watch = watch
        self._body = body
        self._pieces: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        self._watch.begin()
        try:
            if self._pieces is None:
                self._pieces = iter(self._body)
            return next(self._pieces)
        finally:
            self._watch.end()

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is None:
            return
        self._watch.begin()
        try:
            close()
        finally:
            self._watch.end()


# The watch of this process, once installed (gunicorn workers only; None elsewhere).
_installed: RequestWatch | None = None


def install(worker: Any, timeout: float) -> RequestWatch:
    """Watch a gunicorn worker: its application's steps, and its heartbeat held back while a
    step is overdue. Called from gunicorn's post_worker_init hook."""
    global _installed
    watch = RequestWatch(timeout)
    worker.wsgi = watch.app(worker.wsgi)
    worker.notify = watch.heartbeat(worker.notify)
    _installed = watch
    return watch


def progress() -> None:
    """The calling thread's long step is moving (a chunk more written): it starts anew. A
    no-op outside a watched worker (tests, commands)."""
    if _installed is not None:
        _installed.begin()


@contextlib.contextmanager
def unwatched() -> Iterator[None]:
    """A step of the calling thread that cannot say it is moving but ends with the data it is
    given (GDAL converting a finished file in one call): it is not watched; the step starts
    anew when it ends. A no-op outside a watched worker."""
    watch = _installed
    if watch is None:
        yield
        return
    watch.end()
    try:
        yield
    finally:
        watch.begin()
