"""Payment distribution: conservation to the cent, the reserve, the rules, incentives."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from simsav.analysis.incentives import compare_rules, expected_slopes, provider_incentives
from simsav.settlement.distribution import (
    ORG_TYPES,
    POLICIES,
    RULES,
    ConservationError,
    DistributionPolicy,
    ProviderPanels,
    _largest_remainder,
    check_conservation,
    distribute,
)

PCP_ONLY = dict(primary_care=1, specialists=0, hospitals=0, skilled_nursing=0)


def make_panels(savings, lives, org=None, quality=1.0, bench=1e7):
    s = np.asarray(savings, dtype=float)
    if s.ndim == 1:
        s = s[None, None, :]
    b = np.full(s.shape, float(bench))
    org = ["primary_care"] * s.shape[2] if org is None else org
    return ProviderPanels(org_type=org, lives=lives, benchmark=b, expenditure=b - s,
                          quality=quality)


def policy(**kw):
    base = dict(infrastructure_share=0.0, reserve_share=0.0, reserve_cap=None,
                weights=PCP_ONLY, rule="lives")
    base.update(kw)
    return DistributionPolicy(**base)


# ----------------------------------------------------------------------- hand examples
def test_reserve_carries_over_and_pays_losses_first():
    pol = policy(infrastructure_share=0.2, reserve_share=0.1)
    pp = make_panels(np.zeros((1, 4, 2)), [100, 300])
    d = distribute(pol, receipts=[[1000, 500, 0, 0]], losses_owed=[[0, 0, 400, 100]],
                   panels=pp)
    check_conservation(d, receipts=[[1000, 500, 0, 0]], losses_owed=[[0, 0, 400, 100]])
    c = 100  # cents per dollar
    assert d.infrastructure[0].tolist() == [200 * c, 100 * c, 0, 0]
    assert d.reserve_in[0].tolist() == [100 * c, 50 * c, 0, 0]
    assert d.reserve_balance[0].tolist() == [100 * c, 150 * c, 0, 0]
    assert d.reserve_paid_losses[0].tolist() == [0, 0, 150 * c, 0]
    assert d.losses_beyond_reserve[0].tolist() == [0, 0, 250 * c, 100 * c]
    assert d.payout[0].tolist() == [[17500, 52500], [8750, 26250], [-6250, -18750],
                                    [-2500, -7500]]
    assert d.entity_losses.sum() == 0

    # the ACO entity bears what the reserve cannot: providers are never charged
    d2 = distribute(pol.model_copy(update={"losses_beyond_reserve": "aco"}),
                    receipts=[[1000, 500, 0, 0]], losses_owed=[[0, 0, 400, 100]], panels=pp)
    check_conservation(d2)
    assert d2.entity_losses[0].tolist() == [0, 0, 250 * c, 100 * c]
    assert d2.payout[0, 2:].tolist() == [[0, 0], [0, 0]]

    # an opening balance covers the losses in full
    d3 = distribute(pol, receipts=[[1000, 500, 0, 0]], losses_owed=[[0, 0, 400, 100]],
                    panels=pp, reserve_start=500)
    check_conservation(d3)
    assert d3.reserve_balance[0].tolist() == [600 * c, 650 * c, 250 * c, 150 * c]
    assert d3.payout[0, 2:].tolist() == [[0, 0], [0, 0]]


def test_reserve_cap_is_a_fraction_of_the_benchmark():
    pol = policy(infrastructure_share=0.2, reserve_share=0.1, reserve_cap=0.01)
    pp = make_panels(np.zeros((1, 2, 2)), [100, 300])
    # cap = 1% of $10,000 = $100: year 2's $50 is refused and distributed
    d = distribute(pol, receipts=[[1000, 500]], panels=pp, benchmark_total=10_000)
    check_conservation(d)
    assert d.reserve_balance[0].tolist() == [10_000, 10_000]
    assert d.reserve_in[0].tolist() == [10_000, 0]
    assert d.payout[0].tolist() == [[17500, 52500], [10000, 30000]]
    # default benchmark_total: the panels' sum (2 x $10M -> cap $200,000, not binding)
    d = distribute(pol, receipts=[[1000, 500]], panels=pp)
    assert d.reserve_balance[0].tolist() == [10_000, 15_000]


def test_receipts_and_losses_of_a_year_are_netted():
    pol = policy(infrastructure_share=0.2, reserve_share=0.1)
    pp = make_panels(np.zeros((1, 1, 1)), [10])
    d = distribute(pol, receipts=100, losses_owed=300, panels=pp, reserve_start=150)
    check_conservation(d)
    assert d.infrastructure.item() == 0
    assert d.reserve_paid_losses.item() == 15_000
    assert d.losses_beyond_reserve.item() == 5_000
    assert d.payout.item() == -5_000


def test_lives_splits_exactly_by_lives():
    d = distribute(policy(), receipts=1000, panels=make_panels([0, 0, 0], [100, 200, 700]))
    assert d.payout[0, 0].tolist() == [10_000, 20_000, 70_000]
    # equal thirds of 100,000 cents: the leftover cent goes to the first (ties: lower index)
    d = distribute(policy(), receipts=1000, panels=make_panels([0, 0, 0], [5, 5, 5]))
    assert d.payout[0, 0].tolist() == [33_334, 33_333, 33_333]
    check_conservation(d)


def test_quality_x_lives_splits_by_quality_times_lives():
    pp = make_panels([0, 0, 0], [100, 200, 300], quality=[1.0, 0.5, 0.0])
    d = distribute(policy(rule="quality-x-lives"), receipts=1000, panels=pp)
    assert d.payout[0, 0].tolist() == [50_000, 50_000, 0]
    # losses are charged by lives, never by quality
    d = distribute(policy(rule="quality-x-lives"), receipts=0, losses_owed=600, panels=pp)
    assert d.payout[0, 0].tolist() == [-10_000, -20_000, -30_000]
    # nobody with quality: the gain is kept by the ACO entity, reported as unallocated
    pp0 = make_panels([0, 0], [100, 200], quality=0.0)
    d = distribute(policy(rule="quality-x-lives"), receipts=1000, panels=pp0)
    check_conservation(d)
    assert d.unallocated.item() == 100_000 and d.payout.sum() == 0


def test_own_savings_pays_nothing_to_a_panel_that_lost_money():
    pp = make_panels([300, 100, -200], [100, 100, 100])
    d = distribute(policy(rule="own-savings"), receipts=1000, panels=pp)
    assert d.payout[0, 0].tolist() == [75_000, 25_000, 0]
    # with a loss share: charged 0.5 x min(1000 / 400, 1) x $200 = $100, paid to savers
    d = distribute(policy(rule="own-savings", own_savings_loss_share=0.5), receipts=1000,
                   panels=pp)
    check_conservation(d)
    assert d.payout[0, 0].tolist() == [82_500, 27_500, -10_000]
    # charge-back of losses: by each panel's own losses
    pp = make_panels([300, -100, -300], [100, 100, 100])
    d = distribute(policy(rule="own-savings"), receipts=0, losses_owed=400, panels=pp)
    assert d.payout[0, 0].tolist() == [0, -10_000, -30_000]
    # no panel lost money: by lives
    pp = make_panels([300, 100], [100, 300])
    d = distribute(policy(rule="own-savings"), receipts=0, losses_owed=400, panels=pp)
    assert d.payout[0, 0].tolist() == [-10_000, -30_000]
    # every panel lost money in a gain year: nobody is eligible
    pp = make_panels([-300, -100], [100, 300])
    d = distribute(policy(rule="own-savings"), receipts=1000, panels=pp)
    check_conservation(d)
    assert d.unallocated.item() == 100_000 and d.payout.sum() == 0


def test_organization_weights_renormalize_over_types_present():
    w = dict(primary_care=0.5, specialists=0.25, hospitals=0.25, skilled_nursing=0)
    pp = make_panels([0, 0, 0], [100, 100, 100],
                     org=["primary_care", "specialists", "specialists"])
    d = distribute(policy(weights=w), receipts=900, panels=pp)
    check_conservation(d)
    assert d.distributed_by_type[0, 0].tolist() == [60_000, 30_000, 0, 0]
    assert d.payout[0, 0].tolist() == [60_000, 15_000, 15_000]


def test_earmarked_fund_is_tracked_never_distributed():
    pp = make_panels(np.zeros((1, 3, 1)), [10])
    d = distribute(policy(), receipts=[[0, 100, 0]], reinvested_aco=[[50, 0, 25.5]], panels=pp)
    check_conservation(d, reinvested_aco=[[50, 0, 25.5]])
    assert d.aco_fund_balance[0].tolist() == [5_000, 5_000, 7_550]
    assert d.payout[0, :, 0].tolist() == [0, 10_000, 0]
    u = d.usd()
    assert u["aco_fund_balance"][0, 2] == 75.5 and u["distributed"][0, 1] == 100.0


# ----------------------------------------------------------------------- conservation
def test_largest_remainder_is_exact_and_within_a_cent():
    rng = np.random.default_rng(1)
    total = rng.integers(-10**12, 10**12, size=500)
    w = rng.random((500, 7)) * (rng.random((500, 7)) < 0.7)
    w[:, 0] += 1e-3
    parts, bad = _largest_remainder(total, w)
    assert not bad.any()
    assert np.array_equal(parts.sum(axis=1), total)
    exact = total[:, None] * (w / w.sum(axis=1, keepdims=True))
    assert np.abs(parts - exact).max() < 1.0 + 1e-6
    assert (parts[w == 0] == 0).all()


def _random_case(rng, n_sims, n_years, n_prov):
    org = rng.integers(0, 4, n_prov)
    lives = rng.integers(50, 3000, n_prov)
    sav = rng.normal(0, 1, (n_sims, n_years, n_prov)) * 2e5 * np.sqrt(lives / 1000)
    pp = make_panels(sav, lives, org=org, quality=rng.random((n_sims, n_years, n_prov)))
    aco = sav.sum(axis=2)
    receipts = np.where(aco > 0, 0.5 * aco, 0) + rng.random(aco.shape) * 1e4
    losses = np.where(aco < 0, -0.6 * aco, 0)  # often beyond the reserve
    reinvested = np.where(rng.random(aco.shape) < 0.2, rng.random(aco.shape) * 1e5, 0)
    return pp, receipts, losses, reinvested


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("beyond", ["participants", "aco"])
def test_conservation_every_sim_and_year(rule, beyond):
    rng = np.random.default_rng(7)
    pp, receipts, losses, reinvested = _random_case(rng, 2000, 5, 25)
    pol = DistributionPolicy(rule=rule, losses_beyond_reserve=beyond, reserve_cap=0.0002,
                             own_savings_loss_share=0.3 if rule == "own-savings" else 0.0)
    d = distribute(pol, receipts=receipts, losses_owed=losses, reinvested_aco=reinvested,
                   panels=pp, reserve_start=rng.random(2000) * 1e5)
    check_conservation(d, receipts=receipts, losses_owed=losses, reinvested_aco=reinvested)
    assert (d.losses_beyond_reserve > 0).any() and (d.reserve_paid_losses > 0).any()
    assert (d.reserve_balance == np.floor(0.0002 * pp.benchmark.sum(2) * 100)).any()
    if beyond == "participants":
        assert (d.payout < 0).any() and not d.entity_losses.any()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_conservation_random_inputs(data):
    n_sims = data.draw(st.integers(1, 4))
    n_years = data.draw(st.integers(1, 4))
    n_prov = data.draw(st.integers(1, 6))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    money = st.one_of(st.just(0.0), st.floats(0, 1e9), st.floats(0, 100))
    receipts = np.array(data.draw(st.lists(money, min_size=n_sims * n_years,
                                           max_size=n_sims * n_years))).reshape(n_sims, n_years)
    losses = np.array(data.draw(st.lists(money, min_size=n_sims * n_years,
                                         max_size=n_sims * n_years))).reshape(n_sims, n_years)
    infra = data.draw(st.floats(0, 1))
    reserve = data.draw(st.floats(0, 1 - infra))
    w = rng.random(4) * (rng.random(4) < 0.8)
    w[0] += 0.01
    w = w / w.sum()
    w[0] = 1.0 - w[1:].sum()
    pol = DistributionPolicy(
        rule=data.draw(st.sampled_from(RULES)), infrastructure_share=infra,
        reserve_share=reserve,
        reserve_cap=data.draw(st.one_of(st.none(), st.floats(0, 0.05))),
        weights=dict(zip(ORG_TYPES, w.tolist(), strict=True)),
        losses_beyond_reserve=data.draw(st.sampled_from(["participants", "aco"])),
        own_savings_loss_share=data.draw(st.floats(0, 1)),
    )
    org = rng.integers(0, 4, n_prov)
    org[0] = 0
    sav = rng.normal(0, 1e5, (n_sims, n_years, n_prov)) * (rng.random(n_prov) < 0.9)
    pp = make_panels(sav, rng.integers(1, 1000, n_prov), org=org,
                     quality=rng.random((n_sims, n_years, n_prov)) * (rng.random(n_prov) < 0.9))
    d = distribute(pol, receipts=receipts, losses_owed=losses, panels=pp,
                   reinvested_aco=rng.random((n_sims, n_years)) * 1e3,
                   reserve_start=data.draw(st.floats(0, 1e6)))
    check_conservation(d, receipts=receipts, losses_owed=losses)
    gain = d.receipts >= d.losses_owed
    if pol.rule != "own-savings" or pol.own_savings_loss_share == 0:
        assert (d.payout[gain] >= 0).all()
    assert (d.payout[~gain] <= 0).all()


def test_check_conservation_catches_a_lost_cent():
    rng = np.random.default_rng(3)
    pp, receipts, losses, _ = _random_case(rng, 50, 3, 6)
    d = distribute(DistributionPolicy(), receipts=receipts, losses_owed=losses, panels=pp)
    payout = d.payout.copy()
    payout[17, 2, 4] += 1
    with pytest.raises(ConservationError, match=r"sum of payouts .* \(17, 2\) by 1 cents"):
        check_conservation(dataclasses.replace(d, payout=payout))
    with pytest.raises(ConservationError, match="receipts at"):
        check_conservation(d, receipts=receipts + 0.01)


# ----------------------------------------------------------------------- incentives
def _synthetic(n_sims=4000, seed=11):
    """Independent normal panels that always save; ACO-level noise outside the panels."""
    rng = np.random.default_rng(seed)
    lives = np.array([1000, 1500, 2000, 2500, 3000, 4000, 5000, 8000])
    sd = 3000 * np.sqrt(lives)
    sav = 1000 * lives + sd * rng.standard_normal((n_sims, 1, lives.size))
    assert (sav > 0).all()
    aco = sav.sum(axis=2) + 0.5 * np.sqrt((sd**2).sum()) * rng.standard_normal((n_sims, 1))
    return lives, sav, aco, 0.5 * aco  # sharing rate 0.5, always > 0


@pytest.mark.parametrize("rule", RULES)
def test_incentive_slopes_match_closed_forms(rule):
    lives, sav, aco, receipts = _synthetic()
    quality = np.linspace(0.5, 1.0, lives.size)
    pp = make_panels(sav, lives, quality=quality, bench=1e9)
    pol = DistributionPolicy(rule=rule, infrastructure_share=0.2, reserve_share=0.1,
                             reserve_cap=None, weights=PCP_ONLY)
    d = distribute(pol, receipts=receipts, panels=pp)
    check_conservation(d)
    inc = provider_incentives(d, pp)  # regressors: own panel, the other panels
    k = 0.5 * 0.7
    want = expected_slopes(pol, pp, sharing_rate=0.5)
    if rule == "own-savings":
        np.testing.assert_allclose(want, k)  # the full pass-through rate, undiluted
        want_others = np.zeros(lives.size)
    else:
        w = lives * (quality if rule == "quality-x-lives" else 1.0)
        np.testing.assert_allclose(want, k * w / w.sum())  # diluted by the share of lives
        want_others = want
    own, se_own = inc["slope_own"][0], inc["slope_own_se"][0]
    oth, se_oth = inc["slope_others"][0], inc["slope_others_se"][0]
    assert np.all(np.abs(own - want) < 4 * se_own), (own, want, se_own)
    assert np.all(np.abs(oth - want_others) < 4 * se_oth), (oth, want_others, se_oth)
    assert np.all(se_own < 0.1 * k)  # the test has power


def test_own_savings_concentrates_the_reward_on_the_own_panel():
    lives, sav, aco, receipts = _synthetic(n_sims=1000)
    pp = make_panels(sav, lives, bench=1e9)
    pol = DistributionPolicy(reserve_cap=None, weights=PCP_ONLY)
    res = compare_rules(pol, receipts=receipts, panels=pp, aco_savings=aco)
    ratio = res["own-savings"]["slope_own"][0] / res["lives"]["slope_own"][0]
    np.testing.assert_allclose(ratio, lives.sum() / lives, rtol=0.15)
    # the simple slope on the ACO's total: everyone shares in the ACO's result under lives
    np.testing.assert_allclose(res["lives"]["slope_aco"][0], 0.5 * 0.7 * lives / lives.sum(),
                               rtol=0.05)


def test_provider_incentives_summaries():
    rng = np.random.default_rng(5)
    pp, receipts, losses, _ = _random_case(rng, 300, 3, 5)
    d = distribute(DistributionPolicy(), receipts=receipts, losses_owed=losses, panels=pp)
    inc = provider_incentives(d, pp, quantiles=[0.05, 0.5, 0.95])
    y = d.payout / 100
    np.testing.assert_allclose(inc["payout_sd"], y.std(axis=0, ddof=1))
    np.testing.assert_allclose(inc["payout_quantile"][..., 1], np.median(y, axis=0))
    assert inc["payout_quantile"].shape == (3, 5, 3)
    np.testing.assert_allclose(inc["prob_charged"], (y < 0).mean(axis=0))
    agg = provider_incentives(d, pp, over="agreement")
    assert agg["slope_own"].shape == (5,) and agg["payout_quantile"].shape == (5, 3)
    np.testing.assert_allclose(agg["payout_mean"], y.sum(axis=1).mean(axis=0))
    # a single provider: own and others are collinear -> NaN, not a number
    one = make_panels(rng.normal(0, 1e5, (50, 1, 1)), [100])
    d1 = distribute(DistributionPolicy(), receipts=rng.random((50, 1)) * 1e4, panels=one)
    assert np.isnan(provider_incentives(d1, one)["slope_own"]).all()


# ----------------------------------------------------------------------- validation
def test_policy_defaults_and_named_policies():
    p = DistributionPolicy()
    assert p.rule == "quality-x-lives" and p.losses_beyond_reserve == "participants"
    assert sum(p.weights.as_tuple()) == pytest.approx(1.0)
    assert DistributionPolicy.eac() == POLICIES["eac"]
    assert POLICIES["own-savings"].rule == "own-savings" and POLICIES["lives"].rule == "lives"
    pp = make_panels([100], [10])
    assert distribute("lives", receipts=10, panels=pp).payout.item() == 700


@pytest.mark.parametrize(("kw", "pattern"), [
    (dict(infrastructure_share=1.5), r"infrastructure_share\n.*less than or equal to 1"),
    (dict(reserve_share=-0.1), r"reserve_share\n.*greater than or equal to 0"),
    (dict(reserve_cap=2.0), r"reserve_cap\n.*less than or equal to 1"),
    (dict(infrastructure_share=0.7, reserve_share=0.5),
     r"infrastructure_share \+ reserve_share must be <= 1"),
    (dict(weights=dict(primary_care=0.5, specialists=0.2, hospitals=0.2, skilled_nursing=0.2)),
     r"weights\n.*must sum to 1, got 1.1"),
    (dict(weights=dict(primary_care=1.0, nurses=0.0)), r"weights.nurses\n.*Extra inputs"),
    (dict(reserve_shares=0.1), r"reserve_shares\n.*Extra inputs are not permitted"),
    (dict(rule="by-merit"), r"rule\n.*'quality-x-lives', 'own-savings' or 'lives'"),
    (dict(losses_beyond_reserve="payer"), r"losses_beyond_reserve\n.*'participants' or 'aco'"),
    (dict(own_savings_loss_share=float("nan")), r"own_savings_loss_share\n.*finite"),
])
def test_bad_policy_names_the_field_and_range(kw, pattern):
    with pytest.raises(ValidationError, match=pattern):
        DistributionPolicy(**kw)


def test_policy_is_frozen():
    with pytest.raises(ValidationError, match="frozen"):
        DistributionPolicy().rule = "lives"  # type: ignore[misc]


@pytest.mark.parametrize(("kw", "pattern"), [
    (dict(org_type=["pcp"]), r"org_type: unknown organization type 'pcp'; allowed: primary_care"),
    (dict(org_type=[7]), r"org_type: codes must be in 0..3, got 7"),
    (dict(lives=[0]), r"lives: must be > 0.0, got 0.0"),
    (dict(quality=1.2), r"quality: must be <= 1.0, got 1.2"),
    (dict(expenditure=-1.0), r"expenditure: must be >= 0.0"),
    (dict(benchmark=np.ones((2, 1))), r"benchmark: shape \(2, 1\) must be \(sim, year, provider\)"),
    (dict(quality=np.ones(3)), r"quality: shape \(3,\) does not broadcast"),
])
def test_bad_panels_name_the_field_and_range(kw, pattern):
    args = dict(org_type=["primary_care"], lives=[10], benchmark=np.ones((2, 1, 1)),
                expenditure=0.5)
    args.update(kw)
    with pytest.raises(ValueError, match=pattern):
        ProviderPanels(**args)


def test_bad_distribute_inputs_name_the_argument():
    pp = make_panels(np.zeros((2, 3, 1)), [10])
    with pytest.raises(ValueError, match=r"receipts: must be >= 0.0, got -1.0"):
        distribute(policy(), receipts=-1.0, panels=pp)
    with pytest.raises(ValueError, match=r"losses_owed: shape \(2,\) does not broadcast to "
                                         r"\(sim, year\) = \(2, 3\)"):
        distribute(policy(), receipts=0.0, losses_owed=[1.0, 2.0], panels=pp)
    with pytest.raises(ValueError, match=r"reserve_start: must be a number, got NaN"):
        distribute(policy(), receipts=0.0, panels=pp, reserve_start=float("nan"))
    with pytest.raises(ValueError, match=r"policy: unknown policy 'best'; available: eac"):
        distribute("best", receipts=0.0, panels=pp)
    spec_only = dict(primary_care=0, specialists=1, hospitals=0, skilled_nursing=0)
    with pytest.raises(ValueError, match=r"weights: no provider belongs"):
        distribute(policy(weights=spec_only), receipts=1.0, panels=pp)
    with pytest.raises(ValueError, match=r"rules: unknown rule 'merit'"):
        compare_rules(policy(), receipts=1.0, panels=pp, rules=["merit"])
