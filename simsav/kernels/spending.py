"""Numba kernels: arrays and a Generator in, accumulators out; nothing else.

The kernels are private. Validation, packing of the models into arrays, allocation of
outputs, seeding and threading live in :mod:`simsav.draw.groups` and :mod:`simsav.rng`; the
kernels only draw and accumulate.

Layout of a call
----------------
:func:`group_sums_block` handles one *block* of sims with one
:class:`numpy.random.Generator`. For each sim, for each group ``g`` (a stratum or a
provider panel) it draws ``counts[g]`` per-beneficiary annual spendings from the group's
**composition** (:mod:`simsav.kernels.primitives`): a zero mass ``zero[g]``, then the
components ``j`` in ``first[g] <= j < first[g + 1]``, each a sampling primitive
(``SAMPLE_KINDS``) ``kinds[j]`` with
parameters ``params[offsets[j]:offsets[j + 1]]``. It caps each value at ``caps[g]``
(``inf`` for no cap) and writes per (sim, group)

* ``out_sum``: the sum of capped spending,
* ``out_raw``: the sum of uncapped spending,
* ``out_ncap``: how many beneficiaries were capped (spending strictly above the cap).

Nothing of size ``counts[g]`` is stored: draws go through fixed buffers of
:data:`CHUNK` values, so memory is O(sims x groups) whatever the population.

Draw order (the contract with ``tests/reference.py``): sim by sim, group by group. Per
(sim, group) of ``n`` beneficiaries:

1. ``K = binomial(n, 1 - p0)``, the number with non-zero spending, drawn only if
   ``p0 > 0`` and ``n > 0`` (else ``K = n``);
2. component by component: for each component but the last, its count
   ``K_j = binomial(R, split[j])`` of the ``R`` not yet assigned (drawn only if
   ``R > 0``; ``split[j]`` is its weight over the weight of the components from ``j`` on),
   the last takes the rest; then its ``K_j`` values, beneficiary by beneficiary:

==========  ==============================================================
primitive   variates drawn for ``k`` beneficiaries, in order
==========  ==============================================================
GAMMA       k times ``standard_gamma(shape)``; x = theta * g
LOGNORMAL   k times ``standard_normal()``; x = exp(mu + sigma * z)
LN_PARETO   T = ``binomial(k, tail_share)`` in the tail (drawn if k > 0);
            then for each of the k - T body beneficiaries
            ``standard_normal()`` until z <= z_s (rejection), x =
            exp(mu + sigma * z); then T times ``standard_exponential()``,
            x = x_s * exp(e / alpha) (Pareto above x_s)
EMPIRICAL   k times ``random()``; x = values[floor(u * len(values))]
==========  ==============================================================

With one component and ``p0 = 0`` no variate is drawn besides the primitive's own, so
the one-component models draw exactly what they drew when each had its own routine
(gamma, lognormal, empirical: the primitive alone; hurdle-lognormal and
lognormal-Pareto: the zero-mass binomial, then the primitive).

Sums run in draw order, one beneficiary at a time (no reassociation: no fastmath).

* Mixtures are split by binomial counts rather than one uniform per beneficiary (zero
  mass; components; body vs tail): the same distribution of sums, since beneficiaries
  are exchangeable and only sums are kept, one variate fewer per beneficiary and no
  branch in the inner loops. The lognormal-Pareto body is a normal truncated at z_s by
  rejection (``tail_quantile >= 0.5``, so at most 2 normals per body beneficiary on
  average; 1.06 for ``medicare-ffs``).
* ``exp`` is :func:`simsav.kernels.common._exp_affine` (vectorized over a chunk; within
  2 ulp of ``math.exp``).
"""

from __future__ import annotations

import math

import numpy as np

from simsav._numba import jit
from simsav.kernels.common import CHUNK, _exp_affine, _n_nonzero
from simsav.kernels.primitives import EMPIRICAL, GAMMA, LN_PARETO, LOGNORMAL

__all__ = [
    "CHUNK",
    "bare_hurdle_lognormal",
    "bare_lognormal_pareto",
    "draws_only",
    "empty_outputs",
    "group_sums_block",
    "group_sums_excess_block",
]


# One routine per primitive; each adds its draws to (sum of capped, sum of uncapped,
# number capped), one beneficiary at a time, and returns them.


