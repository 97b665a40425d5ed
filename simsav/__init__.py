"""simsav: Monte Carlo pricing of the risk in accountable-care shared-savings contracts.

The public API is listed in ``__all__`` and pinned by ``tests/test_public_api.py``.

Examples
--------
>>> import simsav as ss
>>> r = ss.settle_one(ss.presets["mssp-track1-2012"], benchmark=12_000, expenditure=11_500,
...                   n_beneficiaries=20_000, quality=0.9)
>>> r["outcome"], round(r["earned_savings"])
('savings', 4410000)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("simsav")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from simsav.analysis.calibrate import calibrate_puf  # noqa: E402
from simsav.analysis.moments import puf_moments  # noqa: E402
from simsav.analysis.msr_sizing import msr_curve  # noqa: E402
from simsav.analysis.program_check import program_check  # noqa: E402
from simsav.analysis.replicate import replicate_puf  # noqa: E402
from simsav.contracts import PRESETS, Contract, ContractError, get_preset, preset_names  # noqa: E402
from simsav.contracts.msr import cms_msr  # noqa: E402
from simsav.draw.providers import compare_distribution_rules  # noqa: E402
from simsav.io.puf import load_puf  # noqa: E402
from simsav.plotting import (  # noqa: E402
    plot_fan_chart,
    plot_msr_curve,
    plot_payout_distribution,
    plot_probabilities_by_size,
    plot_waterfall,
)
from simsav.results import open_dataset, save_dataset, summarize, summary_table  # noqa: E402
from simsav.scenario import Scenario, ScenarioError, load_scenario, parse_scenario  # noqa: E402
from simsav.settlement import Settlement, settle, settle_one  # noqa: E402
from simsav.settlement.finances import finance_summary  # noqa: E402
from simsav.simulate import (  # noqa: E402
    add_design,
    compare_attribution,
    simulate,
    sweep_sizes,
)
from simsav.spending import SpendingSpec, calibrate_to_concentration  # noqa: E402
from simsav.spending import calibrate as calibrate_spending  # noqa: E402

presets = PRESETS

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
    "get_preset",
    "load_puf",
    "load_scenario",
    "msr_curve",
    "open_dataset",
    "parse_scenario",
    "plot_fan_chart",
    "plot_msr_curve",
    "plot_payout_distribution",
    "plot_probabilities_by_size",
    "plot_waterfall",
    "preset_names",
    "program_check",
    "puf_moments",
    "presets",
    "replicate_puf",
    "save_dataset",
    "settle",
    "settle_one",
    "simulate",
    "sweep_sizes",
    "summarize",
    "summary_table",
]
