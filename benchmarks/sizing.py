"""MSR sizing sweep: per-beneficiary against the aggregate fast path, in one run.

``python benchmarks/sizing.py [--json]`` times ``msr_curve`` over sizes 1,000 to 1,000,000
with both draw methods (per-beneficiary at a sim count that keeps it to seconds, scaled to
per-sim cost) and the full 1,000,000-beneficiary × 100,000-sim aggregate sweep.
"""

from __future__ import annotations

import argparse
import json
import time

from simsav.analysis.msr_sizing import msr_curve

SPEC = {"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99}
SIZES = [1_000, 10_000, 100_000, 1_000_000]


def _time(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def run() -> dict[str, object]:
    msr_curve([1_000], spending=SPEC, n_sims=200)  # compile
    msr_curve([1_000], spending=SPEC, n_sims=200, draws="aggregate")
    out: dict[str, object] = {"sizes": SIZES}
    per_sim_exact, per_sim_agg = [], []
    for n in SIZES:
        sims_exact = max(200, int(2e8 // n))
        t_e = _time(lambda n=n, s=sims_exact: msr_curve([n], spending=SPEC, n_sims=s))
        t_a = _time(lambda n=n: msr_curve([n], spending=SPEC, n_sims=20_000,
                                          draws="aggregate"))
        per_sim_exact.append(t_e / sims_exact)
        per_sim_agg.append(t_a / 20_000)
    out["per_sim_s_per_beneficiary"] = per_sim_exact
    out["per_sim_s_aggregate"] = per_sim_agg
    out["speedup"] = [e / a for e, a in zip(per_sim_exact, per_sim_agg, strict=True)]
    out["full_sweep_aggregate_s"] = _time(
        lambda: msr_curve(SIZES, spending=SPEC, n_sims=100_000, draws="aggregate"))
    out["full_sweep_per_beneficiary_projected_s"] = sum(per_sim_exact) * 100_000
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    r = run()
    if a.json:
        print(json.dumps({"sizing": r}, indent=2))
    else:
        for k, v in r.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
