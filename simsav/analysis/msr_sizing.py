"""MSR and MLR sizing: the minimum savings rate that holds a payout by luck below α.

For a population of ``N`` beneficiaries whose ACO truly saves nothing, the savings rate is
``S = 1 − X̄ / B``, with ``X̄`` the mean (truncated) spending and ``B`` the benchmark. The MSR
that keeps ``P(S ≥ MSR) ≤ α`` is the ``1 − α`` quantile of ``S``; the symmetric MLR that keeps
``P(S ≤ −MLR) ≤ α`` is minus its ``α`` quantile. Three methods:

``simulate``
    Monte Carlo with the per-beneficiary kernel: the empirical quantile, with a
    distribution-free confidence band from the binomial distribution of order statistics.
``normal``
    The normal approximation ``MSR = z₁₋α · σ_S``, with
    ``σ_S² = CV_T² / (N T) + σ_b²`` (``CV_T`` the truncated per-beneficiary CV, ``T`` years
    reconciled together, ``σ_b`` the benchmark error).
``cms-2011``
    How CMS built the table of 42 CFR 425.604(b) (a reconstruction that reproduces every
    entry [D]): normal approximation with CV 2.136 and a
    one-sided confidence level of 90% up to 5,000 beneficiaries, 95% at 20,000 and 99% from
    50,000, the z-value linear in N between, and a 2% floor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr
from scipy import stats

from simsav import __version__
from simsav.contracts.msr import cms_msr
from simsav.draw.aggregate import simulate_group_sums_aggregate
from simsav.draw.groups import simulate_group_sums
from simsav.rng import (
    DEFAULT_BLOCK_SIZE,
    STREAMS,
    SeedLike,
    block_normals,
    check_n_sims,
    root_seed_sequence,
    sub_root,
)
from simsav.spending import SpendingSpec
from simsav.spending.registry import entry

__all__ = ["msr_curve", "cms_2011_msr", "default_spending", "CMS_2011_CV"]

#: The per-beneficiary CV that reproduces every entry of the CMS table [D].
CMS_2011_CV = 2.136
_CMS_Z_ANCHORS = ((5_000.0, stats.norm.ppf(0.90)), (20_000.0, stats.norm.ppf(0.95)),
                  (50_000.0, stats.norm.ppf(0.99)))

Method = Literal["simulate", "normal", "cms-2011"]


def cms_2011_msr(n: Any, *, cv: float = CMS_2011_CV, floor: float = 0.02) -> np.ndarray:
    """The MSR as CMS derived its 2011 table: a size-varying one-sided normal bound.

    Parameters
    ----------
    n : array_like
        Assigned beneficiaries.
    cv : float
        Per-beneficiary coefficient of variation (2.136 reproduces the table).
    floor : float
        Lowest MSR (2%, reached at about 60,000 beneficiaries).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> [round(float(x) * 100, 3) for x in cms_2011_msr([5_000, 10_000, 20_000, 60_000])]
    [3.871, 2.996, 2.484, 2.029]
    """
    n = np.asarray(n, dtype=np.float64)
    if np.any(~np.isfinite(n)) or np.any(n <= 0):
        raise ValueError("n: beneficiary counts must be finite and > 0")
    xs = [a for a, _ in _CMS_Z_ANCHORS]
    zs = [z for _, z in _CMS_Z_ANCHORS]
    z = np.interp(n, xs, zs)  # flat below 5,000 and above 50,000
    return np.maximum(z * cv / np.sqrt(n), floor)


def _spec(spending: SpendingSpec | Mapping[str, Any] | str) -> SpendingSpec:
    if isinstance(spending, SpendingSpec):
        return spending
    if isinstance(spending, str):
        return default_spending(spending)
    return SpendingSpec.model_validate(dict(spending))


def default_spending(model: str, *, mean: float = 11_000.0, **terms: Any) -> SpendingSpec:
    """A spending spec from a bare model name: mean $11,000, CV 2.136 where one is taken.

    The model's other shape terms are its registry defaults for a bare name
    (:attr:`simsav.spending.base.ModelEntry.bare`, e.g. ``zero_share = 0.05`` for
    ``hurdle-lognormal``); ``terms`` override them.

    Examples
    --------
    >>> default_spending("gamma").cv
    2.136
    >>> default_spending("lognormal-pareto").tail_alpha
    3.0
    """
    try:
        e = entry(model)
    except ValueError as err:
        raise ValueError(f"spending: {err}") from None
    shape = {"cv": CMS_2011_CV} if "cv" in e.fields else {}
    return SpendingSpec.model_validate({"model": model, "mean": mean, **shape, **e.bare,
                                        **terms})


def _order_stat_band(n: int, q: float, level: float) -> tuple[int, int]:
    """Ranks (0-based) bracketing the q-quantile with probability ``level``."""
    lo = int(stats.binom.ppf((1 - level) / 2, n, q))
    hi = int(stats.binom.ppf(1 - (1 - level) / 2, n, q))
    return max(lo - 1, 0), min(hi, n - 1)


def _savings_rates(group_sums: Any, spec: SpendingSpec, n: int, years: int, mu: float,
                   benchmark_error_sd: float, *, n_sims: int, seed: np.random.SeedSequence,
                   block_size: int, n_threads: int | None) -> np.ndarray:
    """Sorted savings rates of ``n_sims`` ACOs of ``n`` beneficiaries with no true savings."""
    sums = group_sums([(spec, n)] * years, n_sims, seed=seed, block_size=block_size,
                      n_threads=n_threads)
    xbar = sums.sum(axis=1) / (n * years)
    bench = np.full(n_sims, mu)
    if benchmark_error_sd > 0:
        eps = block_normals((n_sims,), seed=seed, block_size=block_size,
                            stream=STREAMS["benchmark_error"])
        bench = mu * np.maximum(1 + benchmark_error_sd * eps, 1e-6)
    return np.sort(1.0 - xbar / bench)


def msr_curve(
    sizes: Sequence[int],
    *,
    alpha: float = 0.05,
    spending: SpendingSpec | Mapping[str, Any] | str = "medicare-ffs",
    method: Method = "simulate",
    n_sims: int = 20_000,
    seed: SeedLike = 0,
    years: int = 1,
    benchmark_error_sd: float = 0.0,
    level: float = 0.95,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    draws: str = "per-beneficiary",
) -> xr.Dataset:
    """MSR and symmetric MLR by population size.

    Parameters
    ----------
    sizes : sequence of int
        Assigned beneficiaries (each ≥ 1).
    alpha : float
        Chance of a payout (or penalty) by luck alone to allow, in (0, 0.5).
    spending : SpendingSpec, mapping or str
        Per-beneficiary spending (truncation and all); a model name takes its defaults.
    method : {"simulate", "normal", "cms-2011"}
        What fills ``msr``/``mlr``; the normal approximation and the CMS table are always
        included for comparison, and ``cms_2011`` too.
    n_sims : int
        Sims per size (``simulate``).
    seed : int, SeedSequence or Generator
        Seed of the simulation (each size uses its own sub-stream).
    years : int
        Years reconciled together (deferred reconciliation over ``T`` years: the MSR
        applies to the cumulative savings rate).
    benchmark_error_sd : float
        ACO-level benchmark error (fraction of the benchmark), fixed over the years.
    level : float
        Confidence level of the Monte Carlo band.
    block_size, n_threads :
        Passed to the kernel (results depend on ``block_size`` only).
    draws : {"per-beneficiary", "aggregate"}
        The aggregate fast path (:mod:`simsav.draw.aggregate`) makes sweeps to 1,000,000
        beneficiaries and 100,000 sims take seconds.

    Returns
    -------
    xarray.Dataset
        Over dim ``size``: ``msr``, ``msr_low``, ``msr_high``, ``mlr``, ``mlr_low``,
        ``mlr_high``, ``normal``, ``cms_2011``, ``cms_table``, ``p_clear_cms_table`` (the
        chance of clearing the CMS table MSR by luck, simulate only).
    """
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha: must be in (0, 0.5), got {alpha}")
    sizes_a = np.asarray(list(sizes), dtype=np.int64)
    if sizes_a.size == 0 or np.any(sizes_a < 1):
        raise ValueError("sizes: need at least one size, each >= 1")
    if method not in ("simulate", "normal", "cms-2011"):
        raise ValueError(f"method: must be simulate, normal or cms-2011, got {method!r}")
    if int(years) < 1 or int(years) > 10:
        raise ValueError(f"years: must be in [1, 10], got {years}")
    if not 0.0 <= benchmark_error_sd <= 0.5:
        raise ValueError(f"benchmark_error_sd: must be in [0, 0.5], got {benchmark_error_sd}")
    if method == "simulate":
        n_sims = check_n_sims(n_sims, lo=100)
    if draws == "aggregate":
        group_sums = simulate_group_sums_aggregate
    elif draws == "per-beneficiary":
        group_sums = simulate_group_sums
    else:
        raise ValueError(f"draws: must be 'per-beneficiary' or 'aggregate', got {draws!r}")
    spec = _spec(spending)
    model = spec.to_model()
    mu = model.mean(truncated=True)
    cv_t = model.cv(truncated=True)
    z = stats.norm.ppf(1 - alpha)
    sd_rate = np.sqrt(cv_t**2 / (sizes_a * years) + benchmark_error_sd**2)
    normal = z * sd_rate
    cms_tab = cms_msr(sizes_a)
    cms11 = cms_2011_msr(sizes_a)
    n_size = sizes_a.size
    out = {k: np.full(n_size, np.nan) for k in
           ("msr", "msr_low", "msr_high", "mlr", "mlr_low", "mlr_high", "p_clear_cms_table")}
    if method == "simulate":
        root = root_seed_sequence(seed)
        for i, n in enumerate(sizes_a):
            rate = _savings_rates(group_sums, spec, int(n), years, mu, benchmark_error_sd,
                                  n_sims=n_sims, seed=sub_root(root, "msr_size", i),
                                  block_size=block_size, n_threads=n_threads)
            lo, hi = _order_stat_band(n_sims, 1 - alpha, level)
            out["msr"][i] = np.quantile(rate, 1 - alpha)
            out["msr_low"][i], out["msr_high"][i] = rate[lo], rate[hi]
            lo, hi = _order_stat_band(n_sims, alpha, level)
            out["mlr"][i] = -np.quantile(rate, alpha)
            out["mlr_low"][i], out["mlr_high"][i] = -rate[hi], -rate[lo]
            out["p_clear_cms_table"][i] = np.mean(rate >= cms_tab[i])
    elif method == "normal":
        out["msr"] = normal.copy()
        out["mlr"] = normal.copy()
    else:
        out["msr"] = cms11.copy()
        out["mlr"] = cms11.copy()
    values = {**out, "normal": normal, "cms_2011": cms11, "cms_table": cms_tab}
    attrs = {"method": method, "alpha": float(alpha),
             "n_sims": int(n_sims) if method == "simulate" else 0, "seed": str(seed),
             "block_size": int(block_size), "years": int(years), "draws": draws,
             "benchmark_error_sd": float(benchmark_error_sd),
             "spending": spec.model_dump_json(exclude_none=True),
             "cv_truncated": float(cv_t), "mean_truncated": float(mu)}
    return _curve_dataset(sizes_a, values, method, level, attrs)


def _curve_dataset(sizes: np.ndarray, values: dict[str, np.ndarray], method: str,
                   level: float, attrs: dict[str, Any]) -> xr.Dataset:
    long_names = {
        "msr": f"MSR ({method}): 1-alpha quantile of the savings rate with no true savings",
        "msr_low": f"MSR, lower end of the {level:.0%} Monte Carlo band",
        "msr_high": f"MSR, upper end of the {level:.0%} Monte Carlo band",
        "mlr": f"symmetric MLR ({method}): minus the alpha quantile of the savings rate",
        "mlr_low": f"MLR, lower end of the {level:.0%} Monte Carlo band",
        "mlr_high": f"MLR, upper end of the {level:.0%} Monte Carlo band",
        "normal": "normal-approximation MSR",
        "cms_2011": "CMS 2011 derivation: CV 2.136, one-sided 90/95/99%, 2% floor",
        "cms_table": "CMS MSR table, 42 CFR 425.604(b) and 425.605(b)",
        "p_clear_cms_table": "P(clear the CMS table MSR) with no true savings",
    }
    ds = xr.Dataset(
        {k: ("size", values[k], {"units": "1", "long_name": v}) for k, v in long_names.items()},
        coords={"size": ("size", sizes, {"units": "1", "long_name": "assigned beneficiaries"})},
    )
    ds.attrs = {"simsav_version": __version__, **attrs}
    return ds
