"""Slow pure-NumPy reference for ``simsav.kernels.spending.group_sums_block``.

It draws the same variates from the same Generator in the same order as the kernel
(sim by sim, group by group, beneficiary by beneficiary; see the table in
``simsav/kernels/spending.py``), transforms them with the same IEEE operations (the
kernels' own ``exp``, re-implemented here independently in NumPy) and sums them in the
same order (``np.cumsum``, left to right), so results agree with the kernel to the last
bit. It works from each model's own parameter vector (``KernelArgs``), model by model,
not from the compositions the kernel is handed: the draw order of every model is written
out here independently of how the library composes it.

Vectorized draws are used where NumPy's array methods produce the same stream as
repeated scalar calls (``standard_gamma``, ``standard_normal``, ``standard_exponential``,
``random`` with ``size=n`` loop over the same scalar routine); the rejection step of the
lognormal-Pareto body loops in Python.
"""

from __future__ import annotations

import math

import numpy as np

from simsav.spending import KernelArgs

# Model codes (simsav.spending.registry).
GAMMA, LOGNORMAL, HURDLE_LOGNORMAL, LOGNORMAL_PARETO, EMPIRICAL, LOGNORMAL_MIXTURE = range(6)
# The kernels' exp: fdlibm's ln 2 split and the Taylor coefficients 1/k!, k = 0..13.
LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
EXP_COEFFS = tuple(1.0 / math.factorial(k) for k in range(14))
EXP_LIMIT = 700.0


def _seq_sum(x: np.ndarray) -> float:
    """Left-to-right sum (np.sum is pairwise and would differ in the last bits)."""
    return float(np.cumsum(x)[-1]) if x.size else 0.0


def exp_affine(z: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """The kernels' ``exp(mu + sigma z)``, step for step in NumPy (see ``_exp_affine``)."""
    y = np.clip(mu + sigma * z, -EXP_LIMIT, EXP_LIMIT)
    t = np.rint(y * LOG2E)
    r = (y - t * LN2_HI) - t * LN2_LO
    p = np.full_like(r, EXP_COEFFS[13])
    for c in EXP_COEFFS[12::-1]:
        p = p * r + c
    return np.ldexp(p, t.astype(np.int64))


def _n_nonzero(rng: np.random.Generator, n: int, p0: float) -> int:
    """The kernel's binomial count of non-zero beneficiaries (no variate when p0 = 0)."""
    return int(rng.binomial(n, 1.0 - p0)) if p0 > 0.0 and n > 0 else n


def draw_group(rng: np.random.Generator, n: int, ka: KernelArgs) -> np.ndarray:
    """Return the per-beneficiary spendings the kernel draws, in order.

    For the models with a zero mass only the non-zero beneficiaries are returned (the
    zeros add nothing to any sum).
    """
    code, p = ka.code, ka.params
    if code == GAMMA:
        k, theta = p
        return theta * rng.standard_gamma(k, size=n)
    if code == LOGNORMAL:
        mu, sigma = p
        return exp_affine(rng.standard_normal(size=n), mu, sigma)
    if code == HURDLE_LOGNORMAL:
        p0, mu, sigma = p
        return exp_affine(rng.standard_normal(size=_n_nonzero(rng, n, p0)), mu, sigma)
    if code == LOGNORMAL_PARETO:
        p0, mu, sigma, z_s, tail_share, log_xs, inv_alpha = p
        k = _n_nonzero(rng, n, p0)
        n_tail = int(rng.binomial(k, tail_share)) if k > 0 else 0
        body = np.empty(k - n_tail)
        for i in range(body.size):  # a normal truncated at z_s, by rejection
            z = rng.standard_normal()
            while z > z_s:
                z = rng.standard_normal()
            body[i] = z
        tail = rng.standard_exponential(size=n_tail)
        return np.concatenate([exp_affine(body, mu, sigma), exp_affine(tail, log_xs, inv_alpha)])
    if code == EMPIRICAL:
        u = rng.random(size=n)
        idx = np.minimum((u * float(p.size)).astype(np.int64), p.size - 1)
        return p[idx]
    if code == LOGNORMAL_MIXTURE:
        p0, high, mu_lo, s_lo, mu_hi, s_hi = p
        k = _n_nonzero(rng, n, p0)
        k_lo = int(rng.binomial(k, 1.0 - high)) if k > 0 else 0
        low = exp_affine(rng.standard_normal(size=k_lo), mu_lo, s_lo)
        return np.concatenate([low, exp_affine(rng.standard_normal(size=k - k_lo), mu_hi, s_hi)])
    raise ValueError(f"unknown code {code}")


def reference_group_stats(
    rng: np.random.Generator, groups: list[tuple[KernelArgs, int]], n_sims: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(sum capped, sum uncapped, n capped)``, each (n_sims, n_groups)."""
    G = len(groups)
    out_sum = np.empty((n_sims, G))
    out_raw = np.empty((n_sims, G))
    out_ncap = np.empty((n_sims, G), dtype=np.int64)
    for s in range(n_sims):
        for g, (ka, n) in enumerate(groups):
            x = draw_group(rng, n, ka)
            cap = ka.truncate_at
            out_raw[s, g] = _seq_sum(x)
            out_sum[s, g] = _seq_sum(np.minimum(x, cap))
            out_ncap[s, g] = int(np.count_nonzero(x > cap))
    return out_sum, out_raw, out_ncap


def reference_block_sums(
    rng: np.random.Generator, groups: list[tuple[KernelArgs, int]], n_sims: int
) -> np.ndarray:
    """Return the sums of capped spending only."""
    return reference_group_stats(rng, groups, n_sims)[0]
