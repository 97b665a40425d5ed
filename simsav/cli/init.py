"""``simsav init``: the example scenarios, and a copy of one to start from."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simsav.cli.common import InputError

#: One example per command, shown in its ``--help``.
EXAMPLES = {"init": "simsav init rural-aco-5k"}


def _cmd_init(args: argparse.Namespace) -> int:
    from simsav.examples import copy_example, example_description, example_paths

    if args.name is None:
        paths = example_paths()
        width = max(len(k) for k in paths)
        print("Example scenarios (simsav init NAME copies NAME.toml here):")
        for key in paths:
            if key.startswith("presets/") and not args.all:
                continue
            print(f"  {key:<{width}}  {example_description(key)}")
        if not args.all:
            n = sum(k.startswith("presets/") for k in paths)
            print(f"  ... and {n} one-design scenarios, one per preset (presets/NAME; "
                  "--all lists them)")
        return 0
    directory = Path(args.dir)
    if not directory.is_dir():
        raise InputError(f"--dir: not a directory: {directory}")
    try:
        target = copy_example(args.name, directory)
    except KeyError as e:
        raise InputError(str(e.args[0])) from None
    except FileExistsError:
        name = args.name.removesuffix(".toml").rsplit("/", 1)[-1]
        raise InputError(f"{directory / (name + '.toml')} exists; not overwritten (remove it "
                         "or pass --dir)") from None
    print(f"wrote {target}; run it with: simsav run {target} --sims 2000")
    return 0


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("init", "List the example scenarios, or copy one into this directory.",
             _cmd_init)
    sp.add_argument("name", nargs="?", help="example to copy (without NAME: list them)")
    sp.add_argument("--dir", default=".", help="directory to copy into (default: here)")
    sp.add_argument("--all", action="store_true", help="list the per-preset scenarios too")
