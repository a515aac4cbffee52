"""Where engagement is thin: pins relative to who lives there, by neighborhood and by hexagon.

A raw density heatmap mostly shows where people live. These functions put the pins over a
denominator instead, and say where the city hears less than it should:

- `neighborhood_engagement`: per neighborhood, pins per 1,000 residents (when the population of
  every neighborhood is known) and per km², the ratio to the city-wide rate, a `thin` flag
  (ratio below `thin_below`), the trend against the previous period of the same length and the
  share of input that came from offline channels. Counts are ONE `GROUP BY neighborhood_id`.
- `hexagon_engagement`: H3 cells (resolution 7-9) with pin counts; with population, each
  cell's residents by areal weighting of the neighborhood populations.
- `coldspots`: Getis-Ord Gi* (esda) on the neighborhood rate, permutation p-values with a fixed
  seed, Benjamini-Hochberg false discovery rate: only significant cold/hot spots are flagged.
- `outreach`: neighborhoods ranked by how many voices an in-person event would add.

Which rate is compared ("basis"): pins per 1,000 residents when every active neighborhood has a
population, else pins per km² (and `population_known` is False with a message saying so):
per-capita figures are never made up from a partial or missing population.

Only what the caller's queryset holds is counted: callers pass public pins filtered by
mapideas.pins.filters.IdeaFilter (geodata.engagement.query.parse_query).
"""

import json
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice, repeat

import esda
import geopandas as gpd
import h3
import h3.api.basic_int as h3_int
import libpysal
import numpy as np
import pandas as pd
import psycopg
import shapely
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db import connections
from django.db.models import Count, F, FloatField, Func, Q, QuerySet
from django.utils import timezone
from pyproj import CRS, Transformer

from mapideas.cells import CELL_FIELDS
from mapideas.models import Idea
from mapideas.pins.serializers import COORDINATE_PRECISION
from neighborhoods.models import Neighborhood
from neighborhoods.selectors import active_neighborhoods

# Input gathered offline (phone, meetings, paper, letters, imports...): the model's one list,
# so the offline share and the staff entry form (services.STAFF_ENTRY_CHANNELS) agree.
OFFLINE_CHANNELS = tuple(str(c) for c in Idea.OFFLINE_CHANNELS)
THIN_BELOW = 0.5  # a neighborhood below half the city rate is thin
TREND_DAYS = 90  # the trend period when no date range is given
ALPHA = 0.05  # false discovery rate of the cold/hot spot test
# 9999, not esda's 999: with Benjamini-Hochberg over n neighborhoods the smallest p-value must
# be below alpha / n (0.00065 for Chicago's 77), and 999 permutations cannot go under 0.001.
PERMUTATIONS = 9999
# Fixed, so the same data gives the same p-values on every request and every machine.
SEED = 20261126
RESOLUTIONS = (7, 8, 9)
WEIGHTS = ("queen", "distance")
# What the outreach score multiplies by (see `outreach`).
NO_OFFLINE_BOOST = 1.5
THINNING_BOOST = 1.25
# Pins are read from the database this many at a time for the hexagon counts (SpatiaLite).
CHUNK_SIZE = 20000

try:
    # The compiled function under h3.api.basic_int.latlng_to_cell (which only passes its
    # integer through): the same cell, a third faster per call, for a million calls a request.
    from h3._cy import latlng_to_cell as _latlng_to_cell
except ImportError:  # h3 moved its internals: the public function gives the same cells
    _latlng_to_cell = h3_int.latlng_to_cell

POPULATION_UNKNOWN_MESSAGE = (
    "{missing} of {total} neighborhoods have no population: figures are pins per km² only, "
    "and no per-resident rate is given."
)
POPULATION_KNOWN_MESSAGE = (
    "Rates are pins per 1,000 residents, compared with the city-wide rate of {rate:.3f}."
)
NO_BOUNDARIES_MESSAGE = "There are no active boundaries: nothing to compare."

# --- what each layer carries (the API, the exports and the README list these) ---------------

