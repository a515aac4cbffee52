"""The planner page (`/planner/`): where people speak up, and where engagement is thin.

`PlannerForm` reads the page's parameters: the engagement layers' city-wide filters (date
range, category, kind, status, channel), the thin threshold and the hexagon resolution, checked
by the same serializer as /api/engagement/ (geodata.engagement.query.parse_query), so the page,
the API and the downloads always agree. `planner_page` computes each figure once with
geodata.engagement and hands the template the maps (geodata.planner.maps), the charts
(geodata.planner.charts), the table and the links to take each layer away.

The page reads at a glance: first what needs attention (`attention_items`: one function per
kind of finding, listed in ATTENTION_SOURCES), then the maps and charts (one template per
part, listed in SECTIONS), then the long tables, collapsed.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

import pandas as pd
from django import forms
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from rest_framework.exceptions import ValidationError as BadParameters

from geodata.engagement import coldspots as engagement_coldspots
from geodata.engagement import fields as engagement_fields
from geodata.engagement import heatmaps
from geodata.engagement import hexagons as engagement_hexagons
from geodata.engagement import outreach as engagement_outreach
from geodata.engagement import query as engagement_api
from geodata.engagement import rates as engagement_rates
from geodata.engagement import representativeness as engagement_representativeness
from geodata.engagement import service as engagement_service
from geodata.engagement import slowspots as engagement_slowspots
from geodata.engagement.coldspots import Coldspots
from geodata.engagement.fields import Pace, Significance
from geodata.engagement.hexagons import HexagonEngagement
from geodata.engagement.rates import NeighborhoodEngagement, Options, Selection
from geodata.engagement.representativeness import Representativeness
from geodata.engagement.service import ServiceLayer
from geodata.engagement.slowspots import Slowspots
from geodata.exports import formats as export_formats
from geodata.planner import charts as planner_charts
from geodata.planner import maps as planner_maps
from mapideas.map.maps import RenderedMap
from mapideas.models import Category, Idea
from neighborhoods.translated_names import active_language, city_language

FILTERS = engagement_api.FILTER_PARAMS
PARAMETERS = (*FILTERS, "thin_below", "resolution")
# The ideas API's filters this page does not take: a rate compared with the city's needs the
# whole city (README, "Engagement analytics").
NOT_CITY_WIDE = ("bbox", "neighborhood", "team")
OUTREACH_LIMIT = 20
# The summary names at most this many neighborhoods of each kind: the few that need it most.
ATTENTION_LIMIT = 3


class DateInput(forms.DateInput):
    input_type = "date"


# Labels are lazy translations (Promise), resolved when the page renders.
def _choices(
    empty: str | Promise, choices: Iterable[tuple[str, str | Promise]]
) -> list[tuple[str, str | Promise]]:
    return [("", empty), *choices]


class PlannerForm(forms.Form):
    """Every input has its own label; names are the API's, so a page URL is an API query."""

    created_after = forms.DateField(
        label=gettext_lazy("Pinned from"),
        required=False,
        widget=DateInput,
        help_text=gettext_lazy("First day, included."),
    )
    created_before = forms.DateField(
        label=gettext_lazy("Pinned until"),
        required=False,
        widget=DateInput,
        help_text=gettext_lazy("Last day, included."),
    )
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"),
        queryset=Category.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label=gettext_lazy("All categories"),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=_choices(gettext_lazy("Ideas and issues"), Idea.Kind.choices),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=_choices(gettext_lazy("Any status"), Idea.Status.choices),
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"),
        required=False,
        choices=_choices(gettext_lazy("Every channel"), Idea.Channel.choices),
    )
    thin_below = forms.FloatField(
        label=gettext_lazy("Thin below (× the city rate)"),
        required=False,
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
        help_text=gettext_lazy(
            "A neighborhood whose rate is below this share of the city rate is thin."
        ),
    )
    resolution = forms.TypedChoiceField(
        label=gettext_lazy("Hexagon size (H3 resolution)"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[
            (
                str(r),
                format_lazy(
                    gettext_lazy("{resolution}: about {area} a cell"), resolution=r, area=area
                ),
            )
            for r, area in zip(
                engagement_fields.RESOLUTIONS, ("5 km²", "0.7 km²", "0.1 km²"), strict=True
            )
        ],
    )

    def __init__(self, query: QueryDict):
        data = query.copy()
        # Shown filled in, so the planner sees what applies.
        if not data.get("thin_below"):
            data["thin_below"] = f"{engagement_fields.THIN_BELOW:g}"
        if not data.get("resolution"):
            data["resolution"] = str(Options.resolution)
        super().__init__(data)
        self.ignored = [name for name in NOT_CITY_WIDE if query.get(name)]

    def parameters(self) -> dict[str, str]:
        """The page's parameters as given (and valid), for links that carry them."""
        return {name: self.data[name] for name in PARAMETERS if self.data.get(name)}

    def selection(self) -> tuple[Selection, Options] | None:
        """The pins and options asked for, or None with every error on its field."""
        if not self.is_valid():
            return None
        try:
            return engagement_api.parse_query("engagement-hexagons", self.parameters())
        except BadParameters as exc:
            # parse_query names each bad parameter: its detail is a dict.
            assert isinstance(exc.detail, dict)
            for name, errors in exc.detail.items():
                field = name if name in self.fields else None
                for error in errors if isinstance(errors, list) else [errors]:
                    self.add_error(field, str(error))
            return None


# --- what the page shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One neighborhood in the table (text ready to show; the template escapes it). `keys`
    are the numbers behind the shown text, by column, for the table's sort buttons (an empty
    key, no figure, sorts last)."""

    name: str
    slug: str
    team: str
    count: int
    population: str
    per_1000: str
    per_km2: str
    ratio: str
    trend: str
    thinning: bool
    offline_share: str
    thin: bool
    keys: dict[str, str]


@dataclass(frozen=True)
class LayerLinks:
    """Where a map's layer can be taken away: its downloads and its API URL."""

    title: str | Promise  # a lazy translation, resolved when the page renders
    downloads: list[tuple[str, str]]  # (format label, URL)
    api: str


