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

import hashlib
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import geopandas as gpd
import h3.api.basic_int as h3_int
import numpy as np
import pandas as pd
import shapely
from django.conf import settings
from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from geodata.engagement.fields import MIN_COUNT, OFFLINE_CHANNELS, RESOLUTIONS, SERVICE_FIGURES
from geodata.engagement.hexagons import hexagon_engagement
from geodata.engagement.rates import NeighborhoodEngagement, Selection, neighborhood_engagement
from mapideas.cells import CELL_FIELDS
from mapideas.map.coordinates import Latitude, Longitude
from mapideas.models import Idea
from mapideas.pins.serializers import COORDINATE_PRECISION
from mapideas.plumbing.kept_reads import kept_read
from neighborhoods.calendars import local_dates, team_calendars
from neighborhoods.models import Neighborhood, Team

# S(t) <= 1 - q, with room for the float error of a product of fractions.
_TOLERANCE = 1e-9


# --- Kaplan-Meier ----------------------------------------------------------------------------


def km_quantile(
    times: np.ndarray, events: np.ndarray, q: float, weights: np.ndarray | None = None
) -> tuple[int | None, int | None]:
    """(quantile, more_than) of the product-limit estimate of whole working days.

    At a time t with d events among the n pins still at risk (time >= t: at tied times, events
    come before censorings), S falls by the factor 1 - d / n. The q-quantile is the smallest
    event time with S(t) <= 1 - q: (t, None). If S stays above, (None, longest time observed):
    the quantile is more than that. `weights` (whole numbers) count each row as that many pins.
    """
    times = np.asarray(times, dtype=np.int64)
    events = np.asarray(events, dtype=bool)
    weights = np.ones(len(times), dtype=np.int64) if weights is None else np.asarray(weights)
    key = np.zeros(len(times), dtype=np.int64)
    quantiles = _km_quantiles(key, times, events, weights.astype(np.int64), (q,))[q]
    if not len(quantiles):
        return None, None
    value, more_than = quantiles.iloc[0]
    return _int_or_none(value), _int_or_none(more_than)


def _int_or_none(value: object) -> int | None:
    return None if value is None or value != value else int(value)  # type: ignore[call-overload]


def _km_quantiles(
    key: np.ndarray,
    times: np.ndarray,
    events: np.ndarray,
    weights: np.ndarray,
    qs: tuple[float, ...],
) -> dict[float, pd.DataFrame]:
    """km_quantile for every value of `key` at once, vectorised, for each q of `qs` (one
    product-limit estimate for them all): a frame per q indexed by key with `value` and
    `more_than` (NaN for None). Rows are (time, event) groups of `weights` pins."""
    rows = pd.DataFrame({"key": key, "t": times, "d": np.where(events, weights, 0), "n": weights})
    rows = rows[rows["n"] > 0]
    at_t = rows.groupby(["key", "t"], sort=True)[["d", "n"]].sum().reset_index()
    group = at_t.groupby("key", sort=False)
    # At risk at t: the group's pins whose time is t or later (a reversed running sum).
    at_risk = group["n"].transform("sum") - group["n"].cumsum() + at_t["n"]
    # In the order of the times, as the one-area product: factors of 1 where nothing happens.
    at_t["s"] = 1 - at_t["d"].to_numpy() / at_risk.to_numpy()
    at_t["s"] = at_t.groupby("key", sort=False)["s"].cumprod()
    longest = group["t"].max()
    frames = {}
    for q in qs:
        reached = at_t[(at_t["d"] > 0) & (at_t["s"] <= 1 - q + _TOLERANCE)]
        value = reached.groupby("key", sort=False)["t"].first()
        frame = pd.DataFrame({"value": value.reindex(longest.index)})
        frame["more_than"] = longest.where(frame["value"].isna())
        frames[q] = frame
    return frames


# --- the pins, timed -------------------------------------------------------------------------