NEIGHBORHOOD_FIELDS = (
    "name",
    "slug",
    "team",
    "team_slug",
    "population",
    "area_km2",
    "count",
    "per_1000",
    "per_km2",
    "ratio",
    "thin",
    "offline_count",
    "offline_share",
    "count_current",
    "count_previous",
    "change",
    "thinning",
)
COLDSPOT_FIELDS = (
    *NEIGHBORHOOD_FIELDS,
    "z_score",
    "p_value",
    "significance",
    "neighbors",
    "island",
)
HEXAGON_FIELDS = ("cell", "count", "population", "area_km2", "per_1000", "per_km2", "ratio", "thin")
# The outreach list is the neighborhood layer, ranked, with why each one is suggested.
OUTREACH_FIELDS = ("rank", *NEIGHBORHOOD_FIELDS, "missing", "score", "reason")


@dataclass(frozen=True)
class Fields:
    """The properties of a layer, in order, and which are numbers or booleans (else text)."""

    names: tuple[str, ...]
    integers: frozenset[str]
    floats: frozenset[str]
    booleans: frozenset[str]


_INTEGERS = frozenset(
    {
        "population",
        "count",
        "offline_count",
        "count_current",
        "count_previous",
        "change",
        "neighbors",
        "rank",
    }
)
_FLOATS = frozenset(
    {
        "area_km2",
        "per_1000",
        "per_km2",
        "ratio",
        "offline_share",
        "z_score",
        "p_value",
        "missing",
        "score",
    }
)
_BOOLEANS = frozenset({"thin", "thinning", "island"})


def _fields(names: tuple[str, ...], *, float_population: bool = False) -> Fields:
    integers = _INTEGERS - {"population"} if float_population else _INTEGERS
    floats = _FLOATS | {"population"} if float_population else _FLOATS
    chosen = frozenset(names)
    return Fields(names, integers & chosen, floats & chosen, _BOOLEANS & chosen)


# Layer name (as in /export/<layer>.<ext>) -> its properties. A hexagon's residents are an
# areal-weighted share, so not a whole number.
LAYER_FIELDS = {
    "engagement-neighborhoods": _fields(NEIGHBORHOOD_FIELDS),
    "engagement-hexagons": _fields(HEXAGON_FIELDS, float_population=True),
    "coldspots": _fields(COLDSPOT_FIELDS),
    "outreach": _fields(OUTREACH_FIELDS),
}
LAYER_GEOMETRY_TYPES = {
    "engagement-neighborhoods": "MultiPolygon",
    "engagement-hexagons": "Polygon",
    "coldspots": "MultiPolygon",
    "outreach": "MultiPolygon",
}


class Significance:
    COLD = "cold"
    HOT = "hot"
    NOT_SIGNIFICANT = "not significant"
    # Too few neighborhoods with a rate (fewer than 3), or none for this one (no residents).
    NOT_TESTED = "not tested"
    ALL = (COLD, HOT, NOT_SIGNIFICANT, NOT_TESTED)


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

    @property
    def city_rate(self) -> float | None:
        return getattr(self.city, self.basis)


def _ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference == 0 or _missing(value):
        return None
    return value / reference


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _active_frame() -> gpd.GeoDataFrame:
    rows = list(
        active_neighborhoods()
        .order_by("name")
        .annotate(
            geojson=AsGeoJSON("geometry", precision=COORDINATE_PRECISION),
            team_name=F("team__name"),
            team_key=F("team__slug"),
        )
        .values_list(
            "id",
            "name",
            "slug",
            "team_name",
            "team_key",
            "population",
            "area_m2",
            "geometry",
            "geojson",
        )
    )
    geometries = shapely.from_wkb([bytes(r[7].wkb) for r in rows]) if rows else []
    index = pd.Index([r[0] for r in rows], name="id")
    frame = gpd.GeoDataFrame(
        {
            "name": [r[1] for r in rows],
            "slug": [r[2] for r in rows],
            "team": [r[3] for r in rows],
            "team_slug": [r[4] for r in rows],
            "population": pd.array([r[5] for r in rows], dtype="Int64"),
            "area_km2": np.array([r[6] / 1e6 for r in rows], dtype=float),
            "geojson": [r[8] for r in rows],
        },
        geometry=gpd.GeoSeries(geometries, crs="EPSG:4326", index=index),
        index=index,
    )
    return frame


