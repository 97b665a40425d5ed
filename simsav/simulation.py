"""simulate = draw → reconcile → build the Dataset; add_design reuses the draws.

Draw once, settle many: spending is drawn once per sim (:mod:`simsav.draw.stage`) and
every contract design is settled on the same draws (:mod:`simsav.reconcile`), so
differences between designs carry no Monte Carlo noise. A one-year run is a one-year
agreement; there is one path for every kind of scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from simsav.contracts import Contract
from simsav.draw.stage import DRAW_METHODS, draw
from simsav.reconcile import DesignTerms, reconcile
from simsav.results.build import build_dataset, design_dataset, draws_from_dataset
from simsav.rng import SeedLike, check_block_size, check_n_sims, root_seed_sequence
from simsav.scenario import Design, Scenario
from simsav.settlement.finances import FinancesSpec
from simsav.settlement.policy import DistributionPolicy

__all__ = ["add_design", "simulate"]


def _check_method(scenario: Scenario, method: str) -> None:
    if method not in DRAW_METHODS:
        raise ValueError(f"draws: must be one of {', '.join(DRAW_METHODS)}, got {method!r}")
    if method == "aggregate":
        if not scenario.attribution.is_trivial:
            raise ValueError("draws: the aggregate fast path has no attribution; use "
                             "'per-beneficiary'")
        if scenario.agreement.base_years + scenario.agreement.years > 1:
            raise ValueError("draws: the aggregate fast path covers one-year scenarios only")


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
        Dims ``sim``, ``year``, ``design``; variables of :mod:`simsav.results.schema`.
    """
    n = check_n_sims(scenario.sims if n_sims is None else n_sims)
    seed_given: SeedLike = scenario.seed if seed is None else seed
    root = root_seed_sequence(seed_given)
    bs = check_block_size(scenario.block_size if block_size is None else block_size)
    _check_method(scenario, draws)
    seed_attr: int | str = (
        int(seed_given) if isinstance(seed_given, int | np.integer) and int(seed_given) < 2**63
        else str(int(seed_given)) if isinstance(seed_given, int | np.integer)
        else f"SeedSequence(entropy={root.entropy}, spawn_key={root.spawn_key})")
    d = draw(scenario, n_sims=n, seed=root, block_size=bs, n_threads=n_threads,
             scheduler=scheduler, blocks_per_task=blocks_per_task, progress=progress,
             method=draws)
    years = scenario.agreement.years
    arrays = reconcile(
        d, [DesignTerms.from_design(x, years) for x in scenario.designs],
        distribution=scenario.distribution, finances=scenario.finances,
        n_beneficiaries=np.full(years, float(scenario.population.beneficiaries)))
    return build_dataset(scenario, d, arrays, seed=seed_attr, block_size=bs, method=draws)


def add_design(ds: xr.Dataset, design: Contract | Design, *,
               name: str | None = None) -> xr.Dataset:
    """Settle one more contract design on a results Dataset's existing draws.

    Draw once, settle many: the new design sees exactly the benchmark, expenditure,
    quality, attributed counts and provider panels of every sim already in ``ds``, and is
    settled, distributed and costed exactly as :func:`simulate` would have done with it in
    the scenario, so its difference from the other designs has no Monte Carlo noise.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simulate` (or :func:`simsav.open_dataset` of its file).
    design : Contract or Design
        A contract (reconciled annually, the same contract every year), e.g.
        ``simsav.presets["mssp-enhanced"]``, or a scenario :class:`~simsav.scenario.Design`
        (with its glide path and reconciliation).
    name : str, optional
        Its label (default: the design's or contract's name); must not exist in ``ds``.

    Returns
    -------
    xarray.Dataset
        A new Dataset with the design appended along ``design``.
    """
    years = ds.sizes["year"]
    if isinstance(design, Contract):
        terms = DesignTerms([design] * years)
        label, preset = design.name if name is None else name, design.name
    elif isinstance(design, Design):
        terms = DesignTerms.from_design(design, years)
        label = design.name if name is None else name
        preset = design.preset or (design.glide or [""])[0]
    else:
        raise TypeError(f"design: must be a Contract or a Design, got {type(design).__name__}")
    if label in set(ds["design"].values.tolist()):
        raise ValueError(f"name: design {label!r} already in the Dataset")
    d = draws_from_dataset(ds)
    policy = (DistributionPolicy.model_validate_json(ds.attrs["distribution_policy"])
              if "distribution_policy" in ds.attrs else None)
    finances = (FinancesSpec.model_validate_json(ds.attrs["finances"])
                if "finances" in ds.attrs else None)
    arrays = reconcile(d, [terms], distribution=policy, finances=finances,
                       n_beneficiaries=ds["n_beneficiaries"].values)
    new = design_dataset(arrays, sims=ds["sim"].values, years=ds["year"].values,
                         labels=[label], presets=[preset], draws=d)
    per_design = [k for k in ds.data_vars if "design" in ds[k].dims]
    out = xr.concat([ds[per_design], new], dim="design", data_vars="all", coords="different",
                    compat="equals", join="exact", combine_attrs="override")
    out = out.assign({k: ds[k] for k in ds.data_vars if k not in per_design})
    out = out[list(ds.data_vars)]
    out.attrs = dict(ds.attrs)
    return out
