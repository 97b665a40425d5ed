"""The user's own claims: fit every spending model, compare, and write a ``[spending]``.

:func:`fit_claims` reads a claims file (:func:`simsav.io.claims.read_claims`: one row per
member, amounts paid, optionally member months), fits every model of the registry
(:mod:`simsav.spending.mle`: maximum likelihood where it applies, censored at a cap if
the data were capped) and reports, per model, observed against fitted:

* the log-likelihood and AIC (``2 k - 2 log L``; lower is better, among models fitted by
  maximum likelihood to the same data);
* the Kolmogorov–Smirnov distance ``sup |F_n - F|`` between the data's (exposure
  weighted) distribution function and the model's, below any cap, evaluated at the
  data's distinct values (at most 20,000 of them, evenly spread in rank; ``F_n`` is
  exact there). With parameters fitted to the same data its usual p-value does not
  apply, so none is given;
* the concentration shares, the share of spending held by the costliest 1/5/10/20/50%
  of member-years (from the Lorenz curve, linear between members, as
  :meth:`simsav.spending.Empirical.concentration` computes it), and the CV.

:class:`ClaimsFit` holds the fits, the table, the points of a Lorenz curve and of a tail
quantile–quantile plot (drawn by :func:`simsav.plotting.plot_lorenz` and
:func:`simsav.plotting.plot_tail_qq`), and writes a ``[spending]`` table for a scenario.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w
from numpy.typing import NDArray

from simsav.io.claims import Claims, read_claims
from simsav.spending.base import SpendingModel
from simsav.spending.mle import Fit, Sample, fit_model
from simsav.spending.registry import MODEL_NAMES

__all__ = ["TOPS", "ClaimsFit", "fit_claims", "lorenz_curve", "observed_shares"]

F64 = NDArray[np.float64]

#: The concentration shares reported: top 1, 5, 10, 20 and 50% of member-years.
TOPS = (0.01, 0.05, 0.10, 0.20, 0.50)

_KS_POINTS = 20_000


def lorenz_curve(x: F64, w: F64) -> tuple[F64, F64]:
    """The Lorenz curve of weighted amounts: cumulative weight and spending shares.

    Returns ``(p, L)`` from ``(0, 0)`` to ``(1, 1)``, amounts ascending.
    """
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    p = np.concatenate([[0.0], np.cumsum(ws) / ws.sum()])
    mass = np.concatenate([[0.0], np.cumsum(ws * xs)])
    return p, mass / mass[-1]


def observed_shares(x: F64, w: F64, tops: Sequence[float] = TOPS) -> F64:
    """Share of spending held by the costliest ``q`` of the weight, for each ``q``.

    ``1 - L(1 - q)`` on the Lorenz curve, linear between members.

    Examples
    --------
    >>> observed_shares(np.array([0.0, 1.0, 1.0, 2.0]), np.ones(4), [0.25, 0.5]).tolist()
    [0.5, 0.75]
    """
    p, lor = lorenz_curve(x, w)
    return 1.0 - np.interp(1.0 - np.asarray(tops, dtype=np.float64), p, lor)


def _ks(s: Sample, model: SpendingModel) -> float:
    """``sup |F_n - F|`` below the cap, at the data's distinct values (see module doc)."""
    order = np.argsort(s.x, kind="stable")
    xs, ws = s.x[order], s.w[order]
    u, first = np.unique(xs, return_index=True)
    cum = np.cumsum(ws) / ws.sum()
    last = np.concatenate([first[1:], [xs.size]]) - 1
    f_at, f_before = cum[last], np.concatenate([[0.0], cum[last[:-1]]])
    keep = np.ones(u.size, dtype=bool) if s.cap is None else u < s.cap
    idx = np.flatnonzero(keep)
    if idx.size > _KS_POINTS:
        idx = idx[np.unique(np.linspace(0, idx.size - 1, _KS_POINTS).astype(int))]
    cdf = np.array([model.cdf(float(v)) for v in u[idx]])
    before = np.where(u[idx] > 0, cdf, 0.0)  # continuous above 0; F(0-) = 0
    return float(max(np.max(np.abs(f_at[idx] - cdf)), np.max(np.abs(f_before[idx] - before))))


@dataclass(frozen=True)
class Check:
    """A fitted model against the data: KS distance, mean, CV and concentration shares."""

    ks: float
    mean: float
    cv: float
    shares: F64