def _counts(selection: Selection, slug_of_active: dict[str, int]) -> tuple[pd.DataFrame, int]:
    """Pins per active neighborhood: (frame indexed by neighborhood id, pins elsewhere).

    One GROUP BY on the pin's neighborhood_id, no join. Closed pins keep the neighborhood of
    the boundary version that routed them: they are counted with the active neighborhood of
    the same slug, as IdeaFilter's `neighborhood` filter does.
    """
    in_range = selection.in_range()
    period = selection.period
    current = Q(created_at__gte=midnight(period.start)) & Q(
        created_at__lt=midnight(period.end + timedelta(days=1))
    )
    previous = Q(created_at__gte=midnight(period.previous_start)) & Q(
        created_at__lt=midnight(period.start)
    )
    grouped = list(
        selection.undated.order_by()
        .values_list("neighborhood_id")
        .annotate(
            count=Count("id", filter=in_range),
            offline_count=Count("id", filter=in_range & Q(channel__in=OFFLINE_CHANNELS)),
            count_current=Count("id", filter=current),
            count_previous=Count("id", filter=previous),
        )
    )
    columns = ["neighborhood_id", "count", "offline_count", "count_current", "count_previous"]
    # No neighborhood (a pin in a gap: the triage team's) is -1, like a removed neighborhood.
    counts = pd.DataFrame(
        [(-1 if row[0] is None else row[0], *row[1:]) for row in grouped], columns=columns
    )
    ids = [int(i) for i in counts["neighborhood_id"] if i != -1]
    slug_by_id = dict(Neighborhood.objects.filter(id__in=ids).values_list("id", "slug"))
    counts["active_id"] = [
        slug_of_active.get(slug_by_id.get(i, ""), -1) for i in counts["neighborhood_id"]
    ]
    elsewhere = int(counts.loc[counts["active_id"] == -1, "count"].sum())
    by_active = counts[counts["active_id"] != -1].groupby("active_id")[columns[1:]].sum()
    return by_active, elsewhere


def neighborhood_engagement(
    selection: Selection, *, thin_below: float = THIN_BELOW
) -> NeighborhoodEngagement:
    frame = _active_frame()
    counts, elsewhere = _counts(selection, dict(zip(frame["slug"], frame.index, strict=True)))
    for column in ("count", "offline_count", "count_current", "count_previous"):
        frame[column] = counts[column].reindex(frame.index, fill_value=0).astype(int)

    population = frame["population"]
    population_known = len(frame) > 0 and not population.isna().any() and population.sum() > 0
    area = frame["area_km2"].where(frame["area_km2"] > 0)
    frame["per_km2"] = frame["count"] / area
    if population_known:
        residents = population.astype(float).where(population > 0)
        frame["per_1000"] = frame["count"] / residents * 1000
    else:
        frame["per_1000"] = np.nan

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
    frame["ratio"] = frame[basis] / reference if reference else pd.Series(np.nan, index=frame.index)
    frame["thin"] = (frame["ratio"] < thin_below).fillna(False).astype(bool)
    frame["offline_share"] = frame["offline_count"] / frame["count"].where(frame["count"] > 0)
    frame["change"] = frame["count_current"] - frame["count_previous"]
    frame["thinning"] = frame["count_current"] < frame["count_previous"]

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
    )


# --- cold and hot spots: Getis-Ord Gi* -------------------------------------------------------


def _equal_area(geometries: gpd.GeoSeries) -> Transformer:
    """WGS84 to a Lambert azimuthal equal-area projection centred on the geometries, in
    metres: areas are true there, and distances good to well under 1% across a city."""
    min_x, min_y, max_x, max_y = geometries.total_bounds
    centre_lon, centre_lat = (min_x + max_x) / 2, (min_y + max_y) / 2
    local = CRS.from_proj4(
        f"+proj=laea +lat_0={centre_lat} +lon_0={centre_lon} +datum=WGS84 +units=m"
    )
    return Transformer.from_crs(4326, local, always_xy=True)


def _project(geometries, transformer: Transformer):
    return shapely.transform(geometries, transformer.transform, interleaved=False)


