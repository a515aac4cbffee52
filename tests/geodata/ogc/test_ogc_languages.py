"""The OGC API names categories and teams in the request's language, as the JSON API does
(neighborhoods.translated_names), each with its slug beside it: the pins, the
neighborhoods and the computed engagement layers alike."""

import pytest
from rest_framework.test import APIClient

from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db


@pytest.fixture
def french(city, category):
    category.name_translations = {"fr": "Jardins publics"}
    category.save()
    city.west_team.name_translations = {"fr": "Équipe Ouest"}
    city.west_team.save()
    city.east_team.name_translations = {"fr": "Équipe Est"}
    city.east_team.save()
    return [
        idea_create(kind="idea", title="Banc", category=category, location=IN_WEST),
        idea_create(kind="issue", title="Lampe", category=category, location=IN_EAST),
    ]


def get(path: str, language: str | None = None, **params) -> dict:
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = APIClient().get(path, {"f": "json", **params}, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_pins_are_named_in_the_requests_language(french):
    features = get("/ogc/collections/ideas/items", "fr")["features"]
    one = get(f"/ogc/collections/ideas/items/{french[1].pk}", "fr")

    by_title = {f["properties"]["title"]: f["properties"] for f in features}
    assert (by_title["Banc"]["team"], by_title["Banc"]["team_slug"]) == (
        "Équipe Ouest",
        "west-team",
    )
    assert (by_title["Lampe"]["category"], by_title["Lampe"]["category_name"]) == (
        "parks-green-space",
        "Jardins publics",
    )
    assert one["properties"] == by_title["Lampe"]
    english = get("/ogc/collections/ideas/items")["features"]
    assert {f["properties"]["team"] for f in english} == {"West Team", "East Team"}


def test_the_neighborhoods_name_their_team_in_the_requests_language(french):
    features = get("/ogc/collections/neighborhoods/items", "fr")["features"]

    teams = {f["id"]: (f["properties"]["team"], f["properties"]["team_slug"]) for f in features}
    assert teams["west-side"] == ("Équipe Ouest", "west-team")
    assert teams["harbor"] == ("Harbor Team", "harbor-team")  # not translated: the city's


@pytest.mark.parametrize("collection", ["engagement-neighborhoods", "coldspots"])
def test_the_computed_layers_name_their_teams_in_the_requests_language(french, collection):
    # One after the other, within the seconds a computed layer is held: each language gets
    # its own, never the other's.
    french_features = get(f"/ogc/collections/{collection}/items", "fr")["features"]
    english_features = get(f"/ogc/collections/{collection}/items", "en")["features"]

    def teams(features) -> dict[str, tuple[str, str]]:
        return {
            f["properties"]["slug"]: (f["properties"]["team"], f["properties"]["team_slug"])
            for f in features
        }

    assert teams(french_features)["west-side"] == ("Équipe Ouest", "west-team")
    assert teams(english_features)["west-side"] == ("West Team", "west-team")
    assert teams(french_features)["east-side"] == ("Équipe Est", "east-team")
