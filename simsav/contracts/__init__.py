"""Contract terms, named presets, and CMS's program-year rules.

:class:`Contract` holds every term the settlement (:mod:`simsav.settlement`) applies;
:data:`PRESETS` names the programs' contracts, each with its sources.
"""

from simsav.contracts.presets import PRESETS, get_preset, preset_names
from simsav.contracts.terms import (
    CMS_ELECTIONS,
    BonusBand,
    Contract,
    ContractError,
    LadderStep,
    MSRBand,
    QualityBonus,
    make_contract,
)

__all__ = [
    "CMS_ELECTIONS",
    "BonusBand",
    "Contract",
    "ContractError",
    "LadderStep",
    "MSRBand",
    "PRESETS",
    "QualityBonus",
    "get_preset",
    "make_contract",
    "preset_names",
]
