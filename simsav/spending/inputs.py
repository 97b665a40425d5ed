"""A group's model in any of its forms: spec, model, or kernel arguments.

Drivers accept a group's model as a :class:`~simsav.spending.SpendingSpec`, a
:class:`~simsav.spending.SpendingModel` or a ``(code, params, truncate_at)`` triple
(:class:`~simsav.spending.KernelArgs`). :func:`kernel_args` and
:func:`model_from_kernel_args` convert between them, checking a triple against the
registry (its code, parameter count and domain); :func:`kernel_composition` gives the
composition the kernels draw.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from simsav.spending.base import Composition, KernelArgs, SpendingModel
from simsav.spending.registry import model_class, model_codes
from simsav.spending.spec import SpendingSpec

__all__ = ["kernel_args", "kernel_composition", "model_from_kernel_args"]

ModelLike = Any  # SpendingSpec | SpendingModel | KernelArgs | a (code, params, cap) sequence


def kernel_args(obj: ModelLike | Sequence[Any]) -> KernelArgs:
    """Return ``(model_code, params, truncate_at)`` for the kernel.

    Parameters
    ----------
    obj : SpendingSpec, SpendingModel, or (code, params, truncate_at)
        A spec or model, or ready-made kernel arguments (checked).

    Returns
    -------
    KernelArgs
        ``truncate_at`` is ``inf`` when there is no cap.

    Raises
    ------
    ValueError
        For an unknown code, a wrong number of parameters, non-finite parameters,
        parameters outside the model's domain or a cap that is not ``> 0``.

    Examples
    --------
    >>> kernel_args(SpendingSpec(model="gamma", mean=10.0, cv=1.0, truncate_at=50.0))
    KernelArgs(code=0, params=array([ 1., 10.]), truncate_at=50.0)
    """
    if isinstance(obj, SpendingSpec):
        return obj.to_model().kernel_args()
    if isinstance(obj, SpendingModel):
        return obj.kernel_args()
    try:
        code, params, cap = obj
    except (TypeError, ValueError):
        raise ValueError(
            "a group's model must be a SpendingSpec, a SpendingModel or a "
            f"(code, params, truncate_at) triple, got {type(obj).__name__}"
        ) from None
    codes = model_codes()
    if isinstance(code, bool) or not isinstance(code, numbers.Integral) or code not in codes:
        raise ValueError(f"model code must be an int in {list(codes)}, got {code!r}")
    cls = model_class(int(code))
    p = np.ascontiguousarray(params, dtype=np.float64).ravel()
    if cls.n_params >= 0 and p.size != cls.n_params:
        raise ValueError(f"model code {code} takes {cls.n_params} params, got {p.size}")
    if p.size == 0 or not np.all(np.isfinite(p)):
        raise ValueError("params must be non-empty and finite")
    cls.check_kernel_params(p)
    cap = math.inf if cap is None else float(cap)
    if not cap > 0:
        raise ValueError(f"truncate_at must be > 0 (inf for none), got {cap}")
    return KernelArgs(int(code), p, cap)


def model_from_kernel_args(obj: ModelLike | Sequence[Any]) -> SpendingModel:
    """Return the :class:`SpendingModel` for a spec, a model or kernel arguments.

    The inverse of :func:`kernel_args`: a spec gives its model, a model itself, and a
    ``(code, params, truncate_at)`` triple (checked by :func:`kernel_args`) the model with
    those parameters and cap.

    Raises
    ------
    ValueError
        As :func:`kernel_args`; and for parameters that no model of that code has (e.g.
        ``lognormal-pareto``'s ``z_s`` and ``log x_s`` inconsistent with the others).

    Examples
    --------
    >>> m = model_from_kernel_args((0, [0.25, 40_000.0], 1e6))
    >>> type(m).__name__, m.truncate_at, round(m.mean())
    ('Gamma', 1000000.0, 10000)
    """
    if isinstance(obj, SpendingSpec):
        return obj.to_model()
    if isinstance(obj, SpendingModel):
        return obj
    code, p, cap = kernel_args(obj)
    return model_class(code).from_kernel_params(p, truncate_at=None if math.isinf(cap) else cap)


def kernel_composition(ka: KernelArgs) -> Composition:
    """Return the kernels' composition of checked kernel arguments (no round trip).

    Examples
    --------
    >>> c = kernel_composition(kernel_args((2, [0.1, 8.0, 1.2], None)))
    >>> c.zero_share, [(comp.kind, comp.weight) for comp in c.components]
    (0.1, [(1, 1.0)])
    """
    return model_class(ka.code).compose(ka.params)
