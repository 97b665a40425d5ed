"""simulate = draw → reconcile → build the Dataset; add_design reuses the draws.

Draw once, settle many: spending is drawn once per sim (:mod:`simsav.draw.stage`) and
every contract design is settled on the same draws (:mod:`simsav.reconcile`), so
differences between designs carry no Monte Carlo noise. A one-year run is a one-year
agreement; there is one path for every kind of scenario.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from simsav.contracts import Contract, get_preset
from simsav.draw.stage import DRAW_METHODS, draw
from simsav.reconcile import DesignTerms, reconcile
from simsav.results.build import build_dataset, design_dataset, draws_from_dataset
from simsav.results.schema import dataset_bytes
from simsav.results.summary import SummaryAccumulator, summarize
from simsav.rng import SeedLike, check_block_size, check_n_sims, root_seed_sequence
from simsav.scenario import Design, Scenario
from simsav.settlement.finances import FinancesSpec
from simsav.settlement.policy import DistributionPolicy

__all__ = [
    "ResourceError",
    "add_design",
    "check_memory",
    "estimate_memory",
    "simulate",
    "simulate_summary",
    "simulate_to_precision",
]


class ResourceError(ValueError):
    """A run would need more memory than the machine has; the message gives the options."""


#: The peak of a run over the size of its results (draws, settlements and the Dataset).
PEAK_FACTOR = 2.5


def available_memory() -> int:
    """Bytes of memory available to a new run (Linux ``MemAvailable``; else physical)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def estimate_memory(scenario: Scenario, n_sims: int) -> int:
    """Peak bytes a run of ``n_sims`` sims of ``scenario`` needs (results and working set).

    Examples
    --------
    >>> from simsav.scenario import load_scenario
    >>> scn = load_scenario("scenarios/eac-recommendations.toml")
    >>> round(estimate_memory(scn, 10_000_000) / 1e9)
    469
    """
    p = scenario.providers
    size = dataset_bytes(
        n_sims=n_sims, years=scenario.agreement.years, designs=len(scenario.designs),
        providers=0 if p is None else p.count, distribution=scenario.distribution is not None,
        finances=scenario.finances is not None,
        attributed=not scenario.attribution.is_trivial)
    return int(size * PEAK_FACTOR)


