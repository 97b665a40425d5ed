"""Tests of simsav.draw.attribution: trivial equality, churn theory, selection, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import integrate, special, stats

from simsav.draw.attribution import (
    ATTRIBUTION_EXAMPLE,
    AttributionSpec,
    attributed_sums,
    benchmark_per_capita,
    expected_attribution,
)
from simsav.draw.groups import simulate_group_sums
from simsav.draw.scores import score_form
from simsav.kernels import attribution as ak
from simsav.kernels.primitives import EMPIRICAL
from simsav.spending import SpendingSpec

MEAN, CV = 10_000.0, 2.0
GAMMA = SpendingSpec(model="gamma", mean=MEAN, cv=CV)
FFS = SpendingSpec(model="medicare-ffs", mean=MEAN, truncate_quantile=0.99)
RETRO = dict(method="retrospective")


def ratio_and_se(t: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Ratio estimator sum(t) / sum(n) over sims and its delta-method SE."""
    t = t.sum(axis=1).astype(float)
    n = n.sum(axis=1).astype(float)
    r = t.sum() / n.sum()
    d = t - r * n
    return r, d.std(ddof=1) / (n.mean() * math.sqrt(t.size))


def gamma_isf(q):
    k = 1.0 / CV**2
    return stats.gamma.isf(q, k, scale=MEAN / k)


# -- (1) trivial attribution is the plain core ---------------------------------------------


@pytest.mark.parametrize("att", [AttributionSpec(),
                                 AttributionSpec(method="retrospective"),
                                 AttributionSpec(churn_in=0.3, leave_tilt=0.5)])
def test_trivial_equals_plain_core(att):
    assert att.is_trivial
    groups = [(GAMMA, 700), (FFS, 300), (SpendingSpec(model="empirical", mean=MEAN), 50)]
    out = attributed_sums(groups, 300, attribution=att, seed=11, block_size=64)
    plain = simulate_group_sums(groups, 300, seed=11, block_size=64)
    np.testing.assert_array_equal(out["spending"], plain)
    np.testing.assert_array_equal(out["managed_spending"], out["spending"])
    assert (out["count"] == [700, 300, 50]).all()


@pytest.mark.parametrize("spec", [
    GAMMA, FFS,
    SpendingSpec(model="lognormal", mean=MEAN, cv=CV),
    SpendingSpec(model="hurdle-lognormal", mean=MEAN, cv=2.5, zero_share=0.1,
                 truncate_quantile=0.995),
    SpendingSpec(model="lognormal-pareto", mean=MEAN, cv=2.0, zero_share=0.05,
                 tail_alpha=2.5, tail_quantile=0.95),
    SpendingSpec(model="empirical", mean=MEAN),
])
def test_scored_draws_follow_the_model(spec):
    """x = F^-1(Phi(s)): s is N(0,1), x has the model's distribution and rises with s."""
    model = spec.to_model()
    kind, p = score_form(model, forward=True)
    x, s = ak.scored_draws(np.random.default_rng(5), kind, p, 200_000)
    assert abs(s.mean()) < 4 / math.sqrt(s.size)
    assert abs(s.std() - 1) < 4 / math.sqrt(2 * s.size)
    order = np.argsort(s)
    assert (np.diff(x[order]) >= 0).all()
    xc = np.minimum(x, model.cap(True))
    se = model.sd(True) / math.sqrt(x.size)
    assert abs(xc.mean() - model.mean(True)) < 4 * se
    # the theoretical quantile at each score
    probe = np.array([-2.0, -0.5, 0.3, 1.5, 2.5])
    q_model = np.asarray(model.isf(special.ndtr(-probe)))
    q_sim = np.interp(probe, s[order], x[order])
    if kind != EMPIRICAL:
        np.testing.assert_allclose(q_sim, q_model, rtol=0.03)


def test_numerics_against_scipy():
    p = np.concatenate([np.logspace(-300, -1, 40), np.linspace(0.01, 0.99, 41),
                        1 - np.logspace(-15, -1, 15)])
    ref = special.ndtri(p)
    np.testing.assert_allclose(ak.ndtri(p), ref, rtol=1e-13, atol=1e-13)
    x = np.logspace(-6, 2.5, 200)
    for a in (0.2, 0.25, 1.0, 3.7):
        np.testing.assert_allclose(ak.gammaincc(a, x), special.gammaincc(a, x), rtol=1e-12,
                                   atol=1e-300)


# -- (2) random churn: unbiased, spread of the smaller population ------------------------


