"""CMS MSSP performance-year results files (public-use files): load and normalize.

CMS publishes one "Performance Year Financial and Quality Results" file per year of the
Medicare Shared Savings Program. Their layouts drift: long descriptive headers in 2013,
encrypted ``ACO_Num`` identifiers in 2014–2017, track flags or track codes, rates as
fractions, ``"7.17%"`` strings or plain percents, money with ``$`` and thousands commas.
:func:`load_puf` reads any of them into one normalized table (one row per ACO, snake_case
columns, rates as fractions, money in dollars); the column vocabulary of every layout is
in :mod:`simsav.io.puf_columns`. :func:`simsav.analysis.replicate.replicate_puf` recomputes
every ACO's result from the settlement rules and compares it with what CMS reported.

The bundled files (``simsav/data/puf``, provenance in its ``README.md``) cover PY2013–2022;
PY2019 and PY2020 come from a harmonized multi-year extract.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import math
import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from simsav.contracts.program_years import TWO_SIDED_TRACKS
from simsav.io.puf_columns import (
    CANON,
    CORE_COLUMNS,
    DATE_COLUMNS,
    FLAG_COLUMNS,
    PLACEHOLDERS,
    RATE_COLUMNS,
    REQUIRED,
    TEXT_COLUMNS,
    TRACK_FLAGS,
    header_key,
    snake_name,
    track_from_code,
)

__all__ = [
    "bundled_years",
    "first_agreement_starts",
    "load_crosswalk",
    "load_puf",
    "normalize_puf",
]

logger = logging.getLogger(__name__)

_DATA = ("data", "puf")
_HARMONIZED = "mssp_puf_harmonized_PY2019_2020.csv"
_BUNDLED: dict[int, str] = {
    2013: "mssp_puf_PY2013.csv",
    2014: "mssp_puf_PY2014.csv",
    2015: "mssp_puf_PY2015.csv",
    2016: "mssp_puf_PY2016.csv",
    2017: "mssp_puf_PY2017.csv",
    2018: "mssp_puf_PY2018.csv",
    2019: _HARMONIZED,
    2020: _HARMONIZED,
    2021: "mssp_puf_PY2021.csv",
    2022: "mssp_puf_PY2022.csv",
}
_CROSSWALK = "aco_id_crosswalk.csv"


# ----------------------------------------------------------------------------- reading
def _data_file(name: str) -> Any:
    return resources.files("simsav").joinpath(*_DATA, name)


def bundled_years() -> list[int]:
    """Performance years with a results file bundled in simsav.

    Examples
    --------
    >>> bundled_years()[:3], bundled_years()[-1]
    ([2013, 2014, 2015], 2022)
    """
    return sorted(_BUNDLED)


def _read_raw(src: str | os.PathLike[str] | IO[bytes]) -> pd.DataFrame:
    """The table as text; a row with more or fewer fields than the header is named."""
    data = src.read() if hasattr(src, "read") else Path(src).read_bytes()
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else str(data)
    except UnicodeDecodeError as err:
        raise ValueError(f"not a CMS MSSP results file: not UTF-8 text (byte {err.start})"
                         ) from None
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if not header:
        raise ValueError("not a CMS MSSP results file: it is empty")
    for row in rows:
        if row and len(row) != len(header):
            raise ValueError(f"not a CMS MSSP results file: line {rows.line_num} has "
                             f"{len(row)} fields where the header has {len(header)}")
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"not a CMS MSSP results file: cannot read it as CSV ({err})") from None
    raw.columns = [str(c).replace("\ufeff", "").strip() for c in raw.columns]
    return raw


def load_crosswalk() -> dict[str, str]:
    """CMS crosswalk from the encrypted 2013–2017 ``ACO_Num`` to the 2018+ ``ACO_ID``.

    Returns
    -------
    dict
        ``{aco_num: aco_id}``.

    Examples
    --------
    >>> load_crosswalk()["A67373"]
    'A1001'
    """
    with _data_file(_CROSSWALK).open("rb") as fh:
        cw = _read_raw(fh)
    keys = {header_key(c): c for c in cw.columns}
    num, aid = keys.get("aconum"), keys.get("acoid")
    if num is None or aid is None:  # pragma: no cover - bundled file
        raise ValueError("crosswalk: columns ACO_NUM and ACO_ID are required")
    return dict(zip(cw[num].str.strip(), cw[aid].str.strip(), strict=True))


def first_agreement_starts() -> dict[str, pd.Timestamp]:
    """Start date of each ACO's first agreement, from the CMS crosswalk (2012–2017 starters).

    Returns
    -------
    dict
        ``{aco_id: start date}``.

    Examples
    --------
    >>> str(first_agreement_starts()["A1001"].date())
    '2012-07-01'
    """
    with _data_file(_CROSSWALK).open("rb") as fh:
        cw = _read_raw(fh)
    keys = {header_key(c): c for c in cw.columns}
    aid, first = keys.get("acoid"), keys.get("acofirstagreementstartdate")
    if aid is None or first is None:  # pragma: no cover - bundled file
        raise ValueError("crosswalk: columns ACO_ID and ACO.First.Agreement.Start.Date required")
    dates = pd.to_datetime(cw[first].str.strip(), format="%m/%d/%y", errors="coerce")
    return {a: d for a, d in zip(cw[aid].str.strip(), dates, strict=True) if pd.notna(d)}


# ----------------------------------------------------------------------------- parsing
def _parse_number(col: pd.Series) -> tuple[pd.Series, bool] | None:
    """Numbers from CMS-formatted strings; ``None`` if the column is not numeric.

    Returns the values and whether any carried a ``%`` sign.
    """
    txt = col.astype("string").str.strip()
    missing = txt.isna() | txt.isin(PLACEHOLDERS)
    had_pct = bool(txt.str.endswith("%").fillna(False).any())
    t = txt.str.replace(r"[\s$,%]", "", regex=True)
    t = t.str.replace(r"^\((.*)\)$", r"-\1", regex=True)  # accounting negatives
    t = t.mask(missing)
    vals = pd.to_numeric(t, errors="coerce")
    if bool((vals.isna() & ~missing).any()):
        return None
    return vals.astype("float64"), had_pct


def _percent_divisor(values: pd.Series, name: str) -> float:
    """What to divide a rate column by to get fractions: 100 for percents, else 1.

    Shares and quality scores never exceed 1 as fractions, so a larger value means
    percents. MSR/MLR columns are judged by their typical (median non-zero) value, as a
    tiny ACO's MSR may exceed 25%: percents sit near 2–4, fractions near 0.02–0.04, and a
    median below the smallest election (0.5%) means a column divided by 100 twice (the
    harmonized file's PY2014–2015 rows), so the divisor is 0.01.
    """
    finite = values.abs().dropna()
    if name not in ("msr", "mlr"):
        return 100.0 if not finite.empty and float(finite.max()) > 1.0 else 1.0
    nonzero = finite[finite > 0]
    if nonzero.empty:
        return 1.0
    typical = float(nonzero.median())
    if typical > 0.25:
        return 100.0
    if typical < 0.005:
        return 0.01
    return 1.0


def _savings_rate_divisor(df: pd.DataFrame, rows: pd.Index) -> float | None:
    """Divisor of ``savings_rate`` from the identity rate = (B − E) / B, or None."""
    if not {"benchmark_minus_expenditure", "benchmark_total"} <= set(df.columns):
        return None
    implied = df.loc[rows, "benchmark_minus_expenditure"] / df.loc[rows, "benchmark_total"]
    given = df.loc[rows, "savings_rate"]
    ok = implied.abs().gt(0.002) & given.notna() & given.ne(0)
    if int(ok.sum()) < 1:
        return None
    ratio = float(np.nanmedian((given[ok] / implied[ok]).to_numpy(dtype=float)))
    if not math.isfinite(ratio) or ratio <= 0:
        return None
    return min((1.0, 100.0, 0.01), key=lambda d: abs(math.log(ratio / d)))


def _fix_2013_shift(raw: pd.DataFrame) -> pd.DataFrame:
    """Realign the PY2013 file, whose header lacks a "Total expenditures" column.

    In CMS's 2013 file every data column from the expenditure total to the last
    race count sits one place right of its header, and the header's "Total performance
    year spending per assigned beneficiary" has no data. The shift shows as a
    "Total savings/losses" column the size of the benchmark.
    """
    keys = [header_key(c) for c in raw.columns]
    try:
        i = keys.index("totalsavingslosses")
        j = keys.index("totalperformanceyearspendingperassignedbeneficiary")
        b = keys.index("totalbenchmarkexpenditures")
    except ValueError:
        return raw
    bench = _parse_number(raw.iloc[:, b])
    sav = _parse_number(raw.iloc[:, i])
    if bench is None or sav is None or not j > i:
        return raw
    ratio = (sav[0].abs() / bench[0]).median()
    if not ratio > 0.5:
        return raw
    cols = list(raw.columns)
    fixed = cols[:i] + ["Total expenditures ($)"] + cols[i:j] + cols[j + 1 :]
    logger.info("2013 layout: realigned %d shifted columns", j - i + 1)
    out = raw.copy()
    out.columns = fixed
    return out


def _flag_on(df: pd.DataFrame, name: str, label: str) -> pd.Series:
    col = df[name]
    if not pd.api.types.is_numeric_dtype(col):
        raise ValueError(f"{label}: track flag must be 0 or 1, got {col.dropna().iloc[0]!r}")
    return col.eq(1).fillna(False)


def _derive_track(columns: dict[str, str], df: pd.DataFrame) -> pd.Series:
    """Track per row from the ``Current_Track`` code or the track flag columns.

    ``columns`` maps each header key (see ``header_key``) to its column in ``df``.
    """
    track = pd.Series(pd.NA, index=df.index, dtype="object")
    if "current_track" in df.columns:
        codes = df["current_track"]
        mapped = codes.map(lambda v: track_from_code(v) if isinstance(v, str) else None)
        bad = codes.notna() & mapped.isna()
        if bool(bad.any()):
            raise ValueError(
                f"Current_Track: unknown track code(s) {sorted(set(codes[bad]))}; expected "
                "EN, A–E, 1, 1+, 2 or 3"
            )
        track = mapped.astype("object").where(mapped.notna(), pd.NA)
    flags = [(k, t) for k, t in TRACK_FLAGS.items() if k in columns]
    if any(k.startswith("current") for k, _ in flags):
        flags = [(k, t) for k, t in flags if k.startswith("current")]
    for k, t in flags:
        track = track.mask(track.isna() & _flag_on(df, columns[k], k), t)
    if "track2_flag" in df.columns:  # 2013 "Track 2 ACO"
        on = _flag_on(df, "track2_flag", "Track 2 ACO")
        track = track.mask(track.isna(), pd.Series(np.where(on, "track2", "track1"), df.index))
    if not flags and "current_track" not in df.columns and "track2_flag" not in df.columns:
        raise ValueError(
            "not a CMS MSSP results file: missing track columns (Current_Track, or the flags "
            "Current_Track_1/2/3/1_Plus, Current_BASIC_A..E, Current_ENHANCED, or Track1/Track2)"
        )
    return track


def _year_from_name(name: str) -> int | None:
    m = re.search(r"PY[_\s-]?(20\d\d)", name, flags=re.IGNORECASE)
    if m is None:
        m = re.search(r"(?<!\d)(20[1-9]\d)(?!\d)", name)
    return int(m.group(1)) if m else None


# ----------------------------------------------------------------------------- normalize
def normalize_puf(
    raw: pd.DataFrame,
    *,
    performance_year: int | None = None,
    crosswalk: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Normalize a CMS results table read as text: what :func:`load_puf` returns.

    Parameters
    ----------
    raw : pandas.DataFrame
        A CMS "Performance Year Financial and Quality Results" table as read from its CSV,
        every cell a string (blank cells ``""``), headers as CMS wrote them.
    performance_year : int, optional
        The table's performance year when it has no year column; for a multi-year table,
        keep only that year.
    crosswalk : mapping, optional
        ``ACO_Num -> ACO_ID`` for 2013–2017 files; default the bundled CMS crosswalk.

    Returns
    -------
    pandas.DataFrame
        As for :func:`load_puf`.
    """
    raw = _fix_2013_shift(raw)
    df, columns = _rename_columns(raw)
    _check_required(df)
    _check_numbers(df, raw)
    df, pct_cols = _parse_values(df)
    df = _select_year(df, performance_year)
    _rates_to_fractions(df, pct_cols)
    _fill_2013_results(df)
    _fill_aco_id(df, crosswalk)
    _derive_sidedness(df, columns)
    _derive_flags(df)
    for name in CORE_COLUMNS:
        if name not in df.columns:
            df[name] = np.nan
    rest = [c for c in df.columns if c not in CORE_COLUMNS]
    _check_duplicates(df)
    return df[list(CORE_COLUMNS) + rest].reset_index(drop=True)


def _check_numbers(df: pd.DataFrame, raw: pd.DataFrame) -> None:
    """Every cell of the columns the rules read is a number or left blank: else say where."""
    for name in REQUIRED:
        if name not in df.columns or name == "quality_score":
            continue
        col = df[name]
        if _parse_number(col) is not None:
            continue
        text = col.astype("string").str.strip()
        blank = text.isna() | text.isin(PLACEHOLDERS)
        cleaned = text.str.replace(r"[\s$,%]", "", regex=True).str.replace(
            r"^\((.*)\)$", r"-\1", regex=True)
        bad = ~blank & pd.to_numeric(cleaned, errors="coerce").isna()
        i = int(np.flatnonzero(bad.to_numpy())[0])
        header = raw.columns[list(df.columns).index(name)]
        raise ValueError(f"line {i + 2}, column {header}: {str(col.iloc[i])!r} is not a number")


def _check_duplicates(df: pd.DataFrame) -> None:
    """One row per ACO and year: a repeated ACO is an error naming it."""
    ids = df["aco_id"].astype("string").fillna(df["aco_num"].astype("string"))
    dup = ids.notna() & pd.DataFrame({"id": ids, "y": df["performance_year"]}).duplicated(
        keep=False)
    if bool(dup.any()):
        first = ids[dup].iloc[0]
        year = int(df.loc[dup, "performance_year"].iloc[0])
        rows = [str(i + 2) for i in np.flatnonzero((ids == first).to_numpy())]
        raise ValueError(f"ACO {first} appears {len(rows)} times for {year} (lines "
                         f"{', '.join(rows)}); give one row per ACO and year")


def _rename_columns(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Normalized column names, and each header key (``header_key``) -> its column name."""
    columns: dict[str, str] = {}  # header key -> normalized column name
    names: list[str] = []
    for col in raw.columns:
        k = header_key(col)
        name = CANON.get(k, snake_name(col))
        if name in names:  # a duplicate meaning: keep both, suffix the later one
            name = f"{snake_name(col)}_{len(names)}"
        columns.setdefault(k, name)
        names.append(name)
    df = raw.copy()
    df.columns = names
    return df, columns


def _check_required(df: pd.DataFrame) -> None:
    missing = [cms for norm, cms in REQUIRED.items() if norm not in df.columns]
    if "EarnSaveLoss" in missing and "shared_savings" in df.columns:
        missing.remove("EarnSaveLoss")  # 2013: shared savings / shared losses columns
    if not {"aco_id", "aco_num"} & set(df.columns):
        missing.insert(0, "ACO_ID (or ACO_Num)")
    if missing:
        raise ValueError(f"not a CMS MSSP results file: missing column(s) {', '.join(missing)}")


def _parse_values(df: pd.DataFrame) -> tuple[pd.DataFrame, set[str]]:
    """Text, dates and numbers, column by column, framed once; and the ``"%"`` columns.

    ``quality_p4r`` marks the quality scores CMS wrote as "P4R" (read as 1).
    """
    pct_cols: set[str] = set()
    p4r = pd.Series(False, index=df.index)
    values: dict[str, pd.Series] = {}
    for name in df.columns:
        col = df[name]
        text = col.astype("string").str.strip().mask(lambda s: s.isin(PLACEHOLDERS))
        if name in DATE_COLUMNS:
            values[name] = pd.to_datetime(text, format="mixed", errors="coerce")
            continue
        if name in TEXT_COLUMNS:
            values[name] = text
            continue
        if name == "quality_score":
            p4r = col.str.strip().str.upper().eq("P4R")
            col = col.mask(p4r, "1")
        parsed = _parse_number(col)
        if parsed is None:
            values[name] = text
            continue
        values[name] = parsed[0]
        if parsed[1]:
            pct_cols.add(name)
    values["quality_p4r"] = p4r
    return pd.DataFrame(values, index=df.index), pct_cols


def _select_year(df: pd.DataFrame, performance_year: int | None) -> pd.DataFrame:
    """The rows of ``performance_year`` (or all rows, given that year); years as int64."""
    if "performance_year" not in df.columns or df["performance_year"].isna().all():
        if performance_year is None:
            raise ValueError(
                "performance_year: the file has no year column and none was given; pass "
                "performance_year="
            )
        df["performance_year"] = float(performance_year)
    elif performance_year is not None:
        df = df[df["performance_year"] == performance_year].copy()
        if df.empty:
            raise ValueError(f"performance_year: no rows for {performance_year} in the file")
    if df["performance_year"].isna().any():
        raise ValueError("performance_year: missing for some rows")
    df["performance_year"] = df["performance_year"].astype("int64")
    return df


def _rates_to_fractions(df: pd.DataFrame, pct_cols: set[str]) -> None:
    """Rate columns to fractions, per performance year (a multi-year file may mix units).

    Other columns written with ``%`` signs (``pct_cols``) are explicit percents.
    """
    groups = df.groupby("performance_year").groups
    for name in RATE_COLUMNS:
        if name not in df.columns or not pd.api.types.is_float_dtype(df[name]):
            continue
        for rows in groups.values():
            divisor = _savings_rate_divisor(df, rows) if name == "savings_rate" else None
            if divisor is None:
                divisor = _percent_divisor(df.loc[rows, name], name)
            if divisor != 1.0:  # divide, so that "3.36" gives exactly 0.0336
                df.loc[rows, name] = df.loc[rows, name] / divisor
    for name in pct_cols - set(RATE_COLUMNS):
        df[name] = df[name] / 100.0  # other "%" strings: explicit percents
    if "mlr" in df.columns:
        df["mlr"] = df["mlr"].abs()


def _fill_2013_results(df: pd.DataFrame) -> None:
    """2013: earned from the shared savings / shared losses columns; rate from the totals."""
    if "earned" not in df.columns:
        ss = df["shared_savings"].fillna(0.0)
        sl = df["shared_losses"].fillna(0.0) if "shared_losses" in df.columns else 0.0
        df["earned"] = np.where(ss > 0, ss, -np.abs(sl)) + 0.0  # + 0.0: no negative zeros
    implied = (df["benchmark_total"] - df["expenditure_total"]) / df["benchmark_total"]
    if "savings_rate" not in df.columns:  # 2013: the identity rate = (B − E) / B
        df["savings_rate"] = implied
    elif pd.api.types.is_float_dtype(df["savings_rate"]):
        df["savings_rate"] = df["savings_rate"].fillna(implied)


def _fill_aco_id(df: pd.DataFrame, crosswalk: Mapping[str, str] | None) -> None:
    """``aco_id`` from the 2013–2017 encrypted ``ACO_Num`` where the file lacks it."""
    if "aco_id" not in df.columns:
        df["aco_id"] = pd.Series(pd.NA, index=df.index, dtype="string")
    if "aco_num" in df.columns:
        cw = load_crosswalk() if crosswalk is None else crosswalk
        from_num = df["aco_num"].map(lambda v: cw.get(v) if isinstance(v, str) else None)
        df["aco_id"] = df["aco_id"].fillna(from_num.astype("string"))


def _derive_sidedness(df: pd.DataFrame, columns: dict[str, str]) -> None:
    """``track`` and ``two_sided`` (from ``Risk_Model`` where the file has it)."""
    df["track"] = _derive_track(columns, df).astype("string")
    unknown = df["track"].isna()
    if bool(unknown.any()):  # e.g. the harmonized file's PY2013-2015 rows carry no flags
        logger.warning("track: no track flag set for %d row(s)", int(unknown.sum()))
    two = pd.Series(df["track"].isin(TWO_SIDED_TRACKS), dtype="boolean").mask(unknown)
    if "risk_model" in df.columns:
        rm = df["risk_model"].str.lower().str.replace(r"[^a-z]", "", regex=True)
        two = pd.Series(rm.eq("twosided"), dtype="boolean").fillna(two)
    df["two_sided"] = two.astype(bool) if not bool(two.isna().any()) else two


def _derive_flags(df: pd.DataFrame) -> None:
    """0/1 flags to nullable booleans; the agreement start date; mid-year termination."""
    for name in FLAG_COLUMNS:
        if name in df.columns and pd.api.types.is_float_dtype(df[name]):
            vals = df[name]
            if bool(vals.dropna().isin([0.0, 1.0]).all()):
                df[name] = vals.map(lambda v: pd.NA if pd.isna(v) else bool(v)).astype("boolean")
    if "current_start_date" not in df.columns and "start_date" in df.columns:
        df["current_start_date"] = df["start_date"]
    term = pd.Series(False, index=df.index)
    for name in ("impact_mid_year_termination", "prorate_shared_losses"):
        if name in df.columns and pd.api.types.is_float_dtype(df[name]):
            term |= df[name].fillna(0.0).ne(0.0)
    df["mid_year_termination"] = term.to_numpy()


@functools.cache
def _load_bundled(year: int) -> pd.DataFrame:
    with _data_file(_BUNDLED[year]).open("rb") as fh:
        raw = _read_raw(fh)
    return normalize_puf(raw, performance_year=year, crosswalk=None)


def load_puf(
    source: int | str | os.PathLike[str] | IO[bytes],
    *,
    performance_year: int | None = None,
    crosswalk: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Load a CMS MSSP performance-year results file into one normalized table.

    Parameters
    ----------
    source : int, path or binary file
        A performance year with a bundled file (see :func:`bundled_years`), or a CMS
        "Performance Year Financial and Quality Results" CSV in any layout from 2013 on.
    performance_year : int, optional
        The file's performance year when it has no year column and its name shows none
        (``PY2022`` or a ``20xx`` in the file name is used otherwise). For a multi-year
        file, keep only that year.
    crosswalk : mapping, optional
        ``ACO_Num -> ACO_ID`` for 2013–2017 files; default the bundled CMS crosswalk.

    Returns
    -------
    pandas.DataFrame
        One row per ACO (and year). Normalized columns first: ``aco_id``, ``aco_num``,
        ``aco_name``, ``performance_year``, ``track`` (one of
        :data:`simsav.contracts.TRACKS`),
        ``two_sided``, ``n_ab`` (assigned beneficiaries), ``benchmark_total``
        (ABtotBnchmk), ``expenditure_total`` (ABtotExp), ``benchmark_minus_expenditure``
        (BnchmkMinExp), ``savings_rate``, ``msr`` (MinSavPerc) and ``mlr`` (fractions),
        ``gross_savings`` (GenSaveLoss), ``euc_adjustment`` (DisAdj), ``earned``
        (EarnSaveLoss, negative = losses owed), ``quality_score`` (0–1; 1 where CMS wrote
        "P4R"), ``quality_p4r``, ``met_qps``, ``met_alt_qps``, ``final_share_rate``,
        ``final_loss_rate``, ``agreement_period_num``, ``current_start_date``,
        ``rev_exp_cat``, ``mid_year_termination``. Every other column follows, its
        name lower-cased with ``_`` for other characters (``Per_Capita_Exp_ALL_ESRD_BY1``
        becomes ``per_capita_exp_all_esrd_by1``), a few spelled out: ``recvd_30p``,
        ``met_30pctl``, ``met_first_year``, ``dis_aff_qual``, ``adv_pay_recoup``,
        ``impact_mid_year_termination``. Rates are fractions, as are other columns written
        as ``"%"`` strings; money is in dollars; 0/1 flags are nullable booleans; dates are
        timestamps; core columns missing from a year's file are NaN.

    Raises
    ------
    ValueError
        If the file is not a CMS results file (the message names the missing columns),
        a track code is unknown, or the performance year cannot be determined.

    Examples
    --------
    >>> df = load_puf(2022)
    >>> row = df.set_index("aco_id").loc["A1540"]
    >>> row["track"], int(row["n_ab"]), float(row["msr"]), float(row["earned"])
    ('basic_b', 7207, 0.0336, 2883146.0)
    """
    if isinstance(source, bool):
        raise ValueError(f"source: expected a year or a path, got {source!r}")
    if isinstance(source, int | np.integer):
        year = int(source)
        if year not in _BUNDLED:
            raise ValueError(
                f"source: no bundled results file for performance year {year}; bundled: "
                f"{bundled_years()}; pass a path to a CMS results CSV instead"
            )
        if performance_year is not None and performance_year != year:
            raise ValueError(f"performance_year: {performance_year} differs from source {year}")
        if crosswalk is not None:
            with _data_file(_BUNDLED[year]).open("rb") as fh:
                raw = _read_raw(fh)
            return normalize_puf(raw, performance_year=year, crosswalk=crosswalk)
        return _load_bundled(year).copy()
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"source: no such file {str(path)!r}")
        raw = _read_raw(path)
        year_hint = performance_year
        if year_hint is None and not any(header_key(c) in ("year", "performanceyear") for c in raw):
            year_hint = _year_from_name(path.name)
        return normalize_puf(raw, performance_year=year_hint, crosswalk=crosswalk)
    raw = _read_raw(source)
    return normalize_puf(raw, performance_year=performance_year, crosswalk=crosswalk)
