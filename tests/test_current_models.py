"""Agreements of 1–10 years with evolving benchmarks; LEAD; the programs compared.

* a ten-year agreement runs; with no trend errors the ``blend`` update is the projected
  trend exactly;
* without rebasing, the spread of the benchmark against spending grows with the years as
  the closed form says (:func:`simsav.analysis.current_models.trend_spread_sd`);
* rebasing every five years resets the benchmark to recent spending plus the prior
  savings adjustment;
* prepaid savings are paid from last year's earnings and recouped;
* the LEAD presets carry the terms their sources give; the programs of
  ``scenarios/current-models-12k`` share their spending draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simsav as ss
from simsav.analysis.current_models import (
    benchmark_spread,
    compare_programs,
    program_table,
    reserve_needed,
    stop_loss_report,
    trend_spread_sd,
)
from simsav.contracts import get_preset
from simsav.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = [ROOT / "scenarios" / "current-models-12k" / f"{p}.toml"
            for p in ("mssp", "reach", "lead")]


def _scn(agreement: dict, *, n: int = 2_000, spending: dict | None = None,
         designs: list | None = None, aco: dict | None = None) -> ss.Scenario:
    return ss.load_scenario({
        "name": "agreement", "seed": 5, "population": {"beneficiaries": n},
        "spending": spending or {"model": "gamma", "mean": 10_000.0, "cv": 0.2},
        "aco": aco or {},
        "agreement": {"persistence": "independent", **agreement},
        "designs": designs or [{"name": "LEAD Global", "preset": "lead-global"}],
    })


def test_ten_year_agreement_runs_and_eleven_is_refused():
    ds = ss.simulate(_scn({"years": 10, "base_years": 3, "benchmark": "historical",
                           "update": "blend", "national_trend_sd": 0.01,
                           "acpt_weight": 1 / 3, "trend": 0.04}), n_sims=32)
    assert ds.sizes["year"] == 10
    assert ds["agreement_year"].values.tolist() == list(range(1, 11))
    with pytest.raises(ScenarioError, match="agreement.years"):
        _scn({"years": 11})
    with pytest.raises(ScenarioError, match="needs update = 'blend'"):
        _scn({"years": 3, "acpt_weight": 0.3})


def test_blend_without_errors_is_the_projected_trend():
    common = {"years": 6, "base_years": 3, "benchmark": "historical", "trend": 0.04,
              "weights": "equal"}
    a = ss.simulate(_scn(common), n_sims=64)
    b = ss.simulate(_scn({**common, "update": "blend", "acpt_weight": 1 / 3,
                          "national_weight": 0.2}), n_sims=64)
    # (1 + trend)**t against a running product: equal to the last bits
    np.testing.assert_allclose(b["expenditure"].values, a["expenditure"].values, rtol=1e-14)
    np.testing.assert_allclose(b["benchmark"].values, a["benchmark"].values, rtol=1e-12)


def test_benchmark_spread_grows_as_the_closed_form():
    agreement = {"years": 10, "base_years": 1, "update": "blend", "trend": 0.04,
                 "national_trend_sd": 0.01, "regional_trend_sd": 0.01,
                 "trend_error_sd": 0.01, "acpt_weight": 1 / 3, "national_weight": 0.1}
    scn = _scn(agreement, n=4_000)
    sims = 1_500
    ds = ss.simulate(scn, n_sims=sims)
    sd = benchmark_spread(ds)["log_ratio_sd"].values
    noise = 0.2 / np.sqrt(4_000)  # claims noise of one year's per-capita spending
    want = np.sqrt(trend_spread_sd(scn.agreement) ** 2 + noise**2)
    # the SD of an SD estimate from n normal draws is sd / sqrt(2(n - 1)): 4 of them
    tol = 4 * want / np.sqrt(2 * (sims - 1)) + 2e-4  # + the second-order terms of the logs
    assert np.all(np.abs(sd - want) < tol), (sd.round(4), want.round(4))
    assert sd[-1] > 2.5 * sd[0]  # ten years of compounding errors


def test_rebasing_resets_to_recent_spending_with_the_prior_savings_adjustment():
    agreement = {"years": 10, "base_years": 3, "benchmark": "historical", "trend": 0.0,
                 "update": "blend", "rebase_every": 5, "weights": "equal"}
    aco = {"true_savings": 0.04}
    no_psa = ss.simulate(_scn(agreement, aco=aco), n_sims=200)
    psa = ss.simulate(_scn({**agreement, "prior_savings_scale": 0.5}, aco=aco), n_sims=200)
    r0 = (no_psa["benchmark"] / no_psa["expenditure"]).mean("sim").values
    r1 = (psa["benchmark"] / psa["expenditure"]).mean("sim").values
    # years 1-5: the benchmark is pre-savings spending, ~4.2% above; after the rebase it
    # is the ACO's own (saving) spending, ~0% above; the PSA gives back half the savings
    assert r0[:5] == pytest.approx(1 / 0.96, abs=0.005)
    assert r0[5:] == pytest.approx(1.0, abs=0.005)
    assert r1[5:] == pytest.approx(1.0 + 0.5 * 0.04 / 0.96, abs=0.005)
    np.testing.assert_array_equal(psa["expenditure"].values, no_psa["expenditure"].values)


def test_prepaid_savings_paid_from_last_year_and_recouped():
    design = {"name": "prepaid", "preset": "mssp-enhanced", "prepaid_savings": {"share": 0.5}}
    ds = ss.simulate(_scn({"years": 4}, aco={"true_savings": 0.05},
                          designs=[design]), n_sims=50)
    d = ds.sel(design="prepaid")
    earned = d["earned_savings"].values
    np.testing.assert_allclose(d["prepaid_paid"].values[:, 1:], 0.5 * earned[:, :-1])
    assert (d["prepaid_paid"].values[:, 0] == 0).all()
    # each year's prepaid balance is recouped from that year's savings when they suffice
    np.testing.assert_allclose(d["prepaid_recouped"].values[:, 1:],
                               np.minimum(earned[:, 1:], 0.5 * earned[:, :-1]))
    np.testing.assert_allclose(d["settlement_payment"].values,
                               d["aco_net"].values - d["prepaid_recouped"].values)


def test_lead_presets_carry_their_sources_terms():
    g, p = get_preset("lead-global"), get_preset("lead-professional")
    assert g.msr == "none" and g.two_sided
    assert g.benchmark_discount == [0.0175, 0.02, 0.0225, 0.025, 0.0275, 0.03]
    assert get_preset("lead-global-lower-spending").benchmark_discount == 0.03
    assert g.admin_addon == p.admin_addon == 0.015
    assert get_preset("lead-global-lower-spending").admin_addon == 0.0
    assert g.quality_withhold == 0.03 and g.capitation.share == 0.02
    assert [(b.from_, b.share) for b in g.risk_corridors.savings] == [
        (0.0, 1.0), (0.15, 0.5), (0.35, 0.25), (0.5, 0.1)]
    assert p.risk_corridors.savings[0].share == 0.6 and p.risk_corridors.losses[0].share == 0.5
    assert p.benchmark_discount == 0.0
    for c in (g, p):
        assert "[U" in c.description  # the corridors rest on one secondary source


def test_programs_share_their_draws_and_compare():
    r = compare_programs(PROGRAMS, n_sims=48)
    reach, lead = r["current-models-12k-reach"], r["current-models-12k-lead"]
    np.testing.assert_array_equal(reach["expenditure"].values, lead["expenditure"].values)
    t = program_table(r)
    assert len(t) == 8 and set(t["program"]) == set(r)
    assert (t["reserve"] >= 0).all()
    sl = stop_loss_report(lead)
    assert list(sl["design"]) == ["LEAD Global + stop-loss"]
    assert 0.5 < float(sl["loss_ratio"].iloc[0]) < 1.5
    with pytest.raises(ValueError, match="same draws"):
        other = ss.load_scenario(PROGRAMS[0]).model_copy(update={"seed": 3})
        compare_programs([PROGRAMS[1], other])


def test_reserve_is_the_quantile_of_the_worst_cumulative_shortfall():
    import xarray as xr

    cash = np.array([[[-3.0], [1.0], [-1.0]], [[2.0], [-5.0], [4.0]], [[1.0], [1.0], [1.0]]])
    ds = xr.Dataset({"settlement_payment": (("sim", "year", "design"), cash)},
                    coords={"design": ["x"]})
    # worst cumulative positions: -3, -3, +1 -> shortfalls 3, 3, 0
    assert float(reserve_needed(ds, 1.0).sel(design="x")) == 3.0
    assert float(reserve_needed(ds, 0.5).sel(design="x")) == 3.0
    with pytest.raises(ValueError, match="level"):
        reserve_needed(ds, 0.0)
