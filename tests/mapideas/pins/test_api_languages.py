"""The pins' API names categories, teams and neighborhoods in the request's language (the
language cookie, else Accept-Language), each with its slug beside it
(neighborhoods.translated_names; docs/interfaces.md, "Names and languages")."""

import pytest
from rest_framework.test import APIClient

from mapideas.models import Category
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST, ON_SHARED_BORDER

pytestmark = pytest.mark.django_db


@pytest.fixture
def french(city, category):
    category.name_translations = {"fr": "Jardins publics"}
    category.save()
    city.west_team.name_translations = {"fr": "Équipe Ouest"}
    city.west_team.save()
    city.east_team.name_translations = {"fr": "Équipe Est"}
    city.east_team.save()
    return city


def get(path: str, language: str | None = None, **params):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = APIClient().get(path, params, **headers)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(
    ("language", "name"),
    [("fr", "Jardins publics"), ("en", "Parks and green space"), (None, "Parks and green space")],
)
def test_categories_are_named_in_the_requests_language(french, language, name):
    body = get("/api/categories/", language)

    assert {"slug": "parks-green-space", "name": name} in body
    # Untranslated into Dutch: the city's name, never an empty one.
    dutch = {c["slug"]: c["name"] for c in get("/api/categories/", "nl")}
    assert dutch["lighting-safety"] == Category.objects.get(slug="lighting-safety").display_name


def test_categories_follow_the_language_cookie_over_accept_language(french, settings):
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    body = client.get("/api/categories/", HTTP_ACCEPT_LANGUAGE="en").json()

    assert {"slug": "parks-green-space", "name": "Jardins publics"} in body


def test_categories_name_them_as_the_pins_do(french, category):
    idea_create(kind="idea", title="Banc", category=category, location=IN_WEST)

    pin = get("/api/ideas/", "fr")["features"][0]["properties"]
    categories = {c["slug"]: c["name"] for c in get("/api/categories/", "fr")}

    assert categories[pin["category"]] == pin["category_name"] == "Jardins publics"


def test_one_pin_is_named_in_the_requests_language_with_slugs(french, category):
    pin = idea_create(kind="issue", title="Lampe", category=category, location=IN_EAST)

    body = get(f"/api/ideas/{pin.pk}/", "fr")

    properties = body["properties"]
    assert (properties["category"], properties["category_name"]) == (
        "parks-green-space",
        "Jardins publics",
    )
    assert (properties["team"], properties["team_slug"]) == ("Équipe Est", "east-team")
    assert (properties["neighborhood"], properties["neighborhood_slug"]) == (
        "East Side",
        "east-side",
    )
    # The timeline names the team the same way.
    assert {entry["team"] for entry in body["timeline"]} == {"Équipe Est"}


@pytest.mark.parametrize(("language", "team"), [("fr", "Équipe Est"), (None, "East Team")])
def test_the_timeline_gives_the_slugs_beside_the_names(french, category, language, team):
    pin = idea_create(kind="issue", title="Lampe", category=category, location=IN_EAST)

    timeline = get(f"/api/ideas/{pin.pk}/", language)["timeline"]

    routing = [entry for entry in timeline if entry["type"] == "routing"]
    assert routing
    for entry in routing:
        assert (entry["team"], entry["team_slug"]) == (team, "east-team")
        assert (entry["neighborhood"], entry["neighborhood_slug"]) == ("East Side", "east-side")


def test_the_neighborhoods_name_their_team_in_the_requests_language(french):
    features = get("/api/neighborhoods/", "fr")["features"]

    by_slug = {f["properties"]["slug"]: f["properties"] for f in features}
    assert (by_slug["west-side"]["team"], by_slug["west-side"]["team_slug"]) == (
        "Équipe Ouest",
        "west-team",
    )
    assert by_slug["west-side"]["name"] == "West Side"  # a proper name: never translated


def test_the_route_preview_gives_a_slug_beside_every_name(french):
    body = get("/api/route/", "fr", lon=ON_SHARED_BORDER.x, lat=ON_SHARED_BORDER.y)

    assert (body["neighborhood"], body["neighborhood_slug"]) == ("East Side", "east-side")
    assert (body["team"], body["team_slug"]) == ("Équipe Est", "east-team")
    assert (body["other_side"], body["other_side_slug"]) == ("West Side", "west-side")
    # The teams also covering the point: names and slugs in the same order.
    assert body["also_in"] == ["Équipe Ouest"]
    assert body["also_in_slugs"] == ["west-team"]


def test_the_route_preview_has_no_other_side_slug_without_another_side(city):
    body = get("/api/route/", lon=IN_WEST.x, lat=IN_WEST.y)

    assert (body["other_side"], body["other_side_slug"]) == (None, None)
    assert (body["also_in"], body["also_in_slugs"]) == ([], [])
