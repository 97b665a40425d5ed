"""Plots of simsav results. Each takes a Dataset first and returns a matplotlib Axes.

matplotlib is imported inside the functions; ``show()`` is never called.
"""

from __future__ import annotations

import io
import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from simsav.analysis.current_models import benchmark_spread
from simsav.contracts.msr import cms_msr
from simsav.results.formats import decimals_for, fmt_count, fmt_money, money_scale
from simsav.results.report import Figure
from simsav.results.summary import summarize
from simsav.results.tidy import figure, summary_long

__all__ = [
    "plot_payout_distribution",
    "plot_msr_curve",
    "plot_waterfall",
    "plot_probabilities_by_size",
    "waterfall_steps",
    "plot_fan_chart",
    "report_figures",
    "plot_benchmark_fan",
    "plot_lorenz",
    "plot_sobol",
    "plot_sweep",
    "plot_sweep_heatmap",
    "plot_tail_qq",
    "plot_tornado",
]


def _axes(ax: Any, figsize: tuple[float, float] = (8, 4.5)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _money_axis(axis: Any) -> None:
    """Label a dollar axis in one unit chosen by the largest tick: $500k, $1.5M."""
    from matplotlib.ticker import Formatter

    class _Money(Formatter):  # type: ignore[misc]
        ticks: tuple[float, ...] = ()

        def set_locs(self, locs: Any) -> None:
            self.ticks = tuple(float(v) for v in locs)

        def __call__(self, x: float, pos: Any = None) -> str:
            top = max((abs(v) for v in self.ticks), default=abs(x))
            return fmt_money(x, scale=money_scale(top))

    axis.set_major_formatter(_Money())


def _count_axis(ax: Any, sizes: Any) -> None:
    """A log x axis ticked at the given population sizes, labelled 1k, 5k, 10k."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(np.asarray(sizes, dtype=float)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, pos: fmt_count(x)))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _spending_model(ds: xr.Dataset) -> str | None:
    try:
        scn = tomllib.loads(str(ds.attrs.get("scenario_toml", "")))
    except tomllib.TOMLDecodeError:
        return None
    model = scn.get("spending", {}).get("model")
    return str(model) if model else None


def _context(ds: xr.Dataset, year: Any = None) -> str:
    """Spending model, N, sims and year: what a reader needs to read the figure."""
    parts = []
    model = _spending_model(ds)
    if model:
        parts.append(f"{model} spending")
    if "n_beneficiaries" in ds:
        nb = ds["n_beneficiaries"]
        nb = nb.sel(year=year) if year is not None and "year" in nb.dims else nb.max()
        parts.append(f"N = {float(nb):,.0f}")
    parts.append(f"{ds.sizes['sim']:,} sims")
    if year is not None:
        parts.append(f"year {year}")
    elif ds.sizes.get("year", 1) > 1:
        y = ds["year"].values
        parts.append(f"years {y[0]}–{y[-1]}")
    return ", ".join(parts)


def _summary_of(ds: xr.Dataset) -> Any:
    """The tidy summary of ``ds``: the figures the plots mark (means, 5%/95% points).

    A Dataset that cannot be summarized (a subset holding ``aco_net`` alone) gets the same
    three figures computed here, so the plot still draws.
    """
    try:
        return summary_long(summarize(ds))
    except (KeyError, ValueError):
        net = ds["aco_net"]
        n = ds.sizes["sim"]
        rows = []
        for metric, da, se in (
                ("expected_aco_net", net.mean("sim"), net.std("sim", ddof=1) / np.sqrt(n)),
                ("aco_net_q5", net.quantile(0.05, "sim"), None),
                ("aco_net_q95", net.quantile(0.95, "sim"), None)):
            for d in ds["design"].values:
                for y in ds["year"].values:
                    rows.append({"design": str(d), "year": int(y), "metric": metric,
                                 "value": float(da.sel(design=d, year=y)),
                                 "se": float("nan") if se is None else
                                 float(se.sel(design=d, year=y))})
        return pd.DataFrame(rows)


def _marks(table: Any, name: str, year: Any) -> dict[str, float]:
    out = {}
    for key, metric in (("mean", "expected_aco_net"), ("q5", "aco_net_q5"),
                        ("q95", "aco_net_q95")):
        row = figure(table, metric, name, year)
        out[key] = float("nan") if row is None else float(row["value"])
        if key == "mean":
            out["se"] = float("nan") if row is None else float(row["se"])
    return out


def _strip(ax: Any, m: dict[str, float], y: float, color: str) -> None:
    """Mark the mean (diamond) and the 5%–95% range (bar) at height ``y`` (axes fraction)."""
    tr = ax.get_xaxis_transform()
    ax.plot([m["q5"], m["q95"]], [y, y], color=color, linewidth=1.4, transform=tr,
            marker="|", markersize=9, markeredgewidth=1.6)
    ax.plot([m["mean"]], [y], color=color, marker="D", markersize=6, transform=tr,
            markeredgecolor="white", linestyle="none")


def _histogram(ax: Any, x: NDArray[Any], edges: NDArray[Any], n: int, color: str,
               label: str | None, filled: bool) -> None:
    nz = x[x != 0]  # the mass at zero is reported in words, not drawn
    w = np.full(nz.shape, 1.0 / n)
    if filled:
        ax.hist(nz, bins=edges, weights=w, color=color, alpha=0.35, linewidth=0)
    ax.hist(nz, bins=edges, weights=w, histtype="step", color=color, linewidth=1.5,
            label=label)


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
    cum = ds[variable].sel(design=name).cumsum("year")
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
    _money_axis(ax.yaxis)
    ax.set_ylabel(f"Cumulative {ds[variable].attrs.get('long_name', variable).split(':')[0]}"
                  if variable != "aco_paid" else "Cumulative net payment to the ACO")
    ax.set_title(f"Cumulative payout over the agreement — {name}\n{_context(ds)}")
    ax.legend(frameon=False, fontsize="small", loc="upper left")
    return ax


def report_figures(ds: xr.Dataset, *, dpi: int = 100) -> list[Any]:
    """The charts of a report, as PNG bytes: payouts, a waterfall per design, fan charts.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate`.
    dpi : int
        Resolution of the PNGs.

    Returns
    -------
    list of simsav.results.report.Figure
        (key, caption, png) for :func:`simsav.results.report.write_report`.
    """
    import matplotlib.pyplot as plt

    def png(ax: Any) -> bytes:
        buf = io.BytesIO()
        ax.figure.savefig(buf, format="png", dpi=dpi)
        plt.close(ax.figure)
        return buf.getvalue()

    yr = int(ds["year"].values[-1])
    names = [str(d) for d in ds["design"].values]
    figs = [Figure("payouts", f"Net payment to the ACO in year {yr}, every design: "
                   "distribution over the sims, mean and 5%-95% range.",
                   png(plot_payout_distribution(ds)))]
    for i, name in enumerate(names):
        figs.append(Figure(f"waterfall-{i + 1}", f"{name}: settlement waterfall in year {yr}, "
                           "mean over sims; the net with its Monte Carlo standard error.",
                           png(plot_waterfall(ds, design=name))))
    if ds.sizes["year"] > 1:
        for i, name in enumerate(names):
            figs.append(Figure(f"fan-{i + 1}", f"{name}: cumulative payment to the ACO over "
                               "the agreement (median, mean, 50% and 90% bands).",
                               png(plot_fan_chart(ds, design=name))))
    return figs


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


# ------------------------------------------------------------------ what-if analyses


def _pick(da: xr.DataArray, keep: Sequence[str], sel: dict[str, Any] | None,
          what: str) -> xr.DataArray:
    """``da`` reduced to the dims in ``keep``: ``sel`` picks the others (year: the last)."""
    sel = dict(sel or {})
    if "year" in da.dims and "year" not in keep and "year" not in sel:
        sel["year"] = da["year"].values[-1]
    da = da.sel({k: v for k, v in sel.items() if k in da.dims})
    extra = [d for d in da.dims if d not in keep]
    if any(da.sizes[d] > 1 for d in extra):
        raise ValueError(f"{what}: pick one value of {', '.join(extra)} with sel=")
    return da.squeeze([d for d in extra], drop=True).transpose(*keep)


def plot_sweep(
    sweep: xr.Dataset,
    *,
    figure: str | Sequence[str] = "p_clear_msr",
    x: str | None = None,
    designs: Sequence[str] | None = None,
    sel: dict[str, Any] | None = None,
    ax: Any = None,
) -> Any:
    """A figure of a sweep against one key, one line per design (bars: ±2 Monte Carlo SE).

    Parameters
    ----------
    sweep : xarray.Dataset
        From :func:`simsav.sweep`.
    figure : str or sequence of str
        A summary variable (``p_clear_msr``, ``expected_aco_net``, ...), or several (one
        line per figure and design).
    x : str, optional
        The key along the horizontal axis (default: the first swept).
    designs : sequence of str, optional
        Designs to draw (default: all).
    sel : dict, optional
        A value of every other swept key (and ``year``; default the last).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    figures = [figure] if isinstance(figure, str) else list(figure)
    keys = [d for d in sweep[figures[0]].dims if d not in ("design", "year", "quantile")]
    key = keys[0] if x is None else x
    names = list(sweep["design"].values) if designs is None else list(designs)
    xs = sweep[key].values
    numeric = np.issubdtype(xs.dtype, np.number)
    pos = xs if numeric else np.arange(xs.size)
    markers = "os^vD"
    for f, fig in enumerate(figures):
        da = _pick(sweep[fig], [key, "design"], sel, "plot_sweep")
        se_name = "se_" + fig
        se = _pick(sweep[se_name], [key, "design"], sel, "plot_sweep") \
            if se_name in sweep else None
        for i, name in enumerate(names):
            y = da.sel(design=name).values
            err = None if se is None else 2 * se.sel(design=name).values
            label = name if len(figures) == 1 else f"{name}: {fig}"
            ax.errorbar(pos, y, yerr=err, fmt=f"{markers[f % 5]}-", capsize=2, label=label,
                        color=f"C{(f * len(names) + i) % 10}")
    if not numeric:
        ax.set_xticks(pos, [str(v) for v in xs])
    ax.set_xlabel(key)
    units = sweep[figures[0]].attrs.get("units", "")
    ax.set_ylabel(f"{', '.join(figures)} ({units})")
    fixed = ", ".join(f"{k} = {v}" for k, v in (sel or {}).items())
    what = (sweep[figures[0]].attrs.get("long_name", figures[0]) if len(figures) == 1
            else ", ".join(figures))
    ax.set_title(f"{what} — {sweep.attrs.get('scenario', '')}" + (f" ({fixed})" if fixed
                                                                   else ""))
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_sweep_heatmap(
    sweep: xr.Dataset,
    *,
    figure: str = "p_clear_msr",
    x: str | None = None,
    y: str | None = None,
    design: str | None = None,
    sel: dict[str, Any] | None = None,
    ax: Any = None,
) -> Any:
    """A figure of a sweep over two keys as a heat map, each cell labelled with its value.

    Parameters
    ----------
    sweep : xarray.Dataset
        From :func:`simsav.sweep` with at least two swept keys.
    figure : str
        A summary variable.
    x, y : str, optional
        The keys along each axis (default: the first two swept).
    design : str, optional
        Whose figure (default: the first design).
    sel : dict, optional
        A value of every other swept key (and ``year``; default the last).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    keys = [d for d in sweep[figure].dims if d not in ("design", "year", "quantile")]
    if len(keys) < 2 and (x is None or y is None):
        raise ValueError("plot_sweep_heatmap: the sweep needs two keys")
    kx = keys[0] if x is None else x
    ky = [k for k in keys if k != kx][0] if y is None else y
    name = str(sweep["design"].values[0]) if design is None else design
    da = _pick(sweep[figure].sel(design=name), [ky, kx], sel, "plot_sweep_heatmap")
    values = da.values
    im = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
    ax.figure.colorbar(im, ax=ax, label=figure)
    ax.set_xticks(range(values.shape[1]), [f"{v:g}" if isinstance(v, float) else str(v)
                                           for v in sweep[kx].values.tolist()])
    ax.set_yticks(range(values.shape[0]), [f"{v:g}" if isinstance(v, float) else str(v)
                                           for v in sweep[ky].values.tolist()])
    mid = np.nanmean(values)
    for (i, j), v in np.ndenumerate(values):
        ax.annotate(f"{v:.3g}", (j, i), ha="center", va="center", fontsize="small",
                    color="black" if v > mid else "white")
    ax.set_xlabel(kx)
    ax.set_ylabel(ky)
    ax.set_title(f"{figure} — {name}, {sweep.attrs.get('scenario', '')}, "
                 f"{sweep.attrs.get('n_sims', '')} sims per cell")
    return ax


def plot_tornado(tornado: xr.Dataset, *, ax: Any = None) -> Any:
    """A tornado chart: each input's low and high value, the figure's swing about the base.

    Parameters
    ----------
    tornado : xarray.Dataset
        From :func:`simsav.tornado` (largest swing first; drawn at the top).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    base = float(tornado.attrs["base"])
    n = tornado.sizes["input"]
    ypos = np.arange(n)[::-1]
    for i, y in enumerate(ypos):
        t = tornado.isel(input=i)
        ends = [(end, color, float(t[f"figure_{end}"]), dy)
                for end, color, dy in (("low", "C0", 0.15), ("high", "C3", -0.15))]
        # the longer bar first, so a shorter one on the same side stays visible
        for end, color, v, dy in sorted(ends, key=lambda e: -abs(e[2] - base)):
            ax.barh(y, v - base, left=base, color=color, alpha=0.8, height=0.6,
                    label=f"input at its {end} value" if i == 0 else None)
            ax.annotate(str(t[end].values), (v, y + dy), ha="left" if v >= base else "right",
                        va="center", fontsize="small", xytext=(3 if v >= base else -3, 0),
                        textcoords="offset points")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda k: labels[k].endswith("high value"))
    ax.axvline(base, color="0.3", linewidth=1.0)
    ax.set_yticks(ypos, [str(k) for k in tornado["input"].values])
    ax.margins(x=0.12)
    fig = tornado.attrs.get("figure", "")
    ax.set_xlabel(f"{fig} (base case {base:.4g} ± {2 * tornado.attrs.get('se_base', 0):.2g}, "
                  "2 Monte Carlo SE)")
    ax.set_title(f"One at a time: what moves {fig} — {tornado.attrs.get('design', '')}, "
                 f"{tornado.attrs.get('scenario', '')}")
    ax.legend([handles[k] for k in order], [labels[k] for k in order], frameon=False,
              fontsize="small", loc="lower right")
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def plot_sobol(indices: xr.Dataset, *, ax: Any = None) -> Any:
    """First-order and total Sobol indices per input, with their confidence intervals.

    Parameters
    ----------
    indices : xarray.Dataset
        From :func:`simsav.sobol` or :func:`simsav.analysis.sensitivity.sobol_indices`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    names = [str(k) for k in indices["input"].values]
    pos = np.arange(len(names))
    for off, key, label in ((-0.2, "S1", "first order"), (0.2, "ST", "total")):
        est = indices[key].values
        err = np.vstack([est - indices[key + "_low"].values,
                         indices[key + "_high"].values - est])
        ax.bar(pos + off, est, width=0.4, label=label, yerr=err, capsize=3)
    ax.set_xticks(pos, names, rotation=15, ha="right")
    ax.axhline(0.0, color="0.4", linewidth=0.8)
    level = indices.attrs.get("level", 0.95)
    ax.set_ylabel(f"Sobol index (bars: {level:.0%} interval)")
    who = f"{indices.attrs['design']}, " if "design" in indices.attrs else ""
    ax.set_title(f"Share of the variance of {indices.attrs.get('figure', 'the figure')} — "
                 f"{who}n = {indices.attrs.get('n', '')}, "
                 f"{indices.attrs.get('evaluations', '')} evaluations")
    ax.legend(frameon=False, fontsize="small")
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def plot_lorenz(fit: Any, *, models: Sequence[str] | None = None, ax: Any = None) -> Any:
    """Lorenz curves: the claims' and each fitted model's (top 1% and 5% marked).

    Parameters
    ----------
    fit : ClaimsFit
        From :func:`simsav.fit_claims`.
    models : sequence of str, optional
        Models to draw (default: every fitted one but ``empirical``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    pts = fit.lorenz()
    names = [k for k in pts if k not in ("p", "observed", "empirical")] if models is None \
        else list(models)
    p = pts["p"]
    ax.plot(p, p, color="0.6", linewidth=0.8, linestyle=":", label="equal spending")
    for i, name in enumerate(names):
        ax.plot(p, pts[name], color=f"C{i % 10}", linewidth=1.2, label=name)
    ax.plot(p, pts["observed"], color="black", linewidth=2.0, label="claims")
    for q in (0.01, 0.05):
        share = float(1 - np.interp(1 - q, p, pts["observed"]))
        ax.annotate(f"top {q:.0%}: {share:.0%} of spending", (1 - q, 1 - share),
                    xytext=(-150, 10 + 30 * (q == 0.05)), textcoords="offset points",
                    arrowprops={"arrowstyle": "->", "color": "0.4"}, fontsize="small")
    ax.set_xlabel("Share of member-years, least costly first")
    ax.set_ylabel("Share of spending")
    ax.set_title(f"Lorenz curve — {Path(fit.claims.path).name}, "
                 f"{fit.claims.member_years:,.0f} member-years")
    ax.legend(frameon=False, fontsize="small", loc="upper left")
    ax.grid(True, alpha=0.3)
    return ax


def plot_tail_qq(fit: Any, *, models: Sequence[str] | None = None, ax: Any = None) -> Any:
    """Tail quantile–quantile plot: the claims' top 20% against each model's (log scales).

    Points on the diagonal mean the model's tail matches the data's; points above it,
    that the data's tail is heavier.

    Parameters
    ----------
    fit : ClaimsFit
        From :func:`simsav.fit_claims`.
    models : sequence of str, optional
        Models to draw (default: every fitted one but ``empirical``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    pts = fit.tail_qq()
    names = [k for k in pts if k not in ("p", "observed", "empirical")] if models is None \
        else list(models)
    obs = pts["observed"]
    for i, name in enumerate(names):
        ok = (pts[name] > 0) & (obs > 0)
        ax.plot(pts[name][ok], obs[ok], "o", color=f"C{i % 10}", markersize=3, label=name)
    lo = float(np.min(obs[obs > 0])) if np.any(obs > 0) else 1.0
    hi = float(np.max(obs)) if obs.size else 10.0
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=1.0, label="equal")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Model quantile, USD (log)")
    ax.set_ylabel("Claims quantile, USD (log)")
    ax.set_title(f"Tail Q–Q, top 20% of member-years — {Path(fit.claims.path).name}")
    ax.legend(frameon=False, fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    return ax
