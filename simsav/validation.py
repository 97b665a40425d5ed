"""Strict validation at the boundary, and messages a person can read.

Every table of a scenario (and every contract) is a :class:`StrictModel`: unknown keys are
errors, values are never coerced across types — ``true`` is not 1, ``"yes"`` is not a
boolean, ``2000.5`` is not a whole number. One allowance, on purpose: a whole number
written as a float (``2000.0``) is accepted where a count is meant (:data:`Whole`), since
TOML and JSON writers often produce it; ``2000.5`` is refused.

:func:`problems` turns a pydantic error into one ``(key, message)`` per problem: the key
names designs and strata by their names (``designs["Two-sided 2%"].msr``), a union of
accepted types is said once (``must be 'none', 'cms', a number in [0, 1] or a list``), a
range is given in full (``must be in [0, 0.5]``), and enumerations list their values.
"""

from __future__ import annotations

import functools
import math
import numbers
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

__all__ = [
    "Name",
    "Problems",
    "StrictModel",
    "Whole",
    "checked_array",
    "problems",
    "whole_number",
]


class StrictModel(BaseModel):
    """Frozen, no unknown keys, no coercion across types."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def whole_number(value: Any) -> Any:
    """Accept an int, or a float with no fractional part; refuse booleans and the rest.

    Examples
    --------
    >>> whole_number(2000.0), whole_number(7)
    (2000, 7)
    """
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, got {str(value).lower()}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise ValueError(f"must be a whole number, got {value!r}")
    return value  # strict int validation reports the type


#: A count: an int, or an integral float such as ``2000.0``.
Whole = Annotated[int, BeforeValidator(whole_number)]


def printable(value: str) -> str:
    """Refuse control characters (a BEL, a NUL, a line break) in a label.

    Examples
    --------
    >>> printable("Track 1")
    'Track 1'
    """
    bad = [c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    if bad:
        raise ValueError(f"must not contain control characters, got {bad[0]!r} in {value!r}")
    if value != value.strip():
        raise ValueError(f"must not start or end with spaces, got {value!r}")
    return value


#: A label (scenario, design, stratum): 1–200 printable characters.
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(printable)]


class Problems(ValueError):
    """Several problems found by a validator, each ``(key, message)`` (keys relative)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" if k else m for k, m in problems))


# ----------------------------------------------------------------------------- messages
_TYPE_WORDS = {
    "int_type": "a whole number", "int_from_float": "a whole number",
    "float_type": "a number", "bool_type": "true or false", "string_type": "text",
    "list_type": "a list", "dict_type": "a table", "model_type": "a table",
    "model_attributes_type": "a table", "tuple_type": "a list", "none_required": "absent",
}


def _is_tag(part: Any) -> bool:
    """Whether a loc element names a union member or a validator, not a key."""
    if not isinstance(part, str):
        return False
    return (any(c in part for c in "[-(") or part[:1].isupper()
            or part in ("int", "float", "str", "bool", "list", "dict", "none"))


@functools.cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].split("/")[-1]]
    return node


