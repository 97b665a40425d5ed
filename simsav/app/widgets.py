"""The app's building blocks: a field with its message, the spending-model fields, styles.

A :class:`FieldBox` is one input with the schema's message for it right below; every
widget carries a CSS class naming its key (``f-population-beneficiaries``), which is how
the browser tests find it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import panel as pn

from simsav.app.fmt import esc
from simsav.spending.registry import ENTRIES, MODEL_NAMES, entry, shape_fields

__all__ = ["CSS", "FieldBox", "MessageBox", "SpendingFields", "html", "slug"]

#: The app's styles (loaded once per page by :func:`simsav.app.server.page`).
CSS = """
:host(.simsav-error) { color: #b00020; font-size: 0.85em; }
:host(.simsav-error) p { margin: 0.1em 0; }
:host(.simsav-note) { color: #555; font-size: 0.85em; }
:host(.simsav-note) p { margin: 0.2em 0; }
.simsav-error { color: #b00020; }
.simsav-note { color: #555; font-size: 0.85em; }
details summary { cursor: pointer; }
table.summary, table.plain { border-collapse: collapse; font-size: 0.9em; }
table.summary th, table.summary td, table.plain th, table.plain td {
  border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; vertical-align: top; }
table.summary th[scope=row], table.plain td:first-child { text-align: left; }
table.summary td .v { display: block; font-weight: 600; }
table.summary td .ci { display: block; color: #666; font-size: 0.8em; white-space: nowrap; }
table.steps { border-collapse: collapse; font-size: 0.9em; width: 100%; }
table.steps td, table.steps th { border-bottom: 1px solid #ddd; padding: 4px 8px;
  vertical-align: top; }
table.steps td.sub { padding-left: 1.6em; }
table.steps td.num { text-align: right; white-space: nowrap; font-weight: 600; }
table.steps tr.rule td { background: #f3f6fa; font-size: 0.9em; }
table.steps tr.rule td p { margin: 0.2em 0; }
code { font-size: 0.9em; }
"""


def html(text: str = "", **kw: Any) -> Any:
    """An HTML pane with the app's styles (each pane has its own shadow DOM)."""
    kw.setdefault("stylesheets", [CSS])
    return pn.pane.HTML(text, **kw)


def slug(key: str) -> str:
    """A CSS-class-safe form of a key: ``population.beneficiaries`` → ``population-beneficiaries``.

    Examples
    --------
    >>> slug('designs["Track 1"].msr')
    'designs-track-1-msr'
    """
    return re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")


class MessageBox:
    """Messages shown in red under a field or a section (hidden when there are none)."""

    def __init__(self, key: str, width: int | None = None):
        size: dict[str, Any] = {"sizing_mode": "stretch_width"} if width is None else {
            "width": width}
        self.pane = html("", css_classes=["simsav-error", f"err-{slug(key)}"], visible=False,
                         margin=(0, 10), **size)

    def show(self, messages: Sequence[str]) -> None:
        """Show ``messages`` (none: hide)."""
        text = "".join(f'<p class="msg">{esc(m)}</p>' for m in messages)
        if text != self.pane.object:
            self.pane.object = text
        self.pane.visible = bool(messages)


class FieldBox:
    """One scenario key: a text input (or a choice) and the schema's message under it.

    Parameters
    ----------
    key : str
        The dotted key the schema names it by.
    label : str
    help : str
        The tooltip.
    options : sequence of str, optional
        Make it a choice among these instead of a text input.
    placeholder : str
        Shown in an empty text input (e.g. the default that applies).
    """

    def __init__(self, key: str, label: str, help: str = "", *,
                 options: Sequence[str] | None = None, placeholder: str = "",
                 width: int = 180):
        self.key = key
        cls = [f"f-{slug(key)}"]
        if options is None:
            self.widget: Any = pn.widgets.TextInput(
                label=label, description=help or None, placeholder=placeholder, width=width,
                css_classes=cls)
        else:
            self.widget = pn.widgets.Select(label=label, description=help or None,
                                            options=list(options), width=width,
                                            css_classes=cls)
        self.message = MessageBox(key, width=width)
        self.panel = pn.Column(self.widget, self.message.pane, margin=0)

    @property
    def text(self) -> str:
        """The field's text (``""``: not given)."""
        return str(self.widget.value or "")

    @text.setter
    def text(self, value: str) -> None:
        if isinstance(self.widget, pn.widgets.Select) and value not in self.widget.options:
            # a value that is not offered (from a file) stays visible, for its message
            self.widget.options = [*self.widget.options, value]
        self.widget.value = value

    @property
    def visible(self) -> bool:
        """Whether the field is shown."""
        return bool(self.panel.visible)

    @visible.setter
    def visible(self, on: bool) -> None:
        if self.panel.visible != on:
            self.panel.visible = on

    def watch(self, callback: Callable[..., Any]) -> None:
        """Call ``callback`` when the value changes."""
        self.widget.param.watch(callback, "value")


#: How the ``[spending]`` table's own fields are labelled.
_SPENDING_LABELS = {
    "mean": ("Mean spending per beneficiary-year, USD",
             "Mean of untruncated spending, zeros included (> 0)."),
    "truncate_at": ("Cap per beneficiary, USD",
                    "Truncate each beneficiary's spending here (outlier exclusion)."),
    "truncate_quantile": ("…or cap at this quantile (e.g. 0.99)",
                          "Truncate at a quantile of the untruncated distribution, in (0, 1)."),
}


class SpendingFields:
    """The ``[spending]`` table as fields: the model, its mean and cap, its shape fields.

    The shape fields are the chosen model's (from the registry); a field another model
    takes shows only while it holds a value, so its message can say it does not apply.
    """

    def __init__(self, prefix: str = "spending"):
        self.prefix = prefix
        models = "; ".join(f"{e.name}: {e.summary}" for e in ENTRIES)
        self.fields: dict[str, FieldBox] = {
            f"{prefix}.model": FieldBox(f"{prefix}.model", "Spending model", models,
                                        options=list(MODEL_NAMES)),
        }
        for name, (label, help_) in _SPENDING_LABELS.items():
            if name == "truncate_quantile":
                continue
            self.fields[f"{prefix}.{name}"] = FieldBox(f"{prefix}.{name}", label, help_)
        self.fields[f"{prefix}.truncate_quantile"] = FieldBox(
            f"{prefix}.truncate_quantile", *_SPENDING_LABELS["truncate_quantile"])
        for name, f in shape_fields().items():
            self.fields[f"{prefix}.{name}"] = FieldBox(f"{prefix}.{name}", name, f.doc)
        self.summary = html("", css_classes=["simsav-note"], margin=(0, 10),
                                    sizing_mode="stretch_width")
        self.fields[f"{prefix}.model"].watch(lambda *_: self.refresh())
        for name in shape_fields():
            self.fields[f"{prefix}.{name}"].watch(lambda *_: self.refresh())
        self.panel = pn.Column(*(f.panel for f in self.fields.values()), self.summary,
                               margin=0)

    def refresh(self) -> None:
        """Show the chosen model's fields (required ones marked) and its summary."""
        model = self.fields[f"{self.prefix}.model"].text
        try:
            e = entry(model)
        except ValueError:
            e = None
        for name in shape_fields():
            box = self.fields[f"{self.prefix}.{name}"]
            takes = e is not None and name in e.fields
            box.visible = takes or bool(box.text.strip())
            req = " (required)" if e is not None and name in e.required else ""
            label = f"{name}{req}"
            if box.widget.label != label:
                box.widget.label = label
        text = "" if e is None else f"<p>{esc(e.summary)}.</p>"
        if self.summary.object != text:
            self.summary.object = text

    def given(self) -> dict[str, str]:
        """Each shown field's text by its key under the prefix (hidden fields left out)."""
        return {k.split(".", 1)[1]: f.text for k, f in self.fields.items() if f.visible}
