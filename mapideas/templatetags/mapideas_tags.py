"""Template filters and tags of the MapIdeas pages."""

import re
from datetime import timedelta

from django import template
from django.utils.html import escape, json_script
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mapideas.models import Idea
from mapideas.outcomes import selectors as outcome_selectors
from mapideas.pins.selectors import category_names

register = template.Library()

# The id of the JSON script {% page_vocabulary %} writes; mapideas/vocabulary.js reads it.
VOCABULARY_ID = "page-vocabulary"

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


@register.simple_tag
def pending_check_count(team) -> int:
    """How many of the team's closed pins wait in its check queue (residents dispute them)."""
    return outcome_selectors.pending_check_count(team)


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


def page_vocabulary_words() -> dict[str, dict[str, str]]:
    """The words the scripts show for what the API gives as codes, in the active language:
    each pin status's label (Idea.Status) and each category's name, by slug."""
    return {
        "statuses": {status.value: str(status.label) for status in Idea.Status},
        "categories": {category.slug: category.display_name for category in category_names()},
    }


@register.simple_tag
def page_vocabulary() -> SafeString:
    """The page's vocabulary as a JSON script (<script type="application/json">), read by
    mapideas/vocabulary.js: the scripts take their status words and category names from the
    server, once per page, instead of keeping copies of their own. Django's json_script
    escapes <, > and &, so a name cannot end the element; a browser never runs JSON, so the
    Content-Security-Policy needs no nonce for it."""
    return json_script(page_vocabulary_words(), VOCABULARY_ID)
