"""The ACO's own finances: whether it comes out ahead once its costs are counted.

An ACO invests in care management before any savings arrive, sometimes with advance
payments from the payer that are recouped from later shared savings (the Advance Payment
ACO model and the ACO Investment Model, as described in the background paper "Payment
Calculation and Distribution" [EAC]).
Per sim, design and agreement year ``t``:

``advance_t``
    advance payments received: ``advance_upfront`` in year 1, plus
    ``advance_per_beneficiary × N`` every year;
``costs_t``
    ``fixed_cost + cost_per_beneficiary × N``;
``savings_paid_t``
    shared savings paid that year (``max(aco_paid_t − quality_bonus_t, 0)``, so deferred
    reconciliation is followed);
``recouped_t``
    ``min(outstanding advance, recoup_share × savings_paid_t)``;
``net_t``
    ``advance_t + aco_paid_t − costs_t − recouped_t`` — earned savings and quality bonuses,
    less costs, less recoupment, less shared losses (``aco_paid`` is net of them).

At the end of the agreement any advance not recouped is forgiven (the ACO Investment
Model's terms) or owed (``unrecouped = "owed"``, charged in the last year). The ACO has
broken even by year ``t`` when its cumulative net position is ≥ 0.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from simsav.validation import StrictModel

__all__ = ["FINANCE_VARIABLES", "FinancesSpec", "cash_flows"]


class FinancesSpec(StrictModel):
    """The scenario's ``[finances]`` table.

    Attributes
    ----------
    fixed_cost : float
        Infrastructure cost per year, USD (care management, analytics, staff).
    cost_per_beneficiary : float
        Cost per assigned beneficiary per year, USD.
    advance_upfront : float
        Advance payment received before the first year, USD.
    advance_per_beneficiary : float
        Advance payment per beneficiary per year, USD.
    recoup_share : float
        Share of each year's shared savings that repays outstanding advances (1: all).
    unrecouped : {"forgiven", "owed"}
        What happens to advances not recouped by the end of the agreement.
    confidence : float
        Confidence for the reserve that covers shared losses.
    """

    fixed_cost: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    cost_per_beneficiary: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    advance_upfront: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    advance_per_beneficiary: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    recoup_share: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 1.0
    unrecouped: Literal["forgiven", "owed"] = "forgiven"
    confidence: Annotated[float, Field(gt=0.5, lt=1.0, allow_inf_nan=False)] = 0.95


#: The cash-flow variables, each (sim, year, design), USD, with its long name.
FINANCE_VARIABLES: dict[str, str] = {
    "fin_advance": "advance payments received",
    "fin_costs": "infrastructure costs",
    "fin_recouped": "advance payments recouped from shared savings",
    "fin_net": "ACO's net position for the year",
    "fin_cumulative": "ACO's cumulative net position",
}


def cash_flows(
    spec: FinancesSpec,
    *,
    aco_paid: NDArray[np.float64],
    quality_bonus: NDArray[np.float64],
    n_beneficiaries: NDArray[np.float64],
) -> dict[str, NDArray[np.float64]]:
    """The ACO's cash flows, year by year, for each design.

    Parameters
    ----------
    spec : FinancesSpec
    aco_paid, quality_bonus : ndarray, shape (sim, year, design)
        What the ACO is paid each year under the design's reconciliation (net of
        losses), and the quality bonus in it.
    n_beneficiaries : ndarray, shape (year,)
        Assigned beneficiaries, for per-beneficiary costs and advances.

    Returns
    -------
    dict of str to ndarray
        The arrays of :data:`FINANCE_VARIABLES`, each (sim, year, design), USD.

    Examples
    --------
    >>> spec = FinancesSpec(fixed_cost=100.0, advance_upfront=50.0)
    >>> paid = np.array([[[80.0], [120.0]]])
    >>> f = cash_flows(spec, aco_paid=paid, quality_bonus=np.zeros_like(paid),
    ...                n_beneficiaries=np.array([10.0, 10.0]))
    >>> f["fin_recouped"][0, :, 0].tolist(), f["fin_cumulative"][0, :, 0].tolist()
    ([50.0, 0.0], [-20.0, 0.0])
    """
    paid, bonus, n_ben = aco_paid, quality_bonus, n_beneficiaries
    n, years, designs = paid.shape
    advance = np.zeros_like(paid)
    advance[:] = (spec.advance_per_beneficiary * n_ben)[None, :, None]
    advance[:, 0, :] += spec.advance_upfront
    costs = np.broadcast_to((spec.fixed_cost + spec.cost_per_beneficiary * n_ben)[None, :, None],
                            paid.shape).copy()
    savings_paid = np.maximum(paid - bonus, 0.0)
    recouped = np.zeros_like(paid)
    outstanding = np.zeros((n, designs))
    for t in range(years):
        outstanding = outstanding + advance[:, t, :]
        recouped[:, t, :] = np.minimum(outstanding, spec.recoup_share * savings_paid[:, t, :])
        outstanding = outstanding - recouped[:, t, :]
    if spec.unrecouped == "owed":
        recouped[:, -1, :] += outstanding
    net = advance + paid - costs - recouped
    return {"fin_advance": advance, "fin_costs": costs, "fin_recouped": recouped,
            "fin_net": net, "fin_cumulative": np.cumsum(net, axis=1)}
