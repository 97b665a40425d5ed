"""Named contract presets, each citing its sources.

Each term carries a source tag: [V] verified in primary text, [S] secondary source,
[D] derived, [U] unverified (an assumption the user should review), followed by the
regulation or the id of the source; :mod:`simsav.contracts.sources` is the key
(``simsav presets --sources`` prints it). Year-specific CMS rules that a preset does not
carry live in :mod:`simsav.contracts.program_years`.
"""

from __future__ import annotations

from typing import Any

from simsav.contracts.cmmi import REACH_YEARS, lead_terms, reach_terms
from simsav.contracts.risk_terms import ACA_CORRIDORS
from simsav.contracts.terms import Contract, ContractError, make_contract

__all__ = ["PRESETS", "get_preset", "preset_names"]

_QPS_NOTE = (
    " Quality: the QPS is a MIPS percentile (30th in PY2021–22, 40th from PY2023); as a score "
    "threshold simsav uses 0.7385, the PY2026 value [S RF2026]; settle() takes qps_met "
    "directly where it is known (CMS deemed every ACO to meet it in PY2020–2022 for the "
    "COVID-19 emergency). Year rules not in this preset: before PY2021 sharing was "
    "max × quality (quality_method='scaled'); PY2019–2020 payments had no sequestration "
    "(CARES Act); simsav.contracts.puf_contract(track, year) applies them."
)
_QPS_2026 = 0.7385

