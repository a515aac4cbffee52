"""The workflow on a pin's page `/ideas/<id>/`: the public timeline (routing and answers in
time order, signed by the team), duplicates, and the staff forms behind it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from mapideas.models import Idea, IdeaNote, IdeaUpdate
from mapideas.submission.services import idea_create
from mapideas.workflow.services import (
    idea_mark_duplicate,
    idea_note_add,
    idea_reassign,
    idea_status_change,
)
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db
S = Idea.Status


@pytest.fixture
def idea(city, category) -> Idea:
    return idea_create(
        kind="issue",
        title="Broken swing",
        category=category,
        location=IN_EAST,
        created_at=timezone.now() - timedelta(days=3),
    )


def history(response) -> str:
    return response.content.decode().split('id="routing-heading"')[1].split("</ol>")[0]


def test_it_shows_answers_and_moves_in_time_order_signed_by_the_team(client, city, idea, make_user):
    staff = make_user("zq-staffer-8812", teams=[city.east_team, city.west_team])
    idea_status_change(idea=idea, status=S.ACKNOWLEDGED, answer="We saw it.", actor=staff)
    idea_reassign(idea=idea, team=city.west_team, reason="West maintains it.", actor=staff)
    idea_status_change(idea=idea, status=S.DONE, answer="New swing fitted.", actor=staff)

    response = client.get(f"/ideas/{idea.pk}/")

    timeline = history(response)
    order = [
        "sent to <strong>East Team</strong>",
        "We saw it.",
        "West maintains it.",
        "New swing fitted.",
    ]
    positions = [timeline.index(text) for text in order]
    assert positions == sorted(positions)
    assert '<strong class="answer-team">East Team</strong>' in timeline
    assert '<strong class="answer-team">West Team</strong>' in timeline
    assertContains(response, '<dd class="status status-done">Done</dd>', html=True)
    assertNotContains(response, "zq-staffer-8812")


def test_it_escapes_answers(client, city, idea, east_member):
    idea_status_change(
        idea=idea,
        status=S.DECLINED,
        answer='<script>alert("answer")</script>',
        actor=east_member,
    )

    response = client.get(f"/ideas/{idea.pk}/")

    html = response.content.decode()
    assert '<script>alert("answer")' not in html
    assertContains(response, "&lt;script&gt;alert(&quot;answer&quot;)&lt;/script&gt;")


def test_it_escapes_notes_for_staff_too(client, city, idea, east_member):
    idea_note_add(idea=idea, text="<img src=x onerror=alert(1)>", author=east_member)
    client.force_login(east_member)

    response = client.get(f"/ideas/{idea.pk}/")

    assert "<img src=x" not in response.content.decode()
    assertContains(response, "&lt;img src=x onerror=alert(1)&gt;")


def test_the_duplicate_points_to_the_original_and_the_original_lists_it(
    client, city, category, idea, east_member
):
    copy = idea_create(kind="issue", title="Swing is broken", category=category, location=IN_EAST)
    idea_mark_duplicate(idea=copy, original=idea, actor=east_member)

    duplicate_page = client.get(f"/ideas/{copy.pk}/")
    original_page = client.get(f"/ideas/{idea.pk}/")

    assertContains(duplicate_page, f'<a href="/ideas/{idea.pk}/">#{idea.pk} Broken swing</a>')
    assertContains(duplicate_page, '<dd class="status status-duplicate">Duplicate</dd>', html=True)
    assertContains(duplicate_page, f"This is the same as pin #{idea.pk}")
    assertContains(original_page, "Duplicates merged into this pin")
    assertContains(original_page, f'<a href="/ideas/{copy.pk}/">#{copy.pk} Swing is broken</a>')


# --- the staff forms ----------------------------------------------------------------------


def test_a_member_changes_the_status_with_an_answer(client, city, idea, east_member):
    client.force_login(east_member)

    page = client.get(f"/ideas/{idea.pk}/")
    response = client.post(
        f"/ideas/{idea.pk}/status/", {"status": "planned", "answer": "In the spring."}
    )

    choices = [value for value, _ in page.context["status_form"].fields["status"].choices]
    assert choices == [
        "new",
        "acknowledged",
        "under_review",
        "planned",
        "in_progress",
        "done",
        "declined",
    ]
    assertRedirects(response, f"/ideas/{idea.pk}/", fetch_redirect_response=False)
    idea.refresh_from_db()
    assert (idea.status, idea.answer) == (S.PLANNED, "In the spring.")
    assertContains(client.get(f"/ideas/{idea.pk}/"), "Status: Planned.")


def test_a_refused_change_says_why_in_the_form(client, city, idea, east_member):
    client.force_login(east_member)

    response = client.post(f"/ideas/{idea.pk}/status/", {"status": "done", "answer": ""})

    assert response.status_code == 400
    assertContains(response, "a public answer is required for done", status_code=400)
    assert not IdeaUpdate.objects.exists()


def test_a_status_outside_the_table_is_refused_by_the_form(client, city, idea, east_member):
    idea_status_change(idea=idea, status=S.DONE, answer="Fixed.", actor=east_member)
    client.force_login(east_member)

    response = client.post(f"/ideas/{idea.pk}/status/", {"status": "declined", "answer": "No"})

    assert response.status_code == 400
    assert Idea.objects.get(pk=idea.pk).status == S.DONE


def test_a_member_adds_a_note_and_assigns(client, city, idea, east_member):
    client.force_login(east_member)

    noted = client.post(f"/ideas/{idea.pk}/notes/", {"text": "Crew visits Tuesday."})
    assigned = client.post(f"/ideas/{idea.pk}/assign/", {"assignee": "eddie"})
    page = client.get(f"/ideas/{idea.pk}/")

    assert (noted.status_code, assigned.status_code) == (302, 302)
    assertContains(page, "Crew visits Tuesday.")
    assertContains(page, '<strong id="idea-assignee">eddie</strong>', html=True)
    assert list(IdeaNote.objects.values_list("kind", flat=True)) == ["note", "assigned"]


def test_a_member_marks_a_duplicate_from_the_page(client, city, category, idea, east_member):
    copy = idea_create(kind="issue", title="Swing again", category=category, location=IN_EAST)
    client.force_login(east_member)

    response = client.post(f"/ideas/{copy.pk}/duplicate/", {"duplicate_of": idea.pk})
    unknown = client.post(f"/ideas/{copy.pk}/duplicate/", {"duplicate_of": 999999})

    assert response.status_code == 302
    assert Idea.objects.get(pk=copy.pk).duplicate_of_id == idea.pk
    assert unknown.status_code == 400


def test_the_workflow_forms_need_the_csrf_token(city, idea, east_member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(east_member)

    response = client.post(f"/ideas/{idea.pk}/status/", {"status": "acknowledged"})

    assert response.status_code == 403
    assert Idea.objects.get(pk=idea.pk).status == S.NEW


def test_the_workflow_posts_only_accept_posts(client, city, idea, east_member):
    client.force_login(east_member)

    for action in ("status", "notes", "assign", "duplicate"):
        assert client.get(f"/ideas/{idea.pk}/{action}/").status_code == 405


# --- the API ----------------------------------------------------------------------------


def test_the_api_carries_the_latest_public_answer(client, city, idea, east_member):
    update = idea_status_change(
        idea=idea, status=S.PLANNED, answer="In the spring.", actor=east_member
    )
    idea_note_add(idea=idea, text="zq-internal-5512", author=east_member)

    (feature,) = client.get("/api/ideas/").json()["features"]

    props = feature["properties"]
    assert props["status"] == "planned"
    assert props["answer"] == "In the spring."
    assert props["answer_at"].startswith(update.created_at.strftime("%Y-%m-%dT%H:%M"))
    assert "zq-internal-5512" not in str(feature)
    assert "assignee" not in props


def test_a_pin_without_an_answer_has_empty_answer_fields(client, city, idea):
    (feature,) = client.get("/api/ideas/").json()["features"]

    assert (feature["properties"]["answer"], feature["properties"]["answer_at"]) == ("", None)
