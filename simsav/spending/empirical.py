"""``empirical``: resampling with replacement from a finite sample.

A spec resamples the bundled DE-SynPUF sample (:func:`simsav.io.desynpuf.desynpuf_spending`,
``sample_year`` and ``sample_subset``), or the user's own claims file (``sample``, a CSV
path, relative to the scenario file in a scenario; ``sample_column`` and
``sample_exposure`` name its amount and member-months columns,
:func:`simsav.io.claims.read_claims`), rescaled to ``mean``. Partial-year members are
annualized and weigh their member months. Kernel form: one ``EMPIRICAL`` primitive over
the support points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simsav.io.claims import ClaimsError, cached_claims
from simsav.io.desynpuf import DESYNPUF_SOURCE, desynpuf_spending
from simsav.kernels.primitives import EMPIRICAL
from simsav.spending.base import (
    Component,
    Composition,
    ModelEntry,
    ShapeField,
    SpendingModel,
    _pos,
    _scalar_or_array,
)

__all__ = ["ENTRY", "Empirical"]


@dataclass(frozen=True, eq=False)
class Empirical(SpendingModel):
    """Resampling with replacement from a finite sample (each value equally likely).

    Attributes
    ----------
    values : ndarray
        Support points (USD, ``>= 0``), stored sorted ascending.
    source : str
        Where the values come from.

    Examples
    --------
    >>> m = Empirical.from_sample([0.0, 1.0, 2.0, 5.0], mean=100.0)
    >>> m.mean(), m.quantile(0.5)
    (100.0, 50.0)
    """

    name: ClassVar[str] = "empirical"
    code: ClassVar[int] = 4

    values: NDArray[np.float64]
    source: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        v = np.sort(np.asarray(self.values, dtype=np.float64).ravel())
        if v.size == 0 or not np.all(np.isfinite(v)) or v[0] < 0 or not v[-1] > 0:
            raise ValueError("values must be a non-empty sample of finite amounts >= 0, not all 0")
        v.setflags(write=False)
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "_cum1", np.concatenate([[0.0], np.cumsum(v)]))
        object.__setattr__(self, "_cum2", np.concatenate([[0.0], np.cumsum(v * v)]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Empirical):
            return NotImplemented
        return (
            self.truncate_at == other.truncate_at
            and self.source == other.source
            and np.array_equal(self.values, other.values)
        )

    def __hash__(self) -> int:
        return hash((self.truncate_at, self.source, self.values.tobytes()))

    @classmethod
    def from_sample(
        cls, sample: ArrayLike, *, mean: float, source: str = "", **kw: Any
    ) -> Empirical:
        """Return the sample rescaled to ``mean``."""
        _pos("mean", mean)
        v = np.asarray(sample, dtype=np.float64)
        return cls(values=v * (mean / v.mean()), source=source, **kw)

    def cdf(self, x: float) -> float:  # noqa: D102
        return float(np.searchsorted(self.values, x, side="right")) / self.values.size

    def quantile(self, p: float) -> float:
        """Return the ``p``-quantile (inverted cdf: the smallest x with ``F(x) >= p``)."""
        if p >= 1.0:
            return float(self.values[-1])
        i = max(math.ceil(p * self.values.size) - 1, 0)
        return float(self.values[i])

    def partial_moment(self, k: int, c: float) -> float:  # noqa: D102
        if k not in (1, 2, 3, 4):
            raise ValueError("k must be 1, 2, 3 or 4")
        j = int(np.searchsorted(self.values, c, side="right"))
        if k > 2:
            return float(np.sum(self.values[:j] ** k)) / self.values.size
        cum = self._cum1 if k == 1 else self._cum2  # type: ignore[attr-defined]
        return float(cum[j]) / self.values.size

    def sf(self, x: float) -> float:  # noqa: D102
        n = self.values.size
        return float(n - np.searchsorted(self.values, x, side="right")) / n

    def isf(self, s: ArrayLike) -> Any:
        """Return the smallest support point ``x`` with ``P(X > x) <= s`` (0 for s >= 1)."""
        sa = np.asarray(s, dtype=np.float64)
        n = self.values.size
        above = np.floor(np.clip(sa, 0.0, 1.0) * n).astype(np.int64)
        i = np.clip(n - 1 - above, 0, n - 1)
        return _scalar_or_array(np.where(sa >= 1.0, 0.0, self.values[i]))

    def conditional_quantile(self, v: ArrayLike, lo: float, hi: float) -> Any:
        """Return draws of ``X`` given ``lo < X <= hi`` for uniforms ``v`` in [0, 1).

        The support points in ``(lo, hi]`` are equally likely (with their multiplicity):
        point ``a + floor(v * (b - a))`` of the sorted sample, where ``a`` and ``b`` bound
        the points in the interval.
        """
        a = int(np.searchsorted(self.values, lo, side="right"))
        b = int(np.searchsorted(self.values, hi, side="right"))
        if b <= a:
            raise ValueError(f"the model puts no probability in ({lo}, {hi}]")
        va = np.asarray(v, dtype=np.float64)
        i = np.minimum(a + np.floor(va * (b - a)).astype(np.int64), b - 1)
        return _scalar_or_array(self.values[i])

    def _lorenz_mass(self, p: float, c: float) -> float:
        n = self.values.size
        w = np.minimum(self.values, c)
        t = p * n
        j = int(math.floor(t))
        mass = float(np.sum(w[:j]))
        if j < n:
            mass += (t - j) * float(w[j])
        return mass / n

    def kernel_params(self) -> NDArray[np.float64]:
        """Return the support points (sorted)."""
        return np.array(self.values, dtype=np.float64)

    @classmethod
    def check_kernel_params(cls, p: NDArray[np.float64]) -> None:  # noqa: D102
        if np.any(p < 0):
            raise ValueError("params out of range: empirical values must be >= 0")

    @classmethod
    def from_kernel_params(  # noqa: D102
        cls, p: NDArray[np.float64], *, truncate_at: float | None = None
    ) -> Empirical:
        return cls(values=p.copy(), truncate_at=truncate_at)

    @classmethod
    def compose(cls, p: NDArray[np.float64]) -> Composition:
        """Return one ``EMPIRICAL`` primitive over the support points, in their order.

        The support's zeros are support points like any other (no zero mass), so the
        kernels draw exactly one uniform per beneficiary.
        """
        return Composition(0.0, (Component(EMPIRICAL, 1.0, p),))



SAMPLE_YEAR_FIELD = ShapeField(Literal[2008, 2009, 2010], "DE-SynPUF year (default 2008).")
SAMPLE_SUBSET_FIELD = ShapeField(
    Literal["ffs-full-year", "all"], 'Which beneficiaries (default "ffs-full-year").'
)
SAMPLE_FIELD = ShapeField(
    str, "A claims file (CSV, one row per member) to resample instead of DE-SynPUF; in a "
    "scenario, relative to the scenario file."
)
SAMPLE_COLUMN_FIELD = ShapeField(str, 'Its column of annual amounts paid (default "paid").')
SAMPLE_EXPOSURE_FIELD = ShapeField(
    str, "Its column of member months, in (0, 12] (default: every member full-year)."
)


def _from_claims(mean: float, shape: Mapping[str, Any]) -> Empirical:
    if "sample_year" in shape or "sample_subset" in shape:
        raise ValueError("give sample (a claims file) or sample_year/sample_subset (the "
                         "bundled DE-SynPUF), not both")
    try:
        claims = cached_claims(shape["sample"], column=shape.get("sample_column", "paid"),
                               exposure=shape.get("sample_exposure"))
        support = claims.support()
    except ClaimsError as err:
        raise ValueError(f"sample: {err}") from None
    return Empirical.from_sample(support, mean=mean, source=claims.describe())


def _build(mean: float, shape: Mapping[str, Any]) -> Empirical:
    if "sample" in shape:
        return _from_claims(mean, shape)
    if "sample_column" in shape or "sample_exposure" in shape:
        raise ValueError("sample_column and sample_exposure need sample (a claims file)")
    year = shape.get("sample_year", 2008)
    subset = shape.get("sample_subset", "ffs-full-year")
    return Empirical.from_sample(
        desynpuf_spending(year, subset),
        mean=mean,
        source=f"{DESYNPUF_SOURCE}, {year}, {subset}",
    )


ENTRY = ModelEntry(
    name="empirical",
    model=Empirical,
    build=_build,
    summary="resampling the bundled DE-SynPUF sample or a claims file, rescaled to the mean",
    fields={"sample_year": SAMPLE_YEAR_FIELD, "sample_subset": SAMPLE_SUBSET_FIELD,
            "sample": SAMPLE_FIELD, "sample_column": SAMPLE_COLUMN_FIELD,
            "sample_exposure": SAMPLE_EXPOSURE_FIELD},
)
