"""Multi-year agreements: the fan of cumulative payouts and of the benchmark's spread."""

from __future__ import annotations

from typing import Any

import xarray as xr

from simsav.analysis.current_models import benchmark_spread
from simsav.plotting.common import (
    _axes,
    _context,
    _money_axis,
)

__all__ = ["plot_benchmark_fan", "plot_fan_chart"]


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
