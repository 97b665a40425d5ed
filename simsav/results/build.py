"""The results Dataset from a run's draws and settlements, and the draws back from it.

:func:`build_dataset` labels the arrays of :func:`simsav.draw.stage.draw` and
:func:`simsav.reconcile.reconcile` with the schema's dims, units and long names
(:mod:`simsav.results.schema`) and records the run's provenance in attrs (strings and
numbers only, netCDF-safe). :func:`draws_from_dataset` reads the settlement's inputs back,
so a design added to a saved Dataset is settled on exactly the draws of the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from simsav import __version__
from simsav.draw.population import population_groups
from simsav.draw.stage import Draws
from simsav.results.schema import ALL_VARIABLES, var_attrs
from simsav.scenario import Scenario

__all__ = ["build_dataset", "design_dataset", "draws_from_dataset"]

_SY = ("sim", "year")
_SYD = ("sim", "year", "design")
_SYDP = ("sim", "year", "design", "provider")


#: Attrs of the coordinates (CF: every coordinate says what it indexes).
COORD_ATTRS: dict[str, dict[str, str]] = {
    "sim": {"long_name": "simulation (one simulated ACO history)", "units": "1"},
    "year": {"long_name": "year of the agreement period (1: first performance year)",
             "units": "1"},
    "design": {"long_name": "contract design"},
    "preset": {"long_name": "preset the design starts from (first of a glide path)"},
}


def _labelled(name: str, values: Any) -> xr.DataArray:
    return xr.DataArray(values, dims=ALL_VARIABLES[name].dims, attrs=var_attrs(name))


def _provider_coords(draws: Draws) -> dict[str, Any]:
    if draws.provider_lives is None:
        return {}
    count = draws.provider_lives.size
    return {
        "provider": ("provider", np.array([f"provider-{i + 1:04d}" for i in range(count)],
                                          dtype=object), {"long_name": "provider panel"}),
        "provider_org_type": ("provider", np.array(draws.provider_org, dtype=object),
                              {"long_name": "provider's organization type"}),
        "provider_lives": ("provider", draws.provider_lives.astype(np.int64),
                           {"units": "beneficiaries", "long_name": "attributed lives"}),
    }


def design_dataset(
    arrays: Mapping[str, NDArray[Any]],
    *,
    sims: NDArray[Any],
    years: NDArray[Any],
    labels: list[str],
    presets: list[str],
    draws: Draws,
) -> xr.Dataset:
    """The per-design variables of :func:`simsav.reconcile.reconcile` as a Dataset."""
    coords: dict[str, Any] = {
        "sim": ("sim", sims, COORD_ATTRS["sim"]),
        "year": ("year", years, COORD_ATTRS["year"]),
        "design": ("design", np.array(labels, dtype=object), COORD_ATTRS["design"]),
        "preset": ("design", np.array(presets, dtype=object), COORD_ATTRS["preset"]),
        **_provider_coords(draws),
    }
    return xr.Dataset({name: _labelled(name, arr) for name, arr in arrays.items()},
                      coords=coords)


def _inputs(scenario: Scenario, draws: Draws) -> dict[str, xr.DataArray]:
    """The settlement's inputs: what each design was settled on."""
    n, years = draws.shape
    inputs: dict[str, Any] = {
        "n_beneficiaries": np.full(years, float(scenario.population.beneficiaries)),
        "benchmark": draws.benchmark,
        "expenditure": draws.expenditure,
        "quality": draws.quality,
        "quality_rank": draws.quality_rank,
        "true_savings": draws.true_savings,
        "revenue": draws.revenue,
        "agreement_year": draws.agreement_year,
        "euc_fraction": np.full(years, draws.euc_fraction),
        "low_revenue": np.full(years, draws.low_revenue),
    }
    if draws.attributed:
        inputs["n_attributed"] = draws.n_beneficiaries
    if draws.panel_savings is not None:
        inputs["provider_savings"] = draws.panel_savings
        inputs["provider_quality"] = draws.panel_quality
    if draws.stop_loss_excess is not None:
        inputs["stop_loss_excess"] = draws.stop_loss_excess
        inputs["stop_loss_expected"] = draws.stop_loss_expected
    return {name: _labelled(name, v) for name, v in inputs.items()}


def _stop_loss_coords(draws: Draws) -> dict[str, Any]:
    if not draws.stop_loss_keys:
        return {}
    keys = draws.stop_loss_keys
    return {
        "attachment": ("attachment", np.array(
            [f"{a:g}{' risk-adjusted' if adj else ''}" for a, adj in keys], dtype=object)),
        "attachment_usd": ("attachment", np.array([a for a, _ in keys]),
                           {"units": "USD per beneficiary-year",
                            "long_name": "stop-loss attachment point"}),
        "attachment_risk_adjusted": ("attachment", np.array([adj for _, adj in keys]),
                                     {"units": "1",
                                      "long_name": "attachment scaled by stratum risk"}),
    }


