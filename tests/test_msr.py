"""The CMS sliding-scale MSR against 42 CFR 425.604(b), 425.605(b) and CMS Table A4."""

import numpy as np
import pytest

from simsav.contracts.msr import CMS_MSR_TABLE, cms_msr, interpolate_table

# 42 CFR 425.604(b): (low count, high count, rate at low, rate at high), percent.
CFR_604B = [
    (5_000, 5_999, 3.9, 3.6),
    (6_000, 6_999, 3.6, 3.4),
    (7_000, 7_999, 3.4, 3.2),
    (8_000, 8_999, 3.2, 3.1),
    (9_000, 9_999, 3.1, 3.0),
    (10_000, 14_999, 3.0, 2.7),
    (15_000, 19_999, 2.7, 2.5),
    (20_000, 49_999, 2.5, 2.2),
    (50_000, 59_999, 2.2, 2.0),
]
# CMS settlement report Table A4 rows below 5,000 (425.605(b), 425.110(b)).
TABLE_A4_LOW = [(500, 999, 12.2, 8.7), (1_000, 2_999, 8.7, 5.0), (3_000, 4_999, 5.0, 3.9)]


@pytest.mark.parametrize("lo,hi,a,b", CFR_604B + TABLE_A4_LOW)
def test_band_endpoints(lo, hi, a, b):
    assert cms_msr(lo) == pytest.approx(a / 100, abs=1e-12)
    assert cms_msr(hi) == pytest.approx(b / 100, abs=1e-12)


@pytest.mark.parametrize(
    "n,expected",
    [(7_500, 3.30), (12_500, 2.85), (35_000, 2.35), (60_000, 2.0), (100_000, 2.0), (10**7, 2.0)],
)
def test_worked_example_w2(n, expected):
    # contract-rules.md §11 W2 and the 2011 proposed rule's 7,500 -> 3.3% example.
    assert round(float(cms_msr(n)) * 100, 2) == expected


def test_a1540_settlement_report_msr():
    # CMS PY2022 settlement report, ACO A1540: 7,207 assigned beneficiaries -> row [L].
    assert float(cms_msr(7_207)) == pytest.approx(0.0335855855855856, abs=1e-15)


def test_below_smallest_band_is_flat():
    assert float(cms_msr(1)) == pytest.approx(0.122)
    assert float(cms_msr(250)) == pytest.approx(0.122)


def test_interpolation_is_linear_within_band():
    n = np.linspace(20_000, 49_999, 7)
    r = cms_msr(n)
    assert np.allclose(np.diff(r), np.diff(r)[0])


def test_monotone_nonincreasing():
    n = np.arange(1, 120_000, 7)
    assert np.all(np.diff(cms_msr(n)) <= 1e-15)


def test_table_is_sorted_and_covers_all_sizes():
    los = [b.lo for b in CMS_MSR_TABLE]
    assert los == sorted(los)
    assert interpolate_table(CMS_MSR_TABLE, [1e9]).item() == 0.02
