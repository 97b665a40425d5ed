"""``simsav run``, ``compare`` and ``validate``: scenarios simulated, compared and checked."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from simsav.cli.common import (
    InputError,
    compile_notice,
    load_scenario_arg,
    number_arg,
    parse_terms,
    print_json,
    progress,
    whole_arg,
    write_png,
)

#: One example per command, shown in its ``--help``.
EXAMPLES = {
    "run": "simsav run scenarios/rural-aco-5k.toml --sims 2000 --out out/",
    "compare": "simsav compare scenarios/rural-aco-5k.toml scenarios/physician-group-20k.toml "
               "--sims 2000",
    "validate": "simsav validate scenarios/*.toml",
}

MAX_SIMS = 10_000_000

# (summary variable, header, kind): kind "p" a probability, "$" money (USD millions)
_YEAR_COLUMNS = [
    ("p_clear_msr", "P(clear MSR)", "p"),
    ("p_owe_loss", "P(owe loss)", "p"),
    ("expected_earned", "E[earned]", "$"),
    ("expected_losses", "E[losses]", "$"),
    ("expected_aco_paid", "E[ACO paid]", "$"),
    ("expected_payer_net", "E[payer net]", "$"),
    ("aco_net_q5", "ACO net 5%", "$"),
    ("aco_net_q95", "ACO net 95%", "$"),
    ("aco_net_tail_95", "worst 5% net", "$"),
]
_AGREEMENT_COLUMNS = [
    ("agreement_p_any_year_paid", "P(any yr paid)", "p"),
    ("agreement_p_ahead", "P(ahead)", "p"),
    ("agreement_expected_total_paid", "E[total paid]", "$"),
    ("agreement_expected_true_up", "E[true-up]", "$"),
    ("agreement_expected_total_losses", "E[total losses]", "$"),
    ("agreement_total_paid_q5", "paid 5%", "$"),
    ("agreement_total_paid_q95", "paid 95%", "$"),
    ("agreement_tail_loss_95", "worst 5% losses", "$"),
]


def _cell(summary: Any, name: str, kind: str, sel: dict[str, Any]) -> str:
    v, lo, hi = (float(summary[p + name].sel(sel)) for p in ("", "low_", "high_"))
    if kind == "p":
        return f"{v:6.1%} ({lo * 100:.1f}–{hi * 100:.1f})"
    return f"{v / 1e6:8.3f} ±{(hi - lo) / 2 / 1e6:.3f}"


def _print_rows(summary: Any, columns: list[tuple[str, str, str]], year: int | None,
                labels: list[str] | None = None) -> None:
    cells = []
    for d in summary["design"].values:
        sel = {"design": d} if year is None else {"design": d, "year": year}
        cells.append([_cell(summary, n, k, sel) for n, _, k in columns])
    names = [str(d) for d in summary["design"].values] if labels is None else labels
    w0 = max([6] + [len(n) for n in names])
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, (_, h, _) in enumerate(columns)]
    print(f"{'design':<{w0}}  " + "  ".join(f"{h:>{w}}" for (_, h, _), w in
                                            zip(columns, widths, strict=True)))
    for name, row in zip(names, cells, strict=True):
        print(f"{name:<{w0}}  " + "  ".join(f"{c:>{w}}" for c, w in
                                            zip(row, widths, strict=True)))


def _print_summary(scn: Any, summary: Any, fin: Any, *, n: int, seed: Any) -> None:
    years = [int(y) for y in summary["year"].values]
    span = "one year" if len(years) == 1 else f"a {len(years)}-year agreement"
    print(f"{scn.name}: {scn.population.beneficiaries:,} beneficiaries, {span}, {n:,} sims, "
          f"seed {seed} ({summary.attrs.get('draws', 'per-beneficiary')} draws)")
    for y in years:
        head = f"Year {y}" if len(years) > 1 else "The year"
        print(f"\n{head} (annual settlement; 'paid' includes any deferred true-up)")
        _print_rows(summary, _YEAR_COLUMNS, y)
    if len(years) > 1:
        print(f"\nThe agreement as a whole ({len(years)} years)")
        _print_rows(summary, _AGREEMENT_COLUMNS, None)
    if fin is not None:
        _print_finances(fin)
    kept = summary.attrs.get("quantiles_from_sims")
    note = f"; quantiles and tails from the first {kept:,} sims" if kept else ""
    print(f"\nIn brackets and after ±: 95% Monte Carlo intervals (probabilities: Wilson; "
          f"money: 1.96 standard errors; quantiles: order statistics){note}. Money in USD "
          f"millions. {n:,} sims, seed {seed}.")


def _print_finances(fin: Any) -> None:
    conf = fin.attrs["confidence"]
    print(f"\nThe ACO's finances (reserve for losses at {conf:.0%})")
    cols = [("p_break_even", "P(break even)", "p"),
            ("expected_net_position", "E[net position]", "$"),
            ("reserve_for_losses_year", "reserve, worst yr", "$"),
            ("reserve_for_losses_agreement", "reserve, agreement", "$")]
    _print_rows(fin, cols, None)
    years = [int(y) for y in fin["break_even_year"].values]
    print("Share of sims breaking even for good, by year (0 = not by the end):")
    share = fin["break_even_year_share"]
    for d in fin["design"].values:
        cells = "  ".join(f"{y}: {float(share.sel(design=d, break_even_year=y)):.1%}"
                          for y in years)
        print(f"  {d}: {cells}")


def _run_sims(args: argparse.Namespace, scn: Any, update: Any) -> tuple[Any, Any]:
    """The run: the Dataset (None when streamed) and its summary."""
    from simsav.results import summarize
    from simsav.simulation import simulate, simulate_summary, simulate_to_precision

    common = dict(seed=args.seed, progress=update, draws=args.draws)
    if args.stream:
        if args.target_se is not None:
            raise InputError("--target-se: not with --stream (give --sims)")
        return None, simulate_summary(scn, n_sims=args.sims, keep=args.keep, **common)
    if args.target_se is not None:
        ds = simulate_to_precision(scn, target=args.target_se, max_sims=args.max_sims,
                                   scheduler=args.dask, **common)
    else:
        ds = simulate(scn, n_sims=args.sims, scheduler=args.dask, **common)
    return ds, summarize(ds)


def _cmd_run(args: argparse.Namespace) -> int:
    from simsav.results.output_set import OutputError, OutputSet

    scn = _with_terms(load_scenario_arg(args.scenario), args.term)
    out = None
    if args.out:
        out = OutputSet(args.out, about={"scenario": scn.name, "scenario_sha256": scn.digest()})
        try:
            out.check()
        except OutputError as e:
            raise InputError(f"--out: {e}") from None
    compile_notice()
    n = args.sims or scn.sims
    try:
        if out is not None:
            with out:
                ds, summary, fin = _simulate_and_summarize(args, scn, n)
                written = _write_outputs(out, ds, summary, fin)
        else:
            ds, summary, fin = _simulate_and_summarize(args, scn, n)
            written = []
    except OutputError as e:
        raise InputError(f"--out: {e}") from None
    n_done = summary.attrs["n_sims"]
    seed = ds.attrs["seed"] if ds is not None else (args.seed if args.seed is not None
                                                    else scn.seed)
    if args.json:
        print_json({"scenario": scn.name, "n_sims": n_done, "seed": seed,
                    "level": summary.attrs["level"], "summary": _records(summary),
                    "finances": None if fin is None else _records(fin)})
    else:
        _print_summary(scn, summary, fin, n=n_done, seed=seed)
        if ds is not None and "target_se" in ds.attrs:
            met = "met" if ds.attrs["target_met"] else "NOT met (raise --max-sims)"
            print(f"Target ±{ds.attrs['target_se']:.2%} on P(clear MSR), P(owe loss) and "
                  f"P(earn): widest ±{ds.attrs['widest_interval']:.2%}, {met}.")
        if written:
            print(f"wrote {args.out}: {', '.join(written)}")
    return 0


def _with_terms(scn: Any, items: list[str] | None) -> Any:
    """The scenario with ``--term`` overrides applied to its designs, validated again."""
    from simsav.scenario import ScenarioError, parse_scenario

    terms = parse_terms(items, designs=True)
    if not terms:
        return scn
    names = {d.name for d in scn.designs}
    unknown = sorted(set(terms) - names - {""})
    if unknown:
        raise InputError(f"--term: no design named {unknown[0]!r}; designs: "
                         f"{', '.join(sorted(names))}")
    data = scn.model_dump(mode="json", exclude_none=True)
    for d in data["designs"]:
        d.update(terms.get("", {}))
        d.update(terms.get(d["name"], {}))
    try:
        return parse_scenario(data, source="--term")
    except ScenarioError as e:
        raise InputError(str(e)) from None


def _simulate_and_summarize(args: argparse.Namespace, scn: Any, n: int) -> tuple[Any, ...]:
    from simsav.results.finances import finance_summary

    with progress(n, scn.name, quiet=args.quiet) as update:
        try:
            ds, summary = _run_sims(args, scn, update)
        except ValueError as e:
            raise InputError(_flag_names(str(e))) from None
    fin = finance_summary(ds) if ds is not None and "fin_cumulative" in ds else None
    return ds, summary, fin


def _flag_names(message: str) -> str:
    """Say ``--sims`` where the library says ``n_sims`` (the user typed the flag)."""
    for arg, flag in (("n_sims:", "--sims:"), ("max_sims:", "--max-sims:"),
                      ("keep:", "--keep:"), ("target:", "--target-se:"),
                      ("scheduler:", "--dask:"), ("seed:", "--seed:")):
        if message.startswith(arg):
            return flag + message[len(arg):]
    return message


def _records(summary: Any) -> list[dict[str, Any]]:
    from simsav.results.summary import summary_frame

    return summary_frame(summary).to_dict(orient="records")


def _write_outputs(out: Any, ds: Any, summary: Any, fin: Any) -> list[str]:
    """Every file of the run into the output set; the names written."""
    from simsav.plotting import plot_payout_distribution
    from simsav.results.files import save_dataset
    from simsav.results.summary import summary_frame

    names = []
    if ds is not None:
        save_dataset(ds, out.path("results.nc"))
        out.written("results.nc")
        names.append("results.nc")
    frame = summary_frame(summary)
    frame.to_csv(out.path("summary.csv"), index=False)
    out.written("summary.csv")
    names.append("summary.csv")
    if fin is not None:
        _finance_frame(fin).to_csv(out.path("finances.csv"), index=False)
        out.written("finances.csv")
        names.append("finances.csv")
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        print("summary.xlsx not written: openpyxl is not installed "
              "(pip install 'simsav[excel]')", file=sys.stderr)
    else:
        frame.to_excel(out.path("summary.xlsx"), index=False, engine="openpyxl")
        out.written("summary.xlsx")
        names.append("summary.xlsx")
    if ds is not None:
        write_png(out.path("payouts.png"), lambda: plot_payout_distribution(ds))
        out.written("payouts.png")
        names.append("payouts.png")
    return names


def _finance_frame(fin: Any) -> Any:
    import pandas as pd

    rows = []
    for k in fin.data_vars:
        if str(k).startswith(("se_", "low_", "high_")):
            continue
        da = fin[k]
        for idx in da.to_series().index:
            key = idx if isinstance(idx, tuple) else (idx,)
            sel = dict(zip(da.dims, key, strict=True))
            rows.append({**{d: str(v) for d, v in sel.items()}, "metric": str(k),
                         **{c: float(fin[p + str(k)].sel(sel)) for c, p in
                            (("value", ""), ("se", "se_"), ("low", "low_"), ("high", "high_"))},
                         "units": da.attrs.get("units", "")})
    return pd.DataFrame(rows)


def _cmd_validate(args: argparse.Namespace) -> int:
    from simsav.scenario import validate_scenario_file

    bad = 0
    for path in args.files:
        problems = validate_scenario_file(path)
        if problems:
            bad += 1
            print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
            for key, msg in problems:
                print(f"  {key}: {msg}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    return 2 if bad else 0


def _cmd_compare(args: argparse.Namespace) -> int:
    import xarray as xr

    from simsav.results import summarize
    from simsav.simulation import simulate

    scenarios = [load_scenario_arg(path) for path in args.scenarios]
    compile_notice()
    parts, labels, notes = [], [], []
    for scn in scenarios:
        n = args.sims or scn.sims
        with progress(n, scn.name, quiet=args.quiet) as update:
            try:
                ds = simulate(scn, n_sims=args.sims, seed=args.seed, progress=update)
            except ValueError as e:
                raise InputError(f"{scn.name}: {_flag_names(str(e))}") from None
        s = summarize(ds)
        last = int(s["year"].values[-1])
        parts.append(s.sel(year=last).drop_vars("year"))
        labels += [f"{scn.name}: {d}" for d in s["design"].values]
        notes.append(f"{scn.name}: {ds.sizes['sim']:,} sims, seed {ds.attrs['seed']}"
                     + (f", year {last} of {last}" if last > 1 else ""))
    summary = xr.concat(parts, dim="design", join="outer", combine_attrs="drop")
    summary = summary.assign_coords(design=labels)
    if args.json:
        print_json({"runs": notes, "summary": _records(summary.expand_dims(year=[0]))})
        return 0
    _print_rows(summary, _YEAR_COLUMNS, None, labels)
    print("\nIn brackets and after ±: 95% Monte Carlo intervals. Money in USD millions, the "
          "last agreement year of each scenario.")
    for note in notes:
        print(f"  {note}")
    return 0


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("run", "Simulate a scenario: every design's figures with their intervals.",
             _cmd_run)
    sp.add_argument("scenario", help="scenario TOML file")
    sp.add_argument("--sims", type=whole_arg(1, MAX_SIMS),
                    help="number of sims (default: the scenario's)")
    sp.add_argument("--seed", type=whole_arg(0), help="seed (default: the scenario's)")
    sp.add_argument("--out", help="directory for results.nc, summary.csv (.xlsx with openpyxl) "
                                  "and payouts.png, written as one set")
    sp.add_argument("--json", action="store_true", help="print the summary as JSON")
    sp.add_argument("--dask", nargs="?", const="local", default=None, metavar="ADDRESS",
                    help="run the blocks as dask tasks: a local cluster, or the scheduler "
                         "at ADDRESS (tcp://host:8786); results are identical")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    sp.add_argument("--draws", choices=["per-beneficiary", "aggregate"],
                    default="per-beneficiary",
                    help="draw every beneficiary (default) or the aggregate fast path")
    sp.add_argument("--stream", action="store_true",
                    help="keep only the summaries: memory flat in the number of sims "
                         "(quantiles and tails from the first --keep sims)")
    sp.add_argument("--keep", type=whole_arg(2, MAX_SIMS), default=100_000,
                    help="with --stream, sims kept for quantiles and tails (default 100000)")
    sp.add_argument("--target-se", type=number_arg(0, 0.5, lo_open=True, hi_open=True),
                    metavar="X",
                    help="add sims until every 95%% interval of P(clear MSR), P(owe loss) and "
                         "P(earn) is within ±X (e.g. 0.005)")
    sp.add_argument("--max-sims", type=whole_arg(1, MAX_SIMS), default=1_000_000,
                    help="with --target-se, the most sims to run (default 1000000)")
    sp.add_argument("--term", action="append", metavar="[DESIGN:]KEY=VALUE",
                    help="override a contract term in every design, or in the named one "
                         "(repeatable; values as in TOML), e.g. --term msr=0.01")

    sp = add("compare", "Designs from several scenarios side by side in one table.",
             _cmd_compare)
    sp.add_argument("scenarios", nargs="+", help="scenario TOML files")
    sp.add_argument("--sims", type=whole_arg(1, MAX_SIMS),
                    help="sims per scenario (default: each scenario's)")
    sp.add_argument("--seed", type=whole_arg(0),
                    help="seed for every scenario (default: each one's)")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    sp = add("validate", "Check scenario files; explain every problem, each with its key.",
             _cmd_validate)
    sp.add_argument("files", nargs="+", help="scenario TOML files")
