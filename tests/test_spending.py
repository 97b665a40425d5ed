"""Spending models: specification, closed-form moments, calibration, bundled sample."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pydantic
import pytest
from scipy import integrate, stats

from simsav import spending
from simsav.spending import (
    MEDICARE_FFS_SHAPE,
    MEDICARE_FFS_TARGETS,
    Empirical,
    Gamma,
    HurdleLognormal,
    KernelArgs,
    Lognormal,
    LognormalPareto,
    SpendingSpec,
    calibrate,
    calibrate_to_concentration,
    desynpuf_spending,
    kernel_args,
    medicare_ffs,
    spending_model,
)

TOPS = list(MEDICARE_FFS_TARGETS)

# --- SpendingSpec ---------------------------------------------------------------------


def test_spec_unknown_key_names_it() -> None:
    with pytest.raises(pydantic.ValidationError) as err:
        SpendingSpec.model_validate({"model": "gamma", "mean": 1.0, "cv": 1.0, "cvv": 2.0})
    assert err.value.errors()[0]["loc"] == ("cvv",)
    assert err.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"model": "gamma", "mean": 1.0}, "cv: required by model 'gamma'"),
        (
            {"model": "gamma", "mean": 1.0, "cv": 1.0, "zero_share": 0.1},
            "zero_share: does not apply",
        ),
        ({"model": "medicare-ffs", "mean": 1.0, "cv": 2.0}, "cv: does not apply to model"),
        ({"model": "hurdle-lognormal", "mean": 1.0, "cv": 2.0}, "zero_share: required by model"),
        ({"model": "hurdle-lognormal", "mean": 1.0, "cv": 0.3, "zero_share": 0.2}, "too small"),
        ({"model": "lognormal-pareto", "mean": 1.0, "cv": 2.0}, "tail_alpha: required by model"),
        (
            {"model": "lognormal-pareto", "mean": 1.0, "tail_alpha": 3.0},
            "exactly one of cv, body_sigma",
        ),
        (
            {"model": "lognormal-pareto", "mean": 1.0, "tail_alpha": 1.5, "cv": 2.0},
            "tail_alpha must be > 2",
        ),
        (
            {
                "model": "lognormal-pareto",
                "mean": 1.0,
                "tail_alpha": 3.0,
                "body_sigma": 1.0,
                "tail_quantile": 0.3,
            },
            "greater than or equal to 0.5",
        ),
        ({"model": "empirical", "mean": 1.0, "sample_year": 2011}, "sample_year"),
        ({"model": "empirical", "mean": 1.0, "tail_alpha": 3.0}, "tail_alpha: does not apply"),
        ({"model": "gumbel", "mean": 1.0}, "model"),
        ({"mean": 0.0}, "greater than 0"),
        ({"mean": math.inf}, "finite"),
        ({"mean": 1.0, "truncate_at": 5.0, "truncate_quantile": 0.99}, "not both"),
        ({"mean": 1.0, "truncate_quantile": 1.0}, "less than 1"),
        ({"mean": 1.0, "truncate_at": -1.0}, "greater than 0"),
    ],
)
def test_spec_validation(fields: dict, match: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=match):
        SpendingSpec.model_validate(fields)


def test_spec_frozen_and_round_trip() -> None:
    spec = SpendingSpec(model="hurdle-lognormal", mean=9_000, cv=2.1, zero_share=0.05)
    with pytest.raises(pydantic.ValidationError):
        spec.mean = 1.0  # type: ignore[misc]
    data = spec.model_dump(exclude_none=True)
    assert data == {"model": "hurdle-lognormal", "mean": 9000.0, "cv": 2.1, "zero_share": 0.05}
    again = SpendingSpec.model_validate(data)
    assert again == spec
    assert hash(again) == hash(spec)
    assert SpendingSpec(mean=1.0).model == "medicare-ffs"


@pytest.mark.parametrize(
    "fields",
    [
        {"model": "empirical", "mean": 9_000.0, "truncate_quantile": 0.99},
        {"model": "medicare-ffs", "mean": 9_000.0},
        {"model": "lognormal-pareto", "mean": 9_000.0, "cv": 2.0, "tail_alpha": 3.0},
    ],
)
def test_spec_equality_hash_and_pickle(fields: dict) -> None:
    import pickle

    a, b = SpendingSpec.model_validate(fields), SpendingSpec.model_validate(fields)
    assert a == b and hash(a) == hash(b)
    c = pickle.loads(pickle.dumps(a))
    assert c == a and c.to_model() == a.to_model()
    assert a != a.replace(mean=1.0)


def test_spec_replace_for_strata() -> None:
    base = SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99)
    esrd = base.replace(mean=90_000)
    assert esrd.truncate_quantile == 0.99
    assert esrd.to_model().mean() == pytest.approx(90_000)
    scaled_cap = 90_000 / 11_000 * base.to_model().truncate_at
    assert esrd.to_model().truncate_at == pytest.approx(scaled_cap)
    fixed = base.replace(truncate_at=200_000)
    assert fixed.truncate_quantile is None and fixed.truncate_at == 200_000
    gamma = base.replace(model="gamma", cv=2.0)
    assert gamma.to_model().cv() == pytest.approx(2.0)
    back = gamma.replace(model="medicare-ffs")  # drops cv, which medicare-ffs does not take
    assert back.cv is None
    with pytest.raises(pydantic.ValidationError, match="cv: does not apply"):
        back.replace(cv=3.0)


def test_lognormal_pareto_spec_defaults() -> None:
    m = SpendingSpec(model="lognormal-pareto", mean=7.0, body_sigma=1.1, tail_alpha=3.0)
    lp = m.to_model()
    assert isinstance(lp, LognormalPareto)
    assert (lp.tail_quantile, lp.zero_share, lp.sigma) == (0.95, 0.0, 1.1)
    assert lp.mean() == pytest.approx(7.0)


def test_spending_model_accepts_mapping() -> None:
    m = spending_model({"model": "gamma", "mean": 5.0, "cv": 0.5})
    assert isinstance(m, Gamma) and m.mean() == pytest.approx(5.0)


# --- moments --------------------------------------------------------------------------

MODELS = {
    "gamma": Gamma.from_mean_cv(10_000.0, 2.1),
    "gamma-small-cv": Gamma.from_mean_cv(10_000.0, 0.4),
    "lognormal": Lognormal.from_mean_cv(10_000.0, 2.1),
    "hurdle-lognormal": HurdleLognormal.from_mean_cv(10_000.0, 2.1, zero_share=0.15),
    "lognormal-pareto": LognormalPareto.from_mean_cv(
        10_000.0, 2.1, tail_quantile=0.9, tail_alpha=2.5, zero_share=0.05
    ),
    "lognormal-pareto-alpha2": LognormalPareto.from_mean(
        10_000.0, sigma=1.0, tail_quantile=0.95, tail_alpha=2.0
    ),
    "medicare-ffs": medicare_ffs(10_000.0),
}


def _quantile_integral(model: spending.SpendingModel, k: int, cap: float) -> float:
    """E[min(X, cap)**k] = integral over u in (0, 1) of min(Q(u), cap)**k, by quadrature.

    Independent of the closed-form partial moments: uses only the quantile function.
    """
    u_cap = model.cdf(cap)
    f = lambda u: min(model.quantile(u), cap) ** k  # noqa: E731
    pts = [p for p in (0.5, 0.9, 0.99) if p < u_cap]
    val, _ = integrate.quad(f, 0.0, u_cap, points=pts or None, limit=400, epsabs=0, epsrel=1e-10)
    return val + (1.0 - u_cap) * cap**k


@pytest.mark.parametrize("name", list(MODELS))
def test_truncated_moments_match_quadrature(name: str) -> None:
    model = MODELS[name]
    for p in (0.9, 0.99, 0.999):
        cap = model.quantile(p)
        m1 = _quantile_integral(model, 1, cap)
        m2 = _quantile_integral(model, 2, cap)
        assert model.mean(cap) == pytest.approx(m1, rel=1e-7)
        assert model.variance(cap) == pytest.approx(m2 - m1 * m1, rel=1e-6)
        assert model.capped_share(cap) == pytest.approx(1 - p, rel=1e-9, abs=1e-12)
        assert model.mean(cap) < model.mean()


def test_untruncated_moments() -> None:
    assert MODELS["gamma"].mean() == pytest.approx(10_000.0)
    assert MODELS["gamma"].cv() == pytest.approx(2.1)
    for name in ("lognormal", "hurdle-lognormal", "lognormal-pareto"):
        assert MODELS[name].mean() == pytest.approx(10_000.0, rel=1e-12)
        assert MODELS[name].cv() == pytest.approx(2.1, rel=1e-9)
    assert math.isinf(MODELS["lognormal-pareto-alpha2"].variance())
    assert math.isfinite(MODELS["lognormal-pareto-alpha2"].variance(50_000.0))
    # scipy cross-checks
    g = MODELS["gamma"]
    sg = stats.gamma(a=g.shape, scale=g.scale)
    for x in (10.0, 1e3, 1e4, 1e5):
        assert g.cdf(x) == pytest.approx(sg.cdf(x), rel=1e-12)
    ln = MODELS["lognormal"]
    sl = stats.lognorm(s=ln.sigma, scale=math.exp(ln.mu))
    assert ln.quantile(0.99) == pytest.approx(sl.ppf(0.99), rel=1e-12)
    assert ln.variance() == pytest.approx(sl.var(), rel=1e-10)


def test_lognormal_pareto_untruncated_moments_by_quadrature() -> None:
    m = MODELS["lognormal-pareto"]
    # split at the splice point, integrate the density of the Pareto part analytically
    xs, a = m.splice_point, m.tail_alpha
    body = (1 - m.zero_share) * integrate.quad(
        lambda z: math.exp(m.mu + m.sigma * z) * stats.norm.pdf(z), -40, m.z_splice
    )[0]
    tail = (1 - m.zero_share) * (1 - m.tail_quantile) * a * xs / (a - 1)
    assert m.mean() == pytest.approx(body + tail, rel=1e-9)


@pytest.mark.parametrize("name", list(MODELS))
def test_quantile_inverts_cdf(name: str) -> None:
    m = MODELS[name]
    for p in (0.2, 0.5, 0.8, 0.95, 0.99, 0.9999):
        if p <= getattr(m, "zero_share", 0.0):
            assert m.quantile(p) == 0.0
            continue
        assert m.cdf(m.quantile(p)) == pytest.approx(p, rel=1e-10)
    assert math.isinf(m.quantile(1.0))


def test_lognormal_pareto_is_continuous_at_splice() -> None:
    m = MODELS["lognormal-pareto"]
    xs = m.splice_point
    assert m.cdf(xs * (1 - 1e-12)) == pytest.approx(m.cdf(xs * (1 + 1e-12)), abs=1e-9)
    assert m.cdf(xs) == pytest.approx(m.zero_share + (1 - m.zero_share) * m.tail_quantile)
    assert m.quantile(m.cdf(xs)) == pytest.approx(xs)


# --- concentration --------------------------------------------------------------------


def test_medicare_ffs_concentration_theory() -> None:
    m = medicare_ffs(11_000.0)
    shares = m.concentration(TOPS)
    for share, target in zip(shares, MEDICARE_FFS_TARGETS.values(), strict=True):
        assert abs(share - target) < 0.02
        assert abs(share - target) < 0.006  # the fit is much closer than the tolerance
    # literature.md section 7/8 case 9: cv ~2.3 untruncated; cap at p99 ~9.5x mean, cv ~1.9
    assert m.cv() == pytest.approx(2.3, abs=0.1)
    cap = m.quantile(0.99)
    assert cap / m.mean() == pytest.approx(9.5, abs=0.25)
    capped = m.with_truncation(truncate_quantile=0.99)
    assert capped.cv(True) == pytest.approx(1.9, abs=0.1)
    assert 1 - capped.mean(True) / m.mean() == pytest.approx(0.05, abs=0.01)
    # CBO 2001 cut-points relative to the mean (looser: another year and population)
    assert m.quantile(0.95) / m.mean() == pytest.approx(4.85, abs=0.5)
    assert m.quantile(0.75) / m.mean() == pytest.approx(0.85, abs=0.1)


def test_medicare_ffs_constants_refit() -> None:
    fit = calibrate_to_concentration(MEDICARE_FFS_TARGETS, mean=11_000.0)
    assert fit.sigma == pytest.approx(MEDICARE_FFS_SHAPE["sigma"], abs=1e-3)
    assert fit.tail_quantile == pytest.approx(MEDICARE_FFS_SHAPE["tail_quantile"], abs=1e-3)
    assert fit.tail_alpha == pytest.approx(MEDICARE_FFS_SHAPE["tail_alpha"], abs=1e-3)
    np.testing.assert_allclose(
        fit.concentration(TOPS), medicare_ffs(1.0).concentration(TOPS), atol=2e-4
    )


def test_calibrate_to_concentration_recovers_a_model() -> None:
    truth = LognormalPareto.from_mean(
        1.0, sigma=1.4, tail_quantile=0.92, tail_alpha=3.2, zero_share=0.08
    )
    qs = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
    shares = dict(zip(qs, truth.concentration(qs), strict=True))
    fit = calibrate_to_concentration(shares, mean=5.0, zero_share=None, truncate_quantile=0.99)
    np.testing.assert_allclose(fit.concentration(qs), truth.concentration(qs), atol=1e-5)
    assert fit.mean() == pytest.approx(5.0)
    assert fit.truncate_at == pytest.approx(fit.quantile(0.99))


@pytest.mark.parametrize(
    ("shares", "match"),
    [
        ({}, "must not be empty"),
        ({0.01: 0.1, 0.05: 0.3}, "at least 3 points"),
        ({0.01: 0.1, 0.05: 0.3, 0.1: 0.05}, "at least q|increase"),
        ({0.0: 0.1, 0.05: 0.3, 0.1: 0.5}, r"\(0, 1\)"),
    ],
)
def test_calibrate_to_concentration_validation(shares: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        calibrate_to_concentration(shares, mean=1.0)


def test_gamma_concentration_by_quadrature() -> None:
    g = Gamma.from_mean_cv(1.0, 1.5)
    for q in (0.01, 0.1, 0.5):
        x = g.quantile(1 - q)
        top = integrate.quad(lambda t: t * stats.gamma.pdf(t, g.shape, scale=g.scale), x, np.inf)
        assert g.concentration(q) == pytest.approx(top[0], rel=1e-7)
    assert g.concentration(1.0) == pytest.approx(1.0)


def test_truncated_concentration() -> None:
    m = medicare_ffs(1.0)
    cap = m.quantile(0.99)
    # the top 1% all sit at the cap once capped
    assert m.concentration(0.01, truncated=cap) == pytest.approx(0.01 * cap / m.mean(cap))
    assert m.concentration(0.05, truncated=cap) < m.concentration(0.05)


def test_empirical_concentration_matches_sorting() -> None:
    x = desynpuf_spending(2008)
    m = Empirical.from_sample(x, mean=1.0)
    v = np.sort(m.values)[::-1]
    for q in (0.01, 0.05, 0.2):
        t = q * v.size  # fractional count: the Lorenz curve is linear between points
        k = int(t)
        top = v[:k].sum() + (t - k) * v[k]
        assert m.concentration(q) == pytest.approx(top / v.sum(), rel=1e-9)
    cap = m.quantile(0.99)
    w = np.minimum(v, cap)
    assert m.mean(cap) == pytest.approx(w.mean(), rel=1e-12)
    assert m.variance(cap) == pytest.approx(w.var(), rel=1e-10)
    assert m.variance() == pytest.approx(v.var(), rel=1e-10)


# --- calibrate, kernel arguments, empirical --------------------------------------------


@pytest.mark.parametrize(
    ("model", "kw"),
    [
        ("gamma", {"cv": 2.0}),
        ("lognormal", {"cv": 2.0}),
        ("hurdle-lognormal", {"cv": 2.0, "zero_share": 0.2}),
        ("lognormal-pareto", {"cv": 2.0, "tail_alpha": 3.0, "tail_quantile": 0.9}),
    ],
)
def test_calibrate_hits_mean_and_cv(model: str, kw: dict) -> None:
    m = calibrate(model, mean=12_345.0, truncate_quantile=0.99, **kw)
    assert m.name == model
    assert m.mean() == pytest.approx(12_345.0, rel=1e-10)
    assert m.cv() == pytest.approx(2.0, rel=1e-8)
    assert m.truncate_at == pytest.approx(m.quantile(0.99))
    assert m.cv(True) < 2.0


def test_calibrate_named_models() -> None:
    assert calibrate("medicare-ffs", mean=8_000.0).mean() == pytest.approx(8_000.0)
    e = calibrate("empirical", mean=8_000.0, sample_year=2009, sample_subset="all")
    assert isinstance(e, Empirical) and e.mean() == pytest.approx(8_000.0)
    assert e.values.size == 9_856


def test_lognormal_pareto_cv_out_of_reach() -> None:
    with pytest.raises(ValueError, match="out of reach"):
        LognormalPareto.from_mean_cv(1.0, 0.05, tail_quantile=0.5, tail_alpha=2.5)


def test_kernel_args_layout() -> None:
    g = kernel_args(SpendingSpec(model="gamma", mean=10.0, cv=0.5))
    assert g.code == 0 and math.isinf(g.truncate_at)
    np.testing.assert_allclose(g.params, [4.0, 2.5])
    lp = medicare_ffs(1.0, truncate_at=3.0).kernel_args()
    assert lp.code == 3 and lp.params.shape == (7,) and lp.truncate_at == 3.0
    p0, mu, sigma, zs, tail_share, log_xs, inv_alpha = lp.params
    assert p0 == 0.0
    assert math.exp(log_xs) == pytest.approx(medicare_ffs(1.0).splice_point)
    assert log_xs == pytest.approx(mu + sigma * zs)
    assert tail_share == pytest.approx(1 - MEDICARE_FFS_SHAPE["tail_quantile"], rel=1e-12)
    assert inv_alpha == pytest.approx(1 / MEDICARE_FFS_SHAPE["tail_alpha"])
    h = HurdleLognormal(zero_share=0.1, mu=1.0, sigma=2.0, truncate_at=50.0)
    assert isinstance(h.kernel_args(), KernelArgs)
    assert h.kernel_args().params.tolist() == [0.1, 1.0, 2.0]


def test_desynpuf_sample_file() -> None:
    path = resources.files("simsav").joinpath("data/desynpuf_sample.csv")
    text = path.read_text()
    assert len(text.encode()) < 400_000
    assert text.splitlines()[0] == "row,reimb_2008,reimb_2009,reimb_2010,ffs_2008,ffs_2009,ffs_2010"
    assert len(text.splitlines()) == 10_001
    x = desynpuf_spending(2008, "all")
    assert x.size == 10_000 and x.mean() == pytest.approx(3_954.075)
    assert desynpuf_spending(2008).size == 6_365
    assert desynpuf_spending(2010, "all").min() == 0.0  # negatives set to 0
    assert desynpuf_spending(2009, "all").size == 9_856
    with pytest.raises(ValueError, match="year"):
        desynpuf_spending(2007)
    with pytest.raises(ValueError, match="subset"):
        desynpuf_spending(2008, "ma")  # type: ignore[arg-type]


def test_model_validation() -> None:
    with pytest.raises(ValueError, match="sigma"):
        Lognormal(mu=0.0, sigma=0.0)
    with pytest.raises(ValueError, match="zero_share"):
        HurdleLognormal(zero_share=1.0, mu=0.0, sigma=1.0)
    with pytest.raises(ValueError, match="tail_alpha"):
        LognormalPareto(zero_share=0.0, mu=0.0, sigma=1.0, tail_quantile=0.9, tail_alpha=1.0)
    with pytest.raises(ValueError, match="truncate_at"):
        Gamma(shape=1.0, scale=1.0, truncate_at=0.0)
    with pytest.raises(ValueError, match="values"):
        Empirical(values=np.array([0.0, 0.0]))
    with pytest.raises(ValueError, match="tops"):
        Gamma(shape=1.0, scale=1.0).concentration([0.0])
