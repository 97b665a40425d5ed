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

Agreements run 1 to 10 years (LEAD: ten years, no rebasing). With ``update = "blend"``
the trend itself is drawn and the benchmark follows CMS's current update
[S CY2023 PFS final rule, 42 CFR 425.652(b); S LEAD RFA]:

* the realised national trend ``N_t = 1 + trend + ε_n`` (``national_trend_sd``, stream
  ``national_trend``) and the ACO's region's ``R_t = N_t + ε_r`` (``regional_trend_sd``,
  stream ``regional_trend``); the ACO's spending grows with its region;
* the update factor ``U_t = w_A A_t + (1 − w_A) (w_N N_t + (1 − w_N) R_t)``, where
  ``A_t = 1 + trend + e_t`` is the accountable care prospective trend (ACPT) projected at
  the start with error ``e_t`` (``trend_error_sd``, stream ``trend_error``), ``w_A`` is
  ``acpt_weight`` (MSSP agreements from 2024 and LEAD: one third) and ``w_N``
  ``national_weight`` (MSSP: the ACO's share of its region's assignable beneficiaries);
  ``acpt_guardrail = [lo, hi]`` keeps ``U_t`` within ``[B_t + lo, B_t + hi]`` of the
  national-regional blend ``B_t`` (the CY2027 proposal: −1 and +1.5 points [U]);
* a ``historical`` benchmark brings the base years to the last by the blend and carries
  it forward by ``U_t``; ``rebase_every = k`` re-establishes it every ``k`` years from the
  three preceding years (MSSP: a new agreement every five years), adding the prior
  savings adjustment ``prior_savings_scale ×`` the average savings per capita of those
  years when positive, at most ``prior_savings_cap`` of the new benchmark (MSSP from 2024:
  50% capped at 5% of national spending [S]; proposed for 2027: 75% [S]).

The spread of the benchmark against the realised spending then grows with the years as
the errors compound: per year its log varies by ``w_A² (σ_e² + σ_n²) + (w_A + (1 − w_A)
w_N)² σ_r²`` [D], so after ``t`` years without rebasing by ``t`` times that
(:func:`simsav.analysis.current_models.benchmark_spread`).

Reconciliation (recommendation 4 of the source document): ``annual`` pays each year's
settlement; ``deferred`` also settles the agreement's cumulative savings at the end, with
the MSR of ``N × years`` person-years (a cumulative test: the savings rate of ``T`` years
pooled has the spread of ``N·T`` beneficiaries), and pays — in the last year — what the
cumulative settlement earns beyond what was paid on the way (``interim_payments = true``)
or all of it (``false``: nothing is paid before the end). ``aco_paid`` is what the ACO is
paid, net of losses, in each year under the design's reconciliation.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

import numpy as np
from pydantic import Field, field_validator, model_validator

from simsav.draw.panel import PersistenceSpec
from simsav.validation import StrictModel, Whole

__all__ = ["AgreementSpec", "CMS_WEIGHTS", "TrendPaths", "benchmark_weights",
           "build_blend_benchmarks", "trend_paths"]

#: Benchmark-year weights of first agreements: BY1 10%, BY2 30%, BY3 60% [V CFR602].
CMS_WEIGHTS = (0.1, 0.3, 0.6)


class AgreementSpec(StrictModel):
    """The scenario's ``[agreement]`` table.

    Attributes
    ----------
    years : int
        Performance years of the agreement, 1–10.
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
    update : {"projected", "blend"}
        How the benchmark is carried forward: at the projected trend (``trend`` plus
        ``trend_error_sd``) or by the national-regional-ACPT blend with drawn trends (see
        the module docstring).
    national_trend_sd, regional_trend_sd : float
        SD per year of the realised national trend and of the region's around it
        (``blend``).
    national_weight, acpt_weight : float
        Weights of the national trend in the national-regional blend and of the ACPT in
        the update (``blend``).
    acpt_guardrail : [float, float] or None
        Bounds of the update around the national-regional blend, e.g. ``[-0.01, 0.015]``.
    rebase_every : int or None
        Re-establish a historical benchmark every this many years (``blend``).
    prior_savings_scale, prior_savings_cap : float
        The prior savings adjustment at a rebasing: share of the average per-capita
        savings of the three preceding years, and its cap as a share of the benchmark.
    """

    years: Annotated[Whole, Field(ge=1, le=10)] = 1
    base_years: Annotated[Whole, Field(ge=0, le=3)] = 0
    benchmark: Literal["expected", "historical", "rolling"] = "expected"
    weights: Literal["cms", "equal"] | list[Annotated[float, Field(ge=0.0)]] = "cms"
    trend: Annotated[float, Field(ge=-0.2, le=0.3, allow_inf_nan=False)] = 0.0
    trend_error_sd: Annotated[float, Field(ge=0.0, le=0.2, allow_inf_nan=False)] = 0.0
    risk_growth: Annotated[float, Field(ge=-0.2, le=0.2, allow_inf_nan=False)] = 0.0
    risk_growth_sd: Annotated[float, Field(ge=0.0, le=0.2, allow_inf_nan=False)] = 0.0
    risk_cap: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = 0.03
    persistence: PersistenceSpec = Field(default_factory=PersistenceSpec.medicare)
    update: Literal["projected", "blend"] = "projected"
    national_trend_sd: Annotated[float, Field(ge=0.0, le=0.2, allow_inf_nan=False)] = 0.0
    regional_trend_sd: Annotated[float, Field(ge=0.0, le=0.2, allow_inf_nan=False)] = 0.0
    national_weight: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
    acpt_weight: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
    acpt_guardrail: list[Annotated[float, Field(ge=-0.2, le=0.2, allow_inf_nan=False)]] | None = (
        None)
    rebase_every: Annotated[Whole, Field(ge=1, le=10)] | None = None
    prior_savings_scale: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
    prior_savings_cap: Annotated[float, Field(ge=0.0, le=0.5, allow_inf_nan=False)] = 0.05

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
        blend_only = ("national_trend_sd", "regional_trend_sd", "national_weight",
                      "acpt_weight", "acpt_guardrail", "rebase_every", "prior_savings_scale")
        if self.update != "blend":
            set_ = [k for k in blend_only if getattr(self, k) not in (None, 0.0)]
            if set_:
                raise ValueError(f"{', '.join(set_)}: does not apply: needs update = 'blend'")
        g = self.acpt_guardrail
        if g is not None and (len(g) != 2 or not g[0] <= 0.0 <= g[1]):
            raise ValueError("acpt_guardrail must be [lo, hi] with lo <= 0 <= hi, e.g. "
                             "[-0.01, 0.015]")
        if (self.rebase_every is not None or self.prior_savings_scale > 0) and (
                self.benchmark != "historical"):
            raise ValueError("rebase_every and prior_savings_scale need benchmark = "
                             "'historical'")
        if self.update == "blend" and self.benchmark == "rolling":
            raise ValueError("update = 'blend' rebases a historical benchmark: use "
                             "benchmark = 'historical' with rebase_every = 1 for a rolling one")
        return self

    @property
    def is_single_year(self) -> bool:
        """Whether this is the one-year core (no history, one year)."""
        return self.years == 1 and self.base_years == 0 and self.risk_growth == 0.0 and (
            self.risk_growth_sd == 0.0) and self.update == "projected"


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


