"""Speed-up of the aggregate draws over the per-beneficiary kernel.

Usage::

    python benchmarks/aggregate.py            # a table
    python benchmarks/aggregate.py --json     # JSON on stdout
    python benchmarks/aggregate.py --quick    # smaller runs (a smoke run)

Everything is a ratio measured in the same run (never a timed assertion); cases run
round-robin and the best of ``repeat`` rounds is kept, as in ``benchmarks/run.py``.

* ``speedup``: for each model and N in 10,000, 100,000 and 1,000,000, the per-sim cost
  of :func:`simsav.draw.groups.simulate_group_sums` (sims chosen so a call takes about
  ``--target`` seconds) over that of
  :func:`simsav.draw.aggregate.simulate_group_sums_aggregate` (timed on
  ``--agg-sims`` sims, since the same few sims take it a millisecond or two, mostly fixed
  overhead); ``same_sims_speedup`` is the plain wall-time ratio on the per-beneficiary
  call's sims (fixed overhead included). Both use all numba threads.
* ``sweep``: wall time of one 1,000,000-beneficiary x 100,000-sim aggregate call per
  model, and the per-beneficiary time that sweep would take (projected from its per-sim
  cost at N = 1,000,000).

Models: ``gamma`` (cv 2, uncapped: the exact gamma draw), ``hurdle-lognormal`` and
``medicare-ffs-p99`` (the 99th-percentile-capped models of ``benchmarks/run.py``: no tail
draws once N > 3,200) and ``medicare-ffs`` uncapped (the costliest case: about 32 exact
tail draws per sim).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import _common
import numba
import numpy as np

from simsav.draw.aggregate import aggregate_plan, simulate_group_sums_aggregate
from simsav.draw.groups import simulate_group_sums
from simsav.spending import SpendingSpec

MODELS = {
    "gamma": SpendingSpec(model="gamma", mean=11_000, cv=2.0),
    "hurdle-lognormal": SpendingSpec(
        model="hurdle-lognormal", mean=11_000, cv=2.1, zero_share=0.05, truncate_quantile=0.99
    ),
    "medicare-ffs-p99": SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99),
    "medicare-ffs": SpendingSpec(model="medicare-ffs", mean=11_000),
}
SIZES = (10_000, 100_000, 1_000_000)
SWEEP_N, SWEEP_SIMS = 1_000_000, 100_000




def _sims_for(spec: SpendingSpec, n: int, target_s: float) -> int:
    """Sims for which the per-beneficiary call takes about ``target_s`` seconds."""
    pilot = max(8, int(2e7 / n))
    simulate_group_sums([(spec, n)], pilot, seed=0)  # compile, warm up
    t0 = time.perf_counter()
    simulate_group_sums([(spec, n)], pilot, seed=0)
    per_sim = (time.perf_counter() - t0) / pilot
    return max(8, int(target_s / per_sim))


def speedups(target_s: float, agg_sims: int, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in MODELS.items():
        out[name] = {}
        for n in SIZES:
            groups = [(spec, n)]
            sims = _sims_for(spec, n, target_s)
            times = _common.race(
                {
                    "per_beneficiary": partial(simulate_group_sums, groups, sims, seed=1),
                    "aggregate": partial(simulate_group_sums_aggregate, groups, agg_sims, seed=1),
                    "aggregate_same_sims": partial(
                        simulate_group_sums_aggregate, groups, sims, seed=1
                    ),
                },
                repeat,
            )
            ben, agg = times["per_beneficiary"] / sims, times["aggregate"] / agg_sims
            plan = aggregate_plan(spec, n)
            out[name][str(n)] = {
                "per_beneficiary_sims": sims,
                "per_beneficiary_s": times["per_beneficiary"],
                "aggregate_sims": agg_sims,
                "aggregate_s": times["aggregate"],
                "per_beneficiary_us_per_sim": 1e6 * ben,
                "aggregate_us_per_sim": 1e6 * agg,
                "speedup": ben / agg,
                "same_sims_speedup": times["per_beneficiary"] / times["aggregate_same_sims"],
                "per_beneficiary_beneficiary_years_per_s": n / ben,
                "plan": plan.method,
                "exact_tail_draws_per_sim": plan.expected_exact_draws,
            }
    return out


def sweep(speed: dict[str, Any], repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cases = {
        name: partial(simulate_group_sums_aggregate, [(spec, SWEEP_N)], SWEEP_SIMS, seed=2)
        for name, spec in MODELS.items()
    }
    times = _common.race(cases, repeat)
    for name, t in times.items():
        ben = speed[name][str(SWEEP_N)]["per_beneficiary_us_per_sim"] * 1e-6 * SWEEP_SIMS
        out[name] = {
            "beneficiaries": SWEEP_N,
            "sims": SWEEP_SIMS,
            "aggregate_s": t,
            "per_beneficiary_projected_s": ben,
            "speedup": ben / t,
        }
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--quick", action="store_true", help="smaller runs (smoke run)")
    ap.add_argument("--target", type=float, default=None, help="seconds per per-beneficiary call")
    args = ap.parse_args(argv)
    target, agg_sims, repeat = (0.3, 20_000, 1) if args.quick else (3.0, 100_000, 3)
    if args.target is not None:
        target = args.target

    t0 = time.perf_counter()
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
            "cpus": os.cpu_count(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "loadavg_1min_start": os.getloadavg()[0],
        },
        "target_s": target,
    }
    result["speedup"] = speedups(target, agg_sims, repeat)
    result["sweep"] = sweep(result["speedup"], repeat)
    result["elapsed_s"] = time.perf_counter() - t0
    result["machine"]["loadavg_1min_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_table(result)
    return result


def _print_table(r: dict[str, Any]) -> None:
    print("per-sim cost (us) and speed-up of the aggregate draws")
    head = ("model", "N", "per-ben", "aggregate", "speed-up", "same sims")
    print(f"{head[0]:<18}" + "".join(f"{h:>11}" for h in head[1:]))
    for name, by_n in r["speedup"].items():
        for n, t in by_n.items():
            print(
                f"{name:<18}{int(n):>11,}{t['per_beneficiary_us_per_sim']:>11.1f}"
                f"{t['aggregate_us_per_sim']:>11.2f}{t['speedup']:>11.0f}"
                f"{t['same_sims_speedup']:>11.0f}"
            )
    print(f"sweep: {SWEEP_N:,} beneficiaries x {SWEEP_SIMS:,} sims")
    for name, t in r["sweep"].items():
        print(
            f"  {name:<18} aggregate {t['aggregate_s']:.2f} s; per-beneficiary "
            f"~{t['per_beneficiary_projected_s']:.0f} s (x{t['speedup']:.0f})"
        )
    print(f"(benchmark took {r['elapsed_s']:.0f} s)")


if __name__ == "__main__":
    main()
