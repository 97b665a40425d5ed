"""Comparisons on the same population: attribution rules, distribution rules.

:func:`sweep_sizes` lives in :mod:`simsav.analysis.sweep` (a sweep over
``population.beneficiaries``); it is re-exported here for code that imports it from here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from simsav.analysis.incentives import compare_rules
from simsav.analysis.sweep import sweep_sizes
from simsav.draw.attribution import AttributionSpec
from simsav.results.summary import summarize
from simsav.rng import SeedLike
from simsav.scenario import Scenario
from simsav.settlement.distribution import ProviderPanels
from simsav.simulation import simulate

__all__ = ["compare_attribution", "compare_distribution_rules", "sweep_sizes"]


def compare_attribution(
    scenario: Scenario,
    variants: dict[str, Any],
    *,
    n_sims: int | None = None,
    seed: SeedLike = None,
) -> Any:
    """How attribution choices move the savings rate and P(clear MSR), same population.

    Parameters
    ----------
    scenario : Scenario
    variants : dict
        Name -> :class:`~simsav.draw.attribution.AttributionSpec` (or its mapping).
    n_sims, seed :
        As for :func:`simulate`.

    Returns
    -------
    pandas.DataFrame
        One row per (variant, design): mean and SD of the savings rate, mean attributed
        count, P(clear MSR), P(owe losses), with Monte Carlo standard errors.
    """
    rows = []
    for name, spec in variants.items():
        att = spec if isinstance(spec, AttributionSpec) else AttributionSpec.model_validate(spec)
        scn = scenario.model_copy(update={"attribution": att})
        ds = simulate(scn, n_sims=n_sims, seed=seed)
        s = summarize(ds).isel(year=-1)
        count = (ds["n_attributed"] if "n_attributed" in ds else ds["n_beneficiaries"])
        for d in ds["design"].values:
            rate = ds["savings_rate"].sel(design=d).isel(year=-1)
            rows.append({
                "attribution": name, "design": str(d),
                "savings_rate_mean": float(rate.mean()), "savings_rate_sd": float(rate.std()),
                "attributed_mean": float(count.mean()),
                "p_clear_msr": float(s["p_clear_msr"].sel(design=d)),
                "se_p_clear_msr": float(s["se_p_clear_msr"].sel(design=d)),
                "p_owe_loss": float(s["p_owe_loss"].sel(design=d)),
            })
    return pd.DataFrame(rows).set_index(["attribution", "design"])


def compare_distribution_rules(
    ds: xr.Dataset,
    scenario: Scenario,
    *,
    design: str | None = None,
    rules: tuple[str, ...] = ("quality-x-lives", "own-savings", "lives"),
) -> xr.Dataset:
    """What a provider faces under each distribution rule, for one design's money.

    The same payments to the ACO and the same panels are split under each rule
    (:func:`simsav.analysis.incentives.compare_rules`); per rule and provider: the mean
    and SD of its payout over the agreement, the chance it is charged, and how strongly its payout
    follows its own panel's savings (``slope_own``: dollars it receives per dollar its own
    panel saves — the incentive to stint) against the rest of the ACO's savings
    (``slope_others``), by regression across sims.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate` with ``[providers]`` and ``[distribution]``.
    scenario : Scenario
        The scenario that produced ``ds``.
    design : str, optional
        Whose money to distribute (default: the first design).
    rules : tuple of str

    Returns
    -------
    xarray.Dataset
        Dims ``rule`` and ``provider``.
    """
    p, policy = scenario.providers, scenario.distribution
    if p is None or policy is None:
        raise ValueError("scenario: needs [providers] and [distribution] tables")
    name = str(ds["design"].values[0]) if design is None else design
    d = ds.sel(design=name)
    org = [str(x) for x in ds["provider_org_type"].values]
    lives = ds["provider_lives"].values
    bench = ds["benchmark"].values[:, :, None] * lives[None, None, :]
    exp = bench - ds["provider_savings"].values
    panels = ProviderPanels(org_type=org, lives=lives, benchmark=bench, expenditure=exp,
                            quality=ds["provider_quality"].values)
    paid = d["aco_paid"].values
    res = compare_rules(policy, receipts=np.maximum(paid, 0.0), panels=panels, rules=rules,
                        losses_owed=np.maximum(-paid, 0.0),
                        reinvested_aco=d["reinvested_aco"].values,
                        benchmark_total=d["benchmark_total"].values)
    out = xr.Dataset(coords={"rule": list(rules), "provider": ds["provider"].values,
                             "provider_lives": ("provider", lives)})
    per_rule: dict[str, list[np.ndarray]] = {}
    for r in rules:
        inc = _agreement_incentives(res[r], panels)
        for k, v in inc.items():
            per_rule.setdefault(k, []).append(v)
    units = {"payout_mean": "USD", "payout_sd": "USD", "prob_charged": "1",
             "slope_own": "1", "slope_own_se": "1", "slope_others": "1",
             "slope_others_se": "1"}
    long = {"payout_mean": "mean payout over the agreement",
            "payout_sd": "SD of the payout over the agreement",
            "prob_charged": "probability the provider is charged losses",
            "slope_own": "USD received per USD its own panel saves (incentive to stint)",
            "slope_own_se": "standard error of slope_own",
            "slope_others": "USD received per USD the rest of the ACO saves",
            "slope_others_se": "standard error of slope_others"}
    for k, arrays in per_rule.items():
        out[k] = xr.DataArray(np.stack(arrays), dims=("rule", "provider"),
                              attrs={"units": units[k], "long_name": long[k]})
    out.attrs = {"design": name, "policy": policy.model_dump_json()}
    return out


def _agreement_incentives(incentives: Any, panels: ProviderPanels) -> dict[str, np.ndarray]:
    keys = ("payout_mean", "payout_sd", "prob_charged", "slope_own", "slope_own_se",
            "slope_others", "slope_others_se")
    # compare_rules reports per year: take the agreement's last year if there is no total
    return {k: np.asarray(incentives[k])[-1] if np.asarray(incentives[k]).ndim == 2
            else np.asarray(incentives[k]) for k in keys}
