"""Whole days in the site's time zone, as the date filters read them: from the first instant
of one day to the first instant of the day after another, both days included.

The calendar's ends have no day before or after them that a database can store (the day
after 9999-12-31, the first hours of year 1 seen from a time zone east of UTC): there the
bound is open (None), since every pin lies within it. No date a person can type overflows.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone


def first_instant(day: date) -> datetime | None:
    """The first instant of `day` in TIME_ZONE, or None before the first storable instant."""
    try:
        moment = timezone.make_aware(datetime.combine(day, time.min))
        # What the database is given: the same instant in UTC, which must exist too.
        moment.astimezone(UTC)
    except OverflowError:
        return None
    return moment


def first_instant_after(day: date) -> datetime | None:
    """The first instant of the day after `day`, or None after the last storable instant."""
    try:
        return first_instant(day + timedelta(days=1))
    except OverflowError:
        return None
