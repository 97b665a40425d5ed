"""Numbers as people read them: dollars in k or M by magnitude, counts as 1k, 5k, 10k.

Shared by the plots' tick labels and annotations and by the reports, so a figure reads the
same in a chart, a table and a workbook.
"""

from __future__ import annotations

import math

__all__ = ["decimals_for", "fmt_count", "fmt_money", "fmt_pct", "fmt_value", "money_scale"]

MINUS = "\u2212"


def money_scale(amount: float) -> tuple[float, str]:
    """The unit for dollar amounts up to ``|amount|``: (1e6, "M"), (1e3, "k") or (1, "").

    Examples
    --------
    >>> money_scale(2.5e6), money_scale(-40_000), money_scale(999)
    ((1000000.0, 'M'), (1000.0, 'k'), (1.0, ''))
    """
    a = abs(amount) if math.isfinite(amount) else 0.0
    if a >= 1e6:
        return 1e6, "M"
    if a >= 1e3:
        return 1e3, "k"
    return 1.0, ""


def _digits(x: float, sig: int) -> str:
    if x == 0:
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fmt_money(x: float, *, scale: tuple[float, str] | None = None, sig: int = 3,
              decimals: int | None = None, sign: bool = False) -> str:
    """``$1.23M``, ``−$450k``, ``$12``; in the unit ``scale`` if given (an axis's unit).

    ``decimals`` fixes the decimals in that unit (a chart's labels line up); an amount too
    small to show so is written in its own unit.

    Examples
    --------
    >>> fmt_money(1_234_567), fmt_money(-456_789), fmt_money(0), fmt_money(12.3)
    ('$1.23M', '−$457k', '$0', '$12.3')
    >>> fmt_money(500_000, scale=(1e6, "M")), fmt_money(25_000, sign=True)
    ('$0.5M', '+$25k')
    >>> fmt_money(906_000, scale=(1e6, "M"), decimals=2), fmt_money(-3_100, scale=(1e6, "M"),
    ...                                                             decimals=2)
    ('$0.91M', '−$3.1k')
    """
    if x is None or not math.isfinite(x):
        return "–" if x is None or math.isnan(x) else ("no limit" if x > 0 else f"{MINUS}∞")
    div, unit = money_scale(x) if scale is None else scale
    if decimals is not None:
        if x != 0 and abs(x) / div < 0.5 * 10.0 ** -decimals:
            return fmt_money(x, sig=sig, sign=sign)
        body = f"{abs(x) / div:,.{decimals}f}{unit}"
    else:
        body = _digits(abs(x) / div, sig) + unit
    if body.strip("0.kM") == "":
        return "$0"
    lead = MINUS if x < 0 else ("+" if sign else "")
    return f"{lead}${body}"


def decimals_for(top: float, scale: tuple[float, str], sig: int = 3) -> int:
    """Decimals that give the largest amount ``top`` ``sig`` significant digits in ``scale``.

    Examples
    --------
    >>> decimals_for(2.65e6, (1e6, "M")), decimals_for(26.5e6, (1e6, "M"))
    (2, 1)
    """
    v = abs(top) / scale[0]
    return 0 if v == 0 else max(0, sig - 1 - math.floor(math.log10(v)))


def fmt_count(n: float) -> str:
    """``1k``, ``5k``, ``12.5k``, ``1M``: population sizes and sims on axes.

    Examples
    --------
    >>> [fmt_count(n) for n in (500, 1_000, 5_000, 12_500, 100_000, 1_000_000)]
    ['500', '1k', '5k', '12.5k', '100k', '1M']
    """
    if n >= 1e6:
        return _digits(n / 1e6, 3) + "M"
    if n >= 1e3:
        return _digits(n / 1e3, 3) + "k"
    return _digits(n, 3)


def fmt_pct(p: float, *, decimals: int = 1) -> str:
    """``12.3%``; ``–`` for NaN.

    Examples
    --------
    >>> fmt_pct(0.1234), fmt_pct(float("nan"))
    ('12.3%', '–')
    """
    if p is None or not math.isfinite(p):
        return "–"
    return f"{p * 100:.{decimals}f}%"


def fmt_value(x: float, units: str, *, scale: tuple[float, str] | None = None) -> str:
    """A summary figure by its units: ``"USD"`` as money, ``"1"`` as a percentage."""
    if units == "USD":
        return fmt_money(x, scale=scale)
    if units == "1":
        return fmt_pct(x, decimals=2)
    return "–" if not math.isfinite(x) else f"{x:,.4g}"
