"""The ACO's own finances: cash flows add up with the settlement, break-even, reserves."""

import numpy as np
import pytest

from simsav.results.finances import finance_summary
from simsav.scenario import ScenarioError, parse_scenario
from simsav.simulation import add_design, simulate

FIN = {"fixed_cost": 1_000_000, "cost_per_beneficiary": 50, "advance_upfront": 500_000,
       "advance_per_beneficiary": 20}


def scn(finances=FIN, years=3, **aco):
    return parse_scenario({
        "name": "fin", "seed": 8, "population": {"beneficiaries": 10_000},
        "spending": {"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99},
        "aco": {"true_savings": 0.03, **aco}, "quality": {"score": 0.9},
        "agreement": {"years": years}, "finances": finances,
        "designs": [{"name": "B", "preset": "mssp-basic-b"},
                    {"name": "E", "preset": "mssp-enhanced", "msr": 0.0},
                    {"name": "EAC", "preset": "eac-recommended"}],
    })


def test_net_position_adds_up_to_the_cent_with_settlement():
    ds = simulate(scn(), n_sims=400)
    n = 10_000
    advance = np.zeros((3,))
    advance[:] = 20 * n
    advance[0] += 500_000
    for d in ["B", "E", "EAC"]:
        x = ds.sel(design=d)
        # independent reconstruction from the settlement outputs
        paid = x["earned_savings"] + x["quality_bonus"] - x["shared_losses"]
        np.testing.assert_allclose(x["aco_paid"], paid, atol=1e-6)
        expected = advance + paid - (1_000_000 + 50 * n) - x["fin_recouped"]
        assert float(np.abs(x["fin_net"] - expected).max()) < 0.005
        # recouped from shared savings only, never more than was advanced
        assert float(x["fin_recouped"].sum("year").max()) <= 500_000 + 3 * 20 * n + 0.005
        assert bool((x["fin_recouped"] <= np.maximum(x["earned_savings"], 0) + 1e-6).all())
        np.testing.assert_allclose(x["fin_cumulative"].isel(year=-1), x["fin_net"].sum("year"))


def test_break_even_and_reserve():
    ds = simulate(scn(), n_sims=600)
    s = finance_summary(ds)
    cum_end = ds["fin_cumulative"].isel(year=-1)
    np.testing.assert_allclose(s["p_break_even"], (cum_end >= 0).mean("sim"))
    # the break-even year shares sum to one per design, and "never" is 1 - p_break_even
    np.testing.assert_allclose(s["break_even_year_share"].sum("break_even_year"), 1.0)
    np.testing.assert_allclose(s["break_even_year_share"].sel(break_even_year=0),
                               1 - s["p_break_even"])
    # hand check of the definition on one sim: stays >= 0 from that year on
    cum = ds["fin_cumulative"].sel(design="E").values
    stays = np.flip(np.cumprod(np.flip(cum >= 0, axis=1), axis=1), axis=1).astype(bool)
    year = np.where(stays.any(axis=1), stays.argmax(axis=1) + 1, 0)
    for k in range(4):
        assert float(s["break_even_year_share"].sel(design="E", break_even_year=k)) == \
            pytest.approx(float(np.mean(year == k)))
    # a one-sided design never needs a loss reserve
    assert float(s["reserve_for_losses_agreement"].sel(design="B")) == 0.0
    losses = ds["shared_losses"].sel(design="E").sum("year")
    assert float(s["reserve_for_losses_agreement"].sel(design="E")) == pytest.approx(
        float(losses.quantile(0.95)))


def test_unrecouped_owed_at_the_end():
    forgiven = simulate(scn(), n_sims=300)
    owed = simulate(scn({**FIN, "unrecouped": "owed"}), n_sims=300)
    diff = (forgiven["fin_cumulative"] - owed["fin_cumulative"]).isel(year=-1)
    outstanding = 500_000 + 3 * 20 * 10_000 - forgiven["fin_recouped"].sum("year")
    np.testing.assert_allclose(diff, outstanding, atol=1e-6)


def test_add_design_recomputes_finances():
    from simsav.contracts import get_preset

    ds = add_design(simulate(scn(years=1), n_sims=100), get_preset("mssp-basic-a"))
    assert "fin_net" in ds and ds["fin_net"].sizes["design"] == 4


def test_finances_validation():
    with pytest.raises(ScenarioError, match="finances.fixed_cost"):
        scn({"fixed_cost": -1})
