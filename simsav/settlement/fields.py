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
from typing import Literal

__all__ = ["FIELDS", "SETTLEMENT_FIELDS", "Field", "field"]

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
    report_row: str | None = None
    puf_column: str | None = None

    @property
    def units(self) -> str:
        """``"USD"`` for money, ``"1"`` otherwise."""
        return "USD" if self.kind == "money" else "1"


def _f(name: str, kind: Kind, long_name: str, doc: str, row: str | None = None,
       puf: str | None = None, dtype: Literal["float64", "int8", "bool"] = "float64") -> Field:
    return Field(name, dtype, kind, long_name, doc, row, puf)


#: Every output of the settlement, in report order.
FIELDS: tuple[Field, ...] = (
    _f("benchmark_total", "money", "total benchmark after contract discount",
       "Total benchmark expenditures after any discount.", "[H]", "ABtotBnchmk"),
    _f("expenditure_total", "money", "total expenditure",
       "Total expenditures.", "[G]", "ABtotExp"),
    _f("gross_savings", "money", "gross savings (negative: losses)",
       "Benchmark minus expenditure, signed.", "[I]", "GenSaveLoss"),
    _f("savings_rate", "rate", "savings rate",
       "Gross savings over the benchmark.", puf="Sav_rate"),
    _f("msr", "rate", "minimum savings rate",
       "Minimum savings rate.", "[L]", "MinSavPerc"),
    _f("mlr", "rate", "minimum loss rate (NaN: one-sided)",
       "Minimum loss rate (NaN for one-sided contracts).", "[M]"),
    _f("outcome", "outcome", "outcome: 1 shared savings, 0 corridor, -1 shared losses",
       "1 savings (cleared the MSR), 0 corridor or below the MSR, -1 losses beyond the MLR.",
       "[P]", dtype="int8"),
    _f("quality_met", "flag", "quality allowed sharing",
       "Whether quality allowed sharing (standard, alternative or gate).", "[S]",
       dtype="bool"),
    _f("final_sharing_rate", "rate", "final sharing rate",
       "Final sharing rate, participation bonus included.", "[T]", "FinalShareRate"),
    _f("shared_savings", "money", "shared savings before sequestration and cap",
       "Shared savings before sequestration and cap.", "[V]"),
    _f("sequestration", "money", "sequestration of shared savings",
       "Sequestration of shared savings.", "[X]"),
    _f("payment_cap", "money", "performance payment limit",
       "Performance payment limit in dollars (inf where none).", "[W]"),
    _f("earned_savings", "money", "earned shared savings after sequestration and cap",
       "Shared savings paid to the ACO, after sequestration and cap.", "[Y]", "EarnSaveLoss"),
    _f("withheld", "money", "earned savings withheld against future losses",
       "Part of the earned savings withheld against future losses."),
    _f("shared_loss_rate", "rate", "shared loss rate (NaN: one-sided)",
       "Shared loss rate (NaN for one-sided contracts).", "[U]", "FinalLossRate"),
    _f("shared_losses_before_cap", "money", "shared losses before the limit",
       "Losses times the shared loss rate.", "[Z]"),
    _f("loss_cap", "money", "loss sharing limit",
       "Loss-sharing limit in dollars (inf where none; NaN for one-sided).", "[BB]"),
    _f("euc_adjustment", "money",
       "reduction of losses for extreme and uncontrollable circumstances",
       "Reduction of shared losses for extreme and uncontrollable circumstances.", "[FF]",
       "DisAdj"),
    _f("shared_losses", "money", "shared losses owed by the ACO (>= 0)",
       "What the ACO owes, >= 0.", "[GG]"),
    _f("quality_bonus", "money", "quality bonus paid regardless of savings",
       "Quality bonus paid whether or not savings are achieved."),
    _f("forfeited", "money", "savings forfeited (MSR or quality missed)",
       "Savings the ACO would have shared but for the MSR or quality."),
    _f("reinvested_community", "money", "forfeited savings reinvested in the community",
       "Forfeited savings reinvested in the community's delivery system."),
    _f("reinvested_aco", "money", "forfeited savings reinvested in the ACO",
       "Forfeited savings reinvested in an earmarked ACO fund."),
    _f("payer_kept", "money", "gross savings kept by the payer",
       "Gross savings the payer keeps (sequestration included); 0 without savings."),
    _f("aco_net", "money", "net to the ACO: earned savings + quality bonus - shared losses",
       "Earned savings plus quality bonus minus shared losses."),
    _f("payer_net", "money", "payer's net against the undiscounted benchmark",
       "The payer's net against the undiscounted benchmark: savings kept, plus losses "
       "recovered, minus quality bonus and reinvestment."),
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
