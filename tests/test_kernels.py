"""Kernel tests: equality with the NumPy reference, determinism, and statistics."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import stats

from simsav import _numba, spending
from simsav.draw.groups import pack_groups, simulate_group_stats, simulate_group_sums
from simsav.kernels import common as _common
from simsav.kernels import spending as _kernels
from simsav.rng import block_generator, root_seed_sequence
from simsav.spending import (
    Empirical,
    Gamma,
    KernelArgs,
    SpendingSpec,
    kernel_args,
)

try:  # tests/ is on sys.path (pytest's rootdir-less "prepend" import mode)
    from reference import exp_affine as reference_exp_affine
    from reference import reference_group_stats
except ImportError:  # pragma: no cover - tests/ is a package
    from tests.reference import exp_affine as reference_exp_affine
    from tests.reference import reference_group_stats

SPECS: dict[str, SpendingSpec] = {
    "gamma-cv2": SpendingSpec(model="gamma", mean=10_000, cv=2.0, truncate_quantile=0.99),
    "gamma-cv0.5": SpendingSpec(model="gamma", mean=10_000, cv=0.5, truncate_quantile=0.99),
    "gamma-cv1": SpendingSpec(model="gamma", mean=10_000, cv=1.0),
    "lognormal": SpendingSpec(model="lognormal", mean=10_000, cv=2.0, truncate_quantile=0.99),
    "hurdle-lognormal": SpendingSpec(
        model="hurdle-lognormal", mean=10_000, cv=2.1, zero_share=0.1, truncate_quantile=0.99
    ),
    "lognormal-pareto": SpendingSpec(
        model="lognormal-pareto",
        mean=10_000,
        cv=2.0,
        zero_share=0.1,
        tail_alpha=2.5,
        truncate_quantile=0.99,
    ),
    "lognormal-pareto-nozero": SpendingSpec(
        model="lognormal-pareto", mean=10_000, body_sigma=1.2, tail_alpha=1.8, truncate_at=9e4
    ),
    "medicare-ffs": SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99),
    "empirical": SpendingSpec(model="empirical", mean=11_000, truncate_quantile=0.99),
}


def test_numba_options() -> None:
    assert _numba.cache_enabled({"SIMSAV_NUMBA_CACHE": "0"}) is False
    assert _numba.cache_enabled({"SIMSAV_NUMBA_CACHE": "Off"}) is False
    assert _numba.cache_enabled({"SIMSAV_NUMBA_CACHE": "1"}) is True
    with pytest.raises(ValueError, match="fastmath"):
        _numba.jit(lambda x: x, fastmath=True)
    with pytest.raises(ValueError, match="parallel"):
        _numba.jit(lambda x: x, parallel=True)
    opts = _kernels.group_sums_block.targetoptions
    assert opts.get("nogil") is True
    assert not opts.get("fastmath")
    assert opts.get("cache", False) == _numba.CACHE or _kernels.group_sums_block._cache


# --- equality with the reference ------------------------------------------------------


def test_kernel_exp_within_one_ulp_of_libm() -> None:
    rng = np.random.default_rng(0)
    y = np.concatenate([np.linspace(-700.0, 700.0, 100_001), rng.normal(8.0, 3.0, 100_000)])
    got = _common.exp_affine(y, 0.0, 1.0)
    want = np.array([math.exp(v) for v in y])
    assert np.max(np.abs(got - want) / np.spacing(want)) <= 2.0
    # the reference re-implements it step for step
    np.testing.assert_array_equal(reference_exp_affine(y, 0.0, 1.0), got)
    # affine argument, and clamping far outside any spending range
    z = rng.standard_normal(1000)
    np.testing.assert_array_equal(
        _common.exp_affine(z, 8.5, 1.3), reference_exp_affine(z, 8.5, 1.3)
    )
    ext = _common.exp_affine(np.array([-1e4, 1e4]), 0.0, 1.0)
    assert np.all(np.isfinite(ext)) and ext[0] > 0


def _kernel_block(groups: list[tuple[KernelArgs, int]], n_sims: int, seed: int):
    packed = pack_groups(groups)
    out = _kernels.empty_outputs(n_sims, len(groups))
    rng = np.random.default_rng(seed)
    _kernels.group_sums_block(rng, *packed, *out)
    return out, rng


@pytest.mark.parametrize("name", list(SPECS))
def test_kernel_equals_reference(name: str) -> None:
    ka = kernel_args(SPECS[name])
    uncapped = KernelArgs(ka.code, ka.params, math.inf)
    groups = [(ka, 40), (uncapped, 25), (ka, 0), (ka, 3)]
    out, rng_k = _kernel_block(groups, 6, seed=11)
    rng_r = np.random.default_rng(11)
    ref = reference_group_stats(rng_r, groups, 6)
    for got, want in zip(out, ref, strict=True):
        np.testing.assert_array_equal(got, want)
    # both consumed exactly the same variates
    assert rng_k.random() == rng_r.random()
    assert out[2][:, 2].tolist() == [0] * 6


def test_kernel_equals_reference_mixed_groups() -> None:
    groups = [(kernel_args(s), n) for s, n in zip(SPECS.values(), range(5, 50, 5), strict=False)]
    out, _ = _kernel_block(groups, 4, seed=3)
    ref = reference_group_stats(np.random.default_rng(3), groups, 4)
    for got, want in zip(out, ref, strict=True):
        np.testing.assert_array_equal(got, want)


def test_public_entry_uses_block_streams() -> None:
    groups = [(SPECS["medicare-ffs"], 30), (SPECS["gamma-cv2"], 20)]
    gs = simulate_group_stats(groups, 10, seed=42, block_size=4, n_threads=2)
    root = root_seed_sequence(42)
    kas = [(kernel_args(s), n) for s, n in groups]
    for k, (start, stop) in enumerate([(0, 4), (4, 8), (8, 10)]):
        ref = reference_group_stats(block_generator(root, k), kas, stop - start)
        np.testing.assert_array_equal(gs.truncated[start:stop], ref[0])
        np.testing.assert_array_equal(gs.untruncated[start:stop], ref[1])
        np.testing.assert_array_equal(gs.n_truncated[start:stop], ref[2])


# --- determinism ----------------------------------------------------------------------

GROUPS = [(SPECS["medicare-ffs"], 300), (SPECS["hurdle-lognormal"], 200), (SPECS["empirical"], 50)]


def test_one_vs_two_numba_threads_identical() -> None:
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simulate_group_sums(GROUPS, 100, seed=7, block_size=8)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = simulate_group_sums(GROUPS, 100, seed=7, block_size=8)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    for n_threads in (2, 3):
        np.testing.assert_array_equal(
            one, simulate_group_sums(GROUPS, 100, seed=7, block_size=8, n_threads=n_threads)
        )


def test_more_sims_only_append() -> None:
    block = 16
    small = simulate_group_sums(GROUPS, block, seed=9, block_size=block)
    big = simulate_group_sums(GROUPS, 2 * block, seed=9, block_size=block)
    odd = simulate_group_sums(GROUPS, 2 * block + 5, seed=9, block_size=block)
    part = simulate_group_sums(GROUPS, 5, seed=9, block_size=block)
    np.testing.assert_array_equal(big[:block], small)
    np.testing.assert_array_equal(odd[: 2 * block], big)
    np.testing.assert_array_equal(part, small[:5])
    assert not np.array_equal(big[block:], small)


def test_seed_forms() -> None:
    a = simulate_group_sums(GROUPS, 20, seed=5, block_size=8)
    np.testing.assert_array_equal(
        a, simulate_group_sums(GROUPS, 20, seed=np.random.SeedSequence(5), block_size=8)
    )
    same = simulate_group_sums(GROUPS, 20, seed=np.int64(5), block_size=8)
    np.testing.assert_array_equal(a, same)
    assert not np.array_equal(a, simulate_group_sums(GROUPS, 20, seed=6, block_size=8))
    assert not np.array_equal(a, simulate_group_sums(GROUPS, 20, seed=5, block_size=4))
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    x1 = simulate_group_sums(GROUPS, 20, seed=g1, block_size=8)
    np.testing.assert_array_equal(x1, simulate_group_sums(GROUPS, 20, seed=g2, block_size=8))
    # the Generator advanced: a second call differs
    assert not np.array_equal(x1, simulate_group_sums(GROUPS, 20, seed=g1, block_size=8))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"groups": []}, "groups must be a non-empty"),
        ({"groups": [(SPECS["gamma-cv1"], -1)]}, r"groups\[0\] count must be in"),
        ({"groups": [(SPECS["gamma-cv1"], 2.5)]}, r"groups\[0\] count must be an int"),
        ({"groups": [(SPECS["gamma-cv1"],)]}, r"groups\[0\] must be a \(model, count\) pair"),
        ({"groups": [("gamma", 3)]}, r"groups\[0\]: a group's model must be"),
        ({"groups": [((99, [1.0], None), 3)]}, r"model code must be an int in \[0, 1, "),
        ({"groups": [((0, [1.0], None), 3)]}, "model code 0 takes 2 params, got 1"),
        ({"groups": [((1, [0.0, np.nan], None), 3)]}, "finite"),
        ({"groups": [((1, [0.0, 1.0], 0.0), 3)]}, "truncate_at must be > 0"),
        ({"groups": [((1, [0.0, -1.0], None), 3)]}, "lognormal needs sigma > 0"),
        ({"groups": [((2, [1.0, 0.0, 1.0], None), 3)]}, "0 <= p0 < 1"),
        ({"groups": [((3, [0, 0, 1, -1.0, 0.05, 1, 0.5], None), 3)]}, "z_s >= 0"),
        ({"groups": [((4, [1.0, -2.0], None), 3)]}, "empirical values must be >= 0"),
        ({"n_sims": 0}, r"n_sims: must be in \[1, 10000000\]"),
        ({"n_sims": 1.5}, "n_sims: must be a whole number"),
        ({"block_size": 0}, r"block_size must be in \[1, "),
        ({"n_threads": 0}, "n_threads must be >= 1"),
        ({"seed": -1}, "seed must be >= 0"),
    ],
)
def test_input_validation(kwargs: dict, match: str) -> None:
    args = {"groups": [(SPECS["gamma-cv1"], 3)], "n_sims": 4, "seed": 1} | kwargs
    with pytest.raises(ValueError, match=match):
        simulate_group_sums(args.pop("groups"), args.pop("n_sims"), **args)


def test_seed_type_error() -> None:
    with pytest.raises(TypeError, match="seed must be"):
        simulate_group_sums(GROUPS, 4, seed=1.0)  # type: ignore[arg-type]


def test_kernel_args_triple_accepted() -> None:
    ka = kernel_args(SPECS["lognormal"])
    a = simulate_group_sums([(ka, 10)], 5, seed=1)
    b = simulate_group_sums([(tuple(ka), 10)], 5, seed=1)
    c = simulate_group_sums([(SPECS["lognormal"], 10)], 5, seed=1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


# --- statistics -----------------------------------------------------------------------

# (spec, check the untruncated variance too): heavy Pareto tails (alpha < 4) have an
# infinite fourth moment, so their untruncated sample variance has no usable SE.
STAT_CASES = {
    "gamma-cv2": True,
    "gamma-cv0.5": True,
    "lognormal": True,
    "hurdle-lognormal": True,
    "lognormal-pareto": False,
    "medicare-ffs": False,
    "empirical": True,
}


@pytest.mark.parametrize("name", list(STAT_CASES))
def test_per_capita_mean_and_variance_match_theory(name: str) -> None:
    model = SPECS[name].to_model()
    n, n_sims = 200, 20_000
    gs = simulate_group_stats([(model, n)], n_sims, seed=2024)
    checks = [(gs.truncated[:, 0] / n, True, True)]
    checks.append((gs.untruncated[:, 0] / n, False, STAT_CASES[name]))
    for pc, truncated, check_var in checks:
        mu, var = model.mean(truncated), model.variance(truncated)
        se_mean = math.sqrt(var / n / n_sims)
        assert abs(pc.mean() - mu) < 4 * se_mean, (name, truncated, pc.mean(), mu, se_mean)
        if check_var:
            dev2 = (pc - pc.mean()) ** 2
            s2 = dev2.sum() / (n_sims - 1)
            se_var = dev2.std() / math.sqrt(n_sims)
            assert abs(s2 - var / n) < 4 * se_var, (name, truncated, s2, var / n, se_var)
    # capped count: binomial(n, P(X > cap)) per sim
    p = model.capped_share(True)
    ncap = gs.n_truncated[:, 0]
    assert abs(ncap.mean() - n * p) < 4 * math.sqrt(n * p * (1 - p) / n_sims)


@pytest.mark.parametrize("name", list(STAT_CASES))
def test_individual_draws_follow_the_cdf(name: str) -> None:
    """One beneficiary per group gives individual draws: compare their ecdf with the cdf."""
    model = SPECS[name].to_model()
    n_groups, n_sims = 50, 20_000
    x = simulate_group_stats([(model, 1)] * n_groups, n_sims, seed=77).untruncated.ravel()
    n = x.size
    for p in (0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999):
        q = model.quantile(p)
        f = model.cdf(q)
        ecdf = np.count_nonzero(x <= q) / n
        assert abs(ecdf - f) < 4.5 * math.sqrt(f * (1 - f) / n) + 1e-12, (name, p, ecdf, f)


def test_medicare_ffs_sample_concentration() -> None:
    model = spending.medicare_ffs(11_000.0)
    x = simulate_group_stats([(model, 1)] * 100, 20_000, seed=3).untruncated.ravel()
    x = np.sort(x)[::-1]
    total = x.sum()
    for q, target in spending.MEDICARE_FFS_TARGETS.items():
        share = x[: int(round(q * x.size))].sum() / total
        assert abs(share - target) < 0.02, (q, share, target)
        assert abs(share - float(model.concentration(q))) < 0.01


@pytest.mark.parametrize(("n", "n_sims"), [(1_000, 20_000), (20_000, 2_000)])
def test_gamma_sum_closed_form(n: int, n_sims: int) -> None:
    """The sum of n iid gamma(k, theta) is gamma(n k, theta): P(mean >= m) is exact."""
    model = Gamma.from_mean_cv(10_000.0, 2.0)
    k, theta = model.shape, model.scale
    means = simulate_group_sums([(model, n)], n_sims, seed=n) / n
    exact_mean_dist = stats.gamma(a=n * k, scale=theta / n)
    sd = model.sd() / math.sqrt(n)
    for z in (-1.5, 0.0, 1.0, 2.0):
        m = model.mean() + z * sd
        p = float(exact_mean_dist.sf(m))
        phat = float(np.mean(means >= m))
        assert abs(phat - p) < 4 * math.sqrt(p * (1 - p) / n_sims), (n, z, phat, p)


def test_empirical_draws_sample_points_only() -> None:
    model = Empirical.from_sample([1.0, 2.0, 4.0], mean=7.0 / 3.0)
    x = simulate_group_stats([(model, 1)] * 10, 300, seed=1).untruncated.ravel()
    assert set(np.unique(x)) == {1.0, 2.0, 4.0}
    counts = np.array([np.count_nonzero(x == v) for v in (1.0, 2.0, 4.0)])
    assert stats.chisquare(counts).pvalue > 1e-4


@pytest.mark.slow
def test_large_population_streaming() -> None:
    """A million beneficiaries per sim: per-capita sd matches theory (cv / sqrt(n))."""
    model = SPECS["medicare-ffs"].to_model()
    n, n_sims = 1_000_000, 64
    pc = simulate_group_sums([(model, n)], n_sims, seed=8, block_size=16) / n
    mu, sd = model.mean(True), model.sd(True) / math.sqrt(n)
    assert abs(pc.mean() - mu) < 4 * sd / math.sqrt(n_sims)
    assert 0.6 < pc.std(ddof=1) / sd < 1.4


def test_memory_is_flat_in_population_size() -> None:
    import tracemalloc

    spec = SPECS["medicare-ffs"]
    simulate_group_sums([(spec, 10)], 2, seed=0)  # compile / load outside the trace
    peaks = []
    for n in (1_000, 2_000_000):
        tracemalloc.start()
        simulate_group_sums([(spec, n)], 8, seed=1, n_threads=2)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0] + 16_384, peaks


# --- rng ------------------------------------------------------------------------------


def test_block_streams() -> None:
    from simsav import rng as R

    root = R.root_seed_sequence(123)
    assert R.block_seed_sequence(root, 4).spawn_key == (4,)
    assert R.block_seed_sequence(root, 4, (2,)).spawn_key == (4, 2)
    nested = R.root_seed_sequence(np.random.SeedSequence(123, spawn_key=(9,)))
    assert R.block_seed_sequence(nested, 1).spawn_key == (9, 1)
    draws = {
        key: R.block_generator(root, *key).random() for key in [(0,), (1,), (0, (1,)), (0, (2,))]
    }
    assert len(set(draws.values())) == 4
    assert list(R.block_bounds(0, 4)) == []
    assert list(R.block_bounds(8, 4)) == [(0, 0, 4), (1, 4, 8)]
    a = R.root_seed_sequence(None).entropy
    assert a != R.root_seed_sequence(None).entropy


def test_map_blocks_covers_rows_and_propagates_errors() -> None:
    from simsav.rng import map_blocks

    out = np.zeros(10)

    def fill(rng: np.random.Generator, start: int, stop: int) -> None:
        out[start:stop] += rng.random(stop - start)

    map_blocks(fill, 10, seed=1, block_size=3, n_threads=2)
    assert np.all(out > 0) and np.all(out < 1)

    def boom(rng: np.random.Generator, start: int, stop: int) -> None:
        if start >= 3:
            raise RuntimeError("block failed")

    with pytest.raises(RuntimeError, match="block failed"):
        map_blocks(boom, 10, seed=1, block_size=3, n_threads=2)
