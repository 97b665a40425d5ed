"""The ACO's quality score as a random process: per sim and year.

A fixed score (``[quality] score``) is the same in every sim, moved by ``improvement`` a
year. A beta score (``distribution = "beta"``) is drawn on the ``quality`` stream:

* one agreement year: one beta variate per sim (``Generator.beta``);
* several years: year ``t``'s score is the beta(``mean + t·improvement``, ``sd``) quantile
  of ``Φ(z_t)`` with ``z_t = ρ z_{t-1} + sqrt(1 − ρ²) ε_t`` (a Gaussian copula): each
  year's marginal is exactly the beta, and ``ρ`` (``persistence``) sets how much a good
  year predicts the next.

:func:`quality_rank` is each score's rank among peers — the first year's beta
distribution — which CMS-points scoring reads as a percentile
(:func:`simsav.settlement.quality.effective_quality`); a fixed score is read as its own rank.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from simsav.rng import STREAMS, SeedLike, map_blocks
from simsav.scenario import QualitySpec

__all__ = ["draw_quality", "quality_rank", "simulate_quality"]

F64 = NDArray[np.float64]


def simulate_quality(
    n_sims: int,
    n_years: int,
    *,
    mean: float,
    sd: float,
    persistence: float = 0.0,
    improvement: float = 0.0,
    seed: SeedLike,
    block_size: int = 256,
    first_block: int = 0,
) -> F64:
    """Quality scores per sim and year: beta marginals, persistent, improving.

    Year ``t``'s score is the beta(``mean + t·improvement``, ``sd``) quantile of ``Φ(z_t)``,
    with ``z_t = ρ z_{t-1} + sqrt(1 − ρ²) ε_t`` (a Gaussian copula). The normals come from
    the ``quality`` stream of each block (:mod:`simsav.rng`).

    Returns
    -------
    numpy.ndarray
        Shape ``(n_sims, n_years)``.

    Examples
    --------
    >>> q = simulate_quality(2_000, 2, mean=0.8, sd=0.05, persistence=0.5, seed=1)
    >>> q.shape, bool(abs(q[:, 0].mean() - 0.8) < 0.01)
    ((2000, 2), True)
    """
    if not -1.0 < persistence < 1.0:
        raise ValueError(f"persistence: must be in (-1, 1), got {persistence}")
    eps = np.empty((n_sims, n_years))

    def fill(rng: np.random.Generator, start: int, stop: int) -> None:
        eps[start:stop] = rng.standard_normal((stop - start, n_years))

    map_blocks(fill, n_sims, seed=seed, block_size=block_size, n_threads=1,
               stream=STREAMS["quality"], first_block=first_block)
    z = np.empty_like(eps)
    z[:, 0] = eps[:, 0]
    for t in range(1, n_years):
        z[:, t] = persistence * z[:, t - 1] + np.sqrt(1 - persistence**2) * eps[:, t]
    u = stats.norm.cdf(z)
    out = np.empty_like(u)
    for t in range(n_years):
        m = float(np.clip(mean + t * improvement, 1e-6, 1 - 1e-6))
        if sd**2 >= m * (1 - m):
            raise ValueError(
                f"improvement: year {t + 1} mean {m:.3f} leaves no room for sd = {sd}")
        k = m * (1 - m) / sd**2 - 1
        out[:, t] = stats.beta.ppf(u[:, t], m * k, (1 - m) * k)
    return out


def draw_quality(spec: QualitySpec, n: int, years: int, seed: SeedLike, bs: int,
                 first_block: int = 0) -> F64:
    """The ACO's quality score for sims of whole blocks from ``first_block``, (sim, year)."""
    if spec.distribution == "fixed":
        path = np.clip(spec.fixed_score + spec.improvement * np.arange(years), 0.0, 1.0)
        return np.broadcast_to(path, (n, years)).copy()
    if years > 1:
        assert spec.mean is not None and spec.sd is not None
        return simulate_quality(n, years, mean=spec.mean, sd=spec.sd,
                                persistence=spec.persistence, improvement=spec.improvement,
                                seed=seed, block_size=bs, first_block=first_block)
    a, b = spec.beta_params()
    out = np.empty((n, 1))

    def fill(rng: np.random.Generator, start: int, stop: int) -> None:
        out[start:stop, 0] = rng.beta(a, b, stop - start)

    map_blocks(fill, n, seed=seed, block_size=bs, n_threads=1, stream=STREAMS["quality"],
               first_block=first_block)
    return out


def quality_rank(spec: QualitySpec, quality: F64) -> F64:
    """Each score's rank among peers (0–1): the first year's beta cdf, or the score itself.

    Examples
    --------
    >>> spec = QualitySpec(distribution="beta", mean=0.8, sd=0.05)
    >>> round(float(quality_rank(spec, np.array([0.8]))[0]), 2)
    0.47
    """
    if spec.distribution == "fixed":
        return np.asarray(quality, dtype=np.float64).copy()
    a, b = spec.beta_params()
    return np.asarray(stats.beta.cdf(quality, a, b), dtype=np.float64)
