"""Provider panels in a simulation, and the distribution of the ACO's money to them.

With a ``[providers]`` table the population is drawn panel by panel (one kernel group per
provider). Each provider has its own effect on its panel's spending, ``δ_i ~ N(0,
savings_sd²)`` drawn once per sim (sub-stream 7), so panel ``i`` spends
``X_i × (1 − τ − δ_i)`` where ``τ`` is the ACO's true savings, and the ACO's expenditure is
the sum over panels. A provider's quality is the ACO's score plus ``N(0, quality_sd²)``
(sub-stream 8), clipped to [0, 1]. With a ``[distribution]`` policy, what the ACO is paid
each year is split by :func:`simsav.settlement.distribution.distribute` — infrastructure, a reserve
that pays losses first, organization types by weight, providers by the rule — and money is
checked to be conserved to the cent in every sim and year.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from simsav.rng import block_normals
from simsav.scenario import Scenario
from simsav.settlement.distribution import ProviderPanels, check_conservation, distribute

__all__ = [
    "provider_effects",
    "provider_quality",
    "attach_providers",
    "compare_distribution_rules",
]

_STREAM_EFFECT = (7,)
_STREAM_QUALITY = (8,)


def _normals(shape: tuple[int, ...], seed: Any, bs: int, stream: tuple[int, ...],
             first_block: int) -> np.ndarray:
    return block_normals(shape, seed=seed, block_size=bs, stream=stream,
                         first_block=first_block)


def provider_effects(scenario: Scenario, n: int, seed: Any, bs: int,
                     first_block: int = 0) -> np.ndarray:
    """Each provider's own effect on its panel's spending, shape (sim, provider)."""
    p = scenario.providers
    assert p is not None
    if p.savings_sd == 0:
        return np.zeros((n, p.count))
    return p.savings_sd * _normals((n, p.count), seed, bs, _STREAM_EFFECT, first_block)


def provider_quality(scenario: Scenario, aco_quality: np.ndarray, seed: Any, bs: int,
                     first_block: int = 0) -> np.ndarray:
    """Provider quality scores, shape (sim, year, provider), from the ACO's (sim, year)."""
    p = scenario.providers
    assert p is not None
    q = np.asarray(aco_quality, dtype=np.float64)
    n, years = q.shape
    if p.quality_sd == 0:
        return np.broadcast_to(q[:, :, None], (n, years, p.count)).copy()
    z = _normals((n, years, p.count), seed, bs, _STREAM_QUALITY, first_block)
    return np.clip(q[:, :, None] + p.quality_sd * z, 0.0, 1.0)


def attach_providers(ds: xr.Dataset, scenario: Scenario, panel_expenditure: np.ndarray,
                     panel_quality: np.ndarray) -> xr.Dataset:
    """Add the provider dimension, and the distribution of each design's money, to ``ds``.

    Parameters
    ----------
    ds : xarray.Dataset
        The results so far (benchmark per capita, settlement variables).
    scenario : Scenario
    panel_expenditure : ndarray, shape (sim, year, provider)
        Each panel's expenditure total, USD.
    panel_quality : ndarray, shape (sim, year, provider)
    """
    from simsav.results import var_attrs

    p = scenario.providers
    assert p is not None
    org, lives = p.layout(scenario.population.beneficiaries, scenario.seed)
    bench = ds["benchmark"].values[:, :, None] * lives[None, None, :]
    names = np.array([f"provider-{i + 1:04d}" for i in range(p.count)], dtype=object)
    ds = ds.assign_coords(
        provider=("provider", names),
        provider_org_type=("provider", np.array(org, dtype=object)),
        provider_lives=("provider", lives.astype(np.int64), {"units": "beneficiaries",
                                                              "long_name": "attributed lives"}),
    )
    ds["provider_savings"] = xr.DataArray(bench - panel_expenditure,
                                          dims=("sim", "year", "provider"),
                                          attrs=var_attrs("provider_savings"))
    ds["provider_quality"] = xr.DataArray(panel_quality, dims=("sim", "year", "provider"),
                                          attrs=var_attrs("provider_quality"))
    policy = scenario.distribution
    if policy is None:
        return ds
    panels = ProviderPanels(org_type=org, lives=lives, benchmark=bench,
                            expenditure=panel_expenditure, quality=panel_quality)
    out: dict[str, list[np.ndarray]] = {}
    for design in ds["design"].values:
        d = ds.sel(design=design)
        paid = d["aco_paid"].values
        dist = distribute(policy, receipts=np.maximum(paid, 0.0),
                          losses_owed=np.maximum(-paid, 0.0),
                          reinvested_aco=d["reinvested_aco"].values,
                          benchmark_total=d["benchmark_total"].values, panels=panels)
        check_conservation(dist)
        usd = dist.usd()
        for name, key in _DIST_FIELDS.items():
            out.setdefault(name, []).append(usd[key])
        out.setdefault("provider_payout", []).append(usd["payout"])
    for name, arrays in out.items():
        if name == "provider_payout":
            arr = np.stack(arrays, axis=2)  # (sim, year, design, provider)
            ds[name] = xr.DataArray(arr, dims=("sim", "year", "design", "provider"),
                                    attrs=var_attrs(name))
        else:
            ds[name] = xr.DataArray(np.stack(arrays, axis=-1), dims=("sim", "year", "design"),
                                    attrs=var_attrs(name))
    ds.attrs["distribution_policy"] = policy.model_dump_json()
    return ds


#: Dataset variable -> field of :meth:`simsav.settlement.distribution.Distribution.usd`.
_DIST_FIELDS = {
    "dist_infrastructure": "infrastructure",
    "dist_reserve_in": "reserve_in",
    "dist_reserve_paid_losses": "reserve_paid_losses",
    "dist_reserve_balance": "reserve_balance",
    "dist_losses_beyond_reserve": "losses_beyond_reserve",
    "dist_entity_losses": "entity_losses",
    "dist_unallocated": "unallocated",
    "aco_fund_balance": "aco_fund_balance",
    "distributed": "distributed",
}


def compare_distribution_rules(
    ds: xr.Dataset,
    scenario: Scenario,
    *,
    design: str | None = None,
    rules: tuple[str, ...] = ("quality-x-lives", "own-savings", "lives"),
) -> xr.Dataset:
    """What a provider faces under each distribution rule, for one design's money.

    The same payments to the ACO and the same panels are split under each rule
    (:func:`simsav.settlement.distribution.compare_rules`); per rule and provider: the mean
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
    from simsav.settlement.distribution import compare_rules

    p, policy = scenario.providers, scenario.distribution
    if p is None or policy is None:
        raise ValueError("scenario: needs [providers] and [distribution] tables")
    name = str(ds["design"].values[0]) if design is None else design
    d = ds.sel(design=name)
    org, lives = p.layout(scenario.population.beneficiaries, scenario.seed)
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
