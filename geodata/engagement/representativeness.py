"""Representativeness by neighborhood profile: does the city hear less from the poorer (older,
renting...) fifth of its residents?

For each area attribute (Neighborhood.attributes, declared at import_population):

1. The neighborhoods taken are the active ones with residents (population > 0) and a value
   for the attribute. They are sorted by the value, ties broken by slug.
2. They are cut into five population-weighted fifths. Rule: with P the residents of all the
   neighborhoods taken and C_i the residents of the neighborhoods up to and including i in that
   order, neighborhood i belongs to fifth floor(5 (C_i - p_i / 2) / P) + 1 (clipped to 1..5):
   the fifth holding the midpoint of its own residents. Each fifth so holds about a fifth of
   the residents; a neighborhood is never split, and with fewer than five neighborhoods (or
   one very large) a fifth may hold none and is left out.
3. Per fifth: its residents, its pins (the Selection's, counted as rates.py counts them: one
   GROUP BY neighborhood, closed pins with the active neighborhood of the same slug), pins per
   1,000 residents with the exact Poisson (Garwood) interval at fields.CONFIDENCE, the ratio to
   the city rate (pins over residents of every neighborhood with residents, as the neighborhood
   layer's) with its interval, the attribute's range, its neighborhoods. Fewer than MIN_COUNT
   pins: the rate and ratio are None and `too_few` is True; the intervals stay.
4. Per attribute: Spearman's rank correlation between the attribute and the neighborhood rate
   over the neighborhoods taken (scipy.stats.spearmanr), its p-value, and a sentence.

These are neighborhood-level estimates: they say how areas with a profile are heard, nothing
about any person living there (the ecological fallacy).
"""

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from django.utils.translation import gettext as _
from scipy import stats

from geodata.engagement.fields import CONFIDENCE, MIN_COUNT, REPRESENTATIVENESS_FIELDS
from geodata.engagement.intervals import poisson_interval
from geodata.engagement.rates import NeighborhoodEngagement
from mapideas.pins.serializers import COORDINATE_PRECISION
from neighborhoods.selectors import active_neighborhoods

QUINTILES = 5

AREA_LEVEL = (
    "Neighborhood-level estimates: each fifth is a group of neighborhoods, and its figures say "
    "how areas with that profile are heard, nothing about any one resident."
)

NO_ATTRIBUTES = (
    "No area attributes are known: import them with import_population --attribute NAME=COLUMN."
)


@dataclass(frozen=True)
class AttributeSummary:
    name: str
    neighborhoods: int  # taken: with residents and a value
    spearman: float | None
    spearman_p: float | None
    summary: str


@dataclass(frozen=True)
class Representativeness:
    """`frame`: one row per (attribute, fifth) with REPRESENTATIVENESS_FIELDS, `key`
    ("attribute-quintile"), `geometry` (shapely MultiPolygon) and `geojson`."""

    frame: pd.DataFrame
    attributes: dict[str, AttributeSummary]
    city_per_1000: float | None
    message: str


def attribute_names() -> list[str]:
    """The attributes at least one active neighborhood has, sorted."""
    names: set[str] = set()
    for attributes in active_neighborhoods().values_list("attributes", flat=True):
        names.update((attributes or {}).keys())
    return sorted(names)


def _values(ids: pd.Index) -> dict[str, pd.Series]:
    """Each attribute's numeric values by neighborhood id (absent: not in the series)."""
    rows = dict(active_neighborhoods().filter(pk__in=list(ids)).values_list("id", "attributes"))
    by_name: dict[str, dict[int, float]] = {}
    for pk, attributes in rows.items():
        for name, value in (attributes or {}).items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if math.isfinite(value):
                by_name.setdefault(name, {})[pk] = float(value)
    return {name: pd.Series(values, dtype=float) for name, values in by_name.items()}


def quintiles(values: pd.Series, population: pd.Series, slugs: pd.Series) -> pd.Series:
    """The fifth (1-5) of each neighborhood, by the module's rule (same index, any order)."""
    order = pd.DataFrame({"value": values, "slug": slugs, "population": population})
    order = order.sort_values(["value", "slug"], kind="mergesort")
    people = order["population"].astype(float)
    midpoint = people.cumsum() - people / 2
    fifth = np.floor(QUINTILES * midpoint / people.sum()).astype(int) + 1
    return fifth.clip(1, QUINTILES).reindex(values.index)


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _span(low: float, high: float) -> str:
    """31–51%: an interval of shares of the city rate."""
    return f"{low * 100:.0f}–{high * 100:.0f}%"


def _sentence(name: str, rows: pd.DataFrame, spearman: float | None, p: float | None) -> str:
    """The planners' sentence, in the active language (the API's and the page's)."""
    confidence = f"{CONFIDENCE:.0%}"
    parts = []
    for row, lowest in ((rows.iloc[0], True), (rows.iloc[-1], False)):
        figures = {
            "name": name,
            "count": int(row["count"]),
            "confidence": confidence,
            "span": "" if row["too_few"] else _span(row["ratio_low"], row["ratio_high"]),
            "ratio": "" if row["too_few"] else _percent(row["ratio"]),
        }
        if row["too_few"]:
            text = (
                _(
                    "The fifth of residents with the lowest %(name)s has too few pins (%(count)s) "
                    "to say."
                )
                if lowest
                else _(
                    "The fifth of residents with the highest %(name)s has too few pins "
                    "(%(count)s) to say."
                )
            )
        else:
            text = (
                _(
                    "The fifth of residents with the lowest %(name)s pins at %(ratio)s of the city "
                    "rate (%(confidence)s interval %(span)s)."
                )
                if lowest
                else _(
                    "The fifth of residents with the highest %(name)s pins at %(ratio)s of "
                    "the city rate (%(confidence)s interval %(span)s)."
                )
            )
        parts.append(text % figures)
        if len(rows) == 1:
            break
    if spearman is not None and p is not None:
        parts.append(
            _(
                "Across neighborhoods, Spearman's rank correlation of %(name)s with the rate is "
                "%(spearman)s (p = %(p)s)."
            )
            % {"name": name, "spearman": f"{spearman:.2f}", "p": f"{p:.3g}"}
        )
    parts.append(_("Neighborhood-level estimates, nothing inferred about a person."))
    return " ".join(parts)


