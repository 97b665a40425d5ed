"""What-if tools (issue 15): sweeps, the solver, one-at-a-time and Sobol sensitivity."""

import json
import math

import numpy as np
import pytest
import xarray as xr
from scipy import special, stats

import simsav as ss
from simsav.analysis.overrides import (
    get_key,
    parse_setting,
    parse_values,
    set_keys,
    settles_only,
    split_key,
)
from simsav.analysis.sensitivity import input_distribution, sobol_indices
from simsav.analysis.solve import SolveError, term_range
from simsav.cli import main
from simsav.scenario import ScenarioError, parse_scenario

BASE = {
    "name": "what-if", "seed": 7, "sims": 400,
    "population": {"beneficiaries": 1_000},
    "spending": {"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99},
    "aco": {"true_savings_sd": 0.005},
    "quality": {"score": 0.9},
    "designs": [{"name": "One-sided", "preset": "mssp-track1-2012"},
                {"name": "Two-sided", "two_sided": True, "msr": 0.02, "loss_rate": 0.5,
                 "max_sharing_rate": 0.5, "quality_method": "flat"}],
}
SCN = parse_scenario(BASE)


def _gamma_scenario(n: int, cv: float, **design) -> ss.Scenario:
    return parse_scenario({
        "name": "gamma", "population": {"beneficiaries": n},
        "spending": {"model": "gamma", "mean": 10_000.0, "cv": cv},
        "quality": {"score": 1.0},
        "designs": [{"name": "D", **design}],
    })


# ------------------------------------------------------------------------- keys


def test_keys_and_values_parse():
    assert split_key("designs.*.msr") == ["designs", "*", "msr"]
    assert split_key("designs[Two-sided 2.5%].msr") == ["designs", "Two-sided 2.5%", "msr"]
    assert parse_values("-0.02:0.04:7") == [-0.02, -0.01, 0.0, 0.01, 0.02, 0.03, 0.04]
    assert parse_values("5000:20000:4") == [5000, 10000, 15000, 20000]
    assert parse_values("cms,0.02,true") == ["cms", 0.02, True]
    assert parse_setting("population.beneficiaries=5000,10000") == (
        "population.beneficiaries", [5000, 10000])
    assert settles_only("designs.*.msr") and settles_only("finances.x")
    assert not settles_only("population.beneficiaries")
    for bad in ["", "a..b", "aco.", "x=1:2", "=3"]:
        with pytest.raises(ValueError):
            parse_setting(bad)


def test_set_keys_validates_with_the_scenario_rules():
    s = set_keys(SCN, {"designs.Two-sided.msr": 0.03, "aco.true_savings": 0.01,
                       "spending.mean": 9_000.0})
    assert s.contracts()["Two-sided"].msr == 0.03 and s.aco.true_savings == 0.01
    assert s.contracts()["One-sided"].msr == "cms"
    assert get_key(s, "designs.*.name") == "One-sided"
    with pytest.raises(ScenarioError, match=r"aco.true_savings: must be a number in \[-0.5"):
        set_keys(SCN, {"aco.true_savings": 0.9})
    with pytest.raises(ScenarioError, match="unknown key"):
        set_keys(SCN, {"aco.bogus": 1.0})
    with pytest.raises(ScenarioError, match="no entry named 'Nope'"):
        set_keys(SCN, {"designs.Nope.msr": 0.01})
    with pytest.raises(ScenarioError, match="cannot be swept"):
        set_keys(SCN, {"seed": 3})
    with pytest.raises(ScenarioError, match="whole number"):
        set_keys(SCN, {"population.beneficiaries": 1000.5})


# ------------------------------------------------------------------------ sweeps


def test_sweep_over_size_equals_separate_runs_with_the_same_seed():
    sizes = [500, 1_500]
    sw = ss.sweep(SCN, {"population.beneficiaries": sizes}, n_sims=300)
    for n in sizes:
        alone = ss.summarize(ss.simulate(set_keys(SCN, {"population.beneficiaries": n}),
                                         n_sims=300))
        point = sw.sel({"population.beneficiaries": n}, drop=True)
        for k in alone.data_vars:
            np.testing.assert_array_equal(point[k].values, alone[k].values, err_msg=k)
    assert sw.attrs["seed"] == 7 and sw.attrs["n_sims"] == 300


def test_design_keys_resettle_the_same_draws_exactly():
    sw = ss.sweep(SCN, {"aco.true_savings": [0.0, 0.02],
                        "designs.Two-sided.msr": [0.01, 0.03]}, n_sims=300)
    assert sw["p_clear_msr"].dims[:2] == ("aco.true_savings", "designs.Two-sided.msr")
    alone = ss.summarize(ss.simulate(
        set_keys(SCN, {"aco.true_savings": 0.02, "designs.Two-sided.msr": 0.03}), n_sims=300))
    point = sw.sel({"aco.true_savings": 0.02, "designs.Two-sided.msr": 0.03}, drop=True)
    for k in alone.data_vars:
        np.testing.assert_allclose(point[k].values, alone[k].values, rtol=0, atol=1e-9,
                                   err_msg=k)
    # a lower MSR on the same draws can only clear more often
    p = sw["p_clear_msr"].sel(design="Two-sided").isel(year=-1)
    assert np.all(p.isel({"designs.Two-sided.msr": 0}) >= p.isel({"designs.Two-sided.msr": 1}))


def test_true_savings_points_share_their_draws():
    """Along aco.true_savings the spending draws are the same: expenditure is X (1 - t), so
    the mean savings rate is exactly linear in t. Independent draws would leave a second
    difference of the size of the Monte Carlo error (~1e-3 here)."""
    sw = ss.sweep(SCN, {"aco.true_savings": [0.0, 0.02, 0.04]}, n_sims=300)
    r = sw["expected_savings_rate"].sel(design="One-sided").isel(year=-1).values
    assert abs(r[2] - 2 * r[1] + r[0]) < 1e-12
    assert float(sw["se_expected_savings_rate"].max()) > 1e-3


def test_sweep_errors_name_key_and_value():
    with pytest.raises(ScenarioError) as e:
        ss.sweep(SCN, {"aco.true_savings": [0.0, 0.9], "designs.*.msr": [0.01, -1]})
    text = str(e.value)
    assert "aco.true_savings = 0.9" in text and "designs.*.msr = -1" in text
    with pytest.raises(ValueError, match="repeated"):
        ss.sweep(SCN, {"aco.true_savings": [0.0, 0.0]})
    with pytest.raises(ValueError, match="at least one key"):
        ss.sweep(SCN, {})


def test_sweep_sizes_is_a_sweep_over_population(tmp_path):
    sw = ss.sweep_sizes(SCN, [500, 1_000], n_sims=200)
    assert list(sw["size"].values) == [500, 1_000] and sw["size"].dtype == np.int64
    alone = ss.summarize(ss.simulate(set_keys(SCN, {"population.beneficiaries": 1_000}),
                                     n_sims=200))
    np.testing.assert_array_equal(sw["p_clear_msr"].sel(size=1_000).values,
                                  alone["p_clear_msr"].values)
    ss.save_dataset(sw, tmp_path / "sweep.nc")
    back = ss.open_dataset(tmp_path / "sweep.nc")
    xr.testing.assert_allclose(back["p_clear_msr"], sw["p_clear_msr"])


def test_sweep_with_dask_is_identical():
    distributed = pytest.importorskip("dask.distributed")
    grid = {"population.beneficiaries": [500, 800], "designs.Two-sided.msr": [0.01, 0.02]}
    local = ss.sweep(SCN, grid, n_sims=200)
    seen = []
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=":0") as client:
        remote = ss.sweep(SCN, grid, n_sims=200, scheduler=client, progress=seen.append)
    xr.testing.assert_identical(local, remote)
    assert sum(seen) == 2 * 200


