"""Pins relative to who lives there, per neighborhood: rates per 1,000 residents or per km²,
the ratio to the city, thin areas, the trend and the offline share. Counts are ONE
`GROUP BY neighborhood_id`; only what the caller's queryset holds is counted (public pins
filtered by geodata.engagement.query.parse_query)."""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from geodata.engagement.fields import (
    ALPHA,
    MIN_COUNT,
    NO_BOUNDARIES_MESSAGE,
    OFFLINE_CHANNELS,
    POPULATION_KNOWN_MESSAGE,
    POPULATION_UNKNOWN_MESSAGE,
    THIN_BELOW,
    TREND_DAYS,
)
from geodata.engagement.intervals import poisson_interval, significant_drop
from mapideas.map import viewport_counts
from mapideas.map.viewport_counts import CountFilters
from mapideas.models import Idea
from mapideas.pins.serializers import COORDINATE_PRECISION
from neighborhoods.models import Neighborhood
from neighborhoods.selectors import active_neighborhoods

# The published intervals of a rate: withheld with the rate below the minimum count.
INTERVAL_COLUMNS = (
    "per_1000_low",
    "per_1000_high",
    "per_km2_low",
    "per_km2_high",
    "ratio_low",
    "ratio_high",
)

# --- what is counted ----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The trend's two windows, whole days in the site's time zone, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous_start(self) -> date:
        return self.start - timedelta(days=self.days)

    @property
    def previous_end(self) -> date:
        return self.start - timedelta(days=1)

    @classmethod
    def around(
        cls, *, after: date | None, before: date | None, today: date, days: int = TREND_DAYS
    ) -> "Period":
        """The date range asked for; an open end is today, an open start `days` before it."""
        end = before or max(today, after or today)
        start = after or end - timedelta(days=days - 1)
        return cls(start=start, end=end)


def midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class Selection:
    """The pins to count: `ideas` has every filter; `undated` every filter but the date range
    (`since` inclusive, `until` exclusive), so one query counts the range and the trend."""

    ideas: QuerySet[Idea]
    undated: QuerySet[Idea]
    since: datetime | None
    until: datetime | None
    period: Period
    # `ideas`' filters as the counts kept on write (mapideas.map.viewport_counts) answer
    # them, or None when they cannot (a date range): then the pins themselves are counted.
    kept: CountFilters | None = None

    def in_range(self) -> Q:
        q = Q()
        if self.since is not None:
            q &= Q(created_at__gte=self.since)
        if self.until is not None:
            q &= Q(created_at__lt=self.until)
        return q


@dataclass(frozen=True)
class Options:
    thin_below: float = THIN_BELOW
    resolution: int = 8
    weights: str = "queen"
    alpha: float = ALPHA
    limit: int | None = None
    # Fewer pins than this in an area: no figure for it (fields.MIN_COUNT is the floor).
    min_count: int = MIN_COUNT
    attribute: str | None = None  # representativeness: this area attribute only


@dataclass(frozen=True)
class CityFigures:
    count: int  # pins in active neighborhoods
    unassigned: int  # pins in no active neighborhood (triage, or a neighborhood since removed)
    population: int | None
    area_km2: float
    per_1000: float | None
    per_km2: float | None


@dataclass(frozen=True)
class NeighborhoodEngagement:
    """One row per active neighborhood (index: its id) with NEIGHBORHOOD_FIELDS, `geometry`
    (shapely, WGS84) and `geojson` (the database's RFC 7946 text, 6 decimals)."""

    frame: gpd.GeoDataFrame
    city: CityFigures
    population_known: bool
    basis: str  # the column compared with the city: "per_1000" or "per_km2"
    thin_below: float
    period: Period
    message: str
    min_count: int = MIN_COUNT  # fewer pins than this in an area: `too_few`

    @property
    def city_rate(self) -> float | None:
        return getattr(self.city, self.basis)


