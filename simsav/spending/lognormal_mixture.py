"""``lognormal-mixture``: a zero mass plus a low-cost and a high-cost lognormal component.

With probability ``zero_share`` a beneficiary spends nothing. Otherwise, with probability
``high_share`` spending is ``exp(high_mu + high_sigma Z)`` (the high-cost component), else
``exp(low_mu + low_sigma Z)``. A spec gives the shape as ``zero_share``, ``high_share``,
``low_sigma``, ``high_sigma`` and ``high_mean_ratio`` (the high component's mean over the
low one's) and scales it to ``mean``; each field it leaves out takes its value in
:data:`MEDICARE_FFS_MIXTURE`, the shape fitted to Medicare FFS concentration.

Closed forms: ``cdf``, ``sf`` and partial moments are sums of the components' lognormal
ones. The quantile has no closed form: it is found by bisection on ``log x`` between the
two components' quantiles at the same probability (the mixture's lies between them), on
the log of the cdf or of the survival function, whichever is the smaller tail (full
relative precision in both tails), vectorized. :meth:`LognormalMixture.sample_between`
is exact: a component with its probability in ``(lo, hi]``, then its survival function
inverted.

Kernel form: the zero mass, then two ``LOGNORMAL`` primitives (low, then high), so the
per-beneficiary kernel draws ``K = binomial(n, 1 - zero_share)``, ``K_low =
binomial(K, 1 - high_share)``, ``K_low`` normals, then ``K - K_low`` normals. The score
kernels (panel, per-beneficiary attribution) take a table of
:meth:`LognormalMixture.score_log_quantile`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from simsav.kernels.primitives import LOGNORMAL
from simsav.spending.base import (
    ZERO_SHARE_FIELD,
    Component,
    Composition,
    ModelEntry,
    ShapeField,
    SpendingModel,
    _pos,
    _scalar_or_array,
    _share,
    check_shares,
)
from simsav.spending.lognormal import check_mu_sigma, ln_partial

__all__ = [
    "ENTRY",
    "MEDICARE_FFS_CV",
    "MEDICARE_FFS_MIXTURE",
    "LognormalMixture",
    "fit_lognormal_mixture",
]

#: The cv :data:`MEDICARE_FFS_MIXTURE` is fitted to, with the concentration shares: near the
#: 2.14 that CMS's 2011 MSR table implies (``simsav.analysis.msr_sizing.CMS_2011_CV``),
#: under the 2.3 of the lognormal-Pareto ``medicare-ffs`` (whose Pareto tail is heavier).
MEDICARE_FFS_CV = 2.16

#: Shape of ``lognormal-mixture`` by default. Fitted by
#: ``fit_lognormal_mixture(MEDICARE_FFS_TARGETS, cv=MEDICARE_FFS_CV)``: least squares on
#: the five top-q shares (in points) and the cv (in hundredths, so 0.01 of cv weighs as
#: 1 point), rounded to 4 decimals. Achieved shares 14.88/41.52/59.99/79.11/95.70%
#: against 14.9/41.5/60.0/79.1/95.7% (each within 0.02 point); untruncated cv 2.160. The
#: shares alone pin all five parameters (an exact fit, at cv 2.18); asking for cv 2.16
#: moves them by under 0.02 point. The 99th percentile is 10.2 x the mean; capping there
#: gives cv 1.87 and lowers the mean by 4.7% (published: cap ~9.5 x mean, capped cv
#: ~1.9, mean -5% [D LANCET21, CBO05]). 7.1% spend nothing; 14.6% of the others form the high-cost
#: component, whose mean is 8.2 x the low-cost one's. ``tests/test_lognormal_mixture.py``
#: re-checks the shares, the cv and the fit.
MEDICARE_FFS_MIXTURE: dict[str, float] = {
    "zero_share": 0.0714,
    "high_share": 0.1456,
    "low_sigma": 1.3657,
    "high_sigma": 0.7255,
    "high_mean_ratio": 8.1843,
}

_BISECT_STEPS = 64  # halvings of a bracket at most ~40 wide in log x: below 1 ulp


@dataclass(frozen=True)
class LognormalMixture(SpendingModel):
    """Zero mass, then a low-cost and a high-cost lognormal component.

    Attributes
    ----------
    zero_share : float
        ``P(X = 0)``, in [0, 1).
    high_share : float
        Share of the non-zero beneficiaries in the high-cost component, in (0, 1).
    low_mu, low_sigma, high_mu, high_sigma : float
        Log-mean and log-sd of each component.

    Examples
    --------
    >>> m = LognormalMixture.from_mean(11_000.0, **MEDICARE_FFS_MIXTURE)
    >>> round(m.mean()), round(m.cv(), 3)
    (11000, 2.16)
    >>> (100 * m.concentration([0.01, 0.05, 0.10, 0.20, 0.50])).round(1).tolist()
    [14.9, 41.5, 60.0, 79.1, 95.7]
    >>> x = m.quantile(0.99)
    >>> round(m.cdf(x), 12)
    0.99
    """

    name: ClassVar[str] = "lognormal-mixture"
    code: ClassVar[int] = 5
    n_params: ClassVar[int] = 6

    zero_share: float
    high_share: float
    low_mu: float
    low_sigma: float
    high_mu: float
    high_sigma: float

    def __post_init__(self) -> None:
        super().__post_init__()
        _share("zero_share", self.zero_share)
        if not 0.0 < self.high_share < 1.0:
            raise ValueError(f"high_share must be in (0, 1), got {self.high_share}")
        check_mu_sigma(self.low_mu, self.low_sigma)
        check_mu_sigma(self.high_mu, self.high_sigma)

    @classmethod
    def from_mean(
        cls,
        mean: float,
        *,
        zero_share: float,
        high_share: float,
        low_sigma: float,
        high_sigma: float,
        high_mean_ratio: float,
        **kw: Any,
    ) -> LognormalMixture:
        """Return the mixture with this shape, scaled to ``mean`` (zeros included)."""
        _pos("mean", mean)
        _pos("high_mean_ratio", high_mean_ratio)
        _share("zero_share", zero_share)
        low_mean = mean / ((1.0 - zero_share) * (1.0 - high_share + high_share * high_mean_ratio))
        return cls(
            zero_share=zero_share,
            high_share=high_share,
            low_mu=math.log(low_mean) - 0.5 * low_sigma**2,
            low_sigma=low_sigma,
            high_mu=math.log(low_mean * high_mean_ratio) - 0.5 * high_sigma**2,
            high_sigma=high_sigma,
            **kw,
        )

    @property
    def high_mean_ratio(self) -> float:
        """Mean of the high-cost component over the low-cost one's."""
        return math.exp(
            self.high_mu + 0.5 * self.high_sigma**2 - self.low_mu - 0.5 * self.low_sigma**2
        )

    def _parts(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """``(weight, mu, sigma)`` of the low and the high component (non-zero part)."""
        return (
            (1.0 - self.high_share, self.low_mu, self.low_sigma),
            (self.high_share, self.high_mu, self.high_sigma),
        )

    # -- closed forms -----------------------------------------------------------------

    def cdf(self, x: float) -> float:  # noqa: D102
        if x < 0:
            return 0.0
        if x == 0:
            return self.zero_share
        lx = math.log(x)
        body = sum(w * float(special.ndtr((lx - mu) / s)) for w, mu, s in self._parts())
        return self.zero_share + (1.0 - self.zero_share) * body

    def sf(self, x: float) -> float:  # noqa: D102
        if x < 0:
            return 1.0
        if x == 0:
            return 1.0 - self.zero_share
        lx = math.log(x)
        tail = sum(w * float(special.ndtr((mu - lx) / s)) for w, mu, s in self._parts())
        return (1.0 - self.zero_share) * tail

    def partial_moment(self, k: int, c: float) -> float:  # noqa: D102
        body = sum(w * ln_partial(k, c, mu, s) for w, mu, s in self._parts())
        return (1.0 - self.zero_share) * body

    # -- quantiles by bisection -------------------------------------------------------

    def _log_quantile(
        self, z: NDArray[np.float64], log_t: NDArray[np.float64], upper: NDArray[np.bool_]
    ) -> NDArray[np.float64]:
        """Return ``log x`` where the non-zero part's cdf (``sf`` where ``upper``) is ``t``.

        ``z`` is the normal score of that probability (``Phi(z) = t``, or ``Q(z) = t``
        where ``upper``), ``log_t = log t``. Each component's quantile there is
        ``exp(mu + sigma z)``, and the mixture's lies between the two.
        """
        (w1, m1, s1), (w2, m2, s2) = self._parts()
        a, b = m1 + s1 * z, m2 + s2 * z
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        sign = np.where(upper, -1.0, 1.0)
        lw1, lw2 = math.log(w1), math.log(w2)
        for _ in range(_BISECT_STEPS):
            mid = 0.5 * (lo + hi)
            f = np.logaddexp(
                lw1 + special.log_ndtr(sign * (mid - m1) / s1),
                lw2 + special.log_ndtr(sign * (mid - m2) / s2),
            )
            right = np.where(upper, f > log_t, f < log_t)  # the root is above mid
            lo = np.where(right, mid, lo)
            hi = np.where(right, hi, mid)
        return 0.5 * (lo + hi)

    def quantile(self, p: float) -> float:  # noqa: D102
        if p >= 1.0:
            return math.inf
        if p <= self.zero_share:
            return 0.0
        t = (p - self.zero_share) / (1.0 - self.zero_share)
        if t <= 0.5:
            z, log_t, upper = float(special.ndtri(t)), math.log(t), False
        else:
            s = (1.0 - p) / (1.0 - self.zero_share)
            z, log_t, upper = -float(special.ndtri(s)), math.log(s), True
        lx = self._log_quantile(np.array([z]), np.array([log_t]), np.array([upper]))
        return math.exp(float(lx[0]))

    def isf(self, s: ArrayLike) -> Any:  # noqa: D102
        sa = np.asarray(s, dtype=np.float64)
        s_nz = np.clip(sa / (1.0 - self.zero_share), 0.0, 1.0)
        inner = (s_nz > 0.0) & (s_nz < 1.0)
        out = np.where(s_nz <= 0.0, math.inf, 0.0)
        t = s_nz[inner]
        upper = t <= 0.5
        t_small = np.where(upper, t, 1.0 - t)  # the smaller tail's probability
        z = np.where(upper, -special.ndtri(t_small), special.ndtri(t_small))
        out[inner] = np.exp(self._log_quantile(z, np.log(t_small), upper))
        return _scalar_or_array(out)

    def score_log_quantile(
        self, v: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return ``L(v) = log G^-1(Phi(v))`` and ``L'(v) = phi(v) / (x g(x))``.

        ``G`` (density ``g``) is the non-zero part. Both tails at full precision
        (``log_ndtr`` of the smaller one).
        """
        z = np.asarray(v, dtype=np.float64)
        upper = z > 0.0
        log_t = np.where(upper, special.log_ndtr(-z), special.log_ndtr(z))
        lx = self._log_quantile(z, log_t, upper)
        (w1, m1, s1), (w2, m2, s2) = self._parts()
        # log(x g(x)) + log(sqrt(2 pi)) = log sum_k w_k exp(-a_k**2 / 2) / s_k
        log_xg = np.logaddexp(
            math.log(w1 / s1) - 0.5 * ((lx - m1) / s1) ** 2,
            math.log(w2 / s2) - 0.5 * ((lx - m2) / s2) ** 2,
        )
        return lx, np.exp(-0.5 * z * z - log_xg)

    def sample_between(
        self, rng: np.random.Generator, size: int, lo: float, hi: float
    ) -> NDArray[np.float64]:
        """Draw ``size`` values of ``X`` given ``lo < X <= hi``, exactly.

        Per value two uniforms: the component (with its probability in ``(lo, hi]``),
        then that lognormal's survival function inverted on ``(lo, hi]``.
        """
        mass, s_lo, s_hi = [], [], []
        for w, mu, s in self._parts():
            a = 1.0 if lo <= 0 else float(special.ndtr((mu - math.log(lo)) / s))
            b = 0.0 if math.isinf(hi) else float(special.ndtr((mu - math.log(hi)) / s))
            mass.append(w * (a - b))
            s_lo.append(a)
            s_hi.append(b)
        if not mass[0] + mass[1] > 0:
            raise ValueError(f"the model puts no probability in ({lo}, {hi}]")
        high = rng.random(size) >= mass[0] / (mass[0] + mass[1])
        v = rng.random(size)
        (_, m1, s1), (_, m2, s2) = self._parts()
        a = np.where(high, s_lo[1], s_lo[0])
        b = np.where(high, s_hi[1], s_hi[0])
        z = -special.ndtri(a - v * (a - b))
        with np.errstate(over="ignore"):
            x = np.exp(np.where(high, m2 + s2 * z, m1 + s1 * z))
        return np.clip(x, lo, hi)

    # -- kernel form ------------------------------------------------------------------

    def kernel_params(self) -> NDArray[np.float64]:
        """Return ``[zero_share, high_share, low_mu, low_sigma, high_mu, high_sigma]``."""
        return np.array(
            [
                self.zero_share,
                self.high_share,
                self.low_mu,
                self.low_sigma,
                self.high_mu,
                self.high_sigma,
            ],
            dtype=np.float64,
        )

    @classmethod
    def check_kernel_params(cls, p: NDArray[np.float64]) -> None:  # noqa: D102
        if not (0 <= p[0] < 1 and 0 < p[1] < 1 and p[3] > 0 and p[5] > 0):
            raise ValueError(
                "params out of range: lognormal-mixture needs 0 <= p0 < 1, "
                "0 < high_share < 1 and both sigmas > 0"
            )

    @classmethod
    def from_kernel_params(  # noqa: D102
        cls, p: NDArray[np.float64], *, truncate_at: float | None = None
    ) -> LognormalMixture:
        return cls(
            zero_share=float(p[0]),
            high_share=float(p[1]),
            low_mu=float(p[2]),
            low_sigma=float(p[3]),
            high_mu=float(p[4]),
            high_sigma=float(p[5]),
            truncate_at=truncate_at,
        )

    @classmethod
    def compose(cls, p: NDArray[np.float64]) -> Composition:
        """Return the zero mass, then the low and the high ``LOGNORMAL`` components."""
        return Composition(
            float(p[0]),
            (
                Component(LOGNORMAL, 1.0 - float(p[1]), p[2:4]),
                Component(LOGNORMAL, float(p[1]), p[4:6]),
            ),
        )


# --------------------------------------------------------------------------------------
# Fit to concentration
# --------------------------------------------------------------------------------------

_FIT_LO = (0.0, 0.01, 0.05, 0.05, 0.0)
_FIT_HI = (0.5, 0.99, 4.0, 4.0, math.log(1000.0))
_FIT_STARTS = ((0.05, 0.1, 1.4, 0.7, 2.0), (0.0, 0.3, 1.0, 1.0, 1.5), (0.1, 0.05, 1.2, 0.5, 3.0))


def _unpack(x: NDArray[np.float64]) -> LognormalMixture:
    return LognormalMixture.from_mean(
        1.0,
        zero_share=float(x[0]),
        high_share=float(x[1]),
        low_sigma=float(x[2]),
        high_sigma=float(x[3]),
        high_mean_ratio=math.exp(float(x[4])),
    )


def fit_lognormal_mixture(
    shares: Mapping[float, float], *, cv: float | None = None, mean: float = 1.0
) -> LognormalMixture:
    """Fit a :class:`LognormalMixture` to top-q spending shares (and a cv).

    Least squares on the shares in points, and when ``cv`` is given on the cv in
    hundredths (0.01 of cv weighs as 1 point of share), over ``zero_share``,
    ``high_share``, both sigmas and the log of ``high_mean_ratio``, from three starts.

    Parameters
    ----------
    shares : mapping of float to float
        ``{q: share}``: the top ``q`` fraction of beneficiaries holds ``share`` of
        spending. At least 5 points without ``cv``, 4 with it.
    cv : float, optional
        Untruncated cv to fit as well.
    mean : float, default 1
        Mean of the result.

    Returns
    -------
    LognormalMixture

    Examples
    --------
    >>> from simsav.spending.medicare import MEDICARE_FFS_TARGETS
    >>> m = fit_lognormal_mixture(MEDICARE_FFS_TARGETS, cv=MEDICARE_FFS_CV)
    >>> round(m.zero_share, 3), round(m.high_share, 3), round(m.cv(), 3)
    (0.071, 0.146, 2.16)
    """
    qs, ss = check_shares(shares, 5 if cv is None else 4)

    def resid(x: NDArray[np.float64]) -> NDArray[np.float64]:
        m = _unpack(x)
        r = 100.0 * (np.asarray(m.concentration(qs)) - ss)
        return r if cv is None else np.append(r, 100.0 * (m.cv() - cv))

    fits = [
        optimize.least_squares(resid, x0, bounds=(_FIT_LO, _FIT_HI), xtol=1e-12, ftol=1e-12)
        for x0 in _FIT_STARTS
    ]
    best = min(fits, key=lambda r: r.cost)
    unit = _unpack(best.x)
    return LognormalMixture.from_mean(
        mean,
        zero_share=unit.zero_share,
        high_share=unit.high_share,
        low_sigma=unit.low_sigma,
        high_sigma=unit.high_sigma,
        high_mean_ratio=unit.high_mean_ratio,
    )


# --------------------------------------------------------------------------------------
# Registry entry
# --------------------------------------------------------------------------------------

_FIELDS = {
    "zero_share": ZERO_SHARE_FIELD,
    "high_share": ShapeField(
        float, "Share of the non-zero beneficiaries in the high-cost component.", gt=0.0, lt=1.0
    ),
    "low_sigma": ShapeField(float, "Log-sd of the low-cost component, in (0, 4].", gt=0.0,
                            le=4.0),
    "high_sigma": ShapeField(float, "Log-sd of the high-cost component, in (0, 4].", gt=0.0,
                             le=4.0),
    "high_mean_ratio": ShapeField(
        float, "Mean of the high-cost component over the low-cost one's, in [1, 1000].",
        ge=1.0, le=1000.0,
    ),
}


def _build(mean: float, shape: Mapping[str, Any]) -> LognormalMixture:
    return LognormalMixture.from_mean(mean, **{**MEDICARE_FFS_MIXTURE, **shape})


ENTRY = ModelEntry(
    name="lognormal-mixture",
    model=LognormalMixture,
    build=_build,
    summary="zero mass plus low- and high-cost lognormals (default: fitted to Medicare FFS)",
    fields=_FIELDS,
)
