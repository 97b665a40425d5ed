"""Settlement against the worked examples of contract-rules.md §11 and CMS rules.

Each expected number is computed by hand in the source (contract-rules.md §11, the HDM
webinar figures quoted in §3, the Axene corridor example), never by simsav.
"""

import numpy as np
import pytest

from simsav.contracts import get_preset
from simsav.settlement.rules import settle, settle_one

T1 = get_preset("mssp-track1-2012")
NOSEQ = {"sequestration": 0.0}


def one(name_or_contract, **kw):
    c = get_preset(name_or_contract) if isinstance(name_or_contract, str) else name_or_contract
    return settle_one(c, **kw)


# ---- W1: Track 1, 2012-2018 rules -------------------------------------------------------
def test_w1_track1_shares_45_percent():
    r = one(T1.with_terms(**NOSEQ), benchmark=12_000, expenditure=11_500,
            n_beneficiaries=20_000, quality=0.9)
    assert r["savings_rate"] == pytest.approx(500 / 12_000)
    assert r["msr"] == pytest.approx(0.025)
    assert r["gross_savings"] == pytest.approx(10.0e6)
    assert r["final_sharing_rate"] == pytest.approx(0.45)
    assert r["payment_cap"] == pytest.approx(24.0e6)
    assert r["earned_savings"] == pytest.approx(4.50e6)
    assert r["outcome"] == "savings"


def test_w1_with_sequestration():
    r = one(T1, benchmark=12_000, expenditure=11_500, n_beneficiaries=20_000, quality=0.9)
    assert r["sequestration"] == pytest.approx(0.02 * 4.5e6)
    assert r["earned_savings"] == pytest.approx(4.5e6 * 0.98)


def test_w1b_below_msr_pays_nothing_payer_keeps_all():
    r = one(T1, benchmark=12_000, expenditure=11_750, n_beneficiaries=20_000, quality=0.9)
    assert r["savings_rate"] == pytest.approx(0.0208333, abs=1e-6)
    assert r["earned_savings"] == 0.0
    assert r["payer_kept"] == pytest.approx(5.0e6)
    assert r["outcome"] == "corridor"
    # the ACO would have shared 50% of $5M: that is what it forfeited
    assert r["forfeited"] == pytest.approx(2.5e6)


def test_w1c_large_savings_cap_not_binding():
    r = one(T1.with_terms(**NOSEQ), benchmark=12_000, expenditure=10_200,
            n_beneficiaries=20_000, quality=0.9)
    assert r["gross_savings"] == pytest.approx(36.0e6)
    assert r["earned_savings"] == pytest.approx(16.2e6)


def test_w1c_cap_binds_above_22_2_percent():
    # the cap binds only when FSR x rate > 10%, i.e. rate > 22.2% at Q = 0.9
    r = one(T1.with_terms(**NOSEQ), benchmark=12_000, expenditure=12_000 * (1 - 0.25),
            n_beneficiaries=20_000, quality=0.9)
    assert r["earned_savings"] == pytest.approx(24.0e6)
    r = one(T1.with_terms(**NOSEQ), benchmark=12_000, expenditure=12_000 * (1 - 0.22),
            n_beneficiaries=20_000, quality=0.9)
    assert r["earned_savings"] == pytest.approx(0.45 * 0.22 * 240e6)


# ---- W3: 2011 proposed rule ------------------------------------------------------------
def test_w3_proposed_rule_shares_beyond_2_percent():
    c = get_preset("mssp-proposed-2011").with_terms(**NOSEQ)
    r = one(c, benchmark=12_000, expenditure=11_500, n_beneficiaries=20_000, quality=0.9)
    assert r["shared_savings"] == pytest.approx(2.34e6)
    assert r["payment_cap"] == pytest.approx(18.0e6)
    assert r["earned_savings"] == pytest.approx(2.34e6)
    assert r["withheld"] == pytest.approx(0.25 * 2.34e6)


