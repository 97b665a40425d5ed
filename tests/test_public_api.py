"""The curated public API is pinned: adding or removing a name is a deliberate change."""

import simsav

EXPECTED = {
    "Contract", "ContractError", "PRESETS", "Scenario", "ScenarioError", "Settlement",
    "SpendingSpec", "__version__", "add_design", "calibrate_spending", "calibrate_to_concentration",
    "cms_msr", "get_preset", "load_scenario", "open_dataset", "parse_scenario",
    "plot_payout_distribution", "preset_names", "presets", "save_dataset", "settle",
    "settle_one", "simulate", "summarize", "summary_table", "load_puf", "replicate_puf",
    "msr_curve", "plot_msr_curve", "calibrate_puf", "program_check", "puf_moments",
    "sweep_sizes", "compare_attribution", "compare_distribution_rules", "finance_summary",
    "plot_fan_chart", "plot_probabilities_by_size", "plot_waterfall", "simulate_program",
    # what-if tools (issue 15)
    "sweep", "tornado", "sobol", "solve", "fit_claims", "read_claims", "plot_sweep",
    "plot_sweep_heatmap", "plot_tornado", "plot_sobol", "plot_lorenz", "plot_tail_qq",
}


def test_public_api_pinned():
    assert set(simsav.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(simsav, name), name
