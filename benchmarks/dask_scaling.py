"""Dask scaling: the 2-worker speed-up and the overhead per task.

``python benchmarks/dask_scaling.py [--json] [--quick]`` runs, in this process:

* the same scenario single-process on one thread, and as dask tasks on a local cluster of
  2 single-threaded worker processes (the speed-up is the ratio of the two wall times, the
  cluster's start-up excluded, its compile warm-up done first);
* many tiny tasks (100 beneficiaries, one block each) to estimate the fixed cost per task.

Ratios are within one run on this machine; other processes on a shared machine lower them.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from simsav.scenario import parse_scenario
from simsav.simulation import simulate


def _scenario(n: int, sims: int):
    return parse_scenario({
        "name": "dask-bench", "seed": 1, "sims": sims, "block_size": 256,
        "population": {"beneficiaries": n},
        "spending": {"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99},
        "designs": [{"name": "T1", "preset": "mssp-track1-2012"}],
    })


def _time(f, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def run(quick: bool = False) -> dict[str, float]:
    from dask.distributed import Client, LocalCluster

    n, sims = (20_000, 1_024) if quick else (100_000, 2_048)
    big = _scenario(n, sims)
    tiny = _scenario(100, 256 * 64)
    simulate(_scenario(100, 10))  # compile in this process
    out: dict[str, float] = {"beneficiaries": n, "sims": sims, "cpus": os.cpu_count() or 1,
                             "loadavg_1min_start": os.getloadavg()[0]}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        simulate(_scenario(100, 512), scheduler=client, blocks_per_task=1)  # warm workers
        t1 = _time(lambda: simulate(big, n_threads=1))
        t2 = _time(lambda: simulate(big, scheduler=client))
        out["single_thread_s"] = t1
        out["dask_2_workers_s"] = t2
        out["speedup_2_workers"] = t1 / t2
        n_tasks = 64
        t_local = _time(lambda: simulate(tiny, n_threads=1))
        t_tasks = _time(lambda: simulate(tiny, scheduler=client, blocks_per_task=1))
        out["tiny_tasks"] = n_tasks
        out["overhead_per_task_ms"] = max(t_tasks - t_local, 0.0) / n_tasks * 1e3
    out["loadavg_1min_end"] = os.getloadavg()[0]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    r = run(a.quick)
    if a.json:
        print(json.dumps({"dask": r}, indent=2))
    else:
        for k, v in r.items():
            print(f"{k:>24}: {v:.4g}")


if __name__ == "__main__":
    main()
