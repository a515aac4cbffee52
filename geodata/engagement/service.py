"""Service equity: do some areas get slower answers? Response figures per active neighborhood,
per team and per H3 hexagon, for the pins of a Selection (those created in its date range,
with its category/kind/status/channel filters).

Times are WORKING DAYS of the pin's team (neighborhoods.calendars: its week, the city's and its
own holidays, local dates): pinned Friday, answered Monday = 1. Per area:

- `count` pins; `answered` (with a first answer: a status change away from "new" or a public
  answer); `done` (status done, timed to its last closing).
- median and 90th percentile working days to the first answer and to done, as Kaplan-Meier
  estimates: a pin not answered (not done) yet is censored at its working days so far, as of
  `now`. A declined or duplicate pin is "not done" like an open one. Quantile q is the
  smallest t with S(t) <= 1 - q. When S never gets there (most pins still wait), the quantile
  is None and `<quantile>_more_than` says it is more than the longest time observed: an area
  where many pins wait never looks fast.
- `within_target_share`: answered within the team's target over (answered + still waiting past
  the target); a pin waiting but not yet past its target has no outcome yet.
- `waiting_past_target`: pins with no first answer, past their target now.
- `closed` (ever done or declined), `reopened_share` and `disputed_share` among them.
- `answered_per_1000`: answered pins per 1,000 residents (a team: its active neighborhoods'
  residents; a hexagon: areal-weighted as in hexagons.py); None when population is unknown.

Fewer pins than `min_count` (never below fields.MIN_COUNT) in an area: every figure is None,
the counts too, and `too_few` is True.
"""

from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import h3.api.basic_int as h3_int
import numpy as np
import pandas as pd
import shapely
from django.db.models import F, FloatField, Func
from django.utils import timezone

from geodata.engagement.fields import MIN_COUNT, RESOLUTIONS, SERVICE_FIGURES
from geodata.engagement.hexagons import hexagon_engagement
from geodata.engagement.rates import Selection, neighborhood_engagement
from mapideas.cells import CELL_FIELDS
from mapideas.models import Idea
from mapideas.pins.serializers import COORDINATE_PRECISION
from neighborhoods.calendars import local_dates, team_calendars
from neighborhoods.models import Neighborhood, Team

# S(t) <= 1 - q, with room for the float error of a product of fractions.
_TOLERANCE = 1e-9


# --- Kaplan-Meier ----------------------------------------------------------------------------


def km_quantile(times: np.ndarray, events: np.ndarray, q: float) -> tuple[int | None, int | None]:
    """(quantile, more_than) of the product-limit estimate of whole working days.

    At a time t with d events among the n pins still at risk (time >= t: at tied times, events
    come before censorings), S falls by the factor 1 - d / n. The q-quantile is the smallest
    event time with S(t) <= 1 - q: (t, None). If S stays above, (None, longest time observed):
    the quantile is more than that.
    """
    times = np.asarray(times, dtype=np.int64)
    events = np.asarray(events, dtype=bool)
    if len(times) == 0:
        return None, None
    ordered = np.sort(times)
    event_times, deaths = np.unique(times[events], return_counts=True)
    at_risk = len(times) - np.searchsorted(ordered, event_times, side="left")
    survival = np.cumprod(1 - deaths / at_risk)
    reached = np.nonzero(survival <= 1 - q + _TOLERANCE)[0]
    if len(reached):
        return int(event_times[reached[0]]), None
    return None, int(ordered[-1])


# --- the pins, timed -------------------------------------------------------------------------


def pin_times(
    selection: Selection, *, now: datetime, resolution: int | None = None
) -> pd.DataFrame:
    """One row per pin of the selection: `neighborhood_slug`, `team_id`, `cell` (when a
    resolution is given) and its working-day figures (see `_timed`)."""
    columns = [
        "id",
        "created_at",
        "first_response_at",
        "closed_at",
        "status",
        "reopen_count",
        "dispute_count",
        "team_id",
        "neighborhood_id",
    ]
    cell_field = CELL_FIELDS[resolution] if resolution is not None else None
    rows = list(
        selection.ideas.order_by().values_list(*columns, *([cell_field] if cell_field else []))
    )
    frame = pd.DataFrame(rows, columns=[*columns, *(["cell"] if cell_field else [])])
    ids = {int(i) for i in frame["neighborhood_id"].dropna()}
    slug_by_id = dict(Neighborhood.objects.filter(id__in=ids).values_list("id", "slug"))
    frame["neighborhood_slug"] = [
        slug_by_id.get(i) if i == i and i is not None else None for i in frame["neighborhood_id"]
    ]
    if cell_field is not None:
        # From the rows, as Python ints: a column with NULLs is float64, which cannot hold them.
        frame["cell"] = _cells(selection, rows, cell_field, resolution or 8)
    return _timed(frame, now=now)


