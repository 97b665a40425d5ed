"""Numba kernels for multi-year panels of persistent beneficiaries (private).

Arrays and a Generator in, accumulators out; validation, packing of parameters and the
latent-process tables live in :mod:`simsav.draw.panel` and :mod:`simsav.draw.scores`.

The latent process
------------------
Each beneficiary *slot* carries a latent standard-normal cost score ``z``. In year ``t``
the slot's spending is ``x = F^-1(Phi(z))`` (a Gaussian copula: spending is increasing in
``z``, and since ``z ~ N(0, 1)`` every year, each year's marginal is exactly the model's
``F``), capped at the group's cap. Between years:

* the beneficiary leaves (dies or exits) when ``r z + s_r eta > c`` (``eta ~ N(0, 1)``,
  ``s_r = sqrt(1 - r**2)``, ``c = Phi^-1(1 - exit_rate)``): a Gaussian threshold model,
  so the mean exit rate is ``exit_rate`` exactly and ``r`` tilts exits towards high
  (``r > 0``) or low (``r < 0``) cost;
* a leaver is replaced by a new beneficiary with a fresh score ``z' = eps``;
* a stayer moves to ``z' = rho * m(z) + sqrt(1 - rho**2) * eps``, where ``m`` is the
  monotone map that sends the survivors' score distribution back to ``N(0, 1)``
  (tabulated, linear interpolation; the identity when exits do not depend on ``z``).
  Without ``m``, exits tilted towards high cost would leave survivors ever healthier
  and each year's spending would drift below the model's marginal.

Draw order (the contract with the NumPy reference in ``tests/test_panel.py``)
---------------------------------------------------------------------------
:func:`panel_sums_block`: sim by sim, group by group; within a group, slots in chunks of
``CHUNK``. For a chunk of ``k`` slots: ``k`` times ``standard_normal()`` (the initial
scores), then for each year ``t``: spending of the chunk (no draws), and, if
``t < n_years - 1``, for each slot in order: ``standard_normal()`` for ``eta`` (only when
``exit_on``), then ``standard_normal()`` for ``eps``. Per (sim, year, group), capped
spending is summed slot by slot in draw order (no reassociation: no fastmath).

:func:`panel_paths`: one population of ``n`` slots, the same order, except that ``eta``
is drawn after *every* year (also the last) when ``exit_on``, so exits are known for
every year, and ``eps`` only between years.

Spending from a score ``w``
--------------------------
Each group is one primitive of :mod:`simsav.kernels.primitives` (a kind in
``SCORE_KINDS``) behind a zero mass ``p0``; its parameter block is
``[p0, z0, M, (M values: the table of v), primitive parameters]``
(:mod:`simsav.draw.scores` builds it). The zero mass first: with ``p0 = 0`` the
non-zero part's score is ``v = w``; else spending is 0 for ``w <= z0 = Phi^-1(p0)`` and
``v = Phi^-1((Phi(w) - p0) / (1 - p0))`` above (tabulated for ``w >= z0 + 0.25``, cubic
Hermite, error < 1e-8; exact below). Then the primitive's quantile at ``Phi(v)``:

==========  ===============================================================
kind        spending
==========  ===============================================================
LOGNORMAL   ``exp(mu + sigma v)``
LN_PARETO   ``exp(mu + sigma v)`` if ``v <= z_s``, else the Pareto
            ``x_s (q / tail_share) ** (-1 / alpha)`` with ``q = Q(w) / (1 - p0)``
            (``Q = 1 - Phi``, from the full score: full precision in the tail)
EMPIRICAL   ``values[floor(Phi(v) n)]`` (values sorted ascending)
TABLE       ``exp(L(v))``, ``L`` the cubic Hermite interpolant of the non-zero
            part's ``log G^-1(Phi(v))`` on [-9, 9], step 1/128 (models whose quantile
            has no cheap form: gamma, mixtures; relative error < 1e-7 for a gamma with
            cv <= 3)
==========  ===============================================================

``Phi`` and ``Q`` use ``erfc`` (accurate in both tails), ``Phi^-1`` is Wichura's AS241
(:func:`simsav.kernels.common._ndtri`; relative error ~1e-16), ``exp(mu + sigma v)`` goes
through the kernels' vectorized :func:`simsav.kernels.common._exp_affine`.
"""

from __future__ import annotations

import math

import numpy as np

from simsav._numba import jit
from simsav.kernels.common import (
    CHUNK,
    _exp_affine,
    _hermite,
    _lower,
    _table_score,
    _upper,
    ndtri,
)
from simsav.kernels.primitives import EMPIRICAL, LN_PARETO, LOGNORMAL, TABLE

__all__ = [
    "CHUNK",
    "ndtri",
    "panel_paths",
    "panel_sums_block",
    "panel_sums_excess_block",
    "score_to_spending",
]

