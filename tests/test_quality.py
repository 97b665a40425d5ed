"""Quality scoring against CMS's percentile scale and the recommendations' goal rules."""

import numpy as np
import pytest
from scipy import stats

from simsav.contracts import get_preset
from simsav.draw.quality import simulate_quality
from simsav.settlement.quality import (
    cms_points,
    cms_quality_score,
    effective_quality,
    goal_scale,
)
from simsav.settlement.rules import settle_one

# MSSP 2012 final rule: points per measure by percentile band (30th..90th)
TABLE = [(0, 0.0), (29.99, 0.0), (30, 1.10), (39.9, 1.10), (40, 1.25), (50, 1.40),
         (60, 1.55), (70, 1.70), (80, 1.85), (89.99, 1.85), (90, 2.00), (100, 2.00)]


@pytest.mark.parametrize("pct,points", TABLE)
def test_cms_points_scale(pct, points):
    assert float(cms_points(pct)) == pytest.approx(points)


def test_none_below_30th_full_at_90th():
    assert float(cms_quality_score([10, 20, 29])) == 0.0
    assert float(cms_quality_score([90, 95, 100])) == 1.0


def test_goal_scale_threshold_target_stretch():
    # own prior 0.70: nothing at 0.70, half at target 0.72, all at stretch 0.75
    q = np.array([0.69, 0.70, 0.71, 0.72, 0.735, 0.75, 0.80])
    got = goal_scale(q, 0.70, 0.72, 0.75)
    np.testing.assert_allclose(got, [0, 0, 0.25, 0.5, 0.75, 1, 1])


def test_effective_quality_modes():
    assert float(effective_quality("score", 0.8)) == 0.8
    assert float(effective_quality("cms-points", 0.8, percentile=0.95)) == 1.0
    assert float(effective_quality("cms-points", 0.8, percentile=0.25)) == 0.0
    # first year of own goals: no prior, the score is used as is
    assert float(effective_quality("own-goals", 0.8)) == 0.8
    assert float(effective_quality("own-goals", 0.82, q_prior=0.80)) == pytest.approx(0.5)
    # better of peer points and improvement: low percentile but +10 points improvement
    assert float(effective_quality("peer-or-improvement", 0.6, q_prior=0.5,
                                   percentile=0.1)) == pytest.approx(1.0)
    assert float(effective_quality("improvement", 0.75, q_prior=0.70)) == pytest.approx(0.5)
    assert float(effective_quality("improvement", 0.65, q_prior=0.70)) == 0.0
    with pytest.raises(ValueError, match="quality_scoring"):
        effective_quality("bogus", 0.5)


def test_settle_with_own_goals_scoring():
    c = get_preset("eac-recommended").with_terms(
        quality_scoring="own-goals", quality_floor=0.0, quality_full=1.0, quality_gate=None)
    kw = dict(benchmark=10_000, expenditure=9_500, n_beneficiaries=10_000)
    hit_target = settle_one(c, quality=0.82, quality_prior=0.80, **kw)
    assert hit_target["final_sharing_rate"] == pytest.approx(0.5 * 0.5)
    stood_still = settle_one(c, quality=0.80, quality_prior=0.80, **kw)
    assert stood_still["earned_savings"] == 0.0


def test_simulated_quality_marginals_and_persistence():
    n = 20_000
    q = simulate_quality(n, 3, mean=0.8, sd=0.06, persistence=0.7, improvement=0.01, seed=3)
    for t in range(3):
        m = 0.8 + 0.01 * t
        se = 0.06 / np.sqrt(n)
        assert abs(q[:, t].mean() - m) < 4 * se
        assert abs(q[:, t].std() - 0.06) < 4 * 0.06 / np.sqrt(2 * n)
    # the copula's normal scores have correlation rho year to year
    k = 0.8 * 0.2 / 0.06**2 - 1
    z0 = stats.norm.ppf(stats.beta.cdf(q[:, 0], 0.8 * k, 0.2 * k))
    k1 = 0.81 * 0.19 / 0.06**2 - 1
    z1 = stats.norm.ppf(stats.beta.cdf(q[:, 1], 0.81 * k1, 0.19 * k1))
    r = np.corrcoef(z0, z1)[0, 1]
    assert abs(r - 0.7) < 4 * (1 - 0.7**2) / np.sqrt(n)


def test_quality_bad_input():
    with pytest.raises(ValueError, match="percentile"):
        cms_points(120)
    with pytest.raises(ValueError, match="persistence"):
        simulate_quality(10, 2, mean=0.8, sd=0.05, persistence=1.0, seed=1)
    with pytest.raises(ValueError, match="quality_prior"):
        settle_one(get_preset("eac-recommended").with_terms(quality_scoring="own-goals"),
                   benchmark=1.0, expenditure=1.0, n_beneficiaries=10, quality=0.5,
                   quality_prior=2.0)
