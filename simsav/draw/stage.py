"""The random stage: scenario → every random input of a run.

:func:`draw` returns a :class:`Draws`: per sim and agreement year the benchmark, the
expenditure, the quality score, the ACO's true savings, the beneficiaries each settlement
counts and the revenue behind revenue-based loss limits; per provider panel its savings
and quality. Nothing here knows a contract: every design is settled on the same draws
(:mod:`simsav.reconcile`), so differences between designs carry no Monte Carlo noise.

Per sim ``i`` and year ``t`` of ``T = base_years + years`` simulated years:

* ``X_it`` — capped spending summed over each group (stratum or provider panel): one
  year by the per-beneficiary kernel (stream ``spending``), the aggregate fast path
  (``aggregate``) or the attribution kernel (``attribution``); several years by the
  persistent panel kernel (``panel``);
* ``τ_i = aco.true_savings + sd_τ(N) z`` (stream ``true_savings``) with
  ``sd_τ(N)² = aco.true_savings_sd² + aco.true_savings_var_n / N``; it applies in
  agreement years only; a provider's own effect ``δ`` adds to it on its panel;
* expenditure per capita ``X_it / N × (1 + trend)^t × (1 − τ_i)`` times the risk-score
  growth (stream ``risk_growth``); under churn and retrospective assignment
  ``(spending − τ · managed spending) / n_attributed``;
* the benchmark from :func:`simsav.draw.agreement.build_benchmarks` (the population's
  expected truncated spending, or its own trended history with the projection error of
  stream ``trend_error``), times the credited risk growth, times ``1 + sd_b(N) ε``
  (stream ``benchmark_error``);
* the quality score (:mod:`simsav.draw.quality`, stream ``quality``).

Blocks: :func:`draw_blocks` draws any run of whole blocks exactly as the whole run draws
them, so threads and dask tasks (:mod:`simsav.distributed`) give identical results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from simsav.draw.aggregate import simulate_group_sums_aggregate
from simsav.draw.agreement import build_benchmarks, build_blend_benchmarks, trend_paths
from simsav.draw.attribution import attributed_sums, benchmark_per_capita
from simsav.draw.groups import simulate_group_stats, simulate_group_sums
from simsav.draw.panel import simulate_panel_excess, simulate_panel_sums
from simsav.draw.population import population_groups
from simsav.draw.providers import provider_effects, provider_layout, provider_quality
from simsav.draw.quality import draw_quality, quality_rank
from simsav.draw.stop_loss import attachment_table, expected_excess, stop_loss_keys
from simsav.rng import STREAMS, SeedLike, block_normals, root_seed_sequence
from simsav.scenario import Scenario

__all__ = ["DRAW_METHODS", "Draws", "draw", "draw_blocks"]

F64 = NDArray[np.float64]
DrawMethod = Literal["per-beneficiary", "aggregate"]

#: How one-year spending sums are drawn.
DRAW_METHODS: tuple[str, ...] = ("per-beneficiary", "aggregate")


@dataclass(frozen=True)
class Draws:
    """Every input of the settlement for one run: arrays with sims first.

    Attributes
    ----------
    benchmark, expenditure : ndarray, shape (sim, year)
        USD per beneficiary-year; the benchmark before any contract discount.
    quality, quality_rank : ndarray, shape (sim, year)
        The ACO's quality score, and its rank among peers (for CMS-points scoring).
    true_savings : ndarray, shape (sim, year)
        The ACO's true savings rate in the agreement year.
    n_beneficiaries : ndarray, shape (sim, year)
        Beneficiaries the settlement counts (the attributed count under churn).
    revenue : ndarray, shape (sim, year)
        ACO participants' A+B revenue, USD (NaN where unknown).
    agreement_year : ndarray of int, shape (year,)
        Year of the agreement period each year settles as.
    euc_fraction : float
        Share of shared losses forgiven for extreme and uncontrollable circumstances.
    low_revenue : bool
        Whether the ACO is low-revenue (may share below the MSR).
    attributed : bool
        Whether ``n_beneficiaries`` varies by sim (churn, retrospective assignment).
    provider_org, provider_lives : list of str, ndarray, optional
        Providers' organization types and panel sizes.
    panel_savings, panel_quality : ndarray, shape (sim, year, provider), optional
        Each panel's savings (its benchmark minus its expenditure, USD) and quality.
    stop_loss_keys : tuple of (float, bool)
        The specific stop-loss attachments drawn (attachment USD, risk-adjusted).
    stop_loss_excess : ndarray, shape (sim, year, key), optional
        Each beneficiary's spending above each attachment, summed, USD per
        beneficiary-year (scaled like the expenditure).
    stop_loss_expected : ndarray, shape (year, key), optional
        Its expected value from the spending model, USD per beneficiary-year (trended).
    """

    benchmark: F64
    expenditure: F64
    quality: F64
    quality_rank: F64
    true_savings: F64
    n_beneficiaries: F64
    revenue: F64
    agreement_year: NDArray[np.int64]
    euc_fraction: float = 0.0
    low_revenue: bool = False
    attributed: bool = False
    provider_org: list[str] | None = None
    provider_lives: NDArray[np.int64] | None = None
    panel_savings: F64 | None = None
    panel_quality: F64 | None = None
    stop_loss_keys: tuple[tuple[float, bool], ...] = ()
    stop_loss_excess: F64 | None = None
    stop_loss_expected: F64 | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_sims, n_years)``."""
        return (int(self.benchmark.shape[0]), int(self.benchmark.shape[1]))


