"""Attribution through simulate(): the issue's must-holds.

- prospective assignment without churn equals the plain Monte Carlo core on the same seed;
- random churn leaves the expected savings rate unchanged and widens its SD to
  CV_T / sqrt(N_eff), N_eff = N (1 - churn_out + churn_in) (theory: Var(T/n) = sigma^2 E[1/n]);
- spending-dependent leaving moves the savings rate by 1 - E[X | attributed] / mu, computed
  by quadrature independently of the kernel (simsav.draw.attribution.expected_attribution).
"""

import numpy as np
import pytest
import xarray as xr

from simsav.analysis.compare import compare_attribution
from simsav.draw.attribution import expected_attribution
from simsav.scenario import ScenarioError, parse_scenario
from simsav.simulation import simulate

GAMMA = {"model": "gamma", "mean": 10_000.0, "cv": 2.0}


def scn(attribution=None, n=5_000, spending=GAMMA):
    data = {"name": "att", "seed": 21, "population": {"beneficiaries": n},
            "spending": spending, "quality": {"score": 0.9},
            "designs": [{"name": "T1", "preset": "mssp-track1-2012"},
                        {"name": "T2", "preset": "mssp-track2-2012"}]}
    if attribution is not None:
        data["attribution"] = attribution
    return parse_scenario(data)


def test_prospective_without_churn_equals_plain_core():
    plain = simulate(scn(), n_sims=500)
    explicit = simulate(scn({"method": "prospective", "churn_out": 0.0, "churn_in": 0.0}),
                        n_sims=500)
    xr.testing.assert_identical(plain, explicit)


def test_random_churn_unbiased_and_wider_by_theory():
    sims, n = 4_000, 5_000
    base = simulate(scn(), n_sims=sims)
    churn = simulate(scn({"method": "retrospective", "churn_out": 0.3, "churn_in": 0.1}),
                     n_sims=sims)
    rate = churn["savings_rate"].sel(design="T1").values[:, 0]
    n_eff = n * (1 - 0.3 + 0.1)
    expected_sd = 2.0 / np.sqrt(n_eff)
    assert abs(rate.mean()) < 4 * expected_sd / np.sqrt(sims)
    assert abs(rate.std(ddof=1) - expected_sd) < 4 * expected_sd / np.sqrt(2 * sims)
    base_sd = base["savings_rate"].sel(design="T1").values.std(ddof=1)
    assert rate.std(ddof=1) > base_sd  # the smaller effective population is noisier
    assert abs(float(churn["n_attributed"].mean()) - n_eff) < 4 * np.sqrt(n * 0.4) / np.sqrt(
        sims) + 1


def test_sicker_leavers_move_the_savings_rate_as_theory_says():
    from simsav.draw.attribution import AttributionSpec
    from simsav.spending import SpendingSpec

    att = {"method": "retrospective", "churn_out": 0.1, "leave_tilt": 0.3}
    sims = 3_000
    ds = simulate(scn(att), n_sims=sims)
    rate = ds["savings_rate"].sel(design="T1").values[:, 0]
    theory = expected_attribution(SpendingSpec(**GAMMA).to_model(),
                                  AttributionSpec(**att))
    expected = 1.0 - theory["mean_ratio"]
    assert expected > 0.01  # the ACO gains when its sicker members leave
    assert abs(rate.mean() - expected) < 4 * rate.std(ddof=1) / np.sqrt(sims) + 1e-3


def test_compare_attribution_table():
    t = compare_attribution(scn(), {"prospective": {},
                                    "retro": {"method": "retrospective", "churn_out": 0.2}},
                            n_sims=300)
    assert set(t.index.get_level_values(0)) == {"prospective", "retro"}
    assert t.loc[("retro", "T1"), "attributed_mean"] < 5_000


def test_attribution_limits():
    with pytest.raises(ScenarioError, match="attribution"):
        parse_scenario({"name": "x", "population": {"beneficiaries": 100},
                        "spending": GAMMA, "agreement": {"years": 2},
                        "attribution": {"method": "retrospective", "churn_out": 0.1},
                        "designs": [{"name": "a", "preset": "mssp-basic-a"}]})
    with pytest.raises(ValueError, match="draws"):
        simulate(scn({"method": "retrospective", "churn_out": 0.1}), n_sims=10,
                 draws="aggregate")
