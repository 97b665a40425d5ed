"""CMS MSSP performance-year results files (public-use files): load, normalize, replicate.

CMS publishes one "Performance Year Financial and Quality Results" file per year of the
Medicare Shared Savings Program. Their layouts drift: long descriptive headers in 2013,
encrypted ``ACO_Num`` identifiers in 2014–2017, track flags or track codes, rates as
fractions, ``"7.17%"`` strings or plain percents, money with ``$`` and thousands commas.
:func:`load_puf` reads any of them into one normalized table (one row per ACO, snake_case
columns, rates as fractions, money in dollars), and :func:`replicate_puf` recomputes every
ACO's result from the settlement rules with :func:`simsav.settlement.rules.settle` and compares it
with what CMS reported.

The bundled files (``simsav/data/puf``, provenance in its ``README.md``) cover PY2013–2022;
PY2019 and PY2020 come from a harmonized multi-year extract.
"""

from __future__ import annotations

import functools
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

from simsav.contracts import Contract, get_preset
from simsav.contracts.msr import cms_msr
from simsav.settlement.rules import settle

__all__ = [
    "PHE_SHARE_OF_YEAR",
    "TRACKS",
    "TWO_SIDED_TRACKS",
    "bundled_years",
    "load_crosswalk",
    "load_puf",
    "puf_contract",
    "replicate_puf",
    "replicate_puf_table",
    "sequestration_rate",
]

logger = logging.getLogger(__name__)

#: Normalized track labels, in the order CMS introduced them.
TRACKS: tuple[str, ...] = (
    "track1",
    "track2",
    "track3",
    "track1plus",
    "basic_a",
    "basic_b",
    "basic_c",
    "basic_d",
    "basic_e",
    "enhanced",
)
#: Tracks in which the ACO shares losses.
TWO_SIDED_TRACKS: frozenset[str] = frozenset(
    {"track2", "track3", "track1plus", "basic_c", "basic_d", "basic_e", "enhanced"}
)

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

# ----------------------------------------------------------------------------- columns
# Key: a header lower-cased with everything but letters and digits removed, so that
# "Sav_rate", "Sav_Rate" and "sav_rate" meet. Value: the normalized column name.
_CANON: dict[str, str] = {
    "acoid": "aco_id",
    "aconum": "aco_num",
    "acoidentifier": "aco_num",  # 2013: the encrypted identifier
    "aconame": "aco_name",
    "year": "performance_year",
    "performanceyear": "performance_year",
    "nab": "n_ab",
    "totalnumberofassignedbeneficiaries": "n_ab",
    "savrate": "savings_rate",
    "minsavperc": "msr",
    "minimumsavingsrate": "msr",
    "minlossperc": "mlr",
    "minimumlossrate": "mlr",
    "bnchmkminexp": "benchmark_minus_expenditure",
    "totalsavingslosses": "benchmark_minus_expenditure",
    "gensaveloss": "gross_savings",
    "disadj": "euc_adjustment",
    "earnsaveloss": "earned",
    "sharedsavings": "shared_savings",  # 2013
    "sharedlosses": "shared_losses",  # 2013
    "qualscore": "quality_score",
    "qualityscore": "quality_score",
    "metqps": "met_qps",
    "metaltqps": "met_alt_qps",
    "met30pctl": "met_30pctl",
    "met40pctl": "met_40pctl",
    "metincentive": "met_incentive",
    "metfirstyear": "met_first_year",
    "recvd30p": "recvd_30p",
    "recvd40p": "recvd_40p",
    "recvdmean": "recvd_mean",
    "disaffqual": "dis_aff_qual",
    "finalsharerate": "final_share_rate",
    "finalsharingrate": "final_share_rate",
    "maxsharerate": "max_share_rate",
    "qualperfshare": "qual_perf_share",
    "qualityperformancesharingrate": "qual_perf_share",
    "finallossrate": "final_loss_rate",
    "abtotbnchmk": "benchmark_total",
    "totalbenchmarkexpenditures": "benchmark_total",
    "abtotexp": "expenditure_total",
    "totalexpenditures": "expenditure_total",
    "updatedbnchmk": "updated_benchmark",
    "histbnchmk": "historical_benchmark",
    "agreementperiodnum": "agreement_period_num",
    "agreetype": "agree_type",
    "currentstartdate": "current_start_date",
    "initialstartdate": "initial_start_date",
    "startdate": "start_date",
    "revexpcat": "rev_exp_cat",
    "revlosslimit": "rev_loss_limit",
    "riskmodel": "risk_model",
    "currenttrack": "current_track",
    "advpay": "adv_pay",
    "advpayamt": "adv_pay_amt",
    "advpayrecoup": "adv_pay_recoup",
    "impactmidyeartermination": "impact_mid_year_termination",
    "proratesharedlosses": "prorate_shared_losses",
    "reducedss": "reduced_ss",
    "track2aco": "track2_flag",  # 2013 "Track 2 ACO"
}