@dataclass(frozen=True)
class Spot:
    name: str
    significance: str
    z_score: str
    p_value: str
    rate: str


@dataclass(frozen=True)
class ServiceRow:
    """A team (or a neighborhood) in the response times' tables: text ready to show, "" for
    every figure where there are too few pins; `keys` for the sort buttons, as Row's."""

    name: str
    team: str
    too_few: bool
    count: str
    median: str
    p90: str
    within: str
    waiting: str
    answered: str
    pace: str
    keys: dict[str, str]


@dataclass(frozen=True)
class FifthRow:
    label: str
    values: str  # the attribute's range in the fifth
    neighborhoods: int
    population: str
    count: str  # "" when too few: no figure
    per_1000: str
    interval: str
    ratio: str
    too_few: bool


@dataclass(frozen=True)
class HeardAttribute:
    """One area attribute in "Who is heard": its chart, sentence and table."""

    name: str
    chart: planner_charts.Chart
    summary: str  # geodata.engagement.representativeness's sentence for planners
    spearman: str  # "0.42 (p = 0.003)", or "" when not computed
    rows: list[FifthRow]


@dataclass(frozen=True)
class Suggestion:
    rank: int
    name: str
    missing: str
    score: str
    reason: str


# --- what needs attention: the summary at the top of the page ---------------------------------


@dataclass(frozen=True)
class Figures:
    """Every layer the page computed, each once: what the summary's sources read. A new kind
    of finding that needs a layer not here adds it (computed in `planner_page`)."""

    engagement: NeighborhoodEngagement
    hexagons: HexagonEngagement
    spots: Coldspots
    outreach: pd.DataFrame  # geodata.engagement.outreach's ranking, best first
    unit: str  # the rates' unit, "per 1,000 residents" or "per km²"
    # Response times: slow spots by neighborhood, and the city's own median (in working days;
    # "more than" when most pins still wait).
    slow: Slowspots | None = None
    city_median: tuple[int | None, int | None] = (None, None)
    profile: Representativeness | None = None


