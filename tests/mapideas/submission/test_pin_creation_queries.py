"""POST /api/ideas/ in few round trips (pin creation over HTTP): the category, the
routing query (with whether the category has rules), the boundary version's hold, the pin
and its routing event, whether a webhook receiver listens and whether the team has a back
office, in one transaction without
savepoints; no photo lookup for the 201."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from mapideas.models import Idea, RoutingEvent
from neighborhoods.models import CategoryRule

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
