"""What every command shares: the input error, JSON output, formatting, progress, files."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "InputError",
    "number_arg",
    "parse_terms",
    "term_value",
    "whole_arg",
    "clean_json",
    "compile_notice",
    "load_scenario_arg",
    "money",
    "pct",
    "print_json",
    "progress",
    "save_png",
    "write_png",
]


def whole_arg(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[lo, hi]`` (``2000`` or ``2000.0``, not ``2e3.5``).

    Examples
    --------
    >>> whole_arg(1, 10)("7")
    7
    """
    rng = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"must be a whole number {rng}, got {text!r}") from None
            if not (math.isfinite(f) and f.is_integer()):
                raise argparse.ArgumentTypeError(
                    f"must be a whole number {rng}, got {text!r}") from None
            value = int(f)
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be a whole number {rng}, got {text!r}")
        return value

    return parse


def number_arg(lo: float | None = None, hi: float | None = None, *,
               lo_open: bool = False, hi_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number within the bounds given.

    Examples
    --------
    >>> number_arg(0, 1)("0.25")
    0.25
    """
    if lo is not None and hi is not None:
        rng = f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    elif lo is not None:
        rng = f"{'>' if lo_open else '>='} {lo:g}"
    elif hi is not None:
        rng = f"{'<' if hi_open else '<='} {hi:g}"
    else:
        rng = ""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        bad = not math.isfinite(value)
        bad |= lo is not None and (value <= lo if lo_open else value < lo)
        bad |= hi is not None and (value >= hi if hi_open else value > hi)
        if bad:
            raise argparse.ArgumentTypeError(
                f"must be a finite number{' ' + rng if rng else ''}, got {text!r}")
        return value

    return parse


def term_value(text: str) -> Any:
    """A ``--term`` value read as TOML (``0.03``, ``true``, ``[0.05, 0.075]``), else text.

    Examples
    --------
    >>> term_value("0.03"), term_value("true"), term_value("cms")
    (0.03, True, 'cms')
    """
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_terms(items: list[str] | None, *, designs: bool = False) -> dict[str, dict[str, Any]]:
    """``--term [DESIGN:]KEY=VALUE`` arguments, by design name (``""``: every design).

    Raises
    ------
    InputError
        For an item without ``=`` or a design prefix where none is allowed.
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--term: expected KEY=VALUE, got {item!r}")
        design = ""
        if designs and ":" in key:
            design, _, key = key.rpartition(":")
        elif ":" in key:
            raise InputError(f"--term: expected KEY=VALUE, got {item!r}")
        out.setdefault(design, {})[key.strip()] = term_value(value.strip())
    return out


class InputError(Exception):
    """Bad user input: reported on stderr with exit code 2."""


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def clean_json(obj: Any) -> Any:
    """Replace NaN/inf by None so the output is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: clean_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean_json(v) for v in obj]
    return obj


def print_json(obj: Any) -> None:
    """Print ``obj`` as strict JSON (NaN and inf as null)."""
    print(json.dumps(clean_json(obj), indent=2, default=_json_default, allow_nan=False))


def money(x: float) -> str:
    """``$1,234.56``; ``–`` for NaN, ``no limit`` for inf."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "no limit"
    return f"${x:,.2f}"


def pct(x: float) -> str:
    """``2.500%``; ``–`` for NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.3%}"


@contextlib.contextmanager
def progress(total: int, desc: str, *, quiet: bool) -> Iterator[Callable[[int], Any] | None]:
    """A tqdm bar on stderr for runs over a second; none if quiet or not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="sim", file=sys.stderr, delay=1.0,
              leave=False) as bar:
        yield bar.update


def compile_notice() -> None:
    """Say once on stderr when the numba kernels compile (the first run after install)."""
    from simsav._numba import on_first_compile

    on_first_compile(lambda: print(
        "simsav: compiling the simulation kernels for this machine (first run after "
        "install, about 15 s; cached for later runs)", file=sys.stderr, flush=True))


def load_scenario_arg(path: str) -> Any:
    """The scenario a command line names, or an :class:`InputError` saying why not."""
    from simsav.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except FileNotFoundError:
        raise InputError(f"scenario file not found: {path}") from None
    except ScenarioError as e:
        raise InputError(str(e)) from None


def write_png(path: Path, draw: Callable[[], Any]) -> None:
    """Draw off-screen (Agg) and write the figure of the Axes ``draw()`` returns to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = draw()
    try:
        ax.figure.savefig(path, dpi=120, format="png")
    finally:
        plt.close(ax.figure)


def save_png(path: str | Path, draw: Callable[[], Any]) -> None:
    """:func:`write_png`, atomically, into an existing directory (never a new one)."""
    from simsav.results import atomic_write

    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p} is a directory; give a file name such as {p / 'plot.png'}")
    if not p.parent.is_dir():
        raise InputError(f"{p.parent} does not exist (simsav does not create directories)")
    atomic_write(p, lambda tmp: write_png(tmp, draw))
