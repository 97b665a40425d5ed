"""Scenario → blocks → kernels → settle → Dataset.

Draw once, settle many: spending is drawn once per sim (per stratum), and every contract
design of the scenario is settled on the same draws, so differences between designs carry no
Monte Carlo noise.

Per sim ``i``:

* ``spending_i`` = truncated per-beneficiary spending summed over the population (numba
  kernel, :func:`simsav.draw.groups.simulate_group_sums`);
* ``true_savings_i`` = ``aco.true_savings + sd_τ(N) × z1``, with
  ``sd_τ(N)² = aco.true_savings_sd² + aco.true_savings_var_n / N``;
* ``expenditure_i`` = ``spending_i / N × (1 − true_savings_i)`` per capita;
* ``benchmark_i`` = ``μ_T × (1 + sd_b(N) × z2)`` (``sd_b`` likewise from
  ``benchmark_error_sd`` and ``benchmark_error_var_n``), where ``μ_T`` is the
  population's expected truncated spending per capita (the model's theory), i.e. the
  benchmark an ACO with no true savings would be measured against;
* ``quality_i``: fixed, or beta with the scenario's mean and sd.

``z1``, ``z2`` and the quality draws come from their own per-block streams (sub-streams 1, 2
and 3 of :mod:`simsav.rng`), so each is unchanged when another is switched on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from simsav import __version__
from simsav.contracts import Contract
from simsav.draw.groups import simulate_group_sums
from simsav.results import VARIABLES, var_attrs
from simsav.rng import (
    DEFAULT_BLOCK_SIZE,
    SeedLike,
    block_normals,
    map_blocks,
    root_seed_sequence,
)
from simsav.scenario import Scenario
from simsav.settlement.rules import SETTLEMENT_FIELDS, Settlement, settle
from simsav.spending import SpendingSpec

__all__ = [
    "simulate",
    "add_design",
    "sweep_sizes",
    "compare_attribution",
    "population_groups",
    "stratum_counts",
]

_STREAM_TRUE_SAVINGS = (1,)
_STREAM_BENCHMARK = (2,)
_STREAM_QUALITY = (3,)


def stratum_counts(shares: list[float], total: int) -> np.ndarray:
    """Split ``total`` beneficiaries by ``shares`` (largest-remainder rounding).

    Examples
    --------
    >>> stratum_counts([0.5, 0.25, 0.25], 5).tolist()
    [3, 1, 1]
    """
    raw = np.asarray(shares, dtype=np.float64) * total
    counts = np.floor(raw).astype(np.int64)
    short = int(total - counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def population_groups(scenario: Scenario) -> list[tuple[str, SpendingSpec, int]]:
    """The scenario's spending groups: ``(name, spending spec, beneficiaries)``.

    One group without strata; one per stratum otherwise, each stratum overriding the
    ``[spending]`` terms it names.
    """
    n = scenario.population.beneficiaries
    base = scenario.spending
    if scenario.providers is not None:
        org, lives = scenario.providers.layout(n, scenario.seed)
        return [(f"provider-{i + 1:04d}", base, int(c)) for i, c in enumerate(lives)]
    if not scenario.strata:
        return [("all", base, n)]
    counts = stratum_counts([s.share for s in scenario.strata], n)
    groups = []
    for s, count in zip(scenario.strata, counts, strict=True):
        over = {k: v for k, v in (("mean", s.mean), ("cv", s.cv), ("truncate_at", s.truncate_at),
                                  ("model", s.model)) if v is not None}
        spec = base.replace(**over) if over else base
        groups.append((s.name, spec, int(count)))
    return groups


def standard_normals(
    n_sims: int,
    seed: SeedLike,
    block_size: int,
    stream: tuple[int, ...],
    *,
    first_block: int = 0,
) -> np.ndarray:
    """Standard normal draws, one per sim, from sub-stream ``stream`` of each block."""
    return block_normals((n_sims,), seed=seed, block_size=block_size, stream=stream,
                         first_block=first_block)


def _quality(scenario: Scenario, n_sims: int, seed: SeedLike, block_size: int,
             first_block: int = 0) -> np.ndarray:
    qs = scenario.quality
    if qs.distribution == "fixed":
        return np.full(n_sims, qs.fixed_score)
    a, b = qs.beta_params()
    out = np.empty(n_sims)

    def fill(rng: np.random.Generator, start: int, stop: int) -> None:
        out[start:stop] = rng.beta(a, b, stop - start)

    map_blocks(fill, n_sims, seed=seed, block_size=block_size, n_threads=1,
               stream=_STREAM_QUALITY, first_block=first_block)
    return out


def _aco_terms(
    scenario: Scenario, mu_t: float, n: int, seed: SeedLike, bs: int, first_block: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per sim: the ACO's true savings and the benchmark around ``mu_t`` (with its error)."""
    aco = scenario.aco
    n_total = scenario.population.beneficiaries
    true_sav = np.full(n, aco.true_savings)
    ts_sd = aco.true_savings_sd_at(n_total)
    if ts_sd > 0:
        true_sav = true_sav + ts_sd * standard_normals(n, seed, bs, _STREAM_TRUE_SAVINGS,
                                                       first_block=first_block)
    benchmark = np.full(n, mu_t)
    be_sd = aco.benchmark_error_sd_at(n_total)
    if be_sd > 0:
        eps = standard_normals(n, seed, bs, _STREAM_BENCHMARK, first_block=first_block)
        benchmark = mu_t * np.maximum(1.0 + be_sd * eps, 1e-6)
    return true_sav, benchmark


