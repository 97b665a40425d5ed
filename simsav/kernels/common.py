"""Numba building blocks shared by the kernels (private).

* :func:`_exp_affine`: ``exp(mu + sigma z)`` over a chunk, in plain IEEE arithmetic that
  LLVM vectorizes (``math.exp`` is a scalar libm call and does not vectorize without
  SVML): a Cody-Waite reduction and a degree-13 polynomial. It agrees with ``math.exp``
  within 2 ulp (tested) for arguments in [-700, 700], to which it clamps.
* :func:`_ndtri`: the kernels' one inverse normal, Wichura's AS241 (relative error about
  1e-16), with :func:`_upper` / :func:`_lower` (``Q`` and ``Phi`` from ``erfc``, accurate
  in either tail).
* :func:`_n_nonzero`: the binomial count of beneficiaries outside a zero mass.
* :func:`_hermite`, :func:`_table_score`: the cubic Hermite tables of the score kernels
  (layout ``[w_0, 1 / h, M, y_0..y_M, h y'_0..h y'_M]``; see :mod:`simsav.draw.scores`).
"""

from __future__ import annotations

import math

import numpy as np

from simsav._numba import jit

__all__ = [
    "CHUNK",
    "EXP_COEFFS",
    "EXP_LIMIT",
    "exp_affine",
    "ndtri",
]

#: Draws are generated and transformed in chunks of this many beneficiaries.
CHUNK = 512

#: :func:`exp_affine` clamps its argument to [-EXP_LIMIT, EXP_LIMIT].
EXP_LIMIT = 700.0

_LOG2E = 1.4426950408889634
# fdlibm's split of ln 2: _LN2_HI has 32 trailing zero bits, so t * _LN2_HI is exact.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
#: Taylor coefficients 1/k! of exp on |r| <= ln(2)/2 (truncation error < 5e-18).
EXP_COEFFS: tuple[float, ...] = tuple(1.0 / math.factorial(k) for k in range(14))
(_T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7, _T8, _T9, _T10, _T11, _T12, _T13) = EXP_COEFFS


@jit
def _exp_affine(z, m, mu, sigma, out, bits):  # pragma: no cover - compiled
    """Set ``out[i] = exp(mu + sigma * z[i])`` for ``i < m`` (``bits``: int64 scratch).

    ``y = clamp(mu + sigma z, -700, 700)``; ``t = rint(y / ln 2)``;
    ``r = (y - t ln2_hi) - t ln2_lo``; ``exp(y) = P(r) * 2**t`` with ``P`` the degree-13
    Taylor polynomial (Horner) and ``2**t`` built from its IEEE bits. Every step is a
    plain IEEE operation in a fixed order, so results are reproducible (and equal to the
    NumPy reference) bit for bit.
    """
    scale = bits.view(np.float64)
    for i in range(m):
        y = mu + sigma * z[i]
        y = min(max(y, -EXP_LIMIT), EXP_LIMIT)
        t = np.rint(y * _LOG2E)
        r = (y - t * _LN2_HI) - t * _LN2_LO
        p = _T13
        p = p * r + _T12
        p = p * r + _T11
        p = p * r + _T10
        p = p * r + _T9
        p = p * r + _T8
        p = p * r + _T7
        p = p * r + _T6
        p = p * r + _T5
        p = p * r + _T4
        p = p * r + _T3
        p = p * r + _T2
        p = p * r + _T1
        p = p * r + _T0
        out[i] = p
        bits[i] = (np.int64(t) + 1023) << 52
    for i in range(m):
        out[i] *= scale[i]


@jit
def exp_affine(z, mu, sigma):  # pragma: no cover - compiled
    """Return ``exp(mu + sigma * z)`` elementwise with the kernels' ``exp`` (for tests)."""
    out = np.empty(z.shape[0])
    bits = np.empty(z.shape[0], dtype=np.int64)
    _exp_affine(z, z.shape[0], mu, sigma, out, bits)
    return out


@jit
def _n_nonzero(rng, n, p0):  # pragma: no cover - compiled
    """Return ``binomial(n, 1 - p0)`` if ``p0 > 0`` and ``n > 0``, else ``n`` (no draw)."""
    if p0 > 0.0 and n > 0:
        return rng.binomial(n, 1.0 - p0)
    return n


_SQRT1_2 = 0.7071067811865476

