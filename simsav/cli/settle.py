"""``simsav presets`` and ``simsav settle``: the contract presets, one ACO-year's settlement."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from simsav.cli.common import InputError, money, pct, print_json

#: One example per command, shown in its ``--help``.
EXAMPLES = {
    "presets": "simsav presets --verbose",
    "settle": (
        "simsav settle --preset mssp-track1-2012 --benchmark 12000 --expenditure 11500 "
        "--beneficiaries 20000 --quality 0.9"
    ),
}


def _cmd_presets(args: argparse.Namespace) -> int:
    from simsav.contracts import PRESETS

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