@jit
def _primitive_quantile(kind, q, v, wb, k, p0, xb, vb, ib):  # pragma: no cover - compiled
    """Set ``xb[i]`` to the primitive's quantile at ``Phi(v[i])`` for ``i < k``.

    ``q`` holds the primitive's parameters, ``v`` the non-zero part's scores (``wb``
    itself when ``p0 = 0``; ``v`` may be ``vb``). The only dispatch on the kind.
    """
    if kind == LOGNORMAL:
        _exp_affine(v, k, q[0], q[1], xb, ib)
    elif kind == LN_PARETO:
        # q = [mu, sigma, z_s, tail_share, log x_s, 1 / alpha]; the tail from the exact
        # survival of the full score, Q(w) / (1 - p0)
        z_s = q[2]
        log_ts = math.log(q[3])
        _exp_affine(v, k, q[0], q[1], xb, ib)
        for i in range(k):
            if v[i] > z_s:
                s = _upper(wb[i]) / (1.0 - p0)
                xb[i] = math.exp(q[4] + q[5] * (log_ts - math.log(s)))
    elif kind == EMPIRICAL:  # q: the support, sorted ascending
        n = q.shape[0]
        fn = float(n)
        for i in range(k):
            j = int(_lower(v[i]) * fn)
            if j >= n:
                j = n - 1
            xb[i] = q[j]
    elif kind == TABLE:
        for i in range(k):
            vb[i] = _hermite(q, 0, v[i])
        _exp_affine(vb, k, 0.0, 1.0, xb, ib)
    else:
        raise ValueError("primitive kind without a score transform")


@jit
def _spend_chunk(kind, p, wb, k, xb, vb, ib):  # pragma: no cover - compiled
    """Set ``xb[i] = F^-1(Phi(wb[i]))`` (uncapped) for ``i < k``; ``vb``, ``ib`` scratch.

    ``p = [p0, z0, M, (table of v: M values), primitive parameters]``.
    """
    p0 = p[0]
    q = p[3 + int(p[2]) :]
    if p0 == 0.0:
        _primitive_quantile(kind, q, wb, wb, k, p0, xb, vb, ib)
        return
    z0 = p[1]
    for i in range(k):
        w = wb[i]
        vb[i] = _table_score(p, 3, w, p0) if w > z0 else 0.0
    _primitive_quantile(kind, q, vb, wb, k, p0, xb, vb, ib)
    for i in range(k):
        if wb[i] <= z0:
            xb[i] = 0.0


@jit
def _transport(z, m_lo, m_inv_h, m_tab):  # pragma: no cover - compiled
    """Linear interpolation of the survivor map ``m`` (linear extrapolation at the ends)."""
    n_cells = m_tab.shape[0] - 1
    t = (z - m_lo) * m_inv_h
    j = int(math.floor(t))
    if j < 0:
        j = 0
    elif j > n_cells - 1:
        j = n_cells - 1
    f = t - j
    a = m_tab[j]
    return a + f * (m_tab[j + 1] - a)


@jit
def _step_chunk(rng, zb, k, latent, m_tab, exit_on, move, gone):  # pragma: no cover
    """Draw exits (if ``exit_on``) and, if ``move``, the next year's scores of ``k`` slots.

    ``latent = [rho, sqrt(1 - rho**2), exit_corr, sqrt(1 - exit_corr**2), c, transport,
    m_lo, 1 / m_h]``. ``gone[i]`` is set to whether slot ``i``'s beneficiary leaves.
    """
    rho = latent[0]
    s_rho = latent[1]
    r = latent[2]
    s_r = latent[3]
    c = latent[4]
    transport = latent[5] != 0.0
    m_lo = latent[6]
    m_inv_h = latent[7]
    for i in range(k):
        z = zb[i]
        leave = False
        if exit_on:
            eta = rng.standard_normal()
            leave = r * z + s_r * eta > c
        gone[i] = leave
        if move:
            eps = rng.standard_normal()
            if leave:
                zb[i] = eps
            else:
                if transport:
                    z = _transport(z, m_lo, m_inv_h, m_tab)
                zb[i] = rho * z + s_rho * eps


@jit
def panel_sums_block(
    rng, counts, kinds, offsets, params, caps, latent, m_tab, exit_on, out
):  # pragma: no cover - compiled
    """Fill per-(sim, year, group) sums of capped spending for one block of sims.

    Parameters
    ----------
    rng : numpy.random.Generator
        The block's generator; advanced in place.
    counts, kinds, offsets : ndarray of int64
        Slots per group, primitive kind per group, parameter offsets (``G + 1``).
    params : ndarray of float64
        Concatenated panel parameters (see :mod:`simsav.draw.panel`).
    caps : ndarray of float64, shape (G,)
        Per-beneficiary cap per group (``inf``: none).
    latent : ndarray of float64, shape (8,)
        Latent-process constants (see :func:`_step_chunk`).
    m_tab : ndarray of float64
        Survivor map on the grid ``m_lo + j / m_inv_h``.
    exit_on : bool
        Whether exits are drawn (``eta``); without them every slot keeps its beneficiary.
    out : ndarray of float64, shape (S, T, G)
        Overwritten. ``S`` sims of ``T`` years are drawn.
    """
    att = np.empty((counts.shape[0], 0))
    ex = np.empty((out.shape[0], out.shape[1], counts.shape[0], 0))
    _panel_block(rng, counts, kinds, offsets, params, caps, latent, m_tab, exit_on, att,
                 out, ex)