# ------------------------------------------------------------------------- solver


def test_solver_msr_matches_the_gamma_closed_form():
    """Gamma spending, no true savings, benchmark = mean: the sum of n draws is
    Gamma(n k, theta), so P(clear MSR m) = P(S <= n mu (1 - m)) and the MSR at which it is
    alpha is 1 - gammaincinv(n k, alpha) / (n k)."""
    n, cv, alpha = 1_000, 1.5, 0.05
    s = ss.solve(_gamma_scenario(n, cv, msr=0.02), term="msr", figure="p_clear_msr",
                 target=alpha, n_sims=10_000, seed=11)
    k = n / cv**2
    exact = 1.0 - special.gammaincinv(k, alpha) / k
    assert s.band_low <= exact <= s.band_high
    assert s.band_high - s.band_low < 0.1 * exact  # the band is informative
    assert s.monotone and not s.increasing and s.achieved <= alpha
    assert s.se == pytest.approx(math.sqrt(alpha * (1 - alpha) / 10_000), rel=0.05)


def test_solver_any_numeric_term_benchmark_discount():
    """The discount scales the benchmark: clear when S <= n mu (1 - d)(1 - m)."""
    n, cv, m, alpha = 1_000, 1.5, 0.01, 0.05
    s = ss.solve(_gamma_scenario(n, cv, msr=m), term="benchmark_discount",
                 figure="p_clear_msr", target=alpha, n_sims=5_000, seed=3)
    k = n / cv**2
    exact = 1.0 - special.gammaincinv(k, alpha) / (k * (1.0 - m))
    assert s.band_low <= exact <= s.band_high


