"""Check a scenario against the MSSP public-use files by simulation, band by band.

:func:`program_check` resizes the scenario to each size band's median ACO
(:func:`resize_scenario`, the ACO-level terms following the calibrated size law of
:func:`simsav.analysis.calibrate.calibrate_puf`), simulates it, and compares the SD of the
savings rate, the share under benchmark and the share earning shared savings with the
files' pooled moments (:func:`simsav.analysis.moments.puf_moments`), within statistical
tolerances plus :data:`MODEL_ERROR`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from simsav.analysis.calibrate import CalibrationResult, calibrate_puf
from simsav.analysis.moments import puf_moments
from simsav.analysis.puf_panel import BAND_EDGES, excess_kurtosis
from simsav.scenario import Scenario, parse_scenario
from simsav.simulation import simulate

__all__ = ["CHECK_YEARS", "MODEL_ERROR", "program_check", "resize_scenario"]

#: Performance years :func:`program_check` compares the shipped scenario with.
CHECK_YEARS: tuple[int, ...] = tuple(range(2018, 2023))

#: Model error of :func:`program_check`, added to its statistical tolerance: what a
#: scenario cannot represent, measured on PY2018–2022 (points, largest band of the four
#: with ≥ 380 ACO-years). ``sd``: the SD at a band's median size understates the SD at its
#: mean 1/N by ≤ 0.15 (ACOs down to 605 beneficiaries in <10k); beyond sampling error the
#: variance law shows no misfit (χ² ≈ 4 on 3 d.f.). ``p_under_benchmark``: one mean for
#: years whose means run from 1.6% to 3.9% moves a share by ≤ 0.7, and the
#: heavier-than-normal shape (excess kurtosis 0.7–2.3) puts ≤ 2.1 more ACOs above zero
#: than a normal of the same mean and SD: 2 points. ``p_earn``: pooling years ≤ 0.6,
#: one ``true_savings`` for one- and two-sided ACOs (two-sided ones save 1.9 points more)
#: ≤ 0.7, the 1.5% election standing for the 0–2% mix ≤ 1.5, and the beta quality score
#: failing the 0.7385 standard in 3.8% of sims where 99.9% met it in the files −2.2
#: (simulated): 3 points (root sum of squares 2.8).
MODEL_ERROR: dict[str, float] = {"sd": 0.0015, "p_under_benchmark": 0.02, "p_earn": 0.03}

_METRICS = ("sd", "p_under_benchmark", "p_earn")


def resize_scenario(
    scenario: Scenario,
    beneficiaries: int,
    *,
    calibration: CalibrationResult | None = None,
) -> Scenario:
    """The scenario at another ACO size, its ACO-level terms moved along the size law.

    A scenario that carries the size law itself (``[aco] true_savings_var_n`` or
    ``benchmark_error_var_n``, as ``scenarios/mssp-program.toml`` does) needs only its
    population changed, and that is all this does for it. Otherwise the scenario states
    ``true_savings_sd`` and ``benchmark_error_sd`` at its own size ``N0``; with a
    calibration, each variance moves by the calibrated change between the two sizes,
    ``σ²(N) = σ_scn² + σ_cal²(N) − σ_cal²(N0)`` (at least 0); without one only the
    population changes.

    Parameters
    ----------
    scenario : Scenario
        The scenario.
    beneficiaries : int
        The new number of assigned beneficiaries.
    calibration : CalibrationResult, optional
        The size law (from :func:`~simsav.analysis.calibrate.calibrate_puf`).

    Returns
    -------
    Scenario
        Validated copy.
    """
    data = scenario.model_dump(mode="json", exclude_none=True)
    n_new = int(beneficiaries)
    data["population"] = {"beneficiaries": n_new}
    has_law = scenario.aco.true_savings_var_n > 0 or scenario.aco.benchmark_error_var_n > 0
    if calibration is not None and not has_law:
        n0 = scenario.population.beneficiaries
        at0, at1 = calibration.aco_terms(n0), calibration.aco_terms(n_new)
        aco = dict(data.get("aco", {}))
        for k in ("true_savings_sd", "benchmark_error_sd"):
            v = getattr(scenario.aco, k) ** 2 + at1[k] ** 2 - at0[k] ** 2
            aco[k] = float(math.sqrt(max(v, 0.0)))
        data["aco"] = aco
    return parse_scenario(data, source=f"{scenario.name} at {n_new} beneficiaries")


def program_check(
    scenario: Scenario,
    years_or_files: Any = CHECK_YEARS,
    *,
    n_sims: int = 4000,
    seed: int = 2026,
    calibration: CalibrationResult | None = None,
    bands: Sequence[int] = BAND_EDGES,
    z: float = 3.0,
    n_boot: int = 200,
) -> pd.DataFrame:
    """Simulate the scenario at each size band and compare it with the public-use files.

    For each band the scenario is resized to the band's median ACO
    (:func:`resize_scenario`, the ACO-level terms following the calibrated size law) and
    simulated; its SD of the savings rate, share under benchmark (savings rate > 0) and
    share earning shared savings are compared with the files' pooled values. The share
    earning mixes the scenario's designs by the band's observed track mix: one-sided
    designs weigh the share of one-sided ACOs, two-sided designs the rest. A program-level
    row (``band = "all"``) weighs the bands by their ACO counts.

    Tolerance per row: ``z · sqrt(se_observed² + se_simulated²) + MODEL_ERROR[metric]``.
    ``se_observed`` is a cluster bootstrap over ACOs (an ACO recurs across years with
    correlated results, so the files hold fewer independent ACOs than ACO-years: the
    standard error of a pooled share is ~1.5 times the binomial one); ``se_simulated``
    the Monte Carlo error; :data:`MODEL_ERROR` what the scenario cannot represent. The
    bands are simulated at their median size, as the one-sided MSR is read there.

    Parameters
    ----------
    scenario : Scenario
        E.g. ``load_scenario("scenarios/mssp-program.toml")``.
    years_or_files : int, str, path or iterable of them
        The files to compare with (default PY2018–2022).
    n_sims : int
        Sims per band.
    seed : int
        Seed of every band's simulation (and of the bootstrap).
    calibration : CalibrationResult, optional
        The size law; default ``calibrate_puf(years_or_files, spending=scenario.spending)``.
    bands : sequence of int
        Upper band edges (default :data:`~simsav.analysis.puf_panel.BAND_EDGES`).
    z : float
        Standard errors in the tolerance (3: about 1 false alarm in 370 rows).
    n_boot : int
        Cluster-bootstrap replicates for the observed standard errors.

    Returns
    -------
    pandas.DataFrame
        One row per band and metric (``sd``, ``p_under_benchmark``, ``p_earn``):
        ``band``, ``metric``, ``n_aco_years``, ``beneficiaries`` (simulated size),
        ``observed``, ``simulated``, ``difference``, ``se_observed``, ``se_simulated``,
        ``model_error``, ``tolerance``, ``passed``.
    """
    if n_sims < 100:
        raise ValueError(f"n_sims: need at least 100 sims per band, got {n_sims}")
    obs = puf_moments(years_or_files, bands=bands, pooled=True, n_boot=n_boot, seed=seed)
    cal = calibration
    if cal is None:
        cal = calibrate_puf(years_or_files, spending=scenario.spending, bands=bands, n_boot=0)
    contracts = scenario.contracts()
    one = [name for name, c in contracts.items() if not c.two_sided]
    two = [name for name, c in contracts.items() if c.two_sided]

    rows: list[dict[str, Any]] = []
    band_sim: list[tuple[float, dict[str, tuple[float, float]]]] = []
    for _, o in obs[obs["band"] != "all"].iterrows():
        n_med = int(round(float(o["median_beneficiaries"])))
        resized = resize_scenario(scenario, n_med, calibration=cal)
        sim = _simulate_band(resized, float(o["share_two_sided"]), one, two,
                             n_sims=n_sims, seed=seed)
        observed = {
            "sd": (float(o["sd"]), float(o["se_sd"])),
            "p_under_benchmark": (float(o["share_under_benchmark"]),
                                  float(o["se_share_under_benchmark"])),
            "p_earn": (float(o["share_earning"]), float(o["se_share_earning"])),
        }
        band_sim.append((float(o["n_acos"]), sim))
        for metric in _METRICS:
            rows.append(_check_row(str(o["band"]), metric, int(o["n_acos"]), n_med,
                                   observed[metric], sim[metric], z))
    total = sum(n for n, _ in band_sim)
    o = obs[obs["band"] == "all"].iloc[0]
    for metric, col in (("p_under_benchmark", "share_under_benchmark"),
                        ("p_earn", "share_earning")):
        p = sum(n * sim[metric][0] for n, sim in band_sim) / total
        se = math.sqrt(sum((n / total) ** 2 * sim[metric][1] ** 2 for n, sim in band_sim))
        rows.append(_check_row("all", metric, int(o["n_acos"]), scenario.population.beneficiaries,
                               (float(o[col]), float(o[f"se_{col}"])), (p, se), z))
    return pd.DataFrame(rows)


def _simulate_band(scenario: Scenario, share_two_sided: float, one: list[str], two: list[str],
                   *, n_sims: int, seed: int) -> dict[str, tuple[float, float]]:
    """Simulated ``(value, Monte Carlo SE)`` of each metric for one band's resized scenario.

    The share earning mixes the one-sided designs ``one`` and two-sided designs ``two`` by
    the band's observed ``share_two_sided``.
    """
    ds = simulate(scenario, n_sims=n_sims, seed=seed)
    s = 1.0 - ds["expenditure"].values[:, 0] / ds["benchmark"].values[:, 0]
    earned = ds["earned_savings"].isel(year=0)
    p_design = {str(d): float((earned.sel(design=d).values > 0).mean())
                for d in ds["design"].values}
    w2 = share_two_sided
    if not two:
        w2 = 0.0
    elif not one:
        w2 = 1.0
    p1 = float(np.mean([p_design[d] for d in one])) if one else 0.0
    p2 = float(np.mean([p_design[d] for d in two])) if two else 0.0
    p_earn = (1.0 - w2) * p1 + w2 * p2
    sd = float(np.std(s, ddof=1))
    kurt = excess_kurtosis(s)
    p_under = float(np.mean(s > 0))
    return {
        "sd": (sd, sd * math.sqrt(max(2.0 + kurt, 0.5) / (4.0 * n_sims))),
        "p_under_benchmark": (p_under, math.sqrt(p_under * (1 - p_under) / n_sims)),
        "p_earn": (p_earn, math.sqrt(max(p_earn * (1 - p_earn), 1e-12) / n_sims)),
    }


def _check_row(band: str, metric: str, n: int, size: int, observed: tuple[float, float],
               simulated: tuple[float, float], z: float) -> dict[str, Any]:
    se_o = observed[1] if math.isfinite(observed[1]) else 0.0
    tol = z * math.sqrt(se_o**2 + simulated[1] ** 2) + MODEL_ERROR[metric]
    diff = simulated[0] - observed[0]
    return {
        "band": band,
        "metric": metric,
        "n_aco_years": n,
        "beneficiaries": size,
        "observed": observed[0],
        "simulated": simulated[0],
        "difference": diff,
        "se_observed": observed[1],
        "se_simulated": simulated[1],
        "model_error": MODEL_ERROR[metric],
        "tolerance": tol,
        "passed": bool(abs(diff) <= tol),
    }
