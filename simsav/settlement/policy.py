"""What the ACO does with its money: the distribution policy (a scenario's ``[distribution]``).

The policy says what the ACO retains (infrastructure, a downside-risk reserve), how much
each kind of participating organization gets, and how individual providers share
(:mod:`simsav.settlement.distribution` applies it, to the cent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from simsav.validation import StrictModel

__all__ = ["ORG_TYPES", "POLICIES", "RULES", "DistributionPolicy", "OrganizationWeights"]

#: Organization types, in the order of :attr:`Distribution.distributed_by_type`.
ORG_TYPES: tuple[str, ...] = ("primary_care", "specialists", "hospitals", "skilled_nursing")

#: Within-type rules.
RULES: tuple[str, ...] = ("quality-x-lives", "own-savings", "lives")

Rule = Literal["quality-x-lives", "own-savings", "lives"]
Rate = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]



# --------------------------------------------------------------------------- policy
_Frozen = StrictModel


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
