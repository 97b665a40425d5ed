r"""The comparison form as data: scenario mapping in, form values out, and back.

The browser form shows a scenario's most used keys as fields (population, spending model
and its terms, ACO effects, quality, the designs with their preset and overridden terms)
and keeps every other key of a scenario file in an "other tables" box of TOML text. This
module converts between the two without Panel, so the conversion is tested on its own:

* :func:`split_scenario` — a parsed scenario file → :class:`FormState` (nothing dropped);
* :func:`build_mapping` — :class:`FormState` → the mapping the scenario schema validates,
  with any problem of the form itself (text that is not TOML, a key given twice);
* :func:`validate` — both, then :func:`simsav.parse_scenario`: the same schema as
  ``simsav run``, whose messages are shown beside their fields (:func:`field_of`);
* :func:`with_spending` — a fitted ``[spending]`` table (``simsav fit``'s) in the form;
  :func:`with_sample_name` — an uploaded claims file named as a scenario beside it would.

Each field's text is read as a TOML value, exactly as the scenario file would hold it
(``5000``, ``0.02``, ``"cms"``, ``true``); text that is not a TOML value is passed on as a
string, so the schema names the field and says what it expects.

Examples
--------
>>> state = split_scenario({"name": "demo", "population": {"beneficiaries": 5000},
...                         "spending": {"model": "gamma", "mean": 11000, "cv": 2.0},
...                         "designs": [{"name": "T1", "preset": "mssp-track1-2012",
...                                      "msr": 0.02}],
...                         "agreement": {"years": 3}})
>>> state.values["population.beneficiaries"], state.designs[0].terms
('5000', 'msr = 0.02')
>>> state.extra
'[agreement]\nyears = 3\n'
>>> scn, found = validate(state)
>>> scn.population.beneficiaries, found
(5000, [])
>>> state.values["population.beneficiaries"] = "0.5"
>>> validate(state)[1]
[('population.beneficiaries', 'must be a whole number in [1, 20,000,000] (got 0.5)')]
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tomli_w

from simsav.scenario import Scenario, ScenarioError, parse_scenario
from simsav.spending.registry import shape_fields

__all__ = [
    "DesignRow",
    "FORM_KEYS",
    "FormState",
    "build_mapping",
    "field_of",
    "parse_value",
    "show_value",
    "split_scenario",
    "to_toml",
    "validate",
    "with_sample_name",
    "with_spending",
]

#: The scalar keys the form shows as fields, dotted as the schema names them.
FORM_KEYS: tuple[str, ...] = (
    "name", "seed", "sims",
    "population.beneficiaries",
    "spending.model", "spending.mean", "spending.truncate_at", "spending.truncate_quantile",
    *(f"spending.{n}" for n in shape_fields()),
    "aco.true_savings", "aco.benchmark_error_sd",
    "quality.distribution", "quality.score", "quality.mean", "quality.sd",
)

#: Sections of the form: a problem keyed by a whole table is shown at its section.
SECTIONS: tuple[str, ...] = ("population", "spending", "aco", "quality", "designs")

#: Keys of one design the form shows as fields; its other keys are its terms' text.
_DESIGN_FIELDS = ("name", "preset")

#: A design's problem key: ``designs["Track 1"].msr`` or ``designs[0]``.
_DESIGN_KEY = re.compile(r'^designs(?:\["([^"]*)"\]|\[(\d+)\])(?:\.(.+))?$')


@dataclass
class DesignRow:
    """One design as the form shows it: a name, a preset and its other terms as TOML."""

    name: str = ""
    preset: str = ""
    terms: str = ""


@dataclass
class FormState:
    """Everything the comparison form holds.

    Attributes
    ----------
    values : dict of str to str
        Each :data:`FORM_KEYS` field's text (``""``: not given).
    designs : list of DesignRow
    extra : str
        The scenario's other keys and tables, as TOML text.
    """

    values: dict[str, str] = field(default_factory=lambda: dict.fromkeys(FORM_KEYS, ""))
    designs: list[DesignRow] = field(default_factory=list)
    extra: str = ""


def parse_value(text: str) -> Any:
    """A field's text as the TOML value it spells; ``None`` for blank; else the text.

    Examples
    --------
    >>> parse_value("5000"), parse_value(" 0.02 "), parse_value("cms"), parse_value("")
    (5000, 0.02, 'cms', None)
    >>> parse_value('"cms"'), parse_value("true"), parse_value("5_000")
    ('cms', True, 5000)
    """
    s = text.strip()
    if not s:
        return None
    try:
        return tomllib.loads(f"v = {s}")["v"]
    except tomllib.TOMLDecodeError:
        return s


def show_value(value: Any) -> str:
    """A scenario value as a field's text (strings bare, the rest as TOML writes them).

    Examples
    --------
    >>> show_value(5000), show_value(0.02), show_value("medicare-ffs"), show_value(True)
    ('5000', '0.02', 'medicare-ffs', 'true')
    """
    if value is None:
        return ""
    if isinstance(value, str):
        # a string that would read back as another type keeps its quotes
        return value if parse_value(value) == value else tomli_w.dumps({"v": value})[4:-1]
    return tomli_w.dumps({"v": value})[4:-1]


def _get(tree: Mapping[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _pop(tree: dict[str, Any], dotted: str) -> None:
    *head, last = dotted.split(".")
    node: Any = tree
    for part in head:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(last, None)


def split_scenario(data: Mapping[str, Any]) -> FormState:
    """Spread a parsed scenario file over the form, valid or not; nothing is dropped.

    Whatever the form has no field for goes to the other-tables text.
    """
    rest: dict[str, Any] = copy.deepcopy(dict(data))
    state = FormState()
    for key in FORM_KEYS:
        value = _get(rest, key)
        if value is not None and not isinstance(value, dict | list):
            state.values[key] = show_value(value)
            _pop(rest, key)
    designs = rest.pop("designs", None)
    if isinstance(designs, list) and all(isinstance(d, dict) for d in designs):
        for d in designs:
            row = DesignRow(name=show_value(d.get("name")) if isinstance(d.get("name"), str)
                            else "", preset=d.get("preset")
                            if isinstance(d.get("preset"), str) else "")
            terms = {k: v for k, v in d.items() if not (k in _DESIGN_FIELDS and
                                                       isinstance(v, str))}
            row.terms = tomli_w.dumps(terms).strip()
            state.designs.append(row)
    elif designs is not None:
        rest["designs"] = designs
    for table in [k for k, v in rest.items() if isinstance(v, dict) and not v]:
        del rest[table]
    state.extra = tomli_w.dumps(rest)
    return state


def _put(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *head, last = dotted.split(".")
    node = tree
    for part in head:
        node = node.setdefault(part, {})
    node[last] = value


def _merge(into: dict[str, Any], extra: Mapping[str, Any], path: str,
           found: list[tuple[str, str]]) -> None:
    for k, v in extra.items():
        key = f"{path}.{k}" if path else k
        if k in into and isinstance(into[k], dict) and isinstance(v, Mapping):
            _merge(into[k], v, key, found)
        elif k in into:
            found.append(("extra", f"{key} is set in the form and again here; keep one"))
        else:
            into[k] = copy.deepcopy(v)


def _toml_table(text: str, where: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as err:
        return {}, [(where, f"not valid TOML: {err}")]


def build_mapping(state: FormState) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The scenario mapping the form spells, and the problems of the form itself.

    Blank fields are left out (the schema's defaults apply, or it says the key is
    required). Problems: a design's terms or the other tables that are not TOML, a key
    set both in a field and in the other tables.
    """
    out: dict[str, Any] = {}
    found: list[tuple[str, str]] = []
    for key in FORM_KEYS:
        value = parse_value(state.values.get(key, ""))
        if value is not None:
            _put(out, key, value)
    designs = []
    for i, row in enumerate(state.designs):
        label = f'designs["{row.name}"]' if row.name.strip() else f"designs[{i}]"
        terms, bad = _toml_table(row.terms, label)
        found += bad
        d: dict[str, Any] = {}
        if row.name.strip():
            d["name"] = row.name
        if row.preset:
            d["preset"] = row.preset
        for k, v in terms.items():
            if k in d:
                found.append((label, f"{k} is set above and again in the terms; keep one"))
            else:
                d[k] = v
        designs.append(d)
    if designs:
        out["designs"] = designs
    extra, bad = _toml_table(state.extra, "extra")
    found += bad
    _merge(out, extra, "", found)
    return out, found