def _ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference == 0 or _missing(value):
        return None
    return value / reference


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# Each neighborhood's outline as the layers read it, (shapely geometry, GeoJSON text), by
# (id, updated_at): kept per process, as the maps keep their outlines (mapideas.map.maps). An
# outline is never changed in place (a redrawn boundary is a new version's row) and every
# save sets updated_at, so a key's outline never goes stale. Reading the 77 outlines of the
# demo city on every layer was 130 ms of SpatiaLite's (its AsEWKB and AsGeoJSON), 20 of
# PostGIS's. At most _OUTLINES_KEPT, the oldest dropped first.
_OUTLINES: dict[tuple[int, datetime], tuple[shapely.Geometry, str]] = {}
_OUTLINES_KEPT = 4096


def _outlines(keys: list[tuple[int, datetime]]) -> list[tuple[shapely.Geometry, str] | None]:
    """The outline of each (id, updated_at), read from the database for those not kept; None
    for a neighborhood deleted since its key was read."""
    missing = {pk for pk, updated_at in keys if (pk, updated_at) not in _OUTLINES}
    fresh: dict[int, tuple[shapely.Geometry, str]] = {}
    if missing:
        read = (
            Neighborhood.objects.filter(pk__in=missing)
            .annotate(geojson=AsGeoJSON("geometry", precision=COORDINATE_PRECISION))
            .values_list("id", "updated_at", "geometry", "geojson")
        )
        for pk, updated_at, geometry, geojson in read:
            fresh[pk] = (shapely.from_wkb(bytes(geometry.wkb)), geojson)
            while len(_OUTLINES) >= _OUTLINES_KEPT:
                _OUTLINES.pop(next(iter(_OUTLINES)))
            _OUTLINES[(pk, updated_at)] = fresh[pk]
    # A row saved between the two reads is kept under its new key: `fresh` has it.
    return [fresh.get(key[0]) or _OUTLINES.get(key) for key in keys]


def active_frame() -> gpd.GeoDataFrame:
    """The active neighborhoods, as every engagement layer reads them (no pin figures): their
    names, teams and figures read on each call, their outlines kept (_OUTLINES)."""
    rows = list(
        active_neighborhoods()
        .order_by("name")
        .annotate(team_name=F("team__name"), team_key=F("team__slug"))
        .values_list(
            "id",
            "name",
            "slug",
            "team_name",
            "team_key",
            "population",
            "area_m2",
            "updated_at",
        )
    )
    found = _outlines([(r[0], r[7]) for r in rows])
    rows = [r for r, outline in zip(rows, found, strict=True) if outline is not None]
    outlines = [outline for outline in found if outline is not None]
    index = pd.Index([r[0] for r in rows], name="id")
    frame = gpd.GeoDataFrame(
        {
            "name": [r[1] for r in rows],
            "slug": [r[2] for r in rows],
            "team": [r[3] for r in rows],
            "team_slug": [r[4] for r in rows],
            "population": pd.array([r[5] for r in rows], dtype="Int64"),
            "area_km2": np.array([r[6] / 1e6 for r in rows], dtype=float),
            "geojson": [geojson for _geometry, geojson in outlines],
        },
        geometry=gpd.GeoSeries(
            [geometry for geometry, _geojson in outlines], crs="EPSG:4326", index=index
        ),
        index=index,
    )
    return frame


def knows_population(frame: gpd.GeoDataFrame) -> bool:
    """Whether rates are per resident: every active neighborhood has a population, and the
    city has residents (otherwise per km²)."""
    population = frame["population"]
    return len(frame) > 0 and not population.isna().any() and population.sum() > 0


# The columns of _counted's frame: pins per neighborhood id (-1 for none).
COUNTED_COLUMNS = ["neighborhood_id", "count", "offline_count", "count_current", "count_previous"]


