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
