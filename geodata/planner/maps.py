"""The planner page's maps, built with folium from geodata.engagement's results.

- `choropleth`: neighborhoods coloured by their rate against the city rate, thin ones hatched
  and outlined;
- `hexagon_map`: H3 cells coloured the same way, with pins and residents per cell;
- `coldspot_map`: only the significant cold and hot spots (Gi*, after the false discovery
  rate), over plain outlines;
- `service_map`: neighborhoods coloured by the median working days to a first answer, those
  with too few pins hatched grey with no figure, slow and fast spots outlined.

Assets are local (mapideas.map.maps.new_map). Geometry is simplified to about 10 m and rounded
to 5 decimals (about 1 m) and each feature carries only the preformatted text of its tooltip:
the hexagon layer of a big city has thousands of cells. Names come from uploaded files and
are escaped here, because Leaflet tooltips render HTML.
"""

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from geodata.engagement.coldspots import Coldspots
from geodata.engagement.fields import Pace, Significance
from geodata.engagement.hexagons import HexagonEngagement
from geodata.engagement.rates import NeighborhoodEngagement
from geodata.engagement.slowspots import Slowspots, tested_days
from geodata.planner.charts import number
from mapideas.map import maps

# Classes of the ratio to the city rate (a diverging scheme around 1: ColorBrewer PuOr,
# readable with colour-blindness): below 0.25, 0.25-0.5, 0.5-0.75, 0.75-1.25, 1.25-2, 2+.
RATIO_BREAKS = (0.25, 0.5, 0.75, 1.25, 2.0)
CLASS_COLORS = ("#b35806", "#f1a340", "#fee0b6", "#f7f7f7", "#d8daeb", "#998ec3")
NO_RATE_COLOR = "#9ca3af"
OUTLINE_COLOR = "#374151"
THIN_OUTLINE_COLOR = "#111827"
COLD_COLOR, HOT_COLOR = "#2166ac", "#b2182b"
# The SVG pattern thin neighborhoods are hatched with; the page defines it once
# (templates/geodata/planner.html), and Leaflet's SVG paths fill with url(#...).
HATCH_PATTERN_ID = "planner-thin-hatch"
# Classes of the median working days to a first answer (ColorBrewer YlGnBu, sequential: the
# darker, the slower): under 1, 1-3, 3-5, 5-10, 10 and more.
DAY_BREAKS = (1, 3, 5, 10)
DAY_COLORS = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
SLOW_COLOR, FAST_COLOR = "#b2182b", "#7b3294"
# More cells than this are not drawn (the page says so and links the download instead).
MAX_HEXAGONS_DRAWN = 12000
DECIMALS = 5  # about 1 m


@dataclass(frozen=True)
class RateClass:
    color: str
    low: float | None  # ratio to the city rate, included
    high: float | None  # excluded
    label: str  # the class in the rate's unit and as a ratio


@dataclass(frozen=True)
class Legend:
    unit: str  # "per 1,000 residents" or "per km²"
    city_rate: float | None
    classes: list[RateClass]
    thin_below: float
    thin_rate: float | None
    # The cold spot map's colours, for its legend.
    cold_color: str = COLD_COLOR
    hot_color: str = HOT_COLOR
    outline_color: str = OUTLINE_COLOR


def unit_of(basis: str) -> str:
    return _("per 1,000 residents") if basis == "per_1000" else _("per km²")


def legend(engagement: NeighborhoodEngagement) -> Legend:
    """The class breaks in the rate's unit: each break is a ratio times the city rate."""
    reference = engagement.city_rate
    unit = unit_of(engagement.basis)
    bounds = (None, *RATIO_BREAKS, None)
    classes = []
    for i, color in enumerate(CLASS_COLORS):
        low, high = bounds[i], bounds[i + 1]
        if reference:
            if low is None:
                # The first class: open below, so its high is a break (bounds has None only at
                # its two ends).
                assert high is not None
                text = _("below %(rate)s (under %(ratio)s × the city rate)") % {
                    "rate": number(high * reference),
                    "ratio": f"{high:g}",
                }
            elif high is None:
                text = _("%(rate)s and above (%(ratio)s × the city rate or more)") % {
                    "rate": number(low * reference),
                    "ratio": f"{low:g}",
                }
            else:
                text = _(
                    "%(low)s to %(high)s (%(low_ratio)s to %(high_ratio)s × the city rate)"
                ) % {
                    "low": number(low * reference),
                    "high": number(high * reference),
                    "low_ratio": f"{low:g}",
                    "high_ratio": f"{high:g}",
                }
        else:
            text = _("no city rate (no pins)")
        classes.append(RateClass(color, low, high, text))
    thin_rate = reference * engagement.thin_below if reference else None
    return Legend(unit, reference, classes, engagement.thin_below, thin_rate)


