"""Who may do what with a team's pins, every way round: anonymous, a citizen, a member of the
pin's team, a member of another team, a planner, an administrator × view the queue, change
the status, add a note, assign, a bulk change, mark a duplicate; and what citizens do on a
pin's page: support, comment, follow, and moderators hiding a comment. Refused means 403
(or, for pages, the login page) and nothing written."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from mapideas.answers.services import template_save
from mapideas.handoffs import services as handoffs
from mapideas.models import (
    BackofficeEndpoint,
    BackofficeForward,
    Comment,
    Follower,
    Idea,
    IdeaNote,
    IdeaUpdate,
    Support,
    WebhookEndpoint,
)
from mapideas.outcomes.services import feedback_give
from mapideas.participation.services import comment_add
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from tests.conftest import IN_EAST, IN_WEST
from tests.mapideas.pins.photo_files import gps_jpeg, upload

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

# Who may: the pin's team and administrators change; planners read only (mapideas.pins.roles),
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
    # A pin marked done that a resident says is still there, with a photo (the check queue).
    closed = idea_create(kind="issue", title="Bench", category=category, location=IN_EAST)
    idea_status_change(
        idea=closed,
        status=Idea.Status.DONE,
        answer="Repaired.",
        actor=make_user("closer", teams=[city.east_team]),
    )
    dispute = feedback_give(
        idea=closed,
        verdict="still_there",
        photo=upload(gps_jpeg()),
        source="fix_check",
        person_hash="a resident",
        confirmed=True,
    ).feedback
    return {
        "pin": pin,
        "original": idea_create(kind="issue", title="Swing 1", category=category, location=IN_EAST),
        "west": idea_create(kind="issue", title="West", category=category, location=IN_WEST),
        "comment": comment_add(idea=pin, author=make_user("cora"), text="Rude words"),
        "closed": closed,
        "dispute": dispute,
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


# --- Every URL × every role ------------------------------------------------------------------
#
# MATRIX has a row for every pattern of the URLconf (test_every_url_has_a_row fails for a new
# endpoint without one): how to build its URL from the fixtures, what each role gets for a GET,
# and, for a state-changing endpoint, for a POST. Expectations are in PEOPLE's order:
# anonymous, citizen, owner_member, other_member, planner, admin. "login" is a redirect to the
# login page; 302 a redirect elsewhere (the result page). A refused POST (a redirect to the
# login page, 400, 403, 404, 405 or 429) changes nothing: state() compares every row of every
# table of ours, and each pin's workflow fields.


@dataclass(frozen=True)
class Row:
    url: Callable[[dict], str]
    get: tuple
    post: tuple | None = None  # None: not state-changing (a POST is then 405, or harmless)
    data: Callable[[dict], dict] = lambda objects: {}
    body: str = "multipart"  # how the POST is encoded: "multipart", "form" or "json"


def each(status) -> tuple:
    return (status,) * len(PEOPLE)


PUBLIC = each(200)
SIGNED_IN_ONLY = ("login", 200, 200, 200, 200, 200)
NOT_ALLOWED = each(405)
STAFF_ONLY = ("login", 403, 403, 403, 403, 200)


def open311(objects: dict) -> dict:
    """A complete Open311 request but for its api_key."""
    return {"service_code": "parks-green-space", "lat": 50.005, "long": 4.015}


def post(client, row: Row, objects: dict):
    data = row.data(objects)
    if row.body == "json":
        return client.post(row.url(objects), data, content_type="application/json")
    if row.body == "form":
        return client.post(
            row.url(objects), urlencode(data), content_type="application/x-www-form-urlencoded"
        )
    return client.post(row.url(objects), data)


def pin_url(suffix: str = "") -> Callable[[dict], str]:
    return lambda objects: f"/ideas/{objects['pin'].pk}/{suffix}"


MATRIX: dict[str, Row] = {
    "home": Row(lambda o: "/", PUBLIC, post=each(400)),  # an empty form: 400 naming fields
    # A POST renders the page (the forms on it post elsewhere): harmless, checked unchanged.
    "idea-detail": Row(pin_url(), PUBLIC, post=each(200)),
    "idea-photo": Row(lambda o: f"/ideas/{o['pin'].pk}/photo.jpg", each(404)),  # no photo
    # An answer's photo: the pin's answers have none.
    "idea-timeline-photo": Row(lambda o: f"/ideas/{o['pin'].pk}/photos/1.jpg", each(404)),
    "idea-reassign": Row(
        pin_url("reassign/"),
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 302, 302),
        data=lambda o: {"team": "west-team", "reason": "Not ours."},
    ),
    "idea-status": Row(
        pin_url("status/"),
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 403, 302),
        data=lambda o: {"status": "acknowledged", "answer": "Seen."},
    ),
    "idea-note": Row(
        pin_url("notes/"),
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 403, 302),
        data=lambda o: {"text": "Ask the parks crew."},
    ),
    "idea-assign": Row(
        pin_url("assign/"),
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 403, 302),
        data=lambda o: {"assignee": "eddie"},
    ),
    "idea-duplicate": Row(
        pin_url("duplicate/"),
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 403, 302),
        data=lambda o: {"duplicate_of": o["original"].pk},
    ),
    "idea-support": Row(pin_url("support/"), NOT_ALLOWED, post=each(302)),
    # Taking support back is for signed-in people (a browser's support is once, for good).
    "idea-unsupport": Row(pin_url("unsupport/"), NOT_ALLOWED, post=(403, *(302,) * 5)),
    "comment-add": Row(
        pin_url("comments/"),
        NOT_ALLOWED,
        post=(403, 302, 302, 302, 302, 302),
        data=lambda o: {"text": "Me too."},
    ),
    "comment-hide": Row(
        lambda o: f"/ideas/{o['pin'].pk}/comments/{o['comment'].pk}/hide/",
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 302, 302),
        data=lambda o: {"reason": "Rude."},
    ),
    "idea-follow": Row(
        pin_url("follow/"),
        NOT_ALLOWED,
        post=each(302),
        data=lambda o: {"email": "someone@mail.example"},
    ),
    # Anyone else unfollows by the link in each email.
    "idea-unfollow": Row(pin_url("unfollow/"), NOT_ALLOWED, post=(403, *(302,) * 5)),
    "idea-flag": Row(
        pin_url("flag/"), NOT_ALLOWED, post=each(302), data=lambda o: {"reason": "spam"}
    ),
    # Links in emails: a forged token is refused whoever follows it.
    # (GET shows the page with its button, or says the link is bad; only the POST acts.)
    "follow-confirm": Row(lambda o: "/follow/confirm/forged/", PUBLIC, post=each(400)),
    "idea-confirm": Row(lambda o: "/ideas/confirm/forged/", each(400), post=each(400)),
    # The link's holder sees the pin's photo there: a forged link is a 404, as a pin's photo.
    "idea-confirm-photo": Row(lambda o: "/ideas/confirm/forged/photo.jpg", each(404)),
    "unsubscribe": Row(lambda o: "/unsubscribe/forged/", PUBLIC, post=each(400)),
    "team-unsubscribe": Row(lambda o: "/unsubscribe/team/forged/", PUBLIC, post=each(400)),
    "feedback-confirm": Row(lambda o: "/feedback/confirm/forged/", each(400), post=each(400)),
    # "Still there?" on a closed pin: anyone, with an address to confirm (nobody here has a
    # verified one).
    "idea-feedback": Row(
        lambda o: f"/ideas/{o['closed'].pk}/feedback/",
        NOT_ALLOWED,
        post=each(302),
        data=lambda o: {"verdict": "still_there", "email": "someone@mail.example"},
    ),
    "api-idea-feedback": Row(
        lambda o: f"/api/ideas/{o['closed'].pk}/feedback/",
        NOT_ALLOWED,
        post=each(202),
        data=lambda o: {"verdict": "still_there", "email": "someone@mail.example"},
        body="json",
    ),
    # The check queue: the team and planners see it; only the team decides.
    "check-queue": Row(lambda o: "/teams/east-team/checks/", ("login", 403, 200, 403, 200, 200)),
    "check-reopen": Row(
        lambda o: f"/teams/east-team/checks/{o['closed'].pk}/reopen/",
        NOT_ALLOWED,
        post=("login", 403, 302, 403, 403, 302),
        data=lambda o: {"answer": "We go back."},
    ),
    "check-keep-closed": Row(
        lambda o: f"/teams/east-team/checks/{o['closed'].pk}/keep-closed/",
        NOT_ALLOWED,
        post=("login", 403, 302, 403, 403, 302),
        data=lambda o: {"answer": "Repaired on Monday."},
    ),
    "check-dismiss": Row(
        lambda o: f"/teams/east-team/checks/{o['closed'].pk}/dismiss/{o['dispute'].pk}/",
        NOT_ALLOWED,
        post=("login", 403, 302, 403, 403, 302),
    ),
    # A dispute's photo: for those who read the pin's team work, never the public.
    "dispute-photo": Row(
        lambda o: f"/checks/photos/{o['dispute'].photos.get().pk}.jpg",
        ("login", 404, 200, 404, 200, 200),
    ),
    "alerts": Row(lambda o: "/alerts/", PUBLIC, post=each(400)),  # an empty form
    "alert-confirm": Row(lambda o: "/alerts/confirm/forged/", PUBLIC, post=each(400)),
    "alert-unsubscribe": Row(lambda o: "/alerts/unsubscribe/forged/", PUBLIC, post=each(400)),
    # "Is it fixed?": a token never sent is a 404 page, whoever opens it; the page's forms
    # carry the CSRF token (test_every_state_changing_form_needs_the_csrf_token).
    "fix-check": Row(lambda o: "/ideas/fixed/forged/", each(404), post=each(404)),
    "my-teams": Row(lambda o: "/teams/", SIGNED_IN_ONLY),
    "team-workspace": Row(lambda o: "/teams/east-team/", ("login", 403, 200, 403, 200, 200)),
    "team-bulk": Row(
        lambda o: "/teams/east-team/bulk/",
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 403, 302),
        data=lambda o: {
            "ideas": [o["pin"].pk, o["original"].pk],
            "action": "status",
            "status": "planned",
        },
    ),
    # A team's response templates: its members, planners and admins (as its workspace).
    "answer-templates": Row(
        lambda o: "/teams/east-team/templates/", ("login", 403, 200, 403, 200, 200)
    ),
    "answer-template-new": Row(
        lambda o: "/teams/east-team/templates/new/",
        ("login", 403, 200, 403, 200, 200),
        post=("login", 403, 400, 403, 400, 400),  # an empty form
    ),
    "answer-template-edit": Row(
        lambda o: f"/teams/east-team/templates/{o['template'].pk}/",
        ("login", 403, 200, 403, 200, 200),
        post=("login", 403, 400, 403, 400, 400),  # an empty form
    ),
    "answer-template-delete": Row(
        lambda o: f"/teams/east-team/templates/{o['template'].pk}/delete/",
        NOT_ALLOWED,
        post=("login", 403, 302, 403, 302, 302),
    ),
    "team-offline-input": Row(
        lambda o: "/teams/east-team/offline/",
        ("login", 403, 200, 403, 403, 200),
        post=("login", 403, 400, 403, 403, 400),  # an empty form
    ),
    "planner": Row(lambda o: "/planner/", ("login", 403, 403, 403, 200, 200)),
    "export-layer": Row(lambda o: "/export/ideas.geojson", PUBLIC),
    # Every team moderates the pins in its area; citizens do not.
    "moderation-queue": Row(lambda o: "/staff/moderation/", ("login", 403, 200, 200, 200, 200)),
    "moderation-decide": Row(
        lambda o: f"/staff/moderation/{o['pin'].pk}/decide/",
        NOT_ALLOWED,
        # Planners see the queue but decide nothing (read-only on the workflow).
        post=("login", 403, 302, 403, 403, 302),
        data=lambda o: {"decision": "remove", "reason": "Spam."},
    ),
    # Webhooks send the city's pins to a system of staff's choosing: site staff only. The
    # receiver is at a documentation address (192.0.2.1), refused as private: no network.
    "webhook-list": Row(
        lambda o: "/staff/webhooks/",
        STAFF_ONLY,
        post=("login", 403, 403, 403, 403, 400),  # an empty form
    ),
    "webhook-detail": Row(
        lambda o: f"/staff/webhooks/{o['webhook'].pk}/",
        STAFF_ONLY,
        post=("login", 403, 403, 403, 403, 400),  # an empty form
    ),
    "webhook-ping": Row(
        lambda o: f"/staff/webhooks/{o['webhook'].pk}/ping/",
        NOT_ALLOWED,
        post=("login", 403, 403, 403, 403, 302),
    ),
    "webhook-retry": Row(
        lambda o: f"/staff/webhooks/{o['webhook'].pk}/retry/",
        NOT_ALLOWED,
        post=("login", 403, 403, 403, 403, 302),
    ),
    "webhook-rotate": Row(
        lambda o: f"/staff/webhooks/{o['webhook'].pk}/rotate/",
        NOT_ALLOWED,
        post=("login", 403, 403, 403, 403, 200),  # the new secret, shown once
    ),
    "webhook-delete": Row(
        lambda o: f"/staff/webhooks/{o['webhook'].pk}/delete/",
        NOT_ALLOWED,
        post=("login", 403, 403, 403, 403, 302),
    ),
    # Hand-offs to an outside body: the pin's team hands, approves, sends back, withdraws
    # (the fixture's hand-off is reported, with a photo the pin's staff see); the body's
    # pages take the emailed link's token, whoever holds it.
    "handoff-create": Row(
        lambda o: f"/ideas/{o['original'].pk}/handoffs/",
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 403, 302),
        data=lambda o: {"body_name": "Gas Co", "body_email": "works@gas.example", "days": 14},
    ),
    "handoff-approve": Row(
        lambda o: f"/ideas/{o['pin'].pk}/handoffs/{o['handoff'].pk}/approve/",
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 403, 302),
        data=lambda o: {"answer": ""},
    ),
    "handoff-return": Row(
        lambda o: f"/ideas/{o['pin'].pk}/handoffs/{o['handoff'].pk}/return/",
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 403, 302),
        data=lambda o: {"note": "It still drips."},
    ),
    "handoff-withdraw": Row(
        lambda o: f"/ideas/{o['pin'].pk}/handoffs/{o['handoff'].pk}/withdraw/",
        NOT_ALLOWED,
        post=(403, 403, 302, 403, 403, 302),
    ),
    "handoff-photo": Row(
        lambda o: f"/ideas/{o['pin'].pk}/handoffs/{o['handoff'].pk}/photo.jpg",
        (404, 404, 200, 404, 200, 200),
    ),
    "handoff-page": Row(lambda o: f"/handoffs/{o['handoff'].pk}/{o['handoff_token']}/", PUBLIC),
    "handoff-accept": Row(
        lambda o: f"/handoffs/{o['handoff'].pk}/{o['handoff_token']}/accept/",
        NOT_ALLOWED,
        post=each(302),
    ),
    "handoff-report": Row(
        lambda o: f"/handoffs/{o['handoff'].pk}/{o['handoff_token']}/report/",
        NOT_ALLOWED,
        post=each(302),
        data=lambda o: {"comment": "Valve replaced."},
    ),
    # Back offices: site staff set them up (the one here is at a documentation address,
    # refused with no network: reading its services fails, and the page says so); the back
    # office's team acts on its forwards, planners read them and export the request numbers.
    "backoffice-list": Row(
        lambda o: "/staff/backoffice/",
        STAFF_ONLY,
        post=("login", 403, 403, 403, 403, 400),  # an empty form
    ),
    "backoffice-detail": Row(
        lambda o: f"/staff/backoffice/{o['backoffice'].pk}/",
        STAFF_ONLY,
        post=("login", 403, 403, 403, 403, 400),  # an empty form
    ),
    "backoffice-services": Row(
        lambda o: f"/staff/backoffice/{o['backoffice'].pk}/services/",
        NOT_ALLOWED,
        post=("login", 403, 403, 403, 403, 200),  # the page, saying what went wrong
    ),
    "backoffice-mapping": Row(
        lambda o: f"/staff/backoffice/{o['backoffice'].pk}/mapping/",
        NOT_ALLOWED,
        post=("login", 403, 403, 403, 403, 400),  # an empty form
    ),
    "backoffice-teams": Row(lambda o: "/staff/backoffice/teams/", ("login", 403, *(200,) * 4)),
    "backoffice-team": Row(
        lambda o: "/staff/backoffice/teams/east-team/", ("login", 403, 200, 403, 200, 200)
    ),
    "backoffice-forward-retry": Row(
        lambda o: f"/staff/backoffice/forwards/{o['held_forward'].pk}/retry/",
        NOT_ALLOWED,
        post=("login", 403, 302, 403, 403, 302),
    ),
    "backoffice-forward-found": Row(
        lambda o: f"/staff/backoffice/forwards/{o['held_forward'].pk}/found/",
        NOT_ALLOWED,
        post=("login", 403, 302, 403, 403, 302),
        data=lambda o: {"remote_id": "WO-1"},
    ),
    "backoffice-forward-left-closed": Row(
        lambda o: f"/staff/backoffice/forwards/{o['left_forward'].pk}/closed-there/",
        NOT_ALLOWED,
        post=("login", 403, 302, 403, 403, 302),
    ),
    "backoffice-forward-erasure-done": Row(
        lambda o: f"/staff/backoffice/forwards/{o['held_forward'].pk}/erased-there/",
        NOT_ALLOWED,
        post=("login", 403, 302, 403, 403, 302),
    ),
    "backoffice-export": Row(
        lambda o: "/staff/backoffice/forwards.csv", ("login", 403, 403, 403, 200, 200)
    ),
    # The audit log names staff accounts: planners and administrators only.
    "audit-log": Row(lambda o: "/staff/audit/", ("login", 403, 403, 403, 200, 200)),
    "audit-export": Row(lambda o: "/staff/audit.csv", ("login", 403, 403, 403, 200, 200)),
    "boundaries": Row(
        lambda o: "/staff/boundaries/",
        ("login", 403, 403, 403, 200, 200),
        post=("login", 403, 403, 403, 400, 400),  # no file
    ),
    "boundaries-commit": Row(
        lambda o: "/staff/boundaries/commit/",
        NOT_ALLOWED,
        post=("login", 403, 403, 403, 302, 302),  # no upload in the session: back, nothing
    ),
    "boundaries-discard": Row(
        lambda o: "/staff/boundaries/discard/",
        NOT_ALLOWED,
        post=("login", 403, 403, 403, 302, 302),
    ),
    "boundary-activate": Row(
        lambda o: f"/staff/boundaries/{o['version'].pk}/activate/",
        NOT_ALLOWED,
        post=("login", 403, 403, 403, 302, 302),  # already active: nothing changes
        data=lambda o: {"reason": "Back."},
    ),
    "api-categories": Row(lambda o: "/api/categories/", PUBLIC, post=NOT_ALLOWED),
    "api-ideas": Row(lambda o: "/api/ideas/", PUBLIC, post=each(400)),  # an empty body
    "api-ideas-viewport": Row(
        lambda o: "/api/ideas/viewport/?bbox=3.9,49.9,4.1,50.1&zoom=14", PUBLIC, post=NOT_ALLOWED
    ),
    "api-idea-flag": Row(
        lambda o: f"/api/ideas/{o['pin'].pk}/flag/",
        NOT_ALLOWED,
        post=each(201),
        data=lambda o: {"reason": "spam"},
        body="json",
    ),
    "api-ideas-similar": Row(
        lambda o: "/api/ideas/similar/?lon=4.015&lat=50.005&title=Swing", PUBLIC, post=NOT_ALLOWED
    ),
    # One pin's API (mapideas/pins/api.py, workflow/api.py, participation/api.py): the same rules
    # as its page.
    "api-idea": Row(lambda o: f"/api/ideas/{o['pin'].pk}/", PUBLIC, post=NOT_ALLOWED),
    "api-idea-status": Row(
        lambda o: f"/api/ideas/{o['pin'].pk}/status/",
        NOT_ALLOWED,
        post=(403, 403, 200, 403, 403, 200),
        data=lambda o: {"status": "acknowledged", "public_answer": "Seen."},
        body="json",
    ),
    "api-idea-notes": Row(
        lambda o: f"/api/ideas/{o['pin'].pk}/notes/",
        (403, 403, 200, 403, 200, 200),  # internal notes: the team's staff and planners
        post=(403, 403, 201, 403, 403, 201),
        data=lambda o: {"text": "Ask the parks crew."},
        body="json",
    ),
    "api-idea-support": Row(
        lambda o: f"/api/ideas/{o['pin'].pk}/support/", NOT_ALLOWED, post=each(201), body="json"
    ),
    "api-idea-comments": Row(
        lambda o: f"/api/ideas/{o['pin'].pk}/comments/",
        PUBLIC,
        post=(403, 201, 201, 201, 201, 201),
        data=lambda o: {"text": "Me too."},
        body="json",
    ),
    "api-idea-follow": Row(
        lambda o: f"/api/ideas/{o['pin'].pk}/follow/",
        NOT_ALLOWED,
        post=(202, *(200,) * 5),  # anonymous: a link to confirm first
        data=lambda o: {"email": "someone@mail.example"},
        body="json",
    ),
    "api-places": Row(lambda o: "/api/places/?q=East", PUBLIC, post=NOT_ALLOWED),
    "api-neighborhoods": Row(lambda o: "/api/neighborhoods/", PUBLIC, post=NOT_ALLOWED),
    "api-route": Row(lambda o: "/api/route/?lon=4.015&lat=50.005", PUBLIC, post=NOT_ALLOWED),
    "api-subscriptions": Row(
        lambda o: "/api/subscriptions/", NOT_ALLOWED, post=each(400), body="json"
    ),
    "api-engagement-neighborhoods": Row(lambda o: "/api/engagement/neighborhoods/", PUBLIC),
    "api-engagement-hexagons": Row(lambda o: "/api/engagement/hexagons/", PUBLIC),
    "api-engagement-coldspots": Row(lambda o: "/api/engagement/coldspots/", PUBLIC),
    "api-engagement-outreach": Row(lambda o: "/api/engagement/outreach/", PUBLIC),
    "api-engagement-representativeness": Row(
        lambda o: "/api/engagement/representativeness/", PUBLIC
    ),
    "api-engagement-service-neighborhoods": Row(
        lambda o: "/api/engagement/service/neighborhoods/", PUBLIC
    ),
    "api-engagement-service-teams": Row(lambda o: "/api/engagement/service/teams/", PUBLIC),
    "api-engagement-service-hexagons": Row(lambda o: "/api/engagement/service/hexagons/", PUBLIC),
    "api-engagement-slowspots": Row(lambda o: "/api/engagement/service/slowspots/", PUBLIC),
    "api-engagement-slowspots-hexagons": Row(
        lambda o: "/api/engagement/service/slowspots-hexagons/", PUBLIC
    ),
    "open311-discovery-json": Row(lambda o: "/open311/v2/discovery.json", PUBLIC),
    "open311-discovery-xml": Row(lambda o: "/open311/v2/discovery.xml", PUBLIC),
    "open311-services-json": Row(lambda o: "/open311/v2/services.json", PUBLIC),
    "open311-services-xml": Row(lambda o: "/open311/v2/services.xml", PUBLIC),
    "open311-service-json": Row(lambda o: "/open311/v2/services/parks-green-space.json", PUBLIC),
    "open311-service-xml": Row(lambda o: "/open311/v2/services/parks-green-space.xml", PUBLIC),
    # Posting needs an api_key, whoever is signed in: a session is no key.
    "open311-requests-json": Row(
        lambda o: "/open311/v2/requests.json", PUBLIC, post=each(403), data=open311, body="form"
    ),
    "open311-requests-xml": Row(
        lambda o: "/open311/v2/requests.xml", PUBLIC, post=each(403), data=open311, body="form"
    ),
    "open311-request-json": Row(lambda o: f"/open311/v2/requests/{o['pin'].pk}.json", PUBLIC),
    "open311-request-xml": Row(lambda o: f"/open311/v2/requests/{o['pin'].pk}.xml", PUBLIC),
    "api-schema": Row(lambda o: "/api/schema/", PUBLIC),
    "api-docs": Row(lambda o: "/api/docs/", PUBLIC),
    "ogc-landing": Row(lambda o: "/ogc/", PUBLIC),
    "ogc-conformance": Row(lambda o: "/ogc/conformance", PUBLIC),
    "ogc-collections": Row(lambda o: "/ogc/collections", PUBLIC),
    "ogc-collection": Row(lambda o: "/ogc/collections/ideas", PUBLIC),
    "ogc-items": Row(lambda o: "/ogc/collections/ideas/items", PUBLIC),
    "ogc-feature": Row(lambda o: f"/ogc/collections/ideas/items/{o['pin'].pk}", PUBLIC),
    "login": Row(lambda o: "/accounts/login/", PUBLIC, post=each(200)),  # no credentials
    "logout": Row(lambda o: "/accounts/logout/", NOT_ALLOWED, post=each(302)),
    # Single sign-on is not configured here: 404 for everyone (signed in through a real
    # provider in tests/browser/test_single_sign_on.py).
    "oidc-login": Row(lambda o: "/accounts/oidc/login/", each(404)),
    "oidc-callback": Row(lambda o: "/accounts/oidc/callback/?code=x&state=y", each(404)),
    "signup": Row(lambda o: "/accounts/signup/", PUBLIC, post=each(400)),  # an empty form
    # A forged sign-up link opens nothing, for anyone.
    "signup-confirm": Row(
        lambda o: "/accounts/signup/confirm/1/forged/", each(400), post=each(400)
    ),
    "my-data": Row(lambda o: "/accounts/my-data/", SIGNED_IN_ONLY),
    "account-delete": Row(
        lambda o: "/accounts/delete/", SIGNED_IN_ONLY, post=("login", 400, 400, 400, 400, 400)
    ),
    "admin": Row(lambda o: "/admin/", (*("admin_login",) * 5, 200)),
    "healthz": Row(lambda o: "/healthz", PUBLIC),
    # The language switcher: a cookie and back to the page; nothing stored.
    "set_language": Row(
        lambda o: "/i18n/setlang/", each(302), post=each(302), data=lambda o: {"language": "fr"}
    ),
    "javascript-catalog": Row(lambda o: "/jsi18n/", PUBLIC),
}


def url_names() -> set[str]:
    """Every named pattern of the URLconf; the admin site is one row (its own permissions)."""
    names = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    names.add("admin")
                    continue
                walk(pattern.url_patterns)
            else:
                names.add(pattern.name or str(pattern.pattern))

    walk(get_resolver().url_patterns)
    return names


def test_every_url_has_a_row():
    missing = url_names() - set(MATRIX)
    assert not missing, f"add a row to MATRIX for {sorted(missing)}"
    assert not set(MATRIX) - url_names(), "a row for a URL that no longer exists"


@pytest.fixture
def objects(pins, city, people):
    from neighborhoods.models import BoundaryVersion

    handoff, token = handoffs.handoff_create(
        idea=pins["pin"],
        body_name="City Water Works",
        body_email="works@water.example",
        actor=people["owner_member"],
    )
    handoffs.handoff_report(handoff=handoff, comment="Done.", photo=upload(gps_jpeg()))
    # East Team's back office (forwarding pins from a date to come: none is queued by the
    # requests), a pin held for a check whose citizen asked for their contact to be erased
    # there, and one left behind when it moved.
    backoffice = BackofficeEndpoint.objects.create(
        team=city.east_team,
        name="City works orders",
        base_url="https://192.0.2.1/open311/",
        forward_from=timezone.now() + timedelta(days=3650),
    )
    return {
        **pins,
        "backoffice": backoffice,
        "held_forward": BackofficeForward.objects.create(
            endpoint=backoffice,
            idea=pins["pin"],
            state=BackofficeForward.State.HELD,
            held_reason="Check there.",
            sent_contact=True,
            erasure_requested_at=timezone.now(),
        ),
        "left_forward": BackofficeForward.objects.create(
            endpoint=backoffice,
            idea=pins["original"],
            state=BackofficeForward.State.LEFT,
            remote_id="WO-7",
            left_at=timezone.now(),
        ),
        "handoff": handoff,
        "handoff_token": token,
        "template": template_save(
            team=city.east_team, actor=people["owner_member"], name="Seen", texts={"en": "Seen."}
        ),
        "west_team": city.west_team,
        "version": BoundaryVersion.objects.get(is_active=True),
        "webhook": WebhookEndpoint.objects.create(
            url="https://192.0.2.1/hook", events=["pin.created"], secret_salt="s" * 64
        ),
    }


def state() -> dict:
    """Every row count of our apps, the user table and each pin's workflow and routing."""
    counts = {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("mapideas", "neighborhoods", "geodata", "auth")
    }
    return {
        "counts": counts,
        "ideas": list(
            Idea.objects.order_by("pk").values_list(
                "status", "assignee", "duplicate_of", "answer", "team", "neighborhood"
            )
        ),
        "hidden": list(Comment.objects.order_by("pk").values_list("hidden_at", flat=True)),
        "active": list(BoundaryVersionModel().objects.filter(is_active=True).values_list("pk")),
    }


