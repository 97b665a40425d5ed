"""Plots of simsav results. Each takes a Dataset first and returns a matplotlib Axes.

matplotlib is imported inside the functions; ``show()`` is never called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from simsav.analysis.current_models import benchmark_spread
from simsav.contracts.msr import cms_msr

__all__ = [
    "plot_payout_distribution",
    "plot_msr_curve",
    "plot_waterfall",
    "plot_probabilities_by_size",
    "waterfall_steps",
    "plot_fan_chart",
    "plot_benchmark_fan",
]


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


def waterfall_steps(d: xr.Dataset) -> dict[str, np.ndarray]:
    """Per-sim steps from gross savings to the ACO's net; they add up to ``aco_net``.

    With savings: gross, kept by the payer (the unshared part), sequestration, the payment
    cap, quality bonus. With losses: gross (negative), the part borne by the payer (all but
    the shared losses), quality bonus.
    """
    g = d["gross_savings"].values
    shared = d["shared_savings"].values
    seq = d["sequestration"].values
    earned = d["earned_savings"].values
    owed = d["shared_losses"].values
    not_shared = np.where(g > 0, -(g - shared), -g - owed)
    return {
        "Gross savings": g,
        "Not shared (payer's part)": not_shared,
        "Sequestration": -seq,
        "Payment cap": -(shared - seq - earned),
        "Quality bonus": d["quality_bonus"].values,
    }


def plot_waterfall(
    ds: xr.Dataset,
    *,
    design: str | None = None,
    sim: int | None = None,
    year: int | None = None,
    ax: Any = None,
) -> Any:
    """Settlement waterfall from gross savings to the ACO's net, for one sim or on average.

    Steps: gross savings (negative: losses); the part not shared (payer's share, or all of
    it below the MSR); sequestration; the payment cap; shared losses; quality bonus; the
    ACO's net. With ``sim=None`` each step is the mean over sims (the expected case).

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
    ax = _axes(ax)
    name = str(ds["design"].values[0]) if design is None else design
    yr = ds["year"].values[-1] if year is None else year
    d = ds.sel(design=name, year=yr)
    if sim is not None:
        d = d.isel(sim=[sim])
    steps_by_sim = waterfall_steps(d)
    steps = [(label, float(np.mean(x)) / 1e6) for label, x in steps_by_sim.items()]
    level = 0.0
    labels, bottoms, heights, colors, values = [], [], [], [], []
    for label, delta in steps:
        labels.append(label)
        bottoms.append(level if delta >= 0 else level + delta)
        heights.append(abs(delta))
        colors.append("C2" if delta >= 0 else "C3")
        values.append(delta)
        level += delta
    labels.append("ACO net")
    bottoms.append(min(0.0, level))
    heights.append(abs(level))
    colors.append("C0")
    values.append(level)
    x = np.arange(len(labels))
    ax.bar(x, heights, bottom=bottoms, color=colors, edgecolor="0.2", linewidth=0.6)
    for xi, b, h, val in zip(x, bottoms, heights, values, strict=True):
        txt = "0" if val == 0 else f"{val:+,.3g}"
        ax.annotate(txt, (xi, b + h), ha="center", va="bottom", fontsize="small")
    ax.axhline(0.0, color="0.4", linewidth=0.8)
    ax.set_xticks(x, labels, rotation=20, ha="right")
    ax.set_xlabel("Settlement step")
    ax.set_ylabel("$ millions (green: to the ACO, red: away from it)")
    what = "expected case (mean over sims)" if sim is None else f"sim {sim}"
    ax.set_title(f"Settlement waterfall — {name}, year {yr}, {what}")
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
    ax.set_xscale("log")
    ax.set_xlabel("Assigned beneficiaries (log scale)")
    ax.set_ylabel("Probability, % (bars: ±2 Monte Carlo SE)")
    ax.set_title(f"Chance of a payout or a penalty by population size — "
                 f"{summary.attrs.get('scenario', '')}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_fan_chart(
    ds: xr.Dataset,
    *,
    design: str | None = None,
    variable: str = "aco_paid",
    ax: Any = None,
) -> Any:
    """Fan chart of the cumulative payment to the ACO over the agreement years.

    Shaded bands hold 90% and 50% of the sims, the line is the median, the dashed line the
    mean.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate` (a multi-year agreement shows a fan).
    design : str, optional
        Design to draw (default: the first).
    variable : str
        A (sim, year, design) money variable to cumulate (default ``aco_paid``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    name = str(ds["design"].values[0]) if design is None else design
    cum = ds[variable].sel(design=name).cumsum("year") / 1e6
    years = ds["year"].values
    q = cum.quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="sim").values
    ax.fill_between(years, q[0], q[4], alpha=0.2, color="C0", linewidth=0,
                    label="5–95% of sims")
    ax.fill_between(years, q[1], q[3], alpha=0.35, color="C0", linewidth=0,
                    label="25–75% of sims")
    ax.plot(years, q[2], "o-", color="C0", label="median")
    ax.plot(years, cum.mean("sim").values, "s--", color="C1", label="mean")
    ax.axhline(0.0, color="0.4", linewidth=0.8)
    ax.set_xticks(years)
    ax.set_xlabel("Agreement year")
    ax.set_ylabel("Cumulative net payment to the ACO, $ millions")
    ax.set_title(f"Cumulative payout over the agreement — {name}")
    ax.legend(frameon=False, fontsize="small", loc="upper left")
    return ax


def plot_benchmark_fan(ds: xr.Dataset, *, ax: Any = None) -> Any:
    """Fan chart of the benchmark against the realised spending over the agreement.

    Per agreement year, the spread over sims of ``benchmark / expenditure − 1``
    (:func:`simsav.analysis.current_models.benchmark_spread`): without rebasing it widens
    as the errors of the trend update compound.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate`, a multi-year agreement.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    s = benchmark_spread(ds)
    q = s["ratio_quantiles"].values * 100
    years = ds["year"].values
    ax.fill_between(years, q[0], q[4], alpha=0.2, color="C2", linewidth=0,
                    label="5–95% of sims")
    ax.fill_between(years, q[1], q[3], alpha=0.35, color="C2", linewidth=0,
                    label="25–75% of sims")
    ax.plot(years, q[2], "o-", color="C2", label="median")
    ax.axhline(0.0, color="0.4", linewidth=0.8)
    ax.set_xticks(years)
    ax.set_xlabel("Agreement year")
    ax.set_ylabel("Benchmark above realised spending, %")
    ax.set_title(f"Benchmark against spending — {ds.attrs.get('scenario', '')}")
    ax.legend(frameon=False, fontsize="small", loc="upper left")
    return ax
