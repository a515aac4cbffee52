"""`/teams/<slug>/offline/`: staff enter input gathered offline on a resident's behalf, routed
like any pin; members of the team and admins only."""

from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from mapideas.models import EmailOutbox, Follower, Idea, IdeaNote
from mapideas.workflow.forms import OfflineIdeaForm
from tests.conftest import IN_EAST, IN_WEST, OUTSIDE_CITY

pytestmark = pytest.mark.django_db

URL = "/teams/east-team/offline/"


def entry(**overrides) -> dict:
    """What staff type for a phone call, as a browser without JavaScript posts it."""
    return {
        "kind": "issue",
        "title": "Streetlight out on Elm",
        "description": "Called in: dark since Monday.",
        "category": "parks-green-space",
        "latitude": str(IN_EAST.y),
        "longitude": str(IN_EAST.x),
        "channel": "phone",
        "event_name": "",
        "gathered_on": "",
        "contact_name": "Rosa Parks",
        "contact_email": "rosa@example.org",
        "contact_phone": "+1 555 0100",
        "send_follow_link": "on",
    } | overrides


@pytest.fixture
def member(client, east_member):
    client.force_login(east_member)
    return east_member


def test_it_shows_a_member_the_form_with_the_map_and_only_offline_channels(
    client, city, category, member
):
    response = client.get(URL)

    assert response.status_code == 200
    assertContains(
        response,
        '<form method="post" id="idea-form" enctype="multipart/form-data" novalidate>',
    )
    # The home page's map script: a click fills the fields and /api/route/ says where it goes.
    assertContains(response, 'data-form="idea-form"')
    assertContains(response, 'data-route-api="/api/route/"')
    assertContains(response, 'id="route-hint"')
    assertContains(response, 'name="latitude"')
    assertContains(response, 'name="longitude"')
    channels = [value for value, _label in response.context["form"].fields["channel"].choices]
    assert channels == ["phone", "meeting", "paper", "letter", "email", "kiosk", "other"]
    assertContains(response, f'max="{timezone.localdate().isoformat()}"')


def test_it_routes_a_phone_call_like_any_pin_and_says_where_it_went(client, city, category, member):
    response = client.post(URL, entry())

    idea = Idea.objects.get()
    assertRedirects(response, f"{URL}?saved={idea.pk}")
    assert (idea.team, idea.neighborhood, idea.channel) == (city.east_team, city.east, "phone")
    assert (idea.kind, idea.title, idea.category) == ("issue", "Streetlight out on Elm", category)
    assert idea.author is None
    assert (idea.contact_name, idea.contact_email, idea.contact_phone) == (
        "Rosa Parks",
        "rosa@example.org",
        "+1 555 0100",
    )
    assert idea.routing_events.get().to_team == city.east_team
    # Who entered it is kept for staff, in an internal note.
    note = IdeaNote.objects.get(idea=idea)
    assert (note.author, note.text) == (member, "Entered by staff on a resident's behalf (phone).")

    page = client.get(response["Location"])
    assertContains(page, f'href="/ideas/{idea.pk}/"')
    assertContains(page, '<strong id="offline-saved-team">East Team</strong>', html=True)
    assertNotContains(page, "That is not East Team")


@pytest.mark.parametrize("saved", ["", "abc", "²", "9" * 30, "-1", "12345"])
def test_it_ignores_a_saved_pin_number_it_cannot_show(client, city, category, member, saved):
    response = client.get(URL, {"saved": saved})

    assert response.status_code == 200
    assert response.context["saved"] is None
    assertNotContains(response, 'id="offline-saved"')


def test_it_says_so_when_the_pin_goes_to_another_team(client, city, category, member):
    response = client.post(URL, entry(latitude=str(IN_WEST.y), longitude=str(IN_WEST.x)))

    idea = Idea.objects.get()
    assert idea.team == city.west_team
    page = client.get(response["Location"])
    assertContains(page, '<strong id="offline-saved-team">West Team</strong>', html=True)
    assertContains(page, "That is not East Team: the pin is in the queue of West Team")


def test_it_dates_the_pin_the_day_it_was_gathered_and_keeps_the_event(
    client, city, category, member
):
    day = timezone.localdate() - timedelta(days=10)

    client.post(
        URL, entry(channel="meeting", event_name=" Town hall, 3 March ", gathered_on=str(day))
    )

    idea = Idea.objects.get()
    assert idea.created_at == timezone.make_aware(datetime.combine(day, time(12)))
    assert idea.routing_events.get().created_at == idea.created_at
    assert (idea.channel, idea.event_name) == ("meeting", "Town hall, 3 March")


def test_without_a_date_the_pin_is_dated_now(client, city, category, member):
    before = timezone.now()

    client.post(URL, entry())

    assert before <= Idea.objects.get().created_at <= timezone.now()


