"""The restructure's guarantees: draw once, settle many; one stream table; no import cycle.

* ``add_design(ds, c)`` equals :func:`simsav.simulate` with ``c`` among the designs, for
  one-year, attributed, multi-year, provider and aggregate runs (and after a netCDF round
  trip);
* every random stream has one unique, stable id in :data:`simsav.rng.STREAMS`;
* the package's import graph (every ``import``, module level or inside a function) has no
  cycle, and ``import simsav`` loads neither numba, xarray, pandas nor scipy.stats.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simsav.contracts import get_preset
from simsav.results.files import open_dataset, save_dataset
from simsav.rng import STREAMS
from simsav.scenario import Design, parse_scenario
from simsav.simulation import add_design, simulate

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "simsav"


def _scenario(path: str, **update: object):
    data = tomllib.loads((ROOT / path).read_text())
    data.update(update)
    return parse_scenario(data)


def _assert_design_equal(got: xr.Dataset, want: xr.Dataset, design: str) -> None:
    per_design = [k for k in want.data_vars if "design" in want[k].dims]
    assert set(per_design) <= set(got.data_vars)
    for k in per_design:
        a = got[k].sel(design=design).values
        b = want[k].sel(design=design).values
        np.testing.assert_array_equal(a, b, err_msg=f"{design}: {k}")


CASES = {
    # (scenario file, overrides, draws method)
    "one-year": ("scenarios/rural-aco-5k.toml", {}, "per-beneficiary"),
    "one-year strata": ("tests/digests/guards/strata-one-year.toml", {}, "per-beneficiary"),
    "attributed": ("scenarios/attribution-retrospective.toml", {}, "per-beneficiary"),
    "aggregate": ("scenarios/physician-group-20k.toml", {}, "aggregate"),
    "multi-year": ("scenarios/aco-finances.toml", {}, "per-beneficiary"),
    "providers one-year": ("tests/digests/guards/providers-one-year.toml", {},
                           "per-beneficiary"),
    "providers multi-year": ("scenarios/eac-recommendations.toml", {}, "per-beneficiary"),
    "rolling glide deferred": ("tests/digests/guards/rolling-multi-year.toml", {},
                               "per-beneficiary"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_add_design_equals_simulate_with_the_design(case: str) -> None:
    path, update, method = CASES[case]
    scn = _scenario(path, **update)
    last = scn.designs[-1]
    without = scn.model_copy(update={"designs": scn.designs[:-1]})
    ds_all = simulate(scn, n_sims=300, n_threads=1, draws=method)
    ds_less = simulate(without, n_sims=300, n_threads=1, draws=method)
    added = add_design(ds_less, last)
    assert list(added["design"].values) == [d.name for d in scn.designs]
    _assert_design_equal(added, ds_all, last.name)
    # the other designs and the draws are untouched
    for k in ds_less.data_vars:
        xr.testing.assert_identical(added[k].sel(design=ds_less["design"].values)
                                    if "design" in added[k].dims else added[k], ds_less[k])


def test_add_design_of_a_contract_uses_each_sims_attributed_count() -> None:
    # the defect the restructure fixed: add_design settled attributed runs on the whole
    # population, moving the MSR by up to 0.5 point
    scn = _scenario("scenarios/attribution-retrospective.toml")
    ds = simulate(scn, n_sims=512, n_threads=1)
    first = scn.designs[0]
    again = add_design(ds, first.contract(), name="again")
    for k in ("msr", "outcome", "earned_savings", "savings_rate"):
        np.testing.assert_array_equal(again[k].sel(design="again").values,
                                      ds[k].sel(design=first.name).values, err_msg=k)
    assert float(ds["n_attributed"].std()) > 0  # the counts really vary


def test_add_design_after_netcdf_round_trip(tmp_path: Path) -> None:
    scn = _scenario("tests/digests/guards/providers-one-year.toml")
    ds = simulate(scn, n_sims=200, n_threads=1)
    reopened = open_dataset(save_dataset(ds, tmp_path / "r.nc"))
    c = get_preset("mssp-enhanced").with_terms(msr=0.01)
    _assert_design_equal(add_design(reopened, c, name="x"), add_design(ds, c, name="x"), "x")


def test_add_design_takes_a_design_with_its_reconciliation() -> None:
    scn = _scenario("tests/digests/guards/rolling-multi-year.toml")
    ds = simulate(scn, n_sims=200, n_threads=1)
    d = Design(name="deferred", preset="mssp-basic-c", reconciliation="deferred",
               interim_payments=True)
    out = add_design(ds, d)
    with_it = simulate(scn.model_copy(update={"designs": [*scn.designs, d]}), n_sims=200,
                       n_threads=1)
    _assert_design_equal(out, with_it, "deferred")
    assert float(out["true_up"].sel(design="deferred").isel(year=-1).max()) > 0
    with pytest.raises(TypeError, match="Contract, a Design or a preset name"):
        add_design(ds, 3)  # type: ignore[arg-type]
    by_name = add_design(ds, "mssp-basic-c")
    assert "mssp-basic-c" in by_name["design"].values


# ------------------------------------------------------------------------------ streams
def test_stream_ids_are_unique_and_stable() -> None:
    # results depend on these ids: changing one changes every result that uses it
    assert STREAMS == {
        "spending": (), "true_savings": (1,), "benchmark_error": (2,), "quality": (3,),
        "risk_growth": (4,), "panel": (5,), "panel_paths": (5, 1), "trend_error": (6,),
        "aggregate": (7,), "provider_quality": (8,), "attribution": (9,),
        "provider_effect": (10,), "provider_layout": (11,), "common_shock": (12,),
        "aco_persistent": (13,), "aco_year": (14,), "national_trend": (20,),
        "regional_trend": (21,), "msr_size": (2**31,),
    }
    ids = list(STREAMS.values())
    assert len(set(ids)) == len(ids)


def _literal_streams(path: Path) -> list[tuple[int, str]]:
    """Stream ids written as numbers outside rng.py: ``stream=(3,)`` and the like."""
    hits = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "stream" and isinstance(
                node.value, ast.Tuple) and node.value.elts:
            hits.append((node.lineno, ast.unparse(node.value)))
        if isinstance(node, ast.keyword) and node.arg == "spawn_key":
            hits.append((node.lineno, ast.unparse(node.value)))
    return hits


def test_streams_are_named_not_numbered() -> None:
    bad = {str(p.relative_to(ROOT)): h for p in PKG.rglob("*.py")
           if p.name != "rng.py" and (h := _literal_streams(p))}
    assert not bad, f"stream ids written as numbers (use simsav.rng.STREAMS): {bad}"


# ------------------------------------------------------------------------------ imports
def _module_name(path: Path) -> str:
    """``simsav.draw.stage`` from ``simsav/draw/stage.py``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {".".join(p.relative_to(ROOT).with_suffix("").parts[:-1]
                    if p.name == "__init__.py" else p.relative_to(ROOT).with_suffix("").parts)
           for p in PKG.rglob("*.py")}


