"""Risk corridors: the share of an amount kept by band of its rate.

:func:`corridor_share` is the arithmetic of every corridor schedule
(:class:`~simsav.contracts.risk_terms.RiskCorridors`): an amount ``A >= 0`` against a base
``B > 0`` is split into the parts that fall in each band ``[from × B, to × B)``, and the
ACO keeps ``Σ share × part``.

Examples
--------
The ACA risk corridors (42 USC 18062(b)): a plan whose costs are 110% of its target of
$100M bears the first 3 points, half of the next 5 and 20% of the last 2 — $5.9M; HHS
pays it 2.5% of the target plus 80% of the excess over 108%, $4.1M.

>>> from simsav.contracts.risk_terms import ACA_CORRIDORS, RiskCorridors
>>> bands = RiskCorridors.model_validate(ACA_CORRIDORS).savings
>>> float(corridor_share(10e6, 100e6, bands))
5900000.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simsav.contracts.risk_terms import CorridorBand

__all__ = ["corridor_share"]


def corridor_share(amount: ArrayLike, base: ArrayLike,
                   bands: Sequence[CorridorBand]) -> NDArray[np.float64]:
    """What the ACO keeps of ``amount`` (>= 0) under ``bands``, measured against ``base``.

    Parameters
    ----------
    amount : array_like
        Savings (or losses) in dollars, >= 0.
    base : array_like
        The benchmark the bands are fractions of, in dollars (> 0).
    bands : sequence of CorridorBand
        Contiguous bands from 0; beyond the last band's ``to`` nothing is kept.

    Returns
    -------
    ndarray
        Dollars, the shape of ``amount`` and ``base`` broadcast.
    """
    a = np.maximum(np.asarray(amount, dtype=np.float64), 0.0)
    b = np.asarray(base, dtype=np.float64)
    kept = np.zeros(np.broadcast_shapes(a.shape, b.shape))
    for band in bands:
        lo = band.from_ * b
        part = a - lo if band.to is None else np.minimum(a, band.to * b) - lo
        kept = kept + band.share * np.maximum(part, 0.0)
    return kept
