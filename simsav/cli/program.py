"""``simsav program``: every ACO of a roster in one year, policies compared, the forecast test."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simsav.cli.common import InputError, compile_notice, print_json, progress

#: One example per command, shown in its ``--help``.
EXAMPLES = {
    "program": "simsav program 2022 --year 2023 --policy policies/cy2027-basic-e.toml "
               "--sims 10000",
}


def _money(x: float) -> str:
    return f"${x / 1e6:,.0f}M"


def _fmt(metric: str, x: float) -> str:
    return f"{x:,.0f}" if metric.startswith("acos") else _money(x)


def _interval(metric: str, r: dict[str, Any]) -> str:
    return f"{_fmt(metric, r['mean']):>10}  [{_fmt(metric, r['lo'])}, {_fmt(metric, r['hi'])}]"


def _brief(metric: str, r: Any) -> str:
    return f"{_fmt(metric, r['mean'])} [{_fmt(metric, r['lo'])}, {_fmt(metric, r['hi'])}]"


def _print_program(ds: Any, interval: float) -> None:
    from simsav.analysis.puf_panel import BAND_EDGES, band_labels
    from simsav.program.summary import METRICS, policy_costs, program_summary, shared_risk

    s = program_summary(ds, interval=interval)
    pct = f"{interval:.0%}"
    print(f"PY{ds.attrs['performance_year']}: {ds.sizes['aco']} ACOs, "
          f"{float(ds['beneficiaries'].sum()) / 1e6:.1f} million beneficiaries "
          f"({ds.attrs['roster']}); {ds.sizes['sim']:,} sims, seed {ds.attrs['seed']}; "
          f"calibrated on PY{ds.attrs['calibration_years'].replace(',', ', ')}")
    sd = float(ds.attrs["year_effect_sd"])
    print(f"  year effect (mean savings rate past the first year): "
          f"{float(ds.attrs['year_effect_forecast']):.2%}"
          + (f", sd {sd:.2%}" if sd >= 0 else ", sd unbounded (few years)"))
    base = s[(s["policy"] == "baseline") & (s["by"] == "all")]
    head = "the roster's own contracts"
    print(f"\n  {head:<34} {'mean':>10}  {pct} interval")
    for _, r in base.iterrows():
        print(f"  {METRICS[r['metric']]:<34} {_interval(r['metric'], r)}")
    order = {"size_band": band_labels(BAND_EDGES)}
    for by in ("track", "size_band"):
        sub = s[(s["policy"] == "baseline") & (s["by"] == by)]
        groups = [g for g in order.get(by, sorted(set(sub["group"]))) if g in set(sub["group"])]
        w = max([14, *(len(g) + 2 for g in groups)])
        print(f"\n  {'by ' + by.replace('_', ' '):<{w}}{'ACOs':>5}   {'earning':<20}"
              f"{'shared savings earned':<28}net savings to the payer")
        for g in groups:
            m = sub[sub["group"] == g].set_index("metric")
            cells = [_brief("acos", m.loc["acos_earning"]), _brief("usd", m.loc["total_earned"]),
                     _brief("usd", m.loc["net_savings"])]
            print(f"  {g:<{w}}{int(m['acos'].iloc[0]):>5}   {cells[0]:<20}{cells[1]:<28}"
                  f"{cells[2]}")
    costs = policy_costs(ds, interval=interval)
    if len(costs) > 1:
        print(f"\n  {'policy':<32}{'net paid to ACOs':<32}difference from the roster's")
        for _, r in costs.iterrows():
            cost = {"mean": r["cost_mean"], "lo": r["cost_lo"], "hi": r["cost_hi"]}
            diff = {"mean": r["difference_mean"], "lo": r["difference_lo"],
                    "hi": r["difference_hi"]}
            d = _brief("usd", diff) if r["policy"] != "baseline" else ""
            print(f"  {r['policy']:<32}{_brief('usd', cost):<32}{d}".rstrip())
        print("  (the same draws for every policy: the difference is far surer than either cost)")
    risk = shared_risk(ds).set_index("metric")
    n = risk.loc["net_savings"]
    print(f"\n  shared risk: the shocks every ACO shares make {n['common_share']:.0%} of the "
          f"variance of net savings (SD {_money(n['sd'])}; {_money(n['sd_without_common'])} "
          "if ACOs shared none)")


def _print_backtest(r: Any) -> None:
    t = r.intervals
    print(f"Forecast test: each year from the years before it ({r.settings['n_sims']:,} sims, "
          f"seed {r.settings['seed']}, year effect: {r.settings['common_shock']})")
    head = f"{r.interval:.0%} interval"
    print(f"  {'year':<6}{'metric':<28}{'actual':>10}  {'forecast':>10}  {head:<22}in?   PIT")
    labels = {"acos_earning": "ACOs earning", "total_earned": "shared savings earned",
              "net_savings": "net savings to the payer"}
    for _, x in t.iterrows():
        m = x["metric"]
        iv = f"[{_fmt(m, x['lo'])}, {_fmt(m, x['hi'])}]"
        print(f"  {x['year']:<6}{labels[m]:<28}{_fmt(m, x['actual']):>10}  "
              f"{_fmt(m, x['mean']):>10}  {iv:<22}{'yes' if x['covered'] else 'NO':<4}"
              f"  {x['pit']:.2f}")
    print(f"  coverage: {int(t['covered'].sum())} of {len(t)} ({r.coverage:.0%}; nominal "
          f"{r.interval:.0%})")
    print(f"\n  P(earn), Brier score (lower is better): {'model':>8} {'last-year rate':>15} "
          f"{'earned last year':>17}")
    for _, s in r.scores.iterrows():
        print(f"  {int(s['year']):<40}{s['brier']:>8.3f} {s['brier_rate']:>15.3f} "
              f"{s['brier_last_year']:>17.3f}")
    d = r.to_dict()["pooled_brier"]
    print(f"  {'pooled':<40}{d['model']:>8.3f} {d['rate']:>15.3f} {d['last_year']:>17.3f}"
          f"   beats both: {'yes' if r.beats_baselines else 'NO'}")
    print("\n  reliability (pooled): decile  forecast  observed  ACOs")
    for _, x in r.reliability.iterrows():
        print(f"  {'':<22}{int(x['decile']):>6}  {x['forecast']:>8.2f}  {x['observed']:>8.2f}"
              f"  {int(x['acos']):>4}")


def _cmd_program(args: argparse.Namespace) -> int:
    from simsav.contracts.terms import ContractError
    from simsav.program.policy import PolicyError
    from simsav.program.roster import RosterError

    if not 0.0 < args.interval < 1.0:
        raise InputError(f"--interval: must be in (0, 1), got {args.interval}")
    if args.sims < 1:
        raise InputError(f"--sims: must be >= 1, got {args.sims}")
    if args.seed < 0:
        raise InputError(f"--seed: must be >= 0, got {args.seed}")
    try:
        if args.backtest:
            return _backtest(args)
        if args.roster is None:
            raise InputError("give a ROSTER (a CMS results file, a plain roster CSV or a "
                             "bundled year), or --backtest")
        return _simulate(args)
    except ContractError:
        raise
    except (RosterError, PolicyError, ValueError) as e:
        raise InputError(str(e)) from None


def _backtest(args: argparse.Namespace) -> int:
    from simsav.program.backtest import BACKTEST_YEARS, backtest_program

    if args.roster is not None or args.policy:
        raise InputError("--backtest takes no ROSTER or --policy: it forecasts the bundled "
                         "years (--years)")
    r = backtest_program(args.years or BACKTEST_YEARS, n_sims=args.sims, seed=args.seed,
                         interval=args.interval, draws=args.draws,
                         common_shock=args.common_shock)
    if args.json:
        print_json(r.to_dict())
    else:
        _print_backtest(r)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from simsav.program.roster import read_roster
    from simsav.program.simulate import simulate_program
    from simsav.program.summary import aco_summary, program_report

    if args.years:
        raise InputError("--years goes with --backtest; use --year for the year simulated")
    roster: Any = args.roster
    if not (roster.isdigit() or Path(roster).exists()):
        raise InputError(f"roster file not found: {roster} (give a CSV or a bundled year)")
    r = read_roster(roster)
    if r.year is None and args.year is None:
        raise InputError("--year: a plain roster has no performance year; give the year to "
                         "simulate")
    if args.draws == "per-beneficiary":
        compile_notice()
    with progress(args.sims, "program", quiet=args.quiet or args.json) as update:
        ds = simulate_program(r, year=args.year, policies=args.policy or (),
                              n_sims=args.sims, seed=args.seed, draws=args.draws,
                              scheduler=args.dask, common_shock=args.common_shock,
                              progress=update)
    if args.out:
        from simsav.results.files import save_dataset

        save_dataset(ds, args.out)
    if args.acos:
        from simsav.results import atomic_write

        table = aco_summary(ds, interval=args.interval)
        atomic_write(args.acos, lambda p: table.to_csv(p, float_format="%.6g"))
    if args.json:
        print_json(program_report(ds, interval=args.interval))
        return 0
    _print_program(ds, args.interval)
    return 0


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("program",
             "Simulate every ACO of a roster for one year, with the shocks they share; "
             "compare policies on the same draws; or run the forecast test.",
             _cmd_program)
    sp.add_argument("roster", nargs="?", default=None,
                    help="a CMS MSSP results CSV (its outcomes are ignored), a plain roster CSV "
                         "(aco_id, beneficiaries, benchmark_per_capita, track or preset, ...), "
                         "or a bundled year (2013-2022)")
    sp.add_argument("--year", type=int, default=None,
                    help="performance year simulated (default the roster's)")
    sp.add_argument("--policy", action="append", default=None, metavar="POLICY",
                    help="a counterfactual settled on the same draws: a preset name, a policy "
                         "TOML, or a scenario TOML (each design for every ACO); repeatable")
    sp.add_argument("--sims", type=int, default=10_000, help="number of sims (default 10000)")
    sp.add_argument("--seed", type=int, default=2026, help="seed (default 2026)")
    sp.add_argument("--draws", choices=("aggregate", "per-beneficiary"), default="aggregate",
                    help="claims noise drawn in aggregate (default) or every beneficiary")
    sp.add_argument("--dask", nargs="?", const="local", default=None, metavar="ADDRESS",
                    help="run the blocks as dask tasks: a local cluster, or the scheduler at "
                         "ADDRESS (tcp://host:8786)")
    sp.add_argument("--common-shock", choices=("trend", "random-walk"), default="trend",
                    help="how the year effect is forecast (default: drift + year shock)")
    sp.add_argument("--interval", type=float, default=0.9,
                    help="central share of sims in the intervals (default 0.9)")
    sp.add_argument("--out", default=None, help="write the Dataset (sim x aco x policy) to "
                                                "this netCDF file")
    sp.add_argument("--acos", default=None, help="write per-ACO P(earn), P(owe) and expected "
                                                 "payment to this CSV")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.add_argument("--backtest", action="store_true",
                    help="the forecast test: each bundled year from the years before it")
    sp.add_argument("--years", type=int, nargs="+", default=None,
                    help="years of --backtest (default 2019 2020 2021 2022)")