@dataclass(frozen=True)
class AttentionItem:
    """One line of "What needs attention" (text; the template escapes it)."""

    topic: str  # what kind of finding: "Thin area", "Cold spot", "Outreach 1"…
    name: str  # what it is about: a neighborhood's name, or "4 thin cells"
    why: str  # the figures that make it worth a look
    href: str  # where the page shows them: "#rates"
    see: str  # that part's name, the link's text


# A source reads the figures and returns its items, most urgent first (at most
# ATTENTION_LIMIT neighborhoods), or none when there is nothing to say.
AttentionSource = Callable[[Figures], list[AttentionItem]]


def _ratio_column(frame: pd.DataFrame) -> pd.Series:
    """The ratio to the city rate, for ordering: the unrounded one where the layer keeps it
    (a neighborhood with too few pins shows none, but is still thinner than another)."""
    column = "raw_ratio" if "raw_ratio" in frame.columns else "ratio"
    return frame[column].astype(float)


def _known(value: object) -> bool:
    return value is not None and not pd.isna(value)


def thin_attention(figures: Figures) -> list[AttentionItem]:
    """The thinnest of the thin neighborhoods: their rate against the city's."""
    e = figures.engagement
    frame = e.frame.assign(_order=_ratio_column(e.frame))
    thin = frame[frame["thin"].astype(bool)].sort_values(["_order", "name"])
    below = f"{e.thin_below:g}"
    items = []
    for i, row in enumerate(thin.head(ATTENTION_LIMIT).itertuples(), start=1):
        rate = getattr(row, e.basis)
        if _known(rate) and _known(row.ratio):
            why = _("%(rate)s %(unit)s, %(ratio)s the city rate (thin below %(below)s ×)") % {
                "rate": planner_charts.number(float(rate)),
                "unit": figures.unit,
                "ratio": planner_maps.ratio_text(row.ratio),
                "below": below,
            }
        else:
            # Too few pins for a rate of its own, yet clearly below the line.
            why = ngettext(
                "%(count)s pin (thin below %(below)s × the city rate)",
                "%(count)s pins (thin below %(below)s × the city rate)",
                int(row.count),
            ) % {"count": int(row.count), "below": below}
        if row.thinning:
            why += "; " + _("getting thinner: %(previous)s → %(current)s pins") % {
                "previous": int(row.count_previous),
                "current": int(row.count_current),
            }
        items.append(
            AttentionItem(
                topic=_("Thin area %(n)s of %(total)s") % {"n": i, "total": len(thin)},
                name=row.name,
                why=why,
                href="#rates",
                see=_("Rates by neighborhood"),
            )
        )
    return items


def coldspot_attention(figures: Figures) -> list[AttentionItem]:
    """The most significant cold spots: where low rates cluster, not one area alone."""
    frame = figures.spots.frame
    cold = frame[frame["significance"] == Significance.COLD].sort_values(["p_value", "name"])
    basis = figures.engagement.basis
    items = []
    for row in cold.head(ATTENTION_LIMIT).itertuples():
        why = _("low rates cluster here and around it (p = %(p)s)") % {"p": f"{row.p_value:.4f}"}
        rate = getattr(row, basis)
        if _known(rate):
            why += f"; {planner_charts.number(float(rate))} {figures.unit}"
        items.append(
            AttentionItem(
                topic=_("Cold spot"),
                name=row.name,
                why=why,
                href="#coldspots",
                see=_("Cold and hot spots"),
            )
        )
    return items


def outreach_attention(figures: Figures) -> list[AttentionItem]:
    """The top of the outreach ranking: where an event or a kiosk adds the most voices."""
    return [
        AttentionItem(
            topic=_("Outreach %(rank)s") % {"rank": int(row.rank)},
            name=row.name,
            # The reason says how many pins are missing, and why it ranks where it does.
            why=_("score %(score)s: %(reason)s")
            % {"score": f"{row.score:.1f}", "reason": row.reason},
            href="#outreach",
            see=_("Outreach suggestions"),
        )
        for row in figures.outreach.head(ATTENTION_LIMIT).itertuples()
    ]


