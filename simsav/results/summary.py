"""Summaries of a results Dataset: probabilities, means and quantiles with their errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["QUANTILES", "summarize", "summary_table"]


#: Quantiles reported by :func:`summarize`.
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)

_MEANS = {
    "expected_earned": ("earned_savings", "USD", "expected earned savings"),
    "expected_losses": ("shared_losses", "USD", "expected shared losses owed"),
    "expected_aco_net": ("aco_net", "USD", "expected net to the ACO"),
    "expected_payer_net": ("payer_net", "USD", "expected payer net"),
    "expected_quality_bonus": ("quality_bonus", "USD", "expected quality bonus"),
    "expected_forfeited": ("forfeited", "USD", "expected forfeited savings"),
    "expected_savings_rate": ("savings_rate", "1", "expected savings rate"),
}


def summarize(
    ds: xr.Dataset, *, quantiles: Sequence[float] = QUANTILES, frame: bool = False
) -> Any:
    """Summarize a results Dataset per design (and year).

    For each design: P(clear MSR), P(owe losses), P(corridor); expected earned savings,
    losses, ACO net and payer net; quantiles of the ACO's net; the expected shared loss
    beyond its 95th percentile (the mean of the worst 5% of outcomes); and the Monte Carlo
    standard error of every probability and mean (``se_`` variables).

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate`.
    quantiles : sequence of float
        Quantiles of the ACO's net to report.
    frame : bool
        Return a pandas DataFrame, one row per design, of the last year (ready for
        ``to_csv`` or ``to_excel``) instead of a Dataset.

    Returns
    -------
    xarray.Dataset or pandas.DataFrame
        Dims ``design``, ``year`` (and ``quantile``).
    """
    n = ds.sizes["sim"]
    out = xr.Dataset(coords={k: ds.coords[k] for k in ("design", "year") if k in ds.coords})
    probs = {
        "p_clear_msr": (ds["outcome"] == 1, "probability of clearing the MSR"),
        "p_owe_loss": (ds["outcome"] == -1, "probability of owing shared losses"),
        "p_corridor": (ds["outcome"] == 0, "probability of neither (corridor or below MSR)"),
        "p_earn": (ds["earned_savings"] > 0, "probability of earning shared savings"),
    }
    for name, (ind, long_name) in probs.items():
        p = ind.mean("sim")
        out[name] = p.assign_attrs(units="1", long_name=long_name)
        se = np.sqrt(p * (1 - p) / n)
        out["se_" + name] = se.assign_attrs(units="1", long_name=f"MC standard error of {name}")
    for name, (var, units, long_name) in _MEANS.items():
        x = ds[var]
        out[name] = x.mean("sim").assign_attrs(units=units, long_name=long_name)
        se = x.std("sim", ddof=1) / np.sqrt(n) if n > 1 else x.mean("sim") * np.nan
        out["se_" + name] = se.assign_attrs(units=units, long_name=f"MC standard error of {name}")
    q = ds["aco_net"].quantile(list(quantiles), dim="sim")
    out["aco_net_quantile"] = q.assign_attrs(units="USD", long_name="quantiles of the ACO's net")
    # expected shared loss beyond the 95th percentile (tail conditional expectation)
    losses = ds["shared_losses"]
    q95 = losses.quantile(0.95, dim="sim").drop_vars("quantile")
    tail = losses.where(losses >= q95).mean("sim")
    out["tail_loss_95"] = tail.assign_attrs(
        units="USD", long_name="expected shared loss in the worst 5% of sims")
    # over the agreement (all years): what the ACO is paid under each design's reconciliation
    if "aco_paid" in ds:
        paid = ds["aco_paid"]
        total = paid.sum("year")
        p_any = (paid > 0).any("year").mean("sim")
        out["p_any_year_paid"] = p_any.assign_attrs(
            units="1", long_name="probability of a payment to the ACO in any agreement year")
        out["se_p_any_year_paid"] = np.sqrt(p_any * (1 - p_any) / n).assign_attrs(
            units="1", long_name="MC standard error of p_any_year_paid")
        p_pos = (total > 0).mean("sim")
        out["p_ahead_over_agreement"] = p_pos.assign_attrs(
            units="1", long_name="probability the ACO is paid more than it owes over the "
                                 "agreement")
        out["expected_total_paid"] = total.mean("sim").assign_attrs(
            units="USD", long_name="expected total paid to the ACO over the agreement, net")
        se = total.std("sim", ddof=1) / np.sqrt(n) if n > 1 else total.mean("sim") * np.nan
        out["se_expected_total_paid"] = se.assign_attrs(
            units="USD", long_name="MC standard error of expected_total_paid")
    out.attrs = {k: v for k, v in ds.attrs.items() if k in ("scenario", "seed", "simsav_version")}
    out.attrs["n_sims"] = n
    return summary_table(out) if frame else out


def summary_table(summary: xr.Dataset, *, year: int | None = None) -> Any:
    """A pandas DataFrame, one row per design, of the scalar summaries of one year.

    Parameters
    ----------
    summary : xarray.Dataset
        From :func:`summarize`.
    year : int, optional
        The year to show (default: the last one).
    """
    s = summary
    if "year" in s.dims:
        s = s.sel(year=s["year"].values[-1] if year is None else year)
    cols: dict[str, Any] = {}
    for name, da in s.data_vars.items():
        if da.dims == ("design",):
            cols[name] = da.values
    for qv in s["aco_net_quantile"]["quantile"].values:
        cols[f"aco_net_q{qv * 100:g}"] = s["aco_net_quantile"].sel(quantile=qv).values
    return pd.DataFrame(cols, index=pd.Index(s["design"].values, name="design"))


