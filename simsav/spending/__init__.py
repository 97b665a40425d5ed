"""Per-beneficiary annual spending models: specification, calibration, moments, draws.

A scenario's ``[spending]`` table validates into a :class:`SpendingSpec`; the spec builds
a :class:`SpendingModel` (a distribution with concrete parameters plus an optional
per-beneficiary cap), which knows its theoretical moments, quantiles and concentration,
and converts to the arrays the numba kernel takes (:func:`kernel_args`).
:func:`simulate_group_sums` draws per-sim spending sums for groups of beneficiaries.

Conventions
-----------
* Spending is USD per beneficiary-year, ``>= 0``.
* ``mean`` and ``cv`` always describe the **untruncated** distribution **including**
  beneficiaries with zero spending: ``cv = sd / mean`` of per-beneficiary spending.
* "Truncation" follows the MSSP meaning: each beneficiary's spending is **capped** at the
  threshold (``min(x, cap)``: the amount above is excluded, the beneficiary is kept). It
  is not conditioning on ``x <= cap``. ``truncate_quantile = p`` sets the cap at the
  ``p``-quantile of the untruncated distribution.
* Moment methods take ``truncated``: ``False`` (untruncated), ``True`` (capped at the
  model's own ``truncate_at``) or a number (capped there).

Models
------
``gamma``
    Gamma with the given mean and cv (shape ``1 / cv**2``).
``lognormal``
    Lognormal with the given mean and cv.
``hurdle-lognormal``
    Point mass ``zero_share`` at 0; otherwise lognormal. ``cv`` is the overall cv
    (zeros included), so it must exceed ``sqrt(zero_share / (1 - zero_share))``.
``lognormal-pareto``
    Optional point mass ``zero_share`` at 0; the non-zero part is lognormal up to its
    ``tail_quantile`` (in [0.5, 1); the splice point ``x_s``) and Pareto(``tail_alpha``)
    above, with
    the same probability above ``x_s`` as the lognormal would have (so the cdf is
    continuous). Give either ``cv`` (the body's ``sigma`` is solved for) or
    ``body_sigma``.
``empirical``
    Resampling with replacement from the bundled DE-SynPUF sample
    (:func:`simsav.io.desynpuf.desynpuf_spending`), rescaled to ``mean``.
``medicare-ffs``
    ``lognormal-pareto`` with shape constants fitted to Medicare fee-for-service
    concentration (:data:`MEDICARE_FFS_SHAPE`): the top 1/5/10/20/50% of beneficiaries
    hold 14.9/41.5/60.0/79.1/95.7% of spending (Wallis et al. 2021).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from scipy import optimize, special

# ``_desynpuf_table`` stays importable here for draw/panel.py's persistence statistics.
from simsav.io.desynpuf import DESYNPUF_SOURCE, desynpuf_spending
from simsav.io.desynpuf import _desynpuf_table as _desynpuf_table
from simsav.rng import DEFAULT_BLOCK_SIZE, SeedLike, map_blocks

__all__ = [
    "MEDICARE_FFS_SHAPE",
    "MEDICARE_FFS_TARGETS",
    "MODEL_NAMES",
    "Empirical",
    "Gamma",
    "GroupSums",
    "HurdleLognormal",
    "KernelArgs",
    "Lognormal",
    "LognormalPareto",
    "SpendingModel",
    "SpendingSpec",
    "calibrate",
    "calibrate_to_concentration",
    "desynpuf_spending",
    "kernel_args",
    "medicare_ffs",
    "model_from_kernel_args",
    "simulate_group_stats",
    "simulate_group_sums",
    "spending_model",
]

ModelName = Literal[
    "gamma", "lognormal", "hurdle-lognormal", "lognormal-pareto", "empirical", "medicare-ffs"
]

#: The model names a :class:`SpendingSpec` accepts.
MODEL_NAMES: tuple[str, ...] = (
    "gamma",
    "lognormal",
    "hurdle-lognormal",
    "lognormal-pareto",
    "empirical",
    "medicare-ffs",
)

# Kernel model codes; must equal simsav.kernels.spending' constants (checked by a test). Kept here
# so that importing this module does not import numba.
_GAMMA, _LOGNORMAL, _HURDLE_LOGNORMAL, _LOGNORMAL_PARETO, _EMPIRICAL = 0, 1, 2, 3, 4

#: Medicare FFS (aged >= 65, 2007-2018) top-q spending shares, Wallis et al. 2021
#: (EClinicalMedicine 100873); literature.md sections 7 and 8 (case 9).
MEDICARE_FFS_TARGETS: dict[float, float] = {
    0.01: 0.149,
    0.05: 0.415,
    0.10: 0.600,
    0.20: 0.791,
    0.50: 0.957,
}

#: Shape of the ``medicare-ffs`` model: ``lognormal-pareto`` with no zero mass.
#: Fitted by ``calibrate_to_concentration(MEDICARE_FFS_TARGETS, mean=1.0, zero_share=0.0)``
#: (least squares on the five shares, in points; rounded to 4 decimals). Achieved shares
#: 14.94/41.26/60.52/78.68/95.78% (each within 0.6 point); untruncated cv 2.33; the 99th
#: percentile is 9.43 x the mean, and capping there gives cv 1.84 and lowers the mean by
#: 5.5% (literature.md: cv ~2.3, cap ~9.5 x mean, capped cv ~1.9, mean -5%). A free zero
#: mass improves the fit by less than 0.1 point (it picks 3%), so none is used: one
#: normal variate per beneficiary. ``tests/test_spending.py`` re-checks the shares and
#: the fit.
MEDICARE_FFS_SHAPE: dict[str, float] = {
    "zero_share": 0.0,
    "sigma": 1.9026,
    "tail_quantile": 0.9444,
    "tail_alpha": 2.7104,
}

_Truncated = bool | float


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


class KernelArgs(NamedTuple):
    """What the kernel needs for one group: model code, parameters and cap.

    Attributes
    ----------
    code : int
        Kernel model code (see :mod:`simsav.kernels.spending`).
    params : ndarray of float64
        Kernel parameters for that code.
    truncate_at : float
        Per-beneficiary cap, ``inf`` for none.
    """

    code: int
    params: NDArray[np.float64]
    truncate_at: float


def _check_tops(tops: ArrayLike) -> NDArray[np.float64]:
    q = np.asarray(tops, dtype=np.float64)
    if np.any(~(q > 0) | ~(q <= 1)):
        raise ValueError(f"tops must lie in (0, 1], got {tops!r}")
    return q


def _scalar_or_array(out: NDArray[np.float64]) -> Any:
    """Return a float for a 0-d array, else the array."""
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class SpendingModel:
    """Base class of the spending distributions.

    Subclasses define :meth:`cdf`, :meth:`quantile`, :meth:`partial_moment` and
    :meth:`kernel_params`; moments, caps and concentration follow from those.

    Attributes
    ----------
    truncate_at : float or None
        Per-beneficiary cap in USD (``None``: no cap).
    """

    name: ClassVar[str] = ""
    code: ClassVar[int] = -1

    truncate_at: float | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.truncate_at is not None and not self.truncate_at > 0:
            raise ValueError(f"truncate_at must be > 0, got {self.truncate_at}")

    # -- to be defined by subclasses --------------------------------------------------

    def cdf(self, x: float) -> float:
        """Return ``P(X <= x)`` for the untruncated distribution."""
        raise NotImplementedError

    def quantile(self, p: float) -> float:
        """Return the ``p``-quantile of the untruncated distribution (``inf`` at 1)."""
        raise NotImplementedError

    def partial_moment(self, k: int, c: float) -> float:
        """Return ``E[X**k; X <= c]`` for ``k`` in 1 to 4 (``c`` may be ``inf``)."""
        raise NotImplementedError

    def sf(self, x: float) -> float:
        """Return ``P(X > x)`` for the untruncated distribution.

        Subclasses compute it directly, with full relative precision in the far tail
        (this default, ``1 - cdf(x)``, has none).
        """
        return 1.0 - self.cdf(x)

    def isf(self, s: ArrayLike) -> Any:
        """Return the inverse survival function: the smallest ``x`` with ``P(X > x) <= s``.

        Vectorized; ``isf(0)`` is the top of the support (``inf`` for an unbounded
        model) and ``isf(s)`` is 0 for ``s >= P(X > 0)``. This default inverts
        :meth:`quantile` at ``1 - s``; subclasses invert the survival function directly.

        Parameters
        ----------
        s : float or array_like
            Survival probabilities in [0, 1].

        Returns
        -------
        float or ndarray
            Shaped like ``s``.
        """
        sa = np.asarray(s, dtype=np.float64)
        out = np.empty(sa.shape)
        for idx, si in np.ndenumerate(sa):
            out[idx] = self.quantile(1.0 - float(si))
        return _scalar_or_array(out)

    def conditional_quantile(self, v: ArrayLike, lo: float, hi: float) -> Any:
        """Return quantiles of ``X`` conditional on ``lo < X <= hi`` (vectorized).

        For ``V`` uniform on [0, 1), ``conditional_quantile(V, lo, hi)`` is distributed as
        ``X`` given ``lo < X <= hi``: it inverts the survival function,
        ``isf(sf(lo) - V * (sf(lo) - sf(hi)))``, which keeps full precision in the far
        tail. Valid for a distribution with no atom in ``(lo, hi]`` (every model here but
        :class:`Empirical`, which overrides it).

        Parameters
        ----------
        v : float or array_like
            Probabilities in [0, 1).
        lo, hi : float
            The interval, ``0 <= lo < hi`` (``hi`` may be ``inf``).

        Returns
        -------
        float or ndarray
            Values in ``[lo, hi]``, shaped like ``v``.

        Raises
        ------
        ValueError
            If the model puts no probability in ``(lo, hi]``.
        """
        s_lo = self.sf(lo)
        s_hi = self.sf(hi)
        if not s_lo > s_hi:
            raise ValueError(f"the model puts no probability in ({lo}, {hi}]")
        va = np.asarray(v, dtype=np.float64)
        x = np.asarray(self.isf(s_lo - va * (s_lo - s_hi)), dtype=np.float64)
        return _scalar_or_array(np.clip(x, lo, hi))

    def sample_between(
        self, rng: np.random.Generator, size: int, lo: float, hi: float
    ) -> NDArray[np.float64]:
        """Draw ``size`` values of ``X`` conditional on ``lo < X <= hi``, exactly.

        This default is :meth:`conditional_quantile` of ``rng.random(size)``; a model
        may override it with a faster exact sampler (:class:`Gamma` does).

        Parameters
        ----------
        rng : numpy.random.Generator
            Advanced in place.
        size : int
            Number of values.
        lo, hi : float
            The interval, ``0 <= lo < hi`` (``hi`` may be ``inf``).

        Returns
        -------
        ndarray of float64, shape (size,)
        """
        return np.asarray(self.conditional_quantile(rng.random(size), lo, hi), dtype=np.float64)

    def kernel_params(self) -> NDArray[np.float64]:
        """Return the kernel's parameter vector for this model."""
        raise NotImplementedError

    # -- derived ----------------------------------------------------------------------

    def cap(self, truncated: _Truncated = True) -> float:
        """Return the cap that ``truncated`` means (``inf`` for none).

        Parameters
        ----------
        truncated : bool or float
            ``False``: no cap; ``True``: the model's ``truncate_at``; a number: that cap.
        """
        if truncated is False:
            return math.inf
        if truncated is True:
            return math.inf if self.truncate_at is None else float(self.truncate_at)
        c = float(truncated)
        if not c > 0:
            raise ValueError(f"a cap must be > 0, got {truncated!r}")
        return c

    def _raw_moment(self, k: int, truncated: _Truncated) -> float:
        c = self.cap(truncated)
        m = self.partial_moment(k, c)
        if math.isfinite(c):
            m += c**k * (1.0 - self.cdf(c))
        return m

    def mean(self, truncated: _Truncated = False) -> float:
        """Return the mean of per-beneficiary spending (capped per ``truncated``)."""
        return self._raw_moment(1, truncated)

    def variance(self, truncated: _Truncated = False) -> float:
        """Return the variance of per-beneficiary spending (capped per ``truncated``)."""
        m1 = self._raw_moment(1, truncated)
        m2 = self._raw_moment(2, truncated)
        if math.isinf(m2):
            return math.inf
        return max(m2 - m1 * m1, 0.0)

    def sd(self, truncated: _Truncated = False) -> float:
        """Return the standard deviation (capped per ``truncated``)."""
        return math.sqrt(self.variance(truncated))

    def cv(self, truncated: _Truncated = False) -> float:
        """Return the coefficient of variation ``sd / mean`` (capped per ``truncated``)."""
        return self.sd(truncated) / self.mean(truncated)

    def capped_share(self, truncated: _Truncated = True) -> float:
        """Return ``P(X > cap)``, the share of beneficiaries whose spending is capped."""
        c = self.cap(truncated)
        return 0.0 if math.isinf(c) else 1.0 - self.cdf(c)

    def concentration(self, tops: ArrayLike, truncated: _Truncated = False) -> Any:
        """Return the share of spending held by the top ``q`` fraction of beneficiaries.

        Parameters
        ----------
        tops : float or array_like
            Population fractions in (0, 1], e.g. ``[0.01, 0.05]``.
        truncated : bool or float
            Whether spending is capped first (see the module docstring).

        Returns
        -------
        float or ndarray
            Shares in [0, 1], shaped like ``tops``.
        """
        q = _check_tops(tops)
        c = self.cap(truncated)
        total = self.mean(truncated)
        out = np.empty(q.shape)
        for idx, qi in np.ndenumerate(q):
            out[idx] = 1.0 - self._lorenz_mass(1.0 - float(qi), c) / total
        return float(out) if out.ndim == 0 else out

    def _lorenz_mass(self, p: float, c: float) -> float:
        """Return the integral of ``min(F^-1(t), c)`` over ``t`` in ``[0, p]``.

        Valid for a cdf whose only atom is at 0; :class:`Empirical` overrides it.
        """
        if p <= 0.0:
            return 0.0
        x = self.quantile(p)
        if x <= c:
            return self.partial_moment(1, x)
        return self.partial_moment(1, c) + c * (p - self.cdf(c))

    def with_truncation(
        self, truncate_at: float | None = None, *, truncate_quantile: float | None = None
    ) -> SpendingModel:
        """Return a copy capped at ``truncate_at`` or at the ``truncate_quantile``-quantile.

        With neither, the copy has no cap.
        """
        if truncate_at is not None and truncate_quantile is not None:
            raise ValueError("give truncate_at or truncate_quantile, not both")
        if truncate_quantile is not None:
            if not 0.0 < truncate_quantile < 1.0:
                raise ValueError(f"truncate_quantile must be in (0, 1), got {truncate_quantile}")
            truncate_at = self.quantile(truncate_quantile)
        import dataclasses

        return dataclasses.replace(self, truncate_at=truncate_at)

    def kernel_args(self) -> KernelArgs:
        """Return ``(code, params, truncate_at)`` for the kernel (cap ``inf`` if none)."""
        cap = math.inf if self.truncate_at is None else float(self.truncate_at)
        return KernelArgs(self.code, self.kernel_params(), cap)


