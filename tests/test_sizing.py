"""MSR sizing against the CMS table, the 2011 derivation and gamma closed forms."""

import numpy as np
import pytest
from scipy import stats

from simsav.analysis.msr_sizing import cms_2011_msr, msr_curve
from simsav.contracts.msr import cms_msr
from tests.test_msr import CFR_604B, TABLE_A4_LOW

# literature.md §8 case 1: expected values of the reconstruction, percent
CASE1 = [(5_000, 3.871), (6_000, 3.601), (10_000, 2.996), (15_000, 2.657), (20_000, 2.484),
         (50_000, 2.222), (60_000, 2.029)]


@pytest.mark.parametrize("n,expected", CASE1)
def test_cms_2011_case1_values(n, expected):
    assert float(cms_2011_msr(n)) * 100 == pytest.approx(expected, abs=0.0015)


@pytest.mark.parametrize("lo,hi,a,b", CFR_604B + TABLE_A4_LOW)
def test_cms_2011_reproduces_every_table_entry_within_0_1_point(lo, hi, a, b):
    assert abs(float(cms_2011_msr(lo)) * 100 - a) <= 0.1
    assert abs(float(cms_2011_msr(hi)) * 100 - b) <= 0.1


def test_cms_2011_floor_above_60000():
    assert float(cms_2011_msr(100_000)) == 0.02
    ds = msr_curve([5_000, 100_000], method="cms-2011")
    np.testing.assert_allclose(ds["msr"], ds["cms_2011"])
    np.testing.assert_allclose(ds["cms_table"], cms_msr([5_000, 100_000]))


@pytest.mark.parametrize("n", [1_000, 20_000])
def test_simulated_msr_brackets_gamma_exact_quantile(n):
    cv, mean, alpha = 2.0, 10_000.0, 0.05
    ds = msr_curve([n], alpha=alpha, spending={"model": "gamma", "mean": mean, "cv": cv},
                   n_sims=6_000, seed=5, level=0.999)
    k, theta = 1 / cv**2, mean * cv**2
    exact_msr = 1 - stats.gamma.ppf(alpha, n * k, scale=theta / n) / mean
    exact_mlr = stats.gamma.ppf(1 - alpha, n * k, scale=theta / n) / mean - 1
    assert float(ds["msr_low"][0]) <= exact_msr <= float(ds["msr_high"][0])
    assert float(ds["mlr_low"][0]) <= exact_mlr <= float(ds["mlr_high"][0])


def test_normal_method_closed_form_and_years():
    spec = {"model": "gamma", "mean": 10_000.0, "cv": 2.0}
    one = msr_curve([10_000], spending=spec, method="normal", alpha=0.1)
    four = msr_curve([10_000], spending=spec, method="normal", alpha=0.1, years=4)
    z = stats.norm.ppf(0.9)
    assert float(one["msr"][0]) == pytest.approx(z * 2.0 / 100)
    assert float(four["msr"][0]) == pytest.approx(float(one["msr"][0]) / 2)


def test_benchmark_error_widens_msr():
    spec = {"model": "gamma", "mean": 10_000.0, "cv": 2.0}
    a = msr_curve([20_000], spending=spec, n_sims=3_000, seed=1)
    b = msr_curve([20_000], spending=spec, n_sims=3_000, seed=1, benchmark_error_sd=0.02)
    expected = stats.norm.ppf(0.95) * np.sqrt(4 / 20_000 + 0.02**2)
    assert float(b["normal"][0]) == pytest.approx(expected)
    assert float(b["msr"][0]) > float(a["msr"][0])
    assert float(b["msr_low"][0]) <= expected * 1.05


@pytest.mark.parametrize("kw,field", [(dict(alpha=0.7), "alpha"), (dict(sizes=[0]), "sizes"),
                                      (dict(method="bogus"), "method"), (dict(years=0), "years")])
def test_bad_input(kw, field):
    args = dict(sizes=[1_000], spending="gamma", n_sims=200)
    args.update(kw)
    sizes = args.pop("sizes")
    with pytest.raises(ValueError, match=field):
        msr_curve(sizes, **args)


@pytest.mark.parametrize("n", [1_000, 10_000])
def test_aggregate_msr_agrees_with_per_beneficiary(n):
    spec = {"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99}
    a = msr_curve([n], spending=spec, n_sims=4_000, seed=1, level=0.999)
    b = msr_curve([n], spending=spec, n_sims=20_000, seed=2, level=0.999, draws="aggregate")
    assert b.attrs["draws"] == "aggregate"
    # the two 99.9% Monte Carlo bands overlap, for the MSR and the MLR
    assert float(a["msr_low"][0]) <= float(b["msr_high"][0])
    assert float(b["msr_low"][0]) <= float(a["msr_high"][0])
    assert float(a["mlr_low"][0]) <= float(b["mlr_high"][0])
    assert float(b["mlr_low"][0]) <= float(a["mlr_high"][0])
