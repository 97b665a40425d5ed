"""Plots of simsav results. Each takes a Dataset first and returns a matplotlib Axes.

matplotlib is imported inside the functions; ``show()`` is never called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["plot_payout_distribution", "plot_msr_curve"]


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    return ax


def plot_payout_distribution(
    ds: xr.Dataset,
    *,
    designs: Sequence[str] | None = None,
    year: int | None = None,
    bins: int = 60,
    ax: Any = None,
) -> Any:
    """Distribution of the net payment to the ACO, one step histogram per design.

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
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    yr = ds["year"].values[-1] if year is None else year
    names = list(ds["design"].values) if designs is None else list(designs)
    net = ds["aco_net"].sel(year=yr) / 1e6
    lo, hi = float(net.min()), float(net.max())
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    n = ds.sizes["sim"]
    for name in names:
        x = net.sel(design=name).values
        p0 = float(np.mean(x == 0))
        nz = x[x != 0]  # the mass at zero is reported in the legend, not drawn
        ax.hist(nz, bins=edges, weights=np.full(nz.shape, 1.0 / n), histtype="step",
                linewidth=1.6, label=f"{name}  (no payment either way: {p0:.0%})")
    ax.axvline(0.0, color="0.5", linewidth=0.8, linestyle="--")
    ax.set_xlabel("Net payment to the ACO, $ millions (negative: losses owed)")
    ax.set_ylabel("Share of simulations per bin")
    scen = ds.attrs.get("scenario", "")
    ax.set_title(f"Payout distribution — {scen}, year {yr}, {n:,} sims")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_msr_curve(ds: xr.Dataset, *, ax: Any = None) -> Any:
    """MSR against population size (log x): simulated with its band, normal, CMS table.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.msr_curve`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    n = ds["size"].values
    pct = 100.0
    method = ds.attrs.get("method", "simulate")
    if method == "simulate":
        ax.fill_between(n, ds["msr_low"] * pct, ds["msr_high"] * pct, alpha=0.25,
                        color="C0", linewidth=0, label="simulated MSR, 95% Monte Carlo band")
        ax.plot(n, ds["msr"] * pct, "o-", color="C0", label="simulated MSR")
        ax.plot(n, ds["mlr"] * pct, "s:", color="C3", label="simulated symmetric MLR")
    else:
        ax.plot(n, ds["msr"] * pct, "o-", color="C0", label=f"MSR ({method})")
    ax.plot(n, ds["normal"] * pct, "--", color="C1", label="normal approximation")
    grid = np.geomspace(max(float(n.min()), 500.0), max(float(n.max()), 60_000.0), 200)
    from simsav.msr import cms_msr

    ax.plot(grid, cms_msr(grid) * pct, "-", color="k", linewidth=1.2,
            label="CMS table, 42 CFR 425.604(b)")
    ax.set_xscale("log")
    ax.set_xlabel("Assigned beneficiaries (log scale)")
    ax.set_ylabel("Minimum savings rate, % of benchmark")
    alpha = ds.attrs.get("alpha", float("nan"))
    ax.set_title(f"MSR keeping P(payout by luck) ≤ {alpha:.0%}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
    return ax
