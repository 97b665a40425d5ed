"""Throughput, scaling and memory benchmarks of the spending kernel.

Usage::

    python benchmarks/run.py            # a table
    python benchmarks/run.py --json     # JSON on stdout
    python benchmarks/run.py --quick    # smaller sizes (a smoke run)

Everything is reported as ratios measured in the same run (never as timed assertions).
Cases run round-robin and the best of several rounds is kept; still, other processes on
the machine lower the 2-thread figures (see ``machine.loadavg_1min_*``).

* ``throughput``: beneficiary-years per second of :func:`simsav.draw.groups.simulate_group_sums`
  (draw, cap, sum) for ``hurdle-lognormal`` and ``medicare-ffs``, with 1 and 2 threads;
* ``vs_bare``: kernel (1 thread) over a bare numba loop that only draws the same variates
  and sums them, with ``math.exp`` (aim >= 0.8; above 1 because the kernel's chunked
  ``exp`` vectorizes); ``vs_draws_only``: over a loop that only draws the normals;
* ``speedup_2v1``: 2 threads over 1 (aim >= 1.7 on 2 cores);
* ``vs_numpy``: kernel (2 threads) over chunked, vectorized NumPy implementations of the
  same model, from plain to tuned (see :func:`numpy_chunked`; aim >= 4 on 2 cores);
* ``memory``: peak memory of a call at 100k and 1M beneficiaries (it must stay flat),
  measured in fresh subprocesses with tracemalloc (Python and NumPy allocations) and the
  growth of the maximum RSS;
* ``cold_start``: wall time of a fresh process that imports simsav and runs a tiny
  simulation, with numba's on-disk cache (second run on a fresh ``NUMBA_CACHE_DIR``) and
  without (``SIMSAV_NUMBA_CACHE=0``). :func:`cold_start` takes any command, so the same
  measurement applies to ``simsav run`` (``--cold-start-cmd``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import _common
import numba
import numpy as np

from simsav.draw.groups import simulate_group_sums
from simsav.kernels import spending as _kernels
from simsav.spending import SpendingSpec, kernel_args

MODELS = {
    "hurdle-lognormal": SpendingSpec(
        model="hurdle-lognormal", mean=11_000, cv=2.1, zero_share=0.05, truncate_quantile=0.99
    ),
    "medicare-ffs": SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99),
}




def bare_loop(spec: SpendingSpec, n: int, n_sims: int) -> Callable[[], float]:
    """A bare numba loop: the same variates as the kernel, summed; no cap, no dispatch."""
    ka = kernel_args(spec)
    rng = np.random.default_rng(0)
    if spec.model == "hurdle-lognormal":
        p0, mu, sigma = (float(v) for v in ka.params)

        def run() -> float:
            return sum(_kernels.bare_hurdle_lognormal(rng, n, p0, mu, sigma) for _ in range(n_sims))

    elif spec.model == "medicare-ffs":
        p0, p = float(ka.params[0]), ka.params[1:]  # the LN_PARETO primitive's parameters

        def run() -> float:
            return sum(_kernels.bare_lognormal_pareto(rng, n, p0, p) for _ in range(n_sims))

    else:  # pragma: no cover - only the two benchmark models
        raise ValueError(f"no bare loop for {spec.model}")
    return run


def numpy_chunked(
    spec: SpendingSpec, n: int, n_sims: int, variant: str, chunk: int = 1 << 16
) -> Callable[[], Any]:
    """A vectorized NumPy implementation of the same model, in chunks of ``chunk``.

    Variants (hurdle-lognormal):

    * ``plain``: ``rng.lognormal`` for everyone, zeroed where ``rng.random() < p0``;
    * ``where``: ``np.where(u < p0, 0, np.exp(mu + sigma * z))`` (NumPy's SIMD ``exp``);
    * ``tuned``: a binomial count of non-zero beneficiaries, then only their normals and
      NumPy's SIMD ``exp`` (the kernel's own trick).

    medicare-ffs has one variant (``tuned``): normals, SIMD ``exp``, the Pareto tail where
    ``z > z_s``.
    """
    ka = kernel_args(spec)
    cap = ka.truncate_at
    rng = np.random.default_rng(0)
    if spec.model == "hurdle-lognormal":
        p0, mu, sigma = ka.params

        def plain(m: int) -> np.ndarray:
            x = rng.lognormal(mu, sigma, m)
            x[rng.random(m) < p0] = 0.0
            return x

        def where(m: int) -> np.ndarray:
            u = rng.random(m)
            return np.where(u < p0, 0.0, np.exp(mu + sigma * rng.standard_normal(m)))

        def tuned(m: int) -> np.ndarray:
            return np.exp(mu + sigma * rng.standard_normal(rng.binomial(m, 1.0 - p0)))

        draw = {"plain": plain, "where": where, "tuned": tuned}[variant]
    else:
        from scipy.special import erfc

        _, mu, sigma, zs, xs, erfc_s, nia = ka.params

        def draw(m: int) -> np.ndarray:
            z = rng.standard_normal(m)
            x = np.exp(mu + sigma * z)
            tail = z > zs
            x[tail] = xs * (erfc(z[tail] / math.sqrt(2.0)) / erfc_s) ** nia
            return x

    def run() -> np.ndarray:
        out = np.empty(n_sims)
        for s in range(n_sims):
            tot = 0.0
            for start in range(0, n, chunk):
                x = draw(min(chunk, n - start))
                np.minimum(x, cap, out=x)
                tot += float(x.sum())
            out[s] = tot
        return out

    return run


def throughput(n: int, n_sims: int, numpy_sims: int, repeat: int) -> dict[str, Any]:
    """Kernel throughput and its ratios, per model (beneficiary-years per second)."""
    out: dict[str, Any] = {}
    for name, spec in MODELS.items():
        groups = [(spec, n)]
        p0 = float(kernel_args(spec).params[0])
        rng = np.random.default_rng(0)
        variants = ["plain", "where", "tuned"] if name == "hurdle-lognormal" else ["tuned"]
        cases: dict[str, Callable[[], Any]] = {
            "kernel_1thread": partial(simulate_group_sums, groups, n_sims, seed=1, n_threads=1),
            "kernel_2threads": partial(simulate_group_sums, groups, n_sims, seed=1, n_threads=2),
            "bare_loop_1thread": bare_loop(spec, n, n_sims),
            "draws_only_1thread": partial(_draws_only, rng, n, p0, n_sims),
        }
        for v in variants:
            cases[f"numpy_{v}"] = numpy_chunked(spec, n, numpy_sims, v)
        times = _common.race(cases, repeat)
        rate = {
            k: (n * (numpy_sims if k.startswith("numpy") else n_sims)) / t for k, t in times.items()
        }
        r1, r2 = rate["kernel_1thread"], rate["kernel_2threads"]
        numpy_rates = {v: rate[f"numpy_{v}"] for v in variants}
        out[name] = {
            "beneficiaries": n,
            "sims": n_sims,
            "kernel_1thread_per_s": r1,
            "kernel_2threads_per_s": r2,
            "bare_loop_1thread_per_s": rate["bare_loop_1thread"],
            "draws_only_1thread_per_s": rate["draws_only_1thread"],
            "numpy_1thread_per_s": numpy_rates,
            "vs_bare": r1 / rate["bare_loop_1thread"],
            "vs_draws_only": r1 / rate["draws_only_1thread"],
            "speedup_2v1": r2 / r1,
            "vs_numpy_2threads": {v: r2 / r for v, r in numpy_rates.items()},
            "vs_numpy_1thread": {v: r1 / r for v, r in numpy_rates.items()},
        }
    return out


def _draws_only(rng: np.random.Generator, n: int, p0: float, n_sims: int) -> None:
    for _ in range(n_sims):
        _kernels.draws_only(rng, n, p0)


_MEMORY_SNIPPET = """
import json, resource, sys, tracemalloc
from simsav.draw.groups import simulate_group_sums
from simsav.spending import SpendingSpec
spec = SpendingSpec(model="medicare-ffs", mean=11000, truncate_quantile=0.99)
n, n_sims = int(sys.argv[1]), int(sys.argv[2])
simulate_group_sums([(spec, 10)], 2, seed=0, n_threads=2)  # load or compile kernels
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
simulate_group_sums([(spec, n), (spec, n // 10)], n_sims, seed=1, n_threads=2)
_, peak = tracemalloc.get_traced_memory()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"tracemalloc_peak_bytes": peak, "maxrss_growth_kib": rss1 - rss0}))
"""


def memory(sizes: Sequence[int], n_sims: int) -> dict[str, Any]:
    """Peak memory of one call per population size, each in a fresh subprocess."""
    return _common.memory(_MEMORY_SNIPPET, sizes, n_sims)


_COLD_SNIPPET = (
    "from simsav.draw.groups import simulate_group_sums; "
    "from simsav.spending import SpendingSpec; "
    "simulate_group_sums([(SpendingSpec(mean=1e4, truncate_quantile=0.99), 100)], 10, seed=0)"
)


def cold_start(cmd: Sequence[str] | None = None, *, cache: bool) -> float:
    """Wall time (s) of a fresh process running ``cmd`` (default: a tiny simulation)."""
    return _common.cold_start(list(cmd) if cmd else [sys.executable, "-c", _COLD_SNIPPET],
                              cache=cache)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--cold-start-cmd", default=None, help="command to time for cold start")
    args = ap.parse_args(argv)

    if args.quick:
        n, n_sims, numpy_sims, repeat, mem_sims = 20_000, 512, 32, 1, 16
    else:
        n, n_sims, numpy_sims, repeat, mem_sims = 100_000, 1024, 128, 5, 256
    # default: what a command-line user pays, `simsav run` on the bundled scenario
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "rural-aco-5k.toml"
    cold_cmd = (shlex.split(args.cold_start_cmd) if args.cold_start_cmd else
                [sys.executable, "-m", "simsav.cli", "run", str(scenario), "--sims", "500",
                 "--json"])

    t0 = time.perf_counter()
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
            "cpus": os.cpu_count(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            # other processes skew the 2-thread numbers: compare with the end-of-run value
            "loadavg_1min_start": os.getloadavg()[0],
        },
        "throughput": throughput(n, n_sims, numpy_sims, repeat),
        "memory": memory([100_000, 1_000_000], mem_sims),
        "cold_start_s": {
            "command": " ".join(cold_cmd),
            "with_cache": cold_start(cold_cmd, cache=True),
            "without_cache": cold_start(cold_cmd, cache=False),
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
        print(f"{name}: N={t['beneficiaries']:,} x {t['sims']} sims (M beneficiary-years/s)")
        print(f"  kernel 1 thread    {t['kernel_1thread_per_s'] / 1e6:8.1f}")
        print(f"  kernel 2 threads   {t['kernel_2threads_per_s'] / 1e6:8.1f}")
        print(f"  bare numba loop    {t['bare_loop_1thread_per_s'] / 1e6:8.1f}")
        print(f"  draws only         {t['draws_only_1thread_per_s'] / 1e6:8.1f}")
        for v, rate in t["numpy_1thread_per_s"].items():
            print(
                f"  numpy {v:<12} {rate / 1e6:8.1f}   kernel(2 threads) / numpy: "
                f"{t['vs_numpy_2threads'][v]:.1f}"
            )
        print(
            f"  vs bare {t['vs_bare']:.2f}   vs draws only {t['vs_draws_only']:.2f}   "
            f"2 threads / 1: {t['speedup_2v1']:.2f}"
        )
    m = r["memory"]
    for n in ("100000", "1000000"):
        peak = m[n]["tracemalloc_peak_bytes"] / 1024
        print(f"memory N={int(n):,}: tracemalloc peak {peak:.0f} KiB, ", end="")
        print(f"max RSS growth {m[n]['maxrss_growth_kib']} KiB")
    c = r["cold_start_s"]
    print(f"cold start: {c['with_cache']:.2f} s with cache, {c['without_cache']:.2f} s without")
    print(f"(benchmark took {r['elapsed_s']:.0f} s)")


if __name__ == "__main__":
    main()
