"""Payment distribution: where the money goes inside the ACO.

What the payer pays the ACO (earned savings plus any quality bonus) is split, year by year,
in integer cents, by a :class:`DistributionPolicy` (the three questions of the source
document's "Payment distribution" section: what the ACO retains, how much each kind of
participating organization gets, and how individual providers share):

1. **Netting.** The year's receipts and shared losses are netted (a payer offsets what it
   owes the ACO against what the ACO owes it). A positive net is a *gain*, a negative
   net a *loss*.
2. **Gain.** The ACO keeps ``infrastructure_share`` for infrastructure and puts
   ``reserve_share`` into a downside-risk reserve, up to ``reserve_cap`` (a fraction of the
   year's total benchmark); what the cap refuses is distributed. The rest is split among
   organization types by ``weights`` and, within a type, among providers by ``rule``:

   ``"quality-x-lives"``
       in proportion to quality score x attributed lives (recommendation 6 of the source
       document; the common method of The Chartis Group, 2014);
   ``"lives"``
       in proportion to attributed lives alone;
   ``"own-savings"``
       in proportion to the provider's own panel's positive savings (benchmark minus
       expenditure of its attributed patients): a provider whose panel lost money gets
       nothing, and with ``own_savings_loss_share`` > 0 is charged part of its loss
       (see :class:`DistributionPolicy`). This is the design recommendation 6 warns
       against; it is here to be compared.
3. **Loss.** The reserve (its balance carried over from earlier years, this year's
   inflow included) pays first. What is left (``losses_beyond_reserve``) is charged back
   to participants (``losses_beyond_reserve = "participants"``, the default): split among
   organization types by the same weights, and within a type by attributed lives (under
   ``"own-savings"`` by each panel's own losses), so payouts go negative; or it is borne
   by the ACO entity (``"aco"``), out of its own capital.
4. **Earmarked fund.** Forfeited savings reinvested in an earmarked ACO fund
   (recommendation 5, :attr:`~simsav.settlement.rules.Settlement.reinvested_aco`) are tracked as a
   running balance. They are never distributed and never pay losses: recommendation 5
   earmarks them for the ACO's future performance, "not used to finance incremental
   growth or compensation".

Money is conserved to the cent in every sim and year. Inputs are rounded once to whole
cents (half to even) and every split is done in ``int64`` cents by the largest-remainder
(Hamilton) method, so the parts of a split always add up to the whole exactly and each
part is within one cent of its exact share (ties go to the lower index). For every sim
and year (:func:`check_conservation`)::

    receipts + reinvested_aco - losses_owed
        == infrastructure + (reserve_balance - previous reserve_balance)
           + reinvested_aco (into the fund) + distributed + unallocated - entity_losses

where ``distributed`` is the sum of the providers' payouts (negative in a charged-back
loss year), ``unallocated`` is a gain no provider of an organization type was eligible
for (kept by the ACO entity; e.g. under ``"own-savings"`` when every panel of the type
lost money), and ``entity_losses`` is what the ACO entity paid out of its own capital.

Incentives — what a provider receives per dollar its own panel saves — are measured in
:mod:`simsav.analysis.incentives`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simsav.settlement.policy import (
    ORG_TYPES,
    POLICIES,
    RULES,
    DistributionPolicy,
    OrganizationWeights,
    _as_policy,
)
from simsav.validation import checked_array

__all__ = [
    "ORG_TYPES",
    "RULES",
    "POLICIES",
    "OrganizationWeights",
    "DistributionPolicy",
    "ProviderPanels",
    "Distribution",
    "ConservationError",
    "distribute",
    "check_conservation",
]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
#: Largest amount accepted, in cents (~ $700 billion): float64 shares of it carry errors
#: far below a cent, so the largest-remainder split is exact.
_MAX_CENTS = 2**46

# --------------------------------------------------------------------------- panels
_float_array = checked_array


def _broadcast(name: str, a: np.ndarray, shape: tuple[int, ...], dims: str) -> np.ndarray:
    try:
        return np.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(
            f"{name}: shape {a.shape} does not broadcast to ({dims}) = {shape}"
        ) from None


@dataclass(frozen=True, eq=False)
class ProviderPanels:
    """The provider dimension: each provider's organization type, lives, and panel.

    Parameters
    ----------
    org_type : array_like of str or int, shape (provider,)
        Organization type of each provider: a name of :data:`ORG_TYPES` or its index.
    lives : array_like, shape (provider,)
        Attributed lives (panel size), > 0.
    benchmark : array_like, shape (sim, year, provider)
        Benchmark total of the provider's panel, USD (>= 0).
    expenditure : array_like
        Expenditure total of the panel, USD (>= 0); broadcasts to ``benchmark``.
    quality : array_like, default 1.0
        The provider's quality score in [0, 1]; broadcasts to ``benchmark`` (e.g. shape
        ``(provider,)`` for a fixed score).
    names : sequence of str, optional
        Provider labels (default ``"p0"``, ``"p1"``, ...).

    Examples
    --------
    >>> pp = ProviderPanels(org_type=["primary_care", "hospitals"], lives=[800, 1200],
    ...                     benchmark=np.full((5, 2, 2), 1e6), expenditure=9e5)
    >>> pp.shape, pp.savings[0, 0].tolist()
    ((5, 2, 2), [100000.0, 100000.0])
    """

    org_type: Any
    lives: Any
    benchmark: Any
    expenditure: Any
    quality: Any = 1.0
    names: Sequence[str] | None = None

    def __post_init__(self) -> None:
        raw = np.asarray(self.org_type)
        if raw.ndim != 1 or raw.size == 0:
            raise ValueError(f"org_type: must be a non-empty 1-d sequence, got shape {raw.shape}")
        if raw.dtype.kind in "iu":
            codes = raw.astype(np.int64)
            bad = (codes < 0) | (codes >= len(ORG_TYPES))
            if bad.any():
                raise ValueError(
                    f"org_type: codes must be in 0..{len(ORG_TYPES) - 1}, got "
                    f"{int(codes[bad][0])}"
                )
        else:
            lookup = {n: i for i, n in enumerate(ORG_TYPES)}
            unknown = [str(x) for x in raw if str(x) not in lookup]
            if unknown:
                raise ValueError(
                    f"org_type: unknown organization type {unknown[0]!r}; allowed: "
                    f"{', '.join(ORG_TYPES)}"
                )
            codes = np.array([lookup[str(x)] for x in raw], dtype=np.int64)
        n_prov = codes.size
        lives = _float_array("lives", self.lives, lo=0.0, lo_open=True)
        if lives.shape != (n_prov,):
            raise ValueError(f"lives: shape {lives.shape} must be (provider,) = ({n_prov},)")
        bench = _float_array("benchmark", self.benchmark, lo=0.0)
        if bench.ndim != 3 or bench.shape[2] != n_prov:
            raise ValueError(
                f"benchmark: shape {bench.shape} must be (sim, year, provider) with "
                f"provider = {n_prov}"
            )
        shape = bench.shape
        if 0 in shape:
            raise ValueError(f"benchmark: every dimension must be non-empty, got {shape}")
        exp_ = _broadcast("expenditure", _float_array("expenditure", self.expenditure, lo=0.0),
                          shape, "sim, year, provider")
        q = _broadcast("quality", _float_array("quality", self.quality, lo=0.0, hi=1.0),
                       shape, "sim, year, provider")
        names = tuple(f"p{i}" for i in range(n_prov)) if self.names is None else tuple(
            str(n) for n in self.names)
        if len(names) != n_prov:
            raise ValueError(f"names: {len(names)} names for {n_prov} providers")
        object.__setattr__(self, "org_type", codes.astype(np.int8))
        object.__setattr__(self, "lives", lives)
        object.__setattr__(self, "benchmark", bench)
        object.__setattr__(self, "expenditure", exp_)
        object.__setattr__(self, "quality", q)
        object.__setattr__(self, "names", names)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_sims, n_years, n_providers)``."""
        s = self.benchmark.shape
        return (int(s[0]), int(s[1]), int(s[2]))

    @property
    def savings(self) -> F64:
        """Own-panel savings, ``benchmark - expenditure``, USD, (sim, year, provider)."""
        return np.asarray(self.benchmark - self.expenditure, dtype=np.float64)

    @property
    def org_type_names(self) -> tuple[str, ...]:
        """Each provider's organization type as a name."""
        return tuple(ORG_TYPES[int(c)] for c in self.org_type)


