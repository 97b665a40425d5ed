"""The app without a browser: the form as data, the run processes, the command.

The browser itself is tested in ``test_app_browser.py``.
"""

import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("panel")

import simsav as ss  # noqa: E402
from simsav.app import jobs  # noqa: E402
from simsav.app.form import (  # noqa: E402
    DesignRow,
    FormState,
    build_mapping,
    field_of,
    split_scenario,
    to_toml,
    validate,
)
from simsav.io.claims import resolve_sample_path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").rglob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_bundled_scenario_survives_the_form(path: Path) -> None:
    """Load → form → save gives the same scenario: nothing dropped, nothing changed."""
    # a claims file named relative to the scenario is found as simsav app finds it
    data = resolve_sample_path(tomllib.loads(path.read_text()), path.parent)
    state = split_scenario(data)
    mapping, found = build_mapping(state)
    assert found == []
    assert ss.parse_scenario(mapping) == ss.load_scenario(path)
    assert ss.parse_scenario(tomllib.loads(to_toml(state))) == ss.load_scenario(path)


def test_invalid_file_keeps_every_value_and_names_each_problem() -> None:
    data = {"name": "x", "population": {"beneficiaries": 2.5},
            "spending": {"model": "gamma", "mean": 11000},
            "designs": [{"name": "T1", "preset": "mssp-track1-2012", "msr": 2}],
            "agreement": {"years": 99}}
    state = split_scenario(data)
    assert build_mapping(state)[0] == data  # nothing lost on the way through the form
    scn, found = validate(state)
    assert scn is None
    where = {k: field_of(k, state) for k, _ in found}
    # the schema's own messages, each placed at its field
    with pytest.raises(ss.ScenarioError) as err:
        ss.parse_scenario(data)
    assert found == err.value.problems
    assert where["population.beneficiaries"] == ("population.beneficiaries", None)
    assert where["spending.cv"] == ("spending.cv", None)
    assert where['designs["T1"].msr'] == ("design", 0)
    assert where["agreement.years"] == ("extra", None)


def test_form_problems_are_its_own() -> None:
    state = split_scenario({"name": "x", "population": {"beneficiaries": 100},
                            "spending": {"mean": 1.0}, "designs": [{"name": "a"}]})
    state.designs[0].terms = "msr = "
    state.extra = "[aco]\ntrue_savings = 0.01\n"
    state.values["aco.true_savings"] = "0.02"
    _, found = build_mapping(state)
    keys = [k for k, _ in found]
    assert keys == ['designs["a"]', "extra"]
    assert "not valid TOML" in found[0][1]
    assert "aco.true_savings is set in the form and again here" in found[1][1]


def test_design_problems_find_their_row() -> None:
    state = FormState(designs=[DesignRow("A"), DesignRow("B"), DesignRow("A")])
    assert field_of('designs["B"].loss_rate', state) == ("design", 1)
    assert field_of('designs["A"].msr', state) == ("designs", None)  # ambiguous: section
    assert field_of("designs[2].msr", state) == ("design", 2)
    assert field_of("designs", state) == ("designs", None)


@pytest.fixture(scope="module")
def small_toml() -> str:
    data = tomllib.loads((ROOT / "scenarios" / "rural-aco-5k.toml").read_text())
    data.update(seed=11, sims=300)
    data["population"]["beneficiaries"] = 1000
    return to_toml(split_scenario(data))


def test_a_job_gives_what_simulate_gives(small_toml: str) -> None:
    job = jobs.Job("compare", small_toml).start()
    assert job.wait(timeout=120) == "done", job.error
    assert job.done_sims == 300
    ref = ss.summarize(ss.simulate(ss.load_scenario(tomllib.loads(small_toml))), frame=True)
    got = job.result["frame"]
    assert list(got["metric"]) == list(ref["metric"])
    np.testing.assert_array_equal(got["value"].to_numpy(), ref["value"].to_numpy())
    np.testing.assert_array_equal(got["high"].to_numpy(), ref["high"].to_numpy())
    assert job.result["png"]["1"][:8] == b"\x89PNG\r\n\x1a\n"
    assert job.result["netcdf"][:4] in (b"\x89HDF", b"CDF\x01", b"CDF\x02")


def test_cancel_stops_the_process_and_keeps_nothing(small_toml: str) -> None:
    big = small_toml.replace("sims = 300", "sims = 2000000")
    job = jobs.Job("compare", big).start()
    job.wait(timeout=1.0)
    job.cancel()
    assert job.state == "cancelled" and job.result is None
    assert not job._proc.is_alive()


def test_a_refused_run_says_why_in_one_line() -> None:
    job = jobs.Job("compare", 'name = "x"\n').start()
    assert job.wait(timeout=60) == "failed"
    assert "population" in job.error and "Traceback" not in job.error


