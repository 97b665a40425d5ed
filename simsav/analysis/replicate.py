"""Replicate CMS's settlement of every ACO in an MSSP public-use file from the rules.

:func:`replicate_puf_table` takes only what the settlement rules take from each ACO's row
of a results file (:func:`simsav.io.puf.load_puf`), settles each track with its program-year
contract (:func:`simsav.contracts.puf_contract`) and :func:`simsav.settlement.rules.settle`,
and compares the result with what CMS reported, with a checkable reason for each ACO that
differs. :func:`replicate_puf` summarizes it. This is rung 3 of the validation ladder: the
rules against CMS's own results, every bundled year.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simsav.contracts import PHE_SHARE_OF_YEAR, Contract, puf_contract
from simsav.contracts.msr import cms_msr
from simsav.io.puf import load_puf, normalize_puf
from simsav.settlement.rules import settle

__all__ = ["replicate_puf", "replicate_puf_table"]

#: Revenue-based loss limits (share of ACO participants' A+B FFS revenue) by track.
_REVENUE_LIMITED = frozenset({"track1plus", "basic_c", "basic_d", "basic_e"})

#: Agreements starting from this date may share below the MSR when the ACO is low
#: revenue, at half the rate (42 CFR 425.605(h)).
_LOW_REVENUE_FROM = pd.Timestamp("2024-01-01")


def _as_puf(source: Any, performance_year: int | None) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        if {"track", "performance_year", "n_ab", "earned"} <= set(source.columns):
            df = source
            if performance_year is not None:
                df = df[df["performance_year"] == performance_year]
        else:  # a raw CMS table read by the caller
            raw = source.astype("string").fillna("")
            df = normalize_puf(raw, performance_year=performance_year, crosswalk=None)
    else:
        df = load_puf(source, performance_year=performance_year)
    years = sorted(set(df["performance_year"].dropna().astype(int)))
    if len(years) != 1:
        raise ValueError(
            f"performance_year: replication needs one performance year, the data has {years}; "
            "pass performance_year="
        )
    return df.reset_index(drop=True)


def _decimals(x: float) -> int:
    """Decimal places ``x`` was written with (at most 7)."""
    for d in range(7):
        if abs(x * 10**d - round(x * 10**d)) < 1e-7:
            return d
    return 7


def _bool_array(col: pd.Series, default: np.ndarray) -> np.ndarray:
    vals = col.astype("boolean")
    return np.where(vals.isna().to_numpy(), default, vals.fillna(False).to_numpy(dtype=bool))


def _rule_inputs(df: pd.DataFrame, year: int) -> pd.DataFrame:
    """The settlement inputs of each ACO, as the rules take them."""
    q = df["quality_score"].to_numpy(dtype=float)
    start = pd.to_datetime(df["current_start_date"])
    # year of the agreement: a 2012 start's first performance year is 2013
    first_py = np.where(start.dt.year.eq(2012), 2013, start.dt.year.fillna(year))
    agreement_year = np.clip(year - first_py + 1, 1, None).astype(float)
    first_agreement = ~(df["agreement_period_num"].to_numpy(dtype=float) > 1)
    # pay-for-reporting: the first performance year of a first agreement scores full
    # quality for complete reporting (42 CFR 425.502(a)); PUFs leave the score blank
    p4r_fill = np.isnan(q) & (agreement_year == 1) & first_agreement
    q = np.where(p4r_fill, 1.0, q)
    low_revenue = (
        df["rev_exp_cat"].astype("string").str.lower().str.startswith("low").fillna(False)
        & (start >= _LOW_REVENUE_FROM).fillna(False)
    ).to_numpy(dtype=bool)
    out = pd.DataFrame(
        {
            "aco_id": _ids(df).to_numpy(),
            "track": df["track"].astype("string").fillna("").to_numpy(dtype=object),
            "n": df["n_ab"].to_numpy(dtype=float),
            "benchmark": df["benchmark_total"].to_numpy(dtype=float),
            "expenditure": df["expenditure_total"].to_numpy(dtype=float),
            "quality": q,
            "quality_filled_p4r": p4r_fill,
            "qps_met": _bool_array(df["met_qps"], np.where(np.isnan(q), False, q > 0)),
            "alt_qps_met": _bool_array(df["met_alt_qps"], np.zeros(len(df), bool)),
            "agreement_year": agreement_year,
            "low_revenue": low_revenue,
            "msr_reported": df["msr"].to_numpy(dtype=float),
            "euc_dollars": np.abs(df["euc_adjustment"].to_numpy(dtype=float)),
            "reported": df["earned"].to_numpy(dtype=float),
            "one_sided": ~df["two_sided"].astype("boolean").fillna(True).to_numpy(dtype=bool),
        }
    )
    out["valid"] = (
        out["track"].ne("")
        & out["n"].gt(0)
        & out["benchmark"].gt(0)
        & out["expenditure"].ge(0)
        & out["quality"].between(0.0, 1.0)
    )
    return out


def _ids(df: pd.DataFrame) -> pd.Series:
    ids = df["aco_id"].astype("string")
    if "aco_num" in df.columns:
        ids = ids.fillna(df["aco_num"].astype("string"))
    rows = pd.Series([f"row{i}" for i in range(len(df))], index=df.index, dtype="string")
    return ids.fillna(rows)


def _settle_track(x: pd.DataFrame, c: Contract, year: int, q_half: float) -> dict[str, Any]:
    """Settle the ACOs of one track; computed results and the brackets for explanations."""

    def run(quality: np.ndarray, euc: np.ndarray | float) -> Any:
        kw: dict[str, Any] = dict(
            benchmark=(x["benchmark"] / x["n"]).to_numpy(),
            expenditure=(x["expenditure"] / x["n"]).to_numpy(),
            n_beneficiaries=x["n"].to_numpy(),
            quality=np.clip(quality, 0.0, 1.0),
            agreement_year=x["agreement_year"].to_numpy(),
            euc_fraction=euc,
            low_revenue=x["low_revenue"].to_numpy(),
        )
        # before 2021, missing the quality standard makes the sharing rate 0 and the loss
        # rate the track's ceiling; from 2021 the alternative standard may apply
        kw["qps_met"] = x["qps_met"].to_numpy()
        kw["alt_qps_met"] = x["alt_qps_met"].to_numpy()
        if c.two_sided:  # the elected MSR/MLR, as CMS reports it
            msr = x["msr_reported"].to_numpy()
            elected = np.where(np.isnan(msr), cms_msr(x["n"].to_numpy()), msr)
            kw.update(msr=elected, mlr=elected)
        return settle(c, **kw)

    def net(s: Any) -> np.ndarray:
        return np.asarray(s.earned_savings - s.shared_losses)

    q = x["quality"].to_numpy()
    capped = run(q, 0.0).shared_losses
    # EUC share: the reported DisAdj over the capped losses, and at least the PHE's share
    # of the year (a lower ratio means CMS's cap was below ours: a revenue-based limit)
    ratio = np.divide(
        np.nan_to_num(x["euc_dollars"].to_numpy()),
        capped,
        out=np.zeros_like(capped),
        where=capped > 0,
    )
    euc = np.clip(np.maximum(ratio, PHE_SHARE_OF_YEAR.get(year, 0.0)), 0.0, 1.0)
    s = run(q, euc)
    out: dict[str, Any] = {
        "computed": net(s),
        "msr_computed": s.msr,
        "losses_after_cap": capped,
        "q_low": np.full(len(x), np.nan),
        "q_high": np.full(len(x), np.nan),
    }
    if c.quality_method == "scaled":  # published scores are rounded: bracket the truth
        lo, hi = net(run(q - q_half, euc)), net(run(q + q_half, euc))
        out["q_low"], out["q_high"] = np.minimum(lo, hi), np.maximum(lo, hi)
    return out


def replicate_puf_table(source: Any, *, performance_year: int | None = None) -> pd.DataFrame:
    """Recompute every ACO's result from the rules; one row per ACO.

    Inputs are only what the rules take: assigned beneficiaries, benchmark and
    expenditure totals, track and performance year, quality score and whether the quality
    standards were met, the elected MSR/MLR of two-sided ACOs (``MinSavPerc``), the year of
    the agreement, and the extreme-and-uncontrollable-circumstances adjustment (``DisAdj``,
    or the COVID-19 PHE's share of the year,
    :data:`simsav.contracts.PHE_SHARE_OF_YEAR`). The reported
    sharing and loss rates and ``EarnSaveLoss`` are never inputs. Each track is settled
    with :func:`simsav.contracts.puf_contract` and :func:`simsav.settlement.rules.settle`.

    Parameters
    ----------
    source : int, path, or DataFrame
        As for :func:`simsav.io.puf.load_puf`, or a table it returned.
    performance_year : int, optional
        The year to replicate, for a multi-year table.

    Returns
    -------
    pandas.DataFrame
        One row per ACO: ``aco_id``, ``performance_year``, ``track``, ``contract``,
        ``group`` ("savers", "owing_losses" or "no_payment", by the reported
        ``EarnSaveLoss``), ``reported`` and ``computed`` (dollars, negative = losses
        owed), ``matched`` (within 0.5% or $1), ``one_sided``, ``msr_reported``,
        ``msr_computed``, ``msr_matched`` (within 0.0005), ``quality_filled_p4r``, and
        ``reason``: why an unmatched ACO differs, where the data show it (empty when
        unexplained).
    """
    df = _as_puf(source, performance_year)
    year = int(df["performance_year"].iloc[0])
    x = _rule_inputs(df, year)
    published = df["quality_score"].dropna().to_numpy(dtype=float)
    q_decimals = max((_decimals(v) for v in published), default=4)
    x = _settle_tracks(x, year, q_decimals)
    x["tolerance"] = np.maximum(1.0, 0.005 * x["reported"].abs())
    x["matched"] = x["valid"] & (x["computed"] - x["reported"]).abs().le(x["tolerance"])
    x["msr_matched"] = (x["msr_computed"] - x["msr_reported"]).abs().le(0.0005)
    rep = x["reported"]
    x["group"] = np.where(rep > 0, "savers", np.where(rep < 0, "owing_losses", "no_payment"))
    x["reason"] = _reasons(x, df, q_decimals)
    x["performance_year"] = year
    return x[
        [
            "aco_id",
            "performance_year",
            "track",
            "contract",
            "group",
            "reported",
            "computed",
            "matched",
            "one_sided",
            "msr_reported",
            "msr_computed",
            "msr_matched",
            "quality_filled_p4r",
            "reason",
        ]
    ]


def _settle_tracks(x: pd.DataFrame, year: int, q_decimals: int) -> pd.DataFrame:
    """``x`` with each valid ACO's ``contract`` and its results (:func:`_settle_track`)."""
    computed = pd.DataFrame(
        np.nan,
        index=x.index,
        columns=["computed", "msr_computed", "losses_after_cap", "q_low", "q_high"],
    )
    x["contract"] = ""
    for t in sorted(set(x.loc[x["valid"], "track"])):
        rows = x.index[x["valid"] & x["track"].eq(t)]
        c = puf_contract(t, year)
        x.loc[rows, "contract"] = c.name
        res = _settle_track(x.loc[rows], c, year, 0.5 * 10.0**-q_decimals)
        for k, v in res.items():
            computed.loc[rows, k] = v
    return pd.concat([x, computed], axis=1)


