"""The viewport's pins name their category and team in the request's language, as
/api/ideas/ does, with the slugs beside the names; the names are read once per answer,
not per pin (mapideas.pins.fields)."""

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from mapideas.models import Category
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db

URL = "/api/ideas/viewport/"
CITY = "3.99,49.99,4.07,50.02"


@pytest.fixture
def french(city, category):
    category.name_translations = {"fr": "Jardins publics"}
    category.save()
    lighting = Category.objects.get(slug="lighting-safety")
    lighting.name_translations = {"fr": "Éclairage"}
    lighting.save()
    city.west_team.name_translations = {"fr": "Équipe Ouest"}
    city.west_team.save()
    idea_create(kind="idea", title="Banc", category=category, location=IN_WEST)
    idea_create(kind="issue", title="Lampe", category=lighting, location=IN_EAST)
    return city


def pins(language: str | None = None) -> dict[str, dict]:
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = APIClient().get(URL, {"bbox": CITY, "zoom": 16}, **headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mode"] == "pins"
    return {f["properties"]["title"]: f["properties"] for f in body["features"]}


def named(properties: dict) -> tuple:
    keys = ("category", "category_name", "team", "team_slug", "neighborhood", "neighborhood_slug")
    return tuple(properties[k] for k in keys)


def test_pins_are_named_in_the_requests_language_with_their_slugs(french):
    french_pins, english_pins = pins("fr"), pins()

    assert named(french_pins["Banc"]) == (
        "parks-green-space",
        "Jardins publics",
        "Équipe Ouest",
        "west-team",
        "West Side",
        "west-side",
    )
    # East Team has no French name: the city's stands.
    assert named(french_pins["Lampe"]) == (
        "lighting-safety",
        "Éclairage",
        "East Team",
        "east-team",
        "East Side",
        "east-side",
    )
    assert named(english_pins["Banc"])[1:3] == ("Parks and green space", "West Team")


def test_names_are_read_once_per_answer_not_per_pin(french, category):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            pins("fr")
        return len(captured)

    few = queries()
    for i in range(20):
        location = Point(IN_WEST.x + i * 0.0001, IN_WEST.y, srid=4326)
        idea_create(kind="idea", title=f"More {i}", category=category, location=location)

    assert queries() == few
