"""Idempotent pin submission: a retry with the same Idempotency-Key (or the web
form's one-time token) returns the pin stored the first time and never writes a second row;
the database's unique constraint decides, so racing retries are safe too."""

import re
import threading
import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from mapideas.models import Category, Idea
from mapideas.plumbing import ratelimit
from mapideas.submission import services
from tests.conftest import IN_EAST
from tests.mapideas.submission.test_api_ideas_create import URL, body

pytestmark = pytest.mark.django_db


def post(data: dict, key: str | None, client: APIClient | None = None, **extra):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return (client or APIClient()).post(URL, data, format="json", **headers, **extra)


def test_it_returns_the_first_pin_for_a_retry_with_the_same_key(city, category):
    key = str(uuid.uuid4())
    first = post(body(), key)
    again = post(body(), key)

    assert first.status_code == 201, first.content
    assert again.status_code == 201, again.content
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Idea.objects.count() == 1


def test_it_stores_a_pin_per_key(city, category):
    ids = {post(body(), str(uuid.uuid4())).json()["id"] for _ in range(3)}

    assert len(ids) == 3 == Idea.objects.count()


def test_it_stores_a_pin_per_request_without_a_key(city, category):
    post(body(), None)
    post(body(), None)

    assert Idea.objects.count() == 2


def test_it_refuses_the_same_key_with_another_pin(city, category):
    key = str(uuid.uuid4())
    post(body(), key)

    response = post(body(title="Something else"), key)

    assert response.status_code == 422
    assert "different pin" in response.json()["Idempotency-Key"][0]
    assert Idea.objects.count() == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "ключ"])
def test_it_refuses_a_malformed_key_naming_the_header(city, category, key):
    response = APIClient().post(
        URL, body(), format="json", headers={"Idempotency-Key": key.encode().decode("latin-1")}
    )

    assert response.status_code == 400, response.content
    assert "Idempotency-Key" in response.json()
    assert Idea.objects.count() == 0


def test_it_scopes_keys_to_the_sender(city, category):
    """Another address (or account) using the same key gets its own pin, not the first."""
    key = str(uuid.uuid4())
    mine = post(body(), key, REMOTE_ADDR="192.0.2.1")
    theirs = post(body(), key, REMOTE_ADDR="192.0.2.2")

    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs
    signed_in = APIClient()
    signed_in.force_authenticate(get_user_model().objects.create_user("ann", password="x"))
    assert post(body(), key, signed_in, REMOTE_ADDR="192.0.2.1").json()["id"] not in (
        mine.json()["id"],
        theirs.json()["id"],
    )
    assert Idea.objects.count() == 3


def test_it_keeps_only_a_keyed_hash_of_the_key_and_never_publishes_it(city, category):
    key = "zq-idempotency-key-8841"
    created = post(body(), key)

    stored = Idea.objects.get().idempotency_key
    assert stored and key not in stored and len(stored) == 64
    assert key not in created.content.decode()
    assert stored not in created.content.decode()
    listed = APIClient().get(URL).content.decode()
    assert stored not in listed and "idempotency" not in listed


def test_a_retry_is_not_counted_against_the_rate_limit(city, category, settings):
    settings.MAPIDEAS_RATE_SUBMISSIONS = (1, 3600)
    key = str(uuid.uuid4())

    assert post(body(), key).status_code == 201
    assert post(body(), key).status_code == 201
    assert post(body(), str(uuid.uuid4())).status_code == 429


def test_the_database_refuses_a_second_row_with_the_key(city, category):
    """What makes racing retries safe: not a SELECT before the INSERT, but the unique index."""
    pin = {**pin_kwargs(category), "email": "", "name": ""}
    first = services.pin_submit(sender="s", idempotency_key="k-1", rate=None, **pin)
    assert not first.replayed
    # A retry that missed the first row in its SELECT (a race) reaches the INSERT: refused
    # there, and answered with the first pin.
    real = services.idea_replayed
    calls = []

    def missed_once(given):
        calls.append(given)
        return None if len(calls) == 1 else real(given)

    services.idea_replayed = missed_once
    try:
        second = services.pin_submit(sender="s", idempotency_key="k-1", rate=None, **pin)
    finally:
        services.idea_replayed = real
    assert second.replayed and second.idea.pk == first.idea.pk
    assert Idea.objects.count() == 1


