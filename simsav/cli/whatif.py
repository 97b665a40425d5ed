"""``simsav sweep``, ``solve``, ``tornado`` and ``sobol``: what-if questions of a scenario."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    "sweep": "simsav sweep scenarios/rural-aco-5k.toml --set aco.true_savings=-0.02:0.04:7 "
             "--set population.beneficiaries=5000,10000,20000 --sims 2000 --plot sweep.png",
    "solve": "simsav solve scenarios/rural-aco-5k.toml --design 'Track 1' --term msr "
             "--target p_clear_msr=0.05 --sims 20000",
    "tornado": "simsav tornado scenarios/rural-aco-5k.toml --design 'Track 1' "
               "--range aco.true_savings=0:0.02 --range 'designs[Track 1].msr=0.01:0.03' "
               "--range population.beneficiaries=4000:6000 --plot tornado.png",
    "sobol": "simsav sobol scenarios/rural-aco-5k.toml --design 'Track 1' "
             "--input aco.true_savings=normal:0.01:0.01 "
             "--input aco.benchmark_error_sd=uniform:0:0.02 --n 64 --sims 1000",
}


@contextmanager
def _input_errors() -> Iterator[None]:
    """Bad settings, unreachable targets and unreadable files: exit 2 with the message."""
    try:
        yield
    except ValueError as e:
        raise InputError(str(e)) from None


def _settings(items: list[str]) -> dict[str, list[Any]]:
    from simsav.analysis.overrides import parse_setting

    grid: dict[str, list[Any]] = {}
    for text in items:
        with _input_errors():
            key, values = parse_setting(text)
        if key in grid:
            raise InputError(f"--set: {key} is given twice")
        grid[key] = values
    return grid


def check_output(path: str | None, flag: str) -> None:
    """An output file's directory must exist (nothing is created on the way); fail early."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{flag}: {p} is a directory; give a file name")
    if not p.parent.is_dir():
        raise InputError(f"{flag}: {p.parent} does not exist (simsav does not create "
                         "directories)")


def _check_run_args(args: argparse.Namespace) -> None:
    if args.sims is not None and args.sims < 1:
        raise InputError(f"--sims: must be >= 1, got {args.sims}")
    if args.seed is not None and args.seed < 0:
        raise InputError(f"--seed: must be >= 0, got {args.seed}")


def _num(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:,.4f}" if abs(x) < 1e3 else f"{x:,.0f}"


# ------------------------------------------------------------------------------ sweep


def _sweep_frame(sw: Any, figure: str) -> Any:
    """One row per grid point, one column per design: the figure (last year)."""
    da = sw[figure]
    if "year" in da.dims:
        da = da.isel(year=-1)
    frame = da.to_dataframe(name=figure)[figure].unstack("design")
    se_name = "se_" + figure
    se = None
    if se_name in sw:
        s = sw[se_name].isel(year=-1) if "year" in sw[se_name].dims else sw[se_name]
        se = s.to_dataframe(name=se_name)[se_name].unstack("design")
    return frame, se


def _cmd_sweep(args: argparse.Namespace) -> int:
    from simsav.analysis.sweep import sweep

    scn = load_scenario_arg(args.scenario)
    _check_run_args(args)
    for path, flag in ((args.out, "--out"), (args.csv, "--csv"), (args.plot, "--plot")):
        check_output(path, flag)
    grid = _settings(args.set)
    compile_notice()
    n_draw = 1
    from simsav.analysis.overrides import settles_only

    for k, v in grid.items():
        n_draw *= 1 if settles_only(k) else len(v)
    n = scn.sims if args.sims is None else args.sims
    with progress(n * n_draw, f"sweep {scn.name}", quiet=args.quiet) as update, \
            _input_errors():
        sw = sweep(scn, grid, n_sims=args.sims, seed=args.seed, draws=args.draws,
                   progress=update, scheduler=args.dask)
    if args.figure not in sw:
        raise InputError(f"--figure: {args.figure!r} is not a summary figure; one of "
                         + ", ".join(k for k in sw.data_vars if not k.startswith("se_")))
    _write_sweep(args, sw)
    frame, se = _sweep_frame(sw, args.figure)
    if args.json:
        rows = [{**dict(zip(frame.index.names, idx if isinstance(idx, tuple) else (idx,),
                            strict=True)),
                 **{str(d): {"value": float(frame.loc[idx, d]),
                             "se": None if se is None else float(se.loc[idx, d])}
                    for d in frame.columns}} for idx in frame.index]
        print_json({"scenario": scn.name, "figure": args.figure, "n_sims": sw.attrs["n_sims"],
                    "seed": sw.attrs["seed"], "keys": list(grid), "points": rows})
        return 0
    print(f"{scn.name}: {args.figure} over {' × '.join(grid)}; {sw.attrs['n_sims']:,} sims "
          f"per point, seed {sw.attrs['seed']} at every point (common random numbers)")
    cells = frame.map(_num)
    if se is not None:
        for d in frame.columns:
            cells[d] = [f"{_num(x)} ± {_num(y)}" for x, y in zip(frame[d], se[d], strict=True)]
    print(cells.to_string())
    print("(± one Monte Carlo standard error; the last year of the agreement)")
    for what, path in (("netCDF", args.out), ("CSV", args.csv), ("plot", args.plot)):
        if path:
            print(f"wrote {what}: {path}")
    return 0


