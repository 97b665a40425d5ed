"""The aggregate draws agree with the per-beneficiary kernel within Monte Carlo error.

Tolerances (each check is at a fixed seed, so the suite is deterministic; the levels say
how unlikely a failure would be by chance if the two paths had the same distribution):

* means and SDs of the per-capita mean: two-sample z-tests, ``|z| < 4`` (two-sided
  p ~ 6e-5). The SE of a mean is ``sd / sqrt(n)``; the SE of a sample SD is the delta-method
  ``sqrt((m4 - s**4) / n) / (2 s)`` from the sample's own fourth central moment;
* distribution: a two-sample Kolmogorov-Smirnov test, ``p > 1e-4``;
* quantiles (1%, 5%, 95%, 99%): distribution-free order-statistic bands for each sample
  (ranks from ``Binomial(n, q)`` at ``5e-5`` and ``1 - 5e-5``: each band covers its true
  quantile with probability >= 0.9999); equal distributions make the two bands overlap
  with probability >= 0.9998, so the test asks that they overlap;
* exact forms: uncapped gamma against ``Gamma(N k, theta)`` (one-sample KS, ``p > 1e-4``);
  the aggregate mean against ``N * mean(truncated=True)`` (and the variance against
  ``N * variance(truncated=True)`` where the fourth moment is finite) within 4 SE.

The per-beneficiary side costs ``N x sims`` draws: 20,000 sims at N = 1,000, 5,000 at
10,000, 2,000 at 100,000 (``slow``: 200M draws per model). The aggregate side draws 100,000
sims in every case (well under a second).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simsav.draw import aggregate as aggregate
from simsav.draw.aggregate import (
    EXACT_COUNT,
    STREAM,
    TAIL_COUNT,
    aggregate_plan,
    simulate_group_sums_aggregate,
)
from simsav.draw.groups import simulate_group_sums
from simsav.rng import map_blocks
from simsav.spending import (
    Empirical,
    Gamma,
    HurdleLognormal,
    Lognormal,
    LognormalPareto,
    SpendingSpec,
    kernel_args,
    medicare_ffs,
    model_from_kernel_args,
)

MEAN = 11_000.0
SPECS = {
    "gamma": SpendingSpec(model="gamma", mean=MEAN, cv=2.0),
    "gamma-capped": SpendingSpec(model="gamma", mean=MEAN, cv=2.0, truncate_quantile=0.99),
    "lognormal": SpendingSpec(model="lognormal", mean=MEAN, cv=2.0),
    "hurdle-lognormal": SpendingSpec(model="hurdle-lognormal", mean=MEAN, cv=2.1, zero_share=0.05),
    "medicare-ffs": SpendingSpec(model="medicare-ffs", mean=MEAN),
    "medicare-ffs-p99": SpendingSpec(model="medicare-ffs", mean=MEAN, truncate_quantile=0.99),
    "empirical": SpendingSpec(model="empirical", mean=MEAN),
}
# Per-beneficiary sims per size (N x sims draws per model).
BEN_SIMS = {1_000: 20_000, 10_000: 5_000, 100_000: 2_000}
AGG_SIMS = 100_000
Z_TOL = 4.0
KS_P = 1e-4
BAND_TAIL = 5e-5
QUANTILES = (0.01, 0.05, 0.95, 0.99)


def _sd_se(x: np.ndarray) -> tuple[float, float]:
    s = float(x.std())
    m4 = float(np.mean((x - x.mean()) ** 4))
    return s, math.sqrt(max(m4 - s**4, 0.0) / x.size) / (2.0 * s)


def _band(x_sorted: np.ndarray, q: float) -> tuple[float, float]:
    n = x_sorted.size
    lo = int(stats.binom.ppf(BAND_TAIL, n, q)) - 1
    hi = int(stats.binom.ppf(1.0 - BAND_TAIL, n, q))
    return float(x_sorted[max(lo, 0)]), float(x_sorted[min(hi, n - 1)])


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Checks of two samples of the per-capita mean (a: aggregate, b: per-beneficiary)."""
    out = {
        "z_mean": (a.mean() - b.mean()) / math.sqrt(a.var() / a.size + b.var() / b.size),
        "ks_p": float(stats.ks_2samp(a, b).pvalue),
    }
    (sa, sea), (sb, seb) = _sd_se(a), _sd_se(b)
    out["z_sd"] = (sa - sb) / math.hypot(sea, seb)
    a_s, b_s = np.sort(a), np.sort(b)
    for q in QUANTILES:
        (alo, ahi), (blo, bhi) = _band(a_s, q), _band(b_s, q)
        out[f"overlap_q{q}"] = float(alo <= bhi and blo <= ahi)
    return out


