"""Numba kernels for attribution: arrays and a Generator in, per-sim accumulators out.

Private; :mod:`simsav.draw.attribution` validates, allocates and seeds. The model and its maths
are documented there. Two paths fill the same outputs:

``aggregate`` (no spending-dependent leaving, no visit rule)
    Per (sim, group): the number of leavers ``binomial(n, churn_out)`` (drawn only if
    ``churn_out > 0`` and ``n > 0``), then, under retrospective assignment, the number of
    arrivals ``binomial(n, churn_in)`` (likewise); then the spending sums of stayers,
    then of leavers (prospective) or arrivals (retrospective), each by
    :mod:`simsav.kernels.spending`' own per-model sum routines. With no churn this draws exactly
    what :func:`simsav.kernels.spending.group_sums_block` draws (same variates, same order).

``per-beneficiary``
    Per beneficiary of the start-of-year list: spending and its normal score
    (:func:`_draw_scored`), then the leaving decision, then (retrospective, stayers only)
    the visits; then per arrival: spending and score, then visits.

Nothing of the population's size is stored: memory is O(sims x groups).
"""

from __future__ import annotations

import math

import numpy as np

from simsav._numba import jit
from simsav.kernels.common import _ndtri, ndtri
from simsav.kernels.spending import (
    CHUNK,
    EMPIRICAL,
    GAMMA,
    HURDLE_LOGNORMAL,
    LOGNORMAL,
    LOGNORMAL_PARETO,
    _n_nonzero,
    _sum_empirical,
    _sum_gamma,
    _sum_lognormal,
    _sum_lognormal_pareto,
)

