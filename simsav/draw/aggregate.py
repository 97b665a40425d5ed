r"""Aggregate draws of group spending sums: O(sims x groups), not O(beneficiaries x sims).

:func:`simulate_group_sums_aggregate` has the signature and the meaning of
:func:`simsav.draw.groups.simulate_group_sums` - per sim, the sum over each group's ``count``
beneficiaries of capped spending ``Y = min(X, c)`` - but draws each group's sum directly
instead of beneficiary by beneficiary. Its cost per (sim, group) does not grow with the
count: a few variates plus, for an uncapped heavy tail, about :data:`TAIL_COUNT` exact
tail draws.

The maths
---------
Write ``N`` for the count, ``c`` for the cap (``inf`` for none), ``p0 = P(X = 0)`` and
``S = sum_i min(X_i, c)``.

**Gamma, no cap (exact).** A sum of ``N`` iid ``Gamma(k, theta)`` is
``Gamma(N k, theta)``: one ``standard_gamma(N k)`` per sim (any model whose
:meth:`~simsav.spending.SpendingModel.gamma_sum` says so).

**Everything else: split at a threshold (exact but for one term).** Pick
``u = min(isf(TAIL_COUNT / N), c)``, the point with about :data:`TAIL_COUNT` of the ``N``
beneficiaries above it on average, and never above the cap. Each beneficiary lies in
exactly one of: zero, the *body* ``(0, u]``, the *mid-tail* ``(u, c]``, the *capped*
``(c, inf)``. Because beneficiaries are iid and exchangeable, ``S`` has the same law as

1. ``K ~ Binomial(N, 1 - p0)`` non-zero beneficiaries (drawn only when ``p0 > 0``: the
   hurdle models and an empirical sample with zeros);
2. ``T ~ Binomial(K, P(X > u | X > 0))`` of them above ``u``;
3. ``T_c ~ Binomial(T, P(X > c | X > u))`` of those above the cap: each contributes
   exactly ``c``, so they add ``T_c c`` (with ``u = c``, ``T_c = T``: no draw);
4. the ``T - T_c`` mid-tail values, drawn **exactly** from ``X | u < X <= c``
   (:meth:`~simsav.spending.SpendingModel.sample_between`: the survival function
   inverted, or for gamma an exact rejection sampler), about :data:`TAIL_COUNT` per sim
   at most, and none when ``u = c``;
5. the sum ``B`` of the ``n = K - T`` body values, iid from ``X | 0 < X <= u``.

Only step 5 is approximated. The body is bounded by ``u``, so all its moments are finite
whatever the tail (Pareto with ``alpha <= 2`` included). From the model's partial moments
(``E[X^j; X <= u]``, closed forms, ``j <= 3``) come the body's per-draw mean ``m``,
variance ``v`` and third central moment ``mu3``; ``B`` has mean ``n m``, variance ``n v``
and skewness ``g / sqrt(n)`` with ``g = mu3 / v^1.5``. ``B`` is drawn from the shifted
gamma (Pearson type III) with those three moments::

    B = n m + sign(mu3) * beta * (G - alpha),  G ~ Gamma(alpha),
    alpha = 4 n / g**2,  beta = |mu3| / (2 v),

(the normal when the skewness of ``B`` at the expected ``n`` is below 1e-6, and ``n m``
when the body is degenerate), clipped to ``B``'s support ``[0, n u]``.

Why this is valid
-----------------
* Given the counts, steps 3-4 are exact and step 5 matches the first three cumulants of
  ``B`` for *every* ``n``; the counts are exact. So the mean, variance and third central
  moment of ``S`` are exact (``E[S] = N * mean(truncated=c)``,
  ``Var[S] = N * variance(truncated=c)``; the clip to ``[0, n u]`` aside, which the
  shifted gamma reaches only far beyond any quantile a sweep uses), and only the fourth
  and higher cumulants of the body sum differ. The gamma has standardized fourth
  cumulant ``1.5 g^2``; the body's is ``k4 / v^2`` with ``k4 = mu4 - 3 v^2``. The error
  in the standardized fourth cumulant of ``S`` is therefore
  ``n (k4 - 1.5 mu3^2 / v) / Var[S]^2`` (:attr:`AggregatePlan.kurtosis_error`), which by
  the Cornish-Fisher expansion moves a quantile ``z`` standard deviations out by about
  ``kurtosis_error * (z^3 - 3 z) / 24`` standard deviations (0.75 x at ``z = 3``).
* The threshold keeps this error small for any tail: the values that make sums of heavy
  tails non-normal - the few largest - are drawn exactly; the body is bounded at a level
  about :data:`TAIL_COUNT` exceedances deep, so its higher cumulants are those of a bounded
  variable averaged over ``n`` draws. For gamma (cv 0.5 and 2, capped at the 99th and
  99.99th percentiles), lognormal (cv 2 and 5), hurdle-lognormal (zero share 0.05 and
  0.9), ``medicare-ffs`` with and without its 99th-percentile cap, lognormal-Pareto with
  ``alpha = 2.1`` and the DE-SynPUF samples, ``|kurtosis_error|`` is below 7e-4 at every
  count from 129 to 2**40 (largest near 1,000): quantiles out to ``z = 3`` move by under
  0.001 standard deviations, far below the Monte Carlo error of a quantile from a million
  sims. Even with infinite variance (``alpha = 1.5``) it stays below 0.015 against the
  body sum's own variance. :func:`aggregate_plan` reports the indicator for any group;
  ``tests/test_aggregate.py`` checks agreement with the
  per-beneficiary path at 1,000, 10,000 and 100,000 beneficiaries.
* With a cap at a usual level (e.g. the 99th percentile), ``u = c`` as soon as
  ``N > 100 * TAIL_COUNT``: no tail value is drawn at all.
* Groups of at most :data:`EXACT_COUNT` beneficiaries are drawn beneficiary by
  beneficiary with the per-beneficiary kernel (:func:`simsav.kernels.spending.group_sums_block`,
  on this module's stream): exact, and as cheap as the split there. A larger group with
  fewer than :data:`TAIL_COUNT` expected non-zero beneficiaries takes ``u = 0``: every
  non-zero value is drawn exactly.

Cost per (sim, group): up to three binomials, one gamma (or normal) and the exact tail
draws (expected ``N P(u < X <= c)``, at most :data:`TAIL_COUNT`), or at most
:data:`EXACT_COUNT` kernel draws for a small group.

Randomness
----------
As :mod:`simsav.rng`: block ``k`` of sims draws from its own Generator, here on sub-stream
:data:`STREAM` (``spawn_key=(..., k, 7)``), so the aggregate draws never reuse the
per-beneficiary stream (``(..., k)``) nor the other sub-streams of
:mod:`simsav.simulation`. Within a block, sims are drawn in chunks of
``min(block_size, CHUNK_SIMS)`` with vectorized NumPy calls, group by group; a chunk is
always drawn in full (the unused rows of the last one are dropped), so results depend on
``(seed, block_size)`` only - not on ``n_threads`` - and a larger ``n_sims`` only appends
rows. The aggregate path and the per-beneficiary path agree in distribution, not draw by
draw.

Why NumPy and not a numba kernel: per (sim, group) the work is a handful of variates and
special functions (``ndtri``, ``gammaincc``) that numba does not provide; vectorized
over a chunk of sims, the Python overhead is a few microseconds per chunk and group. The
``first_block`` and ``on_block`` arguments are those of :func:`simsav.rng.map_blocks`,
so a run split into whole blocks (dask tasks) gives exactly the draws of one run.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from simsav.draw.groups import Packed, pack_groups
from simsav.rng import DEFAULT_BLOCK_SIZE, STREAMS, SeedLike, check_n_sims, map_blocks
from simsav.spending import SpendingModel, model_from_kernel_args

__all__ = [
    "CHUNK_SIMS",
    "EXACT_COUNT",
    "STREAM",
    "TAIL_COUNT",
    "AggregatePlan",
    "aggregate_plan",
    "simulate_group_sums_aggregate",
]

#: Expected number of beneficiaries above the split threshold ``u`` per (sim, group);
#: those are drawn exactly (when below the cap).
TAIL_COUNT = 32.0

#: Groups of at most this many beneficiaries are drawn with the per-beneficiary kernel.
EXACT_COUNT = 128

#: Sims drawn per vectorized chunk (capped by ``block_size``).
CHUNK_SIMS = 256

#: Sub-stream of :mod:`simsav.rng` used by the aggregate draws.
STREAM: tuple[int, ...] = STREAMS["aggregate"]

# The body sum is drawn from a normal when its skewness is below this.
_NORMAL_SKEW = 1e-6
# The body counts as degenerate when its variance is below this share of E[X^2 | body].
_DEGENERATE_VAR = 1e-14

Method = Literal["empty", "gamma", "kernel", "split"]


@dataclass(frozen=True)
class AggregatePlan:
    """How :func:`simulate_group_sums_aggregate` draws one group's sum.

    Attributes
    ----------
    method : {"empty", "gamma", "kernel", "split"}
        ``"empty"``: no beneficiaries (the sum is 0); ``"gamma"``: uncapped gamma, drawn
        exactly as ``Gamma(count * shape, scale)``; ``"kernel"``: a small group (at most
        :data:`EXACT_COUNT`), drawn beneficiary by beneficiary; ``"split"``: the body/tail
        split of the module docstring.
    count : int
        Beneficiaries in the group.
    cap : float
        Per-beneficiary cap (``inf``: none).
    zero_share : float
        ``P(X = 0)``.
    threshold : float
        ``u``: body ``(0, u]``, tail above (``0`` when every non-zero value is drawn
        exactly; ``u = cap`` when the cap is below the tail threshold).
    p_tail : float
        ``P(X > u | X > 0)``.
    p_capped : float
        ``P(X > cap | X > u)``.
    body_mean, body_var, body_mu3 : float
        Mean, variance and third central moment of ``X | 0 < X <= u``.
    body_draw : {"none", "constant", "normal", "gamma"}
        How the body sum is drawn.
    expected_exact_draws : float
        Expected number of values drawn exactly per sim (``count * P(u < X <= cap)``).
    kurtosis_error : float
        Error of the approximation in the standardized fourth cumulant of the group's sum
        (0 when exact); a quantile ``z`` standard deviations out moves by about
        ``kurtosis_error * (z**3 - 3 z) / 24`` standard deviations. For a model with
        infinite variance (Pareto ``alpha <= 2``) it is standardized by the body sum's
        variance instead (a conservative figure).
    shape, scale : float
        For ``"gamma"``: the per-beneficiary gamma's parameters.
    """

    method: Method
    count: int
    cap: float
    zero_share: float = 0.0
    threshold: float = 0.0
    p_tail: float = 0.0
    p_capped: float = 0.0
    body_mean: float = 0.0
    body_var: float = 0.0
    body_mu3: float = 0.0
    body_draw: Literal["none", "constant", "normal", "gamma"] = "none"
    expected_exact_draws: float = 0.0
    kurtosis_error: float = 0.0
    shape: float = 0.0
    scale: float = 0.0

    @property
    def body_skew(self) -> float:
        """Per-draw skewness of the body, ``mu3 / var**1.5`` (0 when degenerate)."""
        return self.body_mu3 / self.body_var**1.5 if self.body_var > 0 else 0.0


def _check_count(count: Any) -> int:
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
        raise ValueError(f"count must be an int >= 0, got {count!r}")
    return int(count)


def aggregate_plan(model: Any, count: int) -> AggregatePlan:
    """Return how one group's sum is drawn, with the approximation's error indicator.

    Parameters
    ----------
    model : SpendingSpec, SpendingModel or KernelArgs
        The group's spending model (its cap included).
    count : int
        Beneficiaries in the group, ``>= 0``.

    Returns
    -------
    AggregatePlan

    Examples
    --------
    >>> from simsav.spending import medicare_ffs
    >>> plan = aggregate_plan(medicare_ffs(11_000.0, truncate_quantile=0.99), 100_000)
    >>> plan.method, plan.threshold == plan.cap, plan.expected_exact_draws
    ('split', True, 0.0)
    >>> bool(abs(plan.kurtosis_error) < 1e-3)
    True
    """
    return _plan(model_from_kernel_args(model), _check_count(count))


def _plan(m: SpendingModel, n: int) -> AggregatePlan:
    c = m.cap(True)
    if n == 0:
        return AggregatePlan("empty", 0, c)
    gamma_sum = m.gamma_sum()
    if gamma_sum is not None and math.isinf(c):
        return AggregatePlan("gamma", n, c, shape=gamma_sum[0], scale=gamma_sum[1])
    if n <= EXACT_COUNT:
        return AggregatePlan("kernel", n, c)
    nz = m.sf(0.0)  # P(X > 0)
    p0 = 1.0 - nz
    u = 0.0 if TAIL_COUNT >= n * nz else min(float(m.isf(TAIL_COUNT / n)), c)
    s_u = nz if u == 0.0 else m.sf(u)
    s_c = 0.0 if math.isinf(c) else (s_u if u >= c else m.sf(c))
    p_tail = min(s_u / nz, 1.0)
    p_capped = 1.0 if u >= c else (min(s_c / s_u, 1.0) if s_u > 0 else 0.0)
    b = nz - s_u  # P(0 < X <= u)
    mean = var = mu3 = 0.0
    draw: Literal["none", "constant", "normal", "gamma"] = "none"
    k_err = 0.0
    if b > 0 and u > 0:
        r1, r2, r3, r4 = (m.partial_moment(j, u) / b for j in (1, 2, 3, 4))
        mean = r1
        var = max(r2 - r1 * r1, 0.0)
        mu3 = r3 - 3.0 * r1 * r2 + 2.0 * r1**3
        mu4 = r4 - 4.0 * r1 * r3 + 6.0 * r1 * r1 * r2 - 3.0 * r1**4
        n_body = n * b
        if var <= _DEGENERATE_VAR * r2:
            draw, var, mu3 = "constant", 0.0, 0.0
        else:
            skew = mu3 / var**1.5
            draw = "normal" if abs(skew) / math.sqrt(n_body) < _NORMAL_SKEW else "gamma"
            if draw == "normal":
                mu3 = 0.0
            var_s = n * m.variance(truncated=c)
            if not math.isfinite(var_s):  # infinite variance: judge against the body alone
                var_s = n_body * var
            k_err = n_body * ((mu4 - 3.0 * var * var) - 1.5 * mu3 * mu3 / var) / var_s**2
    return AggregatePlan(
        "split",
        n,
        c,
        zero_share=p0,
        threshold=u,
        p_tail=p_tail,
        p_capped=p_capped,
        body_mean=mean,
        body_var=var,
        body_mu3=mu3,
        body_draw=draw,
        expected_exact_draws=n * (s_u - s_c),
        kurtosis_error=k_err,
    )


def _binomial(rng: np.random.Generator, n: NDArray[np.int64], p: float) -> NDArray[np.int64]:
    """``Binomial(n, p)`` elementwise, with no draw when ``p`` is 0 or 1."""
    if p <= 0.0:
        return np.zeros_like(n)
    if p >= 1.0:
        return n.copy()
    return rng.binomial(n, p).astype(np.int64)


def _draw_split(
    rng: np.random.Generator, m: SpendingModel, plan: AggregatePlan, size: int
) -> NDArray[np.float64]:
    """Draw ``size`` sums of one ``"split"`` group (see the module docstring)."""
    n = plan.count
    if plan.zero_share > 0.0:
        k = rng.binomial(n, 1.0 - plan.zero_share, size=size).astype(np.int64)
    else:
        k = np.full(size, n, dtype=np.int64)
    t = _binomial(rng, k, plan.p_tail)
    t_c = _binomial(rng, t, plan.p_capped)
    n_body = k - t
    if plan.body_draw == "gamma":
        shape = 4.0 * n_body * plan.body_var**3 / plan.body_mu3**2
        g = rng.standard_gamma(shape)
        beta = math.copysign(abs(plan.body_mu3) / (2.0 * plan.body_var), plan.body_mu3)
        body = n_body * plan.body_mean + beta * (g - shape)
    elif plan.body_draw == "normal":
        z = rng.standard_normal(size)
        body = n_body * plan.body_mean + np.sqrt(n_body * plan.body_var) * z
    else:
        body = n_body * plan.body_mean
    out = np.clip(body, 0.0, n_body * plan.threshold)
    mid = t - t_c
    n_mid = int(mid.sum())
    if n_mid:
        x = m.sample_between(rng, n_mid, plan.threshold, plan.cap)
        out += np.bincount(np.repeat(np.arange(size), mid), weights=x, minlength=size)
    if math.isfinite(plan.cap):
        out += t_c * plan.cap
    return out


def _draw_kernel(rng: np.random.Generator, packed: Packed, size: int) -> NDArray[np.float64]:
    """Draw ``size`` sums of one small group with the per-beneficiary kernel."""
    from simsav.kernels import spending as _kernels  # numba is imported only when drawing

    out_sum, out_raw, out_ncap = _kernels.empty_outputs(size, 1)
    _kernels.group_sums_block(rng, *packed, out_sum, out_raw, out_ncap)
    return out_sum[:, 0]


def _draw_chunk(
    rng: np.random.Generator,
    models: Sequence[SpendingModel],
    plans: Sequence[AggregatePlan],
    packed: Sequence[Packed],
    size: int,
) -> NDArray[np.float64]:
    """Draw ``size`` sims of every group, group by group."""
    out = np.zeros((size, len(plans)))
    for g, (m, plan) in enumerate(zip(models, plans, strict=True)):
        if plan.method == "gamma":
            out[:, g] = plan.scale * rng.standard_gamma(plan.count * plan.shape, size=size)
        elif plan.method == "kernel":
            out[:, g] = _draw_kernel(rng, packed[g], size)
        elif plan.method == "split":
            out[:, g] = _draw_split(rng, m, plan, size)
    return out


def simulate_group_sums_aggregate(
    groups: Sequence[tuple[Any, int]],
    n_sims: int,
    *,
    seed: SeedLike,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_threads: int | None = None,
    first_block: int = 0,
    on_block: Callable[[int], None] | None = None,
) -> NDArray[np.float64]:
    """Simulate, per sim, the sum of capped spending of each group, drawn in aggregate.

    The same inputs and meaning as :func:`simsav.draw.groups.simulate_group_sums`, at a cost
    per (sim, group) that does not grow with the count: exact for uncapped gamma groups,
    and for every other model exact counts and tail values with a three-moment (Pearson
    type III) draw of the sum of the bounded body (see the module docstring for the maths
    and its error bound, and :func:`aggregate_plan` for a group's plan).

    Parameters
    ----------
    groups : sequence of (model, count)
        ``model`` is a :class:`~simsav.spending.SpendingSpec`, a
        :class:`~simsav.spending.SpendingModel` or a
        :class:`~simsav.spending.KernelArgs` triple; ``count`` the number of
        beneficiaries, in [0, 2**40].
    n_sims : int
        Number of simulations, ``>= 1``.
    seed : int, SeedSequence, Generator or None
        See :mod:`simsav.rng`. Block ``k`` of sims uses
        ``SeedSequence(entropy, spawn_key=(k, 7))`` (sub-stream :data:`STREAM`).
    block_size : int, default 256
        Sims per block, in [1, 2**20]. Results depend on ``(seed, block_size)`` only:
        not on ``n_threads``; a larger ``n_sims`` only appends rows.
    n_threads : int, optional
        Worker threads (default :func:`numba.get_num_threads`).
    first_block : int, default 0
        The rows are the sims from block ``first_block`` on, drawn exactly as in a run
        that starts at block 0 (to split a run into whole blocks, e.g. dask tasks).
    on_block : callable, optional
        Called with the number of sims of each finished block (thread-safe).

    Returns
    -------
    ndarray of float64, shape (n_sims, n_groups)
        USD per group per sim; divide by the count for per-capita spending.

    Raises
    ------
    ValueError
        As :func:`~simsav.draw.groups.simulate_group_sums`: ``n_sims`` not an int ``>= 1``,
        ``groups`` not a non-empty sequence of ``(model, count)`` pairs, a count outside
        [0, 2**40], a model that is not valid (the message names ``groups[g]``), or a
        ``block_size`` / ``n_threads`` out of range.

    Examples
    --------
    >>> from simsav.spending import SpendingSpec
    >>> spec = SpendingSpec(model="medicare-ffs", mean=11_000, truncate_quantile=0.99)
    >>> sums = simulate_group_sums_aggregate([(spec, 1_000_000), (spec, 500)], 1_000, seed=1)
    >>> sums.shape
    (1000, 2)
    >>> mean_t = spec.to_model().mean(truncated=True)
    >>> bool(abs(sums[:, 0].mean() / 1_000_000 / mean_t - 1) < 0.01)
    True
    """
    n_sims = check_n_sims(n_sims)
    packed_all = pack_groups(groups)  # validates as the kernel
    models = []
    for g, (spec, _) in enumerate(groups):
        try:
            models.append(model_from_kernel_args(spec))
        except ValueError as e:
            raise ValueError(f"groups[{g}]: {e}") from None
    plans = [_plan(m, int(n)) for m, n in zip(models, packed_all.counts, strict=True)]
    packed = [packed_all.group(g) for g in range(len(plans))]
    out = np.empty((n_sims, len(plans)), dtype=np.float64)
    if isinstance(block_size, numbers.Integral) and not isinstance(block_size, bool):
        chunk = max(min(int(block_size), CHUNK_SIMS), 1)
    else:
        chunk = 1  # map_blocks rejects it below

    def run(rng: np.random.Generator, start: int, stop: int) -> None:
        for lo in range(start, stop, chunk):
            hi = min(lo + chunk, stop)
            out[lo:hi] = _draw_chunk(rng, models, plans, packed, chunk)[: hi - lo]

    map_blocks(
        run,
        n_sims,
        seed=seed,
        block_size=block_size,
        n_threads=n_threads,
        stream=STREAM,
        first_block=first_block,
        on_block=on_block,
    )
    return out
