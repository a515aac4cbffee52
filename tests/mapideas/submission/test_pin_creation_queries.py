"""POST /api/ideas/ in few round trips (pin creation over HTTP): the category, the
routing query (with whether the category has rules), the boundary version's hold, the pin
and its routing event, whether a webhook receiver listens and whether the team has a back
office, in one transaction without
savepoints; no photo lookup for the 201."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from mapideas.models import Idea, RoutingEvent
from neighborhoods.models import CategoryRule
from tests.conftest import IN_EAST, IN_EMPTY_HOLE, IN_WEST, ON_SHARED_BORDER

pytestmark = pytest.mark.django_db

BODY = {
    "kind": "idea",
    "title": "A bench here",
    "description": "",
    "location": {"type": "Point", "coordinates": [4.015, 50.005]},
}


def post(category):
    return APIClient().post("/api/ideas/", {**BODY, "category": category.slug}, format="json")


def test_an_anonymous_pin_costs_nine_queries(city, category):
    post(category)  # the first request loads what a process loads once
    with CaptureQueriesContext(connection) as ctx:
        response = post(category)

    assert response.status_code == 201, response.content
    assert response.json()["properties"]["photo_url"] is None
    statements = [q["sql"].split()[0].upper() for q in ctx.captured_queries]
    # SELECT category, INSERT ... ON CONFLICT (the rate-limit count, in its own transaction),
    # SELECT route, SELECT ... FOR SHARE, INSERT pin, INSERT event, SELECT the active webhook
    # receivers (none: nothing more; mapideas.webhooks), SELECT the team's back offices (none:
    # nothing more; mapideas.backoffice) (and the transactions' own statements, which tests
    # see as SAVEPOINT/RELEASE pairs).
    data = [s for s in statements if s not in {"SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"}]
    assert data == [
        "SELECT", "INSERT", "SELECT", "SELECT", "INSERT", "INSERT", "SELECT", "SELECT"
    ], ctx.captured_queries  # fmt: skip
    pin = Idea.objects.get(pk=response.json()["id"])
    assert pin.team == city.east_team
    assert RoutingEvent.objects.filter(idea=pin, cause="created").exists()


def test_a_category_rule_still_routes_with_one_more_query(city, category):
    CategoryRule.objects.create(category=category.slug, team=city.west_team)
    post(category)
    with CaptureQueriesContext(connection) as ctx:
        response = post(category)

    assert response.status_code == 201
    assert Idea.objects.get(pk=response.json()["id"]).team == city.west_team
    assert sum(q["sql"].startswith("SELECT") for q in ctx.captured_queries) == 6


# --- The 201's body: the serializer's Feature, made from the pin in memory ------------------


@pytest.fixture
def photo_root(settings, tmp_path):
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path / "photos"


def stored_feature(pk: int, language: str = "en") -> dict:
    """What IdeaFeatureSerializer makes of the stored pin, in `language`."""
    from django.utils import translation

    from mapideas.pins.serializers import IdeaFeatureSerializer

    with translation.override(language):
        return json.loads(json.dumps(IdeaFeatureSerializer(Idea.objects.get(pk=pk)).data))


@pytest.mark.parametrize(
    ("place", "language"),
    [(IN_EAST, "en"), (IN_EMPTY_HOLE, "en"), (IN_WEST, "fr"), (ON_SHARED_BORDER, "nl")],
    ids=["neighborhood", "gap-triage", "french-names", "dutch-border"],
)
def test_the_201_is_the_serializers_feature_of_the_stored_pin(city, category, place, language):
    category.name_translations = {"fr": "Parcs et verdure", "nl": "Parken en groen"}
    category.save()
    city.west_team.name_translations = {"fr": "Équipe ouest"}
    city.west_team.save()
    body = {**BODY, "category": category.slug, "title": "Un banc <b>ici</b>"}
    body["location"] = {"type": "Point", "coordinates": [place.x, place.y]}

    response = APIClient().post("/api/ideas/", body, format="json", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 201, response.content
    feature = response.json()
    assert feature == stored_feature(feature["id"], language)


def test_the_201_of_a_pin_with_a_photo_names_its_photo(city, category, photo_root):
    from tests.mapideas.pins.photo_files import gps_jpeg, upload

    body = {**BODY, "category": category.slug, "location": json.dumps(BODY["location"])}
    body["photo"] = upload(gps_jpeg())

    response = APIClient().post("/api/ideas/", body, format="multipart")

    assert response.status_code == 201, response.content
    feature = response.json()
    assert feature["properties"]["photo_url"]
    assert feature == stored_feature(feature["id"])


def test_a_replayed_201_is_the_first_ones_body(city, category):
    body = {**BODY, "category": category.slug}
    first = APIClient().post("/api/ideas/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-201")
    again = APIClient().post("/api/ideas/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-201")

    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() == stored_feature(first.json()["id"])
