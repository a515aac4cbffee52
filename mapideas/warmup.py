"""Readying an app process before its first request: what mapideas.wsgi does at boot, and
what the bench does before timing requests in its own process (bench/rows.py), so both
serve as the server does.

- The URLconf and every view are imported now, and reverse()'s table built, not on the
  first request: on a busy machine that import could outlast gunicorn's request timeout and
  the first requests would be 500s (seen in the 10-minute load run).
- The objects alive after start-up (Django, the apps, their modules: about 230,000) are moved
  out of the cyclic garbage collector's reach with gc.freeze(). They live as long as the
  process, and each full collection walked all of them: about 100 ms, which a request that
  allocates much (a map view of 3,500 pins) paid every few requests (the viewport's
  p95 at zoom 16 was 267 ms where its median was 30 ms, every slow one a full collection).
  Garbage made later is collected as before. CPython's documentation recommends this for
  pre-fork servers: the frozen objects' pages are also no longer written to by the
  collector, so forked workers keep sharing them.

- The project's templates are compiled now (the cached template loader keeps them), not by
  the first page each worker renders: 70 ms of a pin page's first answer.

- The modules Django imports on a first request (sessions, messages, context processors,
  date formats) are imported now.

- The queries compiled once per database (neighborhoods.compiled_queries: a pin's page,
  its API answer, routing) are compiled now, for every database the process reads, and the
  form widgets' Jinja2 templates (mapideas.plumbing.form_renderer) too: the first pin page
  each worker served compiled nine queries and six widget templates, 45 ms of its answer.

- The apps' boot steps run (`register`): what a process keeps derived from the city's
  boundaries (geodata's H3 cells of the city and its spatial weights) is computed now, as the
  worker boots, instead of by the first request each worker serves after a start: at
  resolution 9 that was half a second of the first answer, for each of the workers. A step
  that fails (no database yet, tables not migrated) is logged and skipped: its request
  computes it, as before. The connections it opened are closed, so that a preloading master
  forks none.
"""

import gc
import logging
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.forms.renderers import get_default_renderer
from django.template import engines
from django.urls import get_resolver
from django.utils import formats, translation
from django.utils.module_loading import import_string

from mapideas.plumbing.postgis_session import kept_between_requests
from neighborhoods.compiled_queries import compile_all

logger = logging.getLogger(__name__)

_BOOT_STEPS: list[Callable[[], None]] = []


def register(step: Callable[[], None]) -> None:
    """Run `step` when a process readies itself to serve (an app's AppConfig.ready)."""
    if step not in _BOOT_STEPS:
        _BOOT_STEPS.append(step)


def warm_up() -> None:
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 (imports the views)
    # The table reverse() reads is built on its first call, per language (patterns may be
    # translated): 50 ms of the first page or list of pins that names a URL, per worker.
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            resolver.reverse_dict  # noqa: B018 (builds it)
    _import_request_modules()
    _compile_templates()
    _compile_form_templates()
    _compile_queries()
    for step in _BOOT_STEPS:
        try:
            step()
        except Exception:  # the step is an optimisation: its request will compute it
            logger.warning("boot step %s skipped", step.__qualname__, exc_info=True)
    connections.close_all()
    gc.collect()  # what start-up left unreachable is freed, not frozen
    gc.freeze()


def connect_databases() -> None:
    """Open this thread's kept database connections now (gunicorn's post_worker_init runs it
    in the thread that serves the worker's requests): a worker's first request does not
    connect, nor load PostGIS in its new session (mapideas.plumbing.postgis_session). On
    the 1M-pin bench city, each worker's first page took 25 to 50 ms more than the next.

    Only connections that are kept (DB_CONN_MAX_AGE above 0, or a pool); one that is not
    would be closed as the first request starts. A database that does not answer is
    logged, and the first request connects."""
    for alias in settings.DATABASES:
        connection = connections[alias]
        if not kept_between_requests(connection):
            continue
        try:
            connection.ensure_connection()
        except Exception:  # an optimisation: the first request connects
            logger.warning("no connection to %s at boot", alias, exc_info=True)


def _import_request_modules() -> None:
    """What Django imports on a worker's first request, not at start-up: the session engine,
    the message storage, the templates' context processors and each language's date
    formats (10 ms of the first pin page)."""
    import_module(settings.SESSION_ENGINE)
    import_string(settings.MESSAGE_STORAGE)
    for engine in engines.all():
        getattr(getattr(engine, "engine", None), "template_context_processors", None)
    for code, _name in settings.LANGUAGES:
        formats.get_format_modules(code)


def _compile_form_templates() -> None:
    renderer = get_default_renderer()
    warm = getattr(renderer, "compile_templates", None)
    if warm is not None:
        warm()


def _compile_queries() -> None:
    """Each query kept compiled, for each database (the replica's too). A database that
    does not answer yet is said once, not once per query; its queries are compiled by their
    first call. compile_all logs and skips a query that fails on its own."""
    for alias in settings.DATABASES:
        try:
            connections[alias].ensure_connection()
        except Exception:  # an optimisation: its first request compiles them
            logger.warning("queries not compiled for %s: no connection", alias, exc_info=True)
            continue
        compile_all(alias)


def _compile_templates() -> None:
    """Every template of the project's own folders (settings.TEMPLATES' DIRS), compiled into
    the cached loader. One that does not compile is logged and left to its request, which
    reports the error as it always did."""
    for engine in engines.all():
        folders = getattr(getattr(engine, "engine", None), "dirs", [])
        for folder in map(Path, folders):
            for path in sorted(folder.rglob("*.html")):
                name = path.relative_to(folder).as_posix()
                try:
                    engine.get_template(name)
                except Exception:  # its page will say what is wrong
                    logger.warning("template %s not compiled", name, exc_info=True)
