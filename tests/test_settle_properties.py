"""Property tests of the settlement rules (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simsav.contracts import PRESETS
from simsav.settlement.rules import settle

settings.register_profile("fast", max_examples=60, deadline=None)
settings.load_profile("fast")

preset = st.sampled_from(sorted(PRESETS))
bench = st.floats(2_000, 40_000)
ratio = st.floats(0.5, 1.5)
size = st.integers(200, 500_000)
qual = st.floats(0.0, 1.0)
revenue = st.one_of(st.just(float("nan")), st.floats(1e5, 1e10))
year = st.integers(1, 5)


def _settle(name, b, r, n, q, rev, y, **kw):
    return settle(PRESETS[name], benchmark=b, expenditure=b * r, n_beneficiaries=n,
                  quality=q, revenue=rev, agreement_year=y, **kw)


@given(preset, bench, ratio, size, qual, revenue, year)
def test_payouts_within_caps(name, b, r, n, q, rev, y):
    s = _settle(name, b, r, n, q, rev, y)
    assert s.earned_savings >= 0
    assert s.earned_savings <= s.payment_cap * (1 + 1e-12)
    assert s.shared_losses >= 0
    if PRESETS[name].two_sided:
        assert s.shared_losses <= s.loss_cap * (1 + 1e-12)
    # never both
    assert not (s.earned_savings > 0 and s.shared_losses > 0)


@given(preset, bench, ratio, size, qual, revenue, year)
def test_nothing_inside_corridor(name, b, r, n, q, rev, y):
    s = _settle(name, b, r, n, q, rev, y)
    if s.outcome == 0:
        assert s.earned_savings == 0
        assert s.shared_losses == 0


@given(preset, bench, size, qual, revenue, year, st.booleans())
def test_net_settlement_never_rises_with_expenditure(name, b, n, q, rev, y, lowrev):
    ratios = np.linspace(0.6, 1.4, 161)
    s = settle(PRESETS[name], benchmark=b, expenditure=b * ratios, n_beneficiaries=n,
               quality=q, revenue=rev, agreement_year=y, low_revenue=lowrev)
    assert np.all(np.diff(s.aco_net) <= 1e-6 * b * n)


@given(preset.filter(lambda p: not PRESETS[p].two_sided), bench, ratio, size, qual)
def test_one_sided_never_owes(name, b, r, n, q):
    s = _settle(name, b, r, n, q, float("nan"), 1)
    assert s.shared_losses == 0
    assert s.outcome >= 0


@given(preset, bench, ratio, size, qual, revenue, year)
def test_money_conserved(name, b, r, n, q, rev, y):
    s = _settle(name, b, r, n, q, rev, y)
    if s.gross_savings >= 0:
        total = s.earned_savings + s.payer_kept + s.reinvested_community + s.reinvested_aco
        assert abs(total - s.gross_savings) <= 1e-9 * max(1.0, s.gross_savings)
        assert s.payer_kept >= -1e-9 * max(1.0, s.gross_savings)
    # the payer's net adds up with what the ACO nets
    true_gross = (b - b * r) * n
    reinvested = s.reinvested_community + s.reinvested_aco
    assert np.isclose(s.payer_net + s.aco_net + reinvested, true_gross, rtol=1e-9,
                      atol=1e-6 * b * n)