def hexagon_attention(figures: Figures) -> list[AttentionItem]:
    """Thin hexagon cells: thin spots inside neighborhoods that are not thin as a whole."""
    cells = figures.hexagons.frame
    thin = cells[cells["thin"].astype(bool)]
    if thin.empty:
        return []
    name = ngettext("%(n)s thin cell", "%(n)s thin cells", len(thin)) % {"n": len(thin)}
    residents = thin["population"].astype(float).sum() if "population" in thin else float("nan")
    if _known(residents) and residents > 0:
        why = _("%(residents)s residents live there; %(pins)s pins came from there") % {
            "residents": f"{residents:,.0f}",
            "pins": int(thin["count"].sum()),
        }
    else:
        why = _("%(pins)s pins came from there, of %(cells)s cells") % {
            "pins": int(thin["count"].sum()),
            "cells": len(cells),
        }
    return [
        AttentionItem(
            topic=_("Hexagons"),
            name=name,
            why=why,
            href="#hexagons",
            see=_("Hexagons"),
        )
    ]


def slowspot_attention(figures: Figures) -> list[AttentionItem]:
    """The most significant slow spots: where slow first answers cluster."""
    if figures.slow is None:
        return []
    frame = figures.slow.frame
    slow = frame[frame["significance"] == Pace.SLOW].sort_values(
        ["p_value", "z_score", "name"], ascending=[True, False, True]
    )
    city = planner_maps.days_text(*figures.city_median)
    items = []
    for row in slow.head(ATTENTION_LIMIT).itertuples():
        median = planner_maps.days_text(row.median_first_answer, row.median_first_answer_more_than)
        items.append(
            AttentionItem(
                topic=_("Slow answers"),
                name=row.name,
                why=_(
                    "median %(median)s to a first answer against the city's %(city)s "
                    "(z = %(z)s, p = %(p)s)"
                )
                % {
                    "median": median,
                    "city": city,
                    "z": f"{row.z_score:.2f}",
                    "p": f"{row.p_value:.4f}",
                },
                href="#service",
                see=_("Response times"),
            )
        )
    return items


def least_heard(profile: Representativeness) -> pd.Series | None:
    """The fifth with the lowest ratio to the city rate whose whole interval is below 1."""
    frame = profile.frame
    if frame.empty:
        return None
    ratio = pd.to_numeric(frame["ratio"], errors="coerce")
    high = pd.to_numeric(frame["ratio_high"], errors="coerce")
    below = frame[ratio.notna() & (high < 1)].assign(_ratio=ratio)
    if below.empty:
        return None
    return below.sort_values(["_ratio", "attribute", "quintile"]).iloc[0]


def representativeness_attention(figures: Figures) -> list[AttentionItem]:
    """The fifth of residents the city hears least from, when it is clearly below the city."""
    if figures.profile is None:
        return []
    row = least_heard(figures.profile)
    if row is None:
        return []
    return [
        AttentionItem(
            topic=_("Who is heard"),
            name=_("%(fifth)s by %(attribute)s")
            % {
                "fifth": planner_charts.fifth_label(int(row["quintile"])),
                "attribute": row["attribute"],
            },
            why=_("%(ratio)s the city rate (%(low)s to %(high)s). %(summary)s")
            % {
                "ratio": planner_maps.ratio_text(row["ratio"]),
                "low": f"{float(row['ratio_low']):.2f}",
                "high": f"{float(row['ratio_high']):.2f}",
                "summary": row["summary"],
            },
            href="#heard",
            see=_("Who is heard"),
        )
    ]


# The summary's sources, in the order it shows them. A new kind of finding is a function
# here (and, if it needs a new layer, a field of Figures).
ATTENTION_SOURCES: tuple[AttentionSource, ...] = (
    thin_attention,
    coldspot_attention,
    outreach_attention,
    hexagon_attention,
    slowspot_attention,
    representativeness_attention,
)


def attention_items(
    figures: Figures, sources: Iterable[AttentionSource] | None = None
) -> list[AttentionItem]:
    """What needs attention, source after source (ATTENTION_SOURCES unless given): the
    page's summary."""
    return [item for source in (sources or ATTENTION_SOURCES) for item in source(figures)]


