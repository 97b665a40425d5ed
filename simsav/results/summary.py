"""Summaries of a results Dataset: every figure with its Monte Carlo uncertainty.

:func:`summarize` reports, per design and per agreement year,

* probabilities — of clearing the MSR, of owing losses, of the corridor, of earning —
  with Wilson intervals (:mod:`simsav.results.intervals`);
* means — earned savings, losses, the ACO's net and what it is paid, the payer's net,
  quality bonus, forfeits, the savings rate — with standard errors;
* quantiles of the ACO's net with order-statistic intervals;
* tails: the mean of the worst 5% and 1% of sims (expected shortfall) for the losses owed
  and for the ACO's net;

and, over the agreement as a whole (``agreement_`` variables, per design): the chance of a
payment in any year, of being paid more than owed, the expected totals (paid, earned,
owed, the deferred true-up), quantiles and the tail of the total paid.

Every figure ``x`` comes with ``se_x``, ``low_x`` and ``high_x`` (the interval at
``level``). :func:`summary_frame` turns a summary into one tidy long table — design, year
(or ``"agreement"``), metric, value, se, low, high, units — for CSV, Excel and reports;
:func:`summary_table` gives one wide row per design for one year, as the CLI prints it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from simsav.results.intervals import (
    Estimate,
    expected_shortfall,
    mean_from_moments,
    probability_from_counts,
    quantile,
)

__all__ = [
    "QUANTILES",
    "TAIL_LEVELS",
    "SummaryAccumulator",
    "summarize",
    "summary_frame",
    "summary_table",
]

#: Quantiles of the ACO's net reported by :func:`summarize`.
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)

#: Levels of the expected shortfall (mean of the worst 5% and 1% of sims).
TAIL_LEVELS = (0.95, 0.99)

_PROBS: dict[str, tuple[Callable[[dict[str, np.ndarray]], np.ndarray], str]] = {
    "p_clear_msr": (lambda a: a["outcome"] == 1, "probability of clearing the MSR"),
    "p_owe_loss": (lambda a: a["outcome"] == -1, "probability of owing shared losses"),
    "p_corridor": (lambda a: a["outcome"] == 0,
                   "probability of neither (corridor or below the MSR)"),
    "p_reduced": (lambda a: a["outcome"] == 2,
                  "probability of sharing below the MSR at the reduced rate (low revenue)"),
    "p_earn": (lambda a: a["earned_savings"] > 0, "probability of earning shared savings"),
}

_MEANS: dict[str, tuple[str, str, str]] = {
    "expected_earned": ("earned_savings", "USD", "expected earned savings"),
    "expected_losses": ("shared_losses", "USD", "expected shared losses owed"),
    "expected_aco_net": ("aco_net", "USD", "expected net settlement of the year"),
    "expected_aco_paid": ("aco_paid", "USD",
                          "expected paid to the ACO in the year (deferred true-up included)"),
    "expected_payer_net": ("payer_net", "USD", "expected payer net"),
    "expected_quality_bonus": ("quality_bonus", "USD", "expected quality bonus"),
    "expected_forfeited": ("forfeited", "USD", "expected forfeited savings"),
    "expected_savings_rate": ("savings_rate", "1", "expected savings rate"),
}


def _qname(q: float) -> str:
    return f"q{q * 100:g}".replace(".", "_")


def _put(out: dict[str, Any], name: str, est: Estimate, dims: tuple[str, ...], units: str,
         long_name: str) -> None:
    out.update(est.variables(name, dims, units, long_name))


_VARS = ["outcome", "earned_savings", "shared_losses", "aco_net", "aco_paid", "payer_net",
         "quality_bonus", "forfeited", "savings_rate", "true_up"]


def _arrays(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """The settlement variables a summary reads, each (sim, year, design)."""
    d = ds[_VARS].transpose("sim", "year", "design")
    return {k: d[k].values for k in _VARS}


def _counted(a: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, tuple[str, ...], str]]:
    """Indicators whose share over sims is reported: name -> (hits, dims, long name)."""
    out = {name: (ind(a), ("year", "design"), long_name)
           for name, (ind, long_name) in _PROBS.items()}
    paid = a["aco_paid"]
    out["agreement_p_any_year_paid"] = (
        (paid > 0).any(axis=1), ("design",),
        "probability of a payment to the ACO in any year of the agreement")
    out["agreement_p_ahead"] = (paid.sum(axis=1) > 0, ("design",),
                                "probability the ACO is paid more than it owes over the "
                                "agreement")
    return out


def _averaged(a: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, tuple[str, ...],
                                                           str, str]]:
    """Values whose mean over sims is reported: name -> (values, dims, units, long name)."""
    out = {name: (a[var], ("year", "design"), units, long_name)
           for name, (var, units, long_name) in _MEANS.items()}
    for name, var, what in (
            ("agreement_expected_total_paid", "aco_paid",
             "expected total paid to the ACO over the agreement, net of losses"),
            ("agreement_expected_total_earned", "earned_savings",
             "expected total earned savings over the agreement (annual settlements)"),
            ("agreement_expected_total_losses", "shared_losses",
             "expected total shared losses over the agreement"),
            ("agreement_expected_true_up", "true_up",
             "expected deferred true-up on cumulative savings")):
        out[name] = (a[var].sum(axis=1), ("design",), "USD", what)
    return out


def _ordered(a: dict[str, np.ndarray], quantiles: Sequence[float], tails: Sequence[float],
             level: float) -> dict[str, Any]:
    """Quantiles and expected shortfalls: they need the sims themselves, sorted."""
    yd, d = ("year", "design"), ("design",)
    out: dict[str, Any] = {}
    net = np.sort(a["aco_net"], axis=0)
    for q in quantiles:
        _put(out, f"aco_net_{_qname(q)}", quantile(None, q, level=level, sorted_values=net),
             yd, "USD", f"{q:.0%} quantile of the ACO's net settlement")
    losses = np.sort(a["shared_losses"], axis=0)
    worst_net = np.sort(-a["aco_net"], axis=0)
    total = np.sort(a["aco_paid"].sum(axis=1), axis=0)
    owed = np.sort(a["shared_losses"].sum(axis=1), axis=0)
    for q in (0.05, 0.5, 0.95):
        _put(out, f"agreement_total_paid_{_qname(q)}",
             quantile(None, q, level=level, sorted_values=total), d, "USD",
             f"{q:.0%} quantile of the total paid over the agreement")
    for p in tails:
        pct, tag = f"{round((1 - p) * 100):g}", round(p * 100)
        _put(out, f"tail_loss_{tag}", expected_shortfall(None, p, level=level,
                                                          sorted_values=losses), yd, "USD",
             f"mean shared loss owed in the worst {pct}% of sims")
        es = expected_shortfall(None, p, level=level, sorted_values=worst_net)
        _put(out, f"aco_net_tail_{tag}", Estimate(0.0 - es.value, es.se, 0.0 - es.high,
                                                  0.0 - es.low), yd,
             "USD", f"mean net settlement in the worst {pct}% of sims")
        _put(out, f"agreement_tail_loss_{tag}",
             expected_shortfall(None, p, level=level, sorted_values=owed), d, "USD",
             f"mean total losses owed over the agreement in the worst {pct}% of sims")
    return out


class SummaryAccumulator:
    """A summary built from consecutive chunks of sims, in memory that does not grow.

    Probabilities and means are exact over every sim added (hit counts, and means with
    sums of squared deviations merged chunk by chunk — Chan, Golub and LeVeque 1983);
    quantiles and expected shortfalls come from the first ``keep`` sims, which are kept
    (an order-statistic or standard-error interval says how precise they are).
    :func:`summarize` is this with every sim kept.

    Parameters
    ----------
    keep : int
        Sims kept for the quantiles and tails.
    quantiles, tail_levels, level :
        As for :func:`summarize`.
    """

    def __init__(self, *, keep: int, quantiles: Sequence[float] = QUANTILES,
                 tail_levels: Sequence[float] = TAIL_LEVELS, level: float = 0.95):
        for q in quantiles:
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"quantiles: each must be in [0, 1], got {q}")
        for p in tail_levels:
            if not 0.0 < p < 1.0:
                raise ValueError(f"tail_levels: each must be in (0, 1), got {p}")
        self.keep, self.level = int(keep), level
        self.quantiles, self.tail_levels = tuple(quantiles), tuple(tail_levels)
        self.n = 0
        self._counts: dict[str, np.ndarray] = {}
        self._moments: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._kept: list[dict[str, np.ndarray]] = []
        self._meta: dict[str, Any] = {}

    def add(self, ds: xr.Dataset) -> None:
        """Add the sims of a results Dataset (the next ones of the run, in order)."""
        a = _arrays(ds)
        m = ds.sizes["sim"]
        if not self._meta:
            self._meta = {"design": ds["design"].values, "year": ds["year"].values,
                          "attrs": dict(ds.attrs)}
        for name, (hits, _, _) in _counted(a).items():
            self._counts[name] = self._counts.get(name, 0) + hits.sum(axis=0)
        for name, (x, _, _, _) in _averaged(a).items():
            mean_c = x.mean(axis=0)
            m2_c = ((x - mean_c) ** 2).sum(axis=0)
            if name in self._moments:
                mean_a, m2_a = self._moments[name]
                delta = mean_c - mean_a
                tot = self.n + m
                mean_c = mean_a + delta * (m / tot)
                m2_c = m2_a + m2_c + delta * delta * (self.n * m / tot)
            self._moments[name] = (mean_c, m2_c)
        room = self.keep - sum(k["aco_net"].shape[0] for k in self._kept)
        if room > 0:
            self._kept.append({k: v[:room] for k, v in a.items()})
        self.n += m

    def result(self) -> xr.Dataset:
        """The summary of every sim added so far."""
        if self.n < 2:
            raise ValueError(f"ds: needs at least 2 sims to summarize, has {self.n}")
        kept = {k: np.concatenate([c[k] for c in self._kept]) for k in _VARS}
        probe = {k: v[:1] for k, v in kept.items()}  # dims and names, without the work
        out: dict[str, Any] = {}
        for name, (_, dims, long_name) in _counted(probe).items():
            _put(out, name, probability_from_counts(self._counts[name], self.n,
                                                    level=self.level), dims, "1", long_name)
        for name, (_, dims, units, long_name) in _averaged(probe).items():
            mean_, m2 = self._moments[name]
            _put(out, name, mean_from_moments(self.n, mean_, m2, level=self.level), dims,
                 units, long_name)
        out.update(_ordered(kept, self.quantiles, self.tail_levels, self.level))
        res = xr.Dataset(out, coords={"design": self._meta["design"],
                                      "year": self._meta["year"]})
        res = res.transpose("design", "year")
        attrs = self._meta["attrs"]
        res.attrs = {k: v for k, v in attrs.items()
                     if k in ("scenario", "seed", "simsav_version", "draws")}
        n_kept = kept["aco_net"].shape[0]
        res.attrs.update(n_sims=self.n, level=self.level, intervals=(
            "probabilities: Wilson; means and expected shortfall: normal (standard error); "
            "quantiles: order statistics"))
        if n_kept < self.n:
            res.attrs["quantiles_from_sims"] = n_kept
        return res


def summarize(
    ds: xr.Dataset,
    *,
    quantiles: Sequence[float] = QUANTILES,
    tail_levels: Sequence[float] = TAIL_LEVELS,
    level: float = 0.95,
    frame: bool = False,
) -> Any:
    """Summarize a results Dataset per design, per year and over the agreement.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate`.
    quantiles : sequence of float
        Quantiles of the ACO's net settlement to report.
    tail_levels : sequence of float
        Levels ``p`` of the expected shortfall: the mean of the worst ``1 − p`` of sims of
        the losses owed and of the ACO's net (default 95% and 99%).
    level : float
        Confidence level of every interval (default 0.95).
    frame : bool
        Return the tidy long table of :func:`summary_frame` instead of a Dataset.

    Returns
    -------
    xarray.Dataset or pandas.DataFrame
        Variables over (``design``, ``year``) and ``agreement_*`` over ``design``, each
        with ``se_``, ``low_`` and ``high_`` companions (see the module docstring).

    Raises
    ------
    ValueError
        For a Dataset with fewer than 2 sims, or levels outside their ranges.
    """
    n = ds.sizes.get("sim", 0)
    if n < 2:
        raise ValueError(f"ds: needs at least 2 sims to summarize, has {n}")
    acc = SummaryAccumulator(keep=n, quantiles=quantiles, tail_levels=tail_levels,
                             level=level)
    acc.add(ds)
    out = acc.result()
    return summary_frame(out) if frame else out


_COLUMNS = ["design", "year", "metric", "value", "se", "low", "high", "units", "description"]


def summary_frame(summary: xr.Dataset) -> pd.DataFrame:
    """The summary as one tidy long table.

    Columns: ``design``, ``year`` (``"1"``, ``"2"``, ... or ``"agreement"``), ``metric``,
    ``value``, ``se``, ``low``, ``high``, ``units``, ``description``.
    """
    rows = []
    metrics = [k for k in summary.data_vars
               if not str(k).startswith(("se_", "low_", "high_"))]
    for k in metrics:
        da = summary[k]
        parts = [summary[p + str(k)] for p in ("se_", "low_", "high_")]
        years = [("agreement", None)] if "year" not in da.dims else [
            (str(y), y) for y in summary["year"].values]
        for d in summary["design"].values:
            for label, y in years:
                sel = {"design": d} if y is None else {"design": d, "year": y}
                rows.append([str(d), label, str(k), float(da.sel(sel)),
                             *(float(p.sel(sel)) for p in parts), da.attrs.get("units", ""),
                             da.attrs.get("long_name", "")])
    return pd.DataFrame(rows, columns=_COLUMNS)


def summary_table(summary: xr.Dataset, *, year: int | str | None = None) -> pd.DataFrame:
    """One wide row per design: the figures of one year, or of the agreement.

    Parameters
    ----------
    summary : xarray.Dataset
        From :func:`summarize`.
    year : int or "agreement", optional
        The year to show (default: the first year of a one-year run, else the agreement).
    """
    if year is None:
        year = int(summary["year"].values[0]) if summary.sizes["year"] == 1 else "agreement"
    if year == "agreement":
        cols = {str(k): summary[k].values for k in summary.data_vars
                if summary[k].dims == ("design",)}
    else:
        s = summary.sel(year=year)
        cols = {str(k): s[k].values for k in s.data_vars if s[k].dims == ("design",)
                and not str(k).startswith("agreement")
                and not str(k).split("_", 1)[-1].startswith("agreement")}
    return pd.DataFrame(cols, index=pd.Index(summary["design"].values, name="design"))
