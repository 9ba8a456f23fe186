"""Uncertainty bands and target probabilities."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hatinh_sd.cli import main
from hatinh_sd.ensemble import run_ensemble
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.factors import load_factors
from hatinh_sd.uncertainty import (
    PERCENTILES,
    draw_uncertainties,
    percentile_bands,
    probabilities,
    scenario_overrides,
)


@pytest.fixture(scope="module")
def uncertainties(model):
    return [f for f in load_factors(model=model) if f.group == "uncertainty"]


def _bands(model, uncertainties, seed):
    values = draw_uncertainties(uncertainties, 8, seed)
    ds = run_ensemble(
        values,
        [f.variable for f in uncertainties],
        outputs=["grdp", "urbanisation_rate"],
        model=model,
        chunk_size=4,
        backend="inline",
        final_time=2013,
        checks_per_chunk=1,
        progress=False,
        seed=seed,
    )
    return values, percentile_bands(ds, ["grdp", "urbanisation_rate"])


def test_bands_monotone_and_reproducible(model, uncertainties):
    v1, b1 = _bands(model, uncertainties, 11)
    v2, b2 = _bands(model, uncertainties, 11)
    assert np.array_equal(v1, v2)
    xr.testing.assert_identical(b1, b2)
    assert list(b1["percentile"].values) == list(PERCENTILES)
    for v in b1.data_vars:
        assert np.all(np.diff(b1[v].values, axis=0) >= 0)
    # the 2010 values do not depend on these uncertainties' later effects only
    assert float(b1["grdp"].sel(percentile=95, time=2013)) > float(
        b1["grdp"].sel(percentile=5, time=2013)
    )
    v3 = draw_uncertainties(uncertainties, 8, 12)
    assert not np.array_equal(v1, v3)


def test_percentiles_monotone_on_random_data():
    rng = np.random.default_rng(0)
    ds = xr.Dataset(
        {"x": (("sample", "time"), rng.normal(size=(500, 5)))},
        coords={"sample": np.arange(500), "time": np.arange(2010.0, 2015.0)},
    )
    b = percentile_bands(ds, ["x"])
    assert np.all(np.diff(b["x"].values, axis=0) > 0)
    assert np.allclose(b["x"].sel(percentile=50).values, np.median(ds["x"].values, axis=0))


def test_probability_is_fraction_of_runs_meeting_target():
    targets = pd.DataFrame(
        {
            "target_id": ["T11", "T04"],
            "indicator": ["urbanisation_rate", "share_manufacturing_grdp"],
            "variable": ["urbanisation_rate", "share_manufacturing"],  # as targets.csv has it
            "year": [2030, 2030],
            "comparator": [">", "~"],
            "value": [45.0, 33.0],
        }
    )
    urb = np.array([40.0, 45.0, 46.0, 50.0, np.nan])
    man = np.array([29.0, 29.8, 33.0, 36.3, 36.4])
    ds = xr.Dataset(
        {
            "urbanisation_rate": (("sample", "time"), urb[:, None]),
            "share_manufacturing": (("sample", "time"), man[:, None]),
        },
        coords={"sample": np.arange(5), "time": [2030.0]},
    )
    p = probabilities(ds, targets, ["T11", "T04"]).set_index("id")
    assert p.loc["T11", "runs_meeting"] == 2 and p.loc["T11", "probability"] == 2 / 5
    # within +-10 % of 33: 29.7 .. 36.3
    assert p.loc["T04", "runs_meeting"] == 3 and p.loc["T04", "probability"] == 3 / 5


def test_scenarios_resolve_to_overrides(model):
    name, fixed = scenario_overrides("baseline", model)
    assert name == "baseline"
    assert all(fixed[k] == model.defaults[model.real_name(k)] for k in fixed)
    with pytest.raises(HatinhInputError, match="no scenario named"):
        scenario_overrides("no_such_scenario", model)


def test_cli_rejects_bad_n_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "u"
    assert main(["uncertainty", "--scenario", "baseline", "--n", "1", "--out", str(out)]) == 2
    assert "at least 2 and at most 200,000 runs" in capsys.readouterr().err
    assert not (out / "baseline").exists()


def test_cli_checks_every_scenario_before_running_any(tmp_path, capsys):
    out = tmp_path / "u"
    argv = ["uncertainty", "--scenario", "baseline", "no_such_scenario", "--n", "8"]
    assert main([*argv, "--out", str(out)]) == 2
    assert "no_such_scenario" in capsys.readouterr().err
    assert not (out / "baseline").exists()


@pytest.mark.slow
def test_cli_runs_several_scenarios_with_the_same_draws(tmp_path):
    out = tmp_path / "u"
    argv = ["uncertainty", "--scenario", "baseline", "action_programme", "--n", "8"]
    assert main([*argv, "--chunk-size", "4", "--out", str(out), "--workers", "1"]) == 0
    a = xr.open_dataset(out / "baseline" / "bands.nc")
    b = xr.open_dataset(out / "action_programme" / "bands.nc")
    with a, b:
        assert a.attrs["scenario"] == "baseline" and b.attrs["scenario"] == "action_programme"
        assert a.attrs["seed"] == b.attrs["seed"] and a.attrs["n_runs"] == 8
        assert not np.allclose(a["trained_labour_share"].values, b["trained_labour_share"].values)
    # every run's factor values are kept beside its outputs (the same draws in both scenarios)
    names = json.loads(a.attrs["uncertainties"])
    with (
        xr.open_dataset(out / "baseline" / "runs.nc") as r,
        xr.open_dataset(out / "action_programme" / "runs.nc") as q,
    ):
        assert r.sizes["sample"] == 8 and r.attrs["scenario"] == "baseline"
        factors = [c for c in r.coords if r[c].attrs.get("role") == "factor"]
        assert len(factors) == len(names)
        for c in factors:
            np.testing.assert_array_equal(r[c].values, q[c].values)
        assert r["history_consistent"].values.mean() == pytest.approx(
            a.attrs["history_consistent_share"]
        )
        np.testing.assert_allclose(
            np.percentile(r["trained_labour_share"].sel(time=2030).values, 50),
            a["trained_labour_share"].sel(time=2030, percentile=50).values,
        )


def test_analyse_scenario_is_the_ensemble_its_bands_and_probabilities_describe(
    model, uncertainties
):
    """The analysis behind `hatinh-sd uncertainty`, without the command: the bands, the
    probabilities and the history share are those of the runs it returns."""
    from hatinh_sd.data import load_targets
    from hatinh_sd.uncertainty import analyse_scenario, history_observations, target_variables

    names = [f.variable for f in uncertainties]
    values = draw_uncertainties(uncertainties, 6, 4)
    targets = load_targets()
    ids = ["T02", "T07", "T11"]
    res = analyse_scenario(
        model,
        "baseline",
        names,
        values,
        {},
        targets,
        ids,
        history_observations(),
        seed=4,
        how={"draws_method": "independent"},
        backend="inline",
        progress=False,
        checks_per_chunk=1,
    )
    variables = target_variables(targets, ids)
    assert list(res.bands.data_vars) == variables
    again = percentile_bands(res.runs, variables)
    for v in variables:
        assert np.array_equal(res.bands[v].values, again[v].values, equal_nan=True)
    assert res.history_share == pytest.approx(res.consistent.mean())
    assert res.bands.attrs["n_runs"] == 6 and res.bands.attrs["draws_method"] == "independent"
    assert res.bands.attrs["history_consistent_share"] == res.history_share
    assert json.loads(res.bands.attrs["uncertainties"]) == names
    assert list(res.probabilities["id"]) == ids
    assert res.runs.sizes["sample"] == 6
