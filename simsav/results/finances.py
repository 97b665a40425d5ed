"""The ACO's finances over the agreement: break-even and the reserve for losses."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

__all__ = ["finance_summary"]


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
