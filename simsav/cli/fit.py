"""``simsav fit``: every spending model fitted to the user's own claims file."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simsav.cli.common import InputError, print_json, save_png
from simsav.cli.whatif import check_output

#: One example per command, shown in its ``--help``.
EXAMPLES = {
    "fit": "simsav fit scenarios/claims/commercial-claims-7500.csv --column paid "
           "--exposure member_months --write spending.toml --lorenz lorenz.png --qq qq.png",
}


def _cell(x: float, kind: str) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if kind == "pct":
        return f"{x:.1%}"
    if kind == "money":
        return f"{x:,.0f}"
    if kind == "big":
        return f"{x:,.1f}"
    return f"{x:.3f}" if kind == "3" else f"{x:.4f}"


_COLUMNS = [("method", "method", ""), ("aic", "AIC", "big"), ("ks", "KS", "4"),
            ("mean", "mean", "money"), ("cv", "CV", "3"), ("top_1%", "top 1%", "pct"),
            ("top_5%", "top 5%", "pct"), ("top_10%", "top 10%", "pct"),
            ("top_20%", "top 20%", "pct"), ("top_50%", "top 50%", "pct")]


def _print_table(fit: Any) -> None:
    t = fit.table()
    w = max(len(str(i)) for i in t.index)
    head = [f"{'model':<{w}}", f"{'method':<18}"] + [f"{h:>10}" for _, h, k in _COLUMNS[1:]]
    print("  ".join(head))
    for name, row in t.iterrows():
        cells = [f"{name!s:<{w}}", f"{row['method']!s:<18}"]
        cells += [f"{_cell(row[c], k):>10}" for c, _, k in _COLUMNS[1:]]
        print("  ".join(cells))


def _cmd_fit(args: argparse.Namespace) -> int:
    from simsav.analysis.claims import fit_claims
    from simsav.io.claims import read_claims

    if args.cap is not None and not (math.isfinite(args.cap) and args.cap > 0):
        raise InputError(f"--cap: must be a positive amount, got {args.cap}")
    for path, flag in ((args.write, "--write"), (args.lorenz, "--lorenz"), (args.qq, "--qq")):
        check_output(path, flag)
    try:
        claims = read_claims(args.claims, column=args.column, exposure=args.exposure)
        fit = fit_claims(claims, cap=args.cap)
    except ValueError as e:
        raise InputError(str(e)) from None
    model = args.model or fit.best or "empirical"
    if model not in fit.fits:
        raise InputError(f"--model: {model!r} is not a spending model; one of "
                         + ", ".join(fit.fits))
    where = Path(args.write).resolve().parent if args.write else Path.cwd()
    try:
        table = fit.spending_toml(model, relative_to=where)
    except ValueError as e:
        raise InputError(str(e)) from None
    if args.write:
        from simsav.results import atomic_write

        atomic_write(args.write, lambda p: p.write_text(table))
    if args.lorenz:
        from simsav.plotting import plot_lorenz

        save_png(args.lorenz, lambda: plot_lorenz(fit))
    if args.qq:
        from simsav.plotting import plot_tail_qq

        save_png(args.qq, lambda: plot_tail_qq(fit))
    if args.json:
        t = fit.table()
        print_json({"claims": claims.describe(), "member_years": claims.member_years,
                    "cap": args.cap, "best": fit.best, "chosen": model,
                    "models": {str(n): {k: (v if isinstance(v, str) else float(v))
                                        for k, v in row.items()}
                               for n, row in t.to_dict(orient="index").items()},
                    "parameters": fit.parameters().to_dict(orient="records"),
                    "spending_toml": table})
        return 0
    print(f"{claims.describe()}: {claims.member_years:,.1f} member-years, "
          f"{fit.observed.mean:,.0f} per member-year"
          + (f", capped at {args.cap:,.0f}" if args.cap else ""))
    _print_table(fit)
    print("(AIC among maximum-likelihood fits, lower is better; KS = largest gap between "
          "the distribution functions; top q% = share of spending of the costliest q% of "
          "member-years)")
    params = fit.parameters()
    if not params.empty:
        print()
        print(params.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    notes = [f"  {n}: {f.note}" for n, f in fit.fits.items() if f.note]
    if notes:
        print("\n".join(["", "notes:", *notes]))
    print()
    print(table, end="")
    for what, path in (("[spending] table", args.write), ("Lorenz curve", args.lorenz),
                       ("tail Q-Q plot", args.qq)):
        if path:
            print(f"wrote {what}: {path}")
    return 0


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("fit", "Fit every spending model to a claims file (one row per member); "
                    "compare and write a [spending] table.", _cmd_fit)
    sp.add_argument("claims", help="CSV file with a header row, one row per member")
    sp.add_argument("--column", default="paid",
                    help="column of annual amounts paid, USD (default paid)")
    sp.add_argument("--exposure", metavar="COLUMN",
                    help="column of member months, in (0, 12]: partial-year members are "
                         "annualized and weigh months / 12")
    sp.add_argument("--cap", type=float,
                    help="the amounts were capped here (censored in the likelihood)")
    sp.add_argument("--model", help="which fit to write (default: lowest AIC)")
    sp.add_argument("--write", metavar="TOML", help="write the [spending] table here")
    sp.add_argument("--lorenz", metavar="PNG", help="write the Lorenz curves")
    sp.add_argument("--qq", metavar="PNG", help="write the tail quantile-quantile plot")
    sp.add_argument("--json", action="store_true", help="print JSON")