# The flags a pin's figures need beyond its dates: each (area, team, dates, flags) is one row
# of pin_times, with `pins` the number of pins sharing it.
# `offline` (pinned through an offline channel) is for the neighborhood counts that the
# planner page takes from here (rates.neighborhood_engagement's `pins`).
_FLAGS = ("status_done", "closed", "reopened", "disputed", "offline")
_DATES = ("created_on", "answered_on", "closed_on")


def pin_times(
    selection: Selection, *, now: datetime, resolution: int | None = None
) -> pd.DataFrame:
    """The selection's pins grouped by `neighborhood_slug`, `team_id`, `cell` (when a
    resolution is given), local dates and flags: one row per group with `pins`, its count,
    and the group's working-day figures (see `_timed`).

    A GROUP BY, not one row per pin: the local dates are computed by the database in
    settings.TIME_ZONE (daylight saving time included), pins sharing their area, team, days
    and flags are one row, and every figure is computed from the rows weighted by `pins`."""
    zone = ZoneInfo(settings.TIME_ZONE)
    frame = None
    if connections[selection.ideas.db].vendor == "sqlite":
        # SQLite has no time zones: Django's TruncDate calls Python for every pin, slower
        # than the rest of the layer. The UTC quarter hours are grouped instead and turned
        # into local dates here, exactly when each quarter hour lies in one local day at one
        # UTC offset (every zone today: offsets and changes are whole quarter hours).
        frame = _pin_groups(selection, resolution, _Quarter)
        for column in _DATES:
            days = _quarter_days(frame[column], zone)
            if days is None:
                frame = None
                break
            frame[column] = days
    if frame is None:
        frame = _pin_groups(
            selection, resolution, lambda name: _EpochDay(TruncDate(name, tzinfo=zone))
        )
    ids = {int(i) for i in frame["neighborhood_id"].dropna()}
    slug_by_id = dict(Neighborhood.objects.filter(id__in=ids).values_list("id", "slug"))
    frame["neighborhood_slug"] = frame["neighborhood_id"].map(slug_by_id)
    return _timed(frame, now=now)


def _pin_groups(
    selection: Selection, resolution: int | None, day: Callable[[str], Func]
) -> pd.DataFrame:
    """The GROUP BY of pin_times; `day` gives the expression of a moment's day (or key)."""
    cell_field = CELL_FIELDS[resolution] if resolution is not None else None
    keys = ["team_id", "neighborhood_id", *([cell_field] if cell_field else [])]
    grouped = selection.ideas.order_by().annotate(
        created_on=day("created_at"),
        answered_on=day("first_response_at"),
        closed_on=day("closed_at"),
        status_done=_flag(Q(status=Idea.Status.DONE)),
        closed=_flag(Q(closed_at__isnull=False)),
        reopened=_flag(Q(reopen_count__gt=0)),
        disputed=_flag(Q(dispute_count__gt=0)),
        offline=_flag(Q(channel__in=OFFLINE_CHANNELS)),
    )
    columns = [*keys, *_DATES, *_FLAGS]
    query = grouped.values_list(*columns).annotate(pins=Count("id"))
    return _kept(query, lambda: _groups_frame(query, grouped, columns, cell_field, resolution))


def _groups_frame(
    query: QuerySet,
    grouped: QuerySet,
    columns: list[str],
    cell_field: str | None,
    resolution: int | None,
) -> pd.DataFrame:
    rows = _fetch(query)
    if cell_field is None:
        frame = pd.DataFrame(rows, columns=[*columns, "pins"])
    else:
        # Rows without a stored cell are set apart before pandas sees them: a column with
        # NULLs is float64, which cannot hold the cells (H3 ids below 2**63 fit int64).
        stored = [row for row in rows if row[2] is not None]
        frame = pd.DataFrame(stored, columns=[*columns, "pins"]).rename(
            columns={cell_field: "cell"}
        )
        if len(stored) < len(rows):
            located = _located(grouped, [*columns[:2], *columns[3:]], cell_field, resolution or 8)
            frame = pd.concat([frame, located[frame.columns]], ignore_index=True)
        frame["cell"] = frame["cell"].to_numpy(dtype=np.int64).astype(np.uint64)
    return frame