def _write_sweep(args: argparse.Namespace, sw: Any) -> None:
    from simsav.results import atomic_write, save_dataset

    if args.out:
        save_dataset(sw, args.out)
    if args.csv:
        tidy = sw.drop_dims([d for d in ("quantile",) if d in sw.dims]).to_dataframe()
        atomic_write(args.csv, lambda p: tidy.to_csv(p))
    if args.plot:
        from simsav.plotting import plot_sweep, plot_sweep_heatmap

        keys = [d for d in sw[args.figure].dims if d not in ("design", "year", "quantile")]
        sel = {k: sw[k].values[0] for k in keys[2:]}
        with _input_errors():
            if len(keys) == 1:
                save_png(args.plot, lambda: plot_sweep(sw, figure=args.figure))
            else:
                save_png(args.plot, lambda: plot_sweep_heatmap(
                    sw, figure=args.figure, design=args.design, sel=sel))


# ------------------------------------------------------------------------------ solve


def _cmd_solve(args: argparse.Namespace) -> int:
    from simsav.analysis.solve import solve

    scn = load_scenario_arg(args.scenario)
    _check_run_args(args)
    figure, sep, value = args.target.partition("=")
    try:
        target = float(value)
    except ValueError:
        target = math.nan
    if not sep or not figure or not math.isfinite(target):
        raise InputError(f"--target: give FIGURE=VALUE, e.g. p_clear_msr=0.05; got "
                         f"{args.target!r}")
    lo = hi = None
    if args.range:
        try:
            lo, hi = (float(x) for x in args.range.split(":"))
        except ValueError:
            raise InputError(f"--range: give LO:HI, got {args.range!r}") from None
    compile_notice()
    with _input_errors():
        s = solve(scn, design=args.design, term=args.term, figure=figure.strip(),
                  target=target, lo=lo, hi=hi, tol=args.tol, level=args.level,
                  n_sims=args.sims, seed=args.seed, draws=args.draws)
    if args.json:
        print_json(s.to_dict())
        return 0
    band = ("no band (the figure has no standard error)" if math.isnan(s.band_low) else
            f"{s.level:.0%} Monte Carlo band {s.band_low:.6g} to {s.band_high:.6g}")
    print(f"{s.term} = {s.value:.6g} brings {s.figure} to {s.target:g} for design "
          f"{s.design!r} ({band})")
    print(f"  {s.figure} there: {s.achieved:.6g} ± {s.se:.2g} (Monte Carlo SE); year "
          f"{s.year}; {s.n_sims:,} sims, seed {s.seed}; {s.evaluations} settlements of the "
          f"same draws; {s.term} searched in [{s.range_low:g}, {s.range_high:g}]")
    if not s.monotone:
        print(f"  note: {s.figure} is not monotone in {s.term} over that range; this is the "
              "first crossing")
    return 0


# ---------------------------------------------------------------------- sensitivity


def _pairs(items: list[str], flag: str) -> dict[str, tuple[Any, Any]]:
    from simsav.analysis.overrides import parse_value, split_key

    out: dict[str, tuple[Any, Any]] = {}
    for text in items:
        key, sep, vals = text.partition("=")
        parts = vals.replace(",", ":").split(":")
        if not sep or len(parts) != 2:
            raise InputError(f"{flag}: give KEY=LOW:HIGH, e.g. aco.true_savings=0:0.02; got "
                             f"{text!r}")
        with _input_errors():
            split_key(key)
            out[key.strip()] = (parse_value(parts[0]), parse_value(parts[1]))
    return out


