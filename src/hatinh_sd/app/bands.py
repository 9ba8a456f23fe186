"""Live uncertainty bands of the explorer: 5-95 % of a fixed set of draws, run on request.

One set of :data:`LIVE_RUNS` draws is made per explorer process, exactly as
``hatinh-sd uncertainty`` draws them (:func:`hatinh_sd.uncertainty.draw_with_posterior`:
the posterior's draws of the fitted parameters jointly, in a seeded order, and a
seeded Latin hypercube of the other uncertain constants of the factor table), with
the seed of that command's default (:data:`LIVE_SEED`). For the settings on screen,
the levers are held at those settings and the draws run as one vectorised PySD run
(:class:`hatinh_sd.ensemble.ArrayModel`, the engine of :func:`hatinh_sd.ensemble.run_ensemble`,
kept loaded); the band is the 5th and 95th percentile over the runs at every year
(the same percentiles :func:`hatinh_sd.uncertainty.percentile_bands` gives). So
``hatinh-sd uncertainty --scenario NAME --n 200`` gives the band of a shipped
scenario again.

Why this engine (measured on the 2-core machine of issue 13; ``benchmarks/app_speed.py``
drives the page): the 200 draws run in the model's compiled kernel
(:class:`hatinh_sd.compiled.CompiledModel`, PySD's own translation compiled by numba), split
over two threads, in about 45 ms, once it has agreed with PySD's array engine within 1e-9 on
20 of the draws (:func:`band_engine`); PySD's vectorised run of the same draws takes about
0.45 s (0.3 s of it per-step Python overhead, however many draws), and SDEverywhere's JS
model about 5 ms a run in Node, 1 s for 200. PySD's array engine runs them when the kernel
cannot be built or disagrees. The ensemble runs in a worker process (``engine="process"``)
kept for the explorer's life, beside the page's own run of the same change.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.model import Model

__all__ = [
    "ENGINES",
    "LIVE_PERCENTILES",
    "LIVE_RUNS",
    "LIVE_SEED",
    "LiveBands",
    "LiveBandsUnavailable",
]

#: Runs of a live band (the issue asks for at least 200).
LIVE_RUNS = 200
#: Seed of the draws (the default of ``hatinh-sd uncertainty --seed``).
LIVE_SEED = 20260301
#: Percentiles drawn (the outermost of :data:`hatinh_sd.uncertainty.PERCENTILES`).
LIVE_PERCENTILES = (5.0, 95.0)
#: Where the ensemble runs: a worker process kept for the explorer's life (beside the
#: scalar runs of the Dash server, on another core), or the server's own process.
ENGINES = ("process", "inline")


def band_percentiles(
    engine, drawn: list[str], values: np.ndarray, fixed: Mapping[str, float], outputs: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Run the draws with ``engine`` (an :class:`~hatinh_sd.ensemble.ArrayModel`) and the
    settings ``fixed`` (PySD names); return the times and the percentiles
    :data:`LIVE_PERCENTILES` of each output (percentile, output, time)."""
    times, out = engine.run(
        {py: values[:, j] for j, py in enumerate(drawn)}, fixed, outputs, engine.model.final_time
    )
    with np.errstate(invalid="ignore"):
        return times, np.percentile(out, np.array(LIVE_PERCENTILES), axis=1)


def band_engine(reference, drawn: list[str], values: np.ndarray, outputs: list[str]):
    """The engine of the bands and its name: the compiled kernel
    (:class:`hatinh_sd.compiled.CompiledModel`) once it agrees with PySD's array engine
    ``reference`` on the first 20 draws (:func:`hatinh_sd.compiled.checked_engine`; its
    runs split over two threads, one a core), else ``reference``."""
    from hatinh_sd.compiled import checked_engine

    samples = {py: values[:, j] for j, py in enumerate(drawn)}
    engine, name, _diff = checked_engine(
        reference, samples, outputs, threads=min(2, os.cpu_count() or 1)
    )
    return engine, name