def _counts(
    selection: Selection,
    slug_of_active: dict[str, int],
    pins: pd.DataFrame | None = None,
    *,
    trends: bool = True,
    counted: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, int]:
    """Pins per active neighborhood: (frame indexed by neighborhood id, pins elsewhere).

    One GROUP BY on the pin's neighborhood_id, no join, or none with `pins` (see
    neighborhood_engagement), or, without `trends` and a date range, the counts kept on
    write (the trend windows' columns are then 0: the caller does not publish them), or
    `counted`, _counted's frame the caller already read.
    Closed pins keep the neighborhood of the boundary version that routed them: they are
    counted with the active neighborhood of the same slug, as IdeaFilter's `neighborhood`
    filter does.
    """
    columns = COUNTED_COLUMNS
    if counted is not None:
        counts = counted[columns]
    elif pins is not None:
        counts = _counted_from_groups(pins, selection.period)[columns]
    elif not trends and selection.kept is not None:
        counts = _counted_kept(selection)
    else:
        counts = _counted(selection, trends=trends)
    ids = [int(i) for i in counts["neighborhood_id"] if i != -1]
    slug_by_id = dict(Neighborhood.objects.filter(id__in=ids).values_list("id", "slug"))
    counts["active_id"] = [
        slug_of_active.get(slug_by_id.get(i, ""), -1) for i in counts["neighborhood_id"]
    ]
    elsewhere = int(counts.loc[counts["active_id"] == -1, "count"].sum())
    by_active = counts[counts["active_id"] != -1].groupby("active_id")[columns[1:]].sum()
    return by_active, elsewhere


def _counted_from_groups(pins: pd.DataFrame, period: Period) -> pd.DataFrame:
    """_counted's frame from geodata.engagement.service.pin_times' groups (of a selection
    without a date range): their local day pinned (`created_on`, days since 1970-01-01, in
    the site's time zone as `midnight`), `offline` flag and `pins`, summed by neighborhood."""
    epoch = date(1970, 1, 1)
    days = pins["created_on"].to_numpy(dtype=np.int64)
    weights = pins["pins"].to_numpy(dtype=np.int64)
    start, end = (period.start - epoch).days, (period.end - epoch).days
    previous_start = (period.previous_start - epoch).days
    current = (days >= start) & (days <= end)
    previous = (days >= previous_start) & (days < start)
    neighborhood = pins["neighborhood_id"].fillna(-1).to_numpy(dtype=np.int64)
    frame = pd.DataFrame(
        {
            "neighborhood_id": neighborhood,
            "count": weights,
            "offline_count": np.where(pins["offline"].to_numpy(dtype=bool), weights, 0),
            "count_current": np.where(current, weights, 0),
            "count_previous": np.where(previous, weights, 0),
        }
    )
    return frame.groupby("neighborhood_id", as_index=False, sort=False).sum()


def _counted(selection: Selection, *, trends: bool = True) -> pd.DataFrame:
    """The GROUP BY of _counts: pins in the range, offline, in each trend window, by the
    pin's neighborhood_id (-1 for none); without `trends`, the windows' columns are 0.

    Only the pins some column counts are read: those created from the earliest window's
    start to the latest one's end, a range of the creation index (a 45-day range of a
    100,000-pin city read every pin before: 170 ms on SpatiaLite, for a few thousand)."""
    in_range = selection.in_range()
    period = selection.period
    current_window = (midnight(period.start), midnight(period.end + timedelta(days=1)))
    previous_window = (midnight(period.previous_start), midnight(period.start))
    current = Q(created_at__gte=current_window[0]) & Q(created_at__lt=current_window[1])
    previous = Q(created_at__gte=previous_window[0]) & Q(created_at__lt=previous_window[1])
    windows = [(selection.since, selection.until)]
    if trends:
        windows += [current_window, previous_window]
    starts, ends = [start for start, _ in windows], [end for _, end in windows]
    pins = selection.undated.order_by()
    if None not in starts:
        pins = pins.filter(created_at__gte=min(starts))  # type: ignore[type-var]
    if None not in ends:
        pins = pins.filter(created_at__lt=max(ends))  # type: ignore[type-var]
    grouped = list(
        pins.values_list("neighborhood_id").annotate(
            count=Count("id", filter=in_range),
            offline_count=Count("id", filter=in_range & Q(channel__in=OFFLINE_CHANNELS)),
            count_current=Count("id", filter=current),
            count_previous=Count("id", filter=previous),
        )
    )
    columns = COUNTED_COLUMNS
    # No neighborhood (a pin in a gap: the triage team's) is -1, like a removed neighborhood.
    frame = pd.DataFrame(
        [(-1 if row[0] is None else row[0], *row[1:]) for row in grouped], columns=columns
    )
    if not trends:
        # Read only in the range: not the windows' counts, which the caller does not publish
        # (as _counted_kept).
        frame["count_current"] = frame["count_previous"] = 0
    return frame


