"""The ``simsav`` command line. The only code that prints.

Exit codes: 0 on success, 2 on bad input (the message goes to stderr).

One module per group of commands (:mod:`~simsav.cli.run`, :mod:`~simsav.cli.settle`,
:mod:`~simsav.cli.msr`, :mod:`~simsav.cli.puf`, :mod:`~simsav.cli.whatif`,
:mod:`~simsav.cli.fit`); each command imports what it needs when
it runs, so ``simsav --help`` loads no numerics and ``simsav settle`` only the rules.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from simsav import __version__
from simsav.cli import fit, msr, puf, run, settle, whatif
from simsav.cli.common import InputError

__all__ = ["main"]

_MODULES = (run, msr, puf, settle, whatif, fit)
EXAMPLES = {k: v for m in _MODULES for k, v in m.EXAMPLES.items()}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simsav",
        description="Monte Carlo pricing of ACO shared-savings contracts.",
        epilog="Examples:\n  " + "\n  ".join(EXAMPLES.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"simsav {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    from simsav.contracts.terms import ContractError

    try:
        return int(args.func(args))
    except (InputError, ContractError) as e:
        print(f"simsav {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
