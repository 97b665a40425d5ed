"""The settlement stage: every design, every year, annual or deferred.

This module is the only caller of :func:`simsav.settlement.settle` in a simulation. Given
the :class:`~simsav.draw.stage.Draws` of a run, :func:`reconcile` settles each design:

* each agreement year ``t`` with the design's contract of that year (a ``glide`` path, or
  the same contract), ``agreement_year = aco.agreement_year + t``, last year's quality as
  the prior for own-goal and improvement scoring, and the score's peer rank for CMS points;
* ``reconciliation = "deferred"`` also settles the agreement's cumulative savings at the
  end with the MSR of ``N × years`` person-years and pays, in the last year, what the
  cumulative settlement earns beyond what was paid on the way (``interim_payments``) or
  all of it (nothing is paid before the end but quality bonuses) — recommendation 4 of the
  source document (:mod:`simsav.draw.agreement`);
* with provider panels and a distribution policy, what the ACO is paid each year is split
  to the cent (:func:`simsav.settlement.distribution.distribute`);
* with a ``[finances]`` table, the ACO's cash flows (:func:`simsav.settlement.finances.cash_flows`).

A one-year run is a one-year agreement. :func:`simsav.add_design` calls this with the
draws read back from a results Dataset, so a design added later is settled exactly as if
it had been in the scenario.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simsav.contracts import Contract
from simsav.draw.stage import Draws
from simsav.settlement.distribution import (
    DistributionPolicy,
    ProviderPanels,
    check_conservation,
    distribute,
)
from simsav.settlement.fields import FIELDS
from simsav.settlement.finances import FinancesSpec, cash_flows
from simsav.settlement.rules import settle_trusted

__all__ = ["DIST_FIELDS", "DesignTerms", "reconcile"]

F64 = NDArray[np.float64]

#: Dataset variable -> field of :meth:`simsav.settlement.distribution.Distribution.usd`.
DIST_FIELDS: dict[str, str] = {
    "dist_infrastructure": "infrastructure",
    "dist_reserve_in": "reserve_in",
    "dist_reserve_paid_losses": "reserve_paid_losses",
    "dist_reserve_balance": "reserve_balance",
    "dist_losses_beyond_reserve": "losses_beyond_reserve",
    "dist_entity_losses": "entity_losses",
    "dist_unallocated": "unallocated",
    "aco_fund_balance": "aco_fund_balance",
    "distributed": "distributed",
}


@dataclass(frozen=True)
class DesignTerms:
    """What the settlement needs of one design: its contract each year and how it pays.

    Attributes
    ----------
    contracts : list of Contract
        One per agreement year.
    reconciliation : {"annual", "deferred"}
    interim_payments : bool
        With deferred reconciliation, whether annual settlements are paid on the way.
    """

    contracts: list[Contract]
    reconciliation: str = "annual"
    interim_payments: bool = True

    @classmethod
    def from_design(cls, design: Any, years: int) -> DesignTerms:
        """From a scenario :class:`~simsav.scenario.Design`."""
        return cls([design.contract(t) for t in range(years)], design.reconciliation,
                   design.interim_payments)


def _stop_loss_inputs(c: Contract, d: Draws, t: int | slice) -> dict[str, Any]:
    """The stop-loss excess (and its expectation) for contract ``c``, USD totals."""
    sl = c.specific_stop_loss
    if sl is None:
        return {}
    if d.stop_loss_excess is None or sl.key not in d.stop_loss_keys:
        raise ValueError(f"specific_stop_loss: attachment {sl.attachment:g} "
                         f"(risk_adjusted = {str(sl.risk_adjusted).lower()}) was not drawn; "
                         "stop-loss needs the design in the scenario before the run")
    k = d.stop_loss_keys.index(sl.key)
    n = d.n_beneficiaries[:, t]
    excess = d.stop_loss_excess[:, t, k] * n
    assert d.stop_loss_expected is not None
    expected = d.stop_loss_expected[t, k] * n
    if isinstance(t, slice):  # the cumulative settlement: totals over the years
        excess, expected = excess.sum(axis=1), expected.sum(axis=1)
    return dict(stop_loss_excess=excess, stop_loss_expected=expected)


def _settle_year(c: Contract, d: Draws, t: int, prepaid: F64 | None = None) -> Any:
    prior = np.full(d.shape[0], np.nan) if t == 0 else d.quality[:, t - 1]
    extra = _stop_loss_inputs(c, d, t)
    if prepaid is not None:
        extra["prepaid_balance"] = prepaid
    return settle_trusted(
        c, benchmark=d.benchmark[:, t], expenditure=d.expenditure[:, t],
        n_beneficiaries=d.n_beneficiaries[:, t], quality=d.quality[:, t],
        quality_prior=prior, quality_percentile=d.quality_rank[:, t],
        revenue=d.revenue[:, t], agreement_year=d.agreement_year[t],
        euc_fraction=d.euc_fraction, low_revenue=d.low_revenue, **extra)


def _settle_years(terms: DesignTerms, d: Draws) -> tuple[list[Any], F64]:
    """Each year's settlement, and the prepaid shared savings paid during each year.

    Prepaid savings are paid during year ``t`` as the contract's share of year
    ``t − 1``'s earned savings and recouped from year ``t``'s; the balance is carried
    (what is left at the end of the agreement is repaid) [S CY2025 PFS rule].
    """
    n, years = d.shape
    prepaid_paid = np.zeros((n, years))
    if not any(c.prepaid_savings is not None for c in terms.contracts):
        return [_settle_year(terms.contracts[t], d, t) for t in range(years)], prepaid_paid
    annual: list[Any] = []
    balance = np.zeros(n)
    for t in range(years):
        c = terms.contracts[t]
        if c.prepaid_savings is not None and t > 0:
            prepaid_paid[:, t] = c.prepaid_savings.share * np.maximum(
                annual[-1].earned_savings, 0.0)
        balance = balance + prepaid_paid[:, t]
        s = _settle_year(c, d, t, prepaid=balance)
        balance = s.prepaid_outstanding
        annual.append(s)
    return annual, prepaid_paid


def _true_up(terms: DesignTerms, d: Draws, annual: list[Any]) -> tuple[F64, F64]:
    """What the ACO is paid each year, and the deferred true-up (last year)."""
    n, years = d.shape
    net = np.stack([s.aco_net for s in annual], axis=1)
    true_up = np.zeros((n, years))
    if terms.reconciliation == "annual" or years == 1:
        return net, true_up
    # cumulative test: T years pooled, with the MSR of N x T person-years
    cum = settle_trusted(
        terms.contracts[-1], benchmark=d.benchmark.mean(axis=1),
        expenditure=d.expenditure.mean(axis=1),
        n_beneficiaries=d.n_beneficiaries.sum(axis=1), quality=d.quality[:, -1],
        quality_prior=d.quality[:, -2], quality_percentile=d.quality_rank[:, -1],
        revenue=d.revenue.sum(axis=1), agreement_year=d.agreement_year[-1],
        euc_fraction=d.euc_fraction, low_revenue=d.low_revenue,
        **_stop_loss_inputs(terms.contracts[-1], d, slice(None)))
    if terms.interim_payments:
        paid = net.copy()
        already = np.stack([s.earned_savings for s in annual], axis=1).sum(axis=1)
        true_up[:, -1] = np.maximum(cum.earned_savings - already, 0.0)
    else:
        paid = np.stack([s.quality_bonus for s in annual], axis=1)  # paid regardless
        true_up[:, -1] = cum.earned_savings - cum.shared_losses
    paid[:, -1] += true_up[:, -1]
    return paid, true_up


def _distribute(policy: DistributionPolicy, d: Draws, out: dict[str, F64]) -> None:
    """Split each design's payments among the providers, to the cent."""
    assert d.provider_lives is not None and d.panel_savings is not None
    bench = d.benchmark[:, :, None] * d.provider_lives[None, None, :]
    panels = ProviderPanels(org_type=d.provider_org, lives=d.provider_lives, benchmark=bench,
                            expenditure=bench - d.panel_savings, quality=d.panel_quality)
    parts: dict[str, list[F64]] = {}
    for k in range(out["aco_paid"].shape[2]):
        paid = out["aco_paid"][:, :, k]
        dist = distribute(policy, receipts=np.maximum(paid, 0.0),
                          losses_owed=np.maximum(-paid, 0.0),
                          reinvested_aco=out["reinvested_aco"][:, :, k],
                          benchmark_total=out["benchmark_total"][:, :, k], panels=panels)
        check_conservation(dist)
        usd = dist.usd()
        for name, key in DIST_FIELDS.items():
            parts.setdefault(name, []).append(usd[key])
        parts.setdefault("provider_payout", []).append(usd["payout"])
    for name, arrays in parts.items():
        out[name] = np.stack(arrays, axis=2)  # design third: (sim, year, design[, provider])