# --------------------------------------------------------------------------- rounding
def _largest_remainder(total: I64, weights: ArrayLike) -> tuple[I64, NDArray[np.bool_]]:
    """Split integer ``total`` (N,) in proportion to ``weights`` (N, k) or (k,), exactly.

    Returns the integer parts (N, k), which sum to ``total`` row by row, each within 1 of
    ``total * w / sum(w)``, and a mask of rows whose weights sum to <= 0 (parts all 0:
    nothing could be allocated). Weights may be negative if their row sum is positive.
    The leftover units go to the largest fractional parts, ties to the lower index.
    """
    total = np.asarray(total, dtype=np.int64)
    n = total.shape[0]
    w = np.asarray(weights, dtype=np.float64)
    k = w.shape[-1]
    w = np.broadcast_to(w, (n, k))
    wsum = w.sum(axis=1)
    ok = wsum > 0
    share = w / np.where(ok, wsum, 1.0)[:, None]
    q = np.where(ok[:, None], total[:, None].astype(np.float64) * share, 0.0)
    fl = np.floor(q)
    base = fl.astype(np.int64)
    rem = np.where(ok, total - base.sum(axis=1), 0)
    if (rem < 0).any() or (rem > k).any():  # pragma: no cover - guarded by _MAX_CENTS
        raise RuntimeError("largest-remainder split lost precision")
    if k > 1:
        order = np.argsort(fl - q, axis=1, kind="stable")  # largest fraction first
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(k), (n, k)), axis=1)
        base += rank < rem[:, None]
    else:
        base += rem[:, None]
    return base, ~ok


