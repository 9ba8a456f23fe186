"""Run many parameter sets of the model at once (the ensemble engine's array mode), for tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hatinh_sd.ensemble import ArrayModel

_ARRAY: dict[int, ArrayModel] = {}


def run_batch(
    model, samples: Sequence[Mapping[str, float]], outputs: Sequence[str]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run each parameter set of ``samples`` (model names -> values, the rest at defaults).

    Returns the saved times and, per output (PySD name), an array (sample, time).
    """
    if id(model) not in _ARRAY:
        _ARRAY[id(model)] = ArrayModel(model)
    engine = _ARRAY[id(model)]
    names = sorted({n for s in samples for n in s})
    defaults = model.defaults
    values = {
        model.py_name(n): np.array([float(s.get(n, defaults[n])) for s in samples]) for n in names
    }
    times, out = engine.run(values, {}, list(outputs), model.final_time)
    return times, {o: out[i] for i, o in enumerate(outputs)}
