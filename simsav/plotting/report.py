"""The charts of a report."""

from __future__ import annotations

import io
from typing import Any

import xarray as xr

from simsav.plotting.agreement import plot_fan_chart
from simsav.plotting.payouts import plot_payout_distribution
from simsav.plotting.settlement import plot_waterfall
from simsav.results.report import Figure

__all__ = ["report_figures"]


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