def test_solver_says_when_the_target_cannot_be_reached():
    scn = _gamma_scenario(2_000, 1.5, msr=0.02)
    with pytest.raises(SolveError, match=r"cannot be reached with msr in \[0, 1\].*goes from"):
        ss.solve(scn, term="msr", figure="p_clear_msr", target=0.9, n_sims=500)
    with pytest.raises(SolveError, match="takes no number"):
        ss.solve(scn, term="two_sided", figure="p_clear_msr", target=0.1, n_sims=500)
    with pytest.raises(SolveError, match="not a contract term"):
        ss.solve(scn, term="nope", figure="p_clear_msr", target=0.1, n_sims=500)
    with pytest.raises(SolveError, match="name one of"):
        ss.solve(SCN, term="msr", figure="p_clear_msr", target=0.1, n_sims=500)
    with pytest.raises(SolveError, match="not a summary figure"):
        ss.solve(scn, term="msr", figure="p_nope", target=0.1, n_sims=500)


def test_term_ranges_come_from_the_contract_fields():
    assert term_range("msr") == (0.0, 1.0)
    assert term_range("payment_limit") == (0.0, 1.0)
    lo, hi = term_range("benchmark_discount")  # [0, 1): the open end moves inside
    assert lo == 0.0 and 0.999 < hi < 1.0
    lo, hi = term_range("goal_target")  # (0, 0.5]
    assert 0.0 < lo < 1e-300 and hi == 0.5


# ------------------------------------------------------------------- sensitivity


def _ishigami(x, a=7.0, b=0.1):
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_ishigami_within_their_sampling_error():
    """Ishigami & Homma (1990); exact indices from the variance decomposition, e.g.
    Saltelli et al. (2008) Global Sensitivity Analysis, the Primer, section 4.4."""
    a, b = 7.0, 0.1
    v = a**2 / 8 + b * np.pi**4 / 5 + b**2 * np.pi**8 / 18 + 0.5
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    s1, st = [v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v]
    r = sobol_indices(_ishigami, [f"uniform:{-np.pi}:{np.pi}"] * 3, 2**13, seed=2026)
    for i in range(3):
        assert abs(r["S1"].values[i] - s1[i]) < 3 * r["S1_se"].values[i]
        assert abs(r["ST"].values[i] - st[i]) < 3 * r["ST_se"].values[i]
    assert r["S1_se"].max() < 0.03 and r["ST_se"].max() < 0.03  # the check has teeth
    # scipy's own implementation of the same estimators, on its own sample: the two differ
    # by sampling error alone (about sqrt(2) of ours)
    ref = stats.sobol_indices(func=lambda x: _ishigami(x.T)[None, :], n=2**13,
                              dists=[stats.uniform(-np.pi, 2 * np.pi)] * 3,
                              rng=np.random.default_rng(1))
    for mine, theirs, se in ((r["S1"], ref.first_order, r["S1_se"]),
                             (r["ST"], ref.total_order, r["ST_se"])):
        assert np.all(np.abs(np.ravel(theirs) - mine.values) < 3 * np.sqrt(2) * se.values)


