"""``medicare-ffs``: ``lognormal-pareto`` with shape constants fitted to Medicare FFS.

The top 1/5/10/20/50% of beneficiaries hold 14.9/41.5/60.0/79.1/95.7% of spending
(Wallis et al. 2021; :data:`MEDICARE_FFS_TARGETS`); :data:`MEDICARE_FFS_SHAPE` is the
lognormal-Pareto fitted to them. The model is a :class:`LognormalPareto` (same kernel
form); only the mean is free.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simsav.spending.base import ModelEntry
from simsav.spending.lognormal_pareto import LognormalPareto

__all__ = ["ENTRY", "MEDICARE_FFS_SHAPE", "MEDICARE_FFS_TARGETS", "medicare_ffs"]

#: Medicare FFS (aged >= 65, 2007-2018) top-q spending shares, Wallis et al. 2021
#: (EClinicalMedicine 100873) [S LANCET21].
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
#: 5.5% (the published figures imply cv ~2.3, a cap ~9.5 x the mean, capped cv ~1.9 and
#: the mean -5% [D LANCET21, CBO05]). A free zero
#: mass improves the fit by less than 0.1 point (it picks 3%), so none is used: one
#: normal variate per beneficiary. ``tests/test_spending.py`` re-checks the shares and
#: the fit.
MEDICARE_FFS_SHAPE: dict[str, float] = {
    "zero_share": 0.0,
    "sigma": 1.9026,
    "tail_quantile": 0.9444,
    "tail_alpha": 2.7104,
}


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


def _build(mean: float, shape: Mapping[str, Any]) -> LognormalPareto:
    return medicare_ffs(mean)


ENTRY = ModelEntry(
    name="medicare-ffs",
    model=LognormalPareto,
    build=_build,
    summary="lognormal-pareto fitted to Medicare FFS concentration (the default)",
)