def _one_year_sums(scenario: Scenario, pairs: list[tuple[Any, int]], root: Any,
                   first_block: int, n: int, bs: int, n_threads: int | None,
                   on_block: Callable[[int], None] | None,
                   method: str, att: F64 | None = None) -> tuple[F64, dict[str, F64]]:
    """Group sums of one year, shape (sim, 1, group), and attribution outputs if any.

    With stop-loss attachments ``att`` the per-beneficiary kernel also sums the excess
    (``"excess"``: shape (sim, 1, group, key)).
    """
    kw = dict(seed=root, block_size=bs, n_threads=n_threads, first_block=first_block,
              on_block=on_block)
    if att is not None:
        if not scenario.attribution.is_trivial or method == "aggregate":
            raise ValueError("specific stop-loss acts on each person's spending: it needs "
                             "per-beneficiary draws without churn (draws = "
                             "'per-beneficiary', no [attribution])")
        gs = simulate_group_stats(pairs, n, attachments=att, **kw)
        assert gs.excess is not None
        return gs.truncated[:, None, :], {"excess": gs.excess[:, None, :, :]}
    if not scenario.attribution.is_trivial:
        a = attributed_sums(pairs, n, attribution=scenario.attribution, **kw)
        return a["spending"][:, None, :], {
            "n_attributed": a["count"].sum(axis=1).astype(np.float64),
            "managed": a["managed_spending"].sum(axis=1)}
    group_sums = simulate_group_sums_aggregate if method == "aggregate" else simulate_group_sums
    return group_sums(pairs, n, **kw)[:, None, :], {}


def _benchmark(scenario: Scenario, pairs: list[tuple[Any, int]], actual: F64, paths: Any,
               normals: Callable[[int, str], F64]) -> F64:
    """Each agreement year's benchmark per capita before risk and benchmark error."""
    ag = scenario.agreement
    mu_t = benchmark_per_capita(pairs, scenario.attribution)
    if paths is not None:
        return build_blend_benchmarks(ag, actual, mu_t, paths)
    total = ag.base_years + ag.years
    trend_err = np.zeros((actual.shape[0], total))
    if ag.trend_error_sd > 0 and ag.benchmark != "expected":
        trend_err = ag.trend_error_sd * normals(total, "trend_error")
    return build_benchmarks(ag, actual, mu_t, trend_err)