@pytest.mark.parametrize("per_ben", [False, True])
def test_random_churn_mean_and_sd(per_ben):
    n, c_out, c_in, sims = 1_000, 0.3, 0.1, 4_000 if not per_ben else 1_500
    att = AttributionSpec(**RETRO, churn_out=c_out, churn_in=c_in)
    out = attributed_sums([(GAMMA, n)], sims, attribution=att, seed=2026,
                          _per_beneficiary=per_ben)
    m = out["count"][:, 0]
    pc = out["spending"][:, 0] / m
    model = GAMMA.to_model()
    mu, sigma = model.mean(True), model.sd(True)
    assert abs(pc.mean() - mu) < 4 * pc.std(ddof=1) / math.sqrt(sims)
    # Var(T/n) = sigma^2 E[1/n]; n = Bin(N, 1 - c_out) + Bin(N, c_in), E[1/n] by sum
    k = np.arange(n + 1)
    pm = np.convolve(stats.binom.pmf(k, n, 1 - c_out), stats.binom.pmf(k, n, c_in))
    nn = np.arange(pm.size)
    e_inv = (pm[1:] / nn[1:]).sum()
    sd_theory = sigma * math.sqrt(e_inv)
    n_eff = n * (1 - c_out + c_in)
    assert sd_theory == pytest.approx(sigma / math.sqrt(n_eff), rel=2e-3)
    kurt = stats.kurtosis(pc, fisher=False)
    se_sd = pc.std() * math.sqrt((kurt - 1) / (4 * sims))
    assert abs(pc.std(ddof=1) - sd_theory) < 4 * se_sd
    assert abs(m.mean() - n_eff) < 4 * math.sqrt(n * (c_out * (1 - c_out) + c_in * (1 - c_in))
                                                 / sims)
    # managed: stayers fully, arrivals half
    r, se = ratio_and_se(out["managed_spending"], out["spending"])
    share = (1 - c_out + 0.5 * c_in) / (1 - c_out + c_in)
    assert abs(r - share) < 4 * se


def test_random_churn_prospective_keeps_everyone():
    att = AttributionSpec(churn_out=0.2, churn_in=0.3)
    out = attributed_sums([(GAMMA, 800)], 2_000, attribution=att, seed=4)
    assert (out["count"] == 800).all()
    pc = out["spending"][:, 0] / 800
    model = GAMMA.to_model()
    assert abs(pc.mean() - model.mean(True)) < 4 * pc.std(ddof=1) / math.sqrt(pc.size)
    r, se = ratio_and_se(out["managed_spending"], out["spending"])
    assert abs(r - (0.8 + 0.5 * 0.2)) < 4 * se


# -- (3) spending-dependent leaving -------------------------------------------------------


def stayer_mean_quad(c_out: float, rho: float) -> float:
    """E[X | stay] by quadrature on the score, with scipy's gamma (independent)."""
    cut = special.ndtri(1 - c_out)

    def f(s, weight_only=False):
        w = stats.norm.pdf(s) * special.ndtr((cut - rho * s) / math.sqrt(1 - rho**2))
        return w if weight_only else w * gamma_isf(special.ndtr(-s))

    num = integrate.quad(f, -12, 12, limit=400, points=[0.0, 2.0, 4.0])[0]
    den = integrate.quad(lambda s: f(s, True), -12, 12, limit=200)[0]
    assert den == pytest.approx(1 - c_out, rel=1e-8)
    return num / den


@pytest.mark.parametrize("rho", [0.3, 0.6])
def test_leave_tilt_lowers_attributed_mean(rho):
    c_out = 0.2
    att = AttributionSpec(**RETRO, churn_out=c_out, leave_tilt=rho)
    out = attributed_sums([(GAMMA, 500)], 2_000, attribution=att, seed=7)
    r, se = ratio_and_se(out["spending"], out["count"])
    theory = stayer_mean_quad(c_out, rho)
    assert theory < MEAN * 0.95
    assert abs(r - theory) < 4 * se
    assert expected_attribution(GAMMA, att)["mean"] == pytest.approx(theory, rel=1e-4)
    # prospective: everyone counts; the leavers' spending is half managed
    pro = attributed_sums([(GAMMA, 500)], 2_000, attribution=att.model_copy(
        update={"method": "prospective"}), seed=7)
    assert (pro["count"] == 500).all()
    r, se = ratio_and_se(pro["managed_spending"], pro["spending"])
    managed = (1 - c_out) * theory + 0.5 * (MEAN - (1 - c_out) * theory)
    assert abs(r - managed / MEAN) < 4 * se


def test_leave_tilt_per_model_matches_theory():
    att = AttributionSpec(**RETRO, churn_out=0.15, leave_tilt=0.4, churn_in=0.05)
    out = attributed_sums([(FFS, 600)], 1_500, attribution=att, seed=8)
    r, se = ratio_and_se(out["spending"], out["count"])
    assert abs(r - expected_attribution(FFS, att)["mean"]) < 4 * se


# -- (4) the plurality rule ---------------------------------------------------------------


def attributed_prob_direct(lam: float, a: float, min_visits: int, fallback: bool) -> float:
    """P(attributed | lambda) by a double sum over Poisson visit counts (independent)."""
    top = int(lam + 12 * math.sqrt(lam) + 30)
    k = np.arange(top)
    pa = stats.poisson.pmf(k, lam * a)
    po = stats.poisson.pmf(k, lam * (1 - a))
    joint = np.outer(pa, po)
    ka, ko = np.meshgrid(k, k, indexing="ij")
    v = ka + ko
    win = (ka > ko) + 0.5 * (ka == ko)
    p = (joint * win * (v >= min_visits) * (v > 0)).sum()
    if fallback:
        p += math.exp(-lam) * a
    return p


