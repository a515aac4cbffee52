"""Cold and hot spots: Getis-Ord Gi* (esda) on the neighborhood rate, permutation p-values with
a fixed seed, Benjamini-Hochberg false discovery rate: only significant spots are flagged."""

import functools
import warnings
from dataclasses import dataclass

import esda
import esda.crand
import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from geodata.engagement.fields import ALPHA, PERMUTATIONS, SEED, Significance
from geodata.engagement.rates import NeighborhoodEngagement

# --- cold and hot spots: Getis-Ord Gi* -------------------------------------------------------

# esda draws the conditional permutations of every Gi* (here, and slowspots.gi_star) with
# esda.crand.vec_permutations: seeded, so its array is a function of its four integers (the
# most neighbours, the areas, the permutations, the seed), the same request after request for
# a city's areas. Without numba (not installed: it is an optional dependency of esda) it is
# 9,999 calls of numpy's random.choice, a quarter of a second per test, more than the test
# itself. Kept per process, read-only (crand only reads it); an array dropped from here is
# drawn again, identical.
_draw_permutations = esda.crand.vec_permutations


@functools.lru_cache(maxsize=8)
def _kept_permutations(max_card: int, n: int, k_replications: int, seed: int) -> np.ndarray:
    permuted = _draw_permutations(max_card, n, k_replications, seed)
    permuted.setflags(write=False)
    return permuted


esda.crand.vec_permutations = _kept_permutations


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


# Per process, the few latest weights asked for, keyed by the geometries themselves (WKB) and
# the kind: building queen contiguity from a city's detailed polygons takes longer than Gi*'s
# 9,999 permutations, and the same neighborhoods are tested request after request. Kept as
# plain neighbour lists, so that each caller gets a W of its own (esda transforms it in place).
_WEIGHTS: dict[tuple, tuple[dict, dict, np.ndarray]] = {}
_WEIGHTS_KEPT = 8


def spatial_weights(
    geometries: gpd.GeoSeries, kind: str = "queen"
) -> tuple[libpysal.weights.W, np.ndarray]:
    """`_spatial_weights`, kept per process for the same geometries and kind."""
    key = (kind, tuple(shapely.to_wkb(np.asarray(geometries.values, dtype=object))))
    kept = _WEIGHTS.get(key)
    if kept is None:
        built, islands = _spatial_weights(geometries, kind)
        kept = (dict(built.neighbors), dict(built.weights), islands)
        while len(_WEIGHTS) >= _WEIGHTS_KEPT:
            _WEIGHTS.pop(next(iter(_WEIGHTS)))
        _WEIGHTS[key] = kept
    neighbors, weights, islands = kept
    w = libpysal.weights.W(
        {i: list(n) for i, n in neighbors.items()},
        {i: list(v) for i, v in weights.items()},
        silence_warnings=True,
    )
    return w, islands.copy()


def _spatial_weights(
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
    out of the test and of everyone's neighbourhood. The test reads every neighborhood's
    rate, also where too few pins leave the published one empty (`raw_<basis>`): Gi* pools a
    neighborhood with its neighbours, and the permutations judge what chance would give.
    """
    frame = engagement.frame.copy()
    frame["z_score"] = np.nan
    frame["p_value"] = np.nan
    frame["significance"] = Significance.NOT_TESTED
    frame["neighbors"] = pd.array([None] * len(frame), dtype="Int64")
    frame["island"] = False
    rate = frame[f"raw_{engagement.basis}"]
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
