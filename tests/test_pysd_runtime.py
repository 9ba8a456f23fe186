"""Each change hatinh_sd.pysd_runtime makes to PySD's runtime, against PySD's own behaviour.

A small model written here has what the adaptations touch: two coupled stocks, an
``IF THEN ELSE`` on a constant, and a SMOOTHI whose initial value is an integer.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hatinh_sd.pysd_runtime import (
    adapt_smooth_states,
    array_mode,
    euler_per_stock,
    memoise_call_counts,
    scalar_mode,
    set_constants,
)

pysd = pytest.importorskip("pysd")

MDL = """{UTF-8}
Stock A = INTEG(inflow a - outflow a, 10)
	~	widgets
	~	a stock fed by the other one.
	|
inflow a = IF THEN ELSE(switch > 0.5, rate * Stock B, rate)
	~	widgets/Year
	~	chooses on a constant.
	|
outflow a = Stock A * 0.05
	~	widgets/Year
	~	drain.
	|
Stock B = INTEG(growth b, 2)
	~	widgets
	~	grows.
	|
growth b = Stock B * rate
	~	widgets/Year
	~	reinforcing.
	|
smoothed = SMOOTHI(input signal, smooth time, initial level)
	~	widgets
	~	a smooth with an integer initial value.
	|
input signal = 7.3 + Time * 0.5
	~	widgets
	~	the smoothed input.
	|
initial level = 17
	~	widgets
	~	an integer, as initial GRDP is in the project's model.
	|
rate = 0.1
	~	1/Year
	~	varies between samples.
	|
switch = 1
	~	Dmnl
	~	1 takes the first branch.
	|
smooth time = 2
	~	Year
	~	smoothing time.
	|
INITIAL TIME = 0
	~	Year
	~	start.
	|
FINAL TIME = 10
	~	Year
	~	end.
	|
TIME STEP = 0.25
	~	Year
	~	step.
	|
SAVEPER = 1
	~	Year
	~	yearly.
	|
"""
OUT = ["stock_a", "stock_b", "smoothed"]


@pytest.fixture(scope="module")
def py_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runtime")
    (folder / "toy.mdl").write_text(MDL, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pysd.read_vensim(str(folder / "toy.mdl"), initialize=False)
    return str(folder / "toy.py")


def _load(py_file):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pysd.load(py_file)


def _run(model, params=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = model.run(params=params, return_columns=OUT)
    return df[OUT].to_numpy(dtype=float)


def _manual_smooth(times_step=0.25, final=10.0, tau=2.0, init=17.0):
    """SMOOTHI by Euler, in floats: the value at each whole year."""
    level, out = init, [init]
    for k in range(int(final / times_step)):
        t = k * times_step
        level += (7.3 + 0.5 * t - level) / tau * times_step
        if (k + 1) % int(1 / times_step) == 0:
            out.append(level)
    return np.array(out)


def test_memoised_call_counts_give_pysd_results_and_count_once(py_file):
    plain, patched = _load(py_file), _load(py_file)
    calls: dict[str, int] = {}
    original = patched._count_calls

    def counting(element):
        calls[element] = calls.get(element, 0) + 1
        return original(element)

    patched._count_calls = counting
    memoise_call_counts(patched)
    for params in ({"rate": 0.2}, {"rate": 0.05, "switch": 0}, None):
        np.testing.assert_array_equal(_run(patched, params), _run(plain, params))
    assert calls and max(calls.values()) == 1  # three runs, each element counted once


def test_smooth_states_are_floats(py_file):
    plain, patched = _load(py_file), _load(py_file)
    adapt_smooth_states(patched)
    got = _run(patched)[:, 2]
    np.testing.assert_allclose(got, _manual_smooth(), rtol=1e-12)
    # plain PySD keeps the integer state of the integer initial value and truncates
    # the first input written into it
    assert not np.allclose(_run(plain)[:, 2], _manual_smooth(), rtol=1e-12, atol=0)


def test_euler_per_stock_equals_pysd_euler(py_file):
    plain, patched = _load(py_file), _load(py_file)
    euler_per_stock(patched)
    for params in ({"rate": 0.2}, {"switch": 0}):
        np.testing.assert_allclose(
            _run(patched, params)[:, :2], _run(plain, params)[:, :2], rtol=1e-14
        )


def test_array_mode_runs_samples_as_the_scalar_runs_do(py_file):
    scalar = _load(py_file)
    scalar_mode(scalar)
    rates = np.array([0.02, 0.1, 0.3])
    switches = np.array([1.0, 0.0, 1.0])  # IF THEN ELSE chooses per sample
    arrays = _load(py_file)
    n = {"samples": len(rates)}
    array_mode(arrays, lambda: n["samples"])
    set_constants(arrays, {"rate": lambda: rates, "switch": lambda: switches})
    assert arrays._dependencies["rate"] == {} and arrays._dependencies["switch"] == {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = arrays.run(return_columns=OUT, flatten_output=False)
    for i, (r, s) in enumerate(zip(rates, switches, strict=True)):
        expected = _run(scalar, {"rate": r, "switch": s})
        for j, col in enumerate(OUT):
            got = np.array([np.broadcast_to(np.asarray(c, float), (3,))[i] for c in df[col]])
            np.testing.assert_allclose(got, expected[:, j], rtol=1e-12, err_msg=f"{col} {i}")
