"""Who may do what with a team's pins, every way round: anonymous, a citizen, a member of the
pin's team, a member of another team, a planner, an administrator × view the queue, change
the status, add a note, assign, a bulk change, mark a duplicate; and what citizens do on a
pin's page: support, comment, follow, and moderators hiding a comment. Refused means 403
(or, for pages, the login page) and nothing written."""

import pytest
from django.contrib.auth import get_user_model

from mapideas.models import Comment, Follower, Idea, IdeaNote, IdeaUpdate, Support
from mapideas.services import comment_add, idea_create
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db

PEOPLE = ["anonymous", "citizen", "owner_member", "other_member", "planner", "admin"]
ACTIONS = [
    "view_queue",
    "change_status",
    "add_note",
    "assign",
    "bulk",
    "mark_duplicate",
    "support",
    "comment",
    "hide_comment",
    "follow",
]

# Anyone supports and follows a pin (anonymously: once per browser, with an email to
# confirm); signed-in people comment; staff who see the pin's internals moderate.
EVERYONE = {"support", "follow"}
SIGNED_IN = EVERYONE | {"comment"}

# Who may: the pin's team and administrators change; planners read only (mapideas.roles),
# but moderate comments.
ALLOWED = {
    "anonymous": EVERYONE,
    "citizen": SIGNED_IN,
    "other_member": SIGNED_IN,
    "owner_member": set(ACTIONS),
    "admin": set(ACTIONS),
    "planner": {"view_queue", "hide_comment"} | SIGNED_IN,
}


@pytest.fixture
def pins(city, category, make_user):
    pin = idea_create(kind="issue", title="Swing", category=category, location=IN_EAST)
    return {
        "pin": pin,
        "original": idea_create(kind="issue", title="Swing 1", category=category, location=IN_EAST),
        "west": idea_create(kind="issue", title="West", category=category, location=IN_WEST),
        "comment": comment_add(idea=pin, author=make_user("cora"), text="Rude words"),
    }


@pytest.fixture
def people(city, make_user, east_member, west_member, planner):
    return {
        "anonymous": None,
        "citizen": make_user("cindy"),
        "owner_member": east_member,
        "other_member": west_member,
        "planner": planner,
        "admin": get_user_model().objects.create_superuser("root", password="pw-for-tests"),
    }


def do(client, action: str, pins: dict):
    pin = pins["pin"]
    if action == "view_queue":
        return client.get("/teams/east-team/")
    if action == "change_status":
        return client.post(
            f"/ideas/{pin.pk}/status/", {"status": "acknowledged", "answer": "Seen."}
        )
    if action == "add_note":
        return client.post(f"/ideas/{pin.pk}/notes/", {"text": "Ask the parks crew."})
    if action == "assign":
        return client.post(f"/ideas/{pin.pk}/assign/", {"assignee": "eddie"})
    if action == "bulk":
        return client.post(
            "/teams/east-team/bulk/",
            {"ideas": [pin.pk, pins["original"].pk], "action": "status", "status": "planned"},
        )
    if action == "mark_duplicate":
        return client.post(f"/ideas/{pin.pk}/duplicate/", {"duplicate_of": pins["original"].pk})
    if action == "support":
        return client.post(f"/ideas/{pin.pk}/support/")
    if action == "comment":
        return client.post(f"/ideas/{pin.pk}/comments/", {"text": "Me too."})
    if action == "hide_comment":
        comment = pins["comment"]
        return client.post(f"/ideas/{pin.pk}/comments/{comment.pk}/hide/", {"reason": "Rude."})
    if action == "follow":
        return client.post(f"/ideas/{pin.pk}/follow/", {"email": "someone@mail.example"})
    raise AssertionError(action)


def snapshot() -> list:
    return [
        list(
            Idea.objects.order_by("pk").values_list("status", "assignee", "duplicate_of", "answer")
        ),
        IdeaUpdate.objects.count(),
        IdeaNote.objects.count(),
        list(Idea.objects.order_by("pk").values_list("support_count", flat=True)),
        Support.objects.count(),
        list(Comment.objects.order_by("pk").values_list("hidden_at", flat=True)),
        Follower.objects.count(),
    ]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", PEOPLE)
def test_the_matrix(client, people, pins, who, action):
    person = people[who]
    if person is not None:
        client.force_login(person)
    before = snapshot()

    response = do(client, action, pins)

    if action in ALLOWED.get(who, set()):
        assert response.status_code in (200, 302), response.content[:500]
        if action != "view_queue":
            assert response.status_code == 302
            assert snapshot() != before
    else:
        if who == "anonymous" and action == "view_queue":
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
        else:
            assert response.status_code == 403
        assert snapshot() == before


def test_a_member_cannot_slip_another_teams_pin_into_their_own_bulk_change(
    client, people, pins, city
):
    client.force_login(people["other_member"])  # West Team
    before = snapshot()

    response = client.post(
        "/teams/west-team/bulk/",
        {"ideas": [pins["west"].pk, pins["pin"].pk], "action": "status", "status": "planned"},
    )

    assert response.status_code == 403
    assert snapshot() == before


def test_the_pin_page_offers_the_workflow_only_to_those_who_may(client, people, pins):
    url = f"/ideas/{pins['pin'].pk}/"
    seen = {}
    for who in PEOPLE:
        client.logout()
        if people[who] is not None:
            client.force_login(people[who])
        html = client.get(url).content.decode()
        seen[who] = ('id="status-form"' in html, 'id="internal"' in html)

    assert seen == {
        "anonymous": (False, False),
        "citizen": (False, False),
        "owner_member": (True, True),
        "other_member": (False, False),
        "planner": (False, True),  # reads the notes, changes nothing
        "admin": (True, True),
    }