def _serve(
    conn,
    parent: int,
    paths: tuple[str, str | None],
    drawn: list[str],
    values: np.ndarray,
    outputs,
):
    """The worker process: load the model once, then answer settings with percentiles.

    It ends when the explorer's process closes the pipe or ends (not through
    ``prctl(PR_SET_PDEATHSIG)`` as the ensemble's workers: that fires when the
    thread that started the process ends, and a Dash request's thread is short-lived).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    from hatinh_sd.ensemble import _array_model

    engine, name = None, ""
    while True:
        try:
            fixed = conn.recv()
        except (EOFError, OSError):
            return
        if fixed is None:
            return
        try:
            if engine is None:
                engine, name = band_engine(_array_model(*paths), drawn, values, outputs)
            conn.send((True, (*band_percentiles(engine, drawn, values, fixed, outputs), name)))
        except Exception as exc:  # the explorer shows the failure; the worker keeps serving
            conn.send((False, f"{type(exc).__name__}: {exc}"))


class _Worker:
    """A worker process running the band ensembles (:func:`_serve`)."""

    def __init__(
        self,
        paths: tuple[str, str | None],
        drawn: list[str],
        values: np.ndarray,
        outputs: list[str],
    ):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve,
            args=(child, os.getpid(), paths, drawn, values, outputs),
            name="hatinh-sd-live-bands",
            daemon=True,
        )
        self.process.start()
        child.close()

    def run(self, fixed: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray, str]:
        self.conn.send(dict(fixed))
        ok, answer = self.conn.recv()
        if not ok:
            raise RuntimeError(answer)
        return answer

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()


class LiveBandsUnavailable(RuntimeError):
    """No live band can be computed; ``why`` is the catalogue key of the reason."""

    def __init__(self, why: str, detail: str = ""):
        super().__init__(detail or why)
        self.why = why


@dataclasses.dataclass
class LiveBand:
    """A live band: variable -> DataArray (percentile [low, high], time)."""

    variables: dict[str, xr.DataArray]
    runs: int
    seed: int
    seconds: float  # time the ensemble took
    engine: str = "pysd"  # "compiled" (the kernel, checked against PySD) or "pysd"


class LiveBands:
    """Bands of the settings on screen from :data:`LIVE_RUNS` fixed draws.

    Parameters
    ----------
    model : Model
    outputs : sequence of str
        Model variables banded (the charted ones).
    runs, seed : int
        Number of draws and their seed.
    posterior, factors : path, optional
        Posterior draws (``model/posterior.nc``) and factor table
        (``sensitivity/factors.csv``); ``posterior=False`` switches live bands off.
    cache_size : int
        Bands kept, by settings.
    engine : {"process", "inline"}
        Run the ensembles in a worker process (:data:`ENGINES`) or in this one.
    """

    def __init__(
        self,
        model: Model,
        outputs: Sequence[str],
        *,
        runs: int = LIVE_RUNS,
        seed: int = LIVE_SEED,
        posterior: Path | str | bool | None = None,
        factors: Path | str | None = None,
        cache_size: int = 32,
        engine: str = "process",
    ):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        self.engine = engine
        self.model = model
        self.outputs = list(outputs)
        self.runs = int(runs)
        self.seed = int(seed)
        self.posterior = posterior
        self.factors = factors
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, LiveBand] = OrderedDict()
        self._lock = threading.Lock()  # one ensemble at a time (a PySD model is not thread-safe)
        self._draws_lock = threading.Lock()
        self._engine: Any = None  # the worker process (_Worker) or the inline ArrayModel
        self._draws: tuple[list[str], np.ndarray] | None = None
        self._error: LiveBandsUnavailable | None = None
        self.computed = 0  # ensembles run (not served from the cache)

    # ------------------------------------------------------------ draws
    def draws(self) -> tuple[list[str], np.ndarray]:
        """The constants drawn (model names) and their values (runs x constants).

        Exactly the draws of ``hatinh-sd uncertainty --n RUNS --seed SEED``.

        Raises
        ------
        LiveBandsUnavailable
            Without posterior draws of this model (``why``: ``posterior``).
        """
        with self._draws_lock:  # netCDF files must not be read by two threads at once
            return self._make_draws()

    def _make_draws(self) -> tuple[list[str], np.ndarray]:
        if self._draws is None:
            if self._error is not None:
                raise self._error
            if self.posterior is False:
                self._error = LiveBandsUnavailable("off")
                raise self._error
            from hatinh_sd.factors import load_factors
            from hatinh_sd.posterior import posterior_draws
            from hatinh_sd.uncertainty import draw_with_posterior

            try:
                factors = [
                    f for f in load_factors(self.factors, self.model) if f.group == "uncertainty"
                ]
                path = self.posterior if isinstance(self.posterior, str | Path) else None
                post = posterior_draws(self.model, path)
                self._draws = draw_with_posterior(factors, post, self.runs, self.seed)
            except (HatinhInputError, OSError, ValueError) as exc:
                self._error = LiveBandsUnavailable("posterior", str(exc))
                raise self._error from None
        return self._draws

    @property
    def available(self) -> bool:
        """Whether live bands can be computed (draws made; loads them)."""
        try:
            self.draws()
        except LiveBandsUnavailable:
            return False
        return True

    def why(self) -> str:
        """Catalogue key suffix of the reason there are no live bands (``""`` if there are)."""
        return self._error.why if self._error is not None else ""

    def warm(self) -> None:
        """Make the draws and load the engine, and run it once (the first run is slower)."""
        try:
            self.band({})
        except LiveBandsUnavailable:
            pass

    # ------------------------------------------------------------ bands
    def close(self) -> None:
        """End the worker process (if any)."""
        with self._lock:
            if isinstance(self._engine, _Worker):
                self._engine.close()
            self._engine = None

    @staticmethod
    def key(params: Mapping[str, float]) -> tuple:
        return tuple(sorted((k, float(v)) for k, v in params.items()))

    def cached(self, params: Mapping[str, float]) -> LiveBand | None:
        """The band of ``params`` if it was computed already (never runs anything)."""
        return self._cache.get(self.key(params))

    def band(self, params: Mapping[str, float]) -> LiveBand:
        """The band of settings ``params`` (model name -> value), from the cache or run.

        Raises
        ------
        LiveBandsUnavailable
            Without posterior draws (``posterior``), or when the run fails
            (``failed``).
        """
        key = self.key(params)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            names, values = self.draws()
            t0 = time.perf_counter()
            try:
                variables, engine = self._run(names, values, params)
            except LiveBandsUnavailable:
                raise
            except Exception as exc:  # an engine failure leaves the explorer serving
                raise LiveBandsUnavailable("failed", f"{type(exc).__name__}: {exc}") from None
            band = LiveBand(variables, self.runs, self.seed, time.perf_counter() - t0, engine)
            self.computed += 1
            self._cache[key] = band
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return band

    def _run(
        self, names: list[str], values: np.ndarray, params: Mapping[str, float]
    ) -> tuple[dict[str, xr.DataArray], str]:
        model = self.model
        fixed = model.resolve_params(dict(params), source="app")
        drawn = [model.py_name(n) for n in names]
        clash = sorted(set(fixed) & set(drawn))
        if clash:
            raise LiveBandsUnavailable("failed", f"settings fix drawn constants {clash}")
        out_py = [model.py_name(o) for o in self.outputs]
        if self.engine == "process":
            if self._engine is None or not self._engine.process.is_alive():
                cal = str(model.calibration_path) if model.calibration_path else None
                self._engine = _Worker((str(model.mdl_path), cal), drawn, values, out_py)
            try:
                times, pct, engine = self._engine.run(fixed)
            except (EOFError, OSError):  # the worker died: a new one next time
                self._engine = None
                raise
        else:
            if self._engine is None:
                from hatinh_sd.ensemble import ArrayModel

                self._engine = band_engine(ArrayModel(model), drawn, values, out_py)
            times, pct = band_percentiles(self._engine[0], drawn, values, fixed, out_py)
            engine = self._engine[1]
        q = np.array(LIVE_PERCENTILES)
        return {
            name: xr.DataArray(
                pct[:, i, :],
                dims=("percentile", "time"),
                coords={"percentile": q, "time": times},
                attrs=model._attrs.get(py, {}),
            )
            for i, (name, py) in enumerate(zip(self.outputs, out_py, strict=True))
        }, engine
