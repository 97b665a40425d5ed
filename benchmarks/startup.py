"""Start-up cost of the command line and of ``import simsav``.

Usage::

    python benchmarks/startup.py            # a table
    python benchmarks/startup.py --json     # JSON on stdout

Each command runs in a fresh process, round-robin with the others, ``--repeat`` times;
the best wall time of each is kept. Besides seconds, each is reported as a ratio to a bare
``python -c pass`` measured in the same rounds (the machines are shared and noisy; these
are measurements, never assertions). Targets from the restructure: ``simsav --help``
under 0.5 s and ``simsav settle ...`` under 1 s on the 2-core development machine.

* ``python``: the interpreter alone;
* ``import simsav``: the package (names load lazily);
* ``simsav --help``: the parser (no numerics);
* ``simsav settle``: one ACO-year through a preset (contracts and numpy only);
* ``simsav run``: a small run of a bundled scenario with numba's cache warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIMSAV = shutil.which("simsav") or "simsav"

COMMANDS: dict[str, list[str]] = {
    "python": [sys.executable, "-c", "pass"],
    "import simsav": [sys.executable, "-c", "import simsav"],
    "simsav --help": [SIMSAV, "--help"],
    "simsav settle": [SIMSAV, "settle", "--preset", "mssp-enhanced", "--benchmark", "12000",
                      "--expenditure", "12600", "--beneficiaries", "20000", "--quality",
                      "0.85", "--msr", "0.02", "--json"],
    "simsav run (warm cache)": [SIMSAV, "run", str(ROOT / "scenarios" / "rural-aco-5k.toml"),
                                "--sims", "256", "--quiet", "--json"],
}


def measure(repeat: int) -> dict[str, float]:
    """Best wall time of each command over ``repeat`` round-robin rounds (after a warm-up)."""
    best = dict.fromkeys(COMMANDS, float("inf"))
    env = dict(os.environ)
    for rnd in range(repeat + 1):
        for name, cmd in COMMANDS.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            if rnd:  # round 0 warms numba's cache and the OS file cache
                best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main() -> None:
    """Print the table (or JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    best = measure(args.repeat)
    base = best["python"]
    out = {"seconds": best, "ratio_to_python": {k: v / base for k, v in best.items()},
           "loadavg_1min": os.getloadavg()[0], "repeat": args.repeat}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{'command':28s} {'best s':>8s} {'x python':>9s}")
    for k, v in best.items():
        print(f"{k:28s} {v:8.3f} {v / base:9.1f}")
    print(f"(best of {args.repeat}; load average {out['loadavg_1min']:.2f})")


if __name__ == "__main__":
    main()
