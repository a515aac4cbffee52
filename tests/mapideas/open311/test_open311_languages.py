"""Open311 names categories and teams in the city's language whatever the request asks
(neighborhoods.translated_names says why: GeoReport v2 has no language negotiation, and
its answers are cached and shared by aggregators); `service_code`, the category's slug, is
beside every `service_name`."""

import pytest
from django.test import Client

from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST
from tests.mapideas.open311.open311_support import ROOT, xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def french(city, category):
    category.name_translations = {"fr": "Jardins publics"}
    category.save()
    city.east_team.name_translations = {"fr": "Équipe Est"}
    city.east_team.save()
    return idea_create(kind="issue", title="Banc", category=category, location=IN_EAST)


def french_get(path: str, fmt: str = "json"):
    response = Client().get(f"{ROOT}/{path}.{fmt}", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200, response.content
    return response


def test_services_are_named_in_the_citys_language(french):
    services = {s["service_code"]: s["service_name"] for s in french_get("services").json()}

    assert services["parks-green-space"] == "Parks and green space"


@pytest.mark.parametrize("path", ["requests", "requests/{pk}"])
def test_requests_name_category_and_team_in_the_citys_language(french, path):
    [request] = french_get(path.format(pk=french.pk)).json()

    assert (request["service_code"], request["service_name"]) == (
        "parks-green-space",
        "Parks and green space",
    )
    assert request["agency_responsible"] == "East Team"
    assert request["service_notice"] == "Sent to East Team for East Side."


def test_the_xml_says_the_same(french):
    root = xml(french_get("requests", "xml"))

    [request] = list(root)
    assert request.findtext("service_name") == "Parks and green space"
    assert request.findtext("service_code") == "parks-green-space"
    assert request.findtext("agency_responsible") == "East Team"
