"""Simulate the whole program for one year: every ACO of a roster, on shared shocks.

:func:`simulate_program` calibrates the program model on the years before the one
simulated (:func:`simsav.program.model.fit_program_model`), forecasts each ACO from its
own history (:func:`simsav.program.credibility.forecast_acos`), then draws and settles
the year block by block (:func:`simsav.program.engine.run_blocks`), under the roster's
contracts and under each counterfactual policy on the same draws.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from simsav import __version__
from simsav.analysis.calibrate import DEFAULT_SPENDING
from simsav.analysis.puf_panel import BAND_EDGES, band_labels
from simsav.contracts import PHE_SHARE_OF_YEAR, Contract, get_preset, puf_contract
from simsav.distributed import task_ranges
from simsav.program.credibility import forecast_acos
from simsav.program.engine import (
    DRAW_METHODS,
    ProgramPlan,
    SettleGroup,
    run_blocks,
    settle_group,
)
from simsav.program.model import ProgramModel, fit_program_model
from simsav.program.policy import Policy, apply_policy, as_policy
from simsav.program.roster import Roster, read_roster
from simsav.program.schema import ACO_COORDS, program_attrs
from simsav.rng import (
    DEFAULT_BLOCK_SIZE,
    SeedLike,
    check_block_size,
    check_n_sims,
    root_seed_sequence,
)
from simsav.spending import SpendingSpec

__all__ = ["BASELINE", "build_plan", "simulate_program"]

#: Name of the roster's own contracts on the ``policy`` dimension.
BASELINE = "baseline"

# sims per task when no dask scheduler runs them (bounds the working memory)
_TASK_SIMS = 2048


def _base_contracts(t: pd.DataFrame, year: int) -> list[Contract]:
    cache: dict[str, Contract] = {}
    out = []
    for track, preset in zip(t["track"], t["preset"], strict=True):
        key = f"t:{track}" if track else f"p:{preset}"
        if key not in cache:
            cache[key] = puf_contract(track, year) if track else get_preset(preset)
        out.append(cache[key])
    return out


def _groups(t: pd.DataFrame, year: int, policies: list[Policy]) -> tuple[SettleGroup, ...]:
    """ACOs grouped by policy, contract and whether they keep their MSR/MLR election."""
    base = _base_contracts(t, year)
    keys = [f"t:{a}" if a else f"p:{b}" for a, b in zip(t["track"], t["preset"], strict=True)]
    elected = t["msr"].to_numpy(dtype=float)
    out: list[SettleGroup] = []
    for p, policy in enumerate([None, *policies]):
        resolved: dict[str, tuple[Contract, bool]] = {}
        members: dict[tuple[str, bool], list[int]] = {}
        for i, (c, k) in enumerate(zip(base, keys, strict=True)):
            if k not in resolved:
                resolved[k] = ((c, c.two_sided and c.cms_election) if policy is None
                               else apply_policy(policy, c, k[2:] if k[0] == "t" else ""))
            keep = resolved[k][1] and not math.isnan(elected[i])
            members.setdefault((k, keep), []).append(i)
        for (k, keep), idx in members.items():
            ix = np.asarray(idx, dtype=np.int64)
            out.append(SettleGroup(p, resolved[k][0], ix, elected[ix] if keep else None))
    return tuple(out)


def _run(plan: ProgramPlan, root: np.random.SeedSequence, n: int, bs: int, *,
         n_threads: int | None, scheduler: Any, blocks_per_task: int | None,
         progress: Callable[[int], None] | None) -> dict[str, np.ndarray]:
    if scheduler is not None:
        from simsav.distributed import draw_with_dask  # dask is an optional dependency

        return draw_with_dask(run_blocks, plan, root, n, bs, scheduler=scheduler,
                              blocks_per_task=blocks_per_task, progress=progress)
    per = max(1, (blocks_per_task or max(1, _TASK_SIMS // bs)))
    out: dict[str, np.ndarray] = {}
    start = 0
    for b0, m in task_ranges(n, bs, per):  # fill preallocated outputs: no second copy
        part = run_blocks(plan, root, b0, m, bs, n_threads, progress)
        if not out:
            out = {k: np.empty((n, *v.shape[1:]), dtype=v.dtype) for k, v in part.items()}
        for k, v in part.items():
            out[k][start:start + m] = v
        start += m
    return out


def _seed_attr(seed: SeedLike, root: np.random.SeedSequence) -> int | str:
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return int(seed) if int(seed) < 2**63 else str(int(seed))
    return f"SeedSequence(entropy={root.entropy}, spawn_key={root.spawn_key})"


def simulate_program(
    roster: Any,
    *,
    year: int | None = None,
    policies: Iterable[Any] = (),
    n_sims: int = 10_000,
    seed: SeedLike = 2026,
    draws: str = "aggregate",
    scheduler: Any = None,
    blocks_per_task: int | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    calibration_years: Iterable[int] | None = None,
    common_shock: str = "trend",
    model: ProgramModel | None = None,
    spending: SpendingSpec = DEFAULT_SPENDING,
    progress: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Simulate one year of every ACO on a roster, with the shocks they share.

    Parameters
    ----------
    roster : int, path, Roster or DataFrame
        A bundled performance year, a CMS MSSP results file (its outcomes are ignored) or
        a plain roster CSV (:func:`simsav.program.roster.read_roster`).
    year : int, optional
        The performance year simulated (default the roster's; a plain roster needs it).
        A later year than a CMS roster's advances every agreement by the difference.
    policies : iterable
        Counterfactuals settled on the same draws: policies, preset names, policy or
        scenario files, Contracts or mappings (:func:`simsav.program.policy.as_policy`).
    n_sims : int
        Simulated years (default 10,000). A larger value only appends sims.
    seed : int, SeedSequence or Generator
        The same seed gives the same Dataset whatever the threads, the dask workers or
        how the blocks are split into tasks.
    draws : {"aggregate", "per-beneficiary"}
        How each ACO's claims noise is drawn: in aggregate (O(sims × ACOs)) or every
        beneficiary (O(sims × beneficiaries); best with ``scheduler``).
    scheduler : {None, "local"}, str or dask.distributed.Client, optional
        Run the blocks as dask tasks (as :func:`simsav.simulate`).
    blocks_per_task : int, optional
        Blocks per task.
    block_size : int
        Sims per random block (256). Results depend on it.
    n_threads : int, optional
        Threads for the claims draws (default numba's).
    calibration_years : iterable of int, optional
        Years the model is fitted on (default every bundled year from 2014 before
        ``year``); ignored when ``model`` is given.
    common_shock : {"trend", "random-walk"}
        How the year effect is forecast (:mod:`simsav.program.model`).
    model : ProgramModel, optional
        A model already fitted for ``year``.
    spending : SpendingSpec
        Spending model of the claims noise (default ``medicare-ffs`` capped at the 99th
        percentile).
    progress : callable, optional
        Called with the number of sims drawn as blocks finish.

    Returns
    -------
    xarray.Dataset
        Dims ``sim``, ``aco``, ``policy`` (``"baseline"`` first); variables of
        :data:`simsav.program.schema.PROGRAM_VARIABLES`; per-ACO coordinates
        (:data:`~simsav.program.schema.ACO_COORDS`); the model and the policies in attrs.

    Examples
    --------
    >>> ds = simulate_program(2022, n_sims=200, seed=1,
    ...                       policies=[{"name": "no MSR", "change": [{"terms": {"msr": 0.0}}]}])
    >>> dict(ds.sizes)
    {'sim': 200, 'aco': 482, 'policy': 2}
    >>> cost = ds["program_cost"]
    >>> bool((cost.sel(policy="no MSR") >= cost.sel(policy="baseline")).all())
    True
    """
    r = read_roster(roster)
    y = r.year if year is None else int(year)
    if y is None:
        raise ValueError("year: a plain roster has no performance year; pass year=")
    if draws not in DRAW_METHODS:
        raise ValueError(f"draws: must be one of {', '.join(DRAW_METHODS)}, got {draws!r}")
    n = check_n_sims(n_sims)
    bs = check_block_size(block_size)
    pols = [as_policy(p) for p in policies]
    names = [BASELINE, *(p.name for p in pols)]
    if len(set(names)) != len(names):
        raise ValueError(f"policies: names must be unique, got {names[1:]}")
    m = model if model is not None else fit_program_model(
        y, years=calibration_years, spending=spending, common_shock=common_shock)  # type: ignore[arg-type]
    if max(m.years) >= y:
        raise ValueError(f"model: calibrated on {m.years[0]}-{m.years[-1]}, not before {y}")
    f, plan = build_plan(r, y, m, pols, draws=draws, spending=spending)
    root = root_seed_sequence(seed)
    arrays = _run(plan, root, n, bs, n_threads=n_threads, scheduler=scheduler,
                  blocks_per_task=blocks_per_task, progress=progress)
    bonus = _bonus(plan)
    ds = _dataset(f, arrays, bonus, names, y)
    ds.attrs.update(_attrs(r, m, pols, y, n, bs, draws, _seed_attr(seed, root)))
    return ds


