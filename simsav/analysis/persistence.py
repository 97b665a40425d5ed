"""Persistence of beneficiaries' spending: statistics of a panel, and the calibration.

:func:`panel_statistics` measures year-to-year persistence in a cohort simulated with
:func:`simsav.draw.panel.simulate_panel_paths`, and :func:`desynpuf_panel_statistics` the
same statistics in the bundled DE-SynPUF panel. :func:`calibrate_persistence` fits the
:class:`~simsav.draw.panel.PersistenceSpec` (``exit_corr`` to CBO 2005's deaths among the
top 25%, ``rho`` to :data:`PERSISTENCE_TARGETS`); its result, rounded, is the default
:data:`simsav.draw.panel.MEDICARE_PERSISTENCE`. The model and the targets' trade-offs are
described in :mod:`simsav.draw.panel`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from simsav.draw.panel import PersistenceSpec, exit_corr_for, simulate_panel_paths
from simsav.io.desynpuf import desynpuf_table
from simsav.rng import SeedLike
from simsav.spending import SpendingModel, SpendingSpec, spending_model

__all__ = [
    "PERSISTENCE_CHECKS",
    "PERSISTENCE_TARGETS",
    "PanelStatistics",
    "PersistenceFit",
    "calibrate_persistence",
    "desynpuf_panel_statistics",
    "panel_statistics",
]


# --------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelStatistics:
    """Year-to-year persistence statistics of a cohort (model or data).

    Pairs of consecutive years ``(t, t + 1)`` are averaged. "Stayers" are the cohort's
    members present in both years; top/bottom groups are by rank among those present in
    that year (ties broken by order). ``nan`` where the panel is too short.

    Attributes
    ----------
    rank_corr : float
        Spearman correlation of spending between consecutive years, stayers.
    pearson_capped : float
        Pearson correlation of spending capped at each year's 99th percentile, stayers.
    top10_stay, top1_stay, bottom50_stay : float
        Share of the year's top 10% / top 1% / bottom 50% (stayers) in the same group
        the next year.
    top10_stay_incl_exits : float
        Share of the top 10% in the top 10% next year, leavers counted as not staying
        (Yoon et al. 2018).
    top10_stay_2y : float
        Share of the top 10% in the top 10% in **both** of the next two years, among
        three-year stayers (Figueroa et al. 2019).
    exit_rate : float
        Share of the year's members who leave (die) by the next year.
    top25_exit : float
        Exit rate among the year's top 25% (CBO 2005: 14%).
    top25_exit_4y : float
        Share of the year's top 25% who leave within four years, that year included
        (CBO 2005: 40%); needs exits over four years.
    n : int
        Cohort size (first year).
    n_years : int
        Years in the panel.
    """

    rank_corr: float
    pearson_capped: float
    top10_stay: float
    top10_stay_incl_exits: float
    top10_stay_2y: float
    top1_stay: float
    bottom50_stay: float
    exit_rate: float
    top25_exit: float
    top25_exit_4y: float
    n: int
    n_years: int

    def as_dict(self) -> dict[str, float]:
        """Return the statistics as a plain dict."""
        return asdict(self)


def _top_mask(x: NDArray[np.float64], pop: NDArray[np.bool_], q: float) -> NDArray[np.bool_]:
    """Members of ``pop`` among the ``round(q * |pop|)`` largest ``x`` (ties by order)."""
    idx = np.flatnonzero(pop)
    k = int(round(q * idx.size))
    order = np.argsort(x[idx], kind="stable")
    out = np.zeros(x.size, dtype=bool)
    out[idx[order[idx.size - k :]]] = True
    return out


def _bottom_mask(x: NDArray[np.float64], pop: NDArray[np.bool_], q: float) -> NDArray[np.bool_]:
    idx = np.flatnonzero(pop)
    k = int(round(q * idx.size))
    order = np.argsort(x[idx], kind="stable")
    out = np.zeros(x.size, dtype=bool)
    out[idx[order[:k]]] = True
    return out


def _ratio(num: NDArray[np.bool_], den: NDArray[np.bool_]) -> float:
    d = int(den.sum())
    return float(num.sum()) / d if d else math.nan


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _cohort_statistics(
    x: NDArray[np.float64],
    pop: NDArray[np.bool_],
    left: NDArray[np.bool_],
    exits_known: int,
) -> PanelStatistics:
    """Statistics of a cohort panel.

    ``x[j, t]`` spending; ``pop[j, t]`` whether member ``j`` is in the year-``t``
    population; ``left[j, t]`` whether ``j`` left (died) after year ``t``; ``left`` is
    known for years ``t < exits_known``.
    """
    n, n_years = x.shape
    tops = {q: [_top_mask(x[:, t], pop[:, t], q) for t in range(n_years)] for q in (0.1, 0.01)}
    top25 = [_top_mask(x[:, t], pop[:, t], 0.25) for t in range(n_years)]
    bottom = [_bottom_mask(x[:, t], pop[:, t], 0.5) for t in range(n_years)]
    acc: dict[str, list[float]] = {k: [] for k in PanelStatistics.__dataclass_fields__}
    for t in range(n_years - 1):
        st = pop[:, t] & pop[:, t + 1]
        a, b = x[st, t], x[st, t + 1]
        acc["rank_corr"].append(float(stats.spearmanr(a, b).statistic))
        cap0 = np.quantile(x[pop[:, t], t], 0.99)
        cap1 = np.quantile(x[pop[:, t + 1], t + 1], 0.99)
        acc["pearson_capped"].append(
            float(np.corrcoef(np.minimum(a, cap0), np.minimum(b, cap1))[0, 1])
        )
        t10, t10n = tops[0.1][t], tops[0.1][t + 1]
        acc["top10_stay"].append(_ratio(t10 & st & t10n, t10 & st))
        acc["top1_stay"].append(_ratio(tops[0.01][t] & st & tops[0.01][t + 1], tops[0.01][t] & st))
        acc["bottom50_stay"].append(_ratio(bottom[t] & st & bottom[t + 1], bottom[t] & st))
        if t < exits_known:
            lt = left[:, t] & pop[:, t]
            acc["top10_stay_incl_exits"].append(_ratio(t10 & st & t10n, t10 & (st | lt)))
    for t in range(min(exits_known, n_years)):
        lt = left[:, t] & pop[:, t]
        acc["exit_rate"].append(_ratio(lt, pop[:, t]))
        acc["top25_exit"].append(_ratio(top25[t] & lt, top25[t]))
    for t in range(n_years - 2):
        st3 = pop[:, t] & pop[:, t + 1] & pop[:, t + 2]
        t10 = tops[0.1]
        acc["top10_stay_2y"].append(_ratio(t10[t] & t10[t + 1] & t10[t + 2] & st3, t10[t] & st3))
    for t in range(exits_known - 3):
        gone4 = np.any(left[:, t : t + 4], axis=1)
        acc["top25_exit_4y"].append(_ratio(top25[t] & gone4, top25[t]))
    values = {k: _mean(v) for k, v in acc.items() if k not in ("n", "n_years")}
    return PanelStatistics(**values, n=int(pop[:, 0].sum()), n_years=n_years)


def panel_statistics(
    model: SpendingSpec | SpendingModel | Mapping[str, Any],
    persistence: PersistenceSpec | Mapping[str, Any],
    n: int = 200_000,
    n_years: int = 4,
    seed: SeedLike = 0,
) -> PanelStatistics:
    """Simulated persistence statistics of a cohort of ``n`` beneficiaries.

    Follows the first-year cohort (replacements are not part of it), as the data do.
    Monte Carlo standard errors are about ``sqrt(p (1 - p) / (q n))`` for a top-``q``
    share ``p`` (0.002 for the top 10% at ``n = 200_000``, averaged over year pairs).

    Parameters
    ----------
    model : SpendingSpec, SpendingModel or mapping
        Spending model (matters for ties at zero and for ``pearson_capped``).
    persistence : PersistenceSpec or mapping
        The persistence to simulate.
    n : int, default 200_000
        Cohort size.
    n_years : int, default 4
        Years simulated (``top10_stay_2y`` needs 3, ``top25_exit_4y`` needs 4).
    seed : int, SeedSequence, Generator or None, default 0
        See :func:`~simsav.draw.panel.simulate_panel_paths`.

    Returns
    -------
    PanelStatistics

    Examples
    --------
    >>> s = panel_statistics(SpendingSpec(mean=10_000), PersistenceSpec(), n=20_000)
    >>> abs(s.rank_corr) < 0.03, abs(s.top10_stay - 0.1) < 0.03
    (True, True)
    """
    paths = simulate_panel_paths(model, n, n_years, persistence=persistence, seed=seed)
    left = paths.leaves
    pop = np.ones_like(left)
    pop[:, 1:] = ~np.cumsum(left[:, :-1], axis=1, dtype=np.int64).astype(bool)
    return _cohort_statistics(paths.spending, pop, left & pop, n_years)


def desynpuf_panel_statistics(
    years: Sequence[int] = (2008, 2009),
    subset: Literal["ffs-full-year", "all"] = "ffs-full-year",
) -> PanelStatistics:
    """Persistence statistics of the bundled DE-SynPUF panel (see :mod:`simsav.spending`).

    The 2008 cohort is followed; a beneficiary missing from a later year's file died.
    With ``subset="ffs-full-year"``, a year's population is those with 12 months of
    Parts A and B and no HMO months that year.

    Parameters
    ----------
    years : sequence of int, default (2008, 2009)
        Consecutive years among 2008, 2009, 2010. The 2010 file looks incomplete (mean
        spending falls 42% from 2009), so 2008-2009 is the calibration pair.
    subset : {"ffs-full-year", "all"}
        Which beneficiaries.

    Examples
    --------
    >>> s = desynpuf_panel_statistics()
    >>> round(s.rank_corr, 3), round(s.top10_stay, 3), round(s.pearson_capped, 3)
    (0.726, 0.314, 0.326)
    """
    ys = [int(y) for y in years]
    if len(ys) < 2 or any(y not in (2008, 2009, 2010) for y in ys) or np.any(np.diff(ys) != 1):
        raise ValueError(f"years must be consecutive years among 2008-2010, got {years!r}")
    if subset not in ("ffs-full-year", "all"):
        raise ValueError(f"subset must be 'ffs-full-year' or 'all', got {subset!r}")
    t = desynpuf_table()
    raw = np.stack([t[f"reimb_{y}"] for y in ys], axis=1)
    present = np.isfinite(raw)
    pop = present.copy()
    if subset == "ffs-full-year":
        pop &= np.stack([t[f"ffs_{y}"] == 1 for y in ys], axis=1)
    x = np.where(present, np.maximum(np.nan_to_num(raw), 0.0), 0.0)
    left = np.zeros_like(pop)
    left[:, :-1] = present[:, :-1] & ~present[:, 1:]
    return _cohort_statistics(x, pop, left, len(ys) - 1)


# --------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------

#: Calibration targets: statistic of :class:`PanelStatistics` -> (value, source).
#: ``rank_corr`` is computed from the bundled DE-SynPUF panel (2008 -> 2009, full-year
#: FFS in both years). The others are published figures, each named with its source.
PERSISTENCE_TARGETS: dict[str, tuple[float, str]] = {
    "rank_corr": (0.726, "DE-SynPUF 2008->2009, full-year FFS, Spearman among survivors"),
    "top10_stay_incl_exits": (0.32, "Yoon et al. 2018: top 10% still top 10% a year on"),
    "top10_stay_2y": (0.28, "Figueroa et al. 2019: top 10% in both of the next two years"),
    "top1_stay": (0.19, "MEPS #309/#354: 18.2% / 20.0% of the top 1% stay (all ages)"),
    "bottom50_stay": (0.75, "MEPS #309: about 3 in 4 of the bottom half stay"),
}

#: Further statistics :func:`calibrate_persistence` reports but does not fit by default.
PERSISTENCE_CHECKS: dict[str, tuple[float, str]] = {
    "top10_stay": (0.314, "DE-SynPUF 2008->2009, full-year FFS (the issue's 'about 30%')"),
    "pearson_capped": (0.326, "DE-SynPUF 2008->2009, spending capped at the 99th pct"),
    "top25_exit": (0.14, "CBO 2005: 14% of the top 25% die that year"),
    "top25_exit_4y": (0.40, "CBO 2005: 40% of the top 25% die within four years"),
    "exit_rate": (0.05, "issue: about 5% a year for Medicare"),
}


@dataclass(frozen=True)
class PersistenceFit:
    """Result of :func:`calibrate_persistence`.

    Attributes
    ----------
    spec : PersistenceSpec
        The fitted persistence (``rho`` and ``exit_corr`` unrounded).
    statistics : PanelStatistics
        Statistics the fit achieves (simulated).
    targets : dict of str to float
        The targets fitted.
    rho_by_target : dict of str to float
        The ``rho`` at which each target (fitted or check) would be hit alone, with the
        fitted exits (``nan`` if none in the scanned range).
    rho_grid : ndarray
        The ``rho`` values scanned.
    grid_statistics : dict of str to ndarray
        Each statistic along ``rho_grid``.
    """

    spec: PersistenceSpec
    statistics: PanelStatistics
    targets: dict[str, float]
    rho_by_target: dict[str, float]
    rho_grid: NDArray[np.float64]
    grid_statistics: dict[str, NDArray[np.float64]]


def calibrate_persistence(
    targets: Mapping[str, float] | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    exit_rate: float = 0.05,
    top25_exit: float | None = 0.14,
    model: SpendingSpec | SpendingModel | Mapping[str, Any] | None = None,
    n: int = 200_000,
    n_years: int = 4,
    seed: SeedLike = 2026,
    rho_grid: Sequence[float] | None = None,
) -> PersistenceFit:
    """Fit ``exit_corr`` to the top-25% exit rate and ``rho`` to persistence targets.

    ``exit_corr`` is solved exactly (:func:`~simsav.draw.panel.exit_corr_for`). ``rho`` minimizes
    ``sum_k w_k (stat_k(rho) - target_k)**2`` over statistics simulated with common
    random numbers on ``rho_grid`` (linear interpolation between grid points, a 0.001
    search). Each statistic is increasing in ``rho``, so the ``rho`` hitting each target
    alone is read off the same curves (:attr:`PersistenceFit.rho_by_target`).

    Parameters
    ----------
    targets : mapping of str to float, optional
        Statistic name (a :class:`PanelStatistics` field) -> target. Default: the values
        of :data:`PERSISTENCE_TARGETS`.
    weights : mapping of str to float, optional
        Weight per target (default 1 each: all targets are shares or correlations).
    exit_rate : float, default 0.05
        Mean annual exit rate.
    top25_exit : float or None, default 0.14
        Exit rate among the top 25%; ``None`` for exits independent of cost.
    model : SpendingSpec, SpendingModel or mapping, optional
        Marginal used to simulate the statistics. Default: the DE-SynPUF 2008 full-year
        FFS sample (``empirical``), so that ties at zero match the data's.
    n, n_years, seed
        Cohort size, years and seed of the simulated statistics.
    rho_grid : sequence of float, optional
        Default ``0.30, 0.32, ..., 0.90``.

    Returns
    -------
    PersistenceFit
    """
    tg = {k: v for k, (v, _) in PERSISTENCE_TARGETS.items()} if targets is None else dict(targets)
    fields = set(PanelStatistics.__dataclass_fields__) - {"n", "n_years"}
    bad = set(tg) - fields
    if bad or not tg:
        raise ValueError(f"targets must name statistics among {sorted(fields)}, got {sorted(bad)}")
    w = {k: 1.0 for k in tg} if weights is None else {k: float(weights.get(k, 1.0)) for k in tg}
    exit_corr = 0.0 if top25_exit is None else exit_corr_for(exit_rate, top25_exit)
    mdl = (
        spending_model({"model": "empirical", "mean": 1.0}) if model is None else model
    )
    grid = np.round(np.arange(0.30, 0.9001, 0.02), 10) if rho_grid is None else np.asarray(
        rho_grid, dtype=np.float64
    )
    if grid.size < 2 or np.any(np.diff(grid) <= 0) or grid[0] < 0 or grid[-1] >= 1:
        raise ValueError("rho_grid must increase within [0, 1) and have >= 2 points")

    def at(rho: float) -> PanelStatistics:
        spec = PersistenceSpec(rho=float(rho), exit_rate=exit_rate, exit_corr=exit_corr)
        return panel_statistics(mdl, spec, n=n, n_years=n_years, seed=seed)

    rows = [at(r).as_dict() for r in grid]
    curves = {k: np.array([row[k] for row in rows], dtype=np.float64) for k in fields}
    fine = np.arange(grid[0], grid[-1] + 1e-12, 0.001)
    loss = np.zeros_like(fine)
    for k, v in tg.items():
        loss += w[k] * (np.interp(fine, grid, curves[k]) - v) ** 2
    rho = float(fine[int(np.argmin(loss))])
    spec = PersistenceSpec(rho=rho, exit_rate=exit_rate, exit_corr=exit_corr)
    by_target: dict[str, float] = {}
    for k, v in {**{k: v for k, (v, _) in PERSISTENCE_CHECKS.items()}, **tg}.items():
        if k in ("exit_rate", "top25_exit"):  # set by the exits, not by rho
            continue
        curve = curves[k]
        if np.all(np.isfinite(curve)) and curve.min() <= v <= curve.max():
            order = np.argsort(curve)
            by_target[k] = float(np.interp(v, curve[order], grid[order]))
        else:
            by_target[k] = math.nan
    return PersistenceFit(spec, at(rho), tg, by_target, grid, curves)