def BoundaryVersionModel():  # noqa: N802 (a model class, imported late)
    from neighborhoods.models import BoundaryVersion

    return BoundaryVersion


def check(response, expected) -> None:
    if expected == "admin_login":
        assert response.status_code == 302, response.status_code
        assert response["Location"].startswith("/admin/login/"), response["Location"]
    elif expected == "login":
        assert response.status_code == 302, response.status_code
        assert response["Location"].startswith("/accounts/login/"), response["Location"]
    elif expected == "anything":
        assert response.status_code < 500
    else:
        assert response.status_code == expected, (response.status_code, response.content[:300])


REFUSED = {"login", "admin_login", 400, 403, 404, 405, 415, 429}


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_every_url_for_every_role(client, people, objects, settings, name, who):
    settings.MAPIDEAS_RATE_LIMITS = False
    row = MATRIX[name]
    if people[who] is not None:
        client.force_login(people[who])
    expected = dict(zip(PEOPLE, row.get, strict=True))[who]
    check(client.get(row.url(objects)), expected)

    if row.post is None:
        return
    expected = dict(zip(PEOPLE, row.post, strict=True))[who]
    before = state()
    response = post(client, row, objects)
    check(response, expected)
    if expected in REFUSED or name == "idea-detail":
        assert state() == before, f"{name}: refused for {who}, yet something changed"


