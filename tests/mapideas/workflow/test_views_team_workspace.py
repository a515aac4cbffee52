"""`/teams/<slug>/`: a district team's pins, for its members and for planners."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from mapideas.models import Idea
from mapideas.submission.services import idea_create
from mapideas.workflow import views
from mapideas.workflow.services import idea_status_change
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST, ON_SHARED_BORDER

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ideas(city, category):
    """Three East pins pinned at different times, and a West one."""
    now = timezone.now()
    made = {}
    for title, where, age in [
        ("Middle east", ON_SHARED_BORDER, timedelta(days=2)),
        ("Oldest east", IN_EAST, timedelta(days=5)),
        ("West pin", IN_WEST, timedelta(hours=3)),
        ("Newest east", IN_EAST, timedelta(hours=1)),
    ]:
        made[title] = idea_create(
            kind="idea", title=title, category=category, location=where, created_at=now - age
        )
    return made


def titles_in_order(response) -> list[str]:
    return [idea.title for idea in response.context["page"].object_list]


def test_it_shows_a_member_the_team_pins_newest_first_and_no_others(
    client, city, east_member, ideas
):
    client.force_login(east_member)

    response = client.get(f"/teams/{city.east_team.slug}/")

    assert response.status_code == 200
    assert titles_in_order(response) == ["Newest east", "Middle east", "Oldest east"]
    html = response.content.decode()
    assert html.index("Newest east") < html.index("Middle east") < html.index("Oldest east")
    assertNotContains(response, "West pin")
    assertContains(response, "<h1>East Team</h1>", html=True)
    assertContains(response, '<span class="count">(3)</span>', html=True)
    assertContains(response, f'href="/ideas/{ideas["Newest east"].pk}/"')
    # The map draws the same pins as the list, from the same queryset, and asks the API for
    # none on top (tests/mapideas/workflow/test_views_team_queue.py filters both).
    assertContains(response, 'data-server-pins="true"')
    assertNotContains(response, "data-team=")
    assert '"title": "Newest east"' in response.context["map"].script


def test_it_lists_every_neighborhood_of_the_team(client, city, west_member, category):
    idea_create(kind="idea", title="In the enclave", category=category, location=IN_ENCLAVE)
    client.force_login(west_member)

    response = client.get(f"/teams/{city.west_team.slug}/")

    assertContains(response, "Area: Enclave, West Side.")
    assert titles_in_order(response) == ["In the enclave"]


def test_it_pages_older_pins(client, city, east_member, ideas, monkeypatch):
    monkeypatch.setattr(views, "TEAM_PAGE_SIZE", 2)
    client.force_login(east_member)

    first = client.get(f"/teams/{city.east_team.slug}/")
    second = client.get(f"/teams/{city.east_team.slug}/", {"page": 2})

    assert titles_in_order(first) == ["Newest east", "Middle east"]
    assertContains(first, '<a href="?page=2">Older</a>', html=True)
    assert titles_in_order(second) == ["Oldest east"]
    assertContains(second, '<a href="?page=1">Newer</a>', html=True)


def test_it_says_so_when_nothing_was_routed_to_the_team(client, city, east_member):
    client.force_login(east_member)

    response = client.get(f"/teams/{city.east_team.slug}/")

    assertContains(response, "Nothing has been routed to this team yet.")


def test_it_forbids_a_member_of_another_team(client, city, west_member, ideas):
    client.force_login(west_member)

    response = client.get(f"/teams/{city.east_team.slug}/")

    assert response.status_code == 403
    assertNotContains(response, "Newest east", status_code=403)


def test_it_sends_an_anonymous_visitor_to_the_login_page(client, city, ideas):
    response = client.get(f"/teams/{city.east_team.slug}/")

    assertRedirects(
        response, "/accounts/login/?next=/teams/east-team/", fetch_redirect_response=False
    )


def test_it_shows_a_planner_any_team(client, city, planner, ideas):
    client.force_login(planner)

    response = client.get(f"/teams/{city.east_team.slug}/")

    assert response.status_code == 200
    assert titles_in_order(response) == ["Newest east", "Middle east", "Oldest east"]


def test_it_shows_a_superuser_any_team(client, city, ideas):
    admin = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    client.force_login(admin)

    response = client.get(f"/teams/{city.west_team.slug}/")

    assert response.status_code == 200
    assert titles_in_order(response) == ["West pin"]


def test_it_is_404_for_an_unknown_team(client, planner):
    client.force_login(planner)

    assert client.get("/teams/no-such-team/").status_code == 404


def test_it_shows_the_reopenings_beside_the_first_answers(client, city, east_member, ideas):
    pin = ideas["Oldest east"]
    idea_status_change(idea=pin, status=Idea.Status.DONE, answer="Done.", actor=east_member)
    client.force_login(east_member)
    assertNotContains(client.get(f"/teams/{city.east_team.slug}/"), 'id="stats-reopened"')

    idea_status_change(
        idea=pin, status=Idea.Status.IN_PROGRESS, answer="Back on it.", actor=east_member
    )
    cache.clear()  # the figures kept for TEAM_STATS_CACHE_SECONDS expire
    response = client.get(f"/teams/{city.east_team.slug}/")

    assertContains(response, '<dd id="stats-reopened">1 (0 answered since)</dd>', html=True)
    assertContains(response, '<dd id="stats-reopening-median">no answers yet</dd>', html=True)