@jit
def panel_sums_excess_block(
    rng, counts, kinds, offsets, params, caps, latent, m_tab, exit_on, att, out, out_excess
):  # pragma: no cover - compiled
    """:func:`panel_sums_block` that also sums each capped value's excess over attachments.

    The same draws in the same order (stop-loss adds no variate). ``att`` has shape
    (G, K), attachments per group; ``out_excess`` (S, T, G, K) receives
    ``Σ (min(x, cap) − att[g, k])+`` over the group's slots each year, overwritten.
    """
    _panel_block(rng, counts, kinds, offsets, params, caps, latent, m_tab, exit_on, att,
                 out, out_excess)


@jit
def _panel_block(
    rng, counts, kinds, offsets, params, caps, latent, m_tab, exit_on, att, out, out_ex
):  # pragma: no cover - compiled
    """The loop of :func:`panel_sums_block` (excess summed only when ``att`` has columns)."""
    n_sims = out.shape[0]
    n_years = out.shape[1]
    n_groups = counts.shape[0]
    n_att = att.shape[1]
    zb = np.empty(CHUNK)
    xb = np.empty(CHUNK)
    vb = np.empty(CHUNK)
    ib = np.empty(CHUNK, dtype=np.int64)
    gone = np.empty(CHUNK, dtype=np.bool_)
    acc = np.empty(n_years)
    acc_ex = np.empty((n_years, n_att))
    for s in range(n_sims):
        for g in range(n_groups):
            n = counts[g]
            kind = kinds[g]
            p = params[offsets[g] : offsets[g + 1]]
            cap = caps[g]
            acc[:] = 0.0
            acc_ex[:, :] = 0.0
            done = 0
            while done < n:
                k = min(CHUNK, n - done)
                for i in range(k):
                    zb[i] = rng.standard_normal()
                for t in range(n_years):
                    _spend_chunk(kind, p, zb, k, xb, vb, ib)
                    a = acc[t]
                    for i in range(k):
                        a += min(xb[i], cap)
                    acc[t] = a
                    for j in range(n_att):
                        lim = att[g, j]
                        e = acc_ex[t, j]
                        for i in range(k):
                            x = min(xb[i], cap)
                            if x > lim:
                                e += x - lim
                        acc_ex[t, j] = e
                    if t < n_years - 1:
                        _step_chunk(rng, zb, k, latent, m_tab, exit_on, True, gone)
                done += k
            for t in range(n_years):
                out[s, t, g] = acc[t]
                for j in range(n_att):
                    out_ex[s, t, g, j] = acc_ex[t, j]


@jit
def panel_paths(
    rng, kind, p, latent, m_tab, exit_on, out_x, out_gone
):  # pragma: no cover - compiled
    """Per-slot spending paths of one population (diagnostics; O(n x T) memory).

    Parameters
    ----------
    rng : numpy.random.Generator
        Advanced in place.
    kind : int
        Primitive kind (one of :data:`simsav.kernels.primitives.SCORE_KINDS`).
    p : ndarray of float64
        Its panel parameters.
    latent, m_tab, exit_on
        As in :func:`panel_sums_block`.
    out_x : ndarray of float64, shape (n, T)
        Uncapped spending of slot ``j``'s beneficiary in year ``t``; overwritten.
    out_gone : ndarray of bool, shape (n, T)
        Whether that beneficiary leaves at the end of year ``t`` (then slot ``j`` holds a
        new beneficiary in year ``t + 1``); overwritten.
    """
    n = out_x.shape[0]
    n_years = out_x.shape[1]
    zb = np.empty(CHUNK)
    xb = np.empty(CHUNK)
    vb = np.empty(CHUNK)
    ib = np.empty(CHUNK, dtype=np.int64)
    gone = np.zeros(CHUNK, dtype=np.bool_)
    done = 0
    while done < n:
        k = min(CHUNK, n - done)
        for i in range(k):
            zb[i] = rng.standard_normal()
        for t in range(n_years):
            _spend_chunk(kind, p, zb, k, xb, vb, ib)
            for i in range(k):
                out_x[done + i, t] = xb[i]
            _step_chunk(rng, zb, k, latent, m_tab, exit_on, t < n_years - 1, gone)
            for i in range(k):
                out_gone[done + i, t] = gone[i]
        done += k


@jit
def score_to_spending(kind, p, w):  # pragma: no cover - compiled
    """Return the kernels' ``F^-1(Phi(w))`` (uncapped) elementwise (for tests)."""
    n = w.shape[0]
    out = np.empty(n)
    wb = np.empty(CHUNK)
    xb = np.empty(CHUNK)
    vb = np.empty(CHUNK)
    ib = np.empty(CHUNK, dtype=np.int64)
    done = 0
    while done < n:
        k = min(CHUNK, n - done)
        for i in range(k):
            wb[i] = w[done + i]
        _spend_chunk(kind, p, wb, k, xb, vb, ib)
        for i in range(k):
            out[done + i] = xb[i]
        done += k
    return out
