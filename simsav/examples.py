"""The example scenarios installed with simsav, and copying one to start from.

The files are the repository's ``scenarios/`` directory, shipped as package data
(``simsav/data/scenarios/``, kept identical by a test), so ``simsav init`` works from a
``pip install`` as well as from a checkout.
"""

from __future__ import annotations

import tomllib
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["copy_example", "example_description", "example_paths"]


def _root() -> Traversable:
    return files("simsav") / "data" / "scenarios"


def example_paths() -> dict[str, Traversable]:
    """Example name -> its file: the scenarios first, then one per preset (``presets/NAME``).

    Examples
    --------
    >>> "rural-aco-5k" in example_paths() and "presets/mssp-basic-a" in example_paths()
    True
    """
    root = _root()
    out = {p.name[:-5]: p for p in sorted(root.iterdir(), key=lambda p: p.name)
           if p.name.endswith(".toml")}
    presets = root / "presets"
    out.update({f"presets/{p.name[:-5]}": p
                for p in sorted(presets.iterdir(), key=lambda p: p.name)
                if p.name.endswith(".toml")})
    return out


def example_description(name: str) -> str:
    """The ``description`` of example ``name`` (empty if it has none)."""
    data = tomllib.loads(example_paths()[name].read_text(encoding="utf-8"))
    return str(data.get("description", ""))


def copy_example(name: str, directory: str | Path = ".") -> Path:
    """Copy example ``name`` to ``directory/<name>.toml``; never overwrite a file.

    ``name`` is a scenario (``rural-aco-5k``) or a preset's scenario (``presets/pioneer``,
    or just ``pioneer`` when no scenario has that name).

    Raises
    ------
    KeyError
        For an unknown name (the message lists the known ones).
    FileExistsError
        If the target file exists.
    """
    paths = example_paths()
    key = name.removesuffix(".toml")
    if key not in paths and f"presets/{key}" in paths:
        key = f"presets/{key}"
    if key not in paths:
        raise KeyError(f"no example named {name!r}; known: "
                       f"{', '.join(k for k in paths if not k.startswith('presets/'))} "
                       "and presets/<preset>")
    target = Path(directory) / f"{key.rsplit('/', 1)[-1]}.toml"
    with open(target, "x", encoding="utf-8") as f:  # "x": fails if the file exists
        f.write(paths[key].read_text(encoding="utf-8"))
    return target
