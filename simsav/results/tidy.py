"""The summary as one tidy long table: design, year, metric, value, se, low, high.

Reports and plots read the figures of :func:`simsav.summarize` through
:func:`summary_long`, so they do not depend on the shape of the summary Dataset: a summary
that already gives its tidy table (a ``to_frame()`` method, or
:func:`simsav.results.summary.summary_frame`) is used as it is; otherwise the Dataset's
variables are laid out long here. ``year`` is an int, or ``"agreement"`` for a figure of the
whole agreement. ``low``/``high`` are the summary's interval where it gives one, else the
normal interval ``value ± z·se`` at ``level`` (probabilities clipped to [0, 1]).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from simsav.results import summary as summary_module

__all__ = ["COLUMNS", "figure", "summary_long"]

#: The columns of :func:`summary_long`, in order.
COLUMNS = ["design", "year", "metric", "value", "se", "low", "high", "units", "description"]

#: Figures of the whole agreement in summaries that predate the ``agreement_`` prefix.
_AGREEMENT_NAMES = {
    "p_any_year_paid": "agreement_p_any_year_paid",
    "p_ahead_over_agreement": "agreement_p_ahead",
    "expected_total_paid": "agreement_expected_total_paid",
}

_COMPANIONS = ("se_", "low_", "high_")


def summary_long(summary: Any, *, level: float = 0.95) -> pd.DataFrame:
    """The summary's figures as one tidy long table (:data:`COLUMNS`).

    Parameters
    ----------
    summary : xarray.Dataset or pandas.DataFrame
        From :func:`simsav.summarize` (or its tidy table).
    level : float
        Level of the normal interval where the summary gives a standard error only.

    Returns
    -------
    pandas.DataFrame
        One row per design, year (int, or ``"agreement"``) and metric.

    Examples
    --------
    >>> import xarray as xr
    >>> s = xr.Dataset({"p_clear_msr": (("design", "year"), [[0.25]]),
    ...                 "se_p_clear_msr": (("design", "year"), [[0.01]])},
    ...                coords={"design": ["A"], "year": [1]}, attrs={"n_sims": 1875})
    >>> row = summary_long(s).iloc[0]
    >>> row["metric"], row["year"], float(row["value"]), round(float(row["low"]), 4)
    ('p_clear_msr', 1, 0.25, 0.2304)
    """
    if isinstance(summary, pd.DataFrame) and {"design", "metric", "value"} <= set(summary):
        return _normalize(summary)
    if hasattr(summary, "to_frame") and not isinstance(summary, xr.DataArray):
        return _normalize(summary.to_frame())
    frame = getattr(summary_module, "summary_frame", None)
    if frame is not None and any(str(k).startswith("low_") for k in summary.data_vars):
        return _normalize(frame(summary))
    return _from_dataset(summary, level)


def figure(table: pd.DataFrame, metric: str, design: str, year: int | str) -> pd.Series | None:
    """The row of ``metric`` for ``design`` and ``year`` in a tidy table, or None."""
    rows = table[(table["metric"] == metric) & (table["design"] == design)
                 & (table["year"].astype(str) == str(year))]
    return None if rows.empty else rows.iloc[0]


def _year(y: Any) -> int | str:
    s = str(y)
    return int(s) if s.lstrip("-").isdigit() else s


def _normalize(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in COLUMNS:
        if col not in out:
            out[col] = np.nan if col in ("se", "low", "high") else ""
    out["year"] = pd.Series([_year(y) for y in out["year"]], index=out.index, dtype=object)
    missing = out["units"].isna() | (out["units"].astype(str) == "")
    if missing.any():  # a table without units: probabilities and rates are "1", money "USD"
        out.loc[missing, "units"] = [_units_of(str(m)) for m in out.loc[missing, "metric"]]
    out["design"] = out["design"].astype(str)
    return out[COLUMNS].reset_index(drop=True)


def _units_of(metric: str) -> str:
    name = metric.removeprefix("agreement_")
    return "1" if name.startswith("p_") or "rate" in name else "USD"


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def _from_dataset(s: xr.Dataset, level: float) -> pd.DataFrame:
    z = _z(level)
    rows: list[list[Any]] = []
    names = [str(k) for k in s.data_vars if not str(k).startswith(_COMPANIONS)]
    for name in names:
        da = s[name]
        parts = {p: s[p + name] if p + name in s else None for p in _COMPANIONS}
        units = str(da.attrs.get("units", ""))
        desc = str(da.attrs.get("long_name", ""))
        if "quantile" in da.dims:
            for q in da["quantile"].values:
                sub = {k: (v.sel(quantile=q) if v is not None and "quantile" in v.dims else None)
                       for k, v in parts.items()}
                qname = f"{name.replace('_quantile', '')}_q{q * 100:g}".replace(".", "_")
                rows += _rows(s, da.sel(quantile=q), sub, qname, units,
                              f"{q:.0%} quantile of {desc.replace('quantiles of ', '')}", z)
            continue
        if "year" not in da.dims:
            name = _AGREEMENT_NAMES.get(name, name if name.startswith("agreement") else
                                        f"agreement_{name}")
        rows += _rows(s, da, parts, name, units, desc, z)
    return _normalize(pd.DataFrame(rows, columns=COLUMNS))


def _rows(s: xr.Dataset, da: xr.DataArray, parts: dict[str, Any], name: str, units: str,
          desc: str, z: float) -> list[list[Any]]:
    years: list[Any] = list(s["year"].values) if "year" in da.dims else ["agreement"]
    out = []
    for d in s["design"].values:
        for y in years:
            sel = {"design": d} if y == "agreement" else {"design": d, "year": y}
            value = float(da.sel(sel))
            se, low, high = (float(parts[p].sel(sel)) if parts[p] is not None else math.nan
                             for p in _COMPANIONS)
            if math.isnan(low) and not math.isnan(se):
                low, high = value - z * se, value + z * se
                if units == "1" and name.split("agreement_")[-1].startswith("p_"):
                    low, high = max(low, 0.0), min(high, 1.0)
            out.append([str(d), y if y == "agreement" else int(y), name, value, se, low,
                        high, units, desc])
    return out