def _walk(tree: ast.AST):
    """Every node, except inside ``if TYPE_CHECKING:`` blocks (they never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            continue
        yield node
        yield from _walk(node)


def _imports(path: Path, name: str) -> set[str]:
    """Every simsav module ``path`` imports, at module level or in a function."""
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in _walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("simsav")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = name.split(".")
                base = parts[: len(parts) - node.level + (1 if is_pkg else 0)]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            if mod.startswith("simsav"):
                # ``from pkg import submodule`` depends on the submodule, not on pkg
                subs = {f"{mod}.{a.name}" for a in node.names} & MODULES
                if len(subs) < len(node.names):
                    out.add(mod)
                out |= subs
    return out


def _graph() -> dict[str, set[str]]:
    """Module -> the simsav modules it imports (a package's lazy names are not imports)."""
    files = {_module_name(p): p for p in PKG.rglob("*.py")}
    return {name: {m for m in _imports(path, name) if m in files and m != name}
            for name, path in files.items()}


def test_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert len(graph) > 30  # the walk saw the package


def test_import_simsav_is_light() -> None:
    code = ("import sys, simsav; heavy = [m for m in ('numba', 'xarray', 'pandas', "
            "'scipy.stats', 'matplotlib') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
    code = ("import sys, simsav as ss; ss.settle_one(ss.presets['mssp-basic-e'], "
            "benchmark=1e4, expenditure=9e3, n_beneficiaries=1e4); print([m for m in "
            "('numba', 'xarray', 'pandas', 'scipy.stats') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


#: What may be imported inside a function outside the CLI: numba (the kernels), the
#: optional or heavy libraries a few functions need. Anything else belongs at the top of
#: its module, where the import graph can be read.
#: The app's worker (the simulator, xarray, matplotlib) loads only in its child processes,
#: never in the app's server.
LAZY_OK = ("simsav.kernels", "numba", "dask", "matplotlib", "openpyxl", "tqdm",
           "simsav.distributed", "simsav.app.worker")


def _function_imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    out += [(inner.lineno, a.name) for a in inner.names]
                elif isinstance(inner, ast.ImportFrom) and not inner.level:
                    out.append((inner.lineno, inner.module or ""))
    return out


def test_function_local_imports_only_where_they_keep_something_heavy_out() -> None:
    bad = {}
    for p in PKG.rglob("*.py"):
        rel = p.relative_to(ROOT)
        if rel.parts[1] == "cli" or rel == Path("simsav/__init__.py"):
            continue  # each command imports what it runs; the package loads names lazily
        hits = [(line, m) for line, m in _function_imports(p)
                if not m.startswith(LAZY_OK)]
        if hits:
            bad[str(rel)] = hits
    assert not bad, f"imports inside functions (move them to the top): {bad}"
