"""Settlement of a shared-savings contract: the reference for every payout simsav prints.

:func:`settle` applies a :class:`~simsav.contracts.Contract` to arrays of benchmarks and
expenditures, vectorized with numpy, in the order of CMS's settlement reports (Table 3 of
the Financial Reconciliation Report, rows [A]–[GG]; source tags are keyed in
:mod:`simsav.contracts.sources`):

1. :func:`_savings` — gross savings ``(B − E) × person-years`` against the (discounted)
   benchmark, and the savings rate [V CFR604(d), CFR605(d)];
2. :func:`_outcome` — MSR / MLR by the contract's rule and the outcome: savings (cleared
   the MSR), losses (two-sided, beyond the MLR) or neither [V CFR604(b), CFR605(b),
   CFR606(b)];
3. :func:`_sharing` — quality and the final sharing rate, shared savings, sequestration,
   the payment cap and any withhold [V CFR502, CFR512, CFR604(e)-(f), CFR605(d)];
4. :func:`_losses` — shared loss rate, shared losses, the loss cap and the extreme and
   uncontrollable circumstances reduction [V CFR605(d), CFR606(f)-(g), CFR606(i),
   CFR610(f)];
5. :func:`_bonus_and_forfeits` — the quality bonus paid regardless of savings, forfeited
   savings and where they went, and the payer's net (the source document's
   recommendations 2 and 5);
6. :func:`_advances` — capitation and prepaid savings paid during the year, recouped at
   settlement, and the settlement payment.

Step 1 also applies the quality withhold and its earn-back, administrative add-ons, a
health-equity adjustment and stop-loss; steps 3–4 apply risk corridors
(:mod:`simsav.settlement.corridors`) where the contract has them.

The outputs are declared once in :mod:`simsav.settlement.fields`. Signs: money paid to the
ACO is positive; ``shared_losses`` ≥ 0 is what the ACO owes. Conservation, for every
element with gross savings ≥ 0::

    earned_savings + payer_kept + reinvested == gross_savings

:func:`settle` validates its inputs (it is a public boundary); :func:`settle_arrays` is the
same rules for inputs already validated by the draw stage (:mod:`simsav.reconcile`).
"""

from __future__ import annotations

from dataclasses import dataclass, make_dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simsav.contracts import Contract
from simsav.contracts.msr import interpolate_table
from simsav.settlement.corridors import corridor_share
from simsav.settlement.fields import FIELDS, SETTLEMENT_FIELDS
from simsav.settlement.quality import effective_quality
from simsav.validation import checked_array

__all__ = [
    "OUTCOME_LABELS",
    "SETTLEMENT_FIELDS",
    "SettleInputs",
    "Settlement",
    "settle",
    "settle_arrays",
    "settle_one",
    "settle_steps",
    "settle_trusted",
]

#: Outcome codes: 1 = shared savings (cleared the MSR), 0 = neither (the corridor, or
#: savings below the MSR), −1 = shared losses, 2 = savings below the MSR shared at the
#: reduced rate of a low-revenue ACO (42 CFR 425.605(h)).
OUTCOME_LABELS = {1: "savings", 0: "corridor", -1: "losses", 2: "below-msr-reduced"}

F64 = NDArray[np.float64]
Bools = NDArray[np.bool_]


def _outcome_label(self: Any) -> NDArray[np.str_]:
    """Outcome codes as strings ("savings", "corridor", "losses")."""
    return np.vectorize(OUTCOME_LABELS.__getitem__, otypes=[str])(self.outcome)


def _to_dict(self: Any) -> dict[str, Any]:
    """Scalars (0-d) as Python numbers, arrays as lists; ``outcome`` as a label."""
    out: dict[str, Any] = {}
    for name in SETTLEMENT_FIELDS:
        v = self.outcome_label if name == "outcome" else getattr(self, name)
        out[name] = v.item() if v.ndim == 0 else v.tolist()
    return out


