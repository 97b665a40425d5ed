"""Multi-year agreements: persistent beneficiaries, exits and replacements.

A multi-year agreement follows the same attributed population for ``n_years`` years.
Spending is persistent (the same person tends to stay high- or low-cost), some
beneficiaries die or leave each year, and each leaver is replaced by a new beneficiary
so that the group's count stays fixed. :func:`simulate_panel_sums` draws, per sim, the
sum of capped spending of each group in each year, streaming (memory
O(sims x years x groups), whatever the population).

The model
---------
Each beneficiary *slot* carries a latent standard-normal cost score ``z``; spending in a
year is ``F^-1(Phi(z))`` for the group's spending model ``F`` (a Gaussian copula), capped.
The score is ``N(0, 1)`` in every year, so **each year's marginal is exactly the model's**
(to 1e-8 relative where a transform is tabulated: the quantile of a gamma or a mixture,
the score of the non-zero part under a zero mass; see :mod:`simsav.draw.scores`).
Between years (:class:`PersistenceSpec`):

* **exit**: the beneficiary leaves when ``exit_corr * z + sqrt(1 - exit_corr**2) * eta``
  exceeds ``Phi^-1(1 - exit_rate)`` (``eta ~ N(0, 1)``): a Gaussian threshold model, so
  the mean exit rate is ``exit_rate`` and ``exit_corr > 0`` concentrates exits (deaths)
  among high-cost beneficiaries (:meth:`PersistenceSpec.exit_probability`);
* **replacement**: the leaver's slot gets a new beneficiary with a fresh, independent
  score;
* **persistence**: a stayer's score moves as a Gaussian AR(1),
  ``z' = rho * m(z) + sqrt(1 - rho**2) * eps``. ``m`` maps the survivors' score
  distribution (tilted down when the sick die) back to ``N(0, 1)``: survivors move up
  into the ranks the decedents left, as an ageing cohort does, and the population's
  spending distribution stays the model's every year. ``m`` is the identity when exits do
  not depend on cost.

``rho = 0`` gives independent years (exits then change nothing). The process is
stationary from year 1: year 1's population already has the steady-state mix of
long-stayers and recent entrants.

Calibration (:func:`calibrate_persistence`, :data:`PERSISTENCE_TARGETS`)
------------------------------------------------------------------------
``exit_corr`` solves the CBO 2005 death rate among the top 25% (14% a year) at a 5%
base exit rate, exactly (the latent score is ``N(0, 1)``, so it is a bivariate-normal
probability). ``rho`` is the least-squares compromise over the DE-SynPUF rank
correlation and the persistence targets of ``literature.md`` section 8, case 10:
``rho = 0.68`` (:meth:`PersistenceSpec.medicare` tabulates what each target gets).
A one-parameter Gaussian copula cannot hit all of them. The bulk of the distribution
(rank correlation 0.73, bottom half staying 75%, top decile in both of the next two
years 28%) says ``rho ~ 0.73-0.75``; the top of the distribution over one year (top 1%
staying 19%, top decile 32% with deaths, and the DE-SynPUF top-decile persistence 0.31
and correlation of capped dollars 0.33) says ``rho ~ 0.44-0.59``. Real spending has
weaker upper-tail dependence than a Gaussian copula with the bulk's correlation: top
spenders are often there for a transient acute episode, while the chronically ill keep
their rank in the bulk. A two-year-both rate as high as Figueroa's next to a one-year
rate as low as Yoon's also suggests a permanent component that an AR(1) lacks. For
pricing, the correlation of capped dollars is what matters: the default gives 0.48
year to year per slot (exits included) and inflates the variance of a 3-year mean by
1.8x over independent years (1.5x at ``rho = 0.5``, 1.9x at 0.75); DE-SynPUF's dollar
correlation suggests the lower end. Run the sensitivity with ``rho`` 0.5 and 0.75.

DE-SynPUF's deaths cannot calibrate exits: it has 1.4% deaths a year, and the top 25%
die *less* often (0.5%) than the rest, an artefact of the synthesis.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field
from scipy import integrate, optimize, special, stats

from simsav import spending as _spending
from simsav.draw.scores import GRID_INV_STEP, GRID_LO, pack_scored, score_form
from simsav.draw.scores import grid as _grid
from simsav.rng import DEFAULT_BLOCK_SIZE, SeedLike, block_generator, map_blocks
from simsav.rng import root_seed_sequence as _root
from simsav.spending import SpendingModel, SpendingSpec

__all__ = [
    "MEDICARE_PERSISTENCE",
    "PANEL_STREAM",
    "PERSISTENCE_CHECKS",
    "PERSISTENCE_TARGETS",
    "PanelPaths",
    "PanelStatistics",
    "PersistenceFit",
    "PersistenceSpec",
    "calibrate_persistence",
    "desynpuf_panel_statistics",
    "exit_corr_for",
    "panel_statistics",
    "simulate_panel_paths",
    "simulate_panel_sums",
    "survivor_map",
]

#: Sub-stream of :mod:`simsav.rng` for the panel's spending draws: block ``k`` uses
#: ``spawn_key=(*root_key, k, 5)`` (the one-year spending kernel uses ``(k,)``; 1-3 are
#: taken by :mod:`simsav.simulate`).
PANEL_STREAM: tuple[int, ...] = (5,)
_PATHS_STREAM: tuple[int, ...] = (5, 1)

#: The calibrated default (:meth:`PersistenceSpec.medicare`), from
#: :func:`calibrate_persistence` with its defaults (``rho`` rounded to 2 decimals,
#: ``exit_corr`` to 3).
MEDICARE_PERSISTENCE: dict[str, float] = {"rho": 0.68, "exit_rate": 0.05, "exit_corr": 0.547}


# --------------------------------------------------------------------------------------
# Specification
# --------------------------------------------------------------------------------------


class PersistenceSpec(BaseModel):
    """How beneficiaries' spending persists, and how they leave, from year to year.

    Attributes
    ----------
    rho : float
        Year-to-year correlation of a staying beneficiary's latent normal cost score, in
        [0, 1). 0: independent years.
    exit_rate : float
        Probability that a slot's beneficiary dies or leaves at the end of a year (and is
        replaced by a new one), in [0, 1).
    exit_corr : float
        Correlation in (-1, 1) between the latent cost score and the latent exit
        propensity (Gaussian threshold model): ``> 0`` concentrates exits among high-cost
        beneficiaries (deaths), ``< 0`` among low-cost ones; 0: exits at random.

    Examples
    --------
    >>> p = PersistenceSpec.medicare()
    >>> p.rho, p.exit_rate
    (0.68, 0.05)
    >>> round(p.exit_share_among_top(0.25), 3)  # CBO 2005: 14% of the top 25% die
    0.14
    >>> PersistenceSpec().independent_years
    True
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    rho: float = Field(default=0.0, ge=0.0, lt=1.0)
    exit_rate: float = Field(default=0.0, ge=0.0, lt=1.0)
    exit_corr: float = Field(default=0.0, gt=-1.0, lt=1.0)

    @classmethod
    def medicare(cls) -> PersistenceSpec:
        """Return the default calibrated to Medicare FFS (:data:`MEDICARE_PERSISTENCE`).

        ``rho = 0.68``, ``exit_rate = 0.05``, ``exit_corr = 0.547``. ``exit_corr`` makes
        14% of the top 25% exit in a year (CBO 2005), exactly; ``rho`` is the
        least-squares compromise of :func:`calibrate_persistence` over
        :data:`PERSISTENCE_TARGETS`. Statistics achieved (:func:`panel_statistics`,
        DE-SynPUF marginal, 200,000 beneficiaries, 4 years; MC error about 0.002), and
        the ``rho`` that would hit each target alone:

        =====================  ========  ======  =================================  =====
        statistic              achieved  target  source                             rho
        =====================  ========  ======  =================================  =====
        rank_corr              0.652     0.726   DE-SynPUF 2008-09 full-year FFS    0.75
        top10_stay_2y          0.228     0.28    Figueroa 2019 (Medicare)           0.73
        bottom50_stay          0.728     0.75    MEPS                               0.73
        top10_stay_incl_exits  0.379     0.32    Yoon 2018 (VA + Medicare)          0.59
        top1_stay              0.294     0.19    MEPS (all ages)                    0.57
        top25_exit             0.141     0.14    CBO 2005                           --
        exit_rate              0.050     0.05    issue                              --
        top10_stay             0.482     0.314   DE-SynPUF (not fitted)             0.44
        pearson_capped         0.534     0.326   DE-SynPUF (not fitted)             0.48
        top25_exit_4y          0.357     0.40    CBO 2005 (not fitted)              0.82
        =====================  ========  ======  =================================  =====

        No single ``rho`` hits them all (see the module docstring): the bulk says
        0.73-0.75, the top of the distribution 0.44-0.59. For a sensitivity analysis
        use ``rho`` 0.5 and 0.75.
        """
        return cls(**MEDICARE_PERSISTENCE)

    @classmethod
    def independent(cls) -> PersistenceSpec:
        """Return independent years (``rho = 0``, no exits)."""
        return cls()

    @property
    def independent_years(self) -> bool:
        """Whether spending is independent across years (``rho == 0``)."""
        return self.rho == 0.0

    def exit_probability(self, score: Any) -> Any:
        """Return ``P(exit | latent score)``: ``Phi((exit_corr * z - c) / sqrt(1 - r**2))``.

        Parameters
        ----------
        score : float or array_like
            Latent standard-normal cost score(s) ``z`` (``Phi(z)`` is the cost percentile).
        """
        z = np.asarray(score, dtype=np.float64)
        if self.exit_rate == 0.0:
            out = np.zeros_like(z)
        else:
            c = -special.ndtri(self.exit_rate)
            r = self.exit_corr
            out = special.ndtr((r * z - c) / math.sqrt(1.0 - r * r))
        return float(out) if out.ndim == 0 else out

    def exit_share_among_top(self, q: float) -> float:
        """Return the exit rate among the top ``q`` fraction of spenders (exact).

        ``P(exit | Phi(z) > 1 - q)``, a bivariate-normal probability.
        """
        if not 0.0 < q <= 1.0:
            raise ValueError(f"q must be in (0, 1], got {q}")
        if self.exit_rate == 0.0:
            return 0.0
        return _top_exit_share(self.exit_rate, self.exit_corr, q)