def build_plan(roster: Roster, year: int, model: ProgramModel, policies: list[Policy], *,
               draws: str = "aggregate", spending: SpendingSpec = DEFAULT_SPENDING
               ) -> tuple[pd.DataFrame, ProgramPlan]:
    """Each ACO's forecast (:func:`~simsav.program.credibility.forecast_acos`) and the plan."""
    f = forecast_acos(model, roster, year)
    plan = ProgramPlan(
        year=year, beneficiaries=f["beneficiaries"].to_numpy(dtype=float),
        benchmark=f["benchmark"].to_numpy(dtype=float),
        mean_deviation=f["mean_deviation"].to_numpy(dtype=float),
        persistent_sd=f["persistent_sd"].to_numpy(dtype=float),
        year_sd=f["year_sd"].to_numpy(dtype=float), quality=f["quality"].to_numpy(dtype=float),
        agreement_year=f["agreement_year"].to_numpy(dtype=float),
        revenue=f["revenue"].to_numpy(dtype=float), forecast=model.forecast(year),
        spending=spending, method=draws, groups=_groups(f, year, policies),
        n_policies=1 + len(policies), euc_fraction=PHE_SHARE_OF_YEAR.get(year, 0.0))
    return f, plan


def _bonus(plan: ProgramPlan) -> np.ndarray:
    """Quality bonuses ``(ACOs, policies)``: they do not depend on the draws."""
    out = np.zeros((plan.n_acos, plan.n_policies))
    for g in plan.groups:
        out[g.index, g.policy] = settle_group(plan, g, plan.benchmark[None, g.index]
                                              ).quality_bonus[0]
    return out


