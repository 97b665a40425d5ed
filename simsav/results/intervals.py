"""Monte Carlo uncertainty of each kind of figure a summary reports.

Every function works along axis 0 (the sims) of an array of any shape and returns arrays
of the remaining shape. ``level`` is the two-sided confidence level (0.95 by default).

* Probabilities: the Wilson score interval — never zero-width, even at 0 or 1 — and, as
  the standard error, the Agresti–Coull form ``sqrt(p~(1 − p~) / (n + z²))`` around the
  Wilson centre ``p~`` (so a probability of 0 still says how sure we are).
* Means: the standard error ``s / sqrt(n)`` and the normal interval.
* Quantiles: distribution-free order-statistic intervals (the ranks that bracket the
  quantile with binomial probability ``level``); the standard error reported is the
  interval's half-width over ``z``.
* Expected shortfall (the mean of the worst ``1 − p`` of sims, sort-based): its
  influence-function standard error ``sd((X − VaR)+) / ((1 − p) sqrt(n))`` and the normal
  interval (Brazauskas et al. 2008, asymptotic normality of the empirical CTE).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

__all__ = [
    "Estimate",
    "expected_shortfall",
    "mean",
    "mean_from_moments",
    "probability",
    "probability_from_counts",
    "quantile",
    "z_value",
]

F64 = NDArray[np.float64]


class Estimate(NamedTuple):
    """A figure with its Monte Carlo standard error and interval."""

    value: F64
    se: F64
    low: F64
    high: F64

    def variables(self, name: str, dims: tuple[str, ...], units: str,
                  long_name: str) -> dict[str, Any]:
        """The figure as Dataset variables ``name``, ``se_name``, ``low_name``, ``high_name``.

        Returns
        -------
        dict of str to (dims, values, attrs)
            Ready for :class:`xarray.Dataset`.
        """
        return {prefix + name: (dims, np.asarray(arr, dtype=np.float64),
                                {"units": units, "long_name": what})
                for prefix, arr, what in (
                    ("", self.value, long_name),
                    ("se_", self.se, f"Monte Carlo standard error of {name}"),
                    ("low_", self.low, f"lower end of the interval of {name}"),
                    ("high_", self.high, f"upper end of the interval of {name}"))}


def z_value(level: float) -> float:
    """The two-sided normal quantile of ``level`` (1.96 at 0.95).

    Examples
    --------
    >>> round(z_value(0.95), 4)
    1.96
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: must be in (0, 1), got {level}")
    return float(special.ndtri(0.5 + level / 2))


def probability(hits: ArrayLike, *, level: float = 0.95) -> Estimate:
    """Share of sims where ``hits`` is true, with its Wilson interval.

    Examples
    --------
    >>> e = probability(np.zeros(100, bool))
    >>> float(e.value), round(float(e.high), 4), bool(e.se > 0)
    (0.0, 0.037, True)
    """
    x = np.asarray(hits, dtype=bool)
    return probability_from_counts(x.sum(axis=0), x.shape[0], level=level)


def probability_from_counts(k: ArrayLike, n: int, *, level: float = 0.95) -> Estimate:
    """:func:`probability` from the number of hits ``k`` among ``n`` sims."""
    z = z_value(level)
    p = np.asarray(k, dtype=np.float64) / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    se = np.sqrt(centre * (1 - centre) / (n + z * z))
    low = np.where(p <= 0.0, 0.0, np.maximum(centre - half, 0.0))  # exact at the ends
    high = np.where(p >= 1.0, 1.0, np.minimum(centre + half, 1.0))
    return Estimate(p, se, low, high)


def mean(values: ArrayLike, *, level: float = 0.95) -> Estimate:
    """Mean over sims with its standard error and normal interval.

    Examples
    --------
    >>> e = mean(np.arange(10.0))
    >>> float(e.value), round(float(e.se), 4)
    (4.5, 0.9574)
    """
    x = np.asarray(values, dtype=np.float64)
    m = x.mean(axis=0)
    return mean_from_moments(x.shape[0], m, ((x - m) ** 2).sum(axis=0), level=level)


def mean_from_moments(n: int, m: ArrayLike, m2: ArrayLike, *, level: float = 0.95) -> Estimate:
    """:func:`mean` from the count, the mean and the sum of squared deviations ``m2``."""
    m = np.asarray(m, dtype=np.float64)
    se = np.sqrt(np.asarray(m2, dtype=np.float64) / (n - 1) / n) if n > 1 else m * np.nan
    z = z_value(level)
    return Estimate(m, se, m - z * se, m + z * se)


def _ranks(n: int, q: float, level: float) -> tuple[int, int]:
    """0-based ranks of the order statistics bracketing the q-quantile with prob. ``level``."""
    lo = int(stats.binom.ppf((1 - level) / 2, n, q))
    hi = int(stats.binom.ppf(1 - (1 - level) / 2, n, q))
    return max(lo - 1, 0), min(hi, n - 1)


def quantile(values: ArrayLike, q: float, *, level: float = 0.95,
             sorted_values: F64 | None = None) -> Estimate:
    """The ``q``-quantile over sims with a distribution-free order-statistic interval.

    Examples
    --------
    >>> e = quantile(np.arange(1_000.0), 0.5)
    >>> float(e.value), float(e.low) < 499.5 < float(e.high)
    (499.5, True)
    """
    s = np.sort(np.asarray(values, dtype=np.float64), axis=0) if sorted_values is None \
        else sorted_values
    n = s.shape[0]
    lo, hi = _ranks(n, q, level)
    value = np.quantile(s, q, axis=0)
    low, high = s[lo], s[hi]
    return Estimate(value, (high - low) / (2 * z_value(level)), low, high)


def expected_shortfall(values: ArrayLike, p: float, *, level: float = 0.95,
                       sorted_values: F64 | None = None) -> Estimate:
    """Mean of the largest ``1 − p`` share of sims (TVaR / CTE at ``p``), with its error.

    Sort-based: with ``m = n (1 − p)``, the mean of the top ``floor(m)`` values plus the
    fractional share of the next one. Unlike averaging the values at or above the
    ``p``-quantile, it stays the mean of the worst ``1 − p`` of sims when most sims are
    zero (few owe losses).

    Examples
    --------
    >>> x = np.r_[np.zeros(980), np.full(20, 100.0)]   # 2% of sims owe 100
    >>> float(expected_shortfall(x, 0.95).value)        # worst 5%: 20 x 100 + 30 x 0
    40.0
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p: must be in (0, 1), got {p}")
    s = np.sort(np.asarray(values, dtype=np.float64), axis=0) if sorted_values is None \
        else sorted_values
    n = s.shape[0]
    m = n - n * p  # n * (1 - p) without the rounding of 1 - p
    k = int(math.floor(m))
    top = s[n - k:].sum(axis=0) if k else np.zeros(s.shape[1:])
    if k < n and m > k:
        top = top + (m - k) * s[n - k - 1]
    es = top / m
    var_at = np.quantile(s, p, axis=0)
    excess = np.maximum(s - var_at, 0.0)
    se = excess.std(axis=0, ddof=1) / ((1 - p) * math.sqrt(n)) if n > 1 else es * np.nan
    z = z_value(level)
    return Estimate(es, se, es - z * se, es + z * se)
