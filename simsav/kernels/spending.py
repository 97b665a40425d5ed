"""Numba kernels: arrays and a Generator in, accumulators out; nothing else.

The kernels are private. Validation, allocation of outputs, seeding and threading live in
:mod:`simsav.spending` and :mod:`simsav.rng`; the kernels only draw and accumulate.

Layout of a call
----------------
:func:`group_sums_block` handles one *block* of sims with one
:class:`numpy.random.Generator`. For each sim, for each group ``g`` (a stratum or a
provider panel) it draws ``counts[g]`` per-beneficiary annual spendings from model
``codes[g]`` with parameters ``params[offsets[g]:offsets[g + 1]]``, caps each at
``caps[g]`` (``inf`` for no cap) and writes per (sim, group)

* ``out_sum``: the sum of capped spending,
* ``out_raw``: the sum of uncapped spending,
* ``out_ncap``: how many beneficiaries were capped (spending strictly above the cap).

Nothing of size ``counts[g]`` is stored: draws go through fixed buffers of
:data:`CHUNK` values, so memory is O(sims x groups) whatever the population.

Draw order (the contract with ``tests/reference.py``): sim by sim, group by group,
beneficiary by beneficiary:

==================  ==========================================================
model code          variates drawn per (sim, group), in order
==================  ==========================================================
GAMMA               n times ``standard_gamma(k)``; x = theta * g
LOGNORMAL           n times ``standard_normal()``; x = exp(mu + sigma * z)
HURDLE_LOGNORMAL    K = ``binomial(n, 1 - p0)``, the number of beneficiaries with
                    non-zero spending (drawn only if p0 > 0 and n > 0); then K
                    times ``standard_normal()`` as for LOGNORMAL
LOGNORMAL_PARETO    K as for the hurdle (K = n when p0 = 0); then
                    T = ``binomial(K, tail_share)`` in the tail (drawn if K > 0);
                    then for each of the K - T body beneficiaries
                    ``standard_normal()`` until z <= z_s (rejection), x =
                    exp(mu + sigma * z); then T times ``standard_exponential()``,
                    x = x_s * exp(e / alpha) (Pareto above x_s)
EMPIRICAL           n times ``random()``; x = values[floor(u * len(values))]
==================  ==========================================================

Sums run in draw order, one beneficiary at a time (no reassociation: no fastmath).

* Mixtures are split by binomial counts rather than one uniform per beneficiary (zero
  mass; body vs tail): the same distribution of sums, since beneficiaries are
  exchangeable and only sums are kept, one variate fewer per beneficiary and no branch in
  the inner loops. The lognormal-Pareto body is a normal truncated at z_s by rejection
  (``tail_quantile >= 0.5``, so at most 2 normals per body beneficiary on average; 1.06
  for ``medicare-ffs``).
* ``exp`` is :func:`simsav.kernels.common._exp_affine` (vectorized over a chunk; within
  2 ulp of ``math.exp``).
"""

from __future__ import annotations

import math

import numpy as np

from simsav._numba import jit
from simsav.kernels.common import (
    CHUNK,
    EXP_COEFFS,
    EXP_LIMIT,
    _exp_affine,
    _n_nonzero,
    exp_affine,
)

__all__ = [
    "CHUNK",
    "EMPIRICAL",
    "EXP_COEFFS",
    "EXP_LIMIT",
    "GAMMA",
    "HURDLE_LOGNORMAL",
    "LOGNORMAL",
    "LOGNORMAL_PARETO",
    "MODEL_NAMES",
    "N_PARAMS",
    "bare_hurdle_lognormal",
    "bare_lognormal_pareto",
    "draws_only",
    "empty_outputs",
    "exp_affine",
    "group_sums_block",
]

GAMMA = 0
LOGNORMAL = 1
HURDLE_LOGNORMAL = 2
LOGNORMAL_PARETO = 3
EMPIRICAL = 4

