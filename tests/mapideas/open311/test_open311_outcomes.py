"""Open311's status_notes keep the team's latest public answer and say when a closed pin was
reopened and how many residents said the problem is still there or confirmed the fix, in the
city's language, in JSON and XML; never who."""

import pytest
from django.test import Client

from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST
from tests.mapideas.open311.open311_support import ROOT, xml
from tests.mapideas.pins.disputed_pin import SECRETS, disputed_pin

pytestmark = pytest.mark.django_db

NOTES = (
    "In progress: We are looking at it again. Reopened on Nov. 20, 2026. "
    "3 residents said the problem is still there. 1 resident confirmed the fix."
)


@pytest.fixture
def pin(city, category, settings):
    settings.TIME_ZONE = "UTC"
    return disputed_pin(category, IN_WEST)


def get(path: str, fmt: str = "json", **headers):
    response = Client().get(f"{ROOT}/{path}.{fmt}", **headers)
    assert response.status_code == 200, response.content
    return response


@pytest.mark.parametrize("path", ["requests", "requests/{pk}"])
def test_status_notes_say_it_was_reopened_and_disputed(pin, path):
    response = get(path.format(pk=pin.pk))

    [request] = response.json()
    assert request["status"] == "open"
    assert request["status_notes"] == NOTES
    for secret in SECRETS:
        assert secret not in response.content.decode()


def test_the_xml_says_the_same(pin):
    response = get(f"requests/{pin.pk}", "xml")

    [request] = list(xml(response))
    assert request.findtext("status_notes") == NOTES
    for secret in SECRETS:
        assert secret not in response.content.decode()


def test_they_are_in_the_citys_language_whatever_the_request_asks(pin):
    [request] = get(f"requests/{pin.pk}", HTTP_ACCEPT_LANGUAGE="fr").json()

    assert request["status_notes"] == NOTES


def test_a_pin_never_closed_says_its_status_and_answer_only(city, category):
    fresh = idea_create(kind="issue", title="Pothole", category=category, location=IN_EAST)

    [request] = get(f"requests/{fresh.pk}").json()

    assert request["status_notes"] == "New"
