"""What fitting a spending model works on and returns, and the likelihood helpers.

:class:`Sample` holds the amounts (per member-year, weighted, possibly capped) and
:class:`Fit` one fitted model; :mod:`simsav.spending.mle` fits each registered model.
Standard errors come from the observed information: the inverse of the negative Hessian
of the log-likelihood (:func:`covariance`, by central differences), weights counted as
frequencies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simsav.spending.base import SpendingModel
from simsav.spending.spec import SpendingSpec

__all__ = ["F64", "LOG_2PI", "Fit", "Sample", "covariance", "hessian", "spending_table",
           "std_errors", "zero_part"]

F64 = NDArray[np.float64]
LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True, eq=False)
class Sample:
    """Amounts to fit: per member-year, weighted, possibly capped.

    Attributes
    ----------
    x : ndarray
        Annual amounts, USD (``>= 0``).
    w : ndarray
        Weights, member-years (1 for a full-year member).
    cap : float, optional
        The data were capped here: amounts ``>= cap`` are censored.
    support : ndarray, optional
        What the ``empirical`` model resamples (default ``x`` when all weights are 1).
    spending_source : dict
        ``[spending]`` fields naming the data for the ``empirical`` model (``sample``,
        ``sample_column``, ``sample_exposure``).
    """

    x: F64
    w: F64
    cap: float | None = None
    support: F64 | None = None
    spending_source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64)
        w = np.asarray(self.w, dtype=np.float64)
        if x.ndim != 1 or x.shape != w.shape or x.size < 2:
            raise ValueError("x and w: two 1-d arrays of the same length, at least 2")
        if np.any(~np.isfinite(x)) or np.any(x < 0) or not np.any(x > 0):
            raise ValueError("x: finite amounts >= 0, not all 0")
        if np.any(~np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("w: finite weights > 0")
        if self.cap is not None and not (math.isfinite(self.cap) and self.cap > 0):
            raise ValueError(f"cap: must be finite and > 0, got {self.cap}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "w", w)

    @property
    def total(self) -> float:
        """Total weight (member-years)."""
        return float(self.w.sum())

    @property
    def zero_weight(self) -> float:
        """Weight of the zero amounts."""
        return float(self.w[self.x == 0].sum())

    def positive(self) -> tuple[F64, F64, NDArray[np.bool_]]:
        """The positive amounts sorted, their weights, and which are censored at the cap."""
        keep = self.x > 0
        order = np.argsort(self.x[keep], kind="stable")
        y, wy = self.x[keep][order], self.w[keep][order]
        cens = np.zeros(y.size, dtype=bool) if self.cap is None else y >= self.cap
        return np.where(cens, self.cap if self.cap else 0.0, y), wy, cens

    def mean(self) -> float:
        """Weighted mean (of the capped amounts, if capped)."""
        return float(np.sum(self.w * self.x) / self.total)

    def cv(self) -> float:
        """Weighted coefficient of variation."""
        m = self.mean()
        return float(math.sqrt(np.sum(self.w * (self.x - m) ** 2) / self.total) / m)


@dataclass(frozen=True)
class Fit:
    """One model fitted to a :class:`Sample`.

    Attributes
    ----------
    name : str
        The registry name.
    method : str
        ``"maximum likelihood"``, ``"moments"``, ``"sample"`` or ``"not fitted"``.
    model : SpendingModel or None
        The fitted (untruncated) model.
    params, se : dict
        Its parameters by name (those of the model's class) and their standard errors.
    loglik : float
        Log-likelihood of the sample (NaN where the model has no density at some amount
        or is the sample itself).
    n_params : int
        Free parameters (for AIC).
    spending : dict
        The ``[spending]`` table that rebuilds the model (empty if none).
    note : str
        How it was fitted, or why not.
    """

    name: str
    method: str
    model: SpendingModel | None
    params: dict[str, float] = field(default_factory=dict)
    se: dict[str, float] = field(default_factory=dict)
    loglik: float = math.nan
    n_params: int = 0
    spending: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def aic(self) -> float:
        """Akaike's information criterion, ``2 k - 2 loglik`` (NaN without a likelihood)."""
        return 2.0 * self.n_params - 2.0 * self.loglik


def hessian(f: Callable[[F64], float], theta: F64, rel: float = 1e-4) -> F64:
    """Hessian of ``f`` at ``theta`` by central differences."""
    t = np.asarray(theta, dtype=np.float64)
    h = rel * np.maximum(np.abs(t), 0.1)
    k = t.size
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            v = (f(t + ei + ej) - f(t + ei - ej) - f(t - ei + ej) + f(t - ei - ej))
            out[i, j] = out[j, i] = v / (4.0 * h[i] * h[j])
    return out


def covariance(loglik: Callable[[F64], float], theta: F64) -> F64:
    """The inverse of the negative Hessian of ``loglik`` at ``theta`` (NaN if singular)."""
    h = -hessian(loglik, theta)
    try:
        return np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return np.full(h.shape, np.nan)


def std_errors(loglik: Callable[[F64], float], theta: F64) -> F64:
    """Standard errors: the root diagonal of :func:`covariance`."""
    d = np.diag(covariance(loglik, theta))
    return np.where(d > 0, np.sqrt(np.abs(d)), np.nan)


def zero_part(s: Sample) -> tuple[float, float, float]:
    """``(p0, se, loglik)`` of the zero share (weighted share of zeros)."""
    w, w0 = s.total, s.zero_weight
    p0 = w0 / w
    if w0 == 0:
        return 0.0, 0.0, 0.0
    return p0, math.sqrt(p0 * (1 - p0) / w), w0 * math.log(p0) + (w - w0) * math.log1p(-p0)


def spending_table(name: str, model: SpendingModel, **shape: float) -> dict[str, Any]:
    """The ``[spending]`` table of a fitted model (validated; rounded to 6 digits)."""
    fields = {"model": name, "mean": float(f"{model.mean():.6g}"),
              **{k: float(f"{v:.6g}") if isinstance(v, float) else v
                 for k, v in shape.items()}}
    SpendingSpec.model_validate(fields)
    return fields

