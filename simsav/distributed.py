"""Run the random stage of a simulation as dask tasks, beyond one machine.

A simulation's sims are split into runs of whole blocks; each task draws its blocks with
exactly the streams the single-process run uses for them (:func:`simsav.rng.map_blocks`'s
``first_block``), so the result is identical to the single-process run for the same seed,
whatever the number of workers or tasks. Settlement (cheap, vectorized) happens on the
client after the draws are gathered.

Needs ``dask[distributed]`` (``pip install simsav[dask]``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import numpy as np

__all__ = ["CONNECT_TIMEOUT", "draw_with_dask", "get_client", "task_ranges"]

#: Seconds to wait for a scheduler at an address before giving up.
CONNECT_TIMEOUT = 5.0


def task_ranges(n_sims: int, block_size: int, blocks_per_task: int) -> list[tuple[int, int]]:
    """Split ``n_sims`` into tasks of whole blocks: ``(first_block, n_sims_in_task)``.

    Examples
    --------
    >>> task_ranges(1000, 256, 2)
    [(0, 512), (2, 488)]
    """
    if blocks_per_task < 1:
        raise ValueError(f"blocks_per_task: must be >= 1, got {blocks_per_task}")
    n_blocks = math.ceil(n_sims / block_size)
    out = []
    for b0 in range(0, n_blocks, blocks_per_task):
        start = b0 * block_size
        stop = min((b0 + blocks_per_task) * block_size, n_sims)
        out.append((b0, stop - start))
    return out


def get_client(scheduler: Any, stack: ExitStack) -> Any:
    """A dask ``Client`` for ``scheduler`` ("local", an address, or a Client).

    A local cluster (one single-threaded worker process per core) is closed when ``stack``
    closes; a given Client is left open.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "scheduler: dask is not installed; pip install 'simsav[dask]'") from err
    if isinstance(scheduler, Client):
        return scheduler
    if scheduler == "local":
        n_workers = max(1, os.cpu_count() or 1)
        cluster = stack.enter_context(LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address=":0"))
        return stack.enter_context(Client(cluster))
    if isinstance(scheduler, str) and "://" in scheduler:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s")
        except (OSError, TimeoutError) as err:
            raise ValueError(f"scheduler: cannot reach a dask scheduler at {scheduler} within "
                             f"{CONNECT_TIMEOUT:g} s ({type(err).__name__})") from None
        return stack.enter_context(client)
    raise ValueError(
        f"scheduler: expected 'local', an address like 'tcp://host:8786' or a dask Client, "
        f"got {scheduler!r}")


def draw_with_dask(
    draw: Callable[..., dict[str, np.ndarray]],
    scenario: Any,
    root: np.random.SeedSequence,
    n_sims: int,
    block_size: int,
    *,
    scheduler: Any,
    blocks_per_task: int | None = None,
    progress: Callable[[int], None] | None = None,
    first_block: int = 0,
    **draw_kwargs: Any,
) -> dict[str, np.ndarray]:
    """Call ``draw(scenario, root, first_block, n, block_size, 1, **draw_kwargs)`` per task.

    Each task runs on one thread of its worker. Returns the tasks' arrays concatenated in
    sim order.
    """
    from dask.distributed import as_completed

    with ExitStack() as stack:
        client = get_client(scheduler, stack)
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        if blocks_per_task is None:
            n_blocks = math.ceil(n_sims / block_size)
            blocks_per_task = max(1, math.ceil(n_blocks / (4 * n_workers)))
        ranges = task_ranges(n_sims, block_size, int(blocks_per_task))
        futures = [
            client.submit(draw, scenario, root, first_block + b0, n, block_size, 1, pure=False,
                          **draw_kwargs)
            for b0, n in ranges
        ]
        if progress is not None:
            sizes = {f.key: n for f, (_, n) in zip(futures, ranges, strict=True)}
            for fut in as_completed(futures):
                progress(sizes[fut.key])
        parts = client.gather(futures)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