#: Kernel model code -> name.
MODEL_NAMES: dict[int, str] = {
    GAMMA: "gamma",
    LOGNORMAL: "lognormal",
    HURDLE_LOGNORMAL: "hurdle-lognormal",
    LOGNORMAL_PARETO: "lognormal-pareto",
    EMPIRICAL: "empirical",
}

#: Number of kernel parameters per model code (``-1``: variable, at least 1).
#: GAMMA (shape k, scale theta); LOGNORMAL (mu, sigma); HURDLE_LOGNORMAL (p0, mu, sigma);
#: LOGNORMAL_PARETO (p0, mu, sigma, z_s, tail_share = 1 - tail_quantile, log x_s,
#: 1 / alpha);
#: EMPIRICAL (the support points, already rescaled, each drawn with equal probability).
N_PARAMS: dict[int, int] = {
    GAMMA: 2,
    LOGNORMAL: 2,
    HURDLE_LOGNORMAL: 3,
    LOGNORMAL_PARETO: 7,
    EMPIRICAL: -1,
}

# One routine per model: the model dispatch happens once per (sim, group), never per
# draw. Each returns (sum of capped, sum of uncapped, number capped).


@jit
def _sum_gamma(rng, n, k, theta, cap):  # pragma: no cover - compiled
    s = 0.0
    r = 0.0
    c = 0
    for _ in range(n):
        x = theta * rng.standard_gamma(k)
        r += x
        if x > cap:
            x = cap
            c += 1
        s += x
    return s, r, c


@jit
def _sum_lognormal(rng, k, mu, sigma, cap, zb, xb, ib):  # pragma: no cover - compiled
    """Sum ``k`` lognormal draws, ``CHUNK`` at a time."""
    s = 0.0
    r = 0.0
    c = 0
    done = 0
    while done < k:
        m = min(CHUNK, k - done)
        for i in range(m):
            zb[i] = rng.standard_normal()
        _exp_affine(zb, m, mu, sigma, xb, ib)
        for i in range(m):
            x = xb[i]
            r += x
            if x > cap:
                x = cap
                c += 1
            s += x
        done += m
    return s, r, c


@jit
def _sum_lognormal_pareto(rng, k, p, cap, zb, xb, ib):  # pragma: no cover - compiled
    """Sum ``k`` non-zero lognormal-Pareto draws: body by rejection, then the tail."""
    mu = p[1]
    sigma = p[2]
    z_s = p[3]
    n_tail = rng.binomial(k, p[4]) if k > 0 else 0
    n_body = k - n_tail
    s = 0.0
    r = 0.0
    c = 0
    done = 0
    while done < n_body:
        m = min(CHUNK, n_body - done)
        for i in range(m):
            z = rng.standard_normal()
            while z > z_s:
                z = rng.standard_normal()
            zb[i] = z
        _exp_affine(zb, m, mu, sigma, xb, ib)
        for i in range(m):
            x = xb[i]
            r += x
            if x > cap:
                x = cap
                c += 1
            s += x
        done += m
    done = 0
    while done < n_tail:
        m = min(CHUNK, n_tail - done)
        for i in range(m):
            zb[i] = rng.standard_exponential()
        _exp_affine(zb, m, p[5], p[6], xb, ib)  # x_s * exp(e / alpha)
        for i in range(m):
            x = xb[i]
            r += x
            if x > cap:
                x = cap
                c += 1
            s += x
        done += m
    return s, r, c


@jit
def _sum_empirical(rng, n, values, cap):  # pragma: no cover - compiled
    m = values.shape[0]
    fm = float(m)
    s = 0.0
    r = 0.0
    c = 0
    for _ in range(n):
        i = int(rng.random() * fm)
        if i >= m:  # unreachable for m < 2**53; kept as a guard
            i = m - 1
        x = values[i]
        r += x
        if x > cap:
            x = cap
            c += 1
        s += x
    return s, r, c