@jit
def _excess_chunk(xb, m, cap, att, ex):  # pragma: no cover - compiled
    """Add each capped value's excess over each attachment ``att[j]`` to ``ex[j]``."""
    for j in range(att.shape[0]):
        a = att[j]
        e = ex[j]
        for i in range(m):
            x = min(xb[i], cap)
            if x > a:
                e += x - a
        ex[j] = e


@jit
def _add_chunk(xb, m, cap, s, r, c, att, ex):  # pragma: no cover - compiled
    """Add a chunk of ``m`` draws: raw sum ``r``, capped sum ``s``, capped count ``c``.

    Each value's excess over each attachment goes to ``ex`` (none when ``att`` is empty).
    """
    for i in range(m):
        x = xb[i]
        r += x
        if x > cap:
            x = cap
            c += 1
        s += x
    if att.shape[0] > 0:
        _excess_chunk(xb, m, cap, att, ex)
    return s, r, c


@jit
def _sum_gamma(rng, n, k, theta, cap, s, r, c, att, ex):  # pragma: no cover - compiled
    n_att = att.shape[0]
    for _ in range(n):
        x = theta * rng.standard_gamma(k)
        r += x
        if x > cap:
            x = cap
            c += 1
        s += x
        if n_att > 0:
            for j in range(n_att):
                if x > att[j]:
                    ex[j] += x - att[j]
    return s, r, c


@jit
def _sum_lognormal(rng, k, mu, sigma, cap, s, r, c, zb, xb, ib, att, ex):  # pragma: no cover
    """Add ``k`` lognormal draws, ``CHUNK`` at a time."""
    done = 0
    while done < k:
        m = min(CHUNK, k - done)
        for i in range(m):
            zb[i] = rng.standard_normal()
        _exp_affine(zb, m, mu, sigma, xb, ib)
        s, r, c = _add_chunk(xb, m, cap, s, r, c, att, ex)
        done += m
    return s, r, c


@jit
def _sum_lognormal_pareto(rng, k, p, cap, s, r, c, zb, xb, ib, att, ex):  # pragma: no cover
    """Add ``k`` lognormal-Pareto draws: body by rejection, then the tail.

    ``p = [mu, sigma, z_s, tail_share, log x_s, 1 / alpha]``.
    """
    mu = p[0]
    sigma = p[1]
    z_s = p[2]
    n_tail = rng.binomial(k, p[3]) if k > 0 else 0
    n_body = k - n_tail
    done = 0
    while done < n_body:
        m = min(CHUNK, n_body - done)
        for i in range(m):
            z = rng.standard_normal()
            while z > z_s:
                z = rng.standard_normal()
            zb[i] = z
        _exp_affine(zb, m, mu, sigma, xb, ib)
        s, r, c = _add_chunk(xb, m, cap, s, r, c, att, ex)
        done += m
    done = 0
    while done < n_tail:
        m = min(CHUNK, n_tail - done)
        for i in range(m):
            zb[i] = rng.standard_exponential()
        _exp_affine(zb, m, p[4], p[5], xb, ib)  # x_s * exp(e / alpha)
        s, r, c = _add_chunk(xb, m, cap, s, r, c, att, ex)
        done += m
    return s, r, c


@jit
def _sum_empirical(rng, n, values, cap, s, r, c, att, ex):  # pragma: no cover - compiled
    m = values.shape[0]
    fm = float(m)
    n_att = att.shape[0]
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
        if n_att > 0:
            for j in range(n_att):
                if x > att[j]:
                    ex[j] += x - att[j]
    return s, r, c


@jit
def _sum_group(
    rng, n, p0, c_lo, c_hi, kinds, split, offsets, params, cap, zb, xb, ib, att, ex
):  # pragma: no cover - compiled
    """Return ``(sum capped, sum uncapped, number capped)`` of one group of ``n``.

    The zero mass, then components ``c_lo <= j < c_hi`` (see the module docstring); the
    only dispatch on the primitive kind (inline: a further call level would cost compile
    time, as numba re-optimizes every callee in each caller). With attachments ``att``
    (stop-loss), each capped value's excess over ``att[j]`` is added to ``ex[j]``; with
    none (``att`` empty) nothing more is done.
    """
    rest = _n_nonzero(rng, n, p0)
    s = 0.0
    r = 0.0
    c = 0
    for j in range(c_lo, c_hi):
        if j < c_hi - 1:
            k = rng.binomial(rest, split[j]) if rest > 0 else 0
        else:
            k = rest
        rest -= k
        p = params[offsets[j] : offsets[j + 1]]
        kind = kinds[j]
        if kind == GAMMA:
            s, r, c = _sum_gamma(rng, k, p[0], p[1], cap, s, r, c, att, ex)
        elif kind == LOGNORMAL:
            s, r, c = _sum_lognormal(rng, k, p[0], p[1], cap, s, r, c, zb, xb, ib, att, ex)
        elif kind == LN_PARETO:
            s, r, c = _sum_lognormal_pareto(rng, k, p, cap, s, r, c, zb, xb, ib, att, ex)
        elif kind == EMPIRICAL:
            s, r, c = _sum_empirical(rng, k, p, cap, s, r, c, att, ex)
        else:
            raise ValueError("unknown primitive kind")
    return s, r, c