@dataclass(frozen=True, eq=False)
class ClaimsFit:
    """Every spending model fitted to a claims file (:func:`fit_claims`).

    Attributes
    ----------
    claims : Claims
    sample : Sample
        What was fitted: annualized amounts, member-year weights, the cap.
    observed : Check
        The data's own mean, CV and shares (KS 0).
    fits : dict of str to Fit
        By model name, in the registry's order.
    checks : dict of str to Check
        Each fitted model against the data.
    """

    claims: Claims
    sample: Sample
    observed: Check
    fits: dict[str, Fit]
    checks: dict[str, Check] = field(default_factory=dict)

    @property
    def best(self) -> str | None:
        """The model with the lowest AIC among those with a likelihood (None if none)."""
        scored = [(f.aic, n) for n, f in self.fits.items() if math.isfinite(f.aic)]
        return min(scored)[1] if scored else None

    def table(self) -> pd.DataFrame:
        """One row per model (and the data): fit statistics, observed against fitted."""
        rows = [{"model": "observed", "method": "", "loglik": math.nan, "aic": math.nan,
                 "ks": 0.0, "mean": self.observed.mean, "cv": self.observed.cv,
                 **{f"top_{q:.0%}": v for q, v in zip(TOPS, self.observed.shares,
                                                       strict=True)}, "note": ""}]
        for name, f in self.fits.items():
            c = self.checks.get(name)
            rows.append({"model": name, "method": f.method, "loglik": f.loglik,
                         "aic": f.aic, "ks": c.ks if c else math.nan,
                         "mean": c.mean if c else math.nan, "cv": c.cv if c else math.nan,
                         **{f"top_{q:.0%}": (c.shares[i] if c else math.nan)
                            for i, q in enumerate(TOPS)}, "note": f.note})
        return pd.DataFrame(rows).set_index("model")

    def parameters(self) -> pd.DataFrame:
        """The fitted parameters with their standard errors, one row per model and name."""
        rows = [{"model": n, "parameter": k, "estimate": v, "se": f.se.get(k, math.nan)}
                for n, f in self.fits.items() for k, v in f.params.items()]
        return pd.DataFrame(rows, columns=["model", "parameter", "estimate", "se"])

    def spending_toml(self, model: str | None = None, *,
                      relative_to: str | os.PathLike[str] | None = None) -> str:
        """A ``[spending]`` table for a scenario, with its provenance as comments.

        Parameters
        ----------
        model : str, optional
            Which fit (default: :attr:`best`, else ``empirical``).
        relative_to : path, optional
            The directory of the scenario that will hold the table: the ``empirical``
            model's ``sample`` path is written relative to it (default: as read).

        Raises
        ------
        ValueError
            For a model that was not fitted or has no ``[spending]`` table.
        """
        name = model or self.best or "empirical"
        f = self.fits.get(name)
        if f is None:
            raise ValueError(f"model: {name!r} was not fitted; one of {', '.join(self.fits)}")
        if not f.spending:
            raise ValueError(f"model: {name!r} has no [spending] table ({f.note})")
        table = dict(f.spending)
        if "sample" in table and relative_to is not None:
            table["sample"] = Path(os.path.relpath(os.path.abspath(table["sample"]),
                                                   os.path.abspath(relative_to))).as_posix()
        c = self.checks.get(name)
        lines = [f"# fitted by simsav fit to {self.claims.describe()}",
                 f"# {self.claims.member_years:,.1f} member-years; model {name} "
                 + ("(the sample itself)" if f.method == "sample" else f"by {f.method}")
                 + (f", AIC {f.aic:,.1f}" if math.isfinite(f.aic) else "")
                 + (f", KS {c.ks:.4f}" if c else "")]
        if f.note and f.method != "sample":
            lines.append(f"# {f.note}")
        if self.sample.cap is not None:
            lines.append(f"# the data were capped at {self.sample.cap:,.0f}: add "
                         f"truncate_at = {self.sample.cap:g} to cap spending the same way")
        return "\n".join(lines) + "\n" + tomli_w.dumps({"spending": table})

    def lorenz(self, n: int = 101) -> dict[str, F64]:
        """Lorenz curves at ``n`` points of ``p``: ``"p"``, ``"observed"`` and each model."""
        p = np.linspace(0.0, 1.0, n)
        px, lx = lorenz_curve(self.sample.x, self.sample.w)
        out = {"p": p, "observed": np.interp(p, px, lx)}
        cap = False if self.sample.cap is None else self.sample.cap
        tops = np.clip(1.0 - p[:-1], 1e-12, 1.0)
        for name, f in self.fits.items():
            if f.model is None:
                continue
            conc = np.asarray(f.model.concentration(tops, truncated=cap))
            out[name] = np.concatenate([1.0 - conc, [1.0]])
        return out

    def tail_qq(self, n: int = 40, *, upper: float = 0.2) -> dict[str, F64]:
        """Quantiles of the top ``upper`` of the data: observed and each model's.

        Upper probabilities ``1 - p`` from ``upper`` down to ten member-years' worth,
        evenly on a log scale; points at or above a cap are left out.
        """
        order = np.argsort(self.sample.x, kind="stable")
        xs, ws = self.sample.x[order], self.sample.w[order]
        cum = np.cumsum(ws) / ws.sum()
        low = max(10.0 / ws.sum(), 1e-6)
        if not low < upper:
            return {"p": np.array([]), "observed": np.array([])}
        p = 1.0 - np.geomspace(upper, low, n)
        obs = xs[np.minimum(np.searchsorted(cum, p, side="left"), xs.size - 1)]
        keep = obs < self.sample.cap if self.sample.cap is not None else np.ones(n, bool)
        out = {"p": p[keep], "observed": obs[keep]}
        for name, f in self.fits.items():
            if f.model is not None:
                out[name] = np.array([f.model.quantile(float(v)) for v in p[keep]])
        return out


