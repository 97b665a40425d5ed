"""simsav: Monte Carlo pricing of the risk in accountable-care shared-savings contracts.

The public API is listed in ``__all__`` and pinned by ``tests/test_public_api.py``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from simsav.contracts import PRESETS, Contract, ContractError, get_preset, preset_names
from simsav.msr import cms_msr
from simsav.settle import Settlement, settle, settle_one

try:
    __version__ = version("simsav")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

presets = PRESETS

__all__ = [
    "Contract",
    "ContractError",
    "PRESETS",
    "Settlement",
    "__version__",
    "cms_msr",
    "get_preset",
    "preset_names",
    "presets",
    "settle",
    "settle_one",
]
