"""Moments of the savings rate: observed in the public-use files, and exact for the simulator.

:func:`puf_moments` measures the savings rate's spread and shares in CMS's files by
performance year and size band (pooled, with cluster-bootstrap standard errors);
:func:`savings_rate_moments` gives the exact mean and SD of the savings rate
:func:`simsav.simulate` draws from a scenario's ``[aco]`` terms, and
:func:`structural_terms` inverts it: the terms that give a mean, variance and
within-agreement covariance. See :mod:`simsav.analysis.calibrate` for the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from scipy.optimize import brentq

from simsav.analysis.puf_panel import (
    BAND_EDGES,
    CALIBRATION_YEARS,
    ClusterSums,
    band_labels,
    excess_kurtosis,
    load_panel,
    poisson_weights,
    ratio_boot,
    robust_sd,
)

__all__ = ["puf_moments", "savings_rate_moments", "structural_terms"]

_GH_X, _GH_W = hermegauss(48)
_GH_W = _GH_W / _GH_W.sum()


# ----------------------------------------------------------------------------- observed
def puf_moments(
    years_or_files: Any = CALIBRATION_YEARS,
    *,
    bands: Sequence[int] = BAND_EDGES,
    pooled: bool = False,
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Savings-rate moments of the MSSP public-use files by performance year and size band.

    Parameters
    ----------
    years_or_files : int, str, path or iterable of them
        Bundled performance years (``2018`` or ``"2018"``) and/or paths to CMS
        "Performance Year Financial and Quality Results" CSVs.
    bands : sequence of int
        Upper band edges in assigned beneficiaries (default
        :data:`~simsav.analysis.puf_panel.BAND_EDGES`).
    pooled : bool
        One row per band over all years (plus a program-level row ``"all"``) instead of
        one per year and band. Pooled SDs are within year: deviations from each
        year-and-band mean, so the drift of the mean across years does not widen them.
    n_boot : int
        Pooled only: cluster-bootstrap replicates (resampling ACOs, which recur across
        years) for the standard errors ``se_*``; below 2 they are NaN.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        Per year and band (``performance_year`` 0 in pooled rows): ``band``,
        ``n_acos``, ``median_beneficiaries``, ``mean_inv_beneficiaries`` (mean of 1/N),
        ``mean`` and ``sd`` of the savings rate, ``robust_sd`` (IQR / 1.349),
        ``excess_kurtosis``, ``share_under_benchmark`` (savings rate > 0),
        ``share_earning`` (``EarnSaveLoss > 0``), ``share_two_sided``, ``mean_msr`` and
        ``mean_msr_two_sided`` (the MSR two-sided ACOs elected); pooled rows add
        ``n_distinct_acos`` and the standard errors ``se_sd``, ``se_share_under_benchmark``
        and ``se_share_earning``. Rates are fractions.

    Examples
    --------
    >>> m = puf_moments([2022])
    >>> m[["band", "n_acos"]].to_dict("list")
    {'band': ['<10k', '10k-15k', '15k-25k', '25k-50k', '>=50k'], 'n_acos': [168, 104, 81, 91, 38]}
    >>> round(float(m["share_under_benchmark"].iloc[0]), 3)
    0.827
    """
    labels = band_labels(bands)
    panel = load_panel(years_or_files, bands)
    if pooled:
        return _pooled_moments(panel, labels, n_boot=n_boot, seed=seed)
    rows = []
    for (year, b), d in panel.groupby(["performance_year", "band"], sort=True):
        rows.append(_cell_row(d, int(year), labels[int(b)], d["r"].to_numpy(),
                              float(d["dof"].sum())))
    return pd.DataFrame(rows)


def _cell_row(d: pd.DataFrame, year: int, label: str, dev: np.ndarray,
              dof: float) -> dict[str, Any]:
    two = d["two"].to_numpy()
    var = float(np.sum(dev**2) / dof) if dof > 0 else float("nan")
    msr = d["msr"].to_numpy(dtype=float)
    return {
        "performance_year": year,
        "band": label,
        "n_acos": len(d),
        "median_beneficiaries": float(d["n"].median()),
        "mean_inv_beneficiaries": float((1.0 / d["n"]).mean()),
        "mean": float(d["s"].mean()),
        "sd": math.sqrt(var) if var == var else var,
        "robust_sd": robust_sd(dev),
        "excess_kurtosis": excess_kurtosis(dev),
        "share_under_benchmark": float(d["under"].mean()),
        "share_earning": float(d["earn"].mean()),
        "share_two_sided": float(two.mean()),
        "mean_msr": float(np.nanmean(msr)) if np.isfinite(msr).any() else float("nan"),
        "mean_msr_two_sided": (
            float(np.nanmean(msr[two])) if np.isfinite(msr[two]).any() else float("nan")
        ),
    }


