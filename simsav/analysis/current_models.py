"""Compare the programs on offer — MSSP, ACO REACH, LEAD — for one ACO, over years.

Each program sets its benchmark by its own rules (MSSP rebases every five years with a
prior savings adjustment, LEAD never rebases, REACH keeps fixed base years), and a
scenario's ``[agreement]`` is shared by its designs, so each program is a scenario of its
own; :func:`compare_programs` runs them with the same seed, which gives every program the
same spending draws (common random numbers: the streams are named, not positional), and
:func:`program_table` puts their designs side by side with the reserve each needs.

* :func:`benchmark_spread` — the benchmark against the realised spending by year (the fan
  chart of :func:`simsav.plotting.plot_benchmark_fan`); :func:`trend_spread_sd` is its
  closed form for the trend errors alone;
* :func:`reserve_needed` — the reserve that covers, with a given probability, the worst
  cumulative shortfall at settlement over the agreement;
* :func:`stop_loss_report` — stop-loss premiums against recoveries.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from simsav.draw.agreement import AgreementSpec
from simsav.scenario import Scenario, load_scenario
from simsav.simulation import simulate

__all__ = [
    "benchmark_spread",
    "compare_programs",
    "program_table",
    "reserve_needed",
    "stop_loss_report",
    "trend_spread_sd",
]


def compare_programs(scenarios: Sequence[str | Path | Scenario], *, n_sims: int | None = None,
                     seed: int | None = None) -> dict[str, xr.Dataset]:
    """Simulate each program's scenario with the same seed and number of sims.

    Parameters
    ----------
    scenarios : sequence of paths or Scenario
        One per program, with the same population and seed (checked).
    n_sims, seed : int, optional
        Default: the first scenario's.

    Returns
    -------
    dict of str to Dataset
        By scenario name.

    Raises
    ------
    ValueError
        If the scenarios differ in population size or seed (the draws would differ).
    """
    scns = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    if not scns:
        raise ValueError("scenarios: give at least one")
    first = scns[0]
    for s in scns[1:]:
        if (s.population.beneficiaries, s.seed) != (first.population.beneficiaries,
                                                    first.seed):
            raise ValueError(f"{s.name}: population and seed must match {first.name}'s so "
                             "the programs are compared on the same draws")
    n = first.sims if n_sims is None else n_sims
    sd = first.seed if seed is None else seed
    return {s.name: simulate(s, n_sims=n, seed=sd) for s in scns}


def benchmark_spread(ds: xr.Dataset,
                     quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> xr.Dataset:
    """The benchmark against the realised spending, by agreement year.

    Returns
    -------
    xarray.Dataset
        ``ratio_quantiles`` (quantile, year) of ``benchmark / expenditure − 1``,
        ``ratio_mean`` and ``log_ratio_sd`` (year): the spread grows with the years when
        the benchmark is not rebased, as the trend errors compound.
    """
    ratio = ds["benchmark"] / ds["expenditure"]
    q = (ratio - 1.0).quantile(list(quantiles), dim="sim")
    return xr.Dataset({
        "ratio_quantiles": q.assign_attrs(units="1", long_name="benchmark / expenditure - 1"),
        "ratio_mean": (ratio - 1.0).mean("sim").assign_attrs(units="1"),
        "log_ratio_sd": np.log(ratio).std("sim", ddof=1).assign_attrs(units="1"),
    })


def trend_spread_sd(spec: AgreementSpec) -> np.ndarray:
    """SD of the log benchmark-to-spending ratio from the trend errors, by agreement year.

    Each update of a ``blend`` agreement adds an independent error ``U − G = w_A (e − ε_n
    − ε_r) − (1 − w_A) w_N ε_r`` of variance ``w_A² (σ_e² + σ_n²) + (w_A + (1 − w_A)
    w_N)² σ_r²`` [D]. An ``expected`` benchmark has been updated ``base_years + t − 1``
    times by agreement year ``t``; a ``historical`` one ``t`` times (its base years,
    trended by the blend, add a little more). Without rebasing the errors compound;
    claims noise, benchmark error and risk add to them.

    Examples
    --------
    >>> spec = AgreementSpec(years=4, update="blend",
    ...                      national_trend_sd=0.01, acpt_weight=0.5)
    >>> trend_spread_sd(spec).round(4).tolist()
    [0.0, 0.005, 0.0071, 0.0087]
    """
    w_a, w_n = spec.acpt_weight, spec.national_weight
    var = (w_a**2 * (spec.trend_error_sd**2 + spec.national_trend_sd**2)
           + (w_a + (1.0 - w_a) * w_n) ** 2 * spec.regional_trend_sd**2)
    t = np.arange(1, spec.years + 1)
    updates = spec.base_years + t - 1 if spec.benchmark == "expected" else t
    return np.sqrt(var * updates)


def _cash_at_settlement(ds: xr.Dataset) -> xr.DataArray:
    """What changes hands at each settlement: the payment after recoupments.

    Advances (capitation, prepaid savings) are taken as spent during the year, so what
    is recouped must be found at settlement.
    """
    return ds["settlement_payment"] if "settlement_payment" in ds else ds["aco_net"]


def reserve_needed(ds: xr.Dataset, level: float = 0.99) -> xr.DataArray:
    """The reserve that covers the worst cumulative shortfall with probability ``level``.

    Per sim, the worst point of the cumulative settlement payments over the agreement
    (``min_t Σ_{s<=t} payment_s``, payments after recoupment of advances); the reserve is
    the ``level`` quantile of its negative part, by design.

    Examples
    --------
    >>> ds = xr.Dataset({"aco_net": (("sim", "year", "design"),
    ...                  np.array([[[-3.0], [1.0]], [[2.0], [-5.0]]]))},
    ...                 coords={"design": ["x"]})
    >>> float(reserve_needed(ds, level=1.0).sel(design="x"))
    3.0
    """
    if not 0.0 < level <= 1.0:
        raise ValueError(f"level: must be in (0, 1], got {level}")
    cum = _cash_at_settlement(ds).cumsum("year")
    worst = np.maximum(-cum.min("year"), 0.0)
    return worst.quantile(level, dim="sim").drop_vars("quantile").assign_attrs(
        units="USD", long_name=f"reserve covering the worst cumulative shortfall, {level:.0%}")


def stop_loss_report(ds: xr.Dataset) -> pd.DataFrame:
    """Stop-loss premiums against recoveries, per design with stop-loss.

    Returns
    -------
    pandas.DataFrame
        Per design: mean premium and mean recoveries per year (USD), the loss ratio
        (recoveries over premium) and the mean reduction of the SD of the yearly net.
    """
    rows = []
    for d in ds["design"].values:
        prem = ds["stop_loss_premium"].sel(design=d)
        if float(np.abs(prem).sum()) == 0.0:
            continue
        rec = ds["stop_loss_recovery"].sel(design=d)
        rows.append({"design": str(d), "premium_per_year": float(prem.mean()),
                     "recoveries_per_year": float(rec.mean()),
                     "loss_ratio": float(rec.mean() / prem.mean())})
    return pd.DataFrame(rows)


def program_table(results: dict[str, xr.Dataset], *, level: float = 0.99) -> pd.DataFrame:
    """Every program's designs side by side over the whole agreement.

    Parameters
    ----------
    results : dict of str to Dataset
        From :func:`compare_programs`.
    level : float
        Confidence of the reserve (:func:`reserve_needed`).

    Returns
    -------
    pandas.DataFrame
        One row per design: ``program``, ``design``; over the agreement, the mean and SD
        of the net to the ACO (USD), the probability it is negative, its 5th percentile,
        the mean net per beneficiary-year; the worst single settlement at ``level``; and
        the reserve at ``level``.
    """
    rows: list[dict[str, Any]] = []
    for program, ds in results.items():
        net = ds["aco_net"].sum("year")
        cash = _cash_at_settlement(ds)
        reserve = reserve_needed(ds, level)
        bene_years = float(ds["n_beneficiaries"].sum())
        for d in ds["design"].values:
            x = net.sel(design=d)
            rows.append({
                "program": program, "design": str(d),
                "mean_net": float(x.mean()), "sd_net": float(x.std(ddof=1)),
                "p_net_negative": float((x < 0).mean()),
                "net_p05": float(x.quantile(0.05)),
                "mean_net_per_beneficiary_year": float(x.mean()) / bene_years,
                "worst_settlement": float((-cash.sel(design=d).min("year")).quantile(level)),
                "reserve": float(reserve.sel(design=d)),
            })
    return pd.DataFrame(rows)