def _reasons(x: pd.DataFrame, df: pd.DataFrame, q_decimals: int) -> list[str]:
    """Each ACO's reasons (:func:`_explain`), joined by "; " (empty when none)."""
    context = df[["rev_exp_cat", "mid_year_termination", "final_share_rate", "met_qps"]]
    for name in ("rev_loss_limit", "adv_pay_recoup", "aip_recoup"):
        if name in df.columns:
            context = context.assign(**{name: df[name]})
    return [
        "; ".join(_explain(r, ctx, q_decimals))
        for r, (_, ctx) in zip(x.itertuples(index=False), context.iterrows(), strict=True)
    ]


def _explain(r: Any, ctx: pd.Series, q_decimals: int) -> list[str]:
    """Specific, checkable reasons why an ACO's computed result differs from CMS's."""
    if not r.valid:
        return ["inputs missing or out of range in the PUF (track, N_AB, totals or QualScore)"]
    out: list[str] = []
    if r.one_sided and not r.msr_matched and r.n < 500:
        out.append(
            "MSR: below 500 beneficiaries CMS's table gives only a floor (>= 12.2%); "
            f"reported {r.msr_reported:.4f}"
        )
    if r.matched:
        return out
    rep, comp = r.reported, r.computed
    if r.q_low - r.tolerance <= rep <= r.q_high + r.tolerance:  # NaN compares False
        out.append(
            f"quality rounding: QualScore is published to {q_decimals} decimals "
            f"({r.quality:.{q_decimals}f}); a score within ±{0.5 * 10.0**-q_decimals:g} of it "
            "reproduces the reported amount"
        )
    revenue_limit = _revenue_limit_reason(r, ctx)
    if revenue_limit:
        out.append(revenue_limit)
    termination = _termination_reason(rep, comp) if bool(ctx["mid_year_termination"]) else ""
    if termination:
        out.append(termination)
    for name in ("adv_pay_recoup", "aip_recoup"):  # advance payments recouped from savings
        recoup = pd.to_numeric(ctx.get(name, np.nan), errors="coerce")
        if comp > 0 and recoup > 0 and abs(comp - recoup - rep) <= r.tolerance:
            out.append(f"{name}: ${recoup:,.0f} of advance payments recouped from the savings")
    if rep == 0 and comp > 0 and ctx["final_share_rate"] == 0 and pd.isna(ctx["met_qps"]):
        out.append(
            "quality standard not met: this PUF has no Met_QPS column (before PY2016), and "
            "CMS's FinalShareRate is 0"
        )
    return out


