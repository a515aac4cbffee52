"""Rate-limit counters live in a store of their own (mapideas.plumbing.rate_counters): a table
in the database by default, or a Redis that never evicts (RATE_LIMIT_URL). Nothing the site
caches can evict them, a window ends at its stated end however often it is hit, increments
are atomic, and a count holds even when the request's own write then fails.

Every test here runs with the shipped answer cache (CACHE_URL unset: Django's database cache
with its defaults), the cache the counters once shared. The Redis variants use
RATE_LIMIT_URL=redis://127.0.0.1:6379/14 (REDIS_URL names another server): they skip only
when no Redis answers outside CI; under CI (the CI variable set) a missing Redis fails.
"""

import hashlib
import math
import os
import threading
import time

import pytest
import redis
from django.apps import apps
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from mapideas import settings as project_settings
from mapideas.map.api import CACHE_PREFIX
from mapideas.plumbing import ratelimit
from mapideas.plumbing.hashing import keyed_hash

pytestmark = pytest.mark.django_db

HOUR = 3600
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
# The start of an hour (and of a day) two days ahead: windows in the future, so Redis's
# EXPIREAT, read on Redis's own clock, keeps every counter these tests make.
START = (int(time.time()) // 86400 + 2) * 86400
LIMIT = ratelimit.RateLimit("test-window", "TEST_RATE")


@pytest.fixture(autouse=True)
def shipped_answer_cache(settings, monkeypatch):
    """The answer cache as shipped (CACHE_URL unset), rate limits on, counters in the
    database (RATE_LIMIT_URL unset) unless a test names Redis."""
    monkeypatch.delenv("CACHE_URL", raising=False)
    monkeypatch.delenv("RATE_LIMIT_URL", raising=False)
    settings.CACHES = project_settings._caches()
    settings.RATE_LIMIT_URL = "db://"
    settings.MAPIDEAS_RATE_LIMITS = True
    settings.TEST_RATE = (10, HOUR)
    cache.clear()
    yield
    cache.clear()


class Clock:
    """The time rate limits read (ratelimit.now), moved by the test."""

    def __init__(self) -> None:
        self.now = float(START)

    def at(self, seconds: float) -> "Clock":
        self.now = START + seconds
        return self


@pytest.fixture
def clock(monkeypatch) -> Clock:
    controlled = Clock()
    monkeypatch.setattr(ratelimit, "now", lambda: controlled.now)
    return controlled


def redis_client() -> redis.Redis:
    """The test Redis database, emptied; a skip when no Redis answers, unless under CI."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the Redis counters' tests: no Redis answers at {REDIS_URL}")
        pytest.skip(f"no Redis answers at {REDIS_URL} (REDIS_URL): the database store is tested")
    client.flushdb()
    return client


@pytest.fixture(params=["database", "redis"])
def store(request, settings):
    """Each counter store in turn: the database's table, then Redis."""
    if request.param == "redis":
        client = redis_client()
        settings.RATE_LIMIT_URL = REDIS_URL
        yield request.param
        client.flushdb()
    else:
        yield request.param


def every_limit() -> list[ratelimit.RateLimit]:
    """Every limit the site declares (a new one is covered without a change here)."""
    return [value for value in vars(ratelimit).values() if isinstance(value, ratelimit.RateLimit)]


def answer_cache_entries() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {project_settings.CACHE_TABLE}")  # noqa: S608
        return cursor.fetchone()[0]


# --- nothing the site caches can evict a counter -----------------------------------------


def test_filling_the_answer_cache_leaves_every_rate_limit_counter_intact():
    limits = every_limit()
    assert {limit.bucket for limit in limits} >= {"login", "login-account", "signup", "submit"}
    for limit in limits:
        allowed, _period = limit.rate
        identity = keyed_hash("test", limit.bucket)
        answers = [limit.hit(identity) for _ in range(allowed + 1)]
        assert answers[:allowed] == [None] * allowed, limit.bucket
        assert answers[allowed] is not None, limit.bucket

    # 10,000 distinct answers, shaped as the viewport caches its clusters answers (held an
    # hour here, so that only culling can remove one).
    answer = {"type": "FeatureCollection", "mode": "clusters", "features": []}
    keys = [CACHE_PREFIX + hashlib.sha256(str(n).encode()).hexdigest() for n in range(10_000)]
    for key in keys:
        cache.set(key, answer, HOUR)

    assert answer_cache_entries() < 10_000  # the cache culled...
    assert sum(cache.get(key) is None for key in keys[:1000]) > 0  # ...answers it held
    for limit in limits:
        identity = keyed_hash("test", limit.bucket)
        assert limit.hit(identity) is not None, f"{limit.bucket}'s counter was evicted"


# --- a window ends at its stated end ------------------------------------------------------


def test_a_window_ends_at_its_stated_end_however_often_it_is_hit(store, clock):
    identity = keyed_hash("test", "window")
    clock.at(100)
    assert [LIMIT.hit(identity) for _ in range(10)] == [None] * 10
    assert LIMIT.hit(identity) == HOUR - 100

    # Hit every 7 seconds until the last instant of the hour: refused each time, and always
    # told the same end.
    for second in range(101, HOUR, 7):
        clock.at(second)
        assert LIMIT.hit(identity) == HOUR - second
    clock.at(HOUR - 0.25)
    assert LIMIT.hit(identity) == 1

    clock.at(HOUR)  # the next window: ten more
    assert [LIMIT.hit(identity) for _ in range(10)] == [None] * 10
    assert LIMIT.hit(identity) == HOUR


@pytest.mark.parametrize("limit", [ratelimit.FOLLOW, ratelimit.LOGIN], ids=lambda x: x.bucket)
def test_a_limit_per_hour_allows_that_many_in_an_hour(store, clock, limit):
    """ "10/h" is 10 in an hour, not 10 every five minutes: attempts every 15 seconds for an
    hour (240) get exactly the limit through."""
    allowed, period = limit.rate
    assert period == HOUR  # as shipped
    identity = keyed_hash("test", "spread")

    answers = [limit.hit(identity) for _ in (clock.at(second) for second in range(0, HOUR, 15))]

    assert sum(answer is None for answer in answers) == allowed
    assert answers[allowed:] == [HOUR - 15 * n for n in range(allowed, HOUR // 15)]


def test_windows_are_counted_apart_per_bucket_and_identity(store, clock, settings):
    settings.TEST_RATE = (1, HOUR)
    other = ratelimit.RateLimit("test-other", "TEST_RATE")
    clock.at(5)

    assert LIMIT.hit("a") is None
    assert LIMIT.hit("b") is None
    assert other.hit("a") is None
    assert LIMIT.hit("a") == HOUR - 5


def test_ended_windows_are_purged(clock):
    counters = apps.get_model("mapideas", "RateLimitCounter")
    clock.at(10)
    LIMIT.hit("early")
    LIMIT.hit("early")
    assert counters.objects.filter(identity="early").exists()

    clock.at(HOUR + 10)  # a new window: the ended ones go
    LIMIT.hit("later")

    assert list(counters.objects.values_list("identity", "hits")) == [("later", 1)]


def test_rate_limits_off_count_nothing(store, clock, settings):
    settings.MAPIDEAS_RATE_LIMITS = False

    assert {LIMIT.hit("off") for _ in range(20)} == {None}


# --- increments are atomic, and counts hold --------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_concurrent_hits_are_each_counted_once(settings, backend):
    if backend == "redis":
        client = redis_client()
        settings.RATE_LIMIT_URL = REDIS_URL
    elif connection.vendor == "sqlite":
        pytest.skip(
            "SQLite's in-memory test database shares one cache between connections, where a "
            "writer meets another with SQLITE_LOCKED at once instead of waiting; SQLite takes "
            "one writer at a time anyway (test_shared_cache.py counts from several processes)"
        )
    settings.TEST_RATE = (50, HOUR)
    threads, hits_each = 8, 25
    answers: list = []
    start = threading.Barrier(threads)

    def hit_many() -> None:
        try:
            start.wait()
            mine = [LIMIT.hit("racing") for _ in range(hits_each)]
            answers.extend(mine)
        finally:
            connection.close()

    workers = [threading.Thread(target=hit_many) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(answers) == threads * hits_each
    assert sum(answer is None for answer in answers) == 50
    if backend == "redis":
        client.flushdb()


@ratelimit.rate_limited(LIMIT)
def failing_write(request):
    """A page whose write fails after its request was counted."""
    with transaction.atomic():
        apps.get_model("mapideas", "Category").objects.create(slug="dup", name="One")
        apps.get_model("mapideas", "Category").objects.create(slug="dup", name="Two")
    return HttpResponse("written")


@pytest.mark.django_db(transaction=True)
def test_a_count_holds_when_the_views_write_fails(settings):
    settings.TEST_RATE = (2, HOUR)
    rf = RequestFactory()

    for _ in range(2):
        with pytest.raises(IntegrityError):
            failing_write(rf.post("/", REMOTE_ADDR="203.0.113.50"))

    assert failing_write(rf.post("/", REMOTE_ADDR="203.0.113.50")).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_counting_inside_a_callers_transaction_is_refused():
    """A count is its own transaction, committed at once: inside a caller's, a rollback of
    the caller's would take it back (and hold the counter's row lock until the caller ends).
    A caller counts first, then opens its transaction."""
    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        LIMIT.hit("inside")


# --- Redis: counters that are never evicted -------------------------------------------------


def test_redis_counters_expire_at_their_windows_end(settings, clock):
    client = redis_client()
    settings.RATE_LIMIT_URL = REDIS_URL
    clock.at(100)

    LIMIT.hit(keyed_hash("test", "expiry"))

    keys = client.keys("*")
    assert len(keys) == 1
    # At the window's end, give or take the margin for the machines' clocks.
    assert START + HOUR <= client.expiretime(keys[0]) <= START + HOUR + 120
    client.flushdb()


def test_a_redis_that_never_evicts_passes_the_check(settings):
    redis_client()
    settings.RATE_LIMIT_URL = REDIS_URL
    from mapideas.plumbing import rate_counters

    assert rate_counters.check_rate_limit_store() == []


class ConfigOf:
    """A Redis server's answer to CONFIG GET, as redis-py gives it (no server needed)."""

    def __init__(self, policy: str | None) -> None:
        self.policy = policy

    def config_get(self, name: str) -> dict:
        if self.policy is None:
            raise redis.ResponseError("unknown command 'CONFIG'")
        return {name: self.policy}


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-ttl", "allkeys-random"])
def test_a_redis_that_may_evict_is_refused_naming_its_policy(policy):
    from mapideas.plumbing import rate_counters

    problem = rate_counters.eviction_problem(ConfigOf(policy))

    assert problem is not None and problem.refuses
    assert policy in problem.message and "noeviction" in problem.message
    assert "RATE_LIMIT_URL" in problem.message


def test_a_redis_that_hides_its_policy_is_a_warning():
    from mapideas.plumbing import rate_counters

    problem = rate_counters.eviction_problem(ConfigOf(None))

    assert problem is not None and not problem.refuses
    assert "CONFIG GET" in problem.message and "noeviction" in problem.message


# --- the setting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "chosen"),
    [
        ("", "db://"),
        ("db://", "db://"),
        ("redis://counters.internal:6379/2", "redis://counters.internal:6379/2"),
        ("rediss://counters.internal:6380/0", "rediss://counters.internal:6380/0"),
    ],
)
def test_rate_limit_url_chooses_the_store(monkeypatch, url, chosen):
    monkeypatch.setenv("RATE_LIMIT_URL", url)

    assert project_settings._rate_limit_url() == chosen


@pytest.mark.parametrize("url", ["locmem://", "memcached://x", "counters"])
def test_an_unknown_rate_limit_url_stops_start_up_naming_it(monkeypatch, url):
    monkeypatch.setenv("RATE_LIMIT_URL", url)

    with pytest.raises(ImproperlyConfigured, match="RATE_LIMIT_URL"):
        project_settings._rate_limit_url()


def test_the_answer_caches_redis_database_is_refused_for_counters(monkeypatch):
    monkeypatch.setenv("CACHE_URL", "redis://cache.internal:6379/0")
    monkeypatch.setenv("RATE_LIMIT_URL", "redis://cache.internal:6379/0")

    with pytest.raises(ImproperlyConfigured, match="RATE_LIMIT_URL.*CACHE_URL"):
        project_settings._rate_limit_url()


# --- sign-up is limited per IP address, whoever is signed in ---------------------------


def test_a_signed_in_session_is_limited_in_sign_ups_by_its_address(client, settings, make_user):
    settings.MAPIDEAS_RATE_SIGNUP = (3, HOUR)
    settings.MAPIDEAS_SUBMISSION_MODES = ["account", "email", "anonymous"]
    client.force_login(make_user("signed-in-signer"))
    address = {"REMOTE_ADDR": "198.51.100.23"}

    def sign_up(n: int) -> int:
        return client.post(
            "/accounts/signup/",
            {
                "username": f"made-{n}",
                "email": f"made-{n}@mail.example",
                "password": "river-lantern-copper-71",
                "password_again": "river-lantern-copper-71",
            },
            **address,
        ).status_code

    answers = [sign_up(n) for n in range(5)]

    assert 429 not in answers[:3]
    assert answers[3:] == [429, 429]
    # The address is what is counted: signed out, the same address is refused too, and
    # another address is not.
    client.logout()
    assert sign_up(9) == 429
    assert client.post("/accounts/signup/", {}, REMOTE_ADDR="198.51.100.24").status_code != 429


def test_the_counters_table_is_the_one_the_store_writes():
    from mapideas.plumbing import rate_counters

    model = apps.get_model("mapideas", "RateLimitCounter")
    assert model._meta.db_table == rate_counters.COUNTER_TABLE


def test_the_retry_after_of_a_fractional_second_rounds_up(store, clock, settings):
    settings.TEST_RATE = (0, 60)
    clock.at(59.2)

    assert LIMIT.hit("late") == math.ceil(60 - 59.2)