def reconcile(
    draws: Draws,
    designs: Sequence[DesignTerms],
    *,
    distribution: DistributionPolicy | None = None,
    finances: FinancesSpec | None = None,
    n_beneficiaries: F64 | None = None,
) -> dict[str, F64]:
    """Settle every design on the same draws.

    Parameters
    ----------
    draws : Draws
    designs : sequence of DesignTerms
    distribution : DistributionPolicy, optional
        Split each design's payments among the providers (needs provider panels).
    finances : FinancesSpec, optional
        Add the ACO's cash flows.
    n_beneficiaries : ndarray, shape (year,), optional
        The scenario's beneficiaries each year, for per-beneficiary costs and advances
        (needed with ``finances``).

    Returns
    -------
    dict of str to ndarray
        Each settlement field and ``aco_paid``, ``true_up``, ``prepaid_paid`` (and
        distribution and finance variables) with shape (sim, year, design);
        ``provider_payout`` is
        (sim, year, design, provider).
    """
    out: dict[str, list[F64]] = {}
    for terms in designs:
        annual, prepaid_paid = _settle_years(terms, draws)
        out.setdefault("prepaid_paid", []).append(prepaid_paid)
        for f in FIELDS:
            out.setdefault(f.name, []).append(np.stack([getattr(s, f.name) for s in annual],
                                                       axis=1))
        paid, true_up = _true_up(terms, draws, annual)
        out.setdefault("aco_paid", []).append(paid)
        out.setdefault("true_up", []).append(true_up)
    arrays = {k: np.stack(v, axis=-1) for k, v in out.items()}
    if distribution is not None:
        _distribute(distribution, draws, arrays)
    if finances is not None:
        assert n_beneficiaries is not None, "finances need the beneficiaries each year"
        arrays.update(cash_flows(finances, aco_paid=arrays["aco_paid"],
                                 quality_bonus=arrays["quality_bonus"],
                                 n_beneficiaries=n_beneficiaries))
    return arrays
