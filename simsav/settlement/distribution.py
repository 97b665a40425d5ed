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

Incentives (:func:`provider_incentives`)
----------------------------------------
For each provider and year, across sims: the mean, standard deviation and quantiles of
its payout, and two regression slopes. The multiple regression (OLS with intercept)

    payout_i = a + b_own * own_i + b_others * others_i + e,

with ``own_i`` the provider's own panel savings and ``others_i`` the rest of the ACO's
savings (the ACO's total minus ``own_i``), separates the dollars the provider receives
per dollar its own panel saves (``slope_own``: the marginal reward for cutting its own
patients' spending, the incentive to stint) from the dollars per dollar saved elsewhere
in the ACO (``slope_others``). ``slope_aco`` is the simple slope on the ACO's total.
Standard errors are heteroskedasticity-robust (HC1): payouts are non-linear in savings
(MSR, caps, reserve). When the savings are jointly normal (panels of many patients), the
OLS slopes equal the *average* marginal reward E[d payout / d savings] over the sims
(Stein's lemma), thresholds and caps included.

Closed forms, where receipts are linear in the ACO's savings (receipts = rho x savings:
no MSR or cap crossed, no losses, reserve cap not binding). With ``k = rho x (1 -
infrastructure_share - reserve_share) x w_t``, ``w_t`` the weight of the provider's type
``t`` (renormalized over the types present):

* ``"lives"``: ``payout_i = k x (l_i / L_t) x savings``, so ``slope_own = slope_others =
  k x l_i / L_t`` (``l_i`` the provider's lives, ``L_t`` its type's): the reward for the
  provider's own savings is diluted by its share of lives;
* ``"quality-x-lives"``: the same with ``q_i l_i / sum_t(q_j l_j)`` (exact at fixed
  quality);
* ``"own-savings"`` with one organization type and every panel saving: ``payout_i = k x
  s_i`` exactly, so ``slope_own = k`` and ``slope_others = 0``: the whole marginal reward
  lands on the provider's own panel, ``L_t / l_i`` times the reward under ``"lives"``.

:func:`expected_slopes` evaluates these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    "provider_incentives",
    "expected_slopes",
    "compare_rules",
]

#: Organization types, in the order of :attr:`Distribution.distributed_by_type`.
ORG_TYPES: tuple[str, ...] = ("primary_care", "specialists", "hospitals", "skilled_nursing")

#: Within-type rules.
RULES: tuple[str, ...] = ("quality-x-lives", "own-savings", "lives")

Rule = Literal["quality-x-lives", "own-savings", "lives"]
Rate = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

#: Largest amount accepted, in cents (~ $700 billion): float64 shares of it carry errors
#: far below a cent, so the largest-remainder split is exact.
_MAX_CENTS = 2**46


# --------------------------------------------------------------------------- policy
class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrganizationWeights(_Frozen):
    """Shares of the distributed pot by type of participating organization (sum to 1).

    Types with no provider in the panels drop out and the others' weights are rescaled
    to sum to 1. The defaults are an assumption [U]: primary care, central to managing
    the attributed population's cost and quality, gets half.

    Attributes
    ----------
    primary_care, specialists, hospitals, skilled_nursing : float
        Weights in [0, 1]; they must sum to 1 (within 1e-9).
    """

    primary_care: Rate = 0.5
    specialists: Rate = 0.25
    hospitals: Rate = 0.15
    skilled_nursing: Rate = 0.10

    @model_validator(mode="after")
    def _sum_to_one(self) -> OrganizationWeights:
        s = sum(self.as_tuple())
        if abs(s - 1.0) > 1e-9:
            raise ValueError(
                f"weights must sum to 1, got {s:.9g} (primary_care + specialists + hospitals "
                "+ skilled_nursing)"
            )
        return self

    def as_tuple(self) -> tuple[float, float, float, float]:
        """Return the weights in the order of :data:`ORG_TYPES`."""
        return (self.primary_care, self.specialists, self.hospitals, self.skilled_nursing)


class DistributionPolicy(_Frozen):
    """How an ACO distributes what it receives, and covers what it owes.

    A frozen pydantic model: unknown keys and out-of-range values are rejected with a
    message naming the field and the allowed range.

    Attributes
    ----------
    rule : {"quality-x-lives", "own-savings", "lives"}
        How providers within an organization type share a gain (module docstring).
    infrastructure_share : float, default 0.2
        Fraction of each year's net receipts the ACO keeps for infrastructure [U].
    reserve_share : float, default 0.1
        Fraction of each year's net receipts put into the downside-risk reserve [U].
        ``infrastructure_share + reserve_share`` must be <= 1.
    reserve_cap : float or None, default 0.01
        Cap on the reserve's balance as a fraction of the year's total benchmark (USD,
        after any discount), or ``None`` for no cap. A fraction, not dollars, so one
        policy fits an ACO of any size, as loss limits do. The default, 1% of the
        benchmark, is the size of the MSSP's repayment mechanism (1% of the assigned
        beneficiaries' Parts A and B expenditures, 42 CFR 425.204(f)) [U]. Inflow the
        cap refuses is distributed; a balance above the cap (e.g. a large
        ``reserve_start``) is kept, not released.
    weights : OrganizationWeights
        Shares of the pot by organization type.
    losses_beyond_reserve : {"participants", "aco"}, default "participants"
        Who pays shared losses the reserve cannot: ``"participants"`` charges them back
        by the organization weights and, within a type, by attributed lives (by each
        panel's own losses under ``"own-savings"``), giving negative payouts;
        ``"aco"`` has the ACO entity bear them. Charge-back is the default because it
        is what exposes providers to downside risk, the point of a two-sided contract;
        lives, not quality x lives, split charges, so that higher quality never costs a
        provider more.
    own_savings_loss_share : float, default 0
        Under ``"own-savings"``, in a gain year, a provider whose panel lost money is
        charged this share of its loss, valued at what its type pays per dollar saved
        (``pot / sum of positive panel savings``, at most 1): ``charge = share x
        min(pot / saved, 1) x loss``. The charges go to the providers that saved, by
        their savings. 0 (default): no payment, no charge.

    Examples
    --------
    >>> p = DistributionPolicy(rule="lives", weights={"primary_care": 1, "specialists": 0,
    ...                        "hospitals": 0, "skilled_nursing": 0})
    >>> p.weights.as_tuple()
    (1.0, 0.0, 0.0, 0.0)
    >>> DistributionPolicy.eac().rule
    'quality-x-lives'
    """

    rule: Rule = "quality-x-lives"
    infrastructure_share: Rate = 0.2
    reserve_share: Rate = 0.1
    reserve_cap: Rate | None = 0.01
    weights: OrganizationWeights = Field(default_factory=OrganizationWeights)
    losses_beyond_reserve: Literal["participants", "aco"] = "participants"
    own_savings_loss_share: Rate = 0.0

    @model_validator(mode="after")
    def _check_shares(self) -> DistributionPolicy:
        kept = self.infrastructure_share + self.reserve_share
        if kept > 1.0 + 1e-12:
            raise ValueError(
                f"infrastructure_share + reserve_share must be <= 1, got "
                f"{self.infrastructure_share!r} + {self.reserve_share!r} = {kept!r}"
            )
        return self

    @property
    def pass_through(self) -> float:
        """Fraction of net receipts distributed while the reserve cap does not bind."""
        return 1.0 - self.infrastructure_share - self.reserve_share

    @classmethod
    def eac(cls) -> DistributionPolicy:
        """Recommendation 6 of the source document: quality x attributed lives.

        "Provider groups and individual providers should earn a share of savings that
        the ACO generates which is proportional to their own quality performance and the
        number of attributed lives on their panel." 20% infrastructure, 10% reserve up
        to 1% of the benchmark, default organization weights, losses charged back by
        lives.
        """
        return cls(rule="quality-x-lives")

    @classmethod
    def own_savings(cls) -> DistributionPolicy:
        """The contrast recommendation 6 warns against: shares by own panel savings."""
        return cls(rule="own-savings")

    @classmethod
    def lives_only(cls) -> DistributionPolicy:
        """Shares by attributed lives alone (no quality, no own-savings reward)."""
        return cls(rule="lives")


#: Named policies (for a scenario's ``distribution = "eac"``).
POLICIES: dict[str, DistributionPolicy] = {
    "eac": DistributionPolicy.eac(),
    "own-savings": DistributionPolicy.own_savings(),
    "lives": DistributionPolicy.lives_only(),
}


def _as_policy(policy: DistributionPolicy | Mapping[str, Any] | str) -> DistributionPolicy:
    if isinstance(policy, DistributionPolicy):
        return policy
    if isinstance(policy, str):
        try:
            return POLICIES[policy]
        except KeyError:
            raise ValueError(
                f"policy: unknown policy {policy!r}; available: {', '.join(POLICIES)}"
            ) from None
    return DistributionPolicy.model_validate(dict(policy))


# --------------------------------------------------------------------------- panels
def _float_array(name: str, value: ArrayLike, *, lo: float | None = None,
                 hi: float | None = None, lo_open: bool = False) -> F64:
    a = np.asarray(value, dtype=np.float64)
    if np.isnan(a).any():
        raise ValueError(f"{name}: must be a number, got NaN")
    if np.isinf(a).any():
        raise ValueError(f"{name}: must be finite, got inf")
    if lo is not None:
        bad = a <= lo if lo_open else a < lo
        if bad.any():
            rel = ">" if lo_open else ">="
            raise ValueError(f"{name}: must be {rel} {lo}, got {float(a[bad].flat[0])!r}")
    if hi is not None and (a > hi).any():
        raise ValueError(f"{name}: must be <= {hi}, got {float(a[a > hi].flat[0])!r}")
    return a


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


# --------------------------------------------------------------------------- incentives
def _slopes(y: F64, x1: F64, x2: F64) -> tuple[F64, F64, F64, F64]:
    """OLS of y on (1, x1, x2) along axis 0; slopes and HC1 standard errors."""
    n = y.shape[0]
    yc, a, b = (v - v.mean(axis=0) for v in (y, x1, x2))
    s11, s22, s12 = (a * a).sum(0), (b * b).sum(0), (a * b).sum(0)
    s1y, s2y = (a * yc).sum(0), (b * yc).sum(0)
    det = s11 * s22 - s12 * s12
    good = det > 1e-10 * s11 * s22
    det = np.where(good, det, np.nan)
    b1 = (s22 * s1y - s12 * s2y) / det
    b2 = (s11 * s2y - s12 * s1y) / det
    e2 = (yc - b1 * a - b2 * b) ** 2
    m11, m22, m12 = (e2 * a * a).sum(0), (e2 * b * b).sum(0), (e2 * a * b).sum(0)
    dof = n / (n - 3) if n > 3 else np.nan
    v1 = (s22**2 * m11 - 2 * s22 * s12 * m12 + s12**2 * m22) / det**2 * dof
    v2 = (s12**2 * m11 - 2 * s12 * s11 * m12 + s11**2 * m22) / det**2 * dof
    return b1, np.sqrt(np.maximum(v1, 0.0)), b2, np.sqrt(np.maximum(v2, 0.0))


def _slope(y: F64, x: F64) -> tuple[F64, F64]:
    """OLS of y on (1, x) along axis 0; slope and HC1 standard error."""
    n = y.shape[0]
    yc, a = y - y.mean(axis=0), x - x.mean(axis=0)
    sxx = (a * a).sum(0)
    sxx = np.where(sxx > 0, sxx, np.nan)
    b = (a * yc).sum(0) / sxx
    e2 = (yc - b * a) ** 2
    dof = n / (n - 2) if n > 2 else np.nan
    return b, np.sqrt((e2 * a * a).sum(0) * dof) / sxx


def provider_incentives(
    distribution: Distribution,
    panels: ProviderPanels,
    *,
    aco_savings: ArrayLike | None = None,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    over: Literal["year", "agreement"] = "year",
) -> dict[str, F64]:
    """What each provider faces: the spread of its payout and what moves it.

    Parameters
    ----------
    distribution : Distribution
        From :func:`distribute` with the same ``panels``.
    panels : ProviderPanels
    aco_savings : array_like, optional
        The ACO's total savings, USD, (sim, year); default (recommended) the sum of the
        panels' savings, so that ``others`` is the other panels' savings. Passing the
        settlement's ``gross_savings`` instead puts ACO-level terms that no panel
        carries (benchmark error, ACO-wide effects) into ``others``; under
        ``"own-savings"`` the pot then moves with them, and ``slope_others`` is no longer
        0 where the closed form says so.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
    over : {"year", "agreement"}
        Per year (arrays (year, provider)) or for the agreement's totals, payouts and
        savings summed over years (arrays (provider,)).

    Returns
    -------
    dict of str to ndarray
        ``payout_mean``, ``payout_sd`` (ddof 1), ``prob_charged`` (payout < 0), USD;
        ``payout_quantile`` (..., provider, quantile) and ``quantile``;
        ``slope_own`` and ``slope_others`` (multiple regression on own-panel savings and
        the rest of the ACO's savings, USD per USD) with ``slope_own_se`` and
        ``slope_others_se`` (HC1); ``slope_aco`` and ``slope_aco_se`` (simple regression
        on the ACO's total savings). Slopes are NaN where a regressor does not vary or
        the two are collinear (e.g. a single provider). See the module docstring.
    """
    n_sims, n_years, n_prov = panels.shape
    if distribution.payout.shape != panels.shape:
        raise ValueError(f"panels: shape {panels.shape} does not match the distribution's "
                         f"payouts {distribution.payout.shape}")
    qs = _float_array("quantiles", quantiles, lo=0.0, hi=1.0)
    y = distribution.payout / 100.0
    own = panels.savings
    total = own.sum(axis=2) if aco_savings is None else _broadcast(
        "aco_savings", _float_array("aco_savings", aco_savings), (n_sims, n_years), "sim, year")
    total = np.broadcast_to(np.asarray(total)[:, :, None], own.shape)
    if over == "agreement":
        y, own, total = (v.sum(axis=1, keepdims=True) for v in (y, own, total))
    elif over != "year":
        raise ValueError(f"over: must be 'year' or 'agreement', got {over!r}")
    others = total - own
    b1, se1, b2, se2 = _slopes(y, own, others)
    ba, sea = _slope(y, total)
    out: dict[str, F64] = {
        "payout_mean": y.mean(axis=0),
        "payout_sd": y.std(axis=0, ddof=1) if n_sims > 1 else np.full(y.shape[1:], np.nan),
        "prob_charged": (y < 0).mean(axis=0),
        "payout_quantile": np.moveaxis(np.quantile(y, qs, axis=0), 0, -1),
        "quantile": qs,
        "slope_own": b1, "slope_own_se": se1,
        "slope_others": b2, "slope_others_se": se2,
        "slope_aco": ba, "slope_aco_se": sea,
    }
    if over == "agreement":
        out = {k: (v if k == "quantile" else v[0]) for k, v in out.items()}
    return out


def expected_slopes(
    policy: DistributionPolicy | Mapping[str, Any] | str,
    panels: ProviderPanels,
    *,
    sharing_rate: float = 1.0,
) -> F64:
    """Closed-form dollars a provider gets per dollar its own panel saves, (provider,).

    Valid where receipts are ``sharing_rate x`` the ACO's savings (no MSR or cap crossed,
    no losses) and the reserve cap does not bind; the module docstring derives them.
    ``"lives"`` and fixed-quality ``"quality-x-lives"`` are exact there, and so is
    ``"own-savings"`` with one organization type and every panel saving. For
    ``"own-savings"`` with several types it is the derivative of ``k x S x s_i / S_t`` at
    the mean savings (``S`` the ACO's, ``S_t`` the type's). Quality enters at its mean.

    Examples
    --------
    >>> pp = ProviderPanels(org_type=[0, 0, 0, 0], lives=[100, 100, 200, 600],
    ...                     benchmark=np.full((1, 1, 4), 1e6), expenditure=9e5)
    >>> pol = DistributionPolicy(rule="lives", infrastructure_share=0.2, reserve_share=0.0)
    >>> expected_slopes(pol, pp, sharing_rate=0.5).tolist()
    [0.04, 0.04, 0.08, 0.24]
    """
    pol = _as_policy(policy)
    k_type = sharing_rate * pol.pass_through * _type_weights(pol, panels.org_type)
    codes = panels.org_type.astype(np.int64)
    k = k_type[codes]
    if pol.rule == "own-savings":
        s = panels.savings.mean(axis=(0, 1))
        total = s.sum()
        by_type = np.bincount(codes, weights=s, minlength=len(ORG_TYPES))[codes]
        with np.errstate(divide="ignore", invalid="ignore"):
            return k * (total / by_type + s / by_type * (1.0 - total / by_type))
    w = panels.lives * (panels.quality.mean(axis=(0, 1)) if pol.rule == "quality-x-lives"
                        else 1.0)
    by_type = np.bincount(codes, weights=w, minlength=len(ORG_TYPES))[codes]
    return k * w / by_type


def compare_rules(
    policy: DistributionPolicy | Mapping[str, Any] | str,
    *,
    receipts: ArrayLike,
    panels: ProviderPanels,
    rules: Sequence[str] = RULES,
    aco_savings: ArrayLike | None = None,
    **distribute_kw: Any,
) -> dict[str, dict[str, F64]]:
    """Apply ``policy`` under each rule to the same money and panels; incentives by rule.

    Parameters
    ----------
    policy : DistributionPolicy, mapping or str
        The policy; only its ``rule`` changes.
    receipts, panels, **distribute_kw
        As for :func:`distribute`.
    rules : sequence of str, default :data:`RULES`
    aco_savings : array_like, optional
        As for :func:`provider_incentives`.

    Returns
    -------
    dict
        Rule -> :func:`provider_incentives` of that rule's distribution.
    """
    pol = _as_policy(policy)
    out: dict[str, dict[str, F64]] = {}
    for rule in rules:
        if rule not in RULES:
            raise ValueError(f"rules: unknown rule {rule!r}; allowed: {', '.join(RULES)}")
        d = distribute(pol.model_copy(update={"rule": rule}), receipts=receipts,
                       panels=panels, **distribute_kw)
        out[rule] = provider_incentives(d, panels, aco_savings=aco_savings)
    return out
