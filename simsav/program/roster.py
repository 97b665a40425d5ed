"""The roster of a program run: every ACO of one performance year, as the settlement takes it.

A roster is read from either

* a CMS MSSP "Performance Year Financial and Quality Results" file of any layout
  :func:`simsav.io.puf.load_puf` reads (PY2013 on), or a bundled performance year. Only
  the settlement's inputs are kept: assigned beneficiaries (``N_AB``), the benchmark per
  capita (``ABtotBnchmk / N_AB``), the track, the elected MSR/MLR of two-sided ACOs
  (``MinSavPerc``) and the agreement's start date. The year's outcomes (savings rate,
  ``EarnSaveLoss``, quality score) are ignored; each ACO's *earlier* years come from the
  bundled files (:mod:`simsav.program.model`);
* a plain CSV, one row per ACO (:data:`PLAIN_COLUMNS`): ``aco_id``, ``beneficiaries``,
  ``benchmark_per_capita``, ``track`` (an MSSP track, settled with that year's rules) or
  ``preset`` (a named contract), and optionally ``msr`` (the MSR/MLR election of a
  two-sided contract; blank: the variable scale), ``revenue``, ``agreement_year``,
  ``years_in_program``, ``quality``, and earlier results as ``savings_rate_YYYY`` (with
  ``beneficiaries_YYYY``, default this year's). A bad cell is named by its line and
  column; every problem is reported at once (:class:`RosterError`).

Examples
--------
>>> r = read_roster(2022)
>>> r.year, len(r.table), r.source
(2022, 482, 'bundled PY2022')
>>> row = r.table.set_index("aco_id").loc["A1540"]
>>> row["track"], int(row["beneficiaries"]), float(round(row["benchmark"], 2))
('basic_b', 7207, 13729.35)
>>> int(row["agreement_year"])  # its agreement began in July 2019
4
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from simsav.contracts import CMS_ELECTIONS, TRACKS, TWO_SIDED_TRACKS, get_preset, preset_names
from simsav.io.puf import bundled_years, first_agreement_starts, load_puf
from simsav.validation import Name, Problems, StrictModel, Whole, problems

__all__ = [
    "PLAIN_COLUMNS",
    "TABLE_COLUMNS",
    "Roster",
    "RosterError",
    "RosterRow",
    "crosswalk_first_years",
    "read_roster",
]

#: Columns of a plain roster CSV (``savings_rate_YYYY`` and ``beneficiaries_YYYY`` besides).
PLAIN_COLUMNS: tuple[str, ...] = (
    "aco_id", "beneficiaries", "benchmark_per_capita", "track", "preset", "msr", "revenue",
    "agreement_year", "years_in_program", "quality",
)
_REQUIRED = ("aco_id", "beneficiaries", "benchmark_per_capita")
_NUMERIC = ("beneficiaries", "benchmark_per_capita", "msr", "revenue", "agreement_year",
            "years_in_program", "quality")
_HISTORY = re.compile(r"^(savings_rate|beneficiaries)_(\d{4})$")
_MAX_SHOWN = 12

#: Table columns of :class:`Roster` (one row per ACO).
TABLE_COLUMNS: tuple[str, ...] = (
    "aco_id", "line", "beneficiaries", "benchmark", "track", "preset", "msr", "revenue",
    "agreement_year", "years_in_program", "quality", "agreement_period",
)


class RosterError(ValueError):
    """Bad roster input; ``problems`` lists ``(where, message)``, naming line and column."""

    def __init__(self, source: str, found: list[tuple[str, str]]):
        self.problems = found
        shown = [f"{w}: {m}" if w else m for w, m in found[:_MAX_SHOWN]]
        more = len(found) - _MAX_SHOWN
        tail = f"; and {more} more problem(s)" if more > 0 else ""
        super().__init__(f"{source}: " + "; ".join(shown) + tail)


Track = Literal[TRACKS]  # type: ignore[valid-type]


class RosterRow(StrictModel):
    """One ACO of a plain roster CSV (history columns are checked apart)."""

    aco_id: Name
    beneficiaries: Annotated[Whole, Field(ge=1, le=10_000_000)]
    benchmark_per_capita: Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]
    track: Track | None = None
    preset: Name | None = None
    msr: Annotated[float, Field(ge=0.0, le=0.02, allow_inf_nan=False)] | None = None
    revenue: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    agreement_year: Annotated[Whole, Field(ge=1, le=30)] = 1
    years_in_program: Annotated[Whole, Field(ge=1, le=60)] | None = None
    quality: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _check(self) -> RosterRow:
        found: list[tuple[str, str]] = []
        if (self.track is None) == (self.preset is None):
            found.append(("track", "give exactly one of track and preset"))
        if self.preset is not None and self.preset not in preset_names():
            found.append(("preset", f"unknown preset {self.preset!r}; available: "
                                    f"{', '.join(preset_names())}"))
        elif self.msr is not None and (self.track is None) != (self.preset is None):
            two = (self.track in TWO_SIDED_TRACKS if self.track is not None
                   else get_preset(str(self.preset)).cms_election)
            if not two:
                found.append(("msr", "an MSR/MLR election applies to two-sided contracts with "
                                     "CMS's elections only; leave it blank here"))
            elif not any(abs(self.msr - e) < 1e-12 for e in CMS_ELECTIONS):
                found.append(("msr", f"must be one of "
                                     f"{', '.join(f'{e:g}' for e in CMS_ELECTIONS)} (blank: "
                                     f"the variable scale), got {self.msr:g}"))
        if self.years_in_program is not None and self.years_in_program < self.agreement_year:
            found.append(("years_in_program", f"must be >= agreement_year "
                                              f"({self.agreement_year}), got "
                                              f"{self.years_in_program}"))
        if found:
            raise Problems(found)
        return self


@dataclass(frozen=True)
class Roster:
    """The ACOs of one performance year with their settlement inputs, and their history.

    Attributes
    ----------
    year : int or None
        The performance year the inputs belong to (a CMS file's year; ``None`` for a plain
        CSV, which takes the year it is simulated for).
    table : pandas.DataFrame
        One row per ACO (:data:`TABLE_COLUMNS`): ``aco_id``, ``line`` (in the source file),
        ``beneficiaries``, ``benchmark`` (USD per capita), ``track`` and ``preset`` (one of
        them empty), ``msr`` (the elected MSR/MLR; NaN: the contract's rule), ``revenue``
        (NaN: unknown), ``agreement_year``, ``years_in_program`` (NaN: unknown),
        ``quality`` (NaN: the model's default), ``agreement_period`` (NaN: unknown).
    history : pandas.DataFrame or None
        Earlier results given with the roster (plain CSV): ``aco_id``,
        ``performance_year``, ``savings_rate``, ``beneficiaries``. ``None`` for a CMS file:
        its ACOs' earlier years come from the bundled files.
    agreement_start : pandas.Series
        Per ``aco_id``, the start date of the current agreement (CMS files; empty
        otherwise), to tell which earlier years share the agreement.
    source : str
        Where the roster came from.
    """

    year: int | None
    table: pd.DataFrame
    history: pd.DataFrame | None
    source: str
    agreement_start: pd.Series = field(default_factory=lambda: pd.Series(dtype="datetime64[ns]"))

    @property
    def n_acos(self) -> int:
        """Number of ACOs."""
        return len(self.table)

    @property
    def beneficiaries(self) -> float:
        """Assigned beneficiaries, all ACOs."""
        return float(self.table["beneficiaries"].sum())


# ----------------------------------------------------------------------------- CMS files
def _first_py(dates: pd.Series) -> pd.Series:
    """First performance year of agreements starting on ``dates`` (2012 starts: 2013)."""
    y = dates.dt.year
    return y.where(y != 2012, 2013)


def crosswalk_first_years() -> dict[str, int]:
    """Per ``ACO_ID``, the first performance year of its first agreement (CMS crosswalk).

    Examples
    --------
    >>> crosswalk_first_years()["A1001"]  # started July 2012: first performance year 2013
    2013
    """
    starts = first_agreement_starts()
    first = _first_py(pd.Series(list(starts.values()), dtype="datetime64[ns]"))
    return {a: int(y) for a, y in zip(starts, first, strict=True)}


def _cms_roster(df: pd.DataFrame, source: str) -> Roster:
    years = sorted(set(df["performance_year"].dropna().astype(int)))
    if len(years) != 1:
        raise RosterError(source, [("", f"a roster is one performance year; the file has {years}")])
    year = years[0]
    ids = df["aco_id"].astype("string")
    if "aco_num" in df.columns:
        ids = ids.fillna(df["aco_num"].astype("string"))
    lines = np.arange(len(df)) + 2  # header is line 1
    ids = ids.fillna(pd.Series([f"line{n}" for n in lines], index=df.index, dtype="string"))
    n = df["n_ab"].to_numpy(dtype=float)
    bench_total = df["benchmark_total"].to_numpy(dtype=float)
    track = df["track"].astype("string").fillna("")
    found: list[tuple[str, str]] = []
    for i in range(len(df)):
        where = f"line {lines[i]}"
        if not (n[i] >= 1):
            found.append((f"{where}, column N_AB", f"must be a whole number >= 1, got {n[i]!r}"))
        if not (bench_total[i] > 0):
            found.append((f"{where}, column ABtotBnchmk",
                          f"must be a number > 0, got {bench_total[i]!r}"))
        if not track.iloc[i]:
            found.append((f"{where}, track columns", "no track flag or code is set"))
    dup = ids.duplicated()
    for i in np.flatnonzero(dup.to_numpy()):
        found.append((f"line {lines[i]}, column ACO_ID", f"{ids.iloc[i]} appears twice"))
    if found:
        raise RosterError(source, found)
    start = pd.to_datetime(df["current_start_date"])
    first_py = _first_py(start).fillna(year).astype(int).to_numpy()
    agreement_year = np.clip(year - first_py + 1, 1, None)
    period = df["agreement_period_num"].to_numpy(dtype=float)
    # years in the program: from the first agreement's start (CMS crosswalk for 2012-17
    # starters) where known; a later agreement follows at least one 3-year agreement
    cw = crosswalk_first_years()
    first_program = np.array([min(cw.get(str(a), f), f) for a, f in zip(ids, first_py,
                                                                         strict=True)])
    in_program = (year - first_program + 1).astype(float)
    later = period > 1
    in_program = np.where(later, np.maximum(in_program, agreement_year + 3), in_program)
    two = df["two_sided"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    msr = np.where(two, df["msr"].to_numpy(dtype=float), np.nan)
    table = pd.DataFrame({
        "aco_id": ids.to_numpy(dtype=object),
        "line": lines,
        "beneficiaries": n,
        "benchmark": bench_total / n,
        "track": track.to_numpy(dtype=object),
        "preset": np.full(len(df), "", dtype=object),
        "msr": msr,
        "revenue": np.full(len(df), np.nan),
        "agreement_year": agreement_year.astype(np.int64),
        "years_in_program": in_program,
        "quality": np.full(len(df), np.nan),
        "agreement_period": period,
    })
    starts = pd.Series(start.to_numpy(), index=table["aco_id"].to_numpy())
    return Roster(year=year, table=table, history=None, source=source, agreement_start=starts)


# ----------------------------------------------------------------------------- plain CSV
def _cell(text: str, name: str) -> tuple[Any, str | None]:
    """A cell's value (None when blank), or a problem."""
    t = text.strip()
    if not t:
        return None, None
    if name not in _NUMERIC and not _HISTORY.match(name):
        return t, None
    try:
        v = float(t)
    except ValueError:
        return None, f"must be a number, got {t!r}"
    if not math.isfinite(v):
        return None, f"must be a finite number, got {t!r}"
    return v, None


def _plain_roster(text: str, source: str) -> Roster:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise RosterError(source, [("", "the file is empty")]) from None
    found: list[tuple[str, str]] = []
    for j, h in enumerate(header):
        if h not in PLAIN_COLUMNS and not _HISTORY.match(h):
            found.append((f"line 1, column {j + 1}",
                          f"unknown column {h!r}; columns: {', '.join(PLAIN_COLUMNS)}, "
                          "savings_rate_YYYY, beneficiaries_YYYY"))
    dups = sorted({h for h in header if header.count(h) > 1})
    found += [("line 1", f"column {h!r} appears more than once") for h in dups]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        found.append(("line 1", f"missing column(s) {', '.join(missing)}"))
    if "track" not in header and "preset" not in header:
        found.append(("line 1", "missing column track (or preset)"))
    if found:
        raise RosterError(source, found)
    rows: list[dict[str, Any]] = []
    hist: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            found.append((f"line {line}", f"{len(cells)} cells, the header has {len(header)}"))
            continue
        data: dict[str, Any] = {}
        for h, c in zip(header, cells, strict=True):
            v, bad = _cell(c, h)
            if bad:
                found.append((f"line {line}, column {h}", bad))
            elif v is not None:
                data[h] = v
        past = {k: data.pop(k) for k in list(data) if _HISTORY.match(k)}
        if any(w.startswith(f"line {line},") for w, _ in found):
            continue
        try:
            row = RosterRow.model_validate(data)
        except ValidationError as err:
            for key, msg in problems(err, data, RosterRow):
                col = "" if key == "(top level)" else f", column {key}"
                found.append((f"line {line}{col}", msg))
            continue
        if row.aco_id in seen:
            found.append((f"line {line}, column aco_id",
                          f"{row.aco_id} appears twice (first on line {seen[row.aco_id]})"))
            continue
        seen[row.aco_id] = line
        found += _history_rows(past, row, line, hist)
        rows.append({"line": line, **row.model_dump()})
    if not rows and not found:
        found.append(("", "no ACO rows"))
    if found:
        raise RosterError(source, found)
    return Roster(year=None, table=_plain_table(rows), history=_history_table(hist),
                  source=source)


def _history_rows(past: dict[str, float], row: RosterRow, line: int,
                  out: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Append the row's earlier results to ``out``; return the problems found."""
    found: list[tuple[str, str]] = []
    years = sorted({int(_HISTORY.match(k).group(2)) for k in past})  # type: ignore[union-attr]
    for y in years:
        s, n = past.get(f"savings_rate_{y}"), past.get(f"beneficiaries_{y}")
        if s is None:
            found.append((f"line {line}, column beneficiaries_{y}",
                          f"given without savings_rate_{y}"))
            continue
        if not -1.0 <= s <= 1.0:
            found.append((f"line {line}, column savings_rate_{y}",
                          f"must be a number in [-1, 1] (a fraction), got {s:g}"))
            continue
        if n is not None and not (n >= 1 and float(n).is_integer()):
            found.append((f"line {line}, column beneficiaries_{y}",
                          f"must be a whole number >= 1, got {n:g}"))
            continue
        out.append({"aco_id": row.aco_id, "performance_year": y, "savings_rate": s,
                    "beneficiaries": float(n if n is not None else row.beneficiaries)})
    return found


def _plain_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    d = pd.DataFrame(rows)
    return pd.DataFrame({
        "aco_id": d["aco_id"].astype(object),
        "line": d["line"].astype(np.int64),
        "beneficiaries": d["beneficiaries"].astype(float),
        "benchmark": d["benchmark_per_capita"].astype(float),
        "track": d["track"].fillna("").astype(object),
        "preset": d["preset"].fillna("").astype(object),
        "msr": d["msr"].astype(float),
        "revenue": d["revenue"].astype(float),
        "agreement_year": d["agreement_year"].astype(np.int64),
        "years_in_program": d["years_in_program"].astype(float),
        "quality": d["quality"].astype(float),
        "agreement_period": np.full(len(d), np.nan),
    })[list(TABLE_COLUMNS)]


def _history_table(hist: list[dict[str, Any]]) -> pd.DataFrame:
    cols = ["aco_id", "performance_year", "savings_rate", "beneficiaries"]
    if not hist:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(cols, (object, np.int64, float, float), strict=True)})
    return pd.DataFrame(hist)[cols]


# ----------------------------------------------------------------------------- entry
def _is_plain(header_line: str) -> bool:
    names = {h.strip().lower() for h in next(csv.reader([header_line]), [])}
    return bool(names & {"benchmark_per_capita", "beneficiaries"})  # CMS writes N_AB


def read_roster(source: int | str | os.PathLike[str] | IO[bytes] | pd.DataFrame | Roster
                ) -> Roster:
    """Read a roster: a bundled year, a CMS results file, a plain CSV, or a :func:`load_puf` table.

    Parameters
    ----------
    source : int, path, binary file, DataFrame or Roster
        A bundled performance year (``2022`` or ``"2022"``), a path to a CMS MSSP results
        CSV or to a plain roster CSV (told apart by a ``beneficiaries`` or
        ``benchmark_per_capita`` column), or
        a table :func:`simsav.io.puf.load_puf` returned. A :class:`Roster` is returned as
        is.

    Returns
    -------
    Roster

    Raises
    ------
    RosterError
        Naming each bad row by its line and column (for a plain CSV, every problem at once).
    """
    if isinstance(source, Roster):
        return source
    if isinstance(source, pd.DataFrame):
        return _cms_roster(source.reset_index(drop=True), "roster table")
    if isinstance(source, bool):
        raise RosterError("roster", [("", f"expected a year or a path, got {source!r}")])
    if isinstance(source, str) and source.strip().isdigit() and not Path(source).is_file():
        source = int(source.strip())
    if isinstance(source, int | np.integer):
        year = int(source)
        if year not in bundled_years():
            raise RosterError("roster", [("", f"no bundled results file for PY{year}; bundled: "
                                         f"{bundled_years()[0]}-{bundled_years()[-1]}")])
        return _cms_roster(load_puf(year), f"bundled PY{year}")
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise RosterError(str(path), [("", "no such file")])
        raw = path.read_bytes()
        name = str(path)
    else:
        raw = source.read()
        name = "roster"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(name, [("", "not a UTF-8 text file")]) from None
    first = text.split("\n", 1)[0]
    if _is_plain(first):
        return _plain_roster(text, name)
    try:
        df = load_puf(path) if isinstance(source, str | os.PathLike) else load_puf(
            io.BytesIO(raw))
    except ValueError as e:
        raise RosterError(name, [("", f"{e}; or, for a plain roster, give the columns "
                                      f"{', '.join(_REQUIRED)} and track or preset")]) from None
    return _cms_roster(df, name)