Settlement = make_dataclass(
    "Settlement",
    [(f.name, np.ndarray) for f in FIELDS],
    frozen=True,
    namespace={
        "outcome_label": property(_outcome_label),
        "to_dict": _to_dict,
        "__module__": __name__,
        "__doc__": (
            "Result of :func:`settle`: one numpy array per quantity, all the same shape.\n\n"
            "Money is in dollars (totals, not per capita); rates are fractions. Fields "
            "(declared in :mod:`simsav.settlement.fields`, CMS report row in brackets):\n\n"
            + "\n".join(f"* ``{f.name}``{' ' + f.report_row if f.report_row else ''}: "
                        f"{f.doc}" for f in FIELDS)
        ),
    },
)


@dataclass(frozen=True)
class SettleInputs:
    """Validated settlement inputs, broadcast to one shape (see :func:`settle`).

    ``quality`` is the score as performed (standards and gates test it); ``scored`` is
    the quality the contract's scoring gives it (it scales sharing and bonuses).
    """

    benchmark: F64
    expenditure: F64
    n: F64
    person_years: F64
    quality: F64
    scored: F64
    revenue: F64
    agreement_year: F64
    euc_fraction: F64
    participation_share: F64
    low_revenue: Bools
    equity_adjustment: F64
    stop_loss_excess: F64
    stop_loss_expected: F64
    prepaid_balance: F64
    qps_met: Bools | None = None
    alt_qps_met: Bools | None = None
    msr: F64 | None = None
    mlr: F64 | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The common shape."""
        return self.benchmark.shape


# ----------------------------------------------------------------------------- boundary
_arr = checked_array


def _bool(name: str, value: ArrayLike | None) -> Bools | None:
    if value is None:
        return None
    a = np.asarray(value)
    if a.dtype.kind == "f" and np.isnan(a).any():
        raise ValueError(f"{name}: must be true or false, got NaN")
    return a.astype(bool)


def _score(c: Contract, q: F64, prior: F64 | None, pct: F64 | None) -> F64:
    """The 0–1 quality the contract's scoring gives performance ``q`` [V CFR502; rec. 3]."""
    if c.quality_scoring == "score":
        return q
    return effective_quality(
        c.quality_scoring, q, q_prior=prior, percentile=pct, goal_target=c.goal_target,
        goal_stretch=c.goal_stretch, goal_target_share=c.goal_target_share,
        improvement_full_at=c.improvement_full_at)


def _same_shapes(kw: dict[str, Any]) -> None:
    """Array inputs must share one shape (scalars go with anything): no silent outer product."""
    shapes = {k: np.shape(v) for k, v in kw.items() if v is not None and np.ndim(v) > 0}
    if len(set(shapes.values())) > 1:
        desc = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"inputs: array arguments must have one shape (or be scalars); "
                         f"got {desc}")


def _trusted(name: str, value: ArrayLike, **_: Any) -> F64:
    return np.asarray(value, dtype=np.float64)


