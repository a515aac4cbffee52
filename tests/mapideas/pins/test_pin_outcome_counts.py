"""The API shows what residents said of a closed pin as counts and dates, never who: the
list, one pin and the map's viewport (all made from mapideas.pins.fields)."""

import pytest
from rest_framework.test import APIClient

from mapideas.submission.services import idea_create
from tests.conftest import IN_WEST
from tests.mapideas.pins.disputed_pin import (
    CONFIRMATIONS,
    DISPUTES,
    SECRETS,
    disputed_pin,
)

pytestmark = pytest.mark.django_db

OUTCOME = {
    "closed_at": "2026-11-02T09:30:00Z",
    "fix_confirmations": CONFIRMATIONS,
    "disputes": DISPUTES,
    "reopenings": 1,
    "reopened_at": "2026-11-20T14:00:00Z",
}


@pytest.fixture
def pin(city, category, settings):
    settings.TIME_ZONE = "UTC"
    return disputed_pin(category, IN_WEST)


def get(url: str, **params) -> tuple[dict, str]:
    response = APIClient().get(url, params)
    assert response.status_code == 200, response.content
    return response.json(), response.content.decode()


def outcome(properties: dict) -> dict:
    return {name: properties[name] for name in OUTCOME}


@pytest.mark.parametrize(
    "url",
    ["/api/ideas/", "/api/ideas/{pk}/", "/api/ideas/viewport/?bbox=3.99,49.99,4.07,50.02&zoom=16"],
)
def test_every_api_answer_carries_the_counts_and_no_person(pin, url):
    body, text = get(url.format(pk=pin.pk))

    features = body.get("features", [body])
    [feature] = [f for f in features if f.get("id") == pin.pk]
    assert outcome(feature["properties"]) == OUTCOME
    for secret in SECRETS:
        assert secret not in text


def test_a_pin_never_closed_has_no_dates_and_zero_counts(city, category):
    fresh = idea_create(kind="idea", title="New bench", category=category, location=IN_WEST)

    body, _ = get(f"/api/ideas/{fresh.pk}/")

    assert outcome(body["properties"]) == {
        "closed_at": None,
        "fix_confirmations": 0,
        "disputes": 0,
        "reopenings": 0,
        "reopened_at": None,
    }
