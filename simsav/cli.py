"""The ``simsav`` command line. The only module that prints.

Exit codes: 0 on success, 2 on bad input (the message goes to stderr).

Each command imports what it needs when it runs (the function-local imports below), so
``simsav --help`` loads no numerics and ``simsav settle`` only the contract rules.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from simsav import __version__

__all__ = ["main"]


class InputError(Exception):
    """Bad user input: reported on stderr with exit code 2."""


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def _clean_json(obj: Any) -> Any:
    """Replace NaN/inf by None so the output is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean_json(v) for v in obj]
    return obj


def _print_json(obj: Any) -> None:
    print(json.dumps(_clean_json(obj), indent=2, default=_json_default, allow_nan=False))


# ---------------------------------------------------------------------------- presets
def _cmd_presets(args: argparse.Namespace) -> int:
    from simsav.contracts import PRESETS

    if args.json:
        _print_json({name: c.model_dump(mode="json") for name, c in PRESETS.items()})
        return 0
    for name, c in PRESETS.items():
        side = "two-sided" if c.two_sided else "one-sided"
        msr = c.msr if isinstance(c.msr, str) else (
            f"{c.msr:.1%}" if isinstance(c.msr, float) else "table")
        print(f"{name:28s} {side:9s}  max share {c.max_sharing_rate:4.0%}  MSR {msr}")
        if args.verbose:
            print(f"    {c.description}\n")
    return 0


# ----------------------------------------------------------------------------- settle
def _money(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "no limit"
    return f"${x:,.2f}"


def _pct(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.3%}"


def _show(kind: str, x: Any) -> str:
    if kind == "money":
        return _money(x)
    if kind == "rate":
        return _pct(x)
    if kind == "flag":
        return "yes" if x else "no"
    return str(x)


def _cmd_settle(args: argparse.Namespace) -> int:
    from simsav.contracts import get_preset
    from simsav.settlement.fields import FIELDS, SETTLEMENT_FIELDS, applies
    from simsav.settlement.rules import settle_one

    contract = get_preset(args.preset)
    if args.msr is not None:
        contract = contract.with_terms(msr=args.msr)
    inputs: dict[str, Any] = dict(
        benchmark=args.benchmark,
        expenditure=args.expenditure,
        n_beneficiaries=args.beneficiaries,
        quality=args.quality,
    )
    if args.revenue is not None:
        inputs["revenue"] = args.revenue
    if args.person_years is not None:
        inputs["person_years"] = args.person_years
    if args.agreement_year is not None:
        inputs["agreement_year"] = args.agreement_year
    if args.qps_met is not None:
        inputs["qps_met"] = args.qps_met == "yes"
    try:
        r = settle_one(contract, **inputs)
    except ValueError as e:
        raise InputError(str(e)) from None
    if args.json:
        _print_json({"preset": args.preset, **{k: r[k] for k in SETTLEMENT_FIELDS},
                     "forfeited_to": contract.forfeited_to})
        return 0
    terms = dict(two_sided=contract.two_sided, withhold=contract.withhold > 0,
                 quality_bonus=contract.quality_bonus is not None,
                 forfeited_to=contract.forfeited_to)
    rows: list[tuple[str, str]] = [
        ("Contract", f"{args.preset} ({'two' if contract.two_sided else 'one'}-sided)"),
        ("Benchmark per capita", _money(args.benchmark)),
        ("Expenditure per capita", _money(args.expenditure)),
        ("Assigned beneficiaries", f"{args.beneficiaries:,.0f}"),
    ]
    rows += [(f.label, _show(f.kind, r[f.name])) for f in FIELDS if applies(f, **terms)]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v:>22}")
    return 0


# -------------------------------------------------------------------------------- run
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