#: Rate columns normalized to fractions (see ``_percent_divisor``).
_RATE_COLUMNS: tuple[str, ...] = (
    "savings_rate",
    "msr",
    "mlr",
    "quality_score",
    "final_share_rate",
    "max_share_rate",
    "qual_perf_share",
    "final_loss_rate",
)

_FLAG_COLUMNS = (
    "met_qps",
    "met_alt_qps",
    "met_30pctl",
    "met_40pctl",
    "met_incentive",
    "met_first_year",
    "recvd_30p",
    "recvd_40p",
    "recvd_mean",
    "dis_aff_qual",
    "rev_loss_limit",
    "reduced_ss",
)

_TEXT_COLUMNS = frozenset(
    {"aco_id", "aco_num", "aco_name", "agree_type", "rev_exp_cat", "risk_model", "current_track"}
)
_DATE_COLUMNS = ("current_start_date", "initial_start_date", "start_date")

#: Track flag columns (key as in ``_CANON``) and the track each marks.
_TRACK_FLAGS: dict[str, str] = {
    "currenttrack1": "track1",
    "currenttrack1plus": "track1plus",
    "currenttrack2": "track2",
    "currenttrack3": "track3",
    "currentbasica": "basic_a",
    "currentbasicb": "basic_b",
    "currentbasicc": "basic_c",
    "currentbasicd": "basic_d",
    "currentbasice": "basic_e",
    "currentenhanced": "enhanced",
    "track1": "track1",  # 2014–2015
    "track2": "track2",
}

#: Core output columns, in order; the rest follow in file order.
_CORE = (
    "aco_id",
    "aco_num",
    "aco_name",
    "performance_year",
    "track",
    "two_sided",
    "n_ab",
    "benchmark_total",
    "expenditure_total",
    "benchmark_minus_expenditure",
    "savings_rate",
    "msr",
    "mlr",
    "gross_savings",
    "euc_adjustment",
    "earned",
    "quality_score",
    "quality_p4r",
    "met_qps",
    "met_alt_qps",
    "final_share_rate",
    "final_loss_rate",
    "agreement_period_num",
    "current_start_date",
    "rev_exp_cat",
    "mid_year_termination",
)

#: What a CMS results file must provide, normalized name -> CMS column(s) to name in errors.
_REQUIRED: dict[str, str] = {
    "n_ab": "N_AB",
    "benchmark_total": "ABtotBnchmk",
    "expenditure_total": "ABtotExp",
    "earned": "EarnSaveLoss",
    "msr": "MinSavPerc",
    "quality_score": "QualScore",
}

