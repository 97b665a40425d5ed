"""``simsav report``: a run as a formatted Excel workbook and a self-contained HTML page."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simsav.cli.common import (
    InputError,
    compile_notice,
    load_scenario_arg,
    progress,
    whole_arg,
)

#: One example per command, shown in its ``--help``.
EXAMPLES = {"report": "simsav report scenarios/rural-aco-5k.toml --sims 2000 --out report/"}

_NO_OPENPYXL = ("the Excel workbook needs openpyxl, which is not installed: pip install "
                "\"simsav[excel]\" (or pass --no-xlsx for the HTML report alone)")


def load_run(path: str, *, sims: int | None = None, seed: int | None = None,
             quiet: bool = True) -> tuple[Any, bool]:
    """The results Dataset a command line names: a saved run (.nc) or a scenario to run.

    Returns the Dataset and whether it was simulated here.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"file not found: {path}")
    if p.suffix.lower() in (".nc", ".nc4", ".netcdf"):
        if sims is not None or seed is not None:
            raise InputError("--sims and --seed apply to a scenario, not to saved results")
        return open_results(path), False
    if sims is not None and sims < 2:
        raise InputError(f"--sims: must be >= 2, got {sims}")
    if seed is not None and seed < 0:
        raise InputError(f"--seed: must be >= 0, got {seed}")
    from simsav.simulation import simulate

    scn = load_scenario_arg(path)
    compile_notice()
    with progress(scn.sims if sims is None else sims, scn.name, quiet=quiet) as update:
        try:
            return simulate(scn, n_sims=sims, seed=seed, progress=update), True
        except ValueError as e:
            raise InputError(str(e)) from None


def open_results(path: str) -> Any:
    """A saved results Dataset, or an :class:`InputError` saying the file is not one."""
    from simsav.results.files import open_dataset

    try:
        ds = open_dataset(path)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a netCDF file simsav can read ({e})") from None
    if "aco_net" not in ds and "size" not in ds.dims:
        raise InputError(f"{path}: not simsav results (no aco_net variable)")
    return ds


def _cmd_report(args: argparse.Namespace) -> int:
    from simsav.results.output_set import OutputError, OutputSet

    if not args.no_xlsx:
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise InputError(_NO_OPENPYXL) from None
    out = OutputSet(args.out, about={"source": str(args.input)})
    try:
        out.check()  # before anything is simulated
        with out:
            ds, simulated = load_run(args.input, sims=args.sims, seed=args.seed,
                                     quiet=args.quiet)
            written = _write(out, ds, simulated, args)
    except OutputError as e:
        raise InputError(f"--out: {e}") from None
    print(f"{ds.attrs.get('scenario', '')}: {ds.sizes['sim']:,} sims, seed "
          f"{ds.attrs.get('seed', '?')}")
    print(f"wrote {args.out}: {', '.join(written)}")
    return 0


def _write(out: Any, ds: Any, simulated: bool, args: argparse.Namespace) -> list[str]:
    """The report's files, into the output set."""
    import matplotlib

    matplotlib.use("Agg")
    from simsav.plotting import report_figures
    from simsav.results.files import save_dataset
    from simsav.results.report import build_report, write_html, write_workbook

    rep = build_report(ds, figures=report_figures(ds), source=args.input)
    names = []
    if not args.no_xlsx:
        write_workbook(rep, out.path("report.xlsx"))
        out.written("report.xlsx")
        names.append("report.xlsx")
    write_html(rep, out.path("report.html"))
    out.written("report.html")
    names.append("report.html")
    if simulated:
        save_dataset(ds, out.path("results.nc"))
        names.append("results.nc")
    return names


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("report", "Write a run as an Excel workbook and a self-contained HTML report.",
             _cmd_report)
    sp.add_argument("input", metavar="SCENARIO|RESULTS.nc",
                    help="a scenario TOML file (simulated here) or saved results (.nc)")
    sp.add_argument("--out", required=True, help="directory for report.xlsx, report.html "
                                                 "(and results.nc for a scenario)")
    sp.add_argument("--sims", type=whole_arg(1, 10_000_000),
                    help="sims for a scenario (default: the scenario's)")
    sp.add_argument("--seed", type=whole_arg(0), help="seed for a scenario (default: the "
                                                      "scenario's)")
    sp.add_argument("--no-xlsx", action="store_true", help="the HTML report alone")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
