"""What every spending model is: the base class, its kernel form and its registry entry.

A model module (:mod:`simsav.spending.gamma`, ...) defines a :class:`SpendingModel`
subclass and one :class:`ModelEntry`; :mod:`simsav.spending.registry` lists the entries.
Everything else (the scenario's ``[spending]`` table, kernel arguments, the kernels'
compositions, CLI help, sizing defaults) reads the registry.

A model has three faces:

* **closed forms** (methods of :class:`SpendingModel`): ``cdf``, ``sf``, ``quantile``,
  ``isf``, partial moments, and from them capped moments and concentration;
* **kernel arguments** (:class:`KernelArgs`): its registry ``code``, a flat parameter
  vector (:meth:`SpendingModel.kernel_params`) and its cap; the compact form a group's
  model travels in, checked by :meth:`SpendingModel.check_kernel_params` and turned back
  into a model by :meth:`SpendingModel.from_kernel_params`;
* **a composition** (:class:`Composition`, from :meth:`SpendingModel.compose`): a point
  mass at zero and weighted components, each a primitive the kernels know
  (:mod:`simsav.kernels.primitives`). The kernels see only compositions, never models.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CV_FIELD",
    "ZERO_SHARE_FIELD",
    "Component",
    "Composition",
    "KernelArgs",
    "ModelEntry",
    "ShapeField",
    "SpendingModel",
]

_Truncated = bool | float


class KernelArgs(NamedTuple):
    """A group's model as kernel arguments: model code, parameters and cap.

    Attributes
    ----------
    code : int
        The model's registry code (:attr:`SpendingModel.code`).
    params : ndarray of float64
        Its parameter vector (:meth:`SpendingModel.kernel_params`).
    truncate_at : float
        Per-beneficiary cap, ``inf`` for none.
    """

    code: int
    params: NDArray[np.float64]
    truncate_at: float


class Component(NamedTuple):
    """One component of a :class:`Composition`.

    Attributes
    ----------
    kind : int
        A primitive of :mod:`simsav.kernels.primitives`.
    weight : float
        Share of the non-zero beneficiaries in this component, in (0, 1].
    params : ndarray of float64
        The primitive's parameters.
    """

    kind: int
    weight: float
    params: NDArray[np.float64]


class Composition(NamedTuple):
    """A model as the kernels see it: a zero mass, then weighted primitive components.

    Attributes
    ----------
    zero_share : float
        ``P(X = 0)`` drawn as a point mass, in [0, 1).
    components : tuple of Component
        Weights summing to 1 (within 1e-12).
    """

    zero_share: float
    components: tuple[Component, ...]


def _check_tops(tops: ArrayLike) -> NDArray[np.float64]:
    q = np.asarray(tops, dtype=np.float64)
    if np.any(~(q > 0) | ~(q <= 1)):
        raise ValueError(f"tops must lie in (0, 1], got {tops!r}")
    return q


def check_shares(
    shares: Mapping[float, float], n_free: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return ``(q, share)`` arrays of top-q concentration targets, checked for a fit.

    Raises
    ------
    ValueError
        Unless there are at least ``n_free`` points, each ``0 < q <= share < 1``, with
        shares increasing in ``q``.
    """
    if not shares:
        raise ValueError("shares must not be empty")
    qs = np.array([float(q) for q in shares], dtype=np.float64)
    ss = np.array([float(shares[q]) for q in shares], dtype=np.float64)
    if np.any(~(qs > 0) | ~(qs < 1)) or np.any(~(ss > 0) | ~(ss < 1)):
        raise ValueError(f"shares: keys and values must lie in (0, 1), got {dict(shares)}")
    if np.any(ss < qs):
        raise ValueError("shares: the top q fraction holds at least q of spending")
    if np.any(np.diff(ss[np.argsort(qs)]) <= 0):
        raise ValueError("shares must increase with q")
    if qs.size < n_free:
        raise ValueError(f"shares: need at least {n_free} points, got {qs.size}")
    return qs, ss


def _scalar_or_array(out: NDArray[np.float64]) -> Any:
    """Return a float for a 0-d array, else the array."""
    return float(out) if out.ndim == 0 else out


