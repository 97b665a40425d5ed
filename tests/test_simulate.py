"""The Monte Carlo core against closed forms and published probabilities.

References (never simsav's own output):
- gamma spending: the mean of n iid Gamma(k, theta) is Gamma(nk, theta/n), so
  P(savings rate >= m) = P(mean <= mu (1 - m)) is known exactly (scipy);
- literature.md §8 case 2: one-sided false-payout probabilities at the CMS table MSRs with
  CV = 2.136 (normal approximation; ±0.7 points with skewed draws);
- literature.md §8 case 4 (DeLia et al. 2012): symmetric 2% MSR/MLR, P(reward) and
  P(penalty) 0.24/0.26 at 5,000 and 0.02/0.02 at 50,000 (±0.03).
Tolerances are 4 Monte Carlo standard errors unless the source states one.
"""

import numba
import numpy as np
import pytest
import xarray as xr
from scipy import stats

from simsav.results import summarize, validate_dataset
from simsav.scenario import parse_scenario
from simsav.simulation import add_design, simulate


def scenario(n, spending, designs, sims=2000, seed=11, **extra):
    data = {
        "name": "test",
        "seed": seed,
        "sims": sims,
        "population": {"beneficiaries": n},
        "spending": spending,
        "designs": designs,
    }
    data.update(extra)
    return parse_scenario(data)


def one_sided(msr):
    return {"name": f"msr {msr}", "preset": "mssp-track1-2012", "msr": msr}


@pytest.mark.parametrize("n,m,sims", [(1_000, 0.05, 4_000), (20_000, 0.01, 1_500)])
def test_gamma_closed_form(n, m, sims):
    cv, mean = 2.0, 10_000.0
    scn = scenario(n, {"model": "gamma", "mean": mean, "cv": cv}, [one_sided(m)], sims=sims)
    ds = simulate(scn)
    k, theta = 1 / cv**2, mean * cv**2
    exact = stats.gamma.cdf(mean * (1 - m), a=n * k, scale=theta / n)
    p = float(summarize(ds)["p_clear_msr"].squeeze())
    se = np.sqrt(exact * (1 - exact) / sims)
    assert abs(p - exact) < 4 * se, (p, exact, se)


# literature.md §8 case 2 at CV = 2.136, normal approximation
CASE2 = [(5_000, 0.039, 0.0983), (10_000, 0.030, 0.0801), (20_000, 0.025, 0.0489),
         (50_000, 0.022, 0.0106)]


@pytest.mark.slow
@pytest.mark.parametrize("n,msr,expected", CASE2)
def test_false_payout_at_cms_msr(n, msr, expected):
    sims = 30_000 if n <= 10_000 else 6_000
    scn = scenario(n, {"model": "lognormal", "mean": 10_000, "cv": 2.136},
                   [{"name": "t1", "preset": "mssp-track1-2012"}], sims=sims)
    s = summarize(simulate(scn))
    p = float(s["p_clear_msr"].squeeze())
    assert abs(p - expected) <= 0.007 + 2 * float(s["se_p_clear_msr"].squeeze())


@pytest.mark.slow
@pytest.mark.parametrize("n,expected,sims", [(5_000, 0.25, 6_000), (50_000, 0.02, 3_000)])
def test_delia_symmetric_two_percent(n, expected, sims):
    scn = scenario(n, {"model": "lognormal", "mean": 10_000, "cv": 2.136},
                   [{"name": "t2", "preset": "mssp-track2-2012"}], sims=sims)
    s = summarize(simulate(scn))
    assert abs(float(s["p_clear_msr"].squeeze()) - expected) <= 0.03
    assert abs(float(s["p_owe_loss"].squeeze()) - expected) <= 0.03


