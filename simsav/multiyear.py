"""The multi-year path of :func:`simsav.simulate` (see :mod:`simsav.draw.agreement`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from simsav.contracts import Contract
from simsav.draw.agreement import build_benchmarks
from simsav.draw.panel import simulate_panel_sums
from simsav.rng import SeedLike, block_normals
from simsav.scenario import Scenario
from simsav.settlement.quality import simulate_quality
from simsav.settlement.rules import SETTLEMENT_FIELDS, Settlement, settle

__all__ = ["simulate_agreement", "settle_agreement", "draw_agreement"]

_STREAM_TRUE_SAVINGS = (1,)
_STREAM_BENCHMARK = (2,)
_STREAM_RISK = (4,)
_STREAM_TREND = (6,)


def _normals(n: int, cols: int, seed: SeedLike, bs: int, stream: tuple[int, ...],
             first_block: int = 0) -> np.ndarray:
    return block_normals((n, cols), seed=seed, block_size=bs, stream=stream,
                         first_block=first_block)


def _quality_paths(scenario: Scenario, n: int, seed: SeedLike, bs: int,
                   first_block: int = 0) -> np.ndarray:
    qs, years = scenario.quality, scenario.agreement.years
    if qs.distribution == "fixed":
        path = np.clip(qs.fixed_score + qs.improvement * np.arange(years), 0.0, 1.0)
        return np.broadcast_to(path, (n, years)).copy()
    assert qs.mean is not None and qs.sd is not None
    return simulate_quality(n, years, mean=qs.mean, sd=qs.sd, persistence=qs.persistence,
                            improvement=qs.improvement, seed=seed, block_size=bs,
                            first_block=first_block)


def _peer_percentile(scenario: Scenario, q: np.ndarray) -> np.ndarray | None:
    """Rank of each score among peers: the first year's quality distribution."""
    qs = scenario.quality
    if qs.distribution == "fixed":
        return None
    a, b = qs.beta_params()
    return np.asarray(stats.beta.cdf(q, a, b))


def settle_agreement(
    contracts: list[Contract],
    *,
    reconciliation: str,
    interim_payments: bool,
    benchmark: np.ndarray,
    expenditure: np.ndarray,
    quality: np.ndarray,
    n_beneficiaries: int,
    percentile: np.ndarray | None = None,
    **inputs: Any,
) -> tuple[list[Settlement], np.ndarray, np.ndarray]:
    """Settle each year of an agreement, and the cumulative savings if deferred.

    Parameters
    ----------
    contracts : list of Contract
        The contract of each year (a glide path, or the same one).
    reconciliation : {"annual", "deferred"}
    interim_payments : bool
        With deferred reconciliation, whether annual settlements are paid.
    benchmark, expenditure, quality : ndarray, shape (n_sims, years)
    n_beneficiaries : int
    percentile : ndarray, optional
        Peer rank of the quality score, for CMS-points scoring.
    **inputs
        Passed to :func:`simsav.settlement.rules.settle` (revenue, euc_fraction, low_revenue).

    Returns
    -------
    settlements : list of Settlement
        One per year (the annual test, whatever is paid).
    aco_paid : ndarray, shape (n_sims, years)
        What the ACO is paid each year under the reconciliation, net of losses.
    true_up : ndarray, shape (n_sims, years)
        The deferred payment on cumulative savings (last year only).
    """
    n, years = benchmark.shape
    out: list[Settlement] = []
    for t in range(years):
        prior = np.full(n, np.nan) if t == 0 else quality[:, t - 1]
        pct = None if percentile is None else percentile[:, t]
        rev = inputs.get("revenue")
        kw = dict(inputs)
        if isinstance(rev, np.ndarray) and rev.ndim == 2:
            kw["revenue"] = rev[:, t]
        out.append(settle(contracts[t], benchmark=benchmark[:, t],
                          expenditure=expenditure[:, t], n_beneficiaries=n_beneficiaries,
                          quality=quality[:, t], agreement_year=t + 1, quality_prior=prior,
                          quality_percentile=pct, **kw))
    annual_net = np.stack([s.aco_net for s in out], axis=1)
    true_up = np.zeros((n, years))
    if reconciliation == "annual" or years == 1:
        return out, annual_net, true_up
    # cumulative test: T years pooled, with the MSR of N x T person-years
    person_years = n_beneficiaries * years
    kw = dict(inputs)
    if isinstance(kw.get("revenue"), np.ndarray) and kw["revenue"].ndim == 2:
        kw["revenue"] = kw["revenue"].sum(axis=1)
    cum = settle(contracts[-1], benchmark=benchmark.mean(axis=1),
                 expenditure=expenditure.mean(axis=1), n_beneficiaries=person_years,
                 quality=quality[:, -1], agreement_year=years,
                 quality_prior=quality[:, -2], **kw)
    paid = annual_net.copy() if interim_payments else np.zeros((n, years))
    if interim_payments:
        already = np.stack([s.earned_savings for s in out], axis=1).sum(axis=1)
        true_up[:, -1] = np.maximum(cum.earned_savings - already, 0.0)
    else:
        bonus = np.stack([s.quality_bonus for s in out], axis=1)
        paid = bonus.copy()  # quality bonuses are paid each year regardless
        true_up[:, -1] = cum.earned_savings - cum.shared_losses
    paid[:, -1] += true_up[:, -1]
    return out, paid, true_up