# --- the parts of the page after the summary ------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A part of the page after the summary: its anchor, its name in the page's contents and
    the template that draws it from `page` (templates/geodata/planner/)."""

    id: str
    title: str | Promise  # a lazy translation, resolved when the page renders
    template: str


# In the page's order: the maps, each with its legend, then the charts and lists, then the long
# tables (collapsed). A new map or chart is a template here and its figures on PlannerPage
# (a map: one more entry in the `render_all` call of `planner_page`).
SECTIONS: tuple[Section, ...] = (
    Section("heatmap", gettext_lazy("Heatmap"), "geodata/planner/heatmap.html"),
    Section("rates", gettext_lazy("Rates by neighborhood"), "geodata/planner/rates.html"),
    Section("hexagons", gettext_lazy("Hexagons"), "geodata/planner/hexagons.html"),
    Section("coldspots", gettext_lazy("Cold and hot spots"), "geodata/planner/coldspots.html"),
    Section("service", gettext_lazy("Response times"), "geodata/planner/service.html"),
    Section("charts", gettext_lazy("Charts"), "geodata/planner/charts.html"),
    Section("heard", gettext_lazy("Who is heard"), "geodata/planner/heard.html"),
    Section("trend", gettext_lazy("Trend"), "geodata/planner/trend.html"),
    Section("outreach", gettext_lazy("Outreach"), "geodata/planner/outreach.html"),
    Section("tables", gettext_lazy("Figures by neighborhood"), "geodata/planner/tables.html"),
)


@dataclass(frozen=True)
class PlannerPage:
    engagement: NeighborhoodEngagement
    hexagons: HexagonEngagement
    spots: Coldspots
    total: int  # pins matching the filters, city-wide
    drawn: int  # pins the heatmap draws
    truncated: bool
    unit: str
    legend: planner_maps.Legend
    rows: list[Row]
    thin_count: int
    thinning_count: int
    spot_rows: list[Spot]
    suggestions: list[Suggestion]
    bars: planner_charts.Chart
    weeks: list[planner_charts.Week]
    weekly: planner_charts.Chart
    header: SafeString
    maps: dict[str, RenderedMap]
    hexagons_hidden: bool  # too many cells to draw
    hexagon_cells: int
    hexagon_cells_with_pins: int
    hexagon_thin_cells: int
    links: dict[str, LayerLinks]
    attention: list[AttentionItem]
    # Response times (geodata.engagement.service, slowspots) and who is heard
    # (geodata.engagement.representativeness).
    service: ServiceLayer
    service_legend: planner_maps.ServiceLegend
    city_median: str
    slow: Slowspots
    slow_rows: list[ServiceRow]  # the slow and fast spots, slowest first
    team_rows: list[ServiceRow]
    profile: Representativeness
    heard: list[HeardAttribute]
    sections: tuple[Section, ...] = SECTIONS


def _query(params: dict[str, str], names, extra: dict[str, str] | None = None) -> str:
    return query_string({name: params[name] for name in names if name in params} | (extra or {}))


def query_string(params: dict[str, str]) -> str:
    return f"?{urlencode(params)}" if params else ""


def export_language() -> dict[str, str]:
    """What the page's downloads add so their names are in the page's language: `lang=`
    when the page is not in the city's (the exports' default, neighborhoods.translated_names);
    nothing when it is, so the files and their links are the city's, as without the page."""
    language = active_language()
    return {} if language == city_language() else {"lang": language}