def test_proposed_rule_fqhc_bonus_top_band():
    c = get_preset("mssp-proposed-2011").with_terms(**NOSEQ)
    r = one(c, benchmark=12_000, expenditure=11_500, n_beneficiaries=20_000, quality=0.9,
            participation_share=0.45)
    assert r["final_sharing_rate"] == pytest.approx(0.45 + 0.025)


# ---- W5: ENHANCED, 2021+ -----------------------------------------------------------------
ENH = get_preset("mssp-enhanced").with_terms(msr=0.02)
W5 = dict(benchmark=12_000, n_beneficiaries=20_000)


def test_w5a_losses_qps_met_floor_40():
    r = one(ENH, expenditure=12_600, quality=0.85, **W5)
    assert r["shared_loss_rate"] == pytest.approx(0.40)
    assert r["shared_losses"] == pytest.approx(4.8e6)
    assert r["loss_cap"] == pytest.approx(36.0e6)
    assert r["outcome"] == "losses"


def test_w5b_alternative_qps_only():
    r = one(ENH, expenditure=12_600, quality=0.60, qps_met=False, alt_qps_met=True, **W5)
    assert r["shared_loss_rate"] == pytest.approx(0.55)
    assert r["shared_losses"] == pytest.approx(6.6e6)


def test_w5c_both_standards_failed():
    r = one(ENH, expenditure=12_600, quality=0.60, qps_met=False, alt_qps_met=False, **W5)
    assert r["shared_loss_rate"] == pytest.approx(0.75)
    assert r["shared_losses"] == pytest.approx(9.0e6)


def test_w5d_savings_75_percent():
    r = one(ENH.with_terms(**NOSEQ), expenditure=11_400, quality=0.85, **W5)
    assert r["shared_savings"] == pytest.approx(9.0e6)
    assert r["payment_cap"] == pytest.approx(48.0e6)


def test_enhanced_failed_qps_shares_nothing():
    r = one(ENH, expenditure=11_400, quality=0.60, qps_met=False, alt_qps_met=False, **W5)
    assert r["earned_savings"] == 0.0
    assert r["forfeited"] > 0


# ---- W7: BASIC C ---------------------------------------------------------------------------
def test_w7_basic_c_revenue_limit_binds():
    c = get_preset("mssp-basic-c").with_terms(msr=0.0)
    r = one(c, benchmark=10_000, expenditure=10_500, n_beneficiaries=12_000, revenue=40e6,
            quality=0.9)
    assert r["shared_losses_before_cap"] == pytest.approx(1.8e6)
    assert r["loss_cap"] == pytest.approx(0.8e6)
    assert r["shared_losses"] == pytest.approx(0.8e6)


def test_basic_c_without_revenue_uses_benchmark_limit():
    c = get_preset("mssp-basic-c").with_terms(msr=0.0)
    r = one(c, benchmark=10_000, expenditure=10_500, n_beneficiaries=12_000, quality=0.9)
    assert r["loss_cap"] == pytest.approx(1.2e6)


@pytest.mark.parametrize("level,rev_pct,bench_pct", [("d", 0.04, 0.02), ("e", 0.08, 0.04)])
def test_basic_d_e_loss_limits(level, rev_pct, bench_pct):
    c = get_preset(f"mssp-basic-{level}").with_terms(msr=0.0)
    bench_total = 10_000 * 12_000
    for revenue in (10e6, 400e6):
        r = one(c, benchmark=10_000, expenditure=13_000, n_beneficiaries=12_000,
                revenue=revenue, quality=0.9)
        assert r["loss_cap"] == pytest.approx(min(rev_pct * revenue, bench_pct * bench_total))


# ---- W8: BASIC A, PY2021+ --------------------------------------------------------------------
BA = get_preset("mssp-basic-a").with_terms(**NOSEQ)
W8 = dict(benchmark=11_000, n_beneficiaries=8_000)


def test_w8_basic_a_qps_met():
    r = one(BA, expenditure=10_500, quality=0.9, **W8)
    assert r["msr"] == pytest.approx(0.032)
    assert r["earned_savings"] == pytest.approx(1.60e6)
    assert r["payment_cap"] == pytest.approx(8.8e6)