def draw_agreement(
    scenario: Scenario,
    root: np.random.SeedSequence,
    first_block: int,
    n: int,
    bs: int,
    n_threads: int | None,
    on_block: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """The random stage of a multi-year run, for sims of whole blocks from ``first_block``.

    Every array has sims first, so runs of blocks (threads, dask tasks) concatenate to
    exactly the single run's arrays.
    """
    from simsav.simulate import population_groups

    ag, aco = scenario.agreement, scenario.aco
    b, years = ag.base_years, ag.years
    total = b + years
    groups = population_groups(scenario)
    n_total = scenario.population.beneficiaries
    sums = simulate_panel_sums([(spec, count) for _, spec, count in groups], n, total,
                               persistence=ag.persistence, seed=root, block_size=bs,
                               n_threads=n_threads, first_block=first_block,
                               on_block=on_block)
    growth = (1.0 + ag.trend) ** np.arange(total)
    per_capita = sums.sum(axis=2) / n_total * growth
    mu_t = sum(count * spec.to_model().mean(truncated=True) for _, spec, count in groups)
    mu_t /= n_total

    def normals(cols: int, stream: tuple[int, ...]) -> np.ndarray:
        return _normals(n, cols, root, bs, stream, first_block)

    tau = np.full(n, aco.true_savings)
    ts_sd = aco.true_savings_sd_at(n_total)
    if ts_sd > 0:
        tau = tau + ts_sd * normals(1, _STREAM_TRUE_SAVINGS)[:, 0]
    actual = per_capita.copy()
    actual[:, b:] *= (1.0 - tau)[:, None]
    panel_actual = None
    if scenario.providers is not None:
        from simsav.draw.providers import provider_effects

        delta = provider_effects(scenario, n, root, bs, first_block)
        panel_actual = sums * growth[None, :, None]
        panel_actual[:, b:, :] *= (1.0 - tau[:, None, None] - delta[:, None, :])
        actual = panel_actual.sum(axis=2) / n_total
    # risk-score growth in agreement years: spending follows it, the benchmark up to a cap
    risk = np.ones((n, years))
    if ag.risk_growth != 0.0 or ag.risk_growth_sd > 0.0:
        r = ag.risk_growth + ag.risk_growth_sd * normals(years, _STREAM_RISK)
        risk = np.cumprod(1.0 + r, axis=1)
        actual[:, b:] *= risk
        if panel_actual is not None:
            panel_actual[:, b:, :] *= risk[:, :, None]
    credited = risk if ag.risk_cap is None else np.minimum(risk, 1.0 + ag.risk_cap)
    trend_err = np.zeros((n, total))
    if ag.trend_error_sd > 0 and ag.benchmark != "expected":
        trend_err = ag.trend_error_sd * normals(total, _STREAM_TREND)
    bench = build_benchmarks(ag, actual, mu_t, trend_err) * credited
    be_sd = aco.benchmark_error_sd_at(n_total)
    if be_sd > 0:
        bench = bench * np.maximum(1.0 + be_sd * normals(years, _STREAM_BENCHMARK), 1e-6)
    quality = _quality_paths(scenario, n, root, bs, first_block)
    out = {"benchmark": bench, "expenditure": actual[:, b:], "quality": quality,
           "true_savings": np.broadcast_to(tau[:, None], (n, years)).copy()}
    if panel_actual is not None:
        from simsav.draw.providers import provider_quality

        out["panel_expenditure"] = panel_actual[:, b:, :]
        out["panel_quality"] = provider_quality(scenario, quality, root, bs, first_block)
    return out


def simulate_agreement(
    scenario: Scenario,
    n: int,
    root: np.random.SeedSequence,
    bs: int,
    n_threads: int | None,
    seed_attr: int | str,
    build: Callable[..., xr.Dataset],
    *,
    scheduler: Any = None,
    blocks_per_task: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Draw and settle a multi-year agreement (called by :func:`simsav.simulate`)."""
    from simsav.simulate import population_groups

    if scheduler is None:
        drawn = draw_agreement(scenario, root, 0, n, bs, n_threads, progress)
    else:
        from simsav.distributed import draw_with_dask

        drawn = draw_with_dask(draw_agreement, scenario, root, n, bs, scheduler=scheduler,
                               blocks_per_task=blocks_per_task, progress=progress)
    ag, aco = scenario.agreement, scenario.aco
    years = ag.years
    n_total = scenario.population.beneficiaries
    bench, expenditure, quality = drawn["benchmark"], drawn["expenditure"], drawn["quality"]
    pct = _peer_percentile(scenario, quality)
    revenue = None if aco.revenue_share is None else aco.revenue_share * bench * n_total

    per_design: list[Settlement] = []
    paid, true_up = [], []
    for d in scenario.designs:
        inputs: dict[str, Any] = dict(euc_fraction=aco.euc_fraction, low_revenue=aco.low_revenue)
        if revenue is not None:
            inputs["revenue"] = revenue
        s_years, p, tu = settle_agreement(
            [d.contract(t) for t in range(years)], reconciliation=d.reconciliation,
            interim_payments=d.interim_payments, benchmark=bench, expenditure=expenditure,
            quality=quality, n_beneficiaries=n_total, percentile=pct, **inputs)
        per_design.append(Settlement(**{f: np.stack([getattr(s, f) for s in s_years], axis=1)
                                        for f in SETTLEMENT_FIELDS}))
        paid.append(p)
        true_up.append(tu)
    extra = {"aco_paid": np.stack(paid, axis=-1), "true_up": np.stack(true_up, axis=-1)}
    ds = build(scenario, n, seed_attr, bs, bench, expenditure, quality,
               drawn["true_savings"], per_design, population_groups(scenario), extra)
    if "panel_expenditure" in drawn:
        from simsav.draw.providers import attach_providers

        ds = attach_providers(ds, scenario, drawn["panel_expenditure"],
                              drawn["panel_quality"])
    ds.attrs["agreement"] = (
        f"{years} years, {ag.base_years} base years, benchmark {ag.benchmark}, "
        f"trend {ag.trend}")
    return ds
