"""Every bundled scenario gives the Dataset it gave before the restructure.

``tests/digests/scenarios.json`` holds fingerprints of each scenario's variables recorded
on main before the draw/settle restructure (``tests/digests/record.py``). A refactor that
moves any element of any variable moves its sums, extremes or end values.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import simsav.draw.providers
from simsav.rng import STREAMS

HERE = Path(__file__).resolve().parent / "digests"
sys.path.insert(0, str(HERE))
import record  # noqa: E402

RECORDED = json.loads((HERE / "scenarios.json").read_text())

#: Variables whose values a later fix was meant to change, by case: a low-revenue ACO
#: paid at the reduced rate below the MSR has its own outcome (2) instead of "corridor"
#: (0); nothing else about its settlement moved.
CHANGED: dict[str, set[str]] = {
    "scenarios/physician-group-20k.toml::aggregate": {"outcome"},
    "scenarios/physician-group-20k.toml::per-beneficiary": {"outcome"},
}

#: Cases with provider panels. The restructure fixed two stream collisions there: the
#: providers' own effects drew from the aggregate path's stream (7,), and the panel layout
#: from ``SeedSequence(seed, spawn_key=(99,))`` — block 99's spending stream. These cases
#: are checked under the old ids (:func:`legacy_provider_streams`), which shows the new
#: code changes nothing else; ``test_provider_cases_move_with_the_fix`` shows the fix
#: does move them.
PROVIDER_CASES = {
    "scenarios/eac-recommendations.toml::per-beneficiary",
    "tests/digests/guards/points-multi-year.toml::per-beneficiary",
    "tests/digests/guards/providers-one-year.toml::aggregate",
    "tests/digests/guards/providers-one-year.toml::per-beneficiary",
}


def legacy_provider_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draw provider effects and the panel layout from the streams used before the fix."""
    monkeypatch.setitem(STREAMS, "provider_effect", (7,))

    def old_layout_rng(root: np.random.SeedSequence, k: int, stream: tuple[int, ...]) -> object:
        assert k == 0 and stream == STREAMS["provider_layout"]
        return np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(99,)))

    monkeypatch.setattr(simsav.draw.providers, "block_generator", old_layout_rng)


def _close(a: object, b: object) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is b
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def _changed(case: str, got: dict) -> list[str]:
    want = RECORDED["cases"][case]
    skip = CHANGED.get(case, set())
    assert set(got) >= set(want) - skip, sorted(set(want) - set(got))
    return [name for name in want if name not in skip
            and not all(_close(got[name][k], v) for k, v in want[name].items())]


@pytest.mark.parametrize("case", sorted(RECORDED["cases"]))
def test_scenario_matches_recorded_digest(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if case in PROVIDER_CASES:
        legacy_provider_streams(monkeypatch)
    rel, draws = case.split("::")
    bad = _changed(case, record.run_case(rel, draws))
    assert not bad, f"{case}: changed variables {bad}"


@pytest.mark.parametrize("case", sorted(PROVIDER_CASES))
def test_provider_cases_move_with_the_fix(case: str) -> None:
    rel, draws = case.split("::")
    bad = _changed(case, record.run_case(rel, draws))
    assert {"expenditure", "provider_savings", "aco_net"} <= set(bad)