@jit
def group_sums_block(
    rng, counts, codes, offsets, params, caps, out_sum, out_raw, out_ncap
):  # pragma: no cover - compiled
    """Fill per-(sim, group) accumulators for one block of sims.

    Parameters
    ----------
    rng : numpy.random.Generator
        The block's generator; advanced in place.
    counts : ndarray of int64, shape (G,)
        Beneficiaries per group.
    codes : ndarray of int64, shape (G,)
        Model code per group.
    offsets : ndarray of int64, shape (G + 1,)
        Group ``g``'s parameters are ``params[offsets[g]:offsets[g + 1]]``.
    params : ndarray of float64
        Concatenated kernel parameters.
    caps : ndarray of float64, shape (G,)
        Per-beneficiary cap per group (``inf``: none).
    out_sum, out_raw : ndarray of float64, shape (S, G)
        Sums of capped and of uncapped spending, overwritten. ``S`` sims are drawn.
    out_ncap : ndarray of int64, shape (S, G)
        Number of beneficiaries above the cap, overwritten.
    """
    n_sims = out_sum.shape[0]
    n_groups = counts.shape[0]
    zb = np.empty(CHUNK)
    xb = np.empty(CHUNK)
    ib = np.empty(CHUNK, dtype=np.int64)
    for i in range(n_sims):
        for g in range(n_groups):
            n = counts[g]
            code = codes[g]
            p = params[offsets[g] : offsets[g + 1]]
            cap = caps[g]
            if code == GAMMA:
                s, r, c = _sum_gamma(rng, n, p[0], p[1], cap)
            elif code == LOGNORMAL:
                s, r, c = _sum_lognormal(rng, n, p[0], p[1], cap, zb, xb, ib)
            elif code == HURDLE_LOGNORMAL:
                k = _n_nonzero(rng, n, p[0])
                s, r, c = _sum_lognormal(rng, k, p[1], p[2], cap, zb, xb, ib)
            elif code == LOGNORMAL_PARETO:
                k = _n_nonzero(rng, n, p[0])
                s, r, c = _sum_lognormal_pareto(rng, k, p, cap, zb, xb, ib)
            elif code == EMPIRICAL:
                s, r, c = _sum_empirical(rng, n, p, cap)
            else:
                raise ValueError("unknown model code")
            out_sum[i, g] = s
            out_raw[i, g] = r
            out_ncap[i, g] = c


# Floors for the benchmarks (benchmarks/run.py): the same variates, nothing else.


@jit
def bare_hurdle_lognormal(rng, n, p0, mu, sigma):  # pragma: no cover - compiled
    """Draw ``n`` hurdle-lognormal variates with ``math.exp`` and sum them.

    The simplest loop over the kernel's variates (the binomial count of non-zero
    beneficiaries, then one normal and one ``exp`` each): no cap, no second accumulator,
    no dispatch, no chunking.
    """
    s = 0.0
    for _ in range(_n_nonzero(rng, n, p0)):
        s += math.exp(mu + sigma * rng.standard_normal())
    return s


@jit
def bare_lognormal_pareto(rng, n, p):  # pragma: no cover - compiled
    """Draw ``n`` lognormal-Pareto variates with ``math.exp`` and sum them (a floor)."""
    mu = p[1]
    sigma = p[2]
    z_s = p[3]
    k = _n_nonzero(rng, n, p[0])
    n_tail = rng.binomial(k, p[4]) if k > 0 else 0
    s = 0.0
    for _ in range(k - n_tail):
        z = rng.standard_normal()
        while z > z_s:
            z = rng.standard_normal()
        s += math.exp(mu + sigma * z)
    for _ in range(n_tail):
        s += math.exp(p[5] + p[6] * rng.standard_exponential())
    return s


@jit
def draws_only(rng, n, p0):  # pragma: no cover - compiled
    """Draw the kernel's normal variates (binomial count, then normals) and sum them."""
    s = 0.0
    for _ in range(_n_nonzero(rng, n, p0)):
        s += rng.standard_normal()
    return s


def empty_outputs(n_sims: int, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allocate ``(out_sum, out_raw, out_ncap)`` for :func:`group_sums_block`."""
    return (
        np.empty((n_sims, n_groups), dtype=np.float64),
        np.empty((n_sims, n_groups), dtype=np.float64),
        np.empty((n_sims, n_groups), dtype=np.int64),
    )
