"""The size law of the savings rate's spread, fitted to per-band moments of the panel.

``Var(s | N) = a + b / N`` within year and band, and ``Cov(s_t, s_t' | N) = ap + bp / N``
between two years of one ACO within one agreement, each fitted by weighted least squares
on the size bands' moments (weights 1 / Var(moment) at the fitted values), with a cluster
bootstrap over ACOs for the standard errors. :func:`simsav.analysis.calibrate.calibrate_puf`
turns the law into a scenario's ``[aco]`` terms; its module docstring has the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simsav.analysis.puf_panel import ClusterSums, excess_kurtosis, poisson_weights, ratio_boot

__all__ = [
    "BandMoments",
    "BandSums",
    "SizeLaw",
    "SizeLawBootstrap",
    "band_moments",
    "bootstrap_size_law",
    "fit_size_law",
]


@dataclass(frozen=True)
class BandSums:
    """Per-ACO sums by band (:class:`~simsav.analysis.puf_panel.ClusterSums`).

    ``r2``, ``dof``, ``hsum`` (of 1/N) and ``cnt`` over ACO-years, ``psum`` (of the
    products of deviations), ``pcnt`` and ``phsum`` (of 1/N_pair) over pairs of years
    within an agreement; each ``(ACOs, bands + 1)``, the last column the total.
    """

    cs: ClusterSums
    band: np.ndarray
    r2: np.ndarray
    dof: np.ndarray
    hsum: np.ndarray
    cnt: np.ndarray
    psum: np.ndarray
    pcnt: np.ndarray
    phsum: np.ndarray

    @classmethod
    def of(cls, panel: pd.DataFrame, within: pd.DataFrame, nb: int) -> BandSums:
        """Sums of the ACO-years in ``panel`` and the pairs ``within`` an agreement."""
        codes, uniques = pd.factorize(panel["aco_id"])
        cs = ClusterSums(codes, len(uniques), nb)
        band = panel["band"].to_numpy()
        pcodes = pd.Index(uniques).get_indexer(within["aco_id"])
        pcs = ClusterSums(pcodes, len(uniques), nb)
        pband = within["band"].to_numpy()
        return cls(
            cs=cs,
            band=band,
            r2=cs.sums(band, panel["r"].to_numpy() ** 2),
            dof=cs.sums(band, panel["dof"].to_numpy()),
            hsum=cs.sums(band, 1.0 / panel["n"].to_numpy()),
            cnt=cs.sums(band, np.ones(len(panel))),
            psum=pcs.sums(pband, within["prod"].to_numpy()),
            pcnt=pcs.sums(pband, np.ones(len(within))),
            phsum=pcs.sums(pband, within["h"].to_numpy()),
        )


@dataclass(frozen=True)
class BandMoments:
    """The per-band moments the size law is fitted to.

    ``var`` and ``h`` (mean 1/N) of the ACO-years, ``cov`` and ``ph`` (mean 1/N_pair) of
    the pairs of years within an agreement, their counts ``n`` and ``n_pairs``, and
    whether each band enters the fit (``use``, ``use_p``: at least 10 of them).
    """

    var: np.ndarray
    h: np.ndarray
    cov: np.ndarray
    ph: np.ndarray
    n: np.ndarray
    n_pairs: np.ndarray
    use: np.ndarray
    use_p: np.ndarray


def band_moments(s: BandSums, nb: int) -> BandMoments:
    """The moments of ``nb`` bands from their sums; raises if under two bands can be fitted."""
    ones = np.ones((1, s.cs.J))
    var_b = ratio_boot(s.r2, s.dof, ones)[0, :nb]
    cov_b = ratio_boot(s.psum, s.pcnt, ones)[0, :nb]
    n_b = s.cnt.sum(axis=0)[:nb]
    np_b = s.pcnt.sum(axis=0)[:nb]
    use = (n_b >= 10) & np.isfinite(var_b)
    use_p = (np_b >= 10) & np.isfinite(cov_b)
    if int(use.sum()) < 2 or int(use_p.sum()) < 2:
        raise ValueError(
            "years_or_files: need at least two size bands with 10 ACO-years (and 10 pairs of "
            "years within an agreement) to fit the size law; give more years"
        )
    return BandMoments(
        var=var_b,
        h=ratio_boot(s.hsum, s.cnt, ones)[0, :nb],
        cov=cov_b,
        ph=ratio_boot(s.phsum, s.pcnt, ones)[0, :nb],
        n=n_b,
        n_pairs=np_b,
        use=use,
        use_p=use_p,
    )


def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least squares of ``y`` on ``[1, x]``: ``(intercept, slope)``."""
    sw = np.sqrt(w)
    design = np.column_stack([np.ones_like(x), x]) * sw[:, None]
    coef, *_ = np.linalg.lstsq(design, y * sw, rcond=None)
    return float(coef[0]), float(coef[1])