def _inputs(contract: Contract, *, check: bool = True, **kw: Any) -> SettleInputs:
    """Validate the arguments of :func:`settle` (unless ``check`` is false).

    Also scores the quality by the contract's rule and broadcasts everything to one shape.
    """
    arr = _arr if check else _trusted
    bench = arr("benchmark", kw["benchmark"], lo=0.0, lo_open=True)
    exp_ = arr("expenditure", kw["expenditure"], lo=0.0)
    n = arr("n_beneficiaries", kw["n_beneficiaries"], lo=0.0, lo_open=True)
    py = n if kw["person_years"] is None else arr("person_years", kw["person_years"],
                                                  lo=0.0, lo_open=True)
    q = arr("quality", kw["quality"], lo=0.0, hi=1.0)
    prior = None if kw["quality_prior"] is None else arr(
        "quality_prior", kw["quality_prior"], lo=0.0, hi=1.0, allow_nan=True)
    pct = None if kw["quality_percentile"] is None else arr(
        "quality_percentile", kw["quality_percentile"], lo=0.0, hi=1.0)
    scored = _score(contract, q, prior, pct)
    rev = arr("revenue", kw["revenue"], lo=0.0, allow_nan=True)
    year = arr("agreement_year", kw["agreement_year"], lo=1.0)
    euc = arr("euc_fraction", kw["euc_fraction"], lo=0.0, hi=1.0)
    part = arr("participation_share", kw["participation_share"], lo=0.0, hi=1.0)
    low = np.asarray(kw["low_revenue"], dtype=bool)
    equity = arr("equity_adjustment", kw["equity_adjustment"])
    excess = arr("stop_loss_excess", kw["stop_loss_excess"], lo=0.0)
    expected = arr("stop_loss_expected", kw["stop_loss_expected"], lo=0.0, allow_nan=True)
    prepaid = arr("prepaid_balance", kw["prepaid_balance"], lo=0.0)
    sl = contract.specific_stop_loss
    if check and sl is not None and sl.premium_loading is not None and np.isnan(expected).any():
        raise ValueError("stop_loss_expected: the premium is a loading on the expected "
                         "recoveries; give the expected excess over the attachment")
    qps, alt = _bool("qps_met", kw["qps_met"]), _bool("alt_qps_met", kw["alt_qps_met"])
    msr = None if kw["msr"] is None else arr("msr", kw["msr"], lo=0.0, hi=1.0)
    mlr = None if kw["mlr"] is None else arr("mlr", kw["mlr"], lo=0.0, hi=1.0)
    arrays = [bench, exp_, n, py, q, scored, rev, year, euc, part, low, equity, excess,
              expected, prepaid]
    optional = [x for x in (qps, alt, msr, mlr) if x is not None]
    if check:
        _same_shapes(kw)
    shape = np.broadcast_shapes(*(np.shape(x) for x in arrays + optional))
    if check:
        with np.errstate(over="ignore"):
            totals = np.broadcast_to(bench, shape) * np.broadcast_to(py, shape)
            spent = np.broadcast_to(exp_, shape) * np.broadcast_to(py, shape)
        if not (np.isfinite(totals).all() and np.isfinite(spent).all()):
            raise ValueError("benchmark, expenditure: times the beneficiaries (person-years) "
                             "they overflow; give per-capita amounts in USD")

    def b(x: Any) -> Any:
        return None if x is None else np.broadcast_to(x, shape)

    return SettleInputs(*(b(x) for x in arrays), qps_met=b(qps), alt_qps_met=b(alt),
                        msr=b(msr), mlr=b(mlr))


# ------------------------------------------------------------------------------- steps
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


_STEPS = (_savings, _outcome, _sharing, _losses, _bonus_and_forfeits, _advances)


def settle_arrays(contract: Contract, x: SettleInputs) -> Any:
    """Apply the rules to validated inputs (the trusted path behind :func:`settle`)."""
    s: dict[str, Any] = {}
    for step in _STEPS:
        step(contract, x, s)
    return Settlement(**{f.name: np.array(s[f.name], dtype=f.dtype) for f in FIELDS})