def _cents(name: str, value: ArrayLike, shape: tuple[int, ...], dims: str) -> I64:
    a = _float_array(name, value, lo=0.0)
    c = np.rint(a * 100.0)
    if (c >= _MAX_CENTS).any():
        raise ValueError(f"{name}: must be < {_MAX_CENTS / 100:.3g} USD")
    return np.ascontiguousarray(_broadcast(name, c, shape, dims)).astype(np.int64)


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class Distribution:
    """Result of :func:`distribute`. Every money field is ``int64`` **cents**.

    Shapes: (sim, year) unless noted. :meth:`usd` gives float dollars.
    """

    receipts: I64
    """What the payer paid the ACO (earned savings + quality bonus), rounded to cents."""
    losses_owed: I64
    """Shared losses the ACO owed the payer."""
    reinvested_aco: I64
    """Forfeited savings paid into the earmarked ACO fund (recommendation 5)."""
    aco_fund_balance: I64
    """Balance of the earmarked fund at year end (running sum of ``reinvested_aco``)."""
    infrastructure: I64
    """Kept by the ACO for infrastructure."""
    reserve_in: I64
    """Paid into the downside-risk reserve (after the cap)."""
    reserve_paid_losses: I64
    """Shared losses paid out of the reserve."""
    reserve_balance: I64
    """Reserve balance at year end (the next year's opening balance)."""
    reserve_start: I64
    """Reserve balance before the first year, (sim,)."""
    losses_beyond_reserve: I64
    """Net losses the reserve could not pay."""
    entity_losses: I64
    """Losses beyond the reserve borne by the ACO entity (``losses_beyond_reserve =
    "aco"``); 0 under charge-back."""
    unallocated: I64
    """Gains no provider of an organization type was eligible for, kept by the entity."""
    distributed_by_type: I64
    """Paid to providers by organization type, (sim, year, org_type) in :data:`ORG_TYPES`
    order; negative when losses are charged back."""
    payout: I64
    """Paid to each provider, (sim, year, provider); negative when charged losses."""
    policy: DistributionPolicy
    """The policy applied."""

    @property
    def distributed(self) -> I64:
        """Paid to providers in all, (sim, year): the sum of :attr:`payout`."""
        return self.distributed_by_type.sum(axis=-1)

    @property
    def reserve_change(self) -> I64:
        """Change in the reserve balance over each year."""
        prev = np.concatenate([self.reserve_start[:, None], self.reserve_balance[:, :-1]], 1)
        return self.reserve_balance - prev

    def usd(self) -> dict[str, F64]:
        """Every money field (and ``distributed``) in float64 dollars."""
        out = {f.name: getattr(self, f.name) / 100.0 for f in fields(self)
               if f.name != "policy"}
        out["distributed"] = self.distributed / 100.0
        return out


