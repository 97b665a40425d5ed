"""Settlement of a shared-savings contract: the reference for every payout simsav prints.

:func:`settle` applies a :class:`~simsav.contracts.Contract` to arrays of benchmarks and
expenditures, vectorized with numpy. It follows the order of CMS's settlement reports
(Table 3 of the Financial Reconciliation Report; rows [A]–[GG]) and ``contract-rules.md`` §1:

1. gross savings ``(B − E) × person-years`` against the (discounted) benchmark; savings rate;
2. MSR / MLR in dollars; outcome: savings (cleared the MSR), losses (two-sided, beyond the
   MLR) or neither;
3. final sharing rate from quality; shared savings; 2% sequestration; payment cap;
4. shared loss rate; shared losses; loss cap; extreme-and-uncontrollable reduction;
5. quality bonus; forfeited savings and where they went; the payer's net.

Signs: money paid to the ACO is positive; ``shared_losses`` ≥ 0 is what the ACO owes.
Conservation, for every element with gross savings ≥ 0::

    earned_savings + payer_kept + reinvested == gross_savings
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simsav.contracts import Contract
from simsav.contracts.msr import interpolate_table

__all__ = ["Settlement", "settle", "settle_one", "OUTCOME_LABELS", "SETTLEMENT_FIELDS"]

#: Outcome codes: 1 = shared savings (cleared the MSR), 0 = neither, −1 = shared losses.
OUTCOME_LABELS = {1: "savings", 0: "corridor", -1: "losses"}

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Settlement:
    """Result of :func:`settle`: one numpy array per quantity, all the same shape.

    Money is in dollars (totals, not per capita); rates are fractions.
    The CMS settlement-report row each field matches is given in brackets.
    """

    benchmark_total: F64
    """Total benchmark expenditures after any discount [H]."""
    expenditure_total: F64
    """Total expenditures [G]."""
    gross_savings: F64
    """Benchmark minus expenditure, signed [I]."""
    savings_rate: F64
    """Gross savings over the benchmark (PUF ``Sav_rate``)."""
    msr: F64
    """Minimum savings rate [L] (PUF ``MinSavPerc``)."""
    mlr: F64
    """Minimum loss rate [M] (NaN for one-sided contracts)."""
    outcome: NDArray[np.int8]
    """1 savings, 0 corridor / below the MSR, −1 losses [P]."""
    quality_met: NDArray[np.bool_]
    """Whether quality allowed sharing (standard, alternative or gate) [S]."""
    final_sharing_rate: F64
    """Final sharing rate, participation bonus included [T]."""
    shared_savings: F64
    """Shared savings before sequestration and cap [V]."""
    sequestration: F64
    """Sequestration of shared savings [X]."""
    payment_cap: F64
    """Performance payment limit in dollars [W]."""
    earned_savings: F64
    """Shared savings paid to the ACO, after sequestration and cap [Y] (``EarnSaveLoss``)."""
    withheld: F64
    """Part of the earned savings withheld against future losses."""
    shared_loss_rate: F64
    """Shared loss rate [U] (NaN for one-sided contracts)."""
    shared_losses_before_cap: F64
    """Losses times the shared loss rate [Z]."""
    loss_cap: F64
    """Loss-sharing limit in dollars [BB] (inf where none)."""
    euc_adjustment: F64
    """Reduction of shared losses for extreme and uncontrollable circumstances [FF]."""
    shared_losses: F64
    """What the ACO owes, ≥ 0 [GG]."""
    quality_bonus: F64
    """Quality bonus paid whether or not savings are achieved."""
    forfeited: F64
    """Savings the ACO would have shared but for the MSR or quality."""
    reinvested_community: F64
    """Forfeited savings reinvested in the community's delivery system."""
    reinvested_aco: F64
    """Forfeited savings reinvested in an earmarked ACO fund."""
    payer_kept: F64
    """Gross savings the payer keeps (incl. sequestration); 0 when there were no savings."""
    aco_net: F64
    """Earned savings plus quality bonus minus shared losses."""
    payer_net: F64
    """The payer's net result against the undiscounted benchmark: savings kept, plus losses
    recovered, minus quality bonus and reinvestment."""

    @property
    def outcome_label(self) -> NDArray[np.str_]:
        """Outcome codes as strings ("savings", "corridor", "losses")."""
        return np.vectorize(OUTCOME_LABELS.__getitem__, otypes=[str])(self.outcome)

    def to_dict(self) -> dict[str, Any]:
        """Scalars (0-d) as Python numbers, arrays as lists; ``outcome`` as a label."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "outcome":
                lab = self.outcome_label
                out[f.name] = lab.item() if lab.ndim == 0 else lab.tolist()
                continue
            out[f.name] = v.item() if v.ndim == 0 else v.tolist()
        return out


SETTLEMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Settlement))


def _arr(name: str, value: ArrayLike, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, allow_nan: bool = False) -> F64:
    a = np.asarray(value, dtype=np.float64)
    if not allow_nan and np.isnan(a).any():
        raise ValueError(f"{name}: must be a number, got NaN")
    finite = a[~np.isnan(a)]
    if np.isinf(finite).any():
        raise ValueError(f"{name}: must be finite, got inf")
    if lo is not None:
        bad = finite <= lo if lo_open else finite < lo
        if bad.any():
            rel = ">" if lo_open else ">="
            raise ValueError(f"{name}: must be {rel} {lo}, got {float(finite[bad].flat[0])!r}")
    if hi is not None and (finite > hi).any():
        raise ValueError(f"{name}: must be <= {hi}, got {float(finite[finite > hi].flat[0])!r}")
    return a


def _bool(name: str, value: ArrayLike | None, default: NDArray[np.bool_]) -> NDArray[np.bool_]:
    if value is None:
        return default
    a = np.asarray(value)
    if a.dtype.kind == "f" and np.isnan(a).any():
        raise ValueError(f"{name}: must be true or false, got NaN")
    return a.astype(bool)


def _rate_from_rule(contract: Contract, side: str, n: F64) -> F64:
    fixed = contract.fixed_rate(side)  # type: ignore[arg-type]
    if fixed is not None:
        return np.full_like(n, fixed)
    table = contract.msr_table(side)  # type: ignore[arg-type]
    assert table is not None
    return interpolate_table(table, n)


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
    qs = np.array([s.min_quality for s in steps])
    rs = np.array([s.rate for s in steps])
    idx = np.searchsorted(qs, q, side="right") - 1
    return np.where(idx >= 0, rs[np.clip(idx, 0, None)], 0.0)


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
) -> Settlement:
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

    Returns
    -------
    Settlement

    Examples
    --------
    Worked example W1 of ``contract-rules.md``: Track 1, 20,000 beneficiaries, benchmark
    $12,000, expenditure $11,500, quality 0.9 — 45% of $10M before sequestration.

    >>> from simsav.contracts import get_preset
    >>> s = settle(get_preset("mssp-track1-2012"), benchmark=12_000, expenditure=11_500,
    ...            n_beneficiaries=20_000, quality=0.9)
    >>> float(s.msr), float(s.shared_savings), float(s.earned_savings)
    (0.025, 4500000.0, 4410000.0)
    """
    c = contract
    bench_raw = _arr("benchmark", benchmark, lo=0.0, lo_open=True)
    exp_ = _arr("expenditure", expenditure, lo=0.0)
    n = _arr("n_beneficiaries", n_beneficiaries, lo=0.0, lo_open=True)
    py = n if person_years is None else _arr("person_years", person_years, lo=0.0, lo_open=True)
    q = _arr("quality", quality, lo=0.0, hi=1.0)
    q_raw = q  # standards and gates test the score itself; scoring only scales sharing
    if c.quality_scoring != "score":
        from simsav.settlement.quality import effective_quality

        prior = None if quality_prior is None else _arr(
            "quality_prior", quality_prior, lo=0.0, hi=1.0, allow_nan=True)
        pct = None if quality_percentile is None else _arr(
            "quality_percentile", quality_percentile, lo=0.0, hi=1.0)
        q = effective_quality(
            c.quality_scoring, q, q_prior=prior, percentile=pct, goal_target=c.goal_target,
            goal_stretch=c.goal_stretch, goal_target_share=c.goal_target_share,
            improvement_full_at=c.improvement_full_at)
    rev = _arr("revenue", revenue, lo=0.0, allow_nan=True)
    year = _arr("agreement_year", agreement_year, lo=1.0)
    euc = _arr("euc_fraction", euc_fraction, lo=0.0, hi=1.0)
    part = _arr("participation_share", participation_share, lo=0.0, hi=1.0)

    shape = np.broadcast_shapes(
        bench_raw.shape, exp_.shape, n.shape, py.shape, q.shape, rev.shape, year.shape,
        euc.shape, part.shape, np.shape(low_revenue),
        *(np.shape(x) for x in (qps_met, alt_qps_met, msr, mlr) if x is not None),
    )

    def b(x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, shape)

    bench_raw, exp_, n, py, q, q_raw, rev, year, euc, part = (
        b(x) for x in (bench_raw, exp_, n, py, q, q_raw, rev, year, euc, part)
    )
    low_rev = b(np.asarray(low_revenue, dtype=bool))

    # 1. gross savings against the (discounted) benchmark
    bench = bench_raw * (1.0 - c.benchmark_discount)
    bench_total = bench * py
    exp_total = exp_ * py
    gross = bench_total - exp_total
    rate = gross / bench_total

    # 2. MSR / MLR and outcome
    msr_r = b(_arr("msr", msr, lo=0.0, hi=1.0)) if msr is not None else _rate_from_rule(c, "msr", n)
    if c.two_sided:
        if mlr is not None:
            mlr_r = b(_arr("mlr", mlr, lo=0.0, hi=1.0))
        elif c.mlr == "symmetric":
            mlr_r = msr_r
        else:
            mlr_r = _rate_from_rule(c, "mlr", n)
    else:
        mlr_r = np.full(shape, np.nan)
    cleared = (gross > 0) & (gross >= msr_r * bench_total)
    losses_side = c.two_sided & (gross < 0) & (-gross >= np.nan_to_num(mlr_r) * bench_total)
    outcome = np.where(cleared, 1, np.where(losses_side, -1, 0)).astype(np.int8)

    # 3. quality and the final sharing rate
    if c.quality_method == "standard":
        if c.quality_standard is not None:
            default_qps = q_raw >= c.quality_standard
        else:
            default_qps = np.ones(shape, bool)
        qps = b(_bool("qps_met", qps_met, default_qps))
        if c.alternative_standard is not None:
            default_alt = q_raw >= c.alternative_standard
        else:
            default_alt = np.zeros(shape, bool)
        alt = b(_bool("alt_qps_met", alt_qps_met, default_alt)) & ~qps
        scale = np.where(qps, 1.0, np.where(alt, q, 0.0))
        standard_ok = qps | alt
    else:
        # Before 2021 an ACO that failed the quality standard shared nothing and its loss
        # rate went to the track's ceiling (1 - 0 x max rate) [V CFR502, CFR606(f)].
        if c.quality_standard is not None:
            default_qps = q_raw >= c.quality_standard
        else:
            default_qps = np.ones(shape, bool)
        standard_ok = b(_bool("qps_met", qps_met, default_qps))
        scale = np.where(standard_ok, _quality_scale(c, q), 0.0)
    gate_ok = q_raw >= c.quality_gate if c.quality_gate is not None else np.ones(shape, bool)
    quality_met = standard_ok & gate_ok & (scale > 0)
    bonus_pts = np.zeros(shape)
    for band in c.participation_bonus:
        bonus_pts = np.where(part >= band.min_share, band.points, bonus_pts)
    fsr_potential = np.clip(c.max_sharing_rate * scale + np.where(scale > 0, bonus_pts, 0.0), 0, 1)
    fsr = np.where(quality_met, fsr_potential, 0.0)

    if c.sharing_basis == "first-dollar":
        sharable = np.maximum(gross, 0.0)
    else:
        thr = msr_r if c.sharing_threshold == "msr" else c.sharing_threshold
        sharable = np.maximum(gross - thr * bench_total, 0.0)
    # low-revenue ACOs below the MSR (425.605(h)): a reduced rate on first-dollar savings
    below = (
        (gross > 0) & ~cleared & low_rev & (n >= 5_000) & (c.below_msr_sharing_factor > 0)
    )
    eligible_rate = np.where(cleared, fsr, np.where(below, fsr * c.below_msr_sharing_factor, 0.0))
    shared = eligible_rate * np.where(cleared, sharable, np.maximum(gross, 0.0))
    seq = shared * c.sequestration
    cap = bench_total * c.payment_limit if c.payment_limit is not None else np.full(shape, np.inf)
    if c.cap_after_sequestration:
        earned = np.minimum(shared - seq, cap)
    else:
        earned = np.minimum(shared, cap) * (1.0 - c.sequestration)
        seq = np.minimum(shared, cap) * c.sequestration
    withheld = earned * c.withhold

    # 4. shared losses
    if c.two_sided:
        if c.loss_rate_method == "fixed":
            lsr = np.full(shape, c.loss_rate)
        else:
            raw = np.clip(1.0 - c.max_sharing_rate * q, c.loss_rate_floor, c.loss_rate_ceiling)
            lsr = np.where(standard_ok, raw, c.loss_rate_ceiling)
        losses_before = np.where(outcome == -1, lsr * -gross, 0.0)
        limit = c.loss_limit_benchmark
        if isinstance(limit, list):
            idx = np.clip(year.astype(np.int64) - 1, 0, len(limit) - 1)
            lim_b = np.asarray(limit)[idx] * bench_total
        elif limit is not None:
            lim_b = limit * bench_total
        else:
            lim_b = np.full(shape, np.inf)
        if c.loss_limit_revenue is not None:
            lim_r = np.where(np.isnan(rev), np.inf, c.loss_limit_revenue * rev)
            loss_cap = np.minimum(lim_b, lim_r)
        else:
            loss_cap = lim_b
        after_cap = np.minimum(losses_before, loss_cap)
        euc_adj = after_cap * euc if c.euc_reduces_losses else np.zeros(shape)
        owed = after_cap - euc_adj
    else:
        lsr = np.full(shape, np.nan)
        losses_before = np.zeros(shape)
        loss_cap = np.full(shape, np.nan)
        euc_adj = np.zeros(shape)
        owed = np.zeros(shape)

    # 5. quality bonus, forfeited savings, the payer's net
    qb = c.quality_bonus
    if qb is not None:
        if qb.full_at > qb.threshold:
            qscale = np.clip((q - qb.threshold) / (qb.full_at - qb.threshold), 0.0, 1.0)
        else:
            qscale = (q >= qb.threshold).astype(np.float64)
        bonus = qb.budget * bench_total * qscale
    else:
        bonus = np.zeros(shape)
    # Forfeited: savings the ACO generated but may not share because it missed the MSR or
    # the quality standard/gate: what the maximum sharing rate would have paid, first
    # dollar, within the cap (recommendation 5 of the source document).
    ineligible = (gross > 0) & (earned <= 0)
    would_have = np.minimum(c.max_sharing_rate * np.maximum(gross, 0.0), cap)
    forfeited = np.where(ineligible, would_have, 0.0)
    reinvest = forfeited * c.forfeited_share if c.forfeited_to != "payer" else np.zeros(shape)
    re_comm = reinvest if c.forfeited_to == "community" else np.zeros(shape)
    re_aco = reinvest if c.forfeited_to == "aco" else np.zeros(shape)
    kept = np.where(gross > 0, gross - earned - reinvest, 0.0)
    true_gross = (bench_raw - exp_) * py
    payer_net = true_gross - earned - bonus - reinvest + owed
    aco_net = earned + bonus - owed

    out = dict(
        benchmark_total=bench_total, expenditure_total=exp_total, gross_savings=gross,
        savings_rate=rate, msr=msr_r, mlr=mlr_r, outcome=outcome, quality_met=quality_met,
        final_sharing_rate=fsr, shared_savings=shared, sequestration=seq, payment_cap=cap,
        earned_savings=earned, withheld=withheld, shared_loss_rate=lsr,
        shared_losses_before_cap=losses_before, loss_cap=loss_cap, euc_adjustment=euc_adj,
        shared_losses=owed, quality_bonus=bonus, forfeited=forfeited,
        reinvested_community=re_comm, reinvested_aco=re_aco, payer_kept=kept,
        aco_net=aco_net, payer_net=payer_net,
    )
    return Settlement(**{
        k: (np.array(v, dtype=np.int8) if k == "outcome" else
            np.array(v, dtype=bool) if k == "quality_met" else np.array(v, dtype=np.float64))
        for k, v in out.items()
    })


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