def class_color(ratio: float | None) -> str:
    # pd.isna also catches NaN; the None test is for mypy, which cannot see into pd.isna.
    if ratio is None or pd.isna(ratio):
        return NO_RATE_COLOR
    return CLASS_COLORS[int(np.searchsorted(RATIO_BREAKS, ratio, side="right"))]


def _geometry(geometry: shapely.Geometry, *, simplify: bool = True) -> dict:
    """GeoJSON of a geometry for drawing: simplified (outlines) and rounded.

    The same outlines are drawn on every map of the page and on every request until the
    boundaries change: kept per process, keyed by the geometry itself (shapely compares
    coordinates exactly), so a redrawn boundary is simplified anew. Callers get their own
    dict; its coordinates are tuples (shapely's mapping), which nobody can change."""
    return dict(_drawn(geometry, simplify))


def warm_up_outlines(geometries) -> None:  # noqa: ANN001 (shapely geometries)
    """Draw the outlines now (a boot step: geodata.engagement.warm), not in the first planner
    page each worker serves."""
    for geometry in geometries:
        _drawn(geometry, True)


@functools.lru_cache(maxsize=4096)
def _drawn(geometry: shapely.Geometry, simplify: bool) -> dict:
    drawn = geometry
    if simplify:
        simplified = shapely.simplify(
            geometry, maps.OUTLINE_SIMPLIFY_DEGREES, preserve_topology=True
        )
        if not simplified.is_empty:
            drawn = simplified
    drawn = shapely.transform(drawn, lambda xy: np.round(xy, DECIMALS))
    return shapely.geometry.mapping(drawn)


def ratio_text(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.2f} ×"


def share_text(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.0%}"


def trend_text(current: int, previous: int) -> str:
    change = current - previous
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    text = f"{previous} → {current} ({sign}{abs(change)})"
    return _("%(trend)s, thinning") % {"trend": text} if current < previous else text


def thin_text(thin: bool, thin_below: float) -> str:
    if thin:
        return _("THIN: below %(ratio)s × the city rate") % {"ratio": f"{thin_below:g}"}
    return _("no")


def _spot_text(significance: str) -> str:
    if significance == Significance.COLD:
        return _("cold spot")
    if significance == Significance.HOT:
        return _("hot spot")
    return _("%(significance)s spot") % {"significance": significance}


def _rate_text(row, basis: str) -> str:
    value = getattr(row, basis)
    if pd.isna(value):
        return _("no residents") if basis == "per_1000" else "—"
    return number(value)


def _new_map(bounds: tuple[float, float, float, float] | None) -> folium.Map:
    fmap = maps.new_map(bounds=bounds)
    # A long page of maps: the wheel scrolls the page; zoom with the buttons or a pinch.
    fmap.options["scrollWheelZoom"] = False
    return fmap


def _bounds(engagement: NeighborhoodEngagement) -> tuple[float, float, float, float] | None:
    if engagement.frame.empty:
        return None
    west, south, east, north = (float(v) for v in engagement.frame.total_bounds)
    return west, south, east, north