def layer_links(params: dict[str, str]) -> dict[str, LayerLinks]:
    """Each map's layer with the page's parameters it takes (the API and the export take the
    same ones): the pins with the filters; the rates also with `thin_below`; the hexagons
    also with `resolution`."""
    spec = {
        "pins": (gettext_lazy("Pins, as shown"), "ideas", "api-ideas", FILTERS),
        "neighborhoods": (
            gettext_lazy("Rates by neighborhood"),
            "engagement-neighborhoods",
            "api-engagement-neighborhoods",
            (*FILTERS, "thin_below"),
        ),
        "hexagons": (
            gettext_lazy("Hexagons"),
            "engagement-hexagons",
            "api-engagement-hexagons",
            (*FILTERS, "thin_below", "resolution"),
        ),
        "coldspots": (
            gettext_lazy("Cold and hot spots"),
            "coldspots",
            "api-engagement-coldspots",
            (*FILTERS, "thin_below"),
        ),
        "outreach": (
            gettext_lazy("Outreach suggestions"),
            "outreach",
            "api-engagement-outreach",
            (*FILTERS, "thin_below"),
        ),
        "service": (
            gettext_lazy("Response times by neighborhood"),
            "service-neighborhoods",
            "api-engagement-service-neighborhoods",
            FILTERS,
        ),
        "service_teams": (
            gettext_lazy("Response times by team"),
            "service-teams",
            "api-engagement-service-teams",
            FILTERS,
        ),
        "slowspots": (
            gettext_lazy("Slow and fast spots"),
            "slowspots",
            "api-engagement-slowspots",
            FILTERS,
        ),
        "representativeness": (
            gettext_lazy("Who is heard"),
            "representativeness",
            "api-engagement-representativeness",
            FILTERS,
        ),
    }
    links = {}
    language = export_language()
    for key, (title, layer, api_name, names) in spec.items():
        # The API answers in the request's language already (Accept-Language, the cookie).
        download_query = _query(params, names, language)
        downloads = [
            (fmt.label, reverse("export-layer", args=[layer, fmt.extension]) + download_query)
            for fmt in export_formats.FORMATS.values()
        ]
        links[key] = LayerLinks(title, downloads, reverse(api_name) + _query(params, names))
    return links


def _text(value: float | None) -> str:
    # pd.isna also catches NaN; the None test is for mypy, which cannot see into pd.isna.
    return "—" if value is None or pd.isna(value) else planner_charts.number(float(value))


def _key(value: object) -> str:
    """A number for the table's sort buttons (full precision), or "" for none."""
    return repr(float(value)) if _known(value) else ""  # type: ignore[arg-type]


def table_rows(result: NeighborhoodEngagement) -> list[Row]:
    """Every neighborhood, thinnest first: by ratio to the city rate (those without one, e.g.
    no residents, last), then by name."""
    frame = result.frame.assign(_order=_ratio_column(result.frame))
    frame = frame.sort_values(["_order", "name"], na_position="last")
    rows = []
    for item in frame.itertuples():
        rows.append(
            Row(
                name=item.name,
                slug=item.slug,
                team=item.team if isinstance(item.team, str) else "",
                count=int(item.count),
                population="unknown" if pd.isna(item.population) else f"{int(item.population):,}",
                per_1000=_text(item.per_1000),
                per_km2=_text(item.per_km2),
                ratio=planner_maps.ratio_text(item.ratio),
                trend=planner_maps.trend_text(int(item.count_current), int(item.count_previous)),
                thinning=bool(item.thinning),
                offline_share=planner_maps.share_text(item.offline_share),
                thin=bool(item.thin),
                keys={
                    "count": _key(item.count),
                    "population": _key(item.population),
                    "per_1000": _key(item.per_1000),
                    "per_km2": _key(item.per_km2),
                    "ratio": _key(item.ratio),
                    "trend": _key(int(item.count_current) - int(item.count_previous)),
                    "offline_share": _key(item.offline_share),
                    "thin": "1" if item.thin else "0",
                },
            )
        )
    return rows


