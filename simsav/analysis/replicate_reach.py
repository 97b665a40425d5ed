"""Replicate CMS's ACO REACH / GPDC settlements, PY2021–2023, from the rules.

:func:`replicate_reach_table` takes from each ACO-year's row (:func:`simsav.io.reach.load_reach`)
only what the settlement takes — the final benchmark, the health-equity adjustment, the
total cost of care net of stop-loss, the risk option and the performance year — settles
it with the year's preset (:func:`simsav.contracts.cmmi.reach_terms`) through
:func:`simsav.settlement.rules.settle`, and compares gross savings, shared savings or
losses before sequestration and the amount after sequestration with CMS's, to the cent.
The final benchmark already carries the discount and the quality withhold (the file
gives both the benchmark before them and after), so the contract settles it with neither.

What the data decide (:func:`replicate_reach` reports each with its evidence):

* **the corridor benchmark**: the bands are fractions of the final benchmark plus the
  health-equity adjustment (HEBA); the final benchmark alone misses ten PY2023 ACOs;
* **gross savings** ``= final benchmark + HEBA − TOT_COST_CARE_NET`` (the cost net of
  stop-loss recoveries and charges), while the file's savings rate divides by the final
  benchmark without HEBA;
* **sequestration**: 2% of positive shared savings; losses are not sequestered;
* **the quality withhold** is earned back in proportion to the quality score, additively
  with the discount: ``final = unadjusted × F × (1 − discount − withhold × (1 − Q) −
  retention)``, where ``F`` is an ACO-specific factor the file does not explain (within
  ±0.02% of its median in PY2023): :func:`benchmark_check` fits it.

Exceptions are listed with a reason: amounts printed with fewer digits than cents in the
PY2022 file (recomputed values then agree within that printed precision), a file whose
gross savings disagree with its own benchmark and cost columns, and two ACO-years paid
nothing after sequestration though their shared savings are positive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simsav.contracts.cmmi import REACH_WITHHOLD, reach_terms
from simsav.contracts.terms import make_contract
from simsav.io.reach import load_reach, printed_precision
from simsav.settlement.corridors import corridor_share
from simsav.settlement.rules import settle

__all__ = ["benchmark_check", "replicate_reach", "replicate_reach_table"]

#: Years whose file prints large amounts with fewer digits than cents (9–10 significant).
_SHORT_DIGITS = frozenset({2022})

_CENT = 0.005


def _contract(option: str, year: int) -> Any:
    """The year's preset without discount and withhold (the final benchmark has them)."""
    terms = reach_terms(option, year)
    terms.update(benchmark_discount=0.0, quality_withhold=0.0,
                 name=f"aco-reach-{option}-{year} (settlement of the final benchmark)")
    return make_contract(terms)


def _settle_rows(x: pd.DataFrame, heba: bool = True) -> pd.DataFrame:
    """Settle each row with its year's contract; signed shared savings before/after seq."""
    out = pd.DataFrame(index=x.index, columns=["gross", "shared", "after_seq"], dtype=float)
    for (option, year), g in x.groupby(["option", "perf_year"]):
        s = settle(_contract(str(option), int(year)),
                   benchmark=g["final_benchmark"].to_numpy(float),
                   expenditure=g["tot_cost_care_net"].to_numpy(float),
                   n_beneficiaries=g["bene_cnt"].fillna(1.0).clip(lower=1.0).to_numpy(float),
                   person_years=1.0, quality=g["quality"].fillna(1.0).clip(0, 1).to_numpy(float),
                   equity_adjustment=g["heba"].to_numpy(float) if heba else 0.0)
        out.loc[g.index, "gross"] = s.gross_savings
        out.loc[g.index, "shared"] = s.shared_savings - s.shared_losses
        out.loc[g.index, "after_seq"] = s.earned_savings - s.shared_losses
    return out


