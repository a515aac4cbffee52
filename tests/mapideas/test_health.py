"""/healthz: the load balancer's liveness check, answered without the database."""

from django.test import Client


def test_it_answers_ok_without_touching_the_database():
    # No database access is allowed in this test at all (no `db` fixture).
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_it_refuses_writes():
    assert Client().post("/healthz").status_code == 405