def benjamini_hochberg(p_values: np.ndarray, alpha: float) -> np.ndarray:
    """Which tests are significant with the false discovery rate held at `alpha`.

    Sort the n p-values; k is the largest rank with p(k) <= alpha * k / n; the k smallest are
    significant. (esda.fdr returns alpha / n when nothing passes, which is Bonferroni; this is
    the plain Benjamini-Hochberg step-up procedure.)
    """
    p = np.asarray(p_values, dtype=float)
    n = len(p)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(p, kind="stable")
    passing = np.nonzero(p[order] <= alpha * np.arange(1, n + 1) / n)[0]
    significant = np.zeros(n, dtype=bool)
    if len(passing):
        significant[order[: passing[-1] + 1]] = True
    return significant


def spatial_weights(
    geometries: gpd.GeoSeries, kind: str = "queen"
) -> tuple[libpysal.weights.W, np.ndarray]:
    """Binary weights between the geometries, and which of them had no neighbour.

    queen: polygons sharing a border or a corner. A neighborhood touching no other (an island,
    an exclave) is given its nearest one (by representative point) instead, so every
    neighborhood is tested against a neighbourhood; `island` says which were.
    distance: neighborhoods whose representative points are within the smallest distance
    that gives every one of them a neighbour.
    """
    points = _project(geometries.representative_point().values, _equal_area(geometries))
    coordinates = shapely.get_coordinates(points)
    ids = list(range(len(geometries)))
    if kind == "distance":
        threshold = libpysal.weights.util.min_threshold_distance(coordinates)
        weights = libpysal.weights.DistanceBand(
            coordinates,
            threshold=threshold * (1 + 1e-9),
            binary=True,
            ids=ids,
            silence_warnings=True,
        )
        return weights, np.zeros(len(ids), dtype=bool)
    frame = gpd.GeoDataFrame(geometry=geometries.reset_index(drop=True))
    weights = libpysal.weights.Queen.from_dataframe(frame, use_index=False, silence_warnings=True)
    islands = np.zeros(len(ids), dtype=bool)
    if weights.islands:
        islands[weights.islands] = True
        nearest = libpysal.weights.KNN(coordinates, k=1, ids=ids, silence_warnings=True)
        with warnings.catch_warnings():
            # A city of separate parts stays "not fully connected"; that is expected here.
            warnings.filterwarnings("ignore", message="The weights matrix is not fully connected")
            weights = libpysal.weights.util.attach_islands(weights, nearest, silence_warnings=True)
    return weights, islands


@dataclass(frozen=True)
class Coldspots:
    """NeighborhoodEngagement's frame plus z_score, p_value, significance, neighbors, island."""

    engagement: NeighborhoodEngagement
    frame: gpd.GeoDataFrame
    weights: str
    alpha: float
    permutations: int
    seed: int
    message: str


