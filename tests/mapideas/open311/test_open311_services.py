"""GET services.{json,xml} (our categories) and services/{code}.{json,xml} (their definition:
no extra attributes)."""

import pytest

from mapideas.models import Category
from tests.mapideas.open311.open311_support import errors, get, xml

pytestmark = pytest.mark.django_db


def test_it_lists_every_category_as_a_service_in_json():
    services = get("services").json()

    assert [s["service_code"] for s in services] == list(
        Category.objects.values_list("slug", flat=True)
    )
    parks = next(s for s in services if s["service_code"] == "parks-green-space")
    assert parks == {
        "service_code": "parks-green-space",
        "service_name": "Parks and green space",
        "description": None,
        "metadata": False,
        "type": "realtime",
        "keywords": None,
        "group": None,
    }


def test_it_lists_the_services_in_the_spec_xml_shape():
    root = xml(get("services", "xml"))

    assert root.tag == "services"
    assert {child.tag for child in root} == {"service"}
    parks = next(s for s in root if s.findtext("service_code") == "parks-green-space")
    assert parks.findtext("service_name") == "Parks and green space"
    assert parks.findtext("metadata") == "false"
    assert parks.findtext("type") == "realtime"


def test_a_new_category_is_a_new_service():
    Category.objects.create(slug="noise", name="Noise & nuisance")

    root = xml(get("services", "xml"))

    assert "Noise & nuisance" in [s.findtext("service_name") for s in root]


def test_a_service_definition_has_no_attributes():
    assert get("services/parks-green-space").json() == {
        "service_code": "parks-green-space",
        "attributes": [],
    }
    root = xml(get("services/parks-green-space", "xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "parks-green-space"
    assert list(root.find("attributes")) == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("code", ["no-such-service", "a b", "%00", "x" * 300])
def test_an_unknown_service_code_is_a_404_naming_it(fmt, code):
    [description] = errors(get(f"services/{code}", fmt), 404)

    assert description.startswith("service_code: ")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_another_jurisdiction_is_a_404_naming_it(fmt, settings):
    settings.MAPIDEAS_OPEN311_JURISDICTION = "city.example"

    [description] = errors(get("services", fmt, jurisdiction_id="elsewhere.example"), 404)

    assert description.startswith("jurisdiction_id: 'elsewhere.example'")
    assert "city.example" in description


def test_our_own_or_an_empty_jurisdiction_is_served(settings):
    settings.MAPIDEAS_OPEN311_JURISDICTION = "city.example"

    assert get("services", jurisdiction_id="city.example").status_code == 200
    assert get("services", jurisdiction_id="").status_code == 200
    assert get("services/other", jurisdiction_id="city.example").status_code == 200


def test_the_format_is_the_extension_whatever_the_client_accepts(client):
    response = client.get("/open311/v2/services.xml", headers={"accept": "application/json"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"


def test_a_method_the_resource_has_not_is_a_405_in_the_spec_format(client):
    response = client.delete("/open311/v2/services.json")

    [description] = errors(response, 405)
    assert "DELETE" in description
