"""``hurdle-lognormal``: a point mass ``zero_share`` at 0, otherwise lognormal.

``cv`` is the overall cv (zeros included), so it must exceed
``sqrt(zero_share / (1 - zero_share))``. Kernel form: the zero mass, then one
``LOGNORMAL`` primitive.
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
    ZERO_SHARE_FIELD,
    Component,
    Composition,
    ModelEntry,
    SpendingModel,
    _pos,
    _scalar_or_array,
    _share,
)
from simsav.spending.lognormal import check_mu_sigma, ln_isf, ln_partial, ln_sf

__all__ = ["ENTRY", "HurdleLognormal"]


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
    code: ClassVar[int] = 2
    n_params: ClassVar[int] = 3

    zero_share: float
    mu: float
    sigma: float

    def __post_init__(self) -> None:
        super().__post_init__()
        _share("zero_share", self.zero_share)
        check_mu_sigma(self.mu, self.sigma)

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
        return (1.0 - self.zero_share) * ln_partial(k, c, self.mu, self.sigma)

    def sf(self, x: float) -> float:  # noqa: D102
        if x < 0:
            return 1.0
        return (1.0 - self.zero_share) * ln_sf(x, self.mu, self.sigma)

    def isf(self, s: ArrayLike) -> Any:  # noqa: D102
        s_nz = np.asarray(s, dtype=np.float64) / (1.0 - self.zero_share)
        return _scalar_or_array(ln_isf(s_nz, self.mu, self.sigma))

    def kernel_params(self) -> NDArray[np.float64]:
        """Return ``[zero_share, mu, sigma]``."""
        return np.array([self.zero_share, self.mu, self.sigma], dtype=np.float64)

    @classmethod
    def check_kernel_params(cls, p: NDArray[np.float64]) -> None:  # noqa: D102
        if not (0 <= p[0] < 1 and p[2] > 0):
            raise ValueError("params out of range: hurdle-lognormal needs 0 <= p0 < 1 and "
                             "sigma > 0")

    @classmethod
    def from_kernel_params(  # noqa: D102
        cls, p: NDArray[np.float64], *, truncate_at: float | None = None
    ) -> HurdleLognormal:
        return cls(zero_share=float(p[0]), mu=float(p[1]), sigma=float(p[2]),
                   truncate_at=truncate_at)

    @classmethod
    def compose(cls, p: NDArray[np.float64]) -> Composition:  # noqa: D102
        return Composition(float(p[0]), (Component(LOGNORMAL, 1.0, p[1:3]),))


def _build(mean: float, shape: Mapping[str, Any]) -> HurdleLognormal:
    return HurdleLognormal.from_mean_cv(mean, shape["cv"], zero_share=shape["zero_share"])


ENTRY = ModelEntry(
    name="hurdle-lognormal",
    model=HurdleLognormal,
    build=_build,
    summary="point mass zero_share at 0, otherwise lognormal; overall mean and cv",
    fields={"cv": CV_FIELD, "zero_share": ZERO_SHARE_FIELD},
    required=frozenset({"cv", "zero_share"}),
    bare={"zero_share": 0.05},
)
