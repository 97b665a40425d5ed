"""One year's spending sums of groups of beneficiaries: packing and the kernel's driver.

A *group* is ``(model, count)``: a stratum, a provider panel, or one year of either. The
model is a :class:`~simsav.spending.SpendingSpec`, a
:class:`~simsav.spending.SpendingModel` or a :class:`~simsav.spending.KernelArgs`
triple. :func:`pack_groups` validates the groups and lays their compositions out as the
kernels' arrays (:class:`Packed`); :func:`simulate_group_sums` and
:func:`simulate_group_stats` run :func:`simsav.kernels.spending.group_sums_block` block by
block (:func:`simsav.rng.map_blocks`).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from simsav.rng import DEFAULT_BLOCK_SIZE, SeedLike, check_n_sims, map_blocks
from simsav.spending.base import KernelArgs
from simsav.spending.inputs import kernel_args, kernel_composition

__all__ = [
    "GroupSums",
    "check_attachments",
    "Packed",
    "group_args",
    "pack_groups",
    "simulate_group_stats",
    "simulate_group_sums",
]

_MAX_COUNT = 1 << 40


class Packed(NamedTuple):
    """Groups as the kernels take them (see :func:`simsav.kernels.spending.group_sums_block`).

    Attributes
    ----------
    counts : ndarray of int64, shape (G,)
        Beneficiaries per group.
    zero : ndarray of float64, shape (G,)
        Zero mass per group.
    first : ndarray of int64, shape (G + 1,)
        Group ``g``'s components are ``first[g] <= j < first[g + 1]``.
    kinds : ndarray of int64, shape (C,)
        Primitive kind per component.
    split : ndarray of float64, shape (C,)
        Per component, its weight over the weight of its group's components from it on.
    offsets : ndarray of int64, shape (C + 1,)
        Component ``j``'s parameters are ``params[offsets[j]:offsets[j + 1]]``.
    params : ndarray of float64
        Concatenated primitive parameters.
    caps : ndarray of float64, shape (G,)
        Per-beneficiary cap per group (``inf``: none).
    """

    counts: NDArray[np.int64]
    zero: NDArray[np.float64]
    first: NDArray[np.int64]
    kinds: NDArray[np.int64]
    split: NDArray[np.float64]
    offsets: NDArray[np.int64]
    params: NDArray[np.float64]
    caps: NDArray[np.float64]

    def group(self, g: int) -> Packed:
        """Return group ``g`` alone, packed the same way."""
        lo, hi = int(self.first[g]), int(self.first[g + 1])
        return Packed(
            self.counts[g : g + 1],
            self.zero[g : g + 1],
            np.array([0, hi - lo], dtype=np.int64),
            self.kinds[lo:hi],
            self.split[lo:hi],
            self.offsets[lo : hi + 1] - self.offsets[lo],
            self.params[self.offsets[lo] : self.offsets[hi]],
            self.caps[g : g + 1],
        )


def group_args(groups: Sequence[tuple[Any, int]]) -> tuple[NDArray[np.int64], list[KernelArgs]]:
    """Validate ``(model, count)`` pairs; return the counts and each group's kernel arguments.

    Raises
    ------
    ValueError
        For an empty or malformed sequence, a count outside [0, 2**40] or a model that is
        not valid (the message names ``groups[g]``).
    """
    if isinstance(groups, str | bytes) or not isinstance(groups, Sequence) or len(groups) == 0:
        raise ValueError("groups must be a non-empty sequence of (model, count) pairs")
    counts, args = [], []
    for g, item in enumerate(groups):
        try:
            spec, count = item
        except (TypeError, ValueError):
            raise ValueError(f"groups[{g}] must be a (model, count) pair") from None
        if isinstance(count, bool) or not isinstance(count, numbers.Integral):
            raise ValueError(f"groups[{g}] count must be an int in [0, 2**40], got {count!r}")
        if not 0 <= int(count) <= _MAX_COUNT:
            raise ValueError(f"groups[{g}] count must be in [0, 2**40], got {int(count)}")
        try:
            args.append(kernel_args(spec))
        except ValueError as e:
            raise ValueError(f"groups[{g}]: {e}") from None
        counts.append(int(count))
    return np.array(counts, dtype=np.int64), args


def pack_groups(groups: Sequence[tuple[Any, int]]) -> Packed:
    """Validate the groups and lay out their compositions for the kernels.

    Examples
    --------
    >>> from simsav.spending import SpendingSpec
    >>> spec = SpendingSpec(model="hurdle-lognormal", mean=1.0, cv=2.0, zero_share=0.1)
    >>> p = pack_groups([(spec, 10), (spec, 20)])
    >>> p.counts.tolist(), p.zero.tolist(), p.first.tolist(), p.kinds.tolist()
    ([10, 20], [0.1, 0.1], [0, 1, 2], [1, 1])
    """
    counts, args = group_args(groups)
    zero, first, kinds, split, plist = [], [0], [], [], []
    for ka in args:
        comp = kernel_composition(ka)
        zero.append(comp.zero_share)
        rest = 1.0
        for c in comp.components:
            kinds.append(c.kind)
            split.append(min(c.weight / rest, 1.0) if rest > 0 else 1.0)
            rest -= c.weight
            plist.append(np.asarray(c.params, dtype=np.float64))
        split[-1] = 1.0
        first.append(len(kinds))
    offsets = np.zeros(len(plist) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([p.size for p in plist])
    return Packed(
        counts,
        np.array(zero, dtype=np.float64),
        np.array(first, dtype=np.int64),
        np.array(kinds, dtype=np.int64),
        np.array(split, dtype=np.float64),
        offsets,
        np.ascontiguousarray(np.concatenate(plist), dtype=np.float64),
        np.array([ka.truncate_at for ka in args], dtype=np.float64),
    )


class GroupSums(NamedTuple):
    """Per-(sim, group) accumulators from :func:`simulate_group_stats`.

    Attributes
    ----------
    truncated : ndarray of float64, shape (n_sims, n_groups)
        Sum over the group's beneficiaries of capped spending (USD).
    untruncated : ndarray of float64, shape (n_sims, n_groups)
        Sum of uncapped spending (USD).
    n_truncated : ndarray of int64, shape (n_sims, n_groups)
        Number of beneficiaries whose spending exceeded the cap.
    excess : ndarray of float64, shape (n_sims, n_groups, n_attachments), optional
        With stop-loss attachments: the sum of each beneficiary's capped spending above
        each attachment (USD).
    """

    truncated: NDArray[np.float64]
    untruncated: NDArray[np.float64]
    n_truncated: NDArray[np.int64]
    excess: NDArray[np.float64] | None = None


def simulate_group_stats(
    groups: Sequence[tuple[Any, int]],
    n_sims: int,
    *,
    seed: SeedLike,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    first_block: int = 0,
    on_block: Callable[[int], None] | None = None,
    attachments: NDArray[np.float64] | None = None,
) -> GroupSums:
    """Simulate per-sim spending sums of groups of beneficiaries (with extra stats).

    Like :func:`simulate_group_sums`, but returns sums of capped and of uncapped spending
    and the number of capped beneficiaries per (sim, group). ``first_block`` and
    ``on_block`` are passed to :func:`simsav.rng.map_blocks`: the rows are the sims from
    block ``first_block`` on, drawn exactly as in a run that starts at block 0.
    ``attachments`` (shape (n_groups, K), USD) adds :attr:`GroupSums.excess`, each
    beneficiary's capped spending above each attachment summed; the spending draws are
    the same with or without it.
    """
    n_sims = check_n_sims(n_sims)
    packed = pack_groups(groups)

    from simsav.kernels import spending as _kernels  # numba is imported only when drawing

    out_sum, out_raw, out_ncap = _kernels.empty_outputs(n_sims, packed.counts.size)
    if attachments is None:
        def run(rng: np.random.Generator, start: int, stop: int) -> None:
            _kernels.group_sums_block(
                rng, *packed, out_sum[start:stop], out_raw[start:stop], out_ncap[start:stop]
            )
        out_ex = None
    else:
        att = check_attachments(attachments, packed.counts.size)
        out_ex = np.empty((n_sims, *att.shape), dtype=np.float64)

        def run(rng: np.random.Generator, start: int, stop: int) -> None:
            _kernels.group_sums_excess_block(
                rng, *packed, att, out_sum[start:stop], out_raw[start:stop],
                out_ncap[start:stop], out_ex[start:stop])

    map_blocks(run, n_sims, seed=seed, block_size=block_size, n_threads=n_threads,
               first_block=first_block, on_block=on_block)
    return GroupSums(out_sum, out_raw, out_ncap, out_ex)


def check_attachments(attachments: Any, n_groups: int) -> NDArray[np.float64]:
    """Attachments as a (n_groups, K) float array of positive numbers."""
    att = np.ascontiguousarray(attachments, dtype=np.float64)
    if att.ndim != 2 or att.shape[0] != n_groups:
        raise ValueError(f"attachments must have shape (n_groups={n_groups}, K), "
                         f"got {att.shape}")
    if not (np.isfinite(att).all() and (att > 0).all()):
        raise ValueError("attachments must be positive finite numbers")
    return att


def simulate_group_sums(
    groups: Sequence[tuple[Any, int]],
    n_sims: int,
    *,
    seed: SeedLike,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    first_block: int = 0,
    on_block: Callable[[int], None] | None = None,
) -> NDArray[np.float64]:
    """Simulate, per sim, the sum of capped spending of each group of beneficiaries.

    Each beneficiary-year is drawn independently from its group's model and capped at
    the group's ``truncate_at``; nothing per beneficiary is stored (memory is
    O(n_sims x n_groups) whatever the counts).

    Parameters
    ----------
    groups : sequence of (model, count)
        ``model`` is a :class:`~simsav.spending.SpendingSpec`, a
        :class:`~simsav.spending.SpendingModel` or a :class:`~simsav.spending.KernelArgs`
        triple; ``count`` the number of beneficiaries, in [0, 2**40]. One group per
        stratum or provider panel (or per year: groups are drawn in order within each
        sim).
    n_sims : int
        Number of simulations, ``>= 1``.
    seed : int, SeedSequence, Generator or None
        See :mod:`simsav.rng`. Block ``k`` of sims uses
        ``SeedSequence(entropy, spawn_key=(k,))``.
    block_size : int, default 256
        Sims per block, in [1, 2**20]. Results depend on ``(seed, block_size)`` only:
        not on ``n_threads``; a larger ``n_sims`` only appends rows.
    n_threads : int, optional
        Worker threads (default :func:`numba.get_num_threads`).

    Returns
    -------
    ndarray of float64, shape (n_sims, n_groups)
        USD per group per sim; divide by the count for per-capita spending.

    Examples
    --------
    >>> from simsav.spending import SpendingSpec
    >>> spec = SpendingSpec(model="gamma", mean=10_000, cv=2.0)
    >>> sums = simulate_group_sums([(spec, 1_000), (spec, 500)], 100, seed=1)
    >>> sums.shape
    (100, 2)
    >>> bool(abs(sums[:, 0].mean() / 1_000 / 10_000 - 1) < 0.05)
    True
    """
    return simulate_group_stats(
        groups, n_sims, seed=seed, block_size=block_size, n_threads=n_threads,
        first_block=first_block, on_block=on_block,
    ).truncated
