"""Re-assigning one pin by hand from its page: who may, what is recorded, what the public sees."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from mapideas.models import Idea, RoutingEvent
from mapideas.pins.roles import can_reassign
from mapideas.submission.services import idea_create
from mapideas.workflow.services import REASSIGN_REASON_MESSAGE
from neighborhoods.routing import triage_team
from tests.conftest import IN_EAST, IN_EMPTY_HOLE

pytestmark = pytest.mark.django_db

FORM_HEADING = "Re-assign to another team"


@pytest.fixture
def idea(city, category) -> Idea:
    return idea_create(kind="issue", title="Broken swing", category=category, location=IN_EAST)


@pytest.fixture
def gap_idea(city, category) -> Idea:
    return idea_create(kind="issue", title="Dumped sofa", category=category, location=IN_EMPTY_HOLE)


@pytest.fixture
def triage_member(city, make_user):
    return make_user("tess", teams=[triage_team()])


def reassign(client, idea: Idea, team, reason: str = "The swing is in the West Side park."):
    return client.post(f"/ideas/{idea.pk}/reassign/", {"team": team.slug, "reason": reason})


def manual_moves(idea: Idea):
    return RoutingEvent.objects.filter(idea=idea, cause=RoutingEvent.Cause.MANUAL)


# --- who may --------------------------------------------------------------------------------


def test_it_lets_a_member_of_the_current_team_reassign_with_a_reason(
    client, city, idea, east_member
):
    client.force_login(east_member)

    response = reassign(client, idea, city.west_team)

    assertRedirects(response, f"/ideas/{idea.pk}/", fetch_redirect_response=False)
    idea.refresh_from_db()
    assert idea.team == city.west_team
    assert idea.neighborhood == city.east  # the place did not change
    (event,) = manual_moves(idea)
    assert (event.from_team, event.to_team) == (city.east_team, city.west_team)
    assert event.reason == "The swing is in the West Side park."
    assert event.actor == east_member
    page = client.get(response["Location"])
    assertContains(page, "Re-assigned to West Team.")
    # No longer their pin: the form is gone for them.
    assertNotContains(page, FORM_HEADING)


def test_it_shows_the_form_to_a_member_of_the_current_team(client, city, idea, east_member):
    client.force_login(east_member)

    response = client.get(f"/ideas/{idea.pk}/")

    assertContains(response, FORM_HEADING)
    assertContains(response, f'action="/ideas/{idea.pk}/reassign/"')
    assertContains(response, "csrfmiddlewaretoken")
    # Every team but the one that has the pin, the triage team included.
    choices = [slug for slug, _label in response.context["reassign_form"].fields["team"].choices]
    assert city.east_team.slug not in choices
    assert {city.west_team.slug, city.harbor_team.slug, triage_team().slug} <= set(choices)


def test_it_forbids_a_member_of_another_team_and_hides_the_form(client, city, idea, west_member):
    client.force_login(west_member)

    page = client.get(f"/ideas/{idea.pk}/")
    response = reassign(client, idea, city.west_team)

    assertNotContains(page, FORM_HEADING)
    assert response.status_code == 403
    idea.refresh_from_db()
    assert idea.team == city.east_team
    assert not manual_moves(idea).exists()


def test_it_forbids_an_anonymous_visitor_and_hides_the_form(client, city, idea):
    page = client.get(f"/ideas/{idea.pk}/")
    response = reassign(client, idea, city.west_team)

    assertNotContains(page, FORM_HEADING)
    assert response.status_code == 403
    assert not manual_moves(idea).exists()


def test_it_lets_a_planner_reassign_any_pin(client, city, idea, planner):
    client.force_login(planner)

    assertContains(client.get(f"/ideas/{idea.pk}/"), FORM_HEADING)
    response = reassign(client, idea, city.harbor_team, reason="Harbor crew has the parts.")

    assert response.status_code == 302
    idea.refresh_from_db()
    assert idea.team == city.harbor_team


def test_it_lets_a_superuser_reassign(client, city, idea):
    root = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    client.force_login(root)

    assert reassign(client, idea, city.west_team).status_code == 302


def test_it_lets_the_triage_team_assign_a_pin_from_its_queue(client, city, gap_idea, triage_member):
    client.force_login(triage_member)

    response = reassign(client, gap_idea, city.west_team, reason="West Side mows that lot.")

    assert response.status_code == 302
    gap_idea.refresh_from_db()
    assert (gap_idea.team, gap_idea.neighborhood) == (city.west_team, None)
    # ... and may still correct it: a pin outside every neighborhood stays theirs to route.
    assert can_reassign(triage_member, gap_idea)


def test_it_forbids_the_triage_team_a_pin_inside_a_neighborhood(client, city, idea, triage_member):
    client.force_login(triage_member)

    assert reassign(client, idea, city.west_team).status_code == 403


def test_it_only_accepts_posts(client, city, idea, east_member):
    client.force_login(east_member)

    assert client.get(f"/ideas/{idea.pk}/reassign/").status_code == 405


def test_it_is_404_for_an_unknown_idea(client, city, planner):
    client.force_login(planner)

    assert client.post("/ideas/999999/reassign/", {"team": "west-team"}).status_code == 404


def test_it_requires_the_csrf_token(city, idea, east_member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(east_member)

    assert reassign(client, idea, city.west_team).status_code == 403
    assert not manual_moves(idea).exists()


# --- what it asks for -----------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_it_refuses_a_missing_reason_with_a_message(client, city, idea, east_member, reason):
    client.force_login(east_member)

    response = reassign(client, idea, city.west_team, reason=reason)

    assert response.status_code == 400
    assertContains(response, REASSIGN_REASON_MESSAGE, status_code=400)
    assertContains(response, FORM_HEADING, status_code=400)
    idea.refresh_from_db()
    assert idea.team == city.east_team
    assert not manual_moves(idea).exists()


def test_it_refuses_a_missing_or_unknown_team(client, city, idea, east_member):
    client.force_login(east_member)

    missing = client.post(f"/ideas/{idea.pk}/reassign/", {"reason": "Not ours."})
    unknown = client.post(f"/ideas/{idea.pk}/reassign/", {"team": "nobody", "reason": "Not ours."})
    same = reassign(client, idea, city.east_team)

    assert (missing.status_code, unknown.status_code, same.status_code) == (400, 400, 400)
    assert not manual_moves(idea).exists()


# --- what the public sees -------------------------------------------------------------------


def test_it_shows_the_move_on_the_public_page_without_who_made_it(client, city, idea, make_user):
    staff = make_user("zq-staffer-7731", teams=[city.east_team])
    client.force_login(staff)
    reassign(client, idea, city.west_team, reason="The swing is in the West Side park.")
    client.logout()

    response = client.get(f"/ideas/{idea.pk}/")

    assertContains(response, '<dd id="idea-team">West Team</dd>', html=True)
    timeline = response.content.decode().split('id="routing-heading"')[1]
    assert "sent to <strong>East Team</strong>" in timeline
    assert "moved from East Team (East Side) to <strong>West Team</strong>" in timeline
    assert "re-assigned by staff" in timeline
    assert "The swing is in the West Side park." in timeline
    assertNotContains(response, "zq-staffer-7731")
    assertNotContains(response, FORM_HEADING)