class TrendPaths(NamedTuple):
    """Drawn trends of a ``blend`` agreement, shape (sim, base_years + years) each.

    ``growth[:, t]`` is the ACO's spending level in year ``t`` relative to year 0 (its
    region's realised trend compounded); ``blend`` and ``update`` are the factors into
    year ``t`` (column 0 unused: 1).
    """

    growth: np.ndarray
    blend: np.ndarray
    update: np.ndarray


def trend_paths(spec: AgreementSpec, eps_n: np.ndarray, eps_r: np.ndarray,
                acpt_err: np.ndarray) -> TrendPaths:
    """Realised growth, national-regional blend and update factors from the drawn errors.

    Examples
    --------
    >>> spec = AgreementSpec(years=2, update="blend", trend=0.04, acpt_weight=1/3)
    >>> z = np.zeros((1, 2))
    >>> p = trend_paths(spec, z, z, z)
    >>> p.growth.round(4).tolist(), p.update.round(4).tolist()
    ([[1.0, 1.04]], [[1.0, 1.04]])
    """
    n, total = eps_n.shape
    nat = 1.0 + spec.trend + eps_n
    reg = nat + eps_r
    blend = spec.national_weight * nat + (1.0 - spec.national_weight) * reg
    acpt = 1.0 + spec.trend + acpt_err
    update = spec.acpt_weight * acpt + (1.0 - spec.acpt_weight) * blend
    if spec.acpt_guardrail is not None:
        lo, hi = spec.acpt_guardrail
        update = np.clip(update, blend + lo, blend + hi)
    growth = np.ones((n, total))
    growth[:, 1:] = np.cumprod(reg[:, 1:], axis=1)
    blend[:, 0] = 1.0
    update[:, 0] = 1.0
    return TrendPaths(growth, blend, update)


def _historical_level(spec: AgreementSpec, per_capita: np.ndarray, blend: np.ndarray,
                      y: int) -> np.ndarray:
    """The benchmark for year ``y`` from (up to) the three years before it.

    In year ``y − 1``'s prices: each year brought forward by the national-regional blend.
    """
    k0 = max(0, y - 3)
    w = benchmark_weights(spec, y - k0)
    level = np.zeros(per_capita.shape[0])
    for j in range(k0, y):
        factor = np.prod(blend[:, j + 1:y], axis=1) if j + 1 < y else 1.0
        level = level + w[j - k0] * per_capita[:, j] * factor
    return level


def build_blend_benchmarks(spec: AgreementSpec, per_capita: np.ndarray, mu_t: float,
                           paths: TrendPaths) -> np.ndarray:
    """Benchmarks per capita of a ``blend`` agreement, shape (sim, years).

    ``expected``: the population's expected spending carried by the update factors;
    ``historical``: the base years brought to the last by the blend, then carried forward
    by the update and, every ``rebase_every`` years, re-established from the three
    preceding years with the prior savings adjustment (before benchmark error and risk).
    """
    b = spec.base_years
    n = per_capita.shape[0]
    out = np.empty((n, spec.years))
    u = paths.update
    if spec.benchmark == "expected":
        level = np.full(n, mu_t)
        for t in range(b + spec.years):
            if t > 0:
                level = level * u[:, t]
            if t >= b:
                out[:, t - b] = level
        return out
    level = _historical_level(spec, per_capita, paths.blend, b)
    for t in range(spec.years):
        y = b + t
        r = spec.rebase_every
        if r is not None and t > 0 and t % r == 0:
            level = _historical_level(spec, per_capita, paths.blend, y)
            if spec.prior_savings_scale > 0:
                k0 = max(0, t - 3)
                savings = (out[:, k0:t] - per_capita[:, b + k0:y]).mean(axis=1)
                psa = np.minimum(spec.prior_savings_scale * np.maximum(savings, 0.0),
                                 spec.prior_savings_cap * level)
                level = level + psa
        level = level * u[:, y]
        out[:, t] = level
    return out
