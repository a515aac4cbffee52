"""API error messages follow the language chosen for the request: the switcher's
cookie, else Accept-Language, as LocaleMiddleware sets it for the pages.

The expected words come from the project's catalogs, locale/{nl,fr}/LC_MESSAGES/django.po
(compiled by `make setup`): the answer is what gettext gives in that language, and is not the
English (tests/test_translations.py checks every message is translated).

Django REST framework ships its own French and Dutch catalogs, so its messages ("This field
is required.") are checked in French and Dutch already.
"""

import pytest
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from mapideas.submission import services
from tests.conftest import IN_WEST, OUTSIDE_CITY

pytestmark = pytest.mark.django_db

URL = "/api/ideas/"
LATITUDE_MESSAGE = "Latitude must be between -90 and 90, not %(lat)s."


def body(lon: float = IN_WEST.x, lat: float = IN_WEST.y, **overrides) -> dict:
    data = {
        "kind": "idea",
        "title": "More benches",
        "description": "Along the canal, please.",
        "category": "parks-green-space",
        "location": {"type": "Point", "coordinates": [lon, lat]},
    }
    data.update(overrides)
    return data


def post(data: dict, language: str):
    return APIClient().post(URL, data, format="json", HTTP_ACCEPT_LANGUAGE=language)


def translated(message: str, language: str, **params) -> str:
    with translation.override(language):
        text = gettext(message)
    return text % params if params else text


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_an_invalid_latitude_is_refused_in_the_requests_language(city, category, language):
    response = post(body(lat=95.0), language)

    assert response.status_code == 400, response.content
    message = response.data["location"][0]
    assert message == translated(LATITUDE_MESSAGE, language, lat=95.0)
    english = LATITUDE_MESSAGE % {"lat": 95.0}
    assert message != english
    # It still says which value was wrong.
    assert "95.0" in message
    assert response["Content-Language"] == language


def test_english_stays_english(city, category):
    response = post(body(lat=95.0), "en")

    assert response.status_code == 400
    assert response.data["location"] == ["Latitude must be between -90 and 90, not 95.0."]


def test_the_language_cookie_wins_over_accept_language(city, category, settings):
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.post(URL, body(lat=95.0), format="json", HTTP_ACCEPT_LANGUAGE="nl")

    assert response.status_code == 400
    assert response.data["location"][0] == translated(LATITUDE_MESSAGE, "fr", lat=95.0)


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_a_pin_outside_the_city_is_refused_in_the_requests_language(city, category, language):
    response = post(body(OUTSIDE_CITY.x, OUTSIDE_CITY.y), language)

    assert response.status_code == 400, response.content
    message = response.data["location"][0]
    assert message == translated(services.OUTSIDE_MESSAGE, language)
    assert message != services.OUTSIDE_MESSAGE


@pytest.mark.parametrize(
    ("language", "required"),
    [("fr", "Ce champ est obligatoire."), ("nl", "Dit veld is vereist.")],
)
def test_framework_messages_follow_the_language_too(city, category, language, required):
    data = body()
    del data["title"]

    response = post(data, language)

    assert response.status_code == 400
    assert response.data["title"] == [required]


def test_the_route_preview_refuses_a_bad_latitude_in_the_requests_language(city):
    response = APIClient().get(
        "/api/route/", {"lon": IN_WEST.x, "lat": 95}, HTTP_ACCEPT_LANGUAGE="fr"
    )

    assert response.status_code == 400
    # DRF's own message ("Ensure this value is less than or equal to 90."), in French.
    assert response.data["lat"][0] == translated(
        "Ensure this value is less than or equal to {max_value}.", "fr"
    ).format(max_value=90)


def test_display_names_follow_the_language_and_codes_do_not(city, category):
    from mapideas.submission.services import idea_create
    from tests.conftest import IN_EAST

    city.east_team.name_translations = {"fr": "Équipe Est"}
    city.east_team.save()
    idea_create(kind="issue", title="Banc", category=category, location=IN_EAST)
    client = APIClient(HTTP_ACCEPT_LANGUAGE="fr")

    listed = client.get(URL).json()["features"][0]["properties"]
    viewport = client.get(
        "/api/ideas/viewport/", {"bbox": "3.99,49.99,4.07,50.02", "zoom": 16}
    ).json()["features"][0]["properties"]

    for properties in (listed, viewport):
        assert properties["category_name"] == "Parcs et espaces verts"
        assert properties["team"] == "Équipe Est"
        assert properties["category"] == "parks-green-space"
        assert properties["status"] == "new" and properties["kind"] == "issue"