def coldspots(
    engagement: NeighborhoodEngagement,
    *,
    weights: str = "queen",
    alpha: float = ALPHA,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> Coldspots:
    """Getis-Ord Gi* on the neighborhood rate (the engagement's basis).

    Binary weights with each neighborhood its own neighbour (Gi*, star=True). `z_score` is
    the analytical z of Gi*; `p_value` the two-sided pseudo p-value of `permutations`
    conditional permutations (seeded: reproducible), 2 (k + 1) / (permutations + 1) where k
    permutations are at least as extreme. A neighborhood is a cold (hot) spot when
    its p-value survives the Benjamini-Hochberg correction at `alpha` over all tested ones
    and its z-score is negative (positive). Neighborhoods with no rate (no residents) are left
    out of the test and of everyone's neighbourhood.
    """
    frame = engagement.frame.copy()
    frame["z_score"] = np.nan
    frame["p_value"] = np.nan
    frame["significance"] = Significance.NOT_TESTED
    frame["neighbors"] = pd.array([None] * len(frame), dtype="Int64")
    frame["island"] = False
    rate = frame[engagement.basis]
    tested = frame.index[rate.notna()]
    if len(tested) < 3:
        message = "Fewer than 3 neighborhoods have a rate: no cold or hot spot test."
        return Coldspots(engagement, frame, weights, alpha, permutations, seed, message)
    values = rate.loc[tested].to_numpy(dtype=float)
    w, islands = spatial_weights(frame.loc[tested, "geometry"], weights)
    frame.loc[tested, "neighbors"] = np.array([w.cardinalities[i] for i in range(len(tested))])
    frame.loc[tested, "island"] = islands
    if np.ptp(values) == 0:
        # The same rate everywhere: nothing stands out (and Gi*'s variance would be 0).
        frame.loc[tested, "significance"] = Significance.NOT_SIGNIFICANT
        message = "Every neighborhood has the same rate: no cold or hot spot."
        return Coldspots(engagement, frame, weights, alpha, permutations, seed, message)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # "The alternative hypothesis ... is changing": the two-sided p-value is taken below.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="esda")
        # Raised while esda adds the self-weights; the weights were checked above.
        warnings.filterwarnings("ignore", message="The weights matrix is not fully connected")
        gi = esda.G_Local(
            values,
            w,
            transform="B",
            star=True,
            permutations=permutations,
            seed=seed,
            n_jobs=1,  # a web request: no worker processes
            keep_simulations=False,
        )
    z = np.asarray(gi.Zs, dtype=float)
    # esda's p_sim is one-sided, in the direction of the observed value, computed in float32
    # as (k + 1) / (permutations + 1): take the exact fraction, then double it (two-sided, as
    # esda now recommends), since a neighborhood is tested for being cold or hot.
    exact = np.round(np.asarray(gi.p_sim, dtype=float) * (permutations + 1)) / (permutations + 1)
    p = np.minimum(1.0, 2 * exact)
    significant = benjamini_hochberg(p, alpha)
    significance = np.where(
        significant & (z < 0),
        Significance.COLD,
        np.where(significant & (z > 0), Significance.HOT, Significance.NOT_SIGNIFICANT),
    )
    frame.loc[tested, "z_score"] = z
    frame.loc[tested, "p_value"] = p
    frame.loc[tested, "significance"] = significance
    cold, hot = (
        int((significance == Significance.COLD).sum()),
        int((significance == Significance.HOT).sum()),
    )
    message = (
        f"Getis-Ord Gi* on {engagement.basis}, {weights} weights, {permutations} permutations "
        f"(seed {seed}), false discovery rate {alpha}: {cold} cold and {hot} hot spots."
    )
    return Coldspots(engagement, frame, weights, alpha, permutations, seed, message)


# --- hexagons ---------------------------------------------------------------------------------


def _lon_lat(ideas: QuerySet[Idea]) -> Iterator[np.ndarray]:
    """The pins' coordinates as (n, 2) arrays of lon, lat: on PostgreSQL all at once, else
    CHUNK_SIZE rows at a time."""
    if connections[ideas.db].vendor == "postgresql":
        yield _lon_lat_postgresql(ideas)
        return
    rows = (
        ideas.order_by()
        .annotate(
            lon=Func(F("location"), function="ST_X", output_field=FloatField()),
            lat=Func(F("location"), function="ST_Y", output_field=FloatField()),
        )
        .values_list("lon", "lat")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    while chunk := list(islice(rows, CHUNK_SIZE)):
        yield np.array(chunk, dtype=float)


def _lon_lat_postgresql(ideas: QuerySet[Idea]) -> np.ndarray:
    """Every pin's lon, lat in one row of two float8 arrays, read in binary: 16 bytes a pin
    and no Python object per row (a row per pin through the ORM took 3x as long)."""
    # The PostgreSQL backend's own module: imported only where the database is PostgreSQL.
    from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations

    sql, params = ideas.order_by().values_list("location").query.sql_with_params()
    # The ORM's own SQL as a subquery; its values are bound by compose_sql.
    arrays = f"SELECT array_agg(ST_X(p.location)), array_agg(ST_Y(p.location)) FROM ({sql}) p"  # noqa: S608
    # The queryset's own database: the replica when it was asked for (mapideas.plumbing.db_routers).
    connection = connections[ideas.db]
    # Only called on PostgreSQL (_lon_lat checks the vendor), whose operations (PostGIS's
    # too) have compose_sql.
    assert isinstance(connection.ops, PostgresOperations)
    query = connection.ops.compose_sql(arrays, params)
    connection.ensure_connection()
    # A server-binding cursor of the same connection (and transaction): Django's own
    # cursors bind on the client, and those cannot return binary results. The parameters
    # were bound above, by the driver's own quoting (compose_sql), as Django's cursor does.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, binary=True)
        row = cursor.fetchone()
    # An aggregate without GROUP BY: always one row (of NULLs when there are no pins).
    assert row is not None
    lon, lat = row
    if lon is None:
        return np.empty((0, 2), dtype=float)
    return np.column_stack((np.array(lon, dtype=float), np.array(lat, dtype=float)))


def pin_cells(ideas: QuerySet[Idea], resolution: int) -> pd.Series:
    """Pins per H3 cell at `resolution` (index: the cell as an unsigned integer).

    One GROUP BY on the cell stored with each pin at that resolution (mapideas.cells). Pins
    stored without cells (rows written by raw SQL) come back as the NULL group; only then
    are their coordinates read and binned here.
    """
    field = CELL_FIELDS[resolution]
    counts: dict[int, int] = {}
    unbinned = 0
    for cell, pins in ideas.order_by().values_list(field).annotate(pins=Count("*")):
        if cell is None:
            unbinned = pins
        else:
            counts[cell] = pins
    if unbinned:
        for cell, pins in _cells_from_coordinates(
            ideas.filter(**{f"{field}__isnull": True}), resolution
        ).items():
            counts[cell] = counts.get(cell, 0) + pins
    if not counts:
        return pd.Series(dtype=np.int64)
    series = pd.Series(counts, dtype=np.int64)
    series.index = series.index.astype(np.uint64)
    return series.sort_index()


def _cells_from_coordinates(ideas: QuerySet[Idea], resolution: int) -> dict[int, int]:
    """Pins per cell computed from their coordinates (for pins stored without a cell).

    h3-py 4 has no vectorised latlng_to_cell (v3's h3.unstable.vect is gone), so the C call
    is mapped over the coordinates with no Python work in between: about 0.75 s per million
    pins on one core.
    """
    cells = [
        np.fromiter(
            map(_latlng_to_cell, chunk[:, 1].tolist(), chunk[:, 0].tolist(), repeat(resolution)),
            dtype=np.uint64,
            count=len(chunk),
        )
        for chunk in _lon_lat(ideas)
    ]
    if not cells:
        return {}
    unique, counts = np.unique(np.concatenate(cells), return_counts=True)
    return {int(cell): int(n) for cell, n in zip(unique, counts, strict=True)}


def _covering_cells(geometry: shapely.Geometry, resolution: int) -> list[int]:
    """The cells that overlap the polygon (not only those whose centre is inside it): with
    them, the areal weights of every neighborhood add up to 1."""
    shape = h3.geo_to_h3shape(shapely.geometry.mapping(geometry))
    return [
        h3.str_to_int(c)
        for c in h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap")
    ]


def _cell_polygon(cell: int) -> shapely.Polygon:
    return shapely.Polygon([(lng, lat) for lat, lng in h3_int.cell_to_boundary(cell)])


def polygon_geojson(polygon: shapely.Polygon) -> str:
    """RFC 7946 text of a ring-only polygon: counter-clockwise, 6 decimals."""
    polygon = shapely.orient_polygons(polygon)
    ring = [
        [round(x, COORDINATE_PRECISION), round(y, COORDINATE_PRECISION)]
        for x, y in polygon.exterior.coords
    ]
    return json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":"))