def test_simsav_app_command_refuses_bad_input() -> None:
    run = [sys.executable, "-m", "simsav.cli", "app"]
    r = subprocess.run([*run, "no/such.toml"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "scenario file not found" in r.stderr
    r = subprocess.run([*run, "--port", "70000"], capture_output=True, text=True)
    assert r.returncode == 2 and "--port" in r.stderr
    r = subprocess.run([*run, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "simsav app scenarios/rural-aco-5k.toml" in r.stdout


def test_pages_work_outside_a_server_as_in_a_notebook() -> None:
    """What a researcher does in Jupyter: build a page, type, read the messages."""
    from simsav.app.compare import ComparePage
    from simsav.app.msr import MSRPage
    from simsav.app.settle import SettlePage

    page = ComparePage()
    page.fields["population.beneficiaries"].widget.value = "-3"
    assert page.fields["population.beneficiaries"].message.pane.visible
    assert "-3" in page.fields["population.beneficiaries"].message.pane.object
    assert page.run.disabled and page.save.disabled
    page.fields["population.beneficiaries"].widget.value = "3000"
    assert not page.run.disabled
    assert ss.parse_scenario(tomllib.loads(page._scenario_file().read())).population \
        .beneficiaries == 3000
    msr = MSRPage()
    msr.fields["alpha"].widget.value = "0.5"
    assert msr.run.disabled and "(0, 0.5)" in msr.fields["alpha"].message.pane.object
    settle = SettlePage()
    assert 'data-field="earned_savings" data-value="4410000.0"' in settle.steps.object
    settle.terms.value = "msr = 0.3"
    assert 'data-field="outcome" data-value="nan"' in settle.steps.object
    assert ">corridor<" in settle.steps.object  # 4.2% savings do not clear a 30% MSR


CLAIMS = ROOT / "scenarios" / "claims" / "commercial-claims-7500.csv"


def test_a_fit_job_gives_what_fit_claims_gives() -> None:
    job = jobs.Job("fit", str(CLAIMS), "paid", "member_months").start()
    assert job.wait(timeout=120) == "done", job.error
    ref = ss.fit_claims(CLAIMS, exposure="member_months")
    r = job.result
    assert r["best"] == ref.best and r["members"] == 7500
    assert [row["model"] for row in r["table"]] == ["observed", *ref.fits]
    for row in r["table"]:
        assert row["aic"] == ref.table().loc[row["model"], "aic"] or math.isnan(row["aic"])
    for name, f in ref.fits.items():
        if f.spending:
            assert r["spending"][name] == dict(f.spending)
    # a bad file: the reader's message, naming the line and column
    bad = jobs.Job("fit", str(CLAIMS), "no_such_column", None).start()
    assert bad.wait(timeout=120) == "failed"
    assert "no_such_column" in bad.error and "Traceback" not in bad.error


def test_an_uploaded_claims_file_fits_and_is_saved_by_its_name(tmp_path: Path) -> None:
    """Upload → fit → use a fit → save: the scenario runs beside the file."""
    from simsav.app.compare import ComparePage

    page = ComparePage()
    page.claims.exposure.value = "member_months"
    page.claims.upload.filename = "my claims.csv"
    page.claims.upload.value = CLAIMS.read_bytes()
    assert page.claims.job.wait(timeout=120) == "done", page.claims.job.error
    page.claims._poll()
    assert "7,500 members" in page.claims.note.object
    assert "hurdle-lognormal" in page.claims.table.object
    page.claims.model.value = "empirical"
    page.claims._use()
    assert page.fields["spending.model"].text == "empirical"
    kept = page.fields["spending.sample"].text
    assert Path(kept).name == "my_claims.csv" and Path(kept).read_bytes() == CLAIMS.read_bytes()
    assert page.fields["spending.truncate_at"].text == "150000"  # the cap stays
    assert not page.run.disabled
    saved = tomllib.loads(page._scenario_file().read())
    assert saved["spending"]["sample"] == "my_claims.csv"
    assert saved["spending"]["sample_exposure"] == "member_months"
    (tmp_path / "my_claims.csv").write_bytes(CLAIMS.read_bytes())
    (tmp_path / "s.toml").write_text(page._scenario_file().read())
    scn, form = ss.load_scenario(tmp_path / "s.toml"), page.check()
    assert Path(scn.spending.sample) == tmp_path / "my_claims.csv"  # found beside it
    a, b = scn.model_dump(), form.model_dump()
    a["spending"].pop("sample"), b["spending"].pop("sample")
    assert a == b  # and otherwise the form's scenario
    # a fitted model instead: its parameters, exactly as simsav fit writes them
    page.claims.model.value = "lognormal-mixture"
    page.claims._use()
    fit = ss.fit_claims(CLAIMS, exposure="member_months").fits["lognormal-mixture"]
    got = page.check().spending
    assert got.model == "lognormal-mixture" and got.high_share == fit.spending["high_share"]
    assert page.fields["spending.sample"].text == ""
    # a file that is not a claims file: one line naming it, the form unchanged
    page.claims.upload.filename = "photo.csv"
    page.claims.upload.value = b"\x89PNG\r\n\x1a\n\xff\xfe"
    assert page.claims.job.wait(timeout=120) == "failed"
    page.claims._poll()
    assert "simsav-error" in page.claims.note.object and "photo.csv" in page.claims.note.object
    assert "not UTF-8" in page.claims.note.object and not page.claims.use.visible
    assert page.check().spending.model == "lognormal-mixture"
    page.close()
    assert not Path(kept).exists()  # the tab's files go with it


def test_a_loaded_scenario_finds_its_claims_file_once_uploaded() -> None:
    from simsav.app.compare import ComparePage

    src = ROOT / "scenarios" / "claims" / "commercial-7500.toml"
    page = ComparePage()
    page._load(type("Event", (), {"new": src.read_bytes()})())
    assert page.check() is None  # the file it names is not on the server yet
    assert "commercial-claims-7500.csv: no such file" in page.sections["spending"].pane.object
    page.claims.upload.filename = "commercial-claims-7500.csv"
    page.claims.upload.value = CLAIMS.read_bytes()
    scn = page.check()
    assert scn is not None and scn.spending.sample in page.claims.uploads
    a, b = scn.model_dump(), ss.load_scenario(src).model_dump()
    a["spending"].pop("sample"), b["spending"].pop("sample")
    assert a == b
    page.close()
