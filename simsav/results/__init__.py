"""The results Dataset: its schema (declared once), how it is built, summaries and files.

Dims: ``sim``, ``year``, ``design`` (and ``quantile`` in summaries). Signs: positive is paid to
the ACO; ``shared_losses`` ≥ 0 is what the ACO owes.
"""

from simsav.results.files import atomic_write, open_dataset, save_dataset
from simsav.results.schema import PROVIDER_VARIABLES, VARIABLES, Var, validate_dataset, var_attrs
from simsav.results.summary import QUANTILES, summarize, summary_table

__all__ = [
    "PROVIDER_VARIABLES",
    "QUANTILES",
    "VARIABLES",
    "Var",
    "atomic_write",
    "open_dataset",
    "save_dataset",
    "summarize",
    "summary_table",
    "validate_dataset",
    "var_attrs",
]
