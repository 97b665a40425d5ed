"""Each ACO's savings rate forecast from its own history, with credibility weights.

The program model (:mod:`simsav.program.model`) writes an ACO's savings rate in year ``Y``
as ``μ_Y + γ·[first program year] + r_Y``. Split ``r_Y = u + e + c``:

* ``u``, what carries over from other years (the persistent savings of the agreement and
  last year's carry-over), variance ``V_u(N) = (A_p + B_p/N) · ρ_within,lag1``;
* ``e``, the year's own benchmark error, variance ``A + B/N − V_u(N) − claims(N)``;
* ``c``, claims noise, relative variance ``CV_T² / N`` (drawn by the simulation's claims
  path, aggregate or per beneficiary).

Given the ACO's earlier deviations ``r = (r_t)`` (each ``s_t − μ_t − γ·[first year]``),
``u`` is normal with the best linear predictor of a Gaussian hierarchical model (the
Bühlmann–Straub credibility estimate with unequal sizes and a covariance that depends on
the lag and the agreement):

    E[u | r] = cᵀ Σ⁻¹ r,        Var(u | r) = V_u − cᵀ Σ⁻¹ c,

with ``Σ_tt = A + B/N_t``, ``Σ_tt' = (A_p + B_p/√(N_t N_t')) · ρ(lag, same agreement)``
and ``c_t = (A_p + B_p/√(N_Y N_t)) · ρ(Y − t, same agreement)``. The *credibility* of
the history is ``Z = cᵀ Σ⁻¹ c / V_u``: 0 with no history, approaching 1 for a large ACO
with many years in one agreement; the forecast moves from the program's mean toward the
ACO's own record by that share. An ACO without history keeps the prior (``u`` with mean
0 and variance ``V_u``).

Examples
--------
>>> from simsav.program.model import fit_program_model
>>> from simsav.program.roster import read_roster
>>> f = forecast_acos(fit_program_model(2022), read_roster(2022), 2022)
>>> int(f["history_years"].gt(0).sum()), int(f["entrant"].sum())
(416, 46)
>>> bool(f.loc[f["history_years"] == 0, "credibility"].eq(0).all())
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simsav.program.model import ProgramModel
from simsav.program.roster import Roster

__all__ = ["FORECAST_COLUMNS", "forecast_acos", "history_of"]

#: Columns :func:`forecast_acos` adds to the roster's table.
FORECAST_COLUMNS: tuple[str, ...] = (
    "entrant", "history_years", "credibility", "offset", "mean_deviation", "persistent_sd",
    "year_sd", "claims_sd", "expected_savings_rate",
)


def history_of(model: ProgramModel, roster: Roster, year: int) -> pd.DataFrame:
    """Every ACO's earlier years with their deviations ``r``, as the forecast uses them.

    Columns ``aco_id``, ``performance_year``, ``n``, ``r``, ``same_agreement`` (with the
    roster's agreement in ``year``) and ``agreement`` (a key: two years with the same key
    share an agreement; a plain roster's years before the current agreement are taken as
    one earlier agreement).
    """
    t = roster.table
    if roster.history is None:  # a CMS roster: the bundled files, up to the year before
        p = model.panel
        h = p.loc[p["aco_id"].isin(set(t["aco_id"])) & p["performance_year"].lt(year),
                  ["aco_id", "performance_year", "n", "r", "start"]].copy()
        starts = h["aco_id"].map(roster.agreement_start)
        h["same_agreement"] = h["start"].eq(starts).fillna(False).to_numpy(dtype=bool)
        h["agreement"] = h["start"].astype("string").fillna("unknown").to_numpy(dtype=object)
        return h.drop(columns="start").reset_index(drop=True)
    h = roster.history.copy()
    bad = sorted(set(h["performance_year"]) - set(model.year_effects))
    if bad:
        raise ValueError(
            f"roster: no year effect for savings_rate_{bad[0]}: the model is calibrated on "
            f"{model.years[0]}-{model.years[-1]} (earlier years than {year})")
    row = t.set_index("aco_id")
    shift = year - (roster.year if roster.year is not None else year)
    ay = h["aco_id"].map(row["agreement_year"]).to_numpy() + shift
    k = h["aco_id"].map(row["years_in_program"].fillna(row["agreement_year"])).to_numpy() + shift
    back = year - h["performance_year"].to_numpy()
    entrant = (k - back) <= 1
    mu = h["performance_year"].map(model.year_effects).to_numpy()
    h["n"] = h["beneficiaries"].to_numpy(dtype=float)
    h["r"] = h["savings_rate"].to_numpy() - mu - model.entrant_offset * entrant
    h["same_agreement"] = back < ay
    h["agreement"] = np.where(h["same_agreement"], "current", "earlier").astype(object)
    return h[["aco_id", "performance_year", "n", "r", "same_agreement", "agreement"]]


def _predict(model: ProgramModel, n: float, hist: pd.DataFrame, year: int,
             v_u: float) -> tuple[float, float]:
    """``(E[u | r], Var(u | r))`` for one ACO of size ``n`` with history ``hist``."""
    ns = hist["n"].to_numpy(dtype=float)
    ts = hist["performance_year"].to_numpy()
    same = hist["same_agreement"].to_numpy(dtype=bool)
    key = hist["agreement"].to_numpy(dtype=object)
    same_pair = key[:, None] == key[None, :]
    lag = np.abs(ts[:, None] - ts[None, :])
    sigma = model.covariance(np.sqrt(ns[:, None] * ns[None, :])) * model.ratio(same_pair, lag)
    np.fill_diagonal(sigma, model.variance(ns))
    c = model.covariance(np.sqrt(n * ns)) * model.ratio(same, year - ts)
    try:
        w = np.linalg.solve(sigma, c)
    except np.linalg.LinAlgError:  # pragma: no cover - a singular history
        w = np.linalg.lstsq(sigma, c, rcond=None)[0]
    return float(w @ hist["r"].to_numpy()), float(max(v_u - w @ c, 0.0))


def forecast_acos(model: ProgramModel, roster: Roster, year: int) -> pd.DataFrame:
    """Every ACO's forecast savings rate in ``year``: its mean and its parts' spreads.

    Parameters
    ----------
    model : ProgramModel
        Calibrated on years before ``year``.
    roster : Roster
        The ACOs.
    year : int
        The year forecast (the roster's own year or later: agreement years and years in
        the program advance with it).

    Returns
    -------
    pandas.DataFrame
        The roster's table (``agreement_year`` and ``years_in_program`` at ``year``;
        ``quality`` filled: the roster's, else the ACO's latest published score, else
        :attr:`ProgramModel.quality_default`, and 1 in the pay-for-reporting first year
        of a first agreement) and :data:`FORECAST_COLUMNS`: ``entrant`` (first program
        year), ``history_years``, ``credibility`` ``Z``, ``offset`` (``γ`` for entrants),
        ``mean_deviation`` (``offset + E[u | r]``), ``persistent_sd`` (``√Var(u | r)``),
        ``year_sd`` (of ``e``), ``claims_sd`` (of claims noise, at the mean), and
        ``expected_savings_rate`` (``μ̂_Y + mean_deviation``).
    """
    if roster.year is not None and year < roster.year:
        raise ValueError(f"year: {year} is before the roster's performance year {roster.year}")
    f = roster.table.copy()
    shift = year - (roster.year if roster.year is not None else year)
    f["agreement_year"] = f["agreement_year"] + shift
    hist = history_of(model, roster, year)
    groups = {a: g for a, g in hist.groupby("aco_id", sort=False)}
    # years in the program: the roster's, at least what the files show
    seen = np.array([year - model.first_years[a] + 1 if a in model.first_years else np.nan
                     for a in f["aco_id"]])
    k = f["years_in_program"].to_numpy(dtype=float) + shift
    k = np.where(np.isnan(k), f["agreement_year"].to_numpy(dtype=float), k)
    f["years_in_program"] = np.fmax(k, seen)
    f["entrant"] = f["years_in_program"].le(1).to_numpy()
    n = f["beneficiaries"].to_numpy(dtype=float)
    v_u = model.covariance(n) * model.covariance_ratios["within_lag1"]
    center = model.forecast(year).center
    claims_var = model.claims_cv**2 / n * (1.0 - center) ** 2
    v_u = np.minimum(v_u, np.maximum(model.variance(n) - claims_var, 0.0))
    mean = np.where(f["entrant"], model.entrant_offset, 0.0)
    post = v_u.copy()
    n_hist = np.zeros(len(f), dtype=np.int64)
    for i, a in enumerate(f["aco_id"]):
        g = groups.get(a)
        if g is None or g.empty:
            continue
        m, v = _predict(model, n[i], g, year, float(v_u[i]))
        mean[i] += m
        post[i] = v
        n_hist[i] = len(g)
    f["quality"] = _quality(model, f, year)
    f["history_years"] = n_hist
    f["credibility"] = np.where(v_u > 0, 1.0 - post / np.where(v_u > 0, v_u, 1.0), 0.0)
    f["offset"] = np.where(f["entrant"], model.entrant_offset, 0.0)
    f["mean_deviation"] = mean
    f["persistent_sd"] = np.sqrt(post)
    f["year_sd"] = np.sqrt(np.maximum(model.variance(n) - v_u - claims_var, 0.0))
    f["claims_sd"] = np.sqrt(claims_var)
    f["expected_savings_rate"] = center + mean
    return f


def _quality(model: ProgramModel, f: pd.DataFrame, year: int) -> np.ndarray:
    p = model.panel
    last = (p[p["performance_year"] < year].sort_values("performance_year")
            .dropna(subset=["quality_score"]).groupby("aco_id")["quality_score"].last())
    q = f["quality"].to_numpy(dtype=float)
    q = np.where(np.isnan(q), f["aco_id"].map(last).to_numpy(dtype=float), q)
    p4r = f["entrant"].to_numpy(dtype=bool) & f["quality"].isna().to_numpy()
    q = np.where(p4r, 1.0, q)
    return np.clip(np.where(np.isnan(q), model.quality_default, q), 0.0, 1.0)
