"""services.offline_idea_create: staff enter offline input on a resident's behalf; who may,
which channels, which date."""

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from mapideas.models import Idea, IdeaNote
from mapideas.workflow.services import STAFF_ENTRY_CHANNELS, gathered_at, offline_idea_create
from neighborhoods.routing import triage_team
from tests.conftest import IN_EAST, IN_EMPTY_HOLE, IN_WEST

pytestmark = pytest.mark.django_db


def enter(actor, category, **overrides) -> Idea:
    fields = {
        "actor": actor,
        "kind": "idea",
        "title": "More benches",
        "category": category,
        "location": IN_EAST,
        "channel": Idea.Channel.MEETING,
    } | overrides
    return offline_idea_create(**fields)


def test_a_member_of_any_team_enters_input_routed_to_the_team_of_the_place(
    city, category, west_member
):
    idea = enter(west_member, category, event_name="Town hall, 3 March")

    assert (idea.team, idea.neighborhood) == (city.east_team, city.east)
    assert (idea.channel, idea.event_name, idea.author) == ("meeting", "Town hall, 3 March", None)
    assert IdeaNote.objects.get(idea=idea).author == west_member


def test_a_pin_between_neighborhoods_goes_to_the_triage_team(city, category, east_member):
    idea = enter(east_member, category, location=IN_EMPTY_HOLE)

    assert (idea.team, idea.neighborhood) == (triage_team(), None)


def test_a_superuser_may(city, category):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw")

    assert enter(admin, category, location=IN_WEST).team == city.west_team


@pytest.mark.parametrize("who", ["planner", "nobody", "outsider"])
def test_planners_people_in_no_team_and_nobody_may_not(city, category, make_user, planner, who):
    actor = {"planner": planner, "nobody": None, "outsider": make_user("olga")}[who]

    with pytest.raises(PermissionDenied):
        enter(actor, category)
    assert not Idea.objects.exists()


def test_a_planner_who_is_also_in_a_team_may(city, category, make_user):
    both = make_user("bea", teams=[city.west_team], planner=True)

    assert enter(both, category).channel == "meeting"


@pytest.mark.parametrize("channel", ["web", "api", "import"])
def test_it_refuses_the_online_channels_and_import(city, category, east_member, channel):
    with pytest.raises(ValidationError) as refused:
        enter(east_member, category, channel=channel)

    assert "channel" in refused.value.message_dict
    assert not Idea.objects.exists()


def test_staff_channels_are_the_offline_ones_but_import():
    assert set(STAFF_ENTRY_CHANNELS) == set(Idea.OFFLINE_CHANNELS) - {Idea.Channel.IMPORT}
    assert Idea.Channel.WEB not in Idea.OFFLINE_CHANNELS
    assert Idea.Channel.API not in Idea.OFFLINE_CHANNELS


def test_a_bad_contact_email_is_named(city, category, east_member):
    with pytest.raises(ValidationError) as refused:
        enter(east_member, category, contact_email="not an address")

    assert list(refused.value.message_dict) == ["contact_email"]


def test_the_gathered_date_sets_when_the_pin_counts_as_pinned(settings):
    settings.TIME_ZONE = "Europe/Brussels"
    now = timezone.now()
    today = timezone.localdate(now)
    last_week = today - timedelta(days=7)

    assert gathered_at(None, now=now) == now
    assert gathered_at(today, now=now) == now
    noon = gathered_at(last_week, now=now)
    assert noon == timezone.make_aware(datetime.combine(last_week, time(12)))
    assert timezone.localtime(noon).date() == last_week
    with pytest.raises(ValidationError, match="future"):
        gathered_at(today + timedelta(days=1), now=now)


def test_an_event_name_too_long_is_refused(city, category, east_member):
    with pytest.raises(ValidationError) as refused:
        enter(east_member, category, event_name="x" * 201)

    assert "event_name" in refused.value.message_dict
    assert not Idea.objects.exists()
