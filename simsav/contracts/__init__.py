"""Contract terms, named presets, and CMS's program-year rules.

:class:`Contract` holds every term the settlement (:mod:`simsav.settlement`) applies;
:data:`PRESETS` names the programs' contracts, each with its sources; :func:`puf_contract`
applies CMS's program-year rules (:mod:`simsav.contracts.program_years`) to an MSSP track.
"""

from simsav.contracts.presets import PRESETS, get_preset, preset_names
from simsav.contracts.program_years import (
    PHE_SHARE_OF_YEAR,
    TRACKS,
    TWO_SIDED_TRACKS,
    puf_contract,
    sequestration_rate,
)
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
    "PHE_SHARE_OF_YEAR",
    "PRESETS",
    "QualityBonus",
    "TRACKS",
    "TWO_SIDED_TRACKS",
    "get_preset",
    "make_contract",
    "preset_names",
    "puf_contract",
    "sequestration_rate",
]
