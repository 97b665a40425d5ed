"""The Innovation Center's current models: ACO REACH (PY2021–2026) and LEAD (PY2027–2036).

Terms by performance year, each with what it rests on. Tags as elsewhere: [V] verified in
a primary text or reproduced from CMS's own results files, [S] a secondary source,
[U] one secondary source only, unresolved or assumed, [D] derived. The notes behind
them are in ``docs/domain/current-model-sources.md``.

Sources
-------
The source ids (REACH-RFA, REACH-PUF, REACH-QR25, REACH-QR26, PEARL, MH2025, MILL-REACH,
NAACOS, LEAD-CMS, LEAD-SUM, WAKELY) are defined in :mod:`simsav.contracts.sources`
(``simsav presets --sources``). REACH-PUF is bundled (``simsav/data/aco_reach``): every
ACO-year's settlement is recomputed by
:func:`simsav.analysis.replicate_reach.replicate_reach`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LEAD_DISCOUNT_HIGHER",
    "LEAD_YEARS",
    "REACH_DISCOUNT",
    "REACH_WITHHOLD",
    "REACH_YEARS",
    "lead_terms",
    "reach_corridors",
    "reach_terms",
]

#: Performance years of ACO REACH (GPDC in 2021–2022).
REACH_YEARS: tuple[int, ...] = (2021, 2022, 2023, 2024, 2025, 2026)

#: Global benchmark discount by PY: 2% PY2021–22, 3% PY2023–24 [V REACH-RFA; V REACH-PUF for
#: 2021–2023]; 4% PY2025 (the RFA's 3.5% raised by the PY2025 update [V REACH-QR25 that it
#: rose; S MH2025 for 4%]); PY2026 held at 4% [U]. Professional: none [V REACH-RFA].
REACH_DISCOUNT: dict[int, float] = {2021: 0.02, 2022: 0.02, 2023: 0.03, 2024: 0.03,
                                    2025: 0.04, 2026: 0.04}

#: Quality withhold by PY, earned back by the quality score: 5% PY2021–22, 2% PY2023
#: [V REACH-RFA; V REACH-PUF: the final benchmark moves with the score by these
#: slopes]; 2% PY2024–25 [S]; 5% PY2026 [S MILL-REACH, NAACOS quoting REACH-QR26].
REACH_WITHHOLD: dict[int, float] = {2021: 0.05, 2022: 0.05, 2023: 0.02, 2024: 0.02,
                                    2025: 0.02, 2026: 0.05}

_GLOBAL = [(0.0, 0.25, 1.0), (0.25, 0.35, 0.5), (0.35, 0.50, 0.25), (0.50, None, 0.10)]
_GLOBAL_2026 = [(0.0, 0.10, 1.0), (0.10, 0.35, 0.5), (0.35, 0.50, 0.25), (0.50, None, 0.10)]
_PROFESSIONAL = [(0.0, 0.05, 0.5), (0.05, 0.10, 0.35), (0.10, 0.15, 0.15), (0.15, None, 0.05)]


def _bands(rows: list[tuple[float, float | None, float]]) -> list[dict[str, Any]]:
    return [{"from": lo, "share": share, **({} if hi is None else {"to": hi})}
            for lo, hi, share in rows]


def reach_corridors(option: str, year: int) -> dict[str, Any]:
    """REACH's risk corridors (symmetric) for ``option`` in PY ``year``.

    Global: 100% of savings/losses up to 25% of the benchmark, 50% from 25% to 35%, 25%
    from 35% to 50%, 10% beyond [V REACH-PUF 2021–2023: every Global ACO-year, including ones
    beyond 25%; S PEARL]; PY2026 narrows the first corridor to 10% [V REACH-QR26], the bands
    beyond it assumed unchanged from 35% on, 50% from 10% to 35% [U]. Professional: 50%
    up to 5%, 35% from 5% to 10%, 15% from 10% to 15%, 5% beyond [V REACH-PUF; S PEARL].

    Examples
    --------
    >>> [b["share"] for b in reach_corridors("professional", 2023)["savings"]]
    [0.5, 0.35, 0.15, 0.05]
    """
    if option == "professional":
        rows = _PROFESSIONAL
    elif option == "global":
        rows = _GLOBAL_2026 if year >= 2026 else _GLOBAL
    else:
        raise ValueError(f"option: must be 'global' or 'professional', got {option!r}")
    return {"savings": _bands(rows)}


def reach_terms(option: str, year: int) -> dict[str, Any]:
    """The contract terms of REACH ``option`` ("global" or "professional") in PY ``year``.

    Two-sided from the first dollar (no MSR or MLR); the ACO's shares by the corridors
    (:func:`reach_corridors`), measured against the benchmark after discount, quality
    withhold and health-equity adjustment [V REACH-PUF: the bands fit only that benchmark]; 2%
    sequestration of shared savings, none of losses [V REACH-PUF]; no cap beyond the corridors;
    quality works through the withhold only.
    """
    if year not in REACH_YEARS:
        raise ValueError(f"year: ACO REACH ran PY2021–2026, got {year}")
    global_ = option == "global"
    name = "Global" if global_ else "Professional"
    discount = REACH_DISCOUNT[year] if global_ else 0.0
    model = "GPDC (the model's name before 2023)" if year < 2023 else "ACO REACH"
    disc_tag = "V REACH-RFA" if year <= 2024 else "S MH2025" if year == 2025 else "U"
    band_note = (
        "100% of savings and losses up to 25% of the benchmark, 50% to 35%, 25% to 50%, "
        "10% beyond [V REACH-PUF 2021–2023; S PEARL]" if global_ and year < 2026 else
        "100% up to 10% of the benchmark [V REACH-QR26], 50% to 35%, 25% to 50%, 10% beyond "
        "[U: the bands past the first assumed unchanged]" if global_ else
        "50% of savings and losses up to 5% of the benchmark, 35% to 10%, 15% to 15%, 5% "
        "beyond [V REACH-PUF; S PEARL]")
    return dict(
        description=(
            f"{model} {name} risk-sharing option, PY{year}. Two-sided from the first "
            f"dollar, no MSR/MLR; corridors: {band_note}. Benchmark discount "
            f"{discount:.1%} [{disc_tag}"
            f"{'; V REACH-PUF' if year <= 2023 and global_ else ''}]; quality withhold "
            f"{REACH_WITHHOLD[year]:.0%} of the benchmark earned back by the quality score "
            f"[{'V REACH-RFA; V REACH-PUF' if year <= 2023 else 'S'}]; 2% sequestration of shared "
            "savings, none of losses [V REACH-PUF]. Health-equity benchmark adjustments (PY2023+) "
            "are a settle() input (equity_adjustment). Optional stop-loss and capitation: "
            "add specific_stop_loss / capitation."),
        two_sided=True,
        msr="none",
        quality_method="flat",
        payment_limit=None,
        risk_corridors=reach_corridors(option, year),
        benchmark_discount=discount,
        quality_withhold=REACH_WITHHOLD[year],
        sequestration=0.02,
    )


#: Performance years of LEAD.
LEAD_YEARS: tuple[int, ...] = tuple(range(2027, 2037))

#: Global discount by agreement year for higher-spending ACOs: 1.75% in PY2027 rising to
#: 3% by PY2032 [S LEAD-SUM: "~1.75–3%"]; the even 0.25-point steps between
#: are assumed [U]. Lower-spending ACOs: 3% [S].
LEAD_DISCOUNT_HIGHER: tuple[float, ...] = (0.0175, 0.02, 0.0225, 0.025, 0.0275, 0.03)

_LEAD_GLOBAL = [(0.0, 0.15, 1.0), (0.15, 0.35, 0.5), (0.35, 0.50, 0.25), (0.50, None, 0.10)]
_LEAD_PRO_SAVINGS = [(0.0, 0.10, 0.6), (0.10, 0.15, 0.35), (0.15, 0.20, 0.15),
                     (0.20, None, 0.05)]
_LEAD_PRO_LOSSES = [(0.0, 0.10, 0.5), (0.10, 0.15, 0.35), (0.15, 0.20, 0.15),
                    (0.20, None, 0.05)]


def lead_terms(option: str, spending: str = "higher") -> dict[str, Any]:
    """The contract terms of LEAD ``option`` for a ``spending`` ("higher"/"lower") ACO.

    A ten-year agreement (2027–2036) without rebasing [V LEAD-CMS]; no MSR or MLR
    [S]; Global 100% and Professional 60% of savings and 50% of losses in the first
    corridor [S NAACOS on the PY2027 methodology]; corridors reported as Global 0–15% 100%,
    15–35% 50%, 35–50% 25%, >50% 10%; Professional 0–10% 60% (losses 50%), 10–15% 35%,
    15–20% 15%, >20% 5% [U: one secondary source, not verified against the LEAD RFA]; Global
    discount 1.75% rising to 3% by PY2032 for higher-spending ACOs, 3% for lower-spending
    ones [S]; a 1.5% administrative add-on for higher-spending ACOs [S LEAD-SUM]; 3%
    quality withhold [S WAKELY]; enhanced primary-care capitation of
    ``max(7% × benchmark − base PCC, 2% × benchmark)`` recouped at settlement [S], taken
    here at its 2% floor [D]; sequestration as in REACH [U].
    """
    if option not in ("global", "professional"):
        raise ValueError(f"option: must be 'global' or 'professional', got {option!r}")
    if spending not in ("higher", "lower"):
        raise ValueError(f"spending: must be 'higher' or 'lower', got {spending!r}")
    higher = spending == "higher"
    global_ = option == "global"
    if global_:
        corridors: dict[str, Any] = {"savings": _bands(_LEAD_GLOBAL)}
        discount: float | list[float] = list(LEAD_DISCOUNT_HIGHER) if higher else 0.03
    else:
        corridors = {"savings": _bands(_LEAD_PRO_SAVINGS), "losses": _bands(_LEAD_PRO_LOSSES)}
        discount = 0.0
    return dict(
        description=(
            f"LEAD {option.capitalize()} option, {spending}-spending ACO (PY2027–2036, ten "
            "years, no rebasing [V LEAD-CMS]). No MSR/MLR [S]; corridors "
            + ("Global 0–15% 100%, 15–35% 50%, 35–50% 25%, >50% 10%" if global_ else
               "Professional 0–10% 60% of savings / 50% of losses, 10–15% 35%, 15–20% 15%, "
               ">20% 5%")
            + (" [U: one secondary source]; " if global_ else
               " [U: one secondary source; the 60/50 split S]; ")
            + ("discount 1.75% in PY2027 rising by 0.25 a year to 3% from PY2032 [S ends; "
               "U steps]" if global_ and higher else "discount 3% [S]" if global_ else
               "no discount [S]")
            + ("; 1.5% administrative add-on [S]" if higher else "")
            + "; 3% quality withhold earned back by the score [S WAKELY]; enhanced "
            "primary-care capitation at its 2%-of-benchmark floor, recouped at settlement "
            "[S formula; D floor]; 2% sequestration of savings as in REACH [U]. Optional "
            "ACO-level stop-loss with risk-adjusted attachments for a PBPM fee: add "
            "specific_stop_loss (risk_adjusted = true) [S; attachment U]."),
        two_sided=True,
        msr="none",
        quality_method="flat",
        payment_limit=None,
        risk_corridors=corridors,
        benchmark_discount=discount,
        admin_addon=0.015 if higher else 0.0,
        quality_withhold=0.03,
        capitation={"share": 0.02},
        sequestration=0.02,
    )
