"""Multi-year agreements against independent references.

- independent years: the SD of the cumulative savings rate over T years is CV/sqrt(T N);
- deferred reconciliation with gamma spending: the T-year mean of N iid gammas is
  Gamma(NTk, theta/(NT)), so P(the cumulative rate clears the MSR of N*T) is exact;
- rolling benchmarks: with weights 10/30/60 and true savings s, the expected savings rate in
  agreement years 1-3 is s, 1 - (1-s)/(1-0.6 s), 1 - (1-s)/(1-0.9 s) (the ratchet);
- the +3% cap on risk-score growth: rate = 1 - (1+g)^t / min((1+g)^t, 1.03).
"""

import numpy as np
import pytest
from scipy import stats

from simsav.contracts.msr import cms_msr
from simsav.scenario import ScenarioError, parse_scenario
from simsav.simulation import simulate

GAMMA = {"model": "gamma", "mean": 10_000.0, "cv": 2.0}


def scn(n, agreement, designs=None, aco=None, sims=2_000, spending=GAMMA):
    return parse_scenario({
        "name": "agreement", "seed": 17, "sims": sims, "population": {"beneficiaries": n},
        "spending": spending, "aco": aco or {}, "quality": {"score": 1.0},
        "agreement": agreement,
        "designs": designs or [{"name": "T1", "preset": "mssp-track1-2012"}],
    })


def cumulative_rate(ds, design="T1"):
    b = ds["benchmark_total"].sel(design=design).sum("year")
    e = ds["expenditure_total"].sel(design=design).sum("year")
    return (1 - e / b).values


@pytest.mark.parametrize("years", [1, 4])
def test_cumulative_sd_shrinks_as_one_over_sqrt_t_n(years):
    n, sims = 2_000, 3_000
    ds = simulate(scn(n, {"years": years, "persistence": "independent"}, sims=sims))
    sd = cumulative_rate(ds).std(ddof=1)
    expected = 2.0 / np.sqrt(years * n)
    assert abs(sd - expected) < 4 * expected / np.sqrt(2 * sims)


def test_deferred_cumulative_test_exact_for_gamma():
    n, years, sims = 3_000, 3, 4_000
    designs = [{"name": "T1", "preset": "mssp-track1-2012", "reconciliation": "deferred",
                "interim_payments": False}]
    ds = simulate(scn(n, {"years": years, "persistence": "independent"}, designs, sims=sims))
    m = float(cms_msr(n * years))
    k, theta = 1 / 4.0, 10_000.0 * 4.0
    exact = stats.gamma.cdf(10_000 * (1 - m), a=n * years * k, scale=theta / (n * years))
    p = float((ds["true_up"].sel(design="T1").isel(year=-1) > 0).mean())
    assert abs(p - exact) < 4 * np.sqrt(exact * (1 - exact) / sims)
    # nothing is paid before the end without interim payments
    assert float(np.abs(ds["aco_paid"].sel(design="T1").isel(year=slice(0, -1))).max()) == 0


def test_deferred_with_interim_pays_annual_plus_true_up():
    designs = [{"name": "T1", "preset": "mssp-track1-2012", "reconciliation": "deferred"}]
    ds = simulate(scn(3_000, {"years": 3, "persistence": "independent"}, designs, sims=800))
    d = ds.sel(design="T1")
    np.testing.assert_allclose(d["aco_paid"].isel(year=slice(0, 2)),
                               d["aco_net"].isel(year=slice(0, 2)))
    np.testing.assert_allclose(d["aco_paid"].isel(year=-1),
                               d["aco_net"].isel(year=-1) + d["true_up"].isel(year=-1))
    assert float(d["true_up"].min()) >= 0


def test_rolling_benchmark_ratchets_down():
    s, sims = 0.05, 3_000
    ds = simulate(scn(5_000, {"years": 3, "base_years": 3, "benchmark": "rolling",
                              "persistence": "independent"}, aco={"true_savings": s},
                      sims=sims))
    rate = ds["savings_rate"].sel(design="T1")
    expected = [s, 1 - (1 - s) / (1 - 0.6 * s), 1 - (1 - s) / (1 - 0.9 * s)]
    for t, e in enumerate(expected):
        r = rate.isel(year=t)
        se = float(r.std()) / np.sqrt(sims)
        assert abs(float(r.mean()) - e) < 4 * se + 2e-4, (t, float(r.mean()), e)


