"""Page 3, the settlement calculator: one ACO-year through a preset's waterfall.

Every step of :func:`simsav.settlement.rules.settle_steps` is shown with its rule (the
regulation and the rows of CMS's settlement report it follows) and the outputs it sets,
each with its row of CMS's report (:data:`simsav.settlement.fields.FIELDS`). The contract
is a preset with any term overridden, validated as a scenario's design is.
"""

from __future__ import annotations

import math
import tomllib
from typing import Any

import panel as pn

from simsav.app.compare import preset_html
from simsav.app.fmt import esc, rst_to_html
from simsav.app.form import parse_value
from simsav.app.widgets import FieldBox, MessageBox, html
from simsav.contracts import PRESETS, Contract, ContractError, get_preset
from simsav.settlement.fields import applies_to, field
from simsav.settlement.rules import settle_steps

__all__ = ["SettlePage", "show_output"]

#: The calculator's inputs: (key, label, help, initial text).
_INPUTS: tuple[tuple[str, str, str, str], ...] = (
    ("benchmark", "Benchmark per capita, USD", "Updated benchmark per person-year (> 0).",
     "12000"),
    ("expenditure", "Expenditure per capita, USD", "Actual expenditure per person-year "
     "(≥ 0).", "11500"),
    ("n_beneficiaries", "Assigned beneficiaries", "Sets the sliding-scale MSR/MLR (> 0).",
     "20000"),
    ("quality", "Quality score (0–1)", "The ACO's quality score.", "0.9"),
    ("revenue", "ACO participants' A+B FFS revenue, USD (optional)",
     "For revenue-based loss limits; blank: unknown (the benchmark limit applies).", ""),
    ("agreement_year", "Agreement year (optional)", "Year of the agreement period, for "
     "year-by-year loss limits (default 1).", ""),
    ("euc_fraction", "EUC share of losses forgiven (optional)", "Share of beneficiaries "
     "affected × share of the year affected, 0–1.", ""),
)


def show_output(x: Any, kind: str) -> str:
    """A settlement output as shown: dollars to the cent, rates in %, flags yes/no.

    Examples
    --------
    >>> show_output(4410000.0, "money"), show_output(0.025, "rate"), show_output(True, "flag")
    ('$4,410,000.00', '2.500%', 'yes')
    """
    if kind == "flag":
        return "yes" if x else "no"
    if kind == "outcome":
        return str(x)
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "no limit"
    if kind == "money":
        return f"−${-x:,.2f}" if x < 0 else f"${x:,.2f}"
    return f"{x:.3%}"


