"""The settlement's steps, in the order of CMS's settlement report.

Each step reads the contract and the inputs and adds its outputs to ``s``;
:data:`STEPS` runs them in order (:func:`simsav.settlement.rules.settle_arrays`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from simsav.contracts import Contract
from simsav.contracts.msr import interpolate_table
from simsav.settlement.corridors import corridor_share
from simsav.settlement.inputs import SettleInputs

__all__ = ["STEPS"]

F64 = NDArray[np.float64]
Bools = NDArray[np.bool_]


def _savings(c: Contract, x: SettleInputs, s: dict[str, Any]) -> None:
    """Step 1: the benchmark and expenditure the settlement compares [rows G–I].

    The benchmark per capita ``B × (1 − discount − withhold × (1 − Q) + add-on)`` plus
    any health-equity adjustment, the additive form the REACH results files show
    [V RFA Table 6.16; D replication]; the expenditure net of stop-loss recoveries and
    plus its premium (``TOT_COST_CARE_NET``); gross savings ``benchmark − expenditure``
    and the savings rate [V CFR604(d), CFR605(d)].
    """
    py = x.person_years
    if isinstance(c.benchmark_discount, list):
        years = np.clip(x.agreement_year.astype(np.int64) - 1, 0, len(c.benchmark_discount) - 1)
        disc: Any = np.asarray(c.benchmark_discount)[years]
    else:
        disc = c.benchmark_discount
    factor = 1.0 - disc
    w = c.quality_withhold
    if w > 0:
        factor = factor - w * (1.0 - np.clip(x.scored, 0.0, 1.0))
    if c.admin_addon > 0:
        factor = factor + c.admin_addon
    bench = x.benchmark * factor
    if (x.equity_adjustment != 0).any():
        bench = bench + x.equity_adjustment
    s["benchmark_total"] = bench * py
    s["quality_withheld"] = w * x.benchmark * py
    s["quality_earned_back"] = w * np.clip(x.scored, 0.0, 1.0) * x.benchmark * py
    raw = x.expenditure * py
    recovery, premium = _stop_loss(c, x, raw)
    s["stop_loss_recovery"], s["stop_loss_premium"] = recovery, premium
    s["expenditure_total"] = raw - recovery + premium if c.specific_stop_loss or (
        c.aggregate_stop_loss) else raw
    s["gross_savings"] = s["benchmark_total"] - s["expenditure_total"]
    s["savings_rate"] = s["gross_savings"] / s["benchmark_total"]


def _stop_loss(c: Contract, x: SettleInputs, raw: F64) -> tuple[F64, F64]:
    """Stop-loss recoveries and premium in dollars.

    Specific: ``coinsurance × Σ (each person's spending − attachment)+`` (the excess
    summed by the kernels); premium ``PBPM × 12 × person-years`` or ``(1 + loading) ×``
    the expected recoveries. Aggregate, on the spending left after specific recoveries:
    ``coinsurance × (spending − attachment × undiscounted benchmark)+``.
    """
    recovery = np.zeros(x.shape)
    premium = np.zeros(x.shape)
    sl = c.specific_stop_loss
    if sl is not None:
        recovery = sl.coinsurance * x.stop_loss_excess
        if sl.premium_loading is not None:
            premium = (1.0 + sl.premium_loading) * sl.coinsurance * x.stop_loss_expected
        else:
            premium = sl.premium_pbpm * 12.0 * x.person_years
    agg = c.aggregate_stop_loss
    if agg is not None:
        attach = agg.attachment * x.benchmark * x.person_years
        recovery = recovery + agg.coinsurance * np.maximum(raw - recovery - attach, 0.0)
        premium = premium + agg.premium_pbpm * 12.0 * x.person_years
    return recovery, premium


def _rate_from_rule(contract: Contract, side: str, n: F64) -> F64:
    fixed = contract.fixed_rate(side)  # type: ignore[arg-type]
    if fixed is not None:
        return np.full_like(n, fixed)
    table = contract.msr_table(side)  # type: ignore[arg-type]
    assert table is not None
    return interpolate_table(table, n)


def _outcome(c: Contract, x: SettleInputs, s: dict[str, Any]) -> None:
    """Step 2: MSR/MLR and the outcome [V CFR604(b), CFR605(b), CFR606(b); rows L–P].

    The MSR follows the contract's rule (the CMS sliding scale by assigned beneficiaries,
    a fixed or elected rate, or a table) unless ``msr`` is given; two-sided contracts'
    MLR mirrors it unless set apart. Savings clear the MSR when ``gross >= MSR × B``;
    losses are shared when ``−gross >= MLR × B``.
    """
    gross, bench_total = s["gross_savings"], s["benchmark_total"]
    msr = x.msr if x.msr is not None else _rate_from_rule(c, "msr", x.n)
    if not c.two_sided:
        mlr = np.full(x.shape, np.nan)
    elif x.mlr is not None:
        mlr = x.mlr
    else:
        mlr = msr if c.mlr == "symmetric" else _rate_from_rule(c, "mlr", x.n)
    cleared = (gross > 0) & (gross >= msr * bench_total)
    losses = c.two_sided & (gross < 0) & (-gross >= np.nan_to_num(mlr) * bench_total)
    s["msr"], s["mlr"] = msr, mlr
    s["outcome"] = np.where(cleared, 1, np.where(losses, -1, 0)).astype(np.int8)


def _quality_scale(contract: Contract, q: F64) -> F64:
    """Fraction of the maximum sharing rate earned at quality ``q`` (before gates)."""
    m = contract.quality_method
    if m == "flat" or m == "standard":
        return np.ones_like(q)
    if m == "scaled":
        lo, hi = contract.quality_floor, contract.quality_full
        return np.clip((q - lo) / (hi - lo), 0.0, 1.0)
    # ladder: highest step at or below q; 0 below the first step
    steps = contract.quality_ladder or []
    qs = np.array([st.min_quality for st in steps])
    rs = np.array([st.rate for st in steps])
    idx = np.searchsorted(qs, q, side="right") - 1
    return np.where(idx >= 0, rs[np.clip(idx, 0, None)], 0.0)


def _standards(c: Contract, x: SettleInputs) -> tuple[Bools, F64]:
    """Whether the quality standard is met, and the share of the maximum rate earned.

    2021+ ``standard`` method [V CFR512; S RF2026]: the full rate when the quality
    performance standard is met, ``max × Q`` when only the alternative standard is,
    nothing otherwise. Earlier methods [V CFR502, CFR606(f)]: failing the standard means
    no sharing (and the ceiling loss rate); otherwise the contract's scale of quality.
    """
    shape = x.shape
    met_default = (x.quality >= c.quality_standard if c.quality_standard is not None
                   else np.ones(shape, bool))
    qps = met_default if x.qps_met is None else x.qps_met
    if c.quality_method != "standard":
        return qps, np.where(qps, _quality_scale(c, x.scored), 0.0)
    alt_default = (x.quality >= c.alternative_standard if c.alternative_standard is not None
                   else np.zeros(shape, bool))
    alt = (alt_default if x.alt_qps_met is None else x.alt_qps_met) & ~qps
    return qps | alt, np.where(qps, 1.0, np.where(alt, x.scored, 0.0))


def _sharing(c: Contract, x: SettleInputs, s: dict[str, Any]) -> None:
    """Step 3: final sharing rate, shared savings, sequestration, cap [rows Q–Y].

    First-dollar sharing once the MSR is met [V CFR604(e)(1), CFR605(d)(1)(i)(B)(1)], or
    beyond a net threshold (the 2011 proposed rule [S GFR]); low-revenue ACOs below the
    MSR share at a reduced rate [S RF2026, 425.605(h)]; 2% sequestration and the
    performance payment limit, capped after sequestration as CMS's reports do
    (``[Y] = min([V] − [X], [W])``) [V A1540 report].
    """
    shape = x.shape
    gross, bench_total, outcome = s["gross_savings"], s["benchmark_total"], s["outcome"]
    cleared = outcome == 1
    standard_ok, scale = _standards(c, x)
    gate_ok = x.quality >= c.quality_gate if c.quality_gate is not None else np.ones(shape, bool)
    quality_met = standard_ok & gate_ok & (scale > 0)
    bonus_pts = np.zeros(shape)
    for band in c.participation_bonus:
        bonus_pts = np.where(x.participation_share >= band.min_share, band.points, bonus_pts)
    if c.sharing_basis == "first-dollar":
        sharable = np.maximum(gross, 0.0)
    else:
        thr = s["msr"] if c.sharing_threshold == "msr" else c.sharing_threshold
        sharable = np.maximum(gross - thr * bench_total, 0.0)
    below = np.zeros(shape, bool)  # low-revenue sharing below the MSR (MSSP only)
    if c.risk_corridors is not None:
        fsr, shared = _corridor_sharing(c, sharable, bench_total, cleared,
                                        np.where(quality_met, scale, 0.0))
    else:
        potential = np.clip(c.max_sharing_rate * scale + np.where(scale > 0, bonus_pts, 0.0),
                            0, 1)
        fsr = np.where(quality_met, potential, 0.0)
        below = ((gross > 0) & ~cleared & x.low_revenue & (x.n >= 5_000)
                 & (c.below_msr_sharing_factor > 0))
        rate = np.where(cleared, fsr, np.where(below, fsr * c.below_msr_sharing_factor, 0.0))
        shared = rate * np.where(cleared, sharable, np.maximum(gross, 0.0))
    seq = shared * c.sequestration
    cap = bench_total * c.payment_limit if c.payment_limit is not None else np.full(shape, np.inf)
    if c.cap_after_sequestration:
        earned = np.minimum(shared - seq, cap)
    else:
        earned = np.minimum(shared, cap) * (1.0 - c.sequestration)
        seq = np.minimum(shared, cap) * c.sequestration
    s["outcome"] = np.where(below & (shared > 0), 2, outcome).astype(np.int8)
    s.update(quality_met=quality_met, final_sharing_rate=fsr, shared_savings=shared,
             sequestration=seq, payment_cap=cap, earned_savings=earned,
             withheld=earned * c.withhold, _standard_ok=standard_ok)


def _corridor_sharing(c: Contract, sharable: F64, bench_total: F64, cleared: Bools,
                      scale: F64) -> tuple[F64, F64]:
    """Shared savings under risk corridors, and the effective sharing rate.

    The corridor share of the sharable savings (bands as fractions of the settlement's
    benchmark), times the quality scale; the rate reported is the share of the sharable
    savings kept (the first band's share where there are none).
    """
    assert c.risk_corridors is not None
    bands = c.risk_corridors.savings
    kept = scale * corridor_share(sharable, bench_total, bands)
    shared = np.where(cleared, kept, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        fsr = np.where(sharable > 0, kept / sharable, bands[0].share * scale)
    return fsr, shared


def _loss_cap(c: Contract, x: SettleInputs, bench_total: F64) -> F64:
    """Return the loss-sharing limit in dollars [V CFR605(d), CFR606(g)].

    By benchmark (by agreement year where a list), and by revenue where known, the
    lesser applying.
    """
    limit = c.loss_limit_benchmark
    if isinstance(limit, list):
        idx = np.clip(x.agreement_year.astype(np.int64) - 1, 0, len(limit) - 1)
        lim_b = np.asarray(limit)[idx] * bench_total
    elif limit is not None:
        lim_b = limit * bench_total
    else:
        lim_b = np.full(x.shape, np.inf)
    if c.loss_limit_revenue is None:
        return lim_b
    lim_r = np.where(np.isnan(x.revenue), np.inf, c.loss_limit_revenue * x.revenue)
    return np.minimum(lim_b, lim_r)


def _losses(c: Contract, x: SettleInputs, s: dict[str, Any]) -> None:
    """Step 4: shared losses [rows U, Z–GG].

    A fixed loss rate, or ``1 − max × Q`` within the track's floor and ceiling (the
    ceiling when the quality standards fail) [V CFR606(f), CFR610(f)]; the loss cap; the
    extreme-and-uncontrollable reduction by share of beneficiaries × share of the year
    affected [V CFR606(i); A1540 report rows DD–FF].
    """
    shape = x.shape
    if not c.two_sided:
        s.update(shared_loss_rate=np.full(shape, np.nan), shared_losses_before_cap=np.zeros(shape),
                 loss_cap=np.full(shape, np.nan), euc_adjustment=np.zeros(shape),
                 shared_losses=np.zeros(shape))
        return
    losses = -s["gross_savings"]
    if c.risk_corridors is not None:
        bands = c.risk_corridors.schedule("losses")
        owed = corridor_share(losses, s["benchmark_total"], bands)
        with np.errstate(invalid="ignore", divide="ignore"):
            lsr = np.where(losses > 0, owed / losses, bands[0].share)
        before = np.where(s["outcome"] == -1, owed, 0.0)
    else:
        if c.loss_rate_method == "fixed":
            lsr = np.full(shape, c.loss_rate)
        else:
            raw = np.clip(1.0 - c.max_sharing_rate * x.scored, c.loss_rate_floor,
                          c.loss_rate_ceiling)
            lsr = np.where(s["_standard_ok"], raw, c.loss_rate_ceiling)
        before = np.where(s["outcome"] == -1, lsr * losses, 0.0)
    cap = _loss_cap(c, x, s["benchmark_total"])
    after_cap = np.minimum(before, cap)
    euc = after_cap * x.euc_fraction if c.euc_reduces_losses else np.zeros(shape)
    s.update(shared_loss_rate=lsr, shared_losses_before_cap=before, loss_cap=cap,
             euc_adjustment=euc, shared_losses=after_cap - euc)


def _bonus_and_forfeits(c: Contract, x: SettleInputs, s: dict[str, Any]) -> None:
    """Step 5: quality bonus, forfeited savings and the payer's net.

    The quality bonus is ``budget × benchmark × scale(Q)``, paid whether or not savings
    are achieved (recommendation 2). Forfeited savings are what the maximum sharing rate
    would have paid, first dollar, within the cap, where the ACO generated savings but
    earned nothing (MSR or quality missed); they go to the payer or are reinvested
    (recommendation 5).
    """
    shape = x.shape
    gross, earned, cap = s["gross_savings"], s["earned_savings"], s["payment_cap"]
    qb = c.quality_bonus
    if qb is None:
        bonus = np.zeros(shape)
    else:
        if qb.full_at > qb.threshold:
            qscale = np.clip((x.scored - qb.threshold) / (qb.full_at - qb.threshold), 0.0, 1.0)
        else:
            qscale = (x.scored >= qb.threshold).astype(np.float64)
        bonus = qb.budget * s["benchmark_total"] * qscale
    ineligible = (gross > 0) & (earned <= 0)
    if c.risk_corridors is not None:
        best = corridor_share(gross, s["benchmark_total"], c.risk_corridors.savings)
    else:
        best = c.max_sharing_rate * np.maximum(gross, 0.0)
    would_have = np.minimum(best, cap)
    forfeited = np.where(ineligible, would_have, 0.0)
    reinvest = forfeited * c.forfeited_share if c.forfeited_to != "payer" else np.zeros(shape)
    owed = s["shared_losses"]
    true_gross = (x.benchmark - x.expenditure) * x.person_years
    s.update(
        quality_bonus=bonus, forfeited=forfeited,
        reinvested_community=reinvest if c.forfeited_to == "community" else np.zeros(shape),
        reinvested_aco=reinvest if c.forfeited_to == "aco" else np.zeros(shape),
        payer_kept=np.where(gross > 0, gross - earned - reinvest, 0.0),
        aco_net=earned + bonus - owed,
        payer_net=true_gross - earned - bonus - reinvest + owed,
    )


def _advances(c: Contract, x: SettleInputs, s: dict[str, Any]) -> None:
    """Step 6: advances during the year and what is settled at the end.

    A capitation advance (a share of the benchmark) is recouped in full at settlement;
    prepaid shared savings outstanding are recouped from the earned savings, the rest
    carried (and repaid at the end of the agreement, :mod:`simsav.reconcile`). The
    settlement payment is earned savings plus quality bonus, minus shared losses and
    the recoupments: what changes hands when the year is reconciled.
    """
    shape = x.shape
    paid = (np.zeros(shape) if c.capitation is None
            else c.capitation.share * x.benchmark * x.person_years)
    recouped = np.minimum(np.maximum(s["earned_savings"], 0.0), x.prepaid_balance)
    s.update(capitation_paid=paid, capitation_recouped=paid, prepaid_recouped=recouped,
             prepaid_outstanding=x.prepaid_balance - recouped,
             settlement_payment=(s["earned_savings"] + s["quality_bonus"] - s["shared_losses"]
                                 - paid - recouped))


#: The steps, in order.
STEPS = (_savings, _outcome, _sharing, _losses, _bonus_and_forfeits, _advances)
