"""MSSP benchmark rules, PY2024–2027: the steps of CMS's benchmark tables as functions.

Each function is one step of the historical or updated benchmark as CMS's Financial
Reconciliation Reports lay it out (Table 1 rows [J]–[S], Table 2, Appendix Tables A1 and
A3), with the rule changes for agreement periods from 2024 and the CY2027 proposals. The
known answers are the PY2022 report of ACO A1540 (``tests/test_mssp_benchmark.py``).
Arrays are per Medicare enrollment type (ESRD, disabled, aged/dual, aged/non-dual).

Sources
-------
[V A1540]
    CMS, Financial Reconciliation Report PY2022, ACO A1540 (Tables 1, 2, A1, A3).
[V CFR652]
    42 CFR 425.652 (agreement periods from 1 January 2024): truncation at the 99th
    percentile, base-year weights, the update factor.
[S CY2023]
    CY2023 PFS final rule (87 FR 69404): the ACPT as one third of the update; the
    negative regional adjustment capped at 1.5% of national per-capita spending (the
    positive at 5%); the prior savings adjustment (50% of average savings, capped at 5%
    of national spending), the higher of it and the regional adjustment applying
    (42 CFR 425.656, 425.658), as summarized by NAACOS and CMS fact sheets.
[S CY2026]
    CY2026 PFS final rule (90 FR 49266): BASIC's one-sided years cut from seven to five
    for agreements from 2027.
[S CY2027-P]
    CY2027 PFS proposed rule (CMS-1848-P), *proposals*: PSA scaling 50% → 75%; an ACPT
    guardrail of −1/+1.5 points.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "PSA_SCALE",
    "PSA_SCALE_PROPOSED_2027",
    "adjustment_applied",
    "basic_glide_path",
    "blended_factor",
    "prior_savings_adjustment",
    "regional_adjustment",
    "regional_caps",
    "risk_ratio",
    "three_way_update",
    "updated_benchmark",
]

F64 = NDArray[np.float64]

#: Prior savings adjustment: share of average per-capita savings [S CY2023]; the CY2027
#: proposed rule would raise it to 75% [S CY2027-P, proposed].
PSA_SCALE = 0.5
PSA_SCALE_PROPOSED_2027 = 0.75


def blended_factor(national: ArrayLike, regional: ArrayLike,
                   national_weight: ArrayLike) -> F64:
    """National-regional blended trend or update factor (Table A3 row [G]) [V A1540].

    ``national × w + regional × (1 − w)``, ``w`` the ACO's share of the assignable
    beneficiaries of its regional service area.

    Examples
    --------
    A1540, PY2022, aged/non-dual: national 1.10246, regional 1.04061, weight 0.0368.

    >>> round(float(blended_factor(1.10245937907604, 1.04061338472722,
    ...                            0.0367992842649447)), 10)
    1.0428892731
    """
    w = np.asarray(national_weight, dtype=np.float64)
    return np.asarray(national, dtype=np.float64) * w + np.asarray(regional) * (1.0 - w)


def risk_ratio(py_score: ArrayLike, by3_score: ArrayLike, cap: float = 0.03) -> F64:
    """Risk ratio with the cap on positive growth (Table A1 row [E]) [V A1540; V CFR652].

    ``min(PY score / BY3 score, 1 + cap)``: growth beyond 3% is not credited; declines are.

    Examples
    --------
    >>> risk_ratio([1.20472947861179, 1.01176940325554],
    ...            [1.14786586796031, 1.06487169953611]).round(6).tolist()
    [1.03, 0.950133]
    """
    return np.minimum(np.asarray(py_score, dtype=np.float64) / np.asarray(by3_score),
                      1.0 + cap)


def regional_caps(agreement_start: int) -> tuple[float, float]:
    """Caps on the regional adjustment, as shares of national per-capita spending.

    ``(positive, negative)``: ±5% before 2024 [V A1540 row P]; for agreements from 2024
    the negative adjustment is capped at 1.5% [S CY2023].

    Examples
    --------
    >>> regional_caps(2022), regional_caps(2024)
    ((0.05, 0.05), (0.05, 0.015))
    """
    return (0.05, 0.015) if agreement_start >= 2024 else (0.05, 0.05)


def regional_adjustment(historical: ArrayLike, regional: ArrayLike, proportions: ArrayLike,
                        national: ArrayLike, *, weight_lower: float, weight_higher: float,
                        positive_cap: float = 0.05, negative_cap: float = 0.05,
                        ) -> dict[str, Any]:
    """The regional adjustment to the historical benchmark (Table 1 rows [L]–[S]).

    Per enrollment type ``k``: the difference ``regional_k − historical_k`` [L]; its
    average weighted by the assigned proportions [M] sets the weight [N] (``weight_lower``
    when the ACO spends less than its region, ``M >= 0``; ``weight_higher`` otherwise);
    the adjustment ``weight × difference`` [O] is capped at ``positive_cap`` and
    ``−negative_cap`` times national per-capita spending [P]–[Q]; the adjusted
    expenditures [R] and benchmark [S] follow [V A1540].

    Parameters
    ----------
    historical, regional, proportions, national : array_like
        Per enrollment type: historical benchmark expenditures [G], the ACO's
        risk-adjusted regional expenditures [K], assigned proportions [H], national
        per-capita spending in BY3 (Table A3 [A]).
    weight_lower, weight_higher : float
        Weights for an ACO spending less / more than its region (A1540's first agreement:
        0.35 and 0.15).
    positive_cap, negative_cap : float
        :func:`regional_caps`.

    Returns
    -------
    dict
        ``difference`` [L], ``weighted_difference`` [M], ``weight`` [N],
        ``uncapped`` [O], ``adjustment`` [Q], ``adjusted`` [R], ``benchmark`` [S].
    """
    hist = np.asarray(historical, dtype=np.float64)
    diff = np.asarray(regional, dtype=np.float64) - hist
    props = np.asarray(proportions, dtype=np.float64)
    m = float((diff * props).sum())
    weight = weight_lower if m >= 0 else weight_higher
    raw = weight * diff
    nat = np.asarray(national, dtype=np.float64)
    adj = np.clip(raw, -negative_cap * nat, positive_cap * nat)
    adjusted = hist + adj
    return {"difference": diff, "weighted_difference": m, "weight": weight,
            "uncapped": raw, "adjustment": adj, "adjusted": adjusted,
            "benchmark": float((adjusted * props).sum())}


def updated_benchmark(adjusted: ArrayLike, risk_ratios: ArrayLike, update: ArrayLike,
                      proportions: ArrayLike) -> float:
    """The updated benchmark (Table 2 rows [D]–[H]) [V A1540].

    ``Σ_k proportion_k × adjusted_k × risk ratio_k × update factor_k`` with the PY's
    proportions.

    Examples
    --------
    >>> updated_benchmark([100.0, 200.0], [1.0, 1.03], [1.05, 1.0], [0.5, 0.5])
    155.5
    """
    d = np.asarray(adjusted, dtype=np.float64) * np.asarray(risk_ratios)
    return float((d * np.asarray(update) * np.asarray(proportions)).sum())


def three_way_update(blend: ArrayLike, acpt: ArrayLike, *, acpt_weight: float = 1.0 / 3.0,
                     guardrail: tuple[float, float] | None = None) -> F64:
    """The update factor of agreements from 2024: one third ACPT, two thirds the blend.

    The ACPT and the national-regional blend [S CY2023; 42 CFR 425.652(b)].

    ``guardrail = (lo, hi)`` keeps the result within ``[blend + lo, blend + hi]`` (the
    CY2027 proposal: ``(-0.01, 0.015)``, *proposed* [S CY2027-P]; how CMS would apply it
    is not verified [U]).

    Examples
    --------
    >>> round(float(three_way_update(1.06, 1.03)), 10)
    1.05
    >>> round(float(three_way_update(1.08, 1.02, guardrail=(-0.01, 0.015))), 10)
    1.07
    """
    b = np.asarray(blend, dtype=np.float64)
    u = acpt_weight * np.asarray(acpt, dtype=np.float64) + (1.0 - acpt_weight) * b
    if guardrail is not None:
        lo, hi = guardrail
        u = np.clip(u, b + lo, b + hi)
    return u


def prior_savings_adjustment(savings_per_capita: ArrayLike, national: float, *,
                             scale: float = PSA_SCALE, cap: float = 0.05) -> float:
    """The prior savings adjustment at a renewal [S CY2023; 42 CFR 425.658].

    ``scale ×`` the average per-capita savings of the three benchmark years (the prior
    agreement's performance years), when positive, at most ``cap ×`` national
    per-capita spending; 0 without average savings.

    Examples
    --------
    >>> prior_savings_adjustment([400.0, 600.0, 500.0], 12_000.0)
    250.0
    >>> prior_savings_adjustment([2_000.0, 2_000.0, 2_000.0], 12_000.0)
    600.0
    """
    avg = float(np.mean(np.asarray(savings_per_capita, dtype=np.float64)))
    return float(min(scale * max(avg, 0.0), cap * national))


def adjustment_applied(regional: float, psa: float) -> float:
    """The adjustment a renewing ACO receives.

    The higher of the regional adjustment and the prior savings adjustment when it has
    one; the regional adjustment otherwise [S CY2023].

    Examples
    --------
    >>> adjustment_applied(-120.0, 250.0), adjustment_applied(300.0, 250.0)
    (250.0, 300.0)
    >>> adjustment_applied(-120.0, 0.0)
    -120.0
    """
    return max(regional, psa) if psa > 0 else regional


def basic_glide_path(agreement_start: int, *, years: int = 5,
                     prior_one_sided_years: int = 0) -> list[str]:
    """Presets by agreement year for an ACO entering BASIC's glide path.

    One-sided (Level A) for the one-sided years it has left — seven in all before 2027,
    five for agreements from 2027 [S CY2026] — then Level E [S 42 CFR 425.600(a)(4)]. The
    intermediate levels B–D an ACO may elect are not modelled [D].

    Examples
    --------
    >>> basic_glide_path(2027, years=5, prior_one_sided_years=2)
    ['mssp-basic-a', 'mssp-basic-a', 'mssp-basic-a', 'mssp-basic-e', 'mssp-basic-e']
    """
    allowed = (5 if agreement_start >= 2027 else 7) - prior_one_sided_years
    one = max(0, min(years, allowed))
    return ["mssp-basic-a"] * one + ["mssp-basic-e"] * (years - one)
