"""Calibrate the ACO-level terms of a scenario to the MSSP public-use files.

Across real ACOs the savings rate spreads far more than claims noise explains. This module
measures that spread in CMS's public-use files (:func:`puf_moments`), fits the ACO-level
terms of a scenario to it (:func:`calibrate_puf`) and checks a scenario against the files
by simulation (:func:`program_check`).

The model
---------
For ACO ``i`` with ``N`` assigned beneficiaries in performance year ``t`` of an agreement,
:func:`simsav.simulate` draws the savings rate as

    s = 1 − (X̄ / μ_T) · (1 − τ) / (1 + ε),

with ``X̄ / μ_T − 1`` the claims noise (relative variance ``CV_T² / N``, ``CV_T`` the
truncated per-beneficiary CV of the spending model: 1.84 for ``medicare-ffs`` at the 99th
percentile), ``τ ~ N(true_savings, true_savings_sd²)`` and ``ε ~ N(0, benchmark_error_sd²)``.
To first order ``s ≈ τ + ε + claims noise``.

Identification
--------------
One cross-section gives only the sum of the variances, ``Var(s | N) = σ_τ² + σ_ε² +
CV_T²/N``. The panel splits it: an ACO keeps its ``aco_id`` across years (the 2014–2017
files are mapped with CMS's crosswalk), and within one agreement period (same ``aco_id``
and agreement start date) the covariance of its savings rate between two different years,
after removing each year-and-size-band mean, estimates the variance of what persists.

* **true savings** (``τ``) is the *persistent* ACO effect within an agreement:
  ``Cov(s_t, s_t') = σ_τ² · E[1/(1+ε)]²``. It holds real savings and also whatever in the
  benchmark is wrong in the same direction every year of the agreement (the benchmark is
  set from the base years): savings rates alone cannot tell these apart. At rebasing (a
  new agreement) the correlation of one ACO's savings rates one year apart falls from 0.67
  to 0.43, two years apart from 0.50 to 0.35 (``covariance_by_lag``): about a third of
  the persistent term goes with the old benchmark.
* **benchmark error** (``ε``) is the *year-specific* part net of claims noise:
  ``Var(s) − Cov(s_t, s_t') − claims noise``.

All pairs of years within an agreement enter the covariance (lag 1 about 60% of them, the
rest lag 2–3). The lag-1 correlation (0.67) exceeds lags 2–3 (0.50): some of the
year-specific part carries over one year. Pooling the lags makes the variance of an
ACO's *agreement-average* savings rate right, which is what a multi-year agreement pays on.

Both parts shrink with ACO size far faster than a constant allows. The reduced-form law,
fitted by weighted least squares on the per-band moments, is

    Var(s | N) = A + B / N,      Cov(s_t, s_t' | N) = A_p + B_p / N.

The constant-term model ``Var = σ_τ² + σ_ε² + CV_T²/N`` (``B = CV_T²``) misses the
observed SD of the smallest band by −1.4 points and of the largest by +0.8 (reported as
``constant_model_sd``). ``B ≈ 5 · CV_T²``: beyond claims noise, ACO-level effects average
out with size, as they would if they came from practices (an ACO of ``N`` beneficiaries
pools about ``N/m`` practices of ``m`` patients each: the "design effect" of clustered
data). Three quarters of that excess is persistent (``B_p``); the year-specific rest
(0.4–0.9 × ``CV_T²``) has the size of the claims noise of a benchmark averaged over three
base years (``Σ w_k² = 0.46`` of the performance-year noise with CMS's 10/30/60 weights)
plus risk adjustment. The structural terms at any size ``N`` solve the exact moments of
the formula above (:meth:`CalibrationResult.aco_terms`, :func:`savings_rate_moments`); a
scenario states them at its own size and :func:`resize_scenario` moves them along the law.

The mean savings rate drifts: 0.6% in PY2014, 1.4% in 2017, 1.6% in 2018, 2.5% in 2019,
3.9% in 2020 (the first COVID-19 year), 3.4% and 3.7% in 2021–2022. ``true_savings`` is
reported by year; the shipped scenario pools the years it is checked on, PY2018–2022.

Fitted numbers
--------------
``calibrate_puf(range(2014, 2023))``: 4,122 ACO-years of 925 ACOs, 4,081 pairs of years
within an agreement, ``medicare-ffs`` spending truncated at the 99th percentile
(``CV_T = 1.84``); cluster-bootstrap standard errors over ACOs in brackets:

* ``A = 0.00067 (0.00012)``, an SD of 2.6 points at infinite size; ``B = 17.1 (2.0)`` =
  5.0 × ``CV_T²``; ``A_p = 0.00044 (0.00013)``, ``B_p = 10.6 (2.1)``;
* at the median ACO (12,600 beneficiaries): ``true_savings = 2.2%``,
  ``true_savings_sd = 3.6% (0.14)``, ``benchmark_error_sd = 2.2% (0.15)``;
* SD of the savings rate by band, observed / fitted / constant-term model / claims noise
  alone, points: <10k 5.71/5.76/4.33/2.29, 10k–15k 4.56/4.55/4.03/1.67, 15k–25k
  4.07/3.98/3.91/1.34, 25k–50k 3.42/3.43/3.80/1.00, ≥50k 2.94/3.02/3.73/0.69 (robust
  SDs, IQR/1.349: 4.94, 4.12, 3.58, 2.94, 2.26; excess kurtosis 1.4–2.5).

The shipped scenario ``scenarios/mssp-program.toml`` takes ``calibrate_puf(range(2018,
2023))`` (2,493 ACO-years, the years :func:`program_check` tests it on) at the median ACO,
13,100 beneficiaries: ``true_savings = 3.03%``, ``true_savings_sd = 3.31% (0.12)``,
``benchmark_error_sd = 2.10% (0.17)``. The ACO-level spread was wider in PY2014–2017
(``A = 0.00081`` against 0.00061). Rerun with
``simsav calibrate-puf 2018 2019 2020 2021 2022 --json``.

Size bands
----------
<10k, 10k–15k, 15k–25k, 25k–50k and ≥50k beneficiaries: each holds at least ~30 ACOs a
year and 280 ACO-years over PY2014–2022 (SD known to ±0.2–0.3 points), the edges are
anchors of CMS's MSR table, and the smallest band holds the ACOs near the 5,000 minimum.
Below 5,000 there are only 12–20 ACOs a year, too few for a band of their own. Size
within a band enters the fit through the band's mean of ``1/N``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from scipy.optimize import brentq

from simsav.contracts import CMS_ELECTIONS
from simsav.io.puf import load_puf
from simsav.scenario import Scenario, parse_scenario
from simsav.simulation import simulate
from simsav.spending import SpendingSpec

__all__ = [
    "BAND_EDGES",
    "CALIBRATION_YEARS",
    "CHECK_YEARS",
    "DEFAULT_SPENDING",
    "MODEL_ERROR",
    "CalibrationResult",
    "band_labels",
    "calibrate_puf",
    "calibrate_puf_cli_payload",
    "program_check",
    "puf_moments",
    "resize_scenario",
    "savings_rate_moments",
]

logger = logging.getLogger(__name__)

#: Upper edges of the size bands (assigned beneficiaries); the last band is open.
BAND_EDGES: tuple[int, ...] = (10_000, 15_000, 25_000, 50_000)
#: Performance years the ACO-level terms are fitted on by default.
CALIBRATION_YEARS: tuple[int, ...] = tuple(range(2014, 2023))
#: Performance years :func:`program_check` compares the shipped scenario with.
CHECK_YEARS: tuple[int, ...] = tuple(range(2018, 2023))
#: CMS-truncated Medicare FFS spending (cap at the 99th percentile), ``CV_T = 1.84``.
DEFAULT_SPENDING = SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99)

#: Model error of :func:`program_check`, added to its statistical tolerance: what a
#: scenario cannot represent, measured on PY2018–2022 (points, largest band of the four
#: with ≥ 380 ACO-years). ``sd``: the SD at a band's median size understates the SD at its
#: mean 1/N by ≤ 0.15 (ACOs down to 605 beneficiaries in <10k); beyond sampling error the
#: variance law shows no misfit (χ² ≈ 4 on 3 d.f.). ``p_under_benchmark``: one mean for
#: years whose means run from 1.6% to 3.9% moves a share by ≤ 0.7, and the
#: heavier-than-normal shape (excess kurtosis 0.7–2.3) puts ≤ 2.1 more ACOs above zero
#: than a normal of the same mean and SD: 2 points. ``p_earn``: pooling years ≤ 0.6,
#: one ``true_savings`` for one- and two-sided ACOs (two-sided ones save 1.9 points more)
#: ≤ 0.7, the 1.5% election standing for the 0–2% mix ≤ 1.5, and the beta quality score
#: failing the 0.7385 standard in 3.8% of sims where 99.9% met it in the files −2.2
#: (simulated): 3 points (root sum of squares 2.8).
MODEL_ERROR: dict[str, float] = {"sd": 0.0015, "p_under_benchmark": 0.02, "p_earn": 0.03}

_METRICS = ("sd", "p_under_benchmark", "p_earn")
_GH_X, _GH_W = hermegauss(48)
_GH_W = _GH_W / _GH_W.sum()


# ----------------------------------------------------------------------------- data
def band_labels(edges: Sequence[int] = BAND_EDGES) -> list[str]:
    """Labels of the size bands cut at ``edges``.

    Parameters
    ----------
    edges : sequence of int
        Upper band edges in assigned beneficiaries, increasing; the last band is open.

    Returns
    -------
    list of str
        One label per band (``len(edges) + 1``).

    Examples
    --------
    >>> band_labels()
    ['<10k', '10k-15k', '15k-25k', '25k-50k', '>=50k']
    """
    def k(x: int) -> str:
        return f"{x // 1000}k" if x % 1000 == 0 else f"{x:,}"

    e = list(edges)
    if not e or e != sorted(set(e)) or e[0] <= 0:
        raise ValueError(f"bands: edges must be positive and increasing, got {e}")
    mids = [f"{k(a)}-{k(b)}" for a, b in zip(e[:-1], e[1:], strict=True)]
    return [f"<{k(e[0])}", *mids, f">={k(e[-1])}"]


def _band_index(n: np.ndarray, edges: Sequence[int]) -> np.ndarray:
    return np.searchsorted(np.asarray(edges, dtype=float), n, side="right")


def _sources(years_or_files: Any) -> list[int | Path]:
    """Years (ints or digit strings) and paths, in order, without repeats."""
    if isinstance(years_or_files, str | os.PathLike | int | np.integer):
        items: Iterable[Any] = [years_or_files]
    else:
        items = years_or_files
    out: list[int | Path] = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"years_or_files: expected a year or a path, got {item!r}")
        src: int | Path
        if isinstance(item, int | np.integer):
            src = int(item)
        elif isinstance(item, str) and item.strip().isdigit() and not Path(item).is_file():
            src = int(item.strip())
        elif isinstance(item, str | os.PathLike):
            src = Path(item)
        else:
            raise ValueError(f"years_or_files: expected a year or a path, got {item!r}")
        if src not in out:
            out.append(src)
    if not out:
        raise ValueError("years_or_files: give at least one year or file")
    return out


_PANEL_COLUMNS = (
    "aco_id",
    "aco_num",
    "performance_year",
    "n_ab",
    "savings_rate",
    "earned",
    "two_sided",
    "msr",
    "quality_score",
    "quality_p4r",
    "met_qps",
    "current_start_date",
    "benchmark_total",
)


def _load_panel(years_or_files: Any, edges: Sequence[int]) -> pd.DataFrame:
    """One row per ACO-year with what the moments need, and its size band."""
    frames = []
    for src in _sources(years_or_files):
        df = load_puf(src)
        frames.append(df.loc[:, list(_PANEL_COLUMNS)].copy())
    panel = pd.concat(frames, ignore_index=True)
    # an ACO without ACO_ID (not in the crosswalk) keeps its encrypted ACO_Num, or its row
    ids = panel["aco_id"].astype("string").fillna(panel["aco_num"].astype("string"))
    rows = pd.Series([f"row{i}" for i in range(len(panel))], index=panel.index, dtype="string")
    panel["aco_id"] = ids.fillna(rows)
    ok = panel["savings_rate"].notna() & panel["n_ab"].gt(0) & panel["earned"].notna()
    if int((~ok).sum()):
        logger.info("dropped %d ACO-year(s) without savings rate or N_AB", int((~ok).sum()))
    panel = panel[ok]
    dup = panel.duplicated(["aco_id", "performance_year"])
    if bool(dup.any()):
        logger.warning("dropped %d duplicated ACO-year(s)", int(dup.sum()))
        panel = panel[~dup]
    if panel.empty:
        raise ValueError("years_or_files: no ACO-years with a savings rate")
    panel = panel.reset_index(drop=True)
    panel["performance_year"] = panel["performance_year"].astype(int)
    panel["s"] = panel["savings_rate"].astype(float)
    panel["n"] = panel["n_ab"].astype(float)
    panel["band"] = _band_index(panel["n"].to_numpy(), edges)
    panel["two"] = panel["two_sided"].astype("boolean").fillna(False).astype(bool)
    panel["earn"] = panel["earned"].astype(float) > 0
    panel["under"] = panel["s"] > 0
    cell = panel.groupby(["performance_year", "band"])["s"]
    size = cell.transform("size").astype(float)
    panel["r"] = panel["s"] - cell.transform("mean")  # deviation from the cell mean
    panel["dof"] = (size - 1.0) / size  # Σ dof over a cell = n_c − 1
    panel["r_year"] = panel["s"] - panel.groupby("performance_year")["s"].transform("mean")
    ysize = panel.groupby("performance_year")["s"].transform("size").astype(float)
    panel["dof_year"] = (ysize - 1.0) / ysize
    return panel


def _pairs(panel: pd.DataFrame, edges: Sequence[int]) -> pd.DataFrame:
    """Every pair of years of one ACO (both orders once: t < t'), with agreement flags."""
    cols = ["aco_id", "performance_year", "n", "r", "current_start_date"]
    a = panel.loc[:, cols]
    m = a.merge(a, on="aco_id", suffixes=("", "_2"))
    m = m[m["performance_year"] < m["performance_year_2"]].copy()
    m["lag"] = m["performance_year_2"] - m["performance_year"]
    same = m["current_start_date"].eq(m["current_start_date_2"])
    m["same_agreement"] = same.fillna(False).to_numpy(dtype=bool)
    m["prod"] = m["r"] * m["r_2"]
    m["n_pair"] = np.sqrt(m["n"] * m["n_2"])
    m["h"] = 1.0 / m["n_pair"]
    m["band"] = _band_index(m["n_pair"].to_numpy(), edges)
    return m.reset_index(drop=True)


def _robust_sd(x: np.ndarray) -> float:
    if x.size < 4:
        return float("nan")
    q1, q3 = np.quantile(x, [0.25, 0.75])
    return float((q3 - q1) / 1.349)


def _excess_kurtosis(x: np.ndarray) -> float:
    if x.size < 4:
        return float("nan")
    d = x - x.mean()
    v = float(np.mean(d**2))
    return float(np.mean(d**4) / v**2 - 3.0) if v > 0 else float("nan")


# ----------------------------------------------------------------------------- bootstrap
class _ClusterSums:
    """Per-ACO sums of a few quantities by band, for a Poisson cluster bootstrap."""

    def __init__(self, codes: np.ndarray, n_clusters: int, n_bands: int):
        self.codes = codes
        self.J = n_clusters
        self.B = n_bands

    def sums(self, band: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``(J, B + 1)`` sums of ``values``; the last column is the total over bands."""
        out = np.zeros((self.J, self.B + 1))
        np.add.at(out, (self.codes, band), values)
        out[:, self.B] = out[:, : self.B].sum(axis=1)
        return out


def _poisson_weights(n_boot: int, n_clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(1.0, size=(n_boot, n_clusters)).astype(float)


def _ratio_boot(num: np.ndarray, den: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Bootstrap replicates ``(n_boot, B + 1)`` of ``Σ num / Σ den``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ num) / (w @ den)


# ----------------------------------------------------------------------------- moments
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
        Upper band edges in assigned beneficiaries (default :data:`BAND_EDGES`).
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
    panel = _load_panel(years_or_files, bands)
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
        "robust_sd": _robust_sd(dev),
        "excess_kurtosis": _excess_kurtosis(dev),
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
        cs = _ClusterSums(codes, len(uniques), len(labels))
        band = panel["band"].to_numpy()
        w = _poisson_weights(n_boot, cs.J, seed)
        r2 = cs.sums(band, panel["r"].to_numpy() ** 2)
        dof = cs.sums(band, panel["dof"].to_numpy())
        r2[:, -1] = cs.sums(band, panel["r_year"].to_numpy() ** 2)[:, -1]
        dof[:, -1] = cs.sums(band, panel["dof_year"].to_numpy())[:, -1]
        ones = cs.sums(band, np.ones(len(panel)))
        sd = np.sqrt(_ratio_boot(r2, dof, w))
        under = _ratio_boot(cs.sums(band, panel["under"].to_numpy(dtype=float)), ones, w)
        earn = _ratio_boot(cs.sums(band, panel["earn"].to_numpy(dtype=float)), ones, w)
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


def _structural(mean: float, var: float, cov: float, cv: float, n: float) -> dict[str, float]:
    """``[aco]`` terms whose exact moments give the reduced-form mean, Var and Cov."""
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


# ----------------------------------------------------------------------------- fitting
def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least squares of ``y`` on ``[1, x]``: ``(intercept, slope)``."""
    sw = np.sqrt(w)
    design = np.column_stack([np.ones_like(x), x]) * sw[:, None]
    coef, *_ = np.linalg.lstsq(design, y * sw, rcond=None)
    return float(coef[0]), float(coef[1])


def _wls_fixed_slope(y: np.ndarray, x: np.ndarray, w: np.ndarray, slope: float) -> float:
    return float(np.sum(w * (y - slope * x)) / np.sum(w))


@dataclass(frozen=True)
class CalibrationResult:
    """ACO-level terms fitted to the MSSP public-use files (see :func:`calibrate_puf`).

    Variances are of the savings rate as a fraction; ``*_slope`` terms are in
    fraction² × beneficiaries (divide by N).

    Attributes
    ----------
    years : list of int
        Performance years used.
    n_aco_years, n_acos, n_pairs : int
        ACO-years, distinct ACOs, and pairs of years of one ACO within one agreement.
    spending : dict
        The spending model (``SpendingSpec`` fields); ``claims_cv`` its truncated CV.
    reference_beneficiaries : int
        The size at which the structural terms are stated (median ACO by default).
    mean_savings_rate : float
        Pooled mean savings rate (ACO-weighted); ``mean_by_year`` per year.
    true_savings, true_savings_sd, benchmark_error_sd : float
        The ``[aco]`` terms at ``reference_beneficiaries``; ``true_savings_by_year`` the
        mean term of each year.
    variance_intercept, variance_slope : float
        ``Var(s | N) = variance_intercept + variance_slope / N`` (within year and band).
    persistent_intercept, persistent_slope : float
        ``Cov(s_t, s_t' | N)`` of one ACO within one agreement, the same form.
    design_effect : float
        ``variance_slope / claims_cv²``: how many times the claims noise scales as 1/N.
    constant_model_intercept : float
        The constant-term model ``Var = σ² + claims_cv²/N`` fitted the same way, for
        comparison (``constant_model_sd`` in ``bands``).
    bands : list of dict
        Per band: observed and fitted SD and persistent covariance, standard errors,
        the fit's tolerance, and the structural terms at the band's median size.
    covariance_by_lag : list of dict
        Pooled over sizes, per lag in years: covariance and correlation of the savings
        rate within one agreement and across agreements (after rebasing).
    standard_errors : dict
        Cluster-bootstrap standard errors of the fitted terms.
    quality_mean, quality_sd : float
        Mean and SD of the published quality scores (pay-for-reporting rows excluded);
        ``share_met_qps`` the share meeting the quality performance standard.
    share_two_sided : float
        Share of ACO-years in two-sided tracks; ``two_sided_mean_msr`` their mean elected
        MSR and ``two_sided_msr_election`` the nearest CMS election.
    median_benchmark_per_capita : float
        Median benchmark per assigned beneficiary, USD (for the scenario's ``mean``).
    fit_tolerance_sd : float
        Largest allowed |fitted − observed| SD of a band (fraction); see ``bands``.
    """

    years: list[int]
    n_aco_years: int
    n_acos: int
    n_pairs: int
    spending: dict[str, Any]
    claims_cv: float
    reference_beneficiaries: int
    mean_savings_rate: float
    mean_by_year: dict[int, float]
    true_savings: float
    true_savings_sd: float
    benchmark_error_sd: float
    true_savings_by_year: dict[int, float]
    variance_intercept: float
    variance_slope: float
    persistent_intercept: float
    persistent_slope: float
    design_effect: float
    constant_model_intercept: float
    bands: list[dict[str, Any]]
    covariance_by_lag: list[dict[str, Any]]
    standard_errors: dict[str, float]
    quality_mean: float
    quality_sd: float
    share_met_qps: float
    share_two_sided: float
    two_sided_mean_msr: float
    two_sided_msr_election: float
    median_benchmark_per_capita: float
    fit_tolerance_sd: float
    n_boot: int = 0
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    def variance(self, n_beneficiaries: float) -> float:
        """Fitted ``Var(s | N)`` of the savings rate (fraction²)."""
        return self.variance_intercept + self.variance_slope / n_beneficiaries

    def persistent_covariance(self, n_beneficiaries: float) -> float:
        """Fitted within-agreement covariance of one ACO's savings rate (fraction²)."""
        return max(self.persistent_intercept + self.persistent_slope / n_beneficiaries, 0.0)

    def aco_terms(self, n_beneficiaries: float, *, mean: float | None = None) -> dict[str, float]:
        """The ``[aco]`` terms at ``n_beneficiaries`` that reproduce the fitted moments.

        Parameters
        ----------
        n_beneficiaries : float
            ACO size.
        mean : float, optional
            Target mean savings rate (default: the pooled ``mean_savings_rate``).

        Returns
        -------
        dict
            ``true_savings``, ``true_savings_sd``, ``benchmark_error_sd``.
        """
        m = self.mean_savings_rate if mean is None else mean
        n = float(n_beneficiaries)
        return _structural(m, self.variance(n), self.persistent_covariance(n), self.claims_cv, n)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field (year keys as strings)."""
        d = asdict(self)
        for k in ("mean_by_year", "true_savings_by_year"):
            d[k] = {str(y): v for y, v in d[k].items()}
        return _jsonable(d)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def calibrate_puf(
    years_or_files: Any = CALIBRATION_YEARS,
    *,
    spending: SpendingSpec = DEFAULT_SPENDING,
    bands: Sequence[int] = BAND_EDGES,
    reference_beneficiaries: int | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> CalibrationResult:
    """Fit the ACO-level terms (true savings, benchmark error) to the public-use files.

    Method of moments on the per-band moments (see the module docstring): weighted least
    squares of the within-year variance of each size band on ``[1, mean 1/N]``, and of
    the within-agreement covariance of one ACO's savings rates between years on the same,
    each band weighted by the inverse of its moment's sampling variance at the fitted
    values (``V²(2 + κ)/n`` for a variance with excess kurtosis ``κ``, ``(V² + C²)/n``
    for a covariance). The structural terms at any size solve the exact moments of the
    simulator's savings rate (:func:`savings_rate_moments`).

    Parameters
    ----------
    years_or_files : int, str, path or iterable of them
        Bundled performance years and/or CMS results CSVs (default PY2014–2022).
    spending : SpendingSpec
        The spending model whose truncated CV gives the claims noise (default
        :data:`DEFAULT_SPENDING`).
    bands : sequence of int
        Upper band edges (default :data:`BAND_EDGES`).
    reference_beneficiaries : int, optional
        Size at which to state the terms (default: the median ACO, rounded to 100).
    n_boot : int
        Cluster-bootstrap replicates over ACOs for the standard errors (0: none, NaN).
        The point estimates do not depend on it.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    CalibrationResult

    Examples
    --------
    >>> r = calibrate_puf(range(2018, 2023), n_boot=0)
    >>> r.reference_beneficiaries
    13100
    >>> [round(100 * x, 1) for x in (r.true_savings, r.true_savings_sd, r.benchmark_error_sd)]
    [3.0, 3.3, 2.1]
    """
    if n_boot < 0:
        raise ValueError(f"n_boot: must be >= 0, got {n_boot}")
    labels = band_labels(bands)
    nb = len(labels)
    panel = _load_panel(years_or_files, bands)
    pairs = _pairs(panel, bands)
    within = pairs[pairs["same_agreement"]]
    cv = float(spending.to_model().cv(truncated=True))
    cv2 = cv * cv

    # per-ACO sums by band, for the moments and their cluster bootstrap
    codes, uniques = pd.factorize(panel["aco_id"])
    cs = _ClusterSums(codes, len(uniques), nb)
    band = panel["band"].to_numpy()
    r2 = cs.sums(band, panel["r"].to_numpy() ** 2)
    dof = cs.sums(band, panel["dof"].to_numpy())
    hsum = cs.sums(band, 1.0 / panel["n"].to_numpy())
    cnt = cs.sums(band, np.ones(len(panel)))
    pcodes = pd.Index(uniques).get_indexer(within["aco_id"])
    pcs = _ClusterSums(pcodes, len(uniques), nb)
    pband = within["band"].to_numpy()
    psum = pcs.sums(pband, within["prod"].to_numpy())
    pcnt = pcs.sums(pband, np.ones(len(within)))
    phsum = pcs.sums(pband, within["h"].to_numpy())

    ones = np.ones((1, cs.J))
    var_b = _ratio_boot(r2, dof, ones)[0, :nb]
    h_b = _ratio_boot(hsum, cnt, ones)[0, :nb]
    cov_b = _ratio_boot(psum, pcnt, ones)[0, :nb]
    ph_b = _ratio_boot(phsum, pcnt, ones)[0, :nb]
    n_b = cnt.sum(axis=0)[:nb]
    np_b = pcnt.sum(axis=0)[:nb]
    use = (n_b >= 10) & np.isfinite(var_b)
    use_p = (np_b >= 10) & np.isfinite(cov_b)
    if int(use.sum()) < 2 or int(use_p.sum()) < 2:
        raise ValueError(
            "years_or_files: need at least two size bands with 10 ACO-years (and 10 pairs of "
            "years within an agreement) to fit the size law; give more years"
        )

    # weighted least squares, weights 1 / Var(moment) at the fitted values (two passes)
    kurt = np.array([_excess_kurtosis(panel.loc[panel["band"] == i, "r"].to_numpy())
                     for i in range(nb)])
    kurt = np.where(np.isfinite(kurt), np.maximum(kurt, 0.0), 0.0)
    hv, hp = np.where(use, h_b, 0.0), np.where(use_p, ph_b, 0.0)
    yv, yc = np.where(use, var_b, 0.0), np.where(use_p, cov_b, 0.0)
    fit_v, fit_c = yv, yc
    for _ in range(2):
        wt = np.where(use, n_b / (np.maximum(fit_v, 1e-8) ** 2 * (2.0 + kurt)), 0.0)
        wt_p = np.where(use_p, np_b / np.maximum(fit_v**2 + fit_c**2, 1e-16), 0.0)
        a, b = _wls(yv, hv, wt)
        ap, bp = _wls(yc, hp, wt_p)
        fit_v, fit_c = a + b * hv, ap + bp * hp
    a0 = _wls_fixed_slope(yv, hv, wt, cv2)

    # cluster bootstrap over ACOs: standard errors of the moments and of the fit
    nan_b = np.full(nb, np.nan)
    var_rep, cov_rep = np.full((0, nb), np.nan), np.full((0, nb), np.nan)
    rep_arr = np.full((0, 4), np.nan)
    if n_boot > 1:
        w = _poisson_weights(n_boot, cs.J, seed)
        var_rep = _ratio_boot(r2, dof, w)[:, :nb]
        cov_rep = _ratio_boot(psum, pcnt, w)[:, :nb]
        reps = []
        for k in range(n_boot):
            vk, ck = var_rep[k], cov_rep[k]
            ok, okp = use & np.isfinite(vk), use_p & np.isfinite(ck)
            ak, bk = _wls(np.where(ok, vk, 0.0), np.where(ok, h_b, 0.0), np.where(ok, wt, 0.0))
            apk, bpk = _wls(np.where(okp, ck, 0.0), np.where(okp, ph_b, 0.0),
                            np.where(okp, wt_p, 0.0))
            reps.append((ak, bk, apk, bpk))
        rep_arr = np.array(reps)
        mean_rep = _ratio_boot(cs.sums(band, panel["s"].to_numpy()), cnt, w)[:, nb]

    # means, by year and pooled; structural terms at the reference size
    by_year = panel.groupby("performance_year")["s"].mean()
    mean_by_year = {int(y): float(v) for y, v in by_year.items()}
    mean = float(panel["s"].mean())
    n0 = reference_beneficiaries
    if n0 is None:
        n0 = int(round(float(panel["n"].median()) / 100.0) * 100)
    n0 = int(n0)
    if n0 < 1:
        raise ValueError(f"reference_beneficiaries: must be >= 1, got {n0}")

    def structural(av: float, bv: float, apv: float, bpv: float, n: float,
                   m: float = mean) -> dict[str, float]:
        return _structural(m, av + bv / n, max(apv + bpv / n, 0.0), cv, n)

    terms = structural(a, b, ap, bp, n0)
    ts_by_year = {
        y: structural(a, b, ap, bp, n0, m)["true_savings"] for y, m in mean_by_year.items()
    }
    ses = dict.fromkeys(("variance_intercept", "variance_slope", "persistent_intercept",
                         "persistent_slope", "true_savings_sd", "benchmark_error_sd",
                         "mean_savings_rate"), float("nan"))
    if n_boot > 1:
        rep_terms = np.array([list(structural(*r, n0).values()) for r in rep_arr])
        for j, name in enumerate(("variance_intercept", "variance_slope",
                                  "persistent_intercept", "persistent_slope")):
            ses[name] = float(np.std(rep_arr[:, j], ddof=1))
        ses["true_savings_sd"] = float(np.std(rep_terms[:, 1], ddof=1))
        ses["benchmark_error_sd"] = float(np.std(rep_terms[:, 2], ddof=1))
        ses["mean_savings_rate"] = float(np.std(mean_rep, ddof=1))

    # per-band table: observed vs fitted
    se_sd, se_cov = nan_b, nan_b
    if n_boot > 1:
        se_sd = np.nanstd(np.sqrt(var_rep), axis=0, ddof=1)
        se_cov = np.nanstd(cov_rep, axis=0, ddof=1)
    band_rows = []
    for i, label in enumerate(labels):
        d = panel[panel["band"] == i]
        if d.empty:
            continue
        med = float(d["n"].median())
        fitted_var = a + b * h_b[i]
        at_med = structural(a, b, ap, bp, med)
        band_rows.append({
            "band": label,
            "n_aco_years": int(n_b[i]),
            "n_pairs": int(np_b[i]),
            "median_beneficiaries": med,
            "mean_inv_beneficiaries": float(h_b[i]),
            "observed_sd": float(math.sqrt(var_b[i])),
            "robust_sd": _robust_sd(d["r"].to_numpy()),
            "se_sd": float(se_sd[i]),
            "fitted_sd": float(math.sqrt(max(fitted_var, 0.0))),
            "constant_model_sd": float(math.sqrt(max(a0 + cv2 * h_b[i], 0.0))),
            "claims_sd": float(math.sqrt(cv2 * h_b[i])),
            "observed_persistent_cov": float(cov_b[i]),
            "se_persistent_cov": float(se_cov[i]),
            "fitted_persistent_cov": float(ap + bp * ph_b[i]),
            "true_savings_sd": at_med["true_savings_sd"],
            "benchmark_error_sd": at_med["benchmark_error_sd"],
        })
    for row in band_rows:
        row["tolerance"] = _fit_tolerance(row["se_sd"])
        row["difference"] = row["fitted_sd"] - row["observed_sd"]
        row["within_tolerance"] = bool(abs(row["difference"]) <= row["tolerance"])

    # covariance by lag, within and across agreements (pooled over sizes)
    lag_rows = []
    sd_all = float(np.sqrt(np.sum(panel["r"] ** 2) / panel["dof"].sum()))
    for lag, d in pairs.groupby("lag"):
        row: dict[str, Any] = {"lag": int(lag)}
        for key, sub in (("within_agreement", d[d["same_agreement"]]),
                         ("across_agreements", d[~d["same_agreement"]])):
            c = float(sub["prod"].mean()) if len(sub) else float("nan")
            row[f"{key}_n"] = len(sub)
            row[f"{key}_cov"] = c
            row[f"{key}_corr"] = c / sd_all**2 if len(sub) else float("nan")
        lag_rows.append(row)

    # quality and track mix
    q = panel.loc[~panel["quality_p4r"].astype(bool), "quality_score"].astype(float).dropna()
    met = panel["met_qps"].astype("boolean").dropna()
    two = panel[panel["two"]]
    msr2 = two["msr"].astype(float).dropna()
    mean_msr2 = float(msr2.mean()) if len(msr2) else float("nan")
    election = (
        float(min(CMS_ELECTIONS, key=lambda e: abs(e - mean_msr2)))
        if len(msr2) else float("nan")
    )
    bpc = (panel["benchmark_total"].astype(float) / panel["n"]).dropna()

    notes = []
    worst = max(band_rows, key=lambda r: abs(r["constant_model_sd"] - r["observed_sd"]))
    notes.append(
        "constant-term model Var = sigma^2 + CV_T^2/N misses band "
        f"{worst['band']} by {100 * (worst['constant_model_sd'] - worst['observed_sd']):+.2f} "
        "points of SD; the fitted law adds a 1/N term of ACO-level effects"
    )
    return CalibrationResult(
        years=sorted(mean_by_year),
        n_aco_years=len(panel),
        n_acos=int(panel["aco_id"].nunique()),
        n_pairs=len(within),
        spending=spending.model_dump(mode="json", exclude_none=True),
        claims_cv=cv,
        reference_beneficiaries=n0,
        mean_savings_rate=mean,
        mean_by_year=mean_by_year,
        true_savings=terms["true_savings"],
        true_savings_sd=terms["true_savings_sd"],
        benchmark_error_sd=terms["benchmark_error_sd"],
        true_savings_by_year=ts_by_year,
        variance_intercept=a,
        variance_slope=b,
        persistent_intercept=ap,
        persistent_slope=bp,
        design_effect=b / cv2,
        constant_model_intercept=a0,
        bands=band_rows,
        covariance_by_lag=lag_rows,
        standard_errors=ses,
        quality_mean=float(q.mean()) if len(q) else float("nan"),
        quality_sd=float(q.std(ddof=1)) if len(q) > 1 else float("nan"),
        share_met_qps=float(met.mean()) if len(met) else float("nan"),
        share_two_sided=float(panel["two"].mean()),
        two_sided_mean_msr=mean_msr2,
        two_sided_msr_election=election,
        median_benchmark_per_capita=float(bpc.median()),
        fit_tolerance_sd=FIT_TOLERANCE_SD,
        n_boot=n_boot,
        seed=seed,
        notes=notes,
    )


#: Largest |fitted − observed| SD of a band the variance law may show (fraction).
FIT_TOLERANCE_SD = 0.005


def _fit_tolerance(se_sd: float) -> float:
    """Tolerance of a band's fitted SD: 3 cluster-bootstrap SEs of its observed SD, ≤ 0.5 pt."""
    if not math.isfinite(se_sd) or se_sd <= 0:
        return FIT_TOLERANCE_SD
    return float(min(3.0 * se_sd, FIT_TOLERANCE_SD))


# ----------------------------------------------------------------------------- scenarios
def resize_scenario(
    scenario: Scenario,
    beneficiaries: int,
    *,
    calibration: CalibrationResult | None = None,
) -> Scenario:
    """The scenario at another ACO size, its ACO-level terms moved along the size law.

    A scenario that carries the size law itself (``[aco] true_savings_var_n`` or
    ``benchmark_error_var_n``, as ``scenarios/mssp-program.toml`` does) needs only its
    population changed, and that is all this does for it. Otherwise the scenario states
    ``true_savings_sd`` and ``benchmark_error_sd`` at its own size ``N0``; with a
    calibration, each variance moves by the calibrated change between the two sizes,
    ``σ²(N) = σ_scn² + σ_cal²(N) − σ_cal²(N0)`` (at least 0); without one only the
    population changes.

    Parameters
    ----------
    scenario : Scenario
        The scenario.
    beneficiaries : int
        The new number of assigned beneficiaries.
    calibration : CalibrationResult, optional
        The size law (from :func:`calibrate_puf`).

    Returns
    -------
    Scenario
        Validated copy.
    """
    data = scenario.model_dump(mode="json", exclude_none=True)
    n_new = int(beneficiaries)
    data["population"] = {"beneficiaries": n_new}
    has_law = scenario.aco.true_savings_var_n > 0 or scenario.aco.benchmark_error_var_n > 0
    if calibration is not None and not has_law:
        n0 = scenario.population.beneficiaries
        at0, at1 = calibration.aco_terms(n0), calibration.aco_terms(n_new)
        aco = dict(data.get("aco", {}))
        for k in ("true_savings_sd", "benchmark_error_sd"):
            v = getattr(scenario.aco, k) ** 2 + at1[k] ** 2 - at0[k] ** 2
            aco[k] = float(math.sqrt(max(v, 0.0)))
        data["aco"] = aco
    return parse_scenario(data, source=f"{scenario.name} at {n_new} beneficiaries")


def program_check(
    scenario: Scenario,
    years_or_files: Any = CHECK_YEARS,
    *,
    n_sims: int = 4000,
    seed: int = 2026,
    calibration: CalibrationResult | None = None,
    bands: Sequence[int] = BAND_EDGES,
    z: float = 3.0,
    n_boot: int = 200,
) -> pd.DataFrame:
    """Simulate the scenario at each size band and compare it with the public-use files.

    For each band the scenario is resized to the band's median ACO
    (:func:`resize_scenario`, the ACO-level terms following the calibrated size law) and
    simulated; its SD of the savings rate, share under benchmark (savings rate > 0) and
    share earning shared savings are compared with the files' pooled values. The share
    earning mixes the scenario's designs by the band's observed track mix: one-sided
    designs weigh the share of one-sided ACOs, two-sided designs the rest. A program-level
    row (``band = "all"``) weighs the bands by their ACO counts.

    Tolerance per row: ``z · sqrt(se_observed² + se_simulated²) + MODEL_ERROR[metric]``.
    ``se_observed`` is a cluster bootstrap over ACOs (an ACO recurs across years with
    correlated results, so the files hold fewer independent ACOs than ACO-years: the
    standard error of a pooled share is ~1.5 times the binomial one); ``se_simulated``
    the Monte Carlo error; :data:`MODEL_ERROR` what the scenario cannot represent. The
    bands are simulated at their median size, as the one-sided MSR is read there.

    Parameters
    ----------
    scenario : Scenario
        E.g. ``load_scenario("scenarios/mssp-program.toml")``.
    years_or_files : int, str, path or iterable of them
        The files to compare with (default PY2018–2022).
    n_sims : int
        Sims per band.
    seed : int
        Seed of every band's simulation (and of the bootstrap).
    calibration : CalibrationResult, optional
        The size law; default ``calibrate_puf(years_or_files, spending=scenario.spending)``.
    bands : sequence of int
        Upper band edges (default :data:`BAND_EDGES`).
    z : float
        Standard errors in the tolerance (3: about 1 false alarm in 370 rows).
    n_boot : int
        Cluster-bootstrap replicates for the observed standard errors.

    Returns
    -------
    pandas.DataFrame
        One row per band and metric (``sd``, ``p_under_benchmark``, ``p_earn``):
        ``band``, ``metric``, ``n_aco_years``, ``beneficiaries`` (simulated size),
        ``observed``, ``simulated``, ``difference``, ``se_observed``, ``se_simulated``,
        ``model_error``, ``tolerance``, ``passed``.
    """
    if n_sims < 100:
        raise ValueError(f"n_sims: need at least 100 sims per band, got {n_sims}")
    obs = puf_moments(years_or_files, bands=bands, pooled=True, n_boot=n_boot, seed=seed)
    cal = calibration
    if cal is None:
        cal = calibrate_puf(years_or_files, spending=scenario.spending, bands=bands, n_boot=0)
    contracts = scenario.contracts()
    one = [name for name, c in contracts.items() if not c.two_sided]
    two = [name for name, c in contracts.items() if c.two_sided]

    rows: list[dict[str, Any]] = []
    band_sim: list[tuple[float, dict[str, tuple[float, float]]]] = []
    for _, o in obs[obs["band"] != "all"].iterrows():
        n_med = int(round(float(o["median_beneficiaries"])))
        ds = simulate(resize_scenario(scenario, n_med, calibration=cal), n_sims=n_sims,
                      seed=seed)
        s = 1.0 - ds["expenditure"].values[:, 0] / ds["benchmark"].values[:, 0]
        earned = ds["earned_savings"].isel(year=0)
        p_design = {str(d): float((earned.sel(design=d).values > 0).mean())
                    for d in ds["design"].values}
        w2 = float(o["share_two_sided"])
        if not two:
            w2 = 0.0
        elif not one:
            w2 = 1.0
        p1 = float(np.mean([p_design[d] for d in one])) if one else 0.0
        p2 = float(np.mean([p_design[d] for d in two])) if two else 0.0
        p_earn = (1.0 - w2) * p1 + w2 * p2
        sd = float(np.std(s, ddof=1))
        kurt = _excess_kurtosis(s)
        p_under = float(np.mean(s > 0))
        sim = {
            "sd": (sd, sd * math.sqrt(max(2.0 + kurt, 0.5) / (4.0 * n_sims))),
            "p_under_benchmark": (p_under, math.sqrt(p_under * (1 - p_under) / n_sims)),
            "p_earn": (p_earn, math.sqrt(max(p_earn * (1 - p_earn), 1e-12) / n_sims)),
        }
        observed = {
            "sd": (float(o["sd"]), float(o["se_sd"])),
            "p_under_benchmark": (float(o["share_under_benchmark"]),
                                  float(o["se_share_under_benchmark"])),
            "p_earn": (float(o["share_earning"]), float(o["se_share_earning"])),
        }
        band_sim.append((float(o["n_acos"]), sim))
        for metric in _METRICS:
            rows.append(_check_row(str(o["band"]), metric, int(o["n_acos"]), n_med,
                                   observed[metric], sim[metric], z))
    total = sum(n for n, _ in band_sim)
    o = obs[obs["band"] == "all"].iloc[0]
    for metric, col in (("p_under_benchmark", "share_under_benchmark"),
                        ("p_earn", "share_earning")):
        p = sum(n * sim[metric][0] for n, sim in band_sim) / total
        se = math.sqrt(sum((n / total) ** 2 * sim[metric][1] ** 2 for n, sim in band_sim))
        rows.append(_check_row("all", metric, int(o["n_acos"]), scenario.population.beneficiaries,
                               (float(o[col]), float(o[f"se_{col}"])), (p, se), z))
    return pd.DataFrame(rows)


def _check_row(band: str, metric: str, n: int, size: int, observed: tuple[float, float],
               simulated: tuple[float, float], z: float) -> dict[str, Any]:
    se_o = observed[1] if math.isfinite(observed[1]) else 0.0
    tol = z * math.sqrt(se_o**2 + simulated[1] ** 2) + MODEL_ERROR[metric]
    diff = simulated[0] - observed[0]
    return {
        "band": band,
        "metric": metric,
        "n_aco_years": n,
        "beneficiaries": size,
        "observed": observed[0],
        "simulated": simulated[0],
        "difference": diff,
        "se_observed": observed[1],
        "se_simulated": simulated[1],
        "model_error": MODEL_ERROR[metric],
        "tolerance": tol,
        "passed": bool(abs(diff) <= tol),
    }


def size_law_terms(result: CalibrationResult, n_large: int = 50_000) -> dict[str, float]:
    """The ``[aco]`` size law of a calibration: ``sd`` (large-ACO limit) and ``var_n``.

    The calibrated SDs follow ``SD(N)² = sd² + var_n / N``; the two coefficients come from
    the terms at the reference size and at ``n_large``.

    Examples
    --------
    >>> t = size_law_terms(calibrate_puf(range(2018, 2023), n_boot=0))
    >>> round(t["true_savings_sd"], 4), round(t["true_savings_var_n"], 1)
    (0.0176, 10.3)
    """
    n0 = float(result.reference_beneficiaries)
    a0, a1 = result.aco_terms(n0), result.aco_terms(n_large)
    out: dict[str, float] = {}
    for k, law in (("true_savings_sd", "true_savings_var_n"),
                   ("benchmark_error_sd", "benchmark_error_var_n")):
        v0, v1 = a0[k] ** 2, a1[k] ** 2
        c = max((v0 - v1) / (1.0 / n0 - 1.0 / n_large), 0.0)
        out[k] = float(math.sqrt(max(v1 - c / n_large, 0.0)))
        out[law] = float(c)
    return out


# ----------------------------------------------------------------------------- CLI
def calibrate_puf_cli_payload(files: list[str]) -> dict[str, Any]:
    """The JSON that ``simsav calibrate-puf FILES... --json`` prints.

    Parameters
    ----------
    files : list of str
        Paths to CMS results CSVs, or bundled performance years as strings (``"2018"``).

    Returns
    -------
    dict
        ``years``, ``n_aco_years``, ``n_acos``, ``spending``, ``claims_cv``; ``fitted``:
        the ``[aco]`` terms at ``reference_beneficiaries`` with standard errors, the size
        law and the means by year; ``bands``: per band the observed SD (and robust SD)
        against the fitted SD, the difference, the tolerance and whether it holds;
        ``tolerance``: how the tolerances are set; ``covariance_by_lag``; ``scenario``:
        the ``[aco]`` and ``[quality]`` tables and the two-sided MSR election to paste
        into a scenario; ``notes``.

    Examples
    --------
    >>> p = calibrate_puf_cli_payload(["2021", "2022"])
    >>> p["years"], [b["band"] for b in p["bands"]][-1], p["tolerance"]["sd"]
    ([2021, 2022], '>=50k', 0.005)
    """
    if not files:
        raise ValueError("files: give at least one CMS results CSV or performance year")
    r = calibrate_puf(list(files))
    d = r.to_dict()
    se = d["standard_errors"]
    band_keys = ("band", "n_aco_years", "median_beneficiaries", "observed_sd", "robust_sd",
                 "se_sd", "fitted_sd", "constant_model_sd", "claims_sd", "difference",
                 "tolerance", "within_tolerance", "true_savings_sd", "benchmark_error_sd")
    return {
        "years": d["years"],
        "n_aco_years": d["n_aco_years"],
        "n_acos": d["n_acos"],
        "n_pairs_within_agreement": d["n_pairs"],
        "spending": d["spending"],
        "claims_cv": d["claims_cv"],
        "fitted": {
            "reference_beneficiaries": d["reference_beneficiaries"],
            "true_savings": d["true_savings"],
            "true_savings_sd": d["true_savings_sd"],
            "true_savings_sd_se": se["true_savings_sd"],
            "benchmark_error_sd": d["benchmark_error_sd"],
            "benchmark_error_sd_se": se["benchmark_error_sd"],
            "mean_savings_rate": d["mean_savings_rate"],
            "mean_savings_rate_se": se["mean_savings_rate"],
            "mean_by_year": d["mean_by_year"],
            "true_savings_by_year": d["true_savings_by_year"],
            "variance_law": {
                "formula": "Var(s|N) = intercept + slope/N",
                "intercept": d["variance_intercept"],
                "intercept_se": se["variance_intercept"],
                "slope": d["variance_slope"],
                "slope_se": se["variance_slope"],
            },
            "persistent_law": {
                "formula": "Cov(s_t, s_t'|N), same agreement = intercept + slope/N",
                "intercept": d["persistent_intercept"],
                "intercept_se": se["persistent_intercept"],
                "slope": d["persistent_slope"],
                "slope_se": se["persistent_slope"],
            },
            "design_effect": d["design_effect"],
            "constant_model_intercept": d["constant_model_intercept"],
        },
        "bands": [{k: row[k] for k in band_keys} for row in d["bands"]],
        "tolerance": {
            "sd": d["fit_tolerance_sd"],
            "rule": "per band: 3 cluster-bootstrap standard errors of the band's observed "
                    "SD, at most 0.005 (0.5 points)",
        },
        "covariance_by_lag": d["covariance_by_lag"],
        "scenario": {
            "aco": {"true_savings": d["true_savings"], **size_law_terms(r)},
            "population": {"beneficiaries": d["reference_beneficiaries"]},
            "quality": {"distribution": "beta", "mean": d["quality_mean"],
                        "sd": d["quality_sd"]},
            "share_met_qps": d["share_met_qps"],
            "share_two_sided": d["share_two_sided"],
            "two_sided_mean_msr": d["two_sided_mean_msr"],
            "two_sided_msr_election": d["two_sided_msr_election"],
            "median_benchmark_per_capita": d["median_benchmark_per_capita"],
        },
        "notes": d["notes"],
    }
