"""A pin sent with just an email address (as FixMyStreet does): routed and in its team's
queue at once, absent from every public output until the link emailed to that address is
followed (by a POST: opening the link only shows a button), then public, with the address
a confirmed follower. The address and name are never public, before or after."""

import base64
import io
import time
import zipfile
from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from mapideas.models import EmailOutbox, Follower, Idea
from mapideas.notifications import services as notifications
from mapideas.submission.services import idea_create, idea_submit
from mapideas.workflow.services import idea_mark_duplicate, idea_status_change
from neighborhoods.models import Team
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

ADDRESS = "zq-citizen-7702@mail.example"
NAME = "Zqname Citizen"
TITLE = "Zq awaiting swing 7702"
TEAM_BOX = "east-team-box@city.example"


def pin(**overrides) -> dict:
    data = {
        "kind": "issue",
        "title": TITLE,
        "description": "The chain snapped.",
        "category": "parks-green-space",
        "latitude": str(IN_EAST.y),
        "longitude": str(IN_EAST.x),
        "email": ADDRESS,
        "name": NAME,
    }
    return {**data, **overrides}


@pytest.fixture
def awaiting(city, category) -> Idea:
    """A pin sent from the form on `/` with an email address, East Team's to answer."""
    Team.objects.filter(pk=city.east_team.pk).update(notify=Team.Notify.EACH, notify_email=TEAM_BOX)
    response = Client().post("/", pin())
    assert response.status_code == 302, response.content
    return Idea.objects.get()


def confirmation_path(idea: Idea) -> str:
    (email,) = EmailOutbox.objects.filter(to=idea.contact_email)
    (line,) = [line for line in email.body.splitlines() if "/ideas/confirm/" in line]
    url = line.split()[-1]
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def body_of(response) -> bytes:
    data = b"".join(response.streaming_content) if response.streaming else response.content
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = b"".join(archive.read(name) for name in archive.namelist())
    return data


def public_urls(idea: Idea) -> list[str]:
    return [
        "/api/ideas/",
        "/api/ideas/?team=east-team",
        *(f"/export/ideas.{ext}" for ext in ("geojson", "csv", "gpkg", "kml")),
        "/ogc/collections/ideas/items?f=json",
        "/ogc/collections/ideas/items?f=html",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        f"/open311/v2/requests.json?service_request_id={idea.pk}",
    ]


# --- Sending it --------------------------------------------------------------------------------


def test_the_pin_is_routed_at_once_and_the_link_is_emailed(client, awaiting, city):
    idea = awaiting
    assert idea.awaiting_confirmation
    assert idea.confirmation_sent_at is not None
    assert (idea.contact_email, idea.contact_name) == (ADDRESS, NAME)
    assert idea.team == city.east_team and idea.author is None
    (email,) = EmailOutbox.objects.filter(to=ADDRESS)
    assert f"#{idea.pk}" in email.subject and TITLE in email.subject
    assert "http://127.0.0.1:8000/ideas/confirm/" in email.body
    assert "within 7 days" in email.body and "East Team" in email.body
    # The team hears of it at once, as of any pin (Team.notify): never the address.
    (team_email,) = EmailOutbox.objects.filter(to=TEAM_BOX)
    assert TITLE in team_email.body
    assert ADDRESS not in team_email.body and NAME not in team_email.body
    # Nobody follows it before the address is confirmed.
    assert not Follower.objects.filter(idea=idea, confirmed_at__isnull=False).exists()


def test_the_form_sends_the_citizen_back_to_the_map_saying_what_to_do(city, category):
    response = Client().post("/", pin(), follow=True)

    assert response.redirect_chain == [("/", 302)]
    assertContains(response, "We emailed you a link: open it to show your pin")


def test_the_api_sends_one_the_same_way(city, category):
    response = Client().post(
        "/api/ideas/",
        {
            "kind": "idea",
            "title": TITLE,
            "category": "parks-green-space",
            "location": {"type": "Point", "coordinates": [IN_EAST.x, IN_EAST.y]},
            "email": ADDRESS,
        },
        content_type="application/json",
    )

    assert response.status_code == 201
    idea = Idea.objects.get()
    assert idea.awaiting_confirmation and idea.channel == Idea.Channel.API
    assert EmailOutbox.objects.filter(to=ADDRESS).count() == 1