def _check(name: str, n: int, seed: int) -> None:
    spec = SPECS[name]
    b = simulate_group_sums([(spec, n)], BEN_SIMS[n], seed=seed)[:, 0] / n
    a = simulate_group_sums_aggregate([(spec, n)], AGG_SIMS, seed=seed + 1)[:, 0] / n
    r = agreement(a, b)
    assert abs(r["z_mean"]) < Z_TOL, r
    assert abs(r["z_sd"]) < Z_TOL, r
    assert r["ks_p"] > KS_P, r
    for q in QUANTILES:
        assert r[f"overlap_q{q}"] == 1.0, (q, r)


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("n", [1_000, 10_000])
def test_agrees_with_per_beneficiary(name: str, n: int) -> None:
    _check(name, n, seed=11)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SPECS))
def test_agrees_with_per_beneficiary_100k(name: str) -> None:
    _check(name, 100_000, seed=13)


@pytest.mark.parametrize(
    "spec",
    [
        SPECS["medicare-ffs"],
        SPECS["gamma-capped"],
        # 10% non-zero: at 200 beneficiaries every non-zero value is drawn exactly (u = 0)
        SpendingSpec(model="hurdle-lognormal", mean=MEAN, cv=4.0, zero_share=0.9),
    ],
)
@pytest.mark.parametrize("n", [50, 200])
def test_small_groups_agree(spec: SpendingSpec, n: int) -> None:
    plan = aggregate_plan(spec, n)
    assert plan.method == ("kernel" if n <= EXACT_COUNT else "split")
    b = simulate_group_sums([(spec, n)], 20_000, seed=3)[:, 0] / n
    a = simulate_group_sums_aggregate([(spec, n)], 20_000, seed=4)[:, 0] / n
    r = agreement(a, b)
    assert abs(r["z_mean"]) < Z_TOL and r["ks_p"] > KS_P, r


# -- exact forms ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [1_000, 1_000_000])
def test_gamma_uncapped_is_exact(n: int) -> None:
    m = Gamma.from_mean_cv(MEAN, 2.0)
    assert aggregate_plan(m, n).method == "gamma"
    x = simulate_group_sums_aggregate([(m, n)], 200_000, seed=5)[:, 0]
    p = stats.kstest(x, stats.gamma(n * m.shape, scale=m.scale).cdf).pvalue
    assert p > KS_P


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("n", [1_000, 100_000, 1_000_000])
def test_mean_and_variance_match_theory(name: str, n: int) -> None:
    m = SPECS[name].to_model()
    x = simulate_group_sums_aggregate([(m, n)], 20_000, seed=6)[:, 0]
    mean_t, var_t = n * m.mean(truncated=True), n * m.variance(truncated=True)
    assert abs(x.mean() - mean_t) < Z_TOL * x.std() / math.sqrt(x.size)
    if name != "medicare-ffs":  # Pareto tail alpha 2.7: no fourth moment, no SE for var
        m4 = np.mean((x - x.mean()) ** 4)
        se_var = math.sqrt((m4 - x.var() ** 2) / x.size)
        assert abs(x.var() - var_t) < Z_TOL * se_var


