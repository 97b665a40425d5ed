"""Seeds to per-block random streams, and a deterministic block runner.

The unit of randomness is a fixed *block* of ``block_size`` simulations. Block ``k``
draws from ``np.random.default_rng(SeedSequence(entropy, spawn_key=(*root_key, k)))``,
where ``entropy`` and ``root_key`` come from the seed (``root_key`` is ``()`` for an
integer seed, so block ``k`` uses ``spawn_key=(k,)``). Within a block, draws go
simulation by simulation. Therefore

* results depend only on ``(seed, block_size)``: not on the number of threads, dask
  workers or how the blocks are batched;
* a larger ``n_sims`` only appends rows: the first ``n`` sims are the same for every
  ``n_sims >= n`` (the last, partial block uses the first rows of its stream);
* changing ``block_size`` changes every result (other streams are drawn).

Other random components of a simulation (quality scores, ACO-level terms, provider
panels, ...) take their own sub-streams (``spawn_key=(*root_key, k, *stream)``), so
switching one on never shifts another's draws. Every stream of a run is named in one
table, :data:`STREAMS`; code asks for a stream by name (:func:`stream`), never by number.

Seeds
-----
``int``
    Non-negative; the entropy of the root :class:`~numpy.random.SeedSequence`.
``SeedSequence``
    Used as the root: its ``entropy``, ``spawn_key`` and ``pool_size`` are kept, so
    ``SeedSequence(e, spawn_key=(3,))`` gives blocks ``spawn_key=(3, k)``.
``Generator``
    128 bits are drawn from it (``seed.integers(0, 2**32, size=4, dtype=uint32)``) and
    used as the entropy. This *advances* the Generator: the same Generator state gives
    the same results, and two calls with the same Generator object give different
    results (as for any stream).
``None``
    Fresh entropy from the operating system (not reproducible; the entropy is
    available as ``root_seed_sequence(None).entropy``).

The global ``np.random`` state is never used.

Threads
-------
:func:`map_blocks` runs the blocks on a :class:`concurrent.futures.ThreadPoolExecutor`
with ``n_threads`` workers (default :func:`numba.get_num_threads`); each block calls a
``nogil`` numba kernel with its own Generator and writes its own rows, so the thread that
runs a block changes nothing. Why not ``prange`` over blocks inside one
``parallel=True`` kernel? numba 0.68 does compile ``prange`` over a list of Generators
(checked), but

* a ``parallel=True`` kernel is not cached on disk here (``simsav._numba``), so every
  process would pay its compilation (seconds) - the CLI's cold start;
* the ``workqueue`` threading layer, the only one guaranteed in numba's pip wheels, is
  not threadsafe: a ``parallel=True`` kernel called from several Python threads at once
  (e.g. dask's threaded scheduler) aborts the process ("Concurrent access has been
  detected"); ``nogil`` kernels on Python threads compose with any caller;
* the pool hands out blocks dynamically, which balances uneven blocks.

The cost is a few tens of microseconds of Python per block, negligible for blocks of 256
sims (a block of 256 sims x 1,000 beneficiaries is ~1 ms of kernel work).
"""

from __future__ import annotations

import concurrent.futures
import numbers
from collections.abc import Callable, Iterator

import numpy as np

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "STREAMS",
    "stream",
    "sub_root",
    "MAX_BLOCK_SIZE",
    "SeedLike",
    "MAX_SIMS",
    "block_bounds",
    "check_block_size",
    "check_n_sims",
    "block_generator",
    "block_seed_sequence",
    "map_blocks",
    "block_normals",
    "resolve_threads",
    "root_seed_sequence",
]

SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None

#: Default number of sims per block. Results depend on it: keep it fixed for a study.
DEFAULT_BLOCK_SIZE = 256

#: Largest accepted block size.
MAX_BLOCK_SIZE = 1 << 20

#: Most sims of one run: what a scenario's ``sims`` and every ``n_sims`` allow.
MAX_SIMS = 10_000_000

