"""What the app's child processes run (:mod:`simsav.app.jobs`); never loaded by the server.

Each function takes ``send`` (``send("progress", n)`` reports ``n`` more sims done) and
plain arguments, and returns plain data the page shows as it is: text, numbers, tables
(pandas) and PNG or file bytes. The simulation is the public API's — ``simulate``,
``summarize``, ``msr_curve``, the plots — on a scenario validated by the same schema as
``simsav run``, so the page shows exactly what ``simsav run`` and ``ss.simulate`` give
for the same scenario and seed.

The fork server imports this module once (with simsav, numpy, xarray and matplotlib) and
runs :func:`warm`, so each run's process starts with the kernels loaded.
"""

from __future__ import annotations

import io
import tempfile
import tomllib
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure  # no pyplot: figures drawn off-screen, never kept

import simsav as ss
from simsav.analysis.claims import fit_claims
from simsav.plotting import report_figures
from simsav.results.files import open_dataset, save_dataset
from simsav.results.report import write_report
from simsav.scenario import ScenarioError, parse_scenario
from simsav.simulation import ResourceError

__all__ = ["Refused", "compare", "fit", "msr", "ping", "report", "warm"]

Send = Callable[..., None]

class Refused(Exception):
    """Input the run cannot take, said in one line for the page."""


def ping(send: Send) -> str:
    """Do nothing (the fork server is up and preloaded once this returns)."""
    return "ok"


def warm() -> None:
    """Load the one-year kernels and the plotting code with a tiny run (fork server)."""
    scn = parse_scenario({"name": "warm", "population": {"beneficiaries": 50},
                          "spending": {"model": "medicare-ffs", "mean": 11_000},
                          "designs": [{"name": "a", "preset": "mssp-track1-2012"}]})
    ds = ss.simulate(scn, n_sims=4, seed=0, block_size=2, n_threads=1)
    ss.summarize(ds, frame=True)
    _png(lambda ax: ss.plot_payout_distribution(ds, ax=ax))


def _png(draw: Callable[[Any], Any], *, size: tuple[float, float] = (8.0, 4.5)) -> bytes:
    """Draw on a fresh Axes (no pyplot: nothing is kept) and return the PNG bytes."""
    fig = Figure(figsize=size, layout="constrained")
    draw(fig.subplots())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _netcdf(ds: Any) -> bytes:
    with tempfile.TemporaryDirectory(prefix="simsav-app-") as tmp:
        path = Path(tmp) / "results.nc"
        save_dataset(ds, path)
        return path.read_bytes()


def compare(send: Send, toml_text: str) -> dict[str, Any]:
    """Simulate the scenario and summarize it for the comparison page.

    Parameters
    ----------
    send : callable
        ``send("progress", n)`` as blocks of sims finish.
    toml_text : str
        The scenario (validated again here: this process trusts nothing it is sent).

    Returns
    -------
    dict
        ``frame`` (:func:`simsav.summarize` ``frame=True``), ``years`` (year labels),
        ``designs``, ``png`` (payout distribution of each year, by year label),
        ``netcdf`` (the Dataset as a netCDF file), ``n_sims``, ``seed``, ``name``,
        ``draws`` and ``toml`` (the scenario as run).
    """
    try:
        scn = parse_scenario(tomllib.loads(toml_text), source="form")
    except (tomllib.TOMLDecodeError, ScenarioError) as err:
        raise Refused(str(err)) from None
    try:
        ds = ss.simulate(scn, progress=lambda k: send("progress", k))
    except (ResourceError, ValueError) as err:
        raise Refused(str(err)) from None
    frame = ss.summarize(ds, frame=True)
    years = [int(y) for y in ds["year"].values]
    png = {str(y): _png(lambda ax, y=y: ss.plot_payout_distribution(ds, year=y, ax=ax))
           for y in years}
    return {
        "frame": frame, "years": [str(y) for y in years],
        "designs": [str(d) for d in ds["design"].values], "png": png,
        "netcdf": _netcdf(ds), "n_sims": int(ds.sizes["sim"]), "seed": ds.attrs["seed"],
        "name": scn.name, "draws": str(ds.attrs.get("draws", "per-beneficiary")),
        "toml": toml_text,
    }


def msr(send: Send, sizes: list[int], spending: dict[str, Any], options: dict[str, Any]
        ) -> dict[str, Any]:
    """The MSR/MLR curve of :func:`simsav.msr_curve` as a table and a PNG.

    ``spending`` is a validated ``[spending]`` table; ``options`` holds ``alpha``,
    ``method``, ``n_sims`` and ``seed``.
    """
    try:
        ds = ss.msr_curve(sizes, spending=spending, **options)
    except ValueError as err:
        raise Refused(str(err)) from None
    cols = ["msr", "msr_low", "msr_high", "mlr", "normal", "cms_2011", "cms_table",
            "p_clear_cms_table"]
    table = ds[cols].to_dataframe().reset_index()
    return {"table": table, "png": _png(lambda ax: ss.plot_msr_curve(ds, ax=ax)),
            "cv_truncated": float(ds.attrs["cv_truncated"]),
            "mean_truncated": float(ds.attrs["mean_truncated"]),
            "spending": ds.attrs["spending"], "method": options.get("method", "simulate")}


def fit(send: Send, path: str, column: str, exposure: str | None) -> dict[str, Any]:
    """Every spending model fitted to a claims file, as :func:`simsav.fit_claims` fits them.

    Parameters
    ----------
    send : callable
        Unused (a fit reports no progress).
    path : str
        The claims file (CSV, one row per member), saved by the page.
    column, exposure : str
        Its amount column and its member-months column (None: every member full-year).

    Returns
    -------
    dict
        ``table`` (:meth:`~simsav.analysis.claims.ClaimsFit.table` as records, observed
        first), ``best`` (lowest AIC), ``spending`` (each model's ``[spending]`` table:
        what ``simsav fit`` writes), the file's ``members``, ``column``, ``exposure``,
        ``sha256`` and ``member_years``.
    """
    try:
        result = fit_claims(path, column=column, exposure=exposure)
    except ValueError as err:  # ClaimsError included: the message names line and column
        raise Refused(str(err)) from None
    table, c = result.table().reset_index(), result.claims
    return {"table": table.to_dict(orient="records"), "best": result.best,
            "spending": {n: dict(f.spending) for n, f in result.fits.items() if f.spending},
            "members": c.n, "column": c.column, "exposure": c.exposure,
            "sha256": c.sha256, "member_years": c.member_years}


def report(send: Send, netcdf: bytes, source: str) -> dict[str, bytes]:
    """The run's report, as ``simsav report`` writes it: ``{"xlsx": ..., "html": ...}``.

    The workbook needs openpyxl (``pip install "simsav[excel]"``); without it the HTML
    page alone is written.
    """
    with tempfile.TemporaryDirectory(prefix="simsav-app-") as tmp:
        path = Path(tmp) / "results.nc"
        path.write_bytes(netcdf)
        ds = open_dataset(path)
        written = write_report(ds, Path(tmp) / "report", figures=report_figures(ds),
                               xlsx=find_spec("openpyxl") is not None, source=source)
        return {k: Path(p).read_bytes() for k, p in written.items()}
