"""A step of a pin's public timeline taken in the city's own work-order system and read back
from it (IdeaUpdate.from_city_system): the pin's page signs it with the team as usual and
says where it was taken; the API's update entries say `from_city_system`."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertContains, assertNotContains

from mapideas.models import IdeaUpdate
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

ANSWERED = "Answered in the city's work-order system."
UPDATED = "Updated in the city's work-order system."


@pytest.fixture
def idea(city, category):
    return idea_create(kind="issue", title="Broken lamp", category=category, location=IN_EAST)


def step(idea, actor, *, status: str, answer: str = "", from_city_system: bool) -> IdeaUpdate:
    """A step as the team takes it; read back from the city's system, it is marked so (as
    mapideas.backoffice writes it)."""
    update = idea_status_change(idea=idea, status=status, answer=answer, actor=actor)
    IdeaUpdate.objects.filter(pk=update.pk).update(from_city_system=from_city_system)
    return update


def history(response) -> str:
    page = response.content.decode()
    return page[page.index('<ol class="timeline">') :].split("</ol>", 1)[0]


def test_an_answer_from_the_citys_system_says_so_under_the_team(client, idea, east_member):
    step(idea, east_member, status="in_progress", answer="Crew booked.", from_city_system=True)

    response = client.get(idea.get_absolute_url())

    timeline = history(response)
    assert timeline.index("East Team") < timeline.index(ANSWERED) < timeline.index("Crew booked.")
    assertContains(response, f'<p class="muted from-city-system">{ANSWERED}</p>', html=True)
    assertNotContains(response, UPDATED)


def test_a_status_change_alone_from_the_citys_system_says_it_was_updated_there(
    client, idea, east_member
):
    step(idea, east_member, status="acknowledged", from_city_system=True)

    response = client.get(idea.get_absolute_url())

    assert "East Team" in history(response)
    assertContains(response, f'<p class="muted from-city-system">{UPDATED}</p>', html=True)
    assertNotContains(response, ANSWERED)


def test_a_step_the_team_took_here_says_nothing_more(client, idea, east_member):
    step(idea, east_member, status="acknowledged", answer="On it.", from_city_system=False)

    response = client.get(idea.get_absolute_url())

    assertContains(response, "On it.")
    assertNotContains(response, "from-city-system")
    assertNotContains(response, "work-order system")


def test_the_line_is_translated(client, idea, east_member):
    step(idea, east_member, status="in_progress", answer="Équipe prévue.", from_city_system=True)

    response = client.get(idea.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="fr")

    assertNotContains(response, ANSWERED)
    assert "from-city-system" in history(response)


def test_the_page_costs_the_same_queries_either_way(idea, east_member):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert Client().get(idea.get_absolute_url()).status_code == 200
        return len(captured.captured_queries)

    step(idea, east_member, status="acknowledged", answer="On it.", from_city_system=False)
    queries()  # once per process: the neighborhood's map drawn, the spatial references read
    here = queries()
    IdeaUpdate.objects.filter(idea=idea).update(from_city_system=True)

    assert queries() == here


def test_the_api_says_which_updates_came_from_the_citys_system(idea, east_member):
    step(idea, east_member, status="acknowledged", answer="On it.", from_city_system=False)
    step(idea, east_member, status="in_progress", from_city_system=True)

    timeline = Client().get(f"/api/ideas/{idea.pk}/").json()["timeline"]

    assert [(e["type"], e["to_status"], e["from_city_system"]) for e in timeline] == [
        ("routing", None, None),
        ("update", "acknowledged", False),
        ("update", "in_progress", True),
    ]
    assert timeline[2]["team"] == "East Team"
