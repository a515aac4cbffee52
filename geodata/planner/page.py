"""The planner page (`/planner/`): where people speak up, and where engagement is thin.

`PlannerForm` reads the page's parameters: the engagement layers' city-wide filters (date
range, category, kind, status, channel), the thin threshold and the hexagon resolution, checked
by the same serializer as /api/engagement/ (geodata.engagement.query.parse_query), so the page,
the API and the downloads always agree. `planner_page` computes each figure once with
geodata.engagement and hands the template the maps (geodata.planner.maps), the charts
(geodata.planner.charts), the table and the links to take each layer away.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

import pandas as pd
from django import forms
from django.http import QueryDict
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ValidationError as BadParameters

from geodata.engagement import coldspots as engagement_coldspots
from geodata.engagement import fields as engagement_fields
from geodata.engagement import heatmaps
from geodata.engagement import hexagons as engagement_hexagons
from geodata.engagement import outreach as engagement_outreach
from geodata.engagement import query as engagement_api
from geodata.engagement import rates as engagement_rates
from geodata.engagement.coldspots import Coldspots
from geodata.engagement.hexagons import HexagonEngagement
from geodata.engagement.rates import NeighborhoodEngagement, Options, Selection
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
    """One neighborhood in the table (text ready to show; the template escapes it)."""

    name: str
    slug: str
    count: int
    population: str
    per_1000: str
    per_km2: str
    ratio: str
    trend: str
    thinning: bool
    offline_share: str
    thin: bool


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
class Suggestion:
    rank: int
    name: str
    missing: str
    score: str
    reason: str


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


def table_rows(result: NeighborhoodEngagement) -> list[Row]:
    """Every neighborhood, thinnest first: by ratio to the city rate (those without one, e.g.
    no residents, last), then by name."""
    frame = result.frame.assign(_order=result.frame["ratio"].astype(float))
    frame = frame.sort_values(["_order", "name"], na_position="last")
    rows = []
    for item in frame.itertuples():
        rows.append(
            Row(
                name=item.name,
                slug=item.slug,
                count=int(item.count),
                population="unknown" if pd.isna(item.population) else f"{int(item.population):,}",
                per_1000=_text(item.per_1000),
                per_km2=_text(item.per_km2),
                ratio=planner_maps.ratio_text(item.ratio),
                trend=planner_maps.trend_text(int(item.count_current), int(item.count_previous)),
                thinning=bool(item.thinning),
                offline_share=planner_maps.share_text(item.offline_share),
                thin=bool(item.thin),
            )
        )
    return rows


def planner_page(selection: Selection, options: Options, params: dict[str, str]) -> PlannerPage:
    """Every figure of the page, each computed once."""
    result = engagement_rates.neighborhood_engagement(selection, thin_below=options.thin_below)
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
        }
    )
    frame = spots.frame
    significant = frame[frame["significance"].isin(["cold", "hot"])].sort_values("p_value")
    weeks, cut = planner_charts.weekly_counts(selection.ideas, result.period)
    cells = hexagons.frame
    return PlannerPage(
        engagement=result,
        hexagons=hexagons,
        spots=spots,
        total=selection.ideas.count(),
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
    )
