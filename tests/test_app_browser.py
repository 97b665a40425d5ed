"""The app in a real browser: Debian's Chromium, headless, driven by Playwright.

One app server (``simsav app``) for the module. The numbers on the page are compared with
:func:`simsav.simulate` run here, on a scenario written here, for the same seed; the
settlement page with the worked example of ``contract-rules.md`` (W1).
"""

import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("panel")
sync_api = pytest.importorskip("playwright.sync_api")

import simsav as ss  # noqa: E402
from simsav.app.server import free_port  # noqa: E402
from simsav.settlement.rules import settle_steps  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine "
                                "(CI installs Debian's: apt-get install chromium)")

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]
WAIT = 90_000  # ms: a run on a busy 2-core machine


@pytest.fixture(scope="module")
def app_url():
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "simsav.cli", "app", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = ""
    while "serving" not in line:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            pytest.fail(f"simsav app exited with {proc.returncode}")
        if time.perf_counter() - t0 > 120:
            proc.kill()
            pytest.fail("simsav app did not start in 120 s")
    assert f"http://127.0.0.1:{port}/compare" in line
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


class Page:
    """A browser tab on the app, refusing every request that leaves this machine."""

    def __init__(self, browser, url: str, route: str = "compare"):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1800},
                                           accept_downloads=True)
        self.outside: list[str] = []
        self.context.route("**/*", self._local_only)
        self.page = self.context.new_page()
        self.page.goto(f"{url}/{route}")
        self.page.wait_for_selector(".bk-input", timeout=WAIT)

    def _local_only(self, route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "blob:", "data:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def set(self, key_class: str, text: str, *, nth: int = 0) -> None:
        box = self.page.locator(f".{key_class} input, .{key_class} textarea").nth(nth)
        box.fill(text)
        box.press("Tab")  # the value is sent on change (blur)

    def choose(self, key_class: str, value: str, *, nth: int = 0) -> None:
        self.page.locator(f".{key_class} select").nth(nth).select_option(value)

    def run(self) -> None:
        self.page.locator(".run button").click()

    def wait_done(self) -> None:
        self.page.locator(".run-status .done").wait_for(timeout=WAIT)
        self.page.locator(".headline td.fig").first.wait_for(timeout=WAIT)

    def figures(self) -> dict[tuple[str, str, str], float]:
        """Every figure in the tables: (design, year, metric) -> exact value."""
        cells = self.page.locator("td.fig")
        out = {}
        for i in range(cells.count()):
            c = cells.nth(i)
            key = (c.get_attribute("data-design"), c.get_attribute("data-year"),
                   c.get_attribute("data-metric"))
            out[key] = float(c.get_attribute("data-value"))
        return out

    def message(self, key_class: str) -> str:
        loc = self.page.locator(f".err-{key_class} .msg")
        loc.first.wait_for(timeout=WAIT)
        return loc.first.inner_text()

    def close(self) -> None:
        self.context.close()


def _scenario(n: int, sims: int, seed: int) -> dict:
    """The scenario the tests type into the form, written independently of the app."""
    return {"name": "my-aco", "seed": seed, "sims": sims,
            "population": {"beneficiaries": n},
            "spending": {"model": "medicare-ffs", "mean": 11000, "truncate_at": 150000},
            "aco": {"true_savings": 0.0, "benchmark_error_sd": 0.0},
            "quality": {"score": 0.9},
            "designs": [{"name": "Track 1", "preset": "mssp-track1-2012"},
                        {"name": "BASIC E", "preset": "mssp-basic-e"},
                        {"name": "ENHANCED", "preset": "mssp-enhanced"}]}


def _expected(data: dict) -> dict[tuple[str, str, str], float]:
    frame = ss.summarize(ss.simulate(ss.parse_scenario(data)), frame=True)
    return {(r.design, r.year, r.metric): float(r.value) for r in frame.itertuples()}


def _fill(p: Page, n: int, sims: int, seed: int) -> None:
    p.set("f-population-beneficiaries", str(n))
    p.set("f-sims", str(sims))
    p.set("f-seed", str(seed))


def test_a_run_shows_what_simulate_gives(app_url, browser) -> None:
    p = Page(browser, app_url)
    _fill(p, 1000, 200, 7)
    p.run()
    p.wait_done()
    shown = p.figures()
    expected = _expected(_scenario(1000, 200, 7))
    assert len(shown) > 50
    for key, value in shown.items():
        assert value == expected[key], key
    cell = p.page.locator('td.fig[data-design="BASIC E"][data-metric="p_clear_msr"]').first
    assert cell.locator(".v").inner_text() == f"{expected[('BASIC E', '1', 'p_clear_msr')]:.1%}"
    assert p.page.locator(".payout-plot img").count() == 1
    assert p.outside == [], "the page asked for something outside this machine"
    p.close()


def test_an_invalid_value_shows_the_schema_message_and_keeps_the_inputs(app_url,
                                                                        browser) -> None:
    p = Page(browser, app_url)
    p.set("f-population-beneficiaries", "0.5")
    with pytest.raises(ss.ScenarioError) as err:
        ss.parse_scenario({**_scenario(1000, 200, 7), "population": {"beneficiaries": 0.5}})
    (key, message), = err.value.problems
    assert key == "population.beneficiaries"
    assert p.message("population-beneficiaries") == message
    assert p.page.locator(".run button").is_disabled()
    assert p.page.locator(".f-population-beneficiaries input").input_value() == "0.5"
    # a design's term, and a spending term the model requires
    p.set("d-terms", "msr = 2")
    assert "msr: must be 'none', 'cms', a number in [0, 1]" in p.message("design")
    p.choose("f-spending-model", "gamma")
    assert p.message("spending-cv") == "required by model 'gamma'"
    # fixing them brings Run back; nothing else was touched
    p.set("f-population-beneficiaries", "1000")
    p.set("d-terms", "")
    p.choose("f-spending-model", "medicare-ffs")
    p.page.wait_for_function(
        "() => !document.querySelector('.run button')?.disabled", timeout=WAIT)
    assert "Traceback" not in p.page.content()
    p.close()


def test_two_users_at_once_get_their_own_results(app_url, browser) -> None:
    a, b = Page(browser, app_url), Page(browser, app_url)
    _fill(a, 1000, 200, 11)
    _fill(b, 2000, 300, 12)
    a.run()
    b.run()
    a.wait_done()
    b.wait_done()
    shown_a, shown_b = a.figures(), b.figures()
    exp_a, exp_b = _expected(_scenario(1000, 200, 11)), _expected(_scenario(2000, 300, 12))
    assert all(v == exp_a[k] for k, v in shown_a.items())
    assert all(v == exp_b[k] for k, v in shown_b.items())
    assert shown_a != shown_b
    a.close()
    b.close()


def test_saved_scenario_runs_on_the_command_line_with_the_same_numbers(app_url, browser,
                                                                       tmp_path) -> None:
    p = Page(browser, app_url)
    _fill(p, 1000, 200, 5)
    p.set("d-terms", "msr = 0.02", nth=1)
    p.run()
    p.wait_done()
    shown = p.figures()
    with p.page.expect_download() as d:
        p.page.locator(".save-toml button").click()
    saved = tmp_path / "scenario.toml"
    d.value.save_as(saved)
    out = subprocess.run([sys.executable, "-m", "simsav.cli", "run", str(saved), "--quiet",
                          "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(tmp_path / "out" / "summary.csv", dtype={"year": str})
    cli = {(r.design, r.year, r.metric): float(r.value) for r in table.itertuples()}
    assert all(v == cli[k] for k, v in shown.items())
    assert tomllib.loads(saved.read_text())["designs"][1]["msr"] == 0.02
    with p.page.expect_download() as d:
        p.page.locator(".save-nc button").click()
    d.value.save_as(tmp_path / "results.nc")
    ds = ss.open_dataset(tmp_path / "results.nc")
    assert ds.sizes["sim"] == 200 and list(ds["design"].values)[1] == "BASIC E"
    # the report, as simsav report writes it
    p.page.locator(".make-report button").click()
    p.page.get_by_text("The report is ready").wait_for(timeout=WAIT)
    for kind in ("html", "xlsx"):
        with p.page.expect_download() as d:
            p.page.locator(f".save-{kind} button").click()
        d.value.save_as(tmp_path / f"report.{kind}")
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE") and "my-aco" in page
    openpyxl = pytest.importorskip("openpyxl")
    assert "Summary" in openpyxl.load_workbook(tmp_path / "report.xlsx").sheetnames
    p.close()


def test_loading_a_file_fills_the_form_and_keeps_what_it_has_no_field_for(app_url, browser,
                                                                          tmp_path) -> None:
    p = Page(browser, app_url)
    src = ROOT / "scenarios" / "eac-recommendations.toml"
    p.page.locator(".load-scenario input[type=file]").set_input_files(str(src))
    p.page.get_by_text(f"Loaded {src.name}").wait_for(timeout=WAIT)
    data = tomllib.loads(src.read_text())
    assert p.page.locator(".f-name input").input_value() == data["name"]
    names = [p.page.locator(".d-name input").nth(i).input_value()
             for i in range(p.page.locator(".d-name input").count())]
    assert names == [d["name"] for d in data["designs"]]
    with p.page.expect_download() as d:
        p.page.locator(".save-toml button").click()
    d.value.save_as(tmp_path / "again.toml")
    assert ss.load_scenario(tmp_path / "again.toml") == ss.parse_scenario(data)
    bad = tmp_path / "bad.toml"
    bad.write_text(src.read_text().replace("beneficiaries = ", "beneficiaries = -"))
    p.page.locator(".load-scenario input[type=file]").set_input_files(str(bad))
    p.page.get_by_text("it has problems, shown beside their fields").wait_for(timeout=WAIT)
    assert p.page.locator(".f-population-beneficiaries input").input_value().startswith("-")
    assert p.message("population-beneficiaries")
    p.close()


@pytest.mark.slow
def test_cancel_stops_a_long_run_and_a_new_run_works(app_url, browser) -> None:
    p = Page(browser, app_url)
    _fill(p, 5000, 1_000_000, 1)
    p.run()
    p.page.locator(".run-progress progress").wait_for(timeout=WAIT)
    p.page.locator(".cancel button").click()
    p.page.locator(".run-status .cancelled").wait_for(timeout=WAIT)
    assert p.page.locator("td.fig").count() == 0
    _fill(p, 1000, 200, 7)
    p.run()
    p.wait_done()
    shown = p.figures()
    assert all(v == _expected(_scenario(1000, 200, 7))[k] for k, v in shown.items())
    p.close()


def test_settlement_page_shows_every_step_with_its_rule(app_url, browser) -> None:
    p = Page(browser, app_url, "settle")
    # W1 of contract-rules.md: Track 1, 20,000 beneficiaries, $12,000 vs $11,500, quality
    # 0.9: 45% of $10M is $4.5M, less 2% sequestration = $4.41M.
    row = p.page.locator('tr.out[data-field="earned_savings"]')
    row.wait_for(timeout=WAIT)
    assert float(row.get_attribute("data-value")) == 4_410_000.0
    assert row.locator("td.num").inner_text() == "$4,410,000.00"
    steps = settle_steps(ss.get_preset("mssp-track1-2012"), benchmark=12_000,
                         expenditure=11_500, n_beneficiaries=20_000, quality=0.9)
    assert p.page.locator("tr.rule").count() == len(steps)
    for s in steps:  # each step's rule, with its citations, above its outputs
        first = s["rule"].splitlines()[0].split("[", 1)[0].strip()
        assert first in p.page.locator(f'tr.rule[data-step="{s["step"]}"]').inner_text()
    p.set("f-expenditure", "11750")  # inside the corridor (MSR 2.5%): nothing earned
    p.page.locator('tr.out[data-field="outcome"] td.num', has_text="corridor").wait_for(
        timeout=WAIT)
    p.set("f-benchmark", "-1")
    assert p.message("benchmark") == "must be > 0.0, got -1.0"
    p.close()


@pytest.mark.slow
def test_msr_page_draws_the_curve_msr_curve_gives(app_url, browser) -> None:
    p = Page(browser, app_url, "msr")
    p.set("f-sizes", "1000, 5000")
    p.set("f-sims", "2000")
    p.page.locator(".run-msr button").click()
    p.page.locator(".msr-table table").wait_for(timeout=WAIT)
    ds = ss.msr_curve([1000, 5000], alpha=0.05, spending={"model": "medicare-ffs",
                                                           "mean": 11000}, n_sims=2000, seed=0)
    text = p.page.locator(".msr-table table").inner_text()
    for v in ds["msr"].values:
        assert f"{v:.2%}" in text
    for v in ds["cms_table"].values:
        assert f"{v:.2%}" in text
    assert p.page.locator(".msr-plot img").count() == 1
    p.set("f-alpha", "0.7")
    assert re.match(r"must be a number in \(0, 0.5\)", p.message("alpha"))
    p.close()


def test_an_uploaded_claims_file_is_fitted_and_its_fit_runs(app_url, browser) -> None:
    claims = ROOT / "scenarios" / "claims" / "commercial-claims-7500.csv"
    p = Page(browser, app_url)
    _fill(p, 1000, 200, 3)
    p.page.locator(".claims-card .card-button, .claims-card .card-header").first.click()
    p.set("c-exposure", "member_months")
    p.page.locator(".load-claims input[type=file]").set_input_files(str(claims))
    p.page.locator(".claims-fits table").wait_for(timeout=WAIT)
    fit = ss.fit_claims(claims, exposure="member_months")
    text = p.page.locator(".claims-fits table").inner_text()
    assert f"{fit.best} (best AIC)" in text
    assert f"{fit.table().loc[fit.best, 'aic']:,.1f}" in text
    p.choose("c-model", "hurdle-lognormal")
    p.page.locator(".c-use button").click()
    sync_api.expect(p.page.locator(".f-spending-model select")).to_have_value(
        "hurdle-lognormal", timeout=WAIT)
    sync_api.expect(p.page.locator(".run button")).to_be_enabled(timeout=WAIT)
    p.run()
    p.wait_done()
    data = _scenario(1000, 200, 3)
    data["spending"] = {**fit.fits["hurdle-lognormal"].spending, "truncate_at": 150000}
    expected = _expected(data)
    shown = p.figures()
    assert len(shown) > 50 and all(v == expected[k] for k, v in shown.items())
    p.close()
