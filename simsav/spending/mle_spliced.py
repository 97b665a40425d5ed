"""Maximum likelihood for the lognormal body with a Pareto tail (``lognormal-pareto``).

The splice point ``x_s`` is profiled: at each candidate order statistic the tail index
has a closed form (Hill's estimator, censoring-aware) and the body's ``mu``, ``sigma`` a
censored-normal (Tobit) fit, since the body sees the tail as censored at ``x_s``; the
profile likelihood picks ``x_s`` (a coarse grid, then refined). Running sums of the
sorted log amounts make each candidate O(1). :func:`loglik_spliced` is the likelihood of
a given model (``medicare-ffs``'s moment fit reports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from simsav.spending.base import SpendingModel
from simsav.spending.lognormal_pareto import LognormalPareto
from simsav.spending.mle_base import (
    F64,
    LOG_2PI,
    Fit,
    Sample,
    covariance,
    spending_table,
    zero_part,
)

__all__ = ["fit_lognormal_pareto", "loglik_spliced"]


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
        return float(-self.c1[j] - s0 * (math.log(sigma) + 0.5 * LOG_2PI)
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
            lam = math.exp(-0.5 * z * z - 0.5 * LOG_2PI - float(special.log_ndtr(z)))
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


def fit_lognormal_pareto(s: Sample) -> Fit:
    """Fit ``lognormal-pareto`` by maximum likelihood, the splice point profiled.

    Standard errors are conditional on the splice point: a density jump there makes its
    estimate converge at rate ``1/n``, faster than the rest, so ``tail_quantile``'s error
    comes from ``mu`` and ``sigma`` (delta method).
    """
    p0, se0, ll0 = zero_part(s)
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
    cov = covariance(ll, theta)
    se = np.sqrt(np.abs(np.diag(cov)))
    z = (lxs - mu) / sigma
    q = float(special.ndtr(z))
    dens = math.exp(-0.5 * z * z - 0.5 * LOG_2PI)
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
               spending_table("lognormal-pareto", model, zero_share=p0, body_sigma=sigma,
                     tail_quantile=q, tail_alpha=alpha),
               note=f"splice at {math.exp(lxs):,.0f} USD (profile likelihood; standard "
                    "errors given the splice)")



def loglik_spliced(model: SpendingModel, s: Sample) -> float:
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

