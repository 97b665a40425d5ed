"""Shared benchmark scaffolding: round-robin timing, memory and cold-start probes.

Ratios are measured within one run (these machines are shared and noisy); nothing here
asserts a time.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any


def race(cases: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Return each case's smallest wall time over ``repeat`` rounds.

    The cases run round-robin (one call of each per round, after one warm-up round), so a
    burst of load from other processes hits all of them rather than one.
    """
    best = dict.fromkeys(cases, math.inf)
    for rnd in range(repeat + 1):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            if rnd:
                best[name] = min(best[name], time.perf_counter() - t0)
    return best


def memory(snippet: str, sizes: Sequence[int], n_sims: int) -> dict[str, Any]:
    """Run ``snippet`` (argv: size, sims; prints a JSON line) once per size, each in a
    fresh subprocess, and report its peaks and their ratio."""
    out: dict[str, Any] = {}
    for n in sizes:
        res = subprocess.run([sys.executable, "-c", snippet, str(n), str(n_sims)],
                             capture_output=True, text=True, check=True)
        out[str(n)] = json.loads(res.stdout.strip().splitlines()[-1])
    peaks = [v["tracemalloc_peak_bytes"] for v in out.values()]
    out["peak_ratio_largest_to_smallest"] = max(peaks) / max(min(peaks), 1)
    out["sims"] = n_sims
    return out


def cold_start(cmd: Sequence[str], *, cache: bool) -> float:
    """Wall time (s) of a fresh process running ``cmd``.

    ``cache=True``: on a fresh ``NUMBA_CACHE_DIR``, run once to fill the cache, then time a
    second run. ``False``: time a run with ``SIMSAV_NUMBA_CACHE=0`` (compile every time).
    """
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=tmp, SIMSAV_NUMBA_CACHE="1" if cache else "0")
        if cache:
            subprocess.run(list(cmd), env=env, check=True, capture_output=True)
        t0 = time.perf_counter()
        subprocess.run(list(cmd), env=env, check=True, capture_output=True)
        return time.perf_counter() - t0