__all__ = [
    "SCORE_LIMIT",
    "attributed_block",
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
def _lognormal_family(rng, code, p):  # pragma: no cover - compiled
    """Return ``(x, s)`` for the hurdle-lognormal or lognormal-Pareto model.

    One normal ``s`` (the score); ``q = P(Z > s)``. With nonzero share ``w = 1 - p0``:
    ``q >= w`` gives 0 (probability ``p0``); else ``q' = q / w`` is the survival
    probability within the nonzero part: Pareto tail if ``q' <= tail_share``
    (``x = x_s (tail_share / q')**(1 / alpha)``), else lognormal body at
    ``z = -ndtri(q')`` (``z = s`` when ``p0 = 0``).
    """
    s = rng.standard_normal()
    p0 = p[0]
    if p0 == 0.0:
        z = s
        q = 0.5 * math.erfc(s / _SQRT2) if code == LOGNORMAL_PARETO else 0.5
    else:
        q = 0.5 * math.erfc(s / _SQRT2) / (1.0 - p0)
        if q >= 1.0:
            return 0.0, _clamp_score(s)
        z = -_ndtri(q)
    if code == LOGNORMAL_PARETO and q <= p[4]:
        return math.exp(p[5] + p[6] * math.log(p[4] / q)), _clamp_score(s)
    return math.exp(p[1] + p[2] * z), _clamp_score(s)


@jit
def _draw_scored(rng, code, p):  # pragma: no cover - compiled
    """Draw one beneficiary's (uncapped) spending ``x`` and its normal score ``s``.

    ``s = ndtri(F(x))`` (with ties at an atom broken uniformly), so ``s`` is standard
    normal and ``x`` is a non-decreasing function of it: ``x = F^-1(Phi(s))``.
    """
    if code == GAMMA:
        g = rng.standard_gamma(p[0])
        lo, hi = _gamma_p_q(p[0], g)
        s = _ndtri(lo) if lo < 0.5 else -_ndtri(hi)
        return p[1] * g, _clamp_score(s)
    if code == LOGNORMAL:
        s = rng.standard_normal()
        return math.exp(p[0] + p[1] * s), _clamp_score(s)
    if code == HURDLE_LOGNORMAL or code == LOGNORMAL_PARETO:
        return _lognormal_family(rng, code, p)
    if code == EMPIRICAL:  # p holds the support sorted ascending
        m = p.shape[0]
        u = rng.random()
        i = int(u * m)
        if i >= m:
            i = m - 1
        return p[i], _clamp_score(_ndtri(u))
    raise ValueError("unknown model code")


@jit
def scored_draws(rng, code, p, n):  # pragma: no cover - compiled
    """Return ``n`` draws ``(x, s)`` of :func:`_draw_scored` (for tests)."""
    x = np.empty(n)
    s = np.empty(n)
    for i in range(n):
        x[i], s[i] = _draw_scored(rng, code, p)
    return x, s


@jit
def _sum_model(rng, n, code, p, cap, zb, xb, ib):  # pragma: no cover - compiled
    """Return the capped spending sum of ``n`` beneficiaries (the core's routines)."""
    if code == GAMMA:
        s, _, _ = _sum_gamma(rng, n, p[0], p[1], cap)
    elif code == LOGNORMAL:
        s, _, _ = _sum_lognormal(rng, n, p[0], p[1], cap, zb, xb, ib)
    elif code == HURDLE_LOGNORMAL:
        k = _n_nonzero(rng, n, p[0])
        s, _, _ = _sum_lognormal(rng, k, p[1], p[2], cap, zb, xb, ib)
    elif code == LOGNORMAL_PARETO:
        k = _n_nonzero(rng, n, p[0])
        s, _, _ = _sum_lognormal_pareto(rng, k, p, cap, zb, xb, ib)
    elif code == EMPIRICAL:
        s, _, _ = _sum_empirical(rng, n, p, cap)
    else:
        raise ValueError("unknown model code")
    return s


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
    rng, counts, codes, offsets, params, caps, terms, rule, out_count, out_spend, out_managed
):  # pragma: no cover - compiled
    """Fill per-(sim, group) attribution accumulators for one block of sims.

    Parameters
    ----------
    rng : numpy.random.Generator
        The block's generator; advanced in place.
    counts, codes, offsets, params, caps : ndarray
        As for :func:`simsav.kernels.spending.group_sums_block` (empirical supports sorted).
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
    per_ben = terms[6] > 0.0
    visits = rule[0] > 0.0
    vrule = rule[1:]
    rho_c = math.sqrt(max(1.0 - rho * rho, 0.0))
    zb = np.empty(CHUNK)
    xb = np.empty(CHUNK)
    ib = np.empty(CHUNK, dtype=np.int64)
    for i in range(out_count.shape[0]):
        for g in range(counts.shape[0]):
            n = counts[g]
            code = codes[g]
            p = params[offsets[g] : offsets[g + 1]]
            cap = caps[g]
            if not per_ben:
                n_out = rng.binomial(n, c_out) if (c_out > 0.0 and n > 0) else 0
                n_in = rng.binomial(n, c_in) if (retro and c_in > 0.0 and n > 0) else 0
                s_stay = _sum_model(rng, n - n_out, code, p, cap, zb, xb, ib)
                if retro:
                    s_mov = _sum_model(rng, n_in, code, p, cap, zb, xb, ib)
                    out_count[i, g] = n - n_out + n_in
                else:
                    s_mov = _sum_model(rng, n_out, code, p, cap, zb, xb, ib)
                    out_count[i, g] = n
                out_spend[i, g] = s_stay + s_mov
                out_managed[i, g] = s_stay + m_mov * s_mov
                continue
            cnt = 0
            spend = 0.0
            managed = 0.0
            for _ in range(n):
                x, s = _draw_scored(rng, code, p)
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
                    x, s = _draw_scored(rng, code, p)
                    x = min(x, cap)
                    if visits and not _attributed_by_visits(rng, s, vrule):
                        continue
                    cnt += 1
                    spend += x
                    managed += m_mov * x
            out_count[i, g] = cnt
            out_spend[i, g] = spend
            out_managed[i, g] = managed