def _cells(selection: Selection, rows: list[tuple], field: str, resolution: int) -> np.ndarray:
    """Each pin's cell: the one stored with it (mapideas.cells), else from its coordinates
    (rows written by raw SQL), as hexagons.pin_cells bins them."""
    located: dict[int, int] = {}
    if any(row[-1] is None for row in rows):
        located = {
            pk: h3_int.latlng_to_cell(lat, lon, resolution)
            for pk, lon, lat in selection.ideas.filter(**{f"{field}__isnull": True})
            .order_by()
            .annotate(
                lon=Func(F("location"), function="ST_X", output_field=FloatField()),
                lat=Func(F("location"), function="ST_Y", output_field=FloatField()),
            )
            .values_list("id", "lon", "lat")
        }
    return np.array(
        [located[row[0]] if row[-1] is None else row[-1] for row in rows], dtype=np.uint64
    )


def _timed(frame: pd.DataFrame, *, now: datetime) -> pd.DataFrame:
    """Adds, per pin, in its team's working days (neighborhoods.calendars):
    first_days / answered, done_days / done, within (answered within target), waiting_past
    (no answer, past target now), closed, reopened, disputed."""
    calendars = team_calendars()
    targets = dict(Team.objects.order_by().values_list("id", "response_target_days"))
    today = local_dates([now])[0]
    created = local_dates(frame["created_at"])
    answered_on = local_dates(frame["first_response_at"])
    closed_on = local_dates(frame["closed_at"])
    answered = ~np.isnat(answered_on)
    done = (frame["status"].to_numpy() == Idea.Status.DONE) & ~np.isnat(closed_on)
    first_days = np.zeros(len(frame), dtype=np.int64)
    done_days = np.zeros(len(frame), dtype=np.int64)
    team_ids = frame["team_id"].to_numpy()
    for team_id in np.unique(team_ids):
        mine = team_ids == team_id
        calendar = calendars[int(team_id)]
        first_end = np.where(answered[mine], answered_on[mine], today)
        done_end = np.where(done[mine], closed_on[mine], today)
        first_days[mine] = calendar.working_days(created[mine], first_end)
        done_days[mine] = calendar.working_days(created[mine], done_end)
    target = frame["team_id"].map(targets).to_numpy(dtype=np.int64)
    # A first answer recorded before the pin (clock skew, imports) took no time, not less.
    frame["first_days"] = np.maximum(first_days, 0)
    frame["done_days"] = np.maximum(done_days, 0)
    frame["answered"] = answered
    frame["done"] = done
    frame["within"] = answered & (frame["first_days"].to_numpy() <= target)
    frame["waiting_past"] = ~answered & (frame["first_days"].to_numpy() > target)
    closed = frame["closed_at"].notna().to_numpy()
    frame["closed"] = closed
    frame["reopened"] = closed & (frame["reopen_count"].to_numpy() > 0)
    frame["disputed"] = closed & (frame["dispute_count"].to_numpy() > 0)
    return frame


# --- figures per area ------------------------------------------------------------------------


def _figures(pins: pd.DataFrame) -> dict[str, object]:
    count = len(pins)
    answered = int(pins["answered"].sum())
    decided = answered + int(pins["waiting_past"].sum())
    closed = int(pins["closed"].sum())
    figures: dict[str, object] = {
        "count": count,
        "answered": answered,
        "done": int(pins["done"].sum()),
        "waiting_past_target": int(pins["waiting_past"].sum()),
        "within_target_share": int(pins["within"].sum()) / decided if decided else None,
        "closed": closed,
        "reopened_share": int(pins["reopened"].sum()) / closed if closed else None,
        "disputed_share": int(pins["disputed"].sum()) / closed if closed else None,
    }
    for what, days, events in (
        ("first_answer", "first_days", "answered"),
        ("done", "done_days", "done"),
    ):
        for name, q in (("median", 0.5), ("p90", 0.9)):
            value, more_than = km_quantile(pins[days].to_numpy(), pins[events].to_numpy(), q)
            figures[f"{name}_{what}"] = value
            figures[f"{name}_{what}_more_than"] = more_than
    return figures


def _summary(pins: pd.DataFrame, key: str, index: pd.Index, min_count: int) -> pd.DataFrame:
    """SERVICE_FIGURES and `too_few` per value of `key` in `index` (areas without pins too)."""
    grouped = {k: _figures(group) for k, group in pins.groupby(key, sort=False)}
    empty = dict.fromkeys(SERVICE_FIGURES)
    rows = [grouped.get(k, empty | {"count": 0}) for k in index]
    frame = pd.DataFrame(rows, index=index, columns=list(SERVICE_FIGURES)).astype(object)
    too_few = frame["count"].fillna(0).astype(int) < max(min_count, MIN_COUNT)
    frame.loc[too_few, list(SERVICE_FIGURES)] = None
    frame["too_few"] = too_few.to_numpy(dtype=bool)
    return frame


def _per_1000(summary: pd.DataFrame, population: pd.Series) -> pd.Series:
    residents = pd.to_numeric(population, errors="coerce").astype(float)
    answered = pd.to_numeric(summary["answered"], errors="coerce").astype(float)
    return (
        (answered / residents.where(residents > 0) * 1000)
        .astype(object)
        .where(answered.notna() & residents.notna() & (residents > 0), None)
    )


