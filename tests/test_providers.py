"""Provider panels and the distribution of the ACO's money, through simulate()."""

import numpy as np
import pytest

from simsav.analysis.compare import compare_distribution_rules
from simsav.analysis.incentives import expected_slopes
from simsav.scenario import ScenarioError, parse_scenario
from simsav.simulation import simulate


def scn(**kw):
    data = {
        "name": "prov", "seed": 3, "population": {"beneficiaries": 6_000},
        "spending": {"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99},
        "aco": {"true_savings": 0.03},
        "providers": {"count": 10, "savings_sd": 0.02, "org_mix": {"primary_care": 1.0}},
        "distribution": {"rule": "quality-x-lives", "infrastructure_share": 0.2,
                         "reserve_share": 0.0},
        "designs": [{"name": "E", "preset": "mssp-enhanced", "msr": 0.0}],
    }
    data.update(kw)
    return parse_scenario(data)


def test_panels_add_up_to_the_aco():
    ds = simulate(scn(), n_sims=400)
    assert int(ds["provider_lives"].sum()) == 6_000
    bench_total = ds["benchmark"] * 6_000
    panel_exp = (ds["benchmark"] * ds["provider_lives"] - ds["provider_savings"]).sum("provider")
    np.testing.assert_allclose(panel_exp, ds["expenditure"] * 6_000, rtol=1e-12)
    np.testing.assert_allclose(ds["provider_savings"].sum("provider"),
                               bench_total - ds["expenditure"] * 6_000, rtol=1e-9, atol=1e-3)


@pytest.mark.parametrize("agreement", [{"years": 1}, {"years": 3}])
def test_money_conserved_and_payouts_sum(agreement):
    ds = simulate(scn(agreement=agreement), n_sims=300)
    # attach_providers checks conservation to the cent (it raises otherwise); here the
    # payouts add up to what was distributed, and the parts to what the ACO was paid
    np.testing.assert_allclose(ds["provider_payout"].sum("provider"), ds["distributed"],
                               atol=0.02 * 10)
    paid = ds["aco_paid"]
    parts = (ds["dist_infrastructure"] + ds["dist_reserve_in"] - ds["dist_reserve_paid_losses"]
             + ds["distributed"] + ds["dist_unallocated"] - ds["dist_entity_losses"])
    np.testing.assert_allclose(parts, paid, atol=0.05)


def test_own_savings_rule_rewards_own_panel_far_more():
    # receipts linear in savings (no sequestration, losses negligible at 8% true savings),
    # so the closed forms hold
    s = scn(aco={"true_savings": 0.08},
            designs=[{"name": "E", "preset": "mssp-enhanced", "msr": 0.0,
                      "sequestration": 0.0}])
    ds = simulate(s, n_sims=3_000)
    c = compare_distribution_rules(ds, s)
    own = c["slope_own"].sel(rule="own-savings")
    qxl = c["slope_own"].sel(rule="quality-x-lives")
    se = np.hypot(c["slope_own_se"].sel(rule="own-savings"),
                  c["slope_own_se"].sel(rule="quality-x-lives"))
    assert bool((own - qxl > 4 * se).all())
    assert float(own.mean()) > 3 * float(qxl.mean())
    # under "lives" the own-panel slope is (sharing x pass-through) x lives share (closed
    # form of the distribution module); 75% sharing, 80% passed through
    lives = c["provider_lives"].values
    expected = 0.75 * 0.8 * lives / lives.sum()
    got = c["slope_own"].sel(rule="lives").values
    se = c["slope_own_se"].sel(rule="lives").values
    assert np.all(np.abs(got - expected) < 4 * se + 0.01 * expected)
    assert callable(expected_slopes)


def test_providers_validation():
    with pytest.raises(ScenarioError, match="exceeds"):
        scn(population={"beneficiaries": 1_000}, providers={"count": 1_500})
    with pytest.raises(ScenarioError, match="org_mix"):
        scn(providers={"count": 5, "org_mix": {"primary_care": 0.5}})
    with pytest.raises(ScenarioError, match="providers"):
        parse_scenario({"name": "x", "population": {"beneficiaries": 100},
                        "spending": {"model": "gamma", "mean": 1, "cv": 1},
                        "distribution": "eac",
                        "designs": [{"name": "a", "preset": "mssp-basic-a"}]})
