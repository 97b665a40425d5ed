"""Fitting spending models: to a mean and cv (:func:`calibrate`), to concentration shares.

:func:`calibrate` is a thin wrapper over :class:`~simsav.spending.SpendingSpec` (any
registered model). :func:`calibrate_to_concentration` fits a
:class:`~simsav.spending.LognormalPareto` to top-q spending shares, as
:data:`~simsav.spending.MEDICARE_FFS_SHAPE` was fitted. A fit that belongs to one model
lives in that model's module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from simsav.spending.base import SpendingModel, check_shares
from simsav.spending.lognormal_pareto import LognormalPareto
from simsav.spending.spec import SpendingSpec

__all__ = ["calibrate", "calibrate_to_concentration"]


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
        A model name (see :data:`simsav.spending.MODEL_NAMES`).
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
    >>> from simsav.spending import MEDICARE_FFS_TARGETS
    >>> m = calibrate_to_concentration(MEDICARE_FFS_TARGETS, mean=1.0)
    >>> round(m.sigma, 4), round(m.tail_quantile, 4), round(m.tail_alpha, 4)
    (1.9026, 0.9444, 2.7104)
    """
    fit_zero = zero_share is None
    qs, ss = check_shares(shares, 4 if fit_zero else 3)

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