def _as_persistence(p: PersistenceSpec | Mapping[str, Any]) -> PersistenceSpec:
    if isinstance(p, PersistenceSpec):
        return p
    if isinstance(p, Mapping):
        return PersistenceSpec.model_validate(dict(p))
    raise ValueError(
        f"persistence must be a PersistenceSpec or a mapping, got {type(p).__name__}"
    )


def _top_exit_share(exit_rate: float, exit_corr: float, q: float) -> float:
    """``P(D > c | Z > z_q)`` with ``corr(Z, D) = exit_corr`` (one 1-D integral)."""
    c = -float(special.ndtri(exit_rate))
    zq = -float(special.ndtri(q))
    r = exit_corr
    sr = math.sqrt(1.0 - r * r)

    def f(u: float) -> float:
        return float(stats.norm.pdf(u) * special.ndtr((r * u - c) / sr))

    val = integrate.quad(f, zq, math.inf, epsabs=0.0, epsrel=1e-12, limit=200)[0]
    return val / q


def exit_corr_for(exit_rate: float, top_share: float, *, q: float = 0.25) -> float:
    """Return the ``exit_corr`` at which the top ``q`` of spenders exit at ``top_share``.

    Parameters
    ----------
    exit_rate : float
        Mean exit rate, in (0, 1).
    top_share : float
        Exit rate wanted among the top ``q`` of spenders.
    q : float, default 0.25
        Top fraction (CBO 2005 reports deaths among the top 25%).

    Examples
    --------
    >>> round(exit_corr_for(0.05, 0.14), 3)
    0.547
    """
    if not 0.0 < exit_rate < 1.0:
        raise ValueError(f"exit_rate must be in (0, 1), got {exit_rate}")
    lo, hi = -0.999, 0.999
    g_lo = _top_exit_share(exit_rate, lo, q) - top_share
    g_hi = _top_exit_share(exit_rate, hi, q) - top_share
    if not g_lo < 0.0 < g_hi:
        raise ValueError(
            f"top_share={top_share} is out of reach at exit_rate={exit_rate}, q={q}: "
            f"it must lie in ({g_lo + top_share:.4g}, {g_hi + top_share:.4g})"
        )
    return float(
        optimize.brentq(
            lambda r: _top_exit_share(exit_rate, r, q) - top_share, lo, hi, xtol=1e-12
        )
    )