def replicate_reach_table(source: Any = None) -> pd.DataFrame:
    """Each ACO-year's recomputed settlement beside CMS's, with the verdict.

    Two checks per ACO-year:

    * end to end, from the inputs: gross savings, shared savings or losses before
      sequestration and the amount after it, recomputed from the final benchmark, HEBA
      and the net cost of care (``gross``, ``shared``, ``after_seq``);
    * step by step, each rule on CMS's own previous amount: the corridors applied to the
      reported gross savings (``shared_rule``), sequestration applied to the reported
      shared savings (``after_seq_rule``).

    The file prints money to the cent (PY2022: large amounts to 9–10 significant digits,
    read from each value's decimals), and CMS computes from unrounded amounts;
    ``tolerance`` is the rounding the printed inputs and the printed result carry (half a
    unit each), which an exact recomputation can differ by.

    Parameters
    ----------
    source : str, Path or DataFrame, optional
        A REACH results file (default: the bundled PY2021–2023 file) or its table from
        :func:`simsav.io.reach.load_reach`.

    Returns
    -------
    pandas.DataFrame
        Per ACO-year: ``aco_id``, ``perf_year``, ``option``; each amount recomputed, as
        reported (``*_cms``) and the difference (``*_diff``); ``tolerance``;
        ``matched`` (end to end within the tolerance), ``rules_exact`` (both steps within
        a cent) and ``reason`` for an ACO-year that is not matched or not exact.
    """
    d = source if isinstance(source, pd.DataFrame) else load_reach(source)
    got = _settle_rows(d)
    t = pd.DataFrame({"aco_id": d["aco_id"], "perf_year": d["perf_year"],
                      "option": d["option"]})
    for k, col in (("gross", "gross_savings"), ("shared", "shared_savings"),
                   ("after_seq", "shared_savings_seq")):
        t[k] = got[k].astype(float)
        t[f"{k}_cms"] = d[col].astype(float)
        t[f"{k}_diff"] = t[k] - t[f"{k}_cms"]
    rule_shared, rule_after = _rule_steps(d)
    t["shared_rule_diff"] = rule_shared - t["shared_cms"]
    t["after_seq_rule_diff"] = rule_after - t["after_seq_cms"]
    short = d["perf_year"].isin(_SHORT_DIGITS).to_numpy()
    prec = sum(np.where(short, printed_precision(d[c], from_digits=True),
                        printed_precision(d[c]))
               for c in ("final_benchmark", "tot_cost_care_net"))
    # the inputs' rounding, the reported amount's and one more step of the chain
    t["tolerance"] = prec + 2 * _CENT
    eps = 1e-6
    t["matched"] = np.logical_and.reduce(
        [t[f"{k}_diff"].abs() <= t["tolerance"] + eps for k in ("gross", "shared", "after_seq")])
    t["exact"] = np.logical_and.reduce(
        [t[f"{k}_diff"].abs() < _CENT + eps for k in ("gross", "shared", "after_seq")])
    t["rules_exact"] = ((t["shared_rule_diff"].abs() < 2 * _CENT + eps)
                        & (t["after_seq_rule_diff"].abs() < 2 * _CENT + eps))
    years = d.groupby("aco_id")["perf_year"].apply(set)
    t["reason"] = [_reason(r, years[r.aco_id]) for r in t.itertuples()]
    return t


def _rule_steps(d: pd.DataFrame) -> tuple[Any, Any]:
    """Corridors on CMS's gross savings; sequestration on CMS's shared savings."""
    shared = pd.Series(np.nan, index=d.index)
    after = pd.Series(np.nan, index=d.index)
    for (option, year), g in d.groupby(["option", "perf_year"]):
        c = _contract(str(option), int(year))
        assert c.risk_corridors is not None
        gross = g["gross_savings"].to_numpy(float)
        base = (g["final_benchmark"] + g["heba"]).to_numpy(float)
        shared[g.index] = np.sign(gross) * corridor_share(np.abs(gross), base,
                                                          c.risk_corridors.savings)
        s = g["shared_savings"].to_numpy(float)
        after[g.index] = np.where(s > 0, s * (1.0 - c.sequestration), s)
    return shared, after


