"""The program model, calibrated on the MSSP public-use files of the years before the one forecast.

For ACO ``i`` in performance year ``t`` the savings rate is

    s_it = μ_t + γ · [first year in the program] + r_it,

* ``μ_t``: the **year effect**, shared by every ACO (an ACO in its first program year sits
  ``γ`` below it). Fitted by least squares on year dummies and the first-year dummy, so
  a year's mix of new and experienced ACOs does not move it;
* ``r_it``: the ACO's own deviation. Its variance follows the size law of
  :func:`simsav.analysis.calibrate.calibrate_puf`, ``Var(s | N) = A + B/N`` (claims noise
  included), and two years of one ACO covary as ``(A_p + B_p/N) × ρ``, with ``ρ``
  measured on the panel by lag (one year, or more) and by whether the two years share an
  agreement (a new agreement rebases the benchmark and breaks part of the persistence):
  :attr:`ProgramModel.covariance_ratios`.

The year effects carry the **common shocks**. They follow a program-wide drift (a linear
trend in ``t``) plus a shock of the year (the error of the national trend the benchmark
is updated with, shared by every ACO):

    μ_t = α + δ (t − t̄) + η_t,    η_t ~ N(0, σ_η²).

The forecast of ``μ_Y`` has two common errors: the drift's estimation error (standard
deviation ``s √h``, ``h = 1/k + (Y − t̄)² / Σ (t − t̄)²`` over ``k`` years) and the year's
shock. Each measured ``μ_t`` also holds the sampling error of a mean over a few hundred
ACOs, whose own deviations the simulation draws separately, so
``σ_η² = max(s² − v_sampling, 0)`` with ``s²`` the trend's residual variance and
``v_sampling`` the mean of ``Σ_i Var(s_i) / n_t²``. Both errors share one scale
``s · sqrt(ν / χ²_ν)``, ``ν = k − 2`` (the Student-t forecast of a regression with
``k`` points). ``common_shock="random-walk"`` takes ``μ_Y = μ_{Y−1} + mean change``
instead (an alternative, reported by the back-test).

Calibration uses the bundled files of PY2014 up to the year before the one forecast
(:func:`fit_program_model`), never the forecast year itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from simsav.analysis.calibrate import DEFAULT_SPENDING, CalibrationResult, calibrate_puf
from simsav.analysis.puf_panel import BAND_EDGES, load_panel
from simsav.io.puf import bundled_years, load_puf
from simsav.program.roster import crosswalk_first_years
from simsav.spending import SpendingSpec

__all__ = [
    "COMMON_SHOCK_MODELS",
    "FIRST_CALIBRATION_YEAR",
    "CommonForecast",
    "ProgramModel",
    "fit_program_model",
]

CommonShockModel = Literal["trend", "random-walk"]

#: How the year effect is forecast: a drift with a shock of the year, or a random walk.
COMMON_SHOCK_MODELS: tuple[str, ...] = ("trend", "random-walk")

#: First performance year the program model is fitted on (the default of
#: :data:`simsav.analysis.puf_panel.CALIBRATION_YEARS`: PY2013's first performance
#: period ran 18–21 months for the 2012 starters).
FIRST_CALIBRATION_YEAR = 2014

_RATIO_KEYS = ("within_lag1", "within_lag2", "across_lag1", "across_lag2")


@dataclass(frozen=True)
class CommonForecast:
    """The forecast of one year's effect ``μ_Y`` and its common errors.

    The year effect is ``center + w · (year_sd · z₁ + drift_sd · z₂)`` with
    ``w = sqrt(dof / χ²_dof)`` and independent standard normals ``z₁`` (the year's shock)
    and ``z₂`` (the drift's estimation error): a Student t with ``dof`` degrees of freedom.
    """

    year: int
    center: float
    year_sd: float
    drift_sd: float
    dof: int
    model: str

    @property
    def sd(self) -> float:
        """Standard deviation of the year effect (infinite at ``dof <= 2``)."""
        if self.dof <= 2:
            return math.inf
        return math.sqrt((self.year_sd**2 + self.drift_sd**2) * self.dof / (self.dof - 2))


@dataclass(frozen=True)
class ProgramModel:
    """The program model of :func:`fit_program_model` (see the module docstring).

    Attributes
    ----------
    years : tuple of int
        Calibration years.
    calibration : CalibrationResult
        The size law (``variance_intercept`` ``A``, ``variance_slope`` ``B``,
        ``persistent_intercept`` ``A_p``, ``persistent_slope`` ``B_p``) and the claims CV.
    year_effects : dict
        ``μ_t`` per calibration year (savings rate of an ACO past its first program year).
    entrant_offset : float
        ``γ``: an ACO's savings rate in its first program year, relative to ``μ_t``.
    covariance_ratios : dict
        ``ρ`` for ``within_lag1``, ``within_lag2`` (two years or more apart) in one
        agreement, and ``across_lag1``, ``across_lag2`` across agreements.
    sampling_var : float
        Mean sampling variance of a measured year effect.
    trend : dict
        ``intercept`` (at ``t_mean``), ``slope``, ``t_mean``, ``sxx``, ``resid_sd``, ``dof``.
    common_shock : str
        ``"trend"`` or ``"random-walk"``.
    quality_default : float
        Median published quality score of the last calibration year, for ACOs with none.
    panel : pandas.DataFrame
        The calibration panel with each ACO-year's deviation ``r``.
    first_years : dict
        Per ACO, the first program year known from the files and the CMS crosswalk.
    """

    years: tuple[int, ...]
    calibration: CalibrationResult
    year_effects: dict[int, float]
    entrant_offset: float
    covariance_ratios: dict[str, float]
    sampling_var: float
    trend: dict[str, float]
    common_shock: str
    quality_default: float
    panel: pd.DataFrame = field(repr=False)
    first_years: dict[str, int] = field(repr=False)

    @property
    def claims_cv(self) -> float:
        """Truncated per-beneficiary CV of the spending model (the claims noise)."""
        return self.calibration.claims_cv

    def variance(self, n: Any) -> Any:
        """``Var(s | N) = A + B / N`` (claims noise included)."""
        c = self.calibration
        return c.variance_intercept + c.variance_slope / np.asarray(n, dtype=float)

    def covariance(self, n: Any) -> Any:
        """``A_p + B_p / N`` (at least 0): the covariance the ratios scale."""
        c = self.calibration
        return np.maximum(c.persistent_intercept + c.persistent_slope / np.asarray(n, float), 0.0)

    def ratio(self, same_agreement: Any, lag: Any) -> Any:
        """``ρ`` for pairs of years ``lag`` apart, in one agreement or not."""
        r = self.covariance_ratios
        same = np.asarray(same_agreement, dtype=bool)
        one = np.asarray(lag) == 1
        return np.where(same, np.where(one, r["within_lag1"], r["within_lag2"]),
                        np.where(one, r["across_lag1"], r["across_lag2"]))

    def forecast(self, year: int) -> CommonForecast:
        """The year effect of ``year`` (see the module docstring)."""
        t = self.trend
        s2 = t["resid_sd"] ** 2
        eta2 = max(s2 - self.sampling_var, 0.0)
        if self.common_shock == "trend":
            center = t["intercept"] + t["slope"] * (year - t["t_mean"])
            year_var = eta2
            drift_var = s2 * (1.0 / t["k"] + (year - t["t_mean"]) ** 2 / t["sxx"])
        else:  # each year ahead adds a shock; the mean change is known to s² / k
            last = max(self.year_effects)
            steps = year - last
            center = self.year_effects[last] + t["slope"] * steps
            year_var = eta2 * steps
            drift_var = s2 * steps**2 / t["k"]
        return CommonForecast(year=int(year), center=float(center),
                              year_sd=float(math.sqrt(year_var)),
                              drift_sd=float(math.sqrt(drift_var)), dof=int(t["dof"]),
                              model=self.common_shock)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (without the panel)."""
        c = self.calibration
        return {
            "years": list(self.years),
            "size_law": {"variance_intercept": c.variance_intercept,
                         "variance_slope": c.variance_slope,
                         "persistent_intercept": c.persistent_intercept,
                         "persistent_slope": c.persistent_slope, "claims_cv": c.claims_cv},
            "year_effects": {str(y): v for y, v in self.year_effects.items()},
            "entrant_offset": self.entrant_offset,
            "covariance_ratios": dict(self.covariance_ratios),
            "sampling_var": self.sampling_var,
            "trend": dict(self.trend),
            "common_shock": self.common_shock,
            "quality_default": self.quality_default,
        }


# ----------------------------------------------------------------------------- fitting
def _calibration_years(year: int, years: Iterable[int] | None) -> list[int]:
    if years is None:
        ys = [y for y in bundled_years() if FIRST_CALIBRATION_YEAR <= y < year]
    else:
        ys = sorted({int(y) for y in years})
        late = [y for y in ys if y >= year]
        if late:
            raise ValueError(f"calibration years: must be before {year} (the year forecast), "
                             f"got {late}")
        missing = [y for y in ys if y not in bundled_years()]
        if missing:
            raise ValueError(f"calibration years: no bundled results file for {missing}")
    if len(ys) < 3:
        raise ValueError(f"year: the program model needs at least 3 calibration years before "
                         f"{year} (bundled files from PY{FIRST_CALIBRATION_YEAR}); got {ys}")
    return ys


def _first_years(before: int) -> dict[str, int]:
    """First program year of each ACO from the files before ``before`` and the crosswalk."""
    first = dict(crosswalk_first_years())
    for y in bundled_years():
        if y >= before:
            break
        df = load_puf(y)
        ids = df["aco_id"].astype("string").fillna(df["aco_num"].astype("string"))
        start = pd.to_datetime(df["current_start_date"])
        sy = start.dt.year.where(start.dt.year != 2012, 2013).fillna(y)
        for a, s in zip(ids, sy, strict=True):
            if pd.isna(a):
                continue
            f = min(int(s), y)
            first[str(a)] = min(first.get(str(a), f), f)
    return first


def _year_effects(panel: pd.DataFrame, years: list[int]) -> tuple[dict[int, float], float]:
    """Least squares of ``s`` on year dummies and the first-program-year dummy."""
    X = np.zeros((len(panel), len(years) + 1))
    col = {y: j for j, y in enumerate(years)}
    X[np.arange(len(panel)), panel["performance_year"].map(col).to_numpy()] = 1.0
    X[:, -1] = panel["entrant"].to_numpy(dtype=float)
    beta, *_ = np.linalg.lstsq(X, panel["s"].to_numpy(), rcond=None)
    if not panel["entrant"].any():
        beta[-1] = 0.0
    return {y: float(beta[j]) for y, j in col.items()}, float(beta[-1])


def _ratios(model_cov: Any, panel: pd.DataFrame) -> dict[str, float]:
    """``ρ`` by lag and agreement: Σ r r' / Σ (A_p + B_p / N_pair) over pairs of years."""
    a = panel[["aco_id", "performance_year", "n", "r", "start"]]
    m = a.merge(a, on="aco_id", suffixes=("", "_2"))
    m = m[m["performance_year"] < m["performance_year_2"]]
    lag1 = (m["performance_year_2"] - m["performance_year"]).eq(1).to_numpy()
    same = m["start"].eq(m["start_2"]).fillna(False).to_numpy(dtype=bool)
    prod = (m["r"] * m["r_2"]).to_numpy()
    cov = model_cov(np.sqrt(m["n"].to_numpy() * m["n_2"].to_numpy()))
    out: dict[str, float] = {}
    for key, mask in (("within_lag1", same & lag1), ("within_lag2", same & ~lag1),
                      ("across_lag1", ~same & lag1), ("across_lag2", ~same & ~lag1)):
        den = float(cov[mask].sum())
        out[key] = float(prod[mask].sum() / den) if mask.sum() >= 30 and den > 0 else math.nan
    # too few pairs of a kind: take the nearest kind measured
    for key, fallback in (("within_lag2", "within_lag1"), ("across_lag1", "within_lag1"),
                          ("across_lag2", "across_lag1")):
        if not math.isfinite(out[key]):
            out[key] = out[fallback]
    if not math.isfinite(out["within_lag1"]):
        raise ValueError("calibration years: too few ACOs with consecutive years to measure "
                         "the persistence of savings rates")
    return out


def _trend(effects: dict[int, float], model: str) -> dict[str, float]:
    t = np.array(sorted(effects), dtype=float)
    y = np.array([effects[int(v)] for v in t])
    k = len(t)
    if model == "trend":
        tm = float(t.mean())
        sxx = float(((t - tm) ** 2).sum())
        slope = float(((t - tm) * (y - y.mean())).sum() / sxx)
        resid = y - y.mean() - slope * (t - tm)
        dof = k - 2
        return {"intercept": float(y.mean()), "slope": slope, "t_mean": tm, "sxx": sxx,
                "resid_sd": float(math.sqrt(resid @ resid / dof)), "dof": dof, "k": k}
    d = np.diff(y)
    return {"intercept": float(y[-1]), "slope": float(d.mean()), "t_mean": float(t[-1]),
            "sxx": math.nan, "resid_sd": float(d.std(ddof=1)), "dof": len(d) - 1,
            "k": len(d)}


def fit_program_model(
    year: int,
    *,
    years: Iterable[int] | None = None,
    spending: SpendingSpec = DEFAULT_SPENDING,
    common_shock: CommonShockModel = "trend",
) -> ProgramModel:
    """Calibrate the program model to forecast ``year`` on the bundled files before it.

    Parameters
    ----------
    year : int
        The performance year to forecast.
    years : iterable of int, optional
        Calibration years, all before ``year`` (default every bundled year from
        :data:`FIRST_CALIBRATION_YEAR` to ``year − 1``; at least 3).
    spending : SpendingSpec
        The spending model of the claims noise (default
        :data:`simsav.analysis.calibrate.DEFAULT_SPENDING`).
    common_shock : {"trend", "random-walk"}
        How the year effect is forecast (module docstring).

    Returns
    -------
    ProgramModel

    Examples
    --------
    >>> m = fit_program_model(2022)
    >>> m.years[0], m.years[-1], round(100 * m.entrant_offset, 2)
    (2014, 2021, -1.14)
    >>> f = m.forecast(2022)
    >>> round(100 * f.center, 2), f.dof
    (4.01, 6)
    """
    if common_shock not in COMMON_SHOCK_MODELS:
        raise ValueError(f"common_shock: must be one of {', '.join(COMMON_SHOCK_MODELS)}, "
                         f"got {common_shock!r}")
    ys = _calibration_years(int(year), years)
    cal = calibrate_puf(ys, spending=spending, n_boot=0)
    panel = load_panel(ys, BAND_EDGES)
    first = _first_years(int(year))
    panel["start"] = pd.to_datetime(panel["current_start_date"])
    fy = panel["aco_id"].map(first).fillna(panel["performance_year"]).astype(int)
    panel["entrant"] = (panel["performance_year"] - fy).le(0).to_numpy()
    effects, gamma = _year_effects(panel, ys)
    panel["r"] = (panel["s"] - panel["performance_year"].map(effects)
                  - gamma * panel["entrant"].astype(float))
    proto = ProgramModel(tuple(ys), cal, effects, gamma, {}, 0.0, {}, common_shock,
                         0.0, panel, first)
    ratios = _ratios(proto.covariance, panel)
    var = proto.variance(panel["n"].to_numpy())
    by_year = pd.DataFrame({"t": panel["performance_year"], "v": var}).groupby("t")["v"]
    sampling = float((by_year.sum() / by_year.size() ** 2).mean())
    last = panel[panel["performance_year"] == ys[-1]]
    q = last.loc[~last["quality_p4r"].astype(bool), "quality_score"].astype(float).dropna()
    return ProgramModel(
        years=tuple(ys), calibration=cal, year_effects=effects, entrant_offset=gamma,
        covariance_ratios=ratios, sampling_var=sampling, trend=_trend(effects, common_shock),
        common_shock=common_shock, quality_default=float(q.median()) if len(q) else 1.0,
        panel=panel, first_years=first,
    )

