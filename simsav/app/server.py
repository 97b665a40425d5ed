"""The app's pages in a page template, and the server that serves them.

:func:`serve` runs the three pages — ``/compare``, ``/msr``, ``/settle`` — on a local
Bokeh/Panel server bound to 127.0.0.1. Every browser tab gets its own session: its own
form, its own runs and its own results (:func:`page` builds them per session). The page
template loads nothing from outside the machine.

In a notebook the same pages are Panel layouts: ``ComparePage().panel`` and so on.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable, Mapping
from typing import Any

import panel as pn
from tornado.web import RedirectHandler

from simsav import __version__
from simsav.app import jobs
from simsav.app.compare import ComparePage
from simsav.app.msr import MSRPage
from simsav.app.settle import SettlePage
from simsav.app.widgets import CSS, html

__all__ = ["PAGES", "free_port", "page", "serve"]

#: Route → (title, what the page does).
PAGES: dict[str, tuple[str, str]] = {
    "compare": ("Contract comparison", "Simulate contract designs on the same draws."),
    "msr": ("MSR sizing", "The MSR/MLR curve by population size."),
    "settle": ("Settlement calculator", "One ACO-year through a preset's waterfall."),
}


_NAV_CSS = """
nav { display: flex; gap: 1.6em; align-items: center; height: 100%; padding-left: 1em; }
a.nav { color: #dce8f5; text-decoration: none; font-size: 1.1em; }
a.nav.here { color: white; border-bottom: 2px solid white; }
"""


def page(route: str, scenario: Mapping[str, Any] | None = None) -> Any:
    """A new session's page ``route`` in the app's template."""
    view: Any
    if route == "compare":
        view = ComparePage(scenario)
    elif route == "msr":
        view = MSRPage()
    elif route == "settle":
        view = SettlePage()
    else:
        raise ValueError(f"no page {route!r}; one of {', '.join(PAGES)}")
    body = view.panel
    if hasattr(view, "close") and pn.state.curdoc is not None:
        # a tab closed during a run: stop its process (its result would never be read)
        pn.state.on_session_destroyed(lambda _ctx: view.close())
    title, _ = PAGES[route]
    nav = " ".join(
        f'<a href="/{r}" class="nav nav-{r}{" here" if r == route else ""}" title="{d}">{t}</a>'
        for r, (t, d) in PAGES.items())
    header = html(f'<nav>{nav}</nav>', stylesheets=[CSS, _NAV_CSS], margin=0)
    about = html(f"<p>simsav {__version__}: Monte Carlo pricing of ACO shared-savings "
                 "contracts. Every number traces to a rule with a source or to a "
                 "simulation with a seed.</p>", css_classes=["simsav-note"])
    template = pn.template.BootstrapTemplate(
        title="simsav", header=[header], main=[body, about], collapsed_sidebar=True,
        raw_css=[CSS])
    return template


def _pages(scenario: Mapping[str, Any] | None) -> dict[str, Callable[[], Any]]:
    return {r: (lambda r=r: page(r, scenario)) for r in PAGES}


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port free on ``address`` now."""
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def serve(scenario: Mapping[str, Any] | None = None, *, port: int = 5006,
          address: str = "127.0.0.1", show: bool = False,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Serve the app until interrupted (Ctrl-C or SIGTERM).

    Parameters
    ----------
    scenario : mapping, optional
        A parsed scenario file that fills the comparison form of every new session.
    port : int
        TCP port (0: any free port).
    address : str
        Interface to bind; 127.0.0.1 (this machine only) by default.
    show : bool
        Open the app in the default browser.
    on_ready : callable, optional
        Called with the app's URL once the server listens.
    """
    if port == 0:
        port = free_port(address)
    local = address in ("127.0.0.1", "localhost", "::1")
    origins = [f"{h}:{port}" for h in ("127.0.0.1", "localhost")] if local else "*"
    server = pn.serve(
        _pages(scenario), port=port, address=address, show=False, start=False,
        title={r: f"simsav — {t}" for r, (t, _) in PAGES.items()},
        websocket_origin=origins,
        extra_patterns=[(r"/", RedirectHandler, {"url": "/compare"})],
        # a closed tab's session (and any run it left) ends within about 10 s
        unused_session_lifetime=5_000, check_unused_sessions=2_000,
    )
    server.start()
    # the fork server's imports and warm-up wait until the first page is served: on two
    # cores they would slow it down; a Run before then simply waits for them
    server.io_loop.call_later(2.0, jobs.start_workers)
    real_port = server.port
    url = f"http://{address}:{real_port}/compare"
    if on_ready is not None:
        on_ready(url)
    if show:
        server.io_loop.add_callback(server.show, "/compare")

    def stop(*_: Any) -> None:
        server.io_loop.add_callback_from_signal(server.io_loop.stop)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
