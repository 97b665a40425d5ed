"""Contract terms beyond the MSSP waterfall: corridors, stop-loss, advances.

Generic terms any design may use (a CMS model, a commercial contract), each a strict
table of :class:`~simsav.contracts.Contract`:

* :class:`RiskCorridors` — the share of savings (and of losses) the ACO keeps, by band
  of the savings rate. One band of 100% from 0 is plain first-dollar sharing; the ACA
  risk corridors of 42 USC 18062 are three bands (:data:`ACA_CORRIDORS`).
* :class:`StopLoss` — specific (per beneficiary) stop-loss: the part of each person's
  spending above an attachment point, times a coinsurance, is taken off the spending the
  settlement counts; a premium (a PBPM fee or a loading on the expected recoveries) is
  added to it, as CMS's REACH stop-loss arrangement does (``TOT_COST_CARE_NET`` in the
  REACH results files). The kernels sum each person's excess over the attachment
  (:mod:`simsav.draw.stop_loss`).
* :class:`AggregateStopLoss` — the same on the ACO's total spending, beyond a share of
  the (undiscounted) benchmark.
* :class:`Capitation` — an advance paid during the year as a share of the benchmark and
  recouped in full at settlement (LEAD's enhanced primary-care capitation).
* :class:`PrepaidSavings` — shared savings paid in advance from the last year's
  earnings and recouped from later savings (MSSP from 2025); what is left at the end of
  the agreement is repaid.

Rates are fractions; money is in dollars.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from simsav.validation import StrictModel

__all__ = [
    "ACA_CORRIDORS",
    "AggregateStopLoss",
    "Capitation",
    "CorridorBand",
    "PrepaidSavings",
    "RiskCorridors",
    "StopLoss",
]

Rate = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=0.0, le=1e9, allow_inf_nan=False)]


class CorridorBand(StrictModel):
    """One band of a corridor schedule: savings rates ``from`` to ``to``, share ``share``.

    ``from`` and ``to`` are fractions of the benchmark; ``to`` absent means no upper
    end. ``share`` is the share of the savings (or losses) in the band that the ACO keeps
    (or owes).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True,
                              populate_by_name=True)

    from_: Rate = Field(alias="from")
    to: Rate | None = None
    share: Rate

    @model_validator(mode="after")
    def _check(self) -> CorridorBand:
        if self.to is not None and self.to <= self.from_:
            raise ValueError(f"to ({self.to}) must be > from ({self.from_})")
        return self


def _check_schedule(bands: list[CorridorBand], side: str) -> None:
    if not bands:
        raise ValueError(f"{side}: give at least one band")
    if bands[0].from_ != 0.0:
        raise ValueError(f"{side}: the first band must start at from = 0")
    for a, b in zip(bands, bands[1:], strict=False):
        if a.to is None or abs(a.to - b.from_) > 1e-12:
            raise ValueError(f"{side}: bands must be contiguous: a band ending at "
                             f"{a.to} is followed by one from {b.from_}")


class RiskCorridors(StrictModel):
    """A risk-corridor schedule: the ACO's share of savings and losses by band.

    The ACO keeps ``Σ share_b × (the part of its savings in band b)``, bands measured
    as fractions of the benchmark the settlement uses (after discount, withhold and
    add-ons, as the REACH results show); savings beyond the last band's ``to`` are not
    shared (a cap). Sharing starts at the first dollar once the MSR is met, or beyond
    it with ``sharing_basis = "above-threshold"``.

    Attributes
    ----------
    savings : list of CorridorBand
        Contiguous bands from 0.
    losses : list of CorridorBand, optional
        The schedule for losses (two-sided contracts); absent: the same as ``savings``
        (symmetric).
    """

    savings: list[CorridorBand]
    losses: list[CorridorBand] | None = None

    @model_validator(mode="after")
    def _check(self) -> RiskCorridors:
        _check_schedule(self.savings, "savings")
        if self.losses is not None:
            _check_schedule(self.losses, "losses")
        return self

    def schedule(self, side: str = "savings") -> list[CorridorBand]:
        """The bands that apply to ``side`` ("savings" or "losses")."""
        if side == "losses" and self.losses is not None:
            return self.losses
        return self.savings


#: The ACA risk corridors (42 USC 18062(b)), as the share of gains and losses kept by
#: the plan: within 3% of the target all of it; from 3% to 8% half (the other half paid
#: to or by HHS); beyond 8%, 20% (HHS pays or takes 2.5% of the target plus 80% of the
#: excess over 8%) [V].
ACA_CORRIDORS: dict[str, list[dict[str, float]]] = {
    "savings": [
        {"from": 0.0, "to": 0.03, "share": 1.0},
        {"from": 0.03, "to": 0.08, "share": 0.5},
        {"from": 0.08, "share": 0.2},
    ],
}


class StopLoss(StrictModel):
    """Specific (per-beneficiary) stop-loss.

    Attributes
    ----------
    attachment : float
        USD per beneficiary-year: spending above it is covered. In a multi-year run the
        attachment is set in the first simulated year's prices and moves with the ACO's
        spending level (trend, true savings and risk growth scale the excess as they
        scale spending) [D].
    coinsurance : float
        Share of the excess the stop-loss pays (1: all of it).
    premium_pbpm : float
        Premium in USD per beneficiary per month.
    premium_loading : float, optional
        Premium as ``(1 + loading) ×`` the expected recoveries (from the spending
        model's closed form); give this or ``premium_pbpm``.
    risk_adjusted : bool
        Scale the attachment by each stratum's expected spending over the population's
        (LEAD's risk-adjusted attachment points [S]).
    """

    attachment: Annotated[float, Field(gt=0.0, le=1e8, allow_inf_nan=False)]
    coinsurance: Rate = 1.0
    premium_pbpm: Money = 0.0
    premium_loading: Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)] | None = None
    risk_adjusted: bool = False

    @model_validator(mode="after")
    def _check(self) -> StopLoss:
        if self.premium_loading is not None and self.premium_pbpm > 0:
            raise ValueError("give premium_pbpm or premium_loading, not both")
        return self

    @property
    def key(self) -> tuple[float, bool]:
        """What the draw needs to know: the attachment and whether it is risk-adjusted."""
        return (float(self.attachment), bool(self.risk_adjusted))


class AggregateStopLoss(StrictModel):
    """Aggregate stop-loss on the ACO's total spending.

    Attributes
    ----------
    attachment : float
        Share of expected spending (the undiscounted benchmark) above which spending is
        covered, e.g. 1.10.
    coinsurance : float
        Share of the spending beyond the attachment that the stop-loss pays.
    premium_pbpm : float
        Premium in USD per beneficiary per month.
    """

    attachment: Annotated[float, Field(gt=0.0, le=5.0, allow_inf_nan=False)]
    coinsurance: Rate = 1.0
    premium_pbpm: Money = 0.0


class Capitation(StrictModel):
    """A capitation paid in advance during the year and recouped at settlement.

    Attributes
    ----------
    share : float
        The advance, as a share of the benchmark before discount (LEAD's enhanced
        primary-care capitation: ``max(7% × benchmark − base PCC, 2% × benchmark)`` [S]).
    """

    share: Rate


class PrepaidSavings(StrictModel):
    """Shared savings prepaid during a year and recouped from later savings.

    Attributes
    ----------
    share : float
        Prepaid each year as a share of the last year's earned savings (MSSP from 2025:
        eligible ACOs with a history of savings [S; amount formula U]). The prepaid
        balance is recouped from earned savings; what remains at the end of the
        agreement is repaid.
    """

    share: Rate
