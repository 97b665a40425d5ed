"""CMS's program-year rules for the Medicare Shared Savings Program.

The presets (:mod:`simsav.contracts.presets`) carry each track's standing terms. Some of
CMS's rules change with the performance year rather than the track: how quality sets the
sharing rate (before and from PY2021), sequestration of payments (suspended by the CARES
Act for the PY2019 and PY2020 reconciliations), and the COVID-19 public health emergency's
reduction of shared losses. :func:`puf_contract` applies them to a track's preset;
:func:`simsav.analysis.replicate.replicate_puf` settles every ACO of a public-use file with
it.
"""

from __future__ import annotations

from typing import Any

from simsav.contracts.presets import get_preset
from simsav.contracts.terms import Contract

__all__ = [
    "PHE_SHARE_OF_YEAR",
    "TRACKS",
    "TWO_SIDED_TRACKS",
    "puf_contract",
    "sequestration_rate",
]

#: Normalized track labels, in the order CMS introduced them.
TRACKS: tuple[str, ...] = (
    "track1",
    "track2",
    "track3",
    "track1plus",
    "basic_a",
    "basic_b",
    "basic_c",
    "basic_d",
    "basic_e",
    "enhanced",
)
#: Tracks in which the ACO shares losses.
TWO_SIDED_TRACKS: frozenset[str] = frozenset(
    {"track2", "track3", "track1plus", "basic_c", "basic_d", "basic_e", "enhanced"}
)

#: Share of the performance year under the COVID-19 public health emergency, which CMS
#: treats as an extreme and uncontrollable circumstance for every county: shared losses
#: are reduced by this share (Table 3 rows [DD]–[FF] of CMS's settlement reports; PY2022:
#: 100% of beneficiaries, 100% of the year). The PHE ran from January 2020 to 11 May 2023.
PHE_SHARE_OF_YEAR: dict[int, float] = {2020: 1.0, 2021: 1.0, 2022: 1.0, 2023: 5.0 / 12.0}


def sequestration_rate(performance_year: int) -> float:
    """Sequestration of shared savings payments for a performance year.

    2% under the Budget Control Act of 2011 (row [X] of CMS's settlement reports),
    except for payments made while the CARES Act (section 3709) and its extensions
    suspended it, 1 May 2020 – 31 March 2022: the PY2019 and PY2020 reconciliations.

    Examples
    --------
    >>> sequestration_rate(2018), sequestration_rate(2020), sequestration_rate(2022)
    (0.02, 0.0, 0.02)
    """
    return 0.0 if performance_year in (2019, 2020) else 0.02


def puf_contract(track: str, performance_year: int) -> Contract:
    """The contract that settles an ACO of ``track`` in ``performance_year``.

    Starts from the named preset and applies the year's rules: before PY2021 the final sharing rate
    is the maximum rate × quality score (42 CFR 425.502); from PY2021 the flat maximum
    when the quality performance standard is met (425.512); and the year's sequestration
    (:func:`sequestration_rate`).

    Parameters
    ----------
    track : str
        One of :data:`TRACKS`.
    performance_year : int
        The performance year.

    Returns
    -------
    Contract

    Examples
    --------
    >>> c = puf_contract("basic_b", 2020)
    >>> c.name, c.quality_method, c.sequestration
    ('mssp-basic-b', 'scaled', 0.0)
    """
    if track == "track1":
        c = get_preset("mssp-track1-2012")
    elif track == "track2":
        c = get_preset("mssp-track2-2012")
    elif track == "track3":
        c = get_preset("mssp-track3-2016")
    elif track == "track1plus":
        c = get_preset("mssp-track1plus-2018")
    elif track.startswith("basic_") and track[-1] in "abcde" and len(track) == 7:
        c = get_preset(f"mssp-basic-{track[-1]}")
    elif track == "enhanced":
        c = get_preset("mssp-enhanced")
    else:
        raise ValueError(f"track: unknown track {track!r}; expected one of {TRACKS}")
    terms: dict[str, Any] = {}
    if performance_year < 2021 and c.quality_method == "standard":
        terms["quality_method"] = "scaled"
    elif performance_year >= 2021 and c.quality_method == "scaled":
        # legacy tracks settled under the 2021+ quality rules: the flat maximum rate
        terms.update(quality_method="standard", quality_standard=None)
    seq = sequestration_rate(performance_year)
    if seq != c.sequestration:
        terms["sequestration"] = seq
    return c.with_terms(**terms) if terms else c