class SettlePage:
    """The settlement-calculator page (a Panel layout: :attr:`panel`)."""

    def __init__(self, preset: str = "mssp-track1-2012"):
        self.preset = pn.widgets.Select(label="Preset", options=list(PRESETS), value=preset,
                                        width=300, css_classes=["s-preset"])
        self.terms = pn.widgets.TextAreaInput(
            label="Terms overriding the preset (TOML)", height=70, placeholder="msr = 0.02",
            css_classes=["s-terms"], width=400)
        self.terms_message = MessageBox("terms")
        self.about = html("", css_classes=["simsav-note", "s-about"], width=520)
        self.fields = {k: FieldBox(k, label, help_) for k, label, help_, _ in _INPUTS}
        for k, _, _, text in _INPUTS:
            self.fields[k].text = text
        self.low_revenue = pn.widgets.Checkbox(label="Low-revenue ACO (may share below the "
                                               "MSR at the reduced rate)",
                                               css_classes=["s-low-revenue"])
        self.general = MessageBox("general")
        self.steps = html("", css_classes=["steps"], sizing_mode="stretch_width")
        for w in (self.preset, self.terms, self.low_revenue):
            w.param.watch(lambda *_: self.update(), "value")
        for box in self.fields.values():
            box.watch(lambda *_: self.update())
        f = self.fields
        form = pn.Column(
            pn.pane.Markdown("### One ACO-year"),
            self.preset, self.about, self.terms, self.terms_message.pane,
            pn.Row(f["benchmark"].panel, f["expenditure"].panel),
            pn.Row(f["n_beneficiaries"].panel, f["quality"].panel),
            f["revenue"].panel, pn.Row(f["agreement_year"].panel, f["euc_fraction"].panel),
            self.low_revenue, self.general.pane, width=560, margin=(0, 20, 0, 0))
        self.panel = pn.Row(form, pn.Column(pn.pane.Markdown("### The waterfall, step by step"),
                                            self.steps, sizing_mode="stretch_width"),
                            sizing_mode="stretch_width")
        self.update()

    def contract(self) -> tuple[Contract | None, list[str]]:
        """The preset with the overriding terms, or the messages saying why not."""
        c = get_preset(str(self.preset.value))
        self.about.object = preset_html(c.description, folded=False)
        text = str(self.terms.value or "")
        try:
            terms = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            return None, [f"not valid TOML: {err}"]
        if not terms:
            return c, []
        try:
            return c.with_terms(**terms), []
        except ContractError as err:
            found = getattr(err, "problems", None) or [("", str(err))]
            return None, [f"{k}: {m}" if k else m for k, m in found]

    def inputs(self) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """The keyword arguments of :func:`simsav.settle_one` and any problems by field."""
        out: dict[str, Any] = {}
        found: dict[str, list[str]] = {}
        for k, box in self.fields.items():
            v = parse_value(box.text)
            if v is None:
                if k in ("benchmark", "expenditure", "n_beneficiaries"):
                    found[k] = ["required"]
                continue
            if isinstance(v, bool) or not isinstance(v, int | float):
                found[k] = [f"must be a number (got {box.text.strip()})"]
                continue
            out[k] = v
        if self.low_revenue.value:
            out["low_revenue"] = True
        return out, found

    def update(self) -> None:
        """Settle again and show every step (or each problem beside its field)."""
        contract, bad_terms = self.contract()
        self.terms_message.show(bad_terms)
        kw, found = self.inputs()
        steps = None
        if contract is not None and not found:
            try:
                steps = settle_steps(contract, **kw)
            except ValueError as err:  # settle names the argument: "benchmark: must be > 0"
                key, _, msg = str(err).partition(": ")
                if key in self.fields and msg:
                    found[key] = [msg]
                else:
                    found["general"] = [str(err)]
        for k, box in self.fields.items():
            box.message.show(found.get(k, []))
        self.general.show(found.get("general", []))
        if steps is None:
            self.steps.object = ("<p class='simsav-note'>Fix the problems shown in red to see "
                                 "the settlement.</p>")
            return
        assert contract is not None
        self.steps.object = self.render(contract, steps)

    def render(self, contract: Contract, steps: list[dict[str, Any]]) -> str:
        """The waterfall as an HTML table: a row per step's rule, a row per output."""
        rows = []
        for s in steps:
            rows.append(f'<tr class="rule" data-step="{s["step"]}"><td colspan="4">'
                        f'{rst_to_html(s["rule"])}</td></tr>')
            shown = [n for n in s["values"] if applies_to(field(n), contract)]
            if not shown:
                rows.append('<tr><td colspan="4" class="simsav-note">Nothing in this step '
                            "applies to this contract.</td></tr>")
            for name in shown:
                value, f = s["values"][name], field(name)
                num = value if isinstance(value, int | float) else float("nan")
                rows.append(
                    f'<tr class="out" data-field="{esc(name)}" data-value="{num!r}">'
                    f'<td class="{"sub" if f.label.startswith(" ") else ""}">'
                    f'{esc(f.label.strip())}</td>'
                    f'<td class="num">{esc(show_output(value, f.kind))}</td>'
                    f'<td>{esc(f.report_row or "")}</td><td>{esc(f.doc)}</td></tr>')
        head = ("<thead><tr><th>Output</th><th>Value</th><th>CMS report row</th>"
                "<th>What it is</th></tr></thead>")
        return (f'<table class="steps">{head}<tbody>{"".join(rows)}</tbody></table>'
                "<p class='simsav-note'>Sources in brackets: [V] verified in the primary "
                "text, [S] a secondary source, [D] derived, [U] unverified. "
                "Rows [A]–[GG] are those of CMS's Financial Reconciliation Report.</p>")