def service_row(row, *, name: str, team: str) -> ServiceRow:
    """Text of an area's response times; none of its figures when it has too few pins."""
    pace = getattr(row, "significance", "")
    if row.too_few:
        return ServiceRow(
            name,
            team,
            True,
            "",
            "",
            "",
            "",
            "",
            "",
            planner_maps.pace_text(pace) if pace else "",
            keys=dict.fromkeys(("count", "median", "p90", "within", "waiting", "answered"), ""),
        )
    median = row.median_first_answer
    p90 = row.p90_first_answer
    return ServiceRow(
        name=name,
        team=team,
        too_few=False,
        count=str(int(row.count)),
        median=planner_maps.days_text(median, row.median_first_answer_more_than),
        p90=planner_maps.days_text(p90, row.p90_first_answer_more_than),
        within=planner_maps.share_text(row.within_target_share),
        waiting=str(int(row.waiting_past_target)),
        answered=_text(row.answered_per_1000),
        pace=planner_maps.pace_text(pace) if pace else "",
        keys={
            "count": _key(row.count),
            # Where the median is not reached, its lower bound sorts it (among the slowest).
            "median": _key(median if _known(median) else row.median_first_answer_more_than),
            "p90": _key(p90 if _known(p90) else row.p90_first_answer_more_than),
            "within": _key(row.within_target_share),
            "waiting": _key(row.waiting_past_target),
            "answered": _key(row.answered_per_1000),
        },
    )


def city_median(
    selection: Selection, service: ServiceLayer, *, pins: pd.DataFrame | None = None
) -> tuple[int | None, int | None]:
    """The city's median working days to a first answer (and its lower bound when not
    reached), over every pin of the selection, as of the layer's `now`; `pins` when the
    caller has read them already (engagement_service.pin_times at that `now`)."""
    if pins is None:
        pins = engagement_service.pin_times(selection, now=service.now)
    return engagement_service.km_quantile(
        pins["first_days"].to_numpy(), pins["answered"].to_numpy(), 0.5
    )


def matching_pins(selection: Selection, engagement: NeighborhoodEngagement) -> int:
    """The pins of the selection, city-wide. Without a date range the rates' GROUP BY has
    counted them all already, in a neighborhood or not; a date range is counted as the
    pins API filters it (mapideas.pins.filters, whose open bounds differ at the calendar's
    ends)."""
    if selection.since is None and selection.until is None:
        return engagement.city.count + engagement.city.unassigned
    return selection.ideas.count()


def _range(low: float, high: float) -> str:
    return (
        planner_charts.number(low)
        if low == high
        else (f"{planner_charts.number(low)}–{planner_charts.number(high)}")
    )


def heard_attributes(profile: Representativeness) -> list[HeardAttribute]:
    frame = profile.frame
    attributes = []
    for name, summary in profile.attributes.items():
        rows = frame[frame["attribute"] == name].sort_values("quintile")
        spearman = ""
        if summary.spearman is not None:
            spearman = f"{summary.spearman:.2f} (p = {summary.spearman_p:.3g})"
        attributes.append(
            HeardAttribute(
                name=name,
                chart=planner_charts.fifth_bars(
                    rows,
                    attribute=name,
                    city_rate=profile.city_per_1000,
                    chart_id=f"heard-{name.replace('_', '-')}-chart",
                ),
                summary=summary.summary,
                spearman=spearman,
                rows=[
                    FifthRow(
                        label=planner_charts.fifth_label(int(row.quintile)),
                        values=_range(float(row.value_min), float(row.value_max)),
                        neighborhoods=int(row.neighborhoods),
                        population=f"{int(row.population):,}",
                        count="" if row.too_few else str(int(row.count)),
                        per_1000="" if row.too_few else _text(row.per_1000),
                        interval=f"{_text(row.per_1000_low)}–{_text(row.per_1000_high)}",
                        ratio="" if row.too_few else planner_maps.ratio_text(row.ratio),
                        too_few=bool(row.too_few),
                    )
                    for row in rows.itertuples()
                ],
            )
        )
    return attributes


