"""The compiled kernel (hatinh_sd.compiled): PySD's translation flattened into one numba
function gives PySD's numbers, for many samples at once and for single runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hatinh_sd.compiled import (
    CHECK_RTOL,
    CompiledModel,
    UnsupportedModel,
    checked_engine,
    kernel_source,
)
from hatinh_sd.ensemble import ArrayModel

#: Outputs compared in the runs below: stocks, a delay, a sampled value, shares, targets.
OUTPUTS = [
    "grdp",
    "grdp_current",
    "grdp_last_year",  # DELAY FIXED
    "grdp_2020",  # SAMPLE IF TRUE
    "total_population",
    "employment_share_agriculture",
    "t01_average_grdp_growth_since_2020",
    "share_industry",
    "urbanisation_rate",
    "public_investment",
]


@pytest.fixture(scope="module")
def compiled(model):
    return CompiledModel(model)


@pytest.fixture(scope="module")
def draws(model):
    """50 draws of the uncertainty analysis (posterior jointly, the rest by Latin hypercube)."""
    from hatinh_sd.factors import load_factors
    from hatinh_sd.posterior import posterior_draws
    from hatinh_sd.uncertainty import draw_with_posterior

    factors = [f for f in load_factors(model=model) if f.group == "uncertainty"]
    names, values = draw_with_posterior(factors, posterior_draws(model), 50, 7)
    return {model.py_name(n): values[:, j] for j, n in enumerate(names)}


def test_kernel_gives_pysds_numbers_for_every_output_of_many_samples(model, compiled, draws):
    levers = {"vocational_training": 21.3, "formosa_phase_2": 1.0}
    every = compiled.outputs  # every component of the model
    times, ours = compiled.run(draws, levers, every, model.final_time)
    ref_times, ref = ArrayModel(model).run(draws, levers, every, model.final_time)
    np.testing.assert_array_equal(times, ref_times)
    assert ours.shape == ref.shape == (len(every), 50, 41)
    both_nan = np.isnan(ours) & np.isnan(ref)
    assert not (np.isnan(ours) ^ np.isnan(ref)).any()
    # within 1e-9 of the value, plus 1e-12 of the variable's largest value for a balance that
    # nets out near zero (government_balance: the rounding of the large terms it nets)
    scale = np.nan_to_num(np.nanmax(np.abs(ref), axis=(1, 2), keepdims=True))
    excess = np.abs(ours - ref) - (1e-9 * np.abs(ref) + 1e-12 * scale)
    excess = np.where(both_nan, 0.0, excess)
    assert excess.max() <= 0, every[int(np.unravel_index(excess.argmax(), excess.shape)[0])]
    relative = np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-9)
    assert np.nanmedian(relative) < 1e-14  # most values are the same to the last digits
    # the draws differ: a kernel that ignored them would fail here
    grdp = ours[every.index("grdp"), :, -1]
    assert grdp.std() / grdp.mean() > 0.01


def test_every_time_step_saved_and_the_threads_give_the_same_numbers(model, compiled, draws):
    _, one = compiled.run(draws, {}, OUTPUTS, 2030.0, saveper=model.time_step)
    two = CompiledModel(model, threads=2)
    times, split = two.run(draws, {}, OUTPUTS, 2030.0, saveper=model.time_step)
    assert times[0] == model.initial_time and times[-1] == 2030.0
    assert len(times) == round((2030 - model.initial_time) / model.time_step) + 1
    np.testing.assert_array_equal(one, split)
    _, ref = ArrayModel(model).run(draws, {}, OUTPUTS, 2030.0, saveper=model.time_step)
    np.testing.assert_allclose(one, ref, rtol=1e-10, atol=0)


def test_single_runs_are_model_runs(model, compiled):
    """The explorer's runs: Model.run's Dataset, settings checked against the ranges."""
    params = {"vocational training": 21.3, "thach khe mine": 1.0, "thach khe year": 2034.0}
    ds = compiled.run_dataset(params, outputs=OUTPUTS, scenario="test")
    ref = model.run(params, outputs=OUTPUTS)
    for v in OUTPUTS:
        np.testing.assert_allclose(ds[v].values, ref[v].values, rtol=1e-10, atol=0)
        assert ds[v].attrs == ref[v].attrs
    assert ds.attrs["engine"].startswith("compiled kernel (numba ")
    assert ds.attrs["scenario"] == "test" and ds.attrs["model_sha256"] == model.hash
    assert compiled.check_runs(model.run, OUTPUTS) <= CHECK_RTOL
    from hatinh_sd.errors import HatinhInputError

    with pytest.raises(HatinhInputError, match=r"\[3, 30\]"):
        compiled.run_dataset({"vocational training": 99.0}, outputs=OUTPUTS)


def test_bad_requests_are_refused(model, compiled):
    with pytest.raises(KeyError, match="not a constant"):
        compiled.run({"no_such_constant": np.ones(2)}, {}, ["grdp"], 2020.0)
    with pytest.raises(KeyError, match="not a component"):
        compiled.run({}, {}, ["no_such_output"], 2020.0)
    with pytest.raises(ValueError, match="multiple of the time step"):
        compiled.run({}, {}, ["grdp"], 2020.0, saveper=0.3)
    with pytest.raises(ValueError, match="different lengths"):
        compiled.run(
            {"inflation_rate": np.ones(2), "vocational_training": np.ones(3)}, {}, [], 2020
        )


SOURCE = """
from pysd import Component
component = Component()
_control_vars = {"initial_time": lambda: 0, "final_time": lambda: 2, "time_step": lambda: 0.5,
                 "saveper": lambda: 1}
