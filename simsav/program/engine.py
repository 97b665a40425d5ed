"""Draw and settle a program year block by block: what one task (thread or dask worker) runs.

Per sim ``k`` and ACO ``i`` (:mod:`simsav.program.credibility` for the terms):

    a_ki = μ̂_Y + C_k + m_i + σ_u,i z_ki + σ_e,i x_ki,
    s_ki = 1 − (X̄_ki / μ_T) (1 − a_ki),     expenditure = benchmark_i (1 − s_ki),

with ``C_k`` the common shock shared by every ACO in sim ``k`` (stream ``common_shock``:
the year's shock and the drift's error, on one Student-t scale), ``z`` and ``x`` standard
normals (streams ``aco_persistent`` and ``aco_year``), and ``X̄ / μ_T`` the ACO's claims
noise: its ``N`` beneficiaries' capped spending over its expected value, drawn in
aggregate (:func:`simsav.draw.aggregate.simulate_group_sums_aggregate`, stream
``aggregate``) or beneficiary by beneficiary
(:func:`simsav.draw.groups.simulate_group_sums`). ``a`` is clipped to ±0.9.

Every ACO-year is then settled under the roster's contracts and under each policy, on the
same draws (:func:`simsav.settlement.rules.settle_trusted`), and again under the roster's
contracts with ``C_k = 0``: what the program would pay if ACOs shared no shock.

:func:`run_blocks` draws sims ``[first_block · block_size, + n)`` exactly as a whole run
draws them, so threads and dask tasks give identical results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simsav.contracts import Contract
from simsav.draw.aggregate import simulate_group_sums_aggregate
from simsav.draw.groups import simulate_group_sums
from simsav.program.model import CommonForecast
from simsav.rng import STREAMS, block_normals, map_blocks
from simsav.settlement.rules import settle_trusted
from simsav.spending import SpendingSpec

__all__ = ["DRAW_METHODS", "ProgramPlan", "SettleGroup", "run_blocks", "settle_group",
           "settle_program"]

F64 = NDArray[np.float64]

#: How the claims noise is drawn.
DRAW_METHODS: tuple[str, ...] = ("aggregate", "per-beneficiary")

# settle at most this many ACO-sims at once (the settlement's ~35 arrays stay small)
_SETTLE_CELLS = 1 << 16
_CLIP = 0.9


@dataclass(frozen=True)
class SettleGroup:
    """ACOs settled with one contract under one policy (index ``policy``).

    ``msr`` holds their elected MSR/MLR where they keep their election, else ``None``.
    """

    policy: int
    contract: Contract
    index: NDArray[np.int64]
    msr: F64 | None


@dataclass(frozen=True)
class ProgramPlan:
    """Everything a task needs: the ACOs' terms, the forecast, the contracts (picklable)."""

    year: int
    beneficiaries: F64
    benchmark: F64
    mean_deviation: F64
    persistent_sd: F64
    year_sd: F64
    quality: F64
    agreement_year: F64
    revenue: F64
    forecast: CommonForecast
    spending: SpendingSpec
    method: str
    groups: tuple[SettleGroup, ...]
    n_policies: int
    euc_fraction: float

    @property
    def n_acos(self) -> int:
        """Number of ACOs."""
        return int(self.beneficiaries.size)


def common_draws(f: CommonForecast, root: Any, first_block: int, n: int,
                 block_size: int) -> F64:
    """The common shock ``C_k`` of sims ``[first_block · block_size, + n)``."""
    out = np.empty(n)

    def fill(rng: np.random.Generator, start: int, stop: int) -> None:
        # each block draws its full size, so a partial last block keeps its first rows
        z = rng.standard_normal((block_size, 2))
        chi = rng.chisquare(f.dof, size=block_size)
        w = np.sqrt(f.dof / chi)
        c = w * (f.year_sd * z[:, 0] + f.drift_sd * z[:, 1])
        out[start:stop] = c[: stop - start]

    map_blocks(fill, n, seed=root, block_size=block_size, n_threads=1,
               stream=STREAMS["common_shock"], first_block=first_block)
    return out


def claims_ratio(plan: ProgramPlan, root: Any, first_block: int, n: int, block_size: int,
                 n_threads: int | None,
                 on_block: Callable[[int], None] | None = None) -> F64:
    """``X̄ / μ_T`` per sim and ACO: capped spending over its expected value."""
    counts = plan.beneficiaries.astype(np.int64)
    groups = [(plan.spending, int(c)) for c in counts]
    draw = (simulate_group_sums_aggregate if plan.method == "aggregate"
            else simulate_group_sums)
    sums = draw(groups, n, seed=root, block_size=block_size, n_threads=n_threads,
                first_block=first_block, on_block=on_block)
    mean_t = plan.spending.to_model().mean(truncated=True)
    return sums / (counts * mean_t)


def settle_group(plan: ProgramPlan, g: SettleGroup, expenditure: F64) -> Any:
    """Settle the ACOs of one group: ``expenditure`` ``(sims, group ACOs)`` per capita."""
    i = g.index
    kw: dict[str, Any] = dict(
        benchmark=plan.benchmark[i], expenditure=expenditure,
        n_beneficiaries=plan.beneficiaries[i], quality=plan.quality[i], qps_met=True,
        agreement_year=plan.agreement_year[i], euc_fraction=plan.euc_fraction,
        revenue=plan.revenue[i])
    if g.msr is not None:
        kw.update(msr=g.msr, mlr=g.msr)
    return settle_trusted(g.contract, **kw)