def test_a_refused_pin_queues_no_email(city, category):
    response = Client().post("/", pin(latitude="50.5"))

    assert response.status_code == 400
    assert not Idea.objects.exists() and not EmailOutbox.objects.exists()


def test_a_signed_in_submitter_is_never_awaiting(city, category, make_user):
    author = make_user("zq-signed-in")
    idea = idea_submit(
        kind="idea", title="x", category=category, location=IN_EAST, author=author, email=ADDRESS
    )
    assert not idea.awaiting_confirmation
    assert not EmailOutbox.objects.filter(to=ADDRESS).exists()


def test_staff_entered_pins_with_an_email_are_never_awaiting(city, category):
    idea = idea_create(
        kind="idea",
        title="From the town hall",
        category=category,
        location=IN_EAST,
        channel=Idea.Channel.PHONE,
        contact_email=ADDRESS,
    )
    assert not idea.awaiting_confirmation
    with pytest.raises(ValueError, match="citizen"):
        idea_create(
            kind="idea",
            title="x",
            category=category,
            location=IN_EAST,
            channel=Idea.Channel.PHONE,
            contact_email=ADDRESS,
            awaiting_confirmation=True,
        )


# --- Until it is confirmed: the team's, nobody else's --------------------------------------------


@pytest.mark.parametrize("index", range(9))
def test_no_public_output_carries_it(awaiting, index):
    url = public_urls(awaiting)[index]

    response = Client().get(url)

    assert response.status_code == 200, (url, response.status_code)
    body = body_of(response)
    assert TITLE.encode() not in body, url
    assert ADDRESS.encode() not in body and NAME.encode() not in body, url


@pytest.mark.parametrize(
    "url",
    [
        "/ideas/{pk}/",
        "/ogc/collections/ideas/items/{pk}?f=json",
        "/open311/v2/requests/{pk}.json",
    ],
)
def test_its_own_public_addresses_are_404(awaiting, url):
    response = Client().get(url.format(pk=awaiting.pk))

    assert response.status_code == 404
    assert TITLE.encode() not in response.content


def test_the_public_cannot_act_on_it(awaiting):
    for action in ("support", "follow", "comments"):
        response = Client().post(f"/ideas/{awaiting.pk}/{action}/", {"email": "x@mail.example"})
        assert response.status_code == 404, action
    assert not awaiting.supports.exists()


def test_counts_and_the_planner_layers_leave_it_out(awaiting):
    (east,) = [
        f
        for f in Client().get("/api/neighborhoods/").json()["features"]
        if f["properties"]["slug"] == "east-side"
    ]
    assert east["properties"]["idea_count"] == 0
    layer = Client().get("/api/engagement/neighborhoods/").json()
    (east,) = [f for f in layer["features"] if f["id"] == "east-side"]
    assert east["properties"]["count"] == 0
    assert b'"idea_count": 1' not in body_of(Client().get("/export/neighborhoods.geojson"))


def test_the_export_command_leaves_it_out(awaiting, tmp_path):
    out = tmp_path / "ideas.geojson"
    call_command("export_layer", "ideas", str(out), stdout=io.StringIO())
    assert TITLE not in out.read_text()


def test_its_team_sees_it_in_the_queue_and_on_its_page(client, awaiting, east_member):
    client.force_login(east_member)

    queue = client.get("/teams/east-team/")
    page = client.get(f"/ideas/{awaiting.pk}/")

    assertContains(queue, TITLE)
    assertContains(queue, "Not public yet")
    assertContains(page, TITLE)
    assertContains(page, "awaiting the author's email confirmation")
    assertNotContains(page, ADDRESS)
    # It works on it as on any pin.
    response = client.post(
        f"/ideas/{awaiting.pk}/status/", {"status": "acknowledged", "answer": "Seen."}
    )
    assert response.status_code == 302


def test_planners_see_it_other_teams_do_not(client, awaiting, planner, west_member):
    client.force_login(planner)
    assert client.get(f"/ideas/{awaiting.pk}/").status_code == 200
    client.force_login(west_member)
    assert client.get(f"/ideas/{awaiting.pk}/").status_code == 404


# --- Confirming it -----------------------------------------------------------------------------


