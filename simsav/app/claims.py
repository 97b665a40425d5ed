"""The user's own claims file on the comparison page: upload, fit every model, use one.

The file (CSV, one row per member) is kept in a directory of the page's own, removed
when the tab closes. Every spending model is fitted to it in a process of its own, as
``simsav fit`` fits them (:func:`simsav.fit_claims`); the page shows each fit against
the data (AIC, the Kolmogorov–Smirnov distance, CV, the share of spending of the
costliest 1% and 5%), and *Use* puts the chosen fit's ``[spending]`` table in the form
(``empirical``: resample the file itself). A scenario saved from the form names the file
by the name it was uploaded as, so it runs with ``simsav run`` when the file is beside it;
a loaded scenario that names a file of that name finds the upload.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import panel as pn

from simsav.app import jobs
from simsav.app.fmt import esc, table_html
from simsav.app.widgets import html

__all__ = ["ClaimsBox", "safe_name"]

_HELP = ("A CSV file with a header row and one row per member: annual amounts paid (USD), "
         "optionally member months (0–12]. Every spending model is fitted to it, as "
         "simsav fit does; pick one, or resample the file itself (empirical).")


def safe_name(name: str) -> str:
    r"""An uploaded file's name as a plain file name (its last part, odd characters out).

    Examples
    --------
    >>> safe_name("../../etc/claims 2025.csv"), safe_name(""), safe_name("a\x00b.csv")
    ('claims_2025.csv', 'claims.csv', 'a_b.csv')
    >>> safe_name("C:\\Users\\me\\c.csv"), safe_name(".hidden.csv")
    ('c.csv', 'hidden.csv')
    """
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    return base or "claims.csv"


def _num(x: Any, spec: str) -> str:
    return "–" if not isinstance(x, int | float) or not math.isfinite(x) else format(x, spec)


def fit_table(rows: list[Mapping[str, Any]], best: str | None) -> str:
    """The fits against the data, as an HTML table (the best fit by AIC marked)."""
    cols = ["Model", "Fitted by", "AIC", "KS", "CV", "Top 1%", "Top 5%"]
    out = []
    for r in rows:
        name = str(r["model"])
        label = "the claims" if name == "observed" else name + (" (best AIC)" if
                                                                name == best else "")
        out.append([label, str(r["method"]), _num(r["aic"], ",.1f"), _num(r["ks"], ".4f"),
                    _num(r["cv"], ".3f"), _num(r["top_1%"], ".1%"), _num(r["top_5%"], ".1%")])
    return table_html(cols, out, css_class="plain fits")


class ClaimsBox:
    """Upload a claims file, fit every model to it, put the chosen fit in the form.

    Parameters
    ----------
    on_use : callable
        Called with the chosen fit's ``[spending]`` table (a dict).
    on_upload : callable
        Called with where a file is kept and the name it was uploaded as.
    """

    def __init__(self, on_use: Callable[[dict[str, Any]], None],
                 on_upload: Callable[[str, str], None]):
        self.on_use, self.on_upload = on_use, on_upload
        self.dir: Path | None = None
        #: Where each uploaded file is kept → the name it was uploaded as.
        self.uploads: dict[str, str] = {}
        self.path: str | None = None
        self.job: jobs.Job | None = None
        self.result: dict[str, Any] | None = None
        self._poller: Any = None
        self.upload = pn.widgets.FileInput(accept=".csv,text/csv", multiple=False,
                                           css_classes=["load-claims"])
        self.upload.param.watch(self._uploaded, "value")
        self.column = pn.widgets.TextInput(
            label="Amount column", value="paid", width=150, css_classes=["c-column"],
            description="The column of annual amounts paid, USD (>= 0).")
        self.exposure = pn.widgets.TextInput(
            label="Member-months column", value="", width=170, placeholder="(all full-year)",
            css_classes=["c-exposure"],
            description="A column of member months in (0, 12]; blank: every member "
                        "full-year.")
        self.refit = pn.widgets.Button(label="Fit again", color="default", disabled=True,
                                       css_classes=["c-fit"], align="end")
        self.refit.on_click(lambda _: self.start())
        self.note = html("", css_classes=["simsav-note", "claims-note"],
                         sizing_mode="stretch_width")
        self.table = html("", css_classes=["claims-fits"], sizing_mode="stretch_width")
        self.model = pn.widgets.Select(label="Use", options=[], width=220, visible=False,
                                       css_classes=["c-model"])
        self.use = pn.widgets.Button(label="Use this model", color="primary", visible=False,
                                     css_classes=["c-use"], align="end")
        self.use.on_click(lambda _: self._use())
        self.panel = pn.Card(
            html(f"<p>{esc(_HELP)}</p>", css_classes=["simsav-note"],
                 sizing_mode="stretch_width"),
            self.upload, pn.Row(self.column, self.exposure, self.refit), self.note,
            self.table, pn.Row(self.model, self.use),
            title="…or fit to your own claims file (CSV)", collapsed=True,
            sizing_mode="stretch_width", css_classes=["claims-card"], margin=(4, 0))

    def _uploaded(self, event: Any) -> None:
        data = event.new
        if not data:
            return
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="simsav-claims-"))
        name = safe_name(self.upload.filename or "")
        path = self.dir / name
        path.write_bytes(data)
        self.path = str(path)
        self.uploads[self.path] = name
        self.on_upload(self.path, name)
        self.start()

    def start(self) -> None:
        """Fit every model to the uploaded file, in a process of its own."""
        if self.path is None:
            return
        if self.job is not None and self.job.state == "running":
            self.job.cancel()
        exposure = str(self.exposure.value or "").strip() or None
        column = str(self.column.value or "").strip() or "paid"
        self.result = None
        self.table.object = ""
        self.model.visible = self.use.visible = False
        self.refit.disabled = True
        self.note.object = f"<p>Fitting every spending model to {esc(self.uploads[self.path])}…</p>"
        self.job = jobs.Job("fit", self.path, column, exposure).start()
        if self._poller is not None:
            self._poller.stop()
        self._poller = pn.state.add_periodic_callback(self._poll, period=150)

    def _poll(self) -> None:
        job = self.job
        if job is None or job.poll() == "running":
            return
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        self.refit.disabled = False
        name = self.uploads.get(self.path or "", "the file")
        if job.state != "done":
            self.note.object = (f"<p class='simsav-error'>{esc(name)}: {esc(job.error)}</p>"
                                if job.state == "failed" else "")
            return
        r = self.result = job.result
        expo = f", member months from {r['exposure']!r}" if r["exposure"] else ""
        self.note.object = (
            f"<p>{esc(name)} (sha256 {r['sha256'][:12]}): {r['members']:,} members, "
            f"{r['member_years']:,.1f} member-years; amounts from {esc(repr(r['column']))}"
            f"{esc(expo)}. AIC compares the maximum-likelihood "
            "fits (lower is better); KS is the largest gap between the data's and the "
            "model's distribution functions; top 1%/5%: share of spending of the costliest "
            "member-years. A scenario saved from this page names the file "
            f"{esc(name)}: keep it beside the scenario file.</p>")
        self.table.object = fit_table(r["table"], r["best"])
        options = list(r["spending"])
        self.model.options = options
        self.model.value = r["best"] if r["best"] in options else "empirical"
        self.model.visible = self.use.visible = True

    def _use(self) -> None:
        if self.result is None:
            return
        self.on_use(dict(self.result["spending"][self.model.value]))

    def find(self, sample: str) -> str | None:
        """The kept upload a scenario's ``sample`` names by its file name, if any."""
        want = Path(sample).name
        for path, name in self.uploads.items():
            if name == want:
                return path
        return None

    def close(self) -> None:
        """The tab went away: stop the fit, remove the uploaded files."""
        if self.job is not None:
            self.job.cancel()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
