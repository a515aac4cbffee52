"""`/planner/`: the heatmap of pins and the export links, for planners only (the engagement
parts of the page: tests/geodata/planner/test_planner_maps.py)."""

import pytest
from django.contrib.auth import get_user_model
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST, ON_ISLAND

pytestmark = pytest.mark.django_db

HEAT_JS = "/static/vendor/leaflet.heat/leaflet-heat.js"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ideas(city, category):
    return [
        idea_create(kind="idea", title=title, category=category, location=where)
        for title, where in [("E1", IN_EAST), ("E2", IN_EAST), ("W", IN_WEST), ("H", ON_ISLAND)]
    ]


def test_it_draws_the_heatmap_with_a_local_script_and_links_the_exports(client, planner, ideas):
    client.force_login(planner)

    response = client.get("/planner/")

    assert response.status_code == 200
    assertContains(response, f'<script src="{HEAT_JS}"></script>', html=True)
    assertContains(response, "L.heatLayer(")
    assertContains(response, f"[{IN_EAST.y}, {IN_EAST.x}]")
    assertContains(response, f"[{ON_ISLAND.y}, {ON_ISLAND.x}]")
    assertContains(response, "4 pins match across 4 neighborhoods.")
    for extension in ("geojson", "gpkg", "shp.zip", "csv", "fgb", "kml"):
        assertContains(response, f'href="/export/ideas.{extension}"')
        assertContains(response, f'href="/export/neighborhoods.{extension}"')


def test_it_filters_the_heatmap_and_the_pins_export_alike(client, city, planner, ideas):
    ideas[0].kind = "issue"
    ideas[0].save()
    ideas[3].kind = "issue"
    ideas[3].save()
    client.force_login(planner)

    response = client.get("/planner/", {"kind": "idea", "channel": "web"})

    assert response.status_code == 200
    assertContains(response, "2 pins match across 4 neighborhoods.")
    assertContains(response, 'href="/export/ideas.geojson?kind=idea&amp;channel=web"')
    assertContains(response, 'href="/export/ideas.gpkg?kind=idea&amp;channel=web"')
    assertNotContains(response, f"[{ON_ISLAND.y}, {ON_ISLAND.x}]")
    # The filter keeps its value in the form.
    assertContains(response, '<option value="idea" selected>Idea</option>', html=True)


@pytest.mark.parametrize(
    ("channel", "label"),
    [("phone", "Phone"), ("meeting", "Meeting or workshop"), ("letter", "Letter")],
)
def test_it_splits_by_each_offline_channel(client, city, category, planner, channel, label):
    idea_create(kind="idea", title="Said", category=category, location=IN_EAST, channel=channel)
    idea_create(kind="idea", title="Typed", category=category, location=IN_WEST)
    client.force_login(planner)

    response = client.get("/planner/", {"channel": channel})

    assertContains(response, "1 pin matches across 4 neighborhoods.")
    assertContains(response, f'<option value="{channel}" selected>{label}</option>', html=True)


def test_it_says_the_filters_that_need_one_area_are_not_applied(client, city, planner, ideas):
    client.force_login(planner)

    response = client.get("/planner/", {"team": city.east_team.slug})

    assert response.status_code == 200
    assertContains(response, "4 pins match across 4 neighborhoods.")
    assertContains(response, "This page counts the whole city: team is not applied here")


def test_it_says_when_the_heatmap_draws_only_the_newest_pins(client, planner, ideas, settings):
    settings.MAPIDEAS_HEATMAP_MAX_POINTS = 3
    client.force_login(planner)

    response = client.get("/planner/")

    assertContains(response, "4 pins match")
    assertContains(response, "The heatmap draws the newest 3.")


def test_it_refuses_a_bad_filter_and_says_what_is_wrong(client, planner, ideas):
    client.force_login(planner)

    response = client.get("/planner/", {"created_after": "2026-13-01", "category": "no-such"})

    assert response.status_code == 400
    assertContains(response, "Enter a valid date.", status_code=400)
    assertContains(response, "Select a valid choice.", status_code=400)
    assertContains(response, "Fix the filters to see the heatmap", status_code=400)
    assertNotContains(response, HEAT_JS, status_code=400)


def test_it_forbids_a_team_member(client, east_member, ideas):
    client.force_login(east_member)

    response = client.get("/planner/")

    assert response.status_code == 403
    assertNotContains(response, HEAT_JS, status_code=403)


def test_it_sends_an_anonymous_visitor_to_the_login_page(client, city):
    assertRedirects(
        client.get("/planner/"), "/accounts/login/?next=/planner/", fetch_redirect_response=False
    )


def test_it_lets_a_superuser_in(client, ideas):
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))

    assert client.get("/planner/").status_code == 200


def test_it_draws_an_empty_city_without_failing(client, planner):
    client.force_login(planner)

    response = client.get("/planner/")

    assert response.status_code == 200
    assertContains(response, "0 pins match across 4 neighborhoods.")


def test_it_works_before_any_neighborhood_is_loaded(client, make_user):
    client.force_login(make_user("pat", planner=True))

    response = client.get("/planner/")

    assert response.status_code == 200
    assertContains(response, "0 pins match across 0 neighborhoods.")