SMALL = dict(
    n=2_000,
    spending={"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99},
    designs=[{"name": "T1", "preset": "mssp-track1-2012"},
             {"name": "E", "preset": "mssp-basic-e", "msr": 0.01},
             {"name": "EAC", "preset": "eac-recommended"}],
    sims=600,
    quality={"distribution": "beta", "mean": 0.8, "sd": 0.08},
    aco={"true_savings": 0.01, "true_savings_sd": 0.01, "benchmark_error_sd": 0.01},
)


def test_same_seed_identical_with_one_and_two_threads():
    scn = scenario(**SMALL)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = simulate(scn)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        b = simulate(scn)
    finally:
        numba.set_num_threads(before)
    xr.testing.assert_identical(a, b)
    c = simulate(scn, n_threads=2)
    xr.testing.assert_identical(a, c)


def test_more_sims_only_append():
    scn = scenario(**SMALL)
    a = simulate(scn, n_sims=300)
    b = simulate(scn, n_sims=700)
    xr.testing.assert_identical(a.drop_attrs(), b.isel(sim=slice(0, 300)).drop_attrs())


def test_different_seed_differs():
    scn = scenario(**SMALL)
    a = simulate(scn, n_sims=50)
    b = simulate(scn, n_sims=50, seed=12)
    assert not np.array_equal(a["expenditure"].values, b["expenditure"].values)


def test_dataset_schema_and_provenance():
    scn = scenario(**SMALL)
    ds = simulate(scn, n_sims=100)
    validate_dataset(ds)
    assert ds.sizes == {"sim": 100, "year": 1, "design": 3}
    assert ds.attrs["seed"] == 11
    assert "[population]" in ds.attrs["scenario_toml"]
    assert ds["earned_savings"].attrs["puf_column"] == "EarnSaveLoss"
    for name, da in ds.data_vars.items():
        assert "units" in da.attrs and "long_name" in da.attrs, name
    for v in ds.attrs.values():
        assert isinstance(v, str | int | float)


def test_draw_once_settle_many_designs_share_draws():
    ds = simulate(scenario(**SMALL), n_sims=200)
    er = ds["expenditure_total"]
    # the same draws under every design (no discount here)
    assert np.array_equal(er.sel(design="T1").values, er.sel(design="E").values)


def test_settlement_matches_settle_reference():
    from simsav.contracts import get_preset
    from simsav.settlement.rules import settle

    ds = simulate(scenario(**SMALL), n_sims=200)
    s = settle(get_preset("mssp-basic-e").with_terms(msr=0.01),
               benchmark=ds["benchmark"].values[:, 0], expenditure=ds["expenditure"].values[:, 0],
               n_beneficiaries=2_000, quality=ds["quality"].values[:, 0])
    np.testing.assert_array_equal(ds["aco_net"].sel(design="E").values[:, 0], s.aco_net)


def test_money_conserved_in_every_sim():
    ds = simulate(scenario(**SMALL), n_sims=300)
    pos = ds["gross_savings"] >= 0
    total = (ds["earned_savings"] + ds["payer_kept"] + ds["reinvested_community"]
             + ds["reinvested_aco"])
    assert bool((np.abs(total - ds["gross_savings"]) < 1e-6).where(pos, True).all())


def test_true_savings_shift_mean_savings_rate():
    base = dict(SMALL, aco={"true_savings": 0.03}, quality={"score": 0.9})
    ds = simulate(scenario(**base), n_sims=600)
    rate = ds["savings_rate"].sel(design="T1")
    se = float(rate.std()) / np.sqrt(600)
    assert abs(float(rate.mean()) - 0.03) < 4 * se


def test_summarize_standard_errors():
    ds = simulate(scenario(**SMALL), n_sims=400)
    s = summarize(ds)
    p = s["p_clear_msr"]
    # Agresti-Coull standard error around the Wilson centre: close to sqrt(p(1-p)/n) inside
    # (0, 1), and never 0 at 0 or 1
    z = 1.959963984540054
    centre = (p + z * z / 800) / (1 + z * z / 400)
    np.testing.assert_allclose(s["se_p_clear_msr"], np.sqrt(centre * (1 - centre) / (400 + z * z)))
    assert (s["se_p_owe_loss"] > 0).all() and (s["high_p_owe_loss"] > 0).all()
    assert all(f"aco_net_q{q}" in s for q in (1, 5, 25, 50, 75, 95, 99))
    assert 0 <= float(s["p_clear_msr"].sel(design="EAC").squeeze()) <= 1


def test_strata_counts_and_benchmark():
    strata = [
        {"name": "esrd", "share": 0.01, "mean": 80_000, "truncate_at": 400_000},
        {"name": "disabled", "share": 0.12, "mean": 12_000},
        {"name": "aged-dual", "share": 0.08, "mean": 20_000},
        {"name": "aged-nondual", "share": 0.79, "mean": 11_000},
    ]
    scn = scenario(5_000, {"model": "gamma", "mean": 10_000, "cv": 1.5},
                   [one_sided(0.0)], sims=400, strata=strata)
    ds = simulate(scn)
    assert "esrd=50" in ds.attrs["groups"]
    # E[min(X, c)] for gamma(k, theta): mu F(c; k+1) + c (1 - F(c; k))
    k, theta, c = 1 / 1.5**2, 80_000 * 1.5**2, 400_000
    esrd = 80_000 * stats.gamma.cdf(c, k + 1, scale=theta) + c * stats.gamma.sf(c, k,
                                                                               scale=theta)
    mu = (50 * esrd + 600 * 12_000 + 400 * 20_000 + 3_950 * 11_000) / 5_000
    assert abs(float(ds["benchmark"][0, 0]) / mu - 1) < 1e-9
    se = float(ds["expenditure"].std()) / np.sqrt(400)
    assert abs(float(ds["expenditure"].mean()) - mu) < 4 * se


def test_bad_n_sims():
    with pytest.raises(ValueError, match="n_sims"):
        simulate(scenario(**SMALL), n_sims=0)


def test_add_design_resettles_same_draws():
    from simsav.contracts import get_preset

    scn = scenario(**SMALL)
    ds = simulate(scn, n_sims=150)
    c = get_preset("mssp-basic-e").with_terms(msr=0.01)
    ds2 = add_design(ds, c, name="E again")
    assert ds2.sizes["design"] == 4
    np.testing.assert_array_equal(ds2["aco_net"].sel(design="E again").values,
                                  ds["aco_net"].sel(design="E").values)
    with pytest.raises(ValueError, match="already"):
        add_design(ds, c, name="E")


def test_aco_spread_size_law():
    # sd(N)^2 = sd^2 + var_n / N: at N = 4,000, sd 0.01 and var_n 4 give sqrt(1e-4 + 1e-3)
    base = dict(SMALL, n=4_000, aco={"true_savings_sd": 0.01, "true_savings_var_n": 4.0},
                quality={"score": 0.9})
    ds = simulate(scenario(**base), n_sims=3_000)
    sd = float(ds["true_savings"].std())
    expected = np.sqrt(1e-4 + 4.0 / 4_000)
    assert abs(sd - expected) < 4 * expected / np.sqrt(2 * 3_000)


def test_aggregate_draws_agree_with_per_beneficiary():
    base = dict(SMALL, n=10_000, quality={"score": 0.9}, aco={})
    a = summarize(simulate(scenario(**base), n_sims=3_000))
    b = summarize(simulate(scenario(**base), n_sims=3_000, draws="aggregate"))
    for var in ("p_clear_msr", "p_owe_loss"):
        d = (a[var] - b[var]).values
        se = np.hypot(a["se_" + var].values, b["se_" + var].values)
        assert np.all(np.abs(d) < 4 * se + 1e-9), var
    with pytest.raises(ValueError, match="draws"):
        simulate(scenario(**base), n_sims=10, draws="fast")