def choropleth(engagement: NeighborhoodEngagement) -> folium.Map:
    """Neighborhoods by rate (per 1,000 residents, or per km² when population is unknown)."""
    fmap = _new_map(_bounds(engagement))
    frame = engagement.frame
    if frame.empty:
        return fmap
    unit = unit_of(engagement.basis)
    features, thin_features = [], []
    for i, row in enumerate(frame.itertuples()):
        properties = {
            "name": escape(row.name),
            "pins": str(row.count),
            "rate": f"{_rate_text(row, engagement.basis)} {unit}",
            "ratio": ratio_text(row.ratio),
            "trend": trend_text(row.count_current, row.count_previous),
            "offline": share_text(row.offline_share),
            "thin": thin_text(row.thin, engagement.thin_below),
            "fill": class_color(row.ratio),
        }
        feature = {
            "type": "Feature",
            "id": i,
            "geometry": _geometry(row.geometry),
            "properties": properties,
        }
        features.append(feature)
        if row.thin:
            thin_features.append({**feature, "properties": {}})
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=_("Pins %(unit)s") % {"unit": unit},
        style_function=lambda feature: {
            "color": OUTLINE_COLOR,
            "weight": 1,
            "fillColor": feature["properties"]["fill"],
            "fillOpacity": 0.75,
        },
        highlight_function=lambda _feature: {"weight": 3},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "pins", "rate", "ratio", "trend", "offline", "thin"],
            aliases=[
                _("Neighborhood"),
                _("Pins"),
                _("Rate"),
                _("Ratio to the city rate"),
                _("Trend (previous → this period)"),
                _("Offline share"),
                _("Thin"),
            ],
            sticky=True,
        ),
    ).add_to(fmap)
    if thin_features:
        # Drawn over the colours, not clickable: the tooltip of the area below still shows.
        folium.GeoJson(
            {"type": "FeatureCollection", "features": thin_features},
            name=_("Thin (below %(ratio)s × the city rate)")
            % {"ratio": f"{engagement.thin_below:g}"},
            style_function=lambda _feature: {
                "color": THIN_OUTLINE_COLOR,
                "weight": 3,
                "dashArray": "6 4",
                "fillColor": f"url(#{HATCH_PATTERN_ID})",
                "fillOpacity": 1,
            },
            interactive=False,
        ).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap


def hexagon_map(hexagons: HexagonEngagement) -> folium.Map | None:
    """H3 cells by rate; None when there are more than MAX_HEXAGONS_DRAWN cells."""
    engagement = hexagons.engagement
    frame = hexagons.frame
    if len(frame) > MAX_HEXAGONS_DRAWN:
        return None
    fmap = _new_map(_bounds(engagement))
    if frame.empty:
        return fmap
    unit = unit_of(engagement.basis)
    known = engagement.population_known
    # Thousands of cells: rings from one vectorised call, and short tooltip values (the
    # aliases carry the units).
    coordinates, owner = shapely.get_coordinates(frame.geometry.values, return_index=True)
    rings = np.split(np.round(coordinates, DECIMALS), np.flatnonzero(np.diff(owner)) + 1)
    rates = frame[engagement.basis].tolist()
    residents = frame["population"].tolist()
    features = [
        {
            "type": "Feature",
            "id": i,
            "geometry": {"type": "Polygon", "coordinates": [ring.tolist()]},
            "properties": {
                "cell": cell,
                "pins": str(count),
                "residents": "unknown" if not known or pd.isna(people) else f"{people:,.0f}",
                "rate": "—" if pd.isna(rate) else number(rate),
                "ratio": "—" if pd.isna(ratio) else f"{ratio:.2f}",
                "thin": "yes" if thin else "no",
                "fill": class_color(ratio),
            },
        }
        for i, (cell, count, people, rate, ratio, thin, ring) in enumerate(
            zip(
                frame["cell"].tolist(),
                frame["count"].tolist(),
                residents,
                rates,
                frame["ratio"].tolist(),
                frame["thin"].tolist(),
                rings,
                strict=True,
            )
        )
    ]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=_("H3 cells, resolution %(resolution)s") % {"resolution": hexagons.resolution},
        style_function=lambda feature: {
            "color": OUTLINE_COLOR,
            "weight": 0.5,
            "fillColor": feature["properties"]["fill"],
            "fillOpacity": 0.7,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["cell", "pins", "residents", "rate", "ratio", "thin"],
            aliases=[
                _("H3 cell"),
                _("Pins"),
                _("Residents (areal share)"),
                _("Pins %(unit)s") % {"unit": unit},
                _("Ratio to the city rate"),
                _("Thin (below %(ratio)s × the city rate)")
                % {"ratio": f"{engagement.thin_below:g}"},
            ],
            sticky=True,
        ),
    ).add_to(fmap)
    return fmap