# Wichura, AS241 PPND16 (Applied Statistics 37, 1988): Phi^-1 to about 1e-16.
_A = (
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
)
_B = (
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
)
_C = (
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
)
_D = (
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
)
_E = (
    6.65790464350110377720e0,
    5.46378491116411436990e0,
    1.78482653991729133580e0,
    2.96560571828504891230e-1,
    2.65321895265761230930e-2,
    1.24266094738807843860e-3,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_F = (
    1.0,
    5.99832206555887937690e-1,
    1.36929880922735805310e-1,
    1.48753612908506148525e-2,
    7.86869131145613259100e-4,
    1.84631831751005468180e-5,
    1.42151175831644588870e-7,
    2.04426310338993978564e-15,
)
(_A0, _A1, _A2, _A3, _A4, _A5, _A6, _A7) = _A
(_B0, _B1, _B2, _B3, _B4, _B5, _B6, _B7) = _B
(_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7) = _C
(_D0, _D1, _D2, _D3, _D4, _D5, _D6, _D7) = _D
(_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7) = _E
(_F0, _F1, _F2, _F3, _F4, _F5, _F6, _F7) = _F


@jit
def _ndtri(p):  # pragma: no cover - compiled
    """Return ``Phi^-1(p)`` (AS241); ``-inf`` for ``p <= 0``, ``inf`` for ``p >= 1``.

    Pass the smaller tail: ``Phi^-1(1 - q) = -_ndtri(q)`` keeps full relative accuracy
    for tiny ``q``.
    """
    if not p > 0.0:
        return -np.inf
    if not p < 1.0:
        return np.inf
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = ((((((_A7 * r + _A6) * r + _A5) * r + _A4) * r + _A3) * r + _A2) * r + _A1) * r
        den = ((((((_B7 * r + _B6) * r + _B5) * r + _B4) * r + _B3) * r + _B2) * r + _B1) * r
        return q * (num + _A0) / (den + _B0)
    r = p if q < 0.0 else 1.0 - p
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        num = ((((((_C7 * r + _C6) * r + _C5) * r + _C4) * r + _C3) * r + _C2) * r + _C1) * r
        den = ((((((_D7 * r + _D6) * r + _D5) * r + _D4) * r + _D3) * r + _D2) * r + _D1) * r
        val = (num + _C0) / (den + _D0)
    else:
        r -= 5.0
        num = ((((((_E7 * r + _E6) * r + _E5) * r + _E4) * r + _E3) * r + _E2) * r + _E1) * r
        den = ((((((_F7 * r + _F6) * r + _F5) * r + _F4) * r + _F3) * r + _F2) * r + _F1) * r
        val = (num + _E0) / (den + _F0)
    return -val if q < 0.0 else val


@jit
def ndtri(p):  # pragma: no cover - compiled
    """Return ``Phi^-1(p)`` elementwise with the kernels' AS241 (for tests)."""
    out = np.empty(p.shape[0])
    for i in range(p.shape[0]):
        out[i] = _ndtri(p[i])
    return out


@jit
def _upper(w):  # pragma: no cover - compiled
    """``Q(w) = 1 - Phi(w)``, accurate for large ``w``."""
    return 0.5 * math.erfc(w * _SQRT1_2)


@jit
def _lower(w):  # pragma: no cover - compiled
    """``Phi(w)``, accurate for very negative ``w``."""
    return 0.5 * math.erfc(-w * _SQRT1_2)


@jit
def _nonzero_score(w, p0):  # pragma: no cover - compiled
    """``Phi^-1((Phi(w) - p0) / (1 - p0))`` for ``w > Phi^-1(p0)``, from the smaller tail."""
    q = _upper(w) / (1.0 - p0)
    if q < 0.5:
        return -_ndtri(q)
    return _ndtri((_lower(w) - p0) / (1.0 - p0))


@jit
def _hermite(p, base, w):  # pragma: no cover - compiled
    """Cubic Hermite interpolation of the table at ``p[base:]`` (:mod:`simsav.draw.scores`).

    Layout ``[w_0, 1 / h, M, y_0..y_M, d_0..d_M]`` with ``d_j = h y'(w_j)``. Beyond the
    grid: linear extrapolation with the end slopes.
    """
    t = (w - p[base]) * p[base + 1]
    n_cells = int(p[base + 2])
    y = base + 3
    d = y + n_cells + 1
    if t < 0.0:
        return p[y] + t * p[d]
    if t >= n_cells:
        return p[y + n_cells] + (t - n_cells) * p[d + n_cells]
    j = int(t)
    f = t - j
    f2 = f * f
    f3 = f2 * f
    return (
        (2.0 * f3 - 3.0 * f2 + 1.0) * p[y + j]
        + (f3 - 2.0 * f2 + f) * p[d + j]
        + (3.0 * f2 - 2.0 * f3) * p[y + j + 1]
        + (f3 - f2) * p[d + j + 1]
    )


@jit
def _table_score(p, base, w, p0):  # pragma: no cover - compiled
    """Return the non-zero part's score ``v(w)`` for ``w > z0``.

    Tabulated inside the table's range (which starts 0.25 above ``z0``), exact (``erfc``
    and AS241) outside it.
    """
    t = (w - p[base]) * p[base + 1]
    if t >= 0.0 and t < p[base + 2]:
        return _hermite(p, base, w)
    return _nonzero_score(w, p0)


