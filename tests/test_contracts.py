"""Contract terms validation and presets."""

import pytest
from pydantic import ValidationError

from simsav.contracts import PRESETS, ContractError, get_preset, make_contract, preset_names

REQUIRED = [
    "mssp-track1-2012", "mssp-track2-2012", "mssp-track3-2016", "mssp-basic-a",
    "mssp-basic-b", "mssp-basic-c", "mssp-basic-d", "mssp-basic-e", "mssp-enhanced",
    "mssp-proposed-2011", "pioneer", "ngaco-a", "ngaco-b", "commercial-50-50-corridor",
    "commercial-80-20", "eac-recommended",
]


def test_all_required_presets_exist_and_are_documented():
    assert set(REQUIRED) <= set(preset_names())
    for name in REQUIRED:
        c = get_preset(name)
        assert c.name == name
        assert len(c.description) > 80


@pytest.mark.parametrize(
    "name,max_rate,cap,two_sided",
    [
        ("mssp-track1-2012", 0.5, 0.10, False), ("mssp-track2-2012", 0.6, 0.15, True),
        ("mssp-track3-2016", 0.75, 0.20, True), ("mssp-basic-a", 0.4, 0.10, False),
        ("mssp-basic-b", 0.4, 0.10, False), ("mssp-basic-c", 0.5, 0.10, True),
        ("mssp-basic-e", 0.5, 0.10, True), ("mssp-enhanced", 0.75, 0.20, True),
    ],
)
def test_mssp_track_terms_from_cfr(name, max_rate, cap, two_sided):
    c = get_preset(name)
    assert (c.max_sharing_rate, c.payment_limit, c.two_sided) == (max_rate, cap, two_sided)


def test_unknown_term_is_rejected_by_name():
    with pytest.raises(ContractError, match="msr_typo: unknown contract term"):
        get_preset("mssp-basic-a").with_terms(msr_typo=0.02)


def test_sharing_rate_above_one_names_field_and_range():
    msg = r"max_sharing_rate: must be a number in \[0, 1\] \(got 1.5\)"
    with pytest.raises(ContractError, match=msg):
        make_contract({"max_sharing_rate": 1.5})
    with pytest.raises(ContractError, match="max_sharing_rate"):
        get_preset("mssp-track1-2012").with_terms(max_sharing_rate=1.5)


def test_nan_term_rejected():
    with pytest.raises(ContractError, match="payment_limit"):
        get_preset("mssp-track1-2012").with_terms(payment_limit=float("nan"))


def test_missing_preset_lists_available():
    with pytest.raises(ContractError, match="unknown preset 'mssp-track9'.*mssp-enhanced"):
        get_preset("mssp-track9")


@pytest.mark.parametrize("msr", [0.0, 0.005, 0.01, 0.015, 0.02, "cms"])
def test_cms_elections_allowed(msr):
    assert get_preset("mssp-basic-e").with_terms(msr=msr).msr == msr


def test_cms_election_rejects_other_rates():
    with pytest.raises(ContractError, match="not a CMS election"):
        get_preset("mssp-basic-e").with_terms(msr=0.013)


def test_user_msr_table():
    c = get_preset("mssp-track1-2012").with_terms(
        msr=[{"lo": 1, "hi": 10_000, "low": 0.04, "high": 0.02}, {"lo": 10_000, "low": 0.02}]
    )
    assert c.msr_table() is not None


def test_presets_frozen():
    with pytest.raises(ValidationError):
        PRESETS["mssp-basic-a"].max_sharing_rate = 0.9  # type: ignore[misc]