def _draw(
    scenario: Scenario,
    seed: np.random.SeedSequence,
    first_block: int,
    n: int,
    bs: int,
    n_threads: int | None,
    on_block: Callable[[int], None] | None = None,
    draws: str = "per-beneficiary",
) -> dict[str, np.ndarray]:
    """Draw sims ``first_block·bs`` to ``first_block·bs + n``: spending, ACO terms, quality.

    The random stage of :func:`simulate`, for any run of whole blocks, so a run split into
    pieces (threads, dask tasks) draws exactly what the whole run draws.
    """
    if not scenario.attribution.is_trivial:
        return _draw_attributed(scenario, seed, first_block, n, bs, n_threads, on_block)
    groups = population_groups(scenario)
    n_total = scenario.population.beneficiaries
    if draws == "aggregate":
        from simsav.draw.aggregate import simulate_group_sums_aggregate as group_sums
    else:
        group_sums = simulate_group_sums
    sums = group_sums(
        [(spec, count) for _, spec, count in groups], n, seed=seed, block_size=bs,
        n_threads=n_threads, first_block=first_block, on_block=on_block,
    )
    spend = sums.sum(axis=1) / n_total
    mu_t = sum(count * spec.to_model().mean(truncated=True) for _, spec, count in groups)
    true_sav, benchmark = _aco_terms(scenario, mu_t / n_total, n, seed, bs, first_block)
    quality = _quality(scenario, n, seed, bs, first_block)
    out = {"benchmark": benchmark, "quality": quality, "true_savings": true_sav}
    if scenario.providers is None:
        out["expenditure"] = spend * (1.0 - true_sav)
        return out
    from simsav.draw.providers import provider_effects, provider_quality

    delta = provider_effects(scenario, n, seed, bs, first_block)
    panel_exp = sums * (1.0 - true_sav[:, None] - delta)
    out["expenditure"] = panel_exp.sum(axis=1) / n_total
    out["panel_expenditure"] = panel_exp
    out["panel_quality"] = provider_quality(scenario, quality[:, None], seed, bs,
                                            first_block)[:, 0, :]
    return out


def _draw_attributed(
    scenario: Scenario,
    seed: np.random.SeedSequence,
    first_block: int,
    n: int,
    bs: int,
    n_threads: int | None,
    on_block: Callable[[int], None] | None,
) -> dict[str, np.ndarray]:
    """The random stage with churn and retrospective assignment (:mod:`simsav.draw.attribution`).

    Per sim the attributed count ``n_att`` varies: it sets the MSR, and expenditure per
    capita is ``(spending − τ · managed spending) / n_att``.
    """
    from simsav.draw.attribution import attributed_sums, benchmark_per_capita

    att = scenario.attribution
    groups = [(spec, count) for _, spec, count in population_groups(scenario)]
    a = attributed_sums(groups, n, attribution=att, seed=seed, block_size=bs,
                        n_threads=n_threads, first_block=first_block, on_block=on_block)
    n_att = a["count"].sum(axis=1).astype(np.float64)
    mu_t = benchmark_per_capita(groups, att)
    true_sav, benchmark = _aco_terms(scenario, mu_t, n, seed, bs, first_block)
    spending = a["spending"].sum(axis=1) - true_sav * a["managed_spending"].sum(axis=1)
    return {
        "benchmark": benchmark,
        "expenditure": spending / np.maximum(n_att, 1.0),
        "quality": _quality(scenario, n, seed, bs, first_block),
        "true_savings": true_sav,
        "n_attributed": n_att,
    }