def validate(state: FormState) -> tuple[Scenario | None, list[tuple[str, str]]]:
    """The validated scenario, or ``None`` and every problem as ``(key, message)``."""
    mapping, found = build_mapping(state)
    if found:
        return None, found
    try:
        return parse_scenario(mapping, source="form"), []
    except ScenarioError as err:
        return None, list(err.problems)


def with_spending(state: FormState, table: Mapping[str, Any]) -> FormState:
    """``state`` with its spending model replaced by ``table`` (a ``[spending]`` table).

    The model, its mean and its shape fields become the table's; the cap
    (``truncate_at``, ``truncate_quantile``) and everything else stay as they were.

    Examples
    --------
    >>> s = split_scenario({"spending": {"model": "gamma", "mean": 1.0, "cv": 2.0,
    ...                                  "truncate_at": 5e4}})
    >>> v = with_spending(s, {"model": "hurdle-lognormal", "mean": 2997.87, "cv": 4.15,
    ...                       "zero_share": 0.16}).values
    >>> v["spending.model"], v["spending.cv"], v["spending.zero_share"], v["spending.truncate_at"]
    ('hurdle-lognormal', '4.15', '0.16', '50000.0')
    """
    keep = {"spending.truncate_at", "spending.truncate_quantile"}
    values = {k: ("" if k.startswith("spending.") and k not in keep else v)
              for k, v in state.values.items()}
    for k, v in table.items():
        values[f"spending.{k}"] = show_value(v)
    return FormState(values=values, designs=list(state.designs), extra=state.extra)


