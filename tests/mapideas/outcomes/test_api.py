"""POST /api/ideas/<pk>/feedback/: a resident's verdict through the API, answered with what
happened and the pin's counts, never who."""

import pytest

from mapideas.models import FEEDBACK_NOTE_MAX_LENGTH, EmailOutbox, FixFeedback, Idea

pytestmark = pytest.mark.django_db


def url(idea: Idea) -> str:
    return f"/api/ideas/{idea.pk}/feedback/"


def test_a_verified_person_is_counted_at_once(client, closed_idea, make_resident):
    client.force_login(make_resident("ann"))
    response = client.post(url(closed_idea), {"verdict": "fixed"}, content_type="application/json")
    assert response.status_code == 201
    assert response.json() == {
        "outcome": "recorded",
        "counted": True,
        "detail": "Thank you: your answer is counted.",
        "status": "done",
        "fix_confirmed_count": 1,
        "dispute_count": 0,
    }

    again = client.post(
        url(closed_idea), {"verdict": "still_there"}, content_type="application/json"
    )
    assert again.status_code == 200
    assert again.json()["outcome"] == "already_given"
    assert again.json()["dispute_count"] == 0


def test_an_address_gets_a_link_and_the_answer_names_no_one(client, closed_idea):
    response = client.post(
        url(closed_idea),
        {"verdict": "still_there", "note": "Still there.", "email": "zoe@example.org"},
        content_type="application/json",
    )
    assert response.status_code == 202
    assert response.json()["outcome"] == "awaiting_confirmation"
    assert "zoe" not in response.content.decode()
    assert EmailOutbox.objects.filter(to="zoe@example.org").exists()


def test_the_third_network_reopens_the_pin(client, closed_idea, make_resident):
    for index, name in enumerate(("ann", "bob", "cat")):
        client.force_login(make_resident(name))
        response = client.post(
            url(closed_idea),
            {"verdict": "still_there"},
            content_type="application/json",
            REMOTE_ADDR=f"10.0.0.{index + 1}",
        )
    assert response.status_code == 201
    assert response.json()["outcome"] == "reopened"
    assert response.json()["status"] == "in_progress"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"verdict": "maybe"}, "verdict"),
        ({"verdict": "still_there"}, "email"),
        ({"verdict": "still_there", "email": "not an address"}, "email"),
        ({"verdict": "still_there", "email": "z@example.org", "note": "a\ufffeb"}, "note"),
        (
            {"verdict": "still_there", "email": "z@example.org", "note": "x" * 1001},
            "note",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, closed_idea, body, field):
    assert FEEDBACK_NOTE_MAX_LENGTH == 1000
    response = client.post(url(closed_idea), body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert not FixFeedback.objects.exists()


def test_an_open_pin_takes_no_verdict(client, city, category):
    from mapideas.submission.services import idea_create
    from tests.conftest import IN_EAST

    idea = idea_create(kind="issue", title="Swing", category=category, location=IN_EAST)
    response = client.post(
        url(idea),
        {"verdict": "still_there", "email": "z@example.org"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "verdict" in response.json()


def test_a_pin_nobody_may_see_is_a_404(client):
    response = client.post(
        url(Idea(pk=999999)), {"verdict": "fixed"}, content_type="application/json"
    )
    assert response.status_code == 404


def test_the_limit_is_a_429(client, closed_idea, settings):
    settings.MAPIDEAS_RATE_SUBMISSIONS = (1, 3600)
    body = {"verdict": "still_there", "email": "z@example.org"}
    assert client.post(url(closed_idea), body, content_type="application/json").status_code == 202
    body["email"] = "y@example.org"
    refused = client.post(url(closed_idea), body, content_type="application/json")
    assert refused.status_code == 429
    assert FixFeedback.objects.count() == 1
