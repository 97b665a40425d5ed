"""MSSP benchmark rules against CMS's PY2022 settlement report for ACO A1540.

Tables 1 (historical benchmark, rows [G]–[S]: the regional adjustment), 2 (updated
benchmark), A1 (risk ratios, capped at 1.03) and A3 (national-regional blended trend and
update factors) of the report, bundled in ``tests/data``; every number the rules determine
is recomputed from the report's own inputs and must agree to the report's 15 digits. The
2024+ changes (negative regional cap 1.5%, the ACPT third, the prior savings adjustment)
are checked on the same example with the caps changed, by hand.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from simsav.contracts.mssp_benchmark import (
    adjustment_applied,
    basic_glide_path,
    blended_factor,
    prior_savings_adjustment,
    regional_adjustment,
    regional_caps,
    risk_ratio,
    three_way_update,
    updated_benchmark,
)

DATA = Path(__file__).parent / "data"
TYPES = ("ESRD", "Disabled", "Aged/dual", "Aged/non-dual")


def _table(name: str) -> dict[str, list[list[str]]]:
    """Rows grouped under each ``[X]`` label: {label: [[type, v1, v2, ...], ...]}."""
    out: dict[str, list[list[str]]] = {}
    label = None
    with open(DATA / f"A1540_PY2022_{name}.csv", encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            if not row:
                continue
            first = row[0].strip()
            if first.startswith("[") and "]" in first[:5]:
                label = first[: first.index("]") + 1]
                out.setdefault(label, []).append(row)
            elif label is not None:
                out[label].append([c.strip() for c in row])
    return out


def _by_type(rows: list[list[str]], col: int) -> np.ndarray:
    found = {r[0].strip(): r for r in rows if r and r[0].strip() in TYPES}
    return np.array([float(found[t][col]) for t in TYPES])


T1 = _table("table1_historical_benchmark")
T2 = _table("table2_updated_benchmark")
A1 = _table("tableA1_risk_ratios")
A3 = _table("tableA3_trend_update")


def test_blended_update_factor_table_a3():
    """Row [G] = [B] × [E] + [D] × [F], BY1, BY2 and PY columns."""
    for col in (1, 2, 5):
        nat, reg = _by_type(A3["[B]"], col), _by_type(A3["[D]"], col)
        w = _by_type(A3["[E]"], col)
        want = _by_type(A3["[G]"], col)
        np.testing.assert_allclose(blended_factor(nat, reg, w), want, rtol=1e-14)


def test_risk_ratio_cap_table_a1():
    with open(DATA / "A1540_PY2022_tableA1_risk_ratios.csv", encoding="utf-8") as fh:
        rows = {r[0]: r for r in csv.reader(fh) if r and r[0] in TYPES}
    by3 = np.array([float(rows[t][1]) for t in TYPES])
    py = np.array([float(rows[t][2]) for t in TYPES])
    want = np.array([float(rows[t][5]) for t in TYPES])
    np.testing.assert_allclose(risk_ratio(py, by3), want, rtol=1e-14)
    assert risk_ratio(py, by3)[3] == 1.03  # aged/non-dual grew 4.95%: capped


def _regional_inputs() -> dict[str, np.ndarray]:
    return dict(historical=_by_type(T1["[G]"], 5), regional=_by_type(T1["[K]"], 5),
                proportions=_by_type(T1["[H]"], 3),
                national=_by_type(A3["[A]"], 3))


def test_regional_adjustment_table1():
    """Rows [L]–[S]: A1540's first agreement, weights 0.35/0.15, caps ±5% of national."""
    r = regional_adjustment(**_regional_inputs(), weight_lower=0.35, weight_higher=0.15)
    np.testing.assert_allclose(r["difference"], _by_type(T1["[L]"], 5), rtol=1e-12)
    assert r["weighted_difference"] == pytest.approx(223.764425052799, rel=1e-12)
    assert r["weight"] == 0.35
    np.testing.assert_allclose(r["uncapped"], _by_type(T1["[O]"], 5), rtol=1e-12)
    np.testing.assert_allclose(0.05 * _regional_inputs()["national"],
                               _by_type(T1["[P]"], 5), rtol=1e-9)
    np.testing.assert_allclose(r["adjusted"], _by_type(T1["[R]"], 5), rtol=1e-13)
    assert r["benchmark"] == pytest.approx(13831.1738004085, rel=1e-13)


def test_updated_benchmark_table2():
    """Table 2 [H]: Σ proportion × adjusted × capped risk ratio × update factor."""
    adjusted = _by_type(T2["[A]"], 1)
    ratios = _by_type(T2["[C]"], 3)
    update = _by_type(T2["[E]"], 3)
    props = _by_type(T2["[G]"], 3)
    assert updated_benchmark(adjusted, ratios, update, props) == pytest.approx(
        14136.6916270482, rel=1e-13)


def test_negative_regional_cap_from_2024():
    """For an agreement from 2024, ESRD's −$2,440 would be capped at −1.5% of national."""
    pos, neg = regional_caps(2024)
    inputs = _regional_inputs()
    r = regional_adjustment(**inputs, weight_lower=0.35, weight_higher=0.15,
                            positive_cap=pos, negative_cap=neg)
    assert r["adjustment"][0] == pytest.approx(-0.015 * 85900.9818, rel=1e-6)  # -1288.51
    np.testing.assert_allclose(r["adjustment"][1:], _by_type(T1["[Q]"], 5)[1:], rtol=1e-12)
    assert regional_caps(2023) == (0.05, 0.05)


def test_three_way_update_and_guardrail():
    blend, acpt = 1.04288927305391, 1.03
    assert three_way_update(blend, acpt) == pytest.approx(acpt / 3 + 2 * blend / 3, rel=1e-15)
    # the proposed guardrail binds only beyond -1 / +1.5 points of the blend
    assert three_way_update(1.10, 1.02, guardrail=(-0.01, 0.015)) == pytest.approx(1.09)
    assert three_way_update(1.04, 1.10, guardrail=(-0.01, 0.015)) == pytest.approx(1.055)
    assert three_way_update(1.04, 1.05, guardrail=(-0.01, 0.015)) == pytest.approx(
        1.05 / 3 + 2.08 / 3)


def test_prior_savings_adjustment_and_which_applies():
    national = 11610.2969
    psa = prior_savings_adjustment([300.0, 500.0, 700.0], national)
    assert psa == 250.0  # 50% of the $500 average
    assert prior_savings_adjustment([300.0, 500.0, 700.0], national, scale=0.75) == 375.0
    assert prior_savings_adjustment([3000.0] * 3, national) == pytest.approx(0.05 * national)
    assert prior_savings_adjustment([-300.0, 100.0, 50.0], national) == 0.0
    assert adjustment_applied(-100.0, psa) == psa
    assert adjustment_applied(400.0, psa) == 400.0
    assert adjustment_applied(-100.0, 0.0) == -100.0


def test_basic_glide_path_one_sided_years():
    assert basic_glide_path(2026) == ["mssp-basic-a"] * 5
    assert basic_glide_path(2027) == ["mssp-basic-a"] * 5
    assert basic_glide_path(2027, prior_one_sided_years=5) == ["mssp-basic-e"] * 5
    assert basic_glide_path(2026, prior_one_sided_years=5) == (
        ["mssp-basic-a"] * 2 + ["mssp-basic-e"] * 3)