@jit
def group_sums_block(
    rng, counts, zero, first, kinds, split, offsets, params, caps, out_sum, out_raw, out_ncap
):  # pragma: no cover - compiled
    """Fill per-(sim, group) accumulators for one block of sims.

    Parameters
    ----------
    rng : numpy.random.Generator
        The block's generator; advanced in place.
    counts : ndarray of int64, shape (G,)
        Beneficiaries per group.
    zero : ndarray of float64, shape (G,)
        Zero mass ``p0`` per group.
    first : ndarray of int64, shape (G + 1,)
        Group ``g``'s components are ``first[g] <= j < first[g + 1]``.
    kinds : ndarray of int64, shape (C,)
        Primitive kind per component.
    split : ndarray of float64, shape (C,)
        Per component, its share of the non-zero beneficiaries not assigned to the
        group's earlier components (1 for the last).
    offsets : ndarray of int64, shape (C + 1,)
        Component ``j``'s parameters are ``params[offsets[j]:offsets[j + 1]]``.
    params : ndarray of float64
        Concatenated primitive parameters.
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
    none = np.empty(0)
    for i in range(n_sims):
        for g in range(n_groups):
            s, r, c = _sum_group(
                rng, counts[g], zero[g], first[g], first[g + 1], kinds, split, offsets,
                params, caps[g], zb, xb, ib, none, none,
            )
            out_sum[i, g] = s
            out_raw[i, g] = r
            out_ncap[i, g] = c


@jit
def group_sums_excess_block(
    rng, counts, zero, first, kinds, split, offsets, params, caps, att, out_sum, out_raw,
    out_ncap, out_excess,
):  # pragma: no cover - compiled
    """:func:`group_sums_block` that also sums each capped value's excess over attachments.

    The same draws in the same order (stop-loss adds no variate), so the spending sums
    equal :func:`group_sums_block`'s bit for bit.

    Parameters
    ----------
    att : ndarray of float64, shape (G, K)
        Attachment points per group (USD per beneficiary-year).
    out_excess : ndarray of float64, shape (S, G, K)
        ``Σ (min(x, cap) − att[g, k])+`` over the group's beneficiaries; overwritten.

    Other parameters as for :func:`group_sums_block`.
    """
    n_sims = out_sum.shape[0]
    n_groups = counts.shape[0]
    zb = np.empty(CHUNK)
    xb = np.empty(CHUNK)
    ib = np.empty(CHUNK, dtype=np.int64)
    ex = np.empty(att.shape[1])
    for i in range(n_sims):
        for g in range(n_groups):
            ex[:] = 0.0
            s, r, c = _sum_group(
                rng, counts[g], zero[g], first[g], first[g + 1], kinds, split, offsets,
                params, caps[g], zb, xb, ib, att[g], ex,
            )
            out_sum[i, g] = s
            out_raw[i, g] = r
            out_ncap[i, g] = c
            out_excess[i, g, :] = ex


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
def bare_lognormal_pareto(rng, n, p0, p):  # pragma: no cover - compiled
    """Draw ``n`` lognormal-Pareto variates with ``math.exp`` and sum them (a floor).

    ``p`` holds the LN_PARETO primitive's parameters.
    """
    mu = p[0]
    sigma = p[1]
    z_s = p[2]
    k = _n_nonzero(rng, n, p0)
    n_tail = rng.binomial(k, p[3]) if k > 0 else 0
    s = 0.0
    for _ in range(k - n_tail):
        z = rng.standard_normal()
        while z > z_s:
            z = rng.standard_normal()
        s += math.exp(mu + sigma * z)
    for _ in range(n_tail):
        s += math.exp(p[4] + p[5] * rng.standard_exponential())
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
