"""Fitting every spending model to a sample of annual spending: maximum likelihood.

:func:`fit_model` fits one registered model (:mod:`simsav.spending.registry`) to a
:class:`Sample` (amounts per member-year, their weights in member-years, and the cap the
data were capped at, if any) and returns a :class:`Fit`: the fitted model, its
parameters with standard errors, the log-likelihood, and the ``[spending]`` table that
rebuilds it.

Maximum likelihood where it applies, and it applies to every model with a density at
every observed amount:

* ``gamma``, ``lognormal`` — the positive amounts, when there are no zeros;
* ``hurdle-lognormal`` — the zero share (its closed form, the weighted share of zeros)
  and the lognormal of the positive amounts;
* ``lognormal-pareto`` — the zero share; then, for the splice point ``x_s`` at each
  candidate order statistic, the tail index in closed form (Hill's estimator,
  censoring-aware) and the body's ``mu``, ``sigma`` by a censored-normal (Tobit) fit,
  since the body sees the tail as censored at ``x_s``; the profile likelihood picks
  ``x_s`` (coarse grid, then refined). ``tail_quantile = Phi((log x_s - mu) / sigma)``;
* ``lognormal-mixture`` — the zero share; the two lognormals by EM on the log amounts
  for a start, then the exact likelihood with its analytic gradient (L-BFGS).

Truncation-aware: data capped at ``cap`` (each amount ``min(x, cap)``, the MSSP meaning
of truncation) enter the likelihood censored: an amount at the cap contributes
``P(X >= cap)``, not a density.

Standard errors come from the observed information (the inverse Hessian of the
log-likelihood, by central differences), weights counted as frequencies (a member with 6
months counts as half an observation). For ``lognormal-pareto`` they are conditional on
the splice point: a density jump there makes its estimate converge at rate ``1/n``,
faster than the rest, so ``tail_quantile``'s error comes from ``mu`` and ``sigma``.

Moments where it does not: ``gamma`` and ``lognormal`` when the data hold zeros (a zero
has no density under them), and ``medicare-ffs``, whose shape is fixed and whose only
free parameter is the mean (a scale: the sample mean, or with a cap the mean whose
capped mean matches the data's, with its delta-method error). A model added later
without a fitter here is fitted by moments too (:func:`fit_by_moments`): its mean, and
its ``cv`` and ``zero_share`` if it takes them. ``empirical`` is the sample itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from simsav.spending.base import SpendingModel
from simsav.spending.empirical import Empirical
from simsav.spending.gamma import Gamma
from simsav.spending.hurdle import HurdleLognormal
from simsav.spending.lognormal import Lognormal
from simsav.spending.lognormal_mixture import LognormalMixture
from simsav.spending.medicare import medicare_ffs
from simsav.spending.mle_base import (
    F64,
    LOG_2PI,
    Fit,
    Sample,
    spending_table,
    std_errors,
    zero_part,
)
from simsav.spending.mle_spliced import fit_lognormal_pareto, loglik_spliced
from simsav.spending.registry import entry
from simsav.spending.spec import SpendingSpec

__all__ = ["FITTERS", "Fit", "Sample", "fit_by_moments", "fit_model"]

_MIN_POSITIVE = 20  # amounts > 0 a model is fitted to, at least
_MIN_DISTINCT = 5


# --------------------------------------------------------------- positive-part models


def _ln_loglik(ly: F64, wy: F64, cens: NDArray[np.bool_], mu: float, sigma: float) -> float:
    z = (ly - mu) / sigma
    unc = ~cens
    out = np.sum(wy[unc] * (-ly[unc] - math.log(sigma) - 0.5 * LOG_2PI - 0.5 * z[unc] ** 2))
    if np.any(cens):
        out += np.sum(wy[cens] * special.log_ndtr(-z[cens]))
    return float(out)


def _fit_lognormal_part(s: Sample) -> tuple[float, float, F64, float]:
    """``(mu, sigma, se[mu, sigma], loglik)`` of the positive amounts (censored at the cap)."""
    y, wy, cens = s.positive()
    ly = np.log(y)
    mu0 = float(np.average(ly, weights=wy))
    sd0 = float(math.sqrt(np.average((ly - mu0) ** 2, weights=wy))) or 1.0

    def ll(t: F64) -> float:
        return _ln_loglik(ly, wy, cens, float(t[0]), float(t[1]))

    theta = np.array([mu0, sd0])
    if np.any(cens):
        r = optimize.minimize(lambda t: -ll(np.array([t[0], math.exp(t[1])])),
                              [mu0, math.log(sd0)], method="Nelder-Mead",
                              options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 4000})
        theta = np.array([r.x[0], math.exp(r.x[1])])
    return float(theta[0]), float(theta[1]), std_errors(ll, theta), ll(theta)


def _fit_gamma(s: Sample) -> Fit:
    if s.zero_weight > 0:
        return fit_by_moments("gamma", s, why="the data hold zeros, which a gamma gives no "
                                              "density")
    y, wy, cens = s.positive()
    ly = np.log(y)
    unc = ~cens

    def ll(t: F64) -> float:
        k, th = float(t[0]), float(t[1])
        if not (k > 0 and th > 0):
            return -math.inf
        out = np.sum(wy[unc] * ((k - 1) * ly[unc] - y[unc] / th - k * math.log(th)
                                - special.gammaln(k)))
        if np.any(cens):
            out += np.sum(wy[cens]) * math.log(max(special.gammaincc(k, s.cap / th), 1e-300))
        return float(out)

    m = float(np.average(y, weights=wy))
    v = float(np.average((y - m) ** 2, weights=wy))
    k0 = m * m / v
    r = optimize.minimize(lambda t: -ll(np.exp(t)), [math.log(k0), math.log(m / k0)],
                          method="Nelder-Mead",
                          options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 4000})
    theta = np.exp(r.x)
    model = Gamma(shape=float(theta[0]), scale=float(theta[1]))
    se = std_errors(ll, theta)
    return Fit("gamma", "maximum likelihood", model,
               {"shape": model.shape, "scale": model.scale},
               {"shape": float(se[0]), "scale": float(se[1])}, ll(theta), 2,
               spending_table("gamma", model, cv=model.cv()))


def _fit_lognormal(s: Sample) -> Fit:
    if s.zero_weight > 0:
        return fit_by_moments("lognormal", s, why="the data hold zeros, which a lognormal "
                                                  "gives no density")
    mu, sigma, se, ll = _fit_lognormal_part(s)
    model = Lognormal(mu=mu, sigma=sigma)
    return Fit("lognormal", "maximum likelihood", model, {"mu": mu, "sigma": sigma},
               {"mu": float(se[0]), "sigma": float(se[1])}, ll, 2,
               spending_table("lognormal", model, cv=model.cv()))


def _fit_hurdle(s: Sample) -> Fit:
    p0, se0, ll0 = zero_part(s)
    mu, sigma, se, ll = _fit_lognormal_part(s)
    model = HurdleLognormal(zero_share=p0, mu=mu, sigma=sigma)
    return Fit("hurdle-lognormal", "maximum likelihood", model,
               {"zero_share": p0, "mu": mu, "sigma": sigma},
               {"zero_share": se0, "mu": float(se[0]), "sigma": float(se[1])}, ll0 + ll,
               2 + (p0 > 0),
               spending_table("hurdle-lognormal", model, cv=model.cv(), zero_share=p0))



# ----------------------------------------------------------------- lognormal-mixture


def _mixture_nll(t: F64, ly: F64, wy: F64, lc: float | None, wc: float) -> tuple[float, F64]:
    """Negative log-likelihood and gradient in ``(logit h, mu1, log s1, mu2, log s2)``.

    ``ly``, ``wy``: the uncensored log amounts and weights; ``wc``: the weight censored
    at the log cap ``lc``.
    """
    eta, m1, ls1, m2, ls2 = (float(v) for v in t)
    h = float(special.expit(eta))
    lw = np.log(np.clip([1.0 - h, h], 1e-300, 1.0))
    mus, sgs = np.array([m1, m2]), np.exp([ls1, ls2])
    z = (ly[:, None] - mus) / sgs
    a = lw - np.log(sgs) - 0.5 * LOG_2PI - 0.5 * z * z
    lse = np.logaddexp(a[:, 0], a[:, 1])
    wr = wy[:, None] * np.exp(a - lse[:, None])
    ll = float(np.sum(wy * lse) - np.sum(wy * ly))
    g = np.array([np.sum(wr[:, 1]) - h * np.sum(wy),
                  np.sum(wr[:, 0] * z[:, 0]) / sgs[0], np.sum(wr[:, 0] * (z[:, 0] ** 2 - 1)),
                  np.sum(wr[:, 1] * z[:, 1]) / sgs[1], np.sum(wr[:, 1] * (z[:, 1] ** 2 - 1))])
    if lc is not None and wc > 0:
        zc = (lc - mus) / sgs
        b = lw + special.log_ndtr(-zc)
        lse_c = float(special.logsumexp(b))
        rc = wc * np.exp(b - lse_c)
        lam = np.exp(-0.5 * zc * zc - 0.5 * LOG_2PI - special.log_ndtr(-zc))
        ll += wc * lse_c
        g += np.array([rc[1] - h * wc, rc[0] * lam[0] / sgs[0], rc[0] * lam[0] * zc[0],
                       rc[1] * lam[1] / sgs[1], rc[1] * lam[1] * zc[1]])
    return -ll, -g


def _em_start(ly: F64, wy: F64, split: float) -> F64:
    """A start for the mixture: EM on the log amounts, components split at a quantile."""
    cut = float(np.quantile(ly, split))
    resp = (ly > cut).astype(np.float64)
    sd = float(np.std(ly)) or 1.0
    pis, mus, sgs = np.array([split, 1 - split]), np.array([cut - sd, cut + sd]), np.full(2, sd)
    for _ in range(30):
        nk = np.array([np.sum(wy * (1 - resp)), np.sum(wy * resp)])
        if np.any(nk <= 0):
            break
        mus = np.array([np.sum(wy * (1 - resp) * ly), np.sum(wy * resp * ly)]) / nk
        var = np.array([np.sum(wy * (1 - resp) * (ly - mus[0]) ** 2),
                        np.sum(wy * resp * (ly - mus[1]) ** 2)]) / nk
        sgs = np.sqrt(np.maximum(var, 1e-6))
        pis = nk / nk.sum()
        logp = np.log(pis) - np.log(sgs) - 0.5 * ((ly[:, None] - mus) / sgs) ** 2
        resp = np.exp(logp[:, 1] - np.logaddexp(logp[:, 0], logp[:, 1]))
    return np.array([special.logit(np.clip(pis[1], 1e-4, 1 - 1e-4)), mus[0], math.log(sgs[0]),
                     mus[1], math.log(sgs[1])])


def _fit_mixture(s: Sample) -> Fit:
    p0, se0, ll0 = zero_part(s)
    y, wy, cens = s.positive()
    ly, wu = np.log(y[~cens]), wy[~cens]
    lc, wc = (math.log(s.cap), float(wy[cens].sum())) if s.cap is not None else (None, 0.0)
    args = (ly, wu, lc, wc)
    best = None
    for split in (0.85, 0.7):
        r = optimize.minimize(_mixture_nll, _em_start(np.log(y), wy, split), args=args,
                              jac=True, method="L-BFGS-B",
                              options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9})
        if best is None or r.fun < best.fun:
            best = r
    assert best is not None
    eta, m1, ls1, m2, ls2 = best.x
    h, s1, s2 = float(special.expit(eta)), math.exp(ls1), math.exp(ls2)
    if m1 + s1 * s1 / 2 > m2 + s2 * s2 / 2:  # the high-cost component is the second
        h, m1, s1, m2, s2 = 1 - h, m2, s2, m1, s1
    nat = np.array([h, m1, s1, m2, s2])

    def ll(t: F64) -> float:
        if not (0 < t[0] < 1 and t[2] > 0 and t[4] > 0):
            return -math.inf
        u = np.array([special.logit(t[0]), t[1], math.log(t[2]), t[3], math.log(t[4])])
        return -_mixture_nll(u, *args)[0]

    se = std_errors(ll, nat)
    model = LognormalMixture(zero_share=p0, high_share=h, low_mu=m1, low_sigma=s1,
                             high_mu=m2, high_sigma=s2)
    names = ("high_share", "low_mu", "low_sigma", "high_mu", "high_sigma")
    try:
        spending = spending_table("lognormal-mixture", model, zero_share=p0, high_share=h,
                         low_sigma=s1, high_sigma=s2, high_mean_ratio=model.high_mean_ratio)
        note = ""
    except ValueError as err:
        spending, note = {}, f"outside the [spending] table's ranges: {err}"
    return Fit("lognormal-mixture", "maximum likelihood", model,
               {"zero_share": p0, **dict(zip(names, map(float, nat), strict=True))},
               {"zero_share": se0, **dict(zip(names, map(float, se), strict=True))},
               ll0 - float(best.fun), 5 + (p0 > 0), spending, note)


# -------------------------------------------------------------------------- moments


def _capped_mean_root(s: Sample, build: Callable[[float], SpendingModel],
                      target: float) -> float:
    """The mean ``m`` whose model, capped at the sample's cap, has mean ``target``."""
    def gap(lm: float) -> float:
        return math.log(build(math.exp(lm)).mean(truncated=s.cap)) - math.log(target)

    lo, hi = math.log(target) - 1.0, math.log(target) + 8.0
    return math.exp(optimize.brentq(gap, lo, hi, xtol=1e-13))