@dataclass(frozen=True)
class HexagonEngagement:
    """One row per cell (index: the cell as an integer) with HEXAGON_FIELDS, `geometry` and
    `geojson`: every cell overlapping a neighborhood, and every other cell holding a pin."""

    engagement: NeighborhoodEngagement
    frame: gpd.GeoDataFrame
    resolution: int
    message: str


def areal_population(
    neighborhoods: gpd.GeoDataFrame, cells: list[int], resolution: int
) -> pd.Series:
    """Residents of each cell: sum over neighborhoods of population × area(cell ∩ n) / area(n).

    Areas are measured in one equal-area projection; `cells` must cover the neighborhoods
    (`_covering_cells`), so each neighborhood's population is shared out in full.
    """
    population = pd.Series(0.0, index=pd.Index(cells, dtype=np.uint64))
    if len(neighborhoods) == 0 or not cells:
        return population
    to_metres = _equal_area(neighborhoods.geometry)
    parts = _project(neighborhoods.geometry.values, to_metres)
    hexagons = _project(np.array([_cell_polygon(c) for c in cells], dtype=object), to_metres)
    tree = shapely.STRtree(hexagons)
    nbhd, cell = tree.query(parts, predicate="intersects")
    shared = shapely.area(shapely.intersection(parts[nbhd], hexagons[cell]))
    whole = shapely.area(parts)
    residents = neighborhoods["population"].astype(float).to_numpy()
    shares = residents[nbhd] * shared / whole[nbhd]
    summed = np.bincount(cell, weights=shares, minlength=len(cells))
    population[:] = summed
    return population


