"""Readying an app process before its first request: what mapideas.wsgi does at boot, and
what the bench does before timing requests in its own process (bench/rows.py), so both
serve as the server does.

- The URLconf and every view are imported now, not on the first request: on a busy machine
  that import could outlast gunicorn's request timeout and the first requests would be 500s
  (seen in the 10-minute load run).
- The objects alive after start-up (Django, the apps, their modules: about 230,000) are moved
  out of the cyclic garbage collector's reach with gc.freeze(). They live as long as the
  process, and each full collection walked all of them: about 100 ms, which a request that
  allocates much (a map view of 3,500 pins) paid every few requests (the viewport's
  p95 at zoom 16 was 267 ms where its median was 30 ms, every slow one a full collection).
  Garbage made later is collected as before. CPython's documentation recommends this for
  pre-fork servers: the frozen objects' pages are also no longer written to by the
  collector, so forked workers keep sharing them.
"""

import gc

from django.urls import get_resolver


def warm_up() -> None:
    get_resolver().url_patterns  # noqa: B018 (imports the views)
    gc.collect()  # what start-up left unreachable is freed, not frozen
    gc.freeze()
