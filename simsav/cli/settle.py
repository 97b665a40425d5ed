"""``simsav presets`` and ``simsav settle``: the contract presets, one ACO-year's settlement."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from simsav.cli.common import (
    InputError,
    money,
    number_arg,
    parse_terms,
    pct,
    print_json,
    whole_arg,
)

#: One example per command, shown in its ``--help``.
EXAMPLES = {
    "presets": "simsav presets --verbose",
    "settle": (
        "simsav settle --preset mssp-track1-2012 --benchmark 12000 --expenditure 11500 "
        "--beneficiaries 20000 --quality 0.9"
    ),
}


def _print_sources(as_json: bool) -> int:
    from simsav.contracts.sources import RELIABILITY, SOURCES

    if as_json:
        print_json({"reliability": RELIABILITY,
                    "sources": {k: s._asdict() for k, s in SOURCES.items()}})
        return 0
    print("Source tags: [LETTER SOURCE], e.g. [V 42 CFR 425.604(b)], [S RF2026], [D HDM], "
          "[U: assumed].\nA regulation is cited by its section; other sources by the ids "
          "below.\n\nReliability")
    for k, v in RELIABILITY.items():
        print(f"  {k}  {v}")
    print("\nSources")
    width = max(len(k) for k in SOURCES)
    for k, src in SOURCES.items():
        print(f"  {k:<{width}}  {src.citation}\n  {'':<{width}}  {src.where}")
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    from simsav.contracts import PRESETS

    if args.sources:
        return _print_sources(args.json)
    if args.json:
        print_json({name: c.model_dump(mode="json", by_alias=True)
                    for name, c in PRESETS.items()})
        return 0
    for name, c in PRESETS.items():
        side = "two-sided" if c.two_sided else "one-sided"
        msr = c.msr if isinstance(c.msr, str) else (
            f"{c.msr:.1%}" if isinstance(c.msr, float) else "table")
        share = (f"max share {c.max_sharing_rate:4.0%}" if c.risk_corridors is None else
                 f"corridors {c.risk_corridors.savings[0].share:4.0%} first band")
        print(f"{name:32s} {side:9s}  {share}  MSR {msr}")
        if args.verbose:
            print(f"    {c.description}\n")
    if args.verbose:
        print("Source tags are keyed by `simsav presets --sources`.")
    return 0


def _show(kind: str, x: Any) -> str:
    if kind == "money":
        return money(x)
    if kind == "rate":
        return pct(x)
    if kind == "flag":
        return "yes" if x else "no"
    return str(x)


def _cmd_settle(args: argparse.Namespace) -> int:
    from simsav.contracts import get_preset
    from simsav.settlement.fields import FIELDS, SETTLEMENT_FIELDS, applies_to
    from simsav.settlement.rules import settle_one

    contract = get_preset(args.preset)
    terms = parse_terms(args.term).get("", {})
    if args.msr is not None:
        terms["msr"] = args.msr
    if terms:
        contract = contract.with_terms(**terms)
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
    if args.low_revenue:
        inputs["low_revenue"] = True
    if args.euc_fraction is not None:
        inputs["euc_fraction"] = args.euc_fraction
    try:
        r = settle_one(contract, **inputs)
    except ValueError as e:
        raise InputError(str(e)) from None
    if args.json:
        print_json({"preset": args.preset, **{k: r[k] for k in SETTLEMENT_FIELDS},
                     "forfeited_to": contract.forfeited_to})
        return 0
    rows: list[tuple[str, str]] = [
        ("Contract", f"{args.preset} ({'two' if contract.two_sided else 'one'}-sided)"),
        ("Benchmark per capita", money(args.benchmark)),
        ("Expenditure per capita", money(args.expenditure)),
        ("Assigned beneficiaries", f"{args.beneficiaries:,.0f}"),
    ]
    rows += [(f.label, _show(f.kind, r[f.name])) for f in FIELDS if applies_to(f, contract)]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v:>22}")
    return 0


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("presets", "List the named contract presets.", _cmd_presets)
    sp.add_argument("--verbose", "-v", action="store_true", help="show each preset's sources")
    sp.add_argument("--sources", action="store_true",
                    help="print the key to the source tags ([V], [S], RF2026, HDM, ...)")
    sp.add_argument("--json", action="store_true", help="print every term as JSON")

    sp = add("settle", "Settle one ACO-year under a preset: a readable waterfall.", _cmd_settle)
    sp.add_argument("--preset", required=True, help="contract preset (see `simsav presets`)")
    money = number_arg(0, 1e12)
    sp.add_argument("--benchmark", type=number_arg(0, 1e12, lo_open=True), required=True,
                    help="benchmark per capita, USD")
    sp.add_argument("--expenditure", type=money, required=True,
                    help="expenditure per capita, USD")
    sp.add_argument("--beneficiaries", type=whole_arg(1, 20_000_000), required=True,
                    help="assigned beneficiaries")
    sp.add_argument("--quality", type=number_arg(0, 1), default=1.0,
                    help="quality score 0–1 (default 1)")
    sp.add_argument("--revenue", type=number_arg(0, 1e15),
                    help="ACO participant A+B FFS revenue, USD")
    sp.add_argument("--msr", type=number_arg(0, 1), help="override the MSR (fraction, e.g. 0.02)")
    sp.add_argument("--person-years", type=number_arg(0, 20_000_000, lo_open=True),
                    help="person-years (default: beneficiaries)")
    sp.add_argument("--agreement-year", type=whole_arg(1, 10),
                    help="year of the agreement period (1-10)")
    sp.add_argument("--qps-met", choices=["yes", "no"],
                    help="quality performance standard met (default: from --quality)")
    sp.add_argument("--low-revenue", action="store_true",
                    help="a low-revenue ACO (may share below the MSR at a reduced rate)")
    sp.add_argument("--euc-fraction", type=number_arg(0, 1),
                    help="share of losses forgiven for extreme and uncontrollable "
                         "circumstances")
    sp.add_argument("--term", action="append", metavar="KEY=VALUE",
                    help="any contract term, e.g. --term benchmark_discount=0.03 or --term "
                         "alternative_standard=0.4 (repeatable; values as in TOML)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
