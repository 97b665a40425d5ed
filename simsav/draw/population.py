"""The scenario's population as spending groups: one, one per stratum, or one per provider."""

from __future__ import annotations

import numpy as np

from simsav.draw.providers import provider_layout
from simsav.scenario import Scenario
from simsav.spending import SpendingSpec

__all__ = ["population_groups", "stratum_counts"]


def stratum_counts(shares: list[float], total: int) -> np.ndarray:
    """Split ``total`` beneficiaries by ``shares`` (largest-remainder rounding).

    Examples
    --------
    >>> stratum_counts([0.5, 0.25, 0.25], 5).tolist()
    [3, 1, 1]
    """
    raw = np.asarray(shares, dtype=np.float64) * total
    counts = np.floor(raw).astype(np.int64)
    short = int(total - counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def population_groups(scenario: Scenario) -> list[tuple[str, SpendingSpec, int]]:
    """The scenario's spending groups: ``(name, spending spec, beneficiaries)``.

    One group without strata; one per stratum otherwise, each stratum overriding the
    ``[spending]`` terms it names; one per provider panel with ``[providers]``.
    """
    n = scenario.population.beneficiaries
    base = scenario.spending
    if scenario.providers is not None:
        _, lives = provider_layout(scenario)
        return [(f"provider-{i + 1:04d}", base, int(c)) for i, c in enumerate(lives)]
    if not scenario.strata:
        return [("all", base, n)]
    counts = stratum_counts([s.share for s in scenario.strata], n)
    groups = []
    for s, count in zip(scenario.strata, counts, strict=True):
        over = {k: v for k, v in (("mean", s.mean), ("cv", s.cv), ("truncate_at", s.truncate_at),
                                  ("model", s.model)) if v is not None}
        spec = base.replace(**over) if over else base
        groups.append((s.name, spec, int(count)))
    return groups
