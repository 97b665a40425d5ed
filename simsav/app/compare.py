"""Page 1, contract comparison: a scenario form, a run with progress and Cancel, results.

The form is the scenario file's (:mod:`simsav.app.form`): loading a file fills it, and
saving writes the file ``simsav run`` reads, which gives the same numbers for the same
seed. Every change is validated by the scenario schema and each message is shown beside
its field; Run starts only a valid scenario. The run happens in its own process
(:mod:`simsav.app.jobs`), polled by this page's session, so the page stays live, Cancel
stops it at once, and each browser tab has its own runs and results.
"""

from __future__ import annotations

import io
import tomllib
from collections.abc import Mapping
from typing import Any

import panel as pn

from simsav.app import jobs
from simsav.app.claims import ClaimsBox
from simsav.app.fmt import AGREEMENT_HEADLINE, YEAR_HEADLINE, esc, summary_html
from simsav.app.form import (
    FORM_KEYS,
    DesignRow,
    FormState,
    field_of,
    parse_value,
    split_scenario,
    to_toml,
    validate,
    with_sample_name,
    with_spending,
)
from simsav.app.widgets import FieldBox, MessageBox, SpendingFields, html
from simsav.contracts import PRESETS, Contract

__all__ = ["DEFAULT_SCENARIO", "ComparePage", "preset_html"]

#: What the form holds before anything is loaded: a small MSSP comparison.
DEFAULT_SCENARIO: dict[str, Any] = {
    "name": "my-aco", "seed": 2026, "sims": 2000,
    "population": {"beneficiaries": 5000},
    "spending": {"model": "medicare-ffs", "mean": 11000, "truncate_at": 150000},
    "aco": {"true_savings": 0.0, "benchmark_error_sd": 0.0},
    "quality": {"score": 0.9},
    "designs": [{"name": "Track 1", "preset": "mssp-track1-2012"},
                {"name": "BASIC E", "preset": "mssp-basic-e"},
                {"name": "ENHANCED", "preset": "mssp-enhanced"}],
}

_NO_PRESET = "(none: terms only)"

_REPORT_NOTE = ("<p>The report is the one <code>simsav report</code> writes: the provenance, "
                "every figure with its standard error, the charts.</p>")

_LABELS: dict[str, tuple[str, str]] = {
    "name": ("Scenario name", "A label for the scenario and its files."),
    "seed": ("Seed", "The same seed gives the same numbers, here and in simsav run."),
    "sims": ("Simulations", "Simulated ACO-years (1 to 10 million)."),
    "population.beneficiaries": ("Assigned beneficiaries",
                                 "1 to 20 million; also sets the sliding-scale MSR."),
    "aco.true_savings": ("True savings (fraction)",
                         "Fraction of spending the ACO really saves, −0.5 to 0.5 "
                         "(0.01 = 1%; negative: it overspends)."),
    "aco.benchmark_error_sd": ("Benchmark error SD",
                               "ACO-level error in the benchmark: its SD as a fraction of "
                               "the benchmark (0.01 = 1%)."),
    "quality.score": ("Quality score (0–1)", "A fixed quality score."),
    "quality.mean": ("Quality mean (0–1)", "Mean of the beta-distributed score."),
    "quality.sd": ("Quality SD", "SD of the beta-distributed score (sd² < mean(1 − mean))."),
}

_TERMS_HELP = ("Contract terms that override the preset, one per line as in a scenario "
               "file, e.g. msr = 0.02. Terms: " + ", ".join(
                   n for n in Contract.model_fields if n not in ("name", "description")))


def preset_html(description: str, *, folded: bool = True) -> str:
    """A preset's description: its first sentence, the rest (with sources) folded."""
    first, sep, rest = description.partition(". ")
    if not sep:
        return f"<p>{esc(description)}</p>"
    return (f"<details{'' if folded else ' open'}><summary>{esc(first)}.</summary>"
            f"<p>{esc(rest)}</p></details>")