def simulate(
    scenario: Scenario,
    *,
    n_sims: int | None = None,
    seed: SeedLike = None,
    block_size: int | None = None,
    n_threads: int | None = None,
    scheduler: Any = None,
    blocks_per_task: int | None = None,
    progress: Callable[[int], None] | None = None,
    draws: str = "per-beneficiary",
) -> xr.Dataset:
    """Simulate a scenario and settle every design on the same draws.

    Parameters
    ----------
    scenario : Scenario
        From :func:`simsav.load_scenario` or :func:`simsav.parse_scenario`.
    n_sims : int, optional
        Number of sims (default: the scenario's ``sims``). A larger value only appends sims.
    seed : int, SeedSequence or Generator, optional
        Default: the scenario's ``seed``. The same seed gives the same Dataset whatever the
        thread count, the dask workers or how the blocks are split into tasks.
    block_size : int, optional
        Sims per random block (default: the scenario's, 256). Results depend on it.
    n_threads : int, optional
        Threads for the spending kernel (default: numba's thread count).
    scheduler : {None, "local"} or str or dask.distributed.Client, optional
        Run the blocks as dask tasks: ``"local"`` starts a local cluster (one worker per
        core), a ``"tcp://host:port"`` address connects to a running scheduler, or pass a
        ``Client``. Needs ``dask[distributed]`` (``pip install simsav[dask]``).
    blocks_per_task : int, optional
        Blocks per dask task (default: about four tasks per worker).
    progress : callable, optional
        Called with the number of sims drawn as blocks finish (e.g. ``tqdm.update``).
    draws : {"per-beneficiary", "aggregate"}
        Draw every beneficiary (the reference), or the fast path of
        :mod:`simsav.draw.aggregate` — exact for gamma, a binomial count of non-zero and of
        tail beneficiaries drawn exactly, and a three-moment body — that costs
        O(sims) rather than O(beneficiaries × sims) and agrees within Monte Carlo error.
        The two give different draws for the same seed. One-year scenarios only.

    Returns
    -------
    xarray.Dataset
        Dims ``sim``, ``year``, ``design``; variables of :data:`simsav.results.VARIABLES`.
    """
    n = scenario.sims if n_sims is None else int(n_sims)
    if n < 1:
        raise ValueError(f"n_sims: must be >= 1, got {n}")
    seed_given: SeedLike = scenario.seed if seed is None else seed
    root = root_seed_sequence(seed_given)
    bs = scenario.block_size if block_size is None else int(block_size)
    if bs == 0:
        bs = DEFAULT_BLOCK_SIZE
    seed_attr: int | str = int(seed_given) if isinstance(seed_given, int | np.integer) else (
        f"SeedSequence(entropy={root.entropy}, spawn_key={root.spawn_key})")
    if draws not in ("per-beneficiary", "aggregate"):
        raise ValueError(f"draws: must be 'per-beneficiary' or 'aggregate', got {draws!r}")
    if draws == "aggregate" and not scenario.attribution.is_trivial:
        raise ValueError("draws: the aggregate fast path has no attribution; use "
                         "'per-beneficiary'")
    if not scenario.agreement.is_single_year:
        if draws != "per-beneficiary":
            raise ValueError("draws: the aggregate fast path covers one-year scenarios only")
        from simsav.multiyear import simulate_agreement

        ds = simulate_agreement(scenario, n, root, bs, n_threads, seed_attr, _build_dataset,
                                scheduler=scheduler, blocks_per_task=blocks_per_task,
                                progress=progress)
        ds.attrs["draws"] = draws
        return _finances(ds, scenario)
    if scheduler is None:
        drawn = _draw(scenario, root, 0, n, bs, n_threads, progress, draws)
    else:
        from functools import partial

        from simsav.distributed import draw_with_dask

        drawn = draw_with_dask(partial(_draw, draws=draws), scenario, root, n, bs,
                               scheduler=scheduler, blocks_per_task=blocks_per_task,
                               progress=progress)
    n_total = scenario.population.beneficiaries
    n_settle: Any = drawn.get("n_attributed", n_total)
    aco = scenario.aco
    bench = drawn["benchmark"]
    revenue = np.nan if aco.revenue_share is None else aco.revenue_share * bench * n_settle
    contracts = scenario.contracts()
    settled: list[Settlement] = [
        settle(c, benchmark=bench, expenditure=drawn["expenditure"], n_beneficiaries=n_settle,
               quality=drawn["quality"], revenue=revenue, agreement_year=aco.agreement_year,
               euc_fraction=aco.euc_fraction, low_revenue=aco.low_revenue)
        for c in contracts.values()
    ]
    ds = _build_dataset(scenario, n, seed_attr, bs, bench, drawn["expenditure"],
                        drawn["quality"], drawn["true_savings"], settled,
                        population_groups(scenario))
    if scenario.providers is not None:
        from simsav.draw.providers import attach_providers

        ds = attach_providers(ds, scenario, drawn["panel_expenditure"][:, None, :],
                              drawn["panel_quality"][:, None, :])
    if "n_attributed" in drawn:
        ds["n_attributed"] = xr.DataArray(drawn["n_attributed"][:, None], dims=("sim", "year"),
                                          attrs={"units": "1",
                                                 "long_name": "attributed beneficiaries",
                                                 "puf_column": "N_AB"})
        ds.attrs["attribution"] = scenario.attribution.model_dump_json()
    ds.attrs["draws"] = draws
    return _finances(ds, scenario)


