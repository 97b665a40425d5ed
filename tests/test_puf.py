"""simsav.io.puf and simsav.analysis.replicate: CMS MSSP results files loaded into one table,
and replicated from the rules.

Expected values are CMS's published numbers, read off the raw files (the cell text is
quoted in each test), never simsav's own output.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsav.analysis.replicate import replicate_puf, replicate_puf_table
from simsav.contracts import TRACKS, puf_contract
from simsav.io.puf import bundled_years, load_crosswalk, load_puf

PUF_DIR = Path(__file__).resolve().parents[1] / "simsav" / "data" / "puf"

#: Data rows of each bundled year (the research data README's record counts).
ROWS = {
    2013: 220,
    2014: 333,
    2015: 392,
    2016: 432,
    2017: 472,
    2018: 548,
    2019: 475,
    2020: 513,
    2021: 475,
    2022: 482,
}


def _aco(year: int, aco_id: str) -> pd.Series:
    return load_puf(year).set_index("aco_id").loc[aco_id]


# ----------------------------------------------------------------------------- loading
def test_bundled_years_and_row_counts():
    assert bundled_years() == sorted(ROWS)
    for year, rows in ROWS.items():
        df = load_puf(year)
        assert len(df) == rows, year
        assert (df["performance_year"] == year).all()
        assert df["aco_id"].notna().all() and df["aco_id"].is_unique, year
        assert set(df["track"]) <= set(TRACKS), year


def test_bundled_data_is_small():
    size = sum(p.stat().st_size for p in PUF_DIR.iterdir())
    assert size < 6_000_000


@pytest.mark.parametrize("year", sorted(ROWS))
def test_normalized_columns_and_units(year):
    df = load_puf(year)
    for col in (
        "aco_id", "performance_year", "track", "two_sided", "n_ab", "savings_rate", "msr",
        "benchmark_total", "expenditure_total", "gross_savings", "earned", "quality_score",
        "met_qps", "final_share_rate", "final_loss_rate", "euc_adjustment",
        "agreement_period_num", "current_start_date", "rev_exp_cat",
    ):  # fmt: skip
        assert col in df.columns, col
    assert df["two_sided"].dtype == bool
    # rates are fractions whatever the file's units
    assert df["savings_rate"].abs().max() < 0.5
    assert df["msr"].between(0.0, 0.3).all()
    assert df["msr"].median() == pytest.approx(0.025, abs=0.006)
    assert df["quality_score"].dropna().between(0.0, 1.0).all()
    assert df["final_share_rate"].between(0.0, 0.75).all()
    # the savings rate is (benchmark − expenditure) / benchmark
    implied = (df["benchmark_total"] - df["expenditure_total"]) / df["benchmark_total"]
    assert np.allclose(df["savings_rate"], implied, atol=6e-5)
    # two-sided exactly where the track shares losses (or CMS's Risk_Model says so)
    assert (df["two_sided"] == df["track"].isin(
        ["track2", "track3", "track1plus", "basic_c", "basic_d", "basic_e", "enhanced"]
    )).all()  # fmt: skip


def test_2013_layout_realigned_and_mapped():
    # 2013 raw row: A67373,"Palm Beach Accountable Care Organization, LLC",07/01/2012,0,...,
    # 0.023373146%,$613084880.40,$573516045.50,$39568834.84,$19388729.07,,36268,29883.83333
    row = load_puf(2013).set_index("aco_num").loc["A67373"]
    assert row["aco_id"] == "A1001"  # crosswalk
    assert row["track"] == "track1" and not row["two_sided"]
    assert row["msr"] == pytest.approx(0.023373146)  # a fraction, despite its "%" sign
    assert row["benchmark_total"] == pytest.approx(613084880.40)
    assert row["expenditure_total"] == pytest.approx(573516045.50)
    assert row["benchmark_minus_expenditure"] == pytest.approx(39568834.84)
    assert row["earned"] == pytest.approx(19388729.07)
    assert row["n_ab"] == 36268
    assert row["quality_score"] == 1.0
    # a Track 2 ACO that owed losses: A14269 Dean Clinic ..., -0.02%, 0.02%, ...
    # $197934064.80, $207900445.10, $-9966380.30, $0.00, -3986552.12, 0, 20979
    t2 = load_puf(2013).set_index("aco_num").loc["A14269"]
    assert t2["track"] == "track2" and t2["two_sided"]
    assert (t2["msr"], t2["mlr"]) == (0.02, 0.02)
    assert t2["earned"] == pytest.approx(-3986552.12)
    assert t2["n_ab"] == 20979


def test_2014_encrypted_ids_p4r_and_placeholders():
    df = load_puf(2014).set_index("aco_num")
    assert load_crosswalk()["A38665"] == "A1002"
    # A38665,2014,"New York,  New Jersey",4/1/12,1,0,0,11219,0.0141,0.0293,1495426,0,0,0.87
    row = df.loc["A38665"]
    assert row["aco_id"] == "A1002"
    assert (row["n_ab"], row["savings_rate"], row["msr"]) == (11219, 0.0141, 0.0293)
    assert row["quality_score"] == 0.87
    assert np.isnan(row["n_ben_race_native"])  # "*" in the file: suppressed small cell
    # 119 ACOs in their pay-for-reporting year: QualScore "P4R"
    assert df["quality_p4r"].sum() == 119
    assert (df.loc[df["quality_p4r"], "quality_score"] == 1.0).all()


def test_2015_percent_quality():
    # A67373,2015,...,60845,0.0948,0.02,76642477,76642477,36834657,98.08,...,50,49.04
    row = load_puf(2015).set_index("aco_num").loc["A67373"]
    assert row["quality_score"] == pytest.approx(0.9808)
    assert row["final_share_rate"] == pytest.approx(0.4904)
    assert row["qual_perf_share"] == pytest.approx(0.5)
    assert row["earned"] == 36834657


def test_2018_fractions_and_flags():
    # A1001,...,77372,0.104911788,0.02,112523299,112523299,,50087988,0,1,0.9084
    row = _aco(2018, "A1001")
    assert row["savings_rate"] == pytest.approx(0.104911788)
    assert (row["n_ab"], row["msr"], row["earned"]) == (77372, 0.02, 50087988)
    assert bool(row["met_qps"]) and load_puf(2018)["met_qps"].dtype == "boolean"
    assert row["current_start_date"] == pd.Timestamp("2016-01-01")
    assert load_puf(2018)["track"].value_counts()["track1plus"] == 52


def test_2021_percent_strings_and_thousands_commas():
    # A1001,...,"89,403",7.17%,2.00%,"84,231,357","84,231,357",,"61,910,047",1,1,...,100,
    # ..., "1,175,345,650","1,091,114,293",,,75.00%,75.00%
    row = _aco(2021, "A1001")
    assert row["track"] == "enhanced" and row["two_sided"]
    assert (row["n_ab"], row["savings_rate"], row["msr"]) == (89403, 0.0717, 0.02)
    assert row["benchmark_total"] == 1175345650 and row["expenditure_total"] == 1091114293
    assert row["earned"] == 61910047 and row["quality_score"] == 1.0
    assert row["final_share_rate"] == 0.75


def test_2022_bom_track_codes_percent_quality():
    df = load_puf(2022)
    assert df.columns[0] == "aco_id"  # the file starts with a UTF-8 BOM
    assert df["track"].value_counts().to_dict() == {
        "basic_b": 169, "enhanced": 146, "basic_e": 98, "basic_a": 29, "basic_c": 25,
        "basic_d": 15,
    }  # fmt: skip  # Current_Track B, EN, E, A, C, D
    row = df.set_index("aco_id").loc["A1001"]  # ...,EN,Two-Sided,...,89.41%,...
    assert row["quality_score"] == pytest.approx(0.8941)
    assert row["msr"] == 0.02 and row["savings_rate"] == 0.0646
    a1080 = df.set_index("aco_id").loc["A1080"]  # Impact_Mid_Year_Termination = 1
    assert (
        a1080["mid_year_termination"]
        and not df["mid_year_termination"].drop(df.index[df["aco_id"] == "A1080"]).any()
    )


def test_2019_2020_from_the_harmonized_extract():
    # harmonized rows: A1001, ..., 2019: 74707, 0.109, 0.02, ..., 27971226; 2020: ENHANCED
    r19, r20 = _aco(2019, "A1001"), _aco(2020, "A1001")
    assert (r19["n_ab"], r19["savings_rate"], r19["earned"]) == (74707, 0.109, 27971226)
    assert r19["track"] == "track1"
    assert r20["track"] == "enhanced" and r20["earned"] == 54320998
    assert r20["quality_score"] == 1.0


def _as_2024_layout(year: int = 2022) -> str:
    """A CMS file of ``year`` rewritten in the PY2024 layout: plain percent numbers
    (no "%"), no BOM, Met_40pctl/Recvd40p, and new columns (Met_Alt_QPS, ReducedSS,
    FinalLossRate, a future column). The CMS values are unchanged."""
    text = (PUF_DIR / f"mssp_puf_PY{year}.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = [{"Met_30pctl": "Met_40pctl", "Recvd30p": "Recvd40p"}.get(h, h) for h in rows[0]]
    header += ["Met_Alt_QPS", "ReducedSS", "FinalLossRate", "Brand_New_Measure"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for r in rows[1:]:
        w.writerow([re.sub(r"%$", "", v) for v in r] + ["0", "0", "", "1.5"])
    return out.getvalue()


def test_2024_layout_plain_percents(tmp_path):
    path = tmp_path / "PY_Financial_and_Quality_Results_2024_revised.csv"
    path.write_text(_as_2024_layout(), encoding="utf-8")
    # the year comes from the name (2024) unless given; the numbers are PY2022's
    assert load_puf(path)["performance_year"].eq(2024).all()
    new = load_puf(path, performance_year=2022)
    old = load_puf(2022)
    for col in ("savings_rate", "msr", "quality_score", "final_share_rate", "earned", "n_ab"):
        assert np.allclose(new[col], old[col], equal_nan=True), col
    assert (new["track"] == old["track"]).all()
    assert new["brand_new_measure"].eq(1.5).all()  # unknown columns pass through
    assert "met_40pctl" in new.columns and "met_alt_qps" in new.columns
    assert replicate_puf(new)["savers"] == replicate_puf(old)["savers"]


def test_raw_dataframe_and_file_object():
    with open(PUF_DIR / "mssp_puf_PY2018.csv", "rb") as fh:
        df = load_puf(fh, performance_year=2018)
    assert len(df) == ROWS[2018]
    raw = pd.read_csv(PUF_DIR / "mssp_puf_PY2018.csv", dtype=str, keep_default_na=False)
    assert replicate_puf(raw, performance_year=2018) == replicate_puf(2018)


def test_not_a_results_file(tmp_path):
    path = tmp_path / "county_2018.csv"
    path.write_text("ACO_ID,N_AB,Sav_rate\nA1,5000,0.01\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing column\(s\) ABtotBnchmk, ABtotExp, "
                       r"EarnSaveLoss, MinSavPerc, QualScore"):  # fmt: skip
        load_puf(path)
    with pytest.raises(ValueError, match="not a CMS MSSP results file"):
        load_puf(PUF_DIR / "README.md", performance_year=2022)
    with pytest.raises(ValueError, match="no bundled results file for performance year 2011"):
        load_puf(2011)
    with pytest.raises(ValueError, match="no such file"):
        load_puf(tmp_path / "missing.csv")


def test_unknown_track_code_and_missing_year(tmp_path):
    text = (PUF_DIR / "mssp_puf_PY2022.csv").read_text(encoding="utf-8-sig")
    bad = tmp_path / "results.csv"
    bad.write_text(text.replace(",EN,Two-Sided,", ",Z9,Two-Sided,", 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"Current_Track: unknown track code\(s\) \['Z9'\]"):
        load_puf(bad, performance_year=2022)
    with pytest.raises(ValueError, match="performance_year"):
        load_puf(bad)  # no year column, none in the name


# ----------------------------------------------------------------------------- replication
@pytest.fixture(scope="module")
def replications():
    return {year: replicate_puf(year) for year in sorted(ROWS)}


@pytest.mark.parametrize("year", [2018, 2021, 2022])
def test_replication_must_hold(replications, year):
    r = replications[year]
    assert r["msr_one_sided"]["matched"] == r["msr_one_sided"]["n"] > 0
    assert r["savers"]["matched"] >= 0.99 * r["savers"]["n"] > 0
    assert r["unexplained"] == []


@pytest.mark.parametrize("year", sorted(ROWS))
def test_replication_every_year(replications, year):
    r = replications[year]
    assert r["performance_year"] == year and r["acos"] == ROWS[year]
    assert r["unexplained"] == []
    msr = r["msr_one_sided"]
    assert msr["matched"] >= msr["n"] - 1  # PY2017: one ACO of 152 beneficiaries
    savers = r["savers"]
    share = 0.9 if year == 2014 else 0.99  # PY2014 quality scores have 2 decimals
    assert savers["matched"] >= share * savers["n"]
    losses = r["owing_losses"]
    assert losses["matched"] >= losses["n"] - 1
    assert r["no_payment"]["matched"] >= r["no_payment"]["n"] - 2


def test_replication_shape_is_json(replications):
    import json

    r = replications[2022]
    assert list(r)[:6] == [
        "performance_year", "acos", "msr_one_sided", "savers", "owing_losses", "unexplained",
    ]  # fmt: skip
    assert json.loads(json.dumps(r)) == r


def test_years_with_shared_losses_fully_accounted(replications):
    # PY2013 and 2016–2019 are the years in these files with losses owed to CMS
    owed = {y: replications[y]["owing_losses"]["n"] for y in (2013, 2016, 2017, 2018, 2019)}
    assert owed == {2013: 1, 2016: 4, 2017: 11, 2018: 11, 2019: 6}
    for year in owed:
        t = replicate_puf_table(year)
        losses = t[t["group"] == "owing_losses"]
        assert (losses["matched"] | losses["reason"].ne("")).all()


def test_py2019_track1plus_revenue_cap_explained():
    t = replicate_puf_table(2019).set_index("aco_id")
    row = t.loc["A2392"]  # Track 1+, EarnSaveLoss -2,074,092: 8% of revenue binds
    assert row["track"] == "track1plus" and not row["matched"]
    assert "revenue-based loss limit" in row["reason"] and "Low Revenue" in row["reason"]


def test_py2014_unmatched_savers_are_quality_rounding():
    t = replicate_puf_table(2014)
    bad = t[(t["group"] == "savers") & ~t["matched"]]
    assert len(bad) > 0 and bad["reason"].str.startswith("quality rounding").all()


def test_reported_outputs_are_not_inputs():
    df = load_puf(2022)
    scrambled = df.assign(
        final_share_rate=0.123, final_loss_rate=0.456, gross_savings=-1.0, earned=0.0
    )
    a = replicate_puf_table(df)
    b = replicate_puf_table(scrambled)
    assert np.array_equal(a["computed"], b["computed"], equal_nan=True)


def test_puf_contract_rules():
    assert puf_contract("track1", 2016).quality_method == "scaled"
    assert puf_contract("track1", 2021).quality_method == "standard"
    assert puf_contract("basic_b", 2020).quality_method == "scaled"
    assert puf_contract("enhanced", 2022).quality_method == "standard"
    assert puf_contract("basic_e", 2019).sequestration == 0.0  # CARES Act suspension
    assert puf_contract("basic_e", 2022).sequestration == 0.02
    t1p = puf_contract("track1plus", 2018)
    assert (t1p.max_sharing_rate, t1p.loss_rate, t1p.payment_limit) == (0.5, 0.3, 0.1)
    assert (t1p.loss_limit_revenue, t1p.loss_limit_benchmark) == (0.08, 0.04)
    with pytest.raises(ValueError, match="track: unknown track"):
        puf_contract("track9", 2018)