def _counted_kept(selection: Selection) -> pd.DataFrame:
    """_counted's frame without the trend windows (0), from the counts kept on write
    (selection.kept: a selection without a date range, with filters they can answer)."""
    assert selection.kept is not None
    rows = viewport_counts.neighborhood_counts(
        using=selection.ideas.db, filters=selection.kept, offline_channels=OFFLINE_CHANNELS
    )
    columns = COUNTED_COLUMNS
    # The summary's neighborhood 0 (outside every neighborhood) is _counted's -1.
    return pd.DataFrame(
        [(nid or -1, n, offline_n, 0, 0) for nid, n, offline_n in rows], columns=columns
    )


def neighborhood_engagement(
    selection: Selection,
    *,
    thin_below: float = THIN_BELOW,
    min_count: int = MIN_COUNT,
    pins: pd.DataFrame | None = None,
    trends: bool = True,
    counted: pd.DataFrame | None = None,
) -> NeighborhoodEngagement:
    """The neighborhood figures, with honest small numbers (see `intervals`):

    - every rate has its Poisson interval (per_1000_low/high, per_km2_low/high, ratio_low/high);
    - `too_few`: fewer than `min_count` pins (never below MIN_COUNT) in the range: no figure is
      published, neither the point figures (per_1000, per_km2, ratio, offline_share) nor their
      intervals (None); the flags still follow the intervals, kept unpublished;
    - `change` is None where the two trend windows hold fewer than `min_count` pins together;
    - `thin` only where the ratio's upper bound is below `thin_below` (0 pins among 50,000
      residents is thin, among 40 it says nothing);
    - `thinning` only where the drop from the previous window is significant (`intervals`).

    The unrounded point figures stay in the frame as raw_per_1000, raw_per_km2 and raw_ratio
    (not published): Gi* and the outreach ranking need every neighborhood's rate.

    Without `trends` (a caller that publishes no neighborhood's change: the hexagons), the
    trend windows are not counted (count_current, count_previous and change are NA, thinning
    False), so a selection without a date range reads the counts kept on write.

    `pins`, geodata.engagement.service.pin_times of the same selection when it has no date
    range (the planner page reads them for the response times), are counted instead of
    reading every pin again: a date range's trend windows reach outside the pins read.

    `counted`, the pins per neighborhood id as _counted gives them (its columns, the trend
    windows' 0), already read from the same selection by a caller that needs the pins
    grouped finer (geodata.engagement.hexagons.pin_groups, by neighborhood and cell in one
    scan), is used as it is; only without `trends`.
    """
    if pins is not None and (selection.since is not None or selection.until is not None):
        raise ValueError("pins read for a date range cannot give the trend's windows")
    if counted is not None and trends:
        raise ValueError("counts read without the trend's windows cannot give its change")
    min_count = max(min_count, MIN_COUNT)
    frame = active_frame()
    counts, elsewhere = _counts(
        selection,
        dict(zip(frame["slug"], frame.index, strict=True)),
        pins,
        trends=trends,
        counted=counted,
    )
    for column in ("count", "offline_count", "count_current", "count_previous"):
        frame[column] = counts[column].reindex(frame.index, fill_value=0).astype(int)

    population = frame["population"]
    population_known = knows_population(frame)
    area = frame["area_km2"].where(frame["area_km2"] > 0)
    pins_low, pins_high = poisson_interval(frame["count"].to_numpy())
    pins_low = pd.Series(pins_low, index=frame.index)
    pins_high = pd.Series(pins_high, index=frame.index)
    frame["raw_per_km2"] = frame["count"] / area
    frame["per_km2_low"] = pins_low / area
    frame["per_km2_high"] = pins_high / area
    nothing = pd.Series(np.nan, index=frame.index)
    if population_known:
        thousands = population.astype(float).where(population > 0) / 1000
        frame["raw_per_1000"] = frame["count"] / thousands
        frame["per_1000_low"] = pins_low / thousands
        frame["per_1000_high"] = pins_high / thousands
    else:
        frame["raw_per_1000"] = nothing
        frame["per_1000_low"] = nothing
        frame["per_1000_high"] = nothing

    total = int(frame["count"].sum())
    total_area = float(frame["area_km2"].sum())
    city_population: int | None = None
    city_per_1000 = None
    if population_known:
        city_population = int(population.sum())
        # Pins of the neighborhoods with residents over their residents: a park with no
        # residents is not compared, and does not lift the city rate either.
        populated = frame["population"] > 0
        city_per_1000 = float(frame.loc[populated, "count"].sum()) / city_population * 1000
    city = CityFigures(
        count=total,
        unassigned=elsewhere,
        population=city_population,
        area_km2=total_area,
        per_1000=city_per_1000,
        per_km2=total / total_area if total_area > 0 else None,
    )
    basis = "per_1000" if population_known else "per_km2"
    reference = getattr(city, basis)
    if reference:
        frame["raw_ratio"] = frame[f"raw_{basis}"] / reference
        frame["ratio_low"] = frame[f"{basis}_low"] / reference
        frame["ratio_high"] = frame[f"{basis}_high"] / reference
    else:
        frame["raw_ratio"] = frame["ratio_low"] = frame["ratio_high"] = nothing
    frame["too_few"] = frame["count"] < min_count
    shown = ~frame["too_few"]
    frame["per_1000"] = frame["raw_per_1000"].where(shown)
    frame["per_km2"] = frame["raw_per_km2"].where(shown)
    frame["ratio"] = frame["raw_ratio"].where(shown)
    frame["thin"] = (frame["ratio_high"] < thin_below).fillna(False).astype(bool)
    # Below the minimum count no figure is shown, in any output: the intervals go too (the
    # `thin` flag above was read from them, as a flag, not a figure).
    for column in INTERVAL_COLUMNS:
        frame[column] = frame[column].where(shown)
    frame["offline_share"] = (frame["offline_count"] / frame["count"]).where(shown)
    if trends:
        trend_pins = frame["count_current"] + frame["count_previous"]
        frame["change"] = (
            (frame["count_current"] - frame["count_previous"])
            .astype("Int64")
            .where(trend_pins >= min_count, pd.NA)
        )
        frame["thinning"] = significant_drop(
            frame["count_current"].to_numpy(), frame["count_previous"].to_numpy()
        ).astype(bool)
    else:  # not counted: no figure rather than a wrong one
        for column in ("count_current", "count_previous", "change"):
            frame[column] = pd.array([pd.NA] * len(frame), dtype="Int64")
        frame["thinning"] = False

    if len(frame) == 0:
        message = NO_BOUNDARIES_MESSAGE
    elif population_known:
        message = POPULATION_KNOWN_MESSAGE.format(rate=city_per_1000)
    else:
        message = POPULATION_UNKNOWN_MESSAGE.format(
            missing=int(population.isna().sum()) or len(frame), total=len(frame)
        )
    return NeighborhoodEngagement(
        frame=frame,
        city=city,
        population_known=bool(population_known),
        basis=basis,
        thin_below=thin_below,
        period=selection.period,
        message=message,
        min_count=min_count,
    )
