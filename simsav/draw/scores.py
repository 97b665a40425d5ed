"""Score form of the spending models: spending from a standard-normal score.

The panel kernel (:mod:`simsav.kernels.panel`) and the per-beneficiary attribution
kernel (:mod:`simsav.kernels.attribution`) draw a normal score ``w`` and need the
spending ``x = F^-1(Phi(w))`` it maps to. Per group they take one primitive behind the
zero mass, with the parameter block ``[p0, z0, M, (M values), primitive parameters]``:

* ``p0`` the zero mass and ``z0 = Phi^-1(p0)``; for ``p0 > 0`` the ``M`` values are the
  cubic Hermite table of the non-zero part's score ``v(w) = Phi^-1((Phi(w) - p0) /
  (1 - p0))`` for ``w >= z0 + 0.25`` (within 1e-8; the kernels compute ``v`` exactly
  below), else ``M = 0``;
* the primitive: the model's single component when its kind has a closed-form score
  transform (:data:`simsav.kernels.primitives.SCORE_KINDS`), or with ``forward`` (the
  attribution kernel) a kind it draws forward; otherwise a ``TABLE`` of the model's own
  :meth:`~simsav.spending.SpendingModel.score_log_quantile` (a gamma, a mixture).

Tables are cubic Hermite interpolants on a fixed grid: ``[w_0, 1 / h, M, y_0..y_M,
h y'_0..h y'_M]``, linearly extrapolated beyond it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from simsav.draw.groups import group_args
from simsav.kernels.primitives import EMPIRICAL, FORWARD_KINDS, SCORE_KINDS, TABLE
from simsav.spending.base import KernelArgs, SpendingModel
from simsav.spending.inputs import kernel_args, kernel_composition, model_from_kernel_args

__all__ = [
    "GRID_CELLS",
    "GRID_INV_STEP",
    "GRID_LO",
    "Scored",
    "grid",
    "hermite_table",
    "pack_scored",
    "score_form",
]

# Grid of the tabulated maps (log-quantiles here, the panel's survivor map): z in [-9, 9],
# step 1/128. P(|Z| > 9) = 2e-19; beyond the grid the maps extrapolate linearly.
GRID_LO = -9.0
GRID_INV_STEP = 128.0
GRID_CELLS = 2304

_SCORE_TABLE_OFFSET = 0.25  # the non-zero score's table starts this far above z0


def grid() -> NDArray[np.float64]:
    """Return the grid of the tabulated maps: [-9, 9] in steps of 1/128."""
    return GRID_LO + np.arange(GRID_CELLS + 1, dtype=np.float64) / GRID_INV_STEP


def hermite_table(
    start: float, y: NDArray[np.float64], dy: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Kernel layout of a cubic Hermite table: ``[w_0, 1/h, M, y_0..y_M, h y'_0..h y'_M]``."""
    h = 1.0 / GRID_INV_STEP
    return np.concatenate([[start, GRID_INV_STEP, float(y.size - 1)], y, h * dy])


@functools.lru_cache(maxsize=64)
def _log_quantile_table(model: SpendingModel) -> NDArray[np.float64]:
    """Table of the non-zero part's ``L(v) = log G^-1(Phi(v))`` (the ``TABLE`` primitive)."""
    y, dy = model.score_log_quantile(grid())
    out = hermite_table(GRID_LO, y, dy)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=64)
def _score_table(p0: float) -> NDArray[np.float64]:
    """Table of ``v(w) = Phi^-1((Phi(w) - p0) / (1 - p0))`` and ``v'`` for ``w >= z0 + 0.25``.

    ``v`` has a logarithmic singularity at ``z0``; 0.25 above it, the cubic Hermite
    interpolant is within 1e-8 of ``v`` (the kernel computes ``v`` exactly below).
    """
    start = float(special.ndtri(p0)) + _SCORE_TABLE_OFFSET
    n_cells = max(int(math.ceil((-GRID_LO - start) * GRID_INV_STEP)), 1)
    w = start + np.arange(n_cells + 1, dtype=np.float64) / GRID_INV_STEP
    q = special.ndtr(-w) / (1.0 - p0)
    v = np.where(q < 0.5, -special.ndtri(q), special.ndtri((special.ndtr(w) - p0) / (1.0 - p0)))
    dv = np.exp(stats.norm.logpdf(w) - stats.norm.logpdf(v)) / (1.0 - p0)
    out = hermite_table(start, v, dv)
    out.setflags(write=False)
    return out