def settle(
    contract: Contract,
    *,
    benchmark: ArrayLike,
    expenditure: ArrayLike,
    n_beneficiaries: ArrayLike,
    person_years: ArrayLike | None = None,
    quality: ArrayLike = 1.0,
    qps_met: ArrayLike | None = None,
    alt_qps_met: ArrayLike | None = None,
    revenue: ArrayLike = np.nan,
    agreement_year: ArrayLike = 1,
    euc_fraction: ArrayLike = 0.0,
    low_revenue: ArrayLike = False,
    participation_share: ArrayLike = 0.0,
    msr: ArrayLike | None = None,
    mlr: ArrayLike | None = None,
    quality_prior: ArrayLike | None = None,
    quality_percentile: ArrayLike | None = None,
    equity_adjustment: ArrayLike = 0.0,
    stop_loss_excess: ArrayLike = 0.0,
    stop_loss_expected: ArrayLike = np.nan,
    prepaid_balance: ArrayLike = 0.0,
) -> Any:
    """Settle a contract for arrays of ACO-years.

    All array arguments broadcast against each other.

    Parameters
    ----------
    contract : Contract
        The contract terms (see :mod:`simsav.contracts`).
    benchmark : array_like
        Updated benchmark per person-year, USD (> 0), before any contract discount.
    expenditure : array_like
        Actual expenditure per person-year, USD (>= 0).
    n_beneficiaries : array_like
        Assigned beneficiaries (> 0); sets the sliding-scale MSR/MLR.
    person_years : array_like, optional
        Person-years that turn per-capita amounts into totals (row [B] of CMS's report);
        defaults to ``n_beneficiaries``.
    quality : array_like, default 1.0
        Quality score in [0, 1].
    qps_met, alt_qps_met : array_like of bool, optional
        Whether the quality performance standard (and the alternative standard) were met;
        by default derived from ``quality`` and the contract's thresholds. Under every
        quality method, a failed standard means no shared savings and the ceiling loss
        rate; ``alt_qps_met`` matters only to the 2021+ ``standard`` method.
    revenue : array_like, default NaN
        ACO participants' total A+B FFS revenue, USD, for revenue-based loss limits; NaN
        means unknown, and the benchmark-based limit alone applies.
    agreement_year : array_like of int, default 1
        Year of the agreement period (1-based), for year-by-year loss limits.
    euc_fraction : array_like, default 0
        Share of shared losses forgiven for extreme and uncontrollable circumstances:
        share of beneficiaries affected × share of the year affected (rows [DD] × [EE]).
    low_revenue : array_like of bool, default False
        Low-revenue ACO eligible to share below the MSR at the reduced rate.
    participation_share : array_like, default 0
        Share of beneficiaries with FQHC/RHC visits, for a participation bonus.
    msr, mlr : array_like, optional
        Override the contract's MSR/MLR rule, e.g. each ACO's elected rate.
    quality_prior : array_like, optional
        Last year's quality score, for own-goal and improvement scoring (NaN: first year).
    quality_percentile : array_like, optional
        The score's rank among peers (0–1), for CMS-points scoring; default the score
        itself read as a rank.
    equity_adjustment : array_like, default 0
        Health-equity adjustment added to the benchmark, USD per person-year (REACH's
        HEBA: ``HEBA_UP_AMT + HEBA_DOWN_AMT``; the population adjustment of MSSP).
    stop_loss_excess : array_like, default 0
        Under specific stop-loss: the sum over beneficiaries of their spending above the
        attachment, USD (before coinsurance).
    stop_loss_expected : array_like, default NaN
        Its expected value, USD, for a premium set as a loading.
    prepaid_balance : array_like, default 0
        Prepaid shared savings outstanding before this settlement, USD.

    Returns
    -------
    Settlement

    Examples
    --------
    A worked example by hand from 42 CFR 425.604: Track 1, 20,000 beneficiaries,
    benchmark $12,000, expenditure $11,500, quality 0.9 — savings of $10M clear the 2.5%
    MSR, shared at 50% × 0.9 = 45%: $4.5M before sequestration.

    >>> from simsav.contracts import get_preset
    >>> s = settle(get_preset("mssp-track1-2012"), benchmark=12_000, expenditure=11_500,
    ...            n_beneficiaries=20_000, quality=0.9)
    >>> float(s.msr), float(s.shared_savings), float(s.earned_savings)
    (0.025, 4500000.0, 4410000.0)
    """
    x = _inputs(
        contract, check=True, benchmark=benchmark, expenditure=expenditure,
        n_beneficiaries=n_beneficiaries, person_years=person_years, quality=quality,
        qps_met=qps_met, alt_qps_met=alt_qps_met, revenue=revenue,
        agreement_year=agreement_year, euc_fraction=euc_fraction, low_revenue=low_revenue,
        participation_share=participation_share, msr=msr, mlr=mlr,
        quality_prior=quality_prior, quality_percentile=quality_percentile,
        equity_adjustment=equity_adjustment, stop_loss_excess=stop_loss_excess,
        stop_loss_expected=stop_loss_expected, prepaid_balance=prepaid_balance)
    return settle_arrays(contract, x)


