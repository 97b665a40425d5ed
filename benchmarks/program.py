"""The whole program at once: speed and memory of ``simulate_program`` on a full roster.

Usage::

    python benchmarks/program.py            # a table
    python benchmarks/program.py --json     # JSON on stdout
    python benchmarks/program.py --quick    # smaller runs (a smoke run)

The roster is the bundled PY2022 file: 482 ACOs, 10.4 million assigned beneficiaries.
Ratios within one run, never a timed assertion (these machines are shared):

* ``aggregate``: a full run (draws and settlement under the roster's contracts and one
  policy) of 10,000 sims with the aggregate claims path, on 1 and 2 threads; the model's
  calibration is timed apart (it reads the public files once per process);
* ``per_beneficiary``: the per-beneficiary claims draws of the full roster, in
  beneficiary-years per second, on 1 and 2 threads and as dask tasks on a local cluster of
  2 single-threaded workers (the cluster's start-up excluded), and what a 10,000-sim run
  would take at that rate;
* ``memory``: peak traced memory (``tracemalloc``) of runs in fresh processes, (a) at
  1x and 4x the roster's beneficiaries (per-beneficiary draws, fixed sims): flat, since
  no beneficiary is stored; (b) at 2,048, 8,192 and 32,768 sims (aggregate): the working
  memory beyond the outputs (sims x ACOs x policies) is that of one task of 2,048 sims,
  flat in the number of sims.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any

import _common
import numba
import numpy as np

from simsav.program.engine import claims_ratio
from simsav.program.model import fit_program_model
from simsav.program.roster import read_roster
from simsav.program.simulate import build_plan, simulate_program
from simsav.rng import root_seed_sequence

E60 = {"name": "E60", "change": [{"tracks": ["basic_e"], "terms": {"max_sharing_rate": 0.6}}]}

_MEMORY = r"""
import json, sys, tracemalloc, dataclasses
import numpy as np
from simsav.program.model import fit_program_model
from simsav.program.roster import read_roster
from simsav.program.simulate import simulate_program
scale, sims, draws = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
model = fit_program_model(2022)
r = read_roster(2022)
t = r.table.copy(); t["beneficiaries"] = np.round(t["beneficiaries"] * scale)
r = dataclasses.replace(r, table=t)
simulate_program(r, model=model, n_sims=64, draws=draws, seed=1)  # compile, caches
tracemalloc.start()
policy = json.loads(sys.argv[4])
ds = simulate_program(r, model=model, n_sims=sims, draws=draws, seed=1, policies=[policy])
peak = tracemalloc.get_traced_memory()[1]
out = sum(ds[k].nbytes for k in ("savings_rate", "earned_savings", "shared_losses"))
print(json.dumps({"tracemalloc_peak_bytes": peak, "output_bytes": out,
                  "working_bytes": peak - out, "beneficiaries": float(t["beneficiaries"].sum())}))
