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

import pytest

HERE = Path(__file__).resolve().parent / "digests"
sys.path.insert(0, str(HERE))
import record  # noqa: E402

RECORDED = json.loads((HERE / "scenarios.json").read_text())

#: Variables whose values a fix in the restructure was meant to change, by case.
CHANGED: dict[str, set[str]] = {}


def _close(a: object, b: object) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is b
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


@pytest.mark.parametrize("case", sorted(RECORDED["cases"]))
def test_scenario_matches_recorded_digest(case: str) -> None:
    rel, draws = case.split("::")
    got = record.run_case(rel, draws)
    want = RECORDED["cases"][case]
    skip = CHANGED.get(case, set())
    assert set(got) >= set(want) - skip, sorted(set(want) - set(got))
    bad = [name for name in want if name not in skip
           and not all(_close(got[name][k], v) for k, v in want[name].items())]
    assert not bad, f"{case}: changed variables {bad}"