_PLACEHOLDERS = frozenset({"", "-", "*", "–", "—", ".", "NA", "N/A", "n/a", "NaN", "nan", "None"})


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _snake(name: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return s or "column"


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
    try:
        raw = pd.read_csv(src, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
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
    keys = {_key(c): c for c in cw.columns}
    num, aid = keys.get("aconum"), keys.get("acoid")
    if num is None or aid is None:  # pragma: no cover - bundled file
        raise ValueError("crosswalk: columns ACO_NUM and ACO_ID are required")
    return dict(zip(cw[num].str.strip(), cw[aid].str.strip(), strict=True))


# ----------------------------------------------------------------------------- parsing
def _parse_number(col: pd.Series) -> tuple[pd.Series, bool] | None:
    """Numbers from CMS-formatted strings; ``None`` if the column is not numeric.

    Returns the values and whether any carried a ``%`` sign.
    """
    txt = col.astype("string").str.strip()
    missing = txt.isna() | txt.isin(_PLACEHOLDERS)
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
    keys = [_key(c) for c in raw.columns]
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


def _track_from_code(code: str) -> str | None:
    c = re.sub(r"[^0-9a-z+]", "", code.lower())
    for prefix in ("basictracklevel", "basiclevel", "basic", "level", "track"):
        if c.startswith(prefix) and len(c) > len(prefix):
            c = c[len(prefix) :]
            break
    table = {
        "en": "enhanced",
        "enhanced": "enhanced",
        "e": "basic_e",
        "a": "basic_a",
        "b": "basic_b",
        "c": "basic_c",
        "d": "basic_d",
        "1": "track1",
        "1+": "track1plus",
        "1plus": "track1plus",
        "2": "track2",
        "3": "track3",
    }
    return table.get(c)


def _flag_on(df: pd.DataFrame, name: str, label: str) -> pd.Series:
    col = df[name]
    if not pd.api.types.is_numeric_dtype(col):
        raise ValueError(f"{label}: track flag must be 0 or 1, got {col.dropna().iloc[0]!r}")
    return col.eq(1).fillna(False)


def _derive_track(columns: dict[str, str], df: pd.DataFrame) -> pd.Series:
    """Track per row from the ``Current_Track`` code or the track flag columns.

    ``columns`` maps each header key (see ``_key``) to its column in ``df``.
    """
    track = pd.Series(pd.NA, index=df.index, dtype="object")
    if "current_track" in df.columns:
        codes = df["current_track"]
        mapped = codes.map(lambda v: _track_from_code(v) if isinstance(v, str) else None)
        bad = codes.notna() & mapped.isna()
        if bool(bad.any()):
            raise ValueError(
                f"Current_Track: unknown track code(s) {sorted(set(codes[bad]))}; expected "
                "EN, A–E, 1, 1+, 2 or 3"
            )
        track = mapped.astype("object").where(mapped.notna(), pd.NA)
    flags = [(k, t) for k, t in _TRACK_FLAGS.items() if k in columns]
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
def _normalize(
    raw: pd.DataFrame, *, performance_year: int | None, crosswalk: Mapping[str, str] | None
) -> pd.DataFrame:
    raw = _fix_2013_shift(raw)
    columns: dict[str, str] = {}  # header key -> normalized column name
    names: list[str] = []
    for col in raw.columns:
        k = _key(col)
        name = _CANON.get(k, _snake(col))
        if name in names:  # a duplicate meaning: keep both, suffix the later one
            name = f"{_snake(col)}_{len(names)}"
        columns.setdefault(k, name)
        names.append(name)
    df = raw.copy()
    df.columns = names

    missing = [cms for norm, cms in _REQUIRED.items() if norm not in df.columns]
    if "EarnSaveLoss" in missing and "shared_savings" in df.columns:
        missing.remove("EarnSaveLoss")  # 2013: shared savings / shared losses columns
    if not {"aco_id", "aco_num"} & set(df.columns):
        missing.insert(0, "ACO_ID (or ACO_Num)")
    if missing:
        raise ValueError(f"not a CMS MSSP results file: missing column(s) {', '.join(missing)}")

    # values: text, dates, numbers (built column by column, then framed once)
    pct_cols: set[str] = set()
    p4r = pd.Series(False, index=df.index)
    values: dict[str, pd.Series] = {}
    for name in df.columns:
        col = df[name]
        text = col.astype("string").str.strip().mask(lambda s: s.isin(_PLACEHOLDERS))
        if name in _DATE_COLUMNS:
            values[name] = pd.to_datetime(text, format="mixed", errors="coerce")
            continue
        if name in _TEXT_COLUMNS:
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
    df = pd.DataFrame(values, index=df.index)

    # performance year
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

    # rates to fractions, per performance year (a multi-year file may mix units)
    groups = df.groupby("performance_year").groups
    for name in _RATE_COLUMNS:
        if name not in df.columns or not pd.api.types.is_float_dtype(df[name]):
            continue
        for rows in groups.values():
            divisor = _savings_rate_divisor(df, rows) if name == "savings_rate" else None
            if divisor is None:
                divisor = _percent_divisor(df.loc[rows, name], name)
            if divisor != 1.0:  # divide, so that "3.36" gives exactly 0.0336
                df.loc[rows, name] = df.loc[rows, name] / divisor
    for name in pct_cols - set(_RATE_COLUMNS):
        df[name] = df[name] / 100.0  # other "%" strings: explicit percents
    if "mlr" in df.columns:
        df["mlr"] = df["mlr"].abs()

    # 2013: earned from the shared savings / shared losses columns; rate from the totals
    if "earned" not in df.columns:
        ss = df["shared_savings"].fillna(0.0)
        sl = df["shared_losses"].fillna(0.0) if "shared_losses" in df.columns else 0.0
        df["earned"] = np.where(ss > 0, ss, -np.abs(sl)) + 0.0  # + 0.0: no negative zeros
    implied = (df["benchmark_total"] - df["expenditure_total"]) / df["benchmark_total"]
    if "savings_rate" not in df.columns:  # 2013: the identity rate = (B − E) / B
        df["savings_rate"] = implied
    elif pd.api.types.is_float_dtype(df["savings_rate"]):
        df["savings_rate"] = df["savings_rate"].fillna(implied)

    # identifiers
    if "aco_id" not in df.columns:
        df["aco_id"] = pd.Series(pd.NA, index=df.index, dtype="string")
    if "aco_num" in df.columns:
        cw = load_crosswalk() if crosswalk is None else crosswalk
        from_num = df["aco_num"].map(lambda v: cw.get(v) if isinstance(v, str) else None)
        df["aco_id"] = df["aco_id"].fillna(from_num.astype("string"))

    # track, sidedness, flags, dates
    df["track"] = _derive_track(columns, df).astype("string")
    unknown = df["track"].isna()
    if bool(unknown.any()):  # e.g. the harmonized file's PY2013-2015 rows carry no flags
        logger.warning("track: no track flag set for %d row(s)", int(unknown.sum()))
    two = pd.Series(df["track"].isin(TWO_SIDED_TRACKS), dtype="boolean").mask(unknown)
    if "risk_model" in df.columns:
        rm = df["risk_model"].str.lower().str.replace(r"[^a-z]", "", regex=True)
        two = pd.Series(rm.eq("twosided"), dtype="boolean").fillna(two)
    df["two_sided"] = two.astype(bool) if not bool(two.isna().any()) else two
    for name in _FLAG_COLUMNS:
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

    for name in _CORE:
        if name not in df.columns:
            df[name] = np.nan
    rest = [c for c in df.columns if c not in _CORE]
    return df[list(_CORE) + rest].reset_index(drop=True)


@functools.cache
def _load_bundled(year: int) -> pd.DataFrame:
    with _data_file(_BUNDLED[year]).open("rb") as fh:
        raw = _read_raw(fh)
    return _normalize(raw, performance_year=year, crosswalk=None)


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
        ``aco_name``, ``performance_year``, ``track`` (one of :data:`TRACKS`),
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
            return _normalize(raw, performance_year=year, crosswalk=crosswalk)
        return _load_bundled(year).copy()
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"source: no such file {str(path)!r}")
        raw = _read_raw(path)
        year_hint = performance_year
        if year_hint is None and not any(_key(c) in ("year", "performanceyear") for c in raw):
            year_hint = _year_from_name(path.name)
        return _normalize(raw, performance_year=year_hint, crosswalk=crosswalk)
    raw = _read_raw(source)
    return _normalize(raw, performance_year=performance_year, crosswalk=crosswalk)


# ----------------------------------------------------------------------------- rules
#: Share of the performance year under the COVID-19 public health emergency, which CMS
#: treats as an extreme and uncontrollable circumstance for every county: shared losses
#: are reduced by this share (Table 3 rows [DD]–[FF] of CMS's settlement reports; PY2022:
#: 100% of beneficiaries, 100% of the year). The PHE ran from January 2020 to 11 May 2023.
PHE_SHARE_OF_YEAR: dict[int, float] = {2020: 1.0, 2021: 1.0, 2022: 1.0, 2023: 5.0 / 12.0}

#: Revenue-based loss limits (share of ACO participants' A+B FFS revenue) by track.
_REVENUE_LIMITED = frozenset({"track1plus", "basic_c", "basic_d", "basic_e"})

#: Agreements starting from this date may share below the MSR when the ACO is low
#: revenue, at half the rate (42 CFR 425.605(h)).
_LOW_REVENUE_FROM = pd.Timestamp("2024-01-01")


def sequestration_rate(performance_year: int) -> float:
    """Sequestration of shared savings payments for a performance year.

    2% under the Budget Control Act of 2011 (row [X] of CMS's settlement reports),
    except for payments made while the CARES Act (section 3709) and its extensions
    suspended it, 1 May 2020 – 31 March 2022: the PY2019 and PY2020 reconciliations.

    Examples
    --------
    >>> sequestration_rate(2018), sequestration_rate(2020), sequestration_rate(2022)
    (0.02, 0.0, 0.02)
    """
    return 0.0 if performance_year in (2019, 2020) else 0.02


def puf_contract(track: str, performance_year: int) -> Contract:
    """The contract that settles an ACO of ``track`` in ``performance_year``.

    Starts from the named preset and applies the year's rules: before PY2021 the final sharing rate
    is the maximum rate × quality score (42 CFR 425.502); from PY2021 the flat maximum
    when the quality performance standard is met (425.512); and the year's sequestration
    (:func:`sequestration_rate`).

    Parameters
    ----------
    track : str
        One of :data:`TRACKS`.
    performance_year : int
        The performance year.

    Returns
    -------
    Contract

    Examples
    --------
    >>> c = puf_contract("basic_b", 2020)
    >>> c.name, c.quality_method, c.sequestration
    ('mssp-basic-b', 'scaled', 0.0)
    """
    if track == "track1":
        c = get_preset("mssp-track1-2012")
    elif track == "track2":
        c = get_preset("mssp-track2-2012")
    elif track == "track3":
        c = get_preset("mssp-track3-2016")
    elif track == "track1plus":
        c = get_preset("mssp-track1plus-2018")
    elif track.startswith("basic_") and track[-1] in "abcde" and len(track) == 7:
        c = get_preset(f"mssp-basic-{track[-1]}")
    elif track == "enhanced":
        c = get_preset("mssp-enhanced")
    else:
        raise ValueError(f"track: unknown track {track!r}; expected one of {TRACKS}")
    terms: dict[str, Any] = {}
    if performance_year < 2021 and c.quality_method == "standard":
        terms["quality_method"] = "scaled"
    elif performance_year >= 2021 and c.quality_method == "scaled":
        # legacy tracks settled under the 2021+ quality rules: the flat maximum rate
        terms.update(quality_method="standard", quality_standard=None)
    seq = sequestration_rate(performance_year)
    if seq != c.sequestration:
        terms["sequestration"] = seq
    return c.with_terms(**terms) if terms else c


# ----------------------------------------------------------------------------- replicate
def _as_puf(source: Any, performance_year: int | None) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        if {"track", "performance_year", "n_ab", "earned"} <= set(source.columns):
            df = source
            if performance_year is not None:
                df = df[df["performance_year"] == performance_year]
        else:  # a raw CMS table read by the caller
            raw = source.astype("string").fillna("")
            df = _normalize(raw, performance_year=performance_year, crosswalk=None)
    else:
        df = load_puf(source, performance_year=performance_year)
    years = sorted(set(df["performance_year"].dropna().astype(int)))
    if len(years) != 1:
        raise ValueError(
            f"performance_year: replication needs one performance year, the data has {years}; "
            "pass performance_year="
        )
    return df.reset_index(drop=True)


def _decimals(x: float) -> int:
    """Decimal places ``x`` was written with (at most 7)."""
    for d in range(7):
        if abs(x * 10**d - round(x * 10**d)) < 1e-7:
            return d
    return 7


def _bool_array(col: pd.Series, default: np.ndarray) -> np.ndarray:
    vals = col.astype("boolean")
    return np.where(vals.isna().to_numpy(), default, vals.fillna(False).to_numpy(dtype=bool))


def _rule_inputs(df: pd.DataFrame, year: int) -> pd.DataFrame:
    """The settlement inputs of each ACO, as the rules take them."""
    q = df["quality_score"].to_numpy(dtype=float)
    start = pd.to_datetime(df["current_start_date"])
    # year of the agreement: a 2012 start's first performance year is 2013
    first_py = np.where(start.dt.year.eq(2012), 2013, start.dt.year.fillna(year))
    agreement_year = np.clip(year - first_py + 1, 1, None).astype(float)
    first_agreement = ~(df["agreement_period_num"].to_numpy(dtype=float) > 1)
    # pay-for-reporting: the first performance year of a first agreement scores full
    # quality for complete reporting (42 CFR 425.502(a)); PUFs leave the score blank
    p4r_fill = np.isnan(q) & (agreement_year == 1) & first_agreement
    q = np.where(p4r_fill, 1.0, q)
    low_revenue = (
        df["rev_exp_cat"].astype("string").str.lower().str.startswith("low").fillna(False)
        & (start >= _LOW_REVENUE_FROM).fillna(False)
    ).to_numpy(dtype=bool)
    out = pd.DataFrame(
        {
            "aco_id": _ids(df).to_numpy(),
            "track": df["track"].astype("string").fillna("").to_numpy(dtype=object),
            "n": df["n_ab"].to_numpy(dtype=float),
            "benchmark": df["benchmark_total"].to_numpy(dtype=float),
            "expenditure": df["expenditure_total"].to_numpy(dtype=float),
            "quality": q,
            "quality_filled_p4r": p4r_fill,
            "qps_met": _bool_array(df["met_qps"], np.where(np.isnan(q), False, q > 0)),
            "alt_qps_met": _bool_array(df["met_alt_qps"], np.zeros(len(df), bool)),
            "agreement_year": agreement_year,
            "low_revenue": low_revenue,
            "msr_reported": df["msr"].to_numpy(dtype=float),
            "euc_dollars": np.abs(df["euc_adjustment"].to_numpy(dtype=float)),
            "reported": df["earned"].to_numpy(dtype=float),
            "one_sided": ~df["two_sided"].astype("boolean").fillna(True).to_numpy(dtype=bool),
        }
    )
    out["valid"] = (
        out["track"].ne("")
        & out["n"].gt(0)
        & out["benchmark"].gt(0)
        & out["expenditure"].ge(0)
        & out["quality"].between(0.0, 1.0)
    )
    return out


def _ids(df: pd.DataFrame) -> pd.Series:
    ids = df["aco_id"].astype("string")
    if "aco_num" in df.columns:
        ids = ids.fillna(df["aco_num"].astype("string"))
    rows = pd.Series([f"row{i}" for i in range(len(df))], index=df.index, dtype="string")
    return ids.fillna(rows)


def _settle_track(x: pd.DataFrame, c: Contract, year: int, q_half: float) -> dict[str, Any]:
    """Settle the ACOs of one track; computed results and the brackets for explanations."""

    def run(quality: np.ndarray, euc: np.ndarray | float) -> Any:
        kw: dict[str, Any] = dict(
            benchmark=(x["benchmark"] / x["n"]).to_numpy(),
            expenditure=(x["expenditure"] / x["n"]).to_numpy(),
            n_beneficiaries=x["n"].to_numpy(),
            quality=np.clip(quality, 0.0, 1.0),
            agreement_year=x["agreement_year"].to_numpy(),
            euc_fraction=euc,
            low_revenue=x["low_revenue"].to_numpy(),
        )
        # before 2021, missing the quality standard makes the sharing rate 0 and the loss
        # rate the track's ceiling; from 2021 the alternative standard may apply
        kw["qps_met"] = x["qps_met"].to_numpy()
        kw["alt_qps_met"] = x["alt_qps_met"].to_numpy()
        if c.two_sided:  # the elected MSR/MLR, as CMS reports it
            msr = x["msr_reported"].to_numpy()
            elected = np.where(np.isnan(msr), cms_msr(x["n"].to_numpy()), msr)
            kw.update(msr=elected, mlr=elected)
        return settle(c, **kw)

    def net(s: Any) -> np.ndarray:
        return np.asarray(s.earned_savings - s.shared_losses)

    q = x["quality"].to_numpy()
    capped = run(q, 0.0).shared_losses
    # EUC share: the reported DisAdj over the capped losses, and at least the PHE's share
    # of the year (a lower ratio means CMS's cap was below ours: a revenue-based limit)
    ratio = np.divide(
        np.nan_to_num(x["euc_dollars"].to_numpy()),
        capped,
        out=np.zeros_like(capped),
        where=capped > 0,
    )
    euc = np.clip(np.maximum(ratio, PHE_SHARE_OF_YEAR.get(year, 0.0)), 0.0, 1.0)
    s = run(q, euc)
    out: dict[str, Any] = {
        "computed": net(s),
        "msr_computed": s.msr,
        "losses_after_cap": capped,
        "q_low": np.full(len(x), np.nan),
        "q_high": np.full(len(x), np.nan),
    }
    if c.quality_method == "scaled":  # published scores are rounded: bracket the truth
        lo, hi = net(run(q - q_half, euc)), net(run(q + q_half, euc))
        out["q_low"], out["q_high"] = np.minimum(lo, hi), np.maximum(lo, hi)
    return out


def replicate_puf_table(source: Any, *, performance_year: int | None = None) -> pd.DataFrame:
    """Recompute every ACO's result from the rules; one row per ACO.

    Inputs are only what the rules take: assigned beneficiaries, benchmark and
    expenditure totals, track and performance year, quality score and whether the quality
    standards were met, the elected MSR/MLR of two-sided ACOs (``MinSavPerc``), the year of
    the agreement, and the extreme-and-uncontrollable-circumstances adjustment (``DisAdj``,
    or the COVID-19 PHE's share of the year, :data:`PHE_SHARE_OF_YEAR`). The reported
    sharing and loss rates and ``EarnSaveLoss`` are never inputs. Each track is settled
    with :func:`puf_contract` and :func:`simsav.settlement.rules.settle`.

    Parameters
    ----------
    source : int, path, or DataFrame
        As for :func:`load_puf`, or a table it returned.
    performance_year : int, optional
        The year to replicate, for a multi-year table.

    Returns
    -------
    pandas.DataFrame
        One row per ACO: ``aco_id``, ``performance_year``, ``track``, ``contract``,
        ``group`` ("savers", "owing_losses" or "no_payment", by the reported
        ``EarnSaveLoss``), ``reported`` and ``computed`` (dollars, negative = losses
        owed), ``matched`` (within 0.5% or $1), ``one_sided``, ``msr_reported``,
        ``msr_computed``, ``msr_matched`` (within 0.0005), ``quality_filled_p4r``, and
        ``reason``: why an unmatched ACO differs, where the data show it (empty when
        unexplained).
    """
    df = _as_puf(source, performance_year)
    year = int(df["performance_year"].iloc[0])
    x = _rule_inputs(df, year)
    published = df["quality_score"].dropna().to_numpy(dtype=float)
    q_decimals = max((_decimals(v) for v in published), default=4)

    computed = pd.DataFrame(
        np.nan,
        index=x.index,
        columns=["computed", "msr_computed", "losses_after_cap", "q_low", "q_high"],
    )
    x["contract"] = ""
    for t in sorted(set(x.loc[x["valid"], "track"])):
        rows = x.index[x["valid"] & x["track"].eq(t)]
        c = puf_contract(t, year)
        x.loc[rows, "contract"] = c.name
        res = _settle_track(x.loc[rows], c, year, 0.5 * 10.0**-q_decimals)
        for k, v in res.items():
            computed.loc[rows, k] = v
    x = pd.concat([x, computed], axis=1)
    x["tolerance"] = np.maximum(1.0, 0.005 * x["reported"].abs())
    x["matched"] = x["valid"] & (x["computed"] - x["reported"]).abs().le(x["tolerance"])
    x["msr_matched"] = (x["msr_computed"] - x["msr_reported"]).abs().le(0.0005)
    rep = x["reported"]
    x["group"] = np.where(rep > 0, "savers", np.where(rep < 0, "owing_losses", "no_payment"))
    context = df[["rev_exp_cat", "mid_year_termination", "final_share_rate", "met_qps"]]
    for name in ("rev_loss_limit", "adv_pay_recoup", "aip_recoup"):
        if name in df.columns:
            context = context.assign(**{name: df[name]})
    x["reason"] = [
        "; ".join(_explain(r, ctx, q_decimals))
        for r, (_, ctx) in zip(x.itertuples(index=False), context.iterrows(), strict=True)
    ]
    x["performance_year"] = year
    return x[
        [
            "aco_id",
            "performance_year",
            "track",
            "contract",
            "group",
            "reported",
            "computed",
            "matched",
            "one_sided",
            "msr_reported",
            "msr_computed",
            "msr_matched",
            "quality_filled_p4r",
            "reason",
        ]
    ]


def _explain(r: Any, ctx: pd.Series, q_decimals: int) -> list[str]:
    """Specific, checkable reasons why an ACO's computed result differs from CMS's."""
    if not r.valid:
        return ["inputs missing or out of range in the PUF (track, N_AB, totals or QualScore)"]
    out: list[str] = []
    if r.one_sided and not r.msr_matched and r.n < 500:
        out.append(
            "MSR: below 500 beneficiaries CMS's table gives only a floor (>= 12.2%); "
            f"reported {r.msr_reported:.4f}"
        )
    if r.matched:
        return out
    rep, comp = r.reported, r.computed
    if r.q_low - r.tolerance <= rep <= r.q_high + r.tolerance:  # NaN compares False
        out.append(
            f"quality rounding: QualScore is published to {q_decimals} decimals "
            f"({r.quality:.{q_decimals}f}); a score within ±{0.5 * 10.0**-q_decimals:g} of it "
            "reproduces the reported amount"
        )
    flag = ctx.get("rev_loss_limit", pd.NA)  # 2018-2021: which loss limit applies
    revenue_based = bool(pd.isna(flag)) or bool(flag)
    if rep < 0 and comp < rep and r.track in _REVENUE_LIMITED and revenue_based:
        pct = {"track1plus": 0.08, "basic_c": 0.02, "basic_d": 0.04, "basic_e": 0.08}[r.track]
        cap = -rep + (0.0 if np.isnan(r.euc_dollars) else r.euc_dollars)
        revenue = cap / pct
        share = revenue / r.expenditure
        cat = "" if pd.isna(ctx["rev_exp_cat"]) else str(ctx["rev_exp_cat"])
        consistent = (
            not cat
            or (cat.lower().startswith("low") and share < 0.35)
            or (cat.lower().startswith("high") and share >= 0.35)
        )
        if cap < r.losses_after_cap and consistent:
            out.append(
                f"revenue-based loss limit ({pct:.0%} of ACO participants' A+B revenue, which "
                "the PUF lacks) binds below the benchmark-based one: implied revenue "
                f"${revenue:,.0f} = {share:.0%} of assigned-beneficiary expenditure"
                + (f", consistent with Rev_Exp_Cat '{cat}'" if cat else "")
            )
    if bool(ctx["mid_year_termination"]):
        if comp > 0 and rep == 0:
            out.append(
                "mid-year termination: an ACO that terminates its agreement during the year "
                "may not share savings for it (42 CFR 425.221(b)(2))"
            )
        elif comp < rep <= 0:
            out.append(
                "mid-year termination: shared losses prorated to the months in the program "
                f"(reported/computed = {rep / comp:.3f} ≈ {12.0 * rep / comp:.1f} of 12 months)"
            )
    for name in ("adv_pay_recoup", "aip_recoup"):  # advance payments recouped from savings
        recoup = pd.to_numeric(ctx.get(name, np.nan), errors="coerce")
        if comp > 0 and recoup > 0 and abs(comp - recoup - rep) <= r.tolerance:
            out.append(f"{name}: ${recoup:,.0f} of advance payments recouped from the savings")
    if rep == 0 and comp > 0 and ctx["final_share_rate"] == 0 and pd.isna(ctx["met_qps"]):
        out.append(
            "quality standard not met: this PUF has no Met_QPS column (before PY2016), and "
            "CMS's FinalShareRate is 0"
        )
    return out


def replicate_puf(source: Any, *, performance_year: int | None = None) -> dict[str, Any]:
    """Recompute every ACO's result from the rules and compare it with CMS's.

    See :func:`replicate_puf_table` for the inputs used and the rules applied.

    Parameters
    ----------
    source : int, path, or DataFrame
        As for :func:`load_puf`, or a table it returned.
    performance_year : int, optional
        The year to replicate, for a multi-year table.

    Returns
    -------
    dict
        JSON-able summary::

            {"performance_year": Y, "acos": n,
             "msr_one_sided": {"n": a, "matched": b},   # sliding-scale MSR vs MinSavPerc
             "savers": {"n": c, "matched": d},          # reported EarnSaveLoss > 0
             "owing_losses": {"n": e, "matched": f},    # reported EarnSaveLoss < 0
             "unexplained": [ids],
             "no_payment": {"n": g, "matched": h},      # reported 0
             "explained": {id: reason}}

        ``matched`` counts ACOs within 0.5% (or $1) of the reported amount (MSR: within
        0.0005). ``unexplained`` lists unmatched ACOs no data-backed reason accounts for.

    Examples
    --------
    >>> r = replicate_puf(2022)
    >>> r["msr_one_sided"] == {"n": 198, "matched": 198}, r["unexplained"]
    (True, [])
    """
    t = replicate_puf_table(source, performance_year=performance_year)
    year = int(t["performance_year"].iloc[0]) if len(t) else performance_year

    def count(mask: pd.Series, ok: pd.Series) -> dict[str, int]:
        return {"n": int(mask.sum()), "matched": int((mask & ok).sum())}

    bad_amount = ~t["matched"]
    bad_msr = t["one_sided"] & ~t["msr_matched"]
    unmatched = bad_amount | bad_msr
    explained = {
        str(a): str(r)
        for a, r, u in zip(t["aco_id"], t["reason"], unmatched, strict=True)
        if u and r
    }
    unexplained = sorted(
        str(a) for a, r, u in zip(t["aco_id"], t["reason"], unmatched, strict=True) if u and not r
    )
    return {
        "performance_year": year,
        "acos": len(t),
        "msr_one_sided": count(t["one_sided"], t["msr_matched"]),
        "savers": count(t["group"] == "savers", t["matched"]),
        "owing_losses": count(t["group"] == "owing_losses", t["matched"]),
        "unexplained": unexplained,
        "no_payment": count(t["group"] == "no_payment", t["matched"]),
        "explained": explained,
    }
