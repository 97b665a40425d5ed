"""A run's output files written as one unit: all of them, from one run, or none.

:class:`OutputSet` writes every file of a run (results.nc, summary.csv, plots, ...) into a
temporary directory beside the target and, once all are written and a ``manifest.json``
listing them (with sizes and SHA-256) is written last, swaps the new set in for the old in
one step (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames with SIGINT and
SIGTERM held off). A run that fails or is stopped at any point leaves the earlier set as it
was and no temporary files; a set without its manifest is not a finished set.

The target is checked before a run starts (:meth:`OutputSet.check`): it must be a new
directory, an empty one, or an earlier output set — never a file, never a directory
holding other files, its parent must exist and be writable. A lock file beside it
(``.NAME.lock``, held with ``flock``) refuses a second run into the same directory at the
same time, with a message; the lock goes with the process, even if it is killed.

For tests of the guarantees, the environment variable ``SIMSAV_SIGNAL_AT`` =
``"FILE:SIGNAL"`` makes the process send itself ``SIGNAL`` (``SIGINT`` or ``SIGTERM``) right
after writing ``FILE`` into the set (or at ``start``, once the run holds the directory, or
at ``swap``, just before the swap).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST", "OutputError", "OutputSet"]

#: The file written last into every finished set.
MANIFEST = "manifest.json"

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(ValueError):
    """The output directory cannot take this run's files; the message says why."""


def _renameat2() -> Callable[..., int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                   ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM off for a few system calls (delivered right after)."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _fault(point: str) -> None:
    """The fault-injection point of ``SIMSAV_SIGNAL_AT`` (see the module docstring)."""
    spec = os.environ.get("SIMSAV_SIGNAL_AT", "")
    if spec and spec.rsplit(":", 1)[0] == point:
        os.kill(os.getpid(), getattr(signal, spec.rsplit(":", 1)[1]))


def _set_files(directory: Path) -> set[str]:
    """The files an earlier output set in ``directory`` wrote (none without a manifest)."""
    try:
        listed = json.loads((directory / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {MANIFEST, *listed} if isinstance(listed, dict) else set()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class OutputSet:
    """Write a run's files into ``target`` as one unit (see the module docstring).

    Use as a context manager; :meth:`path` names a file inside the set being written::

        with OutputSet("out/") as out:
            ds.to_netcdf(out.path("results.nc"))
            table.to_csv(out.path("summary.csv"))
        # out/ now holds both files and manifest.json, or, on any error, what it held
    """

    def __init__(self, target: str | Path, *, known: tuple[str, ...] = (),
                 about: dict[str, Any] | None = None):
        self.target = Path(target)
        self.known = set(known) | {MANIFEST}
        self.about = dict(about or {})
        self._tmp: Path | None = None
        self._lock_fd: int | None = None
        self._lock_path = self.target.parent / f".{self.target.name}.lock"

    def check(self) -> None:
        """Refuse a target that cannot take the set, before any work is done.

        Raises
        ------
        OutputError
            For a file, a directory under a file, a missing or read-only parent, or a
            directory that holds files other than an earlier output set's.
        """
        t = self.target
        for parent in t.parents:
            if parent.exists() and not parent.is_dir():
                raise OutputError(f"{t} is under {parent}, which is a file, not a directory")
        if t.exists() and not t.is_dir():
            raise OutputError(f"{t} exists and is a file, not a directory")
        if not t.parent.exists():
            raise OutputError(f"{t.parent} does not exist (create it first; simsav does "
                              "not create directories on its own)")
        if not os.access(t.parent, os.W_OK | os.X_OK):
            raise OutputError(f"{t.parent} is not writable")
        if t.is_dir():
            if not os.access(t, os.W_OK | os.X_OK):
                raise OutputError(f"{t} is not writable")
            others = sorted(p.name for p in t.iterdir() if p.name not in _set_files(t))
            if others:
                raise OutputError(
                    f"{t} holds other files ({', '.join(others[:3])}"
                    f"{', ...' if len(others) > 3 else ''}); give a new or empty directory, "
                    "or one that an earlier simsav run wrote")

    def __enter__(self) -> OutputSet:
        self.check()
        fd = os.open(self._lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(f"another simsav run is writing {self.target} now; wait for it "
                              "to finish or choose another directory") from None
        self._lock_fd = fd
        try:
            with _signals_held():  # the directory and its name, together
                self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-",
                                                  dir=self.target.parent))
            _fault("start")
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def path(self, name: str) -> Path:
        """Where to write file ``name`` of the set (inside the temporary directory)."""
        assert self._tmp is not None, "use OutputSet as a context manager"
        if "/" in name or name in ("", ".", "..") or name == MANIFEST:
            raise ValueError(f"name: a plain file name other than {MANIFEST}, got {name!r}")
        self.known.add(name)
        return self._tmp / name

    def written(self, name: str) -> None:
        """Note that file ``name`` is complete (a fault-injection point for tests)."""
        _fault(name)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self._finish()
        finally:
            with _signals_held():
                if self._tmp is not None and self._tmp.exists():
                    shutil.rmtree(self._tmp, ignore_errors=True)
                self._unlock()

    def _finish(self) -> None:
        assert self._tmp is not None
        files = sorted(p.name for p in self._tmp.iterdir())
        manifest = {"files": {f: {"bytes": (self._tmp / f).stat().st_size,
                                  "sha256": _sha256(self._tmp / f)} for f in files},
                    **self.about}
        (self._tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o777 & ~umask)
        _fault("swap")
        with _signals_held():
            self._swap()

    def _swap(self) -> None:
        """Put the new set in place of the old in one step; the old goes to the temp path."""
        assert self._tmp is not None
        if not self.target.exists():
            os.rename(self._tmp, self.target)
            return
        exchange = _renameat2()
        if exchange is not None and exchange(_AT_FDCWD, bytes(self._tmp), _AT_FDCWD,
                                             bytes(self.target), _RENAME_EXCHANGE) == 0:
            return  # the old set is now at self._tmp, removed by __exit__
        old = self.target.parent / f".{self.target.name}.old-{os.getpid()}"
        os.rename(self.target, old)
        os.rename(self._tmp, self.target)
        os.rename(old, self._tmp)

    def _unlock(self) -> None:
        if self._lock_fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self._lock_path)
        os.close(self._lock_fd)
        self._lock_fd = None
