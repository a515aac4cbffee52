"""/ogc/'s ideas carry what residents said of a closed pin as counts and dates, never who:
the items page, one item, and its HTML page."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import IN_WEST
from tests.mapideas.pins.disputed_pin import CONFIRMATIONS, DISPUTES, SECRETS, disputed_pin

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


def get(path: str, **params):
    response = APIClient().get(path, params)
    assert response.status_code == 200, response.content
    return response


@pytest.mark.parametrize("path", ["items", "items/{pk}"])
def test_the_items_carry_the_counts_and_no_person(pin, path):
    response = get(f"/ogc/collections/ideas/{path.format(pk=pin.pk)}", f="json")

    body = response.json()
    [feature] = body.get("features", [body])
    assert {name: feature["properties"][name] for name in OUTCOME} == OUTCOME
    for secret in SECRETS:
        assert secret not in response.content.decode()


def test_the_html_page_shows_them_and_no_person(pin):
    html = get(f"/ogc/collections/ideas/items/{pin.pk}", f="html").content.decode()

    assert "disputes" in html and "reopened_at" in html
    for secret in SECRETS:
        assert secret not in html
