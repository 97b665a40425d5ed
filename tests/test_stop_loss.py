"""Specific stop-loss: each person's excess over the attachment, summed in the kernels.

The expected recovery per beneficiary must equal the closed form ``E[(X − a)+]`` of the
spending model within 4 standard errors; turning stop-loss on must not move a single
spending draw (one-year and panel kernels); premiums follow the contract.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

import simsav as ss
from simsav.draw.groups import simulate_group_stats
from simsav.draw.panel import PersistenceSpec, simulate_panel_excess, simulate_panel_sums
from simsav.draw.stop_loss import attachment_table, expected_excess
from simsav.spending import SpendingSpec

GAMMA = SpendingSpec(model="gamma", mean=10_000.0, cv=2.0)


def gamma_excess(mean: float, cv: float, a: float) -> float:
    """E[(X − a)+] for a gamma: k θ Q(k + 1, a/θ) − a Q(k, a/θ), Q the upper regularized."""
    k, theta = 1.0 / cv**2, mean * cv**2
    return k * theta * special.gammaincc(k + 1, a / theta) - a * special.gammaincc(k, a / theta)


def _scenario(attachment: float, n: int, **sl) -> dict:
    return {
        "name": "stop-loss", "seed": 11, "population": {"beneficiaries": n},
        "spending": {"model": "gamma", "mean": 10_000.0, "cv": 2.0},
        "designs": [
            {"name": "plain", "preset": "aco-reach-global-2023"},
            {"name": "with stop-loss", "preset": "aco-reach-global-2023",
             "specific_stop_loss": {"attachment": attachment, **sl}},
        ],
    }


@pytest.mark.parametrize("attachment", [25_000.0, 60_000.0])
def test_expected_recovery_matches_closed_form(attachment):
    n, sims = 2_000, 1_500
    ds = ss.simulate(ss.load_scenario(_scenario(attachment, n, premium_loading=0.1)),
                     n_sims=sims)
    rec = ds["stop_loss_recovery"].sel(design="with stop-loss").values[:, 0] / n
    want = gamma_excess(10_000.0, 2.0, attachment)
    se = rec.std(ddof=1) / np.sqrt(sims)
    assert abs(rec.mean() - want) < 4 * se, (rec.mean(), want, se)
    # the premium is the loading on the closed form, exactly
    prem = ds["stop_loss_premium"].sel(design="with stop-loss").values[:, 0] / n
    np.testing.assert_allclose(prem, 1.1 * want, rtol=1e-12)
    # the expenditure counted nets the recoveries and adds the premium
    plain = ds["expenditure_total"].sel(design="plain").values
    sl = ds["expenditure_total"].sel(design="with stop-loss").values
    np.testing.assert_allclose(sl, plain - rec[:, None] * n + prem[:, None] * n, rtol=1e-12)


def test_closed_form_helper_is_the_model_limited_mean():
    assert expected_excess([(GAMMA, 7)], [[40_000.0]])[0] == pytest.approx(
        gamma_excess(10_000.0, 2.0, 40_000.0), rel=1e-10)
    capped = SpendingSpec(model="gamma", mean=10_000.0, cv=2.0, truncate_at=50_000.0)
    m = capped.to_model()
    assert expected_excess([(capped, 3)], [[40_000.0]])[0] == pytest.approx(
        m.mean(truncated=True) - m.mean(truncated=40_000.0))
    assert expected_excess([(capped, 3)], [[90_000.0]])[0] == 0.0  # above the cap


def test_stop_loss_draws_nothing_more():
    specs = [(GAMMA, 700), (SpendingSpec(model="medicare-ffs", mean=11_000.0), 300)]
    att = attachment_table(specs, [(30_000.0, False), (30_000.0, True)])
    a = simulate_group_stats(specs, 40, seed=3, block_size=8)
    b = simulate_group_stats(specs, 40, seed=3, block_size=8, attachments=att)
    np.testing.assert_array_equal(a.truncated, b.truncated)
    np.testing.assert_array_equal(a.untruncated, b.untruncated)
    assert b.excess.shape == (40, 2, 2) and (b.excess >= 0).all()
    p = PersistenceSpec.medicare()
    s1 = simulate_panel_sums(specs, 20, 4, persistence=p, seed=5)
    s2, ex = simulate_panel_excess(specs, 20, 4, att, persistence=p, seed=5)
    np.testing.assert_array_equal(s1, s2)
    assert ex.shape == (20, 4, 2, 2)


def test_panel_excess_against_a_plain_reference():
    """With independent years, the panel's excess per year has the one-year mean."""
    spec = SpendingSpec(model="hurdle-lognormal", mean=10_000.0, cv=2.0, zero_share=0.1)
    n, sims = 500, 400
    _, ex = simulate_panel_excess([(spec, n)], sims, 2, [[30_000.0]],
                                  persistence=PersistenceSpec.independent(), seed=9)
    per = ex[:, :, 0, 0].ravel() / n
    want = expected_excess([(spec, n)], [[30_000.0]])[0]
    assert abs(per.mean() - want) < 4 * per.std(ddof=1) / np.sqrt(per.size)


def test_stop_loss_needs_per_beneficiary_draws_and_the_drawn_attachment():
    scn = ss.load_scenario(_scenario(50_000.0, 500, premium_pbpm=3.0))
    with pytest.raises(ValueError, match="per-beneficiary"):
        ss.simulate(scn, n_sims=8, draws="aggregate")
    ds = ss.simulate(scn, n_sims=8)
    np.testing.assert_allclose(
        ds["stop_loss_premium"].sel(design="with stop-loss"), 3.0 * 12 * 500)
    other = ss.presets["aco-reach-global-2023"].with_terms(
        specific_stop_loss={"attachment": 70_000.0})
    with pytest.raises(ValueError, match="was not drawn"):
        ss.add_design(ds, other, name="other attachment")
    again = ss.add_design(ds, ss.presets["aco-reach-global-2023"].with_terms(
        specific_stop_loss={"attachment": 50_000.0, "premium_pbpm": 3.0}), name="same")
    np.testing.assert_allclose(again["aco_net"].sel(design="same"),
                               ds["aco_net"].sel(design="with stop-loss"))


def test_recovery_with_provider_panels_is_scaled_once():
    # with provider panels the excess above the attachment is scaled by trend and true
    # savings once, as each panel's spending is (not once per path through the draw)
    data = _scenario(25_000.0, 2_000)
    data["providers"] = {"count": 5, "savings_sd": 0.0, "quality_sd": 0.0}
    ds = ss.simulate(ss.load_scenario(data), n_sims=1_500)
    rec = ds["stop_loss_recovery"].sel(design="with stop-loss").values[:, 0] / 2_000
    want = gamma_excess(10_000.0, 2.0, 25_000.0)
    se = rec.std(ddof=1) / np.sqrt(1_500)
    assert abs(rec.mean() - want) < 4 * se, (rec.mean(), want, se)
    data["aco"] = {"true_savings": 0.1}
    ds = ss.simulate(ss.load_scenario(data), n_sims=1_500)
    rec10 = ds["stop_loss_recovery"].sel(design="with stop-loss").values[:, 0] / 2_000
    assert rec10.mean() == pytest.approx(0.9 * rec.mean(), rel=1e-9)  # (1 - 0.1), once
