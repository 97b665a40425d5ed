"""``lognormal``: lognormal spending with a given mean and cv; lognormal helpers.

Kernel form: one ``LOGNORMAL`` primitive, no zero mass. The helpers ``ln_partial``,
``ln_sf`` and ``ln_isf`` (partial moments, survival and its inverse of
``exp(mu + sigma Z)``) serve every model built on lognormal pieces.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from simsav.kernels.primitives import LOGNORMAL
from simsav.spending.base import (
    CV_FIELD,
    Component,
    Composition,
    ModelEntry,
    SpendingModel,
    _pos,
    _scalar_or_array,
)

__all__ = ["ENTRY", "Lognormal", "ln_isf", "ln_partial", "ln_sf"]


def ln_partial(k: int, c: float, mu: float, sigma: float, z_max: float = math.inf) -> float:
    """``E[X**k; X <= c, Z <= z_max]`` for X = exp(mu + sigma Z), Z standard normal."""
    if c <= 0:
        return 0.0
    z = min((math.log(c) - mu) / sigma if math.isfinite(c) else math.inf, z_max)
    return math.exp(k * mu + 0.5 * (k * sigma) ** 2) * float(special.ndtr(z - k * sigma))


def ln_sf(x: float, mu: float, sigma: float) -> float:
    """``P(X > x)`` for X = exp(mu + sigma Z), from ``ndtr`` of the upper tail."""
    if x <= 0:
        return 1.0
    return float(special.ndtr((mu - math.log(x)) / sigma))


def ln_isf(s: NDArray[np.float64], mu: float, sigma: float) -> NDArray[np.float64]:
    """Inverse of :func:`ln_sf`: ``exp(mu - sigma * ndtri(s))`` (0 at s >= 1, inf at 0)."""
    sa = np.clip(s, 0.0, 1.0)
    with np.errstate(over="ignore"):
        return np.exp(mu - sigma * special.ndtri(sa))


def check_mu_sigma(mu: float, sigma: float) -> None:
    """Raise ValueError unless ``mu`` is finite and ``sigma`` finite and > 0."""
    if not math.isfinite(mu):
        raise ValueError(f"mu must be finite, got {mu}")
    _pos("sigma", sigma)


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
    code: ClassVar[int] = 1
    n_params: ClassVar[int] = 2

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        super().__post_init__()
        check_mu_sigma(self.mu, self.sigma)

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
        return ln_partial(k, c, self.mu, self.sigma)

    def sf(self, x: float) -> float:  # noqa: D102
        return ln_sf(x, self.mu, self.sigma)

    def isf(self, s: ArrayLike) -> Any:  # noqa: D102
        return _scalar_or_array(ln_isf(np.asarray(s, dtype=np.float64), self.mu, self.sigma))

    def kernel_params(self) -> NDArray[np.float64]:
        """Return ``[mu, sigma]``."""
        return np.array([self.mu, self.sigma], dtype=np.float64)

    @classmethod
    def check_kernel_params(cls, p: NDArray[np.float64]) -> None:  # noqa: D102
        if not p[1] > 0:
            raise ValueError("params out of range: lognormal needs sigma > 0")

    @classmethod
    def from_kernel_params(  # noqa: D102
        cls, p: NDArray[np.float64], *, truncate_at: float | None = None
    ) -> Lognormal:
        return cls(mu=float(p[0]), sigma=float(p[1]), truncate_at=truncate_at)

    @classmethod
    def compose(cls, p: NDArray[np.float64]) -> Composition:  # noqa: D102
        return Composition(0.0, (Component(LOGNORMAL, 1.0, p[:2]),))


def _build(mean: float, shape: Mapping[str, Any]) -> Lognormal:
    return Lognormal.from_mean_cv(mean, shape["cv"])


ENTRY = ModelEntry(
    name="lognormal",
    model=Lognormal,
    build=_build,
    summary="lognormal with the given mean and cv",
    fields={"cv": CV_FIELD},
    required=frozenset({"cv"}),
)
