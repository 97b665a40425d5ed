"""How the app writes numbers and tables: plain HTML text, no Panel.

Each shown figure carries its exact value in a ``data-value`` attribute (``repr`` of the
float), so a browser test compares the page with :func:`simsav.simulate` to the last
digit, whatever the rounding on screen.

Examples
--------
>>> show(0.0716, "1"), show(85977.79, "USD"), show(float("inf"), "USD")
('7.2%', '$85,978', 'no limit')
>>> interval(0.061, 0.0836, "1")
'6.1% – 8.4%'
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

__all__ = [
    "AGREEMENT_HEADLINE",
    "YEAR_HEADLINE",
    "esc",
    "figure_cell",
    "interval",
    "rst_to_html",
    "show",
    "summary_html",
    "table_html",
]

#: The figures of a year shown first (those ``simsav run`` prints), with short labels.
YEAR_HEADLINE: tuple[tuple[str, str], ...] = (
    ("p_clear_msr", "P(clear the MSR)"),
    ("p_owe_loss", "P(owe shared losses)"),
    ("expected_earned", "Expected earned savings"),
    ("expected_losses", "Expected shared losses owed"),
    ("expected_aco_paid", "Expected paid to the ACO"),
    ("expected_payer_net", "Expected payer net"),
    ("aco_net_q5", "ACO net, 5% quantile"),
    ("aco_net_q95", "ACO net, 95% quantile"),
    ("aco_net_tail_95", "ACO net, mean of the worst 5%"),
)

#: The figures of a multi-year agreement as a whole shown first.
AGREEMENT_HEADLINE: tuple[tuple[str, str], ...] = (
    ("agreement_p_any_year_paid", "P(paid in any year)"),
    ("agreement_p_ahead", "P(ACO ahead over the agreement)"),
    ("agreement_expected_total_paid", "Expected total paid"),
    ("agreement_expected_true_up", "Expected deferred true-up"),
    ("agreement_expected_total_losses", "Expected total losses"),
    ("agreement_total_paid_q5", "Total paid, 5% quantile"),
    ("agreement_total_paid_q95", "Total paid, 95% quantile"),
    ("agreement_tail_loss_95", "Losses, mean of the worst 5%"),
)


def esc(text: Any) -> str:
    """HTML-escaped text."""
    return html.escape(str(text), quote=True)


def show(x: float, units: str) -> str:
    """A figure as shown: probabilities and rates in %, money in whole dollars."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "no limit" if x > 0 else "−no limit"
    if units == "USD":
        return f"−${-x:,.0f}" if x < 0 else f"${x:,.0f}"
    if units == "1":
        return f"{x:.1%}"
    return f"{x:,.4g}"


def interval(low: float, high: float, units: str) -> str:
    """A 95% interval as shown (``6.1% – 8.4%``)."""
    return f"{show(low, units)} – {show(high, units)}"


def figure_cell(row: Any, units: str, *, design: str, metric: str, year: str) -> str:
    """One ``<td>``: the figure, its interval below, the exact value in ``data-value``."""
    v, lo, hi = float(row["value"]), float(row["low"]), float(row["high"])
    return (f'<td class="fig" data-design="{esc(design)}" data-metric="{esc(metric)}" '
            f'data-year="{esc(year)}" data-value="{v!r}" data-low="{lo!r}" '
            f'data-high="{hi!r}"><span class="v">{esc(show(v, units))}</span>'
            f'<span class="ci">{esc(interval(lo, hi, units))}</span></td>')


def summary_html(frame: pd.DataFrame, year: str, *,
                 metrics: Sequence[tuple[str, str]] | None = None,
                 css_class: str = "summary") -> str:
    """A table of one year's figures (or the agreement's), each with its 95% interval.

    A row per figure, a column per design. ``metrics`` picks and labels rows (default:
    every figure of that year, labelled by its description); rows the frame does not
    hold are left out.
    """
    f = frame[frame["year"] == year]
    designs = list(dict.fromkeys(frame["design"]))
    if metrics is None:
        metrics = [(m, str(d)) for m, d in
                   dict.fromkeys(zip(f["metric"], f["description"], strict=True))]
    index = f.set_index(["metric", "design"])
    head = "".join(f'<th scope="col">{esc(d)}</th>' for d in designs)
    rows = []
    for metric, label in metrics:
        if (metric, designs[0]) not in index.index:
            continue
        cells = []
        for d in designs:
            r = index.loc[(metric, d)]
            cells.append(figure_cell(r, str(r["units"]), design=d, metric=metric, year=year))
        rows.append(f'<tr><th scope="row" title="{esc(metric)}">{esc(label)}</th>'
                    f'{"".join(cells)}</tr>')
    return (f'<table class="{css_class}"><thead><tr><th></th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def table_html(columns: Sequence[str], rows: Iterable[Sequence[str]], *,
               css_class: str = "plain", raw: bool = False) -> str:
    """A plain table; cells escaped unless ``raw`` (cells already HTML)."""
    cell = (lambda c: str(c)) if raw else esc
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def rst_to_html(text: str) -> str:
    """Docstring text as HTML: paragraphs, ````code```` and ``:mod:`name``` as code.

    Examples
    --------
    >>> rst_to_html("Savings clear the MSR when ``gross >= MSR × B``.")
    '<p>Savings clear the MSR when <code>gross &gt;= MSR × B</code>.</p>'
    >>> rst_to_html("carried (:mod:`simsav.reconcile`)")
    '<p>carried (<code>simsav.reconcile</code>)</p>'
    """
    paras = []
    for p in text.split("\n\n"):
        p = re.sub(r":\w+:`~?([^`]+)`", r"``\1``", p)
        parts = re.split(r"``(.+?)``", esc(" ".join(p.split())))
        paras.append("".join(f"<code>{s}</code>" if i % 2 else s for i, s in enumerate(parts)))
    return "".join(f"<p>{p}</p>" for p in paras if p)
