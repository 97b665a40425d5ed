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

Calibration (:mod:`simsav.analysis.persistence`)
------------------------------------------------
``exit_corr`` solves the CBO 2005 death rate among the top 25% (14% a year) at a 5%
base exit rate, exactly (the latent score is ``N(0, 1)``, so it is a bivariate-normal
probability). ``rho`` is the least-squares compromise over the DE-SynPUF rank
correlation and the published persistence targets (Yoon et al. 2018, Figueroa et al.
2019, MEPS statistical briefs #309/#354, CBO 2005; listed in
:data:`simsav.analysis.persistence.PERSISTENCE_TARGETS`):
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
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from pydantic import ConfigDict, Field
from scipy import integrate, optimize, special, stats

from simsav import spending as _spending
from simsav.draw.groups import check_attachments
from simsav.draw.scores import GRID_INV_STEP, GRID_LO, pack_scored, score_form
from simsav.draw.scores import grid as _grid
from simsav.rng import (
    DEFAULT_BLOCK_SIZE,
    STREAMS,
    SeedLike,
    block_generator,
    check_n_sims,
    map_blocks,
)
from simsav.rng import root_seed_sequence as _root
from simsav.spending import SpendingModel, SpendingSpec
from simsav.validation import StrictModel

__all__ = [
    "MEDICARE_PERSISTENCE",
    "PANEL_STREAM",
    "PanelPaths",
    "PersistenceSpec",
    "exit_corr_for",
    "simulate_panel_paths",
    "simulate_panel_excess",
    "simulate_panel_sums",
    "survivor_map",
]

#: Sub-stream of :mod:`simsav.rng` for the panel's spending draws: block ``k`` uses
#: ``spawn_key=(*root_key, k, 5)`` (the one-year spending kernel uses ``(k,)``; 1-3 are
#: taken by :mod:`simsav.simulation`).
PANEL_STREAM: tuple[int, ...] = STREAMS["panel"]
_PATHS_STREAM: tuple[int, ...] = STREAMS["panel_paths"]

#: The calibrated default (:meth:`PersistenceSpec.medicare`), from
#: :func:`simsav.analysis.persistence.calibrate_persistence` with its defaults (``rho``
#: rounded to 2 decimals, ``exit_corr`` to 3).
MEDICARE_PERSISTENCE: dict[str, float] = {"rho": 0.68, "exit_rate": 0.05, "exit_corr": 0.547}


# --------------------------------------------------------------------------------------
# Specification
# --------------------------------------------------------------------------------------


class PersistenceSpec(StrictModel):
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

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    rho: float = Field(default=0.0, ge=0.0, lt=1.0)
    exit_rate: float = Field(default=0.0, ge=0.0, lt=1.0)
    exit_corr: float = Field(default=0.0, gt=-1.0, lt=1.0)

    @classmethod
    def medicare(cls) -> PersistenceSpec:
        """Return the default calibrated to Medicare FFS (:data:`MEDICARE_PERSISTENCE`).

        ``rho = 0.68``, ``exit_rate = 0.05``, ``exit_corr = 0.547``. ``exit_corr`` makes
        14% of the top 25% exit in a year (CBO 2005), exactly; ``rho`` is the
        least-squares compromise of
        :func:`~simsav.analysis.persistence.calibrate_persistence` over
        :data:`~simsav.analysis.persistence.PERSISTENCE_TARGETS`. Statistics achieved
        (:func:`~simsav.analysis.persistence.panel_statistics`,
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
    return _panel_sums(groups, n_sims, n_years, persistence=persistence, seed=seed,
                       block_size=block_size, n_threads=n_threads, first_block=first_block,
                       on_block=on_block)[0]


def simulate_panel_excess(
    groups: Sequence[tuple[Any, int]],
    n_sims: int,
    n_years: int,
    attachments: NDArray[np.float64],
    *,
    persistence: PersistenceSpec | Mapping[str, Any],
    seed: SeedLike,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    first_block: int = 0,
    on_block: Callable[[int], None] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`simulate_panel_sums` and each group's stop-loss excess, from the same draws.

    Parameters
    ----------
    attachments : ndarray, shape (n_groups, K)
        Attachment points per group, USD per beneficiary-year.

    Other parameters as for :func:`simulate_panel_sums`.

    Returns
    -------
    sums : ndarray of float64, shape (n_sims, n_years, n_groups)
        Exactly :func:`simulate_panel_sums`'s.
    excess : ndarray of float64, shape (n_sims, n_years, n_groups, K)
        Each slot's capped spending above each attachment, summed per group and year.
    """
    sums, excess = _panel_sums(groups, n_sims, n_years, persistence=persistence, seed=seed,
                               block_size=block_size, n_threads=n_threads,
                               first_block=first_block, on_block=on_block,
                               attachments=attachments)
    assert excess is not None
    return sums, excess


def _panel_sums(
    groups: Sequence[tuple[Any, int]], n_sims: int, n_years: int, *,
    persistence: PersistenceSpec | Mapping[str, Any], seed: SeedLike, block_size: int,
    n_threads: int | None, first_block: int, on_block: Callable[[int], None] | None,
    attachments: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    n_sims = check_n_sims(n_sims)
    n_years = _check_int("n_years", n_years, 1)
    p = _as_persistence(persistence)
    counts, kinds, offsets, params, caps = pack_scored(groups)
    latent, m_tab, exit_on = _latent_args(p, sums=True)

    from simsav.kernels import panel as _panel_kernels  # numba is imported only when drawing

    out = np.empty((n_sims, n_years, counts.size), dtype=np.float64)
    ex = None
    if attachments is None:
        def run(rng: np.random.Generator, start: int, stop: int) -> None:
            _panel_kernels.panel_sums_block(
                rng, counts, kinds, offsets, params, caps, latent, m_tab, exit_on,
                out[start:stop])
    else:
        att = check_attachments(attachments, counts.size)
        ex = np.empty((n_sims, n_years, *att.shape), dtype=np.float64)

        def run(rng: np.random.Generator, start: int, stop: int) -> None:
            _panel_kernels.panel_sums_excess_block(
                rng, counts, kinds, offsets, params, caps, latent, m_tab, exit_on, att,
                out[start:stop], ex[start:stop])

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
    return out, ex


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
