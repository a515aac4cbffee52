"""A team hears of new pins routed to it as it chose (Team.notify): an email for each, a
daily digest (`send_notifications --digest`), or nothing; each with a one-click link that
stops them, and that names the team without its address."""

import base64
from datetime import timedelta
from io import StringIO

import pytest
from django.core import signing
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from mapideas.models import EmailOutbox, Idea
from mapideas.notifications.services import DIGEST_MAX_PINS, TEAM_STOP_SALT, queue_digests
from mapideas.submission.services import idea_create
from neighborhoods.models import Team
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db
TEAM_BOX = "east-team@city.example"


def set_notify(team: Team, how: str, email: str = TEAM_BOX) -> None:
    Team.objects.filter(pk=team.pk).update(notify=how, notify_email=email)


def pin(category, title="Broken swing", where=IN_EAST, **kwargs) -> Idea:
    return idea_create(kind="issue", title=title, category=category, location=where, **kwargs)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_teams_get_no_email_by_default(city, category):
    pin(category)
    assert not EmailOutbox.objects.exists()


def test_a_team_gets_an_email_for_each_new_pin(city, category):
    set_notify(city.east_team, Team.Notify.EACH)

    idea = pin(category, title="Swing\r\nBcc: x@mail.example", description="<b>chain</b>")
    pin(category, where=IN_WEST)  # West Team asked for nothing

    (row,) = EmailOutbox.objects.all()
    assert row.to == TEAM_BOX
    assert row.subject == f"New pin #{idea.pk} for East Team: “Swing Bcc: x@mail.example”"
    assert f"/ideas/{idea.pk}/" in row.body
    assert "<b>chain</b>" in row.body  # plain text, as typed
    assert "/teams/east-team/" in row.body
    assert row.unsubscribe_url and row.unsubscribe_url in row.body


def test_no_team_email_without_an_address(city, category):
    set_notify(city.east_team, Team.Notify.EACH, email="")
    pin(category)
    assert not EmailOutbox.objects.exists()


def test_the_daily_digest_lists_the_new_pins_once(city, category, mailoutbox):
    set_notify(city.east_team, Team.Notify.DAILY)
    now = timezone.now()
    old = pin(category, title="Last week", created_at=now - timedelta(days=8))
    fresh = [pin(category, title=f"Fresh {n}") for n in range(3)]
    assert not EmailOutbox.objects.exists()  # nothing per pin

    out = StringIO()
    call_command("send_notifications", "--digest", stdout=out, stderr=StringIO())

    assert "Queued 1 team digest(s)." in out.getvalue()
    (message,) = mailoutbox
    assert message.to == [TEAM_BOX]
    assert "East Team: 3 new pin(s)" in message.subject
    for idea in fresh:
        assert f"#{idea.pk} “{idea.title}”" in message.body
    assert "Last week" not in message.body
    assert old.pk
    assert "List-Unsubscribe" in message.extra_headers

    # The next digest starts where this one ended.
    assert queue_digests() == 0
    later = pin(category, title="Tomorrow")
    assert queue_digests() == 1
    latest = EmailOutbox.objects.order_by("-pk").first()
    assert "Tomorrow" in latest.body and "Fresh 0" not in latest.body
    assert later.pk


def test_a_long_digest_is_cut(city, category, monkeypatch):
    monkeypatch.setattr("mapideas.notifications.services.DIGEST_MAX_PINS", 2)
    set_notify(city.east_team, Team.Notify.DAILY)
    for n in range(3):
        pin(category, title=f"Pin {n}")

    assert queue_digests() == 1
    assert "… and 1 more." in EmailOutbox.objects.get().body
    assert DIGEST_MAX_PINS == 200


def test_the_one_click_link_stops_the_team_emails(city, category):
    set_notify(city.east_team, Team.Notify.EACH)
    pin(category)
    (row,) = EmailOutbox.objects.all()
    browser = Client(enforce_csrf_checks=True)

    assert browser.get(path_of(row.unsubscribe_url)).status_code == 200
    assert Team.objects.get(pk=city.east_team.pk).notify == Team.Notify.EACH
    assert browser.post(path_of(row.unsubscribe_url)).status_code == 200
    assert Team.objects.get(pk=city.east_team.pk).notify == Team.Notify.NONE

    pin(category)
    assert EmailOutbox.objects.count() == 1


def test_a_link_to_a_former_address_stops_nothing(city, category):
    set_notify(city.east_team, Team.Notify.EACH)
    pin(category)
    (row,) = EmailOutbox.objects.all()
    set_notify(city.east_team, Team.Notify.EACH, email="new-box@city.example")

    assert Client().post(path_of(row.unsubscribe_url)).status_code == 400
    assert Team.objects.get(pk=city.east_team.pk).notify == Team.Notify.EACH


def test_the_stop_link_carries_no_address(city, category):
    set_notify(city.east_team, Team.Notify.EACH)
    pin(category)
    (row,) = EmailOutbox.objects.all()
    token = path_of(row.unsubscribe_url).rstrip("/").rsplit("/", 1)[1]
    payload = token.split(":", 1)[0]

    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert "@" not in decoded and "east-team" not in decoded


def test_a_stop_link_emailed_with_the_address_in_it_still_stops(city, category):
    """Links emailed before tokens stopped carrying addresses keep working, for that address
    only (mapideas.plumbing.tokens)."""
    set_notify(city.east_team, Team.Notify.EACH)
    old = signing.dumps([city.east_team.pk, TEAM_BOX], salt=TEAM_STOP_SALT)
    former = signing.dumps([city.east_team.pk, "former@city.example"], salt=TEAM_STOP_SALT)

    assert Client().post(f"/unsubscribe/team/{former}/").status_code == 400
    assert Team.objects.get(pk=city.east_team.pk).notify == Team.Notify.EACH
    assert Client().post(f"/unsubscribe/team/{old}/").status_code == 200
    assert Team.objects.get(pk=city.east_team.pk).notify == Team.Notify.NONE
