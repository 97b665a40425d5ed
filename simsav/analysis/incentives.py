"""Incentives inside the ACO: what a provider receives per dollar its own panel saves.

Incentives (:func:`provider_incentives`)
----------------------------------------
For each provider and year, across sims: the mean, standard deviation and quantiles of
its payout, and two regression slopes. The multiple regression (OLS with intercept)

    payout_i = a + b_own * own_i + b_others * others_i + e,

with ``own_i`` the provider's own panel savings and ``others_i`` the rest of the ACO's
savings (the ACO's total minus ``own_i``), separates the dollars the provider receives
per dollar its own panel saves (``slope_own``: the marginal reward for cutting its own
patients' spending, the incentive to stint) from the dollars per dollar saved elsewhere
in the ACO (``slope_others``). ``slope_aco`` is the simple slope on the ACO's total.
Standard errors are heteroskedasticity-robust (HC1): payouts are non-linear in savings
(MSR, caps, reserve). When the savings are jointly normal (panels of many patients), the
OLS slopes equal the *average* marginal reward E[d payout / d savings] over the sims
(Stein's lemma), thresholds and caps included.

Closed forms, where receipts are linear in the ACO's savings (receipts = rho x savings:
no MSR or cap crossed, no losses, reserve cap not binding). With ``k = rho x (1 -
infrastructure_share - reserve_share) x w_t``, ``w_t`` the weight of the provider's type
``t`` (renormalized over the types present):

* ``"lives"``: ``payout_i = k x (l_i / L_t) x savings``, so ``slope_own = slope_others =
  k x l_i / L_t`` (``l_i`` the provider's lives, ``L_t`` its type's): the reward for the
  provider's own savings is diluted by its share of lives;
* ``"quality-x-lives"``: the same with ``q_i l_i / sum_t(q_j l_j)`` (exact at fixed
  quality);
* ``"own-savings"`` with one organization type and every panel saving: ``payout_i = k x
  s_i`` exactly, so ``slope_own = k`` and ``slope_others = 0``: the whole marginal reward
  lands on the provider's own panel, ``L_t / l_i`` times the reward under ``"lives"``.

:func:`expected_slopes` evaluates these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simsav.settlement.distribution import (
    ORG_TYPES,
    RULES,
    Distribution,
    DistributionPolicy,
    ProviderPanels,
    _as_policy,
    _broadcast,
    _float_array,
    _type_weights,
    distribute,
)

__all__ = ["compare_rules", "expected_slopes", "provider_incentives"]

F64 = NDArray[np.float64]


def _slopes(y: F64, x1: F64, x2: F64) -> tuple[F64, F64, F64, F64]:
    """OLS of y on (1, x1, x2) along axis 0; slopes and HC1 standard errors."""
    n = y.shape[0]
    yc, a, b = (v - v.mean(axis=0) for v in (y, x1, x2))
    s11, s22, s12 = (a * a).sum(0), (b * b).sum(0), (a * b).sum(0)
    s1y, s2y = (a * yc).sum(0), (b * yc).sum(0)
    det = s11 * s22 - s12 * s12
    good = det > 1e-10 * s11 * s22
    det = np.where(good, det, np.nan)
    b1 = (s22 * s1y - s12 * s2y) / det
    b2 = (s11 * s2y - s12 * s1y) / det
    e2 = (yc - b1 * a - b2 * b) ** 2
    m11, m22, m12 = (e2 * a * a).sum(0), (e2 * b * b).sum(0), (e2 * a * b).sum(0)
    dof = n / (n - 3) if n > 3 else np.nan
    v1 = (s22**2 * m11 - 2 * s22 * s12 * m12 + s12**2 * m22) / det**2 * dof
    v2 = (s12**2 * m11 - 2 * s12 * s11 * m12 + s11**2 * m22) / det**2 * dof
    return b1, np.sqrt(np.maximum(v1, 0.0)), b2, np.sqrt(np.maximum(v2, 0.0))


def _slope(y: F64, x: F64) -> tuple[F64, F64]:
    """OLS of y on (1, x) along axis 0; slope and HC1 standard error."""
    n = y.shape[0]
    yc, a = y - y.mean(axis=0), x - x.mean(axis=0)
    sxx = (a * a).sum(0)
    sxx = np.where(sxx > 0, sxx, np.nan)
    b = (a * yc).sum(0) / sxx
    e2 = (yc - b * a) ** 2
    dof = n / (n - 2) if n > 2 else np.nan
    return b, np.sqrt((e2 * a * a).sum(0) * dof) / sxx


def provider_incentives(
    distribution: Distribution,
    panels: ProviderPanels,
    *,
    aco_savings: ArrayLike | None = None,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    over: Literal["year", "agreement"] = "year",
) -> dict[str, F64]:
    """What each provider faces: the spread of its payout and what moves it.

    Parameters
    ----------
    distribution : Distribution
        From :func:`distribute` with the same ``panels``.
    panels : ProviderPanels
    aco_savings : array_like, optional
        The ACO's total savings, USD, (sim, year); default (recommended) the sum of the
        panels' savings, so that ``others`` is the other panels' savings. Passing the
        settlement's ``gross_savings`` instead puts ACO-level terms that no panel
        carries (benchmark error, ACO-wide effects) into ``others``; under
        ``"own-savings"`` the pot then moves with them, and ``slope_others`` is no longer
        0 where the closed form says so.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
    over : {"year", "agreement"}
        Per year (arrays (year, provider)) or for the agreement's totals, payouts and
        savings summed over years (arrays (provider,)).

    Returns
    -------
    dict of str to ndarray
        ``payout_mean``, ``payout_sd`` (ddof 1), ``prob_charged`` (payout < 0), USD;
        ``payout_quantile`` (..., provider, quantile) and ``quantile``;
        ``slope_own`` and ``slope_others`` (multiple regression on own-panel savings and
        the rest of the ACO's savings, USD per USD) with ``slope_own_se`` and
        ``slope_others_se`` (HC1); ``slope_aco`` and ``slope_aco_se`` (simple regression
        on the ACO's total savings). Slopes are NaN where a regressor does not vary or
        the two are collinear (e.g. a single provider). See the module docstring.
    """
    n_sims, n_years, n_prov = panels.shape
    if distribution.payout.shape != panels.shape:
        raise ValueError(f"panels: shape {panels.shape} does not match the distribution's "
                         f"payouts {distribution.payout.shape}")
    qs = _float_array("quantiles", quantiles, lo=0.0, hi=1.0)
    y = distribution.payout / 100.0
    own = panels.savings
    total = own.sum(axis=2) if aco_savings is None else _broadcast(
        "aco_savings", _float_array("aco_savings", aco_savings), (n_sims, n_years), "sim, year")
    total = np.broadcast_to(np.asarray(total)[:, :, None], own.shape)
    if over == "agreement":
        y, own, total = (v.sum(axis=1, keepdims=True) for v in (y, own, total))
    elif over != "year":
        raise ValueError(f"over: must be 'year' or 'agreement', got {over!r}")
    others = total - own
    b1, se1, b2, se2 = _slopes(y, own, others)
    ba, sea = _slope(y, total)
    out: dict[str, F64] = {
        "payout_mean": y.mean(axis=0),
        "payout_sd": y.std(axis=0, ddof=1) if n_sims > 1 else np.full(y.shape[1:], np.nan),
        "prob_charged": (y < 0).mean(axis=0),
        "payout_quantile": np.moveaxis(np.quantile(y, qs, axis=0), 0, -1),
        "quantile": qs,
        "slope_own": b1, "slope_own_se": se1,
        "slope_others": b2, "slope_others_se": se2,
        "slope_aco": ba, "slope_aco_se": sea,
    }
    if over == "agreement":
        out = {k: (v if k == "quantile" else v[0]) for k, v in out.items()}
    return out


def expected_slopes(
    policy: DistributionPolicy | Mapping[str, Any] | str,
    panels: ProviderPanels,
    *,
    sharing_rate: float = 1.0,
) -> F64:
    """Closed-form dollars a provider gets per dollar its own panel saves, (provider,).

    Valid where receipts are ``sharing_rate x`` the ACO's savings (no MSR or cap crossed,
    no losses) and the reserve cap does not bind; the module docstring derives them.
    ``"lives"`` and fixed-quality ``"quality-x-lives"`` are exact there, and so is
    ``"own-savings"`` with one organization type and every panel saving. For
    ``"own-savings"`` with several types it is the derivative of ``k x S x s_i / S_t`` at
    the mean savings (``S`` the ACO's, ``S_t`` the type's). Quality enters at its mean.

    Examples
    --------
    >>> pp = ProviderPanels(org_type=[0, 0, 0, 0], lives=[100, 100, 200, 600],
    ...                     benchmark=np.full((1, 1, 4), 1e6), expenditure=9e5)
    >>> pol = DistributionPolicy(rule="lives", infrastructure_share=0.2, reserve_share=0.0)
    >>> expected_slopes(pol, pp, sharing_rate=0.5).tolist()
    [0.04, 0.04, 0.08, 0.24]
    """
    pol = _as_policy(policy)
    k_type = sharing_rate * pol.pass_through * _type_weights(pol, panels.org_type)
    codes = panels.org_type.astype(np.int64)
    k = k_type[codes]
    if pol.rule == "own-savings":
        s = panels.savings.mean(axis=(0, 1))
        total = s.sum()
        by_type = np.bincount(codes, weights=s, minlength=len(ORG_TYPES))[codes]
        with np.errstate(divide="ignore", invalid="ignore"):
            return k * (total / by_type + s / by_type * (1.0 - total / by_type))
    w = panels.lives * (panels.quality.mean(axis=(0, 1)) if pol.rule == "quality-x-lives"
                        else 1.0)
    by_type = np.bincount(codes, weights=w, minlength=len(ORG_TYPES))[codes]
    return k * w / by_type


def compare_rules(
    policy: DistributionPolicy | Mapping[str, Any] | str,
    *,
    receipts: ArrayLike,
    panels: ProviderPanels,
    rules: Sequence[str] = RULES,
    aco_savings: ArrayLike | None = None,
    **distribute_kw: Any,
) -> dict[str, dict[str, F64]]:
    """Apply ``policy`` under each rule to the same money and panels; incentives by rule.

    Parameters
    ----------
    policy : DistributionPolicy, mapping or str
        The policy; only its ``rule`` changes.
    receipts, panels, **distribute_kw
        As for :func:`distribute`.
    rules : sequence of str, default :data:`RULES`
    aco_savings : array_like, optional
        As for :func:`provider_incentives`.

    Returns
    -------
    dict
        Rule -> :func:`provider_incentives` of that rule's distribution.
    """
    pol = _as_policy(policy)
    out: dict[str, dict[str, F64]] = {}
    for rule in rules:
        if rule not in RULES:
            raise ValueError(f"rules: unknown rule {rule!r}; allowed: {', '.join(RULES)}")
        d = distribute(pol.model_copy(update={"rule": rule}), receipts=receipts,
                       panels=panels, **distribute_kw)
        out[rule] = provider_incentives(d, panels, aco_savings=aco_savings)
    return out