_PRESET_TERMS: dict[str, dict[str, Any]] = {
    "mssp-track1-2012": dict(
        description=(
            "MSSP Track 1 (one-sided), agreements 2012 to June 2019. MSR by the CMS sliding "
            "scale [V 42 CFR 425.604(b)]; first-dollar sharing at up to 50% × quality score "
            "[V 425.604(d)-(e); D HDM]; payment limit 10% of benchmark [V 425.604(f)]; 2% "
            "sequestration of payments from PY2013 [V settlement reports, e.g. A1540]."
        ),
        msr="cms",
        max_sharing_rate=0.5,
        quality_method="scaled",
        payment_limit=0.10,
    ),
    "mssp-track2-2012": dict(
        description=(
            "MSSP Track 2 (two-sided), agreements 2012 to June 2019. Fixed 2% MSR and MLR for "
            "2012–2015 agreements (later agreements elect 0, 0.5–2.0% or the variable scale) "
            "[V 42 CFR 425.606(b)]; sharing up to 60% × quality [V]; payment limit 15% [V]; "
            "shared loss rate 1 − final sharing rate, at most 60% [V 425.606(f); D HDM]; loss "
            "limit 5%, 7.5%, 10% of benchmark in years 1, 2, 3+ [V 425.606(g)]."
        ),
        two_sided=True,
        msr=0.02,
        max_sharing_rate=0.6,
        quality_method="scaled",
        payment_limit=0.15,
        loss_rate_method="one-minus-quality",
        loss_rate_ceiling=0.6,
        loss_limit_benchmark=[0.05, 0.075, 0.10],
    ),
    "mssp-track3-2016": dict(
        description=(
            "MSSP Track 3 (two-sided, 2016 rule, before the 2021 quality change). MSR/MLR "
            "elected (default here: the variable scale) [V 42 CFR 425.610(b)]; sharing up to "
            "75% × quality [V]; payment limit 20% [V]; shared loss rate 1 − final sharing "
            "rate within [40%, 75%] [V 425.610(f)]; loss limit 15% of benchmark [V]."
        ),
        two_sided=True,
        msr="cms",
        cms_election=True,
        max_sharing_rate=0.75,
        quality_method="scaled",
        payment_limit=0.20,
        loss_rate_method="one-minus-quality",
        loss_rate_floor=0.40,
        loss_rate_ceiling=0.75,
        loss_limit_benchmark=0.15,
    ),
    "mssp-track1plus-2018": dict(
        description=(
            "MSSP Track 1+ model (agreements starting 2018–2019, before the 2021 quality "
            "change). Elected MSR/MLR (default here: the variable scale) [V 42 CFR 425.605 "
            "via the Track 1+ model agreement; S MILL-PTS]; sharing up to 50% × quality; "
            "payment limit 10%; fixed 30% shared loss rate; loss limit the lesser of 8% of "
            "ACO participant revenue and 4% of benchmark (the terms BASIC Level E later "
            "took over) [S]. Replicates the PY2018–2019 public-use files."
        ),
        two_sided=True,
        msr="cms",
        cms_election=True,
        max_sharing_rate=0.5,
        quality_method="scaled",
        payment_limit=0.10,
        loss_rate=0.30,
        loss_limit_revenue=0.08,
        loss_limit_benchmark=0.04,
    ),
    "mssp-enhanced": dict(
        description=(
            "MSSP ENHANCED track (July 2019+, 2021+ quality rules). MSR/MLR elected (default: "
            "variable scale); 75% sharing when the quality performance standard is met, "
            "75% × quality if only the alternative standard is met, none otherwise [S RF2026 "
            "quoting 42 CFR 425.610]; payment limit 20%; shared loss rate 1 − 0.75 × quality "
            "within [40%, 75%], 75% when both standards fail; loss limit 15% of benchmark."
            + _QPS_NOTE
        ),
        two_sided=True,
        msr="cms",
        cms_election=True,
        max_sharing_rate=0.75,
        quality_method="standard",
        quality_standard=_QPS_2026,
        payment_limit=0.20,
        loss_rate_method="one-minus-quality",
        loss_rate_floor=0.40,
        loss_rate_ceiling=0.75,
        loss_limit_benchmark=0.15,
    ),
    "mssp-proposed-2011": dict(
        description=(
            "The 2011 proposed rule's one-sided model (CMS-1345-P). MSR by the sliding scale "
            "[V PR2011 p.268]; 50% × quality of the savings beyond a 2% net threshold, not "
            "first-dollar [S GFR; the 2% threshold is U]; payment limit 7.5% of benchmark [U]; "
            "FQHC/RHC participation bonus up to 2.5 points on a sliding scale by the share of "
            "beneficiaries with such visits, top band 41%+ [U: bands of 10 points assumed]; "
            "25% withhold of earned savings against future losses [U: HFMA says 20%]."
        ),
        msr="cms",
        sharing_basis="above-threshold",
        sharing_threshold=0.02,
        max_sharing_rate=0.5,
        quality_method="scaled",
        payment_limit=0.075,
        participation_bonus=[
            dict(min_share=0.01, points=0.005),
            dict(min_share=0.11, points=0.010),
            dict(min_share=0.21, points=0.015),
            dict(min_share=0.31, points=0.020),
            dict(min_share=0.41, points=0.025),
        ],
        withhold=0.25,
    ),
    "pioneer": dict(
        description=(
            "Pioneer ACO Model, core arrangement, first performance year (2012). Two-sided "
            "from year 1 with savings and losses outside a corridor set by a size-based "
            "MSR/MLR [V CMMI-PIO]; up to 60% sharing × quality in PY1 (70% PY2) and a 10% cap "
            "(15% PY2) [U: commonly cited]; loss rate 60% [U]; loss limit 10% of benchmark "
            "[U]; MSR/MLR from 2.7% at 15,000 aligned beneficiaries to 1.0% at 50,000+ [U: the "
            "commonly cited 1–2.7% range, interpolated linearly here]."
        ),
        two_sided=True,
        msr=[
            dict(lo=1, hi=15_000, low=0.027, high=0.027),
            dict(lo=15_000, hi=50_000, low=0.027, high=0.010),
            dict(lo=50_000, low=0.010),
        ],
        max_sharing_rate=0.6,
        quality_method="scaled",
        payment_limit=0.10,
        loss_rate=0.6,
        loss_limit_benchmark=0.10,
    ),
    "ngaco-a": dict(
        description=(
            "Next Generation ACO Model, Arrangement A: 80% of savings and losses from the "
            "first dollar, no MSR [S SHEP, MONDAQ, AJMC-NG; RFA allows 80–85%], against a "
            "prospective benchmark reduced by a discount of 0.5–4.5% (3% assumed here) "
            "[S AJMC-NG]; savings/loss cap 15% [U]. Quality enters through the discount, "
            "not the sharing rate (flat)."
        ),
        two_sided=True,
        msr="none",
        max_sharing_rate=0.8,
        quality_method="flat",
        payment_limit=0.15,
        loss_rate=0.8,
        loss_limit_benchmark=0.15,
        benchmark_discount=0.03,
    ),
    "ngaco-b": dict(
        description=(
            "Next Generation ACO Model, Arrangement B: 100% of savings and losses, no MSR, "
            "3% benchmark discount assumed (0.5–4.5%), cap 15% [S SHEP; cap U]."
        ),
        two_sided=True,
        msr="none",
        max_sharing_rate=1.0,
        quality_method="flat",
        payment_limit=0.15,
        loss_rate=1.0,
        loss_limit_benchmark=0.15,
        benchmark_discount=0.03,
    ),
    "commercial-50-50-corridor": dict(
        description=(
            "A commercial shared-risk contract: 50/50 split, symmetric 2% corridor, first-"
            "dollar sharing once outside it, provider share capped at 10% of the cost target "
            "both ways [S MCM: 'a 50–50 split is most common', corridor 'say, 2 percent', cap "
            "'between 5 and 15 percent'; S AXENE for corridor mechanics]. No sequestration "
            "(not a Medicare payment). Set sharing_basis='above-threshold' for second-dollar "
            "sharing, two_sided=false for upside only."
        ),
        two_sided=True,
        msr=0.02,
        max_sharing_rate=0.5,
        quality_method="flat",
        payment_limit=0.10,
        loss_rate=0.5,
        loss_limit_benchmark=0.10,
        sequestration=0.0,
    ),
    "commercial-80-20": dict(
        description=(
            "A commercial upside contract skewed to the provider: 80% of savings to the "
            "provider, 20% to the payer [S MCM], with a 2% corridor and a 10% cap [U: typical "
            "terms, not from a source]. No sequestration."
        ),
        msr=0.02,
        max_sharing_rate=0.8,
        quality_method="flat",
        payment_limit=0.10,
        sequestration=0.0,
    ),
    "eac-recommended": dict(
        description=(
            "A design built from the six recommendations of the background paper 'Payment "
            "Calculation and Distribution' [EAC]: no MSR (rec. 4); no savings below a quality "
            "threshold of 0.6 (rec. 1); sharing on a sliding scale from 0 at the threshold "
            "to the 50% maximum at a stretch goal of 0.9 (rec. 3); a quality bonus of up to "
            "0.5% of the benchmark paid whether or not savings are achieved, on the same "
            "scale (rec. 2); forfeited savings reinvested in the community (rec. 5); 10% "
            "payment limit. The numbers are design choices [U]; no sequestration."
        ),
        msr="none",
        max_sharing_rate=0.5,
        quality_method="scaled",
        quality_floor=0.6,
        quality_full=0.9,
        quality_gate=0.6,
        payment_limit=0.10,
        sequestration=0.0,
        quality_bonus=dict(budget=0.005, threshold=0.6, full_at=0.9),
        forfeited_to="community",
    ),
}

