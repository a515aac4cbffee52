"""Honest small numbers: the intervals and tests every engagement count goes through.

- `poisson_interval`: the exact (Garwood) interval of a Poisson mean given an observed count,
  at fields.CONFIDENCE. Dividing it by the residents (or km²) gives the rate's interval; dividing
  that by the city rate, the ratio's. The city rate is taken as known: it rests on every pin of
  the city, many more than any one area's.
- `drop_p_value`: whether fewer pins in the current period than in the previous one (two
  windows of the same length) is more than chance: given the n pins of both windows, under
  "same rate" the current window's count is Binomial(n, 1/2); the one-sided p-value is
  P(X <= current). 1 pin then 0 gives 0.5: never a drop.
"""

import numpy as np
from scipy import stats

from geodata.engagement.fields import CONFIDENCE


def poisson_interval(
    counts: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the Poisson mean for each count: chi-square quantiles (Garwood 1936).

    0 pins: low is 0 and high is -ln((1 - confidence) / 2) (3.69 at 95%), not 0: nothing seen
    among few people says little.
    """
    k = np.asarray(counts, dtype=float)
    tail = (1 - confidence) / 2
    low = np.where(k > 0, stats.chi2.ppf(tail, 2 * k) / 2, 0.0)
    high = stats.chi2.ppf(1 - tail, 2 * k + 2) / 2
    return low, high


def drop_p_value(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """One-sided p-value of "fewer pins now than in the previous window of the same length";
    1 where neither window has a pin."""
    current = np.asarray(current, dtype=int)
    total = current + np.asarray(previous, dtype=int)
    return np.where(total > 0, stats.binom.cdf(current, np.maximum(total, 1), 0.5), 1.0)


def significant_drop(
    current: np.ndarray, previous: np.ndarray, confidence: float = CONFIDENCE
) -> np.ndarray:
    return drop_p_value(current, previous) < 1 - confidence
