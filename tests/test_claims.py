"""The user's own claims (issue 15): reading, fitting every model, scenarios on the file."""

import json
import math
import textwrap
import tomllib

import numpy as np
import pytest
from scipy import stats

import simsav as ss
from simsav.analysis.claims import TOPS, _ks, fit_claims, observed_shares
from simsav.cli import main
from simsav.io.claims import ClaimsError, read_claims
from simsav.io.desynpuf import desynpuf_spending
from simsav.spending import Gamma, HurdleLognormal, Lognormal, LognormalPareto, medicare_ffs
from simsav.spending.lognormal_mixture import MEDICARE_FFS_MIXTURE, LognormalMixture
from simsav.spending.mle import Sample, fit_model
from simsav.spending.registry import MODEL_NAMES

COMMERCIAL = "scenarios/claims/commercial-claims-7500.csv"


def _write(tmp_path, text, name="claims.csv"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip())
    return p


# ----------------------------------------------------------------------- reading


@pytest.mark.parametrize("text,kw,msg", [
    ("id,paid\n1,100\n2,abc\n", {}, "line 3, column 2 (paid): 'abc' is not a number"),
    ("id,paid\n1,100\n2,-5\n", {}, "line 3, column 2 (paid): -5 is negative"),
    ("id,paid\n1,100\n2,\n", {}, "line 3, column 2 (paid): empty"),
    ("id,paid\n1,100\n2,nan\n", {}, "line 3, column 2 (paid): 'nan' is not a finite"),
    ("id,amount\n1,100\n", {}, "line 1: no amount column 'paid'; the header has 'id', "
                              "'amount'"),
    ("id,paid,mm\n1,100,12\n2,50,0\n", {"exposure": "mm"},
     "line 3, column 3 (mm): 0 member months; must be in (0, 12]"),
    ("id,paid,mm\n1,100,13\n", {"exposure": "mm"}, "line 2, column 3 (mm): 13 member months"),
    ("id,paid\n1,100\n2,50,7\n", {}, "line 3: 3 fields; the header has 2"),
    ("id,paid\n", {}, "no data rows"),
    ("", {}, "empty file"),
    ("paid\n0\n0\n", {}, "every amount is 0"),
])
def test_bad_claims_files_name_line_and_column(tmp_path, text, kw, msg):
    p = _write(tmp_path, text)
    with pytest.raises(ClaimsError) as e:
        read_claims(p, **kw)
    assert msg in str(e.value) and str(p) in str(e.value)


def test_unreadable_claims_files(tmp_path):
    with pytest.raises(ClaimsError, match="no such file"):
        read_claims(tmp_path / "none.csv")
    p = tmp_path / "latin1.csv"
    p.write_bytes("paid\n1\n2\xe9\n".encode("latin-1"))
    with pytest.raises(ClaimsError, match=r"line 3: not UTF-8"):
        read_claims(p)


def test_partial_year_members_by_exposure(tmp_path):
    p = _write(tmp_path, """
        member,paid,member_months
        a,1200,12
        b,300,6
        c,0,12
        d,2400,3
        """)
    c = read_claims(p, exposure="member_months")
    np.testing.assert_allclose(c.amounts, [1200, 600, 0, 9600])
    np.testing.assert_allclose(c.weights, [1, 0.5, 1, 0.25])
    assert c.mean() == pytest.approx((1200 + 300 + 2400) / 2.75)  # total paid / member-years
    # resampling weighs each member by its months
    assert sorted(c.support().tolist()).count(9600.0) == 3


