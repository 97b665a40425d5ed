"""MSR sizing and the chances of clearing the MSR or owing losses by size."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from simsav.contracts.msr import cms_msr
from simsav.plotting.common import (
    _axes,
    _count_axis,
)

__all__ = ["plot_msr_curve", "plot_probabilities_by_size"]


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

    ax.plot(grid, cms_msr(grid) * pct, "-", color="k", linewidth=1.2,
            label="CMS table, 42 CFR 425.604(b)")
    _count_axis(ax, n)
    ax.set_xlabel("Assigned beneficiaries (log scale)")
    ax.set_ylabel("Minimum savings rate, % of benchmark")
    alpha = ds.attrs.get("alpha", float("nan"))
    ctx = []
    try:
        ctx.append(f"{json.loads(ds.attrs['spending'])['model']} spending")
    except (KeyError, TypeError, ValueError):
        pass
    if ds.attrs.get("n_sims"):
        ctx.append(f"{int(ds.attrs['n_sims']):,} sims per size")
    if int(ds.attrs.get("years", 1)) > 1:
        ctx.append(f"{int(ds.attrs['years'])} years reconciled together")
    ax.set_title(f"MSR keeping P(payout by luck) ≤ {alpha:.0%}"
                 + (f"\n{', '.join(ctx)}" if ctx else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_probabilities_by_size(summary: xr.Dataset, *, ax: Any = None) -> Any:
    """P(clear MSR) and P(owe losses) against population size, one pair of lines per design.

    Parameters
    ----------
    summary : xarray.Dataset
        From :func:`simsav.sweep_sizes` (dims ``size``, ``design``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    s = summary.isel(year=-1) if "year" in summary.dims else summary
    n = s["size"].values
    for i, name in enumerate(s["design"].values):
        color = f"C{i % 10}"
        p = s["p_clear_msr"].sel(design=name).values * 100
        se = s["se_p_clear_msr"].sel(design=name).values * 100
        ax.errorbar(n, p, yerr=2 * se, fmt="o-", color=color, capsize=2,
                    label=f"{name}: P(clear MSR)")
        q = s["p_owe_loss"].sel(design=name).values * 100
        if np.any(q > 0):
            se = s["se_p_owe_loss"].sel(design=name).values * 100
            ax.errorbar(n, q, yerr=2 * se, fmt="s--", color=color, capsize=2,
                        label=f"{name}: P(owe losses)")
    _count_axis(ax, n)
    ax.set_xlabel("Assigned beneficiaries (log scale)")
    ax.set_ylabel("Probability, % (bars: ±2 Monte Carlo SE)")
    year = f", year {int(s['year'])}" if "year" in s.coords and s["year"].ndim == 0 else ""
    sims = summary.attrs.get("n_sims")
    ax.set_title(f"Chance of a payout or a penalty by population size — "
                 f"{summary.attrs.get('scenario', '')}\n"
                 f"{f'{int(sims):,} sims per size' if sims else ''}{year}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
    return ax
