r"""Attribution: who counts, and how much of their spending the ACO managed.

Which beneficiaries an ACO is settled on is itself random and a contract term. This
module draws, per sim, the attributed count, the attributed (capped) spending and the
part of it that the ACO managed, for a start-of-year population of ``N`` beneficiaries
per group (stratum), under an :class:`AttributionSpec`.

The model
---------
Each beneficiary ``i`` has annual spending ``X_i`` from the group's spending model
(capped per beneficiary as the model caps: ``min(X_i, cap)``) and a **spending score**
``S_i = Phi^{-1}(F(X_i))``: standard normal, and ``X_i = F^{-1}(Phi(S_i))`` is
non-decreasing in it (ties at an atom, e.g. zero spenders, are broken uniformly). The score
is how leaving and visits depend on the person's own spending.

*Churn.* A beneficiary of the start-of-year list **leaves** (moves their care elsewhere
during the year) when ``L_i = rho S_i + sqrt(1 - rho^2) E_i > c``, ``E_i ~ N(0, 1)``
independent, ``c = Phi^{-1}(1 - churn_out)``, ``rho = leave_tilt``: a Gaussian copula
between spending and leaving, with ``P(leave) = churn_out`` whatever ``rho``, and

.. math::

    P(\text{stay} \mid S = s) = \Phi\!\left(\frac{c - \rho s}{\sqrt{1 - \rho^2}}\right).

``rho > 0``: the sicker (costlier) leave more - people who get sicker, are hospitalized
elsewhere, enter a nursing home or die change where they get care. ``rho = 0``: leaving
is a random draw. **Arrivals**: ``binomial(N, churn_in)`` newcomers, drawn from the same
spending model, independently of spending.

*Movers are partly managed.* A mover (a leaver, or an arrival) spends part of the year
with the ACO. With moves spread evenly over the year and spending spread evenly within
it, the ACO managed ``mover_managed`` (default 1/2) of a mover's spending on average; the
model applies that share to each mover (an expected-value simplification).

*Prospective assignment* (``method = "prospective"``). The list of ``N`` is fixed at
the start of the year and the ACO is accountable for all of them all year:

.. math::

    n = N, \quad T = \sum_{i \le N} X_i, \quad
    M = \sum_{\text{stayers}} X_i + m \sum_{\text{leavers}} X_i .

Arrivals are not on the list. The visit rule, if given, is not applied: the list was
set from base-period claims, and this model has no spending persistence from year to
year, so base-period visits carry no information on this year's spending (the list is
a random draw from the candidates).

*Retrospective assignment* (``method = "retrospective"``). The list is settled at year
end from where each person actually got most of their primary care. Leavers drop off
(their care went elsewhere); stayers and arrivals are **candidates**, attributed by the
plurality rule if a visit rule is given (``visit_rate`` set), all of them otherwise:

.. math::

    n = \sum_{\text{cand.}} A_i, \quad T = \sum_{\text{cand.}} A_i X_i, \quad
    M = \sum_{\text{stayers}} A_i X_i + m \sum_{\text{arrivals}} A_i X_i,

with ``A_i`` the plurality-rule indicator (1 with no rule).

*The plurality rule over simulated primary-care visits.* A candidate's primary-care
visits in the year are Poisson with a mean that rises with their spending,

.. math::

    \lambda_i = \text{visit\_rate}\; e^{\beta S_i - \beta^2/2},
    \quad \beta = \text{visit\_tilt},

so ``E[lambda] = visit_rate`` and the log visit rate moves ``beta`` per sd of the
spending score (``beta = 0``: visits independent of spending). Each visit is at the
ACO with probability ``a = aco_share``: visits at the ACO ``V^A ~ Poisson(lambda a)``
and elsewhere ``V^O ~ Poisson(lambda (1 - a))``, independent. Care elsewhere is
treated as **one** competing practice (conservative: with several competitors a
plurality under one half can win; raise ``aco_share`` to mimic that). The candidate
is attributed when

* ``V^A + V^O >= min_visits`` and ``V^A > V^O`` (a tie goes to the ACO with probability
  1/2: CMS breaks ties by allowed charges, exchangeable here); or
* ``V^A + V^O = 0``, ``specialist_fallback`` is on, and - with probability ``a``, the
  share of the person's care at the ACO - their specialist visits were mostly at the
  ACO (CMS's step 2 for beneficiaries with no primary-care-physician visit).

Candidates with 1 to ``min_visits - 1`` visits are not attributed: the minimum excludes
low utilizers, who are low spenders, so it raises attributed per-capita spending.

What the benchmark is compared with
-----------------------------------
The settlement compares per-capita expenditure of the **attributed** population,

.. math::

    E = (T - \tau M) / n,

(``tau``: the ACO's true savings rate, which applies to managed spending only) with a
benchmark that is, as in :mod:`simsav.simulation`, the **expected capped per-capita
spending of the underlying population** (the scenario's spending model) times ``1 +
benchmark error``. That is, the benchmark is risk-adjusted to the population's expected
spending, but **not** to selection that happens within the performance year: risk scores
are set from prior-year diagnoses and capped in their growth, so they do not follow who
leaves or who qualifies through visits. Selection by spending therefore creates a real
gain or loss against the benchmark - the phenomenon this module shows:

* retrospective assignment with ``leave_tilt > 0``: the costly leave, attributed spending
  falls below the benchmark - a gain that is not savings;
* a minimum number of visits: low utilizers drop out, attributed spending rises - a loss;
* prospective assignment: everyone counts, selection moves only the managed share
  (``M / T``), i.e. how much of ``tau`` reaches the settlement.

:func:`expected_attribution` gives the expected attributed per-capita spending; a
settlement that wants a selection-neutral benchmark (CMS computing the benchmark on
base-period beneficiaries assigned by the same rule) can use its ``mean`` instead.

Theory for the tests
--------------------
Random churn (``rho = 0``), no visit rule, retrospective: given the attributed count
``n`` the attributed beneficiaries are iid from the model, so ``E[T / n | n] = mu_T``
(unbiased) and ``Var(T / n) = sigma_T^2 E[1 / n] ~ sigma_T^2 / N_eff``,
``N_eff = N (1 - churn_out + churn_in)``: the savings rate's claims-noise sd grows by
``1 / sqrt(1 - churn_out + churn_in)``. With ``rho != 0``,
``E[X | stay] = E[X Phi((c - rho S) / sqrt(1 - rho^2))] / (1 - churn_out)``.

Randomness
----------
Block ``k`` of sims draws from sub-stream :data:`ATTRIBUTION_STREAM` ``= (9,)``
(``SeedSequence(entropy, spawn_key=(k, 9))``), so results depend on ``(seed,
block_size)`` only and a larger ``n_sims`` only appends rows. **Trivial** attribution
(:attr:`AttributionSpec.is_trivial`: prospective with no leavers, or retrospective with
no churn and no visit rule) draws on the spending stream ``()`` instead, with exactly
the draws of :func:`simsav.draw.groups.simulate_group_sums`: then ``count == N``,
``managed_spending == spending`` and ``spending`` equals the plain core's sums bit for bit.

Paths
-----
With no spending-dependent leaving (``leave_tilt = 0`` or ``churn_out = 0``) and no visit
rule, counts of leavers and arrivals are binomial and their spending is summed with the
core's group routine (fast). Otherwise each beneficiary is drawn with their score
(one normal or gamma variate, a normal quantile, ~50-100 ns). Both give the same
distribution (tested).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field
from scipy import special, stats

from simsav.draw.groups import pack_groups
from simsav.draw.scores import pack_scored
from simsav.rng import DEFAULT_BLOCK_SIZE, STREAMS, SeedLike, check_n_sims, map_blocks
from simsav.spending import SpendingModel, SpendingSpec, model_from_kernel_args
from simsav.validation import StrictModel, Whole

__all__ = [
    "ATTRIBUTION_EXAMPLE",
    "ATTRIBUTION_STREAM",
    "AttributionSpec",
    "attributed_sums",
    "benchmark_per_capita",
    "expected_attribution",
]

#: Sub-stream of the attribution draws (see :mod:`simsav.rng`).
ATTRIBUTION_STREAM: tuple[int, ...] = STREAMS["attribution"]

_Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class AttributionSpec(StrictModel):
    """How beneficiaries are attributed to the ACO (a scenario's ``[attribution]`` table).

    The defaults make attribution trivial: prospective, no churn, no visit rule (every
    beneficiary counts, all spending is managed). :data:`ATTRIBUTION_EXAMPLE` is a
    realistic retrospective case. See the module docstring for the model.

    Attributes
    ----------
    method : {"prospective", "retrospective"}
        Prospective: the list is fixed at the start of the year. Retrospective: it is
        settled at year end from where each person got most of their primary care.
    churn_out : float, in [0, 0.5]
        Share of the start-of-year population who move their care elsewhere during the
        year.
    churn_in : float, in [0, 0.5]
        Arrivals during the year, as a share of ``N`` (retrospective only).
    leave_tilt : float, in [-1, 1]
        Gaussian-copula correlation between the spending score and the leaving
        propensity: 0 = leaving is random, > 0 = the costlier leave more.
    mover_managed : float, in [0, 1]
        Share of a mover's (leaver's or arrival's) spending the ACO managed (1/2: moves
        spread evenly over the year).
    visit_rate : float in (0, 50] or None
        Mean primary-care visits a year; ``None`` (default) = no visit rule.
    visit_tilt : float, in [0, 2]
        Sd of the log visit rate per sd of the spending score (visits rise with
        spending): ``lambda = visit_rate * exp(visit_tilt * S - visit_tilt**2 / 2)``.
    aco_share : float, in (0, 1]
        Share of a candidate's primary-care visits at ACO practices.
    min_visits : int, in [1, 20]
        Primary-care visits needed to be attributed.
    specialist_fallback : bool
        Whether candidates with no primary-care visit can be attributed through their
        specialist visits (with probability ``aco_share``).
    benchmark : {"population", "attributed"}
        What the benchmark's per-capita level is (:func:`benchmark_per_capita`):
        ``"population"`` (default), the expected capped spending of the start-of-year
        population, so selection by spending is a gain or loss; ``"attributed"``, the
        expected spending of the population this rule attributes (selection-neutral: CMS
        assigning base-period beneficiaries by the same rule, with the same churn).
    """

    method: Literal["prospective", "retrospective"] = "prospective"
    churn_out: Annotated[float, Field(ge=0.0, le=0.5, allow_inf_nan=False)] = 0.0
    churn_in: Annotated[float, Field(ge=0.0, le=0.5, allow_inf_nan=False)] = 0.0
    leave_tilt: Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)] = 0.0
    mover_managed: _Share = 0.5
    visit_rate: Annotated[float, Field(gt=0.0, le=50.0, allow_inf_nan=False)] | None = None
    visit_tilt: Annotated[float, Field(ge=0.0, le=2.0, allow_inf_nan=False)] = 0.5
    aco_share: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 0.8
    min_visits: Annotated[Whole, Field(ge=1, le=20)] = 1
    specialist_fallback: bool = True
    benchmark: Literal["population", "attributed"] = "population"

    @property
    def retrospective(self) -> bool:
        """Whether assignment is retrospective."""
        return self.method == "retrospective"

    @property
    def visit_rule(self) -> bool:
        """Whether the plurality rule applies (retrospective with ``visit_rate`` set)."""
        return self.retrospective and self.visit_rate is not None

    @property
    def is_trivial(self) -> bool:
        """Whether every start-of-year beneficiary counts, fully managed, and no one else.

        Examples
        --------
        >>> AttributionSpec().is_trivial
        True
        >>> AttributionSpec(method="retrospective", churn_in=0.1).is_trivial
        False
        """
        if self.churn_out > 0.0:
            return False
        return not self.retrospective or (self.churn_in == 0.0 and not self.visit_rule)

    @property
    def per_beneficiary(self) -> bool:
        """Whether the kernel draws beneficiary by beneficiary (selection by spending)."""
        return self.visit_rule or (self.churn_out > 0.0 and self.leave_tilt != 0.0)


#: A realistic retrospective case (MSSP-like): ~10% of assigned beneficiaries move their
#: care away in a year and as many arrive; the costlier leave slightly more (copula
#: correlation 0.1: with Medicare's concentration even 0.1 moves the savings rate by ~3
#: points, so keep it small unless calibrated); ~4.5 primary-care visits a year rising
#: with spending, three quarters of them at the ACO; one visit needed; specialist
#: fallback on.
ATTRIBUTION_EXAMPLE = AttributionSpec(
    method="retrospective",
    churn_out=0.10,
    churn_in=0.10,
    leave_tilt=0.1,
    mover_managed=0.5,
    visit_rate=4.5,
    visit_tilt=0.7,
    aco_share=0.75,
    min_visits=1,
    specialist_fallback=True,
)


def _terms(spec: AttributionSpec, per_beneficiary: bool) -> tuple[NDArray, NDArray]:
    cut = float(special.ndtri(1.0 - spec.churn_out)) if spec.churn_out > 0 else math.inf
    terms = np.array(
        [
            float(spec.retrospective),
            spec.churn_out,
            spec.churn_in if spec.retrospective else 0.0,
            spec.leave_tilt,
            cut,
            spec.mover_managed,
            float(per_beneficiary),
        ],
        dtype=np.float64,
    )
    rule = np.array(
        [
            float(spec.visit_rule),
            spec.visit_rate or 0.0,
            spec.visit_tilt,
            spec.aco_share,
            float(spec.min_visits),
            float(spec.specialist_fallback),
        ],
        dtype=np.float64,
    )
    return terms, rule


def attributed_sums(
    groups: Sequence[tuple[Any, int]],
    n_sims: int,
    *,
    attribution: AttributionSpec,
    seed: SeedLike,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    first_block: int = 0,
    on_block: Callable[[int], None] | None = None,
    _per_beneficiary: bool | None = None,
) -> dict[str, NDArray[Any]]:
    """Simulate, per sim and group, what the settlement needs under an attribution rule.

    Parameters
    ----------
    groups : sequence of (model, count)
        As for :func:`simsav.draw.groups.simulate_group_sums`: ``count`` is the group's
        start-of-year population ``N`` (the candidates, under retrospective assignment).
    n_sims : int
        Number of simulations, ``>= 1``.
    attribution : AttributionSpec
        The attribution rule.
    seed : int, SeedSequence, Generator or None
        See :mod:`simsav.rng`. Sub-stream :data:`ATTRIBUTION_STREAM`, or the spending
        stream when ``attribution.is_trivial`` (then the plain core's draws exactly).
    block_size, n_threads, first_block, on_block
        As for :func:`simsav.draw.groups.simulate_group_sums`. Results depend on ``(seed,
        block_size)`` only; a larger ``n_sims`` only appends rows.

    Returns
    -------
    dict of str to ndarray, each of shape (n_sims, n_groups)
        ``count`` (int64): attributed beneficiaries; ``spending`` (float64, USD):
        their capped spending; ``managed_spending`` (float64, USD): the part the ACO
        managed, to which its true savings rate applies. Per sim, expenditure per capita
        is ``(spending - tau * managed_spending).sum(1) / count.sum(1)``.

    Examples
    --------
    >>> spec = SpendingSpec(model="gamma", mean=10_000, cv=2.0)
    >>> att = AttributionSpec(method="retrospective", churn_out=0.2)
    >>> out = attributed_sums([(spec, 1_000)], 50, attribution=att, seed=1)
    >>> sorted(out), out["count"].shape
    (['count', 'managed_spending', 'spending'], (50, 1))
    >>> bool(abs(out["count"].mean() / 800 - 1) < 0.01)
    True
    """
    if not isinstance(attribution, AttributionSpec):
        raise ValueError(
            f"attribution must be an AttributionSpec, got {type(attribution).__name__}"
        )
    n_sims = check_n_sims(n_sims)
    per_ben = attribution.per_beneficiary if _per_beneficiary is None else _per_beneficiary
    terms, rule = _terms(attribution, bool(per_ben))
    stream = () if (attribution.is_trivial and not per_ben) else ATTRIBUTION_STREAM
    # per beneficiary: each group as its score form (spending rises with the score);
    # in aggregate: as the one-year kernel's compositions
    packed = pack_scored(groups, forward=True) if per_ben else pack_groups(groups)

    from simsav.kernels import attribution as ak  # numba is imported only when drawing

    shape = (n_sims, packed.counts.size)
    out_count = np.empty(shape, dtype=np.int64)
    out_spend = np.empty(shape, dtype=np.float64)
    out_managed = np.empty(shape, dtype=np.float64)

    def run(rng: np.random.Generator, start: int, stop: int) -> None:
        outs = (out_count[start:stop], out_spend[start:stop], out_managed[start:stop])
        if per_ben:
            ak.attributed_scored_block(rng, *packed, terms, rule, *outs)
        else:
            ak.attributed_block(rng, *packed, terms, *outs)

    map_blocks(run, n_sims, seed=seed, block_size=block_size, n_threads=n_threads,
               stream=stream, first_block=first_block, on_block=on_block)
    return {"count": out_count, "spending": out_spend, "managed_spending": out_managed}


def _attr_prob(s: NDArray[np.float64], spec: AttributionSpec) -> NDArray[np.float64]:
    """Return ``P(attributed by the plurality rule | S = s)`` (Skellam + finite sums)."""
    if not spec.visit_rule:
        return np.ones_like(s)
    a, b = spec.aco_share, spec.visit_tilt
    lam = np.minimum(spec.visit_rate * np.exp(b * s - 0.5 * b * b), 1e6)  # type: ignore[operator]
    mu1, mu2 = lam * a, lam * (1.0 - a)
    if a < 1.0:
        win = stats.skellam.sf(0, mu1, mu2) + 0.5 * stats.skellam.pmf(0, mu1, mu2)
    else:
        win = -np.expm1(-lam)  # every visit at the ACO: attributed with any visit
    # Remove the winners with 1 to min_visits - 1 visits; P(V = 0) handled apart.
    pois = stats.poisson
    for v in range(1, spec.min_visits):
        k = np.arange(v + 1)
        bw = stats.binom.pmf(k, v, a)
        pw = bw[2 * k > v].sum() + 0.5 * bw[2 * k == v].sum()
        win = win - pois.pmf(v, lam) * pw
    p0 = np.exp(-lam)
    win = win - 0.5 * p0 * (a < 1.0)  # the 0-0 tie counted in the Skellam term
    if spec.specialist_fallback:
        win = win + p0 * a
    return np.clip(win, 0.0, 1.0)


def expected_attribution(
    model: SpendingSpec | SpendingModel | Any,
    attribution: AttributionSpec,
    *,
    n_grid: int = 20_001,
) -> dict[str, float]:
    """Return the expected attribution outcomes per start-of-year beneficiary (theory).

    Integrates over the spending score on a grid in [-10, 10] (trapezoid), with the
    model's own quantile function for spending (capped).

    Parameters
    ----------
    model : SpendingSpec, SpendingModel or kernel arguments
        One group's spending model.
    attribution : AttributionSpec
        The attribution rule.
    n_grid : int, default 20001
        Grid points.

    Returns
    -------
    dict of str to float
        ``count_share``: ``E[n] / N``; ``mean``: ``E[T] / E[n]``, the expected per-capita
        spending of the attributed population (a selection-neutral benchmark); ``mean_ratio``:
        ``mean`` over the model's capped mean; ``managed_share``: ``E[M] / E[T]``.

    Examples
    --------
    >>> spec = SpendingSpec(model="gamma", mean=10_000, cv=2.0)
    >>> e = expected_attribution(spec, AttributionSpec(method="retrospective", churn_out=0.1))
    >>> round(e["count_share"], 4), round(e["mean_ratio"], 4)
    (0.9, 1.0)
    """
    m = model_from_kernel_args(model)
    s = np.linspace(-10.0, 10.0, n_grid)
    cap = m.cap(True)
    x = np.minimum(np.asarray(m.isf(special.ndtr(-s)), dtype=np.float64), cap)
    w = stats.norm.pdf(s)
    rho, c_out = attribution.leave_tilt, attribution.churn_out
    if c_out == 0.0:
        stay = np.ones_like(s)
    elif abs(rho) < 1.0:
        cut = special.ndtri(1.0 - c_out)
        stay = special.ndtr((cut - rho * s) / math.sqrt(1.0 - rho * rho))
    else:
        cut = special.ndtri(1.0 - c_out)
        stay = (rho * s <= cut).astype(np.float64)
    mm = attribution.mover_managed

    def integ(f: NDArray[np.float64]) -> float:
        return float(np.trapezoid(f * w, s))

    if not attribution.retrospective:
        count = 1.0
        total = integ(x)
        managed = integ(x * (stay + mm * (1.0 - stay)))
    else:
        pa = _attr_prob(s, attribution)
        c_in = attribution.churn_in
        count = integ(pa * (stay + c_in))
        total = integ(x * pa * (stay + c_in))
        managed = integ(x * pa * (stay + mm * c_in))
    mean = total / count
    return {
        "count_share": count,
        "mean": mean,
        "mean_ratio": mean / m.mean(truncated=True),
        "managed_share": managed / total,
    }


def benchmark_per_capita(
    groups: Sequence[tuple[Any, int]], attribution: AttributionSpec
) -> float:
    """Return the benchmark's per-capita level (before benchmark error) for the settlement.

    ``attribution.benchmark == "population"``: the count-weighted expected capped spending
    of the groups' models (what :mod:`simsav.simulation` uses without attribution).
    ``"attributed"``: the expected per-capita spending of the attributed population,
    ``sum_g N_g E[T_g] / sum_g N_g E[n_g]`` from :func:`expected_attribution`.

    Examples
    --------
    >>> spec = SpendingSpec(model="gamma", mean=10_000, cv=2.0)
    >>> round(benchmark_per_capita([(spec, 100)], AttributionSpec()))
    10000
    """
    tot = cnt = 0.0
    for model, n in groups:
        m = model_from_kernel_args(model)
        if attribution.benchmark == "population":
            tot += n * m.mean(truncated=True)
            cnt += n
        else:
            e = expected_attribution(m, attribution)
            tot += n * e["count_share"] * e["mean"]
            cnt += n * e["count_share"]
    return tot / cnt