def _finances(ds: xr.Dataset, scenario: Scenario) -> xr.Dataset:
    if scenario.finances is None:
        return ds
    from simsav.settlement.finances import attach_finances

    return attach_finances(ds, scenario.finances)


def _build_dataset(scenario: Scenario, n: int, seed_attr: int | str, bs: int,
                   benchmark: np.ndarray, expenditure: np.ndarray, quality: np.ndarray,
                   true_sav: np.ndarray, settled: Any,
                   groups: list[tuple[str, SpendingSpec, int]],
                   extra: dict[str, np.ndarray] | None = None) -> xr.Dataset:
    """Label the arrays as the results Dataset.

    Per-sim inputs are (sim,) or (sim, year); ``settled`` is a list (design) of
    Settlements of shape (sim,) or (sim, year); ``extra`` holds further (sim, year,
    design) variables of the schema.
    """
    designs = [d.name for d in scenario.designs]
    n_years = scenario.agreement.years
    coords = {
        "sim": np.arange(n),
        "year": np.arange(1, n_years + 1),
        "design": np.array(designs, dtype=object),
        "preset": ("design", np.array([d.preset or (d.glide or [""])[0]
                                       for d in scenario.designs], dtype=object)),
    }
    data: dict[str, xr.DataArray] = {}

    def sy(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return x.reshape(n, 1) if x.ndim == 1 else x

    data["n_beneficiaries"] = xr.DataArray(
        np.full(n_years, float(scenario.population.beneficiaries)), dims=("year",))
    data["benchmark"] = xr.DataArray(sy(benchmark), dims=("sim", "year"))
    data["expenditure"] = xr.DataArray(sy(expenditure), dims=("sim", "year"))
    data["quality"] = xr.DataArray(sy(quality), dims=("sim", "year"))
    data["true_savings"] = xr.DataArray(sy(true_sav), dims=("sim", "year"))
    for field in SETTLEMENT_FIELDS:
        stacked = np.stack([getattr(s, field) for s in settled], axis=-1)
        if stacked.ndim == 2:
            stacked = stacked[:, None, :]
        data[field] = xr.DataArray(stacked, dims=("sim", "year", "design"))
    if extra is None:
        net = data["aco_net"].values
        extra = {"aco_paid": net, "true_up": np.zeros_like(net)}
    for name, arr in extra.items():
        data[name] = xr.DataArray(arr, dims=("sim", "year", "design"))
    for name, da in data.items():
        da.attrs = var_attrs(name)
        assert da.dims == VARIABLES[name].dims, name
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = {
        "title": f"simsav results: {scenario.name}",
        "simsav_version": __version__,
        "scenario": scenario.name,
        "seed": seed_attr,
        "block_size": bs,
        "n_sims": n,
        "scenario_toml": scenario.to_toml(),
        "scenario_sha256": scenario.digest(),
        "groups": ", ".join(f"{g}={c}" for g, _, c in groups),
        "sign_convention": "positive = paid to the ACO; shared_losses >= 0 is owed by the ACO",
    }
    return ds


def add_design(ds: xr.Dataset, contract: Contract, *, name: str | None = None) -> xr.Dataset:
    """Settle one more contract design on a results Dataset's existing draws.

    Draw once, settle many: the new design sees exactly the benchmark, expenditure and
    quality of every sim already in ``ds``, so its difference from the other designs has
    no Monte Carlo noise. The design is reconciled annually, the same contract every year.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simulate`.
    contract : Contract
        The design to add, e.g. ``simsav.presets["mssp-enhanced"]``.
    name : str, optional
        Its label (default: ``contract.name``); must not exist in ``ds``.

    Returns
    -------
    xarray.Dataset
        A new Dataset with the design appended along ``design``.
    """
    from simsav.scenario import parse_scenario

    label = contract.name if name is None else name
    if label in set(ds["design"].values.tolist()):
        raise ValueError(f"name: design {label!r} already in the Dataset")
    import tomllib

    scn = parse_scenario(tomllib.loads(ds.attrs["scenario_toml"]))
    aco = scn.aco
    n_total = float(ds["n_beneficiaries"].values[0])
    years = ds["year"].values
    pieces = []
    for i, yr in enumerate(years):
        bench = ds["benchmark"].sel(year=yr).values
        rev = np.nan if aco.revenue_share is None else aco.revenue_share * bench * n_total
        prior = None if i == 0 else ds["quality"].sel(year=years[i - 1]).values
        s = settle(contract, benchmark=bench, expenditure=ds["expenditure"].sel(year=yr).values,
                   n_beneficiaries=n_total, quality=ds["quality"].sel(year=yr).values,
                   revenue=rev, agreement_year=aco.agreement_year if len(years) == 1 else i + 1,
                   euc_fraction=aco.euc_fraction, low_revenue=aco.low_revenue,
                   quality_prior=prior)
        pieces.append(s)
    new = {}
    for field in SETTLEMENT_FIELDS:
        arr = np.stack([getattr(s, field) for s in pieces], axis=1)[:, :, None]
        new[field] = xr.DataArray(arr, dims=("sim", "year", "design"), attrs=var_attrs(field))
    net = new["aco_net"].values
    new["aco_paid"] = xr.DataArray(net, dims=("sim", "year", "design"),
                                   attrs=var_attrs("aco_paid"))
    new["true_up"] = xr.DataArray(np.zeros_like(net), dims=("sim", "year", "design"),
                                  attrs=var_attrs("true_up"))
    add = xr.Dataset(new, coords={"sim": ds["sim"], "year": ds["year"],
                                  "design": np.array([label], dtype=object),
                                  "preset": ("design", np.array([contract.name], dtype=object))})
    if "provider_payout" in ds:
        raise ValueError("ds: add_design cannot distribute to providers; put the design in "
                         "the scenario")
    per_design = [k for k in ds.data_vars if "design" in ds[k].dims
                  and not k.startswith("fin_")]
    out = xr.concat([ds[per_design], add], dim="design", data_vars="all", coords="different",
                    compat="equals", join="exact", combine_attrs="override")
    for k in ds.data_vars:
        if k not in per_design and not k.startswith("fin_"):
            out[k] = ds[k]
    out.attrs = dict(ds.attrs)
    if "finances" in ds.attrs:
        from simsav.settlement.finances import FinancesSpec, attach_finances

        out = attach_finances(out, FinancesSpec.model_validate_json(ds.attrs["finances"]))
    return out


def sweep_sizes(
    scenario: Scenario,
    sizes: list[int],
    *,
    n_sims: int | None = None,
    seed: SeedLike = None,
    n_threads: int | None = None,
) -> xr.Dataset:
    """Summaries of a scenario over population sizes (dim ``size``).

    The scenario is re-run at each size with the same seed; strata keep their shares.

    Parameters
    ----------
    scenario : Scenario
    sizes : list of int
        Assigned beneficiaries (each >= 1).
    n_sims, seed, n_threads :
        As for :func:`simulate`.

    Returns
    -------
    xarray.Dataset
        :func:`simsav.summarize` output stacked along ``size``.
    """
    from simsav.results import summarize
    from simsav.scenario import Population

    if not sizes or any(int(n) < 1 for n in sizes):
        raise ValueError("sizes: need at least one size, each >= 1")
    parts = []
    for n in sizes:
        scn = scenario.model_copy(update={"population": Population(beneficiaries=int(n))})
        parts.append(summarize(simulate(scn, n_sims=n_sims, seed=seed, n_threads=n_threads)))
    out = xr.concat(parts, dim=xr.DataArray(np.asarray(sizes, dtype=np.int64), dims="size",
                                             name="size"), combine_attrs="override")
    out["size"].attrs = {"units": "1", "long_name": "assigned beneficiaries"}
    return out


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
    import pandas as pd

    from simsav.draw.attribution import AttributionSpec
    from simsav.results import summarize

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
