"""mapideas.plumbing.postgis_session: a kept PostgreSQL connection loads PostGIS as it opens."""

import contextlib

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from mapideas.plumbing import postgis_session

# A statement whose effect on the session can be read back, in place of the load itself
# (which leaves nothing a query can see).
MARK = "SET application_name = 'postgis-loaded'"


@contextlib.contextmanager
def new_connection(**settings):
    """A connection of its own to the test database, with `settings` over the default's."""
    default = connections[DEFAULT_DB_ALIAS]
    opened = type(default)({**default.settings_dict, **settings}, alias=DEFAULT_DB_ALIAS)
    try:
        opened.ensure_connection()
        yield opened
    finally:
        opened.close()


def application_name(opened) -> str | None:
    if opened.vendor != "postgresql":
        return None
    with opened.cursor() as cursor:
        cursor.execute("SHOW application_name")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_kept_connection_runs_the_load_as_it_opens(monkeypatch):
    monkeypatch.setattr(postgis_session, "LOAD_POSTGIS", MARK)
    with new_connection(CONN_MAX_AGE=60) as opened:
        if opened.vendor == "postgresql":
            assert application_name(opened) == "postgis-loaded"
            assert opened.connection in postgis_session._loaded
        else:
            # SQLite: the backend loads SpatiaLite as it connects; nothing more is run.
            assert opened.connection not in postgis_session._loaded


@pytest.mark.django_db
def test_a_connection_for_one_request_loads_what_that_request_uses(monkeypatch):
    monkeypatch.setattr(postgis_session, "LOAD_POSTGIS", MARK)
    with new_connection(CONN_MAX_AGE=0) as opened:
        assert application_name(opened) != "postgis-loaded"
        assert opened.connection not in postgis_session._loaded


@pytest.mark.django_db
def test_the_load_is_run_once_per_connection_of_the_driver(monkeypatch):
    ran = []
    monkeypatch.setattr(postgis_session, "LOAD_POSTGIS", MARK)
    with new_connection(CONN_MAX_AGE=60) as opened:
        if opened.vendor != "postgresql":
            pytest.skip("PostgreSQL only: SQLite connections load SpatiaLite themselves")
        monkeypatch.setattr(postgis_session, "LOAD_POSTGIS", "SELECT 1")
        original = opened.connection.cursor

        def counted_cursor(*args, **kwargs):
            ran.append(1)
            return original(*args, **kwargs)

        monkeypatch.setattr(opened.connection, "cursor", counted_cursor)
        # A pool hands the same connection out again, and Django says "created" each time.
        postgis_session.load_postgis_when_connected(sender=None, connection=opened)
        assert ran == []


@pytest.mark.django_db
def test_the_load_itself_never_fails_the_connection():
    with new_connection(CONN_MAX_AGE=60) as opened:
        if opened.vendor != "postgresql":
            pytest.skip("PostgreSQL only")
        with opened.cursor() as cursor:
            # PostGIS is loaded: the statement transforms a point.
            cursor.execute(postgis_session.LOAD_POSTGIS)
            # Without PostGIS in reach (a new database before its first migrate), it does
            # nothing, and the session can go on.
            cursor.execute("SET search_path = pg_catalog")
            cursor.execute(postgis_session.LOAD_POSTGIS)
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