def test_w8_alternative_qps_only():
    r = one(BA, expenditure=10_500, quality=0.6, qps_met=False, alt_qps_met=True, **W8)
    assert r["earned_savings"] == pytest.approx(0.96e6)


def test_w8_low_revenue_half_rate_below_msr():
    r = one(BA, expenditure=10_780, quality=0.9, low_revenue=True, **W8)
    assert r["savings_rate"] == pytest.approx(0.02)
    assert r["earned_savings"] == pytest.approx(0.352e6)
    r = one(BA, expenditure=10_780, quality=0.9, low_revenue=False, **W8)
    assert r["earned_savings"] == 0.0


# ---- W9 and Axene: commercial --------------------------------------------------------------
COM = get_preset("commercial-50-50-corridor")
W9 = dict(benchmark=500 * 12, expenditure=480 * 12, n_beneficiaries=10_000)


def test_w9_first_dollar():
    r = one(COM, **W9)
    assert r["gross_savings"] == pytest.approx(2.4e6)
    assert r["earned_savings"] == pytest.approx(1.2e6)
    assert r["payment_cap"] == pytest.approx(6.0e6)


def test_w9_second_dollar():
    r = one(COM.with_terms(sharing_basis="above-threshold"), **W9)
    assert r["earned_savings"] == pytest.approx(0.6e6)


def test_axene_corridor():
    kw = dict(benchmark=500 * 12, expenditure=495.5 * 12, n_beneficiaries=125_000 / 12)
    assert one(COM.with_terms(msr=0.01), **kw)["earned_savings"] == 0.0
    assert one(COM.with_terms(msr=0.005), **kw)["earned_savings"] == pytest.approx(281_250)


# ---- HDM webinar: the pre-2021 formulas FSR = max x Q, LSR = 1 - FSR capped at 60% -------
HDM_GROSS = 2_115_876.60


@pytest.mark.parametrize(
    "preset,q,expected",
    [
        ("mssp-track1-2012", 0.8125, 859_574.87),
        ("mssp-track1-2012", 0.5, 528_969.15),
        ("mssp-track2-2012", 0.8125, 1_031_489.84),
        ("mssp-track2-2012", 0.5, 634_762.98),
    ],
)
def test_hdm_savings(preset, q, expected):
    bench = 10_000.0
    r = one(get_preset(preset).with_terms(**NOSEQ), benchmark=bench,
            expenditure=bench - HDM_GROSS / 10_000, n_beneficiaries=10_000, quality=q, msr=0.0)
    assert r["earned_savings"] == pytest.approx(expected, abs=1.0)


@pytest.mark.parametrize("q,expected", [(0.8125, 1_084_386.76), (0.5, 1_269_525.90)])
def test_hdm_losses(q, expected):
    bench = 10_000.0
    r = one(get_preset("mssp-track2-2012"), benchmark=bench,
            expenditure=bench + HDM_GROSS / 10_000, n_beneficiaries=10_000, quality=q, msr=0.0)
    assert r["shared_losses"] == pytest.approx(expected, abs=1.0)


# ---- Track 2 year-by-year loss limits, EUC, discount, quality bonus ------------------------
@pytest.mark.parametrize("year,limit", [(1, 0.05), (2, 0.075), (3, 0.10), (5, 0.10)])
def test_track2_loss_limit_by_agreement_year(year, limit):
    r = one(get_preset("mssp-track2-2012"), benchmark=10_000, expenditure=13_000,
            n_beneficiaries=10_000, quality=0.0, agreement_year=year)
    assert r["shared_loss_rate"] == pytest.approx(0.6)
    assert r["shared_losses"] == pytest.approx(min(0.6 * 30e6, limit * 100e6))


def test_euc_reduces_losses():
    c = get_preset("mssp-enhanced").with_terms(msr=0.0)
    base = one(c, benchmark=10_000, expenditure=10_500, n_beneficiaries=10_000, quality=0.9)
    r = one(c, benchmark=10_000, expenditure=10_500, n_beneficiaries=10_000, quality=0.9,
            euc_fraction=5 / 12)
    assert r["euc_adjustment"] == pytest.approx(base["shared_losses"] * 5 / 12)
    assert r["shared_losses"] == pytest.approx(base["shared_losses"] * 7 / 12)


