"""Area alerts (mapideas.alerts): an email about the new public pins in a neighborhood or
within a radius of a point, once the address is confirmed; each pin once per subscription;
weekly ones once a week; one click to stop, no login. On both backends: the radius is in
metres on the ellipsoid, also far from the equator."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.gis.geos import Point
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from pyproj import Geod

from mapideas.alerts import services as alerts
from mapideas.alerts.views import AREA_CHOICE_MESSAGE
from mapideas.models import AreaAlert, EmailOutbox, Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_EMPTY_HOLE, IN_ENCLAVE, IN_WEST

pytestmark = pytest.mark.django_db
ADDRESS = "zq-alerts-7731@mail.example"
WGS84 = Geod(ellps="WGS84")


def pin(category, location: Point, title: str = "Bench please", **extra) -> Idea:
    return idea_create(kind="idea", title=title, category=category, location=location, **extra)


def subscribe(**area) -> AreaAlert:
    """A confirmed alert, as the link in its confirmation email makes it."""
    alert = alerts.alert_subscribe(email=ADDRESS, **area)
    return alerts.alert_confirm(token=alerts.confirm_token(alert))


def alert_emails() -> list[EmailOutbox]:
    return list(EmailOutbox.objects.filter(to=ADDRESS, subject__startswith="MapIdeas:"))


def only_alert_email() -> EmailOutbox:
    (email,) = alert_emails()
    return email


def at_distance(center: Point, azimuth: float, metres: float) -> Point:
    lon, lat, _back = WGS84.fwd(center.x, center.y, azimuth, metres)
    return Point(lon, lat, srid=4326)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


# --- matching -------------------------------------------------------------------------------


def test_a_neighborhood_alert_lists_the_new_pins_routed_there(city, category):
    subscribe(neighborhood_slug="east-side")
    east = pin(category, IN_EAST, title="Swing in East")
    pin(category, IN_WEST, title="Swing in West")

    assert alerts.queue_area_alerts() == 1

    email = only_alert_email()
    assert email.subject == "MapIdeas: 1 new pin(s) in East Side"
    assert f"#{east.pk} “Swing in East” (Parks and green space, East Side, New): " in email.body
    assert f"http://127.0.0.1:8000/ideas/{east.pk}/" in email.body  # absolute, public page
    assert "Swing in West" not in email.body
    assert email.unsubscribe_url.startswith("http://127.0.0.1:8000/alerts/unsubscribe/")
    assert f"Stop them (one click, no login): {email.unsubscribe_url}" in email.body
    assert email.sent_at is None  # sent by send_notifications


def test_a_neighborhood_alert_ignores_pins_routed_elsewhere(city, category):
    subscribe(neighborhood_slug="west-side")
    pin(category, IN_ENCLAVE)  # routed to the Enclave, inside West Side's hole
    pin(category, IN_EMPTY_HOLE)  # routed to no neighborhood (triage)

    assert alerts.queue_area_alerts() == 0


def test_a_radius_alert_lists_the_pins_within_the_radius(city, category):
    subscribe(center=IN_WEST, radius_m=300)
    near = pin(category, IN_ENCLAVE, title="Near")  # about 265 m away
    pin(category, IN_EAST, title="Far")  # about 1 km away, in another neighborhood

    assert alerts.queue_area_alerts() == 1

    body = only_alert_email().body
    assert f"#{near.pk} “Near” (Parks and green space, Enclave, New)" in body
    assert "Far" not in body
    assert "within 300 m of latitude 50.00100, longitude 4.00100" in body


@pytest.mark.parametrize("azimuth", [0, 90, 225])  # north, east, south-west
def test_the_radius_is_metres_on_the_ellipsoid_at_60_degrees_north(city, category, azimuth):
    # At 60° a degree of longitude is ~55.8 km, of latitude ~111.4 km: a radius read as
    # degrees, or one scaled for latitude alone, gets one of these wrong.
    center = Point(10.0, 60.0, srid=4326)
    alert = AreaAlert.objects.create(
        email=ADDRESS, center=center, radius_m=1000, confirmed_at=timezone.now()
    )
    inside, outside = (
        Idea.objects.create(
            kind="idea",
            title=title,
            category=category,
            location=at_distance(center, azimuth, metres),
            team=city.west_team,
        )
        for title, metres in (("Inside", 995), ("Outside", 1005))
    )

    assert alerts.queue_area_alerts() == 1

    body = only_alert_email().body
    assert f"#{inside.pk} “Inside”" in body
    assert f"#{outside.pk}" not in body
    alert.refresh_from_db()
    assert alert.last_idea_id == outside.pk  # looked at, and never again


def test_an_unconfirmed_alert_gets_nothing_but_its_confirmation_link(city, category):
    alert = alerts.alert_subscribe(email=ADDRESS, neighborhood_slug="east-side")
    pin(category, IN_EAST)

    assert alerts.queue_area_alerts() == 0

    (confirmation,) = EmailOutbox.objects.filter(to=ADDRESS)
    assert confirmation.subject == "Confirm: alerts of new pins on MapIdeas"
    assert "new pins in East Side, as soon as they are pinned" in confirmation.body
    # The link's own token (a signature stamped to the second: one made again here may differ).
    (token,) = re.findall(r"/alerts/confirm/([^/\s]+)/", confirmation.body)
    assert alerts.alert_confirm(token=token) == alert
    assert confirmation.unsubscribe_url == ""


def test_an_address_that_never_confirmed_is_forgotten_when_its_link_expires(city):
    alert = alerts.alert_subscribe(email=ADDRESS, neighborhood_slug="east-side")
    alerts.queue_area_alerts(now=timezone.now() + timedelta(days=6))
    assert AreaAlert.objects.filter(pk=alert.pk).exists()

    alerts.queue_area_alerts(now=timezone.now() + timedelta(days=7, minutes=1))
    assert not AreaAlert.objects.exists()


def test_pins_from_before_the_confirmation_are_not_sent(city, category):
    alert = alerts.alert_subscribe(email=ADDRESS, neighborhood_slug="east-side")
    pin(category, IN_EAST, title="Before")
    alerts.alert_confirm(token=alerts.confirm_token(alert))
    pin(category, IN_EAST, title="After")

    alerts.queue_area_alerts()

    body = only_alert_email().body
    assert "“After”" in body
    assert "“Before”" not in body


def test_a_pin_is_sent_once_per_alert(city, category):
    subscribe(neighborhood_slug="east-side")
    pin(category, IN_EAST, title="First")
    assert alerts.queue_area_alerts() == 1
    assert alerts.queue_area_alerts() == 0

    pin(category, IN_EAST, title="Second")
    assert alerts.queue_area_alerts() == 1

    first, second = alert_emails()
    assert "“First”" in first.body
    assert "“Second”" in second.body
    assert "“First”" not in second.body


def test_pins_awaiting_their_authors_confirmation_are_held_until_public(city, category):
    subscribe(neighborhood_slug="east-side")
    waiting = pin(
        category,
        IN_EAST,
        title="Waiting",
        awaiting_confirmation=True,
        contact_email="zq-pinner-7731@mail.example",
    )

    assert alerts.queue_area_alerts() == 0
    assert alerts.queue_area_alerts() == 0  # still waiting: still held, still not sent

    # Its author follows the link (services.idea_confirm): now it is on the public map.
    Idea.objects.filter(pk=waiting.pk).update(awaiting_confirmation=False)
    assert alerts.queue_area_alerts() == 1
    assert f"#{waiting.pk} “Waiting”" in only_alert_email().body
    assert alerts.queue_area_alerts() == 0


def test_a_pin_awaiting_confirmation_for_a_month_is_dropped(city, category):
    alert = subscribe(neighborhood_slug="east-side")
    waiting = pin(
        category,
        IN_EAST,
        awaiting_confirmation=True,
        contact_email="zq-pinner-7731@mail.example",
    )
    alerts.queue_area_alerts(now=timezone.now() + alerts.HOLD_MAX_AGE + timedelta(minutes=1))
    alert.refresh_from_db()
    assert alert.held_idea_ids == []

    Idea.objects.filter(pk=waiting.pk).update(awaiting_confirmation=False)
    assert alerts.queue_area_alerts() == 0


def test_weekly_alerts_come_a_week_apart_with_everything_since(city, category):
    subscribe(neighborhood_slug="east-side", frequency="weekly")
    now = timezone.now()
    pin(category, IN_EAST, title="Monday")
    assert alerts.queue_area_alerts(now=now + timedelta(days=1)) == 0
    pin(category, IN_EAST, title="Tuesday")

    assert alerts.queue_area_alerts(now=now + timedelta(days=7, minutes=1)) == 1
    email = only_alert_email()
    assert email.subject == "MapIdeas: 2 new pin(s) in East Side"
    assert "“Monday”" in email.body and "“Tuesday”" in email.body
    assert "(weekly)" in email.body

    pin(category, IN_EAST, title="Next week")
    assert alerts.queue_area_alerts(now=now + timedelta(days=10)) == 0
    assert alerts.queue_area_alerts(now=now + timedelta(days=14, minutes=2)) == 1
    assert "“Next week”" in alert_emails()[-1].body


def test_a_weekly_alert_with_no_new_pin_sends_nothing_and_waits_another_week(city, category):
    alert = subscribe(neighborhood_slug="east-side", frequency="weekly")
    later = timezone.now() + timedelta(days=7, minutes=1)

    assert alerts.queue_area_alerts(now=later) == 0

    alert.refresh_from_db()
    assert alert.last_checked_at == later
    pin(category, IN_EAST)
    assert alerts.queue_area_alerts(now=later + timedelta(days=1)) == 0


def test_the_email_never_names_who_pinned(city, category, make_user):
    author = make_user("zq-secret-author-7731")
    author.email = "zq-secret-author-7731@mail.example"
    author.first_name = "Zebediah"
    author.save()
    subscribe(neighborhood_slug="east-side")
    pin(
        category,
        IN_EAST,
        title="Line one\r\nSubject: injected",
        description="Call me at 555-0100",
        author=author,
        contact_email="zq-contact-7731@mail.example",
        contact_name="Quentin Contact",
        contact_phone="555-0100",
    )

    alerts.queue_area_alerts()

    email = only_alert_email()
    for secret in ("zq-secret-author", "Zebediah", "zq-contact", "Quentin", "555-0100"):
        assert secret not in email.body
        assert secret not in email.subject
    # User text is one line: no header or line injection through a title.
    assert "“Line one Subject: injected”" in email.body
    assert not any(line.startswith("Subject:") for line in email.body.splitlines())


def test_an_email_lists_at_most_fifty_pins_then_how_many_more(city, category):
    subscribe(neighborhood_slug="east-side")
    for number in range(alerts.EMAIL_MAX_PINS + 2):
        pin(category, IN_EAST, title=f"Pin {number}")

    alerts.queue_area_alerts()

    email = only_alert_email()
    assert email.subject == "MapIdeas: 52 new pin(s) in East Side"
    assert email.body.count("/ideas/") == alerts.EMAIL_MAX_PINS
    assert "“Pin 0”" in email.body and "“Pin 50”" not in email.body  # oldest first
    assert "… and 2 more on the map: http://127.0.0.1:8000/" in email.body


def test_send_notifications_queues_and_sends_the_alerts(city, category, mailoutbox):
    alert = subscribe(neighborhood_slug="east-side")
    pin(category, IN_EAST)
    out = StringIO()

    call_command("send_notifications", stdout=out, stderr=StringIO())

    assert "Queued 1 area alert email(s)." in out.getvalue()
    confirmation, message = mailoutbox  # the outbox's oldest first
    assert confirmation.subject == "Confirm: alerts of new pins on MapIdeas"
    assert "List-Unsubscribe" not in confirmation.extra_headers
    assert message.to == [ADDRESS]
    assert message.subject == "MapIdeas: 1 new pin(s) in East Side"
    # This alert's stop link (its token is stamped to the second: compared by what it signs).
    (link,) = re.findall(r"^<(.+)>$", message.extra_headers["List-Unsubscribe"])
    prefix = alerts.unsubscribe_url(alert).rsplit("/", 2)[0]
    assert link.startswith(prefix + "/")
    token = link.removeprefix(prefix + "/").rstrip("/")
    assert signing.loads(token, salt=alerts.UNSUBSCRIBE_SALT) == alert.pk
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# --- subscribing, confirming, stopping ------------------------------------------------------


def test_subscribing_twice_makes_one_alert_and_one_link_a_day(city):
    first = alerts.alert_subscribe(email=ADDRESS, neighborhood_slug="east-side")
    again = alerts.alert_subscribe(
        email=ADDRESS.replace("mail.example", "MAIL.example"), neighborhood_slug="east-side"
    )

    assert again.pk == first.pk
    assert EmailOutbox.objects.filter(to=ADDRESS).count() == 1

    AreaAlert.objects.filter(pk=first.pk).update(
        confirmation_sent_at=timezone.now() - timedelta(days=2)
    )
    alerts.alert_subscribe(email=ADDRESS, neighborhood_slug="east-side")
    assert EmailOutbox.objects.filter(to=ADDRESS).count() == 2

    alerts.alert_confirm(token=alerts.confirm_token(first))
    alerts.alert_subscribe(email=ADDRESS, neighborhood_slug="east-side")
    assert EmailOutbox.objects.filter(to=ADDRESS).count() == 2
    assert AreaAlert.objects.count() == 1


def test_the_same_point_and_radius_is_one_alert_another_frequency_another(city):
    one = alerts.alert_subscribe(email=ADDRESS, center=IN_WEST, radius_m=400)
    same = alerts.alert_subscribe(
        email=ADDRESS, center=Point(IN_WEST.x, IN_WEST.y, 12.0, srid=4326), radius_m=400
    )
    weekly = alerts.alert_subscribe(email=ADDRESS, center=IN_WEST, radius_m=400, frequency="weekly")

    assert same.pk == one.pk
    assert weekly.pk != one.pk


@pytest.mark.parametrize(
    ("area", "field"),
    [
        ({}, "neighborhood"),
        ({"neighborhood_slug": "east-side", "center": IN_EAST, "radius_m": 100}, "point"),
        ({"neighborhood_slug": "atlantis"}, "neighborhood"),
        ({"neighborhood_slug": "east-side", "radius_m": 100}, "radius_m"),
        ({"center": IN_EAST}, "radius_m"),
        ({"center": IN_EAST, "radius_m": 49}, "radius_m"),
        ({"center": IN_EAST, "radius_m": 5001}, "radius_m"),
        ({"center": Point(4.040, 50.005, srid=4326), "radius_m": 100}, "point"),  # outside
    ],
)
def test_a_subscription_needs_one_known_area(city, area, field):
    with pytest.raises(ValidationError) as caught:
        alerts.alert_subscribe(email=ADDRESS, **area)
    assert field in caught.value.message_dict
    assert not AreaAlert.objects.exists()
    assert not EmailOutbox.objects.exists()


def test_the_database_refuses_an_alert_for_two_areas_or_none(city):
    for fields in (
        {"neighborhood_slug": "east-side", "center": IN_EAST, "radius_m": 100},
        {},
        {"center": IN_EAST, "radius_m": 10_000},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            AreaAlert.objects.create(email=ADDRESS, **fields)


def test_the_unsubscribe_link_deletes_the_alert_and_a_tampered_one_does_nothing(city):
    alert = subscribe(neighborhood_slug="east-side")
    token = alerts.unsubscribe_token(alert)

    with pytest.raises(ValidationError):
        alerts.alert_unsubscribe(token=token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(ValidationError):  # the confirmation link is no unsubscribe link
        alerts.alert_unsubscribe(token=alerts.confirm_token(alert))
    assert AreaAlert.objects.filter(pk=alert.pk).exists()

    assert alerts.alert_unsubscribe(token=token) is True
    assert not AreaAlert.objects.exists()
    assert alerts.alert_unsubscribe(token=token) is False  # twice is once


def test_a_tampered_or_expired_confirmation_link_confirms_nothing(city, settings):
    alert = alerts.alert_subscribe(email=ADDRESS, neighborhood_slug="east-side")
    token = alerts.confirm_token(alert)

    assert alerts.alert_confirm(token=token + "x") is None
    assert alerts.alert_confirm(token=alerts.unsubscribe_token(alert)) is None
    settings.SECRET_KEY = "another-key-" + "x" * 40
    assert alerts.alert_confirm(token=token) is None
    alert.refresh_from_db()
    assert alert.confirmed_at is None


# --- pages ----------------------------------------------------------------------------------


def test_the_alerts_page_subscribes_without_javascript_and_with_csrf(city):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/alerts/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="east-side"' in html and "East Side" in html
    assert 'name="csrfmiddlewaretoken"' in html

    assert (
        client.post("/alerts/", {"email": ADDRESS, "neighborhood": "east-side"}).status_code == 403
    )

    token = page.cookies["csrftoken"].value
    response = client.post(
        "/alerts/",
        {"email": ADDRESS, "neighborhood": "east-side", "frequency": "weekly"},
        HTTP_X_CSRFTOKEN=token,
        follow=True,
    )
    assert response.status_code == 200
    assert alerts.CONFIRM_SENT_MESSAGE in response.content.decode()
    alert = AreaAlert.objects.get()
    assert (alert.neighborhood_slug, alert.frequency, alert.confirmed_at) == (
        "east-side",
        "weekly",
        None,
    )


def test_the_alerts_page_subscribes_around_a_point(client, city):
    response = client.post(
        "/alerts/",
        {
            "email": ADDRESS,
            "latitude": "50.001",
            "longitude": "4.001",
            "radius_m": "800",
            "frequency": "immediate",
        },
    )
    assert response.status_code == 302
    alert = AreaAlert.objects.get()
    assert (alert.center.x, alert.center.y, alert.radius_m) == (4.001, 50.001, 800)


def test_the_alerts_page_says_what_is_wrong(client, city):
    response = client.post("/alerts/", {"email": "not an address", "frequency": "immediate"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert AREA_CHOICE_MESSAGE in html
    assert not AreaAlert.objects.exists()

    outside = {"email": ADDRESS, "latitude": "50.005", "longitude": "4.040", "radius_m": "100"}
    response = client.post("/alerts/", {**outside, "frequency": "immediate"})
    assert response.status_code == 400
    assert alerts.OUTSIDE_MESSAGE in response.content.decode()
    assert not AreaAlert.objects.exists()


def test_the_alerts_page_is_rate_limited(client, city, settings):
    settings.MAPIDEAS_RATE_ALERT = (1, 3600)
    form = {"email": ADDRESS, "neighborhood": "east-side", "frequency": "immediate"}
    assert client.post("/alerts/", form).status_code == 302
    response = client.post("/alerts/", form)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_the_confirmation_link_opens_a_page_whose_button_confirms(city):
    client = Client(enforce_csrf_checks=True)
    alert = alerts.alert_subscribe(email=ADDRESS, neighborhood_slug="east-side")
    (confirmation,) = EmailOutbox.objects.filter(to=ADDRESS)
    url = path_of(confirmation.body.split("open this link within 7 days: ", 1)[1].split()[0])

    page = client.get(url)
    assert page.status_code == 200
    alert.refresh_from_db()
    assert alert.confirmed_at is None  # a mail scanner opening the link confirms nothing

    response = client.post(url, HTTP_X_CSRFTOKEN=page.cookies["csrftoken"].value)
    assert response.status_code == 200
    assert 'id="alert-confirmed"' in response.content.decode()
    alert.refresh_from_db()
    assert alert.confirmed_at is not None

    tampered = url.replace("/confirm/", "/confirm/x")
    response = client.post(tampered, HTTP_X_CSRFTOKEN=page.cookies["csrftoken"].value)
    assert response.status_code == 400


def test_one_click_unsubscribe_works_from_a_mail_client(city, category):
    alert = subscribe(neighborhood_slug="east-side")
    pin(category, IN_EAST)
    alerts.queue_area_alerts()
    url = path_of(only_alert_email().unsubscribe_url)
    client = Client(enforce_csrf_checks=True)  # a mail client has no session or token

    page = client.get(url)
    assert page.status_code == 200
    assert AreaAlert.objects.filter(pk=alert.pk).exists()
    response = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert 'id="unsubscribed"' in response.content.decode()
    assert not AreaAlert.objects.exists()

    tampered = url.replace("/unsubscribe/", "/unsubscribe/x")
    assert client.post(tampered).status_code == 400


def test_the_navigation_links_the_alerts_page(client, city):
    assert 'href="/alerts/"' in client.get("/alerts/").content.decode()


def test_staff_see_and_delete_alerts_in_the_admin_but_do_not_edit_them(admin_client, city):
    alert = subscribe(center=IN_WEST, radius_m=400)

    listing = admin_client.get("/admin/mapideas/areaalert/")
    assert listing.status_code == 200
    assert ADDRESS in listing.content.decode()
    page = admin_client.get(f"/admin/mapideas/areaalert/{alert.pk}/change/")
    assert page.status_code == 200
    assert "400 m around 50.00100, 4.00100" in page.content.decode()
    assert admin_client.get("/admin/mapideas/areaalert/add/").status_code == 403

    response = admin_client.post(f"/admin/mapideas/areaalert/{alert.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not AreaAlert.objects.exists()
