"""Area alerts: anyone may get an email about new public pins in a neighborhood, or within a
radius of a point, at once or weekly (models.AreaAlert).

The writes (subscribe, confirm, unsubscribe) are here rather than in services.py, next to
the matching they feed, as notifications.py keeps the follower emails. Like following a pin:

- an address gets nothing but the link to confirm until it is followed (double opt-in: nobody
  can aim a flood of alerts at someone else's address), and subscribing again sends a new link
  at most once a day;
- every alert email ends with a one-click link to stop (a signed token, no login), also in
  the List-Unsubscribe header; stopping deletes the subscription;
- emails are queued in the outbox (EmailOutbox) and sent by `manage.py send_notifications`,
  which calls `queue_area_alerts` first on every run.

Matching: only public pins (selectors.public_ideas: not those still awaiting their author's
confirmation), newer than the subscription's confirmation, each listed at most once per
subscription (the id watermark `last_idea_id`). A neighborhood alert matches the pin's routed
neighborhood (by slug, across boundary versions); a radius alert matches by geodesic distance
in metres on the WGS84 ellipsoid, computed by the database on both backends.
"""

from datetime import datetime, timedelta

from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from mapideas.models import (
    ALERT_RADIUS_MAX_M,
    ALERT_RADIUS_MIN_M,
    AreaAlert,
    EmailOutbox,
    Idea,
)

# The same rules as the follower emails: addresses cleaned alike, subjects one line.
from mapideas.notifications.services import (
    CONFIRM_MAX_AGE,
    absolute,
    email_subject,
    in_default_language,
    one_line,
)
from mapideas.participation.services import clean_email
from mapideas.pins import selectors
from mapideas.plumbing.tokens import id_from_token
from neighborhoods.routing import active_version, in_service_area
from neighborhoods.selectors import active_neighborhoods

CONFIRM_SALT = "mapideas.alert-confirm"
UNSUBSCRIBE_SALT = "mapideas.alert-unsubscribe"
# Subscribing again to an unconfirmed alert sends a new link at most this often.
CONFIRM_RESEND_AFTER = timedelta(days=1)
WEEK = timedelta(days=7)
# The most pins one email lists; then how many more, and the map.
EMAIL_MAX_PINS = 50
# A matching pin awaiting its author's confirmation is looked at again for this long (then
# it is dropped: a pin nobody confirmed in a month is not news), and at most this many.
HOLD_MAX_AGE = timedelta(days=30)
HOLD_MAX_PINS = 500

# Translated in the request's language when shown (`_` is a throwaway variable here).
# OUTSIDE_MESSAGE and CONFIRM_SENT_MESSAGE are plain str (tests look for them in pages):
# marked here, translated where they are said.
ONE_AREA_MESSAGE = gettext_lazy(
    "Give a neighborhood, or a point with radius_m: exactly one of the two."
)
RADIUS_MESSAGE = format_lazy(
    gettext_lazy("Give radius_m, in metres, from {min} to {max}, with the point."),
    min=ALERT_RADIUS_MIN_M,
    max=ALERT_RADIUS_MAX_M,
)
UNKNOWN_NEIGHBORHOOD_MESSAGE = gettext_lazy("No neighborhood of the city has this slug.")
OUTSIDE_MESSAGE = gettext_noop("This point is outside the area the city serves.")
CONFIRM_SENT_MESSAGE = gettext_noop(
    "Almost done: we sent a link to that email address. Alerts start once it is opened."
)


# --- tokens -----------------------------------------------------------------------------------


def confirm_token(alert: AreaAlert) -> str:
    return signing.dumps(alert.pk, salt=CONFIRM_SALT)


