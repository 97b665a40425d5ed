"""CMS's PY2022 settlement report for ACO A1540 (BASIC Level B), reproduced line by line.

The report ("Financial Reconciliation Report", P.A1540.ACO.STLMT.Y2022) is bundled in
``tests/data`` as CSVs, one per sheet (provenance: ``../shared/data/README.md``,
mssp_settlement_example). Every row of Table 3 that the rules determine is recomputed with
:func:`simsav.settlement.rules.settle` and the ``mssp-basic-b`` preset from the report's inputs:
assigned beneficiaries [A], person-years [B], per-capita expenditure [E] and benchmark [F],
the quality score [R] and whether the quality performance standard was met [S]. Money must
agree to the cent.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from simsav.contracts import get_preset
from simsav.contracts.msr import cms_msr
from simsav.io.puf import load_puf
from simsav.settlement.rules import settle

DATA = Path(__file__).parent / "data"
CENT = 0.005


def _rows(name: str) -> list[list[str]]:
    with open(DATA / f"A1540_PY2022_{name}.csv", encoding="utf-8", newline="") as fh:
        return [[c.strip() for c in row] for row in csv.reader(fh) if row]


def _num(text: str) -> float | None:
    """A report cell as a number; None for CMS's "–" (not applicable)."""
    t = text.strip()
    if t in ("–", "-", ""):
        return None
    return float(t.replace(",", "").replace("$", ""))


def _table3() -> dict[str, object]:
    """Table 3 rows by letter: a number, a text value, or {enrollment type: number}.

    Only the first value column is the report's; a few rows carry the uploader's
    notes in later columns (e.g. [R] 0.29304, [X] 0.1), which are ignored.
    """
    out: dict[str, object] = {}
    current: str | None = None
    for row in _rows("table3_shared_savings_losses"):
        if row[0].startswith("Note"):  # the row definitions follow
            break
        m = re.match(r"^\[([A-Z]{1,2})\]", row[0])
        if m and len(row) == 1:  # header of an enrollment-type block, e.g. [C], [D]
            current = m.group(1)
            out[current] = {}
            continue
        if m and len(row) >= 2:
            current = None
            try:
                out[m.group(1)] = _num(row[1])
            except ValueError:
                out[m.group(1)] = row[1]
            continue
        if current is not None and len(row) >= 2:
            block = out[current]
            assert isinstance(block, dict)
            block[row[0]] = float(row[1])
    return out


T3 = _table3()
QUALITY = float(T3["R"])  # type: ignore[arg-type]
QPS_MET = T3["S"] == "Yes"


def _f(letter: str) -> float:
    v = T3[letter]
    assert isinstance(v, float), (letter, v)
    return v


@pytest.fixture(scope="module")
def contract():
    return get_preset("mssp-basic-b")


@pytest.fixture(scope="module")
def s(contract):
    return settle(
        contract,
        benchmark=_f("F"),
        expenditure=_f("E"),
        n_beneficiaries=_f("A"),
        person_years=_f("B"),
        quality=QUALITY,
        qps_met=QPS_MET,
    )


def test_report_is_basic_level_b_py2022():
    params = {r[0]: r[1] for r in _rows("parameters") if len(r) >= 2}
    assert params["ACO Track"] == "BASIC Level B"
    assert params["Performance Year for which ACO is Being Reconciled"].startswith("01/01/2022")
    assert T3["A"] == 7207
    assert T3["P"] == "Savings" and QPS_MET


def test_E_per_capita_expenditure_is_C_weighted_by_D():
    c, d = T3["C"], T3["D"]
    assert isinstance(c, dict) and isinstance(d, dict)
    weights = {k.strip(): v for k, v in d.items()}
    e = sum(v * weights[k.strip()] for k, v in c.items())
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-12)
    assert e == pytest.approx(_f("E"), abs=1e-6)


def test_F_benchmark_is_table2_updated_benchmark():
    # Table 2: [H] = sum of the updated benchmarks [F] weighted by the proportions [G]
    rows = _rows("table2_updated_benchmark")
    block: dict[str, dict[str, float]] = {}
    current = None
    for r in rows:
        if r[0].startswith("Note"):  # the row definitions follow
            break
        m = re.match(r"^\[([A-H])\]", r[0])
        if m:
            current = m.group(1)
            block[current] = {}
            if current == "H":
                block["H"]["total"] = float(r[-1])
            continue
        if current in ("F", "G") and len(r) >= 4:
            block[current][r[0].strip()] = float(r[-1])
    upd = sum(block["F"][k] * block["G"][k] for k in block["F"])
    assert upd == pytest.approx(block["H"]["total"], abs=1e-6)
    assert upd == pytest.approx(_f("F"), abs=1e-6)


def test_G_H_I_J_K_totals(s):
    assert float(s.expenditure_total) == pytest.approx(_f("G"), abs=CENT)
    assert float(s.benchmark_total) == pytest.approx(_f("H"), abs=CENT)
    assert float(s.gross_savings) == pytest.approx(_f("I"), abs=CENT)
    assert max(float(s.gross_savings), 0.0) == pytest.approx(_f("J"), abs=CENT)
    assert min(float(s.gross_savings), 0.0) == pytest.approx(_f("K"), abs=CENT)


def test_L_msr_sliding_scale_at_7207(s):
    # CMS interpolates MSR = a + (b - a)(n - lo)/(hi - lo) with hi = 7,999 (Table A4)
    assert float(s.msr) == pytest.approx(_f("L"), abs=1e-12)
    assert 0.034 + (0.032 - 0.034) * (7207 - 7000) / (7999 - 7000) == pytest.approx(_f("L"))


