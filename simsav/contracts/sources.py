"""The key to the source tags that presets and rules cite.

A tag in brackets says how reliable a term is and where it comes from, e.g.
``[V 42 CFR 425.604(b)]``, ``[S RF2026]``, ``[D HDM]`` or ``[U: commonly cited]``:

* the letter is the reliability (:data:`RELIABILITY`);
* what follows names the source — a regulation by its citation (``42 CFR 425.604(b)``,
  ``425.606(f)``), or a short id defined in :data:`SOURCES` (``RF2026``, ``HDM``, ``SHEP``).

``simsav presets --sources`` prints this key; :func:`cited_ids` lists the ids a text cites,
and a test checks that every id any preset cites is defined here.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["RELIABILITY", "SOURCES", "Source", "cited_ids", "describe"]

#: The reliability letters.
RELIABILITY: dict[str, str] = {
    "V": "verified in the primary text (regulation, statute, a CMS page or report)",
    "S": "from a secondary source (a law firm, actuarial firm, journal or research notes "
         "quoting the primary text)",
    "D": "derived: computed from sourced numbers",
    "U": "unverified: no source found; an assumption the user should review",
}


class Source(NamedTuple):
    """One cited source: what it is and where to read it."""

    citation: str
    where: str


_ECFR = "https://www.ecfr.gov/current/title-42/section-"

#: Source id -> citation and address. The ids are the ones presets and docstrings cite.
SOURCES: dict[str, Source] = {
    "CFR604": Source("42 CFR 425.604, calculation of savings under the one-sided model "
                     "(Track 1), as amended to 81 FR 38016 (2016)", _ECFR + "425.604"),
    "CFR605": Source("42 CFR 425.605, the BASIC track, as amended to 85 FR 85042 (Dec 2020; "
                     "later amended at 87 FR 70237, Nov 2022)", _ECFR + "425.605"),
    "CFR606": Source("42 CFR 425.606, the two-sided model (Track 2), as amended to "
                     "81 FR 38017 (2016)", _ECFR + "425.606"),
    "CFR610": Source("42 CFR 425.610, Track 3 / the ENHANCED track, 2016 version",
                     _ECFR + "425.610"),
    "CFR601": Source("42 CFR 425.601, benchmarks for agreement periods from July 2019",
                     _ECFR + "425.601"),
    "CFR602": Source("42 CFR 425.602, benchmarks of first agreement periods before 2019",
                     _ECFR + "425.602"),
    "CFR603": Source("42 CFR 425.603, resetting (rebasing) the benchmark", _ECFR + "425.603"),
    "CFR502": Source("42 CFR 425.502, the quality performance standard before 2021",
                     _ECFR + "425.502"),
    "CFR512": Source("42 CFR 425.512, the quality performance standard from 2021 "
                     "(85 FR 85041)", _ECFR + "425.512"),
    "CFR110": Source("42 CFR 425.110, the 5,000-beneficiary minimum and the MSR of an ACO "
                     "below it", _ECFR + "425.110"),
    "USC": Source("42 USC 1395jjj(d), the statute: an MSR 'to account for normal "
                  "variation', the benchmark and the payment limits",
                  "https://www.law.cornell.edu/uscode/text/42/1395jjj"),
    "PR2011": Source("CMS, Medicare Shared Savings Program: Accountable Care Organizations, "
                     "proposed rule CMS-1345-P (2011), pp. 265-268",
                     "https://www.yumpu.com/en/document/view/23751795/"
                     "aco-regulations-american-society-of-anesthesiologists/265"),
    "RF2026": Source("Research notes, 'MSSP APP Plus Scoring and Settlement Rules - Current "
                     "Law for PY2026', quoting eCFR part 425 (version of 2026-08-05), CMS "
                     "fact sheets and the PY2024 public-use file",
                     "unpublished notes; check each point against the eCFR part 425"),
    "A1540": Source("CMS, Medicare Shared Savings Program settlement report, performance "
                    "year 2022, ACO A1540 (rows [A]-[GG] of the financial reconciliation)",
                    "reproduced in the test suite (tests/data/)"),
    "MILL-MSR": Source("Milliman, 'MSSP minimum savings/(loss) rates: A double-edged sword'",
                       "https://milliman.com/en/insight/mssp-minimum-savings-loss-rates-msr-mlr"),
    "MILL-PTS": Source("Milliman, white papers on the 'Pathways to Success' MSSP final rule "
                       "(2019)",
                       "http://www.milliman.com/insight/2019/"
                       "Pathways-to-Success-MSSP-final-rule-Financial-benchmark/"),
    "MILL-ACPT": Source("Milliman, papers on the Accountable Care Prospective Trend (ACPT)",
                        "https://www.milliman.com/en/insight/under-pressure-acpt-pushing-"
                        "mssp-starters"),
    "MILL-COM": Source("Milliman, 'Five common pitfalls in commercial ACO shared risk "
                       "arrangements' (2016)",
                       "http://us.milliman.com/insight/2016/Five-common-pitfalls-in-"
                       "commercial-ACO-shared-risk-arrangements/"),
    "HDM": Source("Health Data Management, worked numbers of the 2011 final rule (SNR Denton "
                  "webinar), 'Want higher ACO payments? Get higher quality scores'",
                  "https://www.healthdatamanagement.com/news/"
                  "want-higher-aco-payments-get-higher-quality-scores"),
    "DCMS": Source("data.cms.gov, dataset notes for the 2015 MSSP results",
                   "https://data.cms.gov/"),
    "GFR": Source("GFR Law, 'CMS Sweetens the Pot for ACOs' (the 2011 proposed and final "
                  "rules compared)",
                  "https://www.gfrlaw.com/what-we-do/insights/cms-sweetens-pot-acos"),
    "HFMA": Source("HFMA, summary of the Pioneer ACO Model request for applications (2011)",
                   "http://www.hfma.org/PioneerACOModel/"),
    "CMMI-PIO": Source("CMS Innovation Center, Pioneer ACO Model page",
                       "https://innovation.cms.gov/initiatives/Pioneer-ACO-Model"),
    "LC-PIO": Source("legalclarity.org, 'Pioneer ACO Model: requirements, risks and results'",
                     "https://legalclarity.org/"
                     "pioneer-aco-model-requirements-risks-and-results"),
    "SHEP": Source("Sheppard Mullin, 'Medicare ACO v 3.0: more risk, more money' (2015), "
                   "citing the Next Generation ACO request for applications p. 13",
                   "https://www.sheppardhealthlaw.com/2015/03/articles/"
                   "centers-for-medicare-and-medicaid-services-cms/"
                   "medicare-aco-v-3-0-more-risk-more-money/"),
    "MONDAQ": Source("Mondaq, summary of the Next Generation ACO Model (2015)",
                     "http://mondaq.com/article.asp?article_id=397682"),
    "AJMC-NG": Source("T. Broome, 'Through the eyes of one ACO: deciding on Next Generation "
                      "ACO', AJMC contributor blog (2016)",
                      "https://www.ajmc.com/contributor/travis-broome/2016/05/"
                      "through-the-eyes-of-one-aco-deciding-on-next-generation-aco"),
    "RFA": Source("CMS Innovation Center, Next Generation ACO Model request for "
                  "applications (2015), as quoted by SHEP and AJMC-NG",
                  "https://innovation.cms.gov/ (archived model page)"),
    "MCM": Source("Managed Care magazine, 'The ACO Contract: Four Parts of the Basic "
                  "Chassis' (June 2013)",
                  "https://www.managedcaremag.com/archives/2013/6/"
                  "aco-contract-four-parts-basic-chassis"),
    "AXENE": Source("Axene Health Partners, 'Minimum Savings Rates in Shared Savings "
                    "Arrangements'",
                    "https://axenehp.com/minimum-savings-rates-in-shared-savings-arrangements/"),
    "AQC": Source("Blue Cross Blue Shield of Massachusetts Alternative Quality Contract: "
                  "PCPCC; Song et al., Health Affairs 2012",
                  "https://pmc.ncbi.nlm.nih.gov/articles/PMC3548447"),
    "DELIA": Source("D. DeLia, D. Hoover, J. C. Cantor, 'Statistical uncertainty in the "
                    "Medicare Shared Savings Program', Medicare & Medicaid Research Review "
                    "2012; 2(4)", "PMID 24800155"),
    "LANCET21": Source("Wallis et al., 'Trends in Medicare spending across strata of "
                       "resource use', EClinicalMedicine 2021 (article 100873)",
                       "https://www.thelancet.com/journals/eclinm/article/"
                       "PIIS2589-5370(21)00153-X/fulltext"),
    "CBO05": Source("Congressional Budget Office, High-Cost Medicare Beneficiaries (May "
                    "2005), 2001 data in 2005 dollars",
                    "https://books.google.com/books?id=PFEzAAAAIAAJ&pg=PA21"),
    "MEPS03": Source("A. C. Monheit, 'Persistence in health expenditures in the short run', "
                     "Medical Care 2003", "https://pubmed.ncbi.nlm.nih.gov/12865727/"),
    "NIHCM": Source("NIHCM Foundation, 'The Concentration of Health Care Spending' (2012)",
                    "https://www.nihcm.org/component/content/article/5-issue-brief/"
                    "1299-the-concentration-of-health-care-spending-data-brief"),
    "REACH-RFA": Source("CMS Innovation Center, ACO Realizing Equity, Access, and Community "
                        "Health (REACH) Model, Request for Applications (24 Feb 2022), "
                        "Table 6.16: discount and quality withhold by performance year",
                        "https://www.cms.gov/priorities/innovation/innovation-models/"
                        "aco-reach"),
    "REACH-PUF": Source("CMS, ACO REACH / GPDC Financial and Quality Results, PY2021-2023 "
                        "(284 ACO-years)", "bundled: simsav/data/aco_reach (README there); "
                        "simsav replicate-reach recomputes every row"),
    "REACH-QR25": Source("CMS, ACO REACH Model Performance Year 2025 Model Update - Quick "
                         "Reference", "https://cms.gov/aco-reach-model-performance-year-2025-"
                         "model-update-quick-reference"),
    "REACH-QR26": Source("CMS, ACO REACH Model Performance Year 2026 Model Update - Quick "
                         "Reference", "https://www.cms.gov/aco-reach-model-performance-year-"
                         "2026-model-update-quick-reference"),
    "PEARL": Source("Pearl Health, 'ACO REACH: Exploring the Performance Year Discount in "
                    "Global and Professional Tracks' (the corridor table)",
                    "https://pearlhealth.com/blog/healthcare-insights/"
                    "aco-reach-performance-year-discount/"),
    "MH2025": Source("Modern Healthcare on the PY2025 ACO REACH update: the Global discount "
                     "'from 3.5% to 4%'", "https://www.modernhealthcare.com/policy/"
                     "aco-reach-model-revisions-medicare-spending-cms"),
    "MILL-REACH": Source("Milliman, 'ACO REACH PY2025 changes' (Sept 2024) and 'ACO REACH "
                         "PY2026: what is changing' (2025)",
                         "https://us.milliman.com/en/insight/aco-reach-py2026-what-is-changing"),
    "NAACOS": Source("NAACOS summaries of ACO REACH and LEAD methodology", "https://www.naacos.com/"),
    "LEAD-CMS": Source("CMS Innovation Center, Long-term Enhanced ACO Design (LEAD) Model page",
                       "https://www.cms.gov/priorities/innovation/innovation-models/lead"),
    "LEAD-SUM": Source("Summaries of the LEAD Request for Applications (31 Mar 2026): Benesch "
                       "(14 Apr 2026), MedInsight/Milliman webinar recap (Jun 2026), "
                       "McDermott+ (Apr 2026)",
                       "https://www.beneschlaw.com/insight/cms-bets-on-the-long-game-with-"
                       "10-year-lead-aco-model/"),
    "WAKELY": Source("Wakely Consulting Group, analysis of the LEAD model (the 3% quality "
                     "withhold)", "https://www.wakely.com/"),
    "PFS2027-P": Source("CY2027 Physician Fee Schedule proposed rule (CMS-1848-P, July 2026), "
                        "MSSP proposals as summarized in the CMS fact sheet and trade press: "
                        "PROPOSED, not law", "https://www.cms.gov/newsroom/fact-sheets"),
    "EAC": Source("'Payment Calculation and Distribution', background paper with six "
                  "recommendations on shared-savings payment (recommendations 1-6: quality "
                  "thresholds, quality incentives paid regardless of savings, goals from "
                  "the ACO's own prior performance, no or deferred MSR, reinvestment of "
                  "forfeited savings, distribution by quality and attributed lives)",
                  "the document itself; its recommendations are quoted in "
                  "scenarios/eac-recommendations.toml"),
}

_REGULATION = re.compile(r"(\d+\s+(CFR|FR|USC)\s+)?\b\d{3,4}\.\d+[\w().-]*|\d+\s+FR\s+\d+")
_QUOTED = re.compile(r"'[^']*'")
_ID = re.compile(r"\b[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)*\b")
_TAG = re.compile(r"\[([^\]]+)\]")


def cited_ids(text: str) -> list[str]:
    """The source ids a text cites in its bracketed tags, in order, without repeats.

    Regulation citations (``42 CFR 425.604(b)``, ``425.605(d)``) and quoted words are not
    ids; subsections after an id (``CFR604(b)``) are dropped.

    Examples
    --------
    >>> cited_ids("sharing 50% [V 42 CFR 425.604(d); D HDM]; cap 15% [S SHEP, AJMC-NG; "
    ...           "cap U] and [S MCM: 'a 50-50 split is most common']")
    ['HDM', 'SHEP', 'AJMC-NG', 'MCM']
    """
    out: list[str] = []
    for tag in _TAG.findall(text):
        body = _QUOTED.sub(" ", _REGULATION.sub(" ", tag))
        for tok in _ID.findall(body):
            if tok not in out:
                out.append(tok)
    return out


def describe(source_id: str) -> str:
    """``"ID: citation. where"`` for one id, or the reliability letter's meaning.

    Examples
    --------
    >>> describe("U")
    'U: unverified: no source found; an assumption the user should review'
    """
    if source_id in RELIABILITY:
        return f"{source_id}: {RELIABILITY[source_id]}"
    s = SOURCES[source_id]
    return f"{source_id}: {s.citation}. {s.where}"
