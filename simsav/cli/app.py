"""``simsav app``: the browser app (contract comparison, MSR sizing, settlement)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from simsav.cli.common import InputError, whole_arg

#: One example per command, shown in its ``--help``.
EXAMPLES = {
    "app": "simsav app scenarios/rural-aco-5k.toml --port 5006",
}


def _cmd_app(args: argparse.Namespace) -> int:
    try:
        import panel  # noqa: F401 - checked before anything else starts
    except ImportError:
        raise InputError('the app needs Panel: pip install "simsav[app]"') from None
    from pathlib import Path

    from simsav.io.claims import resolve_sample_path
    from simsav.scenario import ScenarioError, read_toml

    scenario = None
    if args.scenario is not None:
        try:
            # problems are shown beside the fields; a claims file named relative to the
            # scenario is found where `simsav run` finds it
            scenario = resolve_sample_path(read_toml(args.scenario),
                                           Path(args.scenario).resolve().parent)
        except FileNotFoundError:
            raise InputError(f"scenario file not found: {args.scenario}") from None
        except ScenarioError as e:
            raise InputError(str(e)) from None
    from simsav.app.server import serve

    def ready(url: str) -> None:
        print(f"simsav app: serving {url} (Ctrl-C to stop)", flush=True)

    try:
        serve(scenario, port=args.port, address=args.address, show=args.show,
              on_ready=ready)
    except OSError as e:
        raise InputError(f"--port: cannot listen on {args.address}:{args.port} "
                         f"({e.strerror or e})") from None
    print("simsav app: stopped", file=sys.stderr)
    return 0


def register(add: Callable[..., Any]) -> None:
    """Add this module's commands: ``add(name, help, func)`` returns the subparser."""
    sp = add("app", "Serve the browser app: compare contracts, size the MSR, settle a year.",
             _cmd_app)
    sp.add_argument("scenario", nargs="?", help="a scenario file to fill the form with")
    sp.add_argument("--port", type=whole_arg(0, 65535), default=5006,
                    help="TCP port (default 5006; 0 picks a free one)")
    sp.add_argument("--address", default="127.0.0.1",
                    help="interface to listen on (default 127.0.0.1: this machine only)")
    sp.add_argument("--show", action="store_true", help="open it in the web browser")