@contextlib.contextmanager
def _progress(total: int, desc: str, *, quiet: bool) -> Iterator[Callable[[int], Any] | None]:
    """A tqdm bar on stderr for runs over a second; none if quiet or not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="sim", file=sys.stderr, delay=1.0,
              leave=False) as bar:
        yield bar.update


def _compile_notice() -> None:
    """Say once on stderr when the numba kernels compile (the first run after install)."""
    from simsav._numba import on_first_compile

    on_first_compile(lambda: print(
        "simsav: compiling the simulation kernels for this machine (first run after "
        "install, about 15 s; cached for later runs)", file=sys.stderr, flush=True))


def _load(path: str) -> Any:
    from simsav.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except FileNotFoundError:
        raise InputError(f"scenario file not found: {path}") from None
    except ScenarioError as e:
        raise InputError(str(e)) from None


def _fmt(x: float, kind: str) -> str:
    if kind == "pct":
        return f"{x:7.2%}"
    return f"{x / 1e6:10.3f}M"


def _cmd_run(args: argparse.Namespace) -> int:
    from simsav.results import summarize, summary_table
    from simsav.simulation import simulate

    scn = _load(args.scenario)
    _compile_notice()
    if args.sims is not None and args.sims < 1:
        raise InputError(f"--sims: must be >= 1, got {args.sims}")
    if args.seed is not None and args.seed < 0:
        raise InputError(f"--seed: must be >= 0, got {args.seed}")
    n = scn.sims if args.sims is None else args.sims
    with _progress(n, scn.name, quiet=args.quiet) as update:
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
        _print_json({"scenario": scn.name, "n_sims": ds.sizes["sim"],
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
    _save_png(out / "payouts.png", lambda: plot_payout_distribution(ds))


def _save_png(path: str | Path, draw: Callable[[], Any]) -> None:
    """Draw off-screen (Agg) and write the figure of the Axes ``draw()`` returns, atomically."""
    from simsav.results import atomic_write

    def write(p: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = draw()
        ax.figure.savefig(p, dpi=120, format="png")
        plt.close(ax.figure)

    atomic_write(path, write)


# --------------------------------------------------------------------- validate, compare
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

    _compile_notice()
    tables = []
    for path in args.scenarios:
        scn = _load(path)
        n = scn.sims if args.sims is None else args.sims
        with _progress(n, scn.name, quiet=args.quiet) as update:
            ds = simulate(scn, n_sims=args.sims, seed=args.seed, progress=update)
        t = summary_table(summarize(ds))
        t.index = [f"{scn.name}: {d}" for d in t.index]
        tables.append(t)
    table = pd.concat(tables)
    if args.json:
        _print_json({"designs": {str(k): {c: float(v) for c, v in row.items()}
                                 for k, row in table.to_dict(orient="index").items()}})
        return 0
    _print_table(table, "scenario: design")
    print("(money in USD millions per year; each scenario with its own seed and sims unless "
          "--seed/--sims are given)")
    return 0


# -------------------------------------------------------------------------------- msr
def _cmd_msr(args: argparse.Namespace) -> int:
    from simsav.analysis.msr_sizing import default_spending, msr_curve

    _compile_notice()
    try:
        sizes = [int(float(x)) for x in args.sizes.split(",") if x.strip()]
    except ValueError:
        raise InputError(
            f"--sizes: a comma-separated list of integers, got {args.sizes!r}"
        ) from None
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

        _save_png(args.plot, lambda: plot_msr_curve(ds))
    keys = ["msr", "msr_low", "msr_high", "mlr", "normal", "cms_table"]
    if args.json:
        _print_json({"sizes": sizes, **{k: ds[k].values.tolist() for k in keys},
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


# ---------------------------------------------------------------------- replicate-puf
def _cmd_replicate_puf(args: argparse.Namespace) -> int:
    from simsav.analysis.replicate import replicate_puf

    source: Any = args.file
    if args.file.isdigit():
        source = int(args.file)
    elif not Path(args.file).exists():
        raise InputError(f"file not found: {args.file} (give a CMS results CSV or a year)")
    try:
        r = replicate_puf(source)
    except ValueError as e:
        raise InputError(str(e)) from None
    if args.json:
        _print_json(r)
        return 0
    print(f"PY{r['performance_year']}: {r['acos']} ACOs, recomputed from the rules")
    for key, label in (("msr_one_sided", "one-sided MSR"), ("savers", "shared savings"),
                       ("owing_losses", "shared losses")):
        g = r[key]
        share = f"{g['matched'] / g['n']:.1%}" if g["n"] else "–"
        print(f"  {label:<16} {g['matched']:>4} of {g['n']:>4} matched ({share})")
    explained = r.get("explained", {})
    for aco, why in explained.items():
        print(f"  explained {aco}: {why}")
    print(f"  unexplained: {', '.join(r['unexplained']) or 'none'}")
    return 0


# ---------------------------------------------------------------------- calibrate-puf
def calibrate_puf_cli_payload(files: list[str]) -> dict[str, Any]:
    """The JSON that ``simsav calibrate-puf FILES... --json`` prints.

    Parameters
    ----------
    files : list of str
        Paths to CMS results CSVs, or bundled performance years as strings (``"2018"``).

    Returns
    -------
    dict
        ``years``, ``n_aco_years``, ``n_acos``, ``spending``, ``claims_cv``; ``fitted``:
        the ``[aco]`` terms at ``reference_beneficiaries`` with standard errors, the size
        law and the means by year; ``bands``: per band the observed SD (and robust SD)
        against the fitted SD, the difference, the tolerance and whether it holds;
        ``tolerance``: how the tolerances are set; ``covariance_by_lag``; ``scenario``:
        the ``[aco]`` and ``[quality]`` tables and the two-sided MSR election to paste
        into a scenario; ``notes``.

    Examples
    --------
    >>> p = calibrate_puf_cli_payload(["2021", "2022"])
    >>> p["years"], [b["band"] for b in p["bands"]][-1], p["tolerance"]["sd"]
    ([2021, 2022], '>=50k', 0.005)
    """
    from simsav.analysis.calibrate import calibrate_puf, size_law_terms

    if not files:
        raise ValueError("files: give at least one CMS results CSV or performance year")
    r = calibrate_puf(list(files))
    d = r.to_dict()
    se = d["standard_errors"]
    band_keys = ("band", "n_aco_years", "median_beneficiaries", "observed_sd", "robust_sd",
                 "se_sd", "fitted_sd", "constant_model_sd", "claims_sd", "difference",
                 "tolerance", "within_tolerance", "true_savings_sd", "benchmark_error_sd")
    return {
        "years": d["years"],
        "n_aco_years": d["n_aco_years"],
        "n_acos": d["n_acos"],
        "n_pairs_within_agreement": d["n_pairs"],
        "spending": d["spending"],
        "claims_cv": d["claims_cv"],
        "fitted": {
            "reference_beneficiaries": d["reference_beneficiaries"],
            "true_savings": d["true_savings"],
            "true_savings_sd": d["true_savings_sd"],
            "true_savings_sd_se": se["true_savings_sd"],
            "benchmark_error_sd": d["benchmark_error_sd"],
            "benchmark_error_sd_se": se["benchmark_error_sd"],
            "mean_savings_rate": d["mean_savings_rate"],
            "mean_savings_rate_se": se["mean_savings_rate"],
            "mean_by_year": d["mean_by_year"],
            "true_savings_by_year": d["true_savings_by_year"],
            "variance_law": {
                "formula": "Var(s|N) = intercept + slope/N",
                "intercept": d["variance_intercept"],
                "intercept_se": se["variance_intercept"],
                "slope": d["variance_slope"],
                "slope_se": se["variance_slope"],
            },
            "persistent_law": {
                "formula": "Cov(s_t, s_t'|N), same agreement = intercept + slope/N",
                "intercept": d["persistent_intercept"],
                "intercept_se": se["persistent_intercept"],
                "slope": d["persistent_slope"],
                "slope_se": se["persistent_slope"],
            },
            "design_effect": d["design_effect"],
            "constant_model_intercept": d["constant_model_intercept"],
        },
        "bands": [{k: row[k] for k in band_keys} for row in d["bands"]],
        "tolerance": {
            "sd": d["fit_tolerance_sd"],
            "rule": "per band: 3 cluster-bootstrap standard errors of the band's observed "
                    "SD, at most 0.005 (0.5 points)",
        },
        "covariance_by_lag": d["covariance_by_lag"],
        "scenario": {
            "aco": {"true_savings": d["true_savings"], **size_law_terms(r)},
            "population": {"beneficiaries": d["reference_beneficiaries"]},
            "quality": {"distribution": "beta", "mean": d["quality_mean"],
                        "sd": d["quality_sd"]},
            "share_met_qps": d["share_met_qps"],
            "share_two_sided": d["share_two_sided"],
            "two_sided_mean_msr": d["two_sided_mean_msr"],
            "two_sided_msr_election": d["two_sided_msr_election"],
            "median_benchmark_per_capita": d["median_benchmark_per_capita"],
        },
        "notes": d["notes"],
    }


def _cmd_calibrate_puf(args: argparse.Namespace) -> int:
    for f in args.files:
        if not f.isdigit() and not Path(f).exists():
            raise InputError(f"file not found: {f} (give CMS results CSVs or years)")
    try:
        payload = calibrate_puf_cli_payload(list(args.files))
    except ValueError as e:
        raise InputError(str(e)) from None
    if args.json:
        _print_json(payload)
        return 0
    fit = payload["fitted"]
    print(f"Fitted to {payload['n_aco_years']:,} ACO-years ({payload['n_acos']:,} ACOs), "
          f"years {', '.join(map(str, payload['years']))}")
    print(f"  true savings (mean)   {fit['true_savings']:.4f}")
    law = payload["scenario"]["aco"]
    print(f"  [aco] for a scenario: true_savings_sd = {law['true_savings_sd']:.4f}, "
          f"true_savings_var_n = {law['true_savings_var_n']:.2f}, "
          f"benchmark_error_sd = {law['benchmark_error_sd']:.4f}, "
          f"benchmark_error_var_n = {law['benchmark_error_var_n']:.2f}")
    print(f"{'band':>10} {'ACO-years':>10} {'observed SD':>12} {'fitted SD':>10} {'ok':>4}")
    for b in payload["bands"]:
        print(f"{b['band']:>10} {b['n_aco_years']:>10,} {b['observed_sd']:>12.2%} "
              f"{b['fitted_sd']:>10.2%} {'yes' if b['within_tolerance'] else 'NO':>4}")
    return 0


# ------------------------------------------------------------------------------- main
_EXAMPLES = {
    "calibrate-puf": "simsav calibrate-puf 2018 2019 2020 2021 2022",
    "compare": "simsav compare scenarios/rural-aco-5k.toml scenarios/physician-group-20k.toml "
               "--sims 2000",
    "validate": "simsav validate scenarios/*.toml",
    "replicate-puf": "simsav replicate-puf 2022 --json",
    "msr": "simsav msr --sizes 1000,5000,10000,20000,50000,100000 --alpha 0.05 --plot msr.png",
    "run": "simsav run scenarios/rural-aco-5k.toml --sims 2000 --out out/",
    "presets": "simsav presets --verbose",
    "settle": (
        "simsav settle --preset mssp-track1-2012 --benchmark 12000 --expenditure 11500 "
        "--beneficiaries 20000 --quality 0.9"
    ),
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simsav",
        description="Monte Carlo pricing of ACO shared-savings contracts.",
        epilog="Examples:\n  " + "\n  ".join(_EXAMPLES.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"simsav {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, help_: str, func: Callable[[argparse.Namespace], int]) -> Any:
        sp = sub.add_parser(
            name, help=help_, description=help_,
            epilog=f"Example:\n  {_EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sp.set_defaults(func=func)
        return sp

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

    sp = add("msr", "Size the MSR/MLR by population: simulated, normal and the CMS table.",
             _cmd_msr)
    sp.add_argument("--sizes", default="1000,5000,10000,20000,50000,100000",
                    help="comma-separated beneficiary counts")
    sp.add_argument("--alpha", type=float, default=0.05,
                    help="allowed chance of a payout by luck (default 0.05)")
    sp.add_argument("--spending", action=_SpendingHelp, default=None,
                    help="(listed from the spending-model registry when shown)")
    sp.add_argument("--mean", type=float, default=11_000.0,
                    help="mean spending per beneficiary-year, USD")
    sp.add_argument("--cv", type=float, help="coefficient of variation (models that take one)")
    sp.add_argument("--truncate-quantile", type=float,
                    help="cap each beneficiary at this quantile, e.g. 0.99")
    sp.add_argument("--method", choices=["simulate", "normal", "cms-2011"], default="simulate")
    sp.add_argument("--sims", type=int, default=20_000, help="sims per size (simulate)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--years", type=int, default=1,
                    help="years reconciled together (deferred reconciliation)")
    sp.add_argument("--benchmark-error-sd", type=float, default=0.0,
                    help="ACO-level benchmark error, fraction of benchmark")
    sp.add_argument("--draws", choices=["per-beneficiary", "aggregate"],
                    default="per-beneficiary",
                    help="draw every beneficiary (default) or the aggregate fast path")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--plot", help="write a PNG of MSR against size")

    sp = add("replicate-puf",
             "Recompute every ACO's result in a CMS MSSP results file from the rules.",
             _cmd_replicate_puf)
    sp.add_argument("file", help="a CMS performance-year results CSV, or a bundled year "
                                 "(2013-2022)")
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("calibrate-puf",
             "Fit ACO-level true savings and benchmark error to CMS results files.",
             _cmd_calibrate_puf)
    sp.add_argument("files", nargs="+", help="CMS MSSP results CSVs, or bundled years")
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("presets", "List the named contract presets.", _cmd_presets)
    sp.add_argument("--verbose", "-v", action="store_true", help="show each preset's sources")
    sp.add_argument("--json", action="store_true", help="print every term as JSON")

    sp = add("settle", "Settle one ACO-year under a preset: a readable waterfall.", _cmd_settle)
    sp.add_argument("--preset", required=True, help="contract preset (see `simsav presets`)")
    sp.add_argument("--benchmark", type=float, required=True, help="benchmark per capita, USD")
    sp.add_argument("--expenditure", type=float, required=True,
                    help="expenditure per capita, USD")
    sp.add_argument("--beneficiaries", type=float, required=True,
                    help="assigned beneficiaries")
    sp.add_argument("--quality", type=float, default=1.0, help="quality score 0–1 (default 1)")
    sp.add_argument("--revenue", type=float, help="ACO participant A+B FFS revenue, USD")
    sp.add_argument("--msr", type=float, help="override the MSR (fraction, e.g. 0.02)")
    sp.add_argument("--person-years", type=float, help="person-years (default: beneficiaries)")
    sp.add_argument("--agreement-year", type=int, help="year of the agreement period (1-5)")
    sp.add_argument("--qps-met", choices=["yes", "no"],
                    help="quality performance standard met (default: from --quality)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    from simsav.contracts.terms import ContractError

    try:
        return int(args.func(args))
    except (InputError, ContractError) as e:
        print(f"simsav {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