"""


def aggregate_speed(sims: int, repeat: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = fit_program_model(2022)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = fit_program_model(2022)
    refit_s = time.perf_counter() - t0
    simulate_program(2022, model=model, n_sims=256, seed=1)  # warm up
    times = _common.race({
        f"threads_{k}": (lambda k=k: simulate_program(2022, model=model, n_sims=sims, seed=1,
                                                      n_threads=k, policies=[E60]))
        for k in (1, 2)}, repeat)
    r = read_roster(2022)
    return {"acos": r.n_acos, "beneficiaries": r.beneficiaries, "sims": sims,
            "fit_first_s": fit_s, "fit_again_s": refit_s, **{f"{k}_s": v for k, v in times.items()},
            "thread_speedup": times["threads_1"] / times["threads_2"]}


def per_beneficiary_speed(sims: int, repeat: int) -> dict[str, Any]:
    from dask.distributed import Client, LocalCluster

    model = fit_program_model(2022)
    r = read_roster(2022)
    _, plan = build_plan(r, 2022, model, [], draws="per-beneficiary")
    root = root_seed_sequence(1)
    claims_ratio(plan, root, 0, 4, 4, None)  # compile
    by = r.beneficiaries * sims
    times = _common.race({f"threads_{k}": (lambda k=k: claims_ratio(plan, root, 0, sims, 16, k))
                          for k in (1, 2)}, repeat)
    out: dict[str, Any] = {"beneficiaries": r.beneficiaries, "sims": sims}
    for k, t in times.items():
        out[f"{k}_beneficiary_years_per_s"] = by / t
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        kw = dict(model=model, draws="per-beneficiary", seed=1, block_size=16, scheduler=client,
                  blocks_per_task=1)
        simulate_program(r, n_sims=32, **kw)  # compile on the workers
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            simulate_program(r, n_sims=sims, **kw)
            best = min(best, time.perf_counter() - t0)
        local = simulate_program(r, n_sims=sims, model=model, draws="per-beneficiary", seed=1,
                                 block_size=16)
        remote = simulate_program(r, n_sims=sims, **kw)
        out["dask_identical"] = bool(np.array_equal(local["savings_rate"].values,
                                                    remote["savings_rate"].values))
    out["dask_2_workers_beneficiary_years_per_s"] = by / best  # whole run, settlement included
    rate = max(out["threads_2_beneficiary_years_per_s"],
               out["dask_2_workers_beneficiary_years_per_s"])
    out["projected_10000_sims_s"] = r.beneficiaries * 10_000 / rate
    out["thread_speedup"] = (out["threads_2_beneficiary_years_per_s"]
                             / out["threads_1_beneficiary_years_per_s"])
    return out


def memory(quick: bool) -> dict[str, Any]:
    def run(scale: float, sims: int, draws: str) -> dict[str, Any]:
        res = subprocess.run([sys.executable, "-c", _MEMORY, str(scale), str(sims), draws,
                              json.dumps(E60)],
                             capture_output=True, text=True, check=True)
        return json.loads(res.stdout.strip().splitlines()[-1])

    ben_sims = 16 if quick else 64
    by_ben = {str(s): run(s, ben_sims, "per-beneficiary") for s in (1.0, 4.0)}
    sims = (1024, 4096) if quick else (2048, 8192, 32768)
    by_sims = {str(n): run(1.0, n, "aggregate") for n in sims}
    peaks = [v["tracemalloc_peak_bytes"] for v in by_ben.values()]
    work = [v["working_bytes"] for v in by_sims.values()]
    return {"per_beneficiary_by_scale": by_ben, "sims_per_run": ben_sims,
            "peak_ratio_4x_to_1x_beneficiaries": peaks[-1] / peaks[0],
            "aggregate_by_sims": by_sims,
            "working_ratio_largest_to_smallest_sims": max(work) / max(min(work), 1)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--quick", action="store_true", help="smaller runs (smoke run)")
    args = ap.parse_args(argv)
    agg_sims, ben_sims, repeat = (2_000, 16, 1) if args.quick else (10_000, 64, 2)
    t0 = time.perf_counter()
    result: dict[str, Any] = {"machine": {
        "python": platform.python_version(), "numpy": np.__version__,
        "numba": numba.__version__, "cpus": os.cpu_count(),
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "loadavg_1min_start": os.getloadavg()[0]}}
    result["aggregate"] = aggregate_speed(agg_sims, repeat)
    result["per_beneficiary"] = per_beneficiary_speed(ben_sims, repeat)
    result["memory"] = memory(args.quick)
    result["elapsed_s"] = time.perf_counter() - t0
    result["machine"]["loadavg_1min_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return result


def _print(r: dict[str, Any]) -> None:
    a, b, m = r["aggregate"], r["per_beneficiary"], r["memory"]
    print(f"roster PY2022: {a['acos']} ACOs, {a['beneficiaries'] / 1e6:.1f} M beneficiaries")
    print(f"  calibration: {a['fit_first_s']:.1f} s (reading the files), {a['fit_again_s']:.1f} s "
          "again")
    print(f"  aggregate, {a['sims']:,} sims, roster + 1 policy: {a['threads_1_s']:.1f} s on 1 "
          f"thread, {a['threads_2_s']:.1f} s on 2 (x{a['thread_speedup']:.2f})")
    print(f"  per-beneficiary draws ({b['sims']} sims): "
          f"{b['threads_1_beneficiary_years_per_s'] / 1e6:.0f} M beneficiary-years/s on 1 "
          f"thread, {b['threads_2_beneficiary_years_per_s'] / 1e6:.0f} M on 2 "
          f"(x{b['thread_speedup']:.2f}); dask, 2 workers, whole run: "
          f"{b['dask_2_workers_beneficiary_years_per_s'] / 1e6:.0f} M/s "
          f"(identical to one process: {b['dask_identical']})")
    print(f"  a 10,000-sim per-beneficiary run: ~{b['projected_10000_sims_s'] / 60:.0f} min here")
    print("  memory, per-beneficiary, 1x vs 4x beneficiaries: peak ratio "
          f"{m['peak_ratio_4x_to_1x_beneficiaries']:.2f}")
    for n, v in m["aggregate_by_sims"].items():
        peak = v["tracemalloc_peak_bytes"] / 2**20
        outb, work = v["output_bytes"] / 2**20, v["working_bytes"] / 2**20
        print(f"  memory, aggregate, {int(n):>6,} sims: peak {peak:,.0f} MiB, outputs "
              f"{outb:,.0f} MiB, working {work:,.0f} MiB")
    print(f"(benchmark took {r['elapsed_s']:.0f} s)")


if __name__ == "__main__":
    main()
