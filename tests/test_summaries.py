"""Summaries that tell the truth about risk: tails, every year, the agreement, intervals.

Each defect found when a new user tried simsav has a test here that fails on the code
before the fix; the intervals are checked for coverage against closed forms.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

import simsav as ss
from simsav.cli import main
from simsav.results.intervals import expected_shortfall, probability, quantile

ROOT = Path(__file__).resolve().parents[1]


def test_tail_loss_is_the_mean_of_the_worst_five_percent():
    # physician-group-20k, BASIC E with the variable MSR: few sims owe losses, so the 95th
    # percentile of losses is 0; averaging the values at or above it gave the plain mean
    scn = ss.load_scenario(ROOT / "scenarios" / "physician-group-20k.toml")
    ds = ss.simulate(scn, n_sims=4_000)
    s = ss.summarize(ds)
    for d in ds["design"].values:
        losses = np.sort(ds["shared_losses"].sel(design=d).values[:, 0])
        worst = losses[-200:].mean()  # the worst 5% of 4,000 sims
        assert s["tail_loss_95"].sel(design=d).item() == pytest.approx(worst, rel=1e-12)
        worst_net = np.sort(ds["aco_net"].sel(design=d).values[:, 0])[:200].mean()
        assert s["aco_net_tail_95"].sel(design=d).item() == pytest.approx(worst_net, rel=1e-12)
    e = s.sel(design="BASIC E, variable MSR", year=1)
    assert float(e["p_owe_loss"]) < 0.05
    assert float(e["tail_loss_95"]) > 10 * float(e["expected_losses"])


def test_expected_shortfall_with_ties_and_its_error():
    x = np.r_[np.zeros(9_800), np.full(200, 50.0)]
    assert float(expected_shortfall(x, 0.95).value) == pytest.approx(20.0)  # 200 x 50 / 500
    assert float(expected_shortfall(x, 0.99).value) == pytest.approx(50.0)
    rng = np.random.default_rng(1)
    # exponential(1): ES at p is 1 - log(1 - p); its SE shrinks as 1/sqrt(n)
    est = [expected_shortfall(rng.exponential(size=20_000), 0.95) for _ in range(200)]
    truth = 1 - np.log(0.05)
    z = [(e.value - truth) / e.se for e in est]
    assert abs(np.mean(z)) < 0.25 and 0.8 < np.std(z) < 1.2


def test_a_probability_of_zero_has_a_width():
    e = probability(np.zeros(400, bool))
    assert e.value == 0.0 and e.se > 0 and e.low == 0.0 and 0 < e.high < 0.01
    e = probability(np.ones(400, bool))
    assert e.value == 1.0 and e.se > 0 and 0.99 < e.low < 1.0 and e.high == 1.0


def test_quantile_interval_is_distribution_free():
    # order-statistic intervals hold at least their level for any continuous distribution
    rng = np.random.default_rng(2)
    x = rng.standard_normal((400, 1_000)).T  # 400 samples of 1,000 along axis 0
    e = quantile(x, 0.95)
    coverage = np.mean((e.low <= 1.6448536269514722) & (1.6448536269514722 <= e.high))
    assert 0.93 <= coverage <= 0.99
    e = quantile(np.arange(1_000.0), 0.95)
    assert e.low < e.value < e.high


def test_tidy_table_every_year_and_the_agreement():
    scn = ss.load_scenario(ROOT / "scenarios" / "eac-recommendations.toml")
    ds = ss.simulate(scn, n_sims=200)
    t = ss.summarize(ds, frame=True)
    assert set(t["year"]) == {"1", "2", "3", "agreement"}
    assert not t.duplicated(["design", "year", "metric"]).any()
    assert (t["low"] <= t["value"] + 1e-9).all() and (t["value"] <= t["high"] + 1e-9).all()
    paid = t[(t.metric == "agreement_expected_total_paid")].set_index("design")["value"]
    # the deferred design pays its true-up at the end: more than today's design
    assert paid["Rec 4b: deferred MSR"] > paid["Today: BASIC B"]
    up = t[(t.metric == "agreement_expected_true_up")].set_index("design")["value"]
    assert up["Rec 4b: deferred MSR"] > 0 and up["Today: BASIC B"] == 0
    # to_dataframe has one row per design and year: no quantile dimension repeats figures
    df = ss.summarize(ds).to_dataframe()
    assert len(df) == ds.sizes["design"] * ds.sizes["year"]
    wide = ss.summary_table(ss.summarize(ds), year="agreement")
    assert "agreement_p_any_year_paid" in wide.columns and len(wide) == 8


def test_run_prints_every_year_the_agreement_and_the_finances(tmp_path, capsys):
    eac = ROOT / "scenarios" / "eac-recommendations.toml"
    assert main(["run", str(eac), "--sims", "150", "--quiet", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    for words in ("Year 1", "Year 3", "The agreement as a whole (3 years)", "E[true-up]",
                  "150 sims, seed 6", "95% Monte Carlo intervals"):
        assert words in out
    csv = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert set(csv["year"].astype(str)) == {"1", "2", "3", "agreement"}
    fin = ROOT / "scenarios" / "aco-finances.toml"
    assert main(["run", str(fin), "--sims", "150", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "P(break even)" in out and "reserve, worst yr" in out
    assert "Share of sims breaking even for good, by year" in out


def test_compare_prints_intervals_and_names_sims_and_seed(capsys):
    argv = ["compare", str(ROOT / "scenarios" / "rural-aco-5k.toml"),
            str(ROOT / "scenarios" / "commercial-10k.toml"), "--sims", "120", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "(" in out and "±" in out
    assert "rural-aco-5k: 120 sims, seed 2026" in out


def test_target_precision_appends_until_the_intervals_are_narrow(capsys):
    scn = ss.load_scenario(ROOT / "scenarios" / "physician-group-20k.toml")
    from simsav.simulation import simulate_to_precision

    ds = simulate_to_precision(scn, target=0.02, max_sims=20_000, draws="aggregate")
    assert ds.attrs["target_met"] == 1 and ds.attrs["widest_interval"] <= 0.02
    small = ss.simulate(scn, n_sims=scn.sims, draws="aggregate")
    n = scn.sims
    np.testing.assert_array_equal(ds["aco_net"].values[:n], small["aco_net"].values)
    assert main(["run", str(ROOT / "scenarios" / "rural-aco-5k.toml"), "--target-se", "0.05",
                 "--max-sims", "2000", "--quiet"]) == 0
    assert "Target ±5.00%" in capsys.readouterr().out


def test_json_summary_and_xlsx_note(tmp_path, capsys, monkeypatch):
    rural = ROOT / "scenarios" / "rural-aco-5k.toml"
    assert main(["run", str(rural), "--sims", "80", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["summary"]
    assert {"design", "year", "metric", "value", "se", "low", "high"} <= set(rows[0])
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if it were not installed
    assert main(["run", str(rural), "--sims", "80", "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "summary.xlsx not written: openpyxl is not installed" in captured.err
    assert "summary.xlsx" not in captured.out and not (tmp_path / "o" / "summary.xlsx").exists()


def test_a_closed_pipe_is_not_a_traceback():
    res = subprocess.run(
        f"{sys.executable} -m simsav.cli run {ROOT / 'scenarios' / 'rural-aco-5k.toml'} "
        "--sims 60 --quiet | head -c 10", shell=True, capture_output=True, text=True,
        timeout=120)
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr


def test_low_revenue_sharing_below_the_msr_has_its_own_outcome():
    r = ss.settle_one(ss.presets["mssp-basic-b"], benchmark=12_000, expenditure=11_800,
                      n_beneficiaries=6_000, low_revenue=True)
    assert r["outcome"] == "below-msr-reduced" and r["earned_savings"] > 0
    r = ss.settle_one(ss.presets["mssp-basic-b"], benchmark=12_000, expenditure=11_800,
                      n_beneficiaries=6_000)
    assert r["outcome"] == "corridor" and r["earned_savings"] == 0


def test_terms_from_the_command_line(capsys):
    argv = ["settle", "--preset", "ngaco-a", "--benchmark", "12000", "--expenditure", "11000",
            "--beneficiaries", "20000", "--term", "benchmark_discount=0.045", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["benchmark_total"] == pytest.approx(
        12_000 * 0.955 * 20_000)
    assert main(["settle", "--preset", "mssp-basic-b", "--benchmark", "12000",
                 "--expenditure", "11800", "--beneficiaries", "6000", "--low-revenue",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outcome"] == "below-msr-reduced"
    rural = str(ROOT / "scenarios" / "rural-aco-5k.toml")
    assert main(["run", rural, "--sims", "50", "--term", "Nope:msr=0.01"]) == 2
    assert "no design named 'Nope'" in capsys.readouterr().err
    assert main(["run", rural, "--sims", "50", "--json", "--term", "Track 1:msr=0.0"]) == 0
    rows = json.loads(capsys.readouterr().out)["summary"]
    msr0 = [r for r in rows if r["design"] == "Track 1" and r["metric"] == "p_clear_msr"]
    assert msr0[0]["value"] > 0.3  # with no MSR, about half the sims clear it


@pytest.mark.slow
def test_interval_coverage_against_closed_forms():
    """95% intervals of P(clear MSR), the mean and the 95th percentile of the ACO's net cover
    the truth in 93-97% of independent runs (gamma spending: the mean of N beneficiaries is
    gamma, so all three have closed forms). 1,200 seeds: the window is +-3.2 SE."""
    n, mu, cv, msr = 1_000, 10_000.0, 1.5, 0.01
    k, theta = 1 / cv**2, mu * cv**2
    scn = ss.parse_scenario({
        "name": "coverage", "population": {"beneficiaries": n},
        "spending": {"model": "gamma", "mean": mu, "cv": cv},
        "designs": [{"name": "c", "msr": msr, "max_sharing_rate": 0.5,
                     "quality_method": "flat", "sequestration": 0.0, "payment_limit": 1.0}]})
    c = (1 - msr) * mu  # cleared when the mean spending is at most c
    p = special.gammainc(n * k, c * n / theta)
    mean = 0.5 * n * mu * (p - special.gammainc(n * k + 1, c * n / theta))
    q95 = 0.5 * n * (mu - special.gammaincinv(n * k, 0.05) * theta / n)
    truths = {"p_clear_msr": p, "expected_aco_net": mean, "aco_net_q95": q95}
    hits = dict.fromkeys(truths, 0)
    runs = 1_200
    for seed in range(runs):
        s = ss.summarize(ss.simulate(scn, n_sims=1_000, seed=seed, draws="aggregate"),
                         tail_levels=(0.95,))
        for name, truth in truths.items():
            hits[name] += s["low_" + name].item() <= truth <= s["high_" + name].item()
    for name, h in hits.items():
        assert 0.93 <= h / runs <= 0.97, (name, h / runs)