class _DesignBox:
    """One design: name, preset (with its description and sources), overriding terms."""

    def __init__(self, row: DesignRow, on_change: Any, on_remove: Any):
        self.name = pn.widgets.TextInput(label="Design name", value=row.name, width=180,
                                         css_classes=["d-name"])
        options = [_NO_PRESET, *PRESETS]
        preset = row.preset or _NO_PRESET
        if preset not in options:
            options.append(preset)
        self.preset = pn.widgets.Select(label="Preset", options=options, value=preset,
                                        width=240, css_classes=["d-preset"])
        self.terms = pn.widgets.TextAreaInput(
            label="Terms overriding the preset (TOML)", value=row.terms, height=70,
            placeholder="msr = 0.02", description=_TERMS_HELP,
            sizing_mode="stretch_width", css_classes=["d-terms"])
        self.about = html("", css_classes=["simsav-note"], sizing_mode="stretch_width")
        self.message = MessageBox("design")
        self.remove = pn.widgets.Button(label="Remove", width=80, color="default",
                                        css_classes=["d-remove"])
        self.remove.on_click(lambda _: on_remove(self))
        for w in (self.name, self.preset, self.terms):
            w.param.watch(lambda *_: on_change(), "value")
        self.preset.param.watch(lambda *_: self._describe(), "value")
        self._describe()
        self.panel = pn.Card(
            pn.Row(self.name, self.preset, self.remove), self.about, self.terms,
            self.message.pane, hide_header=True, sizing_mode="stretch_width",
            css_classes=["design-row"], margin=(4, 0))

    def _describe(self) -> None:
        c = PRESETS.get(self.preset.value)
        self.about.object = "" if c is None else preset_html(c.description)

    def row(self) -> DesignRow:
        preset = "" if self.preset.value == _NO_PRESET else str(self.preset.value)
        return DesignRow(name=str(self.name.value or ""), preset=preset,
                         terms=str(self.terms.value or ""))


