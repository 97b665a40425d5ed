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
          "--beneficiaries", "-3"], "n_beneficiaries"),
        (["settle", "--preset", "mssp-basic-a", "--benchmark", "nan", "--expenditure", "1",
          "--beneficiaries", "30"], "benchmark"),
        ([*SETTLE_W1[:-2], "--quality", "1.5"], "quality"),
    ],
)
def test_bad_input_exit_2_message_on_stderr(capsys, argv, msg):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err