def build_dataset(
    scenario: Scenario,
    draws: Draws,
    arrays: Mapping[str, NDArray[Any]],
    *,
    seed: int | str,
    block_size: int,
    method: str,
) -> xr.Dataset:
    """Label a run's draws and settlements as the results Dataset.

    Parameters
    ----------
    scenario : Scenario
    draws : Draws
    arrays : mapping
        From :func:`simsav.reconcile.reconcile`, designs in the scenario's order.
    seed : int or str
        The seed as given (a string for a SeedSequence or Generator).
    block_size : int
    method : str
        How spending was drawn.
    """
    n, years = draws.shape
    per_design = design_dataset(
        arrays, sims=np.arange(n), years=np.arange(1, years + 1),
        labels=[d.name for d in scenario.designs],
        presets=[d.preset or (d.glide or [""])[0] for d in scenario.designs], draws=draws)
    inputs = _inputs(scenario, draws)
    ds = per_design.assign_coords(_stop_loss_coords(draws)).assign(inputs)[
        [*inputs, *per_design.data_vars]]
    ds.attrs = _provenance(scenario, n, seed, block_size, method)
    return ds


def _provenance(scenario: Scenario, n: int, seed: int | str, block_size: int,
                method: str) -> dict[str, Any]:
    ag = scenario.agreement
    attrs: dict[str, Any] = {
        "Conventions": "CF-1.10",
        "title": f"simsav results: {scenario.name}",
        "simsav_version": __version__,
        "scenario": scenario.name,
        "seed": seed,
        "block_size": block_size,
        "n_sims": n,
        "scenario_toml": scenario.to_toml(),
        "scenario_sha256": scenario.digest(),
        "groups": ", ".join(f"{g}={c}" for g, _, c in population_groups(scenario)),
        "sign_convention": "positive = paid to the ACO; shared_losses >= 0 is owed by the ACO",
        "draws": method,
    }
    if ag.base_years + ag.years > 1:
        attrs["agreement"] = (f"{ag.years} years, {ag.base_years} base years, benchmark "
                              f"{ag.benchmark}, trend {ag.trend}")
    if not scenario.attribution.is_trivial:
        attrs["attribution"] = scenario.attribution.model_dump_json()
    if scenario.distribution is not None:
        attrs["distribution_policy"] = scenario.distribution.model_dump_json()
    if scenario.finances is not None:
        attrs["finances"] = scenario.finances.model_dump_json()
    return attrs


def draws_from_dataset(ds: xr.Dataset) -> Draws:
    """The settlement's inputs held in a results Dataset, as :class:`Draws`.

    Raises
    ------
    ValueError
        If ``ds`` lacks an input (a Dataset from simsav before 0.2: re-run it).
    """
    missing = [k for k in ("quality_rank", "revenue", "agreement_year", "euc_fraction",
                           "low_revenue") if k not in ds]
    if missing:
        raise ValueError(f"ds: has no {', '.join(missing)} (made by an older simsav); "
                         "re-run the simulation")
    n, years = ds.sizes["sim"], ds.sizes["year"]
    attributed = "n_attributed" in ds
    n_ben = (ds["n_attributed"].values if attributed else
             np.broadcast_to(ds["n_beneficiaries"].values[None, :], (n, years)).copy())
    providers = "provider_savings" in ds
    stop_loss = "stop_loss_excess" in ds
    keys = (tuple(zip([float(a) for a in ds["attachment_usd"].values],
                      [bool(b) for b in ds["attachment_risk_adjusted"].values], strict=True))
            if stop_loss else ())
    return Draws(
        benchmark=ds["benchmark"].values, expenditure=ds["expenditure"].values,
        quality=ds["quality"].values, quality_rank=ds["quality_rank"].values,
        true_savings=ds["true_savings"].values, n_beneficiaries=n_ben,
        revenue=ds["revenue"].values, agreement_year=ds["agreement_year"].values,
        euc_fraction=float(ds["euc_fraction"].values[0]),
        low_revenue=bool(ds["low_revenue"].values[0]), attributed=attributed,
        provider_org=[str(x) for x in ds["provider_org_type"].values] if providers else None,
        provider_lives=ds["provider_lives"].values if providers else None,
        panel_savings=ds["provider_savings"].values if providers else None,
        panel_quality=ds["provider_quality"].values if providers else None,
        stop_loss_keys=keys,
        stop_loss_excess=ds["stop_loss_excess"].values if stop_loss else None,
        stop_loss_expected=ds["stop_loss_expected"].values if stop_loss else None,
    )