def test_ngaco_discount_counts_for_payer():
    c = get_preset("ngaco-a")
    # spending exactly at the undiscounted benchmark: a 3% loss against the discounted one
    r = one(c, benchmark=10_000, expenditure=10_000, n_beneficiaries=10_000)
    assert r["benchmark_total"] == pytest.approx(97e6)
    assert r["shared_losses"] == pytest.approx(0.8 * 3e6)
    assert r["payer_net"] == pytest.approx(0.8 * 3e6)


def test_eac_quality_bonus_paid_without_savings_and_reinvestment():
    c = get_preset("eac-recommended")
    r = one(c, benchmark=10_000, expenditure=10_300, n_beneficiaries=10_000, quality=0.9)
    assert r["earned_savings"] == 0.0
    assert r["quality_bonus"] == pytest.approx(0.005 * 100e6)
    # savings but quality below the gate: forfeited savings reinvested in the community
    r = one(c, benchmark=10_000, expenditure=9_800, n_beneficiaries=10_000, quality=0.5)
    assert r["earned_savings"] == 0.0
    assert r["forfeited"] == pytest.approx(0.5 * 2e6)
    assert r["reinvested_community"] == pytest.approx(1e6)
    assert r["payer_kept"] == pytest.approx(1e6)
    # sliding scale: halfway between threshold 0.6 and stretch 0.9 -> 25%
    r = one(c, benchmark=10_000, expenditure=9_800, n_beneficiaries=10_000, quality=0.75)
    assert r["final_sharing_rate"] == pytest.approx(0.25)


def test_vectorized_matches_scalar():
    rng = np.random.default_rng(7)
    b = rng.uniform(8_000, 14_000, 50)
    e = b * rng.uniform(0.85, 1.15, 50)
    n = rng.integers(3_000, 90_000, 50)
    q = rng.uniform(0.3, 1.0, 50)
    c = get_preset("mssp-track3-2016")
    s = settle(c, benchmark=b, expenditure=e, n_beneficiaries=n, quality=q)
    for i in range(0, 50, 7):
        r = settle_one(c, benchmark=b[i], expenditure=e[i], n_beneficiaries=n[i], quality=q[i])
        assert s.earned_savings[i] == r["earned_savings"]
        assert s.shared_losses[i] == r["shared_losses"]


# ---- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw,field",
    [
        (dict(benchmark=np.nan), "benchmark"),
        (dict(benchmark=-1.0), "benchmark"),
        (dict(n_beneficiaries=-5), "n_beneficiaries"),
        (dict(n_beneficiaries=0), "n_beneficiaries"),
        (dict(quality=1.2), "quality"),
        (dict(expenditure=[1.0, np.nan]), "expenditure"),
    ],
)
def test_bad_input_names_field(kw, field):
    args = dict(benchmark=10_000, expenditure=9_000, n_beneficiaries=10_000, quality=0.9)
    args.update(kw)
    with pytest.raises(ValueError, match=field):
        settle(T1, **args)


def test_pre2021_failed_quality_standard_shares_nothing_and_owes_ceiling():
    # PY2018 public-use file: Track 3 ACO A3743 failed the QPS and owed at 75%.
    c = get_preset("mssp-track3-2016").with_terms(msr=0.0)
    r = one(c, benchmark=10_000, expenditure=10_500, n_beneficiaries=10_000, quality=0.9,
            qps_met=False)
    assert r["shared_loss_rate"] == pytest.approx(0.75)
    r = one(c, benchmark=10_000, expenditure=9_500, n_beneficiaries=10_000, quality=0.9,
            qps_met=False)
    assert r["earned_savings"] == 0.0 and r["forfeited"] > 0
    t2 = get_preset("mssp-track2-2012").with_terms(msr=0.0)
    r = one(t2, benchmark=10_000, expenditure=10_500, n_beneficiaries=10_000, quality=0.9,
            qps_met=False)
    assert r["shared_loss_rate"] == pytest.approx(0.60)
