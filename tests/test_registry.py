"""The spending-model registry is the one place that lists models, and everything reads it.

For every registered model: a spec naming it validates (with the shape a bare name gets),
builds the entry's class, survives kernel arguments and back, reaches the one-year kernel
as a composition of known primitives and the score kernels as one primitive, draws, and
shows in the CLI's help. And no module outside ``simsav/spending`` spells out two model
names: a list of models anywhere else would be a second registry.
"""

from __future__ import annotations

import ast
import math
import re
import typing
from pathlib import Path

import numpy as np
import pytest

from simsav.analysis.msr_sizing import default_spending
from simsav.cli import main
from simsav.draw.groups import pack_groups, simulate_group_stats
from simsav.draw.scores import score_form
from simsav.kernels import primitives
from simsav.spending import SpendingSpec, kernel_args, model_from_kernel_args
from simsav.spending.registry import (
    DEFAULT_MODEL,
    ENTRIES,
    MODEL_NAMES,
    describe,
    entry,
    model_class,
    model_codes,
    shape_fields,
)

ROOT = Path(__file__).resolve().parents[1] / "simsav"
NAMES = [e.name for e in ENTRIES]


def test_names_fields_and_codes_come_from_the_registry() -> None:
    assert MODEL_NAMES == tuple(NAMES) and len(set(NAMES)) == len(NAMES)
    assert typing.get_args(SpendingSpec.model_fields["model"].annotation) == MODEL_NAMES
    assert SpendingSpec.model_fields["model"].default == DEFAULT_MODEL
    shape = set(SpendingSpec.model_fields) - {"model", "mean", "truncate_at", "truncate_quantile"}
    assert shape == set(shape_fields()) == set().union(*(e.fields for e in ENTRIES))
    assert {model_class(c).code for c in model_codes()} == set(model_codes())
    assert {e.model.code for e in ENTRIES} == set(model_codes())
    with pytest.raises(ValueError, match="unknown spending model 'gumbel'; one of gamma"):
        entry("gumbel")
    assert describe().count("\n") == len(NAMES) - 1


@pytest.mark.parametrize("name", NAMES)
def test_every_model_validates_builds_and_round_trips(name: str) -> None:
    e = entry(name)
    spec = default_spending(name, mean=5_000.0, truncate_quantile=0.99)
    assert spec.model == name
    m = spec.to_model()
    assert isinstance(m, e.model) and m.mean() == pytest.approx(5_000.0, rel=1e-9)
    ka = kernel_args(spec)
    assert ka.code == e.model.code and (e.model.n_params < 0 or ka.params.size == e.model.n_params)
    back = model_from_kernel_args(tuple(ka))
    assert type(back) is type(m) and back.mean(True) == pytest.approx(m.mean(True), rel=1e-12)
    for field in e.required:  # each required field is required
        data = spec.model_dump(exclude_none=True)
        del data[field]
        with pytest.raises(ValueError, match=f"{field}: required by"):
            SpendingSpec.model_validate(data)
    for field in set(shape_fields()) - set(e.fields):  # and the others are refused
        value = _valid_value(field)
        with pytest.raises(ValueError, match=f"{field}: does not apply"):
            SpendingSpec.model_validate({**spec.model_dump(exclude_none=True), field: value})


def _valid_value(field: str) -> object:
    """A value within the field's own bounds (so only the model can refuse it)."""
    f = shape_fields()[field]
    args = typing.get_args(f.annotation)
    if args:
        return args[0]
    if f.annotation is str:  # a file or column name (the empirical model's claims file)
        return "claims.csv"
    for v in (0.5, 1.0, 2.0, 3.0):
        if ((f.gt is None or v > f.gt) and (f.ge is None or v >= f.ge)
                and (f.lt is None or v < f.lt) and (f.le is None or v <= f.le)):
            return v
    raise AssertionError(field)


@pytest.mark.parametrize("name", NAMES)
def test_every_model_reaches_every_kernel(name: str) -> None:
    spec = default_spending(name, mean=5_000.0, truncate_quantile=0.99)
    comp = spec.to_model().composition()
    assert 0.0 <= comp.zero_share < 1.0 and comp.components
    assert sum(c.weight for c in comp.components) == pytest.approx(1.0, abs=1e-12)
    for c in comp.components:
        assert c.kind in primitives.SAMPLE_KINDS
        want = primitives.N_PARAMS[c.kind]
        assert want == -1 or len(c.params) == want
    packed = pack_groups([(spec, 7)])
    assert packed.first.tolist() == [0, len(comp.components)]
    for forward in (False, True):
        kind, p = score_form(spec, forward=forward)
        assert kind in primitives.SCORE_KINDS | (primitives.FORWARD_KINDS if forward else set())
        assert p[0] == comp.zero_share and np.all(np.isfinite(p[2:]))
    gs = simulate_group_stats([(spec, 500)], 200, seed=1)
    m = spec.to_model()
    assert abs(gs.truncated.mean() / 500 - m.mean(True)) < 5 * m.sd(True) / math.sqrt(500 * 200)


def test_cli_help_lists_every_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["msr", "--help"]) == 0
    out = re.sub(r"-\s+", "-", " ".join(capsys.readouterr().out.split()))  # wrapped at hyphens
    for name in NAMES:
        assert name in out


def _string_constants(path: Path) -> set[str]:
    """String literals of a module that are not docstrings."""
    tree = ast.parse(path.read_text())
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docs.add(id(body[0].value))
    return {
        n.value for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    }


def test_no_other_module_lists_models() -> None:
    names = set(NAMES)
    offenders = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "spending":
            continue
        found = _string_constants(path) & names
        if len(found) > 1:
            offenders[str(rel)] = sorted(found)
    assert not offenders, offenders
