"""``simsav run``, ``compare`` and ``validate``: scenarios simulated, compared and checked."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simsav.cli.common import (
    InputError,
    compile_notice,
    load_scenario_arg,
    print_json,
    progress,
    save_png,
)

#: One example per command, shown in its ``--help``.
EXAMPLES = {
    "run": "simsav run scenarios/rural-aco-5k.toml --sims 2000 --out out/",
    "compare": "simsav compare scenarios/rural-aco-5k.toml scenarios/physician-group-20k.toml "
               "--sims 2000",
    "validate": "simsav validate scenarios/*.toml",
}


_RUN_COLUMNS = [
    ("p_clear_msr", "P(clear MSR)", "pct"),
    ("p_owe_loss", "P(owe loss)", "pct"),
    ("p_corridor", "P(corridor)", "pct"),
    ("expected_earned", "E[earned]", "money"),
    ("expected_losses", "E[losses]", "money"),
    ("expected_aco_net", "E[ACO net]", "money"),
    ("expected_payer_net", "E[payer net]", "money"),
    ("aco_net_q5", "ACO net 5%", "money"),
    ("aco_net_q95", "ACO net 95%", "money"),
]


def _fmt(x: float, kind: str) -> str:
    if kind == "pct":
        return f"{x:7.2%}"
    return f"{x / 1e6:10.3f}M"


def _cmd_run(args: argparse.Namespace) -> int:
    from simsav.results import summarize, summary_table
    from simsav.simulation import simulate

    scn = load_scenario_arg(args.scenario)
    compile_notice()
    if args.sims is not None and args.sims < 1:
        raise InputError(f"--sims: must be >= 1, got {args.sims}")
    if args.seed is not None and args.seed < 0:
        raise InputError(f"--seed: must be >= 0, got {args.seed}")
    n = scn.sims if args.sims is None else args.sims
    with progress(n, scn.name, quiet=args.quiet) as update:
        try:
            ds = simulate(scn, n_sims=args.sims, seed=args.seed, scheduler=args.dask,
                          progress=update, draws=args.draws)
        except ValueError as e:
            raise InputError(str(e)) from None
    summ = summarize(ds)
    table = summary_table(summ)
    if args.out:
        _write_outputs(Path(args.out), ds, table)
    if args.json:
        designs = {
            str(name): {k: float(v) for k, v in row.items()}
            for name, row in table.to_dict(orient="index").items()
        }
        print_json({"scenario": scn.name, "n_sims": ds.sizes["sim"],
                     "seed": ds.attrs["seed"], "designs": designs})
        return 0
    print(f"{scn.name}: {scn.population.beneficiaries:,} beneficiaries, "
          f"{ds.sizes['sim']:,} sims, seed {ds.attrs['seed']}")
    _print_table(table)
    se = float(table["se_p_clear_msr"].max())
    print(f"(Monte Carlo standard error of probabilities at most {se:.2%}; "
          "money in USD millions per year)")
    if args.out:
        print(f"wrote {args.out}/results.nc, summary.csv (and .xlsx with openpyxl), "
              "payouts.png")
    return 0


def _write_outputs(out: Path, ds: Any, table: Any) -> None:
    from simsav.plotting import plot_payout_distribution
    from simsav.results import atomic_write, save_dataset

    out.mkdir(parents=True, exist_ok=True)
    save_dataset(ds, out / "results.nc")
    atomic_write(out / "summary.csv", lambda p: table.to_csv(p))
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        pass
    else:
        atomic_write(out / "summary.xlsx", lambda p: table.to_excel(p, engine="openpyxl"))
    save_png(out / "payouts.png", lambda: plot_payout_distribution(ds))


def _cmd_validate(args: argparse.Namespace) -> int:
    from simsav.scenario import validate_scenario_file

    bad = 0
    for path in args.files:
        if not Path(path).exists():
            print(f"{path}: file not found", file=sys.stderr)
            bad += 1
            continue
        problems = validate_scenario_file(path)
        if problems:
            bad += 1
            print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
            for key, msg in problems:
                print(f"  {key}: {msg}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    return 2 if bad else 0


def _print_table(table: Any, label: str = "design") -> None:
    width = max([len(label)] + [len(str(d)) for d in table.index])
    print(f"{label:<{width}}  " + "  ".join(f"{h:>12}" for _, h, _ in _RUN_COLUMNS))
    for name, row in table.iterrows():
        cells = "  ".join(f"{_fmt(row[c], k):>12}" for c, _, k in _RUN_COLUMNS)
        print(f"{name!s:<{width}}  {cells}")


def _cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from simsav.results import summarize, summary_table
    from simsav.simulation import simulate

    compile_notice()
    tables = []
    for path in args.scenarios:
        scn = load_scenario_arg(path)
        n = scn.sims if args.sims is None else args.sims
        with progress(n, scn.name, quiet=args.quiet) as update:
            ds = simulate(scn, n_sims=args.sims, seed=args.seed, progress=update)
        t = summary_table(summarize(ds))
        t.index = [f"{scn.name}: {d}" for d in t.index]
        tables.append(t)
    table = pd.concat(tables)
    if args.json:
        print_json({"designs": {str(k): {c: float(v) for c, v in row.items()}
                                 for k, row in table.to_dict(orient="index").items()}})
        return 0
    _print_table(table, "scenario: design")
    print("(money in USD millions per year; each scenario with its own seed and sims unless "
          "--seed/--sims are given)")
    return 0


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("run", "Simulate a scenario: a summary table per design.", _cmd_run)
    sp.add_argument("scenario", help="scenario TOML file")
    sp.add_argument("--sims", type=int, help="number of sims (default: the scenario's)")
    sp.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    sp.add_argument("--out", help="directory for results.nc, summary.csv (.xlsx if openpyxl "
                                  "is installed) and payouts.png")
    sp.add_argument("--json", action="store_true", help="print the summary as JSON")
    sp.add_argument("--dask", nargs="?", const="local", default=None, metavar="ADDRESS",
                    help="run the blocks as dask tasks: a local cluster, or the scheduler "
                         "at ADDRESS (tcp://host:8786); results are identical")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    sp.add_argument("--draws", choices=["per-beneficiary", "aggregate"],
                    default="per-beneficiary",
                    help="draw every beneficiary (default) or the aggregate fast path")

    sp = add("compare", "Designs from several scenarios side by side in one table.",
             _cmd_compare)
    sp.add_argument("scenarios", nargs="+", help="scenario TOML files")
    sp.add_argument("--sims", type=int, help="sims per scenario (default: each scenario's)")
    sp.add_argument("--seed", type=int, help="seed for every scenario (default: each one's)")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    sp = add("validate", "Check scenario files; explain every problem, each with its key.",
             _cmd_validate)
    sp.add_argument("files", nargs="+", help="scenario TOML files")
