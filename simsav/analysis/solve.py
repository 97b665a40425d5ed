"""The solver: the value of a contract term that brings a figure to a target.

``solve(scenario, design="Two-sided", term="msr", figure="p_clear_msr", target=0.05)``
finds the MSR at which the chance of clearing it by luck is 5%. Any numeric contract
term works (``msr``, ``mlr``, ``loss_rate``, ``payment_limit``, ``benchmark_discount``,
``max_sharing_rate``, a term added later, ...) against any figure of
:func:`simsav.summary_table` that moves monotonically with it.

How. The scenario is drawn once; each trial value of the term re-settles the same
draws (:func:`simsav.analysis.sweep.resettle`, common random numbers: no redraw), so the
figure is a deterministic function of the term and bisection converges on it. A coarse
grid of the term's range first brackets the first crossing (and checks monotonicity);
bisection then narrows it to ``tol``. The answer is the smallest value at which the
figure reaches the target from the side it starts on.

The Monte Carlo band. The figure at the answer has a Monte Carlo standard error ``se``;
the band is the set of term values at which the estimated figure lies within
``z · se`` of the target (``z`` for ``level``), found by solving again for
``target ± z · se`` on the same draws. It is the inverse of the figure's confidence
interval, as the order-statistic band of :func:`simsav.msr_curve` is for a quantile.

The term's range comes from the contract's own field constraints
(:class:`~simsav.contracts.Contract`: ``msr`` in [0, 1], ``benchmark_discount`` in
[0, 1), ...), narrowed by ``lo``/``hi``; a target the figure does not reach within it
is reported with the figure's values at both ends.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import annotated_types
import numpy as np
from scipy import stats

from simsav.analysis.overrides import set_keys
from simsav.analysis.sweep import fixed_seed, point_summary, resettle
from simsav.contracts import Contract
from simsav.results.build import draws_from_dataset
from simsav.results.summary import summary_table
from simsav.rng import SeedLike
from simsav.scenario import Scenario
from simsav.simulation import simulate

__all__ = ["Solution", "SolveError", "solve", "term_range"]

_GRID = 9  # points of the coarse grid that brackets the first crossing
_MAX_STEPS = 200


class SolveError(ValueError):
    """The target cannot be reached, or the term cannot be solved for."""


@dataclass(frozen=True)
class Solution:
    """What :func:`solve` found.

    Attributes
    ----------
    design, term, figure : str
    target : float
    value : float
        The term's value: the smallest at which the figure reaches the target.
    band_low, band_high : float
        The Monte Carlo band of ``value`` at ``level`` (NaN for a figure without a
        standard error); an end at the edge of the term's range is open.
    level : float
    achieved, se : float
        The figure at ``value`` and its Monte Carlo standard error.
    range_low, range_high : float
        The range searched.
    increasing : bool
        Whether the figure rises with the term.
    monotone : bool
        Whether the figure was monotone over the coarse grid of the range.
    evaluations : int
        Settlements of the draws made.
    n_sims : int
    seed : int or str
    year : int
    """

    design: str
    term: str
    figure: str
    target: float
    value: float
    band_low: float
    band_high: float
    level: float
    achieved: float
    se: float
    range_low: float
    range_high: float
    increasing: bool
    monotone: bool
    evaluations: int
    n_sims: int
    seed: int | str
    year: int

    def to_dict(self) -> dict[str, Any]:
        """The solution as a plain dict (JSON-ready)."""
        return asdict(self)


def _bounds(annotation: Any, metadata: list[Any]) -> list[tuple[float, float, bool, bool]]:
    """Numeric ranges ``(lo, hi, lo_open, hi_open)`` a field's annotation accepts."""
    found = []
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        base, *meta = args
        inner = [m for x in meta for m in getattr(x, "metadata", [x])]
        return _bounds(base, [*metadata, *inner])
    if annotation is float:
        lo, hi, lo_open, hi_open = -math.inf, math.inf, False, False
        for m in metadata:
            if isinstance(m, annotated_types.Ge):
                lo, lo_open = float(m.ge), False
            elif isinstance(m, annotated_types.Gt):
                lo, lo_open = float(m.gt), True
            elif isinstance(m, annotated_types.Le):
                hi, hi_open = float(m.le), False
            elif isinstance(m, annotated_types.Lt):
                hi, hi_open = float(m.lt), True
        return [(lo, hi, lo_open, hi_open)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for a in args:
            found += _bounds(a, metadata)
    return found


def term_range(term: str) -> tuple[float, float]:
    """The closed range of numbers a contract term accepts (open ends moved inside).

    Raises
    ------
    SolveError
        For a term that is not a contract term or takes no single number.

    Examples
    --------
    >>> term_range("msr"), term_range("loss_rate")
    ((0.0, 1.0), (0.0, 1.0))
    >>> term_range("benchmark_discount")[1] < 1.0
    True
    """
    field = Contract.model_fields.get(term)
    if field is None:
        raise SolveError(f"term: {term!r} is not a contract term")
    ranges = _bounds(field.annotation, list(field.metadata))
    if not ranges:
        raise SolveError(f"term: {term!r} takes no number (it is "
                         f"{_describe(field.annotation)}); the solver moves a numeric term")
    lo, hi, lo_open, hi_open = ranges[0]
    if lo_open:
        lo = np.nextafter(lo, math.inf) if lo == 0 else lo + 1e-9 * max(abs(lo), 1.0)
    if hi_open:
        hi = hi - 1e-9 * max(abs(hi), 1.0)
    return float(lo), float(hi)


def _describe(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


class _Figure:
    """The figure of one design as a function of one term, on fixed draws (cached)."""

    def __init__(self, ds: Any, scenario: Scenario, design: str, term: str, figure: str,
                 year: int | None):
        self.ds, self.scenario, self.design, self.term = ds, scenario, design, term
        self.figure, self.year = figure, year
        self.draws = draws_from_dataset(ds)
        self.cache: dict[float, tuple[float, float]] = {}

    def __call__(self, x: float) -> tuple[float, float]:
        x = float(x)
        if x not in self.cache:
            key = f"designs[{self.design}].{self.term}"
            scn = set_keys(self.scenario, {key: x})
            one = scn.model_copy(update={"designs": [d for d in scn.designs
                                                     if d.name == self.design]})
            row = summary_table(point_summary(resettle(self.ds, one, self.draws)),
                                year=self.year)
            row = row.loc[self.design]
            if self.figure not in row.index:
                raise SolveError(f"figure: {self.figure!r} is not a summary figure; one of "
                                 + ", ".join(k for k in row.index if not k.startswith("se_")))
            se = float(row["se_" + self.figure]) if "se_" + self.figure in row.index else \
                math.nan
            self.cache[x] = (float(row[self.figure]), se)
        return self.cache[x]


def _first_crossing(f: Callable[[float], float], known: dict[float, Any], grid: np.ndarray,
                    target: float, increasing: bool, tol: float) -> float | None:
    """Smallest x with the figure at or past ``target``, or None if none in the grid.

    Bisection starts from the tightest bracket among the points already evaluated
    (``known``: the coarse grid and earlier bisections), so solving again for the band's
    ends costs a few settlements.
    """
    def reached(x: float) -> bool:
        v = f(x)
        return v >= target if increasing else v <= target

    points = sorted(set(map(float, grid)) | set(known))
    hits = [x for x in points if reached(x)]
    if not hits:
        return None
    hi = hits[0]
    if hi == points[0]:
        return hi
    lo = points[points.index(hi) - 1]
    for _ in range(_MAX_STEPS):
        if hi - lo <= tol:
            break
        mid = 0.5 * (lo + hi)
        if reached(mid):
            hi = mid
        else:
            lo = mid
    return hi


def solve(
    scenario: Scenario,
    *,
    term: str,
    figure: str,
    target: float,
    design: str | None = None,
    lo: float | None = None,
    hi: float | None = None,
    tol: float | None = None,
    level: float = 0.95,
    year: int | None = None,
    n_sims: int | None = None,
    seed: SeedLike = None,
    block_size: int | None = None,
    n_threads: int | None = None,
    draws: str = "per-beneficiary",
) -> Solution:
    """Solve for the value of a contract term at which a figure meets a target.

    Parameters
    ----------
    scenario : Scenario
    term : str
        A numeric contract term (:class:`~simsav.contracts.Contract` field).
    figure : str
        A column of :func:`simsav.summary_table`: ``p_clear_msr``, ``p_owe_loss``,
        ``expected_earned``, ``expected_losses``, ``aco_net_q5``, ...
    target : float
        The figure's target value.
    design : str, optional
        The design whose term moves (default: the only one; required with several).
    lo, hi : float, optional
        Narrow the term's range (default: all the contract allows).
    tol : float, optional
        Width at which bisection stops (default: 1e-5 of the range).
    level : float
        Confidence level of the Monte Carlo band.
    year : int, optional
        The year whose figure counts (default: the last).
    n_sims, seed, block_size, n_threads, draws :
        As for :func:`simsav.simulate` (drawn once).

    Returns
    -------
    Solution

    Raises
    ------
    SolveError
        If the target is not reached within the range (the message gives the figure at
        both ends), the figure does not move with the term, or the term is not numeric.

    Examples
    --------
    >>> import simsav as ss
    >>> scn = ss.load_scenario("scenarios/rural-aco-5k.toml")
    >>> s = ss.solve(scn, design="Track 1", term="msr", figure="p_clear_msr", target=0.05,
    ...              n_sims=2_000)
    >>> 0.02 < s.value < 0.06 and s.band_low <= s.value <= s.band_high
    True
    """
    names = [d.name for d in scenario.designs]
    if design is None:
        if len(names) > 1:
            raise SolveError(f"design: the scenario has {len(names)} designs; name one of "
                             f"{', '.join(map(repr, names))}")
        design = names[0]
    if design not in names:
        raise SolveError(f"design: no design {design!r}; one of {', '.join(map(repr, names))}")
    if not 0.0 < level < 1.0:
        raise SolveError(f"level: must be in (0, 1), got {level}")
    if not math.isfinite(float(target)):
        raise SolveError(f"target: must be a finite number, got {target}")
    r_lo, r_hi = term_range(term)
    a = r_lo if lo is None else max(float(lo), r_lo)
    b = r_hi if hi is None else min(float(hi), r_hi)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise SolveError(f"term: {term} has no finite range ({r_lo} to {r_hi}); give lo and hi")
    if not a < b:
        raise SolveError(f"range: {term} from {a} to {b} is empty (the term allows "
                         f"{r_lo} to {r_hi})")
    fixed = fixed_seed(scenario, seed)
    ds = simulate(scenario, n_sims=n_sims, seed=fixed, block_size=block_size,
                  n_threads=n_threads, draws=draws)
    fig = _Figure(ds, scenario, design, term, figure, year)
    grid = np.linspace(a, b, _GRID)
    values = np.array([fig(x)[0] for x in grid])
    if values[-1] == values[0]:
        raise SolveError(f"{figure} does not move with {term} between {a:g} and {b:g} "
                         f"(it is {values[0]:.6g} at both ends)")
    increasing = bool(values[-1] > values[0])
    steps = np.diff(values)
    monotone = bool(np.all(steps >= 0) if increasing else np.all(steps <= 0))
    step = (b - a) * 1e-5 if tol is None else float(tol)

    def solve_for(t: float) -> float | None:
        return _first_crossing(lambda x: fig(x)[0], fig.cache, grid, t, increasing, step)

    value = solve_for(float(target))
    if value is None or (value == a and values[0] != target):
        raise SolveError(
            f"{figure} = {target:g} cannot be reached with {term} in [{a:g}, {b:g}] for "
            f"design {design!r}: it goes from {values[0]:.6g} at {term} = {a:g} to "
            f"{values[-1]:.6g} at {term} = {b:g}; widen the range, change the scenario "
            "or pick another term")
    achieved, se = fig(value)
    band = (math.nan, math.nan)
    if math.isfinite(se):
        z = float(stats.norm.ppf(0.5 + level / 2))
        ends = [solve_for(float(target) - z * se), solve_for(float(target) + z * se)]
        ends = [b if e is None else e for e in ends]
        band = (min(ends), max(ends))
    return Solution(
        design=design, term=term, figure=figure, target=float(target), value=float(value),
        band_low=float(band[0]), band_high=float(band[1]), level=float(level),
        achieved=achieved, se=se, range_low=a, range_high=b, increasing=increasing,
        monotone=monotone, evaluations=len(fig.cache), n_sims=int(ds.sizes["sim"]),
        seed=fixed if isinstance(fixed, int) else str(fixed),
        year=int(ds["year"].values[-1] if year is None else year))