def unsubscribe_token(alert: AreaAlert) -> str:
    return signing.dumps(alert.pk, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(alert: AreaAlert) -> str:
    return absolute(reverse("alert-unsubscribe", args=[unsubscribe_token(alert)]))


# --- writes -----------------------------------------------------------------------------------


def _check_area(neighborhood_slug: str, center: Point | None, radius_m: int | None) -> None:
    """Refuse what is not exactly one known area, with errors naming the fields."""
    if bool(neighborhood_slug) == (center is not None):
        raise ValidationError({"neighborhood": [ONE_AREA_MESSAGE], "point": [ONE_AREA_MESSAGE]})
    if neighborhood_slug:
        if radius_m is not None:
            raise ValidationError(
                {"radius_m": [gettext("radius_m goes with a point, not a neighborhood.")]}
            )
        if not active_neighborhoods().filter(slug=neighborhood_slug).exists():
            raise ValidationError({"neighborhood": [UNKNOWN_NEIGHBORHOOD_MESSAGE]})
        return
    if radius_m is None or not ALERT_RADIUS_MIN_M <= radius_m <= ALERT_RADIUS_MAX_M:
        raise ValidationError({"radius_m": [RADIUS_MESSAGE]})
    assert center is not None  # no neighborhood: the first check asked for a point
    version = active_version()
    if version is None or not in_service_area(center, version):
        raise ValidationError({"point": [gettext(OUTSIDE_MESSAGE)]})


@transaction.atomic
def alert_subscribe(
    *,
    email: str,
    frequency: str = AreaAlert.Frequency.IMMEDIATE,
    neighborhood_slug: str = "",
    center: Point | None = None,
    radius_m: int | None = None,
) -> AreaAlert:
    """Subscribe an address to new pins in a neighborhood (its slug) or within `radius_m`
    metres of `center` (WGS84), and queue the email with the link to confirm.

    An identical subscription (same address, area and frequency) is not made twice: an
    unconfirmed one gets a new link (at most one a day), a confirmed one nothing. The caller
    answers the same in every case, so nobody learns whether an address is subscribed."""
    email = clean_email(email)
    if frequency not in AreaAlert.Frequency.values:
        raise ValidationError({"frequency": [gettext("Choose immediate or weekly.")]})
    if center is not None:
        center = Point(center.x, center.y, srid=4326)  # 2D: a third coordinate means nothing
    _check_area(neighborhood_slug, center, radius_m)
    # Not a unique constraint (a point has no equality an index can hold): two identical
    # requests at the same instant may make two rows, each needing its own confirmation.
    same = AreaAlert.objects.select_for_update().filter(email=email, frequency=frequency)
    if neighborhood_slug:
        same = same.filter(neighborhood_slug=neighborhood_slug)
    else:
        same = same.filter(center__equals=center, radius_m=radius_m)
    alert = same.order_by("pk").first()
    if alert is None:
        alert = AreaAlert.objects.create(
            email=email,
            frequency=frequency,
            neighborhood_slug=neighborhood_slug,
            center=center,
            radius_m=radius_m,
        )
    if alert.confirmed_at is not None:
        return alert
    now = timezone.now()
    sent = alert.confirmation_sent_at
    if sent is None or sent < now - CONFIRM_RESEND_AFTER:
        _queue_confirmation(alert)
        alert.confirmation_sent_at = now
        alert.save(update_fields=["confirmation_sent_at"])
    return alert


@transaction.atomic
def alert_confirm(*, token: str) -> AreaAlert | None:
    """Confirm an alert from the link sent to its address; None if the link is bad, expired
    or the alert gone. Only pins pinned from now on are sent. Confirming twice is once."""
    pk = id_from_token(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    alert = AreaAlert.objects.select_for_update().filter(pk=pk).first() if pk else None
    if alert is None:
        return None
    if alert.confirmed_at is None:
        now = timezone.now()
        alert.confirmed_at = now
        alert.last_idea_id = Idea.objects.aggregate(top=Max("id"))["top"] or 0
        # A weekly alert's first email comes a week after confirming.
        alert.last_checked_at = now
        alert.save(update_fields=["confirmed_at", "last_idea_id", "last_checked_at"])
    return alert


@transaction.atomic
def alert_unsubscribe(*, token: str) -> bool:
    """The one-click link of an alert email (no login): deletes the subscription. True if
    there was one; a damaged link is a ValidationError naming `token`."""
    pk = id_from_token(token, salt=UNSUBSCRIBE_SALT)
    if pk is None:
        raise ValidationError({"token": [gettext("This unsubscribe link is damaged.")]})
    deleted, _ = AreaAlert.objects.filter(pk=pk).delete()
    return bool(deleted)


# --- emails -----------------------------------------------------------------------------------


def _area_words(alert: AreaAlert) -> str:
    """Where the alert looks, as an email says it."""
    if alert.neighborhood_slug:
        # Its name now (not its polygon); the slug if a redrawing removed it.
        names = active_neighborhoods().filter(slug=alert.neighborhood_slug)
        return gettext("in %(neighborhood)s") % {
            "neighborhood": names.values_list("name", flat=True).first() or alert.neighborhood_slug
        }
    center = alert.center
    assert center is not None  # the table's check: a point when there is no neighborhood
    return gettext("within %(radius)s m of latitude %(lat)s, longitude %(lon)s") % {
        "radius": alert.radius_m,
        "lat": f"{center.y:.5f}",
        "lon": f"{center.x:.5f}",
    }


@in_default_language
def _queue_confirmation(alert: AreaAlert) -> EmailOutbox:
    link = absolute(reverse("alert-confirm", args=[confirm_token(alert)]))
    how = (
        gettext("as soon as they are pinned")
        if alert.frequency == "immediate"
        else gettext("once a week")
    )
    body = "\n".join(
        [
            gettext(
                "Someone (we hope you) asked MapIdeas to email this address about new pins "
                "%(area)s, %(how)s."
            )
            % {"area": _area_words(alert), "how": how},
            "",
            gettext("To confirm, open this link within %(days)s days: %(url)s")
            % {"days": CONFIRM_MAX_AGE.days, "url": link},
            "",
            gettext("If it was not you, ignore this email: nothing else will be sent to you."),
        ]
    )
    return EmailOutbox.objects.create(
        to=alert.email, subject=gettext("Confirm: alerts of new pins on MapIdeas"), body=body
    )


def _pin_line(idea: Idea) -> str:
    """One pin as an alert lists it: only what its public page shows, never who pinned it."""
    where = idea.neighborhood.name if idea.neighborhood else gettext("between neighborhoods")
    return gettext("#%(pk)s “%(title)s” (%(category)s, %(where)s, %(status)s): %(url)s") % {
        "pk": idea.pk,
        "title": one_line(idea.title),
        "category": idea.category.name,
        "where": where,
        "status": idea.get_status_display(),
        "url": absolute(reverse("idea-detail", args=[idea.pk])),
    }


@in_default_language
def _queue_alert_email(alert: AreaAlert, pins: list[Idea], total: int) -> EmailOutbox:
    stop = unsubscribe_url(alert)
    area = _area_words(alert)
    lines = [gettext("%(total)s new pin(s) %(area)s on MapIdeas:") % {"total": total, "area": area}]
    lines += [""]
    lines += [_pin_line(idea) for idea in pins]
    if total > len(pins):
        lines += [
            "",
            gettext("… and %(more)s more on the map: %(url)s")
            % {"more": total - len(pins), "url": absolute(reverse("home"))},
        ]
    how = gettext("as they are pinned") if alert.frequency == "immediate" else gettext("weekly")
    lines += [
        "",
        "-- ",
        gettext("You get this email because you asked for alerts of new pins %(area)s (%(how)s).")
        % {"area": area, "how": how},
        gettext("Stop them (one click, no login): %(url)s") % {"url": stop},
    ]
    return EmailOutbox.objects.create(
        to=alert.email,
        subject=email_subject(
            gettext("MapIdeas: %(total)s new pin(s) %(area)s") % {"total": total, "area": area}
        ),
        body="\n".join(lines),
        unsubscribe_url=stop,
    )


# --- matching (manage.py send_notifications) -------------------------------------------------


def due_alerts(*, now: datetime) -> QuerySet[AreaAlert]:
    """Confirmed alerts to look at now: immediate ones on every run, weekly ones a week after
    they last looked."""
    return AreaAlert.objects.filter(confirmed_at__isnull=False).filter(
        Q(frequency=AreaAlert.Frequency.IMMEDIATE)
        | Q(frequency=AreaAlert.Frequency.WEEKLY, last_checked_at__lte=now - WEEK)
        | Q(frequency=AreaAlert.Frequency.WEEKLY, last_checked_at__isnull=True)
    )


def matching_pins(alert: AreaAlert, *, up_to_id: int) -> QuerySet[Idea]:
    """Every pin in the alert's area not looked at yet (awaiting ones included: the caller
    holds those back), oldest first."""
    pins = Idea.objects.filter(
        Q(pk__gt=alert.last_idea_id, pk__lte=up_to_id) | Q(pk__in=alert.held_idea_ids or [])
    )
    if alert.neighborhood_slug:
        pins = pins.filter(neighborhood__slug=alert.neighborhood_slug)
    else:
        # Metres on the ellipsoid on both backends (ST_DistanceSpheroid on PostGIS,
        # Distance(a, b, 1) on SpatiaLite), not degrees: a degree of longitude at 60° north is
        # half of one at the equator. No spatial index here; the id range keeps it small.
        pins = pins.filter(location__distance_lte=(alert.center, D(m=alert.radius_m), "spheroid"))
    return pins.order_by("pk")


def _alert_one(alert: AreaAlert, *, up_to_id: int, now: datetime) -> bool:
    """Queue the alert's email if public pins matched; move its watermark. True if queued."""
    pins = matching_pins(alert, up_to_id=up_to_id)
    public = pins.filter(pk__in=selectors.public_ideas().values("pk"))
    held = list(
        pins.filter(awaiting_confirmation=True, created_at__gte=now - HOLD_MAX_AGE).values_list(
            "pk", flat=True
        )[:HOLD_MAX_PINS]
    )
    total = public.count()
    if total:
        shown = list(
            public.select_related("category", "neighborhood").defer("neighborhood__geometry")[
                :EMAIL_MAX_PINS
            ]
        )
        _queue_alert_email(alert, shown, total)
    alert.last_idea_id = max(alert.last_idea_id, up_to_id)
    alert.held_idea_ids = held
    alert.last_checked_at = now
    alert.save(update_fields=["last_idea_id", "held_idea_ids", "last_checked_at"])
    return bool(total)


def queue_area_alerts(*, now: datetime | None = None) -> int:
    """Queue one email per due alert listing the new public pins in its area (none when none
    matched), and move each alert's watermark; forget the alerts never confirmed whose link
    has expired. Returns how many emails were queued.

    One short transaction per alert, so SQLite's single write lock is never held long. On
    PostgreSQL each alert is locked with SKIP LOCKED: two runs at once never send one alert
    twice. A pin whose transaction commits after a run has looked past its id (a long import
    racing a web pin) may be missed: ids are handed out before commit."""
    now = now or timezone.now()
    # An address that never confirmed is not kept once its last link has expired.
    AreaAlert.objects.filter(
        confirmed_at__isnull=True, confirmation_sent_at__lt=now - CONFIRM_MAX_AGE
    ).delete()
    up_to_id = Idea.objects.aggregate(top=Max("id"))["top"] or 0
    skip_locked = connection.features.has_select_for_update_skip_locked
    queued = 0
    due = due_alerts(now=now).order_by("pk")
    # Read whole before writing: SQLite reads in chunks from the connection that writes.
    for pk, frequency, last_idea_id, held in list(
        due.values_list("pk", "frequency", "last_idea_id", "held_idea_ids")
    ):
        # Run every minute: an immediate alert with no new pin and none held costs no more
        # queries. (A weekly one is looked at anyway, to start its next week.)
        if frequency == AreaAlert.Frequency.IMMEDIATE and last_idea_id >= up_to_id and not held:
            continue
        with transaction.atomic():
            alerts = due_alerts(now=now).filter(pk=pk)
            if skip_locked:
                alerts = alerts.select_for_update(skip_locked=True)
            alert = alerts.first()  # gone, no longer due, or another run has it
            if alert is not None and _alert_one(alert, up_to_id=up_to_id, now=now):
                queued += 1
    return queued
