"""Scenario keys by dotted name: parse ``KEY=VALUES``, set keys, and validate the result.

A key names any field of a scenario the way its TOML file spells it, tables joined by
dots: ``aco.true_savings``, ``population.beneficiaries``, ``spending.cv``,
``quality.score``, ``agreement.trend_error_sd``. A list of named tables (``designs``,
``strata``) takes ``*`` for every entry, an entry's name, or its 0-based index:
``designs.*.msr``, ``designs.Track 1.loss_rate``, ``designs[Two-sided 2.5%].msr`` (a name
with a dot goes in brackets). A design key sets a contract term of that design: any term
of :class:`~simsav.contracts.Contract`, those added later included.

Every setting is checked by the scenario's own validation (:func:`simsav.parse_scenario`),
so a value out of range is refused with the key and the allowed range.

Keys of ``designs``, ``distribution`` and ``finances`` change only the settlement: the
same draws can be settled again (:func:`settles_only`). Any other key changes the draws.

Examples
--------
>>> parse_values("-0.02:0.04:4")
[-0.02, 0.0, 0.02, 0.04]
>>> parse_values("5000,10000,20000")
[5000, 10000, 20000]
>>> split_key("designs[Two-sided 2.5%].msr")
['designs', 'Two-sided 2.5%', 'msr']
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simsav.scenario import Scenario, ScenarioError, parse_scenario

__all__ = [
    "SETTLEMENT_TABLES",
    "check_values",
    "get_key",
    "parse_setting",
    "parse_value",
    "parse_values",
    "set_keys",
    "settles_only",
    "split_key",
]

#: Top-level tables whose keys change the settlement only, never the draws.
SETTLEMENT_TABLES = ("designs", "distribution", "finances")

#: Keys a sweep may not set: they are arguments of the run itself.
_RUN_KEYS = ("seed", "sims", "block_size", "name")

_TOKEN = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")
_INT = re.compile(r"[+-]?\d+")


def split_key(key: str) -> list[str]:
    """Split a dotted key into its parts (a bracketed part may hold dots).

    Raises
    ------
    ValueError
        For an empty key or one with empty parts.
    """
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"key: must be a dotted name like aco.true_savings, got {key!r}")
    parts: list[str] = []
    pos = 0
    text = key.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"key {key!r}: cannot read it at character {pos + 1}")
        part = m.group(1) if m.group(1) is not None else m.group(2)
        parts.append(part.strip().strip("\"'"))
        pos = m.end()
        if pos < len(text) and text[pos] == ".":
            pos += 1
            if pos == len(text):
                raise ValueError(f"key {key!r}: ends with a dot")
    if any(not p for p in parts):
        raise ValueError(f"key {key!r}: has an empty part")
    return parts


def settles_only(key: str) -> bool:
    """Whether ``key`` changes only the settlement (the same draws can be re-settled).

    Examples
    --------
    >>> settles_only("designs.*.msr"), settles_only("aco.true_savings")
    (True, False)
    """
    return split_key(key)[0] in SETTLEMENT_TABLES


def parse_value(text: str) -> Any:
    """One value as a command line gives it: an int, a float, true/false, or text.

    Examples
    --------
    >>> parse_value("5000"), parse_value("0.02"), parse_value("true"), parse_value("cms")
    (5000, 0.02, True, 'cms')
    """
    t = text.strip()
    if _INT.fullmatch(t):
        return int(t)
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        v = float(t)
    except ValueError:
        return t.strip("\"'")
    if not math.isfinite(v):
        raise ValueError(f"{text!r} is not a finite number")
    return v


def _tidy(x: float) -> float:
    """A grid point without float noise (``0.009999999999999998`` -> ``0.01``)."""
    return float(f"{x:.12g}")


def parse_values(text: str) -> list[Any]:
    """Values of a sweep: ``LO:HI:N`` (N evenly spaced, ends included) or ``A,B,C``.

    Raises
    ------
    ValueError
        For a range that is not two numbers and a count >= 2, or an empty list.
    """
    t = text.strip()
    if ":" in t:
        parts = t.split(":")
        try:
            if len(parts) != 3:
                raise ValueError
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError(f"{text!r}: a range is LO:HI:N, e.g. -0.02:0.04:7") from None
        if n < 2 or not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"{text!r}: a range needs finite ends and N >= 2")
        grid = [_tidy(x) for x in np.linspace(lo, hi, n)]
        if all(_INT.fullmatch(p.strip()) for p in parts[:2]) and all(
                float(x).is_integer() for x in grid):
            return [int(x) for x in grid]
        return grid
    values = [parse_value(p) for p in t.split(",") if p.strip()]
    if not values:
        raise ValueError(f"{text!r}: no values")
    return values


def parse_setting(text: str) -> tuple[str, list[Any]]:
    """``KEY=VALUES`` of the command line, as ``(key, values)``.

    Examples
    --------
    >>> parse_setting("designs.*.msr=0.01,0.02")
    ('designs.*.msr', [0.01, 0.02])
    """
    key, sep, vals = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{text!r}: give KEY=VALUES, e.g. aco.true_savings=-0.02:0.04:7")
    split_key(key)
    return key.strip(), parse_values(vals)


def _select(items: list[Any], part: str, key: str) -> list[int]:
    """Indices of the list entries ``part`` names: ``*``, a name, or an index."""
    if part == "*":
        return list(range(len(items)))
    names = [it.get("name") if isinstance(it, dict) else None for it in items]
    if part in names:
        return [names.index(part)]
    if _INT.fullmatch(part) and -len(items) <= int(part) < len(items):
        return [int(part) % len(items)]
    known = ", ".join(repr(n) for n in names if n is not None)
    raise ValueError(f"no entry named {part!r} (entries: {known or 'none'}; or * for all)")


def _assign(node: Any, parts: Sequence[str], value: Any, key: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        for i in _select(node, head, key):
            if rest:
                _assign(node[i], rest, value, key)
            else:
                node[i] = value
        return
    if not isinstance(node, dict):
        raise ValueError(f"{head!r} is inside a value, not a table")
    if not rest:
        node[head] = value
        return
    if head not in node or node[head] is None:
        node[head] = {}
    _assign(node[head], rest, value, key)


def get_key(scenario: Scenario, key: str) -> Any:
    """The value a dotted key has in ``scenario`` (the first entry's for ``*``; None if unset).

    Examples
    --------
    >>> import simsav as ss
    >>> get_key(ss.load_scenario("scenarios/rural-aco-5k.toml"), "population.beneficiaries")
    5000
    """
    node: Any = scenario.model_dump(mode="json", exclude_none=True)
    for part in split_key(key):
        if isinstance(node, list):
            idx = _select(node, part, key)
            node = node[idx[0]] if idx else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return node


def set_keys(scenario: Scenario, settings: Mapping[str, Any]) -> Scenario:
    """Return ``scenario`` with each dotted key set to its value, validated.

    Parameters
    ----------
    scenario : Scenario
    settings : mapping of str to value
        ``{key: value}``; keys as in the module docstring.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Naming each key and value that does not validate.

    Examples
    --------
    >>> import simsav as ss
    >>> scn = ss.load_scenario("scenarios/rural-aco-5k.toml")
    >>> s2 = set_keys(scn, {"aco.true_savings": 0.02, "designs.*.msr": 0.01})
    >>> s2.aco.true_savings, s2.contracts()["Track 1"].msr
    (0.02, 0.01)
    """
    data = copy.deepcopy(scenario.model_dump(mode="json", exclude_none=True))
    for key, value in settings.items():
        parts = split_key(key)
        if parts[0] in _RUN_KEYS:
            raise ScenarioError([(key, "is set by the run's own arguments (n_sims, seed); "
                                       "it cannot be swept")], "settings")
        try:
            _assign(data, parts, _plain(value), key)
        except ValueError as e:
            raise ScenarioError([(key, str(e))], "settings") from None
    where = ", ".join(f"{k} = {_plain(v)!r}" for k, v in settings.items())
    return parse_scenario(data, source=f"{scenario.name} with {where}" if where
                          else scenario.name)


def _plain(value: Any) -> Any:
    """Return numpy scalars as Python numbers (the scenario is strict about types)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_values(scenario: Scenario, grid: Mapping[str, Sequence[Any]]) -> None:
    """Check every value of every key against ``scenario``, one key at a time.

    Raises
    ------
    ScenarioError
        Listing each key and value that the scenario refuses, with the reason.
    ValueError
        For a key with no values or repeated values.
    """
    found: list[tuple[str, str]] = []
    for key, values in grid.items():
        vals = [_plain(v) for v in values]
        if not vals:
            raise ValueError(f"{key}: no values")
        if len({repr(v) for v in vals}) < len(vals):
            raise ValueError(f"{key}: repeated values {vals}")
        for v in vals:
            try:
                set_keys(scenario, {key: v})
            except ScenarioError as e:
                found += [(f"{key} = {v!r}", m if k in (key, "(top level)") else f"{k}: {m}")
                          for k, m in e.problems]
    if found:
        raise ScenarioError(found, "settings")