_BASIC_COMMON = dict(
    msr="cms",
    quality_method="standard",
    quality_standard=_QPS_2026,
    payment_limit=0.10,
    below_msr_sharing_factor=0.5,
)
_BASIC_LIMITS = {"c": (0.02, 0.01), "d": (0.04, 0.02), "e": (0.08, 0.04)}
for _level in "abcde":
    _two = _level in _BASIC_LIMITS
    _terms: dict[str, Any] = dict(_BASIC_COMMON)
    if _two:
        _rev, _bench = _BASIC_LIMITS[_level]
        _terms.update(
            two_sided=True,
            cms_election=True,
            max_sharing_rate=0.5,
            loss_rate=0.30,
            loss_limit_revenue=_rev,
            loss_limit_benchmark=_bench,
            description=(
                f"MSSP BASIC track Level {_level.upper()} (two-sided, July 2019+, 2021+ quality "
                "rules). MSR/MLR elected: 0%, 0.5–2.0% or the variable scale (default here) [V "
                "42 CFR 425.605(b)]; 50% sharing when the QPS is met [V 425.605(d)]; payment "
                f"limit 10%; fixed 30% shared loss rate; loss limit the lesser of "
                f"{_rev:.0%} of ACO participant revenue and {_bench:.0%} of benchmark "
                + (
                    "[V 425.605(d)(1)(v); percentages S RF2026 via 42 CFR 414.1415]."
                    if _level == "e"
                    else "[V 425.605(d)]."
                )
                + " Low-revenue ACOs in agreements from 2024 share at half the rate below "
                "the MSR [S RF2026, 425.605(h)]; pass low_revenue=True to settle()."
                + _QPS_NOTE
            ),
        )
    else:
        _terms.update(
            max_sharing_rate=0.4,
            description=(
                f"MSSP BASIC track Level {_level.upper()} (one-sided, July 2019+, 2021+ quality "
                "rules). MSR by the CMS sliding scale [V 42 CFR 425.605(b)(1)]; 40% first-dollar "
                "sharing when the quality performance standard is met (40% × quality before "
                "2021) [V 425.605(d)(1)(i)-(ii)]; payment limit 10% of benchmark [V]. Low-"
                "revenue ACOs in agreements from 2024 share at half the rate below the MSR "
                "[S RF2026, 425.605(h)]; pass low_revenue=True to settle()." + _QPS_NOTE
            ),
        )
    _PRESET_TERMS[f"mssp-basic-{_level}"] = _terms