def with_sample_name(state: FormState, uploads: Mapping[str, str]) -> FormState:
    """``state`` with an uploaded claims file's path replaced by the file's own name.

    ``uploads`` maps where the app keeps each uploaded file to the name it was uploaded
    as. A scenario saved this way finds the file beside it, as ``simsav run`` resolves a
    relative ``sample``.

    Examples
    --------
    >>> s = FormState()
    >>> s.values["spending.sample"] = "/tmp/simsav-claims-x/claims.csv"
    >>> with_sample_name(s, {"/tmp/simsav-claims-x/claims.csv": "claims.csv"}
    ...                  ).values["spending.sample"]
    'claims.csv'
    """
    sample = state.values.get("spending.sample", "")
    name = uploads.get(str(parse_value(sample) or ""))
    if name is None:
        return state
    return FormState(values={**state.values, "spending.sample": show_value(name)},
                     designs=list(state.designs), extra=state.extra)


def to_toml(state: FormState) -> str:
    """The form as a scenario file (what :func:`validate` reads), for ``simsav run``."""
    mapping, _ = build_mapping(state)
    return tomli_w.dumps(mapping)


def field_of(key: str, state: FormState) -> tuple[str, int | None]:
    """Where a problem's message is shown: ``(field, design index)``.

    ``field`` is a :data:`FORM_KEYS` key, ``"design"`` (with the row's index), a section
    (:data:`SECTIONS`), ``"extra"`` (the other-tables text) or ``"general"``.

    Examples
    --------
    >>> s = FormState(designs=[DesignRow(name="Track 1")])
    >>> field_of("spending.cv", s), field_of('designs["Track 1"].msr', s)
    (('spending.cv', None), ('design', 0))
    >>> field_of("quality", s), field_of("agreement.years", s), field_of("(top level)", s)
    (('quality', None), ('extra', None), ('general', None))
    """
    if key in FORM_KEYS or key == "extra":
        return key, None
    m = _DESIGN_KEY.match(key)
    if m:
        name, index = m.group(1), m.group(2)
        if index is not None and int(index) < len(state.designs):
            return "design", int(index)
        names = [r.name for r in state.designs]
        if name is not None and names.count(name) == 1:
            return "design", names.index(name)
        return "designs", None
    head = key.split(".", 1)[0].split("[", 1)[0]
    if head in SECTIONS:
        parent = key.rsplit(".", 1)[0]
        if parent in FORM_KEYS:
            return parent, None
        extra, _ = _toml_table(state.extra, "extra")
        return ("extra", None) if _get(extra, key) is not None else (head, None)
    if head and head.replace("_", "").isalnum():
        return "extra", None
    return "general", None
