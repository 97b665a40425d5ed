"""CMS's ACO REACH / GPDC financial results (PY2021–2023): load and check.

CMS publishes one "ACO REACH Financial and Quality Results" file per performance year.
The bundled file (``simsav/data/aco_reach``, provenance in its ``README.md``) stacks
PY2021–2023 with the units of the extract it comes from: rates in percent (``sav_rate``,
``discount``, ``retention_withhold``), the quality score on 0–100, money in dollars.
:func:`load_reach` reads it (or a file of the same layout), checks the columns the
replication needs, and adds the fractions and the health-equity adjustment
(:data:`ADDED`). :func:`simsav.analysis.replicate_reach.replicate_reach` recomputes each
ACO-year's shared savings from the settlement rules.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ADDED", "REQUIRED", "load_reach", "printed_precision"]

_BUNDLED = ("data", "aco_reach", "reach_performance_PY2021_2023.csv")

#: Columns the replication reads.
REQUIRED: tuple[str, ...] = (
    "aco_id", "perf_year", "risk_arrangement", "discount", "retention_withhold",
    "qual_scr", "final_benchmark", "unadj_benchmark", "tot_cost_care", "tot_cost_care_net",
    "gross_savings", "shared_savings", "shared_savings_seq", "heba_up_amt", "heba_down_amt",
    "bene_cnt", "sav_rate",
)

#: Columns :func:`load_reach` adds: ``option`` ("global"/"professional"), ``quality``
#: (0–1), ``discount_rate`` and ``retention_rate`` (fractions) and ``heba`` (the
#: health-equity benchmark adjustment in dollars, ``HEBA_UP_AMT + HEBA_DOWN_AMT``, 0
#: before PY2023).
ADDED: tuple[str, ...] = ("option", "quality", "discount_rate", "retention_rate", "heba")


def load_reach(source: str | Path | None = None) -> pd.DataFrame:
    """Read a REACH results file (default: the bundled PY2021–2023 file).

    Parameters
    ----------
    source : str or Path, optional
        A CSV with the bundled file's columns (:data:`REQUIRED`).

    Returns
    -------
    pandas.DataFrame
        One row per ACO-year, the file's columns plus :data:`ADDED`.

    Raises
    ------
    ValueError
        For a file without the columns, or with a risk arrangement other than Global or
        Professional, naming what is wrong.

    Examples
    --------
    >>> d = load_reach()
    >>> len(d), sorted(d["perf_year"].unique().tolist())
    (284, [2021, 2022, 2023])
    """
    if source is None:
        with resources.files("simsav").joinpath(*_BUNDLED).open("rb") as f:
            d = pd.read_csv(f)
    else:
        try:
            d = pd.read_csv(source)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise ValueError(f"{source}: not a readable CSV ({e})") from None
    missing = [c for c in REQUIRED if c not in d.columns]
    if missing:
        raise ValueError(f"{source or 'file'}: not a REACH results file; missing columns "
                         f"{', '.join(missing)}")
    option = d["risk_arrangement"].astype(str).str.strip().str.lower()
    bad = sorted(set(option) - {"global", "professional"})
    if bad:
        raise ValueError(f"risk_arrangement: expected Global or Professional, got {bad[0]!r}")
    d = d.copy()
    d["option"] = option
    d["perf_year"] = d["perf_year"].astype(int)
    d["quality"] = d["qual_scr"].astype(float) / 100.0
    d["discount_rate"] = d["discount"].astype(float) / 100.0
    d["retention_rate"] = d["retention_withhold"].fillna(0.0).astype(float) / 100.0
    d["heba"] = d["heba_up_amt"].fillna(0.0) + d["heba_down_amt"].fillna(0.0)
    return d


def printed_precision(x: Any, *, from_digits: bool = False) -> Any:
    """Half the last printed unit of each value: the rounding the file carries.

    Money is printed to the cent (half a cent: 0.005). The PY2022 file prints fewer
    digits for large amounts (9 or 10 significant: dimes or whole dollars from $100M);
    with ``from_digits`` the unit is read from each value's own decimals (at most two),
    so a value printed as ``304368558.0`` carries ±$0.50.

    Examples
    --------
    >>> printed_precision(np.array([304368558.0, 72697183.4, 6623366.29]),
    ...                   from_digits=True).tolist()
    [0.5, 0.05, 0.005]
    """
    a = np.abs(np.asarray(x, dtype=np.float64))
    if not from_digits:
        return np.full(a.shape, 0.005)
    decimals = np.full(a.shape, 2)
    for k in (1, 0):
        decimals = np.where(np.abs(np.round(a, k) - a) < 1e-6, k, decimals)
    return 0.5 * 10.0 ** (-decimals.astype(np.float64))
