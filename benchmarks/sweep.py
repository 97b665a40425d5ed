"""Sweeps: re-settling the same draws against drawing every point again, in one run.

``python benchmarks/sweep.py [--json]`` times a sweep of 8 MSR values (a contract term:
one draw, 8 settlements of it) against 8 separate simulations of the same points, and a
sweep of 4 population sizes (a key that changes the draws) against 4 separate
simulations. Ratios only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json

from _common import race

import simsav as ss
from simsav.analysis.overrides import set_keys

SCN = ss.parse_scenario({
    "name": "bench-sweep", "seed": 1,
    "population": {"beneficiaries": 5_000},
    "spending": {"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99},
    "designs": [{"name": "D", "two_sided": True, "msr": 0.02, "loss_rate": 0.5}],
})
N_SIMS = 4_000
MSRS = [0.005 * k for k in range(1, 9)]
SIZES = [2_000, 5_000, 10_000, 20_000]


def run(repeat: int = 2) -> dict[str, float]:
    ss.simulate(SCN, n_sims=256)  # compile
    t = race({
        "msr_sweep": lambda: ss.sweep(SCN, {"designs.*.msr": MSRS}, n_sims=N_SIMS),
        "msr_separate": lambda: [ss.summarize(ss.simulate(
            set_keys(SCN, {"designs.*.msr": m}), n_sims=N_SIMS)) for m in MSRS],
        "size_sweep": lambda: ss.sweep(SCN, {"population.beneficiaries": SIZES},
                                       n_sims=N_SIMS),
        "size_separate": lambda: [ss.summarize(ss.simulate(
            set_keys(SCN, {"population.beneficiaries": n}), n_sims=N_SIMS)) for n in SIZES],
    }, repeat)
    return {**{f"{k}_s": v for k, v in t.items()},
            "msr_speedup": t["msr_separate"] / t["msr_sweep"],
            "size_overhead": t["size_sweep"] / t["size_separate"]}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--json", action="store_true")
    res = run()
    if p.parse_args().json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:>16}: {v:.3f}")
