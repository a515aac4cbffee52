"""Every door a client sends a pin through (POST /api/ideas/, the map's form on `/`, Open311's
POST requests) reaches the database through one service, submission.services.pin_submit, and
so answers a retry the same way: the same key twice is one pin, the second answer a replay;
the same key with other content is refused; a replay is never counted against a rate limit."""

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.test import Client
from rest_framework.test import APIClient

from mapideas.models import Idea
from mapideas.open311.services import open311_client_create
from mapideas.plumbing import ratelimit
from mapideas.submission import services
from tests.mapideas.open311.open311_support import ROOT, form
from tests.mapideas.submission.test_api_ideas_create import URL, body
from tests.mapideas.submission.test_views_home import pin

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.31"


@dataclass
class Door:
    """One way in: how it sends a pin with a key, and how it says what happened."""

    name: str
    # Whether MAPIDEAS_RATE_SUBMISSIONS applies (Open311 clients are known by their key).
    rate_limited: bool
    other_content: dict
    # Open311's client key.
    api_key: str = ""

    def send(self, key: str | None, **changes):
        """Send a pin with `key` (the form's one-time token for the form); None: without."""
        headers = {} if key is None else {"Idempotency-Key": key}
        if self.name == "api":
            return APIClient().post(
                URL, body(**changes), format="json", headers=headers, REMOTE_ADDR=ADDRESS
            )
        if self.name == "form":
            data = pin(submission_token=key or "", **changes)
            return Client().post("/", data, REMOTE_ADDR=ADDRESS)
        return Client().post(
            f"{ROOT}/requests.json",
            urlencode(form(self.api_key, **changes), doseq=True),
            content_type="application/x-www-form-urlencoded; charset=utf-8",
            headers=headers,
            REMOTE_ADDR=ADDRESS,
        )

    def stored(self, response) -> int:
        """The pin the answer names (201 JSON, or the form's redirect to the pin's page)."""
        if self.name == "api":
            assert response.status_code == 201, response.content
            return response.json()["id"]
        if self.name == "form":
            assert response.status_code == 302, response.content
            return int(response["Location"].rstrip("/").rsplit("/", 1)[-1])
        assert response.status_code == 201, response.content
        return response.json()[0]["service_request_id"]

    def says_replayed(self, response) -> bool:
        if self.name == "form":  # a page has no header for it: the same pin's page again
            return True
        return response.get("Idempotent-Replayed") == "true"

    def refused(self, response) -> bool:
        if self.name == "api":
            return response.status_code == 422 and "Idempotency-Key" in response.json()
        if self.name == "form":
            return response.status_code == 400 and "sent already" in response.content.decode()
        return (
            response.status_code == 422 and "Idempotency-Key" in response.json()[0]["description"]
        )


@pytest.fixture
def door(request, city, category) -> Door:
    if request.param == "api":
        return Door("api", rate_limited=True, other_content={"title": "Something else"})
    if request.param == "form":
        return Door("form", rate_limited=True, other_content={"title": "Another thing"})
    issued = open311_client_create(name="Pothole App")
    return Door(
        "open311",
        rate_limited=False,
        other_content={"description": "Another hole"},
        api_key=issued.key,
    )


DOORS = pytest.mark.parametrize("door", ["api", "form", "open311"], indirect=True)


@pytest.fixture
def pin_submit_calls(monkeypatch) -> list:
    """Spies on services.pin_submit where every door looks it up: (its arguments, what it
    returned)."""
    real = services.pin_submit
    calls: list = []

    def spy(**kwargs):
        submitted = real(**kwargs)
        calls.append((kwargs, submitted))
        return submitted

    monkeypatch.setattr(services, "pin_submit", spy)
    return calls


@pytest.fixture
def submit_counts(monkeypatch) -> list:
    """The requests counted in the submissions' bucket (every count goes through
    ratelimit.hit_identity)."""
    real = ratelimit.hit_identity
    counted: list = []

    def spy(identity, bucket, rate):
        if bucket == ratelimit.SUBMISSIONS.bucket:
            counted.append(identity)
        return real(identity, bucket, rate)

    monkeypatch.setattr(ratelimit, "hit_identity", spy)
    return counted


@DOORS
def test_the_door_stores_its_pin_through_pin_submit(door, pin_submit_calls):
    response = door.send(str(uuid.uuid4()))

    ((arguments, submitted),) = pin_submit_calls
    assert door.stored(response) == submitted.idea.pk
    assert not submitted.replayed
    assert Idea.objects.filter(pk=submitted.idea.pk).exists()
    assert Idea.objects.count() == 1
    assert arguments["idempotency_key"] is not None
    assert (arguments["rate"] is ratelimit.SUBMISSIONS) == door.rate_limited


@DOORS
def test_every_door_answers_a_retry_the_same_way(door, pin_submit_calls, submit_counts, settings):
    settings.MAPIDEAS_RATE_SUBMISSIONS = (1, 3600)
    key = str(uuid.uuid4())

    first = door.send(key)
    again = door.send(key)
    changed = door.send(key, **door.other_content)

    # The same key twice: one pin, the second answer a replay of the first.
    assert door.stored(again) == door.stored(first)
    assert door.says_replayed(again) and not first.get("Idempotent-Replayed")
    assert [submitted.replayed for _, submitted in pin_submit_calls] == [False, True]
    assert Idea.objects.count() == 1
    # The same key with other content: refused, nothing written.
    assert door.refused(changed), changed.content
    assert Idea.objects.count() == 1
    # Only the first was counted: neither the replay nor the refused retry.
    assert len(submit_counts) == (1 if door.rate_limited else 0)
    new_pin = door.send(str(uuid.uuid4()))
    if door.rate_limited:
        # The allowance of one went to the first pin, not to its replay.
        assert new_pin.status_code == 429 and int(new_pin["Retry-After"]) > 0
        assert Idea.objects.count() == 1
    else:
        assert door.stored(new_pin) != door.stored(first)
        assert Idea.objects.count() == 2


@DOORS
def test_without_a_key_every_request_is_a_new_pin(door, pin_submit_calls):
    sent = [door.send(None) for _ in range(2)]

    assert len({door.stored(response) for response in sent}) == 2
    assert [arguments["idempotency_key"] for arguments, _ in pin_submit_calls] == [None, None]
    assert Idea.objects.count() == 2
