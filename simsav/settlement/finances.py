"""The ACO's own finances: whether it comes out ahead once its costs are counted.

An ACO invests in care management before any savings arrive, sometimes with advance
payments from the payer that are recouped from later shared savings (the Advance Payment
ACO model and the ACO Investment Model; source document ``000_9c5f926f87bf50f4.txt``).
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
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FinancesSpec", "attach_finances", "finance_summary"]


class FinancesSpec(BaseModel):
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

    model_config = ConfigDict(extra="forbid", frozen=True)

    fixed_cost: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    cost_per_beneficiary: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    advance_upfront: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    advance_per_beneficiary: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    recoup_share: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 1.0
    unrecouped: Literal["forgiven", "owed"] = "forgiven"
    confidence: Annotated[float, Field(gt=0.5, lt=1.0, allow_inf_nan=False)] = 0.95


_UNITS = {
    "fin_advance": "advance payments received",
    "fin_costs": "infrastructure costs",
    "fin_recouped": "advance payments recouped from shared savings",
    "fin_net": "ACO's net position for the year",
    "fin_cumulative": "ACO's cumulative net position",
}


def attach_finances(ds: xr.Dataset, spec: FinancesSpec) -> xr.Dataset:
    """Add the ACO's cash flows, year by year, to a results Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate` (uses ``aco_paid``, ``quality_bonus`` and
        ``n_beneficiaries``).
    spec : FinancesSpec

    Returns
    -------
    xarray.Dataset
        With ``fin_advance``, ``fin_costs``, ``fin_recouped``, ``fin_net`` and
        ``fin_cumulative`` over (sim, year, design), USD.
    """
    paid = ds["aco_paid"].values  # (sim, year, design)
    bonus = ds["quality_bonus"].values
    n_ben = ds["n_beneficiaries"].values  # (year,)
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
    out = ds.copy()
    for name, arr in (("fin_advance", advance), ("fin_costs", costs),
                      ("fin_recouped", recouped), ("fin_net", net),
                      ("fin_cumulative", np.cumsum(net, axis=1))):
        out[name] = xr.DataArray(arr, dims=("sim", "year", "design"),
                                 attrs={"units": "USD", "long_name": _UNITS[name]})
    out.attrs["finances"] = spec.model_dump_json()
    return out


def finance_summary(ds: xr.Dataset, *, confidence: float | None = None) -> xr.Dataset:
    """Break-even and reserve needs per design.

    Returns
    -------
    xarray.Dataset
        ``p_break_even`` (cumulative net ≥ 0 at the end), ``break_even_year_share`` (over
        dim ``break_even_year``: the year from which the cumulative position stays ≥ 0 to
        the end; 0 = not broken even by the end),
        ``expected_net_position`` (end of agreement), ``reserve_for_losses_year`` (the
        ``confidence`` quantile of the worst year's shared losses paid) and
        ``reserve_for_losses_agreement`` (of the agreement's total losses paid).
    """
    if "fin_cumulative" not in ds:
        raise ValueError("ds: no finances; give the scenario a [finances] table")
    import json

    conf = confidence
    if conf is None:
        conf = json.loads(ds.attrs.get("finances", "{}")).get("confidence", 0.95)
    cum = ds["fin_cumulative"]
    n = ds.sizes["sim"]
    years = ds["year"].values
    ahead = cum >= 0
    # the year from which the cumulative position stays >= 0 to the end (0: never)
    stays = ahead.isel(year=slice(None, None, -1)).cumprod("year").isel(
        year=slice(None, None, -1)).astype(bool)
    first = xr.where(stays.any("year"), stays.argmax("year") + 1, 0)
    share = xr.concat([(first == k).mean("sim") for k in range(len(years) + 1)],
                      dim="break_even_year")
    share = share.assign_coords(break_even_year=np.arange(len(years) + 1))
    losses = np.maximum(-(ds["aco_paid"] - ds["quality_bonus"]), 0.0)
    p = ahead.isel(year=-1).mean("sim")
    out = xr.Dataset({
        "p_break_even": p.assign_attrs(units="1", long_name="P(cumulative net >= 0 at end)"),
        "se_p_break_even": np.sqrt(p * (1 - p) / n).assign_attrs(
            units="1", long_name="MC standard error of p_break_even"),
        "break_even_year_share": share.assign_attrs(
            units="1", long_name="share of sims breaking even for good in the year (0: not "
                                 "by the end)"),
        "expected_net_position": cum.isel(year=-1).mean("sim").assign_attrs(
            units="USD", long_name="expected cumulative net position at the end"),
        "reserve_for_losses_year": losses.max("year").quantile(conf, dim="sim").drop_vars(
            "quantile").assign_attrs(units="USD",
                                     long_name=f"{conf:.0%} quantile of the worst year's losses"),
        "reserve_for_losses_agreement": losses.sum("year").quantile(conf, dim="sim").drop_vars(
            "quantile").assign_attrs(units="USD",
                                     long_name=f"{conf:.0%} quantile of the agreement's losses"),
    })
    out.attrs["confidence"] = float(conf)
    return out
