"""Page 2, MSR sizing: the MSR/MLR that hold the chance of a payout by luck under α.

Sizes, α, the spending model (a scenario's ``[spending]`` table, validated by the same
schema) and its truncation go to :func:`simsav.msr_curve` in a process of its own; the
page draws the curve against the normal approximation and CMS's table
(:func:`simsav.plot_msr_curve`) with the table of numbers below it.
"""

from __future__ import annotations

import json
import math
from typing import Any

import panel as pn
from pydantic import ValidationError

from simsav.app import jobs
from simsav.app.fmt import esc, table_html
from simsav.app.form import parse_value
from simsav.app.widgets import FieldBox, MessageBox, SpendingFields, html
from simsav.spending import SpendingSpec
from simsav.validation import problems

__all__ = ["MSRPage", "read_sizes"]

_METHODS = ["simulate", "normal", "cms-2011"]


def read_sizes(text: str) -> tuple[list[int], str]:
    """Population sizes from ``"1000, 5000"``: the sizes, or a message saying why not.

    Examples
    --------
    >>> read_sizes("1000, 5_000 20000")
    ([1000, 5000, 20000], '')
    >>> read_sizes("1000, 2.5")[1]
    'each size must be a whole number from 1 to 20,000,000 (got 2.5)'
    """
    items = [t for t in text.replace(",", " ").split() if t]
    if not items:
        return [], "give at least one size, e.g. 1000, 5000, 20000"
    out = []
    for t in items:
        v = parse_value(t)
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 20_000_000:
            return [], f"each size must be a whole number from 1 to 20,000,000 (got {t})"
        out.append(v)
    return out, ""


def _number(text: str, lo: float, hi: float, *, whole: bool = False,
            open_lo: bool = False, open_hi: bool = False) -> tuple[Any, str]:
    v = parse_value(text)
    kind = "a whole number" if whole else "a number"
    rng = f"{'(' if open_lo else '['}{lo:g}, {hi:g}{')' if open_hi else ']'}"
    ok = (not isinstance(v, bool) and isinstance(v, int | float)
          and (not whole or isinstance(v, int)) and math.isfinite(v)
          and (v > lo if open_lo else v >= lo) and (v < hi if open_hi else v <= hi))
    return (v, "") if ok else (None, f"must be {kind} in {rng} (got {text.strip() or 'nothing'})")


