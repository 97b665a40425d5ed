"""Build ``commercial-claims-7500.csv``: a synthetic commercial population's claims.

The file is synthetic. Its amounts come from public data: the AHRQ Medical Expenditure
Panel Survey, Household Component full-year consolidated file for 2015 (HC-181), as
extracted in the project's shared data (``meps/meps_fyc_2012_2015_slim.csv``; see its
README for provenance). People with any private insurance in 2015, under 65 and never
on Medicare are kept; 7,500 members are drawn from them with replacement, with
probability proportional to the survey weight (PERWT15F), so the file represents the
privately insured population under 65, not the survey's sample. A member's ``paid`` is
what all payers but the person paid in 2015 (TOTEXP15 - TOTSLF15), in 2015 dollars.

Member months are synthetic: 88% of members are enrolled all year, the others for 1 to
11 months (uniform), and a partial-year member's paid amount is the annual amount times
months / 12 (rounded to the cent), as if spending accrued evenly. Nothing in MEPS is
used for the months.

Run: ``python scenarios/claims/make_commercial_claims.py /path/to/shared/data/meps``
(seed 2026; the output is deterministic).
"""

import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd

N_MEMBERS = 7_500
FULL_YEAR = 0.88
SEED = 2026


def main(meps_dir: str) -> None:
    """Write the file from the MEPS extract in ``meps_dir``."""
    d = pd.read_csv(Path(meps_dir) / "meps_fyc_2012_2015_slim.csv")
    keep = ((d.year == 2015) & (d.inscov == 1) & (d.age >= 0) & (d.age < 65)
            & (d.mcare_ever == 2) & (d.perwt > 0))
    pop = d[keep]
    paid = (pop.totexp - pop.totslf).clip(lower=0).to_numpy()
    w = pop.perwt.to_numpy()
    rng = np.random.default_rng(SEED)
    pick = rng.choice(paid.size, size=N_MEMBERS, replace=True, p=w / w.sum())
    annual = paid[pick]
    months = np.where(rng.random(N_MEMBERS) < FULL_YEAR, 12, rng.integers(1, 12, N_MEMBERS))
    amount = np.round(annual * months / 12.0, 2)
    out = Path(__file__).with_name("commercial-claims-7500.csv")
    with out.open("w", newline="") as fh:
        wr = csv.writer(fh, lineterminator="\n")
        wr.writerow(["member_id", "member_months", "paid"])
        for i, (m, a) in enumerate(zip(months, amount, strict=True)):
            wr.writerow([f"M{i + 1:05d}", int(m), f"{a:.2f}"])
    print(f"wrote {out}: {N_MEMBERS} members from {paid.size} MEPS 2015 people")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/meps")
