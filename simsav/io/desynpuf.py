"""The bundled CMS DE-SynPUF sample: annual Medicare payments per beneficiary.

``simsav/data/desynpuf_sample.csv`` holds a 10,000-beneficiary subset of CMS's 2008-2010
Data Entrepreneurs' Synthetic Public Use File (Sample 1): per beneficiary and year, the
total Medicare reimbursement (``MEDREIMB_IP + MEDREIMB_OP + MEDREIMB_CAR``; empty where the
beneficiary has no record that year) and whether the year was full-year fee-for-service
(12 months of Parts A and B, no HMO months). The ``empirical`` spending model resamples it
(:mod:`simsav.spending.empirical`); the panel statistics read its year-to-year columns.
"""

from __future__ import annotations

import csv
import functools
import math
from importlib import resources
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["DESYNPUF_SOURCE", "desynpuf_spending"]

#: How the ``empirical`` model names its source (with the year and subset appended).
DESYNPUF_SOURCE = "CMS DE-SynPUF Sample 1 (10k subset)"


@functools.cache
def desynpuf_table() -> dict[str, NDArray[np.float64]]:
    """Return the sample's columns by header name (missing cells as ``nan``)."""
    text = resources.files("simsav").joinpath("data/desynpuf_sample.csv").read_text()
    reader = csv.reader(text.splitlines())
    header = next(reader)
    cols: list[list[float]] = [[] for _ in header]
    for row in reader:
        for j, cell in enumerate(row):
            cols[j].append(float(cell) if cell != "" else math.nan)
    return {name: np.array(col, dtype=np.float64) for name, col in zip(header, cols, strict=True)}


def desynpuf_spending(
    year: int = 2008, subset: Literal["ffs-full-year", "all"] = "ffs-full-year"
) -> NDArray[np.float64]:
    """Return annual Medicare payments per beneficiary from the bundled DE-SynPUF sample.

    Parameters
    ----------
    year : {2008, 2009, 2010}
        Payment year (``MEDREIMB_IP + MEDREIMB_OP + MEDREIMB_CAR``).
    subset : {"ffs-full-year", "all"}
        ``"ffs-full-year"``: beneficiaries with 12 months of Parts A and B and no HMO
        months that year; ``"all"``: everyone with a record that year.

    Returns
    -------
    ndarray of float64
        USD, negatives (claim adjustments, 6 in 2010) set to 0, in file order.

    Examples
    --------
    >>> x = desynpuf_spending(2008)
    >>> x.size, round(float(x.mean()))
    (6365, 4442)
    """
    if year not in (2008, 2009, 2010):
        raise ValueError(f"year must be 2008, 2009 or 2010, got {year!r}")
    if subset not in ("ffs-full-year", "all"):
        raise ValueError(f"subset must be 'ffs-full-year' or 'all', got {subset!r}")
    t = desynpuf_table()
    x = t[f"reimb_{year}"]
    keep = ~np.isnan(x)
    if subset == "ffs-full-year":
        keep &= t[f"ffs_{year}"] == 1
    return np.maximum(x[keep], 0.0)