def score_form(model: Any, *, forward: bool = False) -> tuple[int, NDArray[np.float64]]:
    """Return ``(kind, params)`` of one model for the score kernels.

    Parameters
    ----------
    model : SpendingSpec, SpendingModel or KernelArgs
        The model (its cap is not part of the score form).
    forward : bool, default False
        Whether the kernel draws :data:`~simsav.kernels.primitives.FORWARD_KINDS`
        forward when there is no zero mass (the attribution kernel does, the panel's
        does not).

    Returns
    -------
    kind : int
        A primitive of :mod:`simsav.kernels.primitives`.
    params : ndarray of float64
        ``[p0, z0, M, (M values), primitive parameters]``, a fresh writable array (numba
        compiles read-only arrays as another signature).

    Examples
    --------
    >>> from simsav.spending import SpendingSpec
    >>> kind, p = score_form(SpendingSpec(model="lognormal", mean=1.0, cv=1.0))
    >>> kind, p[:3].tolist()
    (1, [0.0, -inf, 0.0])
    """
    ka = model if isinstance(model, KernelArgs) else kernel_args(model)
    comp = kernel_composition(ka)
    p0 = comp.zero_share
    kind = comp.components[0].kind
    closed = kind in SCORE_KINDS or (forward and p0 == 0.0 and kind in FORWARD_KINDS)
    if len(comp.components) == 1 and closed:
        q = np.asarray(comp.components[0].params, dtype=np.float64)
        if kind == EMPIRICAL:  # spending must rise with the score
            q = np.sort(q)
    else:
        kind, q = TABLE, _log_quantile_table(model_from_kernel_args(ka))
    zero = _score_table(p0) if p0 > 0.0 else np.empty(0)
    head = [p0, float(special.ndtri(p0)), float(zero.size)]
    return kind, np.concatenate([head, zero, q])


class Scored(NamedTuple):
    """Groups as the score kernels take them: one primitive per group.

    Attributes
    ----------
    counts : ndarray of int64, shape (G,)
        Beneficiaries (slots) per group.
    kinds : ndarray of int64, shape (G,)
        Primitive kind per group.
    offsets : ndarray of int64, shape (G + 1,)
        Group ``g``'s parameter block is ``params[offsets[g]:offsets[g + 1]]``.
    params : ndarray of float64
        Concatenated parameter blocks (see :func:`score_form`).
    caps : ndarray of float64, shape (G,)
        Per-beneficiary cap per group (``inf``: none).
    """

    counts: NDArray[np.int64]
    kinds: NDArray[np.int64]
    offsets: NDArray[np.int64]
    params: NDArray[np.float64]
    caps: NDArray[np.float64]


def pack_scored(groups: Sequence[tuple[Any, int]], *, forward: bool = False) -> Scored:
    """Validate ``(model, count)`` groups and pack their score forms (see :func:`score_form`)."""
    counts, args = group_args(groups)
    kinds, plist = [], []
    for ka in args:
        kind, p = score_form(ka, forward=forward)
        kinds.append(kind)
        plist.append(p)
    offsets = np.zeros(len(plist) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([p.size for p in plist])
    return Scored(
        counts,
        np.array(kinds, dtype=np.int64),
        offsets,
        np.ascontiguousarray(np.concatenate(plist), dtype=np.float64),
        np.array([ka.truncate_at for ka in args], dtype=np.float64),
    )
