"""Calibration: fit statistics, the committed fit, the hold-out record and bad input."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from hatinh_sd.calibration import (
    DERIVED,
    Likelihood,
    fine_times,
    fit_statistics,
    fit_variables,
    level_series,
    load_setup,
    model_fit,
    naive_trend_benchmark,
    observations,
)
from hatinh_sd.cli import main
from hatinh_sd.data import load_observed
from hatinh_sd.project import default_project, repo_root
from hatinh_sd.validation import history_checks

HOLDOUT = repo_root() / "model" / "calibration_holdout_2019.yaml"


def test_theil_decomposition_sums_to_one_and_detects_bias():
    a = np.array([10.0, 12, 15, 13, 18])
    s = a + 2.0  # pure bias
    st = fit_statistics(a, s)
    assert st["um"] == pytest.approx(1.0)
    assert st["us"] == pytest.approx(0.0, abs=1e-12)
    assert st["uc"] == pytest.approx(0.0, abs=1e-12)
    noisy = a + np.array([1.0, -1, 0.5, -0.5, 0])
    st = fit_statistics(a, noisy)
    assert st["um"] + st["us"] + st["uc"] == pytest.approx(1.0)
    assert st["rmse"] == pytest.approx(np.sqrt(np.mean((noisy - a) ** 2)))
    assert st["mape"] == pytest.approx(np.mean(np.abs((noisy - a) / a)) * 100)
    assert st["r2"] == pytest.approx(1 - np.sum((noisy - a) ** 2) / np.sum((a - a.mean()) ** 2))


def test_naive_benchmark_extrapolates_a_linear_trend():
    obs = pd.DataFrame(
        {
            "indicator": "x",
            "year": [2012, 2013, 2014, 2015, 2016],
            "period": "year",
            "observed": [10.0, 12.0, 14.0, 16.0, 18.0],
            "used": True,
            "t0": [y - 0.5 for y in range(2012, 2017)],
            "t1": [y + 0.5 for y in range(2012, 2017)],
        }
    )
    naive = naive_trend_benchmark(obs, fit_until=2014)
    assert np.isnan(naive[:3]).all()
    assert naive[3:] == pytest.approx([16.0, 18.0])


@pytest.fixture(scope="module")
def fitted(model):
    setup = load_setup(model)
    obs, mv = model_fit(model, setup)
    return setup, obs, mv


def test_derived_quantities_agree_between_the_fit_and_the_comparison(model, fitted):
    """A derived quantity (GRDP without Formosa's value added, say) is computed from its
    inputs the same way by the vectorised likelihood (arrays) and by the comparison of one
    run (a Dataset); runs return the inputs, not the derived name."""
    setup, obs, mv = fitted
    variables = fit_variables(setup)
    assert {"grdp", "steel_value_added"} <= set(variables)
    assert not set(DERIVED) & set(variables)
    which = (obs["indicator"] == "grdp_growth_without_formosa") & (obs["year"] == 2019)
    ds = model.run(outputs=variables, times=fine_times(model))
    t = ds["time"].values

    def mean(var, y):  # calendar year y is model time [y - 0.5, y + 0.5)
        return float(DERIVED[var](ds).values[(t >= y - 0.5) & (t < y + 0.5)].mean())

    growth = (mean("grdp_without_formosa", 2019) / mean("grdp_without_formosa", 2018) - 1) * 100
    assert mv[obs.index[which][0]] == pytest.approx(growth, rel=1e-9)
    grdp = float(ds["grdp"].values[(t >= 2018.5) & (t < 2019.5)].mean())
    assert 0.6 * grdp < mean("grdp_without_formosa", 2019) < 0.9 * grdp  # Formosa taken out
    lik = Likelihood(model, setup, load_observed())
    values = lik.model_values({v: ds[v].values[None, :] for v in lik.outputs})[0]
    row = lik.obs.index[(lik.obs["indicator"] == "grdp_growth_without_formosa")][0]
    assert values[row] == pytest.approx(growth, rel=1e-9)


def test_committed_calibration_is_applied(model):
    doc = yaml.safe_load(default_project().path("calibration").read_text(encoding="utf-8"))
    assert model.calibration_hash
    for name, value in doc["parameters"].items():
        assert model.defaults[name] == pytest.approx(value)
    calibrated = {n for n, p in model.parameters.items() if p.role == "calibrated"}
    assert set(doc["parameters"]) == calibrated
    assert len(calibrated) <= 26


def test_history_meets_the_model_v2_criteria(model):
    checks = history_checks(model)
    print(checks.to_string())
    assert len(checks) >= 13
    assert checks["met"].all(), checks[~checks["met"]].to_string()


def test_holdout_beats_naive_trend(model):
    """The record of `hatinh-sd calibrate --fit-until 2019`, re-run here."""
    setup = load_setup(model)
    record = yaml.safe_load(HOLDOUT.read_text(encoding="utf-8"))
    assert record["fit_until"] == 2019
    from hatinh_sd.calibration import compare_with_observed, fine_times

    obs = observations(load_observed(), setup)
    ds = model.run(record["parameters"], times=fine_times(model), outputs=["grdp"])
    later = obs[(obs.indicator == "grdp_const2010") & (obs.year > 2019) & obs.used]
    assert list(later.year) == [2020, 2021]
    sub = obs.loc[later.index]
    model_vals = compare_with_observed(ds, sub, setup)
    pos = obs.index.get_indexer(later.index)
    naive = naive_trend_benchmark(obs, 2019, log_levels=level_series(setup))[pos]
    linear = naive_trend_benchmark(obs, 2019)[pos]
    mape_model = float(np.mean(np.abs(model_vals - sub.observed) / sub.observed) * 100)
    mape_naive = float(np.mean(np.abs(naive - sub.observed) / sub.observed) * 100)
    mape_linear = float(np.mean(np.abs(linear - sub.observed) / sub.observed) * 100)
    print(
        f"hold-out GRDP MAPE 2020-2021: model {mape_model:.2f} %, naive constant-growth trend "
        f"{mape_naive:.2f} %, naive linear trend {mape_linear:.2f} %"
    )
    assert mape_model <= 10
    assert mape_model < mape_naive


def _run_calibrate(tmp_path, *args):
    before = default_project().path("calibration").read_bytes()
    status = main(["calibrate", "--out", str(tmp_path / "out"), *args])
    assert default_project().path("calibration").read_bytes() == before
    return status


def _setup_copy(tmp_path, edit):
    src = repo_root() / "model" / "calibration_setup.yaml"
    doc = yaml.safe_load(src.read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / "setup.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_range_low_above_high_is_refused(tmp_path, capsys):
    path = _setup_copy(
        tmp_path,
        lambda d: d["ranges"].update(
            {"steel value added per Mt": {"range": [2000, 1500], "reason": "x"}}
        ),
    )
    assert _run_calibrate(tmp_path, "--setup", str(path)) == 2
    err = capsys.readouterr().err
    assert (
        "setup.yaml" in err
        and "ranges.steel value added per Mt" in err
        and "empty or reversed" in err
    )


def test_unknown_parameter_is_refused(tmp_path, capsys):
    path = _setup_copy(
        tmp_path,
        lambda d: d["ranges"].update(
            {"steel value added per tonne": {"range": [1500, 2000], "reason": "x"}}
        ),
    )
    assert _run_calibrate(tmp_path, "--setup", str(path)) == 2
    err = capsys.readouterr().err
    assert "'steel value added per tonne'" in err and "'steel value added per Mt'" in err


def test_observed_file_without_usable_rows_is_refused(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(repo_root() / "model" / "data", data)
    lines = (data / "observed.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    keep = [lines[0]] + [ln for ln in lines[1:] if ln.startswith(("new_enterprises", "exports"))]
    (data / "observed.csv").write_text("".join(keep), encoding="utf-8")
    assert _run_calibrate(tmp_path, "--observed", str(data / "observed.csv")) == 2
    err = capsys.readouterr().err
    assert "observed.csv" in err and "no usable" in err


def test_calibrate_command_runs_and_reports(tmp_path, capsys):
    assert _run_calibrate(tmp_path, "--dry-run", "--max-evaluations", "30") == 0
    out = capsys.readouterr().out
    assert "grdp_const2010" in out and "population_total" in out
