"""Throughput, memory and cold start of the multi-year panel kernel (simsav.draw.panel).

Usage::

    python benchmarks/panel.py            # a table
    python benchmarks/panel.py --json     # JSON on stdout
    python benchmarks/panel.py --quick    # smaller sizes (a smoke run)

Everything is measured in the same run and reported as rates and ratios (never as timed
assertions). Cases run round-robin and the best of several rounds is kept.

* ``throughput``: beneficiary-years per second of
  :func:`simsav.draw.panel.simulate_panel_sums` (``n`` slots x ``n_years`` years per sim) with
  independent years and with :meth:`PersistenceSpec.medicare` (exits, survivor map), 1 and
  2 threads, against the one-year kernel :func:`simsav.draw.groups.simulate_group_sums` on the
  same beneficiary-years (``n_years`` groups of ``n``: what independent years cost there);
  ``panel_vs_one_year`` is the 1-thread ratio. The panel draws 1 normal per slot-year plus
  1 more with exits, and its transform goes through the copula (``F^-1(Phi(z))``), so it
  cannot beat the one-year kernel's binomial splits.
  Blocks of :data:`BLOCK_SIZE` sims, so that both threads get work (other processes on
  the machine still lower the 2-thread figures: see ``machine.loadavg_1min_*``).
* ``memory``: peak memory at 100k and 1M slots per group (fresh subprocesses; tracemalloc
  and max-RSS growth): flat in the population.
* ``cold_start_s``: a fresh process importing simsav and running a tiny panel simulation,
  with numba's on-disk cache (second run on a fresh ``NUMBA_CACHE_DIR``) and without.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import _common
import numba
import numpy as np

from simsav.draw.groups import simulate_group_sums
from simsav.draw.panel import PersistenceSpec, simulate_panel_sums
from simsav.spending import SpendingSpec

MODELS = {
    "medicare-ffs": SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99),
    "hurdle-lognormal": SpendingSpec(
        model="hurdle-lognormal", mean=11_000, cv=2.1, zero_share=0.05, truncate_quantile=0.99
    ),
    "gamma": SpendingSpec(model="gamma", mean=11_000, cv=2.0, truncate_quantile=0.99),
    "empirical": SpendingSpec(model="empirical", mean=11_000, truncate_quantile=0.99),
}




#: Sims per block in the benchmark: small, so that 2 threads have blocks to share.
BLOCK_SIZE = 32


def throughput(
    models: Sequence[str], n: int, n_years: int, n_sims: int, repeat: int
) -> dict[str, Any]:
    """Beneficiary-years per second of the panel and one-year kernels, per model."""
    indep, medicare = PersistenceSpec.independent(), PersistenceSpec.medicare()
    out: dict[str, Any] = {}
    for name in models:
        spec = MODELS[name]
        panel = partial(
            simulate_panel_sums, [(spec, n)], n_sims, n_years, seed=1, block_size=BLOCK_SIZE
        )
        one = partial(
            simulate_group_sums, [(spec, n)] * n_years, n_sims, seed=1, block_size=BLOCK_SIZE
        )
        cases: dict[str, Callable[[], Any]] = {
            "one_year_1thread": partial(one, n_threads=1),
            "one_year_2threads": partial(one, n_threads=2),
            "panel_independent_1thread": partial(panel, persistence=indep, n_threads=1),
            "panel_medicare_1thread": partial(panel, persistence=medicare, n_threads=1),
            "panel_medicare_2threads": partial(panel, persistence=medicare, n_threads=2),
        }
        times = _common.race(cases, repeat)
        rate = {k: n * n_years * n_sims / t for k, t in times.items()}
        out[name] = {
            "slots": n,
            "years": n_years,
            "sims": n_sims,
            "block_size": BLOCK_SIZE,
            **{f"{k}_per_s": v for k, v in rate.items()},
            "panel_vs_one_year": rate["panel_medicare_1thread"] / rate["one_year_1thread"],
            "panel_independent_vs_one_year": (
                rate["panel_independent_1thread"] / rate["one_year_1thread"]
            ),
            "panel_speedup_2v1": rate["panel_medicare_2threads"] / rate["panel_medicare_1thread"],
        }
    return out


_MEMORY_SNIPPET = """
import json, resource, sys, tracemalloc
import _common