def test_historical_benchmark_fixed_for_agreement():
    s = 0.05
    ds = simulate(scn(5_000, {"years": 3, "base_years": 3, "benchmark": "historical",
                              "persistence": "independent"}, aco={"true_savings": s},
                      sims=2_000))
    rate = ds["savings_rate"].sel(design="T1").mean("sim").values
    np.testing.assert_allclose(rate, s, atol=0.004)  # no ratchet within the agreement


def test_risk_growth_cap():
    ds = simulate(scn(5_000, {"years": 3, "risk_growth": 0.02, "risk_cap": 0.03,
                              "persistence": "independent"}, sims=2_000))
    rate = ds["savings_rate"].sel(design="T1").mean("sim").values
    risk = 1.02 ** np.arange(1, 4)
    expected = 1 - risk / np.minimum(risk, 1.03)
    np.testing.assert_allclose(rate, expected, atol=0.004)


def test_glide_path_one_sided_then_two_sided():
    designs = [{"name": "glide", "glide": ["mssp-basic-a", "mssp-basic-b", "mssp-basic-e"],
                "msr": 0.0}]
    ds = simulate(scn(5_000, {"years": 3, "persistence": "independent"}, designs, sims=600))
    owes = (ds["shared_losses"].sel(design="glide") > 0).mean("sim").values
    assert owes[0] == 0 and owes[1] == 0 and owes[2] > 0.2
    assert list(ds["year"].values) == [1, 2, 3]


def test_multiyear_money_conserved_and_deterministic():
    a = simulate(scn(2_000, {"years": 2}, sims=300,
                     spending={"model": "medicare-ffs", "mean": 11_000,
                               "truncate_quantile": 0.99}))
    b = simulate(scn(2_000, {"years": 2}, sims=300,
                     spending={"model": "medicare-ffs", "mean": 11_000,
                               "truncate_quantile": 0.99}), n_threads=1)
    np.testing.assert_array_equal(a["aco_paid"].values, b["aco_paid"].values)
    pos = a["gross_savings"] >= 0
    total = a["earned_savings"] + a["payer_kept"] + a["reinvested_community"] + a[
        "reinvested_aco"]
    assert bool((np.abs(total - a["gross_savings"]) < 1e-6).where(pos, True).all())


def test_agreement_validation():
    with pytest.raises(ScenarioError, match="base_years"):
        scn(1_000, {"years": 2, "benchmark": "historical"})
    with pytest.raises(ScenarioError, match="agreement.years"):
        scn(1_000, {"years": 11})  # agreements run 1–10 years (LEAD: ten)
    with pytest.raises(ScenarioError, match="glide"):
        scn(1_000, {"years": 2}, [{"name": "g", "glide": ["mssp-basic-z"]}])


def test_summary_over_agreement():
    from simsav.results import summarize

    designs = [{"name": "T1", "preset": "mssp-track1-2012"}]
    ds = simulate(scn(3_000, {"years": 3, "persistence": "independent"}, designs, sims=1_500))
    s = summarize(ds)
    paid = ds["aco_paid"].sel(design="T1")
    assert float(s["agreement_p_any_year_paid"].sel(design="T1")) == pytest.approx(
        float((paid > 0).any("year").mean()))
    # independent years, one-sided: P(any of 3 years pays) = 1 - (1 - p)^3 within MC error
    p1 = float((paid > 0).mean())
    expected = 1 - (1 - p1) ** 3
    se = np.sqrt(expected * (1 - expected) / 1_500)
    assert abs(float(s["agreement_p_any_year_paid"].sel(design="T1")) - expected) < 4 * se + 0.01
    assert float(s["agreement_expected_total_paid"].sel(design="T1")) == pytest.approx(
        float(paid.sum("year").mean()))
