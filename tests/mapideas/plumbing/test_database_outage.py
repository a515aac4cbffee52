"""A database outage is a 503 with Retry-After, never a 500 (mapideas.plumbing.outage). The real
PostgreSQL restart is in tests/mapideas/test_crash_safety.py; here the errors are injected."""

import sqlite3

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from mapideas.pins import selectors
from mapideas.plumbing import outage
from mapideas.submission import services
from tests.mapideas.submission.test_api_ideas_create import URL, body

pytestmark = pytest.mark.django_db


def down(*args, **kwargs):
    raise OperationalError("terminating connection due to administrator command")


@pytest.fixture
def client_500():
    """Django's test client re-raises a view's exception unless told not to."""
    return Client(raise_request_exception=False)


def test_the_api_answers_503_json_with_retry_after(client_500, city, monkeypatch):
    monkeypatch.setattr(selectors, "public_ideas", down)

    response = client_500.get(URL)

    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert response["Content-Type"] == "application/json"
    assert "try again" in response.json()["detail"]


def test_a_pin_sent_during_an_outage_is_a_503(client_500, city, category, monkeypatch):
    monkeypatch.setattr(services, "idea_submit", down)

    response = client_500.post(URL, body(), content_type="application/json")

    assert response.status_code == 503
    assert response["Retry-After"]


def test_a_page_answers_a_plain_503(client_500, city, monkeypatch):
    monkeypatch.setattr(
        "mapideas.submission.views.active_neighborhoods",
        lambda: (_ for _ in ()).throw(InterfaceError()),
    )

    response = client_500.get("/")

    assert response.status_code == 503
    assert response["Retry-After"]
    assert response["Content-Type"].startswith("text/plain")


def test_an_outage_in_a_middleware_is_a_503_too(client_500, city, monkeypatch):
    """The session saved in SessionMiddleware.process_response: no view raised, so
    process_exception never runs; handler500 (mapideas.plumbing.outage.server_error) answers."""
    from django.contrib.sessions.middleware import SessionMiddleware

    def save_fails(self, request, response):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(SessionMiddleware, "process_response", save_fails)

    response = client_500.get("/")

    assert response.status_code == 503
    assert response["Retry-After"]


def test_handler500_turns_only_outages_into_503(rf):
    request = rf.get("/api/ideas/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = outage.server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"]
    try:
        raise ValueError("a bug")
    except ValueError:
        response = outage.server_error(request)
    assert response.status_code == 500


def test_a_bad_query_on_sqlite_stays_a_500():
    """SQLite says OperationalError for a missing column too: a bug, not an outage."""
    try:
        try:
            raise sqlite3.OperationalError("no such column: x")
        except sqlite3.OperationalError as cause:
            raise OperationalError("no such column: x") from cause
    except OperationalError as exc:
        assert not outage.is_outage(exc)
    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as cause:
            raise OperationalError("database is locked") from cause
    except OperationalError as exc:
        assert outage.is_outage(exc)


def test_other_errors_stay_500(client_500, city, monkeypatch):
    def bug(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "public_ideas", bug)

    assert client_500.get(URL).status_code == 500
