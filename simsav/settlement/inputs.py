"""The settlement's inputs: validated once at the boundary, broadcast to one shape.

:func:`prepare` checks every argument of :func:`simsav.settlement.settle` (ranges, NaN,
infinities, one shape for every array, totals that do not overflow), scores the quality by
the contract's rule and returns a :class:`SettleInputs`; with ``check=False`` it trusts
arrays the draw stage made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simsav.contracts import Contract
from simsav.settlement.quality import effective_quality
from simsav.validation import checked_array

__all__ = ["SettleInputs", "prepare"]

F64 = NDArray[np.float64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True)
class SettleInputs:
    """Validated settlement inputs, broadcast to one shape (see :func:`settle`).

    ``quality`` is the score as performed (standards and gates test it); ``scored`` is
    the quality the contract's scoring gives it (it scales sharing and bonuses).
    """

    benchmark: F64
    expenditure: F64
    n: F64
    person_years: F64
    quality: F64
    scored: F64
    revenue: F64
    agreement_year: F64
    euc_fraction: F64
    participation_share: F64
    low_revenue: Bools
    equity_adjustment: F64
    stop_loss_excess: F64
    stop_loss_expected: F64
    prepaid_balance: F64
    qps_met: Bools | None = None
    alt_qps_met: Bools | None = None
    msr: F64 | None = None
    mlr: F64 | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The common shape."""
        return self.benchmark.shape


# ----------------------------------------------------------------------------- boundary
_arr = checked_array


def _bool(name: str, value: ArrayLike | None) -> Bools | None:
    if value is None:
        return None
    a = np.asarray(value)
    if a.dtype.kind == "f" and np.isnan(a).any():
        raise ValueError(f"{name}: must be true or false, got NaN")
    return a.astype(bool)


def _score(c: Contract, q: F64, prior: F64 | None, pct: F64 | None) -> F64:
    """The 0–1 quality the contract's scoring gives performance ``q`` [V CFR502; rec. 3]."""
    if c.quality_scoring == "score":
        return q
    return effective_quality(
        c.quality_scoring, q, q_prior=prior, percentile=pct, goal_target=c.goal_target,
        goal_stretch=c.goal_stretch, goal_target_share=c.goal_target_share,
        improvement_full_at=c.improvement_full_at)


def _same_shapes(kw: dict[str, Any]) -> None:
    """Array inputs must share one shape (scalars go with anything): no silent outer product."""
    shapes = {k: np.shape(v) for k, v in kw.items() if v is not None and np.ndim(v) > 0}
    if len(set(shapes.values())) > 1:
        desc = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"inputs: array arguments must have one shape (or be scalars); "
                         f"got {desc}")


def _trusted(name: str, value: ArrayLike, **_: Any) -> F64:
    return np.asarray(value, dtype=np.float64)


def prepare(contract: Contract, *, check: bool = True, **kw: Any) -> SettleInputs:
    """Validate the arguments of :func:`settle` (unless ``check`` is false).

    Also scores the quality by the contract's rule and broadcasts everything to one shape.
    """
    arr = _arr if check else _trusted
    bench = arr("benchmark", kw["benchmark"], lo=0.0, lo_open=True)
    exp_ = arr("expenditure", kw["expenditure"], lo=0.0)
    n = arr("n_beneficiaries", kw["n_beneficiaries"], lo=0.0, lo_open=True)
    py = n if kw["person_years"] is None else arr("person_years", kw["person_years"],
                                                  lo=0.0, lo_open=True)
    q = arr("quality", kw["quality"], lo=0.0, hi=1.0)
    prior = None if kw["quality_prior"] is None else arr(
        "quality_prior", kw["quality_prior"], lo=0.0, hi=1.0, allow_nan=True)
    pct = None if kw["quality_percentile"] is None else arr(
        "quality_percentile", kw["quality_percentile"], lo=0.0, hi=1.0)
    scored = _score(contract, q, prior, pct)
    rev = arr("revenue", kw["revenue"], lo=0.0, allow_nan=True)
    year = arr("agreement_year", kw["agreement_year"], lo=1.0)
    euc = arr("euc_fraction", kw["euc_fraction"], lo=0.0, hi=1.0)
    part = arr("participation_share", kw["participation_share"], lo=0.0, hi=1.0)
    low = np.asarray(kw["low_revenue"], dtype=bool)
    equity = arr("equity_adjustment", kw["equity_adjustment"])
    excess = arr("stop_loss_excess", kw["stop_loss_excess"], lo=0.0)
    expected = arr("stop_loss_expected", kw["stop_loss_expected"], lo=0.0, allow_nan=True)
    prepaid = arr("prepaid_balance", kw["prepaid_balance"], lo=0.0)
    sl = contract.specific_stop_loss
    if check and sl is not None and sl.premium_loading is not None and np.isnan(expected).any():
        raise ValueError("stop_loss_expected: the premium is a loading on the expected "
                         "recoveries; give the expected excess over the attachment")
    qps, alt = _bool("qps_met", kw["qps_met"]), _bool("alt_qps_met", kw["alt_qps_met"])
    msr = None if kw["msr"] is None else arr("msr", kw["msr"], lo=0.0, hi=1.0)
    mlr = None if kw["mlr"] is None else arr("mlr", kw["mlr"], lo=0.0, hi=1.0)
    arrays = [bench, exp_, n, py, q, scored, rev, year, euc, part, low, equity, excess,
              expected, prepaid]
    optional = [x for x in (qps, alt, msr, mlr) if x is not None]
    if check:
        _same_shapes(kw)
    shape = np.broadcast_shapes(*(np.shape(x) for x in arrays + optional))
    if check:
        with np.errstate(over="ignore"):
            totals = np.broadcast_to(bench, shape) * np.broadcast_to(py, shape)
            spent = np.broadcast_to(exp_, shape) * np.broadcast_to(py, shape)
        if not (np.isfinite(totals).all() and np.isfinite(spent).all()):
            raise ValueError("benchmark, expenditure: times the beneficiaries (person-years) "
                             "they overflow; give per-capita amounts in USD")

    def b(x: Any) -> Any:
        return None if x is None else np.broadcast_to(x, shape)

    return SettleInputs(*(b(x) for x in arrays), qps_met=b(qps), alt_qps_met=b(alt),
                        msr=b(msr), mlr=b(mlr))
