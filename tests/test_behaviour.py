"""Behaviour tests: stocks stay non-negative, accounting identities hold,
extreme conditions stay sane, integration error is small, levers move the
indicators the expected way (Sterman 2000, ch. 21)."""

from __future__ import annotations

import numpy as np
import pytest

from hatinh_sd.data import load_targets
from hatinh_sd.targets import indicator_variables, plan_targets

STOCK_TOLERANCE = -1e-9


def _stock_minima(model, ds):
    return {s: float(ds[model.py_name(s)].min()) for s in model.stocks}


def _assert_sane(model, ds, label):
    for name, da in ds.data_vars.items():
        assert np.all(np.isfinite(da.values)), f"{label}: {name} not finite"
    negative = {s: v for s, v in _stock_minima(model, ds).items() if v < STOCK_TOLERANCE}
    assert negative == {}, f"{label}: negative stocks {negative}"
    assert float(ds["unemployed"].min()) >= 0, f"{label}: negative unemployment"


def test_baseline_is_sane(model, baseline):
    _assert_sane(model, baseline, "baseline")


def _lever_cases(model):
    cases = []
    for name, p in model.levers().items():
        cases.append((f"{name}=min", {name: p.low}))
        cases.append((f"{name}=max", {name: p.high}))
    cases.append(("all=min", {n: p.low for n, p in model.levers().items()}))
    cases.append(("all=max", {n: p.high for n, p in model.levers().items()}))
    return cases


def _assert_batch_sane(model, samples, labels):
    from batch import run_batch

    stocks = [model.py_name(s) for s in model.stocks]
    _times, out = run_batch(model, samples, stocks + ["unemployed", "grdp", "total_population"])
    for i, label in enumerate(labels):
        for name, arr in out.items():
            assert np.all(np.isfinite(arr[i])), f"{label}: {name} not finite"
        negative = {s: float(out[s][i].min()) for s in stocks if out[s][i].min() < STOCK_TOLERANCE}
        assert negative == {}, f"{label}: negative stocks {negative}"
        assert float(out["unemployed"][i].min()) >= 0, f"{label}: negative unemployment"


def test_no_negative_stock_under_any_lever_extreme(model):
    cases = _lever_cases(model)
    assert len(cases) >= 2 * 25 + 2
    _assert_batch_sane(model, [p for _, p in cases], [label for label, _ in cases])


def test_uncertain_and_calibrated_extremes_stay_sane(model):
    samples, labels = [], []
    for name, p in model.parameters.items():
        if p.role == "lever":
            continue
        for value in (p.low, p.high):
            samples.append({name: value})
            labels.append(f"{name}={value}")
    assert len(samples) >= 2 * 100
    _assert_batch_sane(model, samples, labels)


# --------------------------------------------------------------- identities
def _rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.maximum(np.abs(np.asarray(b)), 1e-12))


@pytest.fixture(scope="module")
def all_max(model):
    return model.run({n: p.high for n, p in model.levers().items()})


