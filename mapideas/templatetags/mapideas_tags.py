"""Template filters of the MapIdeas pages."""

import re
from datetime import timedelta

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()

# An inline script: <script> with no attributes (folium writes its files as <script src=...>,
# which script-src 'self' allows already).
_INLINE_SCRIPT_TAG = re.compile(r"<script(?=\s*>)")


@register.filter
def with_nonce(markup: SafeString, nonce: str) -> SafeString:
    """Markup this site generated (folium's map header), with the page's CSP nonce on each of
    its inline <script> tags, so the Content-Security-Policy lets them run. Only for markup already
    marked safe: user text in it was escaped, so no <script> tag can have come from a user."""
    if not isinstance(markup, SafeString):
        return escape(markup)
    return mark_safe(_INLINE_SCRIPT_TAG.sub(f'<script nonce="{escape(nonce)}"', markup))  # noqa: S308


@register.filter
def duration_text(value: timedelta | None) -> str:
    """A duration as people say it: "2 days 3 hours", "5 hours 10 minutes", "4 minutes"."""
    if value is None:
        return ""
    minutes = max(int(value.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    # Each unit's words in full (not built from parts), so that makemessages finds them.
    said = [
        words % {"count": n}
        for n, words in (
            (days, ngettext("%(count)s day", "%(count)s days", days)),
            (hours, ngettext("%(count)s hour", "%(count)s hours", hours)),
            (minutes, ngettext("%(count)s minute", "%(count)s minutes", minutes)),
        )
        if n
    ]
    # The two largest units are enough; under a minute is "0 minutes".
    return " ".join(said[:2]) or _("0 minutes")