def _cmd_tornado(args: argparse.Namespace) -> int:
    from simsav.analysis.sensitivity import tornado

    scn = load_scenario_arg(args.scenario)
    _check_run_args(args)
    check_output(args.plot, "--plot")
    ranges = _pairs(args.range, "--range")
    compile_notice()
    n = scn.sims if args.sims is None else args.sims
    with progress(n * (2 * len(ranges) + 1), f"tornado {scn.name}", quiet=args.quiet) as \
            update, _input_errors():
        t = tornado(scn, ranges, figure=args.figure, design=args.design, n_sims=args.sims,
                    seed=args.seed, draws=args.draws, progress=update)
    if args.plot:
        from simsav.plotting import plot_tornado

        save_png(args.plot, lambda: plot_tornado(t))
    rows = [{"input": str(k), "low": str(t["low"].values[i]), "high": str(t["high"].values[i]),
             "figure_low": float(t["figure_low"].values[i]),
             "figure_high": float(t["figure_high"].values[i]),
             "swing": float(t["swing"].values[i])} for i, k in enumerate(t["input"].values)]
    if args.json:
        print_json({"figure": args.figure, "design": t.attrs["design"],
                    "base": t.attrs["base"], "se_base": t.attrs["se_base"], "inputs": rows})
        return 0
    print(f"{scn.name}, design {t.attrs['design']!r}: {args.figure} = "
          f"{_num(t.attrs['base'])} ± {_num(t.attrs['se_base'])} in the base case; "
          f"{t.attrs['n_sims']:,} sims, seed {t.attrs['seed']} everywhere")
    w = max(len(r["input"]) for r in rows)
    print(f"{'input':<{w}}  {'low':>10}  {'high':>10}  {'at low':>10}  {'at high':>10}  "
          f"{'swing':>10}")
    for r in rows:
        print(f"{r['input']:<{w}}  {r['low']:>10}  {r['high']:>10}  "
              f"{_num(r['figure_low']):>10}  {_num(r['figure_high']):>10}  "
              f"{_num(r['swing']):>10}")
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def _cmd_sobol(args: argparse.Namespace) -> int:
    from simsav.analysis.sensitivity import sobol

    scn = load_scenario_arg(args.scenario)
    _check_run_args(args)
    check_output(args.plot, "--plot")
    inputs: dict[str, str] = {}
    for text in args.input:
        key, sep, dist = text.partition("=")
        if not sep or not dist:
            raise InputError(f"--input: give KEY=DIST:PARAMS, e.g. "
                             f"aco.true_savings=normal:0.01:0.01; got {text!r}")
        inputs[key.strip()] = dist.strip()
    compile_notice()
    total = args.n * (len(inputs) + 2)
    with progress(total, f"sobol {scn.name}", quiet=args.quiet) as update, _input_errors():
        res = sobol(scn, inputs, figure=args.figure, design=args.design, n=args.n,
                    n_sims=args.sims, seed=args.seed, draws=args.draws, progress=update)
    if args.plot:
        from simsav.plotting import plot_sobol

        save_png(args.plot, lambda: plot_sobol(res))
    keys = ["S1", "S1_se", "ST", "ST_se"]
    if args.json:
        print_json({"figure": args.figure, "design": res.attrs["design"],
                    "n": res.attrs["n"], "evaluations": res.attrs["evaluations"],
                    "indices": {str(k): {c: float(res[c].values[i]) for c in keys}
                                for i, k in enumerate(res["input"].values)}})
        return 0
    print(f"{scn.name}, design {res.attrs['design']!r}: Sobol indices of {args.figure}; "
          f"n = {res.attrs['n']}, {res.attrs['evaluations']} simulations of "
          f"{res.attrs['n_sims']:,} sims, seed {res.attrs['seed']}")
    w = max(len(str(k)) for k in res["input"].values)
    print(f"{'input':<{w}}  {'first order':>18}  {'total':>18}")
    for i, k in enumerate(res["input"].values):
        s1, se1 = float(res["S1"].values[i]), float(res["S1_se"].values[i])
        st, set_ = float(res["ST"].values[i]), float(res["ST_se"].values[i])
        print(f"{k!s:<{w}}  {s1:>9.3f} ± {se1:<6.3f}  {st:>9.3f} ± {set_:<6.3f}")
    print(f"(± bootstrap standard error; variance of {args.figure} over the inputs "
          f"{res.attrs['variance']:.4g})")
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