def test_cli_fit_bad_file_exit_2(tmp_path, capsys):
    p = _write(tmp_path, "id,paid\n1,100\n2,12x\n")
    assert main(["fit", str(p)]) == 2
    err = capsys.readouterr().err
    assert "line 3, column 2 (paid): '12x' is not a number" in err and "Traceback" not in err
    assert main(["fit", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


# ----------------------------------------------------------------------- fitting


def _draw(model, n, seed):
    return np.asarray(model.isf(np.random.default_rng(seed).random(n)), dtype=np.float64)


RECOVERY = {
    "gamma": Gamma.from_mean_cv(8_000.0, 1.8),
    "lognormal": Lognormal.from_mean_cv(8_000.0, 2.0),
    "hurdle-lognormal": HurdleLognormal.from_mean_cv(8_000.0, 2.2, zero_share=0.1),
    "lognormal-pareto": LognormalPareto.from_mean(8_000.0, sigma=1.9, tail_quantile=0.9444,
                                                  tail_alpha=2.71, zero_share=0.05),
    "medicare-ffs": medicare_ffs(11_000.0),
    "lognormal-mixture": LognormalMixture.from_mean(11_000.0, **MEDICARE_FFS_MIXTURE),
}


@pytest.mark.parametrize("name", list(RECOVERY))
def test_fit_recovers_each_model_from_its_own_draws(name):
    """100,000 draws of the model (inverse transform of uniforms); each parameter within 3
    of its standard errors, and the errors near their asymptotic size."""
    model = RECOVERY[name]
    x = _draw(model, 100_000, seed=2026)
    f = fit_model(name, Sample(x, np.ones(x.size)))
    assert f.params, f.note
    for k, v in f.params.items():
        true = model.mean() if k == "mean" else getattr(model, k)
        assert abs(v - true) < 3 * f.se[k], (k, v, true, f.se[k])
        assert 0 < f.se[k] < 0.05 * max(abs(true), 0.1)
    if f.method == "maximum likelihood":
        assert math.isfinite(f.loglik) and f.n_params >= 2


def test_fit_is_truncation_aware():
    """Lognormal data capped at their 97th percentile: the censored likelihood recovers the
    parameters; treating the capped amounts as exact would bias sigma down by ~10 SE."""
    model = Lognormal.from_mean_cv(8_000.0, 2.0)
    cap = model.quantile(0.97)
    x = np.minimum(_draw(model, 100_000, seed=5), cap)
    f = fit_model("lognormal", Sample(x, np.ones(x.size), cap=cap))
    for k in ("mu", "sigma"):
        assert abs(f.params[k] - getattr(model, k)) < 3 * f.se[k]
    naive = fit_model("lognormal", Sample(x, np.ones(x.size)))
    assert (model.sigma - naive.params["sigma"]) > 10 * naive.se["sigma"]


def test_shares_of_desynpuf_match_a_direct_computation(tmp_path):
    """The bundled DE-SynPUF sample (2008, full-year FFS): the top q holds the sum of the
    largest q n amounts (a fraction of the next one when q n is not whole)."""
    x = desynpuf_spending(2008)
    p = tmp_path / "synpuf.csv"
    p.write_text("paid\n" + "\n".join(repr(float(v)) for v in x))
    fit = fit_claims(p)
    desc = np.sort(x)[::-1]
    n = desc.size
    direct = []
    for q in TOPS:
        k = q * n
        j = int(np.floor(k))
        direct.append((desc[:j].sum() + (k - j) * desc[j]) / desc.sum())
    t = fit.table()
    got = [t.loc["observed", f"top_{q:.0%}"] for q in TOPS]
    np.testing.assert_allclose(got, direct, rtol=1e-12)
    np.testing.assert_allclose(got, ss.SpendingSpec(model="empirical", mean=1.0).to_model()
                               .concentration(list(TOPS)), rtol=1e-12)
    assert t.loc["observed", "cv"] == pytest.approx(x.std() / x.mean(), rel=1e-12)
    assert set(fit.fits) == set(MODEL_NAMES)  # every registered model is fitted
    assert t.loc["empirical", "top_5%"] == t.loc["observed", "top_5%"]


def test_ks_matches_scipy():
    model = Lognormal.from_mean_cv(5_000.0, 1.5)
    x = _draw(model, 4_000, seed=9)
    f = fit_model("lognormal", Sample(x, np.ones(x.size)))
    ref = stats.kstest(x, stats.lognorm(f.model.sigma, scale=math.exp(f.model.mu)).cdf)
    assert _ks(Sample(x, np.ones(x.size)), f.model) == pytest.approx(ref.statistic, abs=1e-12)


def test_weighted_shares():
    # a member-year of 10 and two half member-years of 0: the top half holds all
    assert observed_shares(np.array([10.0, 0.0, 0.0]), np.array([1.0, 0.5, 0.5]),
                           [0.5]).tolist() == [1.0]


# ---------------------------------------------------- the [spending] table and scenarios


def test_commercial_file_fit_and_spending_table(tmp_path):
    fit = fit_claims(COMMERCIAL, exposure="member_months")
    t = fit.table()
    assert fit.best in ("hurdle-lognormal", "lognormal-pareto", "lognormal-mixture")
    assert t.loc["observed", "mean"] == pytest.approx(read_claims(
        COMMERCIAL, exposure="member_months").mean())
    # the best fit's table rebuilds its model
    table = tomllib.loads(fit.spending_toml())["spending"]
    model = ss.SpendingSpec.model_validate(table).to_model()
    assert model.mean() == pytest.approx(fit.fits[fit.best].model.mean(), rel=1e-5)
    # the empirical one names the file relative to the scenario that will hold it
    text = fit.spending_toml("empirical", relative_to=tmp_path)
    scn_text = textwrap.dedent("""
        name = "claims"
        [population]
        beneficiaries = 500
        [[designs]]
        name = "D"
        msr = 0.02
        """) + text
    (tmp_path / "s.toml").write_text(scn_text)
    scn = ss.load_scenario(tmp_path / "s.toml")
    m = scn.spending.to_model()
    assert m.mean() == pytest.approx(t.loc["observed", "mean"], rel=1e-5)
    assert (100 * m.concentration([0.01, 0.05])).round(6).tolist() == \
        (100 * np.array([t.loc["observed", "top_1%"], t.loc["observed", "top_5%"]])).round(
            6).tolist()
    with pytest.raises(ValueError, match="no \\[spending\\] table|was not fitted"):
        fit.spending_toml("nope")


def test_scenario_sample_path_is_relative_to_the_scenario(tmp_path, monkeypatch):
    d = tmp_path / "study"
    d.mkdir()
    _write(d, "paid,mm\n0,12\n1000,12\n5000,6\n20000,12\n300,12\n", "claims.csv")
    (d / "s.toml").write_text(textwrap.dedent("""
        name = "own-claims"
        sims = 50
        [population]
        beneficiaries = 200
        [spending]
        model = "empirical"
        mean = 5000.0
        sample = "claims.csv"
        sample_exposure = "mm"
        [[designs]]
        name = "D"
        msr = 0.02
        """))
    monkeypatch.chdir(tmp_path)
    scn = ss.load_scenario("study/s.toml")
    assert scn.spending.sample == str(d / "claims.csv")
    m = scn.spending.to_model()
    # support: 0, 1000, 20000, 300 for 12 months each, 10000 (annualized) for 6
    assert m.values.size == 4 * 12 + 6 and m.mean() == pytest.approx(5000.0)
    ds = ss.simulate(scn)
    assert ds.sizes["sim"] == 50
    # a bad file in a scenario: the problem names the key, the file, line and column
    _write(d, "paid,mm\n0,12\nx,12\n", "claims.csv")
    bad = d / "bad.toml"
    bad.write_text((d / "s.toml").read_text().replace("own-claims", "bad"))
    problems = ss.scenario.validate_scenario_file(bad)
    assert problems and "line 3, column 1 (paid)" in problems[0][1]
    assert problems[0][0].startswith("spending")


def test_cli_fit_json_and_files(tmp_path, capsys):
    out = tmp_path
    argv = ["fit", COMMERCIAL, "--exposure", "member_months", "--write",
            str(out / "spending.toml"), "--lorenz", str(out / "lorenz.png"), "--qq",
            str(out / "qq.png"), "--json"]
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["models"]) == {"observed", *MODEL_NAMES}
    assert res["chosen"] == res["best"]
    assert tomllib.loads((out / "spending.toml").read_text())["spending"]["model"] == \
        res["best"]
    assert (out / "lorenz.png").stat().st_size > 0 and (out / "qq.png").stat().st_size > 0
    # simsav does not create directories: said before any work is done
    assert main(["fit", COMMERCIAL, "--write", str(tmp_path / "no" / "s.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