def hexagon_engagement(
    selection: Selection, engagement: NeighborhoodEngagement, *, resolution: int = 8
) -> HexagonEngagement:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}")
    neighborhoods = engagement.frame
    covering: set[int] = set()
    for geometry in neighborhoods.geometry:
        covering.update(_covering_cells(geometry, resolution))
    counts = pin_cells(selection.ideas, resolution)
    cells = sorted(covering | {int(c) for c in counts.index})
    index = pd.Index(np.array(cells, dtype=np.uint64), name="cell_int")
    frame = gpd.GeoDataFrame(
        {
            "cell": [h3.int_to_str(c) for c in cells],
            "count": counts.reindex(index, fill_value=0).to_numpy(dtype=np.int64),
        },
        geometry=gpd.GeoSeries([_cell_polygon(c) for c in cells], crs="EPSG:4326", index=index),
        index=index,
    )
    frame["area_km2"] = [h3_int.cell_area(c, unit="km^2") for c in cells]
    frame["per_km2"] = frame["count"] / frame["area_km2"]
    if engagement.population_known:
        population = areal_population(neighborhoods, cells, resolution)
        frame["population"] = population.reindex(index).to_numpy()
        frame["per_1000"] = (
            frame["count"] / frame["population"].where(frame["population"] > 0) * 1000
        )
        message = (
            "Residents of each cell by areal weighting of the neighborhood populations; "
            + engagement.message
        )
    else:
        frame["population"] = np.nan
        frame["per_1000"] = np.nan
        message = engagement.message
    reference = engagement.city_rate
    frame["ratio"] = (
        frame[engagement.basis] / reference if reference else pd.Series(np.nan, index=index)
    )
    frame["thin"] = (frame["ratio"] < engagement.thin_below).fillna(False).astype(bool)
    frame["geojson"] = [polygon_geojson(g) for g in frame.geometry]
    return HexagonEngagement(engagement, frame, resolution, message)


# --- outreach ------------------------------------------------------------------------------


def outreach(engagement: NeighborhoodEngagement, *, limit: int | None = None) -> pd.DataFrame:
    """Where an in-person event or a kiosk would add the most voices, best first.

    missing = city rate × the neighborhood's residents (or km² without population) − its pins:
    the pins it lacks to reach the city rate. Only neighborhoods below the city rate are listed.
    score = missing × 1.5 when nothing came from offline channels yet (Idea.OFFLINE_CHANNELS:
            phone, meetings, paper...: nobody has gone there in person)
                    × 1.25 when it is getting thinner (fewer pins than the previous period).
    Ties: the larger `missing`, then the name.
    """
    frame = engagement.frame.copy()
    reference = engagement.city_rate
    if not reference:
        return frame.iloc[0:0].assign(rank=[], missing=[], score=[], reason=[])
    exposure = (
        frame["population"].astype(float) / 1000
        if engagement.basis == "per_1000"
        else frame["area_km2"]
    )
    frame["missing"] = reference * exposure - frame["count"]
    frame = frame[frame["ratio"].notna() & (frame["missing"] > 0)].copy()
    no_offline = frame["offline_count"] == 0
    frame["score"] = (
        frame["missing"]
        * np.where(no_offline, NO_OFFLINE_BOOST, 1.0)
        * np.where(frame["thinning"], THINNING_BOOST, 1.0)
    )
    frame = frame.sort_values(["score", "missing", "name"], ascending=[False, False, True])
    if limit is not None:
        frame = frame.head(limit)
    frame["rank"] = np.arange(1, len(frame) + 1)
    frame["reason"] = [_reason(row, engagement) for row in frame.itertuples()]
    return frame