def pin_kwargs(category) -> dict:
    return {
        "kind": "idea",
        "title": "Trees",
        "description": "",
        "category": category,
        "location": IN_EAST,
        "channel": Idea.Channel.API,
        "author": None,
    }


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("spatialite"),
    reason="SQLite serialises writers; the race needs concurrent transactions",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_store_one_pin(city):
    """Eight threads send the same key at once: one pin, eight identical answers."""
    # An earlier transactional test may have flushed the categories of the data migration.
    Category.objects.get_or_create(slug="parks-green-space", defaults={"name": "Parks"})
    key = str(uuid.uuid4())
    answers: list = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        try:
            answers.append(post(body(), key))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert Idea.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_pin_is_one_transaction_without_savepoints_and_its_count_one_statement(city, settings):
    """Round trips are what a pin costs beyond its SQL: the count is a single statement in
    autocommit (no BEGIN and COMMIT of its own), the pin one transaction with no savepoint
    inside it, and the Idempotency-Key still decides at the INSERT."""
    # An earlier transactional test may have flushed the categories of the data migration.
    category, _ = Category.objects.get_or_create(
        slug="parks-green-space", defaults={"name": "Parks"}
    )
    settings.MAPIDEAS_RATE_SUBMISSIONS = (1000, 3600)
    pin = {**pin_kwargs(category), "email": "", "name": ""}

    with CaptureQueriesContext(connection) as sent:
        first = services.pin_submit(
            sender="s", idempotency_key="k-1", rate=ratelimit.SUBMISSIONS, **pin
        )
    again = services.pin_submit(sender="s", idempotency_key="k-1", rate=None, **pin)

    statements = [q["sql"].split()[0].upper() for q in sent.captured_queries]
    assert not any(s in {"SAVEPOINT", "RELEASE"} for s in statements), statements
    assert statements.count("BEGIN") == 1, statements
    assert statements.count("COMMIT") == 1, statements
    count_at = next(i for i, q in enumerate(sent.captured_queries) if "ratelimit" in q["sql"])
    assert statements.index("BEGIN") > count_at, "the count is not inside the pin's transaction"
    assert again.replayed and again.idea.pk == first.idea.pk
    assert Idea.objects.count() == 1


# --- The web form ----------------------------------------------------------------------------


def form_pin(token: str, **overrides) -> dict:
    data = {
        "kind": "issue",
        "title": "Broken bench",
        "description": "Slats missing.",
        "category": "parks-green-space",
        "latitude": str(IN_EAST.y),
        "longitude": str(IN_EAST.x),
        "submission_token": token,
    }
    return {**data, **overrides}


def test_the_form_carries_a_new_hidden_token_each_time(client, city, category):
    tokens = [
        re.search(r'name="submission_token" value="([^"]+)"', client.get("/").content.decode())
        for _ in range(2)
    ]

    assert all(tokens)
    assert tokens[0].group(1) != tokens[1].group(1)
    assert 'type="hidden" name="submission_token"' in client.get("/").content.decode()


def test_a_double_submitted_form_stores_one_pin(client, city, category):
    first = client.post("/", form_pin("tok-1"))
    again = client.post("/", form_pin("tok-1"))

    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert Idea.objects.count() == 1


def test_the_same_token_with_another_pin_asks_to_check_and_send_again(client, city, category):
    client.post("/", form_pin("tok-2"))

    response = client.post("/", form_pin("tok-2", title="Another thing"))

    assert response.status_code == 400
    assert "sent already" in response.content.decode()
    assert 'value="tok-2"' not in response.content.decode()
    assert Idea.objects.count() == 1


# --- Open311 POST requests -------------------------------------------------------------------


def open311_post(data: dict, key: str):
    from urllib.parse import urlencode

    from django.test import Client

    from tests.mapideas.open311.open311_support import ROOT

    return Client().post(
        f"{ROOT}/requests.json",
        urlencode(data, doseq=True),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
        headers={"Idempotency-Key": key},
    )


def test_an_open311_retry_with_the_same_key_returns_the_first_request(city):
    from mapideas.open311.services import open311_client_create
    from tests.mapideas.open311.open311_support import form

    issued = open311_client_create(name="Pothole App")
    other = open311_client_create(name="Other App")
    key = str(uuid.uuid4())

    first = open311_post(form(issued.key), key)
    again = open311_post(form(issued.key), key)
    changed = open311_post(form(issued.key, description="Another hole"), key)
    # Another client's same key is its own request.
    theirs = open311_post(form(other.key), key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.json()[0]["description"]
    assert theirs.status_code == 201 and theirs.json() != first.json()
    assert Idea.objects.count() == 2
