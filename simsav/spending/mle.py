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
from dataclasses import dataclass, field
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
from simsav.spending.lognormal_pareto import LognormalPareto
from simsav.spending.medicare import medicare_ffs
from simsav.spending.registry import entry
from simsav.spending.spec import SpendingSpec

__all__ = ["FITTERS", "Fit", "Sample", "fit_by_moments", "fit_model"]

F64 = NDArray[np.float64]
_LOG_2PI = math.log(2.0 * math.pi)
_MIN_POSITIVE = 20  # amounts > 0 a model is fitted to, at least
_MIN_DISTINCT = 5


@dataclass(frozen=True, eq=False)
class Sample:
    """Amounts to fit: per member-year, weighted, possibly capped.

    Attributes
    ----------
    x : ndarray
        Annual amounts, USD (``>= 0``).
    w : ndarray
        Weights, member-years (1 for a full-year member).
    cap : float, optional
        The data were capped here: amounts ``>= cap`` are censored.
    support : ndarray, optional
        What the ``empirical`` model resamples (default ``x`` when all weights are 1).
    spending_source : dict
        ``[spending]`` fields naming the data for the ``empirical`` model (``sample``,
        ``sample_column``, ``sample_exposure``).
    """

    x: F64
    w: F64
    cap: float | None = None
    support: F64 | None = None
    spending_source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64)
        w = np.asarray(self.w, dtype=np.float64)
        if x.ndim != 1 or x.shape != w.shape or x.size < 2:
            raise ValueError("x and w: two 1-d arrays of the same length, at least 2")
        if np.any(~np.isfinite(x)) or np.any(x < 0) or not np.any(x > 0):
            raise ValueError("x: finite amounts >= 0, not all 0")
        if np.any(~np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("w: finite weights > 0")
        if self.cap is not None and not (math.isfinite(self.cap) and self.cap > 0):
            raise ValueError(f"cap: must be finite and > 0, got {self.cap}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "w", w)

    @property
    def total(self) -> float:
        """Total weight (member-years)."""
        return float(self.w.sum())

    @property
    def zero_weight(self) -> float:
        """Weight of the zero amounts."""
        return float(self.w[self.x == 0].sum())

    def positive(self) -> tuple[F64, F64, NDArray[np.bool_]]:
        """The positive amounts sorted, their weights, and which are censored at the cap."""
        keep = self.x > 0
        order = np.argsort(self.x[keep], kind="stable")
        y, wy = self.x[keep][order], self.w[keep][order]
        cens = np.zeros(y.size, dtype=bool) if self.cap is None else y >= self.cap
        return np.where(cens, self.cap if self.cap else 0.0, y), wy, cens

    def mean(self) -> float:
        """Weighted mean (of the capped amounts, if capped)."""
        return float(np.sum(self.w * self.x) / self.total)

    def cv(self) -> float:
        """Weighted coefficient of variation."""
        m = self.mean()
        return float(math.sqrt(np.sum(self.w * (self.x - m) ** 2) / self.total) / m)


@dataclass(frozen=True)
class Fit:
    """One model fitted to a :class:`Sample`.

    Attributes
    ----------
    name : str
        The registry name.
    method : str
        ``"maximum likelihood"``, ``"moments"``, ``"sample"`` or ``"not fitted"``.
    model : SpendingModel or None
        The fitted (untruncated) model.
    params, se : dict
        Its parameters by name (those of the model's class) and their standard errors.
    loglik : float
        Log-likelihood of the sample (NaN where the model has no density at some amount
        or is the sample itself).
    n_params : int
        Free parameters (for AIC).
    spending : dict
        The ``[spending]`` table that rebuilds the model (empty if none).
    note : str
        How it was fitted, or why not.
    """

    name: str
    method: str
    model: SpendingModel | None
    params: dict[str, float] = field(default_factory=dict)
    se: dict[str, float] = field(default_factory=dict)
    loglik: float = math.nan
    n_params: int = 0
    spending: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def aic(self) -> float:
        """Akaike's information criterion, ``2 k - 2 loglik`` (NaN without a likelihood)."""
        return 2.0 * self.n_params - 2.0 * self.loglik


# --------------------------------------------------------------------------- helpers


def _hessian(f: Callable[[F64], float], theta: F64, rel: float = 1e-4) -> F64:
    """Hessian of ``f`` at ``theta`` by central differences."""
    t = np.asarray(theta, dtype=np.float64)
    h = rel * np.maximum(np.abs(t), 0.1)
    k = t.size
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            v = (f(t + ei + ej) - f(t + ei - ej) - f(t - ei + ej) + f(t - ei - ej))
            out[i, j] = out[j, i] = v / (4.0 * h[i] * h[j])
    return out


def _covariance(loglik: Callable[[F64], float], theta: F64) -> F64:
    """The inverse of the negative Hessian of ``loglik`` at ``theta`` (NaN if singular)."""
    h = -_hessian(loglik, theta)
    try:
        return np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return np.full(h.shape, np.nan)


def _errors(loglik: Callable[[F64], float], theta: F64) -> F64:
    """Standard errors: the root diagonal of :func:`_covariance`."""
    d = np.diag(_covariance(loglik, theta))
    return np.where(d > 0, np.sqrt(np.abs(d)), np.nan)


def _zero_part(s: Sample) -> tuple[float, float, float]:
    """``(p0, se, loglik)`` of the zero share (weighted share of zeros)."""
    w, w0 = s.total, s.zero_weight
    p0 = w0 / w
    if w0 == 0:
        return 0.0, 0.0, 0.0
    return p0, math.sqrt(p0 * (1 - p0) / w), w0 * math.log(p0) + (w - w0) * math.log1p(-p0)


def _spec(name: str, model: SpendingModel, **shape: float) -> dict[str, Any]:
    """The ``[spending]`` table of a fitted model (validated; rounded to 6 digits)."""
    fields = {"model": name, "mean": float(f"{model.mean():.6g}"),
              **{k: float(f"{v:.6g}") if isinstance(v, float) else v
                 for k, v in shape.items()}}
    SpendingSpec.model_validate(fields)
    return fields


# --------------------------------------------------------------- positive-part models


def _ln_loglik(ly: F64, wy: F64, cens: NDArray[np.bool_], mu: float, sigma: float) -> float:
    z = (ly - mu) / sigma
    unc = ~cens
    out = np.sum(wy[unc] * (-ly[unc] - math.log(sigma) - 0.5 * _LOG_2PI - 0.5 * z[unc] ** 2))
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
    return float(theta[0]), float(theta[1]), _errors(ll, theta), ll(theta)


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
    se = _errors(ll, theta)
    return Fit("gamma", "maximum likelihood", model,
               {"shape": model.shape, "scale": model.scale},
               {"shape": float(se[0]), "scale": float(se[1])}, ll(theta), 2,
               _spec("gamma", model, cv=model.cv()))


def _fit_lognormal(s: Sample) -> Fit:
    if s.zero_weight > 0:
        return fit_by_moments("lognormal", s, why="the data hold zeros, which a lognormal "
                                                  "gives no density")
    mu, sigma, se, ll = _fit_lognormal_part(s)
    model = Lognormal(mu=mu, sigma=sigma)
    return Fit("lognormal", "maximum likelihood", model, {"mu": mu, "sigma": sigma},
               {"mu": float(se[0]), "sigma": float(se[1])}, ll, 2,
               _spec("lognormal", model, cv=model.cv()))


def _fit_hurdle(s: Sample) -> Fit:
    p0, se0, ll0 = _zero_part(s)
    mu, sigma, se, ll = _fit_lognormal_part(s)
    model = HurdleLognormal(zero_share=p0, mu=mu, sigma=sigma)
    return Fit("hurdle-lognormal", "maximum likelihood", model,
               {"zero_share": p0, "mu": mu, "sigma": sigma},
               {"zero_share": se0, "mu": float(se[0]), "sigma": float(se[1])}, ll0 + ll,
               2 + (p0 > 0), _spec("hurdle-lognormal", model, cv=model.cv(), zero_share=p0))


# ------------------------------------------------------------------ lognormal-pareto


@dataclass
class _Splice:
    """Cumulative sums of the sorted positive amounts, for the profile over ``x_s``."""

    ly: F64
    wy: F64
    cens: NDArray[np.bool_]

    def __post_init__(self) -> None:
        unc_w = np.where(self.cens, 0.0, self.wy)
        self.c0 = np.cumsum(self.wy)
        self.c1 = np.cumsum(self.wy * self.ly)
        self.c2 = np.cumsum(self.wy * self.ly ** 2)
        self.cu = np.cumsum(unc_w)
        self.cl = np.cumsum(self.wy * self.ly)  # log min(y, cap) (censored y is the cap)
        self.cul = np.cumsum(unc_w * self.ly)

    def body(self, j: int, mu: float, sigma: float, w_tail: float, lxs: float) -> float:
        """Log-likelihood of the body (amounts up to index ``j``) and the tail's ``1 - q``."""
        s0, s1, s2 = self.c0[j], self.c1[j], self.c2[j]
        quad = s2 - 2 * mu * s1 + s0 * mu * mu
        return float(-self.c1[j] - s0 * (math.log(sigma) + 0.5 * _LOG_2PI)
                     - quad / (2 * sigma * sigma)
                     + w_tail * special.log_ndtr((mu - lxs) / sigma))

    def tail(self, j: int, alpha: float) -> tuple[float, float]:
        """``(loglik, alpha_hat)`` of the Pareto tail above index ``j`` (``alpha`` None: MLE)."""
        n = self.ly.size - 1
        lxs = self.ly[j]
        w_t = self.c0[n] - self.c0[j]
        w_tu = self.cu[n] - self.cu[j]
        big_l = (self.cl[n] - self.cl[j]) - w_t * lxs
        a = w_tu / big_l if math.isnan(alpha) else alpha
        sum_unc_log = self.cul[n] - self.cul[j]
        return float(w_tu * (math.log(a) + a * lxs) - (a + 1) * sum_unc_log
                     - a * ((self.cl[n] - self.cl[j]) - (self.cul[n] - self.cul[j])
                            - (w_t - w_tu) * lxs)), float(a)

    def fit_body(self, j: int) -> tuple[float, float, float]:
        """``(loglik, mu, sigma)``: the censored-normal (Tobit) fit with the splice at ``j``."""
        n = self.ly.size - 1
        lxs = self.ly[j]
        w_t = self.c0[n] - self.c0[j]
        s0, s1 = self.c0[j], self.c1[j]
        mu0 = s1 / s0
        sd0 = math.sqrt(max(self.c2[j] / s0 - mu0 * mu0, 1e-12))

        def neg(t: F64) -> tuple[float, F64]:
            mu, ls = float(t[0]), float(t[1])
            sg = math.exp(ls)
            z = (mu - lxs) / sg
            lam = math.exp(-0.5 * z * z - 0.5 * _LOG_2PI - float(special.log_ndtr(z)))
            quad = self.c2[j] - 2 * mu * s1 + s0 * mu * mu
            g_mu = (s1 - s0 * mu) / sg**2 + w_t * lam / sg
            g_ls = -s0 + quad / sg**2 - w_t * lam * z
            return -self.body(j, mu, sg, w_t, lxs), -np.array([g_mu, g_ls])

        r = optimize.minimize(neg, [mu0, math.log(sd0)], jac=True, method="BFGS",
                              options={"gtol": 1e-8})
        return -float(r.fun), float(r.x[0]), math.exp(float(r.x[1]))


def _profile(sp: _Splice, j: int) -> tuple[float, float, float, float]:
    """``(loglik, mu, sigma, alpha)`` with the splice at index ``j`` (NaN loglik if invalid)."""
    ll_b, mu, sigma = sp.fit_body(j)
    ll_t, alpha = sp.tail(j, math.nan)
    q = float(special.ndtr((sp.ly[j] - mu) / sigma))
    if not (alpha > 1.0 and 0.5 <= q < 1.0 and math.isfinite(ll_b + ll_t)):
        return math.nan, mu, sigma, alpha
    return ll_b + ll_t, mu, sigma, alpha


def _best_splice(sp: _Splice) -> int:
    """The index of the splice point that maximizes the profile likelihood."""
    frac = sp.c0 / sp.c0[-1]
    unc = ~sp.cens
    ok = np.flatnonzero(unc & (frac >= 0.5) & (frac <= 0.998))
    ok = ok[(sp.cu[-1] - sp.cu[ok]) >= 10]  # at least 10 uncensored in the tail
    if ok.size == 0:
        raise ValueError("too few amounts above the median to fit a Pareto tail")
    cache: dict[int, float] = {}

    def score(j: int) -> float:
        if j not in cache:
            v = _profile(sp, int(j))[0]
            cache[j] = -math.inf if math.isnan(v) else v
        return cache[j]

    cand = np.unique(ok[np.linspace(0, ok.size - 1, min(ok.size, 120)).astype(int)])
    while True:
        scores = [score(int(j)) for j in cand]
        b = int(np.argmax(scores))
        lo = int(np.searchsorted(ok, cand[max(b - 1, 0)]))
        hi = int(np.searchsorted(ok, cand[min(b + 1, cand.size - 1)]))
        if hi - lo <= 60:
            inner = ok[lo:hi + 1]
            return int(inner[int(np.argmax([score(int(j)) for j in inner]))])
        cand = np.unique(ok[np.linspace(lo, hi, 40).astype(int)])


def _fit_lognormal_pareto(s: Sample) -> Fit:
    p0, se0, ll0 = _zero_part(s)
    y, wy, cens = s.positive()
    sp = _Splice(np.log(y), wy, cens)
    j = _best_splice(sp)
    ll_p, mu, sigma, alpha = _profile(sp, j)
    lxs = float(sp.ly[j])

    def ll(t: F64) -> float:
        m, sg, a = float(t[0]), float(t[1]), float(t[2])
        if not (sg > 0 and a > 0):
            return -math.inf
        w_t = sp.c0[-1] - sp.c0[j]
        return sp.body(j, m, sg, w_t, lxs) + sp.tail(j, a)[0]

    theta = np.array([mu, sigma, alpha])
    cov = _covariance(ll, theta)
    se = np.sqrt(np.abs(np.diag(cov)))
    z = (lxs - mu) / sigma
    q = float(special.ndtr(z))
    dens = math.exp(-0.5 * z * z - 0.5 * _LOG_2PI)
    grad = np.array([-dens / sigma, -dens * z / sigma])  # of q in (mu, sigma)
    se_q = float(math.sqrt(max(grad @ cov[:2, :2] @ grad, 0.0)))
    model = LognormalPareto(zero_share=p0, mu=mu, sigma=sigma, tail_quantile=q,
                            tail_alpha=alpha)
    return Fit("lognormal-pareto", "maximum likelihood", model,
               {"zero_share": p0, "mu": mu, "sigma": sigma, "tail_quantile": q,
                "tail_alpha": alpha},
               {"zero_share": se0, "mu": float(se[0]), "sigma": float(se[1]),
                "tail_quantile": se_q, "tail_alpha": float(se[2])},
               ll0 + ll_p, 4 + (p0 > 0),
               _spec("lognormal-pareto", model, zero_share=p0, body_sigma=sigma,
                     tail_quantile=q, tail_alpha=alpha),
               note=f"splice at {math.exp(lxs):,.0f} USD (profile likelihood; standard "
                    "errors given the splice)")


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
    a = lw - np.log(sgs) - 0.5 * _LOG_2PI - 0.5 * z * z
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
        lam = np.exp(-0.5 * zc * zc - 0.5 * _LOG_2PI - special.log_ndtr(-zc))
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
    p0, se0, ll0 = _zero_part(s)
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

    se = _errors(ll, nat)
    model = LognormalMixture(zero_share=p0, high_share=h, low_mu=m1, low_sigma=s1,
                             high_mu=m2, high_sigma=s2)
    names = ("high_share", "low_mu", "low_sigma", "high_mu", "high_sigma")
    try:
        spending = _spec("lognormal-mixture", model, zero_share=p0, high_share=h,
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
    ll = _loglik_or_nan(model, s)
    return Fit("medicare-ffs", "moments", model, {"mean": mean}, {"mean": se}, ll, 1,
               _spec("medicare-ffs", model),
               note="shape fixed (Medicare FFS concentration); the mean matches the data's"
                    + (" capped mean" if s.cap is not None else "")
                    + "; its standard error is the model's sd over the root of the weight")


def _loglik_or_nan(model: SpendingModel, s: Sample) -> float:
    """Log-likelihood of a model with a density (for a moment fit's AIC), NaN if none."""
    if not (isinstance(model, LognormalPareto) and model.zero_share == 0
            and s.zero_weight == 0):
        return math.nan
    y, wy, cens = s.positive()
    sp = _Splice(np.log(y), wy, cens)
    lxs = math.log(model.splice_point)
    j = int(np.searchsorted(sp.ly, lxs, side="right")) - 1
    if not 0 <= j < y.size - 1 or np.any(cens[:j + 1]):
        return math.nan
    w_t = sp.c0[-1] - sp.c0[j]
    # the body's density as in LognormalPareto; the tail's with the model's splice point
    body = sp.body(j, model.mu, model.sigma, w_t, lxs)
    alpha = model.tail_alpha
    n = y.size - 1
    w_tu = sp.cu[n] - sp.cu[j]
    unc_log = sp.cul[n] - sp.cul[j]
    cens_log = (sp.cl[n] - sp.cl[j]) - unc_log
    tail = (w_tu * (math.log(alpha) + alpha * lxs) - (alpha + 1) * unc_log
            - alpha * (cens_log - (w_t - w_tu) * lxs))
    return float(body + tail)


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
               len(params) + ("zero_share" in fields), _spec(name, model, **shape),
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
    "lognormal-pareto": _fit_lognormal_pareto,
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
