"""The ACO's finances over the agreement: break-even and the reserve for losses."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from simsav.results.intervals import Estimate, mean, probability, quantile

__all__ = ["finance_summary"]


def _put(out: dict[str, Any], name: str, est: Estimate, dims: tuple[str, ...], units: str,
         long_name: str) -> None:
    out.update(est.variables(name, dims, units, long_name))


def finance_summary(ds: xr.Dataset, *, confidence: float | None = None,
                    level: float = 0.95) -> xr.Dataset:
    """Break-even and reserve needs per design, each with its Monte Carlo interval.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate` with a ``[finances]`` table.
    confidence : float, optional
        Confidence of the reserve for losses (default: the scenario's).
    level : float
        Confidence level of the Monte Carlo intervals.

    Returns
    -------
    xarray.Dataset
        ``p_break_even`` (cumulative net ≥ 0 at the end); ``break_even_year_share`` (over
        dim ``break_even_year``: the year from which the cumulative position stays ≥ 0 to
        the end; 0 = not broken even by the end); ``expected_net_position`` (end of the
        agreement); ``reserve_for_losses_year`` (the ``confidence`` quantile of the worst
        year's shared losses paid) and ``reserve_for_losses_agreement`` (of the
        agreement's total losses paid) — each with ``se_``, ``low_`` and ``high_``.
    """
    if "fin_cumulative" not in ds:
        raise ValueError("ds: no finances; give the scenario a [finances] table")
    conf = confidence
    if conf is None:
        conf = json.loads(ds.attrs.get("finances", "{}")).get("confidence", 0.95)
    if not 0.0 < conf < 1.0:
        raise ValueError(f"confidence: must be in (0, 1), got {conf}")
    cum = ds["fin_cumulative"].transpose("sim", "year", "design").values
    n_years = cum.shape[1]
    ahead = cum >= 0
    # the year from which the cumulative position stays >= 0 to the end (0: never)
    stays = np.flip(np.cumprod(np.flip(ahead, axis=1), axis=1), axis=1).astype(bool)
    first = np.where(stays.any(axis=1), stays.argmax(axis=1) + 1, 0)  # (sim, design)
    paid = ds["aco_paid"] - ds["quality_bonus"]
    losses = np.maximum(-paid.transpose("sim", "year", "design").values, 0.0)
    out: dict[str, xr.DataArray] = {}
    _put(out, "p_break_even", probability(ahead[:, -1], level=level), ("design",), "1",
         "P(cumulative net >= 0 at the end)")
    _put(out, "break_even_year_share",
         probability(first[:, None, :] == np.arange(n_years + 1)[None, :, None], level=level),
         ("break_even_year", "design"), "1",
         "share of sims breaking even for good in the year (0: not by the end)")
    _put(out, "expected_net_position", mean(cum[:, -1], level=level), ("design",), "USD",
         "expected cumulative net position at the end")
    _put(out, "reserve_for_losses_year", quantile(losses.max(axis=1), conf, level=level),
         ("design",), "USD", f"{conf:.0%} quantile of the worst year's losses")
    _put(out, "reserve_for_losses_agreement", quantile(losses.sum(axis=1), conf, level=level),
         ("design",), "USD", f"{conf:.0%} quantile of the agreement's losses")
    res = xr.Dataset(out, coords={"design": ds["design"].values,
                                  "break_even_year": np.arange(n_years + 1)})
    res.attrs = {"confidence": float(conf), "level": level, "n_sims": ds.sizes["sim"]}
    return res