def _revenue_limit_reason(r: Any, ctx: pd.Series) -> str:
    """Why owed losses are below ours: a revenue-based loss limit the data imply, or ""."""
    rep, comp = r.reported, r.computed
    flag = ctx.get("rev_loss_limit", pd.NA)  # 2018-2021: which loss limit applies
    revenue_based = bool(pd.isna(flag)) or bool(flag)
    if not (rep < 0 and comp < rep and r.track in _REVENUE_LIMITED and revenue_based):
        return ""
    pct = {"track1plus": 0.08, "basic_c": 0.02, "basic_d": 0.04, "basic_e": 0.08}[r.track]
    cap = -rep + (0.0 if np.isnan(r.euc_dollars) else r.euc_dollars)
    revenue = cap / pct
    share = revenue / r.expenditure
    cat = "" if pd.isna(ctx["rev_exp_cat"]) else str(ctx["rev_exp_cat"])
    consistent = (
        not cat
        or (cat.lower().startswith("low") and share < 0.35)
        or (cat.lower().startswith("high") and share >= 0.35)
    )
    if not (cap < r.losses_after_cap and consistent):
        return ""
    return (
        f"revenue-based loss limit ({pct:.0%} of ACO participants' A+B revenue, which "
        "the PUF lacks) binds below the benchmark-based one: implied revenue "
        f"${revenue:,.0f} = {share:.0%} of assigned-beneficiary expenditure"
        + (f", consistent with Rev_Exp_Cat '{cat}'" if cat else "")
    )


