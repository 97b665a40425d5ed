"""What specific stop-loss costs the spending kernel, as ratios within one run.

Usage::

    python benchmarks/stop_loss.py            # a table
    python benchmarks/stop_loss.py --json     # JSON on stdout
    python benchmarks/stop_loss.py --quick    # smaller sizes (a smoke run)

Stop-loss shares the kernels' routines with the plain path (``group_sums_block`` and
``group_sums_excess_block`` call the same ``_sum_group``), so the plain kernel carries a
test of the attachment count per beneficiary (gamma, empirical) or per chunk (lognormal,
lognormal-Pareto). Per model, one thread, cases run round-robin (best of several rounds):

* ``off_vs_bare``: the plain kernel (stop-loss off) over a bare numba loop of the same
  variates (``benchmarks/run.py``'s ``vs_bare``); compare it with the same ratio measured
  on the code before stop-loss to see what the off path costs (aim: at least 0.8 of it);
* ``on1_vs_off``, ``on3_vs_off``: the kernel summing the excess over one and three
  attachments, over the plain kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _common  # noqa: E402
from run import bare_loop  # noqa: E402

from simsav.draw.groups import simulate_group_stats  # noqa: E402
from simsav.spending import SpendingSpec  # noqa: E402

MODELS = {
    "hurdle-lognormal": SpendingSpec(model="hurdle-lognormal", mean=11_000, cv=2.1,
                                     zero_share=0.05, truncate_quantile=0.99),
    "medicare-ffs": SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99),
    "gamma": SpendingSpec(model="gamma", mean=11_000, cv=2.0, truncate_quantile=0.99),
}


def measure(n: int, n_sims: int, repeat: int) -> dict[str, Any]:
    """Throughput ratios per model (see the module docstring)."""
    out: dict[str, Any] = {}
    for name, spec in MODELS.items():
        groups = [(spec, n)]
        one = np.array([[50_000.0]])
        three = np.array([[25_000.0, 50_000.0, 100_000.0]])
        cases = {
            "off": partial(simulate_group_stats, groups, n_sims, seed=1, n_threads=1),
            "on1": partial(simulate_group_stats, groups, n_sims, seed=1, n_threads=1,
                           attachments=one),
            "on3": partial(simulate_group_stats, groups, n_sims, seed=1, n_threads=1,
                           attachments=three),
        }
        if name != "gamma":
            cases["bare"] = bare_loop(spec, n, n_sims)
        t = _common.race(cases, repeat)
        r = {"beneficiaries": n, "sims": n_sims,
             "off_per_s": n * n_sims / t["off"],
             "on1_vs_off": t["off"] / t["on1"], "on3_vs_off": t["off"] / t["on3"]}
        if "bare" in t:
            r["off_vs_bare"] = t["bare"] / t["off"]
        out[name] = r
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = ap.parse_args(argv)
    n, n_sims, repeat = (20_000, 128, 2) if args.quick else (100_000, 512, 5)
    simulate_group_stats([(MODELS["gamma"], 10)], 2, seed=0, attachments=[[1.0]])  # compile
    result = {"loadavg_1min_start": os.getloadavg()[0], "models": measure(n, n_sims, repeat),
              "loadavg_1min_end": os.getloadavg()[0]}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, r in result["models"].items():
            bare = f"   off / bare loop {r['off_vs_bare']:.2f}" if "off_vs_bare" in r else ""
            print(f"{name:17s} off {r['off_per_s'] / 1e6:6.1f} M/s   on (1 attachment) / off "
                  f"{r['on1_vs_off']:.2f}   on (3) / off {r['on3_vs_off']:.2f}{bare}")
    return result


if __name__ == "__main__":
    main()