class ConservationError(AssertionError):
    """Money was not conserved to the cent; the message gives where and by how much."""


# --------------------------------------------------------------------------- distribute
def _type_weights(policy: DistributionPolicy, codes: NDArray[np.int8]) -> F64:
    w = np.array(policy.weights.as_tuple(), dtype=np.float64)
    present = np.isin(np.arange(len(ORG_TYPES)), codes)
    w = np.where(present, w, 0.0)
    if w.sum() <= 0:
        raise ValueError(
            "weights: no provider belongs to an organization type with a positive weight "
            f"(weights {policy.weights.as_tuple()}, types present "
            f"{sorted({ORG_TYPES[int(c)] for c in codes})})"
        )
    return w / w.sum()


def _split_gain(policy: DistributionPolicy, amount: I64, lives: F64, q: F64,
                s: F64) -> tuple[I64, I64]:
    """Split a gain ``amount`` (sims,) >= 0 among a type's providers; (parts, unallocated)."""
    if policy.rule == "lives":
        parts, bad = _largest_remainder(amount, lives)
    elif policy.rule == "quality-x-lives":
        parts, bad = _largest_remainder(amount, q * lives)
    else:
        pos = np.maximum(s, 0.0)
        saved = pos.sum(axis=1)
        charge = np.zeros(s.shape, dtype=np.int64)
        lam = policy.own_savings_loss_share
        if lam > 0:
            rate = np.minimum(amount / 100.0 / np.where(saved > 0, saved, 1.0), 1.0)
            rate = np.where(saved > 0, rate, 0.0)
            charge = np.rint(lam * rate[:, None] * np.maximum(-s, 0.0) * 100.0).astype(np.int64)
        parts, bad = _largest_remainder(amount + charge.sum(axis=1), pos)
        parts -= charge
    unalloc = np.where(bad, amount, 0)
    parts[bad] = 0
    return parts, unalloc


def _split_loss(policy: DistributionPolicy, amount: I64, lives: F64, s: F64) -> I64:
    """Split a charge ``amount`` (sims,) <= 0 among a type's providers."""
    if policy.rule == "own-savings":
        neg = np.maximum(-s, 0.0)
        w = np.where((neg.sum(axis=1) > 0)[:, None], neg, lives)
    else:
        w = np.broadcast_to(lives, s.shape)
    parts, _ = _largest_remainder(amount, w)
    return parts