def _pos(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")


def _share(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


@dataclass(frozen=True)
class SpendingModel:
    """Base class of the spending distributions.

    Subclasses define :meth:`cdf`, :meth:`sf`, :meth:`quantile`, :meth:`partial_moment`,
    the kernel form (:attr:`code`, :attr:`n_params`, :meth:`kernel_params`,
    :meth:`check_kernel_params`, :meth:`from_kernel_params`, :meth:`compose`), and
    :meth:`score_log_quantile` when their composition is not one closed-form score
    primitive; moments, caps and concentration follow.

    Attributes
    ----------
    truncate_at : float or None
        Per-beneficiary cap in USD (``None``: no cap).
    """

    name: ClassVar[str] = ""
    #: The model's registry code (unique; what :class:`KernelArgs` carries).
    code: ClassVar[int] = -1
    #: Length of :meth:`kernel_params` (``-1``: any, at least 1).
    n_params: ClassVar[int] = -1

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

    def kernel_params(self) -> NDArray[np.float64]:
        """Return the model's parameter vector (see :class:`KernelArgs`)."""
        raise NotImplementedError

    @classmethod
    def check_kernel_params(cls, p: NDArray[np.float64]) -> None:
        """Raise ``ValueError("params out of range: ...")`` for a vector outside the domain.

        ``p`` has the right length and finite values (checked before).
        """

    @classmethod
    def from_kernel_params(
        cls, p: NDArray[np.float64], *, truncate_at: float | None = None
    ) -> SpendingModel:
        """Return the model with parameter vector ``p`` (checked) and this cap."""
        raise NotImplementedError

    @classmethod
    def compose(cls, p: NDArray[np.float64]) -> Composition:
        """Return the kernels' composition for parameter vector ``p``."""
        raise NotImplementedError

    def score_log_quantile(
        self, v: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return ``L(v) = log G^-1(Phi(v))`` and ``L'(v)`` for the non-zero part ``G``.

        ``G`` is the distribution of ``X`` given ``X > 0``. The score kernels tabulate
        ``L`` (the ``TABLE`` primitive) for a model whose composition is not a single
        closed-form score primitive (a gamma, a mixture); such a model defines this
        method, accurate in both tails for ``|v| <= 9``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no score_log_quantile")

    # -- defaults that subclasses refine ----------------------------------------------

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
        :class:`~simsav.spending.Empirical`, which overrides it).

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
        may override it with a faster exact sampler (:class:`~simsav.spending.Gamma`
        does).

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

    def gamma_sum(self) -> tuple[float, float] | None:
        """Return ``(k, theta)`` if a sum of ``n`` iid draws is ``Gamma(n k, theta)``, else None.

        The aggregate path draws such a model's uncapped sums exactly
        (:mod:`simsav.draw.aggregate`).
        """
        return None

    # -- derived ----------------------------------------------------------------------

    def kernel_args(self) -> KernelArgs:
        """Return ``(code, params, truncate_at)`` for the kernel (cap ``inf`` if none)."""
        cap = math.inf if self.truncate_at is None else float(self.truncate_at)
        return KernelArgs(self.code, self.kernel_params(), cap)

    def composition(self) -> Composition:
        """Return the kernels' composition of this model (see :meth:`compose`)."""
        return type(self).compose(self.kernel_params())

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
            Whether spending is capped first (see :mod:`simsav.spending`).

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

        Valid for a cdf whose only atom is at 0; :class:`~simsav.spending.Empirical`
        overrides it.
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
        return dataclasses.replace(self, truncate_at=truncate_at)


# --------------------------------------------------------------------------------------
# Registry entries
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShapeField:
    """A shape field of the scenario's ``[spending]`` table (besides ``model`` and ``mean``).

    Models that share a field name share its declaration (the registry checks).

    Attributes
    ----------
    annotation : type
        Its type (``float``, or a ``Literal`` of the allowed values).
    doc : str
        What it is, for :class:`~simsav.spending.SpendingSpec`'s docstring.
    gt, ge, lt, le : float, optional
        Bounds, checked by pydantic with the field's name in the error.
    """

    annotation: Any
    doc: str
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def constraints(self) -> dict[str, float]:
        """Return the bounds as :func:`pydantic.Field` keywords."""
        bounds = {"gt": self.gt, "ge": self.ge, "lt": self.lt, "le": self.le}
        return {k: v for k, v in bounds.items() if v is not None}


#: ``cv``: the overall coefficient of variation (zeros included, untruncated).
CV_FIELD = ShapeField(float, "Coefficient of variation of untruncated spending, zeros included.",
                      gt=0.0)
#: ``zero_share``: the point mass at 0.
ZERO_SHARE_FIELD = ShapeField(float, "Point mass at 0 (beneficiaries with no spending).",
                              ge=0.0, lt=1.0)


@dataclass(frozen=True)
class ModelEntry:
    """One spending model as the registry lists it: everything that names a model.

    Attributes
    ----------
    name : str
        The name a ``[spending]`` table gives (``model = "gamma"``).
    model : type of SpendingModel
        The class :attr:`build` returns (its closed-form moments, kernel arguments and
        composition).
    build : callable
        ``build(mean, shape)`` returns the untruncated model with that mean; ``shape``
        maps the fields the spec gives (and only those) to their values. Raises
        ``ValueError`` for combinations the field bounds cannot express.
    summary : str
        One line on what the model is (CLI help, docs).
    fields : mapping of str to ShapeField
        The shape fields the model takes, in the order the spec lists them.
    required : frozenset of str
        Those of ``fields`` a spec must give.
    bare : mapping of str to object
        Shape fields a spec that names only the model gets from callers that need one
        (:func:`simsav.analysis.msr_sizing.default_spending`, the CLI), besides a ``cv``,
        which such callers choose themselves for any model that takes one.
    """

    name: str
    model: type[SpendingModel]
    build: Callable[[float, Mapping[str, Any]], SpendingModel]
    summary: str
    fields: Mapping[str, ShapeField] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    bare: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.required <= set(self.fields):
            raise ValueError(f"{self.name}: required fields must be among its fields")
        if not set(self.bare) <= set(self.fields):
            raise ValueError(f"{self.name}: bare fields must be among its fields")
