"""Slow spots: Getis-Ord Gi* (esda) on each area's median working days to a first answer, as
coldspots.py does on the engagement rate: seeded permutation p-values, Benjamini-Hochberg.

Only areas with at least the layer's minimum count of pins are tested (and are each other's
neighbours). Where the Kaplan-Meier median is not reached (more than half the pins still
wait), the value tested is its lower bound, `median_first_answer_more_than`: the area is at
least that slow, so it can only be under-, never over-stated as fast.
"""

import warnings
from dataclasses import dataclass

import esda
import geopandas as gpd
import h3.api.basic_int as h3_int
import libpysal
import numpy as np
import pandas as pd
import shapely
from django.utils.translation import gettext as _
from esda.crand import crand
from esda.getisord import _g_local_star_crand

from geodata.engagement.coldspots import _equal_area, _project, benjamini_hochberg, spatial_weights
from geodata.engagement.fields import ALPHA, PERMUTATIONS, SEED, Pace
from geodata.engagement.service import ServiceLayer


def gi_star(
    values: np.ndarray, w: libpysal.weights.W, *, permutations: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gi* (star, binary weights): the analytical z, and the two-sided conditional permutation
    p-value 2 min(P(G <= g), P(G >= g)), each tail counted with its ties.

    Called as coldspots.coldspots calls esda.G_Local (same weights, seed, permutations),
    but the tails are counted here: esda's default ("directed") p-value counts ties in the
    upper tail only, and medians of whole working days tie often, so a low value (a "fast"
    area) was flagged far more often than the false discovery rate says (seen in
    tests/geodata/engagement/test_service.py: 2 of 5 cities without any pattern). One
    esda.crand run with the same seed keeps the permuted statistics, and both tails are
    counted on them: the permutations are drawn and summed once, not once per tail.
    """
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # Raised while esda adds the self-weights; the weights were checked by the caller.
        warnings.filterwarnings("ignore", message="The weights matrix is not fully connected")
        gi = esda.G_Local(values, w, transform="B", star=True, permutations=0)
        observed = np.asarray(gi.Gs, dtype=float)
        # esda.crand zeroes the diagonal of the weights' cached matrix in place: it gets its
        # own copy, with the self-weights.
        _, permuted = crand(
            values,
            libpysal.weights.W.from_sparse(gi.w.sparse.copy()),
            observed,
            permutations,
            True,  # keep the permuted statistics, one row per area
            1,  # a web request: no worker processes
            _g_local_star_crand,
            scaling=values.sum(),
            seed=seed,
            alternative="lesser",
        )
    # The observed statistic (a sparse product) and the permuted ones (numba, fastmath)
    # may differ in the last bits where they are equal sums: widen by a hair each way.
    nudge = np.abs(observed) * 1e-9
    lesser = (permuted <= (observed + nudge)[:, None]).sum(axis=1)
    greater = (permuted >= (observed - nudge)[:, None]).sum(axis=1)
    # (k + 1) / (permutations + 1) in each tail, the smaller one doubled.
    tail = (np.minimum(lesser, greater) + 1) / (permutations + 1)
    return np.asarray(gi.Zs, dtype=float), np.minimum(1.0, 2 * tail)


@dataclass(frozen=True)
class Slowspots:
    """The service layer's frame plus z_score, p_value, significance, neighbors, island."""

    frame: gpd.GeoDataFrame
    alpha: float
    permutations: int
    seed: int
    message: str


def tested_days(frame: pd.DataFrame) -> pd.Series:
    """The median working days to a first answer, or its lower bound where not reached."""
    median = pd.to_numeric(frame["median_first_answer"], errors="coerce")
    bound = pd.to_numeric(frame["median_first_answer_more_than"], errors="coerce")
    return median.fillna(bound).astype(float)


def hexagon_weights(cells: list[int]) -> tuple[libpysal.weights.W, np.ndarray]:
    """Binary weights between H3 cells: the cells of the ring at distance 1 that are in
    `cells`. A cell with none of them (an island) gets its nearest cell (by centre), as
    coldspots.spatial_weights does for neighborhoods; `island` says which."""
    position = {cell: i for i, cell in enumerate(cells)}
    neighbours = {
        i: [position[n] for n in h3_int.grid_ring(cell, 1) if n in position]
        for i, cell in enumerate(cells)
    }
    islands = np.array([not neighbours[i] for i in range(len(cells))], dtype=bool)
    if islands.any():
        centres = shapely.points([h3_int.cell_to_latlng(c)[::-1] for c in cells])
        coordinates = shapely.get_coordinates(
            _project(centres, _equal_area(gpd.GeoSeries(centres)))
        )
        nearest = libpysal.weights.KNN(
            coordinates, k=1, ids=list(range(len(cells))), silence_warnings=True
        )
        for i in np.nonzero(islands)[0]:
            neighbours[int(i)] = list(nearest.neighbors[int(i)])
            for j in nearest.neighbors[int(i)]:
                if int(i) not in neighbours[j]:
                    neighbours[j] = [*neighbours[j], int(i)]
    return libpysal.weights.W(neighbours, silence_warnings=True), islands


def slowspots(
    service: ServiceLayer,
    *,
    hexagons: bool = False,
    alpha: float = ALPHA,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> Slowspots:
    """Gi* (star, binary weights) on `tested_days`; two-sided permutation p-values; an area
    whose p-value survives Benjamini-Hochberg at `alpha` is "slow" (z > 0) or "fast" (z < 0).
    Neighborhoods: queen contiguity (coldspots.spatial_weights); hexagons: H3 neighbours."""
    frame = service.frame.copy()
    frame["z_score"] = np.nan
    frame["p_value"] = np.nan
    frame["significance"] = Pace.NOT_TESTED
    frame["neighbors"] = pd.array([None] * len(frame), dtype="Int64")
    frame["island"] = False
    tested = frame.index[~frame["too_few"].astype(bool)]
    if len(tested) < 3:
        message = _("Fewer than 3 areas have enough pins: no slow spot test.")
        return Slowspots(frame, alpha, permutations, seed, message)
    values = tested_days(frame.loc[tested]).to_numpy(dtype=float)
    if hexagons:
        w, islands = hexagon_weights([int(c) for c in tested])
    else:
        w, islands = spatial_weights(frame.loc[tested, "geometry"], "queen")
    frame.loc[tested, "neighbors"] = np.array([w.cardinalities[i] for i in range(len(tested))])
    frame.loc[tested, "island"] = islands
    if np.ptp(values) == 0:
        frame.loc[tested, "significance"] = Pace.NOT_SIGNIFICANT
        message = _("Every area tested has the same median: no slow or fast spot.")
        return Slowspots(frame, alpha, permutations, seed, message)
    z, p = gi_star(values, w, permutations=permutations, seed=seed)
    significant = benjamini_hochberg(p, alpha)
    pace = np.where(
        significant & (z > 0),
        Pace.SLOW,
        np.where(significant & (z < 0), Pace.FAST, Pace.NOT_SIGNIFICANT),
    )
    frame.loc[tested, "z_score"] = z
    frame.loc[tested, "p_value"] = p
    frame.loc[tested, "significance"] = pace
    slow, fast = int((pace == Pace.SLOW).sum()), int((pace == Pace.FAST).sum())
    message = _(
        "Getis-Ord Gi* on the median working days to a first answer, %(permutations)s "
        "permutations (seed %(seed)s), false discovery rate %(alpha)s: %(slow)s slow and "
        "%(fast)s fast spots among %(tested)s areas with at least %(min_count)s pins."
    ) % {
        "permutations": permutations,
        "seed": seed,
        "alpha": alpha,
        "slow": slow,
        "fast": fast,
        "tested": len(tested),
        "min_count": service.min_count,
    }
    return Slowspots(frame, alpha, permutations, seed, message)