def test_M_O_U_Z_to_GG_not_applicable_one_sided(s, contract):
    for letter in ("M", "O", "U", "Z", "BB", "CC", "DD", "EE", "FF", "GG"):
        assert T3[letter] is None, letter
    assert np.isnan(s.mlr) and np.isnan(s.shared_loss_rate)
    assert float(s.shared_losses) == 0.0 and float(s.euc_adjustment) == 0.0
    # [AA] participant revenue is reported but only bounds losses of two-sided ACOs
    with_revenue = settle(
        contract,
        benchmark=_f("F"),
        expenditure=_f("E"),
        n_beneficiaries=_f("A"),
        person_years=_f("B"),
        quality=QUALITY,
        qps_met=QPS_MET,
        revenue=_f("AA"),
    )
    assert float(with_revenue.earned_savings) == float(s.earned_savings)
    assert float(with_revenue.shared_losses) == 0.0


def test_N_msr_dollars(s):
    assert float(s.msr * s.benchmark_total) == pytest.approx(_f("N"), abs=CENT)


def test_P_savings_realized(s):
    assert T3["P"] == "Savings"
    assert int(s.outcome) == 1


def test_Q_T_flat_sharing_rate_when_qps_met(s, contract):
    assert contract.max_sharing_rate == _f("Q")
    # PY2022: meeting the quality performance standard gives the maximum rate, whatever
    # the score ([R] 0.7326): no 0.4 × quality scaling
    assert float(s.final_sharing_rate) == _f("T") == 0.4


def test_V_W_X_Y_shared_savings_cap_sequestration_earned(s):
    assert float(s.shared_savings) == pytest.approx(_f("V"), abs=CENT)
    assert float(s.payment_cap) == pytest.approx(_f("W"), abs=CENT)
    assert float(s.sequestration) == pytest.approx(_f("X"), abs=CENT)
    assert _f("X") / _f("V") == pytest.approx(0.02, abs=1e-12)  # row [X]: 2.0% of [V]
    assert float(s.earned_savings) == pytest.approx(_f("Y"), abs=CENT)
    assert _f("Y") == pytest.approx(min(_f("V") - _f("X"), _f("W")), abs=CENT)


def test_Y_matches_the_public_use_file():
    # The PUF rounds EarnSaveLoss to dollars: 2,883,146 for A1540 in PY2022
    row = load_puf(2022).set_index("aco_id").loc["A1540"]
    assert row["earned"] == round(_f("Y"))
    assert row["n_ab"] == _f("A")
    assert row["msr"] == pytest.approx(_f("L"), abs=5e-5)  # published as 3.36%
    assert row["track"] == "basic_b"


def _a4() -> list[tuple[int, int | None, str, str]]:
    out = []
    for r in _rows("tableA4_msr_mlr_by_size"):
        if len(r) == 4 and r[0].isdigit():
            hi = None if r[1] == "+" else int(r[1])
            out.append((int(r[0]), hi, r[2], r[3]))
    return out


def test_table_A4_msr_by_size():
    bands = _a4()
    assert len(bands) == 14
    for lo, hi, low, high in bands:
        if low.startswith("≥"):  # 1–499: "≥12.2%", a floor only
            assert float(cms_msr(lo)) >= 0.122 and float(cms_msr(hi)) >= 0.122
            continue
        assert float(cms_msr(lo)) == pytest.approx(float(low), abs=1e-12), (lo, low)
        if hi is not None:
            assert float(cms_msr(hi)) == pytest.approx(float(high), abs=1e-12), (hi, high)


def _a5() -> dict[str, list[str]]:
    rows = _rows("tableA5_inputs_by_track")
    return {r[0].split("\n")[0].strip(): r[1:] for r in rows if len(r) == 7}


@pytest.mark.parametrize(
    ("col", "preset"),
    [
        (0, "mssp-basic-a"),
        (1, "mssp-basic-b"),
        (2, "mssp-basic-c"),
        (3, "mssp-basic-d"),
        (4, "mssp-basic-e"),
        (5, "mssp-enhanced"),
    ],
)
def test_table_A5_track_inputs(col, preset):
    a5 = _a5()
    c = get_preset(preset)
    header = a5["Input"][col]  # "BASIC Track Level A" … "ENHANCED Track"
    expected = f"mssp-basic-{header[-1].lower()}" if header.startswith("BASIC") else "mssp-enhanced"
    assert c.name == expected
    assert c.max_sharing_rate == float(a5["Maximum Sharing Rate"][col])
    cap = re.match(r"(\d+)% of Total Benchmark", a5["Shared Savings Cap"][col])
    assert cap is not None and c.payment_limit == pytest.approx(int(cap.group(1)) / 100)
    loss_rate = a5["Shared Loss Rate"][col]
    losses_cap = a5["Shared Losses Cap"][col]
    if loss_rate == "Not applicable":
        assert not c.two_sided and losses_cap == "Not applicable"
        return
    assert c.two_sided
    if preset == "mssp-enhanced":
        assert "not to exceed 75% or be less than 40%" in loss_rate and "Otherwise 75%" in loss_rate
        assert (c.loss_rate_floor, c.loss_rate_ceiling) == (0.40, 0.75)
        assert c.loss_rate_method == "one-minus-quality"
        assert losses_cap.startswith("-15% of Total Benchmark")
        assert c.loss_limit_benchmark == 0.15
    else:
        assert c.loss_rate == float(loss_rate) == 0.3
        rev, bench = re.findall(r"If (\d+)% of Total Medicare.*? greater than (\d+)%", losses_cap)[
            0
        ]
        assert c.loss_limit_revenue == pytest.approx(int(rev) / 100)
        assert c.loss_limit_benchmark == pytest.approx(int(bench) / 100)
