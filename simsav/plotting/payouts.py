"""Payout distributions: one chart, or small multiples on shared axes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from simsav.plotting.common import (
    _axes,
    _context,
    _histogram,
    _marks,
    _money_axis,
    _strip,
    _summary_of,
)
from simsav.results.formats import fmt_money

__all__ = ["plot_payout_distribution"]


def plot_payout_distribution(
    ds: xr.Dataset,
    *,
    designs: Sequence[str] | None = None,
    year: int | None = None,
    bins: int = 60,
    panels: bool | None = None,
    ax: Any = None,
) -> Any:
    """Distribution of the net payment to the ACO, per design, with its mean and 5–95%.

    Up to three designs share one Axes as step histograms; more are drawn as small
    multiples, one panel per design on shared axes (``panels`` forces either). Each design
    carries its mean (diamond) and the range of the middle 90% of sims (bar from the 5% to
    the 95% point), the figures of :func:`simsav.summarize`; the share of sims with no
    payment either way is given in words rather than drawn as a spike at zero.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate`.
    designs : sequence of str, optional
        Designs to draw (default: all).
    year : int, optional
        Year to draw (default: the last).
    bins : int
        Histogram bins over the common range.
    panels : bool, optional
        One panel per design (default: when there are more than three and no ``ax``).
    ax : matplotlib Axes, optional
        Draw on this Axes (one panel only).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on; with panels, the first panel (all of them: ``ax.figure.axes``).
    """
    yr = ds["year"].values[-1] if year is None else year
    names = [str(d) for d in ds["design"].values] if designs is None else list(designs)
    net = ds["aco_net"].sel(year=yr)
    lo, hi = float(net.sel(design=names).min()), float(net.sel(design=names).max())
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    n = ds.sizes["sim"]
    table = _summary_of(ds)
    scen = ds.attrs.get("scenario", "")
    title = f"Net payment to the ACO — {scen}\n{_context(ds, yr)}"
    xlabel = "Net payment to the ACO (negative: losses owed)"
    ylabel = "Share of sims per bin"
    if panels is None:
        panels = len(names) > 3 and ax is None
    if panels and ax is None:
        return _payout_panels(ds, names, net, edges, table, yr, title, xlabel, ylabel)
    ax = _axes(ax, figsize=(8, 5.2))
    for i, name in enumerate(names):
        x = net.sel(design=name).values
        m = _marks(table, name, yr)
        color = f"C{i % 10}"
        _histogram(ax, x, edges, n, color, f"{name}: mean {fmt_money(m['mean'])}; "
                   f"no payment either way {np.mean(x == 0):.0%}", filled=False)
        _strip(ax, m, 0.95 - 0.06 * i, color)
    ax.axvline(0.0, color="0.5", linewidth=0.8, linestyle="--")
    _money_axis(ax.xaxis)
    ax.set_ylim(0, ax.get_ylim()[1] * (1.15 + 0.08 * len(names)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(0.0, -0.14),
              title="◆ mean   |—| 5% to 95% of sims", title_fontsize="small",
              alignment="left")
    return ax


def _payout_panels(ds: xr.Dataset, names: list[str], net: xr.DataArray, edges: Any,
                   table: Any, yr: Any, title: str, xlabel: str, ylabel: str) -> Any:
    import matplotlib.pyplot as plt

    k = len(names)
    ncols = min(4, k)
    nrows = -(-k // ncols)
    fig, axes = plt.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False,
                             figsize=(3.1 * ncols + 0.6, 2.3 * nrows + 1.0),
                             layout="constrained")
    n = ds.sizes["sim"]
    for i, a in enumerate(axes.flat):
        if i >= k:
            a.set_visible(False)
            continue
        name = names[i]
        x = net.sel(design=name).values
        m = _marks(table, name, yr)
        _histogram(a, x, edges, n, "C0", None, filled=True)
        a.axvline(0.0, color="0.5", linewidth=0.8, linestyle="--")
        a.set_title(f"{name}\nmean {fmt_money(m['mean'])}, none either way "
                    f"{np.mean(x == 0):.0%}", fontsize="small")
        if i // ncols == nrows - 1 or i + ncols >= k:
            a.set_xlabel("Net to the ACO")
            a.xaxis.set_tick_params(labelbottom=True)
        if i % ncols == 0:
            a.set_ylabel(ylabel)
    top = max(a.get_ylim()[1] for a in axes.flat[:k])
    for i, a in enumerate(axes.flat[:k]):
        a.set_ylim(0, top * 1.18)
        _strip(a, _marks(table, names[i], yr), 0.93, "C3")
        _money_axis(a.xaxis)
    fig.suptitle(f"{title}\n(panels share axes; ◆ mean, |—| 5% to 95% of sims; negative: "
                 "losses owed)", fontsize="medium")
    return axes.flat[0]
