"""Contract terms of a shared-savings agreement.

A :class:`Contract` holds every term the settlement engine (:mod:`simsav.settlement.rules`) applies.
It is a frozen pydantic model: unknown keys and out-of-range values are rejected with a
message naming the field. Each term's docstring cites its source; tags: [V] verified in
primary text, [S] secondary source, [D] derived, [U] unverified (an assumption the user
should review), keyed in :mod:`simsav.contracts.sources`.

Rates are fractions (0.02 means 2%). Money is in dollars.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from simsav.contracts.msr import CMS_MSR_TABLE, MSRBandRow
from simsav.contracts.risk_terms import (
    AggregateStopLoss,
    Capitation,
    CorridorBand,
    PrepaidSavings,
    RiskCorridors,
    StopLoss,
)
from simsav.validation import StrictModel, Whole, problems

__all__ = [
    "AggregateStopLoss",
    "Capitation",
    "Contract",
    "CorridorBand",
    "PrepaidSavings",
    "RiskCorridors",
    "StopLoss",
    "MSRBand",
    "LadderStep",
    "BonusBand",
    "QualityBonus",
    "ContractError",
    "CMS_ELECTIONS",
    "inapplicable",
    "make_contract",
]

Rate = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Discount = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]

#: CMS symmetric MSR/MLR elections for two-sided tracks, 42 CFR 425.605(b)(2), 425.610(b)(2)
#: and 425.606(b)(1)(ii) [V]: 0%, 0.5% to 2.0% in 0.5-point steps, or the variable scale.
CMS_ELECTIONS: tuple[float, ...] = (0.0, 0.005, 0.01, 0.015, 0.02)


class ContractError(ValueError):
    """A contract term is invalid; the message names the term and the allowed range.

    ``problems`` lists each problem as ``(term, message)``.
    """

    def __init__(self, problems: list[tuple[str, str]] | str):
        if isinstance(problems, str):
            problems = [("", problems)]
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" if k else m for k, m in problems))


_Frozen = StrictModel


class MSRBand(_Frozen):
    """A band of a user MSR/MLR table: linear from ``low`` at ``lo`` to ``high`` at ``hi``."""

    lo: Annotated[Whole, Field(ge=1)]
    hi: Annotated[Whole, Field(ge=1)] | None = None
    low: Rate
    high: Rate | None = None

    @model_validator(mode="after")
    def _check(self) -> MSRBand:
        if self.hi is not None and self.hi < self.lo:
            raise ValueError(f"hi ({self.hi}) must be >= lo ({self.lo})")
        return self

    def row(self) -> MSRBandRow:
        """Return the band as an :class:`~simsav.contracts.msr.MSRBandRow`."""
        hi = float("inf") if self.hi is None else float(self.hi)
        high = self.low if self.high is None else self.high
        return MSRBandRow(float(self.lo), hi, self.low, high)


class LadderStep(_Frozen):
    """A quality-ladder step: from quality ``min_quality`` up, share ``rate`` of savings."""

    min_quality: Rate
    rate: Rate


class BonusBand(_Frozen):
    """Participation-bonus band: ``points`` added to the sharing rate from ``min_share`` up."""

    min_share: Rate
    points: Rate


class QualityBonus(_Frozen):
    """A quality bonus paid whether or not savings are achieved, from its own budget.

    Recommendation 2 of the background paper "Payment Calculation and Distribution" [EAC] ("discrete
    incentive payments based on quality performance, irrespective of whether savings are
    achieved"). The amount is ``budget × benchmark total × scale(Q)`` with
    ``scale = clip((Q − threshold) / (full_at − threshold), 0, 1)`` (a step at
    ``threshold`` when ``full_at == threshold``). The payer funds it on top of any shared
    savings. Its size and scale are design choices of the user [U].
    """

    budget: Rate
    threshold: Rate = 0.0
    full_at: Rate = 1.0

    @model_validator(mode="after")
    def _check(self) -> QualityBonus:
        if self.full_at < self.threshold:
            raise ValueError(
                f"full_at ({self.full_at}) must be >= threshold ({self.threshold})"
            )
        return self


MSRRule = Literal["none", "cms"] | Rate | list[MSRBand]


class Contract(_Frozen):
    """The terms of one shared-savings contract design.

    Parameters
    ----------
    name, description : str
        Labels; presets describe their sources here.
    two_sided : bool
        Whether the ACO owes a share of losses beyond the MLR.
    msr : "none", "cms", float or list of MSRBand
        Minimum savings rate: none (0), the CMS sliding scale by assigned beneficiaries
        (42 CFR 425.604(b), 425.605(b); :mod:`simsav.contracts.msr`), a fixed rate, or a user table.
    mlr : "none", "cms", "symmetric", float or list of MSRBand
        Minimum loss rate; ``"symmetric"`` (default) mirrors the MSR, as CMS requires for
        two-sided tracks [V CFR606(b), CFR605(b)(2)].
    cms_election : bool
        Restrict ``msr`` to the CMS symmetric elections (0, 0.5–2.0% by 0.5, or "cms"),
        with ``mlr`` symmetric [V CFR605(b)(2), CFR610(b)(2)].
    sharing_basis : {"first-dollar", "above-threshold"}
        First-dollar sharing once the MSR is met [V CFR604(e)(1)], or sharing only the
        savings beyond ``sharing_threshold`` (the 2011 proposed rule [S GFR; U]).
    sharing_threshold : float or "msr"
        Net threshold for ``"above-threshold"`` sharing, as a fraction of the benchmark.
    max_sharing_rate : float
        Maximum sharing rate (50% Track 1, 60% Track 2, 75% Track 3/ENHANCED, 40% BASIC A/B,
        50% BASIC C–E) [V CFR604, 606, 610, 605].
    quality_method : {"flat", "scaled", "standard", "ladder"}
        How quality sets the final sharing rate: ``flat`` = max rate; ``scaled`` = max rate ×
        scale(Q) with scale linear from ``quality_floor`` (0) to ``quality_full`` (1), the
        pre-2021 MSSP rule FSR = max × Q with the defaults [V CFR502; D HDM]; ``standard`` =
        max rate if the quality performance standard is met, max × Q if only the alternative
        standard is met, else 0 (the 2021+ rule) [V CFR512; S RF2026]; ``ladder`` = the step
        table ``quality_ladder``, as fractions of the max rate.
    quality_standard : float or None
        Quality score meeting the QPS, used by ``standard`` when the caller does not pass
        ``qps_met``. ``None`` means the standard is always met.
    alternative_standard : float or None
        Score meeting the alternative QPS (PY2023+), or ``None`` for no alternative.
    quality_gate : float or None
        No savings are shared below this quality score (recommendation 1 of the source
        document). Applies under every quality method.
    quality_scoring : {"score", "cms-points", "own-goals", "improvement", "peer-or-improvement"}
        How performance becomes the quality score the rules above use
        (:func:`simsav.settlement.quality.effective_quality`): as is; CMS points by peer percentile
        (0 below the 30th, full at the 90th) [V CFR502]; goals from the ACO's own prior
        performance, threshold/target/stretch (recommendation 3); improvement over last
        year alone; or the better of peer points and improvement [V CFR502 improvement
        credit; form D].
    goal_target, goal_stretch : float
        Own-goal target and stretch above last year's score (threshold = last year's).
    goal_target_share : float
        Share of the maximum reached at the target.
    improvement_full_at : float
        Improvement over last year that earns full credit under ``peer-or-improvement``.
    participation_bonus : list of BonusBand
        Points added to the final sharing rate by the share of beneficiaries with a visit
        at an FQHC or RHC (the 2011 proposed rule: up to 2.5 points, top band 41%+ [U]).
    payment_limit : float or None
        Performance payment limit, fraction of the total benchmark (10% Track 1 / BASIC,
        15% Track 2, 20% Track 3 / ENHANCED) [V]. ``None``: no cap.
    cap_after_sequestration : bool
        Apply the cap to shared savings net of sequestration, as CMS's settlement reports
        do (row [Y] = min([V] − [X], [W])) [V A1540 report].
    loss_rate_method : {"fixed", "one-minus-quality"}
        Shared loss rate: ``loss_rate``, or ``1 − max_rate × Q`` clipped to
        [``loss_rate_floor``, ``loss_rate_ceiling``] (Track 2: ≤ 60%; Track 3 / ENHANCED
        [40%, 75%]) [V CFR606, CFR610]; the ceiling when quality standards are failed.
    loss_limit_benchmark : float, list of float, or None
        Loss-sharing limit, fraction of the total benchmark; a list gives the limit by year
        of the agreement (Track 2: 5%, 7.5%, 10%) [V CFR606(g)].
    loss_limit_revenue : float or None
        Loss-sharing limit, fraction of ACO participants' A+B FFS revenue; with both limits
        set the lesser applies, and without revenue data the benchmark limit alone
        (BASIC C–E) [V CFR605(d)].
    sequestration : float
        Reduction of shared savings payments (2% under the Budget Control Act of 2011)
        [V A1540 report row X; S DCMS].
    euc_reduces_losses : bool
        Reduce shared losses for extreme and uncontrollable circumstances by the share of
        the year and of beneficiaries affected [V CFR606(i), A1540 report rows DD–FF].
    below_msr_sharing_factor : float
        Sharing rate multiplier for an eligible (low-revenue) ACO with savings below the MSR
        (one-half, 42 CFR 425.605(h), agreements from 2024) [S RF2026].
    benchmark_discount : float or list of float
        Discount taken off the benchmark before settlement (NGACO: 0.5–4.5% [S AJMC-NG];
        REACH Global 2–3.5% [V RFA Table 6.16]); a list gives it by year of the
        agreement, the last repeating (LEAD's glide for higher-spending ACOs).
    quality_withhold : float
        Share of the benchmark withheld for quality and earned back in proportion to the
        quality score: the benchmark is ``B × (1 − discount − withhold × (1 − Q) +
        admin_addon)`` (REACH: 5% PY2021–22, 2% PY2023–25, 5% PY2026; the additive form
        is what the REACH results files show) [V RFA Table 6.16; D replication].
    admin_addon : float
        Administrative add-on to the benchmark, fraction (LEAD: 1.5% for higher-spending
        ACOs) [S].
    risk_corridors : RiskCorridors or None
        The ACO's share of savings and losses by band of the savings rate
        (:class:`~simsav.contracts.risk_terms.RiskCorridors`); replaces
        ``max_sharing_rate`` and ``loss_rate``.
    specific_stop_loss, aggregate_stop_loss : StopLoss, AggregateStopLoss or None
        Stop-loss on each beneficiary's spending or on the total; recoveries come off the
        spending the settlement counts and the premium is added to it.
    capitation : Capitation or None
        An advance paid during the year and recouped at settlement.
    prepaid_savings : PrepaidSavings or None
        Shared savings prepaid from last year's earnings and recouped from later savings.
    withhold : float
        Share of earned savings withheld against future losses (2011 proposed rule: 25% [U]).
    quality_bonus : QualityBonus or None
        A quality bonus paid whether or not savings are achieved (recommendation 2).
    forfeited_to : {"payer", "community", "aco"}
        Where savings go that the ACO generated but may not share (MSR or quality missed):
        kept by the payer or reinvested (recommendation 5). Always reported.
    forfeited_share : float
        Share of the forfeited amount reinvested when ``forfeited_to`` is not the payer.
    """

    name: str = "custom"
    description: str = ""
    two_sided: bool = False
    msr: MSRRule = "cms"
    mlr: MSRRule | Literal["symmetric"] = "symmetric"
    cms_election: bool = False
    sharing_basis: Literal["first-dollar", "above-threshold"] = "first-dollar"
    sharing_threshold: Rate | Literal["msr"] = "msr"
    max_sharing_rate: Rate = 0.5
    quality_method: Literal["flat", "scaled", "standard", "ladder"] = "scaled"
    quality_floor: Rate = 0.0
    quality_full: Rate = 1.0
    quality_ladder: list[LadderStep] | None = None
    quality_standard: Rate | None = None
    alternative_standard: Rate | None = None
    quality_gate: Rate | None = None
    quality_scoring: Literal[
        "score", "cms-points", "own-goals", "improvement", "peer-or-improvement"
    ] = "score"
    goal_target: Annotated[float, Field(gt=0.0, le=0.5, allow_inf_nan=False)] = 0.02
    goal_stretch: Annotated[float, Field(gt=0.0, le=0.5, allow_inf_nan=False)] = 0.05
    goal_target_share: Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False)] = 0.5
    improvement_full_at: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 0.10
    participation_bonus: list[BonusBand] = Field(default_factory=list)
    payment_limit: Rate | None = 0.10
    cap_after_sequestration: bool = True
    loss_rate_method: Literal["fixed", "one-minus-quality"] = "fixed"
    loss_rate: Rate = 0.0
    loss_rate_floor: Rate = 0.0
    loss_rate_ceiling: Rate = 1.0
    loss_limit_benchmark: Rate | list[Rate] | None = None
    loss_limit_revenue: Rate | None = None
    sequestration: Rate = 0.02
    euc_reduces_losses: bool = True
    below_msr_sharing_factor: Rate = 0.0
    benchmark_discount: Discount | list[Discount] = 0.0
    quality_withhold: Rate = 0.0
    admin_addon: Annotated[float, Field(ge=0.0, le=0.2, allow_inf_nan=False)] = 0.0
    risk_corridors: RiskCorridors | None = None
    specific_stop_loss: StopLoss | None = None
    aggregate_stop_loss: AggregateStopLoss | None = None
    capitation: Capitation | None = None
    prepaid_savings: PrepaidSavings | None = None
    withhold: Rate = 0.0
    quality_bonus: QualityBonus | None = None
    forfeited_to: Literal["payer", "community", "aco"] = "payer"
    forfeited_share: Rate = 1.0

    @model_validator(mode="after")
    def _check_terms(self) -> Contract:
        if self.quality_full <= self.quality_floor:
            raise ValueError(
                f"quality_full ({self.quality_full}) must be > quality_floor "
                f"({self.quality_floor})"
            )
        if self.goal_stretch <= self.goal_target:
            raise ValueError(
                f"goal_stretch ({self.goal_stretch}) must be > goal_target ({self.goal_target})"
            )
        if self.loss_rate_ceiling < self.loss_rate_floor:
            raise ValueError(
                f"loss_rate_ceiling ({self.loss_rate_ceiling}) must be >= loss_rate_floor "
                f"({self.loss_rate_floor})"
            )
        if self.quality_method == "ladder" and not self.quality_ladder:
            raise ValueError("quality_ladder is required when quality_method = 'ladder'")
        if self.quality_ladder:
            qs = [s.min_quality for s in self.quality_ladder]
            if qs != sorted(qs):
                raise ValueError("quality_ladder steps must be sorted by min_quality")
        if self.participation_bonus:
            ss = [b.min_share for b in self.participation_bonus]
            if ss != sorted(ss):
                raise ValueError("participation_bonus bands must be sorted by min_share")
        for field in ("msr", "mlr"):
            table = getattr(self, field)
            if isinstance(table, list):
                if not table:
                    raise ValueError(f"{field} table must have at least one band")
                los = [b.lo for b in table]
                if los != sorted(los):
                    raise ValueError(f"{field} table bands must be sorted by lo")
        for name in ("loss_limit_benchmark", "benchmark_discount"):
            value = getattr(self, name)
            if isinstance(value, list) and not value:
                raise ValueError(f"{name} list must not be empty")
        if self.risk_corridors is not None and self.loss_rate_method != "fixed":
            raise ValueError("loss_rate_method must be 'fixed' with risk_corridors (the "
                             "corridors set the loss shares)")
        if self.cms_election:
            ok = self.msr == "cms" or (
                isinstance(self.msr, float)
                and any(abs(self.msr - e) < 1e-12 for e in CMS_ELECTIONS)
            )
            if not ok:
                raise ValueError(
                    f"msr = {self.msr!r} is not a CMS election: allowed 0, 0.005, 0.01, "
                    "0.015, 0.02 or 'cms' (variable scale)"
                )
            if self.mlr != "symmetric":
                raise ValueError("mlr must be 'symmetric' under a CMS election (cms_election)")
        return self

    # ------------------------------------------------------------------ helpers
    def with_terms(self, **terms: Any) -> Contract:
        """Return a copy with some terms overridden, validated like a new contract.

        Examples
        --------
        >>> c = Contract(two_sided=True, msr=0.02, loss_rate=0.3).with_terms(msr=0.01)
        >>> c.msr
        0.01
        """
        data = self.model_dump()
        data.update(terms)
        return make_contract(data, user_terms=set(terms))

    def discount(self, agreement_year: int = 1) -> float:
        """The benchmark discount in year ``agreement_year`` (1-based) of the agreement.

        Examples
        --------
        >>> Contract(benchmark_discount=[0.0175, 0.02]).discount(5)
        0.02
        """
        d = self.benchmark_discount
        if isinstance(d, list):
            return float(d[min(max(agreement_year, 1), len(d)) - 1])
        return float(d)

    def msr_table(self, side: Literal["msr", "mlr"] = "msr") -> tuple[MSRBandRow, ...] | None:
        """Return the sliding-scale table behind ``msr``/``mlr``, or ``None`` if fixed."""
        rule = self.msr if side == "msr" or self.mlr == "symmetric" else self.mlr
        if rule == "cms":
            return CMS_MSR_TABLE
        if isinstance(rule, list):
            return tuple(b.row() for b in rule)
        return None

    def fixed_rate(self, side: Literal["msr", "mlr"] = "msr") -> float | None:
        """Return the fixed MSR/MLR (0 for ``"none"``), or ``None`` for a table."""
        rule = self.msr if side == "msr" or self.mlr == "symmetric" else self.mlr
        if rule == "none":
            return 0.0
        if isinstance(rule, float | int) and not isinstance(rule, bool):
            return float(rule)
        return None


#: Terms that matter only under some other terms: (term, predicate, what it needs).
_APPLIES: tuple[tuple[str, Any, str], ...] = (
    ("mlr", lambda c: c.two_sided, "two_sided = true"),
    ("loss_rate",
     lambda c: c.two_sided and c.loss_rate_method == "fixed" and c.risk_corridors is None,
     "two_sided = true, loss_rate_method = 'fixed' and no risk_corridors"),
    ("max_sharing_rate", lambda c: c.risk_corridors is None,
     "no risk_corridors (the corridors set the shares)"),
    ("participation_bonus", lambda c: c.risk_corridors is None,
     "no risk_corridors"),
    ("loss_rate_method", lambda c: c.two_sided, "two_sided = true"),
    ("loss_rate_floor", lambda c: c.two_sided and c.loss_rate_method != "fixed",
     "loss_rate_method = 'one-minus-quality'"),
    ("loss_rate_ceiling", lambda c: c.two_sided and c.loss_rate_method != "fixed",
     "loss_rate_method = 'one-minus-quality'"),
    ("loss_limit_benchmark", lambda c: c.two_sided, "two_sided = true"),
    ("loss_limit_revenue", lambda c: c.two_sided, "two_sided = true"),
    ("euc_reduces_losses", lambda c: c.two_sided, "two_sided = true"),
    ("sharing_threshold", lambda c: c.sharing_basis == "above-threshold",
     "sharing_basis = 'above-threshold'"),
    ("quality_floor", lambda c: c.quality_method == "scaled", "quality_method = 'scaled'"),
    ("quality_full", lambda c: c.quality_method == "scaled", "quality_method = 'scaled'"),
    ("quality_ladder", lambda c: c.quality_method == "ladder", "quality_method = 'ladder'"),
    ("alternative_standard", lambda c: c.quality_method == "standard",
     "quality_method = 'standard'"),
    ("goal_target", lambda c: c.quality_scoring == "own-goals",
     "quality_scoring = 'own-goals'"),
    ("goal_stretch", lambda c: c.quality_scoring == "own-goals",
     "quality_scoring = 'own-goals'"),
    ("goal_target_share", lambda c: c.quality_scoring == "own-goals",
     "quality_scoring = 'own-goals'"),
    ("improvement_full_at",
     lambda c: c.quality_scoring in ("improvement", "peer-or-improvement"),
     "quality_scoring = 'improvement' or 'peer-or-improvement'"),
    ("forfeited_share", lambda c: c.forfeited_to != "payer",
     "forfeited_to = 'community' or 'aco'"),
)


def inapplicable(contract: Contract, terms: set[str]) -> list[tuple[str, str]]:
    """Terms among ``terms`` set (away from their defaults) that have no effect.

    A term has no effect when ``contract``'s other terms make it moot, e.g. a loss rate
    on a one-sided contract.

    Examples
    --------
    >>> inapplicable(Contract(loss_rate=0.3), {"loss_rate", "msr"})[0][1]
    "does not apply: it needs two_sided = true, loss_rate_method = 'fixed' and no risk_corridors"
    """
    fields = Contract.model_fields
    return [(name, f"does not apply: it needs {needs}")
            for name, ok, needs in _APPLIES
            if name in terms and not ok(contract)
            and getattr(contract, name) != fields[name].get_default(call_default_factory=True)]


def make_contract(data: Mapping[str, Any], *, user_terms: set[str] | None = None) -> Contract:
    """Validate a mapping of terms into a :class:`Contract`.

    Parameters
    ----------
    data : mapping
        Every term to set.
    user_terms : set of str, optional
        The terms the user wrote (default: every key of ``data``): any of them that has
        no effect under the others (``loss_rate`` on a one-sided contract) is an error.

    Raises
    ------
    ContractError
        With every problem listed, each naming its term.
    """
    try:
        c = Contract.model_validate(dict(data))
    except ValidationError as err:
        found = problems(err, data, Contract, unknown="unknown contract term")
        raise ContractError(found) from None
    bad = inapplicable(c, set(data) if user_terms is None else user_terms)
    if bad:
        raise ContractError(bad)
    return c
