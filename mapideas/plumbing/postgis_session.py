"""A kept PostgreSQL connection loads PostGIS when it opens, not in the middle of a request.

A PostgreSQL session loads the PostGIS library the first time one of its statements uses a
geometry, and PROJ the first time one transforms coordinates: 12 and 10 ms on an idle
machine here, two to four times that on a busy one. A server process keeps its connection
(`DB_CONN_MAX_AGE`, or a pool's connection) and opens a new one every so often; the first
geometry read after that paid for both, wherever it fell. On the 1M-pin bench city, the OGC
API's first page (p50 15 ms) took about 50 ms in each worker whose connection had been
reopened during the planner's layers, which read no geometry: its p95 was 2.8 times its
floor, for a tenth of its requests.

Here the request that opens the connection pays instead, beside the connection's own cost.
Only for connections that are kept: a connection opened for one request (`DB_CONN_MAX_AGE`
0, the default outside `make run`) loads what that request uses, as before.

Never an error: without PostGIS (a new database, before its first `migrate`) or with
anything else amiss, the statement does nothing, and the first geometry read loads it.
"""

import weakref
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

# One round trip, in its own subtransaction: whatever fails is caught inside.
LOAD_POSTGIS = (
    "DO $$ BEGIN PERFORM ST_Transform(ST_SetSRID(ST_MakePoint(0, 0), 4326), 3857);"
    " EXCEPTION WHEN OTHERS THEN NULL; END $$"
)

# The driver's connections that have loaded it: a pooled connection is handed out (and
# Django says "connection created") once per request, and loads it once.
_loaded: "weakref.WeakSet[Any]" = weakref.WeakSet()


def kept_between_requests(connection: BaseDatabaseWrapper) -> bool:
    """Whether `connection` outlives a request: DB_CONN_MAX_AGE above 0 (or None), or a pool
    (settings.py). Otherwise Django closes it as the request that opened it ends."""
    settings = connection.settings_dict
    return settings.get("CONN_MAX_AGE") != 0 or bool(settings.get("OPTIONS", {}).get("pool"))


def load_postgis_when_connected(sender: object, connection: BaseDatabaseWrapper, **kwargs) -> None:
    """django.db.backends.signals.connection_created's receiver."""
    if connection.vendor != "postgresql" or not kept_between_requests(connection):
        return
    raw = connection.connection
    if raw is None or raw in _loaded:
        return
    with raw.cursor() as cursor:
        cursor.execute(LOAD_POSTGIS)
    if not connection.get_autocommit():
        raw.commit()
    _loaded.add(raw)