def coldspot_map(spots: Coldspots) -> folium.Map:
    """Outlines of every neighborhood, and a layer of the significant cold and hot spots only
    (none when no neighborhood is significant after the false discovery rate)."""
    engagement = spots.engagement
    fmap = _new_map(_bounds(engagement))
    frame = spots.frame
    if frame.empty:
        return fmap
    outlines = [
        {
            "type": "Feature",
            "id": i,
            "geometry": _geometry(row.geometry),
            "properties": {"name": escape(row.name), "result": row.significance},
        }
        for i, row in enumerate(frame.itertuples())
    ]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": outlines},
        name=_("Neighborhoods"),
        style_function=lambda _feature: {
            "color": OUTLINE_COLOR,
            "weight": 1,
            "fillColor": NO_RATE_COLOR,
            "fillOpacity": 0.05,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "result"], aliases=[_("Neighborhood"), "Gi*"]
        ),
    ).add_to(fmap)
    unit = unit_of(engagement.basis)
    significant = frame[frame["significance"].isin([Significance.COLD, Significance.HOT])]
    features = [
        {
            "type": "Feature",
            "id": i,
            "geometry": _geometry(row.geometry),
            "properties": {
                "name": escape(row.name),
                "spot": _spot_text(row.significance),
                "z": f"{row.z_score:.2f}",
                "p": f"{row.p_value:.4f}",
                "rate": f"{_rate_text(row, engagement.basis)} {unit}",
                "fill": COLD_COLOR if row.significance == Significance.COLD else HOT_COLOR,
            },
        }
        for i, row in enumerate(significant.itertuples())
    ]
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=_("Significant cold and hot spots"),
            style_function=lambda feature: {
                "color": feature["properties"]["fill"],
                "weight": 2,
                "fillColor": feature["properties"]["fill"],
                "fillOpacity": 0.55,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "spot", "z", "p", "rate"],
                aliases=[_("Neighborhood"), _("Result"), _("z-score"), _("p-value"), _("Rate")],
                sticky=True,
            ),
        ).add_to(fmap)
    return fmap


# --- response times ---------------------------------------------------------------------


@dataclass(frozen=True)
class DayClass:
    color: str
    label: str


@dataclass(frozen=True)
class ServiceLegend:
    classes: list[DayClass]
    slow_color: str = SLOW_COLOR
    fast_color: str = FAST_COLOR
    outline_color: str = OUTLINE_COLOR


def service_legend() -> ServiceLegend:
    bounds = (None, *DAY_BREAKS, None)
    classes = []
    for i, color in enumerate(DAY_COLORS):
        low, high = bounds[i], bounds[i + 1]
        if low is None:
            label = _("under %(high)s working day") % {"high": high}
        elif high is None:
            label = _("%(low)s working days or more") % {"low": low}
        else:
            label = _("%(low)s to %(high)s working days") % {"low": low, "high": high}
        classes.append(DayClass(color, label))
    return ServiceLegend(classes)


def day_color(days: float | None) -> str:
    if days is None or pd.isna(days):
        return NO_RATE_COLOR
    return DAY_COLORS[int(np.searchsorted(DAY_BREAKS, days, side="right"))]


def days_text(value: object, more_than: object) -> str:
    """ "3 working days", "more than 12 working days" (most pins still wait), or "—"."""
    if value is not None and not pd.isna(value):
        days = int(value)  # type: ignore[call-overload]
        return ngettext("%(days)s working day", "%(days)s working days", days) % {"days": days}
    if more_than is not None and not pd.isna(more_than):
        days = int(more_than)  # type: ignore[call-overload]
        return ngettext(
            "more than %(days)s working day", "more than %(days)s working days", days
        ) % {"days": days}
    return "—"


def pace_text(pace: str) -> str:
    if pace == Pace.SLOW:
        return _("slow spot")
    if pace == Pace.FAST:
        return _("fast spot")
    if pace == Pace.NOT_SIGNIFICANT:
        return _("not significant")
    return _("not tested")