def test_sobol_indices_of_a_linear_function_are_exact():
    r = sobol_indices(lambda x: x[:, 0] + 2 * x[:, 1], ["normal:0:1", "uniform:0:1"], 1024)
    exact = np.array([1.0, 4 / 12]) / (1 + 4 / 12)
    np.testing.assert_allclose(r["S1"].values, exact, atol=0.02)
    with pytest.raises(ValueError, match="power of 2"):
        sobol_indices(lambda x: x[:, 0], ["uniform:0:1"], 100)


def test_input_distributions():
    assert input_distribution("uniform:0:2").mean() == pytest.approx(1.0)
    assert input_distribution(("beta", 2, 2, 0, 0.1)).mean() == pytest.approx(0.05)
    assert input_distribution("truncnormal:0:1:-1:1").ppf(1.0) == pytest.approx(1.0)
    for bad in ["gauss:0:1", "uniform:1:0", "normal:0", "normal:0:x"]:
        with pytest.raises(ValueError):
            input_distribution(bad)


def test_sobol_of_a_scenario_finds_an_input_that_does_nothing():
    """The one-sided design's P(clear) does not depend on the two-sided design's loss rate:
    f(A) and f(AB_i) are then equal sim for sim (common random numbers), so its total
    index is exactly 0."""
    res = ss.sobol(SCN, {"aco.true_savings": "uniform:0:0.03",
                         "designs.Two-sided.loss_rate": "uniform:0.3:0.7",
                         "population.beneficiaries": "uniform:600:1400"},
                   design="One-sided", n=8, n_sims=200, n_boot=50)
    assert res.sizes["input"] == 3 and res.attrs["evaluations"] == 8 * 5
    st = dict(zip(res["input"].values.tolist(), res["ST"].values, strict=True))
    assert st["designs.Two-sided.loss_rate"] == 0.0
    assert st["aco.true_savings"] > 0.1
    with pytest.raises(ScenarioError, match="aco.true_savings"):
        ss.sobol(SCN, {"aco.true_savings": "normal:0:1"}, n=8, n_sims=100)


def test_tornado_one_at_a_time():
    t = ss.tornado(SCN, {"designs.Two-sided.msr": (0.01, 0.03),
                         "aco.true_savings": (0.0, 0.02)}, design="Two-sided", n_sims=300)
    base = ss.summarize(ss.simulate(SCN, n_sims=300))
    assert t.attrs["base"] == float(base["p_clear_msr"].sel(design="Two-sided").isel(year=-1))
    lo = ss.summarize(ss.simulate(set_keys(SCN, {"designs.Two-sided.msr": 0.01}), n_sims=300))
    row = t.sel(input="designs.Two-sided.msr")
    assert float(row["figure_low"]) == pytest.approx(
        float(lo["p_clear_msr"].sel(design="Two-sided").isel(year=-1)), abs=1e-12)
    assert list(t["swing"].values) == sorted(t["swing"].values, reverse=True)
    assert bool(row["settles_only"])


# ----------------------------------------------------------------------------- CLI


def test_cli_sweep_json(capsys, tmp_path):
    argv = ["sweep", "scenarios/rural-aco-5k.toml", "--set", "aco.true_savings=0:0.02:2",
            "--set", "designs.Track 1.msr=0.01,0.02", "--sims", "200", "--json",
            "--csv", str(tmp_path / "s.csv"), "--plot", str(tmp_path / "s.png")]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["keys"] == ["aco.true_savings", "designs.Track 1.msr"]
    assert len(out["points"]) == 4 and "Track 1" in out["points"][0]
    assert (tmp_path / "s.csv").stat().st_size > 0 and (tmp_path / "s.png").exists()


