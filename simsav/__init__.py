"""simsav: Monte Carlo pricing of the risk in accountable-care shared-savings contracts.

The public API is listed in ``__all__`` and pinned by ``tests/test_public_api.py``. Names
load lazily (PEP 562): ``import simsav`` costs a few milliseconds, and ``simsav.settle_one``
loads the contract rules alone, not the simulator, xarray or numba.

The flow of data: scenario → :mod:`simsav.draw` (every random input) →
:mod:`simsav.reconcile` (every design, every year, through :mod:`simsav.settlement`) →
:mod:`simsav.results` (the Dataset, summaries, files) → plots and the CLI.

Examples
--------
>>> import simsav as ss
>>> r = ss.settle_one(ss.presets["mssp-track1-2012"], benchmark=12_000, expenditure=11_500,
...                   n_beneficiaries=20_000, quality=0.9)
>>> r["outcome"], round(r["earned_savings"])
('savings', 4410000)
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("simsav")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

#: Public name -> (module, attribute in it).
_EXPORTS: dict[str, tuple[str, str]] = {
    "Contract": ("simsav.contracts", "Contract"),
    "ContractError": ("simsav.contracts", "ContractError"),
    "PRESETS": ("simsav.contracts", "PRESETS"),
    "presets": ("simsav.contracts", "PRESETS"),
    "get_preset": ("simsav.contracts", "get_preset"),
    "preset_names": ("simsav.contracts", "preset_names"),
    "cms_msr": ("simsav.contracts.msr", "cms_msr"),
    "Settlement": ("simsav.settlement", "Settlement"),
    "settle": ("simsav.settlement", "settle"),
    "settle_one": ("simsav.settlement", "settle_one"),
    "Scenario": ("simsav.scenario", "Scenario"),
    "ScenarioError": ("simsav.scenario", "ScenarioError"),
    "load_scenario": ("simsav.scenario", "load_scenario"),
    "parse_scenario": ("simsav.scenario", "parse_scenario"),
    "SpendingSpec": ("simsav.spending", "SpendingSpec"),
    "calibrate_spending": ("simsav.spending", "calibrate"),
    "calibrate_to_concentration": ("simsav.spending", "calibrate_to_concentration"),
    "simulate": ("simsav.simulation", "simulate"),
    "add_design": ("simsav.simulation", "add_design"),
    "summarize": ("simsav.results.summary", "summarize"),
    "summary_table": ("simsav.results.summary", "summary_table"),
    "finance_summary": ("simsav.results.finances", "finance_summary"),
    "open_dataset": ("simsav.results.files", "open_dataset"),
    "save_dataset": ("simsav.results.files", "save_dataset"),
    "sweep_sizes": ("simsav.analysis.sweep", "sweep_sizes"),
    "sweep": ("simsav.analysis.sweep", "sweep"),
    "tornado": ("simsav.analysis.sensitivity", "tornado"),
    "sobol": ("simsav.analysis.sensitivity", "sobol"),
    "solve": ("simsav.analysis.solve", "solve"),
    "fit_claims": ("simsav.analysis.claims", "fit_claims"),
    "read_claims": ("simsav.io.claims", "read_claims"),
    "compare_attribution": ("simsav.analysis.compare", "compare_attribution"),
    "compare_distribution_rules": ("simsav.analysis.compare", "compare_distribution_rules"),
    "msr_curve": ("simsav.analysis.msr_sizing", "msr_curve"),
    "calibrate_puf": ("simsav.analysis.calibrate", "calibrate_puf"),
    "program_check": ("simsav.analysis.program_check", "program_check"),
    "puf_moments": ("simsav.analysis.moments", "puf_moments"),
    "load_puf": ("simsav.io.puf", "load_puf"),
    "replicate_puf": ("simsav.analysis.replicate", "replicate_puf"),
    "simulate_program": ("simsav.program.simulate", "simulate_program"),
    "plot_payout_distribution": ("simsav.plotting", "plot_payout_distribution"),
    "plot_msr_curve": ("simsav.plotting", "plot_msr_curve"),
    "plot_probabilities_by_size": ("simsav.plotting", "plot_probabilities_by_size"),
    "plot_waterfall": ("simsav.plotting", "plot_waterfall"),
    "plot_fan_chart": ("simsav.plotting", "plot_fan_chart"),
    "plot_sweep": ("simsav.plotting", "plot_sweep"),
    "plot_sweep_heatmap": ("simsav.plotting", "plot_sweep_heatmap"),
    "plot_tornado": ("simsav.plotting", "plot_tornado"),
    "plot_sobol": ("simsav.plotting", "plot_sobol"),
    "plot_lorenz": ("simsav.plotting", "plot_lorenz"),
    "plot_tail_qq": ("simsav.plotting", "plot_tail_qq"),
}

__all__ = [
    "Contract",
    "ContractError",
    "PRESETS",
    "Scenario",
    "ScenarioError",
    "Settlement",
    "SpendingSpec",
    "__version__",
    "add_design",
    "calibrate_puf",
    "calibrate_spending",
    "calibrate_to_concentration",
    "cms_msr",
    "compare_attribution",
    "compare_distribution_rules",
    "finance_summary",
    "fit_claims",
    "get_preset",
    "load_puf",
    "load_scenario",
    "msr_curve",
    "open_dataset",
    "parse_scenario",
    "plot_fan_chart",
    "plot_lorenz",
    "plot_msr_curve",
    "plot_payout_distribution",
    "plot_probabilities_by_size",
    "plot_sobol",
    "plot_sweep",
    "plot_sweep_heatmap",
    "plot_tail_qq",
    "plot_tornado",
    "plot_waterfall",
    "preset_names",
    "presets",
    "program_check",
    "puf_moments",
    "read_claims",
    "replicate_puf",
    "save_dataset",
    "settle",
    "settle_one",
    "simulate",
    "simulate_program",
    "sobol",
    "solve",
    "summarize",
    "summary_table",
    "sweep",
    "sweep_sizes",
    "tornado",
]


def __getattr__(name: str) -> Any:
    """Load a public name on first use (PEP 562)."""
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'simsav' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from simsav.analysis.calibrate import calibrate_puf
    from simsav.analysis.claims import fit_claims
    from simsav.analysis.compare import compare_attribution, compare_distribution_rules
    from simsav.analysis.moments import puf_moments
    from simsav.analysis.msr_sizing import msr_curve
    from simsav.analysis.program_check import program_check
    from simsav.analysis.replicate import replicate_puf
    from simsav.analysis.sensitivity import sobol, tornado
    from simsav.analysis.solve import solve
    from simsav.analysis.sweep import sweep, sweep_sizes
    from simsav.contracts import PRESETS, Contract, ContractError, get_preset, preset_names
    from simsav.contracts import PRESETS as presets
    from simsav.contracts.msr import cms_msr
    from simsav.io.claims import read_claims
    from simsav.io.puf import load_puf
    from simsav.plotting import (
        plot_fan_chart,
        plot_lorenz,
        plot_msr_curve,
        plot_payout_distribution,
        plot_probabilities_by_size,
        plot_sobol,
        plot_sweep,
        plot_sweep_heatmap,
        plot_tail_qq,
        plot_tornado,
        plot_waterfall,
    )
    from simsav.program.simulate import simulate_program
    from simsav.results.files import open_dataset, save_dataset
    from simsav.results.finances import finance_summary
    from simsav.results.summary import summarize, summary_table
    from simsav.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
    from simsav.settlement import Settlement, settle, settle_one
    from simsav.simulation import add_design, simulate
    from simsav.spending import SpendingSpec, calibrate_to_concentration
    from simsav.spending import calibrate as calibrate_spending
