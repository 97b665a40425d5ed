"""Plots of simsav results. Each takes a Dataset first and returns a matplotlib Axes.

matplotlib is imported inside the functions; ``show()`` is never called.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from simsav.contracts.msr import cms_msr

__all__ = [
    "plot_payout_distribution",
    "plot_msr_curve",
    "plot_waterfall",
    "plot_probabilities_by_size",
    "waterfall_steps",
    "plot_fan_chart",
    "plot_lorenz",
    "plot_sobol",
    "plot_sweep",
    "plot_sweep_heatmap",
    "plot_tail_qq",
    "plot_tornado",
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
