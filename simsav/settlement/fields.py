"""The settlement's outputs, declared once.

:data:`FIELDS` lists every quantity :func:`simsav.settlement.settle` returns, in the order
of CMS's settlement report (Table 3 of the Financial Reconciliation Report, rows [A]–[GG])
with simsav's additions after it. The :class:`~simsav.settlement.Settlement` result type,
the results Dataset's per-design variables (:data:`simsav.results.schema.VARIABLES`) and
the ``simsav settle`` command's rows and JSON keys are all derived from this table, so a
new settlement quantity is declared here and nowhere else.

Money is in dollars (totals, not per capita); rates are fractions; signs: paid to the ACO
is positive, ``shared_losses`` >= 0 is what the ACO owes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["FIELDS", "SETTLEMENT_FIELDS", "Field", "applies", "applies_to", "field"]

Kind = Literal["money", "rate", "outcome", "flag"]


@dataclass(frozen=True)
class Field:
    """One settlement output.

    Attributes
    ----------
    name : str
        Attribute of :class:`~simsav.settlement.Settlement` and Dataset variable name.
    dtype : {"float64", "int8", "bool"}
    kind : {"money", "rate", "outcome", "flag"}
        How it is shown: dollars, a percentage, an outcome label or yes/no.
    long_name : str
        One line, for Dataset attrs and the ``simsav settle`` table.
    doc : str
        What it is, for the result type's docstring.
    label : str
        Short label for a table row (``simsav settle``).
    applies : str
        When the quantity can be non-trivial: ``"always"``, or only for ``"two-sided"``
        contracts, a contract with a ``"withhold"``, a ``"quality-bonus"``, reinvesting
        forfeited savings in the ``"community"`` or the ``"aco"``, a
        ``"quality-withhold"``, ``"stop-loss"``, ``"capitation"``, ``"prepaid"`` savings
        or either of the last two (``"advances"``); tables leave the others out.
    report_row : str, optional
        The row of CMS's settlement report it matches (``"[Y]"``).
    puf_column : str, optional
        The matching column of CMS's MSSP public-use files.
    """

    name: str
    dtype: Literal["float64", "int8", "bool"]
    kind: Kind
    long_name: str
    doc: str
    label: str
    applies: str = "always"
    report_row: str | None = None
    puf_column: str | None = None

    @property
    def units(self) -> str:
        """``"USD"`` for money, ``"1"`` otherwise."""
        return "USD" if self.kind == "money" else "1"


def _f(name: str, kind: Kind, long_name: str, doc: str, row: str | None = None,
       puf: str | None = None, dtype: Literal["float64", "int8", "bool"] = "float64", *,
       label: str, applies: str = "always") -> Field:
    return Field(name, dtype, kind, long_name, doc, label, applies, row, puf)


#: Every output of the settlement, in report order.
FIELDS: tuple[Field, ...] = (
    _f("benchmark_total", "money", "total benchmark after contract discount",
       "Total benchmark expenditures after any discount.", "[H]", "ABtotBnchmk",
       label="Total benchmark"),
    _f("quality_withheld", "money", "quality withhold taken from the benchmark",
       "The quality withhold: its share of the benchmark before discount.",
       label="  quality withhold", applies="quality-withhold"),
    _f("quality_earned_back", "money", "quality withhold earned back",
       "The part of the withhold earned back by the quality score (in the benchmark).",
       label="  earned back", applies="quality-withhold"),
    _f("expenditure_total", "money", "total expenditure (net of stop-loss)",
       "Total expenditures, net of stop-loss recoveries and plus the stop-loss premium.",
       "[G]", "ABtotExp", label="Total expenditure"),
    _f("stop_loss_recovery", "money", "stop-loss recoveries",
       "Spending covered by stop-loss (taken off the expenditure).",
       label="  stop-loss recoveries", applies="stop-loss"),
    _f("stop_loss_premium", "money", "stop-loss premium",
       "The stop-loss premium charged to the ACO (added to the expenditure).",
       label="  stop-loss premium", applies="stop-loss"),
    _f("gross_savings", "money", "gross savings (negative: losses)",
       "Benchmark minus expenditure, signed.", "[I]", "GenSaveLoss",
       label="Gross savings (losses)"),
    _f("savings_rate", "rate", "savings rate",
       "Gross savings over the benchmark.", puf="Sav_rate", label="Savings rate"),
    _f("msr", "rate", "minimum savings rate",
       "Minimum savings rate.", "[L]", "MinSavPerc", label="Minimum savings rate"),
    _f("mlr", "rate", "minimum loss rate (NaN: one-sided)",
       "Minimum loss rate (NaN for one-sided contracts).", "[M]",
       label="Minimum loss rate", applies="two-sided"),
    _f("outcome", "outcome",
       "outcome: 1 shared savings, 0 corridor, -1 shared losses, 2 reduced sharing below MSR",
       "1 savings (cleared the MSR), 0 corridor or below the MSR, -1 losses beyond the MLR, "
       "2 savings below the MSR shared at a low-revenue ACO's reduced rate.",
       "[P]", dtype="int8", label="Outcome"),
    _f("quality_met", "flag", "quality allowed sharing",
       "Whether quality allowed sharing (standard, alternative or gate).", "[S]",
       dtype="bool", label="Quality allowed sharing"),
    _f("final_sharing_rate", "rate", "final sharing rate",
       "Final sharing rate, participation bonus included.", "[T]", "FinalShareRate",
       label="Final sharing rate"),
    _f("shared_savings", "money", "shared savings before sequestration and cap",
       "Shared savings before sequestration and cap.", "[V]", label="Shared savings"),
    _f("sequestration", "money", "sequestration of shared savings",
       "Sequestration of shared savings.", "[X]", label="  less sequestration"),
    _f("payment_cap", "money", "performance payment limit",
       "Performance payment limit in dollars (inf where none).", "[W]", label="  payment cap"),
    _f("earned_savings", "money", "earned shared savings after sequestration and cap",
       "Shared savings paid to the ACO, after sequestration and cap.", "[Y]", "EarnSaveLoss",
       label="Earned savings"),
    _f("withheld", "money", "earned savings withheld against future losses",
       "Part of the earned savings withheld against future losses.",
       label="  of which withheld", applies="withhold"),
    _f("shared_loss_rate", "rate", "shared loss rate (NaN: one-sided)",
       "Shared loss rate (NaN for one-sided contracts).", "[U]", "FinalLossRate",
       label="Shared loss rate", applies="two-sided"),
    _f("shared_losses_before_cap", "money", "shared losses before the limit",
       "Losses times the shared loss rate.", "[Z]",
       label="Shared losses before cap", applies="two-sided"),
    _f("loss_cap", "money", "loss sharing limit",
       "Loss-sharing limit in dollars (inf where none; NaN for one-sided).", "[BB]",
       label="  loss cap", applies="two-sided"),
    _f("euc_adjustment", "money",
       "reduction of losses for extreme and uncontrollable circumstances",
       "Reduction of shared losses for extreme and uncontrollable circumstances.", "[FF]",
       "DisAdj", label="  EUC reduction", applies="two-sided"),
    _f("shared_losses", "money", "shared losses owed by the ACO (>= 0)",
       "What the ACO owes, >= 0.", "[GG]", label="Shared losses owed", applies="two-sided"),
    _f("quality_bonus", "money", "quality bonus paid regardless of savings",
       "Quality bonus paid whether or not savings are achieved.",
       label="Quality bonus", applies="quality-bonus"),
    _f("forfeited", "money", "savings forfeited (MSR or quality missed)",
       "Savings the ACO would have shared but for the MSR or quality.", label="Forfeited savings"),
    _f("reinvested_community", "money", "forfeited savings reinvested in the community",
       "Forfeited savings reinvested in the community's delivery system.",
       label="  reinvested in the community", applies="community"),
    _f("reinvested_aco", "money", "forfeited savings reinvested in the ACO",
       "Forfeited savings reinvested in an earmarked ACO fund.",
       label="  reinvested in the ACO", applies="aco"),
    _f("payer_kept", "money", "gross savings kept by the payer",
       "Gross savings the payer keeps (sequestration included); 0 without savings.",
       label="Kept by payer"),
    _f("aco_net", "money", "net to the ACO: earned savings + quality bonus - shared losses",
       "Earned savings plus quality bonus minus shared losses.", label="Net to ACO"),
    _f("capitation_paid", "money", "capitation paid in advance during the year",
       "Capitation advanced during the year (a share of the benchmark).",
       label="Capitation advanced", applies="capitation"),
    _f("capitation_recouped", "money", "capitation recouped at settlement",
       "Capitation recouped at settlement.", label="  recouped", applies="capitation"),
    _f("prepaid_recouped", "money", "prepaid shared savings recouped",
       "Prepaid shared savings recouped from the earned savings.",
       label="Prepaid savings recouped", applies="prepaid"),
    _f("prepaid_outstanding", "money", "prepaid shared savings still outstanding",
       "Prepaid shared savings not yet recouped after this settlement.",
       label="  still outstanding", applies="prepaid"),
    _f("settlement_payment", "money",
       "paid to (+) or by (-) the ACO at settlement, after recoupments",
       "Earned savings plus quality bonus, minus shared losses and the capitation and "
       "prepaid savings recouped.", label="Paid at settlement", applies="advances"),
    _f("payer_net", "money", "payer's net against the undiscounted benchmark",
       "The payer's net against the undiscounted benchmark: savings kept, plus losses "
       "recovered, minus quality bonus and reinvestment.", label="Payer net"),
)

#: The field names, in order.
SETTLEMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS)

_BY_NAME = {f.name: f for f in FIELDS}


def field(name: str) -> Field:
    """Return the declaration of settlement output ``name``.

    Examples
    --------
    >>> field("earned_savings").report_row, field("earned_savings").puf_column
    ('[Y]', 'EarnSaveLoss')
    """
    return _BY_NAME[name]


def applies(f: Field, *, two_sided: bool, withhold: bool, quality_bonus: bool,
            forfeited_to: str, quality_withhold: bool = False, stop_loss: bool = False,
            capitation: bool = False, prepaid: bool = False) -> bool:
    """Whether output ``f`` can be non-trivial under a contract with these terms.

    Examples
    --------
    >>> applies(field("shared_losses"), two_sided=False, withhold=False,
    ...         quality_bonus=False, forfeited_to="payer")
    False
    """
    return {"always": True, "two-sided": two_sided, "withhold": withhold,
            "quality-bonus": quality_bonus, "community": forfeited_to == "community",
            "aco": forfeited_to == "aco", "quality-withhold": quality_withhold,
            "stop-loss": stop_loss, "capitation": capitation, "prepaid": prepaid,
            "advances": capitation or prepaid}[f.applies]


def applies_to(f: Field, contract: Any) -> bool:
    """Whether output ``f`` can be non-trivial under ``contract`` (a Contract).

    Examples
    --------
    >>> from simsav.contracts import get_preset
    >>> applies_to(field("shared_losses"), get_preset("mssp-basic-a"))
    False
    """
    c = contract
    return applies(f, two_sided=c.two_sided, withhold=c.withhold > 0,
                   quality_bonus=c.quality_bonus is not None, forfeited_to=c.forfeited_to,
                   quality_withhold=c.quality_withhold > 0,
                   stop_loss=c.specific_stop_loss is not None
                   or c.aggregate_stop_loss is not None,
                   capitation=c.capitation is not None,
                   prepaid=c.prepaid_savings is not None)