def _quarter_days(column: pd.Series, zone: ZoneInfo) -> pd.Series | None:
    """UTC quarter hours (or None) -> local days since 1970-01-01 (NaN for None); None when
    some quarter hour does not lie in one local day at one offset."""
    quarters = pd.to_numeric(column).to_numpy(dtype=float)
    known = ~np.isnan(quarters)
    start = pd.to_datetime(quarters[known].astype(np.int64) * 900, unit="s", utc=True)
    last = start + pd.Timedelta(seconds=899)
    local_start = start.tz_convert(zone).tz_localize(None)
    local_last = last.tz_convert(zone).tz_localize(None)
    offset = local_start - start.tz_localize(None)
    if not (
        (offset == local_last - last.tz_localize(None)).all()
        and (offset.total_seconds().to_numpy() % 900 == 0).all()
        and (local_start.normalize() == local_last.normalize()).all()
    ):
        return None
    days = np.full(len(quarters), np.nan)
    days[known] = local_start.normalize().to_numpy(dtype="datetime64[D]").astype(np.int64)
    return pd.Series(days, index=column.index)


class _Quarter(Func):
    """A moment's UTC quarter hour, seconds since 1970 // 900, in SQLite's own functions:
    julianday is kept to the millisecond, which the rounding restores exactly."""

    output_field = IntegerField()
    template = (
        "(CAST(round((julianday(%(expressions)s) - 2440587.5) * 86400000) AS INTEGER) / 900000)"
    )


class _EpochDay(Func):
    """A date as its days since 1970-01-01 (NULL stays NULL): numpy's datetime64[D] without
    a date object per row."""

    output_field = IntegerField()
    template = "(%(expressions)s - DATE '1970-01-01')"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) - 2440587.5 AS INTEGER)",
            **extra_context,
        )