@pytest.mark.parametrize("case", ["baseline", "all_max"])
def test_accounting_identities(model, baseline, all_max, case):
    ds = baseline if case == "baseline" else all_max
    grdp_parts = (
        ds["agriculture_value_added"]
        + ds["manufacturing_value_added"]
        + ds["energy_mining_value_added"]
        + ds["construction_value_added"]
        + ds["services_value_added"]
        + ds["product_taxes"]
    )
    assert _rel(grdp_parts, ds["grdp"]) < 1e-6
    current_parts = (
        ds["agriculture_value_added_current"]
        + ds["industry_value_added_current"]
        + ds["construction_value_added_current"]
        + ds["services_value_added_current"]
        + ds["product_taxes_current"]
    )
    assert _rel(current_parts, ds["grdp_current"]) < 1e-6
    shares = (
        ds["share_agriculture"]
        + ds["share_industry_construction"]
        + ds["share_services"]
        + ds["share_product_taxes"]
    )
    assert _rel(shares, 100 + 0 * shares) < 1e-6
    jobs = (
        ds["agricultural_employment"]
        + ds["manufacturing_employment"]
        + ds["steel_employment"]
        + ds["construction_employment"]
        + ds["energy_mining_employment"]
        + ds["services_employment"]
    )
    assert _rel(jobs, ds["total_employment"]) < 1e-6
    assert _rel(jobs + ds["unemployed"], ds["labour_force"]) < 1e-6
    cohorts = ds["population_0_14"] + ds["population_15_64"] + ds["population_65_plus"]
    # urban and rural are stocks of their own, integrated separately from the cohorts
    assert _rel(ds["urban_population"] + ds["rural_population"], cohorts) < 1e-6
    assert _rel(cohorts, ds["total_population"]) < 1e-6
    investment = (
        ds["investment_state_current"]
        + ds["investment_private_current"]
        + ds["investment_fdi_current"]
    )
    assert _rel(investment, ds["total_investment_current"]) < 1e-6
    assert (
        _rel(ds["total_investment"] * ds["national_gdp_deflator"], ds["total_investment_current"])
        < 1e-6
    )
    # value added is shared out exactly: wages and mixed income, local operating surplus,
    # the enclaves' taxes and outflows, and product taxes
    income = (
        ds["labour_income"]
        + ds["local_operating_surplus"]
        + ds["steel_local_taxes"]
        + ds["steel_outflow"]
        + ds["power_outflow"]
        + ds["product_taxes_current"]
    )
    assert _rel(income, ds["grdp_current"]) < 1e-6


# --------------------------------------------------------------- extreme conditions
def test_zero_investment_capital_decays(model):
    ds = model.run({"investment stop year": 2010}, check_ranges=False)
    _assert_sane(model, ds, "zero investment")
    for var in ("total_investment_current", "public_investment", "private_investment_current"):
        assert float(np.abs(ds[var]).max()) == 0, var
    k = ds["agriculture_capital"].values
    t = ds["time"].values - 2010
    dep = model.defaults["depreciation rate agriculture"]
    # pure decay, integrated by Euler with the model's step
    expected = k[0] * (1 - dep * model.time_step) ** (t / model.time_step)
    assert _rel(k, expected) < 1e-9
    for var in ("services_capital", "manufacturing_capital", "infrastructure_capital"):
        assert np.all(np.diff(ds[var].values) < 0), var
    assert float(ds["grdp"].min()) > 0


def test_zero_fdi_attractiveness_fdi_capital_declines(model):
    ds = model.run(
        {
            "investment climate": 0,
            "investment policy start year": 2024,
            "investment policy ramp years": 0,
        },
        check_ranges=False,
    )
    _assert_sane(model, ds, "zero FDI attractiveness")
    assert float(ds["fdi_registrations"].sel(time=slice(2025, 2050)).max()) == 0
    fdi = ds["fdi_realised_capital"].sel(time=slice(2030, 2050)).values
    assert np.all(np.diff(fdi) < 0)
    assert float(ds["fdi_pipeline"].sel(time=2050)) < 0.01 * float(ds["fdi_pipeline"].max())


def test_zero_fertility_population_falls(model):
    ds = model.run({"total fertility 2010": 0, "total fertility long run": 0}, check_ranges=False)
    _assert_sane(model, ds, "zero fertility")
    assert float(ds["births"].max()) == 0
    pop = ds["total_population"].values
    assert np.all(np.diff(pop) < 0)
    assert pop[-1] < 0.75 * pop[0]


def test_no_migration_and_no_export_stays_sane(model):
    ds = model.run(
        {
            "base out migration rate": 0,
            "unemployed emigration rate": 0,
            "underemployed emigration rate": 0,
            "labour export historical": 0,
            "labour export": 0,
        },
        check_ranges=False,
    )
    _assert_sane(model, ds, "no migration")
    assert float(ds["total_population"].sel(time=2050)) > float(
        ds["total_population"].sel(time=2010)
    )


