"""The ACO-year panel of the MSSP public-use files that calibration reads.

:func:`load_panel` reads performance years or CMS results files (:func:`simsav.io.puf.load_puf`)
into one row per ACO-year with its size band and its deviation from the year-and-band
mean; :func:`year_pairs` pairs the years of each ACO, flagging pairs within one agreement.
The cluster bootstrap over ACOs (an ACO recurs across years) works on per-ACO sums by band
(:class:`ClusterSums`, :func:`poisson_weights`, :func:`ratio_boot`). Used by
:mod:`simsav.analysis.moments`, :mod:`simsav.analysis.calibrate` and
:mod:`simsav.analysis.program_check`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simsav.io.puf import load_puf

__all__ = [
    "BAND_EDGES",
    "CALIBRATION_YEARS",
    "ClusterSums",
    "band_labels",
    "excess_kurtosis",
    "load_panel",
    "poisson_weights",
    "ratio_boot",
    "robust_sd",
    "year_pairs",
]

logger = logging.getLogger(__name__)

#: Upper edges of the size bands (assigned beneficiaries); the last band is open.
BAND_EDGES: tuple[int, ...] = (10_000, 15_000, 25_000, 50_000)
#: Performance years the ACO-level terms are fitted on by default.
CALIBRATION_YEARS: tuple[int, ...] = tuple(range(2014, 2023))


def band_labels(edges: Sequence[int] = BAND_EDGES) -> list[str]:
    """Labels of the size bands cut at ``edges``.

    Parameters
    ----------
    edges : sequence of int
        Upper band edges in assigned beneficiaries, increasing; the last band is open.

    Returns
    -------
    list of str
        One label per band (``len(edges) + 1``).

    Examples
    --------
    >>> band_labels()
    ['<10k', '10k-15k', '15k-25k', '25k-50k', '>=50k']
    """
    def k(x: int) -> str:
        return f"{x // 1000}k" if x % 1000 == 0 else f"{x:,}"

    e = list(edges)
    if not e or e != sorted(set(e)) or e[0] <= 0:
        raise ValueError(f"bands: edges must be positive and increasing, got {e}")
    mids = [f"{k(a)}-{k(b)}" for a, b in zip(e[:-1], e[1:], strict=True)]
    return [f"<{k(e[0])}", *mids, f">={k(e[-1])}"]


def _band_index(n: np.ndarray, edges: Sequence[int]) -> np.ndarray:
    return np.searchsorted(np.asarray(edges, dtype=float), n, side="right")


def _sources(years_or_files: Any) -> list[int | Path | tuple[Path, int]]:
    """Years (ints or digit strings), paths, and (path, year) pairs, in order, no repeats."""
    if isinstance(years_or_files, str | os.PathLike | int | np.integer):
        items: Iterable[Any] = [years_or_files]
    else:
        items = years_or_files
    out: list[int | Path | tuple[Path, int]] = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"years_or_files: expected a year or a path, got {item!r}")
        src: int | Path | tuple[Path, int]
        if (isinstance(item, tuple) and len(item) == 2
                and isinstance(item[0], str | os.PathLike)
                and isinstance(item[1], int | np.integer) and not isinstance(item[1], bool)):
            src = (Path(item[0]), int(item[1]))
        elif isinstance(item, int | np.integer):
            src = int(item)
        elif isinstance(item, str) and item.strip().isdigit() and not Path(item).is_file():
            src = int(item.strip())
        elif isinstance(item, str | os.PathLike):
            src = Path(item)
        else:
            raise ValueError(f"years_or_files: expected a year or a path, got {item!r}")
        if src not in out:
            out.append(src)
    if not out:
        raise ValueError("years_or_files: give at least one year or file")
    return out


_PANEL_COLUMNS = (
    "aco_id",
    "aco_num",
    "performance_year",
    "n_ab",
    "savings_rate",
    "earned",
    "two_sided",
    "msr",
    "quality_score",
    "quality_p4r",
    "met_qps",
    "current_start_date",
    "benchmark_total",
)


def load_panel(years_or_files: Any, edges: Sequence[int]) -> pd.DataFrame:
    """One row per ACO-year with what the moments need, and its size band.

    Parameters
    ----------
    years_or_files : int, str, path or iterable of them
        Bundled performance years (``2018`` or ``"2018"``) and/or paths to CMS results
        CSVs, or ``(path, year)`` pairs for files whose year neither a column nor the name
        shows.
    edges : sequence of int
        Upper band edges in assigned beneficiaries.

    Returns
    -------
    pandas.DataFrame
        The PUF columns the moments read (``aco_id``: ``ACO_Num`` or ``row<i>`` where a
        row has no ``ACO_ID``), and ``s`` (savings rate), ``n`` (assigned
        beneficiaries), ``band`` (index of the size band), ``two`` (two-sided), ``earn``
        (``EarnSaveLoss > 0``), ``under`` (``s > 0``), ``r`` (deviation from the
        year-and-band mean) with ``dof`` (its share of the cell's degrees of freedom),
        and ``r_year`` and ``dof_year``, the same within the year alone.
    """
    frames = []
    for src in _sources(years_or_files):
        df = load_puf(src[0], performance_year=src[1]) if isinstance(src, tuple) else load_puf(src)
        frames.append(df.loc[:, list(_PANEL_COLUMNS)].copy())
    panel = pd.concat(frames, ignore_index=True)
    # an ACO without ACO_ID (not in the crosswalk) keeps its encrypted ACO_Num, or its row
    ids = panel["aco_id"].astype("string").fillna(panel["aco_num"].astype("string"))
    rows = pd.Series([f"row{i}" for i in range(len(panel))], index=panel.index, dtype="string")
    panel["aco_id"] = ids.fillna(rows)
    ok = panel["savings_rate"].notna() & panel["n_ab"].gt(0) & panel["earned"].notna()
    if int((~ok).sum()):
        logger.info("dropped %d ACO-year(s) without savings rate or N_AB", int((~ok).sum()))
    panel = panel[ok]
    dup = panel.duplicated(["aco_id", "performance_year"])
    if bool(dup.any()):
        logger.warning("dropped %d duplicated ACO-year(s)", int(dup.sum()))
        panel = panel[~dup]
    if panel.empty:
        raise ValueError("years_or_files: no ACO-years with a savings rate")
    panel = panel.reset_index(drop=True)
    panel["performance_year"] = panel["performance_year"].astype(int)
    panel["s"] = panel["savings_rate"].astype(float)
    panel["n"] = panel["n_ab"].astype(float)
    panel["band"] = _band_index(panel["n"].to_numpy(), edges)
    panel["two"] = panel["two_sided"].astype("boolean").fillna(False).astype(bool)
    panel["earn"] = panel["earned"].astype(float) > 0
    panel["under"] = panel["s"] > 0
    cell = panel.groupby(["performance_year", "band"])["s"]
    size = cell.transform("size").astype(float)
    panel["r"] = panel["s"] - cell.transform("mean")  # deviation from the cell mean
    panel["dof"] = (size - 1.0) / size  # Σ dof over a cell = n_c − 1
    panel["r_year"] = panel["s"] - panel.groupby("performance_year")["s"].transform("mean")
    ysize = panel.groupby("performance_year")["s"].transform("size").astype(float)
    panel["dof_year"] = (ysize - 1.0) / ysize
    return panel


def year_pairs(panel: pd.DataFrame, edges: Sequence[int]) -> pd.DataFrame:
    """Every pair of years of one ACO (both orders once: t < t'), with agreement flags.

    Columns of both years (the second's suffixed ``_2``), ``lag`` in years,
    ``same_agreement`` (same agreement start date), ``prod`` (product of the two
    deviations ``r``), ``n_pair`` (geometric mean size), ``h = 1 / n_pair`` and its
    ``band``.
    """
    cols = ["aco_id", "performance_year", "n", "r", "current_start_date"]
    a = panel.loc[:, cols]
    m = a.merge(a, on="aco_id", suffixes=("", "_2"))
    m = m[m["performance_year"] < m["performance_year_2"]].copy()
    m["lag"] = m["performance_year_2"] - m["performance_year"]
    same = m["current_start_date"].eq(m["current_start_date_2"])
    m["same_agreement"] = same.fillna(False).to_numpy(dtype=bool)
    m["prod"] = m["r"] * m["r_2"]
    m["n_pair"] = np.sqrt(m["n"] * m["n_2"])
    m["h"] = 1.0 / m["n_pair"]
    m["band"] = _band_index(m["n_pair"].to_numpy(), edges)
    return m.reset_index(drop=True)


def robust_sd(x: np.ndarray) -> float:
    """Robust SD, IQR / 1.349 (NaN below 4 values)."""
    if x.size < 4:
        return float("nan")
    q1, q3 = np.quantile(x, [0.25, 0.75])
    return float((q3 - q1) / 1.349)


def excess_kurtosis(x: np.ndarray) -> float:
    """Excess kurtosis ``m4 / m2² − 3`` (NaN below 4 values or at zero variance)."""
    if x.size < 4:
        return float("nan")
    d = x - x.mean()
    v = float(np.mean(d**2))
    return float(np.mean(d**4) / v**2 - 3.0) if v > 0 else float("nan")


# ----------------------------------------------------------------------------- bootstrap
class ClusterSums:
    """Per-ACO sums of a few quantities by band, for a Poisson cluster bootstrap."""

    def __init__(self, codes: np.ndarray, n_clusters: int, n_bands: int):
        self.codes = codes
        self.J = n_clusters
        self.B = n_bands

    def sums(self, band: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``(J, B + 1)`` sums of ``values``; the last column is the total over bands."""
        out = np.zeros((self.J, self.B + 1))
        np.add.at(out, (self.codes, band), values)
        out[:, self.B] = out[:, : self.B].sum(axis=1)
        return out


def poisson_weights(n_boot: int, n_clusters: int, seed: int) -> np.ndarray:
    """Poisson(1) weights ``(n_boot, n_clusters)`` of a cluster bootstrap."""
    rng = np.random.default_rng(seed)
    return rng.poisson(1.0, size=(n_boot, n_clusters)).astype(float)


def ratio_boot(num: np.ndarray, den: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Bootstrap replicates ``(n_boot, B + 1)`` of ``Σ num / Σ den``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ num) / (w @ den)