def test_opening_the_link_confirms_nothing_the_button_does(awaiting, east_member):
    path = confirmation_path(awaiting)
    client = Client(enforce_csrf_checks=True)

    page = client.get(path)

    assert page.status_code == 200
    assertContains(page, 'id="confirm-form"')
    awaiting.refresh_from_db()
    assert awaiting.awaiting_confirmation
    token = page.cookies["csrftoken"].value
    response = client.post(path, {"csrfmiddlewaretoken": token}, follow=True)

    assert response.redirect_chain == [(awaiting.get_absolute_url(), 302)]
    assertContains(response, TITLE)
    assertContains(response, "your pin is on the public map")
    assertNotContains(response, "awaiting the author")
    awaiting.refresh_from_db()
    assert not awaiting.awaiting_confirmation
    follower = Follower.objects.get(idea=awaiting)
    assert follower.email == ADDRESS and follower.confirmed_at is not None

    # Public now, everywhere; the address still nowhere.
    for url in public_urls(awaiting)[:6]:
        body = body_of(Client().get(url))
        assert TITLE.encode() in body, url
        assert ADDRESS.encode() not in body and NAME.encode() not in body, url
    assert Client().get(f"/ideas/{awaiting.pk}/").status_code == 200
    # And the address hears of what the team does.
    idea_status_change(idea=awaiting, status="planned", answer="Next week.", actor=east_member)
    assert EmailOutbox.objects.filter(to=ADDRESS, subject__contains="Planned").exists()


def test_confirming_twice_is_confirming_once(client, awaiting):
    path = confirmation_path(awaiting)
    assert client.post(path).status_code == 302
    assert client.post(path).status_code == 302
    assert Follower.objects.filter(idea=awaiting).count() == 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "not-a-token",
        lambda token: signing.dumps([1, ADDRESS], salt="mapideas.follow-confirm"),
    ],
)
def test_a_damaged_or_forged_link_is_refused(client, awaiting, mangle):
    token = confirmation_path(awaiting).rstrip("/").rsplit("/", 1)[1]
    path = f"/ideas/confirm/{mangle(token)}/"

    assert client.get(path).status_code == 400
    response = client.post(path)

    assert response.status_code == 400
    assertContains(response, "damaged or expired", status_code=400)
    awaiting.refresh_from_db()
    assert awaiting.awaiting_confirmation


def test_a_link_for_another_address_is_refused(client, awaiting):
    token = signing.dumps([awaiting.pk, "other@mail.example"], salt=notifications.IDEA_CONFIRM_SALT)

    assert client.post(f"/ideas/confirm/{token}/").status_code == 400
    awaiting.refresh_from_db()
    assert awaiting.awaiting_confirmation


def test_an_expired_link_is_refused_and_the_pin_stays_with_its_team(
    client, awaiting, east_member, monkeypatch
):
    path = confirmation_path(awaiting)
    later = time.time() + (notifications.CONFIRM_MAX_AGE + timedelta(hours=1)).total_seconds()
    monkeypatch.setattr(signing.time, "time", lambda: later)

    response = client.post(path)

    assert response.status_code == 400
    awaiting.refresh_from_db()
    assert awaiting.awaiting_confirmation  # not deleted: the team keeps it
    client.force_login(east_member)
    assertContains(client.get("/teams/east-team/"), TITLE)


def test_a_public_pin_cannot_be_merged_into_an_awaiting_one(awaiting, category, east_member):
    public = idea_create(kind="issue", title="Same swing", category=category, location=IN_EAST)

    with pytest.raises(ValidationError) as refused:
        idea_mark_duplicate(idea=public, original=awaiting, actor=east_member)

    assert "duplicate_of" in refused.value.message_dict
    # The other way round is fine: the awaiting one joins the public one.
    idea_mark_duplicate(idea=awaiting, original=public, actor=east_member)
    awaiting.refresh_from_db()
    assert awaiting.duplicate_of == public


def test_the_confirmation_link_carries_no_address(awaiting):
    token = confirmation_path(awaiting).rstrip("/").rsplit("/", 1)[1]
    payload = token.split(":", 1)[0]

    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert "@" not in decoded and "zq-citizen" not in decoded


def test_a_link_emailed_with_the_address_in_it_still_confirms(client, awaiting):
    """Links emailed before tokens stopped carrying addresses keep working until they expire,
    for that address only (mapideas.plumbing.tokens)."""
    old = signing.dumps([awaiting.pk, ADDRESS.upper()], salt=notifications.IDEA_CONFIRM_SALT)

    assert client.post(f"/ideas/confirm/{old}/").status_code == 302
    awaiting.refresh_from_db()
    assert not awaiting.awaiting_confirmation