def test_approximation_error_indicator_is_small() -> None:
    for spec in SPECS.values():
        for n in (200, 1_000, 10_000, 100_000, 1_000_000, 2**40):
            plan = aggregate_plan(spec, n)
            assert abs(plan.kurtosis_error) < 1e-3, (spec, n, plan)
            assert plan.expected_exact_draws <= TAIL_COUNT + 1e-9


def test_plan_capped_large_group_draws_no_tail() -> None:
    plan = aggregate_plan(SPECS["medicare-ffs-p99"], 100_000)
    assert plan.method == "split" and plan.threshold == plan.cap
    assert plan.expected_exact_draws == 0.0 and plan.p_capped == 1.0
    assert plan.body_draw == "gamma" and plan.body_skew > 0
    assert aggregate_plan(SPECS["medicare-ffs-p99"], 0).method == "empty"


# -- randomness -----------------------------------------------------------------------

GROUPS = [
    (SPECS["medicare-ffs"], 5_000),
    (SPECS["gamma"], 2_000),
    (SPECS["hurdle-lognormal"], 60),
    (SPECS["empirical"], 0),
    (SPECS["gamma-capped"], 700),
]


def test_reproducible_and_independent_of_threads() -> None:
    a = simulate_group_sums_aggregate(GROUPS, 1_000, seed=7, block_size=128, n_threads=1)
    b = simulate_group_sums_aggregate(GROUPS, 1_000, seed=7, block_size=128, n_threads=2)
    c = simulate_group_sums_aggregate(GROUPS, 1_000, seed=7, block_size=128, n_threads=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(b, c)
    assert np.all(a[:, 3] == 0.0)
    d = simulate_group_sums_aggregate(GROUPS, 1_000, seed=8, block_size=128)
    e = simulate_group_sums_aggregate(GROUPS, 1_000, seed=7, block_size=256)
    cols = [0, 1, 2, 4]
    assert not np.any(a[:, cols] == d[:, cols]) and not np.any(a[:, cols] == e[:, cols])


@pytest.mark.parametrize("block_size", [100, 256, 600])
def test_more_sims_only_append(block_size: int) -> None:
    big = simulate_group_sums_aggregate(GROUPS, 1_300, seed=9, block_size=block_size)
    for n in (1, 99, 257, 700):
        small = simulate_group_sums_aggregate(GROUPS, n, seed=9, block_size=block_size)
        np.testing.assert_array_equal(small, big[:n])


def test_first_block_and_on_block() -> None:
    whole = simulate_group_sums_aggregate(GROUPS, 1_000, seed=10, block_size=256)
    seen: list[int] = []
    head = simulate_group_sums_aggregate(GROUPS, 512, seed=10, on_block=seen.append)
    tail = simulate_group_sums_aggregate(GROUPS, 488, seed=10, first_block=2)
    np.testing.assert_array_equal(np.vstack([head, tail]), whole)
    assert sorted(seen) == [256, 256]


def test_own_stream_and_appended_groups() -> None:
    # a later group does not change the draws of the earlier ones
    a = simulate_group_sums_aggregate(GROUPS[:2], 300, seed=12)
    b = simulate_group_sums_aggregate(GROUPS, 300, seed=12)
    np.testing.assert_array_equal(a, b[:, :2])
    # the aggregate path draws from sub-stream STREAM of each block
    m = SPECS["gamma"].to_model()
    x = simulate_group_sums_aggregate([(m, 1_000)], 10, seed=12)[:, 0]
    got: list[float] = []

    def first(rng: np.random.Generator, start: int, stop: int) -> None:
        got.extend(m.scale * rng.standard_gamma(1_000 * m.shape, size=stop - start))

    map_blocks(first, 10, seed=12, stream=STREAM)
    np.testing.assert_array_equal(x, got)


def test_model_inputs_are_interchangeable() -> None:
    groups = [(SPECS["medicare-ffs-p99"], 3_000), (SPECS["empirical"], 3_000)]
    by_spec = simulate_group_sums_aggregate(groups, 300, seed=14)
    by_model = simulate_group_sums_aggregate([(s.to_model(), n) for s, n in groups], 300, seed=14)
    by_args = simulate_group_sums_aggregate([(kernel_args(s), n) for s, n in groups], 300, seed=14)
    np.testing.assert_array_equal(by_spec, by_model)
    np.testing.assert_allclose(by_args, by_model, rtol=1e-9)


# -- validation -----------------------------------------------------------------------

SPEC = SPECS["gamma"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"groups": [(SPEC, 10)], "n_sims": 0}, r"n_sims: must be in \[1, 10000000\]"),
        ({"groups": [(SPEC, 10)], "n_sims": 2.0}, r"n_sims: must be a whole number"),
        ({"groups": [(SPEC, 10)], "n_sims": True}, r"n_sims: must be a whole number"),
        ({"groups": [], "n_sims": 5}, r"groups must be a non-empty sequence"),
        ({"groups": [SPEC], "n_sims": 5}, r"groups\[0\] must be a \(model, count\) pair"),
        ({"groups": [(SPEC, -1)], "n_sims": 5}, r"groups\[0\] count must be in \[0, 2\*\*40\]"),
        ({"groups": [(SPEC, 2**41)], "n_sims": 5}, r"count must be in \[0, 2\*\*40\]"),
        ({"groups": [(SPEC, 1.5)], "n_sims": 5}, r"groups\[0\] count must be an int"),
        ({"groups": [(SPEC, 5), ("gamma", 5)], "n_sims": 5}, r"groups\[1\]"),
        ({"groups": [((0, [-1.0, 1.0], math.inf), 5)], "n_sims": 5}, r"groups\[0\]: params"),
        (
            {"groups": [((3, [0.0, 0.0, 1.0, 0.0, 0.5, 1.0, 0.5], math.inf), 5)], "n_sims": 5},
            r"groups\[0\]: params out of range: lognormal-pareto",
        ),
        ({"groups": [(SPEC, 5)], "n_sims": 5, "block_size": 0}, r"block_size must be in"),
        ({"groups": [(SPEC, 5)], "n_sims": 5, "n_threads": 0}, r"n_threads must be >= 1"),
        ({"groups": [(SPEC, 5)], "n_sims": 5, "first_block": -1}, r"first_block must be"),
    ],
)
def test_validation(kwargs: dict, match: str) -> None:
    groups = kwargs.pop("groups")
    n_sims = kwargs.pop("n_sims")
    with pytest.raises(ValueError, match=match):
        simulate_group_sums_aggregate(groups, n_sims, seed=1, **kwargs)


