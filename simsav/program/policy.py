"""Counterfactual policies: another contract for every ACO of a roster, or by track.

A :class:`Policy` is a list of changes; each ACO takes the first change whose ``tracks``
include its track (no ``tracks``: every ACO). A change starts from a named ``preset`` or,
without one, from the ACO's own contract that year, and applies ``terms`` (any term of
:class:`~simsav.contracts.Contract`). Two-sided ACOs keep their elected MSR/MLR unless the
change sets ``msr`` or ``mlr``, or the new contract takes no CMS election.

A policy file is TOML::

    name = "CY2027 proposal: BASIC E shares 60%"
    description = "CMS-1848-P (proposed, July 2026)"

    [[change]]
    tracks = ["basic_e"]
    terms = { max_sharing_rate = 0.6 }

:func:`as_policy` also takes a preset name (that preset for every ACO), a
:class:`~simsav.contracts.Contract`, or a scenario (each of its designs a policy for every
ACO). Presets added later (ACO REACH, LEAD) plug in by name.

Examples
--------
>>> from simsav.contracts import puf_contract
>>> p = as_policy({"name": "no MSR", "change": [{"terms": {"msr": 0.0}}]})
>>> c, keep = apply_policy(p, puf_contract("basic_a", 2022), "basic_a")
>>> c.msr, keep
(0.0, False)
>>> p = as_policy({"name": "E at 60%", "change": [{"tracks": ["basic_e"],
...                "terms": {"max_sharing_rate": 0.6}}]})
>>> apply_policy(p, puf_contract("basic_e", 2022), "basic_e")[0].max_sharing_rate
0.6
>>> apply_policy(p, puf_contract("basic_b", 2022), "basic_b")[0].max_sharing_rate  # unchanged
0.4
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from simsav.contracts import Contract, ContractError, get_preset, preset_names
from simsav.program.roster import Track
from simsav.scenario import Scenario, parse_scenario, read_toml
from simsav.validation import Name, Problems, StrictModel, problems

__all__ = ["Policy", "PolicyChange", "PolicyError", "apply_policy", "as_policy", "load_policy"]

_TERMS = frozenset(Contract.model_fields) - {"name", "description"}


class PolicyError(ValueError):
    """A policy that does not validate; the message names each problem's key."""


class PolicyChange(StrictModel):
    """One change of a :class:`Policy` (see the module docstring)."""

    tracks: list[Track] | None = None
    preset: str | None = None
    terms: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> PolicyChange:
        found: list[tuple[str, str]] = []
        if self.tracks is not None and not self.tracks:
            found.append(("tracks", "give at least one track, or leave tracks out for every ACO"))
        if self.preset is not None and self.preset not in preset_names():
            found.append(("preset", f"unknown preset {self.preset!r}; available: "
                                    f"{', '.join(preset_names())}"))
        for k in sorted(set(self.terms) - _TERMS):
            found.append((f"terms.{k}", "unknown contract term"))
        if self.preset is None and not self.terms:
            found.append(("", "give a preset, terms, or both"))
        if not found and self.preset is not None:
            try:
                get_preset(self.preset).with_terms(**self.terms)
            except ContractError as e:
                found += [(f"terms.{k}" if k else "terms", m) for k, m in e.problems]
        if found:
            raise Problems(found)
        return self


class Policy(StrictModel):
    """A counterfactual: a name, a description and its changes (first match wins)."""

    name: Name
    description: Annotated[str, Field(max_length=10_000)] = ""
    change: list[PolicyChange]

    @model_validator(mode="after")
    def _check(self) -> Policy:
        if not self.change:
            raise Problems([("change", "give at least one change")])
        if self.name == "baseline":
            raise Problems([("name", "'baseline' names the roster's own contracts; "
                                     "choose another name")])
        return self


def _validate(data: Mapping[str, Any], source: str) -> Policy:
    try:
        return Policy.model_validate(dict(data))
    except ValidationError as err:
        found = problems(err, data, Policy)
        raise PolicyError(f"{source}: " + "; ".join(f"{k}: {m}" for k, m in found)) from None


def _from_scenario(scn: Scenario) -> list[Policy]:
    out = []
    for d in scn.designs:
        if d.glide is not None or d.reconciliation != "annual":
            raise PolicyError(f"policy {d.name!r}: a program year settles once; glide paths "
                              "and deferred reconciliation do not apply")
        terms = d.contract().model_dump(exclude={"name", "description"})
        out.append(Policy(name=d.name, description=d.contract().description,
                          change=[PolicyChange(terms=terms)]))
    return out


def load_policy(path: str | os.PathLike[str]) -> list[Policy]:
    """The policies of a TOML file: a policy file, or a scenario (one per design).

    Raises
    ------
    PolicyError
        For a file that does not validate (the message names each problem's key).
    FileNotFoundError
        If there is no such file.
    """
    data = read_toml(Path(path))
    if "designs" in data:
        return _from_scenario(parse_scenario(data, source=str(path)))
    return [_validate(data, str(path))]


def as_policy(spec: Any) -> Policy:
    """A :class:`Policy` from a Policy, a mapping, a preset name or a Contract.

    A string names a preset (that preset for every ACO) or a policy file with one policy.
    """
    if isinstance(spec, Policy):
        return spec
    if isinstance(spec, Mapping):
        return _validate(spec, "policy")
    if isinstance(spec, Contract):
        terms = spec.model_dump(exclude={"name", "description"})
        return Policy(name=spec.name or "policy", description=spec.description,
                      change=[PolicyChange(terms=terms)])
    if isinstance(spec, str | os.PathLike):
        if isinstance(spec, str) and spec in preset_names():
            return Policy(name=spec, description=get_preset(spec).description,
                          change=[PolicyChange(preset=spec)])
        if Path(spec).is_file():
            found = load_policy(spec)
            if len(found) != 1:
                raise PolicyError(f"{spec}: holds {len(found)} policies; pass them as a list")
            return found[0]
        raise PolicyError(f"policy: {str(spec)!r} is neither a preset ({', '.join(preset_names())})"
                          " nor a policy file")
    raise PolicyError(f"policy: expected a Policy, a mapping, a preset name, a file or a "
                      f"Contract, got {type(spec).__name__}")


def apply_policy(policy: Policy, base: Contract, track: str) -> tuple[Contract, bool]:
    """The contract ``policy`` gives an ACO of ``track`` whose own contract is ``base``.

    Returns
    -------
    (Contract, bool)
        The contract, and whether the ACO keeps its elected MSR/MLR.

    Raises
    ------
    ContractError
        If the change's terms do not fit the contract (named with the policy and track).
    """
    for change in policy.change:
        if change.tracks is not None and track not in change.tracks:
            continue
        start = get_preset(change.preset) if change.preset is not None else base
        try:
            c = start.with_terms(**change.terms) if change.terms else start
        except ContractError as e:
            raise ContractError([(f"policy {policy.name!r}, track {track or 'preset'}"
                                  + (f".{k}" if k else ""), m) for k, m in e.problems]) from None
        keep = (c.two_sided and c.cms_election and "msr" not in change.terms
                and "mlr" not in change.terms)
        return c, keep
    return base, base.two_sided and base.cms_election
