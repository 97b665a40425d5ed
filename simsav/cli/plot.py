"""``simsav plot``: one chart of saved results, as a PNG."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simsav.cli.common import InputError, save_png
from simsav.cli.report import open_results

#: One example per command, shown in its ``--help``.
EXAMPLES = {"plot": "simsav plot out/results.nc --kind waterfall --design 'Two-sided 2%'"}

KINDS = ("payouts", "waterfall", "fan", "by-size")
_SIZES = "1000,2000,5000,10000,20000,50000"


def _pick(ds: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The design, year and sim the options name, checked against the run."""
    names = [str(d) for d in ds["design"].values]
    if args.design is not None and args.design not in names:
        raise InputError(f"--design: no design {args.design!r}; the run has: "
                         f"{', '.join(names)}")
    years = [int(y) for y in ds["year"].values]
    if args.year is not None and args.year not in years:
        raise InputError(f"--year: the run has years {years[0]}–{years[-1]}, got {args.year}")
    n = ds.sizes["sim"]
    if args.sim is not None and not 0 <= args.sim < n:
        raise InputError(f"--sim: must be in 0..{n - 1}, got {args.sim}")
    return {"design": args.design, "year": args.year, "sim": args.sim}


def _sweep(ds: Any, args: argparse.Namespace) -> Any:
    """A saved size sweep, or one run now from the scenario the results carry."""
    if "size" in ds.dims:
        return ds
    import tomllib

    from simsav.analysis.compare import sweep_sizes
    from simsav.scenario import parse_scenario

    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        raise InputError(f"--sizes: comma-separated whole numbers, got {args.sizes!r}") from None
    if not sizes or min(sizes) < 1:
        raise InputError(f"--sizes: each must be >= 1, got {args.sizes!r}")
    if args.sims is not None and args.sims < 2:
        raise InputError(f"--sims: must be >= 2, got {args.sims}")
    toml = ds.attrs.get("scenario_toml")
    if not toml:
        raise InputError("by-size: the results carry no scenario to re-run at other sizes")
    scn = parse_scenario(tomllib.loads(toml))
    seed = ds.attrs.get("seed")
    return sweep_sizes(scn, sizes, n_sims=args.sims or ds.sizes["sim"],
                       seed=seed if isinstance(seed, int) else None)


def _cmd_plot(args: argparse.Namespace) -> int:
    from simsav import plotting

    ds = open_results(args.results)
    out = Path(args.out or f"{args.kind}.png")
    if args.kind == "by-size":
        sweep = _sweep(ds, args)
        save_png(out, lambda: plotting.plot_probabilities_by_size(sweep))
    elif "size" in ds.dims:
        raise InputError(f"--kind {args.kind}: these are size-sweep summaries; use by-size")
    else:
        opts = _pick(ds, args)
        if args.kind == "payouts":
            designs = None if opts["design"] is None else [opts["design"]]
            save_png(out, lambda: plotting.plot_payout_distribution(
                ds, designs=designs, year=opts["year"]))
        elif args.kind == "waterfall":
            save_png(out, lambda: plotting.plot_waterfall(ds, **opts))
        else:
            if ds.sizes["year"] < 2:
                raise InputError("--kind fan: the run has one year; a fan chart needs an "
                                 "agreement of several ([agreement] years = 3)")
            save_png(out, lambda: plotting.plot_fan_chart(ds, design=opts["design"]))
    print(f"wrote {out}")
    return 0


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("plot", "Draw one chart of saved results as a PNG.", _cmd_plot)
    sp.add_argument("results", metavar="RESULTS.nc", help="results saved by `simsav run --out`")
    sp.add_argument("--kind", choices=KINDS, default="payouts",
                    help="payouts (default): net payment per design; waterfall: settlement "
                         "steps of one design; fan: cumulative payout over the agreement; "
                         "by-size: P(clear MSR) and P(owe losses) against population size")
    sp.add_argument("--out", help="PNG file (default: KIND.png here)")
    sp.add_argument("--design", help="design to draw (default: all for payouts, else the "
                                     "first)")
    sp.add_argument("--year", type=int, help="agreement year (default: the last)")
    sp.add_argument("--sim", type=int, help="waterfall of one sim (default: the mean)")
    sp.add_argument("--sizes", default=_SIZES,
                    help=f"by-size: population sizes to re-run the scenario at ({_SIZES})")
    sp.add_argument("--sims", type=int, help="by-size: sims per size (default: the run's)")