# --------------------------------------------------------------- integration error
def test_halving_time_step_changes_indicators_little(model, baseline):
    fine = model.run(time_step=model.time_step / 2)
    targets = load_targets().set_index("target_id")
    for tid in plan_targets():
        var = indicator_variables()[targets.at[tid, "indicator"]]
        for year in (2030, 2050):
            a, b = float(baseline[var].sel(time=year)), float(fine[var].sel(time=year))
            assert abs(a - b) <= 0.01 * abs(a), f"{tid} {year}: {a} vs {b}"


# --------------------------------------------------------------- lever directions
def test_more_vocational_training_raises_trained_share(model, baseline):
    ds = model.run({"vocational training": 20})
    for year in (2030, 2050):
        assert (
            float(ds["trained_labour_share"].sel(time=year))
            > float(baseline["trained_labour_share"].sel(time=year)) + 1
        )


def test_formosa_phase2_raises_industry_share(model, baseline):
    ds = model.run(
        {"formosa phase 2": 1, "formosa total capacity": 15, "formosa phase 2 year": 2030}
    )
    for year in (2032, 2040, 2050):
        assert (
            float(ds["share_industry"].sel(time=year))
            > float(baseline["share_industry"].sel(time=year)) + 1
        )
    utilisation = model.defaults["steel utilisation after 2022"]
    assert float(ds["steel_output"].sel(time=2035)) == pytest.approx(15 * utilisation, rel=1e-3)


def test_more_industrial_land_raises_fdi(model, baseline):
    # land scarcity binds once the parks fill up (occupancy near 75 % by 2050 in the baseline)
    ds = model.run({"industrial land development rate": 400})
    assert float(ds["industrial_land_occupancy"].sel(time=2050)) < float(
        baseline["industrial_land_occupancy"].sel(time=2050)
    )
    assert float(ds["fdi_registrations"].sel(time=2050)) > 1.1 * float(
        baseline["fdi_registrations"].sel(time=2050)
    )
    assert float(ds["fdi_realised_capital"].sel(time=2050)) > 1.02 * float(
        baseline["fdi_realised_capital"].sel(time=2050)
    )
    assert float(ds["fdi_registrations"].sum()) > float(baseline["fdi_registrations"].sum())


def test_runs_do_not_leak_parameters(model, baseline):
    model.run({"vocational training": 25}, time_step=0.125)
    again = model.run()
    assert float(again["trained_labour_share"].sel(time=2050)) == float(
        baseline["trained_labour_share"].sel(time=2050)
    )
    assert again.attrs["time_step"] == model.time_step


def test_runs_equal_a_fresh_pysd_model(model):
    """The wrapper (defaults reset, memoised call counts, Euler step per stock) changes no number.

    The fresh model gets the one intended change, float SMOOTH states.
    """
    import pysd

    from hatinh_sd.pysd_runtime import adapt_smooth_states

    params = {"vocational training": 20, "formosa phase 2": 1, "logistics": 1.3}
    model.run({"labour export": 20})  # a previous run must not leak into the next
    ds = model.run(params)
    raw = pysd.load(str(model.py_path))
    adapt_smooth_states(raw)
    raw.set_components({model.py_name(k): v for k, v in model.calibration.items()})
    df = raw.run(
        params={model.py_name(k): v for k, v in params.items()},
        return_columns=model.outputs,
        time_step=model.time_step,
        saveper=1,
        final_time=model.final_time,
    )
    for var in model.outputs:
        column = var if var in df.columns else model.real_name(var)
        np.testing.assert_array_equal(ds[var].values, df[column].to_numpy(dtype=float), err_msg=var)


def test_integer_initial_value_does_not_truncate_smooth_input(model, baseline):
    """PySD keeps a SMOOTH's state in the dtype of its initial value.

    ``initial GRDP = 17330`` is an integer in the generated code; without
    float states the first input of ``GRDP recent`` is truncated to an integer
    and the run differs from one where the same value is set as a float.
    """
    again = model.run({"initial GRDP": 17330.0}, check_ranges=False)
    for var in ("grdp", "agricultural_employment", "urban_share"):
        np.testing.assert_array_equal(again[var].values, baseline[var].values, err_msg=var)
