"""The spending models: one table, read by everything that lists or dispatches on models.

Each model module defines its class and a :class:`~simsav.spending.base.ModelEntry`
(name, shape fields, how a spec builds it, its class with the closed-form moments, the
kernel arguments and the kernels' composition). :data:`ENTRIES` lists them; nothing else
in simsav names a model. Adding a model means: a module beside these, one line in
:data:`ENTRIES`, and its tests.

Read by: :class:`~simsav.spending.SpendingSpec` (allowed names and per-model fields),
:func:`~simsav.spending.kernel_args` and :func:`~simsav.spending.model_from_kernel_args`
(codes, parameter counts and domains), the drivers under :mod:`simsav.draw` (through the
models' compositions), :func:`simsav.analysis.msr_sizing.default_spending` and the CLI's
help (:func:`describe`).

Examples
--------
>>> MODEL_NAMES[:3]
('gamma', 'lognormal', 'hurdle-lognormal')
>>> entry("hurdle-lognormal").required == {"cv", "zero_share"}
True
>>> model_class(0).__name__
'Gamma'
"""

from __future__ import annotations

from simsav.spending import (
    empirical,
    gamma,
    hurdle,
    lognormal,
    lognormal_mixture,
    lognormal_pareto,
    medicare,
)
from simsav.spending.base import ModelEntry, ShapeField, SpendingModel

__all__ = [
    "DEFAULT_MODEL",
    "ENTRIES",
    "MODEL_NAMES",
    "describe",
    "entry",
    "model_class",
    "model_codes",
    "shape_fields",
]

#: Every spending model, in the order specs, help and docs list them.
ENTRIES: tuple[ModelEntry, ...] = (
    gamma.ENTRY,
    lognormal.ENTRY,
    hurdle.ENTRY,
    lognormal_pareto.ENTRY,
    empirical.ENTRY,
    medicare.ENTRY,
    lognormal_mixture.ENTRY,
)

#: The model names a :class:`~simsav.spending.SpendingSpec` accepts.
MODEL_NAMES: tuple[str, ...] = tuple(e.name for e in ENTRIES)

#: The model of a ``[spending]`` table that names none.
DEFAULT_MODEL = "medicare-ffs"


def _index() -> tuple[
    dict[str, ModelEntry], dict[int, type[SpendingModel]], dict[str, ShapeField]
]:
    """Build the lookups, checking that names and codes are unique and fields agree."""
    by_name: dict[str, ModelEntry] = {}
    by_code: dict[int, type[SpendingModel]] = {}
    fields: dict[str, ShapeField] = {}
    for e in ENTRIES:
        if e.name in by_name:
            raise ValueError(f"two spending models are named {e.name!r}")
        by_name[e.name] = e
        known = by_code.setdefault(e.model.code, e.model)
        if known is not e.model or e.model.code < 0:
            raise ValueError(f"model code {e.model.code} of {e.name!r} is not unique")
        for name, f in e.fields.items():
            if fields.setdefault(name, f) != f:
                raise ValueError(f"field {name!r} of {e.name!r} differs from another model's")
    if DEFAULT_MODEL not in by_name:
        raise ValueError(f"the default model {DEFAULT_MODEL!r} is not registered")
    return by_name, by_code, fields


_BY_NAME, _BY_CODE, _FIELDS = _index()


def entry(name: str) -> ModelEntry:
    """Return the registry entry of model ``name``.

    Raises
    ------
    ValueError
        For a name that is not registered (listing the names that are).
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"unknown spending model {name!r}; one of {', '.join(MODEL_NAMES)}"
        ) from None


def model_codes() -> tuple[int, ...]:
    """Return the registered model codes, ascending."""
    return tuple(sorted(_BY_CODE))


def model_class(code: int) -> type[SpendingModel]:
    """Return the model class with this code (:attr:`SpendingModel.code`).

    Raises
    ------
    ValueError
        For an unregistered code.
    """
    try:
        return _BY_CODE[code]
    except KeyError:
        raise ValueError(f"unknown model code {code!r}") from None


def shape_fields() -> dict[str, ShapeField]:
    """Return every model's shape fields, each once, in the order the models list them."""
    return dict(_FIELDS)


def describe() -> str:
    """Return one line per model, ``name: summary`` (for help texts).

    Examples
    --------
    >>> print(describe().splitlines()[0])
    gamma: gamma with the given mean and cv
    """
    return "\n".join(f"{e.name}: {e.summary}" for e in ENTRIES)