def draw_blocks(
    scenario: Scenario,
    root: np.random.SeedSequence,
    first_block: int,
    n: int,
    bs: int,
    n_threads: int | None = None,
    on_block: Callable[[int], None] | None = None,
    method: str = "per-beneficiary",
) -> dict[str, F64]:
    """Draw sims ``first_block·bs`` to ``first_block·bs + n`` of a run.

    Every array has sims first, so runs of whole blocks (threads, dask tasks) concatenate
    to exactly the single run's arrays.
    """
    ag, aco = scenario.agreement, scenario.aco
    b, years = ag.base_years, ag.years
    total = b + years
    n_total = scenario.population.beneficiaries
    pairs = [(spec, count) for _, spec, count in population_groups(scenario)]

    def normals(cols: int, name: str) -> F64:
        return block_normals((n, cols), seed=root, block_size=bs, stream=STREAMS[name],
                             first_block=first_block)

    keys = stop_loss_keys([c for t in range(years) for c in scenario.contracts(t).values()])
    att = attachment_table(pairs, keys) if keys else None
    excess = None
    if total == 1:
        sums, attributed = _one_year_sums(scenario, pairs, root, first_block, n, bs,
                                          n_threads, on_block, method, att)
        excess = attributed.pop("excess", None)
    elif att is not None:
        sums, excess = simulate_panel_excess(
            pairs, n, total, att, persistence=ag.persistence, seed=root, block_size=bs,
            n_threads=n_threads, first_block=first_block, on_block=on_block)
        attributed = {}
    else:
        sums, attributed = simulate_panel_sums(
            pairs, n, total, persistence=ag.persistence, seed=root, block_size=bs,
            n_threads=n_threads, first_block=first_block, on_block=on_block), {}
    paths = None
    if ag.update == "blend":
        def drawn(sd: float, name: str) -> F64:
            return sd * normals(total, name) if sd > 0 else np.zeros((n, total))

        paths = trend_paths(ag, drawn(ag.national_trend_sd, "national_trend"),
                            drawn(ag.regional_trend_sd, "regional_trend"),
                            drawn(ag.trend_error_sd, "trend_error"))
        growth = paths.growth
    else:
        growth = np.broadcast_to((1.0 + ag.trend) ** np.arange(total), (n, total))
    tau = np.full(n, aco.true_savings)
    ts_sd = aco.true_savings_sd_at(n_total)
    if ts_sd > 0:
        tau = tau + ts_sd * normals(1, "true_savings")[:, 0]
    actual = sums.sum(axis=2) / n_total * growth
    actual[:, b:] *= (1.0 - tau)[:, None]
    if excess is not None and scenario.providers is None:
        # scaled as the spending is: trend, true savings (and risk, below)
        excess = excess * growth[:, :, None, None]
        excess[:, b:] *= (1.0 - tau)[:, None, None, None]
    out: dict[str, F64] = {}
    panel = None
    if attributed:
        n_att = attributed["n_attributed"]
        spending = sums[:, 0, :].sum(axis=1) - tau * attributed["managed"]
        actual = (spending / np.maximum(n_att, 1.0))[:, None]
        out["n_beneficiaries"] = n_att[:, None]
    if scenario.providers is not None:
        delta = provider_effects(scenario, n, root, bs, first_block)
        panel = sums * growth[:, :, None]
        panel[:, b:, :] *= (1.0 - tau[:, None, None] - delta[:, None, :])
        actual = panel.sum(axis=2) / n_total
        if excess is not None:
            excess = excess * growth[:, :, None, None]
            excess[:, b:] *= (1.0 - tau[:, None, None, None] - delta[:, None, :, None])
    risk = np.ones((n, years))
    if ag.risk_growth != 0.0 or ag.risk_growth_sd > 0.0:
        risk = np.cumprod(1.0 + ag.risk_growth + ag.risk_growth_sd
                          * normals(years, "risk_growth"), axis=1)
        actual[:, b:] *= risk
        if panel is not None:
            panel[:, b:, :] *= risk[:, :, None]
        if excess is not None:
            excess[:, b:] *= risk[:, :, None, None]
    credited = risk if ag.risk_cap is None else np.minimum(risk, 1.0 + ag.risk_cap)
    bench = _benchmark(scenario, pairs, actual, paths, normals) * credited
    be_sd = aco.benchmark_error_sd_at(n_total)
    if be_sd > 0:
        bench = bench * np.maximum(1.0 + be_sd * normals(years, "benchmark_error"), 1e-6)
    quality = draw_quality(scenario.quality, n, years, root, bs, first_block)
    out.update(benchmark=bench, expenditure=actual[:, b:], quality=quality,
               true_savings=np.broadcast_to(tau[:, None], (n, years)).copy())
    if excess is not None:
        out["stop_loss_excess"] = excess[:, b:].sum(axis=2) / n_total
    if panel is not None:
        _, lives = provider_layout(scenario)
        out["panel_savings"] = bench[:, :, None] * lives[None, None, :] - panel[:, b:, :]
        out["panel_quality"] = provider_quality(scenario, quality, root, bs, first_block)
    return out


