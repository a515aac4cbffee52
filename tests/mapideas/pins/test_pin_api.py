"""The JSON API of one pin: its story, the team's status changes and
notes, and citizens' support, comments and follow; each role allowed or refused."""

import pytest
from rest_framework.test import APIClient

from mapideas.models import EmailOutbox, Follower, Idea, IdeaNote
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_note_add
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

SECRET_NOTE = "zq-internal-note-4471"


@pytest.fixture
def idea(city, category):
    return idea_create(kind="issue", title="Broken lamp", category=category, location=IN_EAST)


def client_for(user=None, *, csrf: bool = False) -> APIClient:
    client = APIClient(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


def status_change(client: APIClient, idea: Idea, **body):
    return client.post(f"/api/ideas/{idea.pk}/status/", body, format="json")


# --- the pin and its timeline -----------------------------------------------------------------


def test_a_pin_is_a_feature_with_its_public_timeline(idea, east_member):
    status_change(client_for(east_member), idea, status="acknowledged", public_answer="On it.")

    feature = client_for().get(f"/api/ideas/{idea.pk}/").json()

    assert feature["type"] == "Feature"
    assert feature["properties"]["url"] == f"/ideas/{idea.pk}/"
    assert feature["properties"]["status"] == "acknowledged"
    kinds = [(e["type"], e["to_status"]) for e in feature["timeline"]]
    assert kinds == [("routing", None), ("update", "acknowledged")]
    assert feature["timeline"][1] | {"at": None} == {
        "at": None,
        "type": "update",
        "cause": None,
        "reason": None,
        "neighborhood": None,
        "neighborhood_slug": None,
        "from_status": "new",
        "to_status": "acknowledged",
        "answer": "On it.",
        "duplicate_of": None,
        "from_city_system": False,
        "body": None,
        "team": "East Team",
        "team_slug": "east-team",
        "photos": [],
    }
    assert "eddie" not in str(feature)  # who answered is never public


def test_an_unknown_pin_is_a_404(db):
    assert client_for().get("/api/ideas/999999/").status_code == 404


# --- status ----------------------------------------------------------------------------------


def test_the_owning_teams_member_moves_the_pin_and_answers(idea, east_member):
    response = status_change(
        client_for(east_member), idea, status="done", public_answer="Fixed on Monday."
    )

    assert response.status_code == 200, response.content
    idea.refresh_from_db()
    assert (idea.status, idea.answer) == ("done", "Fixed on Monday.")
    assert response.json()["properties"]["answer"] == "Fixed on Monday."


@pytest.mark.parametrize("who", ["anonymous", "other_team", "planner", "citizen"])
def test_everyone_outside_the_owning_team_is_refused_with_403(
    idea, who, west_member, planner, make_user
):
    user = {
        "anonymous": None,
        "other_team": west_member,
        "planner": planner,
        "citizen": make_user("cleo"),
    }[who]

    response = status_change(client_for(user), idea, status="acknowledged")

    assert response.status_code == 403
    idea.refresh_from_db()
    assert idea.status == "new"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "done"}, "public_answer"),  # done needs an answer
        ({"status": "declined", "public_answer": ""}, "public_answer"),
        ({"status": "reopened"}, "status"),  # not a status
        ({"status": "duplicate"}, "duplicate_of"),  # duplicate of what?
        ({"status": "duplicate", "duplicate_of": 999999}, "duplicate_of"),
        ({"public_answer": "x"}, "status"),
    ],
)
def test_a_forbidden_change_is_a_400_naming_the_field(idea, east_member, body, field):
    response = status_change(client_for(east_member), idea, **body)

    assert response.status_code == 400, response.content
    assert field in response.json()
    idea.refresh_from_db()
    assert idea.status == "new"


def test_a_transition_the_workflow_does_not_allow_is_a_400(idea, east_member):
    client = client_for(east_member)
    status_change(client, idea, status="done", public_answer="Fixed.")

    response = status_change(client, idea, status="planned")

    assert response.status_code == 400
    assert "status" in response.json()


def test_marking_a_duplicate_points_at_the_original(idea, category, east_member):
    original = idea_create(kind="issue", title="Lamp out", category=category, location=IN_EAST)

    response = status_change(
        client_for(east_member), idea, status="duplicate", duplicate_of=original.pk
    )

    assert response.status_code == 200, response.content
    idea.refresh_from_db()
    assert (idea.status, idea.duplicate_of_id) == ("duplicate", original.pk)


def test_a_signed_in_post_needs_the_csrf_token(idea, east_member):
    response = status_change(client_for(east_member, csrf=True), idea, status="acknowledged")

    assert response.status_code == 403
    idea.refresh_from_db()
    assert idea.status == "new"


# --- internal notes ----------------------------------------------------------------------------


def test_the_team_writes_and_reads_notes_and_planners_read_them(idea, east_member, planner):
    written = client_for(east_member).post(
        f"/api/ideas/{idea.pk}/notes/", {"text": SECRET_NOTE}, format="json"
    )

    assert written.status_code == 201
    assert written.json()["written_by"] == "eddie"
    for reader in (east_member, planner):
        notes = client_for(reader).get(f"/api/ideas/{idea.pk}/notes/").json()
        assert [n["text"] for n in notes] == [SECRET_NOTE]


