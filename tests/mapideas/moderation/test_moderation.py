"""Moderation (mapideas.moderation): anyone flags a pin, once; MAPIDEAS_FLAGS_TO_HIDE flags
hide it from every public output until staff of its team keep it or remove it; the staff's
moderation queue; who may decide, checked in the service and in the pages."""

import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from rest_framework.test import APIClient

from mapideas.models import Flag, Idea, IdeaNote
from mapideas.moderation.services import KEEP, REMOVE, idea_flag, idea_moderate, moderation_queue
from mapideas.pins import selectors
from mapideas.plumbing.hashing import keyed_hash
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db

TITLE = "Cheap watches zq7flagged"
VIEWPORT = "3.99,49.99,4.07,50.02"


@pytest.fixture(autouse=True)
def _three_flags_hide(settings):
    settings.MAPIDEAS_FLAGS_TO_HIDE = 3


@pytest.fixture
def idea(city, category) -> Idea:
    return idea_create(
        kind="idea",
        title=TITLE,
        description=f"Buy now: {TITLE}",
        category=category,
        location=IN_EAST,
    )


@pytest.fixture
def admin_user(city, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", "pw")


def flag_anonymously(idea: Idea, n: int, *, start: int = 0) -> None:
    """`n` flags from `n` different anonymous people (IP addresses)."""
    for i in range(start, start + n):
        idea_flag(idea=idea, reason="spam", flagger_hash=keyed_hash("flagger", f"10.0.0.{i}"))


def fresh(idea: Idea) -> Idea:
    return Idea.objects.get(pk=idea.pk)


def body_of(response) -> str:
    data = b"".join(response.streaming_content) if response.streaming else response.content
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = b"".join(archive.read(name) for name in archive.namelist())
    return data.decode("utf-8", "replace")


PUBLIC_URLS = [
    "/api/ideas/",
    f"/api/ideas/viewport/?bbox={VIEWPORT}&zoom=18",
    "/export/ideas.geojson",
    "/export/ideas.csv",
    "/ogc/collections/ideas/items?f=json",
    "/ogc/collections/ideas/items?f=html",
    "/open311/v2/requests.json",
    "/open311/v2/requests.xml",
]


def public_outputs(idea: Idea) -> dict[str, str]:
    outputs = {url: body_of(Client().get(url)) for url in PUBLIC_URLS}
    outputs["open311 one"] = body_of(Client().get(f"/open311/v2/requests/{idea.pk}.json"))
    outputs["ogc one"] = body_of(Client().get(f"/ogc/collections/ideas/items/{idea.pk}"))
    return outputs


# --- Flagging ---------------------------------------------------------------------------------


def test_a_pin_is_public_until_the_flags_reach_the_threshold(idea):
    flag_anonymously(idea, 2)
    assert fresh(idea).flag_count == 2
    assert fresh(idea).hidden_by_moderation_at is None
    assert selectors.public_ideas().filter(pk=idea.pk).exists()

    flag_anonymously(idea, 1, start=2)

    assert fresh(idea).flag_count == 3
    assert fresh(idea).hidden_by_moderation_at is not None
    assert not selectors.public_ideas().filter(pk=idea.pk).exists()


def test_the_threshold_is_a_setting(idea, settings):
    settings.MAPIDEAS_FLAGS_TO_HIDE = 1
    flag_anonymously(idea, 1)
    assert fresh(idea).hidden_by_moderation_at is not None


def test_a_person_flags_a_pin_once(idea, make_user):
    cindy = make_user("cindy")
    first = idea_flag(idea=idea, reason="spam", user=cindy)
    again = idea_flag(idea=idea, reason="abusive", user=cindy)
    address = keyed_hash("flagger", "192.0.2.1")
    idea_flag(idea=idea, reason="spam", flagger_hash=address)
    idea_flag(idea=idea, reason="spam", flagger_hash=address)

    assert (first.created, again.created) == (True, False)
    assert Flag.objects.filter(idea=idea).count() == 2
    assert fresh(idea).flag_count == 2
    assert fresh(idea).hidden_by_moderation_at is None


def test_a_flag_is_refused_naming_the_field(idea):
    with pytest.raises(ValidationError) as bad_reason:
        idea_flag(idea=idea, reason="boring", flagger_hash="h" * 64)
    with pytest.raises(ValidationError) as long_text:
        idea_flag(idea=idea, reason="spam", text="x" * 501, flagger_hash="h" * 64)
    assert "reason" in bad_reason.value.message_dict
    assert "text" in long_text.value.message_dict
    assert not Flag.objects.exists()


def test_the_ip_address_is_never_stored(idea):
    response = Client(REMOTE_ADDR="198.51.100.77").post(
        f"/ideas/{idea.pk}/flag/", {"reason": "spam"}
    )
    assert response.status_code == 302
    (flag,) = Flag.objects.all()
    assert flag.flagged_by is None
    assert flag.flagger_hash == keyed_hash("flagger", "198.51.100.77")
    assert "198.51.100.77" not in str(Flag.objects.values().get())


# --- Hidden from every public output -----------------------------------------------------------


def test_a_hidden_pin_leaves_every_public_output(idea, client):
    before = public_outputs(idea)
    assert all(TITLE in body for body in before.values()), [
        url for url, body in before.items() if TITLE not in body
    ]
    assert TITLE in client.get(f"/ideas/{idea.pk}/").content.decode()

    flag_anonymously(idea, 3)

    after = public_outputs(idea)
    leaking = [url for url, body in after.items() if TITLE in body]
    assert not leaking
    page = Client().get(f"/ideas/{idea.pk}/")
    assert page.status_code == 404
    assert TITLE not in page.content.decode()
    # Its photo, support, comments and follow answer as for a pin that does not exist.
    assert Client().post(f"/ideas/{idea.pk}/support/").status_code == 404
    # The neighborhood counts stop counting it too.
    (east,) = [
        f
        for f in APIClient().get("/api/neighborhoods/").json()["features"]
        if f["properties"]["slug"] == "east-side"
    ]
    assert east["properties"]["idea_count"] == 0


def test_the_pins_team_still_sees_it_with_a_banner(idea, city, make_user, planner):
    flag_anonymously(idea, 3)
    eddie = make_user("eddie", teams=[city.east_team])
    for person in (eddie, planner):
        browser = Client()
        browser.force_login(person)
        page = browser.get(f"/ideas/{idea.pk}/")
        assert page.status_code == 200
        html = page.content.decode()
        assert 'id="hidden-by-moderation"' in html and TITLE in html
    outsider = Client()
    outsider.force_login(make_user("wendy", teams=[city.west_team]))
    assert outsider.get(f"/ideas/{idea.pk}/").status_code == 404


# --- The report form and the API ----------------------------------------------------------------


def test_the_report_form_is_on_the_pin_page_and_works_without_javascript(idea):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(f"/ideas/{idea.pk}/").content.decode()
    assert 'id="flag-form"' in page and 'name="csrfmiddlewaretoken"' in page
    token = browser.cookies["csrftoken"].value

    response = browser.post(
        f"/ideas/{idea.pk}/flag/",
        {"reason": "spam", "text": "an advert", "csrfmiddlewaretoken": token},
        follow=True,
    )

    assert response.redirect_chain[-1] == (f"/ideas/{idea.pk}/", 302)
    assert "moderators will look at this pin" in response.content.decode()
    assert Flag.objects.get(idea=idea).text == "an advert"
    # Without the CSRF token: refused.
    assert (
        Client(enforce_csrf_checks=True)
        .post(f"/ideas/{idea.pk}/flag/", {"reason": "spam"})
        .status_code
        == 403
    )


def test_the_report_form_names_a_missing_reason(idea):
    response = Client().post(f"/ideas/{idea.pk}/flag/", {"text": "hm"})
    assert response.status_code == 400
    assert "Choose what is wrong with this pin." in response.content.decode()
    assert not Flag.objects.exists()


def test_the_api_takes_a_flag_once_per_person(idea):
    url = f"/api/ideas/{idea.pk}/flag/"
    first = APIClient(REMOTE_ADDR="192.0.2.5").post(url, {"reason": "spam"}, format="json")
    again = APIClient(REMOTE_ADDR="192.0.2.5").post(url, {"reason": "other"}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    assert Flag.objects.filter(idea=idea).count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "reason"),
        ({"reason": "nope"}, "reason"),
        ({"reason": "spam", "text": "x" * 501}, "text"),
    ],
)
def test_the_api_names_the_wrong_field(idea, body, field):
    response = APIClient().post(f"/api/ideas/{idea.pk}/flag/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_the_api_answers_404_for_unknown_and_hidden_pins(idea):
    assert APIClient().post("/api/ideas/999999/flag/", {"reason": "spam"}).status_code == 404
    flag_anonymously(idea, 3)
    response = APIClient().post(f"/api/ideas/{idea.pk}/flag/", {"reason": "spam"}, format="json")
    assert response.status_code == 404
    assert Client().post(f"/ideas/{idea.pk}/flag/", {"reason": "spam"}).status_code == 404


def test_flags_are_rate_limited_per_address(city, category, settings):
    settings.MAPIDEAS_RATE_FLAGS = (2, 3600)
    pins = [
        idea_create(kind="idea", title=f"pin {i}", category=category, location=IN_WEST)
        for i in range(3)
    ]
    api = APIClient(REMOTE_ADDR="203.0.113.9")
    answers = [
        api.post(f"/api/ideas/{pin.pk}/flag/", {"reason": "spam"}, format="json") for pin in pins
    ]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert "Retry-After" in answers[2]
    form = Client(REMOTE_ADDR="203.0.113.9").post(f"/ideas/{pins[2].pk}/flag/", {"reason": "spam"})
    assert form.status_code == 429 and "Retry-After" in form
    assert Flag.objects.count() == 2


# --- Staff decide -------------------------------------------------------------------------------


def test_keep_makes_the_pin_public_again_and_needs_new_flags(idea, east_member):
    flag_anonymously(idea, 3)

    idea_moderate(idea=idea, decision=KEEP, actor=east_member, reason="An ad for a local fair.")

    kept = fresh(idea)
    assert kept.hidden_by_moderation_at is None and kept.flag_count == 0
    assert kept.moderation_decision == "kept"
    assert selectors.public_ideas().filter(pk=idea.pk).exists()
    (note,) = IdeaNote.objects.filter(idea=idea)
    assert note.author == east_member
    assert "kept after 3 flag(s)" in note.text and "local fair" in note.text
    # The same people cannot hide it again; three new ones can.
    flag_anonymously(idea, 3)
    assert fresh(idea).hidden_by_moderation_at is None
    flag_anonymously(idea, 2, start=3)
    assert fresh(idea).hidden_by_moderation_at is None
    flag_anonymously(idea, 1, start=5)
    assert fresh(idea).hidden_by_moderation_at is not None


def test_remove_keeps_the_pin_hidden_for_good(idea, east_member):
    flag_anonymously(idea, 1)

    idea_moderate(idea=idea, decision=REMOVE, actor=east_member)

    removed = fresh(idea)
    assert removed.hidden_by_moderation_at is not None
    assert removed.moderation_decision == "removed"
    assert removed.status == Idea.Status.NEW  # a removal is no answer
    assert not selectors.public_ideas().filter(pk=idea.pk).exists()
    assert "removed after 1 flag(s)" in IdeaNote.objects.get(idea=idea).text
    with pytest.raises(ValidationError):
        idea_moderate(idea=idea, decision=KEEP, actor=east_member)
    assert Client().get(f"/ideas/{idea.pk}/").status_code == 404
    assert not moderation_queue(user=east_member).exists()


def test_nothing_to_decide_without_flags(idea, east_member):
    with pytest.raises(ValidationError):
        idea_moderate(idea=idea, decision=REMOVE, actor=east_member)


def test_who_may_decide_in_the_service(idea, west_member, planner, admin_user, east_member):
    flag_anonymously(idea, 3)
    for person in (west_member, planner, None):
        with pytest.raises(PermissionDenied):
            idea_moderate(idea=idea, decision=KEEP, actor=person)
        assert fresh(idea).hidden_by_moderation_at is not None
    assert not IdeaNote.objects.exists()

    idea_moderate(idea=idea, decision=KEEP, actor=admin_user)
    assert fresh(idea).moderation_decision == "kept"


def test_who_may_decide_through_the_page(idea, west_member, planner, east_member):
    flag_anonymously(idea, 3)
    url = f"/staff/moderation/{idea.pk}/decide/"

    assert Client().post(url, {"decision": "keep"}).status_code == 302  # to the login page
    browser = Client()
    browser.force_login(planner)  # sees every pin, decides on none
    assert browser.post(url, {"decision": "keep"}).status_code == 403
    assert fresh(idea).hidden_by_moderation_at is not None

    browser = Client()
    browser.force_login(east_member)
    response = browser.post(url, {"decision": "keep"})
    assert response.status_code == 302 and response.url == "/staff/moderation/"
    assert fresh(idea).moderation_decision == "kept"
    assert TITLE in Client().get("/api/ideas/").content.decode()


def test_a_hidden_pin_another_team_may_not_see_is_no_pin_to_decide_on(idea, west_member):
    """Another team's pin hidden from the public answers as a pin that does not exist (a 403
    would say it is there)."""
    flag_anonymously(idea, 3)
    browser = Client()
    browser.force_login(west_member)

    hidden = browser.post(f"/staff/moderation/{idea.pk}/decide/", {"decision": "keep"})
    missing = browser.post("/staff/moderation/999999/decide/", {"decision": "keep"})

    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert TITLE not in hidden.content.decode()
    assert fresh(idea).hidden_by_moderation_at is not None


def test_the_decision_needs_the_csrf_token(idea, east_member):
    flag_anonymously(idea, 3)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(east_member)
    response = browser.post(f"/staff/moderation/{idea.pk}/decide/", {"decision": "keep"})
    assert response.status_code == 403
    assert fresh(idea).hidden_by_moderation_at is not None


# --- The queue ----------------------------------------------------------------------------------


def test_the_queue_shows_each_team_its_own_flagged_pins(
    idea, city, category, east_member, west_member, planner, make_user
):
    west_pin = idea_create(kind="issue", title="West zq7pin", category=category, location=IN_WEST)
    flag_anonymously(idea, 3)
    idea_flag(idea=west_pin, reason="abusive", text="rude words", flagger_hash="a" * 64)
    idea_create(kind="idea", title="Unflagged zq7pin", category=category, location=IN_WEST)

    def queue_of(person) -> str:
        browser = Client()
        browser.force_login(person)
        response = browser.get("/staff/moderation/")
        assert response.status_code == 200
        return response.content.decode()

    east = queue_of(east_member)
    assert TITLE in east and "West zq7pin" not in east
    assert 'value="keep"' in east
    west = queue_of(west_member)
    assert "West zq7pin" in west and "rude words" in west and TITLE not in west
    everything = queue_of(planner)
    assert TITLE in everything and "West zq7pin" in everything
    assert "Unflagged zq7pin" not in everything
    assert 'value="keep"' not in everything  # planners read only


def test_the_queue_is_for_staff_only(city, make_user):
    assert Client().get("/staff/moderation/").status_code == 302
    citizen = Client()
    citizen.force_login(make_user("cindy"))
    assert citizen.get("/staff/moderation/").status_code == 403