#: Every random stream of a run: block ``k`` draws component ``name`` from
#: ``SeedSequence(entropy, spawn_key=(*root_key, k, *STREAMS[name]))``. Ids are unique and
#: never reused or renumbered (results depend on them; ``tests/test_rng.py`` pins the
#: table). ``panel_paths`` and ``provider_layout`` are drawn once per run, from block 0.
STREAMS: dict[str, tuple[int, ...]] = {
    "spending": (),  # per-beneficiary spending of a one-year run (kernels/spending.py)
    "true_savings": (1,),  # the ACO's true savings, per sim
    "benchmark_error": (2,),  # ACO-level benchmark error, per sim and year
    "quality": (3,),  # the ACO's quality score, per sim and year
    "risk_growth": (4,),  # growth of the population's risk score, per sim and year
    "panel": (5,),  # persistent beneficiaries over several years (kernels/panel.py)
    "panel_paths": (5, 1),  # one population's paths, for persistence statistics
    "trend_error": (6,),  # error of the projected trend, per sim and year
    "aggregate": (7,),  # the aggregate fast path's group sums (draw/aggregate.py)
    "provider_quality": (8,),  # providers' quality around the ACO's
    "attribution": (9,),  # churn and the visit rule (kernels/attribution.py)
    "provider_effect": (10,),  # each provider's own effect on its panel's spending
    "provider_layout": (11,),  # organization types and panel sizes, once per scenario
    # the program model (simsav.program): every ACO of a roster in one year
    "common_shock": (12,),  # shocks every ACO shares in the year (drift error, trend error)
    "aco_persistent": (13,),  # each ACO's persistent savings around its credibility forecast
    "aco_year": (14,),  # each ACO's year-specific benchmark error
    # benchmarks that evolve over an agreement (draw/agreement.py, update = "blend")
    "national_trend": (20,),  # realised national spending trend, per sim and year
    "regional_trend": (21,),  # the ACO's region's trend around the nation, per sim and year
    # run-level sub-roots (:func:`sub_root`): run ``i`` of a family made from one seed
    # (MSR sizing: one run per population size) uses spawn_key (*root_key, 2**31, i); a
    # block index never reaches 2**31 (at most 10 million sims), so no block collides
    "msr_size": (2**31,),
}


def stream(name: str) -> tuple[int, ...]:
    """Return the sub-stream id of the named random component.

    Examples
    --------
    >>> stream("quality")
    (3,)
    """
    try:
        return STREAMS[name]
    except KeyError:
        raise KeyError(f"unknown random stream {name!r}; known: {', '.join(STREAMS)}") from None


def root_seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Return the root :class:`~numpy.random.SeedSequence` for ``seed``.

    Parameters
    ----------
    seed : int, SeedSequence, Generator or None
        See the module docstring.

    Returns
    -------
    numpy.random.SeedSequence

    Raises
    ------
    ValueError
        For a negative integer seed.
    TypeError
        For any other type (floats and bools included).

    Examples
    --------
    >>> root_seed_sequence(2026).entropy
    2026
    >>> root_seed_sequence(np.random.SeedSequence(7, spawn_key=(1,))).spawn_key
    (1,)
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        words = seed.integers(0, 2**32, size=4, dtype=np.uint32)
        return np.random.SeedSequence([int(w) for w in words])
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"seed must be a non-negative int, a numpy SeedSequence or Generator, or None; "
            f"got {type(seed).__name__}"
        )
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {int(seed)}")
    return np.random.SeedSequence(int(seed))


def sub_root(root: np.random.SeedSequence, name: str, i: int) -> np.random.SeedSequence:
    """Return the root of run ``i`` of the family ``name`` made from one seed.

    Examples
    --------
    >>> sub_root(root_seed_sequence(7), "msr_size", 3).spawn_key
    (2147483648, 3)
    """
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *stream(name), i),
                                  pool_size=root.pool_size)


def block_seed_sequence(
    root: np.random.SeedSequence, k: int, stream: tuple[int, ...] = ()
) -> np.random.SeedSequence:
    """Return the :class:`~numpy.random.SeedSequence` of block ``k``.

    Parameters
    ----------
    root : numpy.random.SeedSequence
        From :func:`root_seed_sequence`.
    k : int
        Block index, ``>= 0``.
    stream : tuple of int, optional
        Sub-stream for a random component other than spending; ``()`` (the default) is
        the spending stream.

    Returns
    -------
    numpy.random.SeedSequence
        ``SeedSequence(root.entropy, spawn_key=(*root.spawn_key, k, *stream),
        pool_size=root.pool_size)``.
    """
    return np.random.SeedSequence(
        root.entropy,
        spawn_key=(*root.spawn_key, int(k), *stream),
        pool_size=root.pool_size,
    )


def block_generator(
    root: np.random.SeedSequence, k: int, stream: tuple[int, ...] = ()
) -> np.random.Generator:
    """Return the Generator of block ``k`` (a PCG64 ``default_rng``).

    Examples
    --------
    >>> root = root_seed_sequence(1)
    >>> a = block_generator(root, 0).random()
    >>> b = np.random.default_rng(np.random.SeedSequence(1, spawn_key=(0,))).random()
    >>> a == b
    True
    """
    return np.random.default_rng(block_seed_sequence(root, k, stream))


def check_n_sims(n_sims: object, *, lo: int = 1, name: str = "n_sims") -> int:
    """Return ``n_sims`` as an int, or raise ValueError naming the allowed range.

    The one check of a number of sims, used by every public function that takes one.

    Examples
    --------
    >>> check_n_sims(1_000)
    1000
    """
    if isinstance(n_sims, bool) or not isinstance(n_sims, numbers.Integral):
        raise ValueError(f"{name}: must be a whole number in [{lo}, {MAX_SIMS}], "
                         f"got {n_sims!r}")
    if not lo <= int(n_sims) <= MAX_SIMS:
        raise ValueError(f"{name}: must be in [{lo}, {MAX_SIMS}], got {int(n_sims)}")
    return int(n_sims)


