"""Multi-year agreements: persistent spending, benchmarks, glide paths, deferred MSR.

The random stage draws ``base_years + years`` years of spending for the same population
(:func:`simsav.draw.panel.simulate_panel_sums`: people stay high- or low-cost, some die or leave
and are replaced) and settles each agreement year. Per sim, in agreement year ``t``:

* spending grows at ``trend`` a year; the ACO's true savings (drawn once per sim, an
  ACO-level effect) applies in agreement years only; risk-score growth ``r_t`` raises
  spending, and the benchmark follows it only up to ``risk_cap`` cumulatively (the +3% cap
  on positive risk-score growth, 42 CFR 425.605(a)(1)-(2)) [V];
* the benchmark is

  ``expected``
      the population's expected truncated spending (no history: the one-year core's);
  ``historical``
      the weighted base years (``weights``: 10/30/60 [V CFR602] or equal [V CFR603]),
      each brought to the last base year at the true trend, then carried forward at the
      *projected* trend — ``trend`` plus a projection error per year (``trend_error_sd``) —
      and fixed for the agreement;
  ``rolling``
      recomputed every year from the three preceding years of the ACO's own spending,
      savings included, so savings ratchet the benchmark down (rebasing);

  times a year-specific benchmark error (``[aco] benchmark_error_sd``);
* each design's contract for year ``t`` (``glide`` lists one preset per year, e.g. BASIC
  A → E) is settled with ``agreement_year = t + 1``.

Reconciliation (recommendation 4 of the source document): ``annual`` pays each year's
settlement; ``deferred`` also settles the agreement's cumulative savings at the end, with
the MSR of ``N × years`` person-years (a cumulative test: the savings rate of ``T`` years
pooled has the spread of ``N·T`` beneficiaries), and pays — in the last year — what the
cumulative settlement earns beyond what was paid on the way (``interim_payments = true``)
or all of it (``false``: nothing is paid before the end). ``aco_paid`` is what the ACO is
paid, net of losses, in each year under the design's reconciliation.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from simsav.draw.panel import PersistenceSpec
from simsav.validation import StrictModel, Whole

__all__ = ["AgreementSpec", "CMS_WEIGHTS", "benchmark_weights"]

#: Benchmark-year weights of first agreements: BY1 10%, BY2 30%, BY3 60% [V CFR602].
CMS_WEIGHTS = (0.1, 0.3, 0.6)


class AgreementSpec(StrictModel):
    """The scenario's ``[agreement]`` table.

    Attributes
    ----------
    years : int
        Performance years of the agreement, 1–5.
    base_years : int
        Benchmark years simulated before the agreement, 0–3 (``historical`` and
        ``rolling`` benchmarks need them).
    benchmark : {"expected", "historical", "rolling"}
        See the module docstring.
    weights : "cms", "equal" or list of float
        Weights of the base years, oldest first (``cms``: 10/30/60).
    trend : float
        Annual growth of per-capita spending (e.g. 0.04).
    trend_error_sd : float
        SD of the error in the projected trend, per year, that carries a ``historical``
        or ``rolling`` benchmark forward (e.g. 0.02: the 2024 ACPT missed by 4 points,
        9.0% actual against 4.9% projected for 2023-24 [S MILL-ACPT]).
    risk_growth, risk_growth_sd : float
        Mean and SD of the annual growth of the ACO population's risk score.
    risk_cap : float or None
        Cap on cumulative positive risk growth credited to the benchmark (0.03), or None.
    persistence : PersistenceSpec, "medicare" or "independent"
        How beneficiaries' spending persists and how they leave (:mod:`simsav.draw.panel`).
    """

    years: Annotated[Whole, Field(ge=1, le=5)] = 1
    base_years: Annotated[Whole, Field(ge=0, le=3)] = 0
    benchmark: Literal["expected", "historical", "rolling"] = "expected"
    weights: Literal["cms", "equal"] | list[Annotated[float, Field(ge=0.0)]] = "cms"
    trend: Annotated[float, Field(ge=-0.2, le=0.3, allow_inf_nan=False)] = 0.0
    trend_error_sd: Annotated[float, Field(ge=0.0, le=0.2, allow_inf_nan=False)] = 0.0
    risk_growth: Annotated[float, Field(ge=-0.2, le=0.2, allow_inf_nan=False)] = 0.0
    risk_growth_sd: Annotated[float, Field(ge=0.0, le=0.2, allow_inf_nan=False)] = 0.0
    risk_cap: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = 0.03
    persistence: PersistenceSpec = Field(default_factory=PersistenceSpec.medicare)

    @field_validator("persistence", mode="before")
    @classmethod
    def _named(cls, v: Any) -> Any:
        if isinstance(v, str):
            named = {"medicare": PersistenceSpec.medicare, "independent":
                     PersistenceSpec.independent}
            if v not in named:
                raise ValueError(f"must be 'medicare', 'independent' or a table with rho, "
                                 f"exit_rate and exit_corr, got {v!r}")
            return named[v]()
        return v

    @model_validator(mode="after")
    def _check(self) -> AgreementSpec:
        if self.benchmark != "expected" and self.base_years < 1:
            raise ValueError(f"benchmark = '{self.benchmark}' needs base_years >= 1")
        if isinstance(self.weights, list):
            if len(self.weights) != self.base_years:
                raise ValueError(
                    f"weights: {len(self.weights)} given for base_years = {self.base_years}")
            if abs(sum(self.weights) - 1.0) > 1e-9:
                raise ValueError(f"weights must sum to 1, got {sum(self.weights):.6g}")
        return self

    @property
    def is_single_year(self) -> bool:
        """Whether this is the one-year core (no history, one year)."""
        return self.years == 1 and self.base_years == 0 and self.risk_growth == 0.0 and (
            self.risk_growth_sd == 0.0)


def benchmark_weights(spec: AgreementSpec, n: int) -> np.ndarray:
    """Weights of the last ``n`` years, oldest first (``n`` ≤ 3).

    Examples
    --------
    >>> benchmark_weights(AgreementSpec(base_years=3, benchmark="historical"), 3).tolist()
    [0.1, 0.3, 0.6]
    >>> benchmark_weights(AgreementSpec(base_years=2, benchmark="historical"), 2).round(3).tolist()
    [0.333, 0.667]
    """
    if isinstance(spec.weights, list) and len(spec.weights) == n:
        w = np.asarray(spec.weights, dtype=np.float64)
    elif spec.weights == "equal":
        w = np.full(n, 1.0 / n)
    else:
        w = np.asarray(CMS_WEIGHTS[-n:], dtype=np.float64)
    return w / w.sum()


def build_benchmarks(
    spec: AgreementSpec,
    per_capita: np.ndarray,
    mu_t: float,
    trend_err: np.ndarray,
) -> np.ndarray:
    """Benchmarks per capita for each agreement year, before benchmark error and risk.

    Parameters
    ----------
    spec : AgreementSpec
    per_capita : ndarray, shape (n_sims, base_years + years)
        Actual per-capita spending (trend and true savings applied).
    mu_t : float
        Expected truncated spending per capita in the first base year's prices.
    trend_err : ndarray, shape (n_sims, base_years + years)
        Projection error of the trend in each year.

    Returns
    -------
    ndarray, shape (n_sims, years)
    """
    b, t_total = spec.base_years, spec.base_years + spec.years
    n = per_capita.shape[0]
    g = 1.0 + spec.trend
    out = np.empty((n, spec.years))
    proj = g + trend_err  # projected growth factor into each year
    if spec.benchmark == "expected":
        for t in range(spec.years):
            out[:, t] = mu_t * g ** (b + t)
        return out
    if spec.benchmark == "historical":
        w = benchmark_weights(spec, b)
        # each base year brought to the last base year at the true trend
        hist = sum(w[k] * per_capita[:, k] * g ** (b - 1 - k) for k in range(b))
        level = hist
        for t in range(spec.years):
            level = level * proj[:, b + t]
            out[:, t] = level
        return out
    # rolling: the three (or fewer) preceding years, savings included
    for t in range(spec.years):
        y = b + t
        k0 = max(0, y - 3)
        w = benchmark_weights(spec, y - k0)
        out[:, t] = sum(w[j] * per_capita[:, k0 + j] * g ** (y - 1 - (k0 + j))
                        for j in range(y - k0)) * proj[:, y]
    assert out.shape == (n, t_total - b)
    return out
