"""Plots: they draw what the Dataset holds, with labelled axes, and save as PNG."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from simsav.analysis.compare import sweep_sizes  # noqa: E402
from simsav.analysis.msr_sizing import msr_curve  # noqa: E402
from simsav.plotting import (  # noqa: E402
    plot_fan_chart,
    plot_msr_curve,
    plot_payout_distribution,
    plot_probabilities_by_size,
    plot_waterfall,
    waterfall_steps,
)
from simsav.scenario import parse_scenario  # noqa: E402
from simsav.simulation import simulate  # noqa: E402

SCN = parse_scenario({
    "name": "plots", "seed": 4, "sims": 300, "population": {"beneficiaries": 3_000},
    "spending": {"model": "gamma", "mean": 10_000, "cv": 2.0},
    "quality": {"distribution": "beta", "mean": 0.8, "sd": 0.1},
    "designs": [{"name": "T1", "preset": "mssp-track1-2012"},
                {"name": "E", "preset": "mssp-enhanced", "msr": 0.0},
                {"name": "EAC", "preset": "eac-recommended"}],
})


@pytest.fixture(scope="module")
def ds():
    return simulate(SCN)


def _check(ax, tmp_path, name):
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    p = tmp_path / f"{name}.png"
    ax.figure.savefig(p)
    plt.close(ax.figure)
    assert p.stat().st_size > 5_000


def test_payout_distribution(ds, tmp_path):
    ax = plot_payout_distribution(ds)
    assert len(ax.get_legend().get_texts()) == 3
    _check(ax, tmp_path, "payouts")


@pytest.mark.parametrize("design", ["T1", "E", "EAC"])
def test_waterfall_steps_add_up_to_net_in_every_sim(ds, design):
    d = ds.sel(design=design, year=1)
    total = sum(waterfall_steps(d).values())
    np.testing.assert_allclose(total, d["aco_net"].values, atol=1e-6)


@pytest.mark.parametrize("sim", [None, 0])
def test_waterfall_plot(ds, tmp_path, sim):
    ax = plot_waterfall(ds, design="E", sim=sim)
    _check(ax, tmp_path, f"wf{sim}")


def test_probabilities_by_size(tmp_path):
    sw = sweep_sizes(SCN, [1_000, 5_000], n_sims=200)
    assert sw.sizes["size"] == 2
    ax = plot_probabilities_by_size(sw)
    _check(ax, tmp_path, "psize")


def test_msr_curve_plot(tmp_path):
    ax = plot_msr_curve(msr_curve([1_000, 10_000], spending="gamma", n_sims=300))
    assert ax.get_xscale() == "log"
    _check(ax, tmp_path, "msr")


def test_fan_chart_multi_year(tmp_path):
    scn = parse_scenario({
        "name": "fan", "seed": 2, "population": {"beneficiaries": 3_000},
        "spending": {"model": "gamma", "mean": 10_000, "cv": 2.0},
        "agreement": {"years": 4},
        "designs": [{"name": "E", "preset": "mssp-enhanced", "msr": 0.0}],
    })
    ds = simulate(scn, n_sims=300)
    ax = plot_fan_chart(ds)
    assert len(ax.lines) >= 2
    _check(ax, tmp_path, "fan")


# --- the waterfall of a two-sided contract (issue: savings earned and losses owed used to
# vanish into one green "not shared" step) ---------------------------------------------

TWO = parse_scenario({
    "name": "two-sided", "seed": 11, "sims": 400, "population": {"beneficiaries": 20_000},
    "spending": {"model": "gamma", "mean": 11_000, "cv": 2.0},
    "aco": {"benchmark_error_sd": 0.02},
    "designs": [{"name": "E0", "preset": "mssp-enhanced", "msr": 0.0},
                {"name": "T1", "preset": "mssp-track1-2012"}],
})


@pytest.fixture(scope="module")
def two():
    return simulate(TWO)


def _bars(ax):
    """(tick label, bottom, top, colour) of each bar, in order."""
    labels = [t.get_text() for t in ax.get_xticklabels()]
    return [(lab, p.get_y(), p.get_y() + p.get_height(), p.get_facecolor())
            for lab, p in zip(labels, ax.patches, strict=True)]


def test_waterfall_steps_keep_savings_earned_and_losses_owed_apart(two):
    d = two.sel(design="E0", year=1)
    steps = waterfall_steps(d)
    np.testing.assert_array_equal(steps["Shared losses owed"], -d["shared_losses"].values)
    earned = sum(steps[k] for k in ("Gross savings", "Kept by the payer", "Sequestration",
                                    "Payment cap"))
    np.testing.assert_allclose(earned, d["earned_savings"].values, atol=1e-6)
    assert (steps["Gross savings"] >= 0).all() and (steps["Kept by the payer"] <= 0).all()
    # both kinds of year occur, so a mixed-up step would show
    assert (d["earned_savings"] > 0).any() and (d["shared_losses"] > 0).any()


def test_waterfall_two_sided_bars_show_earned_and_owed_coloured_by_direction(two):
    from matplotlib.colors import to_rgba

    ax = plot_waterfall(two, design="E0")
    d = two.sel(design="E0", year=1)
    bars = {lab.split("\n")[0]: (lo, hi, c) for lab, lo, hi, c in _bars(ax)}
    lo, hi, c = bars["Savings earned"]
    assert lo == 0 and hi == pytest.approx(float(d["earned_savings"].mean()), rel=1e-9)
    lo, hi, c = bars["Shared losses owed"]
    assert hi - lo == pytest.approx(float(d["shared_losses"].mean()), rel=1e-9)
    assert c == to_rgba("#c0392b")  # away from the ACO: red
    assert bars["Kept by the payer"][2] == to_rgba("#c0392b")
    assert bars["Gross savings"][2] == to_rgba("#2e8b57")  # toward the ACO: green
    lo, hi, _ = bars["ACO net"]
    assert (hi if hi > 0 else lo) == pytest.approx(float(d["aco_net"].mean()), rel=1e-9)
    plt.close(ax.figure)


def test_waterfall_one_sided_has_no_losses_step(two):
    ax = plot_waterfall(two, design="T1")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "Savings earned" in labels and not any("losses" in x for x in labels)
    plt.close(ax.figure)


@pytest.mark.parametrize(("beneficiaries", "unit"), [(3_000, "k"), (60_000, "M")])
def test_waterfall_amounts_in_a_unit_chosen_by_magnitude(beneficiaries, unit):
    scn = TWO.model_copy(update={"population": TWO.population.model_copy(
        update={"beneficiaries": beneficiaries})})
    ds = simulate(scn, n_sims=200)
    ax = plot_waterfall(ds, design="E0")
    ax.figure.canvas.draw()
    top = max(abs(p.get_y() + p.get_height()) for p in ax.patches)
    assert (top >= 1e6) == (unit == "M")
    texts = [a.get_text().split("\n")[0] for a in ax.texts]
    assert texts and all(t.startswith(("$", "+$", "\u2212$")) for t in texts)
    assert sum(t.endswith(unit) for t in texts) >= len(texts) - 1, texts
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text() not in ("", "$0")]
    assert ticks and all(t.endswith(unit) for t in ticks), ticks
    plt.close(ax.figure)


# --- payouts: small multiples, marks, titles ---------------------------------------------

def test_payouts_more_than_three_designs_are_small_multiples_on_shared_axes():
    designs = [{"name": n, "preset": p} for n, p in
               [("A", "mssp-basic-a"), ("C", "mssp-basic-c"), ("E", "mssp-basic-e"),
                ("En", "mssp-enhanced"), ("P", "pioneer")]]
    ds = simulate(parse_scenario({
        "name": "five", "seed": 4, "sims": 200, "population": {"beneficiaries": 3_000},
        "spending": {"model": "gamma", "mean": 10_000, "cv": 2.0}, "designs": designs}))
    ax = plot_payout_distribution(ds)
    panels = [a for a in ax.figure.axes if a.get_visible()]
    assert len(panels) == 5
    assert all(ax.get_shared_x_axes().joined(ax, a) for a in panels)
    assert all(ax.get_shared_y_axes().joined(ax, a) for a in panels)
    assert [a.get_title().split("\n")[0] for a in panels] == ["A", "C", "E", "En", "P"]
    suptitle = ax.figure.get_suptitle()
    assert "gamma spending" in suptitle and "N = 3,000" in suptitle and "200 sims" in suptitle
    assert "year 1" in suptitle
    plt.close(ax.figure)


def test_payout_marks_are_the_summary_mean_and_5_95_points(ds):
    from simsav.results import summarize
    from simsav.results.tidy import figure, summary_long

    ax = plot_payout_distribution(ds)
    table = summary_long(summarize(ds))
    strips = [ln for ln in ax.lines if ln.get_marker() == "|"]
    means = [ln for ln in ax.lines if ln.get_marker() == "D"]
    assert len(strips) == len(means) == 3
    for name, strip, mean in zip(ds["design"].values, strips, means, strict=True):
        net = ds["aco_net"].sel(design=name, year=1).values
        assert mean.get_xdata()[0] == pytest.approx(net.mean(), rel=1e-12)  # independent
        q5, q95 = (float(figure(table, m, name, 1)["value"]) for m in ("aco_net_q5",
                                                                        "aco_net_q95"))
        assert list(strip.get_xdata()) == [q5, q95]
        # within the order statistics around the 5% and 95% points
        s = np.sort(net)
        assert s[int(0.05 * len(s)) - 2] <= q5 <= s[int(0.05 * len(s)) + 2]
        assert s[int(0.95 * len(s)) - 2] <= q95 <= s[int(0.95 * len(s)) + 2]
    assert "year 1" in ax.get_title() and "300 sims" in ax.get_title()
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert all(t.startswith(("$", "\u2212$")) and t[-1] in "0kM" for t in ticks), ticks
    plt.close(ax.figure)


def test_probabilities_by_size_ticks_read_1k_5k():
    sw = sweep_sizes(SCN, [1_000, 5_000, 10_000], n_sims=100)
    ax = plot_probabilities_by_size(sw)
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1k", "5k", "10k"]
    assert "100 sims" in ax.get_title()
    plt.close(ax.figure)


def test_payouts_of_a_subset_holding_aco_net_alone(ds):
    sub = ds[["aco_net"]]
    ax = plot_payout_distribution(sub)
    means = [ln.get_xdata()[0] for ln in ax.lines if ln.get_marker() == "D"]
    np.testing.assert_allclose(means, ds["aco_net"].isel(year=-1).mean("sim").values)
    plt.close(ax.figure)
