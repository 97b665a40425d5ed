"""A run as a report: a formatted Excel workbook and a self-contained HTML page.

Both are built from the same pieces — the run's provenance (version, seed, sims, the
scenario and its SHA-256), the designs with their presets and the sources those cite, and
every figure of :func:`simsav.summarize` as the tidy long table of
:func:`simsav.results.tidy.summary_long` (each with its Monte Carlo standard error) — plus
the charts, given as PNG bytes (:func:`simsav.plotting.report_figures` draws them).

* :func:`write_workbook` — sheets *Inputs* (provenance, designs, sources, the scenario),
  *Summary* (headline figures per design and year, with number formats and units),
  *Per year* and *Agreement* (every figure with its SE and interval) and *Charts*
  (the images). Needs ``openpyxl`` (``pip install "simsav[excel]"``).
* :func:`write_html` — one page with the same tables, the charts embedded as base64 and
  the styles inline: no external asset, it opens offline and can be mailed as one file.

Examples
--------
>>> import simsav as ss
>>> from simsav.plotting import report_figures
>>> ds = ss.simulate(ss.load_scenario("rural-aco-5k.toml"), n_sims=2000)  # doctest: +SKIP
>>> write_report(ds, "report/", figures=report_figures(ds))  # doctest: +SKIP
{'xlsx': PosixPath('report/report.xlsx'), 'html': PosixPath('report/report.html')}
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import xarray as xr

from simsav import __version__
from simsav.contracts.presets import PRESETS
from simsav.contracts.sources import RELIABILITY, SOURCES, cited_ids
from simsav.results.files import atomic_write
from simsav.results.formats import fmt_money, fmt_pct
from simsav.results.summary import summarize
from simsav.results.tidy import summary_long

__all__ = ["Figure", "HEADLINE", "Report", "build_report", "render_html", "with_se",
           "write_html", "write_report", "write_workbook"]


class Figure(NamedTuple):
    """A chart of the report: a key, a caption and its PNG bytes."""

    key: str
    caption: str
    png: bytes


#: Headline figures of the *Summary* sheet and table: (metric, label, units); those the
#: summary does not give are left out.
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("p_clear_msr", "P(clear MSR)", "1"),
    ("p_owe_loss", "P(owe losses)", "1"),
    ("p_corridor", "P(corridor)", "1"),
    ("expected_earned", "E[earned savings]", "USD"),
    ("expected_losses", "E[shared losses]", "USD"),
    ("expected_aco_net", "E[ACO net]", "USD"),
    ("expected_aco_paid", "E[paid to ACO]", "USD"),
    ("expected_payer_net", "E[payer net]", "USD"),
    ("aco_net_q5", "ACO net, 5%", "USD"),
    ("aco_net_q95", "ACO net, 95%", "USD"),
)

#: Excel number formats by units.
_XL_FORMATS = {"1": "0.00%", "USD": '"$"#,##0;[Red]-"$"#,##0'}

_PROVENANCE = (
    ("scenario", "Scenario"),
    ("description", "Description"),
    ("simsav_version", "simsav version of the run"),
    ("seed", "Seed"),
    ("n_sims", "Sims"),
    ("block_size", "Block size (sims per random block)"),
    ("draws", "Spending draws"),
    ("agreement", "Agreement"),
    ("scenario_sha256", "Scenario SHA-256"),
    ("sign_convention", "Sign convention"),
    ("intervals", "Intervals"),
)


@dataclass
class Report:
    """What a report shows, whatever its format."""

    title: str
    provenance: list[tuple[str, Any]]
    designs: list[dict[str, str]]
    sources: list[tuple[str, str, str]]
    table: pd.DataFrame
    scenario_toml: str
    figures: list[Figure] = field(default_factory=list)

    @property
    def years(self) -> list[int]:
        """The agreement years the table holds."""
        return sorted({y for y in self.table["year"] if isinstance(y, int)})


def _toml(v: Any) -> str:
    """A value as written in a scenario file: ``0.02``, ``"none"``, ``{ budget = 0.005 }``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return str(v)


