"""Scalar runs of the calibrated model by pysimlin, checked against PySD.

PySD is the project's engine and reference. For the explorer, whose every slider
change is one run, :class:`SimlinRunner` runs the calibrated export of the model
(:func:`hatinh_sd.mdlexport.calibrated_mdl` with ``engine="simlin"``) in pysimlin's
compiled simulator: about 15 ms a run on the 2-core machine against about 160 ms
for PySD (``benchmarks/app_speed.py``). It returns the same Dataset as
:meth:`hatinh_sd.model.Model.run` (units, provenance, ``engine`` attribute), and it
is used only after :meth:`SimlinRunner.check_runs` has found it within :data:`CHECK_RTOL`
of PySD on the baseline and on settings across every lever's range
(``hatinh-sd crosscheck`` checks the same agreement over 20 parameter sets in CI).

Example
-------
>>> from hatinh_sd.model import load_model
>>> runner = SimlinRunner(load_model())  # doctest: +SKIP
>>> runner.check_runs(load_model().run, ["grdp"])  # largest relative difference  # doctest: +SKIP
2.1e-13
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.model import Model

__all__ = [
    "CHECK_RTOL",
    "SimlinRunner",
    "check_runner",
    "check_sets",
    "import_simlin",
    "largest_difference",
    "simlin_name",
]

#: Largest relative difference from PySD (relative to max(|PySD value|, 1e-9)) at which
#: pysimlin's runs are used (the cross-check's bound, :mod:`hatinh_sd.crosscheck`).
CHECK_RTOL = 1e-9


def import_simlin() -> Any:
    """The ``simlin`` module (pysimlin); one line naming the package when it is missing."""
    try:
        import simlin
    except ImportError as exc:
        raise HatinhInputError(
            f"pysimlin is not installed ({exc}); install it: pip install pysimlin",
            key="engine",
        ) from None
    return simlin


def simlin_name(name: str) -> str:
    """Simlin's name of a Vensim variable (lower case, spaces as underscores)."""
    return "_".join(name.lower().replace("_", " ").split())


def check_sets(model: Model) -> list[dict[str, float]]:
    """Lever settings the runner is checked on: the baseline, every lever at the bottom of
    its range, every lever at the top (by model name)."""
    levers = model.levers()
    return [
        {},
        {name: float(p.low) for name, p in levers.items()},
        {name: float(p.high) for name, p in levers.items()},
    ]


def largest_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest of |a - b| / max(|b|, 1e-9); NaN in both counts as equal, in one as infinite."""
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.abs(a - b) / np.maximum(np.abs(b), 1e-9)
    diff = np.where(both_nan, 0.0, np.where(np.isnan(diff), np.inf, diff))
    return float(diff.max()) if diff.size else 0.0


def check_runner(
    run: Callable[..., xr.Dataset],
    reference: Callable[..., xr.Dataset],
    model: Model,
    outputs: Iterable[str],
) -> float:
    """Largest relative difference (:func:`largest_difference`) between a fast engine's runs
    ``run`` and ``reference`` (``Model.run``; both with ``Model.run``'s signature) over
    ``outputs`` and every year, on :func:`check_sets`."""
    outputs = list(outputs)
    worst = 0.0
    for params in check_sets(model):
        ours = run(params, outputs=outputs)
        ref = reference(params, outputs=outputs)
        for v in outputs:
            py = model.py_name(v)
            worst = max(worst, largest_difference(ours[py].values, ref[py].values))
    return worst


class SimlinRunner:
    """Runs of the calibrated model by pysimlin, returned as :meth:`Model.run` returns them.

    Only the levers (and other constants with a range in the ``.mdl``) can be set, as
    in the explorer; every lever is set on every run (to its value or its default), so
    no setting of an earlier run carries over. Runs are serialised by a lock.
    """

    def __init__(self, model: Model):
        from hatinh_sd.mdlexport import calibrated_mdl

        simlin = import_simlin()
        self.model = model
        with tempfile.TemporaryDirectory(prefix="hatinh-simlin-") as tmp:
            path = Path(tmp) / "hatinh_simlin.mdl"
            path.write_text(calibrated_mdl(model, engine="simlin"), encoding="utf-8")
            self._sim = simlin.load(path).simulate()
        known = set(self._sim.get_var_names())
        self._levers = {model.py_name(name): simlin_name(name) for name in model.levers()}
        missing = sorted(s for s in self._levers.values() if s not in known)
        if missing:
            raise HatinhInputError(f"pysimlin cannot set {', '.join(missing)}", key="engine")
        self._defaults = {
            py: float(model.parameters[model.real_name(py)].default) for py in self._levers
        }
        self._series = {
            py: simlin_name(real)
            for real, py in zip(model.doc["Real Name"], model.doc["Py Name"])
            if simlin_name(real) in known
        }
        self._lock = threading.Lock()
        self.runs = 0
        self.version = f"pysimlin {version('pysimlin')}"

    def run_dataset(
        self,
        params: Mapping[str, float] | None = None,
        *,
        outputs: Iterable[str],
        scenario: str = "custom",
        source: str = "parameters",
    ) -> xr.Dataset:
        """The run for lever settings ``params`` (model or Python names), variables
        ``outputs``: the Dataset :meth:`Model.run` returns, ``engine`` attribute ``pysimlin``.

        Raises
        ------
        HatinhInputError
            For a name that is not a lever or a value outside its range (as
            :meth:`Model.run`), or an output pysimlin does not compute.
        """
        overrides = self.model.resolve_params(params, source=source)
        other = sorted(k for k in overrides if k not in self._levers)
        if other:
            raise HatinhInputError(
                f"only levers can be set here, not {', '.join(other)}", path=source
            )
        columns = [self.model.py_name(o) for o in outputs]
        absent = [c for c in columns if c not in self._series]
        if absent:
            raise HatinhInputError(f"pysimlin does not compute {', '.join(absent)}", key="outputs")
        with self._lock:
            sim = self._sim
            sim.reset()
            for py, name in self._levers.items():
                sim.set_value(name, overrides.get(py, self._defaults[py]))
            sim.run_to_end()
            times = np.asarray(sim.get_series("time"), dtype=float)
            values = {c: np.asarray(sim.get_series(self._series[c]), dtype=float) for c in columns}
            self.runs += 1
        df = pd.DataFrame(values, index=pd.Index(times, name="time"))
        ds = self.model.to_dataset(df, columns, overrides, self.model.time_step, scenario)
        ds.attrs["engine"] = self.version
        return ds

    def check_runs(self, reference: Callable[..., xr.Dataset], outputs: Iterable[str]) -> float:
        """Largest relative difference from ``reference`` (``Model.run``):
        :func:`check_runner` of this runner."""
        return check_runner(self.run_dataset, reference, self.model, outputs)
