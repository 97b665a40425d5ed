"""What CMS calls each column of its MSSP results files, and what simsav calls it.

The vocabulary :func:`simsav.io.puf.load_puf` normalizes with: header keys of every layout
from 2013 on and the normalized names they map to, which columns hold rates, flags, text
or dates, the track flag columns and track codes, the core output columns, and the
columns a results file must have.
"""

from __future__ import annotations

import re

__all__ = [
    "CANON",
    "CORE_COLUMNS",
    "DATE_COLUMNS",
    "FLAG_COLUMNS",
    "PLACEHOLDERS",
    "RATE_COLUMNS",
    "REQUIRED",
    "TEXT_COLUMNS",
    "TRACK_FLAGS",
    "header_key",
    "snake_name",
    "track_from_code",
]

# Key: a header lower-cased with everything but letters and digits removed, so that
# "Sav_rate", "Sav_Rate" and "sav_rate" meet. Value: the normalized column name.
CANON: dict[str, str] = {
    "acoid": "aco_id",
    "aconum": "aco_num",
    "acoidentifier": "aco_num",  # 2013: the encrypted identifier
    "aconame": "aco_name",
    "year": "performance_year",
    "performanceyear": "performance_year",
    "nab": "n_ab",
    "totalnumberofassignedbeneficiaries": "n_ab",
    "savrate": "savings_rate",
    "minsavperc": "msr",
    "minimumsavingsrate": "msr",
    "minlossperc": "mlr",
    "minimumlossrate": "mlr",
    "bnchmkminexp": "benchmark_minus_expenditure",
    "totalsavingslosses": "benchmark_minus_expenditure",
    "gensaveloss": "gross_savings",
    "disadj": "euc_adjustment",
    "earnsaveloss": "earned",
    "sharedsavings": "shared_savings",  # 2013
    "sharedlosses": "shared_losses",  # 2013
    "qualscore": "quality_score",
    "qualityscore": "quality_score",
    "metqps": "met_qps",
    "metaltqps": "met_alt_qps",
    "met30pctl": "met_30pctl",
    "met40pctl": "met_40pctl",
    "metincentive": "met_incentive",
    "metfirstyear": "met_first_year",
    "recvd30p": "recvd_30p",
    "recvd40p": "recvd_40p",
    "recvdmean": "recvd_mean",
    "disaffqual": "dis_aff_qual",
    "finalsharerate": "final_share_rate",
    "finalsharingrate": "final_share_rate",
    "maxsharerate": "max_share_rate",
    "qualperfshare": "qual_perf_share",
    "qualityperformancesharingrate": "qual_perf_share",
    "finallossrate": "final_loss_rate",
    "abtotbnchmk": "benchmark_total",
    "totalbenchmarkexpenditures": "benchmark_total",
    "abtotexp": "expenditure_total",
    "totalexpenditures": "expenditure_total",
    "updatedbnchmk": "updated_benchmark",
    "histbnchmk": "historical_benchmark",
    "agreementperiodnum": "agreement_period_num",
    "agreetype": "agree_type",
    "currentstartdate": "current_start_date",
    "initialstartdate": "initial_start_date",
    "startdate": "start_date",
    "revexpcat": "rev_exp_cat",
    "revlosslimit": "rev_loss_limit",
    "riskmodel": "risk_model",
    "currenttrack": "current_track",
    "advpay": "adv_pay",
    "advpayamt": "adv_pay_amt",
    "advpayrecoup": "adv_pay_recoup",
    "impactmidyeartermination": "impact_mid_year_termination",
    "proratesharedlosses": "prorate_shared_losses",
    "reducedss": "reduced_ss",
    "track2aco": "track2_flag",  # 2013 "Track 2 ACO"
}

#: Rate columns normalized to fractions (see ``simsav.io.puf._percent_divisor``).
RATE_COLUMNS: tuple[str, ...] = (
    "savings_rate",
    "msr",
    "mlr",
    "quality_score",
    "final_share_rate",
    "max_share_rate",
    "qual_perf_share",
    "final_loss_rate",
)

#: 0/1 flag columns, read as nullable booleans.
FLAG_COLUMNS = (
    "met_qps",
    "met_alt_qps",
    "met_30pctl",
    "met_40pctl",
    "met_incentive",
    "met_first_year",
    "recvd_30p",
    "recvd_40p",
    "recvd_mean",
    "dis_aff_qual",
    "rev_loss_limit",
    "reduced_ss",
)

#: Columns kept as text, and columns read as dates.
TEXT_COLUMNS = frozenset(
    {"aco_id", "aco_num", "aco_name", "agree_type", "rev_exp_cat", "risk_model", "current_track"}
)
DATE_COLUMNS = ("current_start_date", "initial_start_date", "start_date")

#: Track flag columns (key as in ``CANON``) and the track each marks.
TRACK_FLAGS: dict[str, str] = {
    "currenttrack1": "track1",
    "currenttrack1plus": "track1plus",
    "currenttrack2": "track2",
    "currenttrack3": "track3",
    "currentbasica": "basic_a",
    "currentbasicb": "basic_b",
    "currentbasicc": "basic_c",
    "currentbasicd": "basic_d",
    "currentbasice": "basic_e",
    "currentenhanced": "enhanced",
    "track1": "track1",  # 2014–2015
    "track2": "track2",
}

#: Core output columns, in order; the rest follow in file order.
CORE_COLUMNS = (
    "aco_id",
    "aco_num",
    "aco_name",
    "performance_year",
    "track",
    "two_sided",
    "n_ab",
    "benchmark_total",
    "expenditure_total",
    "benchmark_minus_expenditure",
    "savings_rate",
    "msr",
    "mlr",
    "gross_savings",
    "euc_adjustment",
    "earned",
    "quality_score",
    "quality_p4r",
    "met_qps",
    "met_alt_qps",
    "final_share_rate",
    "final_loss_rate",
    "agreement_period_num",
    "current_start_date",
    "rev_exp_cat",
    "mid_year_termination",
)

#: What a CMS results file must provide, normalized name -> CMS column(s) to name in errors.
REQUIRED: dict[str, str] = {
    "n_ab": "N_AB",
    "benchmark_total": "ABtotBnchmk",
    "expenditure_total": "ABtotExp",
    "earned": "EarnSaveLoss",
    "msr": "MinSavPerc",
    "quality_score": "QualScore",
}

PLACEHOLDERS = frozenset({"", "-", "*", "–", "—", ".", "NA", "N/A", "n/a", "NaN", "nan", "None"})


def header_key(name: str) -> str:
    """The key of a header in :data:`CANON`: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def snake_name(name: str) -> str:
    """A header not in :data:`CANON` as a column name: lower case, ``_`` for the rest."""
    s = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return s or "column"


def track_from_code(code: str) -> str | None:
    """The normalized track of a ``Current_Track`` code ("EN", "BASIC Level E", "1+"...)."""
    c = re.sub(r"[^0-9a-z+]", "", code.lower())
    for prefix in ("basictracklevel", "basiclevel", "basic", "level", "track"):
        if c.startswith(prefix) and len(c) > len(prefix):
            c = c[len(prefix) :]
            break
    table = {
        "en": "enhanced",
        "enhanced": "enhanced",
        "e": "basic_e",
        "a": "basic_a",
        "b": "basic_b",
        "c": "basic_c",
        "d": "basic_d",
        "1": "track1",
        "1+": "track1plus",
        "1plus": "track1plus",
        "2": "track2",
        "3": "track3",
    }
    return table.get(c)