# --------------------------------------------------------------------------------------
# Tables for the kernels
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _survivor_map_cached(exit_rate: float, exit_corr: float) -> NDArray[np.float64]:
    z = _grid()
    h = 1.0 / GRID_INV_STEP
    c = -float(special.ndtri(exit_rate))
    r = exit_corr
    sr = math.sqrt(1.0 - r * r)

    def g(u: Any) -> Any:  # density of (score = u, stays)
        return stats.norm.pdf(u) * special.ndtr((c - r * u) / sr)

    x, wts = np.polynomial.legendre.leggauss(16)
    pts = (z[:-1] + 0.5 * h)[:, None] + (0.5 * h) * x[None, :]
    cells = (g(pts) * wts).sum(axis=1) * (0.5 * h)
    kw = {"epsabs": 0.0, "epsrel": 1e-12, "limit": 200}
    lo_tail = integrate.quad(lambda u: float(g(u)), -math.inf, z[0], **kw)[0]
    hi_tail = integrate.quad(lambda u: float(g(u)), z[-1], math.inf, **kw)[0]
    below = lo_tail + np.concatenate([[0.0], np.cumsum(cells)])
    above = hi_tail + np.concatenate([np.cumsum(cells[::-1])[::-1], [0.0]])
    total = below + above  # = 1 - exit_rate at every point, up to rounding
    s_lo = below / total
    s_hi = above / total
    with np.errstate(divide="ignore"):
        m = np.where(s_lo < 0.5, special.ndtri(s_lo), -special.ndtri(s_hi))
    ok = np.isfinite(m)
    if not ok.all():  # only for |exit_corr| near 1: a tail probability underflowed
        idx = np.flatnonzero(ok)
        m = np.interp(z, z[idx], m[idx])
        first, last = idx[0], idx[-1]
        m[:first] = m[first] + (z[:first] - z[first])
        m[last + 1 :] = m[last] + (z[last + 1 :] - z[last])
    m.setflags(write=False)
    return m


