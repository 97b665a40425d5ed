"""The command line: exit codes, JSON keys, readable output."""

import json

import pytest

from simsav.cli import main

SETTLE_W1 = ["settle", "--preset", "mssp-track1-2012", "--benchmark", "12000",
             "--expenditure", "11500", "--beneficiaries", "20000", "--quality", "0.9"]


def test_settle_json_has_required_keys(capsys):
    assert main([*SETTLE_W1, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ["gross_savings", "savings_rate", "msr", "mlr", "outcome", "shared_savings",
                "sequestration", "earned_savings", "shared_losses", "payer_net",
                "quality_bonus", "forfeited"]:
        assert key in out
    # contract-rules.md W1: 45% of $10M, less 2% sequestration
    assert out["shared_savings"] == pytest.approx(4.5e6)
    assert out["sequestration"] == pytest.approx(0.09e6)
    assert out["earned_savings"] == pytest.approx(4.41e6)
    assert out["outcome"] == "savings"
    assert out["mlr"] is None


def test_settle_waterfall_is_readable(capsys):
    assert main(SETTLE_W1) == 0
    out = capsys.readouterr().out
    assert "Earned savings" in out and "$4,410,000.00" in out


def test_presets_lists_all(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "mssp-enhanced" in out and "eac-recommended" in out


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["settle", "--preset", "nope", "--benchmark", "1", "--expenditure", "1",
          "--beneficiaries", "1"], "unknown preset"),
        (["settle", "--preset", "mssp-basic-a", "--benchmark", "1", "--expenditure", "1",
          "--beneficiaries", "-3"], "--beneficiaries"),
        (["settle", "--preset", "mssp-basic-a", "--benchmark", "nan", "--expenditure", "1",
          "--beneficiaries", "30"], "benchmark"),
        ([*SETTLE_W1[:-2], "--quality", "1.5"], "quality"),
    ],
)
def test_bad_input_exit_2_message_on_stderr(capsys, argv, msg):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err


def test_run_json_and_out(tmp_path, capsys):
    from simsav.results import open_dataset, validate_dataset

    out = tmp_path / "out"
    argv = ["run", "scenarios/rural-aco-5k.toml", "--sims", "300", "--json", "--out", str(out)]
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["scenario"] == "rural-aco-5k" and res["n_sims"] == 300
    t1 = {r["metric"]: r for r in res["summary"] if r["design"] == "Track 1" and r["year"] == "1"}
    for key in ["p_clear_msr", "p_owe_loss", "expected_earned", "expected_losses"]:
        assert {"value", "se", "low", "high"} <= set(t1[key])
    assert t1["p_owe_loss"]["value"] == 0.0 and t1["p_owe_loss"]["high"] > 0  # one-sided
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "payouts.png",
                                                     "results.nc", "summary.csv",
                                                     "summary.xlsx"]
    validate_dataset(open_dataset(out / "results.nc"))


def test_run_table(capsys):
    assert main(["run", "scenarios/rural-aco-5k.toml", "--sims", "100"]) == 0
    out = capsys.readouterr().out
    assert "P(clear MSR)" in out and "Track 1" in out


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["run", "nope.toml"], "not found"),
        (["run", "scenarios/rural-aco-5k.toml", "--sims", "0"], "--sims"),
    ],
)
def test_run_bad_input(capsys, argv, msg):
    assert main(argv) == 2
    assert msg in capsys.readouterr().err


def test_msr_json_cms_2011(capsys, tmp_path):
    from tests.test_sizing import CASE1

    sizes = [n for n, _ in CASE1]
    plot = tmp_path / "msr.png"
    argv = ["msr", "--sizes", ",".join(map(str, sizes)), "--method", "cms-2011", "--json",
            "--plot", str(plot)]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ["sizes", "msr", "msr_low", "msr_high", "mlr", "normal", "cms_table"]:
        assert key in out
    assert out["sizes"] == sizes
    for (_, expected), got in zip(CASE1, out["msr"], strict=True):
        assert got * 100 == pytest.approx(expected, abs=0.0015)
    assert plot.stat().st_size > 10_000


def test_msr_simulate_table(capsys):
    assert main(["msr", "--sizes", "5000", "--sims", "400", "--spending", "gamma"]) == 0
    assert "CMS table" in capsys.readouterr().out


@pytest.mark.parametrize("argv,msg", [(["msr", "--sizes", "10,x"], "--sizes"),
                                      (["msr", "--alpha", "0.9"], "alpha"),
                                      (["msr", "--spending", "weibull"], "weibull")])
def test_msr_bad_input(capsys, argv, msg):
    assert main(argv) == 2
    assert msg in capsys.readouterr().err


def test_replicate_puf_json(capsys):
    assert main(["replicate-puf", "2018", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r) >= {"performance_year", "acos", "msr_one_sided", "savers", "owing_losses",
                      "unexplained"}
    assert r["performance_year"] == 2018
    assert r["msr_one_sided"]["matched"] == r["msr_one_sided"]["n"]
    assert r["savers"]["matched"] >= 0.99 * r["savers"]["n"]


def test_replicate_puf_missing_file(capsys):
    assert main(["replicate-puf", "nope.csv"]) == 2
    assert "not found" in capsys.readouterr().err


def test_validate_reports_every_problem(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[population]\nbeneficiaries = -3\nfoo = 1\n')
    assert main(["validate", "scenarios/rural-aco-5k.toml", str(bad)]) == 2
    cap = capsys.readouterr()
    assert "rural-aco-5k.toml: ok" in cap.out
    for key in ["population.beneficiaries", "population.foo: unknown key", "spending",
                "designs"]:
        assert key in cap.err


def test_compare_side_by_side(capsys):
    argv = ["compare", "scenarios/rural-aco-5k.toml", "scenarios/commercial-10k.toml",
            "--sims", "200", "--json"]
    assert main(argv) == 0
    designs = {r["design"] for r in json.loads(capsys.readouterr().out)["summary"]}
    assert "rural-aco-5k: Track 1" in designs and "commercial-10k: 50/50, 2% corridor" in designs


def test_help_shows_an_example_for_each_command(capsys):
    for cmd in ["run", "compare", "msr", "settle", "presets", "validate", "replicate-puf"]:
        assert main([cmd, "--help"]) == 0
        assert "Example:" in capsys.readouterr().out


def test_calibrate_puf_json(capsys):
    assert main(["calibrate-puf", "2021", "2022", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["years"] == [2021, 2022]
    aco = out["scenario"]["aco"]
    for k in ["true_savings", "true_savings_sd", "true_savings_var_n", "benchmark_error_sd",
              "benchmark_error_var_n"]:
        assert k in aco
    assert all(b["within_tolerance"] for b in out["bands"])