# ------------------------------------------------------------------------------ register


def _run_options(sp: Any) -> None:
    sp.add_argument("scenario", help="scenario TOML file")
    sp.add_argument("--sims", type=int, help="sims per run (default: the scenario's)")
    sp.add_argument("--seed", type=int, help="seed of every run (default: the scenario's)")
    sp.add_argument("--draws", choices=["per-beneficiary", "aggregate"],
                    default="per-beneficiary",
                    help="draw every beneficiary (default) or the aggregate fast path")


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("sweep", "A scenario's figures over a grid of any scenario or contract keys, "
                      "on common random numbers.", _cmd_sweep)
    _run_options(sp)
    sp.add_argument("--set", action="append", required=True, metavar="KEY=VALUES",
                    help="a dotted key and its values: LO:HI:N or A,B,C, e.g. "
                         "aco.true_savings=-0.02:0.04:7, designs.*.msr=0.01,0.02 "
                         "(repeat for more keys)")
    sp.add_argument("--figure", default="p_clear_msr",
                    help="the summary figure to print and plot (default p_clear_msr)")
    sp.add_argument("--design", help="whose figure a heat map shows (default: the first)")
    sp.add_argument("--out", help="write the sweep as netCDF")
    sp.add_argument("--csv", help="write every figure as a tidy CSV table")
    sp.add_argument("--plot", help="write a PNG: lines per design (one key) or a heat map")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--dask", nargs="?", const="local", default=None, metavar="ADDRESS",
                    help="run the grid points as dask tasks (local cluster or ADDRESS)")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    sp = add("solve", "Solve for a contract term that brings a figure to a target, with its "
                      "Monte Carlo band.", _cmd_solve)
    _run_options(sp)
    sp.add_argument("--design", help="the design whose term moves (needed with several)")
    sp.add_argument("--term", required=True,
                    help="a numeric contract term: msr, mlr, loss_rate, payment_limit, "
                         "benchmark_discount, max_sharing_rate, ...")
    sp.add_argument("--target", required=True, metavar="FIGURE=VALUE",
                    help="e.g. p_clear_msr=0.05 or expected_losses=250000")
    sp.add_argument("--range", metavar="LO:HI", help="search the term within [LO, HI] "
                    "(default: all the contract allows)")
    sp.add_argument("--tol", type=float, help="bisection tolerance (default 1e-5 of the range)")
    sp.add_argument("--level", type=float, default=0.95,
                    help="confidence level of the Monte Carlo band (default 0.95)")
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("tornado", "One-at-a-time sensitivity of a figure: each key at its low and "
                        "high value.", _cmd_tornado)
    _run_options(sp)
    sp.add_argument("--range", action="append", required=True, metavar="KEY=LOW:HIGH",
                    help="a dotted key and its low and high values (repeat)")
    sp.add_argument("--figure", default="p_clear_msr", help="default p_clear_msr")
    sp.add_argument("--design", help="whose figure (default: the first design)")
    sp.add_argument("--plot", help="write the tornado chart as PNG")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    sp = add("sobol", "Sobol indices of a figure over uncertain inputs (Saltelli sampling).",
             _cmd_sobol)
    _run_options(sp)
    sp.add_argument("--input", action="append", required=True, metavar="KEY=DIST:PARAMS",
                    help="a dotted key and its distribution: uniform:LOW:HIGH, "
                         "normal:MEAN:SD, truncnormal:MEAN:SD:LOW:HIGH, "
                         "triangular:LOW:MODE:HIGH, beta:A:B:LOW:HIGH, loguniform:LOW:HIGH "
                         "(repeat)")
    sp.add_argument("--figure", default="p_clear_msr", help="default p_clear_msr")
    sp.add_argument("--design", help="whose figure (default: the first design)")
    sp.add_argument("--n", type=int, default=64,
                    help="base sample, a power of 2: n × (inputs + 2) simulations "
                         "(default 64)")
    sp.add_argument("--plot", help="write the indices as a PNG bar chart")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