def service_map(slow: Slowspots) -> folium.Map:
    """Neighborhoods by median working days to a first answer; too few pins: hatched grey,
    no figure; slow and fast spots (Gi*, after the false discovery rate) outlined."""
    frame = slow.frame
    if frame.empty:
        return _new_map(None)
    west, south, east, north = (float(v) for v in frame.total_bounds)
    fmap = _new_map((west, south, east, north))
    days = tested_days(frame).tolist()
    too_few_text = _("too few pins to say")
    features, hatched, spots = [], [], []
    for i, (row, tested) in enumerate(zip(frame.itertuples(), days, strict=True)):
        team = row.team if isinstance(row.team, str) else ""
        if row.too_few:
            figures = dict.fromkeys(
                ("pins", "median", "p90", "within", "waiting", "answered"), too_few_text
            )
        else:
            figures = {
                "pins": str(int(row.count)),
                "median": days_text(row.median_first_answer, row.median_first_answer_more_than),
                "p90": days_text(row.p90_first_answer, row.p90_first_answer_more_than),
                "within": share_text(row.within_target_share),
                "waiting": str(int(row.waiting_past_target)),
                "answered": _text_or_dash(row.answered_per_1000),
            }
        feature = {
            "type": "Feature",
            "id": i,
            "geometry": _geometry(row.geometry),
            "properties": {
                "name": escape(row.name),
                "team": escape(team),
                **figures,
                "pace": pace_text(row.significance),
                "fill": NO_RATE_COLOR if row.too_few else day_color(tested),
            },
        }
        features.append(feature)
        if row.too_few:
            hatched.append({**feature, "properties": {}})
        elif row.significance in (Pace.SLOW, Pace.FAST):
            spot_color = SLOW_COLOR if row.significance == Pace.SLOW else FAST_COLOR
            # Dashed for fast, solid for slow: told apart without the colour too.
            dash = "8 5" if row.significance == Pace.FAST else None
            spots.append({**feature, "properties": {"color": spot_color, "dash": dash}})
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=_("Median working days to a first answer"),
        style_function=lambda feature: {
            "color": OUTLINE_COLOR,
            "weight": 1,
            "fillColor": feature["properties"]["fill"],
            "fillOpacity": 0.75,
        },
        highlight_function=lambda _feature: {"weight": 3},
        tooltip=folium.GeoJsonTooltip(
            fields=[
                "name",
                "team",
                "pins",
                "median",
                "p90",
                "within",
                "waiting",
                "answered",
                "pace",
            ],
            aliases=[
                _("Neighborhood"),
                _("Team"),
                _("Pins"),
                _("Median to a first answer"),
                _("90th percentile"),
                _("Answered within target"),
                _("Waiting past target"),
                _("Answered per 1,000 residents"),
                _("Slow spot test"),
            ],
            sticky=True,
        ),
    ).add_to(fmap)
    # Drawn over the colours, not clickable: the tooltip of the area below still shows.
    if hatched:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": hatched},
            name=_("too few pins to say"),
            style_function=lambda _feature: {
                "color": OUTLINE_COLOR,
                "weight": 1,
                "fillColor": f"url(#{HATCH_PATTERN_ID})",
                "fillOpacity": 0.6,
            },
            interactive=False,
        ).add_to(fmap)
    if spots:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": spots},
            name=_("Slow and fast spots"),
            style_function=lambda feature: {
                "color": feature["properties"]["color"],
                "weight": 4,
                "dashArray": feature["properties"]["dash"],
                "fillOpacity": 0,
            },
            interactive=False,
        ).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap


def _text_or_dash(value: object) -> str:
    return "—" if value is None or pd.isna(value) else number(float(value))  # type: ignore[arg-type]


# --- several maps on one page ------------------------------------------------------------


@dataclass(frozen=True)
class RenderedMaps:
    header: SafeString  # Leaflet's files once, and each map's own style
    maps: dict[str, maps.RenderedMap]


def render_all(fmaps: Mapping[str, folium.Map | None]) -> RenderedMaps:
    """Render each map, with one header for them all.

    Each folium map renders its own header, naming every file it loads (Leaflet, jQuery, the
    heatmap plugin): loading Leaflet a second time would replace `L` after a plugin had
    extended it. The parts are keyed by name, so the files appear once.
    """
    rendered = {key: maps.render(fmap) for key, fmap in fmaps.items() if fmap is not None}
    parts: dict[str, str] = {}
    for fmap in fmaps.values():
        if fmap is None:
            continue
        root = fmap.get_root()
        # A folium.Map puts itself in a Figure when it is made; branca types the root as Element.
        assert isinstance(root, Figure)
        for name, element in root.header._children.items():
            parts.setdefault(name, element.render())
    header = maps._FOLIUM_VIEWPORT.sub("", "".join(parts.values()))
    # folium's generated markup, from the escaped values above.
    return RenderedMaps(header=mark_safe(header), maps=rendered)  # noqa: S308