# --- Mass assignment through the API -----------------------------------------------------------

FORGED = {
    "status": "done",
    "team": "west-team",
    "team_slug": "west-team",
    "neighborhood": "west-side",
    "neighborhood_slug": "west-side",
    "is_staff": True,
    "is_superuser": True,
    "author": 1,
    "awaiting_confirmation": False,
    "support_count": 999,
    "id": 424242,
    "channel": "phone",
    "created_at": "2001-01-01T00:00:00Z",
    "hidden_by_moderation_at": None,
}


@pytest.mark.parametrize("field", sorted(FORGED))
@pytest.mark.parametrize("who", ["anonymous", "citizen"])
def test_the_api_ignores_fields_the_server_decides(client, people, category, field, who):
    """`status`, `team`, `neighborhood`, `is_staff`, `author`...: routing, the workflow and the
    account decide them, never the body. Each forged field alone, then all at once below."""
    person = people[who]
    if person is not None:
        client.force_login(person)
    body = {
        "kind": "issue",
        "title": "Swing",
        "category": category.slug,
        "location": {"type": "Point", "coordinates": [IN_EAST.x, IN_EAST.y]},
        field: FORGED[field],
    }

    response = client.post("/api/ideas/", body, content_type="application/json")

    assert response.status_code == 201, response.content
    idea = Idea.objects.get(pk=response.json()["id"])
    assert idea.pk != FORGED["id"]
    assert (idea.status, idea.team.slug, idea.neighborhood.slug) == (
        "new",
        "east-team",
        "east-side",
    )
    assert (idea.support_count, idea.channel, idea.awaiting_confirmation) == (0, "api", False)
    assert idea.created_at.year > 2001
    assert idea.author == person
    if person is not None:
        person.refresh_from_db()
        assert not person.is_staff and not person.is_superuser