class ComparePage:
    """The contract-comparison page (a Panel layout: :attr:`panel`).

    Parameters
    ----------
    scenario : mapping, optional
        A parsed scenario file to start from (default :data:`DEFAULT_SCENARIO`).
    """

    def __init__(self, scenario: Mapping[str, Any] | None = None):
        self.job: jobs.Job | None = None
        self.report_job: jobs.Job | None = None
        self.result: dict[str, Any] | None = None
        self.report_files: dict[str, bytes] = {}
        self._poller: Any = None
        self._filling = False
        self._build_form()
        self._build_results()
        self.fill(split_scenario(scenario or DEFAULT_SCENARIO))
        self.panel = pn.Row(self.form, self.results, sizing_mode="stretch_width")

    # ------------------------------------------------------------------ the form
    def _build_form(self) -> None:
        self.fields: dict[str, FieldBox] = {}
        for key in ("name", "seed", "sims", "population.beneficiaries"):
            self.fields[key] = FieldBox(key, *_LABELS[key])
        self.spending = SpendingFields()
        self.fields.update(self.spending.fields)
        self.claims = ClaimsBox(self._use_fit, self._claims_uploaded)
        for key in ("aco.true_savings", "aco.benchmark_error_sd"):
            self.fields[key] = FieldBox(key, *_LABELS[key])
        self.fields["quality.distribution"] = FieldBox(
            "quality.distribution", "Quality", "A fixed score, or beta across sims.",
            options=["fixed", "beta"])
        for key in ("quality.score", "quality.mean", "quality.sd"):
            self.fields[key] = FieldBox(key, *_LABELS[key])
        assert set(self.fields) == set(FORM_KEYS)
        self.sections = {k: MessageBox(k) for k in
                         ("general", "population", "spending", "aco", "quality", "designs",
                          "extra")}
        self.design_boxes: list[_DesignBox] = []
        self.design_column = pn.Column(sizing_mode="stretch_width", margin=0)
        self.add_design = pn.widgets.Button(label="Add a design", color="default",
                                            css_classes=["add-design"])
        self.add_design.on_click(lambda _: self._add_design())
        self.extra = pn.widgets.TextAreaInput(
            label="Other scenario tables (TOML, as in a scenario file)", height=110,
            sizing_mode="stretch_width", css_classes=["f-extra"],
            placeholder="[agreement]\nyears = 3",
            description="Anything else a scenario file may hold: [agreement], [providers], "
                        "[distribution], [finances], [attribution], strata, more [aco] or "
                        "[quality] terms. Loaded files keep here what the form has no "
                        "field for.")
        self.upload = pn.widgets.FileInput(accept=".toml", multiple=False,
                                           css_classes=["load-scenario"])
        self.load_note = html("", css_classes=["simsav-note"])
        self.upload.param.watch(self._load, "value")
        self.save = pn.widgets.FileDownload(
            callback=self._scenario_file, filename="scenario.toml",
            label="Save scenario (TOML)", color="default", css_classes=["save-toml"])
        self.run = pn.widgets.Button(label="Run", color="primary", width=110,
                                     css_classes=["run"])
        self.cancel = pn.widgets.Button(label="Cancel", color="warning", width=110,
                                        disabled=True, css_classes=["cancel"])
        self.run.on_click(lambda _: self.start())
        self.cancel.on_click(lambda _: self.stop())
        self.progress = pn.indicators.Progress(value=0, max=1, sizing_mode="stretch_width",
                                               visible=False, css_classes=["run-progress"])
        self.status = html("", css_classes=["run-status"], sizing_mode="stretch_width")
        for f in self.fields.values():
            f.watch(lambda *_: self.check())
        self.fields["quality.distribution"].watch(lambda *_: self._quality_fields())
        self.extra.param.watch(lambda *_: self.check(), "value")
        f = self.fields
        col = pn.Column
        self.form = col(
            pn.pane.Markdown("### Scenario"),
            col(html("<b>Load a scenario file</b>"), self.upload, self.load_note),
            self.sections["general"].pane,
            pn.Row(f["name"].panel, f["seed"].panel, f["sims"].panel),
            pn.pane.Markdown("#### Population and spending"),
            f["population.beneficiaries"].panel, self.sections["population"].pane,
            self.spending.panel, self.sections["spending"].pane, self.claims.panel,
            pn.pane.Markdown("#### The ACO"),
            pn.Row(f["aco.true_savings"].panel, f["aco.benchmark_error_sd"].panel),
            self.sections["aco"].pane,
            pn.Row(f["quality.distribution"].panel, f["quality.score"].panel,
                   f["quality.mean"].panel, f["quality.sd"].panel),
            self.sections["quality"].pane,
            pn.pane.Markdown("#### Contract designs, on the same draws"),
            self.design_column, self.sections["designs"].pane, self.add_design,
            self.extra, self.sections["extra"].pane,
            pn.Row(self.run, self.cancel, self.save),
            self.progress, self.status,
            width=580, margin=(0, 20, 0, 0),
        )

    def _quality_fields(self) -> None:
        beta = self.fields["quality.distribution"].text == "beta"
        f = self.fields
        f["quality.score"].visible = not beta or bool(f["quality.score"].text.strip())
        for k in ("quality.mean", "quality.sd"):
            f[k].visible = beta or bool(f[k].text.strip())

    def _add_design(self, row: DesignRow | None = None) -> None:
        if row is None:
            names = {b.name.value for b in self.design_boxes}
            n = len(self.design_boxes) + 1
            while f"Design {n}" in names:
                n += 1
            row = DesignRow(name=f"Design {n}", preset="mssp-basic-e")
        box = _DesignBox(row, self.check, self._remove_design)
        self.design_boxes.append(box)
        self.design_column.objects = [b.panel for b in self.design_boxes]
        self.check()

    def _remove_design(self, box: _DesignBox) -> None:
        self.design_boxes.remove(box)
        self.design_column.objects = [b.panel for b in self.design_boxes]
        self.check()

    def state(self) -> FormState:
        """What the form holds now (fields hidden for the chosen model left out)."""
        values = {k: (f.text if f.visible else "") for k, f in self.fields.items()}
        if values.get("quality.distribution") == "fixed":
            values["quality.distribution"] = ""  # the default; keeps saved files short
        return FormState(values=values, designs=[b.row() for b in self.design_boxes],
                         extra=str(self.extra.value or ""))

    def fill(self, state: FormState) -> None:
        """Show ``state`` in the form (a loaded file, or the default)."""
        self._filling = True
        try:
            for k, f in self.fields.items():
                text = state.values.get(k, "")
                if k == "quality.distribution" and not text:
                    text = "fixed"
                if k == "spending.model" and not text:
                    text = "medicare-ffs"
                f.text = text
            self.design_boxes = []
            for row in state.designs:
                self.design_boxes.append(_DesignBox(row, self.check, self._remove_design))
            self.design_column.objects = [b.panel for b in self.design_boxes]
            self.extra.value = state.extra
            self.spending.refresh()
            self._quality_fields()
        finally:
            self._filling = False
        self.check()

    def check(self) -> Any:
        """Validate the form and show every message beside its field.

        Returns the scenario, or ``None`` if the form is invalid.
        """
        if self._filling:
            return None
        self.spending.refresh()
        self._quality_fields()
        state = self.state()
        scn, found = validate(state)
        by_field: dict[str, list[str]] = {}
        by_design: dict[int, list[str]] = {}
        for key, msg in found:
            where, index = field_of(key, state)
            if where == "design" and index is not None:
                sub = key.split("]", 1)[1].lstrip(".") if "]" in key else ""
                by_design.setdefault(index, []).append(f"{sub}: {msg}" if sub else msg)
            elif where in self.fields and not self.fields[where].visible:
                by_field.setdefault(where.split(".")[0], []).append(f"{key}: {msg}")
            elif where in self.fields:
                by_field.setdefault(where, []).append(msg)
            else:
                text = msg if where == key or key == "extra" else f"{key}: {msg}"
                by_field.setdefault(where, []).append(text)
        for k, f in self.fields.items():
            f.message.show(by_field.get(k, []))
        for k, box in self.sections.items():
            box.show(by_field.get(k, []))
        for i, b in enumerate(self.design_boxes):
            b.message.show(by_design.get(i, []))
        running = self.job is not None and self.job.state == "running"
        self.run.disabled = scn is None or running
        self.save.disabled = bool(found)
        return scn

    def _load(self, event: Any) -> None:
        """A file was chosen: fill the form with it, valid or not (nothing is dropped)."""
        data = event.new
        if not data:
            return
        name = self.upload.filename or "the file"
        try:
            mapping = tomllib.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            self.load_note.object = f"<p>{esc(name)} is not UTF-8 text; the form is unchanged.</p>"
            return
        except tomllib.TOMLDecodeError as err:
            self.load_note.object = (f"<p>{esc(name)} is not valid TOML ({esc(err)}); the "
                                     "form is unchanged.</p>")
            return
        self.fill(split_scenario(mapping))
        self._find_claims()
        found = self.check() is None
        self.load_note.object = (f"<p>Loaded {esc(name)}" + (
            ": it has problems, shown beside their fields.</p>" if found else ".</p>"))

    def _scenario_file(self) -> Any:
        return io.StringIO(to_toml(with_sample_name(self.state(), self.claims.uploads)))

    def _use_fit(self, table: dict[str, Any]) -> None:
        """Put a fitted ``[spending]`` table in the form (the cap and the rest stay)."""
        self.fill(with_spending(self.state(), table))

    def _claims_uploaded(self, path: str, name: str) -> None:
        """A claims file came: a scenario that names a file of that name now finds it."""
        self._find_claims()

    def _find_claims(self) -> None:
        box = self.fields["spending.sample"]
        sample = parse_value(box.text)
        if isinstance(sample, str) and sample and sample not in self.claims.uploads:
            kept = self.claims.find(sample)
            if kept is not None:
                box.text = kept

    # ------------------------------------------------------------------ the run
    def _build_results(self) -> None:
        self.year = pn.widgets.Select(label="Show", options=[], width=200, visible=False,
                                      css_classes=["year"])
        self.year.param.watch(lambda *_: self._show(), "value")
        self.headline = html("", css_classes=["headline"], sizing_mode="stretch_width")
        self.plot = pn.pane.PNG(None, width=640, visible=False, css_classes=["payout-plot"])
        self.every = html("", css_classes=["every-figure"], sizing_mode="stretch_width")
        self.every_card = pn.Card(self.every, title="Every figure of the summary",
                                  collapsed=True, visible=False, sizing_mode="stretch_width")
        self.nc = pn.widgets.FileDownload(callback=self._netcdf_file, filename="results.nc",
                                          label="Results (netCDF)", disabled=True,
                                          css_classes=["save-nc"])
        self.make_report = pn.widgets.Button(label="Make the report (xlsx, HTML)",
                                             disabled=True, css_classes=["make-report"])
        self.make_report.on_click(lambda _: self._start_report())
        self.xlsx = pn.widgets.FileDownload(callback=lambda: self._report_file("xlsx"),
                                            filename="report.xlsx", label="Report (xlsx)",
                                            disabled=True, css_classes=["save-xlsx"])
        self.html = pn.widgets.FileDownload(callback=lambda: self._report_file("html"),
                                            filename="report.html", label="Report (HTML)",
                                            disabled=True, css_classes=["save-html"])
        self.report_note = html(_REPORT_NOTE, css_classes=["simsav-note", "report-note"])
        self.downloads = pn.Column(pn.Row(self.nc, self.make_report, self.xlsx, self.html),
                                   self.report_note, visible=False)
        self.footer = html("", css_classes=["simsav-note", "run-footer"],
                                   sizing_mode="stretch_width")
        self.results = pn.Column(
            pn.pane.Markdown("### Results"),
            html("<p>Fill in the scenario and press Run.</p>",
                         css_classes=["simsav-note", "results-empty"]),
            sizing_mode="stretch_width", min_width=560)
        self._results_body = [self.year, self.headline, self.footer, self.plot,
                              self.every_card, self.downloads]

    def start(self) -> None:
        """Run the form's scenario (if valid) in a process of its own."""
        if self.job is not None and self.job.state == "running":
            return
        scn = self.check()
        if scn is None:
            self.status.object = "<p>Fix the problems shown in red first.</p>"
            return
        self.job = jobs.Job("compare", to_toml(self.state())).start()
        self.progress.max = max(int(scn.sims), 1)
        self.progress.value = 0
        self.progress.visible = True
        self.run.disabled, self.cancel.disabled = True, False
        self.status.object = (f"<p>Running {scn.sims:,} sims of {esc(scn.name)} "
                              f"(seed {scn.seed})…</p>")
        self._poll_every(self.job, self._poll)

    def _poll_every(self, job: jobs.Job, callback: Any) -> None:
        if self._poller is not None:
            self._poller.stop()
        self._poller = pn.state.add_periodic_callback(callback, period=150)

    def _poll(self) -> None:
        job = self.job
        if job is None:
            return
        state = job.poll()
        self.progress.value = min(job.done_sims, self.progress.max)
        if state == "running":
            return
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        self.progress.visible = False
        self.cancel.disabled = True
        if state == "done":
            self.result = job.result
            self.report_files = {}
            self.status.object = (f"<p class='done'>Done: {job.result['n_sims']:,} sims in "
                                  f"{job.seconds:.1f} s.</p>")
            self._show_result()
        elif state == "failed":
            self.status.object = f"<p class='simsav-error'>The run failed: {esc(job.error)}</p>"
        self.check()

    def stop(self) -> None:
        """Cancel the run: its process is stopped and nothing of it is kept."""
        if self.job is not None and self.job.state == "running":
            self.job.cancel()
            self._poll()
            self.status.object = ("<p class='cancelled'>Cancelled; nothing of that run was "
                                  "kept.</p>")

    def close(self) -> None:
        """The tab went away: stop its runs (nobody would read their results)."""
        for job in (self.job, self.report_job):
            if job is not None:
                job.cancel()
        self.claims.close()

    def _show_result(self) -> None:
        r = self.result
        assert r is not None
        years = r["years"]
        options = {f"Year {y}": y for y in years} if len(years) > 1 else {"The year": years[0]}
        if len(years) > 1:
            options["The agreement as a whole"] = "agreement"
        self.year.options = options
        self.year.value = years[0]
        self.year.visible = len(options) > 1
        self.results.objects = [self.results.objects[0], *self._results_body]
        self.plot.visible = self.every_card.visible = self.downloads.visible = True
        self.nc.disabled = False
        self.nc.filename = f"{r['name']}-results.nc"
        self.make_report.disabled = False
        self.report_note.object = _REPORT_NOTE
        self.xlsx.disabled = self.html.disabled = True
        self._show()

    def _show(self) -> None:
        r = self.result
        if r is None or self.year.value is None:
            return
        year = str(self.year.value)
        frame = r["frame"]
        heads = AGREEMENT_HEADLINE if year == "agreement" else YEAR_HEADLINE
        self.headline.object = summary_html(frame, year, metrics=heads)
        self.every.object = summary_html(frame, year, css_class="summary every")
        png = r["png"].get(year, r["png"][r["years"][-1]])
        self.plot.object = png
        self.footer.object = (
            f"<p>{esc(r['name'])}: {r['n_sims']:,} sims, seed {esc(r['seed'])} "
            f"({esc(r['draws'])} draws). Below each figure, its 95% Monte Carlo interval "
            "(probabilities: Wilson; means: 1.96 standard errors; quantiles: order "
            "statistics). <code>simsav run</code> of the saved scenario gives the same "
            "numbers.</p>")

    def _netcdf_file(self) -> Any:
        return io.BytesIO(self.result["netcdf"]) if self.result else io.BytesIO(b"")

    def _start_report(self) -> None:
        if self.result is None:
            return
        self.make_report.disabled = True
        self.report_note.object = "<p>Making the report…</p>"
        self.report_job = jobs.Job("report", self.result["netcdf"],
                                   f"{self.result['name']} (simsav app)").start()
        self.xlsx.filename = f"{self.result['name']}-report.xlsx"
        self.html.filename = f"{self.result['name']}-report.html"
        self._report_poller = pn.state.add_periodic_callback(self._poll_report, period=200)

    def _poll_report(self) -> None:
        job = self.report_job
        if job is None or job.poll() == "running":
            return
        self._report_poller.stop()
        if job.state == "done":
            self.report_files = job.result
            self.xlsx.disabled = "xlsx" not in job.result
            self.html.disabled = "html" not in job.result
            self.report_note.object = "<p>The report is ready." + (
                "" if "xlsx" in job.result else " The workbook needs openpyxl "
                '(pip install "simsav[excel]"); here is the HTML page.') + "</p>"
        else:
            self.report_note.object = f"<p class='simsav-error'>No report: {esc(job.error)}</p>"
        self.make_report.disabled = False

    def _report_file(self, kind: str) -> Any:
        return io.BytesIO(self.report_files.get(kind, b""))