def check_block_size(block_size: int) -> int:
    """Validate ``block_size`` and return it as an ``int``.

    Raises
    ------
    ValueError
        Unless ``1 <= block_size <= MAX_BLOCK_SIZE``.
    """
    if isinstance(block_size, bool) or not isinstance(block_size, numbers.Integral):
        raise ValueError(f"block_size must be an int in [1, {MAX_BLOCK_SIZE}], got {block_size!r}")
    if not 1 <= int(block_size) <= MAX_BLOCK_SIZE:
        raise ValueError(f"block_size must be in [1, {MAX_BLOCK_SIZE}], got {int(block_size)}")
    return int(block_size)


def block_bounds(n_sims: int, block_size: int) -> Iterator[tuple[int, int, int]]:
    """Yield ``(k, start, stop)`` for each block covering ``range(n_sims)``.

    Examples
    --------
    >>> list(block_bounds(5, 2))
    [(0, 0, 2), (1, 2, 4), (2, 4, 5)]
    """
    for k, start in enumerate(range(0, n_sims, block_size)):
        yield k, start, min(start + block_size, n_sims)


def resolve_threads(n_threads: int | None) -> int:
    """Return the number of worker threads to use.

    Parameters
    ----------
    n_threads : int or None
        ``None`` means :func:`numba.get_num_threads` (so :func:`numba.set_num_threads`
        and ``NUMBA_NUM_THREADS`` apply).

    Raises
    ------
    ValueError
        If ``n_threads`` is not a positive int.
    """
    if n_threads is None:
        import numba

        return int(numba.get_num_threads())
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise ValueError(f"n_threads must be a positive int or None, got {n_threads!r}")
    if int(n_threads) < 1:
        raise ValueError(f"n_threads must be >= 1, got {int(n_threads)}")
    return int(n_threads)


def map_blocks(
    func: Callable[[np.random.Generator, int, int], None],
    n_sims: int,
    *,
    seed: SeedLike,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    stream: tuple[int, ...] = (),
    first_block: int = 0,
    on_block: Callable[[int], None] | None = None,
) -> None:
    """Call ``func(rng_k, start, stop)`` once per block, on a thread pool.

    ``func`` must write its results for sims ``start:stop`` into storage that no other
    block touches (e.g. rows of a preallocated array) and should release the GIL (a
    ``nogil`` numba kernel) to run in parallel. Which thread runs which block does not
    change any result.

    Parameters
    ----------
    func : callable
        ``func(rng, start, stop)``.
    n_sims : int
        Number of simulations, ``>= 0``.
    seed : int, SeedSequence, Generator or None
        See the module docstring.
    block_size : int, default 256
        Sims per block. Results depend on it.
    n_threads : int, optional
        Worker threads; default :func:`numba.get_num_threads`. ``1`` runs inline.
    stream : tuple of int, optional
        Sub-stream (see :func:`block_generator`).
    first_block : int, optional
        Index of the first block: sims ``start:stop`` passed to ``func`` are relative to
        block ``first_block``, whose Generator is that of block ``first_block`` of the whole
        run. Splitting a run into pieces of whole blocks (e.g. dask tasks) therefore gives
        exactly the draws of the single run.
    on_block : callable, optional
        Called with the number of sims of each finished block (e.g. a progress bar's
        ``update``); it must be thread-safe.
    """
    block_size = check_block_size(block_size)
    threads = resolve_threads(n_threads)
    root = root_seed_sequence(seed)
    if isinstance(first_block, bool) or int(first_block) < 0:
        raise ValueError(f"first_block must be an int >= 0, got {first_block!r}")
    first = int(first_block)
    bounds = list(block_bounds(int(n_sims), block_size))

    def run(b: tuple[int, int, int]) -> None:
        k, start, stop = b
        func(block_generator(root, first + k, stream), start, stop)
        if on_block is not None:
            on_block(stop - start)

    if threads == 1 or len(bounds) <= 1:
        for b in bounds:
            run(b)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(threads, len(bounds))) as ex:
        # list() re-raises the first exception from a worker.
        list(ex.map(run, bounds))


def block_normals(
    shape: tuple[int, ...],
    *,
    seed: SeedLike,
    block_size: int = DEFAULT_BLOCK_SIZE,
    stream: tuple[int, ...],
    first_block: int = 0,
) -> np.ndarray:
    """Standard normal draws with sims first, ``shape = (n_sims, ...)``, per block.

    Sim ``i``'s draws come from sub-stream ``stream`` of its block, so a run split into
    whole blocks draws exactly what the whole run draws.

    Examples
    --------
    >>> a = block_normals((10, 2), seed=1, block_size=4, stream=(1,))
    >>> b = block_normals((6, 2), seed=1, block_size=4, stream=(1,), first_block=1)
    >>> bool((a[4:] == b).all())
    True
    """
    out = np.empty(shape)

    def fill(rng: np.random.Generator, start: int, stop: int) -> None:
        out[start:stop] = rng.standard_normal((stop - start, *shape[1:]))

    map_blocks(fill, shape[0], seed=seed, block_size=block_size, n_threads=1, stream=stream,
               first_block=first_block)
    return out
