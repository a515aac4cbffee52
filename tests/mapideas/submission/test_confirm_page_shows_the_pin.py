"""The page a pin's confirmation link opens (`/ideas/confirm/<token>/`) shows which pin it
publishes before its button: anyone can send a pin with someone else's address, and its owner
must see what they would put on the public map. What the sender wrote is shown escaped; the
address, name and phone it was sent with never; a bad or expired link shows no pin."""

import re
import time

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from mapideas.models import Idea, IdeaPhoto
from mapideas.notifications import services as notifications
from mapideas.submission.services import idea_submit
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg, upload

pytestmark = pytest.mark.django_db

ADDRESS = "zq-owner-4410@mail.example"
NAME = "Zqname Owner"
PHONE = "+32 4410 4410"
TITLE = "Swing <script>alert(1)</script> & chain"
DESCRIPTION = 'The chain "snapped" <b>twice</b>.'


def awaiting(category, **extra) -> Idea:
    """A pin sent from the map's form with an address (and a phone staff added), unconfirmed."""
    idea = idea_submit(
        kind="issue",
        title=TITLE,
        description=DESCRIPTION,
        category=category,
        location=IN_EAST,
        email=ADDRESS,
        name=NAME,
        **extra,
    )
    Idea.objects.filter(pk=idea.pk).update(contact_phone=PHONE)
    assert idea.awaiting_confirmation
    return idea


def confirm_path(idea: Idea) -> str:
    return f"/ideas/confirm/{notifications.idea_confirm_token(idea)}/"


def before_the_button(html: str) -> str:
    head, button, _tail = html.partition('<form method="post" action="" id="confirm-form">')
    assert button, "the confirm button"
    return head


def test_the_page_shows_the_pin_it_publishes_escaped_before_its_button(city, category):
    idea = awaiting(category)

    response = Client().get(confirm_path(idea))

    assert response.status_code == 200
    shown = before_the_button(response.content.decode())
    assert "Swing &lt;script&gt;alert(1)&lt;/script&gt; &amp; chain" in shown
    assert "The chain &quot;snapped&quot; &lt;b&gt;twice&lt;/b&gt;." in shown
    assert "<script>alert(1)" not in response.content.decode()
    assert "<b>twice" not in response.content.decode()
    assert "Issue" in shown
    assert category.name in shown
    assert city.east.name in shown
    assert not Idea.objects.get().is_public  # looking publishes nothing


def test_the_page_shows_nothing_of_the_address_it_was_sent_with(city, category):
    idea = awaiting(category)

    html = Client().get(confirm_path(idea)).content.decode()

    for personal in (ADDRESS, "zq-owner-4410", NAME, PHONE):
        assert personal not in html


def test_the_page_shows_the_pins_photo_which_the_links_holder_may_see(city, category):
    idea = awaiting(category, photo=upload(gps_jpeg()))
    holder = Client()

    html = holder.get(confirm_path(idea)).content.decode()

    found = re.search(r'<img[^>]*\bsrc="([^"]+)"', before_the_button(html))
    assert found, "the pin's photo"
    served = holder.get(found.group(1))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    # Not public yet: no shared cache may keep it.
    assert served["Cache-Control"] == "private, no-store"
    # Without the link, the photo of a pin awaiting confirmation stays unseen.
    assert Client().get(f"/ideas/{idea.pk}/photo.jpg").status_code == 404


def test_a_photo_hidden_by_moderators_is_not_shown(city, category):
    idea = awaiting(category, photo=upload(gps_jpeg()))
    IdeaPhoto.objects.filter(idea=idea).update(hidden_at=timezone.now())
    holder = Client()
    path = confirm_path(idea)

    html = holder.get(path).content.decode()

    assert "<img" not in before_the_button(html)
    assert holder.get(f"{path}photo.jpg").status_code == 404


def test_a_pin_without_a_photo_shows_none(city, category):
    idea = awaiting(category)

    html = Client().get(confirm_path(idea)).content.decode()

    assert "<img" not in before_the_button(html)
    assert Client().get(f"{confirm_path(idea)}photo.jpg").status_code == 404


def test_a_damaged_link_keeps_its_page_and_shows_no_pin(city, category):
    idea = awaiting(category, photo=upload(gps_jpeg()))
    damaged = confirm_path(idea)[:-6] + "xxxxx/"

    response = Client().get(damaged)

    assert response.status_code == 400
    html = response.content.decode()
    assert "This link is damaged or expired" in html
    assert "Swing" not in html and "snapped" not in html
    assert Client().get(f"{damaged}photo.jpg").status_code == 404


def test_a_link_for_another_address_shows_no_pin(city, category):
    idea = awaiting(category)
    path = confirm_path(idea)
    Idea.objects.filter(pk=idea.pk).update(contact_email="someone-else@mail.example")

    response = Client().get(path)

    assert response.status_code == 400
    assert "Swing" not in response.content.decode()


def test_an_expired_link_shows_no_pin(city, category, monkeypatch):
    idea = awaiting(category, photo=upload(gps_jpeg()))
    path = confirm_path(idea)
    later = time.time() + notifications.CONFIRM_MAX_AGE.total_seconds() + 3600
    monkeypatch.setattr(signing.time, "time", lambda: later)

    response = Client().get(path)

    assert response.status_code == 400
    assert "Swing" not in response.content.decode()
    assert Client().get(f"{path}photo.jpg").status_code == 404