_DEFAULTS: dict[str, Any] = dict(
    person_years=None, quality=1.0, qps_met=None, alt_qps_met=None, revenue=np.nan,
    agreement_year=1, euc_fraction=0.0, low_revenue=False, participation_share=0.0,
    msr=None, mlr=None, quality_prior=None, quality_percentile=None, equity_adjustment=0.0,
    stop_loss_excess=0.0, stop_loss_expected=np.nan, prepaid_balance=0.0)


def settle_trusted(contract: Contract, **inputs: Any) -> Any:
    """:func:`settle` without validating the inputs: for arrays the draw stage made.

    The scenario was validated at the boundary and the draws are in range by
    construction, so :mod:`simsav.reconcile` does not check every array of every
    design again. Arguments as for :func:`settle`.
    """
    return settle_arrays(contract, _inputs(contract, check=False, **{**_DEFAULTS, **inputs}))


def settle_one(contract: Contract, **inputs: Any) -> dict[str, Any]:
    """Settle one ACO-year and return plain Python numbers (see :func:`settle`).

    Examples
    --------
    >>> from simsav.contracts import get_preset
    >>> r = settle_one(get_preset("mssp-track1-2012"), benchmark=12_000, expenditure=11_750,
    ...                n_beneficiaries=20_000, quality=0.9)
    >>> r["outcome"], r["earned_savings"], r["payer_kept"]
    ('corridor', 0.0, 5000000.0)
    """
    return settle(contract, **inputs).to_dict()


def settle_steps(contract: Contract, **inputs: Any) -> list[dict[str, Any]]:
    """Settle one ACO-year step by step: each step's rule and the outputs it sets.

    The same steps, in the same order, as :func:`settle` (arguments as for it); each
    step's ``rule`` is its own documentation, with the regulation and the rows of CMS's
    settlement report it follows. What the steps set, together, is :func:`settle_one`.

    Returns
    -------
    list of dict
        One per step: ``step`` (1-based), ``rule`` (text with its citations) and
        ``values`` (output name → plain Python value, in :data:`FIELDS` order).

    Examples
    --------
    >>> from simsav.contracts import get_preset
    >>> steps = settle_steps(get_preset("mssp-track1-2012"), benchmark=12_000,
    ...                      expenditure=11_500, n_beneficiaries=20_000, quality=0.9)
    >>> steps[1]["rule"].splitlines()[0]
    'Step 2: MSR/MLR and the outcome [V CFR604(b), CFR605(b), CFR606(b); rows L–P].'
    >>> steps[1]["values"]["msr"], steps[2]["values"]["earned_savings"]
    (0.025, 4410000.0)
    """
    whole = settle(contract, **inputs).to_dict()
    x = _inputs(contract, check=True, **{**_DEFAULTS, **inputs})
    s: dict[str, Any] = {}
    out = []
    for i, step in enumerate(_STEPS, start=1):
        before = set(s)
        step(contract, x, s)
        new = set(s) - before
        doc = " ".join((step.__doc__ or "").split("\n\n")[0].split())
        rest = "\n\n".join(" ".join(p.split()) for p in (step.__doc__ or "").split("\n\n")[1:])
        out.append({"step": i, "rule": doc + ("\n\n" + rest if rest else ""),
                    "values": {f.name: whole[f.name] for f in FIELDS if f.name in new}})
    return out
