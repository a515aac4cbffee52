"""Where the rate limits' counters live: a store of their own, that nothing else stored can
evict (docs/decisions/0015-rate-limit-counters.md).

- `RATE_LIMIT_URL` unset (or `db://`): the table mapideas_ratelimitcounter in the database
  (the model mapideas.models.RateLimitCounter; plumbing imports no model, so it is written
  here in SQL). One row per client, limit and window, counted by one atomic upsert in a
  transaction of its own.
- `RATE_LIMIT_URL=redis://host:6379/N`: a Redis that never evicts (maxmemory-policy
  noeviction), never the answer cache's (CACHE_URL); INCR and EXPIREAT in one MULTI/EXEC.

Either way a window is fixed, keyed by its start: it ends at its stated end however often
it is hit, and a new window is a new counter (mapideas.plumbing.ratelimit).
"""

import logging
from dataclasses import dataclass
from threading import Lock
from typing import Any, Protocol

import redis
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

COUNTER_TABLE = "mapideas_ratelimitcounter"
# How many ended windows one purge deletes at most: the purge stays short, and every new
# window purges again, so a backlog drains.
PURGE_BATCH = 1000
# A Redis counter outlives its window by this much: Redis reads EXPIREAT on its own clock,
# which may run ahead of the servers' by a little. The window still ends on time (a new
# window is a new key); this only keeps the count until then.
CLOCK_SKEW_MARGIN = 60


class CounterStore(Protocol):
    def increment(self, *, bucket: str, identity: str, window: tuple[int, int], now: float) -> int:
        """Count one hit of `identity` in `bucket` during `window` (start, end: epoch
        seconds); returns the window's count, this hit included."""
        ...


class DatabaseCounters:
    """The counters' table in the default database (never a replica: the count is a
    write, and a replica may lag)."""

    def increment(self, *, bucket: str, identity: str, window: tuple[int, int], now: float) -> int:
        connection = connections[DEFAULT_DB_ALIAS]
        # One statement, atomic on both backends (PostgreSQL, and SQLite since 3.35): two
        # hits at once both land, neither reads a count the other is about to write.
        # Durable: the count is committed now, on its own. Inside a caller's transaction it
        # would be lost to that caller's rollback (a view whose write failed would not have
        # counted) and would hold the row's lock until the caller ended; a caller counts
        # first, then opens its transaction. Run in autocommit, as one statement, it is
        # its own transaction: one round trip, where atomic(durable=True) sends BEGIN and
        # COMMIT as two more, on every request a limit counts.
        _refuse_inside_transactions(connection)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {COUNTER_TABLE}"  # noqa: S608 (a constant table name)
                " (bucket, identity, window_start, window_end, hits)"
                " VALUES (%s, %s, %s, %s, 1)"
                " ON CONFLICT (bucket, identity, window_start, window_end)"
                f" DO UPDATE SET hits = {COUNTER_TABLE}.hits + 1"
                " RETURNING hits",
                [bucket, identity, window[0], window[1]],
            )
            hits = int(cursor.fetchone()[0])
        if hits == 1:
            # A new window: the ended ones go, so the table holds the current windows only.
            self.purge(now=now)
        return hits

    def purge(self, *, now: float) -> int:
        """Delete the windows that have ended (a batch of them); returns how many."""
        connection = connections[DEFAULT_DB_ALIAS]
        # PostgreSQL: rows another purge is deleting are skipped, not waited for (two
        # purges locking ended rows in different orders could otherwise deadlock). SQLite
        # has one writer at a time.
        skip_locked = (
            " FOR UPDATE SKIP LOCKED"
            if connection.features.has_select_for_update_skip_locked
            else ""
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {COUNTER_TABLE} WHERE id IN"  # noqa: S608 (constants only)
                f" (SELECT id FROM {COUNTER_TABLE} WHERE window_end <= %s"
                f" ORDER BY window_end LIMIT {PURGE_BATCH}{skip_locked})",
                [int(now)],
            )
            return cursor.rowcount