def _reason(r: Any, years: set[int]) -> str:
    if r.exact and r.rules_exact:
        return ""
    biggest = max(abs(r.gross_diff), abs(r.shared_diff), abs(r.after_seq_diff))
    if r.matched and r.rules_exact:
        why = ("the PY2022 file prints large amounts to 9–10 significant digits"
               if r.tolerance > 4 * _CENT else "amounts are printed to the cent")
        return (f"{why}: the recomputed amounts agree within the rounding the printed "
                f"amounts carry (±${r.tolerance:.3f}; largest difference ${biggest:.3f})")
    if r.matched:
        return (f"end to end within the printed rounding (±${r.tolerance:.3f}), but a rule "
                f"step on CMS's own amounts differs (corridors ${r.shared_rule_diff:.3f}, "
                f"sequestration ${r.after_seq_rule_diff:.3f}): CMS's printed gross and "
                "shared savings are rounded separately from its unrounded amounts")
    if r.rules_exact and abs(r.gross_diff) > r.tolerance:
        return (f"the file's gross savings differ from its own final benchmark + HEBA − "
                f"TOT_COST_CARE_NET by ${-r.gross_diff:.2f}, beyond the printed rounding "
                f"(±${r.tolerance:.3f}); the corridors and sequestration applied to CMS's "
                "gross savings reproduce its amounts to the cent: the file's columns "
                "disagree, not the rules")
    if r.after_seq_cms == 0 and r.shared_cms > 0 and abs(r.shared_diff) <= r.tolerance:
        gone = r.perf_year < 2023 and r.perf_year + 1 not in years
        return ("shared savings match, but CMS paid nothing after sequestration: no input "
                "of the row explains it" + ("; the ACO is absent from the next year's file "
                                           "(a terminating ACO forfeits its shared savings "
                                           "[U])" if gone else ""))
    return "unexplained"


def replicate_reach(source: Any = None) -> dict[str, Any]:
    """Summarize :func:`replicate_reach_table`: matched and unexplained by year and option.

    Returns
    -------
    dict
        ``aco_years``; ``totals`` and ``by_year_option`` (per year and option): ``n``,
        ``matched`` (end to end within the printed rounding), ``exact`` (every amount
        within half a cent), ``rules_exact`` (corridors and sequestration each within a
        cent of CMS on CMS's own previous amount) and ``unexplained`` (ACO-years neither
        matched end to end nor reproduced step by step: the rules do not account for
        them); ``exceptions``: ACO-year -> reason for every one not exact;
        ``evidence``: the corridor benchmark tested against the alternatives, and
        :func:`benchmark_check`.

    Examples
    --------
    >>> r = replicate_reach()
    >>> r["aco_years"], r["totals"]["matched"], r["totals"]["rules_exact"]
    (284, 281, 281)
    >>> r["totals"]["unexplained"]
    ['D0128 PY2022', 'D0120 PY2023']
    """
    d = source if isinstance(source, pd.DataFrame) else load_reach(source)
    t = replicate_reach_table(d)

    def counts(g: pd.DataFrame) -> dict[str, Any]:
        bad = g[~g["matched"] & ~g["rules_exact"]]
        return {"n": int(len(g)), "matched": int(g["matched"].sum()),
                "exact": int(g["exact"].sum()), "rules_exact": int(g["rules_exact"].sum()),
                "unexplained": [f"{a} PY{y}" for a, y in
                                zip(bad["aco_id"], bad["perf_year"], strict=True)]}

    groups = [{"year": int(y), "option": str(o), **counts(g)}
              for (y, o), g in t.groupby(["perf_year", "option"])]
    return {
        "aco_years": int(len(t)),
        "totals": counts(t),
        "by_year_option": groups,
        "exceptions": {f"{r.aco_id} PY{r.perf_year}": r.reason
                       for r in t.itertuples() if r.reason},
        "evidence": {"corridor_benchmark": _corridor_evidence(d),
                     "benchmark": benchmark_check(d)},
    }


