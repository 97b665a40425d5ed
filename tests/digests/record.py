"""Record fingerprints of every bundled scenario's Dataset, for the refactor guard.

Run from the repository root: ``python tests/digests/record.py``. It writes
``tests/digests/scenarios.json``: for each scenario file under ``scenarios/`` (and each
draws mode that applies), a small run (``N_SIMS`` sims, the scenario's seed) and per
variable a fingerprint — shape, sum, sum of squares, sum of |x|, min, max and the first
and last few values — recorded with full float precision. ``tests/test_digests.py``
recomputes them and compares. The file was first recorded on main at commit 53224ef,
before the one-draw / one-settle restructure; regenerate it only when a change is meant
to move the numbers, and say which in the commit.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

N_SIMS = 300
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def fingerprint(values: np.ndarray) -> dict:
    """Summary numbers of an array that move when any element moves."""
    x = np.asarray(values)
    if x.dtype == bool:
        x = x.astype(np.int64)
    x = x.astype(np.float64).ravel()
    finite = np.isfinite(x)
    xf = np.where(finite, x, 0.0)
    idx = np.arange(x.size, dtype=np.float64)

    def num(v: float) -> float | None:
        return None if not math.isfinite(v) else float(v)

    return {
        "shape": list(np.shape(values)),
        "n_nonfinite": int((~finite).sum()),
        "sum": num(xf.sum()),
        "sum_sq": num((xf * xf).sum()),
        "sum_abs": num(np.abs(xf).sum()),
        "weighted": num((xf * (1.0 + (idx % 97) / 97.0)).sum()),
        "min": num(xf.min()) if x.size else None,
        "max": num(xf.max()) if x.size else None,
        "head": [num(v) for v in x[:4]],
        "tail": [num(v) for v in x[-4:]],
    }


def cases() -> list[tuple[str, str]]:
    """(scenario path relative to the root, draws mode)."""
    import simsav as ss

    out = []
    for path in sorted([*ROOT.glob("scenarios/**/*.toml"), *HERE.glob("guards/*.toml")]):
        rel = str(path.relative_to(ROOT))
        out.append((rel, "per-beneficiary"))
        scn = ss.load_scenario(path)
        if scn.agreement.is_single_year and scn.attribution.is_trivial:
            out.append((rel, "aggregate"))
    return out


def run_case(rel: str, draws: str) -> dict:
    """Fingerprints of every data variable of one run."""
    import simsav as ss

    scn = ss.load_scenario(ROOT / rel)
    ds = ss.simulate(scn, n_sims=N_SIMS, n_threads=1, draws=draws)
    return {name: fingerprint(ds[name].values) for name in sorted(ds.data_vars)}


def main() -> None:
    """Write ``scenarios.json``."""
    table = {f"{rel}::{draws}": run_case(rel, draws) for rel, draws in cases()}
    out = HERE / "scenarios.json"
    text = json.dumps({"n_sims": N_SIMS, "cases": table}, separators=(",", ":"), sort_keys=True)
    out.write_text(text)
    print(f"wrote {out} ({len(table)} cases)", file=sys.stderr)


if __name__ == "__main__":
    main()