def test_plan_validation() -> None:
    with pytest.raises(ValueError, match="count must be an int >= 0"):
        aggregate_plan(SPEC, -3)
    with pytest.raises(ValueError, match="SpendingSpec"):
        aggregate_plan("gamma", 3)


# -- the model methods the aggregate path uses (additions to simsav.spending) ----------

MODELS = [
    Gamma.from_mean_cv(MEAN, 2.0),
    Gamma.from_mean_cv(MEAN, 0.5),
    Lognormal.from_mean_cv(MEAN, 2.0),
    HurdleLognormal.from_mean_cv(MEAN, 2.1, zero_share=0.05),
    medicare_ffs(MEAN),
    LognormalPareto.from_mean(MEAN, sigma=1.0, tail_quantile=0.9, tail_alpha=2.5, zero_share=0.1),
    SPECS["empirical"].to_model(),
]


@pytest.mark.parametrize("m", MODELS, ids=lambda m: type(m).__name__)
def test_sf_and_isf(m) -> None:
    for x in (0.0, 0.1 * MEAN, MEAN, 5 * MEAN, 40 * MEAN):
        assert m.sf(x) == pytest.approx(1.0 - m.cdf(x), abs=1e-14)
    assert m.sf(-1.0) == 1.0
    s = np.array([1e-12, 1e-6, 1e-3, 0.02, 0.3, 0.6])
    s = s[s < m.sf(0.0)]
    x = m.isf(s)
    assert x.shape == s.shape and np.all(np.diff(x) <= 0)
    if isinstance(m, Empirical):  # smallest support point with P(X > x) <= s
        assert all(m.sf(xi) <= si for xi, si in zip(x, s, strict=True))
    else:  # continuous above 0: sf(isf(s)) = s with full relative precision
        np.testing.assert_allclose([m.sf(xi) for xi in x], s, rtol=1e-9)
        assert m.isf(0.0) == math.inf
    assert isinstance(m.isf(0.5), float)
    assert m.isf(1.0) == 0.0