def draw(
    scenario: Scenario,
    *,
    n_sims: int,
    seed: SeedLike,
    block_size: int,
    n_threads: int | None = None,
    scheduler: Any = None,
    blocks_per_task: int | None = None,
    progress: Callable[[int], None] | None = None,
    method: str = "per-beneficiary",
    first_block: int = 0,
) -> Draws:
    """Draw every random input of a run (the scenario and arguments are already valid).

    Parameters
    ----------
    scenario : Scenario
    n_sims : int
    seed : int, SeedSequence or Generator
    block_size : int
        Sims per random block; results depend on it.
    n_threads : int, optional
        Threads for the kernels (default: numba's thread count).
    scheduler : optional
        Run the blocks as dask tasks (:func:`simsav.distributed.draw_with_dask`).
    blocks_per_task : int, optional
        Blocks per dask task.
    progress : callable, optional
        Called with the number of sims drawn as blocks finish.
    method : {"per-beneficiary", "aggregate"}
        How one-year spending sums are drawn.
    first_block : int
        Draw the sims of the run from block ``first_block`` on (a later chunk of a run:
        exactly the draws the whole run makes for those sims).

    Returns
    -------
    Draws
    """
    root = root_seed_sequence(seed)
    if scheduler is None:
        blocks = draw_blocks(scenario, root, first_block, n_sims, block_size, n_threads,
                             progress, method)
    else:
        from simsav.distributed import draw_with_dask  # dask is an optional dependency

        blocks = draw_with_dask(draw_blocks, scenario, root, n_sims, block_size,
                                scheduler=scheduler, blocks_per_task=blocks_per_task,
                                progress=progress, method=method, first_block=first_block)
    return assemble(scenario, blocks)


def assemble(scenario: Scenario, blocks: dict[str, F64]) -> Draws:
    """The :class:`Draws` of a run from its concatenated block arrays."""
    aco = scenario.aco
    bench = blocks["benchmark"]
    n, years = bench.shape
    attributed = "n_beneficiaries" in blocks
    n_ben = blocks["n_beneficiaries"] if attributed else np.full(
        (n, years), float(scenario.population.beneficiaries))
    revenue = (np.full((n, years), np.nan) if aco.revenue_share is None
               else aco.revenue_share * bench * n_ben)
    org = lives = None
    if scenario.providers is not None:
        org, lives = provider_layout(scenario)
    keys = stop_loss_keys([c for t in range(years) for c in scenario.contracts(t).values()])
    expected = None
    if keys:
        pairs = [(spec, count) for _, spec, count in population_groups(scenario)]
        ag = scenario.agreement
        growth = (1.0 + ag.trend) ** np.arange(ag.base_years, ag.base_years + years)
        per_capita = expected_excess(pairs, attachment_table(pairs, keys))
        expected = growth[:, None] * per_capita[None, :]
    return Draws(
        benchmark=bench, expenditure=blocks["expenditure"], quality=blocks["quality"],
        quality_rank=quality_rank(scenario.quality, blocks["quality"]),
        true_savings=blocks["true_savings"], n_beneficiaries=n_ben, revenue=revenue,
        agreement_year=aco.agreement_year + np.arange(years, dtype=np.int64),
        euc_fraction=aco.euc_fraction, low_revenue=aco.low_revenue, attributed=attributed,
        provider_org=org, provider_lives=lives, panel_savings=blocks.get("panel_savings"),
        panel_quality=blocks.get("panel_quality"), stop_loss_keys=tuple(keys),
        stop_loss_excess=blocks.get("stop_loss_excess"), stop_loss_expected=expected,
    )