from simsav.draw.panel import PersistenceSpec, simulate_panel_sums
from simsav.spending import SpendingSpec
spec = SpendingSpec(model="medicare-ffs", mean=11000, truncate_quantile=0.99)
n, n_sims = int(sys.argv[1]), int(sys.argv[2])
p = PersistenceSpec.medicare()
simulate_panel_sums([(spec, 10)], 2, 3, persistence=p, seed=0, n_threads=2)  # compile
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
simulate_panel_sums([(spec, n), (spec, n // 10)], n_sims, 3, persistence=p, seed=1, n_threads=2)
_, peak = tracemalloc.get_traced_memory()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"tracemalloc_peak_bytes": peak, "maxrss_growth_kib": rss1 - rss0}))
"""


def memory(sizes: Sequence[int], n_sims: int) -> dict[str, Any]:
    """Peak memory of one 3-year call per population size, each in a fresh subprocess."""
    return _common.memory(_MEMORY_SNIPPET, sizes, n_sims)


_COLD_SNIPPET = (
    "from simsav.draw.panel import PersistenceSpec, simulate_panel_sums; "
    "from simsav.spending import SpendingSpec; "
    "simulate_panel_sums([(SpendingSpec(mean=1e4, truncate_quantile=0.99), 100)], 10, 3, "
    "persistence=PersistenceSpec.medicare(), seed=0)"
)


def cold_start(*, cache: bool) -> float:
    """Wall time (s) of a fresh process running a tiny panel simulation."""
    return _common.cold_start([sys.executable, "-c", _COLD_SNIPPET], cache=cache)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = ap.parse_args(argv)
    if args.quick:
        models, n, n_sims, repeat, mem_sims = ["medicare-ffs", "hurdle-lognormal"], 5_000, 128, 1, 8
    else:
        models, n, n_sims, repeat, mem_sims = list(MODELS), 10_000, 512, 5, 64
    n_years = 3
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
        "throughput": throughput(models, n, n_years, n_sims, repeat),
        "memory": memory([100_000, 1_000_000], mem_sims),
        "cold_start_s": {
            "with_cache": cold_start(cache=True),
            "without_cache": cold_start(cache=False),
        },
    }
    result["elapsed_s"] = time.perf_counter() - t0
    result["machine"]["loadavg_1min_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_table(result)
    return result


def _print_table(r: dict[str, Any]) -> None:
    for name, t in r["throughput"].items():
        print(f"{name}: {t['slots']:,} slots x {t['years']} years x {t['sims']} sims "
              "(M beneficiary-years/s)")
        for key in ("one_year_1thread", "one_year_2threads", "panel_independent_1thread",
                    "panel_medicare_1thread", "panel_medicare_2threads"):
            print(f"  {key:28s} {t[key + '_per_s'] / 1e6:8.1f}")
        print(f"  panel (medicare) / one-year: {t['panel_vs_one_year']:.2f}   "
              f"2 threads / 1: {t['panel_speedup_2v1']:.2f}")
    m = r["memory"]
    for n in ("100000", "1000000"):
        peak = m[n]["tracemalloc_peak_bytes"] / 1024
        print(f"memory N={int(n):,}: tracemalloc peak {peak:.0f} KiB, "
              f"max RSS growth {m[n]['maxrss_growth_kib']} KiB")
    c = r["cold_start_s"]
    print(f"cold start: {c['with_cache']:.2f} s with cache, {c['without_cache']:.2f} s without")
    print(f"(benchmark took {r['elapsed_s']:.0f} s)")


if __name__ == "__main__":
    main()