def _dataset(f: pd.DataFrame, a: dict[str, np.ndarray], bonus: np.ndarray, names: Sequence[str],
             year: int) -> xr.Dataset:
    labels = band_labels(BAND_EDGES)
    band = np.searchsorted(np.asarray(BAND_EDGES, float), f["beneficiaries"].to_numpy(), "right")
    n = a["common_shock"].size
    coords: dict[str, Any] = {"sim": np.arange(n), "aco": f["aco_id"].astype(str).to_numpy(),
                              "policy": list(names)}
    values = {
        "track": f["track"].astype(str).to_numpy(),
        "contract": np.array([c.name for c in _base_contracts(f, year)]),
        "size_band": np.array([labels[i] for i in band]),
        "beneficiaries": f["beneficiaries"].to_numpy(dtype=float),
        "benchmark": f["benchmark"].to_numpy(dtype=float),
        "agreement_year": f["agreement_year"].to_numpy(dtype=np.int64),
        "years_in_program": f["years_in_program"].to_numpy(dtype=float),
        "history_years": f["history_years"].to_numpy(dtype=np.int64),
        "credibility": f["credibility"].to_numpy(dtype=float),
        "expected_savings_rate": f["expected_savings_rate"].to_numpy(dtype=float),
        "quality": f["quality"].to_numpy(dtype=float),
    }
    for k, v in values.items():
        units, long_name = ACO_COORDS[k]
        coords[k] = xr.Variable(("aco",), np.asarray(v), {"units": units, "long_name": long_name})
    data: dict[str, Any] = {}
    for k, v in a.items():
        dims = {1: ("sim",), 2: ("sim", "aco") if k == "savings_rate" else ("sim", "policy"),
                3: ("sim", "aco", "policy")}[v.ndim]
        data[k] = xr.Variable(dims, v, program_attrs(k))
    data["quality_bonus"] = xr.Variable(("aco", "policy"), bonus, program_attrs("quality_bonus"))
    return xr.Dataset(data, coords=coords)


def _attrs(r: Roster, m: ProgramModel, pols: list[Policy], year: int, n: int, bs: int,
           draws: str, seed: int | str) -> dict[str, Any]:
    f = m.forecast(year)
    return {
        "simsav_version": __version__,
        "performance_year": year,
        "roster": r.source,
        "roster_year": -1 if r.year is None else r.year,
        "n_sims": n,
        "seed": seed,
        "block_size": bs,
        "draws": draws,
        "calibration_years": ",".join(map(str, m.years)),
        "common_shock_model": m.common_shock,
        "year_effect_forecast": f.center,
        "year_effect_sd": f.sd if math.isfinite(f.sd) else -1.0,
        "model": json.dumps(m.to_dict()),
        "policies": json.dumps([p.model_dump(mode="json") for p in pols]),
    }
