"""ACO-level terms calibrated to the MSSP public-use files (simsav.analysis: puf_panel,
moments, calibrate, program_check).

Every expected number comes from the public files themselves (recomputed here with plain
pandas, or counts published about them), never from an earlier run of this code.

Tolerances, and where they come from
------------------------------------
* Fitted variance law vs the observed SD of each size band (PY2014–2022): 3 standard
  errors of the band's observed SD (cluster bootstrap over ACOs, 200 replicates; SEs are
  0.16–0.27 points), capped at ±0.5 points. Measured model error beyond sampling: none
  (χ² = 0.5 on 3 d.f.), so no allowance is added.
* program_check of the shipped scenario on PY2018–2022, per row:
  ``3 · sqrt(se_observed² + se_simulated²) + MODEL_ERROR``
  (simsav.analysis.program_check.MODEL_ERROR: 0.15 points of SD, 2 points of share under
  benchmark, 3 points of share earning, each measured on the files; see its comment).
  With 4,000 sims per band the Monte Carlo SE is ≤ 0.06 points of SD and ≤ 0.8 points of
  a share; the observed SEs are 0.2–0.3 points of SD and 2–5 points of a share per band
  (an ACO recurs across years).
* Program level (all bands together), the brief's bounds: share under benchmark ±5 points,
  share earning shared savings ±8 points. Each is at least the derived 95% tolerance
  ``2 · SE + MODEL_ERROR`` (4.7 and 6.2 points), which the test also checks.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsav.analysis.calibrate import calibrate_puf
from simsav.analysis.moments import puf_moments, savings_rate_moments
from simsav.analysis.program_check import CHECK_YEARS, MODEL_ERROR, program_check, resize_scenario
from simsav.analysis.puf_panel import BAND_EDGES, CALIBRATION_YEARS, band_labels
from simsav.cli.puf import calibrate_puf_cli_payload
from simsav.io.puf import load_puf
from simsav.scenario import load_scenario, parse_scenario
from simsav.simulation import simulate
from simsav.spending import SpendingSpec

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "mssp-program.toml"
CV_T = SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99).to_model().cv(
    truncated=True
)

SHARE_UNDER_BOUND = 0.05  # program level, brief: ±5 points
SHARE_EARN_BOUND = 0.08  # program level, brief: ±8 points
FIT_SD_BOUND = 0.005  # fitted vs observed SD by band: ±0.5 points at most


@pytest.fixture(scope="module")
def cal_all():
    return calibrate_puf(CALIBRATION_YEARS, n_boot=200, seed=0)


@pytest.fixture(scope="module")
def cal_check():
    return calibrate_puf(CHECK_YEARS, n_boot=200, seed=0)


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO)


# ------------------------------------------------------------------------- moments
def test_puf_moments_equal_a_direct_computation_on_the_file():
    df = load_puf(2022)
    band = pd.cut(df["n_ab"], [0, *BAND_EDGES, np.inf], right=False, labels=band_labels())
    direct = df.groupby(band, observed=True).agg(
        n=("savings_rate", "size"),
        mean=("savings_rate", "mean"),
        sd=("savings_rate", "std"),
        under=("savings_rate", lambda s: (s > 0).mean()),
        earn=("earned", lambda e: (e > 0).mean()),
    )
    m = puf_moments([2022]).set_index("band")
    assert list(m.index) == band_labels()
    assert (m["performance_year"] == 2022).all()
    for label, row in direct.iterrows():
        got = m.loc[label]
        assert got["n_acos"] == row["n"]
        assert got["mean"] == pytest.approx(row["mean"], abs=1e-12)
        assert got["sd"] == pytest.approx(row["sd"], abs=1e-12)
        assert got["share_under_benchmark"] == pytest.approx(row["under"], abs=1e-12)
        assert got["share_earning"] == pytest.approx(row["earn"], abs=1e-12)
        q1, q3 = np.quantile(df.loc[band == label, "savings_rate"] - row["mean"], [0.25, 0.75])
        assert got["robust_sd"] == pytest.approx((q3 - q1) / 1.349, abs=1e-12)


@pytest.mark.parametrize(
    ("year", "n_acos", "under", "earning"),
    [
        (2013, 220, None, 52),  # Splash Analytics: CMS paid 52 of 220 ACOs
        (2014, 333, 181, None),  # CareJourney: 181 of 333 under benchmark
        (2015, 392, 203, None),  # CareJourney: 203 of 392
        (2020, 513, None, 345),  # Becker's: 345 of 513 earned shared savings
    ],
)
def test_program_base_rates_match_published_counts(year, n_acos, under, earning):
    row = puf_moments(year, pooled=True, n_boot=0).set_index("band").loc["all"]
    assert row["n_acos"] == n_acos
    if under is not None:
        assert round(row["share_under_benchmark"] * n_acos) == under
    if earning is not None:
        assert round(row["share_earning"] * n_acos) == earning


def test_spread_of_savings_rates_far_exceeds_claims_noise():
    m = puf_moments(CALIBRATION_YEARS, pooled=True, n_boot=0).set_index("band")
    small = m.loc[["<10k", "10k-15k"], "sd"]
    assert (small > 0.045).all() and (small < 0.06).all()  # ~4.5–5.7 points
    assert 0.025 < m.loc[">=50k", "sd"] < 0.032  # ~2.9 points
    assert m.loc["10k-15k", "sd"] > 2.5 * CV_T / math.sqrt(12_000)  # claims noise ≈ 1.7
    # a few outliers: the robust SD is below the SD in every band
    assert (m["robust_sd"] < m["sd"]).all()
    assert (m["n_acos"].iloc[:-1] >= 280).all()  # every band holds enough ACO-years


# ------------------------------------------------------------------------- the fit
def test_variance_law_reproduces_the_observed_sd_of_every_band(cal_all):
    assert len(cal_all.bands) == 5
    for b in cal_all.bands:
        tol = b["tolerance"]
        assert tol == pytest.approx(min(3 * b["se_sd"], FIT_SD_BOUND))
        assert 0.0 < tol <= FIT_SD_BOUND
        assert abs(b["fitted_sd"] - b["observed_sd"]) <= tol, b
        assert b["within_tolerance"]
    # the constant-term model Var = σ² + CV_T²/N cannot: off by ~1 point at both ends
    worst = max(abs(b["constant_model_sd"] - b["observed_sd"]) for b in cal_all.bands)
    assert worst > 2 * FIT_SD_BOUND
    assert cal_all.claims_cv == pytest.approx(CV_T)
    assert cal_all.design_effect > 3  # the 1/N part is several times the claims noise


def test_panel_identifies_persistent_and_year_specific_parts(cal_all):
    n = cal_all.reference_beneficiaries
    total, persistent = cal_all.variance(n), cal_all.persistent_covariance(n)
    claims = CV_T**2 / n
    assert 0 < persistent < total - claims  # a year-specific part remains
    for b in cal_all.bands:
        assert b["observed_persistent_cov"] < b["observed_sd"] ** 2
        assert abs(b["fitted_persistent_cov"] - b["observed_persistent_cov"]) <= 3 * b[
            "se_persistent_cov"
        ]
    # rebasing (a new agreement) breaks part of the persistence
    lag1 = next(r for r in cal_all.covariance_by_lag if r["lag"] == 1)
    assert lag1["within_agreement_corr"] > lag1["across_agreements_corr"] + 0.1
    # the structural terms reproduce the fitted moments exactly
    terms = cal_all.aco_terms(n)
    mean, sd = savings_rate_moments(**terms, claims_cv=CV_T, n_beneficiaries=n)
    assert mean == pytest.approx(cal_all.mean_savings_rate, abs=1e-9)
    assert sd == pytest.approx(math.sqrt(total), abs=1e-9)
    assert terms["true_savings_sd"] > terms["benchmark_error_sd"] > 0


def test_mean_drift_by_year_is_reported(cal_all):
    by_year = cal_all.mean_by_year
    assert sorted(by_year) == list(CALIBRATION_YEARS)
    for year in CALIBRATION_YEARS:  # the plain mean of each file
        assert by_year[year] == pytest.approx(load_puf(year)["savings_rate"].mean(), abs=1e-12)
    assert by_year[2020] - by_year[2014] > 0.025  # 0.6% -> 3.9%
    assert set(cal_all.true_savings_by_year) == set(by_year)


def test_savings_rate_moments_match_the_simulator():
    scn = parse_scenario({
        "name": "moments", "population": {"beneficiaries": 10_000},
        "spending": {"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99},
        "aco": {"true_savings": 0.03, "true_savings_sd": 0.03, "benchmark_error_sd": 0.02},
        "designs": [{"name": "b", "preset": "mssp-basic-b"}],
    })
    n_sims = 20_000
    ds = simulate(scn, n_sims=n_sims, seed=11)
    s = 1.0 - ds["expenditure"].values[:, 0] / ds["benchmark"].values[:, 0]
    mean, sd = savings_rate_moments(0.03, 0.03, 0.02, claims_cv=CV_T, n_beneficiaries=10_000)
    assert abs(s.mean() - mean) <= 4 * sd / math.sqrt(n_sims)
    assert abs(s.std(ddof=1) - sd) <= 4 * sd / math.sqrt(2 * n_sims)


# ------------------------------------------------------------------------- the scenario
def test_shipped_scenario_carries_the_fitted_terms(scenario, cal_check):
    assert scenario.population.beneficiaries == cal_check.reference_beneficiaries == 13_100
    for n in (5_000, 13_100, 50_000, 100_000):  # the size law, written to 3-4 digits
        terms = cal_check.aco_terms(n)
        assert scenario.aco.true_savings == pytest.approx(terms["true_savings"], abs=5e-4)
        assert scenario.aco.true_savings_sd_at(n) == pytest.approx(terms["true_savings_sd"],
                                                                   abs=2e-4)
        assert scenario.aco.benchmark_error_sd_at(n) == pytest.approx(
            terms["benchmark_error_sd"], abs=2e-4)
    assert scenario.quality.distribution == "beta"
    assert scenario.quality.mean == pytest.approx(cal_check.quality_mean, abs=5e-5)
    assert scenario.quality.sd == pytest.approx(cal_check.quality_sd, abs=5e-5)
    contracts = scenario.contracts()
    two = [c for c in contracts.values() if c.two_sided]
    assert [c.two_sided for c in contracts.values()] == [False, True]
    assert two[0].msr == cal_check.two_sided_msr_election == 0.015
    mu_t = scenario.spending.to_model().mean(truncated=True)
    assert mu_t == pytest.approx(cal_check.median_benchmark_per_capita, rel=0.005)


def test_resize_scenario_moves_the_terms_along_the_size_law(scenario, cal_check):
    # the shipped scenario carries the law: resizing changes the population only
    big = resize_scenario(scenario, 70_000, calibration=cal_check)
    assert big.population.beneficiaries == 70_000 and big.aco == scenario.aco
    # a scenario stated at 13,100 without the law moves along the calibrated law
    aco0 = scenario.aco
    flat = scenario.model_copy(update={"aco": aco0.model_copy(update={
        "true_savings_sd": aco0.true_savings_sd_at(13_100), "true_savings_var_n": 0.0,
        "benchmark_error_sd": aco0.benchmark_error_sd_at(13_100),
        "benchmark_error_var_n": 0.0})})
    same = resize_scenario(flat, 13_100, calibration=cal_check)
    assert same.aco == flat.aco
    moved = resize_scenario(flat, 70_000, calibration=cal_check)
    assert moved.aco.true_savings_sd == pytest.approx(big.aco.true_savings_sd_at(70_000),
                                                      abs=2e-4)
    assert moved.aco.true_savings_sd < flat.aco.true_savings_sd
    plain = resize_scenario(flat, 70_000)
    assert plain.aco == flat.aco and plain.population.beneficiaries == 70_000
    scenario, big = flat, moved
    # without the size law a 70,000-beneficiary ACO keeps the median ACO's spread: its SD
    # would be ~1 point above the files' (2.7 points at >=50k in PY2018–2022)
    observed = puf_moments(CHECK_YEARS, pooled=True, n_boot=0).set_index("band")
    obs = observed.loc[">=50k", "sd"]
    _, sd_plain = savings_rate_moments(scenario.aco.true_savings, scenario.aco.true_savings_sd,
                                       scenario.aco.benchmark_error_sd, claims_cv=CV_T,
                                       n_beneficiaries=70_000)
    _, sd_law = savings_rate_moments(big.aco.true_savings, big.aco.true_savings_sd,
                                     big.aco.benchmark_error_sd, claims_cv=CV_T,
                                     n_beneficiaries=70_000)
    assert sd_plain - obs > 0.008
    assert abs(sd_law - obs) < 0.003


def test_program_check_of_the_shipped_scenario(scenario, cal_check):
    res = program_check(scenario, CHECK_YEARS, n_sims=4000, seed=2026, calibration=cal_check)
    assert list(res.columns[:4]) == ["band", "metric", "n_aco_years", "beneficiaries"]
    assert len(res) == 5 * 3 + 2
    failed = res[~res["passed"]]
    assert failed.empty, failed.to_string()
    # each tolerance is the stated rule
    expected_tol = 3 * np.sqrt(res["se_observed"] ** 2 + res["se_simulated"] ** 2) + res[
        "metric"
    ].map(MODEL_ERROR)
    np.testing.assert_allclose(res["tolerance"], expected_tol)
    assert (res["se_simulated"] < 0.01).all()
    # spread by band: observed SDs from the files, simulated within ~1 point at most
    sd = res[res["metric"] == "sd"].set_index("band")
    assert (sd["tolerance"] < 0.01).all()
    assert sd["simulated"].is_monotonic_decreasing
    # program level: the brief's bounds, no looser than the derived 95% tolerance
    prog = res[res["band"] == "all"].set_index("metric")
    for metric, bound in (("p_under_benchmark", SHARE_UNDER_BOUND),
                          ("p_earn", SHARE_EARN_BOUND)):
        row = prog.loc[metric]
        derived95 = 2 * math.hypot(row["se_observed"], row["se_simulated"]) + MODEL_ERROR[metric]
        assert derived95 <= bound
        assert abs(row["difference"]) <= bound, (metric, row["observed"], row["simulated"])
    # the files' program-level rates, PY2018–2022: 77% under benchmark, 55% earning
    assert prog.loc["p_under_benchmark", "observed"] == pytest.approx(1926 / 2493, abs=1e-9)
    assert prog.loc["p_earn", "observed"] == pytest.approx(1366 / 2493, abs=1e-9)


def test_program_check_counts_match_the_files():
    frames = [load_puf(y) for y in CHECK_YEARS]
    sr = pd.concat([f["savings_rate"] for f in frames])
    earned = pd.concat([f["earned"] for f in frames])
    assert (len(sr), int((sr > 0).sum()), int((earned > 0).sum())) == (2493, 1926, 1366)


# ------------------------------------------------------------------------- CLI, errors
def test_cli_payload_is_json_and_takes_years_or_paths():
    path = resources.files("simsav").joinpath("data", "puf", "mssp_puf_PY2022.csv")
    by_year = calibrate_puf_cli_payload(["2021", "2022"])
    by_path = calibrate_puf_cli_payload(["2021", str(path)])
    text = json.dumps(by_year, allow_nan=False)
    assert json.loads(text) == by_year
    assert by_path == by_year
    assert by_year["years"] == [2021, 2022]
    fitted = by_year["fitted"]
    assert {"true_savings", "true_savings_sd", "benchmark_error_sd", "variance_law",
            "persistent_law", "mean_by_year"} <= set(fitted)
    for b in by_year["bands"]:
        assert {"observed_sd", "fitted_sd", "tolerance", "within_tolerance"} <= set(b)
    law, n0 = by_year["scenario"]["aco"], fitted["reference_beneficiaries"]
    # the scenario's size law gives the fitted SD back at the reference size
    for k in ("true_savings", "benchmark_error"):
        at_n0 = math.sqrt(law[f"{k}_sd"] ** 2 + law[f"{k}_var_n"] / n0)
        assert at_n0 == pytest.approx(fitted[f"{k}_sd"], abs=2e-4)


def test_calibration_result_to_dict_is_json(cal_check):
    d = cal_check.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False))["years"] == list(CHECK_YEARS)
    assert d["mean_by_year"]["2020"] == cal_check.mean_by_year[2020]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: calibrate_puf([2022]), "two size bands"),
        (lambda: calibrate_puf([1999, 2000]), "no bundled results file"),
        (lambda: calibrate_puf([], n_boot=0), "at least one"),
        (lambda: calibrate_puf(CHECK_YEARS, n_boot=-1), "n_boot"),
        (lambda: calibrate_puf_cli_payload([]), "at least one"),
        (lambda: band_labels([10_000, 5_000]), "increasing"),
        (lambda: puf_moments([True]), "year or a path"),
    ],
)
def test_errors_name_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_program_check_needs_enough_sims(scenario, cal_check):
    with pytest.raises(ValueError, match="n_sims"):
        program_check(scenario, CHECK_YEARS, n_sims=10, calibration=cal_check)


@pytest.mark.slow
def test_program_check_with_many_sims_and_its_own_fit(scenario):
    res = program_check(scenario, CHECK_YEARS, n_sims=20_000, seed=7)
    failed = res[~res["passed"]]
    assert failed.empty, failed.to_string()
