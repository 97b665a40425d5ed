"""``simsav replicate-puf`` and ``calibrate-puf``: CMS's public-use files, replicated and fitted."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simsav.cli.common import InputError, print_json, whole_arg

#: One example per command, shown in its ``--help``.
EXAMPLES = {
    "replicate-puf": "simsav replicate-puf 2022 --json",
    "calibrate-puf": "simsav calibrate-puf 2018 2019 2020 2021 2022",
}


def _cmd_replicate_puf(args: argparse.Namespace) -> int:
    from simsav.analysis.replicate import replicate_puf

    source: Any = args.file
    if args.file.isdigit():
        source = int(args.file)
    elif not Path(args.file).is_file():
        raise InputError(f"file not found: {args.file} (give a CMS results CSV or a year)")
    try:
        r = replicate_puf(source, performance_year=args.year)
    except ValueError as e:
        raise InputError(str(e)) from None
    if args.json:
        print_json(r)
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


def calibrate_puf_cli_payload(files: list[Any]) -> dict[str, Any]:
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
    files = [f for f in args.files if not f.isdigit()]
    for f in files:
        if not Path(f).is_file():
            raise InputError(f"file not found: {f} (give CMS results CSVs or years)")
    years = args.year or []
    if years and len(years) != len(files):
        raise InputError(f"--year: give one per file ({len(files)} file(s), {len(years)} "
                         f"year(s)); bundled years need none")
    by_file = dict(zip(files, years, strict=False))
    sources: list[Any] = [(f, by_file[f]) if f in by_file else f for f in args.files]
    try:
        payload = calibrate_puf_cli_payload(sources)
    except ValueError as e:
        raise InputError(str(e)) from None
    if args.json:
        print_json(payload)
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


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("replicate-puf",
             "Recompute every ACO's result in a CMS MSSP results file from the rules.",
             _cmd_replicate_puf)
    sp.add_argument("file", help="a CMS performance-year results CSV, or a bundled year "
                                 "(2013-2022)")
    sp.add_argument("--year", type=whole_arg(2012, 2100),
                    help="the file's performance year, when neither a column nor its name "
                         "shows it")
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("calibrate-puf",
             "Fit ACO-level true savings and benchmark error to CMS results files.",
             _cmd_calibrate_puf)
    sp.add_argument("files", nargs="+", help="CMS MSSP results CSVs, or bundled years")
    sp.add_argument("--year", type=whole_arg(2012, 2100), action="append",
                    help="a file's performance year, when neither a column nor its name "
                         "shows it: once per file, in the files' order")
    sp.add_argument("--json", action="store_true", help="print JSON")