def check_memory(scenario: Scenario, n_sims: int, *, available: int | None = None) -> None:
    """Refuse a run that would not fit, before it starts, saying what it needs and why.

    Raises
    ------
    ResourceError
        When the estimate exceeds 80% of the available memory.
    """
    need = estimate_memory(scenario, n_sims)
    have = available_memory() if available is None else available
    if need <= 0.8 * have:
        return
    fits = max(int(n_sims * 0.8 * have / need) // 1000 * 1000, 0)
    p = scenario.providers
    shape = (f"{scenario.agreement.years} year(s) x {len(scenario.designs)} design(s)"
             + ("" if p is None else f" x {p.count} providers"))
    raise ResourceError(
        f"n_sims: {n_sims:,} sims of {scenario.name!r} need about {need / 1e9:,.1f} GB "
        f"({shape}); this machine has {have / 1e9:,.1f} GB available. Use at most about "
        f"{fits:,} sims here, keep only the summaries (simsav run --stream, or "
        f"simsav.simulate_summary), or use fewer designs or providers.")


def _check_method(scenario: Scenario, method: str) -> None:
    if method not in DRAW_METHODS:
        raise ValueError(f"draws: must be one of {', '.join(DRAW_METHODS)}, got {method!r}")
    if method == "aggregate":
        if not scenario.attribution.is_trivial:
            raise ValueError("draws: the aggregate fast path has no attribution; use "
                             "'per-beneficiary'")
        if scenario.agreement.base_years + scenario.agreement.years > 1:
            raise ValueError("draws: the aggregate fast path covers one-year scenarios only")


def _seed_attr(seed_given: SeedLike, root: np.random.SeedSequence) -> int | str:
    """The seed as stored in attrs: an int when netCDF can hold it, else text."""
    if isinstance(seed_given, int | np.integer):
        return int(seed_given) if int(seed_given) < 2**63 else str(int(seed_given))
    return f"SeedSequence(entropy={root.entropy}, spawn_key={root.spawn_key})"


def _chunk(scenario: Scenario, n: int, root: np.random.SeedSequence, bs: int, *,
           first_block: int, seed_attr: int | str, method: str, **draw_kw: Any) -> xr.Dataset:
    """Sims ``first_block·bs`` to ``first_block·bs + n`` of the run, settled and labelled."""
    d = draw(scenario, n_sims=n, seed=root, block_size=bs, method=method,
             first_block=first_block, **draw_kw)
    years = scenario.agreement.years
    arrays = reconcile(
        d, [DesignTerms.from_design(x, years) for x in scenario.designs],
        distribution=scenario.distribution, finances=scenario.finances,
        n_beneficiaries=np.full(years, float(scenario.population.beneficiaries)))
    ds = build_dataset(scenario, d, arrays, seed=seed_attr, block_size=bs, method=method)
    if first_block:
        ds = ds.assign_coords(sim=ds["sim"].values + first_block * bs)
    return ds


def _run_args(scenario: Scenario, n_sims: int | None, seed: SeedLike, block_size: int | None,
              draws: str) -> tuple[int, np.random.SeedSequence, int, int | str]:
    """Validate a run's arguments once: sims, seed, block size and draw method."""
    n = check_n_sims(scenario.sims if n_sims is None else n_sims)
    seed_given: SeedLike = scenario.seed if seed is None else seed
    root = root_seed_sequence(seed_given)
    bs = check_block_size(scenario.block_size if block_size is None else block_size)
    _check_method(scenario, draws)
    return n, root, bs, _seed_attr(seed_given, root)


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
    check_memory_first: bool = True,
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
    check_memory_first : bool
        Refuse, before drawing, a run whose results would not fit in memory
        (:func:`check_memory`); :func:`simulate_summary` streams such runs.

    Returns
    -------
    xarray.Dataset
        Dims ``sim``, ``year``, ``design``; variables of :mod:`simsav.results.schema`.

    Raises
    ------
    ResourceError
        When the run would not fit in memory.
    """
    n, root, bs, seed_attr = _run_args(scenario, n_sims, seed, block_size, draws)
    if check_memory_first:
        check_memory(scenario, n)
    return _chunk(scenario, n, root, bs, first_block=0, seed_attr=seed_attr, method=draws,
                  n_threads=n_threads, scheduler=scheduler, blocks_per_task=blocks_per_task,
                  progress=progress)


def simulate_summary(
    scenario: Scenario,
    *,
    n_sims: int | None = None,
    seed: SeedLike = None,
    keep: int = 100_000,
    chunk_blocks: int | None = None,
    block_size: int | None = None,
    n_threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    draws: str = "per-beneficiary",
    level: float = 0.95,
) -> xr.Dataset:
    """Simulate in chunks and keep only the summary: memory flat in the number of sims.

    Every sim is drawn and settled exactly as :func:`simulate` would (same seed, same
    draws); each chunk is summarized and dropped. Probabilities and means are exact over all
    sims; quantiles and tails come from the first ``keep`` sims (the summary's
    ``quantiles_from_sims`` attribute says how many), with their intervals.

    Parameters
    ----------
    scenario : Scenario
    n_sims, seed, block_size, n_threads, progress, draws :
        As for :func:`simulate`.
    keep : int
        Sims kept for quantiles and tails.
    chunk_blocks : int, optional
        Blocks per chunk (default: as many as fit in about a quarter of the memory
        available, at most 64).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    xarray.Dataset
        As :func:`simsav.summarize`.
    """
    n, root, bs, seed_attr = _run_args(scenario, n_sims, seed, block_size, draws)
    keep = check_n_sims(keep, name="keep")
    if chunk_blocks is None:
        per_block = max(estimate_memory(scenario, bs), 1)
        chunk_blocks = int(max(1, min(64, available_memory() // 4 // per_block)))
    acc = SummaryAccumulator(keep=keep, level=level)
    step = int(chunk_blocks) * bs
    for start in range(0, n, step):
        acc.add(_chunk(scenario, min(step, n - start), root, bs, first_block=start // bs,
                       seed_attr=seed_attr, method=draws, n_threads=n_threads,
                       progress=progress))
    out = acc.result()
    out.attrs["streamed"] = 1
    return out


#: Figures whose interval ``simulate_to_precision`` narrows: the chances that matter.
HEADLINE = ("p_clear_msr", "p_owe_loss", "p_earn")


def widest_interval(summary: xr.Dataset) -> float:
    """Half-width of the widest interval among the headline probabilities."""
    return float(max(((summary[f"high_{k}"] - summary[f"low_{k}"]) / 2).max()
                     for k in HEADLINE))


def simulate_to_precision(
    scenario: Scenario,
    *,
    target: float,
    max_sims: int = 1_000_000,
    seed: SeedLike = None,
    **kwargs: Any,
) -> xr.Dataset:
    """Simulate until every headline probability is known to ``± target`` (or ``max_sims``).

    Starts from the scenario's ``sims`` and grows the run by whole blocks to the size the
    current intervals say is needed. A larger run only appends sims (the first ones are
    identical), so the result is exactly ``simulate(scenario, n_sims=N)`` for the ``N``
    reached; its ``target_se`` and ``target_met`` attributes say whether the target held.

    Parameters
    ----------
    scenario : Scenario
    target : float
        Largest half-width allowed for the 95% intervals of P(clear MSR), P(owe losses)
        and P(earn), in every design and year (e.g. 0.005 for half a point).
    max_sims : int
        Most sims to run.
    seed :
        As for :func:`simulate`.
    **kwargs
        Passed to :func:`simulate`.
    """
    if not 0.0 < target < 0.5:
        raise ValueError(f"target: must be in (0, 0.5), got {target}")
    max_sims = check_n_sims(max_sims, name="max_sims")
    n = min(scenario.sims, max_sims)
    bs = scenario.block_size if kwargs.get("block_size") is None else kwargs["block_size"]
    while True:
        ds = simulate(scenario, n_sims=n, seed=seed, **kwargs)
        width = widest_interval(summarize(ds))
        if width <= target or n >= max_sims:
            break
        want = int(n * (width / target) ** 2 * 1.05) + 1
        n = min(max_sims, max(want, n + bs), -(-want // bs) * bs)
    ds.attrs.update(target_se=target, widest_interval=width, target_met=int(width <= target))
    return ds


def add_design(ds: xr.Dataset, design: Contract | Design | str, *,
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
    design : Contract, Design or str
        A contract (reconciled annually, the same contract every year), e.g.
        ``simsav.presets["mssp-enhanced"]``; a preset's name, for that preset; or a scenario
        :class:`~simsav.scenario.Design` (with its glide path and reconciliation).
    name : str, optional
        Its label (default: the design's or contract's name); must not exist in ``ds``.

    Returns
    -------
    xarray.Dataset
        A new Dataset with the design appended along ``design``.
    """
    years = ds.sizes["year"]
    if isinstance(design, str):
        design = get_preset(design)
    if isinstance(design, Contract):
        terms = DesignTerms([design] * years)
        label, preset = design.name if name is None else name, design.name
    elif isinstance(design, Design):
        terms = DesignTerms.from_design(design, years)
        label = design.name if name is None else name
        preset = design.preset or (design.glide or [""])[0]
    else:
        raise TypeError(f"design: must be a Contract, a Design or a preset name, got "
                        f"{type(design).__name__}")
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
