"""The ``simsav`` command line. The only code that prints.

Exit codes: 0 on success, 2 on bad input (the message goes to stderr).

One module per group of commands (:mod:`~simsav.cli.run`, :mod:`~simsav.cli.settle`,
:mod:`~simsav.cli.msr`, :mod:`~simsav.cli.puf`, :mod:`~simsav.cli.report`,
:mod:`~simsav.cli.plot`, :mod:`~simsav.cli.init`, :mod:`~simsav.cli.program`,
:mod:`~simsav.cli.whatif`, :mod:`~simsav.cli.fit`); each command imports what it needs when
it runs, so ``simsav --help`` loads no numerics and ``simsav settle`` only the rules.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from simsav import __version__
from simsav.cli import (
    app,
    fit,
    init,
    msr,
    plot,
    program,
    puf,
    reach,
    report,
    run,
    settle,
    whatif,
)
from simsav.cli.common import InputError

__all__ = ["main"]

_MODULES = (run, msr, puf, reach, settle, report, plot, init, program, whatif, fit, app)
EXAMPLES = {k: v for m in _MODULES for k, v in m.EXAMPLES.items()}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, naming the command and the argument."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="simsav",
        description="Monte Carlo pricing of ACO shared-savings contracts.",
        epilog="Examples:\n  " + "\n  ".join(EXAMPLES.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"simsav {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, help_: str, func: Callable[[argparse.Namespace], int]) -> Any:
        sp = sub.add_parser(
            name, help=help_, description=help_,
            epilog=f"Example:\n  {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sp.set_defaults(func=func)
        return sp

    for module in _MODULES:
        module.register(add)
    return p


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``finally`` runs (no temp files)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    0 on success; 2 on bad input, with one message on stderr; 130 when interrupted
    (Ctrl-C) and 143 when terminated (SIGTERM), after removing any unfinished output; 141
    when the reader of the output goes away (``simsav run ... | head``).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or argparse's own usage error (code 2)
        return e.code if isinstance(e.code, int) else 2
    from simsav.contracts.terms import ContractError

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args))
    except (InputError, ContractError) as e:
        print(f"simsav {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"simsav {args.command}: interrupted; nothing was written", file=sys.stderr)
        return 130
    except _Terminated:
        print(f"simsav {args.command}: terminated; nothing was written", file=sys.stderr)
        return 143
    except BrokenPipeError:
        # the reader left (e.g. | head): say nothing more, and let the interpreter's own
        # final flush of stdout go nowhere instead of raising again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
