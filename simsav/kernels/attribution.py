"""Numba kernels for attribution: arrays and a Generator in, per-sim accumulators out.

Private; :mod:`simsav.draw.attribution` validates, allocates, packs and seeds. The model and
its maths are documented there. Two kernels fill the same outputs:

:func:`attributed_block` (no spending-dependent leaving, no visit rule)
    Per (sim, group): the number of leavers ``binomial(n, churn_out)`` (drawn only if
    ``churn_out > 0`` and ``n > 0``), then, under retrospective assignment, the number of
    arrivals ``binomial(n, churn_in)`` (likewise); then the spending sums of stayers,
    then of leavers (prospective) or arrivals (retrospective), each by the one-year
    kernel's own group routine (:func:`simsav.kernels.spending._sum_group`, the groups
    packed as for :func:`simsav.kernels.spending.group_sums_block`). With no churn this
    draws exactly what :func:`~simsav.kernels.spending.group_sums_block` draws (same
    variates, same order).

:func:`attributed_scored_block` (per beneficiary)
    Per beneficiary of the start-of-year list: spending and its normal score
    (:func:`_draw_scored`), then the leaving decision, then (retrospective, stayers only)
    the visits; then per arrival: spending and score, then visits. Groups are packed as
    for the panel kernel (one primitive behind a zero mass; :mod:`simsav.draw.scores`).

Nothing of the population's size is stored: memory is O(sims x groups).
"""

from __future__ import annotations

import math

import numpy as np

from simsav._numba import jit
from simsav.kernels.common import CHUNK, _hermite, _ndtri, ndtri
from simsav.kernels.primitives import EMPIRICAL, GAMMA, LN_PARETO, LOGNORMAL, TABLE
from simsav.kernels.spending import _sum_group

__all__ = [
    "SCORE_LIMIT",
    "attributed_block",
    "attributed_scored_block",
    "gammaincc",
    "ndtri",
    "scored_draws",
]

#: Normal scores are clamped to [-SCORE_LIMIT, SCORE_LIMIT] (keeps 0 * inf out).
SCORE_LIMIT = 38.0

#: Largest Poisson mean used for visits (a guard: reached only at scores > 10 sd).
_MAX_VISIT_RATE = 1.0e6

_SQRT2 = 1.4142135623730951


@jit
def _gamma_p_q(a, x):  # pragma: no cover - compiled
    """Return ``(P(a, x), Q(a, x))``, the regularized incomplete gamma functions.

    Series for ``x < a + 1``, Lentz's continued fraction otherwise (Numerical Recipes
    6.2); relative precision ~1e-15 on the smaller of the two.
    """
    if x <= 0.0:
        return 0.0, 1.0
    lead = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        ap = a
        term = 1.0 / a
        s = term
        for _ in range(10_000):
            ap += 1.0
            term *= x / ap
            s += term
            if abs(term) < abs(s) * 1e-17:
                break
        p = s * math.exp(lead)
        return p, 1.0 - p
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-17:
            break
    q = math.exp(lead) * h
    return 1.0 - q, q