def _check(s: Sample, model: SpendingModel) -> Check:
    cap = False if s.cap is None else s.cap
    return Check(ks=_ks(s, model), mean=float(model.mean(truncated=cap)),
                 cv=float(model.cv(truncated=cap)),
                 shares=np.asarray(model.concentration(list(TOPS), truncated=cap)))


def fit_claims(
    claims: Claims | str | os.PathLike[str],
    *,
    column: str = "paid",
    exposure: str | None = None,
    cap: float | None = None,
    models: Sequence[str] | None = None,
) -> ClaimsFit:
    r"""Fit every spending model to a claims file and compare them with the data.

    Parameters
    ----------
    claims : Claims or path
        From :func:`simsav.read_claims`, or a file to read.
    column, exposure : str
        The amount and member-months columns (when ``claims`` is a path).
    cap : float, optional
        The data were capped at this amount (e.g. a stop-loss attachment or an MSSP-style
        truncation): amounts at or above it enter the likelihood as censored.
    models : sequence of str, optional
        Registered model names to fit (default: every one).

    Returns
    -------
    ClaimsFit

    Examples
    --------
    >>> from simsav.io.desynpuf import desynpuf_spending
    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "synpuf.csv"
    >>> x = desynpuf_spending(2008)
    >>> _ = p.write_text("paid\n" + "\n".join(f"{v:.2f}" for v in x))
    >>> fit = fit_claims(p, models=["hurdle-lognormal", "empirical"])
    >>> t = fit.table()
    >>> round(float(t.loc["observed", "top_5%"]), 3), fit.best
    (0.456, 'hurdle-lognormal')
    """
    c = claims if isinstance(claims, Claims) else read_claims(claims, column=column,
                                                               exposure=exposure)
    if cap is not None and not (math.isfinite(cap) and cap > 0):
        raise ValueError(f"cap: must be a positive amount, got {cap}")
    names = list(MODEL_NAMES if models is None else models)
    for n in names:
        if n not in MODEL_NAMES:
            raise ValueError(f"models: unknown model {n!r}; one of {', '.join(MODEL_NAMES)}")
    x = c.amounts if cap is None else np.minimum(c.amounts, cap)
    try:
        support = c.support()
    except ValueError:
        support = None
    if support is not None and cap is not None:
        support = np.minimum(support, cap)
    source = {"sample": os.path.abspath(c.path), "sample_column": c.column,
              **({"sample_exposure": c.exposure} if c.exposure else {})}
    s = Sample(x, c.weights, cap=cap, support=support, spending_source=source)
    observed = Check(ks=0.0, mean=s.mean(), cv=s.cv(), shares=observed_shares(x, c.weights))
    fits = {n: fit_model(n, s) for n in names}
    checks = {}
    for n, f in fits.items():
        if f.model is None:
            continue
        checks[n] = observed if f.method == "sample" else _check(s, f.model)
    return ClaimsFit(claims=c, sample=s, observed=observed, fits=fits, checks=checks)
