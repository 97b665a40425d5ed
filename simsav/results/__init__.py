"""The results Dataset: its schema (declared once), summaries and saving.

Dims: ``sim``, ``year``, ``design`` (and ``quantile`` in summaries). Signs: positive is paid to
the ACO; ``shared_losses`` ≥ 0 is what the ACO owes. Every variable carries ``units`` and
``long_name``; where it matches a column of CMS's MSSP public-use files, ``puf_column`` names
it so results line up with the real program.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "VARIABLES",
    "PROVIDER_VARIABLES",
    "Var",
    "validate_dataset",
    "summarize",
    "summary_table",
    "QUANTILES",
    "save_dataset",
    "open_dataset",
    "atomic_write",
]


@dataclass(frozen=True)
class Var:
    """Schema entry of one Dataset variable."""

    dims: tuple[str, ...]
    dtype: str
    units: str
    long_name: str
    puf_column: str | None = None


_SYD = ("sim", "year", "design")
_SY = ("sim", "year")
PC = "USD per beneficiary-year"

#: The Dataset vocabulary of :func:`simsav.simulate`.
VARIABLES: dict[str, Var] = {
    "n_beneficiaries": Var(("year",), "float64", "1", "assigned beneficiaries", "N_AB"),
    "benchmark": Var(_SY, "float64", PC, "benchmark per capita before any discount",
                     "UpdatedBnchmk"),
    "expenditure": Var(_SY, "float64", PC, "actual expenditure per capita (truncated)",
                       "Per_Capita_Exp_TOTAL_PY"),
    "quality": Var(_SY, "float64", "1", "quality score"),
    "true_savings": Var(_SY, "float64", "1", "true savings of the ACO, fraction of spending"),
    "benchmark_total": Var(_SYD, "float64", "USD", "total benchmark after contract discount",
                           "ABtotBnchmk"),
    "expenditure_total": Var(_SYD, "float64", "USD", "total expenditure", "ABtotExp"),
    "gross_savings": Var(_SYD, "float64", "USD", "gross savings (negative: losses)",
                         "GenSaveLoss"),
    "savings_rate": Var(_SYD, "float64", "1", "savings rate", "Sav_rate"),
    "msr": Var(_SYD, "float64", "1", "minimum savings rate", "MinSavPerc"),
    "mlr": Var(_SYD, "float64", "1", "minimum loss rate (NaN: one-sided)"),
    "outcome": Var(_SYD, "int8", "1", "outcome: 1 shared savings, 0 corridor, -1 shared losses"),
    "quality_met": Var(_SYD, "bool", "1", "quality allowed sharing"),
    "final_sharing_rate": Var(_SYD, "float64", "1", "final sharing rate", "FinalShareRate"),
    "shared_savings": Var(_SYD, "float64", "USD", "shared savings before sequestration and cap"),
    "sequestration": Var(_SYD, "float64", "USD", "sequestration of shared savings"),
    "payment_cap": Var(_SYD, "float64", "USD", "performance payment limit"),
    "earned_savings": Var(_SYD, "float64", "USD",
                          "earned shared savings after sequestration and cap", "EarnSaveLoss"),
    "withheld": Var(_SYD, "float64", "USD", "earned savings withheld against future losses"),
    "shared_loss_rate": Var(_SYD, "float64", "1", "shared loss rate (NaN: one-sided)",
                            "FinalLossRate"),
    "shared_losses_before_cap": Var(_SYD, "float64", "USD", "shared losses before the limit"),
    "loss_cap": Var(_SYD, "float64", "USD", "loss sharing limit"),
    "euc_adjustment": Var(_SYD, "float64", "USD",
                          "reduction of losses for extreme and uncontrollable circumstances",
                          "DisAdj"),
    "shared_losses": Var(_SYD, "float64", "USD", "shared losses owed by the ACO (>= 0)"),
    "quality_bonus": Var(_SYD, "float64", "USD", "quality bonus paid regardless of savings"),
    "forfeited": Var(_SYD, "float64", "USD", "savings forfeited (MSR or quality missed)"),
    "reinvested_community": Var(_SYD, "float64", "USD",
                                "forfeited savings reinvested in the community"),
    "reinvested_aco": Var(_SYD, "float64", "USD", "forfeited savings reinvested in the ACO"),
    "payer_kept": Var(_SYD, "float64", "USD", "gross savings kept by the payer"),
    "aco_net": Var(_SYD, "float64", "USD",
                   "net to the ACO: earned savings + quality bonus - shared losses"),
    "payer_net": Var(_SYD, "float64", "USD",
                     "payer's net against the undiscounted benchmark"),
    "aco_paid": Var(_SYD, "float64", "USD",
                    "paid to the ACO in the year under the design's reconciliation, net of "
                    "losses and with any deferred true-up"),
    "true_up": Var(_SYD, "float64", "USD",
                   "deferred-reconciliation payment on cumulative savings (last year)"),
}


_SYP = ("sim", "year", "provider")

#: Variables present only with a ``[providers]`` table (and a ``[distribution]`` policy).
PROVIDER_VARIABLES: dict[str, Var] = {
    "provider_savings": Var(_SYP, "float64", "USD",
                            "provider panel's savings: benchmark minus expenditure"),
    "provider_quality": Var(_SYP, "float64", "1", "provider's quality score"),
    "provider_payout": Var(("sim", "year", "design", "provider"), "float64", "USD",
                           "paid to the provider (negative: losses charged to it)"),
    "dist_infrastructure": Var(_SYD, "float64", "USD", "kept by the ACO for infrastructure"),
    "dist_reserve_in": Var(_SYD, "float64", "USD", "put into the downside-risk reserve"),
    "dist_reserve_paid_losses": Var(_SYD, "float64", "USD", "shared losses paid by the reserve"),
    "dist_reserve_balance": Var(_SYD, "float64", "USD", "reserve balance at year end"),
    "dist_losses_beyond_reserve": Var(_SYD, "float64", "USD",
                                      "shared losses beyond the reserve"),
    "dist_entity_losses": Var(_SYD, "float64", "USD", "losses borne by the ACO entity"),
    "dist_unallocated": Var(_SYD, "float64", "USD",
                            "gains no eligible provider could receive, kept by the ACO"),
    "aco_fund_balance": Var(_SYD, "float64", "USD",
                            "earmarked ACO fund from reinvested savings (recommendation 5)"),
    "distributed": Var(_SYD, "float64", "USD", "distributed to participants (net)"),
}


def validate_dataset(ds: xr.Dataset) -> None:
    """Check a results Dataset against :data:`VARIABLES`.

    Raises
    ------
    ValueError
        Naming the first variable that is missing or has the wrong dims, dtype or attrs.
    """
    for name, v in VARIABLES.items():
        if name not in ds:
            raise ValueError(f"{name}: missing from the Dataset")
        da = ds[name]
        if da.dims != v.dims:
            raise ValueError(f"{name}: dims {da.dims}, expected {v.dims}")
        if str(da.dtype) != v.dtype:
            raise ValueError(f"{name}: dtype {da.dtype}, expected {v.dtype}")
        for attr in ("units", "long_name"):
            if attr not in da.attrs:
                raise ValueError(f"{name}: attribute {attr!r} missing")


def var_attrs(name: str) -> dict[str, str]:
    """The attrs of schema variable ``name``."""
    v = VARIABLES[name] if name in VARIABLES else PROVIDER_VARIABLES[name]
    attrs = {"units": v.units, "long_name": v.long_name}
    if v.puf_column:
        attrs["puf_column"] = v.puf_column
    return attrs


# --------------------------------------------------------------------------- summaries
#: Quantiles reported by :func:`summarize`.
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)

_MEANS = {
    "expected_earned": ("earned_savings", "USD", "expected earned savings"),
    "expected_losses": ("shared_losses", "USD", "expected shared losses owed"),
    "expected_aco_net": ("aco_net", "USD", "expected net to the ACO"),
    "expected_payer_net": ("payer_net", "USD", "expected payer net"),
    "expected_quality_bonus": ("quality_bonus", "USD", "expected quality bonus"),
    "expected_forfeited": ("forfeited", "USD", "expected forfeited savings"),
    "expected_savings_rate": ("savings_rate", "1", "expected savings rate"),
}


def summarize(
    ds: xr.Dataset, *, quantiles: Sequence[float] = QUANTILES, frame: bool = False
) -> Any:
    """Summarize a results Dataset per design (and year).

    For each design: P(clear MSR), P(owe losses), P(corridor); expected earned savings,
    losses, ACO net and payer net; quantiles of the ACO's net; the expected shared loss
    beyond its 95th percentile (the mean of the worst 5% of outcomes); and the Monte Carlo
    standard error of every probability and mean (``se_`` variables).

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simsav.simulate`.
    quantiles : sequence of float
        Quantiles of the ACO's net to report.
    frame : bool
        Return a pandas DataFrame, one row per design, of the last year (ready for
        ``to_csv`` or ``to_excel``) instead of a Dataset.

    Returns
    -------
    xarray.Dataset or pandas.DataFrame
        Dims ``design``, ``year`` (and ``quantile``).
    """
    n = ds.sizes["sim"]
    out = xr.Dataset(coords={k: ds.coords[k] for k in ("design", "year") if k in ds.coords})
    probs = {
        "p_clear_msr": (ds["outcome"] == 1, "probability of clearing the MSR"),
        "p_owe_loss": (ds["outcome"] == -1, "probability of owing shared losses"),
        "p_corridor": (ds["outcome"] == 0, "probability of neither (corridor or below MSR)"),
        "p_earn": (ds["earned_savings"] > 0, "probability of earning shared savings"),
    }
    for name, (ind, long_name) in probs.items():
        p = ind.mean("sim")
        out[name] = p.assign_attrs(units="1", long_name=long_name)
        se = np.sqrt(p * (1 - p) / n)
        out["se_" + name] = se.assign_attrs(units="1", long_name=f"MC standard error of {name}")
    for name, (var, units, long_name) in _MEANS.items():
        x = ds[var]
        out[name] = x.mean("sim").assign_attrs(units=units, long_name=long_name)
        se = x.std("sim", ddof=1) / np.sqrt(n) if n > 1 else x.mean("sim") * np.nan
        out["se_" + name] = se.assign_attrs(units=units, long_name=f"MC standard error of {name}")
    q = ds["aco_net"].quantile(list(quantiles), dim="sim")
    out["aco_net_quantile"] = q.assign_attrs(units="USD", long_name="quantiles of the ACO's net")
    # expected shared loss beyond the 95th percentile (tail conditional expectation)
    losses = ds["shared_losses"]
    q95 = losses.quantile(0.95, dim="sim").drop_vars("quantile")
    tail = losses.where(losses >= q95).mean("sim")
    out["tail_loss_95"] = tail.assign_attrs(
        units="USD", long_name="expected shared loss in the worst 5% of sims")
    # over the agreement (all years): what the ACO is paid under each design's reconciliation
    if "aco_paid" in ds:
        paid = ds["aco_paid"]
        total = paid.sum("year")
        p_any = (paid > 0).any("year").mean("sim")
        out["p_any_year_paid"] = p_any.assign_attrs(
            units="1", long_name="probability of a payment to the ACO in any agreement year")
        out["se_p_any_year_paid"] = np.sqrt(p_any * (1 - p_any) / n).assign_attrs(
            units="1", long_name="MC standard error of p_any_year_paid")
        p_pos = (total > 0).mean("sim")
        out["p_ahead_over_agreement"] = p_pos.assign_attrs(
            units="1", long_name="probability the ACO is paid more than it owes over the "
                                 "agreement")
        out["expected_total_paid"] = total.mean("sim").assign_attrs(
            units="USD", long_name="expected total paid to the ACO over the agreement, net")
        se = total.std("sim", ddof=1) / np.sqrt(n) if n > 1 else total.mean("sim") * np.nan
        out["se_expected_total_paid"] = se.assign_attrs(
            units="USD", long_name="MC standard error of expected_total_paid")
    out.attrs = {k: v for k, v in ds.attrs.items() if k in ("scenario", "seed", "simsav_version")}
    out.attrs["n_sims"] = n
    return summary_table(out) if frame else out


def summary_table(summary: xr.Dataset, *, year: int | None = None) -> Any:
    """A pandas DataFrame, one row per design, of the scalar summaries of one year.

    Parameters
    ----------
    summary : xarray.Dataset
        From :func:`summarize`.
    year : int, optional
        The year to show (default: the last one).
    """
    import pandas as pd

    s = summary
    if "year" in s.dims:
        s = s.sel(year=s["year"].values[-1] if year is None else year)
    cols: dict[str, Any] = {}
    for name, da in s.data_vars.items():
        if da.dims == ("design",):
            cols[name] = da.values
    for qv in s["aco_net_quantile"]["quantile"].values:
        cols[f"aco_net_q{qv * 100:g}"] = s["aco_net_quantile"].sel(quantile=qv).values
    return pd.DataFrame(cols, index=pd.Index(s["design"].values, name="design"))


# ------------------------------------------------------------------------------- files
def atomic_write(path: str | Path, write: Any) -> Path:
    """Write a file atomically: ``write(tmp_path)`` then rename over ``path``.

    An interrupted run leaves no half-written file at ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Save a results Dataset to netCDF (netCDF4 engine), atomically."""
    return atomic_write(path, lambda p: ds.to_netcdf(p, engine="netcdf4"))


def open_dataset(path: str | Path) -> xr.Dataset:
    """Open a results Dataset saved by :func:`save_dataset` (loaded into memory)."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        out = ds.load()
    return _restore_dtypes(out)


def _restore_dtypes(ds: xr.Dataset) -> xr.Dataset:
    for name, v in VARIABLES.items():
        if name in ds and v.dtype == "bool" and ds[name].dtype != bool:
            ds[name] = ds[name].astype(bool)
    return ds

