"""``simsav msr``: the MSR and MLR that hold the chance of a payout by luck, by size."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simsav.cli.common import (
    InputError,
    compile_notice,
    number_arg,
    print_json,
    save_png,
    whole_arg,
)

#: One example per command, shown in its ``--help``.
EXAMPLES = {
    "msr": "simsav msr --sizes 1000,5000,10000,20000,50000,100000 --alpha 0.05 --plot msr.png",
}


class _SpendingHelp(argparse._StoreAction):
    """``--spending``: its help lists the registry's models, read only when help is shown.

    Importing the registry loads scipy; ``simsav --help`` and every other command's
    start-up should not pay for it.
    """

    @property  # type: ignore[override]
    def help(self) -> str:
        from simsav.spending.registry import DEFAULT_MODEL, MODEL_NAMES

        return f"spending model: {', '.join(MODEL_NAMES)} (default {DEFAULT_MODEL})"

    @help.setter
    def help(self, value: str | None) -> None:
        pass


def _sizes(text: str) -> list[int]:
    """``--sizes``: whole, finite population sizes, at least one."""
    parse = whole_arg(1, 20_000_000)
    out = []
    for item in text.split(","):
        if not item.strip():
            continue
        try:
            out.append(parse(item.strip()))
        except argparse.ArgumentTypeError as e:
            raise InputError(f"--sizes: each size {e}") from None
    if not out:
        raise InputError("--sizes: give at least one size, e.g. 1000,5000")
    return out


def _check_plot_path(path: str) -> None:
    p = Path(path)
    if p.is_dir():
        raise InputError(f"--plot: {p} is a directory; give a file name such as "
                         f"{p / 'msr.png'}")
    if not p.parent.is_dir():
        raise InputError(f"--plot: {p.parent} does not exist (simsav does not create "
                         "directories)")


def _cmd_msr(args: argparse.Namespace) -> int:
    from simsav.analysis.msr_sizing import default_spending, msr_curve

    compile_notice()
    sizes = _sizes(args.sizes)
    if args.plot:
        _check_plot_path(args.plot)
    if args.method == "simulate" and args.alpha * args.sims < 20:
        print(f"simsav msr: warning: alpha x sims = {args.alpha * args.sims:g}: the MSR is the "
              f"quantile with only that many sims beyond it, so its band is unreliable; use "
              f"--sims {int(20 / args.alpha) + 1:,} or more", file=sys.stderr)
    terms: dict[str, Any] = {}
    if args.cv is not None:
        terms["cv"] = args.cv
    if args.truncate_quantile is not None:
        terms["truncate_quantile"] = args.truncate_quantile
    from simsav.spending.registry import DEFAULT_MODEL

    try:
        spec = default_spending(args.spending or DEFAULT_MODEL, mean=args.mean, **terms)
        ds = msr_curve(sizes, alpha=args.alpha, spending=spec, method=args.method,
                       n_sims=args.sims, seed=args.seed, years=args.years,
                       benchmark_error_sd=args.benchmark_error_sd, draws=args.draws)
    except ValueError as e:
        raise InputError(str(e)) from None
    if args.plot:
        from simsav.plotting import plot_msr_curve

        save_png(args.plot, lambda: plot_msr_curve(ds))
    keys = ["msr", "msr_low", "msr_high", "mlr", "normal", "cms_table"]
    if args.json:
        print_json({"sizes": sizes, **{k: ds[k].values.tolist() for k in keys},
                     "cms_2011": ds["cms_2011"].values.tolist(),
                     "method": args.method, "alpha": args.alpha,
                     "spending": json.loads(ds.attrs["spending"])})
        return 0
    cv = ds.attrs["cv_truncated"]
    print(f"MSR keeping P(payout by luck) <= {args.alpha:g}; method {args.method}; "
          f"spending {ds.attrs['spending']} (CV after any truncation {cv:.3f})")
    head = ["size", "MSR", "band low", "band high", "MLR", "normal", "CMS 2011", "CMS table"]
    print("  ".join(f"{h:>10}" for h in head))
    for i, n in enumerate(sizes):
        vals = [ds[k].values[i] for k in
                ("msr", "msr_low", "msr_high", "mlr", "normal", "cms_2011", "cms_table")]
        cells = [f"{v:10.3%}" if math.isfinite(v) else f"{'–':>10}" for v in vals]
        print(f"{n:>10,}  " + "  ".join(cells))
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("msr", "Size the MSR/MLR by population: simulated, normal and the CMS table.",
             _cmd_msr)
    sp.add_argument("--sizes", default="1000,5000,10000,20000,50000,100000",
                    help="comma-separated beneficiary counts")
    sp.add_argument("--alpha", type=number_arg(0, 0.5, lo_open=True, hi_open=True),
                    default=0.05,
                    help="allowed chance of a payout by luck (default 0.05)")
    sp.add_argument("--spending", action=_SpendingHelp, default=None,
                    help="(listed from the spending-model registry when shown)")
    sp.add_argument("--mean", type=number_arg(0, lo_open=True), default=11_000.0,
                    help="mean spending per beneficiary-year, USD")
    sp.add_argument("--cv", type=number_arg(0, lo_open=True),
                    help="coefficient of variation (models that take one)")
    sp.add_argument("--truncate-quantile", type=number_arg(0, 1, lo_open=True, hi_open=True),
                    help="cap each beneficiary at this quantile, e.g. 0.99")
    sp.add_argument("--method", choices=["simulate", "normal", "cms-2011"], default="simulate")
    sp.add_argument("--sims", type=whole_arg(100, 10_000_000), default=20_000,
                    help="sims per size (simulate)")
    sp.add_argument("--seed", type=whole_arg(0), default=0)
    sp.add_argument("--years", type=whole_arg(1, 10), default=1,
                    help="years reconciled together (deferred reconciliation)")
    sp.add_argument("--benchmark-error-sd", type=number_arg(0, 0.5), default=0.0,
                    help="ACO-level benchmark error, fraction of benchmark")
    sp.add_argument("--draws", choices=["per-beneficiary", "aggregate"],
                    default="per-beneficiary",
                    help="draw every beneficiary (default) or the aggregate fast path")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--plot", help="write a PNG of MSR against size")
