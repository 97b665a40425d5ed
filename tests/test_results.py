"""Saving and reading results; the Dataset schema."""

import pytest
import xarray as xr

from simsav.results import open_dataset, save_dataset, summarize, summary_table
from simsav.scenario import parse_scenario
from simsav.simulation import simulate

SCN = parse_scenario({
    "name": "rt", "seed": 3, "sims": 80, "population": {"beneficiaries": 1_500},
    "spending": {"model": "hurdle-lognormal", "mean": 9_000, "cv": 2.0, "zero_share": 0.05},
    "designs": [{"name": "one", "preset": "mssp-track1-2012"},
                {"name": "two", "preset": "mssp-enhanced", "msr": 0.0}],
})


def test_netcdf_round_trip_identical(tmp_path):
    ds = simulate(SCN)
    p = save_dataset(ds, tmp_path / "r.nc")
    back = open_dataset(p)
    xr.testing.assert_identical(ds, back)


def test_no_temporary_left_behind(tmp_path):
    save_dataset(simulate(SCN), tmp_path / "r.nc")
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]


def test_summary_table_rows_per_design():
    t = summary_table(summarize(simulate(SCN)))
    assert list(t.index) == ["one", "two"]
    assert {"p_clear_msr", "expected_earned", "aco_net_q50"} <= set(t.columns)


def test_summarize_frame_for_excel(tmp_path):
    import pandas as pd

    ds = simulate(SCN)
    t = summarize(ds, frame=True)
    assert isinstance(t, pd.DataFrame)
    assert list(t.columns) == ["design", "year", "metric", "value", "se", "low", "high",
                               "units", "description"]
    assert set(t["design"]) == {"one", "two"} and set(t["year"]) == {"1", "agreement"}
    row = t[(t.design == "one") & (t.year == "1") & (t.metric == "p_clear_msr")].iloc[0]
    assert row.value == float((ds["outcome"].sel(design="one") == 1).mean())
    assert row.low <= row.value <= row.high and row.se > 0
    # no figure is repeated: one row per design, year and metric
    assert not t.duplicated(["design", "year", "metric"]).any()
    t.to_excel(tmp_path / "s.xlsx", index=False)
    back = pd.read_excel(tmp_path / "s.xlsx")
    assert back["value"].tolist() == pytest.approx(t["value"].tolist(), nan_ok=True)


def test_round_trip_multi_year_providers_finances(tmp_path):
    scn = parse_scenario({
        "name": "rich", "seed": 2, "population": {"beneficiaries": 2_000},
        "spending": {"model": "gamma", "mean": 10_000, "cv": 2.0},
        "agreement": {"years": 2}, "providers": {"count": 5}, "distribution": "eac",
        "finances": {"fixed_cost": 1e5},
        "designs": [{"name": "B", "preset": "mssp-basic-b"}],
    })
    ds = simulate(scn, n_sims=60)
    assert {"provider_payout", "fin_net", "aco_paid"} <= set(ds.data_vars)
    xr.testing.assert_identical(ds, open_dataset(save_dataset(ds, tmp_path / "r.nc")))


def test_netcdf_compressed_with_cf_attributes(tmp_path):
    import netCDF4
    import numpy as np

    ds = simulate(SCN, n_sims=2_000)
    p = save_dataset(ds, tmp_path / "r.nc")
    raw = save_dataset(ds, tmp_path / "raw.nc", complevel=0)
    assert p.stat().st_size < 0.6 * raw.stat().st_size
    with netCDF4.Dataset(p) as nc:
        assert nc.getncattr("Conventions").startswith("CF-")
        assert nc["aco_net"].filters()["zlib"] and nc["earned_savings"].filters()["zlib"]
        out = nc["outcome"]
        assert list(out.flag_values) == [-1, 0, 1] and out.flag_values.dtype == np.int8
        assert out.flag_meanings.split() == [
            "shared_losses", "corridor_or_below_msr", "shared_savings"]
        for coord in ("sim", "year", "design", "preset"):
            assert nc[coord].getncattr("long_name"), coord
    # the flags say what the values mean: every value present is a declared flag
    back = open_dataset(p)
    assert set(np.unique(back["outcome"].values)) <= set(back["outcome"].attrs["flag_values"])