@pytest.mark.parametrize("argv,msg", [
    (["sweep", "scenarios/rural-aco-5k.toml", "--set", "aco.true_savings=0.9"],
     "aco.true_savings = 0.9: must be a number in [-0.5, 0.5]"),
    (["sweep", "scenarios/rural-aco-5k.toml", "--set", "aco.true_savings"], "KEY=VALUES"),
    (["solve", "scenarios/rural-aco-5k.toml", "--design", "Track 1", "--term", "msr",
      "--target", "p_clear_msr=0.99", "--sims", "200"], "cannot be reached"),
    (["solve", "scenarios/rural-aco-5k.toml", "--term", "msr", "--target", "p_clear_msr"],
     "FIGURE=VALUE"),
    (["tornado", "scenarios/rural-aco-5k.toml", "--range", "aco.true_savings=0"],
     "KEY=LOW:HIGH"),
    (["sobol", "scenarios/rural-aco-5k.toml", "--input", "aco.true_savings=gauss:0:1"],
     "distribution"),
])
def test_cli_what_if_bad_input_exit_2(capsys, argv, msg):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


def test_cli_solve_and_tornado(capsys):
    argv = ["solve", "scenarios/rural-aco-5k.toml", "--design", "Track 1", "--term", "msr",
            "--target", "p_clear_msr=0.05", "--sims", "500", "--tol", "1e-4", "--json"]
    assert main(argv) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["band_low"] <= s["value"] <= s["band_high"] and s["term"] == "msr"
    argv = ["tornado", "scenarios/rural-aco-5k.toml", "--design", "Track 1", "--range",
            "designs[Track 1].msr=0.01:0.03", "--sims", "200", "--json"]
    assert main(argv) == 0
    t = json.loads(capsys.readouterr().out)
    assert t["inputs"][0]["figure_low"] >= t["inputs"][0]["figure_high"]


def test_help_shows_an_example_for_each_what_if_command(capsys):
    for cmd in ["sweep", "solve", "tornado", "sobol", "fit"]:
        try:
            rc = main([cmd, "--help"])
        except SystemExit as e:  # argparse's own exit, where main does not catch it
            rc = e.code
        assert rc == 0
        assert "Example:" in capsys.readouterr().out


# ---------------------------------------------------------------------------- plots


def test_what_if_plots_draw_what_the_results_hold():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sw = ss.sweep(SCN, {"designs.Two-sided.msr": [0.01, 0.02, 0.03]}, n_sims=200)
    ax = ss.plot_sweep(sw, figure=["p_clear_msr", "p_owe_loss"], designs=["Two-sided"])
    y = ax.lines[0].get_ydata()
    np.testing.assert_allclose(y, sw["p_clear_msr"].sel(design="Two-sided").isel(year=-1))
    assert ax.get_xlabel() == "designs.Two-sided.msr" and len(ax.get_legend().texts) == 2
    with pytest.raises(ValueError, match="two keys"):
        ss.plot_sweep_heatmap(sw)
    t = ss.tornado(SCN, {"designs.Two-sided.msr": (0.01, 0.03)}, design="Two-sided",
                   n_sims=200)
    ax = ss.plot_tornado(t)
    widths = sorted(abs(p.get_width()) for p in ax.patches)
    ends = [float(t[k].values[0]) for k in ("figure_low", "figure_high")]
    np.testing.assert_allclose(widths, sorted(abs(v - t.attrs["base"]) for v in ends))
    r = sobol_indices(lambda x: x[:, 0] + 0.5 * x[:, 1], ["uniform:0:1"] * 2, 256)
    ax = ss.plot_sobol(r)
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, [*r["S1"].values, *r["ST"].values])
    plt.close("all")