def _multipolygon(geometries: list) -> shapely.MultiPolygon:
    union = shapely.union_all(geometries)
    polygons = [union] if isinstance(union, shapely.Polygon) else list(getattr(union, "geoms", []))
    return shapely.MultiPolygon([p for p in polygons if isinstance(p, shapely.Polygon)])


def _geojson(geometry: shapely.MultiPolygon) -> str:
    """RFC 7946 text: exteriors counter-clockwise, 6 decimals (as the other layers)."""
    oriented = shapely.orient_polygons(geometry)
    rounded = shapely.transform(oriented, lambda xy: np.round(xy, COORDINATE_PRECISION))
    return json.dumps(shapely.geometry.mapping(rounded), separators=(",", ":"))


COLUMNS = ["key", *REPRESENTATIVENESS_FIELDS, "geometry", "geojson"]


def representativeness(
    engagement: NeighborhoodEngagement,
    *,
    attribute: str | None = None,
    min_count: int = MIN_COUNT,
) -> Representativeness:
    """The fifths of every attribute (or of `attribute` only) over the engagement's counts."""
    min_count = max(min_count, MIN_COUNT)
    frame = engagement.frame
    population = frame["population"].astype("Float64").fillna(0).astype(float)
    populated = population > 0
    # The city rate: pins of the neighborhoods with residents over their residents.
    residents = float(population[populated].sum())
    city = float(frame.loc[populated, "count"].sum()) / residents * 1000 if residents else None
    values = _values(frame.index)
    names = sorted(values) if attribute is None else [attribute]
    rows: list[dict] = []
    summaries: dict[str, AttributeSummary] = {}
    for name in names:
        value = values.get(name, pd.Series(dtype=float))
        taken = value.index[populated.reindex(value.index, fill_value=False)]
        value = value.reindex(taken)
        if len(taken) == 0 or not city:
            known = ", ".join(sorted(values)) or "none"
            summaries[name] = AttributeSummary(
                name,
                0,
                None,
                None,
                f"No neighborhood has both residents, pins and {name} (known attributes: {known}).",
            )
            continue
        people = population.reindex(taken)
        pins = frame.loc[taken, "count"].astype(int)
        fifth = quintiles(value, people, frame.loc[taken, "slug"])
        spearman, spearman_p = None, None
        rate = pins / people * 1000
        if len(taken) >= 3 and value.nunique() > 1 and rate.nunique() > 1:
            result = stats.spearmanr(value.to_numpy(), rate.to_numpy())
            spearman, spearman_p = float(result.statistic), float(result.pvalue)
        attribute_rows = []
        for q in sorted(fifth.unique()):
            members = fifth.index[fifth == q]
            count = int(pins[members].sum())
            thousands = float(people[members].sum()) / 1000
            low, high = (float(b[0]) for b in poisson_interval(np.array([count])))
            too_few = count < min_count
            per_1000 = count / thousands
            attribute_rows.append(
                {
                    "key": f"{name}-{q}",
                    "attribute": name,
                    "quintile": int(q),
                    "value_min": float(value[members].min()),
                    "value_max": float(value[members].max()),
                    "neighborhoods": len(members),
                    "population": int(people[members].sum()),
                    "count": count,
                    "too_few": too_few,
                    "per_1000": None if too_few else per_1000,
                    "per_1000_low": low / thousands,
                    "per_1000_high": high / thousands,
                    "ratio": None if too_few else per_1000 / city,
                    "ratio_low": low / thousands / city,
                    "ratio_high": high / thousands / city,
                    "spearman": spearman,
                    "spearman_p": spearman_p,
                    "geometry": _multipolygon(list(frame.loc[members, "geometry"])),
                }
            )
        sentence = _sentence(name, pd.DataFrame(attribute_rows), spearman, spearman_p)
        for row in attribute_rows:
            row["summary"] = sentence
            row["geojson"] = _geojson(row["geometry"])
        rows.extend(attribute_rows)
        summaries[name] = AttributeSummary(name, len(taken), spearman, spearman_p, sentence)
    result_frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("quintile", "neighborhoods", "population", "count"):
        result_frame[column] = result_frame[column].astype("Int64")
    result_frame["too_few"] = result_frame["too_few"].astype(bool)
    if not values:
        message = f"{NO_ATTRIBUTES} {AREA_LEVEL}"
    else:
        message = (
            f"Five population-weighted fifths of the neighborhoods by each attribute; rates per "
            f"1,000 residents against the city rate, {CONFIDENCE:.0%} Poisson intervals; fewer "
            f"than {min_count} pins in a fifth: no rate. {AREA_LEVEL}"
        )
    return Representativeness(result_frame, summaries, city, message)
