"""The settlement waterfall: each step's mean over sims, coloured by direction."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from simsav.plotting.common import (
    _axes,
    _context,
    _marks,
    _money_axis,
    _summary_of,
)
from simsav.results.formats import decimals_for, fmt_money, money_scale

__all__ = ["plot_waterfall", "waterfall_steps"]

#: Colours by direction: toward the ACO, away from it, and the subtotal and net bars.
_TO_ACO, _FROM_ACO, _TOTAL = "#2e8b57", "#c0392b", "#4a6fa5"


def waterfall_steps(d: xr.Dataset) -> dict[str, np.ndarray]:
    """Per-sim steps from gross savings to the ACO's net; they add up to ``aco_net``.

    Savings and losses are kept apart, so a two-sided contract shows both:

    * ``Gross savings`` — benchmark minus expenditure where positive (0 in a year of
      losses);
    * ``Kept by the payer`` — the part of those savings not shared: the payer's share, and
      all of them below the MSR or when quality fails;
    * ``Sequestration`` and ``Payment cap`` — taken from the shared savings. The four add
      up to the earned savings;
    * ``Shared losses owed`` — minus what the ACO owes in a year of losses (the payer bears
      the rest of the gross losses);
    * ``Quality bonus`` — paid whether or not there are savings.

    Parameters
    ----------
    d : xarray.Dataset
        One design and year of a results Dataset (any sims).

    Returns
    -------
    dict of str to numpy.ndarray
        Step label -> its amount in each sim, USD (positive: toward the ACO).
    """
    g = d["gross_savings"].values
    pos = np.maximum(g, 0.0)
    shared = d["shared_savings"].values
    seq = d["sequestration"].values
    earned = d["earned_savings"].values
    return {
        "Gross savings": pos,
        "Kept by the payer": -(pos - shared),
        "Sequestration": -seq,
        "Payment cap": -(shared - seq - earned),
        "Shared losses owed": -d["shared_losses"].values,
        "Quality bonus": d["quality_bonus"].values,
    }


def _waterfall_bars(d: xr.Dataset) -> list[tuple[str, float, str]]:
    """(label, amount, kind) per bar: kind "step" or "total" (drawn from zero)."""
    steps = waterfall_steps(d)
    two_sided = bool(np.any(np.isfinite(d["mlr"].values)))
    keep = {"Gross savings": True, "Shared losses owed": two_sided}
    bars: list[tuple[str, float, str]] = []
    for label, x in steps.items():
        if keep.get(label, bool(np.any(x != 0))):
            bars.append((label, float(np.mean(x)), "step"))
        if label == "Payment cap":
            bars.append(("Savings earned", float(np.mean(d["earned_savings"].values)), "total"))
    bars.append(("ACO net", float(np.mean(d["aco_net"].values)), "total"))
    return bars


def plot_waterfall(
    ds: xr.Dataset,
    *,
    design: str | None = None,
    sim: int | None = None,
    year: int | None = None,
    ax: Any = None,
) -> Any:
    """Settlement waterfall from gross savings to the ACO's net, for one sim or on average.

    Bars (see :func:`waterfall_steps`): gross savings; kept by the payer; sequestration;
    the payment cap; **savings earned** (a subtotal); shared losses owed (two-sided
    contracts); quality bonus; the **ACO's net**. Steps toward the ACO are green, away
    from it red, subtotals blue; amounts are in $, $k or $M by magnitude. With
    ``sim=None`` each bar is the mean over sims (the expected case) and the net carries its
    Monte Carlo standard error; the gross losses behind the shared losses are given in the
    bar's label.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate`.
    design : str, optional
        Design to draw (default: the first).
    sim : int, optional
        One sim's waterfall; default the expected case.
    year : int, optional
        Year to draw (default: the last).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.patches import Patch

    ax = _axes(ax)
    name = str(ds["design"].values[0]) if design is None else design
    yr = ds["year"].values[-1] if year is None else year
    d = ds.sel(design=name, year=yr)
    if sim is not None:
        d = d.isel(sim=[sim])
    bars = _waterfall_bars(d)
    level = 0.0
    bottoms, heights, colors, tops = [], [], [], []
    for _, amount, kind in bars:
        if kind == "total":
            bottoms.append(min(0.0, amount))
            heights.append(abs(amount))
            colors.append(_TOTAL)
            level = amount
        else:
            bottoms.append(level + min(0.0, amount))
            heights.append(abs(amount))
            colors.append(_TO_ACO if amount > 0 else _FROM_ACO if amount < 0 else "0.6")
            level += amount
        tops.append(bottoms[-1] + heights[-1])
    top = max(max(tops), -min(bottoms), 1.0)
    scale = money_scale(top)
    dec = decimals_for(top, scale)
    labels = [b[0] for b in bars]
    if "Shared losses owed" in labels:
        gross_losses = float(np.mean(np.minimum(d["gross_savings"].values, 0.0)))
        i = labels.index("Shared losses owed")
        labels[i] += f"\n(of {fmt_money(gross_losses, scale=scale, decimals=dec)} gross)"
    x = np.arange(len(bars))
    ax.bar(x, heights, bottom=bottoms, color=colors, edgecolor="0.25", linewidth=0.6,
           width=0.7)
    se = float("nan")
    if sim is None:
        row = _marks(_summary_of(ds.sel(design=[name])), name, yr)
        se = row["se"]
    for xi, (label, amount, kind), b, h in zip(x, bars, bottoms, heights, strict=True):
        txt = fmt_money(amount, scale=scale, decimals=dec, sign=kind == "step")
        if label == "ACO net" and np.isfinite(se):
            txt += f"\n± {fmt_money(se, scale=scale, decimals=dec)} (MC SE)"
        ax.annotate(txt, (xi, b + h), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize="small")
    ax.axhline(0.0, color="0.4", linewidth=0.8)
    ax.set_xticks(x, labels, rotation=25, ha="right", fontsize="small")
    for i, (_, _, kind) in enumerate(bars):
        if kind == "total":
            ax.get_xticklabels()[i].set_fontweight("bold")
    lo, hi = min(0.0, min(bottoms)), max(0.0, max(tops))
    pad = 0.18 * (hi - lo or 1.0)
    ax.set_ylim(lo - (pad if lo < 0 else 0.0), hi + pad)
    _money_axis(ax.yaxis)
    ax.set_xlabel("Settlement step")
    what = "mean over sims" if sim is None else f"sim {sim}"
    ax.set_ylabel("Amount (positive: toward the ACO)")
    ax.set_title(f"Settlement waterfall — {name}, {what}\n{_context(ds, yr)}")
    ax.legend(handles=[Patch(color=_TO_ACO, label="toward the ACO"),
                       Patch(color=_FROM_ACO, label="away from the ACO"),
                       Patch(color=_TOTAL, label="subtotal / net")],
              frameon=False, fontsize="small", loc="upper right")
    return ax