@pytest.mark.parametrize("m", MODELS, ids=lambda m: type(m).__name__)
def test_sample_between(m) -> None:
    lo, hi = float(m.isf(0.03)), float(m.isf(0.005))
    for a, b in ((lo, hi), (lo, math.inf), (0.0, lo)):
        x = m.sample_between(np.random.default_rng(1), 40_000, a, b)
        assert x.shape == (40_000,) and np.all((x > a) & (x <= b))
        p = m.sf(a) - m.sf(b)
        want = (m.partial_moment(1, b) - m.partial_moment(1, a)) / p
        if math.isinf(b):
            want = (m.mean() - m.partial_moment(1, a)) / p
        se = x.std() / math.sqrt(x.size)
        assert abs(x.mean() - want) < Z_TOL * se
        # the default (inversion) draws the same distribution
        y = m.conditional_quantile(np.random.default_rng(2).random(40_000), a, b)
        assert stats.ks_2samp(x, y).pvalue > KS_P


def test_gamma_rejection_sampler_matches_inversion() -> None:
    for k in (0.25, 1.0, 4.0):
        m = Gamma(shape=k, scale=1.0)
        for lo, hi in ((m.isf(0.03), math.inf), (m.isf(0.03), m.isf(0.01))):
            x = m.sample_between(np.random.default_rng(3), 100_000, lo, hi)
            d = stats.gamma(k)
            f_lo, f_hi = d.cdf(lo), d.cdf(hi)
            p = stats.kstest(x, lambda t, d=d, a=f_lo, b=f_hi: (d.cdf(t) - a) / (b - a))
            assert p.pvalue > KS_P


def test_empirical_higher_partial_moments() -> None:
    m = Empirical.from_sample([0.0, 1.0, 2.0, 5.0, 5.0], mean=2.6)
    for k in (1, 2, 3, 4):
        assert m.partial_moment(k, 2.0) == pytest.approx((1.0 + 2.0**k) / 5)
    with pytest.raises(ValueError, match="k must be"):
        m.partial_moment(5, 1.0)
    assert m.conditional_quantile(np.array([0.0, 0.5, 0.99]), 1.0, 5.0).tolist() == [2.0, 5.0, 5.0]


@pytest.mark.parametrize("spec", list(SPECS.values()), ids=list(SPECS))
def test_model_from_kernel_args_round_trip(spec: SpendingSpec) -> None:
    m = spec.to_model()
    back = model_from_kernel_args(m.kernel_args())
    assert type(back) is type(m) and back.truncate_at == m.truncate_at
    for t in (False, True):
        assert back.mean(t) == pytest.approx(m.mean(t), rel=1e-12)
        assert back.variance(t) == pytest.approx(m.variance(t), rel=1e-9)
    assert model_from_kernel_args(spec) is m and model_from_kernel_args(m) is m


def test_module_constants() -> None:
    assert aggregate.STREAM == (7,)
    assert 1 <= EXACT_COUNT and TAIL_COUNT < EXACT_COUNT