def survivor_map(persistence: PersistenceSpec) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the grid and the survivor map ``m`` the kernel interpolates.

    ``m(z) = Phi^-1(P(Z <= z | stays))``: the monotone map that sends the survivors'
    latent scores back to ``N(0, 1)``. The identity when ``exit_corr == 0`` or there are
    no exits.

    Returns
    -------
    z, m : ndarray of float64
        ``z`` on [-9, 9] in steps of 1/128; ``m(z)`` there.

    Examples
    --------
    >>> z, m = survivor_map(PersistenceSpec.medicare())
    >>> bool(np.all(np.diff(m) > 0)), round(float(np.interp(0.0, z, m)), 3)
    (True, 0.053)
    """
    p = _as_persistence(persistence)
    z = _grid()
    if p.exit_rate == 0.0 or p.exit_corr == 0.0:
        return z, z.copy()
    return z, _survivor_map_cached(float(p.exit_rate), float(p.exit_corr)).copy()


def _latent_args(
    p: PersistenceSpec, *, sums: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    """``(latent, m_tab, exit_on)`` for the kernels (see ``_panel_kernels._step_chunk``)."""
    exit_on = p.exit_rate > 0.0 and (p.rho > 0.0 or not sums)
    transport = exit_on and p.rho > 0.0 and p.exit_corr != 0.0
    c = -float(special.ndtri(p.exit_rate)) if p.exit_rate > 0.0 else math.inf
    # fresh writable arrays: numba compiles read-only arrays as another signature
    if transport:
        m_tab = np.array(_survivor_map_cached(float(p.exit_rate), float(p.exit_corr)))
    else:
        m_tab = _grid()
    latent = np.array(
        [
            p.rho,
            math.sqrt(1.0 - p.rho * p.rho),
            p.exit_corr,
            math.sqrt(1.0 - p.exit_corr * p.exit_corr),
            c,
            1.0 if transport else 0.0,
            GRID_LO,
            GRID_INV_STEP,
        ],
        dtype=np.float64,
    )
    return latent, m_tab, exit_on


def _check_int(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------


def simulate_panel_sums(
    groups: Sequence[tuple[Any, int]],
    n_sims: int,
    n_years: int,
    *,
    persistence: PersistenceSpec | Mapping[str, Any],
    seed: SeedLike,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    first_block: int = 0,
    on_block: Callable[[int], None] | None = None,
) -> NDArray[np.float64]:
    """Simulate, per sim and year, the sum of capped spending of each group.

    Each group's ``count`` beneficiary slots are followed for ``n_years`` years with
    persistent latent cost scores, exits and replacements (see the module docstring);
    each year's spending is drawn from the group's model and capped at its
    ``truncate_at``. Memory is O(n_sims x n_years x n_groups): per thread, only a fixed
    chunk of slots' scores is held, one sim at a time.

    Parameters
    ----------
    groups : sequence of (model, count)
        As in :func:`simsav.draw.groups.simulate_group_sums`: ``model`` a
        :class:`~simsav.spending.SpendingSpec`, a :class:`~simsav.spending.SpendingModel`
        or a :class:`~simsav.spending.KernelArgs` triple; ``count`` slots, in [0, 2**40].
        All groups share ``persistence``.
    n_sims : int
        Number of simulations, ``>= 1``.
    n_years : int
        Years of the agreement (or benchmark plus performance years), ``>= 1``.
    persistence : PersistenceSpec or mapping
        Latent persistence and exits; :meth:`PersistenceSpec.independent` gives
        independent years.
    seed : int, SeedSequence, Generator or None
        See :mod:`simsav.rng`. Block ``k`` uses sub-stream :data:`PANEL_STREAM`
        (``spawn_key=(k, 5)``), so the draws differ from the one-year kernel's (same
        distribution with ``n_years=1``).
    block_size : int, default 256
        Sims per block. Results depend on ``(seed, block_size)`` only: not on
        ``n_threads``, and a larger ``n_sims`` only appends sims.
    n_threads : int, optional
        Worker threads (default :func:`numba.get_num_threads`).
    first_block, on_block
        Passed to :func:`simsav.rng.map_blocks`: the rows are the sims from block
        ``first_block`` on, drawn exactly as in a run that starts at block 0 (dask tasks);
        ``on_block`` is called with each finished block's number of sims.

    Returns
    -------
    ndarray of float64, shape (n_sims, n_years, n_groups)
        USD per (sim, year, group); divide by the count for per-capita spending.

    Examples
    --------
    >>> spec = SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99)
    >>> sums = simulate_panel_sums([(spec, 1_000)], 200, 3,
    ...                            persistence=PersistenceSpec.medicare(), seed=1)
    >>> sums.shape
    (200, 3, 1)
    >>> per_capita = sums[:, :, 0] / 1_000
    >>> bool(abs(per_capita.mean() / spec.to_model().mean(truncated=True) - 1) < 0.03)
    True
    """
    n_sims = _check_int("n_sims", n_sims, 1)
    n_years = _check_int("n_years", n_years, 1)
    p = _as_persistence(persistence)
    counts, kinds, offsets, params, caps = pack_scored(groups)
    latent, m_tab, exit_on = _latent_args(p, sums=True)

    from simsav.kernels import panel as _panel_kernels  # numba is imported only when drawing

    out = np.empty((n_sims, n_years, counts.size), dtype=np.float64)

    def run(rng: np.random.Generator, start: int, stop: int) -> None:
        _panel_kernels.panel_sums_block(
            rng, counts, kinds, offsets, params, caps, latent, m_tab, exit_on, out[start:stop]
        )

    map_blocks(
        run,
        n_sims,
        seed=seed,
        block_size=block_size,
        n_threads=n_threads,
        stream=PANEL_STREAM,
        first_block=first_block,
        on_block=on_block,
    )
    return out


class PanelPaths(NamedTuple):
    """Per-slot paths from :func:`simulate_panel_paths`.

    Attributes
    ----------
    spending : ndarray of float64, shape (n, n_years)
        Uncapped spending of slot ``j``'s beneficiary in year ``t`` (USD).
    leaves : ndarray of bool, shape (n, n_years)
        Whether that beneficiary leaves at the end of year ``t`` (slot ``j`` then holds a
        new beneficiary in year ``t + 1``).
    """

    spending: NDArray[np.float64]
    leaves: NDArray[np.bool_]


def _as_model(model: SpendingSpec | SpendingModel | Mapping[str, Any]) -> SpendingModel:
    if isinstance(model, SpendingModel):
        return model
    return _spending.spending_model(model)  # type: ignore[arg-type]


def simulate_panel_paths(
    model: SpendingSpec | SpendingModel | Mapping[str, Any],
    n: int,
    n_years: int,
    *,
    persistence: PersistenceSpec | Mapping[str, Any],
    seed: SeedLike,
) -> PanelPaths:
    """Simulate per-slot spending paths of one population (diagnostics).

    The same process as :func:`simulate_panel_sums` for one group of ``n`` slots, but
    every beneficiary-year is returned (O(n x n_years) memory) and exits are drawn after
    every year, the last included. Uses sub-stream ``(0, 5, 1)`` of ``seed``.

    Examples
    --------
    >>> paths = simulate_panel_paths(SpendingSpec(mean=10_000), 1_000, 3,
    ...                              persistence=PersistenceSpec.medicare(), seed=0)
    >>> paths.spending.shape, paths.leaves.dtype.name
    ((1000, 3), 'bool')
    """
    n = _check_int("n", n, 1)
    n_years = _check_int("n_years", n_years, 1)
    p = _as_persistence(persistence)
    kind, params = score_form(_as_model(model))
    latent, m_tab, exit_on = _latent_args(p, sums=False)

    from simsav.kernels import panel as _panel_kernels

    x = np.empty((n, n_years), dtype=np.float64)
    gone = np.empty((n, n_years), dtype=np.bool_)
    rng = block_generator(_root(seed), 0, _PATHS_STREAM)
    _panel_kernels.panel_paths(rng, kind, params, latent, m_tab, exit_on, x, gone)
    return PanelPaths(x, gone)


# --------------------------------------------------------------------------------------
# Persistence statistics
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
        See :func:`simulate_panel_paths`.

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
    t = _spending._desynpuf_table()
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
#: FFS in both years). The others are literature.md section 8, case 10 (and section 7).
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

    ``exit_corr`` is solved exactly (:func:`exit_corr_for`). ``rho`` minimizes
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
        _spending.spending_model({"model": "empirical", "mean": 1.0}) if model is None else model
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