def _pooled_moments(panel: pd.DataFrame, labels: list[str], *, n_boot: int,
                    seed: int) -> pd.DataFrame:
    rows = []
    for b, label in enumerate(labels):
        d = panel[panel["band"] == b]
        if d.empty:
            continue
        row = _cell_row(d, 0, label, d["r"].to_numpy(), float(d["dof"].sum()))
        row["n_distinct_acos"] = int(d["aco_id"].nunique())
        rows.append(row)
    row = _cell_row(panel, 0, "all", panel["r_year"].to_numpy(),
                    float(panel["dof_year"].sum()))
    row["n_distinct_acos"] = int(panel["aco_id"].nunique())
    rows.append(row)
    out = pd.DataFrame(rows)
    for name in ("se_sd", "se_share_under_benchmark", "se_share_earning"):
        out[name] = np.nan
    if n_boot > 1:
        codes, uniques = pd.factorize(panel["aco_id"])
        cs = ClusterSums(codes, len(uniques), len(labels))
        band = panel["band"].to_numpy()
        w = poisson_weights(n_boot, cs.J, seed)
        r2 = cs.sums(band, panel["r"].to_numpy() ** 2)
        dof = cs.sums(band, panel["dof"].to_numpy())
        r2[:, -1] = cs.sums(band, panel["r_year"].to_numpy() ** 2)[:, -1]
        dof[:, -1] = cs.sums(band, panel["dof_year"].to_numpy())[:, -1]
        ones = cs.sums(band, np.ones(len(panel)))
        sd = np.sqrt(ratio_boot(r2, dof, w))
        under = ratio_boot(cs.sums(band, panel["under"].to_numpy(dtype=float)), ones, w)
        earn = ratio_boot(cs.sums(band, panel["earn"].to_numpy(dtype=float)), ones, w)
        present = [b for b in range(len(labels)) if bool((band == b).any())] + [len(labels)]
        for name, rep in (("se_sd", sd), ("se_share_under_benchmark", under),
                          ("se_share_earning", earn)):
            out[name] = np.nanstd(rep[:, present], axis=0, ddof=1)
    return out


# ----------------------------------------------------------------------------- exact moments
def _w_moments(benchmark_error_sd: float) -> tuple[float, float]:
    """``E[W]`` and ``E[W²]`` of ``W = 1 / max(1 + ε, 1e-6)``, ``ε ~ N(0, sd²)``."""
    w = 1.0 / np.maximum(1.0 + benchmark_error_sd * _GH_X, 1e-6)
    return float(_GH_W @ w), float(_GH_W @ w**2)


def savings_rate_moments(
    true_savings: float,
    true_savings_sd: float,
    benchmark_error_sd: float,
    *,
    claims_cv: float,
    n_beneficiaries: float,
) -> tuple[float, float]:
    """Mean and SD of the savings rate :func:`simsav.simulate` draws.

    ``s = 1 − (X̄ / μ_T)(1 − τ) / (1 + ε)`` with independent claims noise (relative
    variance ``claims_cv² / N``), ``τ ~ N(true_savings, true_savings_sd²)`` and
    ``ε ~ N(0, benchmark_error_sd²)``; exact given those moments (Gauss–Hermite
    quadrature over ``ε``).

    Parameters
    ----------
    true_savings, true_savings_sd, benchmark_error_sd : float
        The scenario's ``[aco]`` terms (fractions).
    claims_cv : float
        Truncated per-beneficiary CV of the spending model.
    n_beneficiaries : float
        Assigned beneficiaries.

    Returns
    -------
    tuple of float
        ``(mean, sd)`` of the savings rate.

    Examples
    --------
    >>> m, sd = savings_rate_moments(0.0, 0.0, 0.0, claims_cv=1.84, n_beneficiaries=10_000)
    >>> round(m, 6), round(sd, 4)
    (0.0, 0.0184)
    """
    ew, ew2 = _w_moments(benchmark_error_sd)
    a = 1.0 - true_savings
    mean = 1.0 - a * ew
    ey2 = (a * a + true_savings_sd**2) * (1.0 + claims_cv**2 / n_beneficiaries) * ew2
    var = max(ey2 - (a * ew) ** 2, 0.0)
    return mean, math.sqrt(var)


def structural_terms(mean: float, var: float, cov: float, cv: float, n: float) -> dict[str, float]:
    """``[aco]`` terms whose exact moments give the reduced-form mean, Var and Cov.

    Parameters
    ----------
    mean, var, cov : float
        Mean and variance of the savings rate, and the covariance of one ACO's savings
        rates between two years of one agreement, at size ``n``.
    cv : float
        Truncated per-beneficiary CV of the spending model (the claims noise).
    n : float
        ACO size (assigned beneficiaries).

    Returns
    -------
    dict
        ``true_savings``, ``true_savings_sd``, ``benchmark_error_sd``.
    """
    sig_e = 0.0
    tau = mean
    sig_t = math.sqrt(max(cov, 0.0))
    for _ in range(6):
        ew, _ = _w_moments(sig_e)
        tau = 1.0 - (1.0 - mean) / ew
        sig_t = math.sqrt(max(cov, 0.0)) / ew

        def gap(x: float, tau: float = tau, sig_t: float = sig_t) -> float:
            sd = savings_rate_moments(tau, sig_t, x, claims_cv=cv, n_beneficiaries=n)[1]
            return sd * sd - var

        if gap(0.0) >= 0.0:
            sig_e = 0.0
        else:
            sig_e = float(brentq(gap, 0.0, 0.5, xtol=1e-10))
    return {"true_savings": tau, "true_savings_sd": sig_t, "benchmark_error_sd": sig_e}
