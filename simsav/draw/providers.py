"""Provider panels: their layout, each provider's own effect on spending, its quality.

With a ``[providers]`` table the population is drawn panel by panel (one kernel group per
provider). The layout — each provider's organization type and panel size — is drawn once
per scenario (stream ``provider_layout`` of the scenario's own seed). Each provider has its
own effect on its panel's spending, ``δ_i ~ N(0, savings_sd²)`` drawn once per sim (stream
``provider_effect``), so panel ``i`` spends ``X_i × (1 − τ − δ_i)`` where ``τ`` is the
ACO's true savings. A provider's quality is the ACO's score plus ``N(0, quality_sd²)``
(stream ``provider_quality``), clipped to [0, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simsav.rng import STREAMS, block_generator, block_normals, root_seed_sequence
from simsav.scenario import Scenario

__all__ = ["provider_effects", "provider_layout", "provider_quality"]


def _largest_remainder(raw: np.ndarray, total: int) -> np.ndarray:
    k = np.floor(raw).astype(np.int64)
    k[np.argsort(-(raw - k), kind="stable")[: total - int(k.sum())]] += 1
    return k


def provider_layout(scenario: Scenario) -> tuple[list[str], np.ndarray]:
    """Organization type and panel size of each provider (fixed for the scenario).

    Types are assigned in ``org_mix`` order by largest-remainder counts; sizes are
    lognormal weights (``size_cv``) split by largest remainder so they sum to the
    population, each at least 1. The weights come from block 0's ``provider_layout``
    stream of the scenario's own ``seed``, so every run of the scenario (whatever its
    seed) has the same panels.
    """
    p = scenario.providers
    assert p is not None
    n_beneficiaries = scenario.population.beneficiaries
    types = list(p.org_mix)
    counts = _largest_remainder(np.array([p.org_mix[t] for t in types]) * p.count, p.count)
    org = [t for t, c in zip(types, counts, strict=True) for _ in range(int(c))]
    rng = block_generator(root_seed_sequence(scenario.seed), 0, STREAMS["provider_layout"])
    sigma = np.sqrt(np.log1p(p.size_cv**2))
    w = rng.lognormal(-sigma**2 / 2, sigma, p.count) if sigma > 0 else np.ones(p.count)
    extra = n_beneficiaries - p.count
    return org, _largest_remainder(w / w.sum() * extra, extra) + 1


def provider_effects(scenario: Scenario, n: int, seed: Any, bs: int,
                     first_block: int = 0) -> np.ndarray:
    """Each provider's own effect on its panel's spending, shape (sim, provider)."""
    p = scenario.providers
    assert p is not None
    if p.savings_sd == 0:
        return np.zeros((n, p.count))
    return p.savings_sd * block_normals((n, p.count), seed=seed, block_size=bs,
                                        stream=STREAMS["provider_effect"],
                                        first_block=first_block)


def provider_quality(scenario: Scenario, aco_quality: np.ndarray, seed: Any, bs: int,
                     first_block: int = 0) -> np.ndarray:
    """Provider quality scores, shape (sim, year, provider), from the ACO's (sim, year)."""
    p = scenario.providers
    assert p is not None
    q = np.asarray(aco_quality, dtype=np.float64)
    n, years = q.shape
    if p.quality_sd == 0:
        return np.broadcast_to(q[:, :, None], (n, years, p.count)).copy()
    z = block_normals((n, years, p.count), seed=seed, block_size=bs,
                      stream=STREAMS["provider_quality"], first_block=first_block)
    return np.clip(q[:, :, None] + p.quality_sd * z, 0.0, 1.0)
