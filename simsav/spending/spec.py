"""The scenario's ``[spending]`` table: :class:`SpendingSpec`, built from the registry.

``model`` and ``mean`` are always there, ``truncate_at`` / ``truncate_quantile`` set the
per-beneficiary cap, and the shape fields are those the registered models declare
(:func:`simsav.spending.registry.shape_fields`): each with its type and bounds, allowed
only for the models that take it, required where the model says so. The class is
assembled once, at import, with :func:`pydantic.create_model`, so a new model's fields
appear here without an edit.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, create_model, model_validator

from simsav.spending.base import SpendingModel
from simsav.spending.registry import DEFAULT_MODEL, ENTRIES, MODEL_NAMES, entry, shape_fields
from simsav.validation import Problems

__all__ = ["SpendingSpec", "spending_model"]

_SHAPE = shape_fields()

_DOC_HEAD = """The scenario's ``[spending]`` table: a spending model and its calibration.

    All amounts are USD per beneficiary-year. ``mean`` and ``cv`` describe the
    untruncated distribution, zeros included. Fields that the chosen ``model`` does not
    take are rejected, naming the field. The models, their fields and the fields' bounds
    come from :mod:`simsav.spending.registry`.

    Attributes
    ----------
    model : str
        {models}
    mean : float
        Mean spending per beneficiary-year, ``> 0``.
"""

_DOC_TAIL = """    truncate_at : float, optional
        Per-beneficiary cap in USD (``> 0``).
    truncate_quantile : float, optional
        Cap at this quantile of the untruncated distribution, in (0, 1); e.g. 0.99.

    Examples
    --------
    >>> spec = SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99)
    >>> m = spec.to_model()
    >>> round(m.cv(), 2), round(m.cv(truncated=True), 2)
    (2.33, 1.84)
    >>> try:
    ...     SpendingSpec(model="gamma", mean=1.0, cv=2.0, zero_share=0.1)
    ... except ValueError as e:
    ...     print(e.errors()[0]["msg"])
    Value error, zero_share: does not apply to model 'gamma'
    """


def _wrap(text: str) -> str:
    """``text`` wrapped as a docstring's description lines (8 spaces in)."""
    return textwrap.fill(text, width=88, initial_indent=" " * 8, subsequent_indent=" " * 8,
                         break_on_hyphens=False)


def _field_doc(name: str) -> str:
    """The docstring lines of one shape field: its type, meaning and the models taking it."""
    f = _SHAPE[name]
    takers = [f"``{e.name}``" + (" (required)" if name in e.required else "")
              for e in ENTRIES if name in e.fields]
    args = getattr(f.annotation, "__args__", None)
    kind = "{" + ", ".join(repr(a) for a in args) + "}" if args else f.annotation.__name__
    text = _wrap(f"{f.doc} Models: {', '.join(takers)}.")
    return f"    {name} : {kind}, optional\n{text}\n"


def _docstring() -> str:
    models = ", ".join(f"``{n}``" for n in MODEL_NAMES)
    line = _wrap(f"One of {models} (default ``{DEFAULT_MODEL}``).").lstrip()
    return _DOC_HEAD.format(models=line) + "".join(_field_doc(n) for n in _SHAPE) + _DOC_TAIL


class _SpecBehaviour(BaseModel):
    """Validation and methods of :class:`SpendingSpec` (its fields come from the registry)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    _built: SpendingModel | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_fields(self) -> Any:
        e = entry(self.model)  # type: ignore[attr-defined]
        given = {n: getattr(self, n) for n in _SHAPE if getattr(self, n) is not None}
        found = [(name, f"does not apply to model {e.name!r}") for name in _SHAPE
                 if name in given and name not in e.fields]
        found += [(name, f"required by model {e.name!r}") for name in _SHAPE
                  if name not in given and name in e.required]
        if self.truncate_at is not None and self.truncate_quantile is not None:  # type: ignore[attr-defined]
            found.append(("truncate_quantile", "give truncate_at or truncate_quantile, not both"))
        if found:
            raise Problems(found)
        # Build once: checks feasibility (e.g. cv vs zero_share) and caches the model.
        m = e.build(self.mean, given)  # type: ignore[attr-defined]
        cap, q = self.truncate_at, self.truncate_quantile  # type: ignore[attr-defined]
        if cap is not None or q is not None:
            m = m.with_truncation(cap, truncate_quantile=q)
        self._built = m
        return self

    def to_model(self) -> SpendingModel:
        """Return the :class:`SpendingModel` this spec describes (built at validation)."""
        assert self._built is not None
        return self._built

    def replace(self, **changes: Any) -> Any:
        """Return a validated copy with ``changes`` applied (e.g. a stratum's mean).

        Setting ``truncate_at`` drops ``truncate_quantile`` and vice versa, unless both
        are given; a value of ``None`` removes a field. Changing ``model`` drops the shape
        fields the new model does not take (``cv`` when going to ``medicare-ffs``, ...).

        Examples
        --------
        >>> base = SpendingSpec(mean=11_000, truncate_quantile=0.99)
        >>> base.replace(mean=90_000, truncate_at=500_000).model_dump(exclude_none=True)
        {'model': 'medicare-ffs', 'mean': 90000.0, 'truncate_at': 500000.0}
        """
        data = self.model_dump(exclude_none=True)
        new_model = changes.get("model", self.model)  # type: ignore[attr-defined]
        if new_model != self.model and new_model in MODEL_NAMES:  # type: ignore[attr-defined]
            for name in _SHAPE:
                if name not in entry(new_model).fields:
                    data.pop(name, None)
        if "truncate_at" in changes and "truncate_quantile" not in changes:
            data.pop("truncate_quantile", None)
        if "truncate_quantile" in changes and "truncate_at" not in changes:
            data.pop("truncate_at", None)
        data.update(changes)
        return type(self).model_validate({k: v for k, v in data.items() if v is not None})


def _fields() -> dict[str, Any]:
    shape = {
        name: (f.annotation | None, Field(default=None, **f.constraints()))
        for name, f in _SHAPE.items()
    }
    return {
        "model": (Literal[MODEL_NAMES], DEFAULT_MODEL),  # type: ignore[valid-type]
        "mean": (float, Field(gt=0)),
        **shape,
        "truncate_at": (float | None, Field(default=None, gt=0)),
        "truncate_quantile": (float | None, Field(default=None, gt=0, lt=1)),
    }


SpendingSpec = create_model(
    "SpendingSpec",
    __base__=_SpecBehaviour,
    __module__=__name__,
    __doc__=_docstring(),
    **_fields(),
)


def spending_model(spec: Any | Mapping[str, Any]) -> SpendingModel:
    """Return the :class:`SpendingModel` for a spec (or a ``[spending]`` mapping).

    Examples
    --------
    >>> m = spending_model({"model": "lognormal", "mean": 8_000, "cv": 2.0})
    >>> type(m).__name__, round(m.mean())
    ('Lognormal', 8000)
    """
    if not isinstance(spec, SpendingSpec):
        spec = SpendingSpec.model_validate(spec)
    return spec.to_model()
