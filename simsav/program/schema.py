"""The program Dataset's vocabulary, declared once.

Dims: ``sim``, ``aco`` and ``policy`` (``"baseline"`` first: the roster's own contracts).
Signs as everywhere in simsav: money paid to the ACO is positive; ``shared_losses`` >= 0 is
what the ACO owes. Where a variable matches a column of CMS's public-use files,
``puf_column`` names it.
"""

from __future__ import annotations

import xarray as xr

from simsav.results.schema import Var

__all__ = ["ACO_COORDS", "PROGRAM_VARIABLES", "program_attrs", "validate_program_dataset"]

_S = ("sim",)
_SA = ("sim", "aco")
_SAP = ("sim", "aco", "policy")
_SP = ("sim", "policy")

#: Data variables of :func:`simsav.program.simulate.simulate_program`.
PROGRAM_VARIABLES: dict[str, Var] = {
    "common_shock": Var(_S, "float64", "1",
                        "shock shared by every ACO in the year: the year's trend error and the "
                        "drift's estimation error, on the savings-rate scale"),
    "savings_rate": Var(_SA, "float64", "1", "savings rate (benchmark - expenditure) / benchmark",
                        "Sav_rate"),
    "earned_savings": Var(_SAP, "float64", "USD",
                          "shared savings earned after sequestration and the cap",
                          "EarnSaveLoss (positive part)"),
    "shared_losses": Var(_SAP, "float64", "USD", "shared losses owed by the ACO",
                         "EarnSaveLoss (negative part)"),
    "quality_bonus": Var(("aco", "policy"), "float64", "USD",
                         "quality bonus paid whether or not savings are achieved"),
    "acos_earning": Var(_SP, "float64", "1", "ACOs earning shared savings"),
    "acos_owing": Var(_SP, "float64", "1", "ACOs owing shared losses"),
    "total_earned": Var(_SP, "float64", "USD", "shared savings earned, all ACOs"),
    "total_owed": Var(_SP, "float64", "USD", "shared losses owed, all ACOs"),
    "total_quality_bonus": Var(_SP, "float64", "USD", "quality bonuses, all ACOs"),
    "program_cost": Var(_SP, "float64", "USD",
                        "what the payer pays the ACOs net: earned savings + quality bonuses + "
                        "reinvested forfeits - shared losses"),
    "net_savings": Var(_SP, "float64", "USD",
                       "net savings to the payer: gross savings - program cost"),
    "gross_savings": Var(_S, "float64", "USD",
                         "gross savings, all ACOs: benchmark - expenditure", "BnchmkMinExp"),
    "acos_earning_no_common": Var(_S, "float64", "1",
                                  "ACOs earning under the roster's contracts with no common "
                                  "shock (the same draws otherwise)"),
    "total_earned_no_common": Var(_S, "float64", "USD",
                                  "shared savings earned under the roster's contracts with no "
                                  "common shock"),
    "net_savings_no_common": Var(_S, "float64", "USD",
                                 "net savings to the payer under the roster's contracts with no "
                                 "common shock"),
}

#: Per-ACO coordinates: name -> (units, long name).
ACO_COORDS: dict[str, tuple[str, str]] = {
    "track": ("1", "MSSP track (empty where a preset is named)"),
    "contract": ("1", "the roster's contract that year (preset name)"),
    "size_band": ("1", "size band by assigned beneficiaries"),
    "beneficiaries": ("1", "assigned beneficiaries (N_AB)"),
    "benchmark": ("USD per beneficiary-year", "benchmark per capita"),
    "agreement_year": ("1", "year of the agreement period"),
    "years_in_program": ("1", "years in the program, this one included"),
    "history_years": ("1", "earlier years of the ACO in the calibration files"),
    "credibility": ("1", "weight of the ACO's own history in its forecast (0-1)"),
    "expected_savings_rate": ("1", "forecast mean savings rate"),
    "quality": ("1", "quality score used"),
}


def program_attrs(name: str) -> dict[str, str]:
    """The attrs of program variable ``name``."""
    v = PROGRAM_VARIABLES[name]
    attrs = {"units": v.units, "long_name": v.long_name}
    if v.puf_column:
        attrs["puf_column"] = v.puf_column
    return attrs


def validate_program_dataset(ds: xr.Dataset) -> None:
    """Check a program Dataset against :data:`PROGRAM_VARIABLES` (every one present).

    Raises
    ------
    ValueError
        Naming the first variable missing, unknown, or with the wrong dims, dtype or attrs.
    """
    for name, v in PROGRAM_VARIABLES.items():
        if name not in ds:
            raise ValueError(f"{name}: missing from the Dataset")
        da = ds[name]
        if da.dims != v.dims:
            raise ValueError(f"{name}: dims {da.dims}, expected {v.dims}")
        if str(da.dtype) != v.dtype:
            raise ValueError(f"{name}: dtype {da.dtype}, expected {v.dtype}")
        for attr in ("units", "long_name"):
            if attr not in da.attrs:
                raise ValueError(f"{name}: attribute {attr!r} missing")
    extra = set(map(str, ds.data_vars)) - set(PROGRAM_VARIABLES)
    if extra:
        raise ValueError(f"{sorted(extra)[0]}: not a variable of the program schema")