def _reason(row, engagement: NeighborhoodEngagement) -> str:
    unit = "residents" if engagement.basis == "per_1000" else "km²"
    parts = [
        f"{row.missing:.1f} more pins would bring it to the city rate "
        f"(now {row.ratio:.2f} of it, for its {unit})"
    ]
    if row.offline_count == 0:
        parts.append("nothing has come from offline channels yet")
    else:
        parts.append(f"{row.offline_share:.0%} of its input came offline")
    if row.thinning:
        parts.append(
            f"fewer pins than the previous period ({row.count_current} against "
            f"{row.count_previous})"
        )
    return "; ".join(parts) + "."


# --- one entry point per layer, for the API and the exports ---------------------------------


@dataclass(frozen=True)
class EngagementLayer:
    """A computed layer: `frame` has the layer's fields and `geojson`; `about` holds the
    figures that describe the whole layer (city rate, basis, message...)."""

    name: str
    frame: pd.DataFrame
    id_field: str
    about: dict[str, object]


def _about(engagement: NeighborhoodEngagement) -> dict[str, object]:
    city = engagement.city
    period = engagement.period
    return {
        "population_known": engagement.population_known,
        "basis": engagement.basis,
        "thin_below": engagement.thin_below,
        "message": engagement.message,
        "city": {
            "count": city.count,
            "unassigned": city.unassigned,
            "population": city.population,
            "area_km2": round(city.area_km2, 6),
            "per_1000": _rounded(city.per_1000),
            "per_km2": _rounded(city.per_km2),
        },
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "previous_start": period.previous_start.isoformat(),
            "previous_end": period.previous_end.isoformat(),
        },
    }


def _rounded(value: float | None) -> float | None:
    # _missing also catches NaN; the None test is for mypy, which cannot see into _missing.
    return None if value is None or _missing(value) else round(float(value), 6)


def engagement_layer(name: str, selection: Selection, options: Options) -> EngagementLayer:
    engagement = neighborhood_engagement(selection, thin_below=options.thin_below)
    about = _about(engagement)
    if name == "engagement-neighborhoods":
        return EngagementLayer(name, engagement.frame, "slug", about)
    if name == "coldspots":
        spots = coldspots(engagement, weights=options.weights, alpha=options.alpha)
        about |= {
            "message": f"{spots.message} {engagement.message}",
            "weights": spots.weights,
            "alpha": spots.alpha,
            "permutations": spots.permutations,
            "seed": spots.seed,
        }
        return EngagementLayer(name, spots.frame, "slug", about)
    if name == "engagement-hexagons":
        hexagons = hexagon_engagement(selection, engagement, resolution=options.resolution)
        about |= {"message": hexagons.message, "resolution": hexagons.resolution}
        return EngagementLayer(name, hexagons.frame, "cell", about)
    if name == "outreach":
        ranked = outreach(engagement, limit=options.limit)
        return EngagementLayer(name, ranked, "slug", about)
    raise ValueError(f"No engagement layer {name!r}.")


def plain_properties(layer: EngagementLayer) -> Iterator[tuple[int | str, dict[str, object]]]:
    """(id, properties) per feature, as JSON-ready Python values: None for no value (never
    NaN), ints, floats rounded to 6 decimals, booleans."""
    fields = LAYER_FIELDS[layer.name]
    frame = layer.frame
    columns = {name: frame[name].tolist() for name in fields.names}
    ids = frame[layer.id_field].tolist()
    for i, feature_id in enumerate(ids):
        properties: dict[str, object] = {}
        for name in fields.names:
            value = columns[name][i]
            if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                properties[name] = None
            elif name in fields.integers:
                properties[name] = int(value)
            elif name in fields.floats:
                properties[name] = round(float(value), 6)
            elif name in fields.booleans:
                properties[name] = bool(value)
            else:
                properties[name] = str(value)
        yield feature_id, properties
