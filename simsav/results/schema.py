"""The results Dataset's vocabulary, declared once.

Dims: ``sim``, ``year``, ``design`` (and ``provider`` with provider panels). Signs:
positive is paid to the ACO; ``shared_losses`` >= 0 is what the ACO owes. Every variable
carries ``units`` and ``long_name``; where it matches a column of CMS's MSSP public-use
files, ``puf_column`` names it so results line up with the real program. The settlement's
variables come from :data:`simsav.settlement.fields.FIELDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from simsav.settlement.fields import FIELDS
from simsav.settlement.finances import FINANCE_VARIABLES as FINANCES

__all__ = [
    "ALL_VARIABLES",
    "ATTRIBUTION_VARIABLES",
    "FINANCE_VARIABLES",
    "PROVIDER_VARIABLES",
    "STOP_LOSS_VARIABLES",
    "VARIABLES",
    "Var",
    "dataset_bytes",
    "validate_dataset",
    "var_attrs",
]


@dataclass(frozen=True)
class Var:
    """Schema entry of one Dataset variable."""

    dims: tuple[str, ...]
    dtype: str
    units: str
    long_name: str
    puf_column: str | None = None


_SYD = ("sim", "year", "design")
_SY = ("sim", "year")
PC = "USD per beneficiary-year"

#: The Dataset vocabulary of :func:`simsav.simulate`.
VARIABLES: dict[str, Var] = {
    "n_beneficiaries": Var(("year",), "float64", "1", "assigned beneficiaries", "N_AB"),
    "benchmark": Var(_SY, "float64", PC, "benchmark per capita before any discount",
                     "UpdatedBnchmk"),
    "expenditure": Var(_SY, "float64", PC, "actual expenditure per capita (truncated)",
                       "Per_Capita_Exp_TOTAL_PY"),
    "quality": Var(_SY, "float64", "1", "quality score"),
    "true_savings": Var(_SY, "float64", "1", "true savings of the ACO, fraction of spending"),
    "quality_rank": Var(_SY, "float64", "1",
                        "quality score's rank among peers (percentile for CMS points)"),
    "revenue": Var(_SY, "float64", "USD",
                   "ACO participants' A+B FFS revenue, for revenue-based loss limits (NaN: "
                   "unknown)"),
    "agreement_year": Var(("year",), "int64", "1", "year of the agreement period settled"),
    "euc_fraction": Var(("year",), "float64", "1",
                        "share of shared losses forgiven for extreme and uncontrollable "
                        "circumstances"),
    "low_revenue": Var(("year",), "bool", "1", "low-revenue ACO (may share below the MSR)"),
    **{f.name: Var(_SYD, f.dtype, f.units, f.long_name, f.puf_column) for f in FIELDS},
    "aco_paid": Var(_SYD, "float64", "USD",
                    "paid to the ACO in the year under the design's reconciliation, net of "
                    "losses and with any deferred true-up"),
    "true_up": Var(_SYD, "float64", "USD",
                   "deferred-reconciliation payment on cumulative savings (last year)"),
    "prepaid_paid": Var(_SYD, "float64", "USD",
                        "prepaid shared savings paid during the year (recouped from later "
                        "savings)"),
}

#: Present only when a design has specific stop-loss (dim ``attachment``: its key).
STOP_LOSS_VARIABLES: dict[str, Var] = {
    "stop_loss_excess": Var(("sim", "year", "attachment"), "float64", PC,
                            "spending above the stop-loss attachment, summed over "
                            "beneficiaries, per capita"),
    "stop_loss_expected": Var(("year", "attachment"), "float64", PC,
                              "expected spending above the attachment (closed form)"),
}


_SYP = ("sim", "year", "provider")

#: Variables present only with a ``[providers]`` table (and a ``[distribution]`` policy).
PROVIDER_VARIABLES: dict[str, Var] = {
    "provider_savings": Var(_SYP, "float64", "USD",
                            "provider panel's savings: benchmark minus expenditure"),
    "provider_quality": Var(_SYP, "float64", "1", "provider's quality score"),
    "provider_payout": Var(("sim", "year", "design", "provider"), "float64", "USD",
                           "paid to the provider (negative: losses charged to it)"),
    "dist_infrastructure": Var(_SYD, "float64", "USD", "kept by the ACO for infrastructure"),
    "dist_reserve_in": Var(_SYD, "float64", "USD", "put into the downside-risk reserve"),
    "dist_reserve_paid_losses": Var(_SYD, "float64", "USD", "shared losses paid by the reserve"),
    "dist_reserve_balance": Var(_SYD, "float64", "USD", "reserve balance at year end"),
    "dist_losses_beyond_reserve": Var(_SYD, "float64", "USD",
                                      "shared losses beyond the reserve"),
    "dist_entity_losses": Var(_SYD, "float64", "USD", "losses borne by the ACO entity"),
    "dist_unallocated": Var(_SYD, "float64", "USD",
                            "gains no eligible provider could receive, kept by the ACO"),
    "aco_fund_balance": Var(_SYD, "float64", "USD",
                            "earmarked ACO fund from reinvested savings (recommendation 5)"),
    "distributed": Var(_SYD, "float64", "USD", "distributed to participants (net)"),
}


#: Present only under churn or retrospective assignment.
ATTRIBUTION_VARIABLES: dict[str, Var] = {
    "n_attributed": Var(_SY, "float64", "1", "attributed beneficiaries", "N_AB"),
}

#: Present only with a ``[finances]`` table.
FINANCE_VARIABLES: dict[str, Var] = {
    name: Var(_SYD, "float64", "USD", long_name) for name, long_name in FINANCES.items()
}

#: Every variable a results Dataset may hold.
ALL_VARIABLES: dict[str, Var] = {
    **VARIABLES, **ATTRIBUTION_VARIABLES, **PROVIDER_VARIABLES, **FINANCE_VARIABLES,
    **STOP_LOSS_VARIABLES}


def validate_dataset(ds: xr.Dataset) -> None:
    """Check a results Dataset against the schema.

    Every variable of :data:`VARIABLES` must be present, every variable must be one of
    :data:`ALL_VARIABLES`, with its dims, dtype, ``units`` and ``long_name``.

    Raises
    ------
    ValueError
        Naming the first variable that is missing, unknown, or has the wrong dims, dtype
        or attrs.
    """
    for name in VARIABLES:
        if name not in ds:
            raise ValueError(f"{name}: missing from the Dataset")
    for name, da in ds.data_vars.items():
        v = ALL_VARIABLES.get(str(name))
        if v is None:
            raise ValueError(f"{name}: not a variable of the results schema")
        if da.dims != v.dims:
            raise ValueError(f"{name}: dims {da.dims}, expected {v.dims}")
        if str(da.dtype) != v.dtype:
            raise ValueError(f"{name}: dtype {da.dtype}, expected {v.dtype}")
        for attr in ("units", "long_name"):
            if attr not in da.attrs:
                raise ValueError(f"{name}: attribute {attr!r} missing")


#: CF flag attributes of coded variables (``flag_values`` in the variable's own dtype).
FLAGS: dict[str, dict[str, Any]] = {
    "outcome": {"flag_values": np.array([-1, 0, 1], dtype=np.int8),
                "flag_meanings": "shared_losses corridor_or_below_msr shared_savings"},
}


def var_attrs(name: str) -> dict[str, Any]:
    """The attrs of schema variable ``name`` (CF flags for a coded variable).

    Examples
    --------
    >>> var_attrs("outcome")["flag_meanings"]
    'shared_losses corridor_or_below_msr shared_savings'
    """
    v = ALL_VARIABLES[name]
    attrs: dict[str, Any] = {"units": v.units, "long_name": v.long_name}
    if v.puf_column:
        attrs["puf_column"] = v.puf_column
    attrs.update(FLAGS.get(name, {}))
    return attrs


def dataset_bytes(*, n_sims: int, years: int, designs: int, providers: int = 0,
                  distribution: bool = False, finances: bool = False,
                  attributed: bool = False) -> int:
    """Bytes of the results Dataset of a run of this shape (8 bytes a value, at most).

    Examples
    --------
    >>> dataset_bytes(n_sims=10_000, years=1, designs=2) // 1_000_000
    6
    """
    sy = n_sims * years
    inputs = sum(1 for v in VARIABLES.values() if v.dims == ("sim", "year"))
    per_design = sum(1 for v in VARIABLES.values() if "design" in v.dims)
    if distribution:
        per_design += sum(1 for v in PROVIDER_VARIABLES.values() if v.dims == _SYD)
    if finances:
        per_design += len(FINANCE_VARIABLES)
    total = sy * (inputs + int(attributed)) + sy * designs * per_design
    if providers:
        total += sy * providers * 2 + (sy * designs * providers if distribution else 0)
    return 8 * total