@jit
def gammaincc(a, x):  # pragma: no cover - compiled
    """Return ``Q(a, x)`` for each element of ``x`` (for tests)."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = _gamma_p_q(a, x[i])[1]
    return out


@jit
def _clamp_score(s):  # pragma: no cover - compiled
    return min(max(s, -SCORE_LIMIT), SCORE_LIMIT)


@jit
def _quantile_at(kind, q, z, t):  # pragma: no cover - compiled
    """Return the primitive's quantile at ``Phi(z)``; ``t = Q(z)`` where ``LN_PARETO`` uses it.

    ``q`` holds the primitive's parameters. The only dispatch on the kind of the inverse
    draws.
    """
    if kind == LOGNORMAL:
        return math.exp(q[0] + q[1] * z)
    if kind == LN_PARETO:  # q = [mu, sigma, z_s, tail_share, log x_s, 1 / alpha]
        if t <= q[3]:
            return math.exp(q[4] + q[5] * math.log(q[3] / t))
        return math.exp(q[0] + q[1] * z)
    if kind == TABLE:
        return math.exp(_hermite(q, 0, z))
    if kind == EMPIRICAL:  # q: the support sorted ascending
        n = q.shape[0]
        j = int(0.5 * math.erfc(-z / _SQRT2) * n)
        return q[min(j, n - 1)]
    raise ValueError("primitive kind without a score transform")


@jit
def _draw_scored(rng, kind, p):  # pragma: no cover - compiled
    """Draw one beneficiary's (uncapped) spending ``x`` and its normal score ``s``.

    ``p = [p0, z0, M, (M values), primitive parameters]`` (the panel layout; the table of
    the non-zero score is not used here). ``s = ndtri(F(x))`` (with ties at an atom broken
    uniformly), so ``s`` is standard normal and ``x`` is a non-decreasing function of it:
    ``x = F^-1(Phi(s))``.

    With no zero mass, ``GAMMA`` and ``EMPIRICAL`` are drawn forward: the variate, then its
    score (``ndtri`` of the regularized incomplete gamma, or of the uniform). Otherwise one
    normal ``s``; ``t = Q(s) / (1 - p0)`` is the survival within the non-zero part
    (``t >= 1``: spending 0, probability ``p0``), ``z = -ndtri(t)`` its score
    (``z = s`` when ``p0 = 0``), and ``x`` the primitive's quantile at ``Phi(z)``.
    """
    p0 = p[0]
    q = p[3 + int(p[2]) :]
    if p0 == 0.0 and kind == GAMMA:
        g = rng.standard_gamma(q[0])
        lo, hi = _gamma_p_q(q[0], g)
        s = _ndtri(lo) if lo < 0.5 else -_ndtri(hi)
        return q[1] * g, _clamp_score(s)
    if p0 == 0.0 and kind == EMPIRICAL:
        m = q.shape[0]
        u = rng.random()
        i = int(u * m)
        if i >= m:
            i = m - 1
        return q[i], _clamp_score(_ndtri(u))
    s = rng.standard_normal()
    if p0 == 0.0:
        z = s
        t = 0.5 * math.erfc(s / _SQRT2) if kind == LN_PARETO else 0.5
    else:
        t = 0.5 * math.erfc(s / _SQRT2) / (1.0 - p0)
        if t >= 1.0:
            return 0.0, _clamp_score(s)
        z = -_ndtri(t)
    return _quantile_at(kind, q, z, t), _clamp_score(s)


@jit
def scored_draws(rng, kind, p, n):  # pragma: no cover - compiled
    """Return ``n`` draws ``(x, s)`` of :func:`_draw_scored` (for tests)."""
    x = np.empty(n)
    s = np.empty(n)
    for i in range(n):
        x[i], s[i] = _draw_scored(rng, kind, p)
    return x, s


@jit
def _attributed_by_visits(rng, s, rule):  # pragma: no cover - compiled
    """Return whether a candidate with score ``s`` is attributed by the plurality rule.

    ``rule = (visit_rate, visit_tilt, aco_share, min_visits, fallback)``. Visits at the
    ACO ``A ~ Poisson(lam a)`` and elsewhere ``O ~ Poisson(lam (1 - a))`` with
    ``lam = visit_rate exp(visit_tilt s - visit_tilt**2 / 2)``; attributed if
    ``A + O >= min_visits`` and ``A > O`` (a tie by a fair coin); with no visit at all,
    by the specialist fallback with probability ``a`` if it is on.
    """
    rate, tilt, a, min_visits, fallback = rule[0], rule[1], rule[2], rule[3], rule[4]
    lam = min(rate * math.exp(tilt * s - 0.5 * tilt * tilt), _MAX_VISIT_RATE)
    n_aco = rng.poisson(lam * a)
    n_else = rng.poisson(lam * (1.0 - a))
    v = n_aco + n_else
    if v == 0:
        return fallback > 0.0 and rng.random() < a
    if v < min_visits:
        return False
    if n_aco > n_else:
        return True
    if n_aco == n_else:
        return rng.random() < 0.5
    return False


@jit
def attributed_block(
    rng, counts, zero, first, kinds, split, offsets, params, caps, terms,
    out_count, out_spend, out_managed,
):  # pragma: no cover - compiled
    """Fill per-(sim, group) attribution accumulators for one block of sims, in aggregate.

    Parameters
    ----------
    rng : numpy.random.Generator
        The block's generator; advanced in place.
    counts, zero, first, kinds, split, offsets, params, caps : ndarray
        As for :func:`simsav.kernels.spending.group_sums_block`.
    terms : ndarray of float64, shape (7,)
        ``(retrospective, churn_out, churn_in, leave_tilt, leave_cut, mover_managed,
        per_beneficiary)``; flags are 0 or 1 (``leave_tilt``, ``leave_cut`` and
        ``per_beneficiary`` are not used here).
    out_count : ndarray of int64, shape (S, G)
        Attributed beneficiaries, overwritten.
    out_spend, out_managed : ndarray of float64, shape (S, G)
        Attributed capped spending, and the part of it the ACO managed, overwritten.
    """
    retro = terms[0] > 0.0
    c_out = terms[1]
    c_in = terms[2]
    m_mov = terms[5]
    zb = np.empty(CHUNK)
    xb = np.empty(CHUNK)
    ib = np.empty(CHUNK, dtype=np.int64)
    none = np.empty(0)
    for i in range(out_count.shape[0]):
        for g in range(counts.shape[0]):
            n = counts[g]
            p0 = zero[g]
            lo = first[g]
            hi = first[g + 1]
            cap = caps[g]
            n_out = rng.binomial(n, c_out) if (c_out > 0.0 and n > 0) else 0
            n_in = rng.binomial(n, c_in) if (retro and c_in > 0.0 and n > 0) else 0
            s_stay, _, _ = _sum_group(
                rng, n - n_out, p0, lo, hi, kinds, split, offsets, params, cap, zb, xb, ib,
                none, none,
            )
            n_mov = n_in if retro else n_out
            s_mov, _, _ = _sum_group(
                rng, n_mov, p0, lo, hi, kinds, split, offsets, params, cap, zb, xb, ib,
                none, none,
            )
            out_count[i, g] = n - n_out + n_in if retro else n
            out_spend[i, g] = s_stay + s_mov
            out_managed[i, g] = s_stay + m_mov * s_mov


@jit
def attributed_scored_block(
    rng, counts, kinds, offsets, params, caps, terms, rule, out_count, out_spend, out_managed
):  # pragma: no cover - compiled
    """Fill per-(sim, group) attribution accumulators for one block, beneficiary by beneficiary.

    Parameters
    ----------
    rng : numpy.random.Generator
        The block's generator; advanced in place.
    counts, kinds, offsets, params, caps : ndarray
        As for :func:`simsav.kernels.panel.panel_sums_block`: one primitive per group behind
        its zero mass (empirical supports sorted).
    terms : ndarray of float64, shape (7,)
        ``(retrospective, churn_out, churn_in, leave_tilt, leave_cut, mover_managed,
        per_beneficiary)``; flags are 0 or 1, ``leave_cut = ndtri(1 - churn_out)``.
    rule : ndarray of float64, shape (6,)
        ``(visit_rule, visit_rate, visit_tilt, aco_share, min_visits, fallback)``.
    out_count : ndarray of int64, shape (S, G)
        Attributed beneficiaries, overwritten.
    out_spend, out_managed : ndarray of float64, shape (S, G)
        Attributed capped spending, and the part of it the ACO managed, overwritten.
    """
    retro = terms[0] > 0.0
    c_out = terms[1]
    c_in = terms[2]
    rho = terms[3]
    cut = terms[4]
    m_mov = terms[5]
    visits = rule[0] > 0.0
    vrule = rule[1:]
    rho_c = math.sqrt(max(1.0 - rho * rho, 0.0))
    for i in range(out_count.shape[0]):
        for g in range(counts.shape[0]):
            n = counts[g]
            kind = kinds[g]
            p = params[offsets[g] : offsets[g + 1]]
            cap = caps[g]
            cnt = 0
            spend = 0.0
            managed = 0.0
            for _ in range(n):
                x, s = _draw_scored(rng, kind, p)
                x = min(x, cap)
                leave = False
                if c_out > 0.0:
                    if rho == 0.0:
                        leave = rng.random() < c_out
                    else:
                        leave = rho * s + rho_c * rng.standard_normal() > cut
                if retro:
                    if leave:
                        continue
                    if visits and not _attributed_by_visits(rng, s, vrule):
                        continue
                    managed += x
                else:
                    managed += m_mov * x if leave else x
                cnt += 1
                spend += x
            if retro and c_in > 0.0 and n > 0:
                for _ in range(rng.binomial(n, c_in)):
                    x, s = _draw_scored(rng, kind, p)
                    x = min(x, cap)
                    if visits and not _attributed_by_visits(rng, s, vrule):
                        continue
                    cnt += 1
                    spend += x
                    managed += m_mov * x
            out_count[i, g] = cnt
            out_spend[i, g] = spend
            out_managed[i, g] = managed
