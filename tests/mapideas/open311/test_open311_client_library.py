"""Our endpoints as a third-party client sees them: `georeport` (PyPI, Apache-2.0), a GeoReport
v2 client, against pytest-django's live server, in both formats.

georeport only reads (services, service definitions, requests); the POST goes over real HTTP
with `requests`, form-encoded as the spec's example sends it, and is then read back by georeport.
"""

import pytest
import requests
from georeport import GeoReport

from mapideas.models import Idea
from mapideas.open311.services import open311_client_create
from mapideas.pins.default_categories import default_categories_create
from tests.conftest import IN_EAST, IN_WEST


@pytest.fixture
def endpoint(transactional_db, live_server, city, settings) -> str:
    # A transactional test starts from flushed tables: put back the categories the data
    # migration writes (as tests/browser/conftest.py does).
    default_categories_create()
    settings.MAPIDEAS_OPEN311_JURISDICTION = "city.example"
    return f"{live_server.url}/open311/v2"


@pytest.fixture
def reported(endpoint) -> Idea:
    key = open311_client_create(name="Live App").key
    response = requests.post(
        f"{endpoint}/requests.json",
        data={
            "api_key": key,
            "jurisdiction_id": "city.example",
            "service_code": "streets-sidewalks",
            "lat": IN_EAST.y,
            "long": IN_EAST.x,
            "address_string": "1234 5th street",
            "email": "smit333@mail.example",
            "device_id": "tt222111",
            "account_id": "123456",
            "first_name": "john",
            "last_name": "smith",
            "phone": "111111111",
            "description": "A large sinkhole is destroying the street",
            "media_url": "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg",
            "attribute[WHISPAWN]": "123456",
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return Idea.objects.get(pk=response.json()[0]["service_request_id"])


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_our_services(endpoint, fmt):
    client = GeoReport(endpoint, jurisdiction="city.example", output_format=fmt)

    services = client.get_service_list()
    definition = client.get_service_definition("parks-green-space")

    parks = next(s for s in services if s["service_code"] == "parks-green-space")
    assert parks["service_name"] == "Parks and green space"
    assert str(parks["metadata"]).lower() == "false"
    assert definition["service_code"] == "parks-green-space"
    assert not definition["attributes"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_back_a_posted_request(reported, endpoint, fmt):
    client = GeoReport(endpoint, jurisdiction="city.example", output_format=fmt)

    one = client.get_service_request(str(reported.pk))
    listed = client.get_service_requests(
        service_request_id=str(reported.pk), status="open", service_code="streets-sidewalks"
    )

    listed = listed if isinstance(listed, list) else [listed]  # xmltodict: one is not a list
    for request in (one, *listed):
        assert str(request["service_request_id"]) == str(reported.pk)
        assert request["status"] == "open"
        assert request["agency_responsible"] == "East Team"
        assert request["description"] == "A large sinkhole is destroying the street"
        assert "smit333" not in str(request) and "smith" not in str(request)


def test_georeport_sees_the_spec_errors_as_http_errors(endpoint):
    client = GeoReport(endpoint, jurisdiction="elsewhere.example")

    with pytest.raises(requests.HTTPError) as raised:
        client.get_service_list()

    assert raised.value.response.status_code == 404
    assert raised.value.response.json()[0]["description"].startswith("jurisdiction_id: ")


def test_a_posted_request_is_routed_over_real_http(endpoint):
    key = open311_client_create(name="Other App").key

    response = requests.post(
        f"{endpoint}/requests.xml",
        data={"api_key": key, "service_code": "other", "lat": IN_WEST.y, "long": IN_WEST.x},
        timeout=10,
    )

    assert response.status_code == 201
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert Idea.objects.get().team.name == "West Team"