def _corridor_evidence(d: pd.DataFrame) -> dict[str, Any]:
    """How many ACO-years each candidate corridor benchmark reproduces to the cent.

    The shared savings are recomputed from the file's own gross savings with the bands
    measured against each candidate.
    """
    out: dict[str, Any] = {"of": int(len(d))}
    candidates = {
        "final benchmark + HEBA": d["final_benchmark"] + d["heba"],
        "final benchmark": d["final_benchmark"],
        "benchmark before discount and withhold": d["unadj_benchmark"],
    }
    for label, base in candidates.items():
        ok = 0
        for (option, year), g in d.groupby(["option", "perf_year"]):
            c = _contract(str(option), int(year))
            assert c.risk_corridors is not None
            gross = g["gross_savings"].to_numpy(float)
            kept = np.sign(gross) * corridor_share(np.abs(gross), base[g.index].to_numpy(float),
                                                   c.risk_corridors.savings)
            ok += int((np.abs(kept - g["shared_savings"].to_numpy(float)) < 2 * _CENT).sum())
        out[label] = ok
    return out


def benchmark_check(source: Any = None) -> list[dict[str, Any]]:
    """How the final benchmark follows from the benchmark before discount and withhold.

    By performance year, under ``final / unadjusted = F (1 − d − r − w (1 − Q))`` (``d``
    the discount, ``r`` the retention withhold, ``Q`` the quality score: the quality
    withhold ``w`` earned back in proportion to the score, additively with the
    discount): ``F`` from the ACO-years scoring 100, then ``w`` as the median over the
    others of what each implies; and the spread of ``F`` under this additive form and
    under the multiplicative ``F (1 − d)(1 − w (1 − Q))(1 − r)`` with the RFA's withhold
    (the form that fits leaves the smaller spread).

    Returns
    -------
    list of dict
        Per year: ``n``, ``withhold_rfa``, ``withhold_fitted`` (NaN where every score is
        100), ``F_median``, ``F_spread`` (5th–95th percentile), the residual SD of the
        additive and of the multiplicative form.
    """
    d = source if isinstance(source, pd.DataFrame) else load_reach(source)
    out = []
    for year, g in d.groupby("perf_year"):
        ratio = (g["final_benchmark"] / g["unadj_benchmark"]).to_numpy(float)
        disc = (g["discount_rate"] + g["retention_rate"]).to_numpy(float)
        gap = (1.0 - g["quality"]).to_numpy(float)
        w_rfa = REACH_WITHHOLD[int(year)]
        full = gap == 0
        f0 = float(np.median(ratio[full] / (1.0 - disc[full]))) if full.any() else float("nan")
        w_i = (1.0 - disc[~full] - ratio[~full] / f0) / gap[~full]
        w_fit = float(np.median(w_i)) if w_i.size else float("nan")
        f_add = ratio / (1.0 - disc - w_rfa * gap)
        f_mul = ratio / ((1.0 - g["discount_rate"].to_numpy(float)) * (1.0 - w_rfa * gap)
                         * (1.0 - g["retention_rate"].to_numpy(float)))
        out.append({
            "year": int(year), "n": int(len(g)), "withhold_rfa": w_rfa,
            "withhold_fitted": w_fit, "F_median": float(np.median(f_add)),
            "F_spread": [float(np.quantile(f_add, 0.05)), float(np.quantile(f_add, 0.95))],
            "residual_sd_additive": float(np.std(f_add, ddof=1)),
            "residual_sd_multiplicative": float(np.std(f_mul, ddof=1)),
        })
    return out
