"""Settlement of a shared-savings contract: the reference for every payout simsav prints.

:func:`settle` applies a :class:`~simsav.contracts.Contract` to arrays of benchmarks and
expenditures, vectorized with numpy, in the order of CMS's settlement reports (Table 3 of
the Financial Reconciliation Report, rows [A]–[GG]; source tags are keyed in
:mod:`simsav.contracts.sources`):

1. ``_savings`` — gross savings ``(B − E) × person-years`` against the (discounted)
   benchmark, and the savings rate [V CFR604(d), CFR605(d)];
2. ``_outcome`` — MSR / MLR by the contract's rule and the outcome: savings (cleared
   the MSR), losses (two-sided, beyond the MLR) or neither [V CFR604(b), CFR605(b),
   CFR606(b)];
3. ``_sharing`` — quality and the final sharing rate, shared savings, sequestration,
   the payment cap and any withhold [V CFR502, CFR512, CFR604(e)-(f), CFR605(d)];
4. ``_losses`` — shared loss rate, shared losses, the loss cap and the extreme and
   uncontrollable circumstances reduction [V CFR605(d), CFR606(f)-(g), CFR606(i),
   CFR610(f)];
5. ``_bonus_and_forfeits`` — the quality bonus paid regardless of savings, forfeited
   savings and where they went, and the payer's net (the source document's
   recommendations 2 and 5);
6. ``_advances`` — capitation and prepaid savings paid during the year, recouped at
   settlement, and the settlement payment.

Step 1 also applies the quality withhold and its earn-back, administrative add-ons, a
health-equity adjustment and stop-loss; steps 3–4 apply risk corridors
(:mod:`simsav.settlement.corridors`) where the contract has them.

The outputs are declared once in :mod:`simsav.settlement.fields`. Signs: money paid to the
ACO is positive; ``shared_losses`` ≥ 0 is what the ACO owes. Conservation, for every
element with gross savings ≥ 0::

    earned_savings + payer_kept + reinvested == gross_savings

The steps live in :mod:`simsav.settlement.steps`, the checking of the inputs in
:mod:`simsav.settlement.inputs`: :func:`settle` validates its inputs (it is a public
boundary); :func:`settle_trusted` is the same rules for arrays the draw stage made
(:mod:`simsav.reconcile`).
"""

from __future__ import annotations

from dataclasses import make_dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simsav.contracts import Contract
from simsav.settlement.fields import FIELDS, SETTLEMENT_FIELDS
from simsav.settlement.inputs import SettleInputs, prepare
from simsav.settlement.steps import STEPS

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


def settle_arrays(contract: Contract, x: SettleInputs) -> Any:
    """Apply the rules to validated inputs (the trusted path behind :func:`settle`)."""
    s: dict[str, Any] = {}
    for step in STEPS:
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
    x = prepare(
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
    return settle_arrays(contract, prepare(contract, check=False, **{**_DEFAULTS, **inputs}))


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
    x = prepare(contract, check=True, **{**_DEFAULTS, **inputs})
    s: dict[str, Any] = {}
    out = []
    for i, step in enumerate(STEPS, start=1):
        before = set(s)
        step(contract, x, s)
        new = set(s) - before
        doc = " ".join((step.__doc__ or "").split("\n\n")[0].split())
        rest = "\n\n".join(" ".join(p.split()) for p in (step.__doc__ or "").split("\n\n")[1:])
        out.append({"step": i, "rule": doc + ("\n\n" + rest if rest else ""),
                    "values": {f.name: whole[f.name] for f in FIELDS if f.name in new}})
    return out
