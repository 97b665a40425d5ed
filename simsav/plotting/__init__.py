"""Plots of simsav results. Each takes a Dataset first and returns a matplotlib Axes.

matplotlib is imported inside the functions; ``show()`` is never called.
"""

from __future__ import annotations

from simsav.plotting.agreement import plot_benchmark_fan, plot_fan_chart
from simsav.plotting.payouts import plot_payout_distribution
from simsav.plotting.report import report_figures
from simsav.plotting.settlement import plot_waterfall, waterfall_steps
from simsav.plotting.sizing import plot_msr_curve, plot_probabilities_by_size
from simsav.plotting.whatif import (
    plot_lorenz,
    plot_sobol,
    plot_sweep,
    plot_sweep_heatmap,
    plot_tail_qq,
    plot_tornado,
)

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