def planner_page(selection: Selection, options: Options, params: dict[str, str]) -> PlannerPage:
    """Every figure of the page, each computed once."""
    # The pins' working days, read once for the neighborhoods, the teams and the city's
    # median (each read them again: most of the page's database time), the weeks, and,
    # without a date range, the neighborhoods' counts.
    now = timezone.now()
    pins = engagement_service.pin_times(selection, now=now)
    undated = selection.since is None and selection.until is None
    result = engagement_rates.neighborhood_engagement(
        selection, thin_below=options.thin_below, pins=pins if undated else None
    )
    service = engagement_service.service_neighborhoods(
        selection, min_count=options.min_count, now=now, areas=result, pins=pins
    )
    teams = engagement_service.service_teams(
        selection, min_count=options.min_count, now=now, areas=result, pins=pins, shapes=False
    )
    slow = engagement_slowspots.slowspots(service, alpha=options.alpha)
    median = city_median(selection, service, pins=pins)
    profile = engagement_representativeness.representativeness(result, min_count=options.min_count)
    hexagons = engagement_hexagons.hexagon_engagement(
        selection, result, resolution=options.resolution
    )
    spots = engagement_coldspots.coldspots(result)
    ranked = engagement_outreach.outreach(result, limit=OUTREACH_LIMIT)
    unit = planner_maps.unit_of(result.basis)

    heatmap, drawn, truncated = heatmaps.heatmap(selection.ideas)
    heatmap.options["scrollWheelZoom"] = False
    hexagon_map = planner_maps.hexagon_map(hexagons)
    rendered = planner_maps.render_all(
        {
            "heatmap": heatmap,
            "choropleth": planner_maps.choropleth(result),
            "hexagons": hexagon_map,
            "coldspots": planner_maps.coldspot_map(spots),
            "service": planner_maps.service_map(slow),
        }
    )
    frame = spots.frame
    significant = frame[frame["significance"].isin(["cold", "hot"])].sort_values("p_value")
    # From the pins' days read above: the same weeks as planner_charts.weekly_counts,
    # without another GROUP BY of every pin.
    weeks, cut = planner_charts.weekly_counts_of_days(
        pins["created_on"].to_numpy(), pins["pins"].to_numpy(), result.period
    )
    cells = hexagons.frame
    figures = Figures(
        engagement=result,
        hexagons=hexagons,
        spots=spots,
        outreach=ranked,
        unit=unit,
        slow=slow,
        city_median=median,
        profile=profile,
    )
    slow_frame = slow.frame.assign(_days=engagement_slowspots.tested_days(slow.frame))
    spotted = slow_frame[slow_frame["significance"].isin([Pace.SLOW, Pace.FAST])].sort_values(
        ["_days", "name"], ascending=[False, True]
    )
    return PlannerPage(
        engagement=result,
        hexagons=hexagons,
        spots=spots,
        total=matching_pins(selection, result),
        drawn=drawn,
        truncated=truncated,
        unit=unit,
        legend=planner_maps.legend(result),
        rows=table_rows(result),
        thin_count=int(result.frame["thin"].sum()),
        thinning_count=int(result.frame["thinning"].sum()),
        spot_rows=[
            Spot(
                name=row.name,
                significance=row.significance,
                z_score=f"{row.z_score:.2f}",
                p_value=f"{row.p_value:.4f}",
                rate=_text(getattr(row, result.basis)),
            )
            for row in significant.itertuples()
        ],
        suggestions=[
            Suggestion(
                rank=int(row.rank),
                name=row.name,
                missing=f"{row.missing:.1f}",
                score=f"{row.score:.1f}",
                reason=row.reason,
            )
            for row in ranked.itertuples()
        ],
        bars=planner_charts.rate_bars(result, unit=unit, chart_id="rate-chart"),
        weeks=weeks,
        weekly=planner_charts.weekly_series(weeks, cut, chart_id="weekly-chart"),
        header=rendered.header,
        maps=rendered.maps,
        hexagons_hidden=hexagon_map is None,
        hexagon_cells=len(cells),
        hexagon_cells_with_pins=int((cells["count"] > 0).sum()),
        hexagon_thin_cells=int(cells["thin"].sum()),
        links=layer_links(params),
        attention=attention_items(figures),
        service=service,
        service_legend=planner_maps.service_legend(),
        city_median=planner_maps.days_text(*median),
        slow=slow,
        slow_rows=[
            service_row(row, name=row.name, team=row.team if isinstance(row.team, str) else "")
            for row in spotted.itertuples()
        ],
        team_rows=[service_row(row, name=row.team, team="") for row in teams.frame.itertuples()],
        profile=profile,
        heard=heard_attributes(profile),
    )
