"""What the draw needs for specific stop-loss: attachment points and expected excess.

Specific stop-loss (:class:`~simsav.contracts.risk_terms.StopLoss`) acts on each person's
spending, so the spending kernels sum, per group, each beneficiary's capped spending
above each attachment point (:func:`simsav.draw.groups.simulate_group_stats`,
:func:`simsav.draw.panel.simulate_panel_excess`); the settlement applies the coinsurance.
Every design's attachments are drawn at once (a design's key: the attachment and
whether it is risk-adjusted), on the same draws as the spending itself: turning
stop-loss on draws nothing more.

The expected excess over an attachment ``a`` of spending ``X`` capped at ``c`` is
``E[(min(X, c) − a)+] = E[min(X, c)] − E[min(X, min(a, c))]`` from the model's
limited expected values (closed forms), the basis of a premium set as a loading.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["attachment_table", "expected_excess", "stop_loss_keys"]

Key = tuple[float, bool]


def stop_loss_keys(contracts: Sequence[Any]) -> list[Key]:
    """The distinct ``(attachment, risk_adjusted)`` of the contracts' specific stop-loss.

    Examples
    --------
    >>> from simsav.contracts import Contract
    >>> c = Contract(specific_stop_loss={"attachment": 100_000.0})
    >>> stop_loss_keys([c, c, Contract()])
    [(100000.0, False)]
    """
    keys: list[Key] = []
    for c in contracts:
        sl = c.specific_stop_loss
        if sl is not None and sl.key not in keys:
            keys.append(sl.key)
    return keys


def _means(pairs: Sequence[tuple[Any, int]]) -> tuple[list[Any], NDArray[np.float64]]:
    models = [spec.to_model() if hasattr(spec, "to_model") else spec for spec, _ in pairs]
    return models, np.array([m.mean(truncated=True) for m in models])


def attachment_table(pairs: Sequence[tuple[Any, int]], keys: Sequence[Key]) -> NDArray[np.float64]:
    """Attachments per group, shape (groups, keys).

    Risk-adjusted ones are scaled by each group's expected (capped) spending over the
    population's.

    Examples
    --------
    >>> from simsav.spending import SpendingSpec
    >>> lo, hi = SpendingSpec(mean=5_000.0), SpendingSpec(mean=15_000.0)
    >>> t = attachment_table([(lo, 1), (hi, 1)], [(50_000.0, False), (50_000.0, True)])
    >>> t.round(6).tolist()
    [[50000.0, 25000.0], [50000.0, 75000.0]]
    """
    _, means = _means(pairs)
    counts = np.array([n for _, n in pairs], dtype=np.float64)
    pop = float((counts * means).sum() / counts.sum()) if counts.sum() > 0 else 1.0
    out = np.empty((len(pairs), len(keys)))
    for k, (a, adjusted) in enumerate(keys):
        out[:, k] = a * means / pop if adjusted else a
    return out


def expected_excess(pairs: Sequence[tuple[Any, int]],
                    att: NDArray[np.float64]) -> NDArray[np.float64]:
    """Expected excess over each attachment, USD per beneficiary of the population.

    Parameters
    ----------
    pairs : sequence of (model, count)
        The groups (strata or provider panels).
    att : ndarray, shape (groups, keys)
        From :func:`attachment_table`.

    Returns
    -------
    ndarray, shape (keys,)

    Examples
    --------
    A gamma with mean 10,000 and cv 2 (shape 0.25): ``E[(X − 40,000)+]``.

    >>> from simsav.spending import SpendingSpec
    >>> spec = SpendingSpec(model="gamma", mean=10_000.0, cv=2.0)
    >>> round(float(expected_excess([(spec, 100)], [[40_000.0]])[0]), 2)
    2021.04
    """
    models, _ = _means(pairs)
    att = np.asarray(att, dtype=np.float64)
    counts = np.array([n for _, n in pairs], dtype=np.float64)
    total = np.zeros(att.shape[1])
    for g, m in enumerate(models):
        cap = m.cap(True)
        for k in range(att.shape[1]):
            a = min(float(att[g, k]), cap)
            total[k] += counts[g] * (m.mean(truncated=True) - m.mean(truncated=a))
    return total / max(counts.sum(), 1.0)