def _fit_medicare(s: Sample) -> Fit:
    m_obs = s.mean()
    if s.cap is None:
        mean = m_obs
        se = medicare_ffs(mean).sd() / math.sqrt(s.total)
    else:
        mean = _capped_mean_root(s, medicare_ffs, m_obs)
        se_obs = medicare_ffs(mean).sd(truncated=s.cap) / math.sqrt(s.total)
        se = _capped_mean_root(s, medicare_ffs, m_obs + se_obs) - mean
    model = medicare_ffs(mean)
    ll = loglik_spliced(model, s)
    return Fit("medicare-ffs", "moments", model, {"mean": mean}, {"mean": se}, ll, 1,
               spending_table("medicare-ffs", model),
               note="shape fixed (Medicare FFS concentration); the mean matches the data's"
                    + (" capped mean" if s.cap is not None else "")
                    + "; its standard error is the model's sd over the root of the weight")



def fit_by_moments(name: str, s: Sample, *, why: str = "") -> Fit:
    """Fit a registered model by its moments: the mean, and the cv and zero share it takes.

    With a cap, the capped mean and cv are matched. The model's other shape fields take
    their registry defaults for a bare name.
    """
    e = entry(name)
    fields: dict[str, Any] = {"model": name, **e.bare}
    if "zero_share" in e.fields:
        fields["zero_share"] = s.zero_weight / s.total
    takes_cv = "cv" in e.fields

    def build(m: float, cv: float | None) -> SpendingModel:
        f = {**fields, "mean": m, **({"cv": cv} if takes_cv else {})}
        return SpendingSpec.model_validate(f).to_model()

    m_obs, cv_obs = s.mean(), s.cv()
    try:
        if s.cap is None:
            mean, cv = m_obs, (cv_obs if takes_cv else None)
        elif not takes_cv:
            mean, cv = _capped_mean_root(s, lambda m: build(m, None), m_obs), None
        else:
            def resid(t: F64) -> F64:
                mod = build(math.exp(t[0]), math.exp(t[1]))
                return np.array([math.log(mod.mean(truncated=s.cap) / m_obs),
                                 math.log(mod.cv(truncated=s.cap) / cv_obs)])

            r = optimize.least_squares(resid, [math.log(m_obs), math.log(max(cv_obs, 0.05))],
                                       xtol=1e-12, ftol=1e-12)
            mean, cv = math.exp(r.x[0]), math.exp(r.x[1])
        model = build(mean, cv)
    except ValueError as err:
        return Fit(name, "not fitted", None, note=f"moments: {err}")
    shape = {k: v for k, v in fields.items() if k != "model"}
    if cv is not None:
        shape["cv"] = cv
    params = {"mean": mean, **({"cv": cv} if cv is not None else {})}
    return Fit(name, "moments", model, params, {k: math.nan for k in params}, math.nan,
               len(params) + ("zero_share" in fields), spending_table(name, model, **shape),
               note="moments" + (f": {why}" if why else ""))


