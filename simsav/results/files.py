"""Results on disk: netCDF written atomically, read back with the schema's dtypes."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import xarray as xr

from simsav.results.schema import ALL_VARIABLES

__all__ = ["atomic_write", "open_dataset", "save_dataset"]

_COMPRESS_FROM = 16 * 1024  # bytes: below this the chunk index outweighs the saving


def atomic_write(path: str | Path, write: Any) -> Path:
    """Write a file atomically: ``write(tmp_path)`` then rename over ``path``.

    An interrupted run leaves no half-written file at ``path``. The directory must exist:
    nothing is created on the way.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent} does not exist")
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:  # the file and the handler that removes it come into being together
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_dataset(ds: xr.Dataset, path: str | Path, *, complevel: int = 4) -> Path:
    """Save a results Dataset to netCDF-4, compressed (zlib, shuffle), atomically.

    Numeric variables of 16 KiB or more are compressed losslessly at ``complevel`` (1–9;
    0: none) — a (sim, year, design) variable shrinks about threefold; smaller ones and
    strings are stored as they are (a compressed variable costs a few KiB of index).
    :func:`open_dataset` reads back the identical Dataset.
    """
    encoding = {
        str(k): {"zlib": True, "complevel": complevel, "shuffle": True}
        for k, v in ds.variables.items()
        if complevel and v.dtype.kind in "biuf" and v.nbytes >= _COMPRESS_FROM
    }
    return atomic_write(path, lambda p: ds.to_netcdf(p, engine="netcdf4", encoding=encoding))


def open_dataset(path: str | Path) -> xr.Dataset:
    """Open a results Dataset saved by :func:`save_dataset` (loaded into memory)."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        out = ds.load()
    return _restore_dtypes(out)


def _restore_dtypes(ds: xr.Dataset) -> xr.Dataset:
    for name, v in ALL_VARIABLES.items():
        if name in ds and v.dtype == "bool" and ds[name].dtype != bool:
            ds[name] = ds[name].astype(bool)
    return ds

