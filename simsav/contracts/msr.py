"""Minimum savings and loss rates: the CMS sliding scale and user tables.

The CMS scale is the one-sided MSR table of 42 CFR 425.604(b), extended below 5,000
assigned beneficiaries by 42 CFR 425.605(b)/425.110(b) as printed in Table A4 of CMS's
settlement reports (the PY2022 report of ACO A1540, reproduced in the test suite).
Within a band the rate is interpolated linearly on the exact beneficiary count,
``MSR = low + (high - low) * (n - lo) / (hi - lo)``, with ``hi`` the band's last count
(7,500 beneficiaries give 3.3%, the example of the 2011 proposed rule, CMS-1345-P p. 268).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CMS_MSR_TABLE", "MSRBandRow", "interpolate_table", "cms_msr"]


@dataclass(frozen=True)
class MSRBandRow:
    """One band of a sliding-scale table.

    Attributes
    ----------
    lo, hi : float
        First and last beneficiary count of the band (``hi`` is ``inf`` for an open band).
    low, high : float
        Rate (fraction) at ``lo`` and at ``hi``.
    """

    lo: float
    hi: float
    low: float
    high: float


#: 42 CFR 425.604(b) (5,000 and above) and 425.605(b) / CMS Table A4 (below 5,000).
#: The 1–499 band is printed as "≥12.2%"; simsav uses 12.2%.
CMS_MSR_TABLE: tuple[MSRBandRow, ...] = (
    MSRBandRow(1, 499, 0.122, 0.122),
    MSRBandRow(500, 999, 0.122, 0.087),
    MSRBandRow(1_000, 2_999, 0.087, 0.050),
    MSRBandRow(3_000, 4_999, 0.050, 0.039),
    MSRBandRow(5_000, 5_999, 0.039, 0.036),
    MSRBandRow(6_000, 6_999, 0.036, 0.034),
    MSRBandRow(7_000, 7_999, 0.034, 0.032),
    MSRBandRow(8_000, 8_999, 0.032, 0.031),
    MSRBandRow(9_000, 9_999, 0.031, 0.030),
    MSRBandRow(10_000, 14_999, 0.030, 0.027),
    MSRBandRow(15_000, 19_999, 0.027, 0.025),
    MSRBandRow(20_000, 49_999, 0.025, 0.022),
    MSRBandRow(50_000, 59_999, 0.022, 0.020),
    MSRBandRow(60_000, float("inf"), 0.020, 0.020),
)


def interpolate_table(table: Sequence[MSRBandRow], n: ArrayLike) -> NDArray[np.float64]:
    """Rate from a sliding-scale table at beneficiary counts ``n``.

    Each count falls in the band whose ``lo`` is the largest not above it; below the
    first band the first band's ``low`` applies. Within a band the rate is linear between
    ``(lo, low)`` and ``(hi, high)``; an open or one-point band is flat at ``low``.

    Parameters
    ----------
    table : sequence of MSRBandRow
        Bands sorted by ``lo``.
    n : array_like
        Beneficiary counts (> 0).

    Returns
    -------
    numpy.ndarray
        Rates as fractions, same shape as ``n``.

    Examples
    --------
    >>> round(float(interpolate_table(CMS_MSR_TABLE, 7_500)), 4)
    0.033
    """
    n = np.asarray(n, dtype=np.float64)
    los = np.array([b.lo for b in table])
    his = np.array([b.hi for b in table])
    lows = np.array([b.low for b in table])
    highs = np.array([b.high for b in table])
    idx = np.clip(np.searchsorted(los, n, side="right") - 1, 0, len(table) - 1)
    lo, hi, a, b = los[idx], his[idx], lows[idx], highs[idx]
    width = hi - lo
    finite = np.isfinite(width) & (width > 0)
    frac = np.where(finite, (n - lo) / np.where(finite, width, 1.0), 0.0)
    frac = np.clip(frac, 0.0, 1.0)
    return a + (b - a) * frac


def cms_msr(n: ArrayLike) -> NDArray[np.float64]:
    """CMS sliding-scale MSR (one-sided; also the "variable" MSR/MLR election).

    Parameters
    ----------
    n : array_like
        Number of assigned beneficiaries.

    Returns
    -------
    numpy.ndarray
        The MSR as a fraction.

    Examples
    --------
    >>> [round(float(x), 4) for x in cms_msr([5_000, 10_000, 12_500, 20_000, 100_000])]
    [0.039, 0.03, 0.0285, 0.025, 0.02]
    """
    return interpolate_table(CMS_MSR_TABLE, n)
