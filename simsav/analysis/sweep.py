"""Sweeps: a scenario's summaries over a grid of any scenario or contract keys.

:func:`sweep` runs a scenario at every point of a grid (the product of each key's values)
and stacks :func:`simsav.summarize` along one dimension per key. Keys are dotted names
(:mod:`simsav.analysis.overrides`): ``aco.true_savings``, ``population.beneficiaries``,
``designs.*.msr``, ...

Common random numbers. Every point uses the same seed, so

* a key that changes only the settlement (``designs``, ``distribution``, ``finances``)
  re-settles the very same draws (:func:`simsav.results.build.draws_from_dataset`, as
  :func:`simsav.add_design` does): differences along it carry no Monte Carlo noise;
* a key that changes the draws draws again with the same seed, and each random component
  keeps its own stream (:data:`simsav.rng.STREAMS`): along ``aco.true_savings`` the
  spending, the benchmark errors and the true-savings normals are the same at every
  point, so only the shift is different; along ``population.beneficiaries`` the
  per-beneficiary draws differ (there are more of them), and each point equals a
  separate run at that size with the same seed.

The figures come from :func:`simsav.summarize` (:func:`point_summary` is the one place
that asks for them).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import Any

import numpy as np
import xarray as xr

from simsav import __version__
from simsav.analysis.overrides import check_values, set_keys, settles_only, split_key
from simsav.draw.stage import Draws
from simsav.reconcile import DesignTerms, reconcile
from simsav.results.build import design_dataset, draws_from_dataset
from simsav.results.summary import summarize
from simsav.rng import SeedLike, root_seed_sequence
from simsav.scenario import Scenario, ScenarioError
from simsav.simulation import simulate

__all__ = ["fixed_seed", "point_summary", "resettle", "sweep", "sweep_sizes"]

CRN_NOTE = ("common random numbers: every point uses the same seed; keys of designs, "
            "distribution and finances re-settle the same draws")


def fixed_seed(scenario: Scenario, seed: SeedLike) -> int | np.random.SeedSequence:
    """The one seed every run of a family uses (the scenario's when ``seed`` is None).

    An int is kept (each run is then the run ``simulate(..., seed=seed)`` makes); a
    Generator is turned into a SeedSequence once, so it is not advanced per run.
    """
    if seed is None:
        return int(scenario.seed)
    if isinstance(seed, int | np.integer):
        return int(seed)
    return root_seed_sequence(seed)


def point_summary(ds: xr.Dataset) -> xr.Dataset:
    """The figures of one run: :func:`simsav.summarize` of its Dataset."""
    return summarize(ds)


def resettle(ds: xr.Dataset, scenario: Scenario, draws: Draws | None = None) -> xr.Dataset:
    """Settle ``scenario``'s designs on the draws held in ``ds`` (per-design variables).

    The draws are read back with :func:`~simsav.results.build.draws_from_dataset` and
    settled by :func:`~simsav.reconcile.reconcile` exactly as :func:`simsav.simulate`
    settles them, so this equals a run of ``scenario`` with the seed of ``ds`` when the
    two scenarios draw alike (they differ only in ``designs``, ``distribution`` or
    ``finances``). ``draws``: ``draws_from_dataset(ds)`` if already read.
    """
    d = draws_from_dataset(ds) if draws is None else draws
    years = ds.sizes["year"]
    arrays = reconcile(d, [DesignTerms.from_design(x, years) for x in scenario.designs],
                       distribution=scenario.distribution, finances=scenario.finances,
                       n_beneficiaries=ds["n_beneficiaries"].values)
    out = design_dataset(
        arrays, sims=ds["sim"].values, years=ds["year"].values,
        labels=[x.name for x in scenario.designs],
        presets=[x.preset or (x.glide or [""])[0] for x in scenario.designs], draws=d)
    out.attrs = dict(ds.attrs)
    return out


def _evaluate(scn_draw: Scenario, settles: list[Scenario | None], run: dict[str, Any],
              progress: Callable[[int], None] | None = None) -> list[xr.Dataset]:
    """Summaries of one draw point: one per settlement variant (None: as drawn)."""
    ds = simulate(scn_draw, progress=progress, **run)
    return [point_summary(ds if s is None else resettle(ds, s)) for s in settles]


def _grid(grid: Mapping[str, Any]) -> dict[str, list[Any]]:
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError("grid: give at least one key and its values, e.g. "
                         "{'aco.true_savings': [0.0, 0.02]}")
    out: dict[str, list[Any]] = {}
    for key, values in grid.items():
        split_key(key)
        vals = np.asarray(values).tolist() if isinstance(values, np.ndarray) else values
        if isinstance(vals, str) or not isinstance(vals, Sequence):
            vals = [vals]
        out[key] = list(vals)
    return out


def _coord(values: list[Any]) -> np.ndarray:
    """A key's values as a coordinate: numbers as numbers, anything else as text."""
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        kind = np.int64 if all(isinstance(v, int) for v in values) else np.float64
        return np.array(values, dtype=kind)
    return np.array([str(v) for v in values], dtype=object)


def _plan(scenario: Scenario, grid: dict[str, list[Any]]) -> list[tuple[Scenario,
                                                                       list[Any]]]:
    """Per draw point: its scenario and its settlement variants (``None``: as drawn)."""
    draw_keys = [k for k in grid if not settles_only(k)]
    settle_keys = [k for k in grid if settles_only(k)]
    names = [d.name for d in scenario.designs]
    plan = []
    for dv in itertools.product(*(grid[k] for k in draw_keys)):
        scn_d = set_keys(scenario, dict(zip(draw_keys, dv, strict=True)))
        variants: list[Scenario | None] = []
        for sv in itertools.product(*(grid[k] for k in settle_keys)):
            if not settle_keys:
                variants.append(None)
                continue
            s = set_keys(scn_d, dict(zip(settle_keys, sv, strict=True)))
            if [d.name for d in s.designs] != names:
                raise ScenarioError([(", ".join(settle_keys),
                                      "a sweep keeps the designs and their names")], "grid")
            variants.append(s)
        plan.append((scn_d, variants))
    return plan


def sweep(
    scenario: Scenario,
    grid: Mapping[str, Any],
    *,
    n_sims: int | None = None,
    seed: SeedLike = None,
    block_size: int | None = None,
    n_threads: int | None = None,
    draws: str = "per-beneficiary",
    progress: Callable[[int], None] | None = None,
    scheduler: Any = None,
) -> xr.Dataset:
    """Summaries of a scenario over a grid of keys, on common random numbers.

    Parameters
    ----------
    scenario : Scenario
    grid : mapping of str to sequence
        ``{key: values}``; keys as in :mod:`simsav.analysis.overrides` (dotted, any
        scenario or contract key). Every value is validated before anything runs.
    n_sims, seed, block_size, n_threads, draws :
        As for :func:`simsav.simulate`; the same seed at every point (default: the
        scenario's).
    progress : callable, optional
        Called with the number of sims drawn as they are drawn (all points together:
        the total is ``n_sims`` times the number of points that draw).
    scheduler : {"local"} or str or dask.distributed.Client, optional
        Run the points that draw as dask tasks (one task each); the results are
        identical to the serial run. Needs ``dask[distributed]``.

    Returns
    -------
    xarray.Dataset
        :func:`simsav.summarize`'s variables with one leading dimension per key (named
        as the key, in the grid's order), then the summary's own (``year``, ``design``,
        ``quantile``).

    Examples
    --------
    >>> import simsav as ss
    >>> scn = ss.load_scenario("scenarios/rural-aco-5k.toml")
    >>> sw = ss.sweep(scn, {"aco.true_savings": [0.0, 0.03], "designs.*.msr": [0.01, 0.02]},
    ...               n_sims=200)
    >>> sw["p_clear_msr"].dims[:2]
    ('aco.true_savings', 'designs.*.msr')
    """
    g = _grid(grid)
    check_values(scenario, g)
    plan = _plan(scenario, g)
    fixed = fixed_seed(scenario, seed)
    run = {"n_sims": n_sims, "seed": fixed, "block_size": block_size, "draws": draws}
    if scheduler is None:
        results = [_evaluate(s, v, {**run, "n_threads": n_threads}, progress)
                   for s, v in plan]
    else:
        results = _evaluate_with_dask(plan, run, scheduler, progress,
                                      scenario.sims if n_sims is None else n_sims)
    draw_keys = [k for k in g if not settles_only(k)]
    settle_keys = [k for k in g if settles_only(k)]
    n_settle = int(np.prod([len(g[k]) for k in settle_keys], dtype=np.int64))
    by_index: dict[tuple[int, ...], xr.Dataset] = {}
    for i, di in enumerate(itertools.product(*(range(len(g[k])) for k in draw_keys))):
        for j, si in enumerate(itertools.product(*(range(len(g[k])) for k in settle_keys))):
            where = dict(zip(draw_keys, di, strict=True)) | dict(zip(settle_keys, si,
                                                                    strict=True))
            by_index[tuple(where[k] for k in g)] = results[i][j]
        assert len(results[i]) == n_settle
    return _stack(by_index, g, scenario, fixed, draws)


def _evaluate_with_dask(plan: list[tuple[Scenario, list[Any]]], run: dict[str, Any],
                        scheduler: Any, progress: Callable[[int], None] | None,
                        n_sims: int) -> list[list[xr.Dataset]]:
    from dask.distributed import as_completed

    from simsav.distributed import get_client

    with ExitStack() as stack:
        client = get_client(scheduler, stack)
        futures = [client.submit(_evaluate, s, v, {**run, "n_threads": 1}, pure=False)
                   for s, v in plan]
        if progress is not None:
            for _ in as_completed(futures):
                progress(n_sims)
        return list(client.gather(futures))


def _stack(parts: dict[tuple[int, ...], xr.Dataset], grid: dict[str, list[Any]],
           scenario: Scenario, seed: Any, draws: str) -> xr.Dataset:
    """One Dataset from the points' summaries: a leading dimension per key."""
    keys = list(grid)
    shape = tuple(len(grid[k]) for k in keys)
    first = parts[(0,) * len(keys)]
    order = list(np.ndindex(*shape))
    out = xr.Dataset(coords={k: (k, _coord(grid[k]), {"long_name": k}) for k in keys})
    out = out.assign_coords({k: first.coords[k] for k in first.coords})
    for name, var in first.data_vars.items():
        stacked = np.stack([parts[i][name].values for i in order])
        out[name] = xr.DataArray(stacked.reshape(shape + var.shape),
                                 dims=(*keys, *var.dims), attrs=dict(var.attrs))
    out.attrs = {
        "title": f"simsav sweep: {scenario.name}",
        "simsav_version": __version__,
        "scenario": scenario.name,
        "scenario_toml": scenario.to_toml(),
        "seed": seed if isinstance(seed, int) else str(seed),
        "n_sims": int(first.attrs.get("n_sims", 0)),
        "draws": draws,
        "swept": json.dumps({k: grid[k] for k in keys}),
        "common_random_numbers": CRN_NOTE,
    }
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
    :func:`sweep` over ``population.beneficiaries``, with the dimension named ``size``.

    Parameters
    ----------
    scenario : Scenario
    sizes : list of int
        Assigned beneficiaries (each >= 1).
    n_sims, seed, n_threads :
        As for :func:`simsav.simulate`.

    Returns
    -------
    xarray.Dataset
        :func:`simsav.summarize` output stacked along ``size``.
    """
    if not sizes or any(int(n) < 1 for n in sizes):
        raise ValueError("sizes: need at least one size, each >= 1")
    key = "population.beneficiaries"
    sw = sweep(scenario, {key: [int(n) for n in sizes]}, n_sims=n_sims, seed=seed,
               n_threads=n_threads)
    out = sw.rename({key: "size"})
    out["size"] = out["size"].astype(np.int64)
    out["size"].attrs = {"units": "1", "long_name": "assigned beneficiaries"}
    return out