def _refuse_inside_transactions(connection: BaseDatabaseWrapper) -> None:
    """What atomic(durable=True) checks, without opening a transaction: no caller's atomic
    block is open (a test case's own wrapping block aside, as Django's durable check allows)."""
    blocks = connection.atomic_blocks
    if blocks and not getattr(blocks[-1], "_from_testcase", False):
        raise RuntimeError(
            "A rate count is durable: it cannot run inside a caller's transaction "
            "(count first, then open the transaction)."
        )


class RedisCounters:
    """Counters in a Redis whose maxmemory-policy is noeviction: checked the first time a
    process counts (ImproperlyConfigured otherwise), and by `manage.py check`."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.checked = False

    def increment(self, *, bucket: str, identity: str, window: tuple[int, int], now: float) -> int:
        if not self.checked:
            problem = eviction_problem(self.client)
            if problem is not None and problem.refuses:
                raise ImproperlyConfigured(problem.message)
            if problem is not None:
                logger.warning(problem.message)
            self.checked = True
        key = f"mapideas:rate:{bucket}:{identity}:{window[0]}:{window[1]}"
        # MULTI/EXEC: the count and its expiry together, never a counter left without one.
        pipeline = self.client.pipeline(transaction=True)
        pipeline.incr(key)
        pipeline.expireat(key, window[1] + CLOCK_SKEW_MARGIN)
        hits, _expiry_set = pipeline.execute()
        return int(hits)


@dataclass(frozen=True)
class EvictionProblem:
    message: str
    refuses: bool  # an error (counters could be evicted), else a warning (cannot tell)


def eviction_problem(client: Any) -> EvictionProblem | None:
    """What is wrong with keeping counters in this Redis: None when its maxmemory-policy is
    noeviction. Any other policy evicts keys when memory is full (volatile-* ones evict
    exactly the keys with an expiry, as every counter has), and an evicted counter starts
    again at zero."""
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except redis.ResponseError as refused:
        return EvictionProblem(
            "RATE_LIMIT_URL: this Redis refuses CONFIG GET maxmemory-policy "
            f"({refused}), so MapIdeas cannot tell whether it may evict rate-limit counters: "
            "make sure its maxmemory-policy is noeviction.",
            refuses=False,
        )
    if policy != "noeviction":
        return EvictionProblem(
            f"RATE_LIMIT_URL: this Redis's maxmemory-policy is {policy!r}, which evicts keys "
            "when memory is full, rate-limit counters included (a limit would start again "
            "at zero): use a Redis (or a database of one) whose maxmemory-policy is "
            "noeviction, or unset RATE_LIMIT_URL to count in the database.",
            refuses=True,
        )
    return None


_stores: dict[str, CounterStore] = {}
_stores_lock = Lock()


def counter_store() -> CounterStore:
    """The store RATE_LIMIT_URL names (one per process and URL)."""
    url = settings.RATE_LIMIT_URL
    with _stores_lock:
        store = _stores.get(url)
        if store is None:
            store = DatabaseCounters() if url == "db://" else RedisCounters(url)
            _stores[url] = store
        return store


@checks.register("rate_limits")
def check_rate_limit_store(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check` (also run by migrate and runserver): a Redis for the counters must
    answer and never evict."""
    url = settings.RATE_LIMIT_URL
    if url == "db://":
        return []
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        problem = eviction_problem(client)
    except redis.RedisError as error:
        return [
            checks.Error(
                f"RATE_LIMIT_URL: no answer from the Redis for rate-limit counters ({error}).",
                id="mapideas.E101",
            )
        ]
    finally:
        client.close()
    if problem is None:
        return []
    if problem.refuses:
        return [checks.Error(problem.message, id="mapideas.E102")]
    return [checks.Warning(problem.message, id="mapideas.W101")]