def _pos(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")


def _share(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


@dataclass(frozen=True)
class Gamma(SpendingModel):
    """Gamma spending: shape ``k``, scale ``theta`` (mean ``k * theta``, cv ``k**-0.5``).

    Examples
    --------
    >>> m = Gamma.from_mean_cv(10_000.0, 2.0)
    >>> round(m.mean(), 6), round(m.cv(), 6)
    (10000.0, 2.0)
    """

    name: ClassVar[str] = "gamma"
    code: ClassVar[int] = _GAMMA

    shape: float
    scale: float

    def __post_init__(self) -> None:
        super().__post_init__()
        _pos("shape", self.shape)
        _pos("scale", self.scale)

    @classmethod
    def from_mean_cv(cls, mean: float, cv: float, **kw: Any) -> Gamma:
        """Return the gamma with this mean and cv."""
        _pos("mean", mean)
        _pos("cv", cv)
        return cls(shape=1.0 / cv**2, scale=mean * cv**2, **kw)

    def cdf(self, x: float) -> float:  # noqa: D102
        return 0.0 if x <= 0 else float(special.gammainc(self.shape, x / self.scale))

    def quantile(self, p: float) -> float:  # noqa: D102
        if p >= 1.0:
            return math.inf
        return float(special.gammaincinv(self.shape, p)) * self.scale

    def partial_moment(self, k: int, c: float) -> float:  # noqa: D102
        full = self.scale**k * float(special.poch(self.shape, k))
        if math.isinf(c):
            return full
        return 0.0 if c <= 0 else full * float(special.gammainc(self.shape + k, c / self.scale))

    def sf(self, x: float) -> float:  # noqa: D102
        return 1.0 if x <= 0 else float(special.gammaincc(self.shape, x / self.scale))

    def isf(self, s: ArrayLike) -> Any:  # noqa: D102
        sa = np.clip(np.asarray(s, dtype=np.float64), 0.0, 1.0)
        return _scalar_or_array(special.gammainccinv(self.shape, sa) * self.scale)

    def sample_between(
        self, rng: np.random.Generator, size: int, lo: float, hi: float
    ) -> NDArray[np.float64]:
        """Draw ``size`` values of ``X`` given ``lo < X <= hi`` by exact rejection.

        Above the mode (``lo > max(k - 1, 0) * theta``) the log-density ``(k - 1) log x -
        x / theta`` lies under its tangent at ``lo`` (for ``k <= 1``, under
        ``(k - 1) log lo - x / theta``), so ``f(x) <= f(lo) exp(-r (x - lo))`` with
        ``r = 1 / theta - max(k - 1, 0) / lo``. Proposals are that exponential truncated to
        ``(lo, hi]`` (drawn by inversion), accepted with probability ``f(x) / (f(lo)
        exp(-r (x - lo)))`` ``= (x / lo)**(k - 1) exp(-max(k - 1, 0) (x - lo) / lo)``.
        Rounds of proposals for the values still missing repeat until all are accepted
        (acceptance is high this far out, e.g. ~0.9 at the 97th percentile for cv 2).
        At or below the mode it falls back to inverting the survival function
        (``gammainccinv``, about 30 times slower).
        """
        k, theta = self.shape, self.scale
        excess = max(k - 1.0, 0.0)
        if not (lo > 0.0 and lo > excess * theta):
            return super().sample_between(rng, size, lo, hi)
        rate = 1.0 / theta - excess / lo
        span = -math.expm1(-rate * (hi - lo))  # P(proposal <= hi); 1 when hi is inf
        out = np.empty(size)
        todo = np.arange(size)
        while todo.size:
            v = rng.random(todo.size)
            w = rng.random(todo.size)
            y = np.minimum(lo - np.log1p(-v * span) / rate, hi)
            ok = w < np.exp((k - 1.0) * np.log(y / lo) - excess * (y - lo) / lo)
            out[todo[ok]] = y[ok]
            todo = todo[~ok]
        return out

    def kernel_params(self) -> NDArray[np.float64]:  # noqa: D102
        return np.array([self.shape, self.scale], dtype=np.float64)


def _ln_partial(k: int, c: float, mu: float, sigma: float, z_max: float = math.inf) -> float:
    """``E[X**k; X <= c, Z <= z_max]`` for X = exp(mu + sigma Z), Z standard normal."""
    if c <= 0:
        return 0.0
    z = min((math.log(c) - mu) / sigma if math.isfinite(c) else math.inf, z_max)
    return math.exp(k * mu + 0.5 * (k * sigma) ** 2) * float(special.ndtr(z - k * sigma))


def _ln_sf(x: float, mu: float, sigma: float) -> float:
    """``P(X > x)`` for X = exp(mu + sigma Z), from ``ndtr`` of the upper tail."""
    if x <= 0:
        return 1.0
    return float(special.ndtr((mu - math.log(x)) / sigma))


def _ln_isf(s: NDArray[np.float64], mu: float, sigma: float) -> NDArray[np.float64]:
    """Inverse of :func:`_ln_sf`: ``exp(mu - sigma * ndtri(s))`` (0 at s >= 1, inf at 0)."""
    sa = np.clip(s, 0.0, 1.0)
    with np.errstate(over="ignore"):
        return np.exp(mu - sigma * special.ndtri(sa))


@dataclass(frozen=True)
class Lognormal(SpendingModel):
    """Lognormal spending: ``exp(mu + sigma * Z)``.

    Examples
    --------
    >>> m = Lognormal.from_mean_cv(10_000.0, 2.0)
    >>> round(m.mean(), 6), round(m.cv(), 6)
    (10000.0, 2.0)
    """

    name: ClassVar[str] = "lognormal"
    code: ClassVar[int] = _LOGNORMAL

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        super().__post_init__()
        if not math.isfinite(self.mu):
            raise ValueError(f"mu must be finite, got {self.mu}")
        _pos("sigma", self.sigma)

    @classmethod
    def from_mean_cv(cls, mean: float, cv: float, **kw: Any) -> Lognormal:
        """Return the lognormal with this mean and cv."""
        _pos("mean", mean)
        _pos("cv", cv)
        s2 = math.log1p(cv * cv)
        return cls(mu=math.log(mean) - 0.5 * s2, sigma=math.sqrt(s2), **kw)

    def cdf(self, x: float) -> float:  # noqa: D102
        return 0.0 if x <= 0 else float(special.ndtr((math.log(x) - self.mu) / self.sigma))

    def quantile(self, p: float) -> float:  # noqa: D102
        if p >= 1.0:
            return math.inf
        return 0.0 if p <= 0 else math.exp(self.mu + self.sigma * float(special.ndtri(p)))

    def partial_moment(self, k: int, c: float) -> float:  # noqa: D102
        return _ln_partial(k, c, self.mu, self.sigma)

    def sf(self, x: float) -> float:  # noqa: D102
        return _ln_sf(x, self.mu, self.sigma)

    def isf(self, s: ArrayLike) -> Any:  # noqa: D102
        return _scalar_or_array(_ln_isf(np.asarray(s, dtype=np.float64), self.mu, self.sigma))

    def kernel_params(self) -> NDArray[np.float64]:  # noqa: D102
        return np.array([self.mu, self.sigma], dtype=np.float64)


@dataclass(frozen=True)
class HurdleLognormal(SpendingModel):
    """Point mass ``zero_share`` at 0, otherwise lognormal ``exp(mu + sigma * Z)``.

    Examples
    --------
    >>> m = HurdleLognormal.from_mean_cv(10_000.0, 2.0, zero_share=0.1)
    >>> round(m.mean(), 6), round(m.cv(), 6)
    (10000.0, 2.0)
    """

    name: ClassVar[str] = "hurdle-lognormal"
    code: ClassVar[int] = _HURDLE_LOGNORMAL

    zero_share: float
    mu: float
    sigma: float

    def __post_init__(self) -> None:
        super().__post_init__()
        _share("zero_share", self.zero_share)
        if not math.isfinite(self.mu):
            raise ValueError(f"mu must be finite, got {self.mu}")
        _pos("sigma", self.sigma)

    @classmethod
    def from_mean_cv(
        cls, mean: float, cv: float, *, zero_share: float, **kw: Any
    ) -> HurdleLognormal:
        """Return the hurdle-lognormal with this overall mean and cv (zeros included).

        Raises
        ------
        ValueError
            If ``cv <= sqrt(zero_share / (1 - zero_share))`` (the cv of the zero mass
            alone, with a constant non-zero part).
        """
        _pos("mean", mean)
        _pos("cv", cv)
        _share("zero_share", zero_share)
        p = zero_share
        cv_nz2 = (1.0 + cv * cv) * (1.0 - p) - 1.0
        if not cv_nz2 > 0:
            raise ValueError(
                f"cv={cv} is too small for zero_share={p}: need cv > "
                f"sqrt(zero_share / (1 - zero_share)) = {math.sqrt(p / (1 - p)):.4g}"
            )
        s2 = math.log1p(cv_nz2)
        mu = math.log(mean / (1.0 - p)) - 0.5 * s2
        return cls(zero_share=p, mu=mu, sigma=math.sqrt(s2), **kw)

    def cdf(self, x: float) -> float:  # noqa: D102
        if x < 0:
            return 0.0
        body = 0.0 if x == 0 else float(special.ndtr((math.log(x) - self.mu) / self.sigma))
        return self.zero_share + (1.0 - self.zero_share) * body

    def quantile(self, p: float) -> float:  # noqa: D102
        if p >= 1.0:
            return math.inf
        if p <= self.zero_share:
            return 0.0
        pp = (p - self.zero_share) / (1.0 - self.zero_share)
        return math.exp(self.mu + self.sigma * float(special.ndtri(pp)))

    def partial_moment(self, k: int, c: float) -> float:  # noqa: D102
        return (1.0 - self.zero_share) * _ln_partial(k, c, self.mu, self.sigma)

    def sf(self, x: float) -> float:  # noqa: D102
        if x < 0:
            return 1.0
        return (1.0 - self.zero_share) * _ln_sf(x, self.mu, self.sigma)

    def isf(self, s: ArrayLike) -> Any:  # noqa: D102
        s_nz = np.asarray(s, dtype=np.float64) / (1.0 - self.zero_share)
        return _scalar_or_array(_ln_isf(s_nz, self.mu, self.sigma))

    def kernel_params(self) -> NDArray[np.float64]:  # noqa: D102
        return np.array([self.zero_share, self.mu, self.sigma], dtype=np.float64)


@dataclass(frozen=True)
class LognormalPareto(SpendingModel):
    """Zero mass, lognormal body and Pareto tail spliced at a quantile.

    With probability ``zero_share`` spending is 0. Otherwise it is ``exp(mu + sigma Z)``
    when ``Z <= z_s = Phi^-1(tail_quantile)``, and Pareto above ``x_s = exp(mu + sigma
    z_s)``: ``P(X > x | X > x_s) = (x / x_s) ** -tail_alpha``. The non-zero part keeps
    the lognormal's cdf up to ``x_s`` (``tail_quantile`` of the non-zero beneficiaries
    are in the body), so the cdf is continuous and the density jumps at ``x_s``.

    Moments and partial moments are in closed form (lognormal partial moments plus Pareto
    power integrals); the variance is infinite for ``tail_alpha <= 2``.
    ``tail_quantile`` must be at least 0.5 (the kernel draws the body by rejection).

    Examples
    --------
    >>> m = LognormalPareto.from_mean(1.0, sigma=1.0, tail_quantile=0.95, tail_alpha=3.0)
    >>> round(m.mean(), 12)
    1.0
    >>> m.quantile(0.95) == m.splice_point
    True
    """

    name: ClassVar[str] = "lognormal-pareto"
    code: ClassVar[int] = _LOGNORMAL_PARETO

    zero_share: float
    mu: float
    sigma: float
    tail_quantile: float
    tail_alpha: float

    def __post_init__(self) -> None:
        super().__post_init__()
        _share("zero_share", self.zero_share)
        if not math.isfinite(self.mu):
            raise ValueError(f"mu must be finite, got {self.mu}")
        _pos("sigma", self.sigma)
        if not 0.5 <= self.tail_quantile < 1.0:
            raise ValueError(f"tail_quantile must be in [0.5, 1), got {self.tail_quantile}")
        if not (math.isfinite(self.tail_alpha) and self.tail_alpha > 1.0):
            raise ValueError(f"tail_alpha must be > 1 (finite mean), got {self.tail_alpha}")

    @classmethod
    def from_mean(
        cls,
        mean: float,
        *,
        sigma: float,
        tail_quantile: float,
        tail_alpha: float,
        zero_share: float = 0.0,
        **kw: Any,
    ) -> LognormalPareto:
        """Return the model with this shape, scaled (through ``mu``) to ``mean``."""
        _pos("mean", mean)
        unit = cls(
            zero_share=zero_share,
            mu=0.0,
            sigma=sigma,
            tail_quantile=tail_quantile,
            tail_alpha=tail_alpha,
        )
        return cls(
            zero_share=zero_share,
            mu=math.log(mean / unit.mean(False)),
            sigma=sigma,
            tail_quantile=tail_quantile,
            tail_alpha=tail_alpha,
            **kw,
        )

    @classmethod
    def from_mean_cv(
        cls,
        mean: float,
        cv: float,
        *,
        tail_quantile: float,
        tail_alpha: float,
        zero_share: float = 0.0,
        **kw: Any,
    ) -> LognormalPareto:
        """Return the model with this mean and overall cv, solving for the body's sigma.

        Raises
        ------
        ValueError
            If ``tail_alpha <= 2`` (infinite variance) or no sigma in (1e-6, 8) gives
            ``cv``.
        """
        _pos("cv", cv)
        if not tail_alpha > 2.0:
            raise ValueError(
                f"cv needs a finite variance: tail_alpha must be > 2, got {tail_alpha}"
            )

        def gap(log_sigma: float) -> float:
            m = cls.from_mean(
                1.0,
                sigma=math.exp(log_sigma),
                tail_quantile=tail_quantile,
                tail_alpha=tail_alpha,
                zero_share=zero_share,
            )
            return math.log(m.cv(False)) - math.log(cv)

        lo, hi = math.log(1e-6), math.log(8.0)
        g_lo, g_hi = gap(lo), gap(hi)
        if not g_lo < 0 < g_hi:
            cmin = math.exp(g_lo + math.log(cv))
            raise ValueError(
                f"cv={cv} is out of reach of lognormal-pareto with tail_quantile="
                f"{tail_quantile}, tail_alpha={tail_alpha}, zero_share={zero_share}: "
                f"the smallest cv it has is {cmin:.4g}"
            )
        log_sigma = optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=1e-14)
        return cls.from_mean(
            mean,
            sigma=math.exp(log_sigma),
            tail_quantile=tail_quantile,
            tail_alpha=tail_alpha,
            zero_share=zero_share,
            **kw,
        )

    @property
    def z_splice(self) -> float:
        """``z_s = Phi^-1(tail_quantile)``, the splice point in standard-normal units."""
        return float(special.ndtri(self.tail_quantile))

    @property
    def splice_point(self) -> float:
        """``x_s = exp(mu + sigma z_s)``, where the Pareto tail starts (USD)."""
        return math.exp(self.mu + self.sigma * self.z_splice)

    def cdf(self, x: float) -> float:  # noqa: D102
        if x < 0:
            return 0.0
        if x == 0:
            return self.zero_share
        xs = self.splice_point
        if x <= xs:
            nz = float(special.ndtr((math.log(x) - self.mu) / self.sigma))
        else:
            nz = 1.0 - (1.0 - self.tail_quantile) * (x / xs) ** (-self.tail_alpha)
        return self.zero_share + (1.0 - self.zero_share) * nz

    def quantile(self, p: float) -> float:  # noqa: D102
        if p >= 1.0:
            return math.inf
        if p <= self.zero_share:
            return 0.0
        pp = (p - self.zero_share) / (1.0 - self.zero_share)
        if pp <= self.tail_quantile:
            return math.exp(self.mu + self.sigma * float(special.ndtri(pp)))
        return self.splice_point * ((1.0 - pp) / (1.0 - self.tail_quantile)) ** (
            -1.0 / self.tail_alpha
        )

    def partial_moment(self, k: int, c: float) -> float:  # noqa: D102
        if c <= 0:
            return 0.0
        zs = self.z_splice
        xs = self.splice_point
        body = _ln_partial(k, c, self.mu, self.sigma, z_max=zs)
        tail = 0.0
        if c > xs:
            a = self.tail_alpha
            w = (1.0 - self.tail_quantile) * a * xs**k
            if math.isinf(c):
                tail = w / (a - k) if a > k else math.inf
            elif a == k:
                tail = w * math.log(c / xs)
            else:
                tail = w / (a - k) * (1.0 - (c / xs) ** (k - a))
        return (1.0 - self.zero_share) * (body + tail)

    def sf(self, x: float) -> float:  # noqa: D102
        if x < 0:
            return 1.0
        xs = self.splice_point
        if x <= xs:
            nz = _ln_sf(x, self.mu, self.sigma)
        else:
            nz = (1.0 - self.tail_quantile) * (x / xs) ** (-self.tail_alpha)
        return (1.0 - self.zero_share) * nz

    def isf(self, s: ArrayLike) -> Any:  # noqa: D102
        s_nz = np.clip(np.asarray(s, dtype=np.float64) / (1.0 - self.zero_share), 0.0, 1.0)
        t = 1.0 - self.tail_quantile
        in_tail = s_nz < t
        with np.errstate(divide="ignore"):
            tail = self.splice_point * (np.where(in_tail, s_nz, t) / t) ** (-1.0 / self.tail_alpha)
        body = _ln_isf(np.where(in_tail, t, s_nz), self.mu, self.sigma)
        return _scalar_or_array(np.where(in_tail, tail, body))

    def kernel_params(self) -> NDArray[np.float64]:
        """Return ``[p0, mu, sigma, z_s, 1 - tail_quantile, log x_s, 1 / alpha]``."""
        zs = self.z_splice
        return np.array(
            [
                self.zero_share,
                self.mu,
                self.sigma,
                zs,
                1.0 - self.tail_quantile,
                self.mu + self.sigma * zs,
                1.0 / self.tail_alpha,
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True, eq=False)
class Empirical(SpendingModel):
    """Resampling with replacement from a finite sample (each value equally likely).

    Attributes
    ----------
    values : ndarray
        Support points (USD, ``>= 0``), stored sorted ascending.
    source : str
        Where the values come from.

    Examples
    --------
    >>> m = Empirical.from_sample([0.0, 1.0, 2.0, 5.0], mean=100.0)
    >>> m.mean(), m.quantile(0.5)
    (100.0, 50.0)
    """

    name: ClassVar[str] = "empirical"
    code: ClassVar[int] = _EMPIRICAL

    values: NDArray[np.float64]
    source: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        v = np.sort(np.asarray(self.values, dtype=np.float64).ravel())
        if v.size == 0 or not np.all(np.isfinite(v)) or v[0] < 0 or not v[-1] > 0:
            raise ValueError("values must be a non-empty sample of finite amounts >= 0, not all 0")
        v.setflags(write=False)
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "_cum1", np.concatenate([[0.0], np.cumsum(v)]))
        object.__setattr__(self, "_cum2", np.concatenate([[0.0], np.cumsum(v * v)]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Empirical):
            return NotImplemented
        return (
            self.truncate_at == other.truncate_at
            and self.source == other.source
            and np.array_equal(self.values, other.values)
        )

    def __hash__(self) -> int:
        return hash((self.truncate_at, self.source, self.values.tobytes()))

    @classmethod
    def from_sample(
        cls, sample: ArrayLike, *, mean: float, source: str = "", **kw: Any
    ) -> Empirical:
        """Return the sample rescaled to ``mean``."""
        _pos("mean", mean)
        v = np.asarray(sample, dtype=np.float64)
        return cls(values=v * (mean / v.mean()), source=source, **kw)

    def cdf(self, x: float) -> float:  # noqa: D102
        return float(np.searchsorted(self.values, x, side="right")) / self.values.size

    def quantile(self, p: float) -> float:
        """Return the ``p``-quantile (inverted cdf: the smallest x with ``F(x) >= p``)."""
        if p >= 1.0:
            return float(self.values[-1])
        i = max(math.ceil(p * self.values.size) - 1, 0)
        return float(self.values[i])

    def partial_moment(self, k: int, c: float) -> float:  # noqa: D102
        if k not in (1, 2, 3, 4):
            raise ValueError("k must be 1, 2, 3 or 4")
        j = int(np.searchsorted(self.values, c, side="right"))
        if k > 2:
            return float(np.sum(self.values[:j] ** k)) / self.values.size
        cum = self._cum1 if k == 1 else self._cum2  # type: ignore[attr-defined]
        return float(cum[j]) / self.values.size

    def sf(self, x: float) -> float:  # noqa: D102
        n = self.values.size
        return float(n - np.searchsorted(self.values, x, side="right")) / n

    def isf(self, s: ArrayLike) -> Any:
        """Return the smallest support point ``x`` with ``P(X > x) <= s`` (0 for s >= 1)."""
        sa = np.asarray(s, dtype=np.float64)
        n = self.values.size
        above = np.floor(np.clip(sa, 0.0, 1.0) * n).astype(np.int64)
        i = np.clip(n - 1 - above, 0, n - 1)
        return _scalar_or_array(np.where(sa >= 1.0, 0.0, self.values[i]))

    def conditional_quantile(self, v: ArrayLike, lo: float, hi: float) -> Any:
        """Return draws of ``X`` given ``lo < X <= hi`` for uniforms ``v`` in [0, 1).

        The support points in ``(lo, hi]`` are equally likely (with their multiplicity):
        point ``a + floor(v * (b - a))`` of the sorted sample, where ``a`` and ``b`` bound
        the points in the interval.
        """
        a = int(np.searchsorted(self.values, lo, side="right"))
        b = int(np.searchsorted(self.values, hi, side="right"))
        if b <= a:
            raise ValueError(f"the model puts no probability in ({lo}, {hi}]")
        va = np.asarray(v, dtype=np.float64)
        i = np.minimum(a + np.floor(va * (b - a)).astype(np.int64), b - 1)
        return _scalar_or_array(self.values[i])

    def _lorenz_mass(self, p: float, c: float) -> float:
        n = self.values.size
        w = np.minimum(self.values, c)
        t = p * n
        j = int(math.floor(t))
        mass = float(np.sum(w[:j]))
        if j < n:
            mass += (t - j) * float(w[j])
        return mass / n

    def kernel_params(self) -> NDArray[np.float64]:  # noqa: D102
        return np.array(self.values, dtype=np.float64)


# --------------------------------------------------------------------------------------
# Specification (the scenario's [spending] table)
# --------------------------------------------------------------------------------------

_SHAPE_FIELDS = (
    "cv",
    "zero_share",
    "body_sigma",
    "tail_quantile",
    "tail_alpha",
    "sample_year",
    "sample_subset",
)
# model -> (required, optional) shape fields
_MODEL_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "gamma": (frozenset({"cv"}), frozenset()),
    "lognormal": (frozenset({"cv"}), frozenset()),
    "hurdle-lognormal": (frozenset({"cv", "zero_share"}), frozenset()),
    "lognormal-pareto": (
        frozenset({"tail_alpha"}),
        frozenset({"cv", "body_sigma", "zero_share", "tail_quantile"}),
    ),
    "empirical": (frozenset(), frozenset({"sample_year", "sample_subset"})),
    "medicare-ffs": (frozenset(), frozenset()),
}


class SpendingSpec(BaseModel):
    """The scenario's ``[spending]`` table: a spending model and its calibration.

    All amounts are USD per beneficiary-year. ``mean`` and ``cv`` describe the
    untruncated distribution, zeros included. Fields that the chosen ``model`` does not
    take are rejected, naming the field.

    Attributes
    ----------
    model : str
        One of ``gamma``, ``lognormal``, ``hurdle-lognormal``, ``lognormal-pareto``,
        ``empirical``, ``medicare-ffs`` (default).
    mean : float
        Mean spending per beneficiary-year, ``> 0``.
    cv : float, optional
        Coefficient of variation (``> 0``); required by ``gamma``, ``lognormal``,
        ``hurdle-lognormal``; for ``lognormal-pareto`` give ``cv`` or ``body_sigma``.
    zero_share : float, optional
        Point mass at 0 in [0, 1): required by ``hurdle-lognormal``; optional for
        ``lognormal-pareto`` (default 0).
    body_sigma : float, optional
        ``lognormal-pareto``: log-sd of the lognormal body (instead of ``cv``).
    tail_quantile : float, optional
        ``lognormal-pareto``: splice quantile of the non-zero part, in [0.5, 1)
        (default 0.95).
    tail_alpha : float, optional
        ``lognormal-pareto``: Pareto tail index, ``> 1`` (``> 2`` with ``cv``).
    sample_year : {2008, 2009, 2010}, optional
        ``empirical``: DE-SynPUF year (default 2008).
    sample_subset : {"ffs-full-year", "all"}, optional
        ``empirical``: which beneficiaries (default ``"ffs-full-year"``).
    truncate_at : float, optional
        Per-beneficiary cap in USD (``> 0``).
    truncate_quantile : float, optional
        Cap at this quantile of the untruncated distribution, in (0, 1); e.g. 0.99.

    Examples
    --------
    >>> spec = SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99)
    >>> m = spec.to_model()
    >>> round(m.cv(), 2), round(m.cv(truncated=True), 2)
    (2.33, 1.84)
    >>> try:
    ...     SpendingSpec(model="gamma", mean=1.0, cv=2.0, zero_share=0.1)
    ... except ValueError as e:
    ...     print(e.errors()[0]["msg"])
    Value error, zero_share does not apply to model 'gamma'
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: ModelName = "medicare-ffs"
    mean: float = Field(gt=0)
    cv: float | None = Field(default=None, gt=0)
    zero_share: float | None = Field(default=None, ge=0, lt=1)
    body_sigma: float | None = Field(default=None, gt=0)
    tail_quantile: float | None = Field(default=None, ge=0.5, lt=1)
    tail_alpha: float | None = Field(default=None, gt=1)
    sample_year: Literal[2008, 2009, 2010] | None = None
    sample_subset: Literal["ffs-full-year", "all"] | None = None
    truncate_at: float | None = Field(default=None, gt=0)
    truncate_quantile: float | None = Field(default=None, gt=0, lt=1)

    _built: SpendingModel | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_fields(self) -> SpendingSpec:
        required, optional = _MODEL_FIELDS[self.model]
        for name in _SHAPE_FIELDS:
            given = getattr(self, name) is not None
            if given and name not in required | optional:
                raise ValueError(f"{name} does not apply to model {self.model!r}")
            if not given and name in required:
                raise ValueError(f"model {self.model!r} requires {name}")
        if self.model == "lognormal-pareto" and (self.cv is None) == (self.body_sigma is None):
            raise ValueError("model 'lognormal-pareto' takes exactly one of cv, body_sigma")
        if self.truncate_at is not None and self.truncate_quantile is not None:
            raise ValueError("give truncate_at or truncate_quantile, not both")
        # Build once: checks feasibility (e.g. cv vs zero_share) and caches the model.
        self._built = _build_model(self)
        return self

    def to_model(self) -> SpendingModel:
        """Return the :class:`SpendingModel` this spec describes (built at validation)."""
        assert self._built is not None
        return self._built

    def replace(self, **changes: Any) -> SpendingSpec:
        """Return a validated copy with ``changes`` applied (e.g. a stratum's mean).

        Setting ``truncate_at`` drops ``truncate_quantile`` and vice versa, unless both
        are given; a value of ``None`` removes a field. Changing ``model`` drops the shape
        fields the new model does not take (``cv`` when going to ``medicare-ffs``, ...).

        Examples
        --------
        >>> base = SpendingSpec(mean=11_000, truncate_quantile=0.99)
        >>> base.replace(mean=90_000, truncate_at=500_000).model_dump(exclude_none=True)
        {'model': 'medicare-ffs', 'mean': 90000.0, 'truncate_at': 500000.0}
        """
        data = self.model_dump(exclude_none=True)
        new_model = changes.get("model", self.model)
        if new_model != self.model and new_model in _MODEL_FIELDS:
            required, optional = _MODEL_FIELDS[new_model]
            for name in _SHAPE_FIELDS:
                if name not in required | optional:
                    data.pop(name, None)
        if "truncate_at" in changes and "truncate_quantile" not in changes:
            data.pop("truncate_quantile", None)
        if "truncate_quantile" in changes and "truncate_at" not in changes:
            data.pop("truncate_at", None)
        data.update(changes)
        return type(self).model_validate({k: v for k, v in data.items() if v is not None})


def _build_model(spec: SpendingSpec) -> SpendingModel:
    m: SpendingModel
    if spec.model == "gamma":
        assert spec.cv is not None
        m = Gamma.from_mean_cv(spec.mean, spec.cv)
    elif spec.model == "lognormal":
        assert spec.cv is not None
        m = Lognormal.from_mean_cv(spec.mean, spec.cv)
    elif spec.model == "hurdle-lognormal":
        assert spec.cv is not None and spec.zero_share is not None
        m = HurdleLognormal.from_mean_cv(spec.mean, spec.cv, zero_share=spec.zero_share)
    elif spec.model == "lognormal-pareto":
        assert spec.tail_alpha is not None
        shape = {
            "tail_quantile": 0.95 if spec.tail_quantile is None else spec.tail_quantile,
            "tail_alpha": spec.tail_alpha,
            "zero_share": 0.0 if spec.zero_share is None else spec.zero_share,
        }
        if spec.cv is not None:
            m = LognormalPareto.from_mean_cv(spec.mean, spec.cv, **shape)
        else:
            assert spec.body_sigma is not None
            m = LognormalPareto.from_mean(spec.mean, sigma=spec.body_sigma, **shape)
    elif spec.model == "empirical":
        year = 2008 if spec.sample_year is None else spec.sample_year
        subset = "ffs-full-year" if spec.sample_subset is None else spec.sample_subset
        m = Empirical.from_sample(
            desynpuf_spending(year, subset),
            mean=spec.mean,
            source=f"{DESYNPUF_SOURCE}, {year}, {subset}",
        )
    else:  # medicare-ffs
        m = medicare_ffs(spec.mean)
    if spec.truncate_at is not None or spec.truncate_quantile is not None:
        m = m.with_truncation(spec.truncate_at, truncate_quantile=spec.truncate_quantile)
    return m


def spending_model(spec: SpendingSpec | Mapping[str, Any]) -> SpendingModel:
    """Return the :class:`SpendingModel` for a spec (or a ``[spending]`` mapping).

    Examples
    --------
    >>> m = spending_model({"model": "lognormal", "mean": 8_000, "cv": 2.0})
    >>> type(m).__name__, round(m.mean())
    ('Lognormal', 8000)
    """
    if not isinstance(spec, SpendingSpec):
        spec = SpendingSpec.model_validate(spec)
    return spec.to_model()


def medicare_ffs(
    mean: float, *, truncate_at: float | None = None, truncate_quantile: float | None = None
) -> LognormalPareto:
    """Return the ``medicare-ffs`` model (:data:`MEDICARE_FFS_SHAPE`) with this mean.

    Examples
    --------
    >>> m = medicare_ffs(10_000.0)
    >>> (100 * m.concentration([0.01, 0.05, 0.10, 0.20, 0.50])).round(1).tolist()
    [14.9, 41.3, 60.5, 78.7, 95.8]
    """
    m = LognormalPareto.from_mean(
        mean,
        sigma=MEDICARE_FFS_SHAPE["sigma"],
        tail_quantile=MEDICARE_FFS_SHAPE["tail_quantile"],
        tail_alpha=MEDICARE_FFS_SHAPE["tail_alpha"],
        zero_share=MEDICARE_FFS_SHAPE["zero_share"],
    )
    if truncate_at is None and truncate_quantile is None:
        return m
    return m.with_truncation(truncate_at, truncate_quantile=truncate_quantile)  # type: ignore[return-value]


# --------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------


def calibrate(
    model: str,
    *,
    mean: float,
    cv: float | None = None,
    zero_share: float | None = None,
    truncate_at: float | None = None,
    truncate_quantile: float | None = None,
    **shape: Any,
) -> SpendingModel:
    """Return the model ``model`` calibrated to ``mean`` (and ``cv``, ``zero_share``).

    A thin wrapper over :class:`SpendingSpec`: the same fields, the same validation.

    Parameters
    ----------
    model : str
        A model name (see :data:`MODEL_NAMES`).
    mean, cv, zero_share, truncate_at, truncate_quantile : float, optional
        As in :class:`SpendingSpec`.
    **shape
        Other :class:`SpendingSpec` fields (``tail_alpha``, ``sample_year``, ...).

    Returns
    -------
    SpendingModel

    Examples
    --------
    >>> m = calibrate("hurdle-lognormal", mean=11_000, cv=2.1, zero_share=0.05)
    >>> round(m.mean()), round(m.cv(), 3), m.zero_share
    (11000, 2.1, 0.05)
    """
    fields: dict[str, Any] = {"model": model, "mean": mean, **shape}
    for key, val in (
        ("cv", cv),
        ("zero_share", zero_share),
        ("truncate_at", truncate_at),
        ("truncate_quantile", truncate_quantile),
    ):
        if val is not None:
            fields[key] = val
    return SpendingSpec.model_validate(fields).to_model()


def calibrate_to_concentration(
    shares: Mapping[float, float],
    *,
    mean: float,
    zero_share: float | None = 0.0,
    truncate_at: float | None = None,
    truncate_quantile: float | None = None,
) -> LognormalPareto:
    """Fit a :class:`LognormalPareto` to top-q spending shares.

    Least squares on the shares (in points) over the body's ``sigma``, the splice
    ``tail_quantile`` and ``tail_alpha`` (and ``zero_share`` when it is ``None``), from a
    small grid of starts; then scaled to ``mean``.

    Parameters
    ----------
    shares : mapping of float to float
        ``{q: share}``: the top ``q`` fraction of beneficiaries holds ``share`` of
        spending, e.g. ``{0.01: 0.149, 0.05: 0.415}``. Needs at least as many points as
        free parameters (3, or 4 with ``zero_share=None``).
    mean : float
        Mean spending (untruncated) of the result.
    zero_share : float or None, default 0
        Fixed point mass at 0, or ``None`` to fit it.
    truncate_at, truncate_quantile : float, optional
        Cap of the returned model (the fit is to untruncated shares).

    Returns
    -------
    LognormalPareto

    Examples
    --------
    >>> m = calibrate_to_concentration(MEDICARE_FFS_TARGETS, mean=1.0)
    >>> round(m.sigma, 4), round(m.tail_quantile, 4), round(m.tail_alpha, 4)
    (1.9026, 0.9444, 2.7104)
    """
    if not shares:
        raise ValueError("shares must not be empty")
    qs = np.array([float(q) for q in shares], dtype=np.float64)
    ss = np.array([float(shares[q]) for q in shares], dtype=np.float64)
    if np.any(~(qs > 0) | ~(qs < 1)) or np.any(~(ss > 0) | ~(ss < 1)):
        raise ValueError(f"shares: keys and values must lie in (0, 1), got {dict(shares)}")
    if np.any(ss < qs):
        raise ValueError("shares: the top q fraction holds at least q of spending")
    order = np.argsort(qs)
    if np.any(np.diff(ss[order]) <= 0):
        raise ValueError("shares must increase with q")
    fit_zero = zero_share is None
    n_free = 4 if fit_zero else 3
    if qs.size < n_free:
        raise ValueError(f"shares: need at least {n_free} points, got {qs.size}")

    def unpack(x: NDArray[np.float64]) -> LognormalPareto:
        p0 = float(x[3]) if fit_zero else float(zero_share)  # type: ignore[arg-type]
        return LognormalPareto(
            zero_share=p0,
            mu=0.0,
            sigma=float(x[0]),
            tail_quantile=float(special.ndtr(x[1])),
            tail_alpha=float(x[2]),
        )

    def resid(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return 100.0 * (np.asarray(unpack(x).concentration(qs)) - ss)

    lo = [0.05, 0.0, 1.05] + ([0.0] if fit_zero else [])
    hi = [5.0, 3.5, 30.0] + ([0.6] if fit_zero else [])
    best = None
    for s0 in (1.0, 1.6, 2.2):
        for z0 in (1.0, 1.6, 2.3):
            for a0 in (2.2, 3.0, 4.5):
                x0 = [s0, z0, a0] + ([0.05] if fit_zero else [])
                r = optimize.least_squares(resid, x0, bounds=(lo, hi), xtol=1e-12, ftol=1e-12)
                if best is None or r.cost < best.cost:
                    best = r
    assert best is not None
    unit = unpack(best.x)
    return LognormalPareto.from_mean(
        mean,
        sigma=unit.sigma,
        tail_quantile=unit.tail_quantile,
        tail_alpha=unit.tail_alpha,
        zero_share=unit.zero_share,
    ).with_truncation(truncate_at, truncate_quantile=truncate_quantile)  # type: ignore[return-value]


# --------------------------------------------------------------------------------------
# Kernel arguments and simulation
# --------------------------------------------------------------------------------------

_N_PARAMS = {_GAMMA: 2, _LOGNORMAL: 2, _HURDLE_LOGNORMAL: 3, _LOGNORMAL_PARETO: 7}


def kernel_args(obj: SpendingSpec | SpendingModel | KernelArgs | Sequence[Any]) -> KernelArgs:
    """Return ``(model_code, params, truncate_at)`` for the kernel.

    Parameters
    ----------
    obj : SpendingSpec, SpendingModel, or (code, params, truncate_at)
        A spec or model, or ready-made kernel arguments (checked).

    Returns
    -------
    KernelArgs
        ``truncate_at`` is ``inf`` when there is no cap.

    Raises
    ------
    ValueError
        For an unknown code, a wrong number of parameters, non-finite parameters,
        parameters outside the model's domain or a cap that is not ``> 0``.

    Examples
    --------
    >>> kernel_args(SpendingSpec(model="gamma", mean=10.0, cv=1.0, truncate_at=50.0))
    KernelArgs(code=0, params=array([ 1., 10.]), truncate_at=50.0)
    """
    if isinstance(obj, SpendingSpec):
        return obj.to_model().kernel_args()
    if isinstance(obj, SpendingModel):
        return obj.kernel_args()
    try:
        code, params, cap = obj
    except (TypeError, ValueError):
        raise ValueError(
            "a group's model must be a SpendingSpec, a SpendingModel or a "
            f"(code, params, truncate_at) triple, got {type(obj).__name__}"
        ) from None
    if isinstance(code, bool) or not isinstance(code, numbers.Integral) or not 0 <= code <= 4:
        raise ValueError(f"model code must be an int in [0, 4], got {code!r}")
    p = np.ascontiguousarray(params, dtype=np.float64).ravel()
    want = _N_PARAMS.get(int(code))
    if want is not None and p.size != want:
        raise ValueError(f"model code {code} takes {want} params, got {p.size}")
    if p.size == 0 or not np.all(np.isfinite(p)):
        raise ValueError("params must be non-empty and finite")
    _check_kernel_domain(int(code), p)
    cap = math.inf if cap is None else float(cap)
    if not cap > 0:
        raise ValueError(f"truncate_at must be > 0 (inf for none), got {cap}")
    return KernelArgs(int(code), p, cap)


def model_from_kernel_args(
    obj: SpendingSpec | SpendingModel | KernelArgs | Sequence[Any],
) -> SpendingModel:
    """Return the :class:`SpendingModel` for a spec, a model or kernel arguments.

    The inverse of :func:`kernel_args`: a spec gives its model, a model itself, and a
    ``(code, params, truncate_at)`` triple (checked by :func:`kernel_args`) the model with
    those parameters and cap.

    Raises
    ------
    ValueError
        As :func:`kernel_args`; and for ``lognormal-pareto`` parameters that no
        :class:`LognormalPareto` has (``1 - tail_share < 0.5``, ``alpha <= 1``, or
        ``z_s``, ``log x_s`` inconsistent with the others).

    Examples
    --------
    >>> m = model_from_kernel_args((0, [0.25, 40_000.0], 1e6))
    >>> type(m).__name__, m.truncate_at, round(m.mean())
    ('Gamma', 1000000.0, 10000)
    """
    if isinstance(obj, SpendingSpec):
        return obj.to_model()
    if isinstance(obj, SpendingModel):
        return obj
    code, p, cap = kernel_args(obj)
    kw: dict[str, Any] = {"truncate_at": None if math.isinf(cap) else cap}
    if code == _GAMMA:
        return Gamma(shape=float(p[0]), scale=float(p[1]), **kw)
    if code == _LOGNORMAL:
        return Lognormal(mu=float(p[0]), sigma=float(p[1]), **kw)
    if code == _HURDLE_LOGNORMAL:
        return HurdleLognormal(zero_share=float(p[0]), mu=float(p[1]), sigma=float(p[2]), **kw)
    if code == _EMPIRICAL:
        return Empirical(values=p.copy(), **kw)
    m = LognormalPareto(
        zero_share=float(p[0]),
        mu=float(p[1]),
        sigma=float(p[2]),
        tail_quantile=1.0 - float(p[4]),
        tail_alpha=1.0 / float(p[6]),
        **kw,
    )
    if not np.allclose(m.kernel_params(), p, rtol=1e-9, atol=1e-12):
        raise ValueError(
            "params out of range: lognormal-pareto's z_s and log x_s must equal "
            "ndtri(1 - tail_share) and mu + sigma * z_s"
        )
    return m


def _check_kernel_domain(code: int, p: NDArray[np.float64]) -> None:
    """Raise ValueError for kernel parameters outside the models' domains."""
    bad = ""
    if code == _GAMMA and not (p[0] > 0 and p[1] > 0):
        bad = "gamma needs shape > 0 and scale > 0"
    elif code == _LOGNORMAL and not p[1] > 0:
        bad = "lognormal needs sigma > 0"
    elif code == _HURDLE_LOGNORMAL and not (0 <= p[0] < 1 and p[2] > 0):
        bad = "hurdle-lognormal needs 0 <= p0 < 1 and sigma > 0"
    elif code == _LOGNORMAL_PARETO and not (
        0 <= p[0] < 1 and p[2] > 0 and p[3] >= 0 and 0 < p[4] < 1 and p[6] > 0
    ):
        bad = (
            "lognormal-pareto needs 0 <= p0 < 1, sigma > 0, z_s >= 0, "
            "0 < tail_share < 1 and 1 / alpha > 0"
        )
    elif code == _EMPIRICAL and np.any(p < 0):
        bad = "empirical values must be >= 0"
    if bad:
        raise ValueError(f"params out of range: {bad}")


class GroupSums(NamedTuple):
    """Per-(sim, group) accumulators from :func:`simulate_group_stats`.

    Attributes
    ----------
    truncated : ndarray of float64, shape (n_sims, n_groups)
        Sum over the group's beneficiaries of capped spending (USD).
    untruncated : ndarray of float64, shape (n_sims, n_groups)
        Sum of uncapped spending (USD).
    n_truncated : ndarray of int64, shape (n_sims, n_groups)
        Number of beneficiaries whose spending exceeded the cap.
    """

    truncated: NDArray[np.float64]
    untruncated: NDArray[np.float64]
    n_truncated: NDArray[np.int64]


_MAX_COUNT = 1 << 40


_IntArr = NDArray[np.int64]
_FloatArr = NDArray[np.float64]
_Packed = tuple[_IntArr, _IntArr, _IntArr, _FloatArr, _FloatArr]


def _pack_groups(groups: Sequence[tuple[Any, int]]) -> _Packed:
    """Return ``(counts, codes, offsets, params, caps)`` for the kernel, validating."""
    if isinstance(groups, str | bytes) or not isinstance(groups, Sequence) or len(groups) == 0:
        raise ValueError("groups must be a non-empty sequence of (model, count) pairs")
    counts, codes, caps, plist = [], [], [], []
    for g, item in enumerate(groups):
        try:
            spec, count = item
        except (TypeError, ValueError):
            raise ValueError(f"groups[{g}] must be a (model, count) pair") from None
        if isinstance(count, bool) or not isinstance(count, numbers.Integral):
            raise ValueError(f"groups[{g}] count must be an int in [0, 2**40], got {count!r}")
        if not 0 <= int(count) <= _MAX_COUNT:
            raise ValueError(f"groups[{g}] count must be in [0, 2**40], got {int(count)}")
        try:
            ka = kernel_args(spec)
        except ValueError as e:
            raise ValueError(f"groups[{g}]: {e}") from None
        counts.append(int(count))
        codes.append(ka.code)
        caps.append(ka.truncate_at)
        plist.append(ka.params)
    offsets = np.zeros(len(plist) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([p.size for p in plist])
    return (
        np.array(counts, dtype=np.int64),
        np.array(codes, dtype=np.int64),
        offsets,
        np.ascontiguousarray(np.concatenate(plist), dtype=np.float64),
        np.array(caps, dtype=np.float64),
    )


def simulate_group_stats(
    groups: Sequence[tuple[Any, int]],
    n_sims: int,
    *,
    seed: SeedLike,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    first_block: int = 0,
    on_block: Callable[[int], None] | None = None,
) -> GroupSums:
    """Simulate per-sim spending sums of groups of beneficiaries (with extra stats).

    Like :func:`simulate_group_sums`, but returns sums of capped and of uncapped spending
    and the number of capped beneficiaries per (sim, group). ``first_block`` and
    ``on_block`` are passed to :func:`simsav.rng.map_blocks`: the rows are the sims from
    block ``first_block`` on, drawn exactly as in a run that starts at block 0.
    """
    if isinstance(n_sims, bool) or not isinstance(n_sims, numbers.Integral):
        raise ValueError(f"n_sims must be an int >= 1, got {n_sims!r}")
    if int(n_sims) < 1:
        raise ValueError(f"n_sims must be >= 1, got {int(n_sims)}")
    n_sims = int(n_sims)
    counts, codes, offsets, params, caps = _pack_groups(groups)

    from simsav.kernels import spending as _kernels  # numba is imported only when drawing

    out_sum, out_raw, out_ncap = _kernels.empty_outputs(n_sims, counts.size)

    def run(rng: np.random.Generator, start: int, stop: int) -> None:
        _kernels.group_sums_block(
            rng,
            counts,
            codes,
            offsets,
            params,
            caps,
            out_sum[start:stop],
            out_raw[start:stop],
            out_ncap[start:stop],
        )

    map_blocks(run, n_sims, seed=seed, block_size=block_size, n_threads=n_threads,
               first_block=first_block, on_block=on_block)
    return GroupSums(out_sum, out_raw, out_ncap)


def simulate_group_sums(
    groups: Sequence[tuple[Any, int]],
    n_sims: int,
    *,
    seed: SeedLike,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    first_block: int = 0,
    on_block: Callable[[int], None] | None = None,
) -> NDArray[np.float64]:
    """Simulate, per sim, the sum of capped spending of each group of beneficiaries.

    Each beneficiary-year is drawn independently from its group's model and capped at
    the group's ``truncate_at``; nothing per beneficiary is stored (memory is
    O(n_sims x n_groups) whatever the counts).

    Parameters
    ----------
    groups : sequence of (model, count)
        ``model`` is a :class:`SpendingSpec`, a :class:`SpendingModel` or a
        :class:`KernelArgs` triple; ``count`` the number of beneficiaries, in
        [0, 2**40]. One group per stratum or provider panel (or per year: groups are
        drawn in order within each sim).
    n_sims : int
        Number of simulations, ``>= 1``.
    seed : int, SeedSequence, Generator or None
        See :mod:`simsav.rng`. Block ``k`` of sims uses
        ``SeedSequence(entropy, spawn_key=(k,))``.
    block_size : int, default 256
        Sims per block, in [1, 2**20]. Results depend on ``(seed, block_size)`` only:
        not on ``n_threads``; a larger ``n_sims`` only appends rows.
    n_threads : int, optional
        Worker threads (default :func:`numba.get_num_threads`).

    Returns
    -------
    ndarray of float64, shape (n_sims, n_groups)
        USD per group per sim; divide by the count for per-capita spending.

    Examples
    --------
    >>> spec = SpendingSpec(model="gamma", mean=10_000, cv=2.0)
    >>> sums = simulate_group_sums([(spec, 1_000), (spec, 500)], 100, seed=1)
    >>> sums.shape
    (100, 2)
    >>> bool(abs(sums[:, 0].mean() / 1_000 / 10_000 - 1) < 0.05)
    True
    """
    return simulate_group_stats(
        groups, n_sims, seed=seed, block_size=block_size, n_threads=n_threads,
        first_block=first_block, on_block=on_block,
    ).truncated