def test_a_pin_sent_with_an_email_waits_for_confirmation_whatever_the_body_says(
    client, city, category
):
    body = {
        "kind": "issue",
        "title": "Swing",
        "category": category.slug,
        "location": {"type": "Point", "coordinates": [IN_EAST.x, IN_EAST.y]},
        "email": "ann@mail.example",
        **FORGED,
    }

    response = client.post("/api/ideas/", body, content_type="application/json")

    assert response.status_code == 201, response.content
    idea = Idea.objects.get(pk=response.json()["id"])
    assert idea.awaiting_confirmation
    assert (idea.status, idea.team.slug, idea.author) == ("new", "east-team", None)


def test_the_form_ignores_fields_the_server_decides(client, people, category):
    client.force_login(people["citizen"])
    form = {
        "kind": "issue",
        "title": "Swing",
        "category": category.slug,
        "latitude": IN_EAST.y,
        "longitude": IN_EAST.x,
        **{name: value for name, value in FORGED.items() if value is not None},
    }

    response = client.post("/", form)

    assert response.status_code == 302, response.content[:500]
    idea = Idea.objects.get()
    assert (idea.status, idea.team.slug, idea.channel, idea.author) == (
        "new",
        "east-team",
        "web",
        people["citizen"],
    )
    people["citizen"].refresh_from_db()
    assert not people["citizen"].is_staff