def distribute(
    policy: DistributionPolicy | Mapping[str, Any] | str,
    *,
    receipts: ArrayLike,
    panels: ProviderPanels,
    losses_owed: ArrayLike = 0.0,
    reinvested_aco: ArrayLike = 0.0,
    reserve_start: ArrayLike = 0.0,
    benchmark_total: ArrayLike | None = None,
) -> Distribution:
    """Distribute an ACO's receipts and cover its losses, year by year, in cents.

    Parameters
    ----------
    policy : DistributionPolicy, mapping or str
        The policy, its fields as a mapping, or a name of :data:`POLICIES`.
    receipts : array_like, broadcastable to (sim, year)
        What the payer pays the ACO, USD (>= 0): ``earned_savings + quality_bonus`` of
        :class:`~simsav.settlement.rules.Settlement`.
    panels : ProviderPanels
        The providers; fixes ``(sim, year)``.
    losses_owed : array_like, default 0
        Shared losses the ACO owes, USD (>= 0): ``shared_losses``.
    reinvested_aco : array_like, default 0
        Forfeited savings paid into the earmarked ACO fund, USD (>= 0):
        ``reinvested_aco``. Tracked, never distributed.
    reserve_start : array_like, default 0
        Reserve balance before the first year, USD (>= 0), scalar or (sim,).
    benchmark_total : array_like, optional
        The ACO's total benchmark, USD, (sim, year), for ``reserve_cap``: the
        settlement's ``benchmark_total``. Default: the sum of the panels' benchmarks.

    Returns
    -------
    Distribution
        Money in int64 cents; years processed in order, the reserve carried over.

    Examples
    --------
    One year, $10,000 received, two primary-care providers with 100 and 300 lives:

    >>> pol = DistributionPolicy(rule="lives", reserve_cap=None, weights=dict(
    ...     primary_care=1, specialists=0, hospitals=0, skilled_nursing=0))
    >>> pp = ProviderPanels(org_type=["primary_care"] * 2, lives=[100, 300],
    ...                     benchmark=np.full((1, 1, 2), 1e6), expenditure=9.9e5)
    >>> d = distribute(pol, receipts=10_000, panels=pp)
    >>> d.infrastructure.item(), d.reserve_in.item(), d.payout[0, 0].tolist()
    (200000, 100000, [175000, 525000])
    >>> check_conservation(d)
    """
    pol = _as_policy(policy)
    if not isinstance(panels, ProviderPanels):
        raise TypeError(f"panels: must be a ProviderPanels, got {type(panels).__name__}")
    n_sims, n_years, n_prov = panels.shape
    sy = (n_sims, n_years)
    rec = _cents("receipts", receipts, sy, "sim, year")
    owed = _cents("losses_owed", losses_owed, sy, "sim, year")
    fund_in = _cents("reinvested_aco", reinvested_aco, sy, "sim, year")
    start = _cents("reserve_start", reserve_start, (n_sims,), "sim")
    if pol.reserve_cap is not None:
        bt = panels.benchmark.sum(axis=2) if benchmark_total is None else _broadcast(
            "benchmark_total", _float_array("benchmark_total", benchmark_total, lo=0.0), sy,
            "sim, year")
        cap: I64 | None = np.floor(pol.reserve_cap * np.asarray(bt) * 100.0).astype(np.int64)
    else:
        cap = None

    type_w = _type_weights(pol, panels.org_type)
    members = [np.flatnonzero(panels.org_type == t) for t in range(len(ORG_TYPES))]
    split_w = np.array([pol.infrastructure_share, pol.reserve_share, pol.pass_through])
    split_w = np.maximum(split_w, 0.0)  # pass_through may be -1e-17 after rounding
    savings = panels.savings

    def zeros() -> I64:
        return np.zeros(sy, dtype=np.int64)

    infra, res_in, res_paid, res_bal, beyond, entity, unalloc = (zeros() for _ in range(7))
    by_type = np.zeros((*sy, len(ORG_TYPES)), dtype=np.int64)
    payout = np.zeros((n_sims, n_years, n_prov), dtype=np.int64)
    bal = start.copy()
    for t in range(n_years):
        net = rec[:, t] - owed[:, t]
        gain = np.maximum(net, 0)
        loss = np.maximum(-net, 0)
        parts, _ = _largest_remainder(gain, split_w)
        infra[:, t] = parts[:, 0]
        to_reserve = parts[:, 1]
        pot = parts[:, 2]
        if cap is not None:
            room = np.maximum(cap[:, t] - bal, 0)
            refused = np.maximum(to_reserve - room, 0)
            to_reserve = to_reserve - refused
            pot = pot + refused
        bal = bal + to_reserve
        paid = np.minimum(loss, bal)
        bal = bal - paid
        left = loss - paid
        res_in[:, t], res_paid[:, t], res_bal[:, t], beyond[:, t] = to_reserve, paid, bal, left
        if pol.losses_beyond_reserve == "participants":
            amount = pot - left
        else:
            amount = pot
            entity[:, t] = left
        type_amount, _ = _largest_remainder(amount, type_w)
        for code, idx in enumerate(members):
            if idx.size == 0:
                continue
            a = type_amount[:, code]
            lives = panels.lives[idx]
            s = savings[:, t][:, idx]
            g_parts, g_unalloc = _split_gain(pol, np.maximum(a, 0), lives,
                                             panels.quality[:, t][:, idx], s)
            l_parts = _split_loss(pol, np.minimum(a, 0), lives, s)
            prov = np.where((a >= 0)[:, None], g_parts, l_parts)
            payout[:, t, idx] = prov
            ua = np.where(a >= 0, g_unalloc, 0)
            unalloc[:, t] += ua
            by_type[:, t, code] = a - ua
    fund_bal = np.cumsum(fund_in, axis=1)
    return Distribution(
        receipts=rec, losses_owed=owed, reinvested_aco=fund_in, aco_fund_balance=fund_bal,
        infrastructure=infra, reserve_in=res_in, reserve_paid_losses=res_paid,
        reserve_balance=res_bal, reserve_start=start, losses_beyond_reserve=beyond,
        entity_losses=entity, unallocated=unalloc, distributed_by_type=by_type,
        payout=payout, policy=pol,
    )