@pytest.mark.parametrize("who", ["anonymous", "other_team", "citizen"])
def test_nobody_else_reads_or_writes_notes(idea, east_member, west_member, make_user, who):
    idea_note_add(idea=idea, text=SECRET_NOTE, author=east_member)
    user = {"anonymous": None, "other_team": west_member, "citizen": make_user("cleo")}[who]
    client = client_for(user)

    assert client.get(f"/api/ideas/{idea.pk}/notes/").status_code == 403
    written = client.post(f"/api/ideas/{idea.pk}/notes/", {"text": "mine"}, format="json")
    assert written.status_code == 403
    assert IdeaNote.objects.filter(kind=IdeaNote.Kind.NOTE).count() == 1
    # Nor do notes show in the pin's public story.
    assert SECRET_NOTE not in client.get(f"/api/ideas/{idea.pk}/").content.decode()


def test_planners_read_but_do_not_write_notes(idea, planner):
    written = client_for(planner).post(
        f"/api/ideas/{idea.pk}/notes/", {"text": "mine"}, format="json"
    )

    assert written.status_code == 403


def test_an_empty_note_is_a_400_naming_text(idea, east_member):
    written = client_for(east_member).post(
        f"/api/ideas/{idea.pk}/notes/", {"text": "  "}, format="json"
    )

    assert written.status_code == 400
    assert "text" in written.json()


# --- support, comments, follow ---------------------------------------------------------------


def test_anonymous_support_counts_once_per_browser(idea):
    client = client_for()
    first = client.post(f"/api/ideas/{idea.pk}/support/")
    again = client.post(f"/api/ideas/{idea.pk}/support/")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {"supported": True, "support_count": 1}
    # Another browser (no cookie) is another supporter.
    assert client_for().post(f"/api/ideas/{idea.pk}/support/").json()["support_count"] == 2


def test_a_signed_in_person_supports_once(idea, make_user):
    client = client_for(make_user("cleo"))

    assert client.post(f"/api/ideas/{idea.pk}/support/").status_code == 201
    assert client.post(f"/api/ideas/{idea.pk}/support/").status_code == 200
    idea.refresh_from_db()
    assert idea.support_count == 1


def test_anonymous_support_is_rate_limited_per_address(idea, settings):
    settings.MAPIDEAS_RATE_SUPPORT = (1, 3600)
    client_for().post(f"/api/ideas/{idea.pk}/support/", REMOTE_ADDR="198.51.100.4")

    refused = client_for().post(f"/api/ideas/{idea.pk}/support/", REMOTE_ADDR="198.51.100.4")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def test_signed_in_people_comment_and_everyone_reads_without_names(idea, make_user):
    cleo = make_user("cleo")
    cleo.email = "zq.cleo@mail.example"
    cleo.save()

    refused = client_for().post(f"/api/ideas/{idea.pk}/comments/", {"text": "Hi"}, format="json")
    written = client_for(cleo).post(
        f"/api/ideas/{idea.pk}/comments/", {"text": "Same here"}, format="json"
    )
    listed = client_for().get(f"/api/ideas/{idea.pk}/comments/")

    assert refused.status_code == 403
    assert written.status_code == 201
    assert [c["text"] for c in listed.json()] == ["Same here"]
    assert listed.json()[0]["by"].startswith("Citizen #")
    assert "cleo" not in listed.content.decode()


def test_an_empty_comment_is_a_400_naming_text(idea, make_user):
    written = client_for(make_user("cleo")).post(
        f"/api/ideas/{idea.pk}/comments/", {"text": ""}, format="json"
    )

    assert written.status_code == 400
    assert "text" in written.json()


def test_a_signed_in_person_follows_at_once(idea, make_user):
    cleo = make_user("cleo")

    response = client_for(cleo).post(f"/api/ideas/{idea.pk}/follow/")

    assert response.status_code == 200
    assert Follower.objects.filter(idea=idea, user=cleo, confirmed_at__isnull=False).exists()


def test_someone_not_signed_in_follows_by_email_after_a_confirmation_link(idea):
    missing = client_for().post(f"/api/ideas/{idea.pk}/follow/", {}, format="json")
    response = client_for().post(
        f"/api/ideas/{idea.pk}/follow/", {"email": "zq.fan@mail.example"}, format="json"
    )

    assert missing.status_code == 400
    assert "email" in missing.json()
    assert response.status_code == 202
    follower = Follower.objects.get(idea=idea, email="zq.fan@mail.example")
    assert follower.confirmed_at is None
    assert EmailOutbox.objects.filter(to="zq.fan@mail.example").count() == 1


# --- pins that are not public ------------------------------------------------------------------


def test_a_pin_awaiting_confirmation_is_a_404_for_the_public_and_visible_to_its_team(
    idea, east_member
):
    Idea.objects.filter(pk=idea.pk).update(awaiting_confirmation=True)

    for path in ("", "support/", "comments/", "follow/"):
        method = "get" if path in ("", "comments/") else "post"
        assert getattr(client_for(), method)(f"/api/ideas/{idea.pk}/{path}").status_code == 404
    assert client_for(east_member).get(f"/api/ideas/{idea.pk}/").status_code == 200
