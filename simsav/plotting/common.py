"""What every plot shares: axes, money and count ticks, titles, the summary marks."""

from __future__ import annotations

import tomllib
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from simsav.results.formats import fmt_count, fmt_money, money_scale
from simsav.results.summary import summarize
from simsav.results.tidy import figure, summary_long


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