def _members(node: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(node, root)
    if "anyOf" in node:
        return [m for sub in node["anyOf"] for m in _members(sub, root)]
    if "allOf" in node and len(node["allOf"]) == 1:
        return _members(node["allOf"][0], root)
    return [node]


def _node(model: type[BaseModel] | None, loc: Sequence[Any]) -> list[dict[str, Any]]:
    """The JSON-schema alternatives of the value at ``loc`` (empty if unknown)."""
    if model is None:
        return []
    root = _schema(model)
    nodes = [root]
    for part in loc:
        nxt = []
        for n in nodes:
            for m in _members(n, root):
                if isinstance(part, int) and "items" in m:
                    nxt.append(m["items"])
                elif isinstance(part, str) and part in m.get("properties", {}):
                    nxt.append(m["properties"][part])
                elif isinstance(part, str) and isinstance(m.get("additionalProperties"), dict):
                    nxt.append(m["additionalProperties"])
        nodes = nxt
    return [m for n in nodes for m in _members(n, root)]


def _fmt_num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else f"{x:,}" if abs(x) >= 10_000 else str(x)


def _range(m: dict[str, Any]) -> str | None:
    """``[0, 1]``, ``> 0`` and the like from a numeric schema node."""
    # a constraint pydantic could not fold into the type shows as ge/gt/le/lt keys
    lo = next((m[k] for k in ("minimum", "exclusiveMinimum", "ge", "gt") if k in m), None)
    hi = next((m[k] for k in ("maximum", "exclusiveMaximum", "le", "lt") if k in m), None)
    lo_b = "(" if ("exclusiveMinimum" in m or "gt" in m) else "["
    hi_b = ")" if ("exclusiveMaximum" in m or "lt" in m) else "]"
    if lo is not None and hi is not None:
        return f"in {lo_b}{_fmt_num(lo)}, {_fmt_num(hi)}{hi_b}"
    if lo is not None:
        return f"{'>' if lo_b == '(' else '>='} {_fmt_num(lo)}"
    if hi is not None:
        return f"{'<' if hi_b == ')' else '<='} {_fmt_num(hi)}"
    return None


def _describe(m: dict[str, Any]) -> list[str]:
    """What one accepted alternative is, in words (each value of an enumeration)."""
    if "const" in m:
        return [repr(m["const"])]
    if "enum" in m:
        return [repr(v) for v in m["enum"]]
    t = m.get("type")
    if t in ("number", "integer"):
        word = "a whole number" if t == "integer" else "a number"
        rng = _range(m)
        return [f"{word} {rng}" if rng else word]
    word = {"boolean": "true or false", "string": "text", "array": "a list",
            "object": "a table"}.get(t or "")
    return [word] if word else []


def _got(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(errs: list[dict[str, Any]], alternatives: list[dict[str, Any]],
             unknown: str) -> str:
    """One message for every error pydantic reported at one location."""
    types = {e["type"] for e in errs}
    if "extra_forbidden" in types:
        return unknown
    if "missing" in types:
        return "required key is missing"
    got = f" (got {_got(errs[0]['input'])})" if "input" in errs[0] else ""
    words = [w for m in alternatives for w in _describe(m)]
    custom = [e for e in errs if e["type"] in ("value_error", "assertion_error")]
    if custom:
        texts = list(dict.fromkeys(e["msg"].split(", ", 1)[-1] for e in custom))
        whole = [w for w in words if w.startswith("a whole number ")]
        if whole and all(x.startswith("must be a whole number,") for x in texts):
            return f"must be {whole[0]}{got}"  # the range, not only the type
        return "; ".join(texts)
    if words:
        words = list(dict.fromkeys(words))
        allowed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
        return f"must be {allowed}{got}"
    if "finite_number" in types:
        return f"must be a finite number{got}"
    word = next((_TYPE_WORDS[t] for t in types if t in _TYPE_WORDS), None)
    if word:
        return f"must be {word}{got}"
    return errs[0]["msg"] + got


def _key(loc: Sequence[Any], data: Any) -> str:
    """``designs["Two-sided 2%"].msr`` from ``("designs", 1, "msr")`` and the input."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            name = item.get("name") if isinstance(item, Mapping) else None
            if isinstance(name, str) and name and name.isprintable() and '"' not in name:
                out += f'["{name}"]'
            else:
                out += f"[{part}]"
            node = item
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return out or "(top level)"


def problems(err: ValidationError, data: Any = None,
             model: type[BaseModel] | None = None, *,
             unknown: str = "unknown key") -> list[tuple[str, str]]:
    """Each problem of ``err`` once, as ``(key, message)``.

    Parameters
    ----------
    err : pydantic.ValidationError
    data : mapping, optional
        The input, to name list items by their ``name`` key.
    model : pydantic model class, optional
        The model validated, to state the full range and the accepted alternatives.
    unknown : str
        The message for a key the model does not have.
    """
    grouped: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not _is_tag(p))
        grouped.setdefault(loc, []).append(e)
    # a union member that got further (a list whose item is wrong) says more than the
    # other members' type mismatches at the same key
    deeper = {loc[:i] for loc in grouped for i in range(len(loc))}
    out = []
    for loc, errs in grouped.items():
        if loc in deeper and all(e["type"] not in ("value_error", "extra_forbidden", "missing")
                                 for e in errs):
            continue
        nested = _nested(errs)
        if nested is not None:
            base = _key(loc, data)
            out += [(_join(base, k), m) for k, m in nested]
            continue
        out.append((_key(loc, data), _message(errs, _node(model, loc), unknown)))
    return out


def _join(base: str, key: str) -> str:
    if not key or key == "(top level)":
        return base
    if base == "(top level)":
        return key
    return base + ("" if key.startswith("[") else ".") + key


def _nested(errs: list[dict[str, Any]]) -> list[tuple[str, str]] | None:
    """Problems carried by an error raised inside a validator (a contract's terms)."""
    for e in errs:
        inner = (e.get("ctx") or {}).get("error")
        found = getattr(inner, "problems", None)
        if found:
            return list(found)
    return None




def checked_array(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
                  lo_open: bool = False, allow_nan: bool = False) -> Any:
    """``value`` as a float64 array, or a ValueError naming ``name`` and the bound it breaks.

    NaN is refused unless ``allow_nan`` (it then means "unknown" and skips the bounds);
    infinities are always refused.

    Examples
    --------
    >>> checked_array("quality", [0.5, 0.9], lo=0.0, hi=1.0).tolist()
    [0.5, 0.9]
    """
    a = np.asarray(value, dtype=np.float64)
    if not allow_nan and np.isnan(a).any():
        raise ValueError(f"{name}: must be a number, got NaN")
    finite = a[~np.isnan(a)]
    if np.isinf(finite).any():
        raise ValueError(f"{name}: must be finite, got inf")
    if lo is not None:
        bad = finite <= lo if lo_open else finite < lo
        if bad.any():
            rel = ">" if lo_open else ">="
            raise ValueError(f"{name}: must be {rel} {lo}, got {float(finite[bad].flat[0])!r}")
    if hi is not None and (finite > hi).any():
        raise ValueError(f"{name}: must be <= {hi}, got {float(finite[finite > hi].flat[0])!r}")
    return a