_PRESET_TERMS["mssp-basic-e-proposed-2027"] = {
    **_PRESET_TERMS["mssp-basic-e"],
    "max_sharing_rate": 0.6,
    "description": (
        "PROPOSED, not law: MSSP BASIC Level E as the CY2027 Physician Fee Schedule "
        "proposed rule (CMS-1848-P, July 2026) would set it: the sharing rate raised from "
        "50% to 60% [S PFS2027-P]; other terms as mssp-basic-e. The "
        "same proposal scales the prior savings adjustment from 50% to 75% (the agreement "
        "term prior_savings_scale) and adds an ACPT guardrail of -1/+1.5 points "
        "(acpt_guardrail)."),
}
_PRESET_TERMS["aca-risk-corridors"] = dict(
    description=(
        "The ACA risk corridors of 42 USC 18062(b) [V], as a two-sided contract: the plan "
        "keeps all gains and losses within 3% of its target, half from 3% to 8%, and 20% "
        "beyond (HHS pays or takes 2.5% of the target plus 80% of the excess over 8%). No "
        "MSR, cap or sequestration; quality plays no part."),
    two_sided=True,
    msr="none",
    quality_method="flat",
    payment_limit=None,
    sequestration=0.0,
    risk_corridors=ACA_CORRIDORS,
)
for _year in REACH_YEARS:
    for _option in ("global", "professional"):
        _PRESET_TERMS[f"aco-reach-{_option}-{_year}"] = reach_terms(_option, _year)
for _option in ("global", "professional"):
    _latest = dict(reach_terms(_option, REACH_YEARS[-1]))
    _latest["description"] = ("The latest ACO REACH terms (PY2026, the model's last year): "
                              + _latest["description"])
    _PRESET_TERMS[f"aco-reach-{_option}"] = _latest
    _PRESET_TERMS[f"lead-{_option}"] = lead_terms(_option, "higher")
    _PRESET_TERMS[f"lead-{_option}-lower-spending"] = lead_terms(_option, "lower")

_ORDER = [
    "mssp-track1-2012",
    "mssp-track2-2012",
    "mssp-track3-2016",
    "mssp-track1plus-2018",
    "mssp-basic-a",
    "mssp-basic-b",
    "mssp-basic-c",
    "mssp-basic-d",
    "mssp-basic-e",
    "mssp-enhanced",
    "mssp-proposed-2011",
    "pioneer",
    "ngaco-a",
    "ngaco-b",
    "commercial-50-50-corridor",
    "commercial-80-20",
    "eac-recommended",
    "mssp-basic-e-proposed-2027",
    "aca-risk-corridors",
    "aco-reach-global",
    "aco-reach-professional",
    *[f"aco-reach-{o}-{y}" for y in REACH_YEARS for o in ("global", "professional")],
    "lead-global",
    "lead-professional",
    "lead-global-lower-spending",
    "lead-professional-lower-spending",
]

#: Named presets, validated at import.
PRESETS: dict[str, Contract] = {
    name: make_contract({"name": name, **_PRESET_TERMS[name]}) for name in _ORDER
}


def preset_names() -> list[str]:
    """Names of the bundled presets, in display order."""
    return list(PRESETS)


def get_preset(name: str) -> Contract:
    """Return the named preset contract.

    Raises
    ------
    ContractError
        If no preset has that name; the message lists the available ones.

    Examples
    --------
    >>> get_preset("mssp-enhanced").max_sharing_rate
    0.75
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ContractError(
            f"preset: unknown preset {name!r}; available: {', '.join(PRESETS)}"
        ) from None
