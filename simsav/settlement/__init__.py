"""The settlement stage: contract rules applied to drawn (or real) ACO-years.

:func:`settle` is the reference for every payout simsav prints; quality scoring,
the distribution of the ACO's money to providers and the ACO's own cash flows sit beside it.
"""

from simsav.settlement.rules import (
    OUTCOME_LABELS,
    SETTLEMENT_FIELDS,
    Settlement,
    settle,
    settle_one,
)

__all__ = ["OUTCOME_LABELS", "SETTLEMENT_FIELDS", "Settlement", "settle", "settle_one"]
