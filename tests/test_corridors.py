"""Generic contract terms: risk corridors, quality withhold, add-ons, advances.

Known answers: the ACA risk corridors of 42 USC 18062(b) exactly; a schedule of one band
equals plain first-dollar sharing; the withhold and discount combine as the REACH results
show; capitation and prepaid savings conserve money.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsav.contracts import ContractError, get_preset, make_contract
from simsav.contracts.risk_terms import ACA_CORRIDORS, RiskCorridors
from simsav.settlement.corridors import corridor_share
from simsav.settlement.rules import settle, settle_one

ACA = get_preset("aca-risk-corridors")
TARGET = 100_000_000.0


def aca_statute(costs: float, target: float) -> float:
    """Net HHS payment to the plan (+) or by it (−), 42 USC 18062(b), as written."""
    if costs > 1.08 * target:
        return 0.025 * target + 0.8 * (costs - 1.08 * target)
    if costs > 1.03 * target:
        return 0.5 * (costs - 1.03 * target)
    if costs < 0.92 * target:
        return -(0.025 * target + 0.8 * (0.92 * target - costs))
    if costs < 0.97 * target:
        return -0.5 * (0.97 * target - costs)
    return 0.0


@pytest.mark.parametrize("pct", [80, 90, 91.5, 92, 95, 97, 99, 100, 101, 103, 105, 108,
                                 110, 125])
def test_aca_corridors_known_answers(pct):
    costs = TARGET * pct / 100
    r = settle_one(ACA, benchmark=TARGET, expenditure=costs, n_beneficiaries=1,
                   person_years=1)
    gain = TARGET - costs  # the plan's gain before the corridors
    kept = r["shared_savings"] - r["shared_losses"]  # what the plan keeps (or bears)
    # what the plan keeps is its result plus what HHS pays it (or minus what it pays in)
    assert round(kept - gain - aca_statute(costs, TARGET), 6) == 0.0
    assert r["earned_savings"] == r["shared_savings"]  # no sequestration


def test_aca_known_answer_in_dollars():
    # costs 110% of a $100M target: HHS pays $2.5M + 80% of $2M = $4.1M; the plan bears $5.9M
    r = settle_one(ACA, benchmark=TARGET, expenditure=1.10 * TARGET, n_beneficiaries=1,
                   person_years=1)
    assert r["shared_losses"] == pytest.approx(5_900_000.0, abs=1e-6)
    r = settle_one(ACA, benchmark=TARGET, expenditure=0.95 * TARGET, n_beneficiaries=1,
                   person_years=1)
    assert r["shared_savings"] == pytest.approx(3_000_000.0 + 0.5 * 2_000_000.0, abs=1e-6)


@pytest.mark.parametrize("share", [1.0, 0.6, 0.5, 0.3])
def test_one_band_equals_first_dollar_sharing(share):
    rng = np.random.default_rng(7)
    bench = rng.uniform(9_000, 13_000, 2_000)
    exp_ = bench * (1 + rng.normal(0, 0.06, 2_000))
    n = rng.integers(1_000, 60_000, 2_000)
    q = rng.uniform(0.5, 1.0, 2_000)
    common = dict(two_sided=True, msr=0.02, payment_limit=0.1, loss_limit_benchmark=0.1,
                  quality_method="scaled")
    plain = make_contract({**common, "max_sharing_rate": share, "loss_rate": share})
    band = make_contract({**common, "risk_corridors": {
        "savings": [{"from": 0.0, "share": share}]}})
    a = settle(plain, benchmark=bench, expenditure=exp_, n_beneficiaries=n, quality=q)
    b = settle(band, benchmark=bench, expenditure=exp_, n_beneficiaries=n, quality=q)
    for name in ("shared_savings", "earned_savings", "shared_losses", "aco_net", "payer_net",
                 "forfeited", "outcome"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-12, atol=1e-6,
                                   err_msg=name)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 2e8), st.floats(1e6, 1e9), st.lists(st.floats(0.01, 1.0), min_size=1,
                                                        max_size=5))
def test_corridor_share_is_monotone_and_bounded(amount, base, shares):
    edges = np.linspace(0, 0.6, len(shares) + 1)
    bands = RiskCorridors.model_validate({"savings": [
        {"from": float(lo), "share": s, **({"to": float(hi)} if i < len(shares) - 1 else {})}
        for i, (lo, hi, s) in enumerate(zip(edges[:-1], edges[1:], shares, strict=True))]}
    ).savings
    kept = float(corridor_share(amount, base, bands))
    assert 0.0 <= kept <= amount * max(shares) + 1e-6
    assert float(corridor_share(amount * 1.01 + 1.0, base, bands)) >= kept - 1e-6


def test_corridor_validation_messages():
    with pytest.raises(ContractError, match="start at from = 0"):
        make_contract({"risk_corridors": {"savings": [{"from": 0.05, "share": 1.0}]}})
    with pytest.raises(ContractError, match="contiguous"):
        make_contract({"risk_corridors": {"savings": [{"from": 0.0, "to": 0.1, "share": 1.0},
                                                      {"from": 0.2, "share": 0.5}]}})
    with pytest.raises(ContractError, match="max_sharing_rate: does not apply"):
        make_contract({"max_sharing_rate": 0.7, "risk_corridors": ACA_CORRIDORS})
    with pytest.raises(ContractError, match="loss_rate_method must be 'fixed'"):
        make_contract({"two_sided": True, "loss_rate_method": "one-minus-quality",
                       "risk_corridors": ACA_CORRIDORS})


def test_quality_withhold_and_discount_combine_additively():
    """REACH Global PY2023: B × (1 − 3% − 2% × (1 − Q)); at Q = 0.8: B × 0.966."""
    c = get_preset("aco-reach-global-2023")
    r = settle_one(c, benchmark=12_000, expenditure=11_000, n_beneficiaries=10_000,
                   quality=0.8)
    assert r["benchmark_total"] == pytest.approx(12_000 * 0.966 * 10_000, rel=1e-15)
    assert r["quality_withheld"] == pytest.approx(0.02 * 12_000 * 10_000)
    assert r["quality_earned_back"] == pytest.approx(0.8 * 0.02 * 12_000 * 10_000)


def test_admin_addon_and_discount_glide_by_agreement_year():
    c = get_preset("lead-global")  # 1.75% discount in year 1 rising to 3%; +1.5% add-on
    years = np.arange(1, 9)
    s = settle(c, benchmark=10_000.0, expenditure=9_000.0, n_beneficiaries=10_000,
               quality=1.0, agreement_year=years)
    disc = np.array([0.0175, 0.02, 0.0225, 0.025, 0.0275, 0.03, 0.03, 0.03])
    np.testing.assert_allclose(s.benchmark_total, 10_000 * (1 - disc + 0.015) * 10_000,
                               rtol=1e-14)


def test_equity_adjustment_moves_the_corridor_base():
    c = get_preset("aco-reach-professional-2023")
    r = settle_one(c, benchmark=10_000.0, expenditure=9_000.0, n_beneficiaries=1,
                   person_years=1_000, quality=1.0, equity_adjustment=120.0)
    b = 10_120.0 * 1_000
    gross = b - 9_000_000
    want = 0.5 * 0.05 * b + 0.35 * 0.05 * b + 0.15 * (gross - 0.10 * b)
    assert r["shared_savings"] == pytest.approx(want, rel=1e-12)


def test_capitation_is_recouped_and_prepaid_savings_carried():
    c = get_preset("lead-global")
    r = settle_one(c, benchmark=10_000.0, expenditure=9_500.0, n_beneficiaries=1_000,
                   quality=1.0)
    assert r["capitation_paid"] == pytest.approx(0.02 * 10_000 * 1_000)
    assert r["capitation_recouped"] == r["capitation_paid"]
    assert r["settlement_payment"] == pytest.approx(
        r["earned_savings"] - r["shared_losses"] - r["capitation_recouped"])
    p = make_contract({"msr": 0.0, "prepaid_savings": {"share": 0.5}, "max_sharing_rate": 0.5})
    s = settle(p, benchmark=10_000.0, expenditure=np.array([9_900.0, 9_999.0]),
               n_beneficiaries=1_000, prepaid_balance=40_000.0)
    # earned 0.5 × 0.98 × $100,000 = $49,000 covers the $40,000; $490 does not
    np.testing.assert_allclose(s.prepaid_recouped, [40_000.0, 490.0])
    np.testing.assert_allclose(s.prepaid_outstanding, [0.0, 39_510.0])
    np.testing.assert_allclose(s.settlement_payment, s.earned_savings - s.prepaid_recouped)


def test_aggregate_stop_loss():
    c = make_contract({"two_sided": True, "msr": "none", "max_sharing_rate": 1.0,
                       "loss_rate": 1.0, "payment_limit": None,
                       "aggregate_stop_loss": {"attachment": 1.1, "coinsurance": 0.8,
                                               "premium_pbpm": 2.0}})
    r = settle_one(c, benchmark=10_000.0, expenditure=12_000.0, n_beneficiaries=1_000)
    assert r["stop_loss_recovery"] == pytest.approx(0.8 * (12_000 - 11_000) * 1_000)
    assert r["stop_loss_premium"] == pytest.approx(2.0 * 12 * 1_000)
    assert r["expenditure_total"] == pytest.approx(12e6 - 0.8e6 + 24_000)
