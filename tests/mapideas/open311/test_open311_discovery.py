"""GET /open311/v2/discovery.{json,xml}: where the GeoReport v2 endpoint is and what it speaks."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from mapideas import settings as project_settings
from tests.mapideas.open311.open311_support import get, xml

pytestmark = pytest.mark.django_db


def test_it_lists_the_endpoint_with_an_absolute_url_the_spec_and_both_formats(settings):
    settings.MAPIDEAS_OPEN311_CONTACT = "open311@city.example"

    response = get("discovery")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    document = response.json()
    assert document["contact"] == "open311@city.example"
    assert document["changeset"].endswith("Z")
    [endpoint] = document["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}


def test_its_url_follows_the_host_the_request_came_to(settings):
    settings.ALLOWED_HOSTS = ["city.example"]

    response = Client().get(
        "/open311/v2/discovery.json", headers={"host": "city.example", "x-forwarded-proto": "https"}
    )

    # Behind a proxy Django needs SECURE_PROXY_SSL_HEADER to trust the scheme; it is not set.
    assert response.json()["endpoints"][0]["url"] == "http://city.example/open311/v2"


def test_it_answers_in_the_spec_xml_shape():
    root = xml(get("discovery", "xml"))

    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url") == "http://testserver/open311/v2"
    assert {f.text for f in endpoint.findall("formats/format")} == {
        "text/xml",
        "application/json",
    }
    # No contact configured: an empty element, as the spec writes a missing value.
    assert root.find("contact") is not None and not root.findtext("contact")


def test_the_jurisdiction_comes_from_the_environment_and_may_not_be_empty(monkeypatch):
    monkeypatch.setenv("MAPIDEAS_OPEN311_JURISDICTION", " city.example ")
    assert project_settings._open311_jurisdiction() == "city.example"

    monkeypatch.setenv("MAPIDEAS_OPEN311_JURISDICTION", " ")
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_OPEN311_JURISDICTION"):
        project_settings._open311_jurisdiction()