def _first_bad(mask: NDArray[np.bool_]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def check_conservation(
    distribution: Distribution,
    *,
    receipts: ArrayLike | None = None,
    losses_owed: ArrayLike | None = None,
    reinvested_aco: ArrayLike | None = None,
) -> None:
    """Check that money is conserved to the cent in every sim and year.

    Checks, exactly in integer cents, per (sim, year)::

        receipts + reinvested_aco - losses_owed == infrastructure + reserve change
            + fund change + distributed + unallocated - entity_losses

    and that the pieces agree: ``sum(payout) == sum(distributed_by_type)``; reserve
    change ``== reserve_in - reserve_paid_losses``; the reserve never negative; fund
    change ``== reinvested_aco``; losses beyond the reserve ``== max(losses_owed -
    receipts, 0) - reserve_paid_losses``; entity losses 0 or all of them.

    Parameters
    ----------
    distribution : Distribution
    receipts, losses_owed, reinvested_aco : array_like, optional
        The dollars given to :func:`distribute`; if given, checked to equal the stored
        cents after rounding.

    Raises
    ------
    ConservationError
        Naming the identity, the first (sim, year) that breaks it and the gap in cents.
    """
    d = distribution
    sy = d.receipts.shape
    for name, given in (("receipts", receipts), ("losses_owed", losses_owed),
                        ("reinvested_aco", reinvested_aco)):
        if given is None:
            continue
        want = _cents(name, given, sy, "sim, year")
        bad = want != getattr(d, name)
        if bad.any():
            i = _first_bad(bad)
            raise ConservationError(f"{name} at (sim, year) {i}: given {int(want[i])} cents, "
                                    f"distribution holds {int(getattr(d, name)[i])}")

    prev_fund = np.concatenate([np.zeros((sy[0], 1), np.int64), d.aco_fund_balance[:, :-1]], 1)
    fund_change = d.aco_fund_balance - prev_fund
    net_loss = np.maximum(d.losses_owed - d.receipts, 0)
    by_provider = d.payout.sum(axis=-1)
    checks = [
        ("receipts + reinvested_aco - losses_owed == infrastructure + reserve change + "
         "fund change + distributed + unallocated - entity_losses",
         d.receipts + d.reinvested_aco - d.losses_owed,
         d.infrastructure + d.reserve_change + fund_change + d.distributed + d.unallocated
         - d.entity_losses),
        ("sum of payouts == sum of distributed_by_type", by_provider, d.distributed),
        ("reserve change == reserve_in - reserve_paid_losses", d.reserve_change,
         d.reserve_in - d.reserve_paid_losses),
        ("fund change == reinvested_aco", fund_change, d.reinvested_aco),
        ("losses_beyond_reserve == net losses - reserve_paid_losses",
         d.losses_beyond_reserve, net_loss - d.reserve_paid_losses),
    ]
    for label, lhs, rhs in checks:
        bad = lhs != rhs
        if bad.any():
            i = _first_bad(bad)
            raise ConservationError(
                f"{label}: fails at (sim, year) {i} by {int(lhs[i] - rhs[i])} cents "
                f"({int(bad.sum())} cells)"
            )
    for label, bad in (
        ("reserve_balance >= 0", d.reserve_balance < 0),
        ("entity_losses is 0 or losses_beyond_reserve",
         (d.entity_losses != 0) & (d.entity_losses != d.losses_beyond_reserve)),
        ("reserve_in, reserve_paid_losses, infrastructure, unallocated >= 0",
         (d.reserve_in < 0) | (d.reserve_paid_losses < 0) | (d.infrastructure < 0)
         | (d.unallocated < 0)),
    ):
        if bad.any():
            raise ConservationError(f"{label}: fails at (sim, year) {_first_bad(bad)}")
