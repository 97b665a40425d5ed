"""Hostile input and faults: every bad input named, no output set ever mixed.

One test per failure found when simsav was tried as a hostile user would, then fuzzing
(hypothesis) of scenario trees and of command lines: every case ends in success or exit 2
with a message, never a traceback.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simsav as ss
from simsav.cli import main
from simsav.results.output_set import MANIFEST
from simsav.scenario import ScenarioError
from simsav.simulation import ResourceError, check_memory

ROOT = Path(__file__).resolve().parents[1]
RURAL = ROOT / "scenarios" / "rural-aco-5k.toml"
BASE = tomllib.loads(RURAL.read_text())
PUF2022 = ROOT / "simsav" / "data" / "puf" / "mssp_puf_PY2022.csv"


def _write(tmp_path: Path, data: dict, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(tomli_w.dumps(data))
    return p


def _problems(data: dict) -> dict[str, str]:
    with pytest.raises(ScenarioError) as e:
        ss.parse_scenario(data)
    return dict(e.value.problems)


def _mutated(**changes: object) -> dict:
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return data


# --------------------------------------------------------------------- no lax coercion
@pytest.mark.parametrize("changes,key,words", [
    ({"population__beneficiaries": True}, "population.beneficiaries", "whole number"),
    ({"population__beneficiaries": 2000.5}, "population.beneficiaries", "whole number"),
    ({"sims": 2.7}, "sims", "whole number"),
    ({"designs__1__msr": True}, 'designs["Two-sided 2%"].msr', "'none', 'cms'"),
    ({"designs__0__two_sided": "yes"}, 'designs["Track 1"].two_sided', "true or false"),
    ({"designs__0__two_sided": 1}, 'designs["Track 1"].two_sided', "true or false"),
    ({"designs__0__loss_rate": 0.3}, 'designs["Track 1"].loss_rate', "does not apply"),
    ({"spending__mean": "11000"}, "spending.mean", "number"),
    ({"quality__score": math.nan}, "quality.score", "[0, 1]"),
])
def test_no_silent_coercion(changes, key, words):
    problems = _problems(_mutated(**changes))
    assert key in problems, problems
    assert words in problems[key]


def test_whole_numbers_written_as_floats_are_accepted():
    scn = ss.parse_scenario(_mutated(population__beneficiaries=5000.0, sims=200.0))
    assert scn.population.beneficiaries == 5000 and scn.sims == 200


def test_messages_name_designs_and_list_enumerations():
    p = _problems(_mutated(agreement={"persistence": "sticky"}))
    assert "'medicare', 'independent'" in p["agreement.persistence"]
    p = _problems(_mutated(designs__1__quality_method="laddr"))
    assert p['designs["Two-sided 2%"].quality_method'] == (
        "must be 'flat', 'scaled', 'standard' or 'ladder' (got 'laddr')")
    # one line per problem: no pydantic union dump, no whole preset
    for m in _problems(_mutated(designs__1__msr=[{"lo": 1.5, "low": 0.02}])).values():
        assert "\n" not in m and "validation error" not in m and len(m) < 200


@pytest.mark.parametrize("name", ["a\x07b", "x\x00", "line\nbreak", "tab\tin"])
def test_control_characters_in_names_refused(name):
    assert any("control characters" in m for m in _problems(_mutated(name=name)).values())
    assert any("control characters" in m for m in
               _problems(_mutated(designs__0__name=name)).values())


def test_validate_checks_what_run_checks(tmp_path, capsys):
    for strata, words in (([{"name": "a", "share": 1.0, "model": "gammma", "cv": 1.0}],
                           'strata["a"].model'),
                          ([{"name": "a", "share": 1.0, "model": "gamma"}], 'strata["a"]')):
        path = _write(tmp_path, _mutated(strata=strata))
        assert main(["validate", str(path)]) == 2
        assert words in capsys.readouterr().err


# ------------------------------------------------------------------------------- files
def test_bom_non_utf8_directory_and_unreadable(tmp_path, capsys):
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + RURAL.read_bytes())
    assert main(["validate", str(bom)]) == 0
    latin = tmp_path / "latin.toml"
    latin.write_bytes(RURAL.read_bytes().replace(b'name = "rural', b'name = "r\xe9'))
    assert main(["validate", str(latin)]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["run", str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "missing.toml")]) == 2
    assert "not found" in capsys.readouterr().err
    with pytest.raises(TypeError, match="file path or a mapping"):
        ss.load_scenario(3)  # type: ignore[arg-type]
    assert ss.load_scenario(BASE).name == "rural-aco-5k"  # a mapping means its contents


# ----------------------------------------------------------------------------- outputs
def _set_files(out: Path) -> dict[str, str]:
    manifest = json.loads((out / MANIFEST).read_text())
    return {k: v["sha256"] for k, v in manifest["files"].items()}


def _no_leftovers(out: Path) -> None:
    stray = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert not stray, stray


def test_out_checked_before_simulating(tmp_path, capsys):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    for out, words in ((a_file, "is a file"), (a_file / "sub", "which is a file"),
                       (tmp_path / "no" / "such", "does not exist")):
        assert main(["run", str(RURAL), "--sims", "50", "--out", str(out)]) == 2
        err = capsys.readouterr()
        assert words in err.err and "P(clear MSR)" not in err.out  # nothing was simulated
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert main(["run", str(RURAL), "--sims", "50", "--out", str(busy)]) == 2
    assert "holds other files" in capsys.readouterr().err
    assert (busy / "notes.txt").read_text() == "mine"


def test_second_run_into_the_same_directory_is_refused(tmp_path, capsys):
    from simsav.results.output_set import OutputError, OutputSet

    out = tmp_path / "out"
    with OutputSet(out) as first:
        first.path("a.txt").write_text("1")
        with pytest.raises(OutputError, match="another simsav run is writing"):
            OutputSet(out).__enter__()
    assert (out / "a.txt").read_text() == "1"
    _no_leftovers(out)


def test_a_later_run_replaces_the_whole_set(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(RURAL), "--sims", "60", "--seed", "1", "--out", str(out)]) == 0
    first = _set_files(out)
    assert main(["run", str(RURAL), "--sims", "60", "--seed", "2", "--out", str(out)]) == 0
    second = _set_files(out)
    assert set(first) == set(second) and first["results.nc"] != second["results.nc"]
    assert ss.open_dataset(out / "results.nc").attrs["seed"] == 2
    _no_leftovers(out)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["start", "results.nc", "summary.csv", "payouts.png", "swap"])
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_run_stopped_while_writing_leaves_the_earlier_set(tmp_path, point, sig):
    out = tmp_path / "out"
    assert main(["run", str(RURAL), "--sims", "60", "--seed", "1", "--out", str(out)]) == 0
    before = _set_files(out)
    env = dict(os.environ, SIMSAV_SIGNAL_AT=f"{point}:{sig}")
    res = subprocess.run([sys.executable, "-m", "simsav.cli", "run", str(RURAL), "--sims", "60",
                          "--seed", "2", "--out", str(out), "--quiet"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == (143 if sig == "SIGTERM" else 130), res.stderr
    assert "Traceback" not in res.stderr
    assert _set_files(out) == before  # the earlier set, whole
    for name, digest in before.items():
        import hashlib
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    _no_leftovers(out)


def test_seeds_beyond_64_bits_run_and_are_stored(tmp_path):
    seed = 2**70 + 3
    scn = ss.parse_scenario(_mutated(seed=seed))
    ds = ss.simulate(scn, n_sims=20)
    assert ds.attrs["seed"] == str(seed)
    back = ss.open_dataset(ss.save_dataset(ds, tmp_path / "r.nc"))
    assert back.attrs["seed"] == str(seed)


# ---------------------------------------------------------------------------- commands
@pytest.mark.parametrize("argv,words", [
    (["run", str(RURAL), "--sims", "0"], "--sims"),
    (["run", str(RURAL), "--sims", "2.7"], "--sims"),
    (["run", str(RURAL), "--sims", "20000000"], "--sims"),
    (["run", str(RURAL), "--seed", "-1"], "--seed"),
    (["compare", str(RURAL), "--sims", "0"], "--sims"),
    (["compare", str(RURAL), "--seed", "-5"], "--seed"),
    (["settle", "--preset", "mssp-track1-2012", "--benchmark", "12000", "--expenditure",
      "11000", "--beneficiaries", "2000.5"], "--beneficiaries"),
    (["settle", "--preset", "mssp-track2-2012", "--benchmark", "12000", "--expenditure",
      "11000", "--beneficiaries", "2000", "--agreement-year", "12"], "--agreement-year"),
    (["settle", "--preset", "mssp-track1-2012", "--benchmark", "1e308", "--expenditure",
      "11000", "--beneficiaries", "2000"], "--benchmark"),
    (["settle", "--preset", "mssp-track1-2012", "--benchmark", "nan", "--expenditure",
      "11000", "--beneficiaries", "2000"], "--benchmark"),
    (["msr", "--sizes", "1000,x"], "--sizes"),
    (["msr", "--sizes", "1e3.5"], "--sizes"),
    (["msr", "--sizes", "inf"], "--sizes"),
    (["msr", "--alpha", "0"], "--alpha"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and err.count("\n") == 1


def test_msr_plot_and_thin_tails(tmp_path, capsys):
    assert main(["msr", "--sizes", "1000", "--plot", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["msr", "--sizes", "1000", "--plot", str(tmp_path / "new" / "m.png")]) == 2
    assert not (tmp_path / "new").exists()  # no directory created on the way
    assert main(["msr", "--sizes", "1000", "--alpha", "0.001", "--sims", "500",
                 "--draws", "aggregate"]) == 0
    assert "warning: alpha x sims = 0.5" in capsys.readouterr().err


def test_settle_refuses_mismatched_shapes_and_overflow():
    c = ss.presets["mssp-track1-2012"]
    with pytest.raises(ValueError, match="one shape"):
        ss.settle(c, benchmark=np.full(5, 1e4), expenditure=np.full((5, 1), 9e3),
                  n_beneficiaries=1e4)
    with pytest.raises(ValueError, match="overflow"):
        ss.settle_one(c, benchmark=1e308, expenditure=9e3, n_beneficiaries=1e4)


def test_summarize_of_too_few_sims_and_add_design_of_a_name():
    ds = ss.simulate(ss.load_scenario(RURAL), n_sims=30)
    with pytest.raises(ValueError, match="at least 2 sims"):
        ss.summarize(ds.isel(sim=slice(0, 1)))
    assert "mssp-basic-a" in ss.add_design(ds, "mssp-basic-a")["design"].values


# --------------------------------------------------------------------- CMS results files
def _rewrite(src: Path, dst: Path, edit) -> Path:
    with src.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    edit(rows)
    with dst.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return dst


def test_results_files_name_the_bad_row(tmp_path, capsys):
    plain = _rewrite(PUF2022, tmp_path / "results.csv", lambda rows: None)
    assert main(["replicate-puf", str(plain)]) == 2
    assert "no year column" in capsys.readouterr().err
    assert main(["replicate-puf", str(plain), "--year", "2022", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["performance_year"] == 2022

    def bad_cell(rows):
        rows[5][rows[0].index("N_AB")] = "abc"

    def duplicate(rows):
        rows.append(list(rows[7]))

    def ragged(rows):
        rows[9].append("extra")

    for edit, words in ((bad_cell, "line 6, column N_AB: 'abc' is not a number"),
                        (duplicate, "appears 2 times for 2022"),
                        (ragged, "line 10 has")):
        path = _rewrite(PUF2022, tmp_path / "bad.csv", edit)
        assert main(["replicate-puf", str(path), "--year", "2022"]) == 2
        assert words in capsys.readouterr().err
    assert main(["calibrate-puf", "2021", str(plain), "--year", "2022", "--year", "2021"]) == 2
    assert "--year: give one per file" in capsys.readouterr().err


# ---------------------------------------------------------------------------- resources
def test_runs_that_do_not_fit_are_refused_before_they_start(capsys):
    scn = ss.load_scenario(ROOT / "scenarios" / "eac-recommendations.toml")
    with pytest.raises(ResourceError, match=r"need about [\d,.]+ GB .* available"):
        check_memory(scn, 10_000_000, available=16 * 2**30)
    check_memory(scn, 1_000, available=16 * 2**30)


def test_streaming_summary_equals_the_full_run_where_exact():
    scn = ss.load_scenario(ROOT / "scenarios" / "physician-group-20k.toml")
    full = ss.summarize(ss.simulate(scn, n_sims=1_500, draws="aggregate"))
    from simsav.simulation import simulate_summary

    streamed = simulate_summary(scn, n_sims=1_500, keep=500, chunk_blocks=2,
                                draws="aggregate")
    for k in ("p_clear_msr", "p_owe_loss", "expected_aco_net", "se_expected_aco_net",
              "agreement_p_ahead"):
        np.testing.assert_allclose(streamed[k], full[k], rtol=1e-10, err_msg=k)
    assert streamed.attrs["quantiles_from_sims"] == 500


def test_unreachable_dask_scheduler_fails_fast(capsys, monkeypatch):
    import simsav.distributed

    monkeypatch.setattr(simsav.distributed, "CONNECT_TIMEOUT", 1.0)
    assert main(["run", str(RURAL), "--sims", "50", "--dask", "tcp://127.0.0.1:9"]) == 2
    assert "--dask: cannot reach a dask scheduler" in capsys.readouterr().err  # in 1 s


# ------------------------------------------------------------------------------ fuzzing
_SCALARS = st.one_of(
    st.booleans(), st.integers(-10**6, 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["", "\x07bell", "x\x00y", "medicare", "cms",
                                           "gamma", "annual", "deferred", "beta"]),
    st.lists(st.integers(-3, 3), max_size=3), st.just({}),
)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def perturbed_scenarios(draw: st.DrawFn) -> dict:
    data = copy.deepcopy(BASE)
    data["sims"] = 12
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        parent = data
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "misspell", "add"]))
        if action == "replace":
            parent[key] = draw(_SCALARS)
        elif action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif action == "misspell" and isinstance(parent, dict):
            parent[str(key) + draw(st.sampled_from(["_", "s", "x"]))] = parent.pop(key)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["beneficiaries", "loss_rate", "msr", "cv", "seed",
                                         "two_sided", "years", "persistence", "zz"]))] = \
                draw(_SCALARS)
    return data


def _small(data: dict) -> bool:
    """Whether a valid scenario is cheap enough to run in a fuzz example."""
    try:
        scn = ss.parse_scenario(data)
    except ScenarioError:
        return True
    ag = scn.agreement
    return scn.population.beneficiaries * (ag.base_years + ag.years) <= 200_000


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=perturbed_scenarios())
def test_fuzz_scenarios_end_in_success_or_exit_2(tmp_path, capsys, data):
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):
        return  # not expressible as TOML (e.g. a list of mixed types)
    path = tmp_path / "fuzz.toml"
    path.write_text(text)
    rc = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert rc in (0, 2) and "Traceback" not in err
    if rc == 0 and _small(data):
        rc = main(["run", str(path), "--sims", "12", "--quiet", "--json"])
        err = capsys.readouterr().err
        assert rc in (0, 2) and "Traceback" not in err, err
    elif rc == 2:
        assert err.strip(), "exit 2 must say why"


_TOKENS = st.sampled_from([
    "run", "compare", "validate", "msr", "settle", "presets", "replicate-puf",
    "calibrate-puf", str(RURAL), "nope.toml", "--sims", "--seed", "--out", "--json",
    "--draws", "aggregate", "per-beneficiary", "--stream", "--keep", "--target-se",
    "--preset", "mssp-basic-e", "bogus-preset", "--benchmark", "--expenditure",
    "--beneficiaries", "--quality", "--msr", "--agreement-year", "--sizes", "--alpha",
    "--spending", "gamma", "--cv", "--plot", "--year", "--verbose", "0", "1", "-1", "12",
    "2.5", "1e308", "nan", "inf", "true", "1000,5000", "", "\x07", "2022", "-v",
])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(argv=st.lists(_TOKENS, min_size=0, max_size=8))
def test_fuzz_command_lines_end_in_success_or_exit_2(tmp_path, capsys, argv, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # keep runs cheap: a run that would be large gets small sims
    if argv and argv[0] in ("run", "compare", "msr") and "--sims" not in argv:
        argv = [*argv, "--sims", "100" if argv[0] == "msr" else "12"]
    if "--sizes" in argv and argv[0] == "msr":
        argv = [*argv, "--sizes", "1000"]
    rc = main(argv)
    out = capsys.readouterr()
    assert rc in (0, 2), (argv, rc, out.err)
    assert "Traceback" not in out.err
    if rc == 2:
        assert out.err.strip()


def test_sigterm_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    main(["presets"])
    assert signal.getsignal(signal.SIGTERM) == before
