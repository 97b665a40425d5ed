"""Numba options for simsav: the only module that sets them.

Every kernel in :mod:`simsav.kernels.spending` is compiled through :func:`jit`, so the options
live in one place:

* ``nogil=True`` always: kernels run on a thread pool, one block of sims per task
  (see :mod:`simsav.rng`), and must release the GIL to run in parallel.
* ``cache=True`` unless the environment variable ``SIMSAV_NUMBA_CACHE`` is one of
  ``0``, ``false``, ``no`` or ``off`` (read once, at import). Caching is never used with
  ``parallel=True`` (numba's cache has had problems with parallel kernels, e.g.
  numba#4807); simsav has no parallel kernels.
* ``fastmath`` is never on: it would let LLVM reorder the sums and break equality with
  the NumPy reference and between thread counts.

Where numba writes its cache is numba's business (``__pycache__`` next to the module, or
a per-user directory when that is read-only; ``NUMBA_CACHE_DIR`` overrides both).

The first run after an install compiles the kernels (several seconds); later runs load
them from the cache. :func:`on_first_compile` lets a caller (the CLI) say so once, when a
kernel is really compiled rather than loaded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numba
from numba.core import event

__all__ = ["CACHE", "cache_enabled", "jit", "on_first_compile"]

F = TypeVar("F", bound=Callable[..., Any])

_FALSE = frozenset({"0", "false", "no", "off"})


def cache_enabled(environ: dict[str, str] | None = None) -> bool:
    """Return whether kernels are cached on disk, from ``SIMSAV_NUMBA_CACHE``.

    Parameters
    ----------
    environ : dict, optional
        Mapping to read instead of ``os.environ``.

    Returns
    -------
    bool
        ``False`` when the variable is ``0``, ``false``, ``no`` or ``off`` (any case),
        ``True`` otherwise (also when unset).

    Examples
    --------
    >>> cache_enabled({"SIMSAV_NUMBA_CACHE": "off"})
    False
    >>> cache_enabled({})
    True
    """
    env = os.environ if environ is None else environ
    return env.get("SIMSAV_NUMBA_CACHE", "1").strip().lower() not in _FALSE


#: Whether :func:`jit` caches compiled kernels on disk (read once, at import).
CACHE: bool = cache_enabled()


def jit(func: F | None = None, **options: Any) -> Any:
    """Compile ``func`` in nopython mode with simsav's options.

    Parameters
    ----------
    func : callable, optional
        Function to compile. Without it, returns a decorator.
    **options
        Extra :func:`numba.njit` options. ``fastmath`` and ``parallel`` are refused.

    Returns
    -------
    numba dispatcher or decorator

    Raises
    ------
    ValueError
        If ``fastmath`` or ``parallel`` is asked for.
    """
    for banned in ("fastmath", "parallel"):
        if options.get(banned):
            raise ValueError(f"simsav kernels never use {banned}=True")
    opts: dict[str, Any] = {"nogil": True, "cache": CACHE, "error_model": "numpy"}
    opts.update(options)
    if func is None:
        return numba.njit(**opts)
    return numba.njit(**opts)(func)


class _FirstCompile(event.Listener):
    """Calls its callback once, at the first kernel numba really compiles."""

    def __init__(self, callback: Callable[[], None]):
        self._callback: Callable[[], None] | None = callback
        self._lock = threading.Lock()

    def on_start(self, ev: event.Event) -> None:  # noqa: D102
        with self._lock:
            callback, self._callback = self._callback, None
        if callback is not None:
            callback()

    def on_end(self, ev: event.Event) -> None:  # noqa: D102
        pass


def on_first_compile(callback: Callable[[], None]) -> None:
    """Call ``callback()`` once in this process, when numba first compiles a kernel.

    Loading a kernel from numba's on-disk cache is not compiling: with a warm cache the
    callback never runs. Numba fires its ``numba:compile`` event only on a cache miss.
    """
    event.register("numba:compile", _FirstCompile(callback))
