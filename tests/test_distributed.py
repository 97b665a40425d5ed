"""Dask: the blocks of a simulation as tasks on a local cluster of 2 workers."""

import pytest
import xarray as xr

from simsav.distributed import task_ranges
from simsav.scenario import parse_scenario
from simsav.simulation import simulate

distributed = pytest.importorskip("dask.distributed")

SCN = parse_scenario({
    "name": "dask", "seed": 99, "sims": 700, "block_size": 64,
    "population": {"beneficiaries": 3_000},
    "spending": {"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99},
    "aco": {"true_savings_sd": 0.01, "benchmark_error_sd": 0.01},
    "quality": {"distribution": "beta", "mean": 0.85, "sd": 0.05},
    "designs": [{"name": "T1", "preset": "mssp-track1-2012"},
                {"name": "E", "preset": "mssp-basic-e"}],
})


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.mark.parametrize("blocks_per_task", [1, 3, None])
def test_dask_identical_to_single_process(client, blocks_per_task):
    local = simulate(SCN)
    remote = simulate(SCN, scheduler=client, blocks_per_task=blocks_per_task)
    xr.testing.assert_identical(local, remote)


def test_dask_progress_counts_every_sim(client):
    seen = []
    simulate(SCN, n_sims=300, scheduler=client, blocks_per_task=2, progress=seen.append)
    assert sum(seen) == 300


def test_task_ranges_cover_all_sims():
    r = task_ranges(1_000, 64, 3)
    assert sum(n for _, n in r) == 1_000
    assert [b for b, _ in r] == list(range(0, 16, 3))


def test_bad_scheduler():
    with pytest.raises(ValueError, match="scheduler"):
        simulate(SCN, n_sims=10, scheduler="nowhere")


@pytest.mark.slow
def test_cli_run_dask_matches_single_process(capsys):
    import json

    from simsav.cli import main

    argv = ["run", "scenarios/rural-aco-5k.toml", "--sims", "600", "--json", "--quiet"]
    assert main(argv) == 0
    single = json.loads(capsys.readouterr().out)
    assert main([*argv, "--dask"]) == 0
    assert json.loads(capsys.readouterr().out) == single


def test_dask_multi_year_with_providers_identical(client):
    scn = parse_scenario({
        "name": "dask-my", "seed": 5, "sims": 300, "block_size": 64,
        "population": {"beneficiaries": 2_000},
        "spending": {"model": "medicare-ffs", "mean": 11_000, "truncate_quantile": 0.99},
        "aco": {"true_savings_sd": 0.01, "benchmark_error_sd": 0.01},
        "quality": {"distribution": "beta", "mean": 0.85, "sd": 0.05, "persistence": 0.5},
        "agreement": {"years": 3, "base_years": 3, "benchmark": "rolling",
                      "trend_error_sd": 0.01, "risk_growth_sd": 0.01},
        "providers": {"count": 8, "savings_sd": 0.02},
        "distribution": "eac",
        "designs": [{"name": "B", "preset": "mssp-basic-b"},
                    {"name": "D", "preset": "mssp-basic-b", "reconciliation": "deferred"}],
    })
    xr.testing.assert_identical(simulate(scn), simulate(scn, scheduler=client,
                                                        blocks_per_task=2))
