"""The lognormal-mixture spending model, end to end.

Oracles: the Medicare FFS concentration targets; quadrature over the model's own
quantile function (independent of the closed-form partial moments); scipy's lognormal
for each component; the pure-NumPy kernel reference (tests/reference.py); Monte Carlo
checks at fixed seeds with tolerances of 4 standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pydantic
import pytest
from scipy import integrate, special, stats

from simsav.draw.aggregate import simulate_group_sums_aggregate
from simsav.draw.groups import pack_groups, simulate_group_stats, simulate_group_sums
from simsav.draw.panel import PersistenceSpec, simulate_panel_sums
from simsav.draw.scores import score_form
from simsav.kernels import attribution as ak
from simsav.kernels import panel as pk
from simsav.kernels import spending as _kernels
from simsav.scenario import parse_scenario
from simsav.simulation import simulate
from simsav.spending import (
    MEDICARE_FFS_TARGETS,
    KernelArgs,
    SpendingSpec,
    kernel_args,
    model_from_kernel_args,
)
from simsav.spending.lognormal_mixture import (
    MEDICARE_FFS_CV,
    MEDICARE_FFS_MIXTURE,
    LognormalMixture,
    fit_lognormal_mixture,
)

try:  # tests/ is on sys.path (pytest's rootdir-less "prepend" import mode)
    from reference import reference_group_stats
except ImportError:  # pragma: no cover - tests/ is a package
    from tests.reference import reference_group_stats

MEAN = 11_000.0
TOPS = list(MEDICARE_FFS_TARGETS)
SPEC = SpendingSpec(model="lognormal-mixture", mean=MEAN, truncate_quantile=0.99)
MODEL = SPEC.to_model()
# a shape away from the default, and one with no zero mass
OTHER = LognormalMixture.from_mean(
    MEAN, zero_share=0.2, high_share=0.3, low_sigma=0.8, high_sigma=1.5, high_mean_ratio=4.0,
    truncate_at=60_000.0,
)
NO_ZERO = LognormalMixture.from_mean(
    MEAN, zero_share=0.0, high_share=0.1, low_sigma=1.0, high_sigma=0.6, high_mean_ratio=10.0
)
MODELS = {"default": MODEL, "other": OTHER, "no-zero": NO_ZERO}


# --- the fit to Medicare FFS -------------------------------------------------------------


def test_default_shape_hits_the_medicare_shares_and_cv() -> None:
    m = LognormalMixture.from_mean(1.0, **MEDICARE_FFS_MIXTURE)
    shares = np.asarray(m.concentration(TOPS))
    targets = np.array(list(MEDICARE_FFS_TARGETS.values()))
    assert np.max(np.abs(shares - targets)) < 0.001  # within 0.1 point each
    assert m.cv() == pytest.approx(MEDICARE_FFS_CV, abs=0.005)
    assert MEDICARE_FFS_CV == pytest.approx(2.16)


def test_refit_reproduces_the_constant() -> None:
    fit = fit_lognormal_mixture(MEDICARE_FFS_TARGETS, cv=MEDICARE_FFS_CV, mean=MEAN)
    assert fit.mean() == pytest.approx(MEAN, rel=1e-12)
    got = {
        "zero_share": fit.zero_share,
        "high_share": fit.high_share,
        "low_sigma": fit.low_sigma,
        "high_sigma": fit.high_sigma,
        "high_mean_ratio": fit.high_mean_ratio,
    }
    for name, value in MEDICARE_FFS_MIXTURE.items():
        assert got[name] == pytest.approx(value, abs=1e-3), name


def test_fit_recovers_a_mixture() -> None:
    qs = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
    shares = dict(zip(qs, OTHER.concentration(qs), strict=True))
    fit = fit_lognormal_mixture(shares)
    np.testing.assert_allclose(fit.concentration(qs), OTHER.concentration(qs), atol=1e-5)
    with pytest.raises(ValueError, match="at least 5"):
        fit_lognormal_mixture({0.01: 0.1, 0.05: 0.3})
    with pytest.raises(ValueError, match="share"):
        fit_lognormal_mixture({0.01: 0.001, 0.05: 0.3, 0.1: 0.4, 0.2: 0.5, 0.5: 0.9})


# --- closed forms --------------------------------------------------------------------


def _quantile_integral(model: LognormalMixture, k: int, cap: float) -> float:
    """E[min(X, cap)**k] by quadrature over the quantile function."""
    u_cap = model.cdf(cap)
    f = lambda u: min(model.quantile(u), cap) ** k  # noqa: E731
    pts = [p for p in (model.zero_share, 0.5, 0.9, 0.99) if 0 < p < u_cap]
    val, _ = integrate.quad(f, 0.0, u_cap, points=pts or None, limit=400, epsabs=0, epsrel=1e-10)
    return val + (1.0 - u_cap) * cap**k


@pytest.mark.parametrize("name", list(MODELS))
def test_moments_match_components_and_quadrature(name: str) -> None:
    m = MODELS[name]
    parts = [(1 - m.high_share, m.low_mu, m.low_sigma), (m.high_share, m.high_mu, m.high_sigma)]
    comps = [(w, stats.lognorm(s=s, scale=math.exp(mu))) for w, mu, s in parts]
    nz = 1 - m.zero_share
    assert m.mean() == pytest.approx(nz * sum(w * d.mean() for w, d in comps), rel=1e-12)
    m2 = nz * sum(w * d.moment(2) for w, d in comps)
    assert m.variance() == pytest.approx(m2 - m.mean() ** 2, rel=1e-10)
    for x in (100.0, 5_000.0, 50_000.0):
        cdf = m.zero_share + nz * sum(w * d.cdf(x) for w, d in comps)
        assert m.cdf(x) == pytest.approx(cdf, rel=1e-12)
        assert m.sf(x) == pytest.approx(1 - cdf, rel=1e-9)
    for p in (0.9, 0.99, 0.999):
        cap = m.quantile(p)
        m1 = _quantile_integral(m, 1, cap)
        assert m.mean(cap) == pytest.approx(m1, rel=1e-7)
        assert m.variance(cap) == pytest.approx(_quantile_integral(m, 2, cap) - m1 * m1, rel=1e-6)
        assert m.capped_share(cap) == pytest.approx(1 - p, rel=1e-9)


@pytest.mark.parametrize("name", list(MODELS))
def test_quantiles_invert_the_cdf_in_both_tails(name: str) -> None:
    m = MODELS[name]
    for p in (1e-12, 0.01, 0.3, 0.5, 0.8, 0.99, 0.9999):
        pp = m.zero_share + (1 - m.zero_share) * p  # probabilities in the non-zero part
        assert m.cdf(m.quantile(pp)) == pytest.approx(pp, rel=1e-10)
    assert m.quantile(m.zero_share * 0.5) == 0.0 and math.isinf(m.quantile(1.0))
    s = np.array([1e-300, 1e-15, 1e-6, 0.01, 0.3, 0.6, 0.9]) * m.sf(0.0)
    x = m.isf(s)
    assert x.shape == s.shape and np.all(np.diff(x) < 0)
    np.testing.assert_allclose([m.sf(v) for v in x], s, rtol=1e-9)
    assert m.isf(0.0) == math.inf and m.isf(1.0) == 0.0 and isinstance(m.isf(0.2), float)
    # the score transform the panel tabulates
    v = np.linspace(-8.5, 8.5, 35)
    lx, dlx = m.score_log_quantile(v)
    nz = 1 - m.zero_share
    np.testing.assert_allclose(
        [m.sf(math.exp(t)) / nz for t in lx], special.ndtr(-v), rtol=1e-9
    )
    h = 1e-5
    num = (m.score_log_quantile(v + h)[0] - m.score_log_quantile(v - h)[0]) / (2 * h)
    np.testing.assert_allclose(dlx, num, rtol=1e-6)


@pytest.mark.parametrize("name", list(MODELS))
def test_sample_between_is_the_conditional_law(name: str) -> None:
    m = MODELS[name]
    lo, hi = float(m.isf(0.03)), float(m.isf(0.005))
    for a, b in ((lo, hi), (lo, math.inf), (0.0, lo)):
        x = m.sample_between(np.random.default_rng(1), 40_000, a, b)
        assert np.all((x > a) & (x <= b))
        y = m.conditional_quantile(np.random.default_rng(2).random(40_000), a, b)
        assert stats.ks_2samp(x, y).pvalue > 1e-4
        top = m.mean() if math.isinf(b) else m.partial_moment(1, b)
        want = (top - m.partial_moment(1, a)) / (m.sf(a) - m.sf(b))
        assert abs(x.mean() - want) < 4 * x.std() / math.sqrt(x.size)


# --- the spec ------------------------------------------------------------------------


def test_spec_defaults_to_the_fitted_shape_and_takes_explicit_fields() -> None:
    m = SpendingSpec(model="lognormal-mixture", mean=MEAN).to_model()
    assert isinstance(m, LognormalMixture) and m.mean() == pytest.approx(MEAN)
    assert m.zero_share == MEDICARE_FFS_MIXTURE["zero_share"]
    assert m.high_mean_ratio == pytest.approx(MEDICARE_FFS_MIXTURE["high_mean_ratio"])
    spec = SpendingSpec(model="lognormal-mixture", mean=MEAN, zero_share=0.2, high_share=0.3,
                        low_sigma=0.8, high_sigma=1.5, high_mean_ratio=4.0, truncate_at=60_000)
    assert spec.to_model() == OTHER
    assert SpendingSpec.model_validate(spec.model_dump(exclude_none=True)) == spec
    partial = SpendingSpec(model="lognormal-mixture", mean=MEAN, zero_share=0.0).to_model()
    assert partial.zero_share == 0.0 and partial.high_share == MEDICARE_FFS_MIXTURE["high_share"]
    assert spec.replace(model="medicare-ffs").model_dump(exclude_none=True) == {
        "model": "medicare-ffs", "mean": MEAN, "truncate_at": 60_000.0}


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"high_share": 1.0}, "less than 1"),
        ({"high_share": 0.0}, "greater than 0"),
        ({"zero_share": 1.0}, "less than 1"),
        ({"low_sigma": 0.0}, "greater than 0"),
        ({"high_sigma": 4.5}, "less than or equal to 4"),
        ({"high_mean_ratio": 0.5}, "greater than or equal to 1"),
        ({"cv": 2.0}, "cv: does not apply to model 'lognormal-mixture'"),
        ({"tail_alpha": 3.0}, "tail_alpha: does not apply"),
    ],
)
def test_spec_validation(fields: dict, match: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=match):
        SpendingSpec.model_validate({"model": "lognormal-mixture", "mean": MEAN, **fields})


def test_kernel_args_round_trip_and_domain() -> None:
    ka = kernel_args(OTHER)
    assert ka.code == LognormalMixture.code and ka.params.shape == (6,)
    assert model_from_kernel_args(ka) == OTHER
    assert model_from_kernel_args(tuple(ka)) == OTHER
    bad = ka.params.copy()
    bad[1] = 1.0
    with pytest.raises(ValueError, match="0 < high_share < 1"):
        kernel_args((ka.code, bad, None))
    with pytest.raises(ValueError, match="takes 6 params"):
        kernel_args((ka.code, bad[:5], None))


# --- the one-year kernel -------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_kernel_equals_reference(name: str) -> None:
    ka = kernel_args(MODELS[name])
    groups = [(ka, 40), (KernelArgs(ka.code, ka.params, math.inf), 25), (ka, 0), (ka, 3)]
    out = _kernels.empty_outputs(6, len(groups))
    rng_k = np.random.default_rng(11)
    _kernels.group_sums_block(rng_k, *pack_groups(groups), *out)
    rng_r = np.random.default_rng(11)
    ref = reference_group_stats(rng_r, groups, 6)
    for got, want in zip(out, ref, strict=True):
        np.testing.assert_array_equal(got, want)
    assert rng_k.random() == rng_r.random()  # the same variates were consumed


def test_composition_is_a_zero_mass_and_two_lognormals() -> None:
    comp = MODEL.composition()
    assert comp.zero_share == MODEL.zero_share
    assert [c.kind for c in comp.components] == [1, 1]  # LOGNORMAL twice
    assert [c.weight for c in comp.components] == [1 - MODEL.high_share, MODEL.high_share]


@pytest.mark.parametrize("name", list(MODELS))
def test_kernel_sums_match_closed_form_mean_and_variance(name: str) -> None:
    model = MODELS[name]
    n, n_sims = 200, 20_000
    gs = simulate_group_stats([(model, n)], n_sims, seed=2024)
    for pc, truncated in ((gs.truncated[:, 0] / n, True), (gs.untruncated[:, 0] / n, False)):
        mu, var = model.mean(truncated), model.variance(truncated)
        assert abs(pc.mean() - mu) < 4 * math.sqrt(var / n / n_sims), (truncated, pc.mean(), mu)
        dev2 = (pc - pc.mean()) ** 2
        s2 = dev2.sum() / (n_sims - 1)
        assert abs(s2 - var / n) < 4 * dev2.std() / math.sqrt(n_sims), (truncated, s2, var / n)
    p = model.capped_share(True)
    ncap = gs.n_truncated[:, 0]
    assert abs(ncap.mean() - n * p) <= 4 * math.sqrt(n * p * (1 - p) / n_sims)


def test_individual_draws_follow_the_cdf() -> None:
    x = simulate_group_stats([(MODEL, 1)] * 50, 20_000, seed=77).untruncated.ravel()
    for p in (0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999):
        q = MODEL.quantile(p)
        f = MODEL.cdf(q)
        ecdf = np.count_nonzero(x <= q) / x.size
        assert abs(ecdf - f) < 4.5 * math.sqrt(f * (1 - f) / x.size) + 1e-12, (p, ecdf, f)
    assert abs(np.mean(x == 0.0) - MODEL.zero_share) < 4 * math.sqrt(0.07 * 0.93 / x.size)


# --- the aggregate path against the per-beneficiary path ----------------------------


@pytest.mark.parametrize("spec", [SPEC, SpendingSpec(model="lognormal-mixture", mean=MEAN)],
                         ids=["p99", "uncapped"])
@pytest.mark.parametrize(("n", "ben_sims"), [(1_000, 20_000), (10_000, 5_000)])
def test_aggregate_agrees_with_per_beneficiary(spec: SpendingSpec, n: int, ben_sims: int) -> None:
    b = simulate_group_sums([(spec, n)], ben_sims, seed=11)[:, 0] / n
    a = simulate_group_sums_aggregate([(spec, n)], 100_000, seed=12)[:, 0] / n
    z_mean = (a.mean() - b.mean()) / math.sqrt(a.var() / a.size + b.var() / b.size)
    assert abs(z_mean) < 4
    assert stats.ks_2samp(a, b).pvalue > 1e-4
    m = spec.to_model()
    mean_t, var_t = m.mean(truncated=True), m.variance(truncated=True) / n
    assert abs(a.mean() - mean_t) < 4 * math.sqrt(var_t / a.size)
    m4 = np.mean((a - a.mean()) ** 4)
    assert abs(a.var() - var_t) < 4 * math.sqrt((m4 - a.var() ** 2) / a.size)


# --- score kernels: panel and attribution --------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_score_transform_is_the_model_quantile(name: str) -> None:
    m = MODELS[name]
    kind, params = score_form(m)
    w = np.concatenate([np.linspace(-5.5, 5.5, 2001),
                        np.random.default_rng(0).standard_normal(500)])
    got = pk.score_to_spending(kind, params, w)
    want = np.array([m.quantile(float(u)) for u in special.ndtr(w)])
    assert np.array_equal(got == 0, want == 0)  # zeros exactly where Phi(w) <= p0
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=0)


def test_panel_yearly_marginals_match_theory() -> None:
    n, n_sims, n_years = 400, 2_000, 4
    persistence = PersistenceSpec(rho=0.8, exit_rate=0.1, exit_corr=0.6)
    sums = simulate_panel_sums([(SPEC, n)], n_sims, n_years, persistence=persistence, seed=5)
    pc = sums[:, :, 0] / n
    mu, var = MODEL.mean(True), MODEL.variance(True)
    for t in range(n_years):
        x = pc[:, t]
        assert abs(x.mean() - mu) < 4 * math.sqrt(var / n / n_sims), t
        dev2 = (x - x.mean()) ** 2
        assert abs(dev2.mean() * n - var) < 4 * dev2.std() * n / math.sqrt(n_sims), t
    # persistence: consecutive years are positively correlated
    assert np.corrcoef(pc[:, 0], pc[:, 1])[0, 1] > 0.3


def test_attribution_scored_draws_follow_the_model() -> None:
    kind, p = score_form(MODEL, forward=True)
    x, s = ak.scored_draws(np.random.default_rng(5), kind, p, 200_000)
    assert abs(s.mean()) < 4 / math.sqrt(s.size)
    order = np.argsort(s)
    assert (np.diff(x[order]) >= 0).all()
    xc = np.minimum(x, MODEL.cap(True))
    assert abs(xc.mean() - MODEL.mean(True)) < 4 * MODEL.sd(True) / math.sqrt(x.size)
    probe = np.array([-1.0, 0.3, 1.5, 2.5])
    np.testing.assert_allclose(np.interp(probe, s[order], x[order]),
                               MODEL.isf(special.ndtr(-probe)), rtol=0.03)


# --- a scenario with the model -------------------------------------------------------


def _scenario(agreement: dict | None = None) -> dict:
    return {
        "name": "mixture", "seed": 3, "sims": 400,
        "population": {"beneficiaries": 2_000},
        "spending": {"model": "lognormal-mixture", "mean": MEAN, "truncate_quantile": 0.99},
        "quality": {"score": 1.0},
        "agreement": agreement or {"years": 1},
        "designs": [{"name": "T1", "preset": "mssp-track1-2012"}],
    }


@pytest.mark.parametrize("agreement", [None, {"years": 3, "persistence": "medicare"}],
                         ids=["one-year", "three-years"])
def test_scenario_runs_through_simulate(agreement: dict | None) -> None:
    scn = parse_scenario(_scenario(agreement))
    ds = simulate(scn)
    n_years = 1 if agreement is None else 3
    spend = ds["expenditure_total"].sel(design="T1") / 2_000
    assert spend.shape == (400, n_years)
    # no true savings, no benchmark error: per-capita expenditure is the capped mean
    sd = MODEL.sd(True) / math.sqrt(2_000 * 400)
    for t in range(n_years):
        assert abs(float(spend[:, t].mean()) - MODEL.mean(True)) < 4 * sd, t
