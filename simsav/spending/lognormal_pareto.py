"""``lognormal-pareto``: an optional zero mass, a lognormal body and a Pareto tail.

The non-zero part is lognormal up to its ``tail_quantile`` (in [0.5, 1); the splice point
``x_s``) and Pareto(``tail_alpha``) above, with the same probability above ``x_s`` as the
lognormal would have (so the cdf is continuous). Give either ``cv`` (the body's
``sigma`` is solved for) or ``body_sigma``. Kernel form: the zero mass, then one
``LN_PARETO`` primitive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from simsav.kernels.primitives import LN_PARETO
from simsav.spending.base import (
    CV_FIELD,
    ZERO_SHARE_FIELD,
    Component,
    Composition,
    ModelEntry,
    ShapeField,
    SpendingModel,
    _pos,
    _scalar_or_array,
    _share,
)
from simsav.spending.lognormal import check_mu_sigma, ln_isf, ln_partial, ln_sf

__all__ = ["ENTRY", "LognormalPareto"]


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
    code: ClassVar[int] = 3
    n_params: ClassVar[int] = 7

    zero_share: float
    mu: float
    sigma: float
    tail_quantile: float
    tail_alpha: float

    def __post_init__(self) -> None:
        super().__post_init__()
        _share("zero_share", self.zero_share)
        check_mu_sigma(self.mu, self.sigma)
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
        body = ln_partial(k, c, self.mu, self.sigma, z_max=zs)
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
            nz = ln_sf(x, self.mu, self.sigma)
        else:
            nz = (1.0 - self.tail_quantile) * (x / xs) ** (-self.tail_alpha)
        return (1.0 - self.zero_share) * nz

    def isf(self, s: ArrayLike) -> Any:  # noqa: D102
        s_nz = np.clip(np.asarray(s, dtype=np.float64) / (1.0 - self.zero_share), 0.0, 1.0)
        t = 1.0 - self.tail_quantile
        in_tail = s_nz < t
        with np.errstate(divide="ignore"):
            tail = self.splice_point * (np.where(in_tail, s_nz, t) / t) ** (-1.0 / self.tail_alpha)
        body = ln_isf(np.where(in_tail, t, s_nz), self.mu, self.sigma)
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

    @classmethod
    def check_kernel_params(cls, p: NDArray[np.float64]) -> None:  # noqa: D102
        if not (0 <= p[0] < 1 and p[2] > 0 and p[3] >= 0 and 0 < p[4] < 1 and p[6] > 0):
            raise ValueError(
                "params out of range: lognormal-pareto needs 0 <= p0 < 1, sigma > 0, "
                "z_s >= 0, 0 < tail_share < 1 and 1 / alpha > 0"
            )

    @classmethod
    def from_kernel_params(
        cls, p: NDArray[np.float64], *, truncate_at: float | None = None
    ) -> LognormalPareto:
        """Return the model, checking that ``z_s`` and ``log x_s`` agree with the rest."""
        m = cls(
            zero_share=float(p[0]),
            mu=float(p[1]),
            sigma=float(p[2]),
            tail_quantile=1.0 - float(p[4]),
            tail_alpha=1.0 / float(p[6]),
            truncate_at=truncate_at,
        )
        if not np.allclose(m.kernel_params(), p, rtol=1e-9, atol=1e-12):
            raise ValueError(
                "params out of range: lognormal-pareto's z_s and log x_s must equal "
                "ndtri(1 - tail_share) and mu + sigma * z_s"
            )
        return m

    @classmethod
    def compose(cls, p: NDArray[np.float64]) -> Composition:
        """Return the zero mass, then one ``LN_PARETO`` primitive (``p[1:7]``)."""
        return Composition(float(p[0]), (Component(LN_PARETO, 1.0, p[1:7]),))


BODY_SIGMA_FIELD = ShapeField(float, "Log-sd of the lognormal body (instead of cv).", gt=0.0)
TAIL_QUANTILE_FIELD = ShapeField(
    float, "Splice quantile of the non-zero part, in [0.5, 1) (default 0.95).", ge=0.5, lt=1.0
)
TAIL_ALPHA_FIELD = ShapeField(float, "Pareto tail index, > 1 (> 2 with cv).", gt=1.0)


def _build(mean: float, shape: Mapping[str, Any]) -> LognormalPareto:
    if ("cv" in shape) == ("body_sigma" in shape):
        raise ValueError("model 'lognormal-pareto' takes exactly one of cv, body_sigma")
    kw = {
        "tail_quantile": shape.get("tail_quantile", 0.95),
        "tail_alpha": shape["tail_alpha"],
        "zero_share": shape.get("zero_share", 0.0),
    }
    if "cv" in shape:
        return LognormalPareto.from_mean_cv(mean, shape["cv"], **kw)
    return LognormalPareto.from_mean(mean, sigma=shape["body_sigma"], **kw)


ENTRY = ModelEntry(
    name="lognormal-pareto",
    model=LognormalPareto,
    build=_build,
    summary="optional zero mass, lognormal body, Pareto tail above a splice quantile",
    fields={
        "cv": CV_FIELD,
        "zero_share": ZERO_SHARE_FIELD,
        "body_sigma": BODY_SIGMA_FIELD,
        "tail_quantile": TAIL_QUANTILE_FIELD,
        "tail_alpha": TAIL_ALPHA_FIELD,
    },
    required=frozenset({"tail_alpha"}),
    bare={"tail_alpha": 3.0},
)
