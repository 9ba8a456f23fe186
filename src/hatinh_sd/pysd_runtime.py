"""PySD adaptations: every change this package makes to PySD's runtime, in one place.

PySD 3.14 (``pysd>=3.14,<3.15`` in ``pyproject.toml``; each adaptation is tested against
PySD's own behaviour in ``tests/test_pysd_runtime.py``) runs the translated model one
parameter set at a time. The package changes five things of a loaded model:

1. :func:`memoise_call_counts`: callers are counted once per element, not at every run;
2. :func:`adapt_smooth_states`: SMOOTH states are floats (and (order, samples) wide in
   array mode), not the integer arrays an integer initial value gives;
3. :func:`euler_per_stock`: the Euler step updates each stock with its own value;
4. (array mode) the generated module's ``float`` and ``if_then_else`` let arrays of
   samples through (:func:`array_float`, :func:`per_sample`);
5. (array mode) a constant set to an array stays a constant (:func:`set_constants`).

:func:`scalar_mode` makes 1-3 (every :class:`hatinh_sd.model.Model`); :func:`array_mode`
makes all five (the ensemble engine's :class:`hatinh_sd.ensemble.ArrayModel`).
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "adapt_smooth_states",
    "array_float",
    "array_mode",
    "euler_per_stock",
    "memoise_call_counts",
    "per_sample",
    "scalar_mode",
    "set_constants",
]


def memoise_call_counts(pysd_model: Any) -> None:
    """Count each element's callers once instead of at every run.

    PySD re-derives its cache types at the start of every run that sets
    parameters, counting each element's callers over the whole dependency
    graph (about a third of a run's time here). The graph never changes in
    this package, which sets only values of constants, so the counts are
    computed once per element. Results are identical (tested against a fresh
    PySD model).
    """
    original = pysd_model._count_calls
    counts: dict[str, int] = {}

    def count_calls(element: str) -> int:
        if element not in counts:
            counts[element] = original(element)
        return counts[element]

    pysd_model._count_calls = count_calls


def euler_per_stock(pysd_model: Any) -> None:
    """Update each stock with its own value in PySD's Euler step.

    PySD gathers every stock's state and rate into one object array and adds
    them element by element; updating each stock directly gives the same
    numbers (every rate is computed before any state changes), saves about 5 %
    of a scalar run, and lets states be arrays of different shapes (the
    ensemble's array mode: stocks (samples,), SMOOTH states (order, samples)).
    """
    stocks = list(pysd_model._dynamicstateful_elements)

    def euler_step(dt: float) -> None:
        rates = [element.ddt() for element in stocks]
        states = [element.state for element in stocks]
        for element, state, rate in zip(stocks, states, rates, strict=True):
            element.update(state + rate * dt)

    pysd_model._euler_step = euler_step


def adapt_smooth_states(pysd_model: Any, samples: Callable[[], int] | None = None) -> None:
    """Make every SMOOTH state a float array, (order, samples) wide for ensembles.

    PySD's SMOOTH state is ``np.array([initial value] * order)``: an integer
    initial value (``initial GRDP = 17330``) gives an integer array, into which
    PySD then writes the first input, truncated. Casting the state to float
    removes that artefact (8e-8 relative in GRDP). With ``samples`` (the
    ensemble's array mode) a state made from a single initial value is
    repeated for each sample, so that inputs that differ between samples fit.
    """
    from pysd.py_backend.statefuls import Smooth

    for element in pysd_model._dynamicstateful_elements:
        if not isinstance(element, Smooth):
            continue
        original = element.initialize

        def initialize(init_val=None, element=element, original=original) -> None:
            original(init_val)
            state = np.asarray(element.state, dtype=float)
            if samples is not None and state.ndim == 1:
                state = np.repeat(state[:, None], samples(), axis=1)
            element.state = state

        element.initialize = initialize


def array_float(x: Any) -> Any:
    """``float`` of the generated code, letting arrays of samples through."""
    return x if isinstance(x, np.ndarray) else builtins.float(x)


def per_sample(if_then_else: Callable) -> Callable:
    """PySD's ``if_then_else``, choosing per sample when the condition is an array."""

    def choose(condition: Any, val_if_true: Callable, val_if_false: Callable) -> Any:
        if isinstance(condition, np.ndarray):
            if condition.all():
                return val_if_true()
            if not condition.any():
                return val_if_false()
            return np.where(condition, val_if_true(), val_if_false())
        return if_then_else(condition, val_if_true, val_if_false)

    return choose


def scalar_mode(pysd_model: Any) -> None:
    """Adaptations 1-3 of the module docstring (scalar runs)."""
    memoise_call_counts(pysd_model)
    adapt_smooth_states(pysd_model)
    euler_per_stock(pysd_model)


def array_mode(pysd_model: Any, samples: Callable[[], int]) -> None:
    """All five adaptations: the model runs ``samples()`` parameter sets at once, each
    varying constant an array (:func:`set_constants`)."""
    module = pysd_model.components._components
    module.float = array_float
    if hasattr(module, "if_then_else"):  # imported by PySD's translation when the model uses it
        module.if_then_else = per_sample(module.if_then_else)
    memoise_call_counts(pysd_model)
    adapt_smooth_states(pysd_model, samples)
    euler_per_stock(pysd_model)


def set_constants(pysd_model: Any, params: Mapping[str, Any]) -> None:
    """Set constants (PySD names) to numbers or arrays of samples.

    PySD files a callable (an array is given as one) as depending on ``time``, which
    would re-evaluate it, and everything using it, at every step; it is a constant still.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Replacing a constant value with a callable")
        pysd_model.set_components(dict(params))
    for py in params:
        pysd_model._dependencies[py] = {}