def visit_theory(rate, tilt, a, min_visits, fallback):
    s = np.linspace(-8, 8, 801)
    w = stats.norm.pdf(s)
    pr = np.array([attributed_prob_direct(rate * math.exp(tilt * si - tilt**2 / 2), a,
                                          min_visits, fallback) for si in s])
    x = gamma_isf(special.ndtr(-s))
    share = np.trapezoid(pr * w, s)
    return share, np.trapezoid(pr * w * x, s) / share


@pytest.mark.parametrize("min_visits,fallback", [(1, True), (3, False)])
def test_plurality_rule_excludes_low_utilizers(min_visits, fallback):
    att = AttributionSpec(**RETRO, visit_rate=3.0, visit_tilt=0.8, aco_share=0.7,
                          min_visits=min_visits, specialist_fallback=fallback)
    n, sims = 800, 1_500
    out = attributed_sums([(GAMMA, n)], sims, attribution=att, seed=9)
    share, mean = visit_theory(3.0, 0.8, 0.7, min_visits, fallback)
    cnt = out["count"][:, 0]
    assert abs(cnt.mean() / n - share) < 4 * cnt.std(ddof=1) / n / math.sqrt(sims)
    r, se = ratio_and_se(out["spending"], out["count"])
    assert abs(r - mean) < 4 * se
    e = expected_attribution(GAMMA, att)
    assert e["count_share"] == pytest.approx(share, rel=1e-3)
    assert e["mean"] == pytest.approx(mean, rel=1e-3)
    if min_visits == 3:  # low utilizers (low spenders) drop out: attributed mean rises
        assert mean > 1.05 * MEAN
        assert r - MEAN > 4 * se


def test_example_is_realistic_and_runs():
    out = attributed_sums([(FFS, 2_000)], 200, attribution=ATTRIBUTION_EXAMPLE, seed=1)
    e = expected_attribution(FFS, ATTRIBUTION_EXAMPLE)
    assert 0.7 < e["count_share"] < 1.0
    assert abs(out["count"].mean() / 2_000 - e["count_share"]) < 0.01
    assert (out["managed_spending"] <= out["spending"]).all()


# -- (5) determinism ----------------------------------------------------------------------


@pytest.mark.parametrize("att", [ATTRIBUTION_EXAMPLE,
                                 AttributionSpec(churn_out=0.1, churn_in=0.1),
                                 AttributionSpec(churn_out=0.2, leave_tilt=-0.4)])
def test_deterministic_threads_and_appending(att):
    groups = [(GAMMA, 120), (FFS, 80)]
    kw = dict(attribution=att, seed=2024, block_size=32)
    a = attributed_sums(groups, 200, n_threads=1, **kw)
    b = attributed_sums(groups, 200, n_threads=2, **kw)
    c = attributed_sums(groups, 330, n_threads=2, **kw)
    d = attributed_sums(groups, 100, n_threads=1, first_block=3, **kw)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_array_equal(a[key], c[key][:200])
        np.testing.assert_array_equal(c[key][96:196], d[key])


# -- (6) bad input ------------------------------------------------------------------------


@pytest.mark.parametrize("field,value,needle", [
    ("churn_out", 0.6, "0.5"),
    ("churn_in", -0.1, "0"),
    ("leave_tilt", 1.5, "1"),
    ("aco_share", 0.0, "0"),
    ("min_visits", 0, "1"),
    ("visit_rate", -1.0, "0"),
    ("method", "concurrent", "prospective"),
    ("mover_managed", math.nan, "finite"),
])
def test_bad_input_names_field_and_range(field, value, needle):
    with pytest.raises(ValidationError) as err:
        AttributionSpec(**{field: value})
    msg = str(err.value)
    assert field in msg and needle in msg


def test_unknown_field_and_bad_call():
    with pytest.raises(ValidationError, match="churn"):
        AttributionSpec(churn=0.1)
    with pytest.raises(ValueError, match="attribution"):
        attributed_sums([(GAMMA, 10)], 10, attribution={"method": "prospective"}, seed=1)
    with pytest.raises(ValueError, match="n_sims"):
        attributed_sums([(GAMMA, 10)], 0, attribution=AttributionSpec(), seed=1)
    with pytest.raises(ValueError, match="groups"):
        attributed_sums([], 10, attribution=AttributionSpec(), seed=1)
    with pytest.raises(ValidationError):
        AttributionSpec().churn_out = 0.1  # frozen


def test_attributed_benchmark_is_selection_neutral():
    att = ATTRIBUTION_EXAMPLE.model_copy(update={"benchmark": "attributed", "min_visits": 2})
    groups = [(GAMMA, 400), (FFS, 600)]
    out = attributed_sums(groups, 1_500, attribution=att, seed=12)
    r, se = ratio_and_se(out["spending"], out["count"])
    assert abs(r - benchmark_per_capita(groups, att)) < 4 * se
    pop = benchmark_per_capita(groups, att.model_copy(update={"benchmark": "population"}))
    assert pop == pytest.approx(0.4 * GAMMA.to_model().mean(True)
                                + 0.6 * FFS.to_model().mean(True))
