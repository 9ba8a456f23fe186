"""Calibration v2: identifiability, the posterior, history-consistent ensembles.

The small-configuration tests run the commands end to end (each well under a
minute); the others check the committed posterior (``model/posterior.nc``) and
the estimates in ``model/calibration.yaml`` against the issue's criteria.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import xarray as xr
import yaml

from hatinh_sd.calibration import (
    Likelihood,
    collinearity_index,
    identify,
    load_setup,
)
from hatinh_sd.cli import main
from hatinh_sd.data import load_observed
from hatinh_sd.posterior import load_posterior, posterior_draws
from hatinh_sd.project import default_project, repo_root

SETUP = repo_root() / "model" / "calibration_setup.yaml"


def _setup_copy(tmp_path, edit, name="setup.yaml"):
    doc = yaml.safe_load(SETUP.read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _calibrate(tmp_path, *args):
    """Run ``hatinh-sd calibrate``; the committed calibration file must not change."""
    before = default_project().path("calibration").read_bytes()
    posterior_before = default_project().path("posterior").read_bytes()
    status = main(["calibrate", "--out", str(tmp_path / "out"), *args])
    assert default_project().path("calibration").read_bytes() == before
    assert default_project().path("posterior").read_bytes() == posterior_before
    return status


# ---------------------------------------------------------------- identifiability
def test_identify_command_small(tmp_path, capsys):
    setup = _setup_copy(
        tmp_path,
        lambda d: d["identify"].update(
            candidates=["capital output ratio services", "depreciation rate services"]
        ),
    )
    calibration = tmp_path / "calibration.yaml"
    shutil.copy(default_project().path("calibration"), calibration)
    assert (
        _calibrate(tmp_path, "--identify", "--setup", str(setup), "--calibration", str(calibration))
        == 0
    )
    out = capsys.readouterr().out
    folder = tmp_path / "out" / "calibration" / "identify"
    for name in (
        "sensitivity.csv",
        "singular_values.csv",
        "collinearity_pairs.csv",
        "correlation.csv",
    ):
        assert (folder / name).exists(), name
    import pandas as pd

    pairs = pd.read_csv(folder / "collinearity_pairs.csv")
    assert len(pairs) == 13 * 12 // 2
    # the two services capital constants are the most collinear pair (capital output ratio
    # and depreciation both set services capital per unit of output)
    top = pairs.iloc[0]
    assert {top.parameter_1, top.parameter_2} == {
        "capital output ratio services",
        "depreciation rate services",
    }
    assert top.collinearity_index > 15
    assert "Fitted set (11 parameters)" in out and "identifiable" in out


def test_fitted_set_is_identifiable(model):
    setup = load_setup(model)
    res = identify(model, setup, dict(model.calibration), list(setup.parameters))
    gamma = collinearity_index(res.sensitivity.to_numpy())
    print(f"collinearity index of the {len(setup.parameters)} fitted parameters: {gamma:.2f}")
    assert len(setup.parameters) <= 12
    assert gamma <= 15


def test_no_fitted_parameter_at_a_bound():
    doc = yaml.safe_load(default_project().path("calibration").read_text(encoding="utf-8"))
    assert doc["at_bound"] == []


# ---------------------------------------------------------------- the posterior command
@pytest.mark.slow
def test_posterior_command_small(tmp_path, capsys):
    def edit(d):
        d["posterior"].update(particles=40, draws=30, screen=20.0, max_minutes=0.3, moves=2)

    setup = _setup_copy(tmp_path, edit)
    calibration = tmp_path / "calibration.yaml"
    shutil.copy(default_project().path("calibration"), calibration)
    before = yaml.safe_load(calibration.read_text(encoding="utf-8"))["parameters"]
    nc = tmp_path / "posterior.nc"
    status = _calibrate(
        tmp_path,
        "--posterior",
        "--setup",
        str(setup),
        "--calibration",
        str(calibration),
        "--posterior-path",
        str(nc),
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "SMC stages" in out and "acceptance" in out
    doc = yaml.safe_load(calibration.read_text(encoding="utf-8"))
    assert doc["parameters"] == before  # the point estimates stay
    est = doc["estimates"]["parameters"]
    assert set(est) == set(before)
    for name, e in est.items():
        assert e["se"] > 0, name
        assert e["p05"] <= e["median"] <= e["p95"], name
    with xr.open_dataset(nc) as ds:
        assert ds.sizes["draw"] == 30
        assert set(before) <= {str(p) for p in ds["parameter"].values}
        assert len(ds.attrs["model_sha256"]) == 64
    stages = (tmp_path / "out" / "calibration" / "posterior" / "stages.csv").read_text()
    assert "acceptance" in stages and "ess_before_resampling" in stages


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (lambda d: d["posterior"].update(draws=0), "posterior.draws"),
        (
            lambda d: d["series"]["population_total"].update(tolerance=-0.01),
            "series.population_total.tolerance",
        ),
        (
            lambda d: d["posterior"].update(
                priors={
                    "tfp growth trnd": {
                        "distribution": "uniform",
                        "range": [0.005, 0.02],
                        "reason": "x",
                    }
                }
            ),
            "did you mean 'tfp growth trend'",
        ),
        (
            lambda d: d["posterior"].update(
                priors={
                    "tfp growth trend": {
                        "distribution": "uniform",
                        "range": [0.0, 0.5],
                        "reason": "x",
                    }
                }
            ),
            "leaves the model's range",
        ),
        (lambda d: d["posterior"].update(moves=0), "moves"),
    ],
    ids=[
        "zero draws",
        "negative tolerance",
        "unknown parameter",
        "prior outside range",
        "no moves",
    ],
)
def test_bad_posterior_configuration_is_refused(tmp_path, capsys, edit, expect):
    setup = _setup_copy(tmp_path, edit)
    assert _calibrate(tmp_path, "--posterior", "--setup", str(setup)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "setup.yaml" in err[0] and expect in err[0]
    assert not (tmp_path / "out" / "calibration" / "posterior").exists()


# ---------------------------------------------------------------- the committed posterior
@pytest.fixture(scope="module")
def draws(model):
    return posterior_draws(model)


def test_committed_posterior_is_small_and_belongs_to_the_model(model):
    size = default_project().path("posterior").stat().st_size
    ds = load_posterior()
    print(
        f"model/posterior.nc: {size / 1e6:.2f} MB, {ds.sizes['draw']} draws of "
        f"{ds.sizes['parameter']} constants, final beta {ds.attrs['final_beta']}"
    )
    assert size < 2e6
    assert ds.sizes["draw"] <= 2000
    assert ds.attrs["model_sha256"] == model.hash
    assert ds.attrs["equations_sha256"] == model.equations_hash
    assert float(ds.attrs["final_beta"]) == 1.0


def test_calibration_and_posterior_belong_to_the_equations_not_the_file(model, tmp_path):
    """A changed comment keeps the calibration, its estimates and the posterior; a changed
    equation makes all three stale (the posterior is refused)."""
    from hatinh_sd.errors import HatinhInputError
    from hatinh_sd.model import Model
    from hatinh_sd.validation import estimates_table

    text = model.mdl_path.read_text(encoding="utf-8")
    old = "about half a year."
    assert old in text
    edits = [
        ((old, "about six months."), True),
        (("job search time = 0.5", "job search time = 0.6"), False),
    ]
    for i, (edit, belongs) in enumerate(edits):
        mdl = tmp_path / str(i) / "hatinh.mdl"
        mdl.parent.mkdir()
        mdl.write_text(text.replace(*edit), encoding="utf-8")
        edited = Model(mdl, calibration_path=model.calibration_path)
        assert edited.hash != model.hash
        assert (edited.calibration_stale == "") is belongs
        assert (estimates_table(edited, load_setup(edited)) is not None) is belongs
        if belongs:
            assert len(posterior_draws(edited)) == load_posterior().sizes["draw"]
        else:
            with pytest.raises(HatinhInputError, match="drawn for other equations"):
                posterior_draws(edited)


def test_estimates_have_intervals_and_no_strong_correlation(model, draws):
    setup = load_setup(model)
    doc = yaml.safe_load(default_project().path("calibration").read_text(encoding="utf-8"))
    est = doc["estimates"]["parameters"]
    assert set(est) == set(setup.parameters)
    for name, e in est.items():
        low, high = setup.parameters[name]
        assert low <= e["p05"] < e["p95"] <= high, name
    c = np.corrcoef(draws[list(setup.parameters)].to_numpy(), rowvar=False)
    np.fill_diagonal(c, 0)
    print(f"largest |posterior correlation| among fitted parameters: {np.abs(c).max():.3f}")
    assert np.abs(c).max() <= 0.9


@pytest.fixture(scope="module")
def predictive(model, draws):
    """Model values of every used observation for every posterior draw, and the error scales."""
    from hatinh_sd.ensemble import ArrayModel

    lik = Likelihood(model, load_setup(model), load_observed())
    arrays = {model.py_name(c): draws[c].to_numpy(dtype=float) for c in draws.columns}
    mv, _ = lik.run(ArrayModel(model), arrays)
    return lik, mv


def test_in_sample_predictive_intervals_cover_80_to_98_percent(predictive):
    lik, mv = predictive
    rng = np.random.default_rng(1)
    scale = lik.sigma()
    noisy = mv + rng.standard_normal(mv.shape) * scale
    lo, hi = np.percentile(noisy, [5, 95], axis=0)
    two_sided = ~lik.lower
    inside = (lik.observed >= lo) & (lik.observed <= hi)
    coverage = float(inside[two_sided].mean())
    print(
        f"in-sample 90 % posterior predictive intervals contain {100 * coverage:.1f} % "
        f"of {int(two_sided.sum())} observations"
    )
    assert 0.80 <= coverage <= 0.98


# ---------------------------------------------------------------- history-consistent ensembles
@pytest.fixture(scope="module")
def baseline_ensemble(model, draws):
    """2,000 baseline runs drawn as ``hatinh-sd uncertainty`` draws them (same seed)."""
    from hatinh_sd.ensemble import run_ensemble
    from hatinh_sd.factors import load_factors
    from hatinh_sd.uncertainty import draw_with_posterior

    factors = [f for f in load_factors(model=model) if f.group == "uncertainty"]
    names, values = draw_with_posterior(factors, draws, 2000, 20260301)
    assert (
        len(names)
        == len(set(names))
        == len(factors) + len([c for c in draws.columns if c not in {f.variable for f in factors}])
    )
    return run_ensemble(
        values,
        names,
        outputs=["grdp", "grdp_per_capita_current", "employment_share_agriculture"],
        annual=["grdp", "grdp_per_capita_current", "employment_share_agriculture"],
        model=model,
        workers=2,
        progress=False,
    )


def test_posterior_bands_are_sharp(baseline_ensemble):
    ds = baseline_ensemble
    pc = ds["grdp_per_capita_current"].sel(time=2025).values
    p5, p50, p95 = np.percentile(pc, [5, 50, 95])
    g = ds["grdp"]
    growth = ((g.sel(time=2025) / g.sel(time=2020)).values ** (1 / 5) - 1) * 100
    lo, hi = np.percentile(growth, [5, 95])
    print(
        f"GRDP per capita 2025: 90 % band {p5:.1f}-{p95:.1f} million VND, "
        f"{100 * (p95 - p5) / p50:.1f} % of the median {p50:.1f}; average growth 2021-2025: "
        f"band {lo:.2f}-{hi:.2f} % ({hi - lo:.2f} points)"
    )
    assert (p95 - p5) / p50 <= 0.35
    assert hi - lo <= 3.0


def test_baseline_draws_reproduce_history(baseline_ensemble):
    from hatinh_sd.uncertainty import history_consistency, history_observations

    ok, table = history_consistency(baseline_ensemble, history_observations())
    print(table.to_string(index=False))
    print(f"share of 2,000 baseline draws that reproduce history: {100 * ok.mean():.1f} %")
    assert ok.mean() >= 0.90


def test_history_consistency_counts_each_check():
    from hatinh_sd.uncertainty import history_consistency, history_observations

    checks = history_observations()
    obs = checks.set_index("variable")["observed"]
    ds = xr.Dataset(
        {
            "grdp": (("sample", "time"), [[obs["grdp"] * 1.04], [obs["grdp"] * 1.06], [np.nan]]),
            "grdp_per_capita_current": (
                ("sample", "time"),
                [[obs["grdp_per_capita_current"]]] * 3,
            ),
            "employment_share_agriculture": (
                ("sample", "time"),
                [[obs["employment_share_agriculture"] + 2.9]] * 3,
            ),
        },
        coords={"time": [2021]},
    )
    ds = xr.concat([ds.assign_coords(time=[y]) for y in (2021, 2022, 2025)], dim="time")
    ok, table = history_consistency(ds, checks)
    assert ok.tolist() == [True, False, False]  # 6 % off, and a non-finite run, fail
    assert table["share"].iloc[-1] == pytest.approx(1 / 3)
    # the deviations (run minus statistic) over the finite runs: 4 % and 6 % for GRDP
    grdp = table.set_index("variable").loc["grdp"]
    assert grdp["unit"] == "%"
    assert grdp["deviation_median"] == pytest.approx(5.0)
    assert grdp["deviation_p05"] == pytest.approx(4.1)
    assert grdp["deviation_p95"] == pytest.approx(5.9)
    farm = table.set_index("variable").loc["employment_share_agriculture"]
    assert farm["unit"] == "points"
    assert farm[["deviation_p05", "deviation_median", "deviation_p95"]].tolist() == pytest.approx(
        [2.9, 2.9, 2.9]
    )
    assert np.isnan(table["deviation_median"].iloc[-1])  # the "all" row


def test_deviations_are_described_in_both_languages(model):
    from hatinh_sd.uncertainty import describe_deviations

    rows = [
        {
            "check": "grdp",
            "variable": "grdp",
            "year": 2021,
            "unit": "%",
            "deviation_median": 1.35,
            "deviation_p05": -3.25,
            "deviation_p95": 5.83,
        },
        {
            "check": "farm",
            "variable": "employment_share_agriculture",
            "year": 2025,
            "unit": "points",
            "deviation_median": 0.0,
            "deviation_p05": -1.04,
            "deviation_p95": None,
        },
        {"check": "all", "share": 0.9},
    ]
    en = describe_deviations(rows, model, "en")
    assert en.startswith("GRDP")
    assert "2021: median deviation +1.4 %, 90 % of runs between -3.2 and +5.8 %" in en
    assert "2025: median deviation 0.0 points, 90 % of runs between -1.0 and – points" in en
    vi = describe_deviations(rows, model, "vi")
    assert "năm 2021: sai lệch trung vị +1,4 %, 90 % số lần chạy trong khoảng -3,2 đến +5,8 %" in vi
    rows[0]["deviation_median"] = None  # a check whose runs were all non-finite is left out
    assert "2021" not in describe_deviations(rows, model, "en")


@pytest.mark.slow
def test_uncertainty_command_records_the_history_share(tmp_path, capsys):
    assert main(["uncertainty", "--n", "16", "--out", str(tmp_path), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "posterior draws" in out and "reproduce history" in out
    with xr.open_dataset(tmp_path / "baseline" / "bands.nc") as ds:
        share = float(ds.attrs["history_consistent_share"])
        assert 0.0 <= share <= 1.0
        from hatinh_sd.uncertainty import history_observations

        deviations = json.loads(ds.attrs["history_deviations"])
        assert [d["variable"] for d in deviations] == list(history_observations()["variable"])
        for d in deviations:
            assert d["deviation_p05"] <= d["deviation_median"] <= d["deviation_p95"]
        assert ds.attrs["draws_method"] == "posterior"
        assert list(ds["percentile"].values) == [5, 25, 50, 75, 95]
    assert "how far the runs are from the statistics (run minus statistic): GRDP" in out


def test_posterior_draw_factor_expands_to_the_draws(model, draws):
    from hatinh_sd.sensitivity import POSTERIOR_FACTOR, expand_posterior, load_config

    cfg = load_config(repo_root() / "sensitivity" / "sobol_targets.yaml", model)
    names = [f.name for f in cfg.factors]
    assert names[-1] == POSTERIOR_FACTOR
    assert not set(cfg.drawn_by_posterior) & set(names)
    u = np.array([0.0, 0.5, 0.999999])
    values = np.column_stack([np.full(3, f.default) for f in cfg.factors[:-1]] + [u])
    constants, run = expand_posterior(cfg, values, model)
    assert constants[: len(names) - 1] == names[:-1]
    assert constants[len(names) - 1 :] == list(draws.columns)
    idx = [0, len(draws) // 2, len(draws) - 1]
    np.testing.assert_array_equal(run[:, len(names) - 1 :], draws.to_numpy()[idx])


# ---------------------------------------------------------------- backtests
@pytest.mark.slow
def test_backtest_reports_model_against_three_naive_forecasts(model):
    from hatinh_sd.backtest import ORIGINS, mae_h1_3, run_backtest

    bt = run_backtest(model, load_setup(model), load_observed(), draws=100)
    wide = mae_h1_3(bt)
    print(wide.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(bt.coverage.to_string(index=False))
    assert set(wide["origin"]) == set(ORIGINS)
    for col in ("model", "random walk with drift", "log-linear trend", "linear trend"):
        assert wide[col].notna().all() or col == "log-linear trend"
    # every origin forecasts GRDP, and no forecast year lies at or before its origin
    assert set(wide.loc[wide["indicator"] == "grdp_const2010", "origin"]) == set(ORIGINS)
    assert (bt.forecasts["year"] > bt.forecasts["origin"]).all()
    assert (bt.coverage["points"] > 0).all()
    # refits never see later data: the 2015 refit differs from the full calibration
    p15 = bt.parameters[bt.parameters["origin"] == 2015].set_index("parameter")["value"]
    assert any(abs(p15[n] - v) > 1e-6 * max(1, abs(v)) for n, v in model.calibration.items())
    g = bt.forecasts[
        (bt.forecasts["indicator"] == "grdp_const2010") & (bt.forecasts["method"] == "model")
    ]
    assert (g["error"].abs() < 30).all()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda ds: ds.drop_vars("value"),
            "not a posterior file: expected a numeric variable 'value'",
        ),
        (
            lambda ds: ds.assign(value=ds["value"].where(ds["draw"] != 3)),
            "draw 3 of '.*' is nan, outside its range",
        ),
        (
            lambda ds: ds.assign(value=ds["value"] * 0 + 1e9),
            "draw 0 of '.*' is 1e\\+09, outside its range",
        ),
        (
            lambda ds: ds.assign_coords(
                parameter=["farm switching rat", *[str(p) for p in ds["parameter"].values[1:]]]
            ),
            "'farm switching rat' is not a calibrated or uncertain constant of the model; "
            "did you mean 'farm switching rate'",
        ),
        (
            lambda ds: ds.assign(value=ds["value"].astype(str)),
            "not a posterior file: expected a numeric variable 'value'",
        ),
        (
            lambda ds: ds.assign_coords(
                parameter=[str(ds["parameter"].values[0])] * 2
                + [str(p) for p in ds["parameter"].values[2:]]
            ),
            "'farm switching rate' is drawn twice",
        ),
    ],
    ids=["no-values", "nan", "out-of-range", "unknown-constant", "text-values", "name-twice"],
)
def test_damaged_posterior_is_refused(model, tmp_path, damage, message):
    """A posterior file whose draws no run could use is refused with one line naming it."""
    from hatinh_sd.errors import HatinhInputError

    ds = load_posterior()
    ds = ds.assign_coords(parameter=[str(p) for p in ds["parameter"].values])
    if str(ds["parameter"].values[0]) != "farm switching rate":  # the unknown-name case's hint
        order = [
            "farm switching rate",
            *[p for p in ds["parameter"].values if p != "farm switching rate"],
        ]
        ds = ds.sel(parameter=order)
    path = tmp_path / "posterior.nc"
    damage(ds).to_netcdf(path)
    with pytest.raises(HatinhInputError, match=message) as err:
        posterior_draws(model, path)
    assert "posterior.nc" in str(err.value)