class MSRPage:
    """The MSR-sizing page (a Panel layout: :attr:`panel`)."""

    def __init__(self) -> None:
        self.job: jobs.Job | None = None
        self._poller: Any = None
        f = self.fields = {
            "sizes": FieldBox("sizes", "Assigned beneficiaries (sizes)",
                              "Population sizes, separated by commas or spaces.", width=400),
            "alpha": FieldBox("alpha", "α (chance of a payout by luck)",
                              "In (0, 0.5); CMS's table was built for about 0.05 to 0.10.",
                              width=230),
            "method": FieldBox("method", "Method",
                               "simulate: the 1−α quantile of simulated savings rates with "
                               "no true savings; normal: the normal approximation; "
                               "cms-2011: CMS's own 2011 derivation.", options=_METHODS),
            "sims": FieldBox("sims", "Simulations per size", "100 to 10,000,000 (simulate)."),
            "seed": FieldBox("seed", "Seed", "The same seed gives the same curve."),
        }
        f["sizes"].text = "1000, 5000, 10000, 20000, 50000, 100000"
        f["alpha"].text, f["method"].text = "0.05", "simulate"
        f["sims"].text, f["seed"].text = "20000", "0"
        self.spending = SpendingFields()
        self.spending.fields["spending.model"].text = "medicare-ffs"
        self.spending.fields["spending.mean"].text = "11000"
        self.spending_message = MessageBox("spending")
        self.run = pn.widgets.Button(label="Size the MSR", color="primary",
                                     css_classes=["run-msr"])
        self.cancel = pn.widgets.Button(label="Cancel", color="warning", disabled=True,
                                        css_classes=["cancel-msr"])
        self.run.on_click(lambda _: self.start())
        self.cancel.on_click(lambda _: self.stop())
        self.progress = pn.indicators.Progress(value=-1, active=False, visible=False,
                                               sizing_mode="stretch_width")
        self.status = html("", css_classes=["msr-status"], sizing_mode="stretch_width")
        for box in [*f.values(), *self.spending.fields.values()]:
            box.watch(lambda *_: self.check())
        self.plot = pn.pane.PNG(None, width=640, visible=False, css_classes=["msr-plot"])
        self.table = html("", css_classes=["msr-table"], sizing_mode="stretch_width")
        self.note = html("", css_classes=["simsav-note"], sizing_mode="stretch_width")
        form = pn.Column(
            pn.pane.Markdown("### MSR sizing"),
            html("<p>The minimum savings rate that keeps the chance of shared "
                         "savings by luck alone, with no true savings, under α — and the "
                         "symmetric MLR for losses — by population size.</p>",
                         css_classes=["simsav-note"]),
            f["sizes"].panel, pn.Row(f["alpha"].panel, f["method"].panel),
            pn.Row(f["sims"].panel, f["seed"].panel),
            pn.pane.Markdown("#### Spending per beneficiary-year"),
            self.spending.panel, self.spending_message.pane,
            pn.Row(self.run, self.cancel), self.progress, self.status,
            width=560, margin=(0, 20, 0, 0))
        self.panel = pn.Row(form, pn.Column(pn.pane.Markdown("### The curve"), self.plot,
                                            self.note, self.table,
                                            sizing_mode="stretch_width"),
                            sizing_mode="stretch_width")
        self.spending.refresh()
        self.check()

    def read(self) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
        """The arguments of :func:`simsav.msr_curve`, or the problems by field."""
        f = self.fields
        found: dict[str, list[str]] = {}
        sizes, msg = read_sizes(f["sizes"].text)
        if msg:
            found["sizes"] = [msg]
        alpha, msg = _number(f["alpha"].text, 0, 0.5, open_lo=True, open_hi=True)
        if msg:
            found["alpha"] = [msg]
        sims, msg = _number(f["sims"].text, 100, 10_000_000, whole=True)
        if msg:
            found["sims"] = [msg]
        seed, msg = _number(f["seed"].text, 0, 2**63 - 1, whole=True)
        if msg:
            found["seed"] = [msg]
        spending: dict[str, Any] = {}
        for k, text in self.spending.given().items():
            v = parse_value(text)
            if v is not None:
                spending[k] = v
        try:
            SpendingSpec.model_validate(spending)
        except ValidationError as err:
            for key, m in problems(err, spending, SpendingSpec):
                k = f"spending.{key}"
                found.setdefault(k if k in self.spending.fields else "spending", []).append(
                    m if k in self.spending.fields else f"{key}: {m}")
        except ValueError as err:  # a model's own check (e.g. cv against zero_share)
            found.setdefault("spending", []).append(str(err))
        if found:
            return None, found
        return {"sizes": sizes, "spending": spending,
                "options": {"alpha": alpha, "method": f["method"].text, "n_sims": sims,
                            "seed": seed}}, {}

    def check(self) -> dict[str, Any] | None:
        """Validate; show each message beside its field. Returns the arguments or None."""
        self.spending.refresh()
        args, found = self.read()
        for k, box in self.fields.items():
            box.message.show(found.get(k, []))
        for k, box in self.spending.fields.items():
            box.message.show(found.get(k, []))
        self.spending_message.show(found.get("spending", []))
        running = self.job is not None and self.job.state == "running"
        self.run.disabled = args is None or running
        return args

    def start(self) -> None:
        """Compute the curve in a process of its own."""
        if self.job is not None and self.job.state == "running":
            return
        args = self.check()
        if args is None:
            return
        self.job = jobs.Job("msr", args["sizes"], args["spending"], args["options"]).start()
        self.progress.visible, self.progress.active = True, True
        self.run.disabled, self.cancel.disabled = True, False
        self.status.object = "<p>Sizing…</p>"
        self._poller = pn.state.add_periodic_callback(self._poll, period=150)

    def stop(self) -> None:
        """Cancel the computation."""
        if self.job is not None and self.job.state == "running":
            self.job.cancel()
            self._poll()
            self.status.object = "<p class='cancelled'>Cancelled.</p>"

    def close(self) -> None:
        """The tab went away: stop its computation."""
        if self.job is not None:
            self.job.cancel()

    def _poll(self) -> None:
        job = self.job
        if job is None or job.poll() == "running":
            return
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        self.progress.visible, self.progress.active = False, False
        self.cancel.disabled = True
        if job.state == "done":
            self.status.object = f"<p class='done'>Done in {job.seconds:.1f} s.</p>"
            self._show(job.result)
        elif job.state == "failed":
            self.status.object = f"<p class='simsav-error'>Failed: {esc(job.error)}</p>"
        self.check()

    def _show(self, r: dict[str, Any]) -> None:
        self.plot.object, self.plot.visible = r["png"], True
        t = r["table"]
        simulated = r["method"] == "simulate"

        def pct(x: float) -> str:
            return "–" if not math.isfinite(x) else f"{x:.2%}"

        cols = ["Beneficiaries", f"MSR ({r['method']})"]
        cols += ["95% band"] if simulated else []
        cols += ["MLR", "Normal approximation", "CMS 2011 derivation",
                 "CMS table (42 CFR 425.604(b))"]
        cols += ["P(clear the CMS MSR by luck)"] if simulated else []
        rows = []
        for _, x in t.iterrows():
            row = [f"{int(x['size']):,}", pct(x["msr"])]
            row += [f"{pct(x['msr_low'])} – {pct(x['msr_high'])}"] if simulated else []
            row += [pct(x["mlr"]), pct(x["normal"]), pct(x["cms_2011"]), pct(x["cms_table"])]
            row += [pct(x["p_clear_cms_table"])] if simulated else []
            rows.append(row)
        self.table.object = table_html(cols, rows, css_class="plain msr")
        spending = ", ".join(f"{k} = {v}" for k, v in json.loads(r["spending"]).items())
        self.note.object = (
            f"<p>Spending: {esc(spending)}; mean after truncation "
            f"${r['mean_truncated']:,.0f}, CV after truncation {r['cv_truncated']:.3f}. "
            "The MLR is the symmetric one (minus the α quantile).</p>")