def _wls_fixed_slope(y: np.ndarray, x: np.ndarray, w: np.ndarray, slope: float) -> float:
    return float(np.sum(w * (y - slope * x)) / np.sum(w))


@dataclass(frozen=True)
class SizeLaw:
    """The fitted size law ``Var = a + b/N`` and ``Cov = ap + bp/N``.

    With the bands' final weights ``wt`` and ``wt_p``, and the intercept ``a0`` of the
    constant-term model (slope ``claims_cv²``) fitted with the same weights.
    """

    a: float
    b: float
    ap: float
    bp: float
    wt: np.ndarray
    wt_p: np.ndarray
    a0: float

    @property
    def coefficients(self) -> tuple[float, float, float, float]:
        """``(a, b, ap, bp)``."""
        return self.a, self.b, self.ap, self.bp


def fit_size_law(panel: pd.DataFrame, m: BandMoments, cv2: float) -> SizeLaw:
    """Weighted least squares, weights 1 / Var(moment) at the fitted values (two passes)."""
    kurt = np.array([excess_kurtosis(panel.loc[panel["band"] == i, "r"].to_numpy())
                     for i in range(m.var.size)])
    kurt = np.where(np.isfinite(kurt), np.maximum(kurt, 0.0), 0.0)
    hv, hp = np.where(m.use, m.h, 0.0), np.where(m.use_p, m.ph, 0.0)
    yv, yc = np.where(m.use, m.var, 0.0), np.where(m.use_p, m.cov, 0.0)
    fit_v, fit_c = yv, yc
    for _ in range(2):
        wt = np.where(m.use, m.n / (np.maximum(fit_v, 1e-8) ** 2 * (2.0 + kurt)), 0.0)
        wt_p = np.where(m.use_p, m.n_pairs / np.maximum(fit_v**2 + fit_c**2, 1e-16), 0.0)
        a, b = _wls(yv, hv, wt)
        ap, bp = _wls(yc, hp, wt_p)
        fit_v, fit_c = a + b * hv, ap + bp * hp
    return SizeLaw(a, b, ap, bp, wt, wt_p, _wls_fixed_slope(yv, hv, wt, cv2))


@dataclass(frozen=True)
class SizeLawBootstrap:
    """Cluster-bootstrap replicates over ACOs.

    Each band's variance and covariance ``(n_boot, bands)``, the refitted size law
    ``(n_boot, 4)`` and the pooled mean savings rate ``(n_boot,)``.
    """

    var: np.ndarray
    cov: np.ndarray
    law: np.ndarray
    mean: np.ndarray


def bootstrap_size_law(panel: pd.DataFrame, s: BandSums, m: BandMoments, law: SizeLaw, *,
               n_boot: int, seed: int) -> SizeLawBootstrap | None:
    """Replicates over ACOs (Poisson weights) with the fit's weights; None below 2."""
    if n_boot <= 1:
        return None
    nb = m.var.size
    w = poisson_weights(n_boot, s.cs.J, seed)
    var_rep = ratio_boot(s.r2, s.dof, w)[:, :nb]
    cov_rep = ratio_boot(s.psum, s.pcnt, w)[:, :nb]
    reps = []
    for k in range(n_boot):
        vk, ck = var_rep[k], cov_rep[k]
        ok, okp = m.use & np.isfinite(vk), m.use_p & np.isfinite(ck)
        ak, bk = _wls(np.where(ok, vk, 0.0), np.where(ok, m.h, 0.0), np.where(ok, law.wt, 0.0))
        apk, bpk = _wls(np.where(okp, ck, 0.0), np.where(okp, m.ph, 0.0),
                        np.where(okp, law.wt_p, 0.0))
        reps.append((ak, bk, apk, bpk))
    mean_rep = ratio_boot(s.cs.sums(s.band, panel["s"].to_numpy()), s.cnt, w)[:, nb]
    return SizeLawBootstrap(var_rep, cov_rep, np.array(reps), mean_rep)
