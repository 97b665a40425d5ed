"""What the program will pay, how sure we can be, and what a rule change would cost.

Summaries of a :func:`~simsav.program.simulate.simulate_program` Dataset:

* :func:`program_summary` — count of ACOs earning and owing, shared savings earned and
  losses owed, the program's net cost and the net savings to the payer, for the whole
  program, by track and by size band, each with its mean and an interval over sims;
* :func:`aco_summary` — per ACO: P(earn), P(owe), expected payment;
* :func:`policy_costs` — each policy's cost and its difference from the roster's own
  contracts on the same draws (the difference's interval is far tighter than either
  total's: common random numbers);
* :func:`shared_risk` — how much of the program's spread comes from the shocks every ACO
  shares: the same draws settled with and without the common shock.

Money in USD; intervals are equal-tailed quantiles over sims (90% by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "METRICS",
    "aco_summary",
    "policy_costs",
    "program_report",
    "program_summary",
    "shared_risk",
]

#: Program metrics: name -> label.
METRICS: dict[str, str] = {
    "acos_earning": "ACOs earning shared savings",
    "acos_owing": "ACOs owing shared losses",
    "total_earned": "shared savings earned (USD)",
    "total_owed": "shared losses owed (USD)",
    "program_cost": "net paid to ACOs (USD)",
    "net_savings": "net savings to the payer (USD)",
}


def _check_interval(interval: float) -> tuple[float, float]:
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval: must be in (0, 1), got {interval!r}")
    a = (1.0 - interval) / 2.0
    return a, 1.0 - a


def _row(x: np.ndarray, q: tuple[float, float]) -> dict[str, float]:
    lo, hi = np.quantile(x, q)
    return {"mean": float(np.mean(x)), "lo": float(lo), "hi": float(hi)}


def _group_totals(ds: xr.Dataset, idx: np.ndarray, p: int) -> dict[str, np.ndarray]:
    earned = ds["earned_savings"].values[:, idx, p]
    owed = ds["shared_losses"].values[:, idx, p]
    bonus = float(ds["quality_bonus"].values[idx, p].sum())
    bn = ds["benchmark"].values[idx] * ds["beneficiaries"].values[idx]
    gross = ds["savings_rate"].values[:, idx] @ bn
    cost = earned.sum(axis=1) + bonus - owed.sum(axis=1)
    return {"acos_earning": (earned > 0).sum(axis=1).astype(float),
            "acos_owing": (owed > 0).sum(axis=1).astype(float),
            "total_earned": earned.sum(axis=1), "total_owed": owed.sum(axis=1),
            "program_cost": cost, "net_savings": gross - cost}


def _labels(ds: xr.Dataset, coord: str) -> np.ndarray:
    """Group labels of a coordinate; an ACO on a named preset has no track: say its preset."""
    labels = ds[coord].values.astype(str)
    if coord == "track" and "contract" in ds.coords:
        named = ds["contract"].values.astype(str)
        labels = np.where(labels == "", named, labels)
    return labels


def program_summary(ds: xr.Dataset, *, interval: float = 0.9,
                    by: tuple[str, ...] = ("track", "size_band")) -> pd.DataFrame:
    """Program totals with intervals: all ACOs, and by each coordinate in ``by``.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`~simsav.program.simulate.simulate_program`.
    interval : float
        Central share of sims in the interval (default 0.9: the 5th to 95th percentile).
    by : tuple of str
        Per-ACO coordinates to break the totals down by (``track``, ``size_band``,
        ``contract``).

    Returns
    -------
    pandas.DataFrame
        One row per policy, group and metric (:data:`METRICS`): ``policy``, ``by``
        (``"all"`` or the coordinate), ``group``, ``acos`` (ACOs in the group),
        ``metric``, ``mean``, ``lo``, ``hi``. Group rows count a policy's reinvested
        forfeits nowhere (the program rows do).
    """
    q = _check_interval(interval)
    rows: list[dict[str, Any]] = []
    for p, pol in enumerate(ds["policy"].values):
        for metric in METRICS:
            x = ds[metric].values[:, p]
            rows.append({"policy": str(pol), "by": "all", "group": "all",
                         "acos": ds.sizes["aco"], "metric": metric, **_row(x, q)})
        for coord in by:
            labels = _labels(ds, coord)
            for g in sorted(set(labels)):
                idx = np.flatnonzero(labels == g)
                totals = _group_totals(ds, idx, p)
                for metric in METRICS:
                    rows.append({"policy": str(pol), "by": coord, "group": g, "acos": idx.size,
                                 "metric": metric, **_row(totals[metric], q)})
    return pd.DataFrame(rows)


def aco_summary(ds: xr.Dataset, *, policy: str = "baseline",
                interval: float = 0.9) -> pd.DataFrame:
    """Per ACO under ``policy``: P(earn), P(owe), expected payment and the savings rate.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``aco``: ``track``, ``size_band``, ``beneficiaries``,
        ``history_years``, ``credibility``, ``expected_savings_rate``,
        ``savings_rate_lo`` / ``_hi`` (the interval), ``p_earn``, ``p_owe``,
        ``expected_earned``, ``expected_owed``, ``quality_bonus`` and
        ``expected_payment`` (earned + bonus − owed, USD).
    """
    q = _check_interval(interval)
    p = list(map(str, ds["policy"].values)).index(policy)
    earned = ds["earned_savings"].values[:, :, p]
    owed = ds["shared_losses"].values[:, :, p]
    bonus = ds["quality_bonus"].values[:, p]
    lo, hi = np.quantile(ds["savings_rate"].values, q, axis=0)
    out = pd.DataFrame({
        "track": ds["track"].values.astype(str),
        "size_band": ds["size_band"].values.astype(str),
        "beneficiaries": ds["beneficiaries"].values,
        "history_years": ds["history_years"].values,
        "credibility": ds["credibility"].values,
        "expected_savings_rate": ds["expected_savings_rate"].values,
        "savings_rate_lo": lo,
        "savings_rate_hi": hi,
        "p_earn": (earned > 0).mean(axis=0),
        "p_owe": (owed > 0).mean(axis=0),
        "expected_earned": earned.mean(axis=0),
        "expected_owed": owed.mean(axis=0),
        "quality_bonus": bonus,
    }, index=pd.Index(ds["aco"].values.astype(str), name="aco"))
    out["expected_payment"] = out["expected_earned"] + bonus - out["expected_owed"]
    return out


def policy_costs(ds: xr.Dataset, *, interval: float = 0.9,
                 baseline: str = "baseline") -> pd.DataFrame:
    """Each policy's program cost and its difference from ``baseline`` on the same draws.

    Returns
    -------
    pandas.DataFrame
        One row per policy: ``policy``, ``cost_mean`` / ``_lo`` / ``_hi`` (net paid to
        ACOs), ``difference_mean`` / ``_lo`` / ``_hi`` (policy − baseline, per sim), and
        ``width_ratio``: the difference's interval width over the cost's (how much the
        common random numbers tighten the comparison).
    """
    q = _check_interval(interval)
    names = list(map(str, ds["policy"].values))
    b = ds["program_cost"].values[:, names.index(baseline)]
    rows = []
    for p, name in enumerate(names):
        c = ds["program_cost"].values[:, p]
        cost, diff = _row(c, q), _row(c - b, q)
        width = cost["hi"] - cost["lo"]
        rows.append({"policy": name, **{f"cost_{k}": v for k, v in cost.items()},
                     **{f"difference_{k}": v for k, v in diff.items()},
                     "width_ratio": (diff["hi"] - diff["lo"]) / width if width > 0 else np.nan})
    return pd.DataFrame(rows)


def shared_risk(ds: xr.Dataset) -> pd.DataFrame:
    """How much of the program's spread the shocks every ACO shares account for.

    The roster's contracts are settled twice on the same draws: as simulated, and with the
    common shock set to zero (every ACO's own terms and claims noise unchanged). The
    share of the variance due to the common shock is ``1 − Var(without) / Var(with)``.

    Returns
    -------
    pandas.DataFrame
        One row per metric (``acos_earning``, ``total_earned``, ``net_savings``):
        ``sd`` (as simulated), ``sd_without_common`` and ``common_share`` of the variance.
    """
    rows = []
    base = list(map(str, ds["policy"].values)).index("baseline")
    for metric in ("acos_earning", "total_earned", "net_savings"):
        x = ds[metric].values[:, base]
        y = ds[f"{metric}_no_common"].values
        v, v0 = float(np.var(x, ddof=1)), float(np.var(y, ddof=1))
        rows.append({"metric": metric, "sd": v**0.5, "sd_without_common": v0**0.5,
                     "common_share": 1.0 - v0 / v if v > 0 else np.nan})
    return pd.DataFrame(rows)


def program_report(ds: xr.Dataset, *, interval: float = 0.9) -> dict[str, Any]:
    """Everything above as a JSON-able dict (what ``simsav program --json`` prints)."""
    return {
        "performance_year": int(ds.attrs["performance_year"]),
        "roster": ds.attrs["roster"],
        "acos": int(ds.sizes["aco"]),
        "beneficiaries": float(ds["beneficiaries"].sum()),
        "n_sims": int(ds.sizes["sim"]),
        "seed": ds.attrs["seed"],
        "interval": interval,
        "calibration_years": [int(y) for y in str(ds.attrs["calibration_years"]).split(",")],
        "year_effect": {"forecast": float(ds.attrs["year_effect_forecast"]),
                        "sd": float(ds.attrs["year_effect_sd"])},
        "program": program_summary(ds, interval=interval).to_dict("records"),
        "policies": policy_costs(ds, interval=interval).to_dict("records"),
        "shared_risk": shared_risk(ds).to_dict("records"),
    }
