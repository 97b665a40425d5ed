"""The forecast test: each year forecast from the years before it, then compared with what happened.

For each year ``Y`` (PY2019–2022 by default) :func:`backtest_program` calibrates the
program model on the bundled files of PY2014 to ``Y − 1`` only, simulates the year-``Y``
roster (its inputs: ACOs, sizes, benchmarks, tracks, elections, agreement dates; never its
outcomes) and compares with CMS's results for ``Y``:

* **intervals**: the count of ACOs earning shared savings, the shared savings earned and
  the net savings to the payer (gross savings − earned + owed) against the simulated
  interval (90% by default), with the actual value's rank among the sims (its PIT: near
  0 or 1 is a surprise). Over many years the coverage should be near the nominal level;
  too wide is a failure as well as too narrow;
* **P(earn)**: each ACO's simulated chance of earning, scored against what it did by the
  Brier score, against two baselines: the program-wide earning rate of ``Y − 1`` for
  every ACO, and "earned last year" (1 or 0; the ``Y − 1`` rate for ACOs not in that
  year's file); and a reliability table, forecast deciles against observed shares, pooled
  over the years.

:func:`replay_year` is the control: the roster settled at its *actual* savings rates and
quality scores reproduces CMS's totals, so the forecast's errors are the model's, not the
settlement's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simsav.analysis.calibrate import DEFAULT_SPENDING
from simsav.io.puf import load_puf
from simsav.program.engine import settle_program
from simsav.program.model import fit_program_model
from simsav.program.roster import read_roster
from simsav.program.simulate import build_plan, simulate_program
from simsav.program.summary import aco_summary

__all__ = ["BACKTEST_YEARS", "BacktestResult", "backtest_program", "replay_year"]

#: The years of the forecast test.
BACKTEST_YEARS: tuple[int, ...] = (2019, 2020, 2021, 2022)

_METRICS = {"acos_earning": "ACOs earning", "total_earned": "shared savings earned (USD)",
            "net_savings": "net savings to the payer (USD)"}


def actual_totals(year: int) -> dict[str, float]:
    """CMS's program totals for a bundled year: ACOs earning, savings earned, net savings.

    Examples
    --------
    >>> t = actual_totals(2022)
    >>> int(t["acos_earning"]), round(t["total_earned"] / 1e6)
    (303, 2523)
    """
    d = load_puf(year)
    earned = d["earned"].to_numpy(dtype=float)
    gross = d["benchmark_minus_expenditure"].to_numpy(dtype=float)
    return {"acos_earning": float((earned > 0).sum()),
            "total_earned": float(np.clip(earned, 0.0, None).sum()),
            "net_savings": float(np.nansum(gross) - np.nansum(earned))}


def replay_year(year: int) -> dict[str, dict[str, float]]:
    """The year-``Y`` roster settled at its actual savings rates and quality scores.

    Returns
    -------
    dict
        Per metric of :func:`actual_totals`: ``{"reported": x, "replayed": y}``.
    """
    d = load_puf(year)
    r = read_roster(year)
    model = fit_program_model(year)
    _, plan = build_plan(r, year, model, [])
    q = d["quality_score"].to_numpy(dtype=float)
    plan = dataclasses.replace(plan, quality=np.clip(np.where(np.isnan(q), plan.quality, q),
                                                     0.0, 1.0))
    exp_ = plan.benchmark * (1.0 - d["savings_rate"].to_numpy(dtype=float))
    money = settle_program(plan, exp_[None, :])
    earned = money["earned_savings"][0, :, 0]
    gross = (plan.benchmark - exp_) * plan.beneficiaries
    replayed = {"acos_earning": float((earned > 0).sum()), "total_earned": float(earned.sum()),
                "net_savings": float(gross.sum() - money["cost"][0, 0])}
    reported = actual_totals(year)
    return {k: {"reported": reported[k], "replayed": replayed[k]} for k in _METRICS}


@dataclass(frozen=True)
class BacktestResult:
    """What :func:`backtest_program` found.

    Attributes
    ----------
    intervals : pandas.DataFrame
        Per year and metric: ``actual``, ``mean``, ``lo``, ``hi``, ``covered``, ``pit``.
    scores : pandas.DataFrame
        Per year: ``acos``, ``brier`` (the model), ``brier_rate`` (the ``Y − 1`` earning
        rate), ``brier_last_year`` ("earned last year"), ``rate`` (that rate).
    reliability : pandas.DataFrame
        Pooled over years, per decile of forecast P(earn): ``acos``, ``forecast`` (mean),
        ``observed`` (share earning).
    forecasts : pandas.DataFrame
        Per year and ACO: ``p_earn``, ``earned`` (0/1), the two baselines.
    interval : float
        Nominal coverage of the intervals.
    """

    intervals: pd.DataFrame
    scores: pd.DataFrame
    reliability: pd.DataFrame
    forecasts: pd.DataFrame
    interval: float
    settings: dict[str, Any]

    @property
    def coverage(self) -> float:
        """Share of (year, metric) intervals holding the actual value."""
        return float(self.intervals["covered"].mean())

    @property
    def beats_baselines(self) -> bool:
        """Whether the model's Brier score beats both baselines, pooled over the years."""
        f = self.forecasts
        b = _brier(f["p_earn"], f["earned"])
        return bool(b < _brier(f["rate"], f["earned"]) and
                    b < _brier(f["last_year"], f["earned"]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the tables as records, coverage and the pooled Brier scores."""
        f = self.forecasts
        return {
            "settings": self.settings,
            "interval": self.interval,
            "coverage": self.coverage,
            "intervals": self.intervals.to_dict("records"),
            "scores": self.scores.to_dict("records"),
            "pooled_brier": {"model": _brier(f["p_earn"], f["earned"]),
                             "rate": _brier(f["rate"], f["earned"]),
                             "last_year": _brier(f["last_year"], f["earned"])},
            "beats_baselines": self.beats_baselines,
            "reliability": self.reliability.to_dict("records"),
        }


def _brier(p: Any, y: Any) -> float:
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def _baselines(year: int, ids: pd.Index) -> tuple[float, np.ndarray]:
    prev = load_puf(year - 1)
    pid = prev["aco_id"].astype("string").fillna(prev["aco_num"].astype("string"))
    rate = float((prev["earned"] > 0).mean())
    earned = pd.Series((prev["earned"] > 0).to_numpy(dtype=float), index=pid.to_numpy())
    earned = earned[~earned.index.duplicated()]
    return rate, ids.map(earned).to_numpy(dtype=float)


def _reliability(f: pd.DataFrame) -> pd.DataFrame:
    edges = np.quantile(f["p_earn"], np.linspace(0.0, 1.0, 11))
    dec = np.clip(np.searchsorted(edges, f["p_earn"], side="right") - 1, 0, 9)
    g = f.assign(decile=dec + 1).groupby("decile")
    return pd.DataFrame({"acos": g.size(), "forecast": g["p_earn"].mean(),
                         "observed": g["earned"].mean()}).reset_index()


def backtest_program(
    years: Iterable[int] = BACKTEST_YEARS,
    *,
    n_sims: int = 4_000,
    seed: int = 2026,
    interval: float = 0.9,
    draws: str = "aggregate",
    common_shock: str = "trend",
) -> BacktestResult:
    """Forecast each year from the years before it and score the forecast (module docstring).

    Parameters
    ----------
    years : iterable of int
        Bundled years to forecast (default PY2019–2022; each needs 3 calibration years
        from PY2014, so 2017 or later).
    n_sims, seed, draws, common_shock
        As for :func:`~simsav.program.simulate.simulate_program` (the same seed each year).
    interval : float
        Nominal coverage of the intervals (default 0.9).

    Returns
    -------
    BacktestResult
    """
    lo_q, hi_q = (1.0 - interval) / 2.0, (1.0 + interval) / 2.0
    rows, scores, fc = [], [], []
    for y in sorted({int(v) for v in years}):
        model = fit_program_model(y, spending=DEFAULT_SPENDING, common_shock=common_shock)  # type: ignore[arg-type]
        ds = simulate_program(y, model=model, n_sims=n_sims, seed=seed, draws=draws)
        actual = actual_totals(y)
        for metric in _METRICS:
            x = ds[metric].sel(policy="baseline").values
            lo, hi = np.quantile(x, [lo_q, hi_q])
            a = actual[metric]
            rows.append({"year": y, "metric": metric, "actual": a, "mean": float(x.mean()),
                         "lo": float(lo), "hi": float(hi), "covered": bool(lo <= a <= hi),
                         "pit": float((x < a).mean() + 0.5 * (x == a).mean())})
        acos = aco_summary(ds)
        d = load_puf(y)
        ids = d["aco_id"].astype("string").fillna(d["aco_num"].astype("string"))
        earned = pd.Series((d["earned"] > 0).to_numpy(dtype=float), index=ids.to_numpy())
        obs = acos.index.map(earned).to_numpy(dtype=float)
        rate, last = _baselines(y, acos.index)
        last = np.where(np.isnan(last), rate, last)
        p = acos["p_earn"].to_numpy()
        fc.append(pd.DataFrame({"year": y, "aco": acos.index, "p_earn": p, "earned": obs,
                                "rate": rate, "last_year": last}))
        scores.append({"year": y, "acos": len(p), "brier": _brier(p, obs),
                       "brier_rate": _brier(np.full(len(p), rate), obs),
                       "brier_last_year": _brier(last, obs), "rate": rate})
    forecasts = pd.concat(fc, ignore_index=True)
    return BacktestResult(
        intervals=pd.DataFrame(rows), scores=pd.DataFrame(scores),
        reliability=_reliability(forecasts), forecasts=forecasts, interval=interval,
        settings={"n_sims": n_sims, "seed": seed, "draws": draws,
                  "common_shock": common_shock})