@dataclass(frozen=True)
class ServiceLayer:
    """One row per area with the layer's fields, `geometry` and `geojson`."""

    frame: gpd.GeoDataFrame
    population_known: bool
    min_count: int
    now: datetime
    message: str


def _message(min_count: int, population_known: bool) -> str:
    text = (
        f"Working days of each pin's team (its week and holidays), Kaplan-Meier medians and "
        f"90th percentiles with waiting pins counted as waiting so far; areas with fewer than "
        f"{min_count} pins show no figure."
    )
    if not population_known:
        text += " Some neighborhoods have no population: no answered pins per 1,000 residents."
    return text


def service_neighborhoods(
    selection: Selection, *, min_count: int = MIN_COUNT, now: datetime | None = None
) -> ServiceLayer:
    now = now or timezone.now()
    min_count = max(min_count, MIN_COUNT)
    areas = neighborhood_engagement(selection)
    pins = pin_times(selection, now=now)
    base = areas.frame[["name", "slug", "team", "team_slug", "population", "geometry", "geojson"]]
    summary = _summary(pins, "neighborhood_slug", pd.Index(base["slug"]), min_count)
    summary.index = base.index
    frame = gpd.GeoDataFrame(pd.concat([base, summary], axis=1), geometry="geometry")
    frame["answered_per_1000"] = (
        _per_1000(summary, base["population"])
        if areas.population_known
        else pd.Series(None, index=base.index, dtype=object)
    )
    return ServiceLayer(
        frame,
        areas.population_known,
        min_count,
        now,
        _message(min_count, areas.population_known),
    )


def multipolygon_geojson(geometry: shapely.Geometry) -> str:
    """RFC 7946 MultiPolygon text (counter-clockwise exteriors), 6 decimals."""
    parts = shapely.get_parts(shapely.orient_polygons(geometry))
    polygons = [shapely.Polygon(p) for p in parts if p.geom_type == "Polygon"]
    rounded = shapely.set_precision(
        shapely.MultiPolygon(polygons), 10**-COORDINATE_PRECISION, mode="pointwise"
    )
    return shapely.to_geojson(rounded)


def service_teams(
    selection: Selection, *, min_count: int = MIN_COUNT, now: datetime | None = None
) -> ServiceLayer:
    """Per team with active neighborhoods: the pins routed to it (wherever they are), drawn as
    the union of its active neighborhoods (a MultiPolygon)."""
    now = now or timezone.now()
    min_count = max(min_count, MIN_COUNT)
    areas = neighborhood_engagement(selection).frame
    pins = pin_times(selection, now=now)
    id_by_slug = dict(Team.objects.values_list("slug", "id"))
    rows = []
    for team_slug, group in areas.groupby("team_slug", sort=False):
        population = group["population"]
        union = shapely.union_all(group.geometry.to_numpy())
        rows.append(
            {
                "team": group["team"].iloc[0],
                "team_slug": team_slug,
                "team_id": id_by_slug[team_slug],
                "population": None if population.isna().any() else int(population.sum()),
                "geometry": shapely.MultiPolygon(
                    [p for p in shapely.get_parts(union) if p.geom_type == "Polygon"]
                ),
            }
        )
    teams = pd.DataFrame(rows, columns=["team", "team_slug", "team_id", "population", "geometry"])
    teams = teams.sort_values("team", kind="stable").reset_index(drop=True)
    summary = _summary(pins, "team_id", pd.Index(teams["team_id"]), min_count)
    summary.index = teams.index
    frame = gpd.GeoDataFrame(
        pd.concat([teams, summary], axis=1), geometry="geometry", crs="EPSG:4326"
    )
    frame["geojson"] = [multipolygon_geojson(g) for g in frame.geometry]
    population_known = len(teams) > 0 and teams["population"].notna().all()
    frame["answered_per_1000"] = _per_1000(summary, teams["population"])
    return ServiceLayer(
        frame, bool(population_known), min_count, now, _message(min_count, population_known)
    )


def service_hexagons(
    selection: Selection,
    *,
    resolution: int = 8,
    min_count: int = MIN_COUNT,
    now: datetime | None = None,
) -> ServiceLayer:
    """Per H3 cell: hexagons.hexagon_engagement's cells (every cell overlapping a neighborhood
    and every other one holding a pin) and residents (areal-weighted)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}")
    now = now or timezone.now()
    min_count = max(min_count, MIN_COUNT)
    engagement = neighborhood_engagement(selection)
    cells = hexagon_engagement(selection, engagement, resolution=resolution).frame
    pins = pin_times(selection, now=now, resolution=resolution)
    base = cells[["cell", "population", "geometry", "geojson"]]
    summary = _summary(pins, "cell", base.index, min_count)
    frame = gpd.GeoDataFrame(pd.concat([base, summary], axis=1), geometry="geometry")
    frame["answered_per_1000"] = (
        _per_1000(summary, base["population"])
        if engagement.population_known
        else pd.Series(None, index=base.index, dtype=object)
    )
    return ServiceLayer(
        frame,
        engagement.population_known,
        min_count,
        now,
        _message(min_count, engagement.population_known),
    )
