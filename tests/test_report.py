"""Reports (workbook and HTML), `simsav report`, `simsav plot` and `simsav init`.

The workbook is read back with openpyxl (values, number formats, images) and the HTML is
parsed with the standard library; the figures are checked against the Dataset itself.
"""

import base64
import filecmp
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import openpyxl  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from simsav.cli import main  # noqa: E402
from simsav.plotting import report_figures  # noqa: E402
from simsav.results import save_dataset, summarize  # noqa: E402
from simsav.results.report import HEADLINE, build_report, write_report  # noqa: E402
from simsav.results.tidy import COLUMNS, figure, summary_long  # noqa: E402
from simsav.scenario import parse_scenario  # noqa: E402
from simsav.simulation import simulate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

SCN = parse_scenario({
    "name": "report-test", "description": "two designs over two years", "seed": 8,
    "sims": 300, "population": {"beneficiaries": 6_000},
    "spending": {"model": "gamma", "mean": 10_000, "cv": 2.0},
    "aco": {"benchmark_error_sd": 0.01},
    "agreement": {"years": 2},
    "designs": [{"name": "Basic E", "preset": "mssp-basic-e"},
                {"name": "Track 1", "preset": "mssp-track1-2012", "msr": 0.01}],
})


@pytest.fixture(scope="module")
def ds():
    return simulate(SCN)