def test_it_refuses_a_date_in_the_future_and_writes_nothing(client, city, category, member):
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = client.post(URL, entry(gathered_on=str(tomorrow)))

    assert response.status_code == 400
    assertContains(response, "The date gathered cannot be in the future.", status_code=400)
    assert not Idea.objects.exists()


def test_it_refuses_a_place_outside_the_city_by_the_coordinates(client, city, category, member):
    response = client.post(URL, entry(latitude=str(OUTSIDE_CITY.y), longitude=str(OUTSIDE_CITY.x)))

    assert response.status_code == 400
    assert "outside every neighborhood" in str(response.context["form"].errors["latitude"])
    assert not Idea.objects.exists()


@pytest.mark.parametrize("channel", ["web", "api", "import", "pigeon"])
def test_it_refuses_a_channel_staff_do_not_enter(client, city, category, member, channel):
    response = client.post(URL, entry(channel=channel))

    assert response.status_code == 400
    assert "channel" in response.context["form"].errors
    assert not Idea.objects.exists()


def test_it_sends_the_resident_a_link_to_follow_and_nothing_more(client, city, category, member):
    client.post(URL, entry())

    follower = Follower.objects.get()
    # Not confirmed: staff cannot consent for the resident; the link asks them.
    assert (follower.email, follower.confirmed_at) == ("rosa@example.org", None)
    (mail,) = EmailOutbox.objects.all()
    assert mail.to == "rosa@example.org"
    assert mail.subject.startswith("Confirm: follow pin #")


def test_it_sends_no_link_when_staff_untick_it(client, city, category, member):
    data = entry()
    del data["send_follow_link"]

    client.post(URL, data)

    assert Idea.objects.get().contact_email == "rosa@example.org"
    assert not Follower.objects.exists()
    assert not EmailOutbox.objects.exists()


def test_the_contact_is_optional(client, city, category, member):
    response = client.post(URL, entry(contact_name="", contact_email="", contact_phone=""))

    assert response.status_code == 302
    assert not Follower.objects.exists()


def test_the_contact_never_reaches_a_public_page_the_api_or_an_export(
    client, city, category, member
):
    client.post(URL, entry(channel="meeting", event_name="Town hall, 3 March"))
    idea = Idea.objects.get()
    client.logout()

    pages = [
        client.get(idea.get_absolute_url()),
        client.get("/api/ideas/"),
        client.get("/export/ideas.csv"),
        client.get("/export/ideas.geojson"),
        client.get("/ogc/collections/ideas/items", {"f": "json"}),
    ]

    for response in pages:
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8-sig")
        assert "Town hall, 3 March" in text  # the event is public
        for private in ("Rosa Parks", "rosa@example.org", "555 0100"):
            assert private not in text
    (feature,) = pages[1].json()["features"]
    assert feature["properties"]["event_name"] == "Town hall, 3 March"
    assert feature["properties"]["channel"] == "meeting"


# --- who may ------------------------------------------------------------------------------


def test_it_sends_an_anonymous_visitor_to_the_login_page(client, city):
    response = client.get(URL)

    assertRedirects(response, f"/accounts/login/?next={URL}", fetch_redirect_response=False)
    assert client.post(URL, entry()).status_code == 302
    assert not Idea.objects.exists()


@pytest.mark.parametrize("who", ["west_member", "planner"])
def test_it_forbids_other_teams_and_planners(client, city, category, request, who):
    client.force_login(request.getfixturevalue(who))

    assert client.get(URL).status_code == 403
    assert client.post(URL, entry()).status_code == 403
    assert not Idea.objects.exists()


def test_a_superuser_enters_input_for_any_team(client, city, category):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)

    response = client.post(URL, entry(channel="letter", contact_email=""))

    assert response.status_code == 302
    assert Idea.objects.get().channel == "letter"


def test_the_workspace_links_the_form_for_members_only(client, city, member, planner):
    assertContains(client.get("/teams/east-team/"), f'href="{URL}"')
    client.force_login(planner)
    assertNotContains(client.get("/teams/east-team/"), f'href="{URL}"')


def test_it_shows_channel_and_event_in_the_team_queue(client, city, category, member):
    client.post(URL, entry(channel="meeting", event_name="Town hall, 3 March"))

    response = client.get("/teams/east-team/")

    assertContains(
        response,
        '<span class="muted channel-note"> · Meeting or workshop: Town hall, 3 March</span>',
        html=True,
    )


def test_the_form_refuses_a_date_in_the_future(city, category):
    form = OfflineIdeaForm(entry(gathered_on=str(date.today() + timedelta(days=400))))

    assert not form.is_valid()
    assert form.errors["gathered_on"] == ["The date gathered cannot be in the future."]
