"""A user's claims file: annual spending per member, read strictly.

The file is CSV with a header row, one row per member (one member-year): a column of
amounts paid in the year (``paid`` by default) and, optionally, a column of member months
(exposure, in (0, 12]) for members enrolled part of the year. Other columns are ignored.

Partial-year members are handled by exposure, as actuaries do: a member's amount is
annualized (``paid × 12 / months``) and weighs ``months / 12`` member-years, so the
weighted mean is total paid over total member-years, and a concentration share is the
share of spending held by the costliest fraction of member-years.

Every problem is reported with the file, the line and the column, e.g.
``claims.csv, line 17, column 3 (paid): 'n/a' is not a number``; the CLI turns it into
exit code 2.

A scenario may resample the file itself: ``[spending] model = "empirical", sample =
"claims.csv"``, the path relative to the scenario file
(:func:`resolve_sample_path`, called by :func:`simsav.load_scenario`).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Claims", "ClaimsError", "cached_claims", "read_claims", "resolve_sample_path"]

F64 = NDArray[np.float64]

#: Most member months one row may hold (one member-year per row).
MAX_MONTHS = 12.0


class ClaimsError(ValueError):
    """A claims file cannot be read; the message names the file, line and column."""


@dataclass(frozen=True, eq=False)
class Claims:
    """Annual spending per member from a claims file.

    Attributes
    ----------
    paid : ndarray
        The amounts as in the file (USD, ``>= 0``), in file order.
    months : ndarray
        Member months of each row (12 without an exposure column).
    path : str
        The file read.
    column, exposure : str, optional
        The amount column and the exposure column (None: every member full-year).
    sha256 : str
        Hash of the file's bytes, for provenance.
    """

    paid: F64
    months: F64
    path: str
    column: str
    exposure: str | None
    sha256: str

    @property
    def amounts(self) -> F64:
        """Annualized amounts, USD per member-year (``paid × 12 / months``)."""
        return self.paid * (MAX_MONTHS / self.months)

    @property
    def weights(self) -> F64:
        """Member-years of each row (``months / 12``)."""
        return self.months / MAX_MONTHS

    @property
    def n(self) -> int:
        """Number of members (rows)."""
        return int(self.paid.size)

    @property
    def member_years(self) -> float:
        """Total exposure, member-years."""
        return float(self.weights.sum())

    def mean(self) -> float:
        """Spending per member-year: total paid over total member-years."""
        return float(self.paid.sum() / self.member_years)

    def support(self) -> F64:
        """The sample the ``empirical`` model resamples.

        Each annualized amount is repeated once per member month, so every member month
        is equally likely.

        Raises
        ------
        ClaimsError
            If some member months are not whole numbers.
        """
        if self.exposure is None:
            return self.amounts
        m = self.months
        if not np.all(m == np.round(m)):
            raise ClaimsError(f"{self.path}: column {self.exposure!r}: resampling weighs "
                              "each member by whole member months; round the months")
        return np.repeat(self.amounts, m.astype(np.int64))

    def describe(self) -> str:
        """One line: where the data come from (path, columns, hash prefix)."""
        expo = f", exposure {self.exposure!r}" if self.exposure else ""
        return (f"{self.path} (column {self.column!r}{expo}; {self.n:,} members, "
                f"sha256 {self.sha256[:12]})")


def _where(path: str, line: int, col: int | None = None, name: str | None = None) -> str:
    out = f"{path}, line {line}"
    if col is not None:
        out += f", column {col + 1}" + (f" ({name})" if name else "")
    return out


def _find(header: list[str], name: str, path: str, what: str) -> int:
    names = [h.strip() for h in header]
    if name in names:
        if names.count(name) > 1:
            raise ClaimsError(f"{_where(path, 1)}: the header names {name!r} twice")
        return names.index(name)
    folded = [h.lower() for h in names]
    if folded.count(name.lower()) == 1:
        return folded.index(name.lower())
    shown = ", ".join(repr(h[:40]) for h in names[:20]) + (", ..." if len(names) > 20 else "")
    raise ClaimsError(f"{_where(path, 1)}: no {what} column {name!r}; the header has {shown}")


def _number(cell: str, where: str) -> float:
    t = cell.strip()
    if not t:
        raise ClaimsError(f"{where}: empty; give a number (0 for no spending)")
    try:
        v = float(t)
    except ValueError:
        raise ClaimsError(f"{where}: {t!r} is not a number") from None
    if not math.isfinite(v):
        raise ClaimsError(f"{where}: {t!r} is not a finite number")
    return v


def _decode(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise ClaimsError(f"{path}, line {line}: not UTF-8 text (byte {err.start})") from None


def read_claims(path: str | os.PathLike[str], *, column: str = "paid",
                exposure: str | None = None) -> Claims:
    r"""Read a claims file: one row per member, amounts in ``column``.

    Parameters
    ----------
    path : str or Path
        A CSV file with a header row.
    column : str
        The column of annual amounts paid, USD (``>= 0``).
    exposure : str, optional
        A column of member months, in (0, 12]; without one every member is full-year.

    Returns
    -------
    Claims

    Raises
    ------
    ClaimsError
        For a file that is missing, unreadable, empty, or holds a bad value; the message
        names the line and column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = p.write_text("id,paid,member_months\n1,1200,12\n2,300,6\n3,0,12\n")
    >>> c = read_claims(p, exposure="member_months")
    >>> c.amounts.tolist(), round(c.mean(), 2)
    ([1200.0, 600.0, 0.0], 600.0)
    >>> _ = p.write_text("id,paid\n1,12x\n")
    >>> read_claims(p)
    Traceback (most recent call last):
    ...
    simsav.io.claims.ClaimsError: ...c.csv, line 2, column 2 (paid): '12x' is not a number
    """
    p = str(path)
    try:
        raw = Path(p).read_bytes()
    except FileNotFoundError:
        raise ClaimsError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ClaimsError(f"{p}: is a directory, not a claims file") from None
    except OSError as err:
        raise ClaimsError(f"{p}: cannot be read ({err.strerror})") from None
    return _parse(_decode(raw, p), p, column, exposure, hashlib.sha256(raw).hexdigest())


def _parse(text: str, p: str, column: str, exposure: str | None, digest: str) -> Claims:
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader)
    except StopIteration:
        raise ClaimsError(f"{p}: empty file; need a header row and one row per member") \
            from None
    except csv.Error as err:
        raise ClaimsError(f"{_where(p, 1)}: not CSV ({err})") from None
    j = _find(header, column, p, "amount")
    k = None if exposure is None else _find(header, exposure, p, "exposure")
    paid: list[float] = []
    months: list[float] = []
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise ClaimsError(f"{_where(p, line)}: {len(row)} fields; the header has "
                                  f"{len(header)}")
            v = _number(row[j], _where(p, line, j, header[j].strip()))
            if v < 0:
                raise ClaimsError(f"{_where(p, line, j, header[j].strip())}: {v:g} is "
                                  "negative; give each member's annual total, >= 0")
            m = MAX_MONTHS
            if k is not None:
                m = _number(row[k], _where(p, line, k, header[k].strip()))
                if not 0 < m <= MAX_MONTHS:
                    raise ClaimsError(f"{_where(p, line, k, header[k].strip())}: {m:g} "
                                      "member months; must be in (0, 12] (drop members "
                                      "with no exposure)")
            paid.append(v)
            months.append(m)
    except csv.Error as err:
        raise ClaimsError(f"{_where(p, line + 1)}: not CSV ({err})") from None
    if not paid:
        raise ClaimsError(f"{p}: no data rows after the header")
    a = np.array(paid, dtype=np.float64)
    if not a.max() > 0:
        raise ClaimsError(f"{p}: column {column!r}: every amount is 0")
    return Claims(paid=a, months=np.array(months, dtype=np.float64), path=p,
                  column=header[j].strip(), exposure=None if k is None else header[k].strip(),
                  sha256=digest)


@functools.lru_cache(maxsize=16)
def _cached(path: str, column: str, exposure: str | None, stamp: tuple[int, int]) -> Claims:
    return read_claims(path, column=column, exposure=exposure)


def cached_claims(path: str, *, column: str = "paid", exposure: str | None = None) -> Claims:
    """:func:`read_claims`, cached while the file is unchanged (size and mtime).

    A sweep validates its scenario at every point; the file is read once.
    """
    try:
        st = os.stat(path)
    except OSError:
        return read_claims(path, column=column, exposure=exposure)
    return _cached(str(path), column, exposure, (st.st_size, st.st_mtime_ns))


def resolve_sample_path(data: Any, base: str | os.PathLike[str]) -> Any:
    """A scenario mapping with ``[spending] sample`` made absolute, relative to ``base``.

    ``base`` is the directory of the scenario file. Anything else is returned unchanged
    (validation reports it).

    Examples
    --------
    >>> resolve_sample_path({"spending": {"sample": "c.csv"}}, "/data/s")["spending"]
    {'sample': '/data/s/c.csv'}
    """
    if not isinstance(data, dict):
        return data
    spending = data.get("spending")
    if not isinstance(spending, dict):
        return data
    sample = spending.get("sample")
    if not isinstance(sample, str) or not sample or os.path.isabs(sample):
        return data
    resolved = os.path.normpath(os.path.join(os.fspath(base), sample))
    return {**data, "spending": {**spending, "sample": resolved}}
