"""What-if plots: sweeps, sensitivity, and a population's own claims."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from simsav.plotting.common import (
    _axes,
)

__all__ = [
    "plot_lorenz",
    "plot_sobol",
    "plot_sweep",
    "plot_sweep_heatmap",
    "plot_tail_qq",
    "plot_tornado",
]


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