@pytest.fixture(scope="module")
def written(ds, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return write_report(ds, out, figures=report_figures(ds, dpi=50), source="test")


# --- the tidy adapter --------------------------------------------------------------------

def test_tidy_table_has_every_figure_with_its_se(ds):
    t = summary_long(summarize(ds))
    assert list(t.columns) == COLUMNS
    assert set(t["year"]) == {1, 2, "agreement"}
    row = t[(t.metric == "p_clear_msr") & (t.design == "Basic E") & (t.year == 2)].iloc[0]
    p = float((ds["outcome"].sel(design="Basic E", year=2) == 1).mean())
    assert row["value"] == pytest.approx(p, abs=1e-12)
    assert row["se"] == pytest.approx(np.sqrt(p * (1 - p) / 300), rel=0.05)
    assert row["low"] <= p <= row["high"]
    q = t[(t.metric == "aco_net_q95") & (t.design == "Track 1") & (t.year == 1)].iloc[0]
    net = np.sort(ds["aco_net"].sel(design="Track 1", year=1).values)
    assert net[int(0.95 * 300) - 2] <= q["value"] <= net[int(0.95 * 300) + 1]


def test_tidy_table_passes_a_long_table_through_with_int_years():
    long = pd.DataFrame({"design": ["A", "A"], "year": ["1", "agreement"],
                         "metric": ["p_clear_msr", "agreement_p_ahead"], "value": [0.2, 0.3],
                         "se": [0.01, 0.02], "low": [0.18, 0.26], "high": [0.22, 0.34],
                         "units": ["1", "1"], "description": ["", ""]})
    t = summary_long(long)
    assert list(t["year"]) == [1, "agreement"] and list(t["value"]) == [0.2, 0.3]


# --- the workbook --------------------------------------------------------------------------

def test_workbook_inputs_carry_the_provenance(ds, written):
    wb = openpyxl.load_workbook(written["xlsx"])
    assert wb.sheetnames == ["Inputs", "Summary", "Per year", "Agreement", "Charts"]
    inputs = {r[0]: r[1] for r in wb["Inputs"].iter_rows(values_only=True) if r[0]}
    assert inputs["Seed"] == 8 and inputs["Sims"] == 300
    assert inputs["Scenario SHA-256"] == SCN.digest() == ds.attrs["scenario_sha256"]
    assert inputs["simsav version of the run"] == ds.attrs["simsav_version"]
    assert inputs["Basic E"] == "mssp-basic-e"  # the designs table
    assert "RF2026" in inputs  # a source the BASIC preset cites, with its citation
    toml_lines = [r[0] for r in wb["Inputs"].iter_rows(values_only=True)]
    assert 'name = "report-test"' in toml_lines


def test_workbook_summary_has_number_formats_units_and_se(ds, written):
    ws = openpyxl.load_workbook(written["xlsx"])["Summary"]
    head = [c.value for c in ws[1]]
    units = [c.value for c in ws[2]]
    col = head.index("P(clear MSR)")
    assert head[col + 1] == "± SE" and units[col] == "probability / rate"
    money = head.index("E[ACO net]")
    assert units[money] == "USD per year"
    rows = {(r[0].value, r[1].value): r for r in ws.iter_rows(min_row=3)}
    assert set(rows) == {(d, y) for d in ("Basic E", "Track 1") for y in (1, 2)}
    r = rows[("Track 1", 2)]
    d = ds.sel(design="Track 1", year=2)
    assert r[col].value == pytest.approx(float((d["outcome"] == 1).mean()), abs=1e-12)
    assert r[col].number_format == "0.00%" and r[col + 1].number_format == "0.00%"
    assert r[col + 1].value > 0
    assert r[money].value == pytest.approx(float(d["aco_net"].mean()), rel=1e-9)
    assert r[money].number_format.startswith('"$"#,##0')
    se = float(d["aco_net"].std(ddof=1)) / np.sqrt(300)
    assert r[money + 1].value == pytest.approx(se, rel=1e-6)
    have = set(summary_long(summarize(ds))["metric"])
    assert len(head) == 2 + 2 * len([h for h in HEADLINE if h[0] in have]) >= 2 + 2 * 9


def test_workbook_long_sheets_and_charts(ds, written):
    wb = openpyxl.load_workbook(written["xlsx"])
    per_year = list(wb["Per year"].iter_rows(values_only=True))
    assert per_year[0][:3] == ("Design", "Year", "Metric")
    assert {r[1] for r in per_year[1:]} == {1, 2}
    fmt = {r[0].value: r[5].number_format for r in wb["Per year"].iter_rows(min_row=2)
           if r[2].value == "expected_earned"}
    assert set(fmt.values()) == {'"$"#,##0;[Red]-"$"#,##0'}
    agreement = list(wb["Agreement"].iter_rows(values_only=True))[1:]
    assert agreement and all(r[1] == "agreement" for r in agreement)
    # payouts, a waterfall per design and (two years) a fan per design
    assert len(wb["Charts"]._images) == 1 + 2 + 2


# --- the HTML page -------------------------------------------------------------------------

class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.external, self.cells, self.tables, self._cell = [], [], [], 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        for key in ("src", "href"):
            if a.get(key) and not a[key].startswith(("data:", "#")):
                self.external.append((tag, a[key]))
        if tag in ("link", "script"):
            self.external.append((tag, a))
        if tag == "table":
            self.tables += 1
        if tag == "td":
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td":
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None


def test_html_is_self_contained_with_every_figure_and_its_se(ds, written):
    text = written["html"].read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert page.external == []
    assert len(page.imgs) == 5
    for src in page.imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    p = float((ds["outcome"].sel(design="Basic E", year=1) == 1).mean())
    t = summary_long(summarize(ds))
    se = float(figure(t, "p_clear_msr", "Basic E", 1)["se"])
    assert se == pytest.approx(np.sqrt(p * (1 - p) / 300), rel=0.05)
    assert f"{p * 100:.2f}%± {se * 100:.2f}%" in page.cells  # headline: value over its SE
    assert f"{p * 100:.2f}% ± {se * 100:.2f}%" in page.cells  # every figure, one line
    assert SCN.digest() in page.cells and "8" in page.cells and "300" in page.cells
    assert any("RF2026" in c for c in page.cells)  # the sources the presets cite
    assert "Headline figures" in text and "Over the agreement" in text


def test_report_of_saved_results_equals_report_of_the_run(ds, tmp_path):
    from simsav.results import open_dataset

    back = open_dataset(save_dataset(ds, tmp_path / "r.nc"))
    a, b = build_report(ds).table, build_report(back).table
    pd.testing.assert_frame_equal(a, b)


# --- the commands ------------------------------------------------------------------------

def test_report_command_from_scenario_and_from_results(tmp_path, capsys):
    out = tmp_path / "rep"
    argv = ["report", "scenarios/rural-aco-5k.toml", "--sims", "150", "--out", str(out), "-q"]
    assert main(argv) == 0
    assert {p.name for p in out.iterdir()} == {"report.xlsx", "report.html", "results.nc",
                                             "manifest.json"}
    again = tmp_path / "again"
    assert main(["report", str(out / "results.nc"), "--out", str(again)]) == 0
    assert {p.name for p in again.iterdir()} == {"report.xlsx", "report.html", "manifest.json"}
    assert "wrote" in capsys.readouterr().out


def test_report_says_clearly_when_openpyxl_is_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl -> ImportError
    argv = ["report", "scenarios/rural-aco-5k.toml", "--sims", "50", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "openpyxl" in err and 'pip install "simsav[excel]"' in err and "--no-xlsx" in err
    assert list(tmp_path.iterdir()) == []  # nothing simulated, nothing written
    assert main([*argv, "--no-xlsx", "-q"]) == 0
    assert (tmp_path / "report.html").exists() and not (tmp_path / "report.xlsx").exists()


@pytest.mark.parametrize("argv,msg", [
    (["report", "nope.toml", "--out", "x"], "file not found"),
    (["report", "scenarios/rural-aco-5k.toml", "--sims", "1", "--out", "x"], "--sims"),
])
def test_report_bad_input(argv, msg, capsys):
    assert main(argv) == 2
    assert msg in capsys.readouterr().err


@pytest.fixture(scope="module")
def saved(ds, tmp_path_factory):
    return save_dataset(ds, tmp_path_factory.mktemp("plot") / "results.nc")


@pytest.mark.parametrize("kind", ["payouts", "waterfall", "fan", "by-size"])
def test_plot_command_writes_each_kind(saved, tmp_path, kind):
    out = tmp_path / f"{kind}.png"
    argv = ["plot", str(saved), "--kind", kind, "--out", str(out), "--design", "Basic E"]
    if kind == "by-size":
        argv = ["plot", str(saved), "--kind", kind, "--out", str(out), "--sizes",
                "1000,5000", "--sims", "60"]
    assert main(argv) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5_000


@pytest.mark.parametrize("extra,msg", [
    (["--design", "nope"], "no design 'nope'"),
    (["--year", "7"], "--year"),
    (["--kind", "waterfall", "--sim", "300"], "--sim"),
    (["--kind", "by-size", "--sizes", "a,b"], "--sizes"),
])
def test_plot_bad_input(saved, tmp_path, capsys, extra, msg):
    assert main(["plot", str(saved), "--out", str(tmp_path / "x.png"), *extra]) == 2
    assert msg in capsys.readouterr().err


def test_plot_rejects_a_file_that_is_not_results(tmp_path, capsys):
    bad = tmp_path / "x.nc"
    bad.write_text("not netcdf")
    assert main(["plot", str(bad)]) == 2
    assert "not a netCDF file" in capsys.readouterr().err


def test_init_lists_copies_and_never_overwrites(tmp_path, capsys):
    assert main(["init"]) == 0
    listing = capsys.readouterr().out
    assert "rural-aco-5k" in listing and "eac-recommendations" in listing
    assert main(["init", "rural-aco-5k", "--dir", str(tmp_path)]) == 0
    copied = tmp_path / "rural-aco-5k.toml"
    assert copied.read_bytes() == (ROOT / "scenarios" / "rural-aco-5k.toml").read_bytes()
    copied.write_text("# mine")
    assert main(["init", "rural-aco-5k", "--dir", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err and copied.read_text() == "# mine"
    assert main(["init", "pioneer", "--dir", str(tmp_path)]) == 0  # a preset's scenario
    assert (tmp_path / "pioneer.toml").exists()
    assert main(["init", "nope", "--dir", str(tmp_path)]) == 2
    assert "no example named 'nope'" in capsys.readouterr().err


def test_installed_examples_are_the_repository_scenarios():
    ours = ROOT / "scenarios"
    shipped = ROOT / "simsav" / "data" / "scenarios"
    for sub in ("", "presets"):
        a, b = ours / sub, shipped / sub
        names = sorted(p.name for p in a.glob("*.toml"))
        assert names == sorted(p.name for p in b.glob("*.toml")), sub
        _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
        assert not mismatch and not errors, (
            f"simsav/data/scenarios/{sub} differs from scenarios/{sub}: {mismatch}; "
            "sync with: cp scenarios/*.toml simsav/data/scenarios/ && "
            "cp scenarios/presets/*.toml simsav/data/scenarios/presets/")


def test_help_of_the_new_commands_shows_an_example(capsys):
    for cmd in ("report", "plot", "init"):
        assert main([cmd, "--help"]) == 0 and "Example:" in capsys.readouterr().out