def settle_program(plan: ProgramPlan, expenditure: F64, *, policies: tuple[int, ...] | None = None
                   ) -> dict[str, F64]:
    """Settle every ACO under each policy (all, or the indices ``policies``, in that order).

    Returns per ACO ``earned_savings`` and ``shared_losses`` ``(sims, ACOs, policies)``, and
    per sim ``quality_bonus`` and ``cost`` ``(sims, policies)``, summed over ACOs: ``cost`` is
    what the payer pays the ACOs net (earned + bonus + reinvested forfeits − owed).
    """
    m, n_aco = expenditure.shape
    p_all = tuple(range(plan.n_policies)) if policies is None else tuple(policies)
    col = {p: j for j, p in enumerate(p_all)}
    out = {k: np.zeros((m, n_aco, len(p_all))) for k in ("earned_savings", "shared_losses")}
    out.update({k: np.zeros((m, len(p_all))) for k in ("quality_bonus", "cost")})
    for g in plan.groups:
        if g.policy not in col:
            continue
        j = col[g.policy]
        step = max(1, _SETTLE_CELLS // max(g.index.size, 1))
        for lo in range(0, m, step):
            hi = min(lo + step, m)
            s = settle_group(plan, g, expenditure[lo:hi, g.index])
            true_gross = ((plan.benchmark[g.index] - expenditure[lo:hi, g.index])
                          * plan.beneficiaries[g.index])
            out["earned_savings"][lo:hi, g.index, j] = s.earned_savings
            out["shared_losses"][lo:hi, g.index, j] = s.shared_losses
            out["quality_bonus"][lo:hi, j] += s.quality_bonus.sum(axis=1)
            out["cost"][lo:hi, j] += (true_gross - s.payer_net).sum(axis=1)
    return out


def _savings_rate(plan: ProgramPlan, common: F64, z_u: F64, z_e: F64, ratio: F64) -> F64:
    a = (plan.forecast.center + common[:, None] + plan.mean_deviation
         + plan.persistent_sd * z_u + plan.year_sd * z_e)
    return 1.0 - ratio * (1.0 - np.clip(a, -_CLIP, _CLIP))


def run_blocks(plan: ProgramPlan, root: Any, first_block: int, n: int, block_size: int,
               n_threads: int | None = None,
               on_block: Callable[[int], None] | None = None) -> dict[str, F64]:
    """Draw and settle sims ``[first_block · block_size, + n)``; arrays with sims first.

    Returns ``common_shock`` ``(n,)``, ``savings_rate`` ``(n, ACOs)``, ``earned_savings`` and
    ``shared_losses`` ``(n, ACOs, policies)``, and the program totals ``(n, policies)``:
    ``acos_earning``, ``acos_owing``, ``total_earned``, ``total_owed``,
    ``total_quality_bonus``, ``program_cost``, ``net_savings``; ``gross_savings`` ``(n,)``;
    and, under the roster's own contracts with no common shock, ``acos_earning_no_common``,
    ``total_earned_no_common``, ``net_savings_no_common`` ``(n,)``.
    """
    shape = (n, plan.n_acos)
    common = common_draws(plan.forecast, root, first_block, n, block_size)
    z_u = block_normals(shape, seed=root, block_size=block_size,
                        stream=STREAMS["aco_persistent"], first_block=first_block)
    z_e = block_normals(shape, seed=root, block_size=block_size,
                        stream=STREAMS["aco_year"], first_block=first_block)
    ratio = claims_ratio(plan, root, first_block, n, block_size, n_threads, on_block)
    s = _savings_rate(plan, common, z_u, z_e, ratio)
    exp_ = plan.benchmark * (1.0 - s)
    money = settle_program(plan, exp_)
    gross = ((plan.benchmark - exp_) * plan.beneficiaries).sum(axis=1)
    out: dict[str, F64] = {"common_shock": common, "savings_rate": s,
                           "earned_savings": money["earned_savings"],
                           "shared_losses": money["shared_losses"], "gross_savings": gross}
    out.update(_totals(money, gross))
    s0 = _savings_rate(plan, np.zeros(n), z_u, z_e, ratio)
    exp0 = plan.benchmark * (1.0 - s0)
    base = settle_program(plan, exp0, policies=(0,))
    gross0 = ((plan.benchmark - exp0) * plan.beneficiaries).sum(axis=1)
    t0 = _totals(base, gross0)
    out["acos_earning_no_common"] = t0["acos_earning"][:, 0]
    out["total_earned_no_common"] = t0["total_earned"][:, 0]
    out["net_savings_no_common"] = t0["net_savings"][:, 0]
    return out


def _totals(money: dict[str, F64], gross: F64) -> dict[str, F64]:
    earned, owed = money["earned_savings"], money["shared_losses"]
    return {
        "acos_earning": (earned > 0).sum(axis=1).astype(np.float64),
        "acos_owing": (owed > 0).sum(axis=1).astype(np.float64),
        "total_earned": earned.sum(axis=1),
        "total_owed": owed.sum(axis=1),
        "total_quality_bonus": money["quality_bonus"],
        "program_cost": money["cost"],
        "net_savings": gross[:, None] - money["cost"],
    }
