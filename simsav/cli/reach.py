"""``simsav replicate-reach``: CMS's ACO REACH results, replicated from the rules."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simsav.cli.common import InputError, print_json

#: One example per command, shown in its ``--help``.
EXAMPLES = {
    "replicate-reach": "simsav replicate-reach --json",
}


def _cmd_replicate_reach(args: argparse.Namespace) -> int:
    from simsav.analysis.replicate_reach import replicate_reach

    if args.file is not None and not Path(args.file).exists():
        raise InputError(f"file not found: {args.file} (give a REACH results CSV, or no file "
                         "for the bundled PY2021–2023 results)")
    try:
        r = replicate_reach(args.file)
    except ValueError as e:
        raise InputError(str(e)) from None
    if args.json:
        print_json(r)
        return 0
    t = r["totals"]
    print(f"ACO REACH / GPDC: {r['aco_years']} ACO-years recomputed from the rules "
          "(final benchmark + HEBA, net cost of care, corridors, 2% sequestration)")
    print(f"  {'year':<5} {'option':<13} {'n':>4} {'matched':>8} {'to the cent':>12} "
          f"{'rules exact':>12}")
    for g in r["by_year_option"]:
        print(f"  {g['year']:<5} {g['option']:<13} {g['n']:>4} {g['matched']:>8} "
              f"{g['exact']:>12} {g['rules_exact']:>12}")
    print(f"  {'all':<5} {'':<13} {t['n']:>4} {t['matched']:>8} {t['exact']:>12} "
          f"{t['rules_exact']:>12}")
    print("  matched: gross, shared and sequestered amounts within the rounding the printed "
          "amounts carry; to the cent: within half a cent; rules exact: corridors and "
          "sequestration on CMS's own previous amount, within a cent")
    ev = r["evidence"]["corridor_benchmark"]
    print("  corridor bands measured against: " + "; ".join(
        f"{k}: {v} of {ev['of']}" for k, v in ev.items() if k != "of"))
    for b in r["evidence"]["benchmark"]:
        w = b["withhold_fitted"]
        fitted = "not identifiable (every score 100)" if w != w else f"{w:.2%}"
        print(f"  PY{b['year']} benchmark: withhold {b['withhold_rfa']:.0%} (fitted {fitted}), "
              f"earned back additively with the discount; residual factor F "
              f"{b['F_median']:.4f} (unexplained by the file)")
    shown = {k: v for k, v in r["exceptions"].items()
             if not v.startswith(("amounts are printed", "the PY2022 file prints"))}
    n_rounding = len(r["exceptions"]) - len(shown)
    print(f"  {n_rounding} ACO-years differ only by the rounding of printed amounts")
    for k, why in shown.items():
        print(f"  {k}: {why}")
    print(f"  unexplained: {', '.join(t['unexplained']) or 'none'}")
    return 0


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("replicate-reach",
             "Recompute every ACO REACH shared savings in a CMS results file and compare.",
             _cmd_replicate_reach)
    sp.add_argument("file", nargs="?", default=None,
                    help="REACH results CSV (default: the bundled PY2021–2023 results)")
    sp.add_argument("--json", action="store_true", help="print the full report as JSON")