def _fit_empirical(s: Sample) -> Fit:
    support = s.support
    if support is None:
        if not np.all(s.w == 1.0):
            return Fit("empirical", "not fitted", None,
                       note="resampling needs whole member months")
        support = s.x
    model = Empirical.from_sample(support, mean=float(np.mean(support)))
    spending = {"model": "empirical", "mean": float(f"{model.mean():.6g}"),
                **s.spending_source} if s.spending_source else {}
    return Fit("empirical", "sample", model, spending=spending, n_params=0,
               note="the sample itself" + ("" if spending else
                                           " (no file to name in a [spending] table)"))


#: The dedicated fitter of each registered model (others: :func:`fit_by_moments`).
FITTERS: dict[str, Callable[[Sample], Fit]] = {
    "gamma": _fit_gamma,
    "lognormal": _fit_lognormal,
    "hurdle-lognormal": _fit_hurdle,
    "lognormal-pareto": fit_lognormal_pareto,
    "empirical": _fit_empirical,
    "medicare-ffs": _fit_medicare,
    "lognormal-mixture": _fit_mixture,
}


def fit_model(name: str, sample: Sample) -> Fit:
    """Fit the registered model ``name`` to ``sample`` (see the module docstring).

    Returns a :class:`Fit` with ``method = "not fitted"`` and the reason in ``note``
    when the model cannot describe the sample.

    Examples
    --------
    >>> import numpy as np
    >>> x = Gamma.from_mean_cv(5_000.0, 1.5).isf(np.random.default_rng(1).random(20_000))
    >>> f = fit_model("gamma", Sample(x, np.ones(x.size)))
    >>> f.method, round(f.model.cv(), 1)
    ('maximum likelihood', 1.5)
    """
    fitter = FITTERS.get(name)
    if fitter is None:
        entry(name)
        return fit_by_moments(name, sample)
    y = sample.x[sample.x > 0]
    if name != "empirical" and (y.size < _MIN_POSITIVE or np.unique(y).size < _MIN_DISTINCT):
        return Fit(name, "not fitted", None,
                   note=f"needs at least {_MIN_POSITIVE} positive amounts, {_MIN_DISTINCT} "
                        f"of them distinct (has {y.size}, {np.unique(y).size} distinct)")
    try:
        return fitter(sample)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
        return Fit(name, "not fitted", None, note=str(err) or type(err).__name__)