@component.add(name="rate", comp_type="Constant")
def rate():
    return 0.1
@component.add(name="Stock", comp_type="Stateful")
def stock():
    return _integ_stock()
_integ_stock = Integ(lambda: rate() * stock(), lambda: 1, "_integ_stock")
"""


def test_the_generator_refuses_what_it_does_not_know():
    text = kernel_source(SOURCE, ["rate"], ["rate", "stock"])
    assert "s__integ_stock = s__integ_stock + r__integ_stock * DT" in text
    smooth = SOURCE.replace(
        "Integ(lambda: rate() * stock(), lambda: 1,",
        "Smooth(lambda: 1, lambda: 1, lambda: 1, lambda: 1,",
    )
    with pytest.raises(UnsupportedModel, match="Smooth is not supported"):
        kernel_source(smooth, ["rate"], ["rate", "stock"])
    with pytest.raises(UnsupportedModel, match="function np.tanh is not supported"):
        kernel_source(SOURCE.replace("return 0.1", "return np.tanh(0.1)"), [], ["rate", "stock"])
    loop = SOURCE.replace("return 0.1", "return other()") + (
        '\n@component.add(name="other")\ndef other():\n    return rate()\n'
    )
    with pytest.raises(UnsupportedModel, match="a loop without a stock: other -> rate -> other"):
        kernel_source(loop, [], ["other", "rate", "stock"])


def test_an_engine_that_disagrees_is_not_used(model, draws, monkeypatch, caplog):
    reference = ArrayModel(model)
    engine, name, diff = checked_engine(reference, draws, OUTPUTS)
    assert name == "compiled" and isinstance(engine, CompiledModel) and diff <= CHECK_RTOL
    monkeypatch.setattr(CompiledModel, "check", lambda *args: 1e-3)
    engine, name, diff = checked_engine(reference, draws, OUTPUTS)
    assert (engine, name, diff) == (reference, "pysd", 1e-3)
    assert "differs from PySD by 0.001" in caplog.text

    def unsupported(*args, **kwargs):
        raise UnsupportedModel("Smooth is not supported")

    monkeypatch.setattr(CompiledModel, "__init__", unsupported)
    engine, name, diff = checked_engine(reference, draws, OUTPUTS)
    assert engine is reference and name == "pysd" and math.isnan(diff)
    assert "Smooth is not supported" in caplog.text


def test_another_projects_model_compiles(tmp_path):
    from hatinh_sd.model import load_model
    from hatinh_sd.project import use_project
    from test_project import PROJECT

    with use_project(PROJECT):
        toy = load_model()
        compiled = CompiledModel(toy)
        every = compiled.outputs
        values = {"training": np.linspace(0.0, 1.0, 5)}
        _, ours = compiled.run(values, {}, every, toy.final_time)
        _, ref = ArrayModel(toy).run(values, {}, every, toy.final_time)
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)