def _fetch(queryset: QuerySet) -> list[tuple]:
    """The rows of a values_list queryset as the database gives them: Django's per-value
    converters cost more than the query itself at a million pins."""
    sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _kept(query: QuerySet, make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The frame `make` builds from `query`, the pins' groups, kept in the answer cache for
    ENGAGEMENT_CACHE_SECONDS (docs/decisions/0012-stale-reads-named-explicitly.md), keyed by
    the database and the query's SQL and parameters (its filters, dates and time zone), read
    by one request at a time (mapideas.plumbing.kept_reads): the GROUP BY of every pin of a
    city is the planner page's heaviest read (1.7 s at 1M pins on PostGIS), and a planner
    moving between its figures asks for the same groups again.

    Kept as the frame, compressed (1.5 MB at 1M pins, 23 ms to load): building it from the
    rows cost more than loading it. The groups hold ids, days, flags and counts, the same in
    every language; `now`, which the working days are counted to, is applied after
    (pin_times), never kept."""
    sql, params = query.query.get_compiler(query.db).as_sql()
    digest = hashlib.sha256(repr((query.db, sql, tuple(params))).encode()).hexdigest()
    return kept_read(
        f"engagement-pin-groups:{digest}",
        settings.ENGAGEMENT_CACHE_SECONDS,
        make,
        dump=lambda frame: zlib.compress(pickle.dumps(frame, protocol=5), 1),
        # Our own cache's bytes, pickled above: as trusted as the cache Django pickles into.
        load=lambda stored: pickle.loads(zlib.decompress(stored)),  # noqa: S301
    )


def _flag(condition: Q) -> Case:
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


def _located(grouped, columns: list[str], field: str, resolution: int) -> pd.DataFrame:
    """The groups of pins with no stored cell (rows written by raw SQL): each pin's cell from
    its coordinates, as hexagons.pin_cells bins them."""
    rows = _fetch(
        grouped.filter(**{f"{field}__isnull": True})
        .annotate(
            lon=Longitude("location"),
            lat=Latitude("location"),
        )
        .values_list(*columns, "lon", "lat")
        .annotate(pins=Count("id"))
    )
    frame = pd.DataFrame(rows, columns=[*columns, "lon", "lat", "pins"])
    frame["cell"] = [
        h3_int.latlng_to_cell(lat, lon, resolution)
        for lon, lat in zip(frame["lon"], frame["lat"], strict=True)
    ]
    return frame.drop(columns=["lon", "lat"])


def _day_array(column: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 (or None) from the database -> datetime64[D], NaT for None."""
    days = pd.to_numeric(column).to_numpy(dtype=float)
    known = ~np.isnan(days)
    dates = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[D]")
    dates[known] = days[known].astype(np.int64).astype("datetime64[D]")
    return dates


def _timed(frame: pd.DataFrame, *, now: datetime) -> pd.DataFrame:
    """Adds, per row, in its team's working days (neighborhoods.calendars):
    first_days / answered, done_days / done, within (answered within target), waiting_past
    (no answer, past target now), closed, reopened, disputed."""
    calendars = team_calendars()
    targets = dict(Team.objects.order_by().values_list("id", "response_target_days"))
    today = local_dates([now])[0]
    created = _day_array(frame["created_on"])
    answered_on = _day_array(frame["answered_on"])
    closed_on = _day_array(frame["closed_on"])
    answered = ~np.isnat(answered_on)
    done = frame["status_done"].to_numpy(dtype=bool) & ~np.isnat(closed_on)
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
    closed = frame["closed"].to_numpy(dtype=bool)
    frame["closed"] = closed
    frame["reopened"] = closed & frame["reopened"].to_numpy(dtype=bool)
    frame["disputed"] = closed & frame["disputed"].to_numpy(dtype=bool)
    frame["pins"] = frame["pins"].to_numpy(dtype=np.int64)
    return frame


# --- figures per area ------------------------------------------------------------------------

_COUNTED = ("answered", "done", "waiting_past", "within", "closed", "reopened", "disputed")


def _figures_by(pins: pd.DataFrame, key: str) -> dict[object, dict[str, object]]:
    """SERVICE_FIGURES per value of `key`, from the weighted rows of pin_times."""
    pins = pins[pins[key].notna()]
    weights = pins["pins"].to_numpy(dtype=np.int64)
    keys = pins[key].to_numpy()
    sums = (
        pd.DataFrame(
            {"count": weights}
            | {name: np.where(pins[name].to_numpy(dtype=bool), weights, 0) for name in _COUNTED},
            index=pd.Index(keys, name="key"),
        )
        .groupby(level="key", sort=False)
        .sum()
    )
    quantiles = {}
    for what, days, events in (
        ("first_answer", "first_days", "answered"),
        ("done", "done_days", "done"),
    ):
        by_q = _km_quantiles(
            keys,
            pins[days].to_numpy(dtype=np.int64),
            pins[events].to_numpy(dtype=bool),
            weights,
            (0.5, 0.9),
        )
        for name, q in (("median", 0.5), ("p90", 0.9)):
            quantiles[f"{name}_{what}"] = by_q[q].reindex(sums.index)
    figures: dict[object, dict[str, object]] = {}
    for k, row in zip(sums.index.tolist(), sums.itertuples(index=False), strict=True):
        answered, closed = int(row.answered), int(row.closed)
        decided = answered + int(row.waiting_past)
        one: dict[str, object] = {
            "count": int(row.count),
            "answered": answered,
            "done": int(row.done),
            "waiting_past_target": int(row.waiting_past),
            "within_target_share": int(row.within) / decided if decided else None,
            "closed": closed,
            "reopened_share": int(row.reopened) / closed if closed else None,
            "disputed_share": int(row.disputed) / closed if closed else None,
        }
        figures[k] = one
    for name, frame in quantiles.items():
        for k, value, more_than in zip(
            frame.index.tolist(), frame["value"].tolist(), frame["more_than"].tolist(), strict=True
        ):
            figures[k][name] = _int_or_none(value)
            figures[k][f"{name}_more_than"] = _int_or_none(more_than)
    return figures


def _summary(pins: pd.DataFrame, key: str, index: pd.Index, min_count: int) -> pd.DataFrame:
    """SERVICE_FIGURES and `too_few` per value of `key` in `index` (areas without pins too)."""
    grouped = _figures_by(pins, key)
    empty = dict.fromkeys(SERVICE_FIGURES)
    rows = [grouped.get(k, empty | {"count": 0}) for k in index.tolist()]
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
    selection: Selection,
    *,
    min_count: int = MIN_COUNT,
    now: datetime | None = None,
    areas: NeighborhoodEngagement | None = None,
    pins: pd.DataFrame | None = None,
) -> ServiceLayer:
    """Per active neighborhood. `areas` (neighborhood_engagement of the same selection, any
    threshold) and `pins` (pin_times of the same selection at `now`) are read, not changed:
    a caller that computed them already (the planner page) passes them instead of having
    them computed again."""
    if pins is not None and now is None:
        raise ValueError("pins are timed as of a moment: pass its `now` too")
    now = now or timezone.now()
    min_count = max(min_count, MIN_COUNT)
    areas = areas if areas is not None else neighborhood_engagement(selection)
    pins = pins if pins is not None else pin_times(selection, now=now)
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
    selection: Selection,
    *,
    min_count: int = MIN_COUNT,
    now: datetime | None = None,
    areas: NeighborhoodEngagement | None = None,
    pins: pd.DataFrame | None = None,
    shapes: bool = True,
) -> ServiceLayer:
    """Per team with active neighborhoods: the pins routed to it (wherever they are), drawn as
    the union of its active neighborhoods (a MultiPolygon). `areas` and `pins` as for
    service_neighborhoods; without `shapes`, the figures only (`geometry` and `geojson`
    None): the planner page's table of teams draws no team, and the unions of detailed
    outlines took longer than the figures."""
    if pins is not None and now is None:
        raise ValueError("pins are timed as of a moment: pass its `now` too")
    now = now or timezone.now()
    min_count = max(min_count, MIN_COUNT)
    areas_frame = (areas if areas is not None else neighborhood_engagement(selection)).frame
    pins = pins if pins is not None else pin_times(selection, now=now)
    id_by_slug = dict(Team.objects.values_list("slug", "id"))
    rows = []
    for team_slug, group in areas_frame.groupby("team_slug", sort=False):
        population = group["population"]
        geometry = None
        if shapes:
            union = shapely.union_all(group.geometry.to_numpy())
            geometry = shapely.MultiPolygon(
                [p for p in shapely.get_parts(union) if p.geom_type == "Polygon"]
            )
        rows.append(
            {
                "team": group["team"].iloc[0],
                "team_slug": team_slug,
                "team_id": id_by_slug[team_slug],
                "population": None if population.isna().any() else int(population.sum()),
                "geometry": geometry,
            }
        )
    teams = pd.DataFrame(rows, columns=["team", "team_slug", "team_id", "population", "geometry"])
    teams = teams.sort_values("team", kind="stable").reset_index(drop=True)
    summary = _summary(pins, "team_id", pd.Index(teams["team_id"]), min_count)
    summary.index = teams.index
    frame = gpd.GeoDataFrame(
        pd.concat([teams, summary], axis=1), geometry="geometry", crs="EPSG:4326"
    )
    frame["geojson"] = [multipolygon_geojson(g) if shapes else None for g in frame.geometry]
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