def _termination_reason(rep: float, comp: float) -> str:
    """Why a mid-year terminating ACO's result differs from ours, or ""."""
    if comp > 0 and rep == 0:
        return (
            "mid-year termination: an ACO that terminates its agreement during the year "
            "may not share savings for it (42 CFR 425.221(b)(2))"
        )
    if comp < rep <= 0:
        return (
            "mid-year termination: shared losses prorated to the months in the program "
            f"(reported/computed = {rep / comp:.3f} ≈ {12.0 * rep / comp:.1f} of 12 months)"
        )
    return ""


def replicate_puf(source: Any, *, performance_year: int | None = None) -> dict[str, Any]:
    """Recompute every ACO's result from the rules and compare it with CMS's.

    See :func:`replicate_puf_table` for the inputs used and the rules applied.

    Parameters
    ----------
    source : int, path, or DataFrame
        As for :func:`simsav.io.puf.load_puf`, or a table it returned.
    performance_year : int, optional
        The year to replicate, for a multi-year table.

    Returns
    -------
    dict
        JSON-able summary::

            {"performance_year": Y, "acos": n,
             "msr_one_sided": {"n": a, "matched": b},   # sliding-scale MSR vs MinSavPerc
             "savers": {"n": c, "matched": d},          # reported EarnSaveLoss > 0
             "owing_losses": {"n": e, "matched": f},    # reported EarnSaveLoss < 0
             "unexplained": [ids],
             "no_payment": {"n": g, "matched": h},      # reported 0
             "explained": {id: reason}}

        ``matched`` counts ACOs within 0.5% (or $1) of the reported amount (MSR: within
        0.0005). ``unexplained`` lists unmatched ACOs no data-backed reason accounts for.

    Examples
    --------
    >>> r = replicate_puf(2022)
    >>> r["msr_one_sided"] == {"n": 198, "matched": 198}, r["unexplained"]
    (True, [])
    """
    t = replicate_puf_table(source, performance_year=performance_year)
    year = int(t["performance_year"].iloc[0]) if len(t) else performance_year

    def count(mask: pd.Series, ok: pd.Series) -> dict[str, int]:
        return {"n": int(mask.sum()), "matched": int((mask & ok).sum())}

    bad_amount = ~t["matched"]
    bad_msr = t["one_sided"] & ~t["msr_matched"]
    unmatched = bad_amount | bad_msr
    explained = {
        str(a): str(r)
        for a, r, u in zip(t["aco_id"], t["reason"], unmatched, strict=True)
        if u and r
    }
    unexplained = sorted(
        str(a) for a, r, u in zip(t["aco_id"], t["reason"], unmatched, strict=True) if u and not r
    )
    return {
        "performance_year": year,
        "acos": len(t),
        "msr_one_sided": count(t["one_sided"], t["msr_matched"]),
        "savers": count(t["group"] == "savers", t["matched"]),
        "owing_losses": count(t["group"] == "owing_losses", t["matched"]),
        "unexplained": unexplained,
        "no_payment": count(t["group"] == "no_payment", t["matched"]),
        "explained": explained,
    }
