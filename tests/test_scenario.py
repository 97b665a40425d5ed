"""Scenario files: validation at the boundary, TOML round trip, bundled scenarios."""

from pathlib import Path

import pytest

from simsav.scenario import ScenarioError, load_scenario, parse_scenario, validate_scenario_file

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").rglob("*.toml"))

ISSUE_EXAMPLE = """
name = "rural-aco-5k"
seed = 2026
sims = 10000

[population]
beneficiaries = 5000

[spending]
model = "medicare-ffs"
mean = 11000
truncate_at = 150000

[aco]
true_savings = 0.0
benchmark_error_sd = 0.0

[quality]
score = 0.9

[[designs]]
name = "Track 1"
preset = "mssp-track1-2012"

[[designs]]
name = "Two-sided 2%"
preset = "mssp-track2-2012"
msr = 0.02
"""


def test_issue_example_parses(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(ISSUE_EXAMPLE)
    scn = load_scenario(p)
    assert scn.population.beneficiaries == 5000
    c = scn.contracts()
    assert c["Two-sided 2%"].msr == 0.02 and c["Two-sided 2%"].two_sided


def test_toml_round_trip(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(ISSUE_EXAMPLE)
    scn = load_scenario(p)
    p2 = tmp_path / "s2.toml"
    p2.write_text(scn.to_toml())
    assert load_scenario(p2) == scn
    assert load_scenario(p2).to_toml() == scn.to_toml()


def test_every_problem_reported_with_its_key(tmp_path):
    bad = ISSUE_EXAMPLE.replace("beneficiaries = 5000", "beneficiaries = -5\nbenefits = 3")
    bad = bad.replace("score = 0.9", "score = 1.4")
    bad = bad.replace('preset = "mssp-track1-2012"', 'preset = "mssp-track9"')
    bad = bad.replace("msr = 0.02", "msr = 0.02\nmax_sharing_rate = 1.5")
    p = tmp_path / "bad.toml"
    p.write_text(bad)
    problems = dict(validate_scenario_file(p))
    assert "population.beneficiaries" in problems
    assert problems["population.benefits"] == "unknown key"
    assert "quality.score" in problems
    assert any("mssp-track9" in m for m in problems.values())
    assert any(k.endswith(".max_sharing_rate") and "[0, 1]" in m for k, m in problems.items())
    with pytest.raises(ScenarioError, match="problem"):
        load_scenario(p)


def test_unknown_top_level_key():
    with pytest.raises(ScenarioError, match="simz: unknown key"):
        parse_scenario({"name": "x", "simz": 3, "population": {"beneficiaries": 10},
                        "spending": {"model": "gamma", "mean": 1, "cv": 1},
                        "designs": [{"name": "a", "preset": "mssp-basic-a"}]})


def test_duplicate_design_names():
    with pytest.raises(ScenarioError, match="unique"):
        parse_scenario({"name": "x", "population": {"beneficiaries": 10},
                        "spending": {"model": "gamma", "mean": 1, "cv": 1},
                        "designs": [{"name": "a", "preset": "mssp-basic-a"},
                                    {"name": "a", "preset": "mssp-basic-b"}]})


def test_not_toml(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text("name = [")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(p)


def test_strata_shares_must_sum_to_one():
    with pytest.raises(ScenarioError, match="sum to 1"):
        parse_scenario({"name": "x", "population": {"beneficiaries": 10},
                        "spending": {"model": "gamma", "mean": 1, "cv": 1},
                        "strata": [{"name": "esrd", "share": 0.5}],
                        "designs": [{"name": "a", "preset": "mssp-basic-a"}]})


def test_beta_quality_needs_mean_and_sd():
    with pytest.raises(ScenarioError, match="quality"):
        parse_scenario({"name": "x", "population": {"beneficiaries": 10},
                        "spending": {"model": "gamma", "mean": 1, "cv": 1},
                        "quality": {"distribution": "beta", "mean": 0.8},
                        "designs": [{"name": "a", "preset": "mssp-basic-a"}]})


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_bundled_scenarios_validate_and_run_small(path):
    from simsav.results import summarize
    from simsav.simulation import simulate

    assert validate_scenario_file(path) == []
    ds = simulate(load_scenario(path), n_sims=64)
    s = summarize(ds)
    assert ((s["p_clear_msr"] >= 0) & (s["p_clear_msr"] <= 1)).all()


def test_one_scenario_per_preset():
    from simsav.contracts import PRESETS

    have = {p.stem for p in (ROOT / "scenarios" / "presets").glob("*.toml")}
    assert set(PRESETS) == have
    for name in PRESETS:
        scn = load_scenario(ROOT / "scenarios" / "presets" / f"{name}.toml")
        assert [d.preset for d in scn.designs] == [name]


@pytest.mark.parametrize("stem", ["rural-aco-5k", "physician-group-20k", "health-system-80k",
                                  "commercial-10k"])
def test_realistic_cases_present(stem):
    assert (ROOT / "scenarios" / f"{stem}.toml").exists()
