"""The planner page's charts, drawn here as inline SVG: no chart library, no script.

Three charts: the rate of each neighborhood against the city rate (bars, thinnest first),
pins per week, and, per area attribute, the rate of each fifth of residents with its interval
against the city rate (who is heard). SVG built in Python needs nothing from npm, renders
without JavaScript, prints, and is tested like any HTML; every label is user text
(neighborhood names come from uploaded files) and goes through `escape`.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncWeek
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from geodata.engagement.fields import CONFIDENCE
from geodata.engagement.rates import NeighborhoodEngagement, Period
from mapideas.models import Idea

# Most neighborhoods in the bar chart (the thinnest ones); the table lists them all.
MAX_BARS = 100
# Most weeks in the time series (the latest ones).
MAX_WEEKS = 156
THIN_COLOR = "#b35806"
BAR_COLOR = "#5e5e8f"
LINE_COLOR = "#111827"
PERIOD_SHADE = "#e0e7ff"
# Longer names are cut in the chart (with the full name in the bar's tooltip).
LABEL_CHARACTERS = 26


@dataclass(frozen=True)
class Chart:
    svg: SafeString  # empty when there is nothing to draw
    note: str  # what the chart leaves out, or why it is empty


@dataclass(frozen=True)
class Week:
    start: date
    count: int
    current: bool  # in the trend's current period
    previous: bool  # in the trend's previous period


def number(value: float | None) -> str:
    """A rate for people to read: 3 significant figures or so, thousands separated."""
    if value is None or value != value:
        return "—"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def _label(text: str) -> str:
    cut = text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1] + "…"
    return escape(cut)


def rate_bars(engagement: NeighborhoodEngagement, *, unit: str, chart_id: str) -> Chart:
    """Horizontal bars of the basis rate, thinnest first, with the city rate and the thin
    threshold drawn as lines."""
    frame = engagement.frame
    rate = frame[engagement.basis].astype(float)
    with_rate = frame.assign(bar_rate=rate)[rate.notna()].sort_values(["bar_rate", "name"])
    reference = engagement.city_rate
    if with_rate.empty or not reference:
        return Chart(mark_safe(""), _("No neighborhood has a rate to draw."))  # noqa: S308
    note = ""
    if len(with_rate) > MAX_BARS:
        note = _("The %(shown)s thinnest of %(total)s neighborhoods; the table lists all.") % {
            "shown": MAX_BARS,
            "total": len(with_rate),
        }
        with_rate = with_rate.head(MAX_BARS)
    label_width, bar_width, value_width, row, top = 190, 300, 60, 18, 28
    width = label_width + bar_width + value_width
    height = top + row * len(with_rate) + 8
    threshold = reference * engagement.thin_below
    top_value = max(float(with_rate["bar_rate"].max()), reference, threshold) or 1.0

    def x(value: float) -> float:
        return label_width + bar_width * value / top_value

    title = _("Pins %(unit)s by neighborhood, thinnest first") % {"unit": unit}
    desc = _(
        "The city rate is %(rate)s %(unit)s (solid line); neighborhoods below "
        "%(threshold)s (%(ratio)s × the city rate, dashed line) are thin "
        "and drawn in orange. The table lists the same figures."
    ) % {
        "rate": number(reference),
        "unit": unit,
        "threshold": number(threshold),
        "ratio": f"{engagement.thin_below:g}",
    }
    # Translated words go into the SVG escaped, as the names do.
    times_city_rate = _text(_("× the city rate"))
    thin_mark = _text(_(" (thin)"))
    parts = [
        f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for i, item in enumerate(with_rate.itertuples()):
        y = top + i * row
        thin = bool(item.thin)
        value = float(item.bar_rate)
        parts.append(
            f'<g class="bar{" thin" if thin else ""}"><title>{escape(item.name)}: '
            f"{number(value)} {escape(unit)}, {item.ratio:.2f} {times_city_rate}"
            f"{thin_mark if thin else ''}</title>"
            f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{_label(item.name)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{max(x(value) - label_width, 0):.1f}" '
            f'height="{row - 6}" fill="{THIN_COLOR if thin else BAR_COLOR}"></rect>'
            f'<text x="{x(value) + 4:.1f}" y="{y + 13}">{number(value)}</text></g>'
        )
    bottom = height - 4
    parts.append(
        f'<line x1="{x(reference):.1f}" x2="{x(reference):.1f}" y1="{top - 6}" y2="{bottom}" '
        f'stroke="{LINE_COLOR}" stroke-width="1.5"></line>'
        f'<text x="{x(reference):.1f}" y="{top - 10}" text-anchor="middle">city '
        f"{number(reference)}</text>"
    )
    if threshold > 0:
        anchor = "end" if x(threshold) < x(reference) else "start"
        parts.append(
            f'<line x1="{x(threshold):.1f}" x2="{x(threshold):.1f}" y1="{top - 6}" '
            f'y2="{bottom}" stroke="{THIN_COLOR}" stroke-width="1.5" stroke-dasharray="4 3">'
            f'</line><text x="{x(threshold):.1f}" y="{top - 20}" text-anchor="{anchor}" '
            f'fill="{THIN_COLOR}">thin below {number(threshold)}</text>'
        )
    parts.append("</svg>")
    # Built from numbers and escaped text only.
    return Chart(mark_safe("".join(parts)), note)  # noqa: S308


def weekly_counts(ideas: QuerySet[Idea], period: Period) -> tuple[list[Week], bool]:
    """Pins per week (weeks start on Monday, in the site's time zone), every week from the
    first to the last pin listed, with 0 where nothing came; and whether older weeks were
    left out (at most MAX_WEEKS). One GROUP BY."""
    counted = dict(
        ideas.order_by()
        .annotate(week=TruncWeek("created_at"))
        .values_list("week")
        .annotate(n=Count("id"))
        .values_list("week", "n")
    )
    return _weeks({(w.date() if hasattr(w, "date") else w): n for w, n in counted.items()}, period)


def weekly_counts_of_days(
    days: np.ndarray, pins: np.ndarray, period: Period
) -> tuple[list[Week], bool]:
    """weekly_counts from pins already grouped by the local day they were pinned (`days`
    since 1970-01-01, `pins` in each group: geodata.engagement.service.pin_times' created_on
    and pins), without reading the pins again."""
    days = np.asarray(days, dtype=np.int64)
    # 1970-01-01 was a Thursday: a day's Monday is (days + 3) % 7 days before it.
    mondays = days - (days + 3) % 7
    starts, where = np.unique(mondays, return_inverse=True)
    sums = np.bincount(where, weights=np.asarray(pins, dtype=np.int64), minlength=len(starts))
    epoch = date(1970, 1, 1)
    return _weeks(
        {epoch + timedelta(days=int(s)): int(n) for s, n in zip(starts, sums, strict=True)},
        period,
    )


def _weeks(by_day: dict[date, int], period: Period) -> tuple[list[Week], bool]:
    """Every week from the first to the last counted (by their Mondays), at most MAX_WEEKS."""
    if not by_day:
        return [], False
    first, last = min(by_day), max(by_day)
    total_weeks = (last - first).days // 7 + 1
    cut = total_weeks > MAX_WEEKS
    if cut:
        first = last - timedelta(weeks=MAX_WEEKS - 1)
    weeks = []
    start = first
    while start <= last:
        end = start + timedelta(days=6)
        weeks.append(
            Week(
                start=start,
                count=by_day.get(start, 0),
                current=start <= period.end and end >= period.start,
                previous=start <= period.previous_end and end >= period.previous_start,
            )
        )
        start += timedelta(weeks=1)
    return weeks, cut


def _text(text: str) -> str:
    """Translated words as SVG text: <, > and & escaped (quotes need not be, outside an
    attribute, and English stays byte for byte as it was)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def week_title(week: Week) -> str:
    return ngettext(
        "Week of %(start)s: %(count)s pin", "Week of %(start)s: %(count)s pins", week.count
    ) % {"start": f"{week.start:%Y-%m-%d}", "count": week.count}


def weekly_series(weeks: list[Week], cut: bool, *, chart_id: str) -> Chart:
    """Columns of pins per week; the trend's current period is shaded."""
    if not weeks:
        return Chart(mark_safe(""), _("No pins match."))  # noqa: S308
    left, width, top, plot_height, bottom_space = 40, 520, 12, 140, 34
    height = top + plot_height + bottom_space
    counts = np.array([w.count for w in weeks])
    top_value = max(int(counts.max()), 1)
    step = width / len(weeks)
    title = _("Pins per week")
    desc = _(
        "%(weeks)s weeks from %(first)s to %(last)s, "
        "at most %(top)s pins in a week; the shaded weeks are the trend's current period."
    ) % {
        "weeks": len(weeks),
        "first": f"{weeks[0].start:%Y-%m-%d}",
        "last": f"{weeks[-1].start:%Y-%m-%d}",
        "top": top_value,
    }
    parts = [
        f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {left + width + 10} '
        f'{height}" width="{left + width + 10}" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{_text(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    current = [i for i, w in enumerate(weeks) if w.current]
    current_title = _text(_("The trend's current period"))
    if current:
        parts.append(
            f'<rect x="{left + current[0] * step:.1f}" y="{top}" '
            f'width="{len(current) * step:.1f}" height="{plot_height}" fill="{PERIOD_SHADE}">'
            f"<title>{current_title}</title></rect>"
        )
    for i, week in enumerate(weeks):
        bar = plot_height * week.count / top_value
        parts.append(
            f'<rect x="{left + i * step + step * 0.1:.1f}" y="{top + plot_height - bar:.1f}" '
            f'width="{max(step * 0.8, 0.5):.1f}" height="{bar:.1f}" fill="{BAR_COLOR}">'
            f"<title>{_text(week_title(week))}</title></rect>"
        )
    axis_y = top + plot_height
    parts.append(
        f'<line x1="{left}" x2="{left + width}" y1="{axis_y}" y2="{axis_y}" '
        f'stroke="{LINE_COLOR}"></line>'
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end">{top_value}</text>'
        f'<text x="{left - 4}" y="{axis_y}" text-anchor="end">0</text>'
        f'<text x="{left}" y="{axis_y + 16}">{weeks[0].start:%Y-%m-%d}</text>'
        f'<text x="{left + width}" y="{axis_y + 16}" text-anchor="end">'
        f"{weeks[-1].start:%Y-%m-%d}</text>"
        f'<text x="{left + width / 2:.0f}" y="{axis_y + 30}" text-anchor="middle">'
        f"{_text(_('week starting'))}</text></svg>"
    )
    note = _("The latest %(weeks)s weeks.") % {"weeks": MAX_WEEKS} if cut else ""
    # Built from numbers and dates, and translated words escaped.
    return Chart(mark_safe("".join(parts)), note)  # noqa: S308


# --- who is heard: the fifths of an area attribute ---------------------------------------------


def fifth_label(quintile: int) -> str:
    if quintile == 1:
        return _("Fifth 1 (lowest)")
    if quintile == 5:
        return _("Fifth 5 (highest)")
    return _("Fifth %(n)s") % {"n": quintile}


def fifth_bars(
    rows: pd.DataFrame, *, attribute: str, city_rate: float | None, chart_id: str
) -> Chart:
    """One row per fifth of `attribute` (lowest first): a bar of its pins per 1,000 residents
    (none when too few pins), a line for its interval, and the city rate as a vertical line."""
    if rows.empty or not city_rate:
        return Chart(mark_safe(""), _("No fifth has residents and pins to draw."))  # noqa: S308
    rows = rows.sort_values("quintile")
    label_width, bar_width, value_width, row_height, top = 130, 320, 110, 26, 30
    width = label_width + bar_width + value_width
    height = top + row_height * len(rows) + 8
    top_value = max(float(rows["per_1000_high"].astype(float).max()), city_rate) * 1.05 or 1.0

    def x(value: float) -> float:
        return label_width + bar_width * value / top_value

    per_1000 = _("per 1,000 residents")
    title = _("Pins per 1,000 residents by fifth of residents by %(attribute)s") % {
        "attribute": attribute
    }
    desc = _(
        "Each fifth of residents, from the lowest %(attribute)s to the highest: its rate "
        "(bar) and %(confidence)s interval (line); the city rate is %(rate)s %(unit)s "
        "(vertical line). The table below gives the same figures."
    ) % {
        "attribute": attribute,
        "confidence": f"{CONFIDENCE:.0%}",
        "rate": number(city_rate),
        "unit": per_1000,
    }
    parts = [
        f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    too_few = _text(_("too few pins"))
    for i, item in enumerate(rows.itertuples()):
        y = top + i * row_height
        low, high = float(item.per_1000_low), float(item.per_1000_high)
        label = fifth_label(int(item.quintile))
        if item.too_few:
            figure = too_few
            bar = ""
        else:
            value = float(item.per_1000)
            figure = number(value)
            bar = (
                f'<rect x="{label_width}" y="{y + 5}" width="{max(x(value) - label_width, 0):.1f}" '
                f'height="{row_height - 10}" fill="{BAR_COLOR}"></rect>'
            )
        interval = f"{number(low)}–{number(high)}"
        parts.append(
            f'<g class="fifth"><title>{escape(label)}: {figure} {escape(per_1000)} '
            f"({interval})</title>"
            f'<text x="{label_width - 6}" y="{y + 17}" text-anchor="end">{escape(label)}</text>'
            f"{bar}"
            f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{y + row_height / 2:.1f}" '
            f'y2="{y + row_height / 2:.1f}" stroke="{LINE_COLOR}" stroke-width="2"></line>'
            f'<text x="{label_width + bar_width + 6}" y="{y + 17}">{figure}</text></g>'
        )
    bottom = height - 4
    city = x(city_rate)
    parts.append(
        f'<line x1="{city:.1f}" x2="{city:.1f}" y1="{top - 6}" y2="{bottom}" '
        f'stroke="{THIN_COLOR}" stroke-width="1.5" stroke-dasharray="4 3"></line>'
        f'<text x="{city:.1f}" y="{top - 12}" text-anchor="middle" fill="{THIN_COLOR}">'
        f"{_text(_('city'))} {number(city_rate)}</text></svg>"
    )
    # Built from numbers and escaped text only.
    return Chart(mark_safe("".join(parts)), "")  # noqa: S308
