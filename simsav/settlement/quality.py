"""Quality: how a score is earned, and how it moves over an agreement.

Scoring (what the payer does with performance):

``cms_points(percentile)``
    The MSSP scale of 2012–2020 (42 CFR 425.502; CMS-1345-F Table 2): per measure no points
    below the 30th percentile of the benchmark, a sliding scale from 1.10 points at the 30th
    to 2.00 at the 90th and above, in steps of 0.15 per decile [V for the 30th/90th
    anchors, CFR502; the intermediate deciles U, commonly cited]. The quality score is
    points earned over points available (2.00 per measure).
``goal_scale(q, threshold, target, stretch)``
    Recommendation 3 of the source document: goals set from the ACO's own prior
    performance — nothing at or below the threshold, ``target_share`` of the maximum at the
    target, all of it at the stretch goal, linear between.
``effective_quality(...)``
    Combines a contract's ``quality_scoring`` choice — the score as is, CMS points by
    peer percentile, own goals, or the better of peer points and improvement — into the
    0–1 quality the settlement uses.

The process (what the ACO does) is drawn in :mod:`simsav.draw.quality`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CMS_POINTS_TABLE",
    "cms_points",
    "cms_quality_score",
    "goal_scale",
    "improvement_points",
    "effective_quality",
]

#: Per-measure points by percentile of the quality benchmark, MSSP 2012–2020:
#: (lowest percentile, points). Below the 30th: 0.
CMS_POINTS_TABLE: tuple[tuple[float, float], ...] = (
    (30.0, 1.10), (40.0, 1.25), (50.0, 1.40), (60.0, 1.55), (70.0, 1.70), (80.0, 1.85),
    (90.0, 2.00),
)
_MAX_POINTS = 2.0

F64 = NDArray[np.float64]


def cms_points(percentile: ArrayLike) -> F64:
    """Points for one measure at a percentile (0–100) of the benchmark.

    Examples
    --------
    >>> cms_points([10, 30, 45, 89.9, 90, 99]).tolist()
    [0.0, 1.1, 1.25, 1.85, 2.0, 2.0]
    """
    p = np.asarray(percentile, dtype=np.float64)
    if np.isnan(p).any() or (p < 0).any() or (p > 100).any():
        raise ValueError("percentile: must be in [0, 100]")
    lows = np.array([a for a, _ in CMS_POINTS_TABLE])
    pts = np.array([b for _, b in CMS_POINTS_TABLE])
    idx = np.searchsorted(lows, p, side="right") - 1
    return np.where(idx >= 0, pts[np.clip(idx, 0, None)], 0.0)


def cms_quality_score(percentiles: ArrayLike, axis: int = -1) -> F64:
    """Quality score (0–1): points earned over points available across measures.

    Examples
    --------
    >>> float(cms_quality_score([30, 90, 20, 95]))
    0.6375
    """
    return cms_points(percentiles).mean(axis=axis) / _MAX_POINTS


def goal_scale(q: ArrayLike, threshold: ArrayLike, target: ArrayLike, stretch: ArrayLike,
               *, target_share: float = 0.5) -> F64:
    """Share of the maximum sharing rate earned against own goals (recommendation 3).

    0 at or below ``threshold``, ``target_share`` at ``target``, 1 at or above ``stretch``,
    linear between.

    Examples
    --------
    >>> goal_scale([0.70, 0.72, 0.74, 0.77, 0.80], 0.70, 0.74, 0.78).round(3).tolist()
    [0.0, 0.25, 0.5, 0.875, 1.0]
    """
    q, lo, mid, hi = (np.asarray(x, dtype=np.float64) for x in (q, threshold, target, stretch))
    if not 0.0 < target_share < 1.0:
        raise ValueError(f"target_share: must be in (0, 1), got {target_share}")
    below = target_share * (q - lo) / np.where(mid > lo, mid - lo, np.inf)
    above = target_share + (1 - target_share) * (q - mid) / np.where(hi > mid, hi - mid, np.inf)
    out = np.where(q <= lo, 0.0, np.where(q < mid, below, np.where(q < hi, above, 1.0)))
    return np.clip(out, 0.0, 1.0)


def improvement_points(q: ArrayLike, q_prior: ArrayLike, *, full_at: float = 0.10) -> F64:
    """Improvement credit (0–1): the gain over last year's score, full at ``full_at``.

    Examples
    --------
    >>> improvement_points([0.70, 0.75, 0.90], 0.70).round(2).tolist()
    [0.0, 0.5, 1.0]
    """
    gain = np.asarray(q, dtype=np.float64) - np.asarray(q_prior, dtype=np.float64)
    return np.clip(gain / full_at, 0.0, 1.0)


def effective_quality(
    scoring: str,
    q: ArrayLike,
    *,
    q_prior: ArrayLike | None = None,
    percentile: ArrayLike | None = None,
    goal_target: float = 0.02,
    goal_stretch: float = 0.05,
    goal_target_share: float = 0.5,
    improvement_full_at: float = 0.10,
) -> F64:
    """The 0–1 quality a contract's scoring gives for performance ``q``.

    Parameters
    ----------
    scoring : {"score", "cms-points", "own-goals", "improvement", "peer-or-improvement"}
        ``score``: ``q`` as is. ``cms-points``: CMS points at the peer ``percentile`` (0–1;
        default ``q`` read as a percentile rank) — a peer benchmark. ``own-goals``:
        :func:`goal_scale` with the threshold at last year's score ``q_prior`` and
        target/stretch ``goal_target`` / ``goal_stretch`` above it. ``improvement``: credit
        for the gain over ``q_prior`` alone (first year: the score). ``peer-or-improvement``:
        the better of CMS points and improvement — both.
    q : array_like
        This year's performance (0–1).
    q_prior : array_like, optional
        Last year's performance (own goals, improvement). Where it is NaN (the first
        year), own goals fall back to the score itself and improvement to 0.
    percentile : array_like, optional
        Rank of ``q`` among peers (0–1).

    Returns
    -------
    numpy.ndarray
    """
    q = np.asarray(q, dtype=np.float64)
    if scoring == "score":
        return q
    pct = q if percentile is None else np.asarray(percentile, dtype=np.float64)
    if scoring == "cms-points":
        return cms_points(np.clip(pct, 0, 1) * 100) / _MAX_POINTS
    prior = np.full_like(q, np.nan) if q_prior is None else np.asarray(q_prior, np.float64)
    first = np.isnan(prior)
    if scoring == "own-goals":
        base = np.where(first, q, prior)
        scale = goal_scale(q, base, base + goal_target, base + goal_stretch,
                           target_share=goal_target_share)
        return np.where(first, q, scale)
    if scoring == "improvement":
        return np.where(first, q, improvement_points(q, np.where(first, q, prior),
                                                     full_at=improvement_full_at))
    if scoring == "peer-or-improvement":
        peer = cms_points(np.clip(pct, 0, 1) * 100) / _MAX_POINTS
        imp = np.where(first, 0.0, improvement_points(q, np.where(first, q, prior),
                                                      full_at=improvement_full_at))
        return np.maximum(peer, imp)
    raise ValueError(
        f"quality_scoring: must be score, cms-points, own-goals, improvement or "
        f"peer-or-improvement, "
        f"got {scoring!r}")