# --- CSRF ---------------------------------------------------------------------------------------
#
# Every state-changing HTML form needs Django's CSRF token. Exempt by design: the one-click
# links in emails (their signed token is the authority; mail clients post them without a
# session), the API for clients without a session (DRF's SessionAuthentication asks for the
# token only when a session authenticates the request: a signed-in browser's POST without it is
# a 403, below), Open311 (no sessions at all: the api_key authenticates) and logging in
# (Django's LoginView is CSRF-protected too; it is included).

EMAIL_LINKS = {
    "follow-confirm",
    "idea-confirm",
    "unsubscribe",
    "team-unsubscribe",
    "alert-confirm",
    "alert-unsubscribe",
}
API_PREFIXES = ("/api/", "/open311/", "/ogc/")


def path_of(row: Row) -> str:
    """The row's URL with any object standing in: enough to tell its prefix at collection."""
    return row.url(defaultdict(lambda: Idea(pk=1)))


def html_forms() -> list[str]:
    return sorted(
        name
        for name, row in MATRIX.items()
        if row.post is not None
        and name not in EMAIL_LINKS
        and name != "idea-detail"  # renders the page, writes nothing
        and not path_of(row).startswith(API_PREFIXES)
    )


@pytest.mark.parametrize("who", ["anonymous", "admin"])
@pytest.mark.parametrize("name", html_forms())
def test_every_state_changing_form_needs_the_csrf_token(people, objects, name, who):
    client = Client(enforce_csrf_checks=True)
    if people[who] is not None:
        client.force_login(people[who])
    before = state()

    response = post(client, MATRIX[name], objects)

    assert response.status_code == 403, (response.status_code, response.content[:300])
    assert b"CSRF" in response.content
    assert state() == before


def api_writes() -> list[str]:
    return sorted(
        name
        for name, row in MATRIX.items()
        if row.post is not None and path_of(row).startswith("/api/") and row.post != NOT_ALLOWED
    )


@pytest.mark.parametrize("name", api_writes())
def test_a_signed_in_api_write_without_the_csrf_token_is_refused(people, objects, name):
    """The session is what authenticates a signed-in browser's API call, so it must carry the
    token, or another site could post as them."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["citizen"])
    before = state()

    response = post(client, MATRIX[name], objects)

    assert response.status_code == 403, (response.status_code, response.content[:300])
    assert "CSRF" in response.json()["detail"]
    assert state() == before
