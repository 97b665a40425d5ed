"""Runs in their own processes: the page stays live, and Cancel really stops a run.

A :class:`Job` runs one function of :mod:`simsav.app.worker` in a child process and
reads its messages (progress, the result or the error) through a pipe; the page polls it
(:meth:`Job.poll`) from a periodic callback of its own session, so each browser tab owns
its jobs and two tabs never see each other's results. :meth:`Job.cancel` terminates the
process: nothing of a cancelled run is kept.

Children are forked from a *fork server* started once (:func:`start_workers`) that has
already imported simsav and loaded the simulation kernels (:mod:`simsav.app.worker`), so
a run starts in milliseconds instead of paying the imports and the kernels' loading each
time. Where the platform has no fork server (Windows), children are spawned.

As with any use of :mod:`multiprocessing`, a script (not a notebook) that runs the pages
itself needs its work under ``if __name__ == "__main__":``: each child imports the script.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from multiprocessing import forkserver
from typing import Any

__all__ = ["WORKER_FUNCTIONS", "Job", "start_workers"]

#: The functions of :mod:`simsav.app.worker` a job may run.
WORKER_FUNCTIONS = ("compare", "msr", "report", "fit", "ping")


_CTX: Any = None
_LOCK = threading.Lock()


def _context() -> Any:
    """The multiprocessing context (a fork server preloaded with the worker), made once."""
    global _CTX
    with _LOCK:
        if _CTX is None:
            if "forkserver" in mp.get_all_start_methods():
                ctx = mp.get_context("forkserver")
                ctx.set_forkserver_preload(["simsav.app._forkserver"])
            else:  # pragma: no cover - Windows
                ctx = mp.get_context("spawn")
            _CTX = ctx
        return _CTX


def start_workers(*, wait: bool = False) -> None:
    """Start the fork server now (in the background unless ``wait``).

    The first run then does not pay for the imports and the kernels' loading.
    """
    def go() -> None:
        ctx = _context()
        if ctx.get_start_method() == "forkserver":
            forkserver.ensure_running()
            # the preload (imports, kernels) runs when the server starts; a no-op job
            # waits for it so that later runs find it done
            Job("ping").start().wait(timeout=120)

    if wait:
        go()
    else:
        threading.Thread(target=go, name="simsav-workers", daemon=True).start()


def _child(conn: Any, name: str, args: tuple[Any, ...]) -> None:
    """The child's entry point: run ``worker.<name>(send, *args)``, report how it ended.

    The worker (simsav's simulator, xarray, matplotlib) is imported here, in the child
    (already loaded by the fork server): the app's server itself never loads it.
    """
    import simsav.app.worker as worker

    def send(*msg: Any) -> None:
        conn.send(msg)

    try:
        try:
            outcome: tuple[str, Any] = ("done", getattr(worker, name)(send, *args))
        except worker.Refused as err:
            outcome = ("error", str(err))
        except MemoryError:
            outcome = ("error", "the run needs more memory than this machine has; use fewer "
                                "sims or designs")
        except Exception as err:  # noqa: BLE001 - reported to the page, never a traceback
            outcome = ("error", f"{type(err).__name__}: {err}")
        send(*outcome)
    except OSError:  # the page (or the server) went away: there is nobody left to tell
        pass
    finally:
        conn.close()


class Job:
    """One computation in a child process.

    Parameters
    ----------
    name : str
        A function of :mod:`simsav.app.worker`: ``compare``, ``msr``, ``report``, ``fit``
        or ``ping``.
    *args
        Its arguments (picklable: text and numbers).

    Attributes
    ----------
    state : {"new", "running", "done", "failed", "cancelled"}
    done_sims : int
        Progress reported so far.
    result : object
        What the function returned (``state == "done"``).
    error : str
        One line saying why it failed (``state == "failed"``).
    seconds : float
        Wall time from start to the end.
    """

    def __init__(self, name: str, *args: Any):
        if name not in WORKER_FUNCTIONS:
            raise ValueError(f"no worker function {name!r}")
        self.name, self.args = name, args
        self.state = "new"
        self.done_sims = 0
        self.result: Any = None
        self.error = ""
        self.seconds = 0.0
        self._proc: Any = None
        self._conn: Any = None
        self._t0 = 0.0

    def start(self) -> Job:
        """Start the child process; returns ``self``."""
        ctx = _context()
        recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(send, self.name, self.args),
                                 daemon=True, name=f"simsav-{self.name}")
        self._t0 = time.perf_counter()
        self._proc.start()
        send.close()
        self._conn = recv
        self.state = "running"
        return self

    def poll(self) -> str:
        """Read what the child has sent; return the state (never blocks)."""
        if self.state != "running":
            return self.state
        try:
            while self._conn.poll():
                self._take(self._conn.recv())
                if self.state != "running":
                    break
        except (EOFError, OSError):
            self._ended()
        if self.state == "running" and not self._proc.is_alive():
            self._ended()
        if self.state != "running":
            self._close()
        return self.state

    def _take(self, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "progress":
            self.done_sims += int(msg[1])
        elif kind == "done":
            self.result, self.state = msg[1], "done"
        elif kind == "error":
            self.error, self.state = str(msg[1]), "failed"

    def _ended(self) -> None:
        """The child is gone: take what it sent last, else say it stopped."""
        try:
            while self.state == "running" and self._conn.poll():
                self._take(self._conn.recv())
        except (EOFError, OSError):
            pass
        if self.state == "running":
            self._proc.join(timeout=1)
            self.error = (f"the run stopped unexpectedly (exit code {self._proc.exitcode}); "
                          "nothing was kept")
            self.state = "failed"

    def _close(self) -> None:
        self.seconds = time.perf_counter() - self._t0
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(timeout=5)

    def cancel(self) -> None:
        """Stop the run now: terminate the child and keep nothing."""
        if self.state != "running":
            return
        self._proc.terminate()
        self.state = "cancelled"
        self._close()

    def wait(self, timeout: float | None = None,
             on_poll: Callable[[Job], None] | None = None) -> str:
        """Poll until the job ends (or ``timeout`` seconds pass); return the state."""
        end = None if timeout is None else time.perf_counter() + timeout
        while self.poll() == "running":
            if on_poll is not None:
                on_poll(self)
            if end is not None and time.perf_counter() > end:
                break
            time.sleep(0.02)
        return self.state
