"""Sensitivity: which input moves a figure most, one at a time and all together.

:func:`tornado`
    One input at a time: each key set to the low and the high end of its range, the
    others at the scenario's values; the swing of a chosen figure, largest first (the
    data of a tornado chart, :func:`simsav.plotting.plot_tornado`). Every run uses the
    same seed (common random numbers, :mod:`simsav.analysis.sweep`).

:func:`sobol`
    Variance-based global sensitivity over inputs given as distributions (true
    savings, benchmark error, trend error, quality, churn, ...): first-order and total
    Sobol indices of the figure, with their sampling error. The estimators
    (:func:`sobol_indices`) work on any function of independent inputs.

Sobol indices. For ``Y = f(X_1, ..., X_d)`` with independent inputs, ``S_i = V(E[Y |
X_i]) / V(Y)`` (first order: the share of the variance ``X_i`` explains alone) and
``S_Ti = E(V[Y | X_~i]) / V(Y)`` (total: with all its interactions). Saltelli's scheme:
two ``n × d`` matrices ``A`` and ``B`` of a scrambled Sobol sequence (the first and last
``d`` columns of one ``2d``-dimensional sequence, :class:`scipy.stats.qmc.Sobol`), and
``AB_i`` = ``A`` with column ``i`` from ``B``; ``n (d + 2)`` evaluations. The estimators
are Saltelli et al. (2010), Comput. Phys. Commun. 181:259, table 2 (b) and (f):
``S_i = mean(f(B) (f(AB_i) - f(A))) / V`` and Jansen's
``S_Ti = mean((f(A) - f(AB_i))**2) / (2 V)``, ``V`` the variance of ``f(A)`` and
``f(B)`` pooled. Their sampling error is the bootstrap standard deviation over the
``n`` rows (resampling rows of ``A``, ``B`` and every ``AB_i`` together, as SALib
does); for a quasi-random sequence it is conservative.

Why not SALib: scipy's Sobol sequences are all the sampling needs, the two estimators
are a few lines, and the package already depends on scipy; SALib would be one more
dependency for CI to install. ``scipy.stats.sobol_indices`` (same estimators) is the
independent reference the tests compare with.

In a simulation the figure is itself a Monte Carlo estimate. Every evaluation uses the
same seed, so the figure is a deterministic function of the inputs on fixed draws (its
Monte Carlo error does not add noise between evaluations), and the indices converge to
those of the exact figure as ``n_sims`` grows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray
from scipy import stats
from scipy.stats import qmc

from simsav import __version__
from simsav.analysis.overrides import (
    check_values,
    get_key,
    set_keys,
    settles_only,
    split_key,
)
from simsav.analysis.sweep import fixed_seed, point_summary, sweep
from simsav.rng import SeedLike
from simsav.scenario import Scenario, ScenarioError
from simsav.simulation import simulate

__all__ = ["DISTRIBUTIONS", "input_distribution", "sobol", "sobol_indices", "tornado"]

F64 = NDArray[np.float64]

#: Distributions an uncertain input may take, with their parameters in order.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "truncnormal": ("mean", "sd", "low", "high"),
    "triangular": ("low", "mode", "high"),
    "beta": ("a", "b", "low", "high"),
    "loguniform": ("low", "high"),
}


def input_distribution(spec: Any) -> Any:
    """A frozen scipy distribution from ``(name, *params)``, ``"name:p1:p2"`` or itself.

    Parameters
    ----------
    spec : str, sequence or scipy frozen distribution
        ``("uniform", low, high)``, ``("normal", mean, sd)``,
        ``("truncnormal", mean, sd, low, high)``, ``("triangular", low, mode, high)``,
        ``("beta", a, b, low, high)``, ``("loguniform", low, high)``; the same as text
        joined by colons; or any object with a ``ppf`` method.

    Examples
    --------
    >>> round(float(input_distribution("triangular:0:0.01:0.04").mean()), 4)
    0.0167
    """
    if hasattr(spec, "ppf"):
        return spec
    parts: list[Any] = spec.split(":") if isinstance(spec, str) else list(spec)
    if not parts or parts[0] not in DISTRIBUTIONS:
        raise ValueError(f"distribution {spec!r}: one of "
                         + ", ".join(f"{k}:{':'.join(v)}" for k, v in DISTRIBUTIONS.items()))
    name, want = parts[0], DISTRIBUTIONS[parts[0]]
    try:
        p = [float(x) for x in parts[1:]]
    except (TypeError, ValueError):
        raise ValueError(f"distribution {spec!r}: parameters must be numbers") from None
    if len(p) != len(want) or not all(math.isfinite(x) for x in p):
        raise ValueError(f"distribution {spec!r}: {name} takes {', '.join(want)}")
    return _frozen(name, p, spec)


def _frozen(name: str, p: list[float], spec: Any) -> Any:
    bad = ValueError(f"distribution {spec!r}: parameters out of range")
    if name == "uniform":
        if not p[0] < p[1]:
            raise bad
        return stats.uniform(p[0], p[1] - p[0])
    if name == "normal":
        if not p[1] > 0:
            raise bad
        return stats.norm(p[0], p[1])
    if name == "truncnormal":
        if not (p[1] > 0 and p[2] < p[3]):
            raise bad
        return stats.truncnorm((p[2] - p[0]) / p[1], (p[3] - p[0]) / p[1], p[0], p[1])
    if name == "triangular":
        if not (p[0] <= p[1] <= p[2] and p[0] < p[2]):
            raise bad
        return stats.triang((p[1] - p[0]) / (p[2] - p[0]), p[0], p[2] - p[0])
    if name == "beta":
        if not (p[0] > 0 and p[1] > 0 and p[2] < p[3]):
            raise bad
        return stats.beta(p[0], p[1], p[2], p[3] - p[2])
    if not 0 < p[0] < p[1]:
        raise bad
    return stats.loguniform(p[0], p[1])


# ------------------------------------------------------------------------------ Sobol


def _saltelli(f_a: F64, f_b: F64, f_ab: F64) -> tuple[F64, F64]:
    """First-order and total indices from ``f(A)``, ``f(B)`` (n,) and ``f(AB_i)`` (d, n)."""
    var = np.var(np.concatenate([f_a, f_b]))
    if not var > 0:
        return np.full(f_ab.shape[0], np.nan), np.full(f_ab.shape[0], np.nan)
    s1 = np.mean(f_b * (f_ab - f_a), axis=1) / var
    st = 0.5 * np.mean((f_a - f_ab) ** 2, axis=1) / var
    return s1, st


def sobol_indices(
    func: Callable[[F64], Any],
    dists: Sequence[Any],
    n: int,
    *,
    seed: SeedLike = 0,
    n_boot: int = 500,
    level: float = 0.95,
    names: Sequence[str] | None = None,
) -> xr.Dataset:
    """First-order and total Sobol indices of ``func`` by Saltelli sampling.

    Parameters
    ----------
    func : callable
        Takes an ``(m, d)`` array of input values (one row per point) and returns ``m``
        figures.
    dists : sequence
        One distribution per input (:func:`input_distribution` specs).
    n : int
        Base sample size, a power of 2 (the sequence's balance); ``n (d + 2)`` points
        are evaluated.
    seed : int, SeedSequence or Generator
        Scrambling of the Sobol sequence and the bootstrap.
    n_boot : int
        Bootstrap resamples for the standard errors.
    level : float
        Confidence level of the reported intervals (normal, from the bootstrap SE).
    names : sequence of str, optional
        Input names (default ``x1``, ``x2``, ...).

    Returns
    -------
    xarray.Dataset
        Dim ``input``: ``S1``, ``S1_se``, ``S1_low``, ``S1_high``, ``ST``, ``ST_se``,
        ``ST_low``, ``ST_high``; attrs ``n``, ``evaluations``, ``variance`` and
        ``mean`` of the figure.

    Examples
    --------
    >>> import numpy as np
    >>> r = sobol_indices(lambda x: x[:, 0] + 0.5 * x[:, 1], ["uniform:0:1"] * 2, 1024)
    >>> r["S1"].values.round(2).tolist()  # exact: 0.8, 0.2
    [0.8, 0.2]
    """
    frozen = [input_distribution(d) for d in dists]
    d = len(frozen)
    if d < 1:
        raise ValueError("dists: give at least one input")
    m = int(round(math.log2(n))) if n > 0 else -1
    if n < 2 or 2**m != n:
        raise ValueError(f"n: must be a power of 2 (>= 2), got {n}")
    labels = [f"x{i + 1}" for i in range(d)] if names is None else list(names)
    ss = np.random.SeedSequence(seed) if isinstance(seed, int | None) else seed
    rng = np.random.default_rng(ss)
    u = qmc.Sobol(2 * d, scramble=True, seed=rng).random_base2(m)
    u_a, u_b = u[:, :d], u[:, d:]
    x_a = np.column_stack([frozen[j].ppf(u_a[:, j]) for j in range(d)])
    x_b = np.column_stack([frozen[j].ppf(u_b[:, j]) for j in range(d)])
    x_ab = np.repeat(x_a[None, :, :], d, axis=0)
    for i in range(d):
        x_ab[i, :, i] = x_b[:, i]
    y = np.asarray(func(np.concatenate([x_a, x_b, x_ab.reshape(d * n, d)])),
                   dtype=np.float64).ravel()
    if y.size != n * (d + 2):
        raise ValueError(f"func: returned {y.size} values for {n * (d + 2)} points")
    f_a, f_b, f_ab = y[:n], y[n:2 * n], y[2 * n:].reshape(d, n)
    s1, st = _saltelli(f_a, f_b, f_ab)
    boot = rng.integers(0, n, size=(n_boot, n))
    b1 = np.empty((n_boot, d))
    bt = np.empty((n_boot, d))
    for k, idx in enumerate(boot):
        b1[k], bt[k] = _saltelli(f_a[idx], f_b[idx], f_ab[:, idx])
    z = float(stats.norm.ppf(0.5 + level / 2))
    se1, set_ = np.std(b1, axis=0, ddof=1), np.std(bt, axis=0, ddof=1)
    out = xr.Dataset(coords={"input": labels})
    for name, est, se, what in (("S1", s1, se1, "first-order"), ("ST", st, set_, "total")):
        out[name] = ("input", est, {"units": "1", "long_name": f"{what} Sobol index"})
        out[name + "_se"] = ("input", se, {"units": "1", "long_name":
                                           f"bootstrap standard error of {name}"})
        out[name + "_low"] = ("input", est - z * se, {"units": "1", "long_name":
                                                      f"{level:.0%} interval, low"})
        out[name + "_high"] = ("input", est + z * se, {"units": "1", "long_name":
                                                       f"{level:.0%} interval, high"})
    out.attrs = {"n": int(n), "evaluations": int(y.size), "n_boot": int(n_boot),
                 "level": float(level), "variance": float(np.var(np.concatenate([f_a, f_b]))),
                 "mean": float(np.mean(np.concatenate([f_a, f_b]))),
                 "estimators": "Saltelli 2010 (first order), Jansen 1999 (total)",
                 "simsav_version": __version__}
    return out


def _figure_of(summary: xr.Dataset, figure: str, design: str, year: int | None) -> tuple[
        float, float]:
    """A figure of one design (and year) and its standard error (NaN if none)."""
    if figure not in summary:
        raise ValueError(f"figure: {figure!r} is not a summary figure; one of "
                         + ", ".join(k for k in summary.data_vars if not k.startswith("se_")))
    da = summary[figure].sel(design=design)
    se = summary["se_" + figure].sel(design=design) if "se_" + figure in summary else None
    if "year" in da.dims:
        yr = summary["year"].values[-1] if year is None else year
        da = da.sel(year=yr)
        se = None if se is None else se.sel(year=yr)
    if da.ndim:
        raise ValueError(f"figure: {figure!r} is not one number per design")
    return float(da), math.nan if se is None else float(se)


def _design(scenario: Scenario, design: str | None) -> str:
    names = [d.name for d in scenario.designs]
    if design is None:
        return names[0]
    if design not in names:
        raise ValueError(f"design: no design {design!r}; one of {', '.join(map(repr, names))}")
    return design


def sobol(
    scenario: Scenario,
    inputs: Mapping[str, Any],
    *,
    figure: str = "p_clear_msr",
    design: str | None = None,
    year: int | None = None,
    n: int = 64,
    n_sims: int | None = None,
    seed: SeedLike = None,
    draws: str = "per-beneficiary",
    n_boot: int = 500,
    level: float = 0.95,
    progress: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Sobol indices of a figure over uncertain scenario inputs.

    Parameters
    ----------
    scenario : Scenario
    inputs : mapping of str to distribution
        ``{key: distribution}``: dotted keys (:mod:`simsav.analysis.overrides`), each
        with an :func:`input_distribution` spec, e.g.
        ``{"aco.true_savings": "normal:0.01:0.01",
        "aco.benchmark_error_sd": "uniform:0:0.02"}``. Each draw of an input must be a
        value the scenario accepts (use a bounded distribution for a bounded key); a key
        that holds a whole number (``population.beneficiaries``) takes its draws rounded.
    figure : str
        A :func:`simsav.summarize` figure with one value per design and year.
    design : str, optional
        Whose figure (default: the first design).
    year : int, optional
        Which year (default: the last).
    n : int
        Base sample size (a power of 2): ``n (d + 2)`` simulations are run.
    n_sims, seed, draws :
        As for :func:`simsav.simulate`; the same seed for every evaluation.
    n_boot, level :
        As for :func:`sobol_indices`.
    progress : callable, optional
        Called with 1 as each simulation finishes.

    Returns
    -------
    xarray.Dataset
        As :func:`sobol_indices`, dim ``input`` named by the keys; attrs add the figure,
        design, scenario and seed.
    """
    if not inputs:
        raise ValueError("inputs: give at least one key and its distribution")
    keys = list(inputs)
    for k in keys:
        split_key(k)
    dists = [input_distribution(inputs[k]) for k in keys]
    name = _design(scenario, design)
    # a count (population.beneficiaries, ...) takes whole numbers: its draws are rounded
    whole = [isinstance(get_key(scenario, k), int) and not isinstance(get_key(scenario, k),
                                                                       bool) for k in keys]

    def value(x: float, is_whole: bool) -> float | int:
        return int(round(x)) if is_whole else _plain(x)

    # every input's range must be valid where its distribution puts mass
    ends = {k: sorted({value(d.ppf(1e-9), w), value(d.ppf(1 - 1e-9), w)})
            for k, d, w in zip(keys, dists, whole, strict=True)}
    try:
        check_values(scenario, ends)
    except ScenarioError as e:
        raise ScenarioError(e.problems, "inputs (their distributions' 1e-9 and 1 - 1e-9 "
                                        "quantiles)") from None
    fixed = fixed_seed(scenario, seed)

    def figure_at(x: F64) -> F64:
        out = np.empty(x.shape[0])
        for i, row in enumerate(x):
            scn = set_keys(scenario, {k: value(v, w)
                                      for k, v, w in zip(keys, row, whole, strict=True)})
            ds = simulate(scn, n_sims=n_sims, seed=fixed, draws=draws)
            out[i] = _figure_of(point_summary(ds), figure, name, year)[0]
            if progress is not None:
                progress(1)
        return out

    sampling_seed = fixed if isinstance(fixed, int) else fixed.spawn(1)[0]
    res = sobol_indices(figure_at, dists, n, seed=sampling_seed, n_boot=n_boot,
                        level=level, names=keys)
    res.attrs.update({"figure": figure, "design": name, "scenario": scenario.name,
                      "seed": fixed if isinstance(fixed, int) else str(fixed),
                      "n_sims": int(scenario.sims if n_sims is None else n_sims),
                      "inputs": "; ".join(f"{k} ~ {_spec_text(inputs[k])}" for k in keys)})
    return res


def _plain(x: Any) -> float:
    return float(f"{float(x):.12g}")


def _spec_text(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    if hasattr(spec, "ppf"):
        return f"{spec.dist.name}{tuple(spec.args)}"
    return ":".join(str(x) for x in spec)


# ------------------------------------------------------------------------------ tornado


def tornado(
    scenario: Scenario,
    ranges: Mapping[str, Sequence[Any]],
    *,
    figure: str = "p_clear_msr",
    design: str | None = None,
    year: int | None = None,
    n_sims: int | None = None,
    seed: SeedLike = None,
    draws: str = "per-beneficiary",
    progress: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """One-at-a-time sensitivity of a figure: each key at its low and high value.

    Parameters
    ----------
    scenario : Scenario
        Gives the base case: every other key at its value here.
    ranges : mapping of str to (low, high)
        ``{key: (low, high)}``, dotted keys (:mod:`simsav.analysis.overrides`).
    figure, design, year :
        The figure (a :func:`simsav.summarize` variable), whose design (default: the
        first) and year (default: the last).
    n_sims, seed, draws, progress :
        As for :func:`simsav.sweep`; the same seed everywhere.

    Returns
    -------
    xarray.Dataset
        Dim ``input`` (the keys, largest swing first): ``low``, ``high`` (the key's
        values), ``figure_low``, ``figure_high`` and their ``se_`` standard errors,
        ``swing`` (``|figure_high - figure_low|``); attrs ``base`` and ``se_base``, the
        figure in the base case.

    Examples
    --------
    >>> import simsav as ss
    >>> scn = ss.load_scenario("scenarios/rural-aco-5k.toml")
    >>> t = ss.tornado(scn, {"aco.true_savings": (0.0, 0.02),
    ...                      "designs.*.msr": (0.01, 0.02)}, design="Track 1", n_sims=300)
    >>> t["input"].values.tolist()
    ['aco.true_savings', 'designs.*.msr']
    """
    if not ranges:
        raise ValueError("ranges: give at least one key and its (low, high)")
    name = _design(scenario, design)
    fixed = fixed_seed(scenario, seed)
    base_ds = simulate(scenario, n_sims=n_sims, seed=fixed, draws=draws, progress=progress)
    base, se_base = _figure_of(point_summary(base_ds), figure, name, year)
    rows = []
    for key, pair in ranges.items():
        vals = list(pair)
        if len(vals) != 2:
            raise ValueError(f"{key}: give (low, high), got {pair!r}")
        sw = sweep(scenario, {key: vals}, n_sims=n_sims, seed=fixed, draws=draws,
                   progress=progress)
        lo = _figure_of(sw.isel({key: 0}), figure, name, year)
        hi = _figure_of(sw.isel({key: 1}), figure, name, year)
        rows.append((key, vals, lo, hi, settles_only(key)))
    rows.sort(key=lambda r: -abs(r[3][0] - r[2][0]))
    out = xr.Dataset(coords={"input": [r[0] for r in rows]})
    out["low"] = ("input", np.array([str(r[1][0]) for r in rows], dtype=object))
    out["high"] = ("input", np.array([str(r[1][1]) for r in rows], dtype=object))
    for what, j in (("low", 2), ("high", 3)):
        out[f"figure_{what}"] = ("input", [r[j][0] for r in rows],
                                 {"long_name": f"{figure} with the key at its {what} value"})
        out[f"se_figure_{what}"] = ("input", [r[j][1] for r in rows],
                                    {"long_name": "Monte Carlo standard error"})
    out["swing"] = ("input", [abs(r[3][0] - r[2][0]) for r in rows],
                    {"long_name": f"|change of {figure}| from low to high"})
    out["settles_only"] = ("input", [r[4] for r in rows],
                           {"long_name": "whether the key re-settles the same draws"})
    out.attrs = {"figure": figure, "design": name, "base": base, "se_base": se_base,
                 "scenario": scenario.name, "seed": fixed if isinstance(fixed, int)
                 else str(fixed), "n_sims": int(base_ds.sizes["sim"]),
                 "year": int(base_ds["year"].values[-1] if year is None else year),
                 "simsav_version": __version__}
    return out
