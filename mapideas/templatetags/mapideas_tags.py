"""Template filters of the MapIdeas pages."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def duration_text(value: timedelta | None) -> str:
    """A duration as people say it: "2 days 3 hours", "5 hours 10 minutes", "4 minutes"."""
    if value is None:
        return ""
    minutes = max(int(value.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    said = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n]
    # The two largest units are enough; under a minute is "0 minutes".
    return " ".join(said[:2]) or "0 minutes"