def _designs(scn: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for d in scn.get("designs", []):
        preset = d.get("preset") or ", ".join(d.get("glide") or []) or "(terms only)"
        first = d.get("preset") or (d.get("glide") or [None])[0]
        terms = {k: v for k, v in d.items() if k not in ("name", "preset", "glide")
                 and not (k == "reconciliation" and v == "annual")
                 and not (k == "interim_payments" and v is True)}
        out.append({
            "name": str(d.get("name", "")),
            "preset": preset,
            "overrides": ", ".join(f"{k} = {_toml(v)}" for k, v in terms.items()) or "none",
            "description": PRESETS[first].description if first in PRESETS else "",
        })
    return out


def _sources(designs: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    ids: list[str] = []
    for d in designs:
        ids += [i for i in cited_ids(d["description"]) if i not in ids]
    return [(i, SOURCES[i].citation, SOURCES[i].where) for i in ids if i in SOURCES]


def build_report(ds: xr.Dataset, *, summary: Any = None, figures: Sequence[Figure] = (),
                 source: str | None = None) -> Report:
    """Gather what a report shows: provenance, designs, sources, every figure, charts.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate` (or :func:`simsav.open_dataset`).
    summary : optional
        Its summary (default: ``summarize(ds)``), a Dataset or the tidy table.
    figures : sequence of Figure
        The charts (:func:`simsav.plotting.report_figures`).
    source : str, optional
        The file the run came from, for the provenance.
    """
    summary = summarize(ds) if summary is None else summary
    table = summary_long(summary)
    toml_text = str(ds.attrs.get("scenario_toml", ""))
    scn = tomllib.loads(toml_text) if toml_text else {}
    attrs = {**ds.attrs, "description": scn.get("description", ""),
             "n_sims": ds.sizes["sim"]}
    if getattr(summary, "attrs", {}).get("intervals"):
        attrs["intervals"] = summary.attrs["intervals"]
    else:
        attrs["intervals"] = ("Monte Carlo standard errors; intervals at 95% (normal, "
                              "probabilities clipped to [0, 1])")
    prov: list[tuple[str, Any]] = [(label, attrs[k]) for k, label in _PROVENANCE
                                   if str(attrs.get(k, ""))]
    if source:
        prov.append(("Results from", source))
    prov.append(("Report made with", f"simsav {__version__}, "
                 f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC"))
    designs = _designs(scn)
    return Report(title=f"simsav report: {ds.attrs.get('scenario', 'results')}",
                  provenance=prov, designs=designs, sources=_sources(designs),
                  table=table, scenario_toml=toml_text, figures=list(figures))


# --------------------------------------------------------------------------------------
# Text of one figure
# --------------------------------------------------------------------------------------

def _fmt(x: float, units: str) -> str:
    if units == "USD":
        return fmt_money(x)
    if units == "1":
        return fmt_pct(x, decimals=2)
    return "–" if not math.isfinite(x) else f"{x:,.4g}"


def with_se(value: float, se: float, units: str) -> str:
    """``12.34% ± 0.45%`` or ``$1.2M ± $35k``: a figure and its Monte Carlo standard error.

    Examples
    --------
    >>> with_se(0.1234, 0.0045, "1"), with_se(1.2e6, 35_000, "USD"), with_se(3.0, math.nan, "1")
    ('12.34% ± 0.45%', '$1.2M ± $35k', '300.00%')
    """
    text = _fmt(value, units)
    return text if not math.isfinite(se) else f"{text} ± {_fmt(se, units)}"


def _headline(rep: Report) -> list[tuple[str, str, str]]:
    have = set(rep.table["metric"])
    return [h for h in HEADLINE if h[0] in have]


def _headline_rows(rep: Report) -> list[tuple[str, int, list[tuple[float, float, str]]]]:
    t = rep.table.set_index(["design", "year", "metric"])
    rows = []
    for d in dict.fromkeys(rep.table["design"]):
        for y in rep.years:
            cells = []
            for metric, _, units in _headline(rep):
                key = (d, y, metric)
                cells.append((float(t.loc[key, "value"]), float(t.loc[key, "se"]), units)
                             if key in t.index else (math.nan, math.nan, units))
            rows.append((d, y, cells))
    return rows


# --------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------

def write_workbook(rep: Report, path: str | Path) -> Path:
    """Write the report as an Excel workbook (atomically); needs openpyxl.

    Raises
    ------
    ImportError
        If openpyxl is not installed (``pip install "simsav[excel]"``).
    """
    import openpyxl
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DCE6F1")
    wb = openpyxl.Workbook()

    ws = wb.active
    ws.title = "Inputs"
    ws.append([rep.title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    for k, v in rep.provenance:
        ws.append([k, _cell(v)])
        ws.cell(ws.max_row, 1).font = bold
    ws.append([])
    ws.append(["Design", "Preset", "Terms overridden", "Preset terms and sources"])
    _header(ws, ws.max_row, bold, head_fill)
    for d in rep.designs:
        ws.append([d["name"], d["preset"], d["overrides"], d["description"]])
        ws.cell(ws.max_row, 4).alignment = Alignment(wrap_text=True, vertical="top")
    ws.append([])
    ws.append(["Source", "Citation", "Where"])
    _header(ws, ws.max_row, bold, head_fill)
    for k, v in RELIABILITY.items():
        ws.append([f"[{k}]", v, "reliability of a term"])
    for row in rep.sources:
        ws.append(list(row))
    ws.append([])
    ws.append(["Scenario (TOML)"])
    ws.cell(ws.max_row, 1).font = bold
    mono = Font(name="Consolas")
    for line in rep.scenario_toml.splitlines():
        ws.append([line])
        ws.cell(ws.max_row, 1).font = mono
    for col, width in zip("ABCD", (34, 40, 40, 100), strict=True):
        ws.column_dimensions[col].width = width

    ws = wb.create_sheet("Summary")
    head = _headline(rep)
    ws.append(["Design", "Year"] + [x for _, label, _ in head for x in (label, "± SE")])
    ws.append(["", ""] + [x for _, _, u in head for x in (_units_label(u), "Monte Carlo SE")])
    for r in (1, 2):
        _header(ws, r, bold, head_fill)
    for d, y, cells in _headline_rows(rep):
        ws.append([d, y] + [_cell(x) for v, se, _ in cells for x in (v, se)])
        for j, (_, _, units) in enumerate(cells):
            for k in (0, 1):
                ws.cell(ws.max_row, 3 + 2 * j + k).number_format = _XL_FORMATS[units]
    ws.freeze_panes = "C3"
    ws.column_dimensions["A"].width = 30
    for j in range(3, 3 + 2 * len(head)):
        ws.column_dimensions[get_column_letter(j)].width = 15

    years = rep.table[rep.table["year"] != "agreement"]
    agreement = rep.table[rep.table["year"] == "agreement"]
    for name, part in (("Per year", years), ("Agreement", agreement)):
        if part.empty:
            continue
        ws = wb.create_sheet(name)
        ws.append(["Design", "Year", "Metric", "Description", "Units", "Value",
                   "Monte Carlo SE", "Low", "High"])
        _header(ws, 1, bold, head_fill)
        for r in part.itertuples(index=False):
            ws.append([r.design, r.year, r.metric, r.description, _units_label(r.units),
                       *(_cell(x) for x in (r.value, r.se, r.low, r.high))])
            fmt = _XL_FORMATS.get(str(r.units), "0.0000")
            for c in range(6, 10):
                ws.cell(ws.max_row, c).number_format = fmt
        ws.freeze_panes = "A2"
        for col, width in zip("ABCDEFGHI", (30, 10, 30, 60, 16, 15, 15, 15, 15), strict=True):
            ws.column_dimensions[col].width = width

    if rep.figures:
        ws = wb.create_sheet("Charts")
        row = 1
        for fig in rep.figures:
            ws.cell(row, 1, fig.caption).font = bold
            img = Image(_as_file(fig.png))
            ws.add_image(img, f"A{row + 1}")
            row += 2 + math.ceil(img.height / 20)

    return atomic_write(path, lambda p: wb.save(p))


def _units_label(units: str) -> str:
    return {"1": "probability / rate", "USD": "USD per year"}.get(str(units), str(units))


def _cell(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _header(ws: Any, row: int, font: Any, fill: Any) -> None:
    for c in ws[row]:
        c.font = font
        c.fill = fill


def _as_file(png: bytes) -> Any:
    return io.BytesIO(png)


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #4a6fa5;padding-bottom:.2em;
margin-top:1.8em}table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccd;padding:.3em .6em;vertical-align:top}
th{background:#dce6f1;text-align:left}td.num{text-align:right;white-space:nowrap;
font-variant-numeric:tabular-nums}tr:nth-child(even) td{background:#f7f9fc}
figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}pre{background:#f5f5f5;padding:.8em;overflow-x:auto;
font-size:.85em}.note{color:#555;font-size:.9em}details summary{cursor:pointer;
font-weight:600;margin:.6em 0}.se{color:#666;font-size:.88em}.wide{overflow-x:auto}
"""


class _Html(str):
    """Text already in HTML (not escaped again)."""


def _e(x: Any) -> str:
    return x if isinstance(x, _Html) else html.escape(str(x))


def _se_cell(value: float, se: float, units: str) -> _Html:
    """A figure over its standard error, on two lines, to keep wide tables narrow."""
    text = html.escape(_fmt(value, units))
    if math.isfinite(se):
        text += f'<br><span class="se">± {html.escape(_fmt(se, units))}</span>'
    return _Html(text)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], num_from: int = 99) -> str:
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(
            f'<td class="num">{_e(c)}</td>' if j >= num_from else f"<td>{_e(c)}</td>"
            for j, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _long_rows(part: pd.DataFrame) -> list[list[str]]:
    return [[r.design, r.year, r.description or r.metric, with_se(r.value, r.se, r.units),
             f"{_fmt(r.low, r.units)} to {_fmt(r.high, r.units)}"
             if math.isfinite(r.low) else ""]
            for r in part.itertuples(index=False)]


#: Short labels of the figures over the agreement (others show their description).
_AGREEMENT_LABELS = {
    "agreement_p_any_year_paid": "P(paid in any year)",
    "agreement_p_ahead": "P(paid more than owed over the agreement)",
    "agreement_expected_total_paid": "E[total paid to the ACO], net",
}


def render_html(rep: Report) -> str:
    """The report as one self-contained HTML page (styles inline, images as base64)."""
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>{_e(rep.title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{_e(rep.title)}</h1>"]
    desc = dict(rep.provenance).get("Description")
    if desc:
        parts.append(f"<p>{_e(desc)}</p>")
    parts.append('<p class="note">Every figure is a Monte Carlo estimate shown with its '
                 'standard error (± SE, in grey); amounts are per year in USD, positive when '
                 'paid to the ACO.</p>')
    parts.append("<h2>Headline figures</h2>")
    head = ["Design", "Year"] + [label for _, label, _ in _headline(rep)]
    rows = [[d, y, *(_se_cell(v, se, u) for v, se, u in cells)]
            for d, y, cells in _headline_rows(rep)]
    parts.append('<div class="wide">' + _table(head, rows, num_from=2) + "</div>")
    agreement = rep.table[rep.table["year"] == "agreement"]
    if not agreement.empty and len(rep.years) > 1:
        parts.append("<h2>Over the agreement</h2>")
        designs = list(dict.fromkeys(agreement["design"]))
        rows = []
        for metric, part in agreement.groupby("metric", sort=False):
            by = part.set_index("design")
            first = part.iloc[0]
            rows.append([_AGREEMENT_LABELS.get(str(metric), first["description"] or metric),
                         *(_se_cell(float(by.loc[d, "value"]), float(by.loc[d, "se"]),
                                    str(first["units"])) if d in by.index else ""
                           for d in designs)])
        parts.append('<div class="wide">' + _table(["Figure", *designs], rows, num_from=1)
                     + "</div>")
    if rep.figures:
        parts.append("<h2>Charts</h2>")
        for fig in rep.figures:
            b64 = base64.b64encode(fig.png).decode("ascii")
            parts.append(f'<figure id="{_e(fig.key)}"><img alt="{_e(fig.caption)}" '
                         f'src="data:image/png;base64,{b64}"><figcaption>{_e(fig.caption)}'
                         "</figcaption></figure>")
    parts.append("<h2>Every figure</h2><details><summary>Per year and over the agreement, "
                 "with standard errors and intervals</summary>")
    parts.append(_table(["Design", "Year", "Figure", "Value ± SE", "Interval"],
                        _long_rows(rep.table), num_from=3))
    parts.append("</details>")
    parts.append("<h2>Designs</h2>")
    parts.append(_table(["Design", "Preset", "Terms overridden", "Preset terms and sources"],
                        [[d["name"], d["preset"], d["overrides"], d["description"]]
                         for d in rep.designs]))
    parts.append("<h2>Sources</h2><p>Tags in the preset terms read [reliability source]."
                 "</p>")
    parts.append(_table(["Tag", "Meaning"], [[f"[{k}]", v] for k, v in RELIABILITY.items()]))
    if rep.sources:
        parts.append(_table(["Source", "Citation", "Where"], rep.sources))
    parts.append("<h2>Provenance</h2>")
    parts.append(_table(["", ""], rep.provenance))
    parts.append(f"<details><summary>Scenario (TOML)</summary><pre>{_e(rep.scenario_toml)}"
                 "</pre></details></body></html>")
    return "\n".join(parts)


def write_html(rep: Report, path: str | Path) -> Path:
    """Write the report as one self-contained HTML file (atomically)."""
    text = render_html(rep)
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_report(ds: xr.Dataset, directory: str | Path, *, figures: Sequence[Figure] = (),
                 xlsx: bool = True, html_page: bool = True,
                 source: str | None = None) -> dict[str, Path]:
    """Write ``report.xlsx`` and ``report.html`` for a run into ``directory``.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate` or :func:`simsav.open_dataset`.
    directory : str or Path
        Created if missing.
    figures : sequence of Figure
        The charts (:func:`simsav.plotting.report_figures`).
    xlsx, html_page : bool
        Which files to write.
    source : str, optional
        The file the run came from, for the provenance.

    Returns
    -------
    dict
        ``{"xlsx": path, "html": path}`` of the files written.
    """
    rep = build_report(ds, figures=figures, source=source)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    if xlsx:
        written["xlsx"] = write_workbook(rep, out / "report.xlsx")
    if html_page:
        written["html"] = write_html(rep, out / "report.html")
    return written
