"""Ensembles: many parameter sets of the model in one PySD run per chunk.

The engine runs PySD's own translation of ``model/hatinh.mdl`` (the file the
scalar runs use, cached by the model's hash) with each varying constant set to
a numpy array holding one value per sample, so that one PySD run integrates a
whole chunk of samples at numpy speed (:class:`ArrayModel`). An earlier
version gave the varying elements a Vensim subscript ``sample`` instead; PySD
then carried every sample-dependent value as an xarray DataArray, whose
per-operation overhead held the engine to about 12 runs/s here.

A sweep is cut into chunks; each chunk runs in a worker process (a local
process pool by default, or the workers of a Dask cluster) that loads the
model once and receives only the chunk's sample array. Finished chunks are
written to a store folder as they arrive (netCDF, atomically), so an
interrupted sweep resumes where it stopped with the same result. Each chunk
re-runs a few of its samples with the scalar :meth:`Model.run` and fails if
any output differs by more than :data:`CHECK_RTOL` relative.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.invariants import Invariant, invariants, violations
from hatinh_sd.model import Model, library_versions, load_model
from hatinh_sd.project import current_project
from hatinh_sd.pysd_runtime import array_mode, set_constants
from hatinh_sd.results import fingerprint
from hatinh_sd.workers import stop_with_parent

__all__ = [
    "CHECK_RTOL",
    "ANNUAL_SUFFIX",
    "DEFAULT_CHUNK_SIZE",
    "EnsembleCheckError",
    "ArrayModel",
    "bad_runs",
    "run_ensemble",
]

#: Samples per PySD run unless told otherwise. Model v2 (816 elements, 320
#: steps) spends about 0.55 s per run on PySD's per-step Python overhead and
#: 0.18 ms per sample, so one core does about 1,000 runs/s at 1,000 samples and
#: 1,400 at 2,500 (2-core machine, before the two scalar cross-checks of 0.23 s
#: each); larger chunks only delay the first results and resume in coarser steps.
DEFAULT_CHUNK_SIZE = 2500

#: Suffix of the calendar-year means ``run_ensemble(annual=...)`` returns.
ANNUAL_SUFFIX = "_annual"

#: Largest relative difference allowed between a vectorised and a scalar run.
CHECK_RTOL = 1e-9


class EnsembleCheckError(RuntimeError):
    """A vectorised run disagrees with the scalar run of the same parameters."""


# ------------------------------------------------------------------ array mode
class ArrayModel:
    """PySD's translation of the model, run with an array of samples per constant.

    The generated code is the scalar model's own (:attr:`Model.py_path`, the
    translation cached by the ``.mdl``'s hash), not a variant: each constant
    that varies between samples returns a numpy array, and numpy broadcasting
    carries the samples through every equation in one PySD run. The adaptations
    that let arrays through where PySD expects numbers are
    :func:`hatinh_sd.pysd_runtime.array_mode`'s.
    """

    def __init__(self, model: Model):
        import pysd

        self.model = model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.pysd = pysd.load(str(model.py_path))
        self.samples = 1
        array_mode(self.pysd, lambda: self.samples)
        self.pysd.set_components({model.py_name(k): v for k, v in model.calibration.items()})
        self._changed: set[str] = set()

    def run(
        self,
        values: Mapping[str, np.ndarray],
        fixed: Mapping[str, float],
        outputs: Sequence[str],
        final_time: float,
        saveper: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the samples; return times and an array (output, sample, time).

        ``values`` maps PySD names of constants to arrays of equal length (one
        value per sample), ``fixed`` maps PySD names to numbers; ``saveper``
        is the saving interval (a multiple of the time step).
        """
        lengths = {len(v) for v in values.values()}
        if len(lengths) > 1:
            raise ValueError(f"factor arrays of different lengths: {sorted(lengths)}")
        self.samples = lengths.pop() if lengths else 1
        defaults = self.model._constant_defaults
        overrides: dict[str, float | np.ndarray] = {
            **fixed,
            **{py: np.asarray(v, dtype=float) for py, v in values.items()},
        }
        params: dict[str, Any] = {py: defaults[py] for py in self._changed if py not in overrides}
        for py, value in overrides.items():
            params[py] = (lambda v=value: v) if isinstance(value, np.ndarray) else float(value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            set_constants(self.pysd, params)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                df = self.pysd.run(
                    return_columns=list(outputs),
                    time_step=self.model.time_step,
                    saveper=saveper,
                    final_time=final_time,
                    cache_output=False,
                    flatten_output=False,
                )
        self._changed = set(overrides)
        out = np.empty((len(outputs), self.samples, len(df.index)))
        for i, col in enumerate(outputs):
            for j, cell in enumerate(df[col]):
                out[i, :, j] = np.broadcast_to(np.asarray(cell, dtype=float), (self.samples,))
        return df.index.to_numpy(dtype=float), out


_LOADED: dict[tuple[str, str], ArrayModel] = {}


def _array_model(mdl_path: str, calibration_path: str | None) -> ArrayModel:
    """The process's array model of ``mdl_path`` with a calibration file (``None``: none),
    loaded once and reused for every chunk. Both paths are given: a worker process does not
    know its parent's project."""
    model = load_model(mdl_path, calibration_path)
    key = (mdl_path, model.hash + model.calibration_hash)
    if key not in _LOADED:
        _LOADED[key] = ArrayModel(model)
    return _LOADED[key]


def run_chunk(spec: dict[str, Any], index: int, sample: np.ndarray) -> dict[str, Any]:
    """Run one chunk of samples (the task a worker receives).

    Parameters
    ----------
    spec : dict
        The sweep's description: ``mdl_path``, ``chunk_size``, ``factors`` (PySD
        names, the columns of ``sample``), ``fixed`` (PySD name -> value),
        ``outputs``, ``stocks``, ``final_time``, ``checks``.
    index : int
        The chunk's number.
    sample : ndarray
        Factor values, shape (n, len(factors)).

    Returns
    -------
    dict
        ``index``, ``time``, ``values`` (output, sample, time), ``stock_min``
        (stock, sample) and ``check`` (largest relative difference found).
    """
    vec = _array_model(spec["mdl_path"], spec["calibration_path"])
    n = sample.shape[0]
    values = {py: sample[:, j] for j, py in enumerate(spec["factors"])}
    annual = list(spec.get("annual", ()))
    checks = [Invariant(*c) for c in spec.get("invariants", ())]
    columns = list(
        dict.fromkeys([*spec["outputs"], *spec["stocks"], *annual, *(c.variable for c in checks)])
    )
    if annual:  # integrate as always, save every step, then take the years and the year means
        fine, out = vec.run(
            values, spec["fixed"], columns, spec["final_time"], saveper=vec.model.time_step
        )
        years = np.arange(math.ceil(fine[0] - 1e-9), math.floor(fine[-1] + 1e-9) + 1.0)
        at = np.array([int(np.argmin(np.abs(fine - y))) for y in years])
        means = np.stack(
            [
                np.stack(
                    [
                        out[columns.index(a)][
                            :, (fine >= y - 0.5 - 1e-9) & (fine < y + 0.5 - 1e-9)
                        ].mean(axis=1)
                        for y in years
                    ],
                    axis=1,
                )
                for a in annual
            ]
        )
        times, out = years, out[:, :, at]
    else:
        times, out = vec.run(values, spec["fixed"], columns, spec["final_time"])
        means = np.empty((0, n, len(times)))
    n_out = len(spec["outputs"])
    first = violations(checks, {c.variable: out[columns.index(c.variable)] for c in checks}, times)
    stock_idx = [columns.index(s) for s in spec["stocks"]]
    stock_min = np.nanmin(out[stock_idx], axis=2) if stock_idx else np.empty((0, n))
    worst = 0.0
    for k in sorted({int(c) for c in np.linspace(0, n - 1, spec["checks"])} if n else set()):
        params = {
            vec.model.real_name(py): float(sample[k, j]) for j, py in enumerate(spec["factors"])
        }
        params.update({vec.model.real_name(py): v for py, v in spec["fixed"].items()})
        ds = vec.model.run(params, outputs=spec["outputs"], check_ranges=False)
        ds = ds.sel(time=times)
        for i, py in enumerate(spec["outputs"]):
            a, b = out[i, k, :], ds[py].values
            scale = np.maximum(np.abs(a), np.abs(b))
            diff = np.abs(a - b)
            rel = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), 0.0)
            rel = np.where(np.isnan(a) & np.isnan(b), 0.0, rel)
            r = float(np.max(rel)) if rel.size else 0.0
            if np.isnan(r) or r > CHECK_RTOL:
                raise EnsembleCheckError(
                    f"chunk {index}, sample {k}: vectorised '{py}' differs from the scalar run "
                    f"by {r:.3g} relative (> {CHECK_RTOL:g}); parameters {params}"
                )
            worst = max(worst, r)
    return {
        "index": index,
        "time": times,
        "values": out[:n_out],
        "annual": means,
        "stock_min": stock_min,
        "violations": first,
        "check": worst,
    }


# ---------------------------------------------------------------------- sweep
def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _chunk_dataset(res: dict[str, Any], start: int, spec: dict[str, Any]) -> xr.Dataset:
    n = res["values"].shape[1]
    data = {py: (("sample", "time"), res["values"][i]) for i, py in enumerate(spec["outputs"])}
    for i, py in enumerate(spec.get("annual", ())):
        data[f"{py}{ANNUAL_SUFFIX}"] = (("sample", "time"), res["annual"][i])
    data["stock_min"] = (("stock", "sample"), res["stock_min"])
    checks = [c[0] for c in spec.get("invariants", ())]
    if checks:
        data["invariant_first_violation"] = (("invariant", "sample"), res["violations"])
    return xr.Dataset(
        data,
        coords={
            "sample": np.arange(start, start + n),
            "time": res["time"],
            "stock": list(spec["stocks"]),
            **({"invariant": checks} if checks else {}),
        },
        attrs={"check_max_rel_diff": float(res["check"])},
    )


def _write_chunk(ds: xr.Dataset, path: Path) -> None:
    from hatinh_sd.results import write_netcdf

    write_netcdf(ds, path)


def _open_chunk(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stored_chunk(path: Path, digest: str | None, start: int, size: int) -> tuple[Any, str]:
    """A stored chunk if it is the one recorded (checksum, rows), else ``None`` and why."""
    if not path.exists():
        return None, "missing" if digest else ""
    if path.is_dir():
        shutil.rmtree(path)
        return None, "a folder, not a file"
    if digest is None:
        return None, "not in the manifest"
    try:
        if _file_sha256(path) != digest:
            return None, "checksum differs from the manifest"
        ds = _open_chunk(path)
    except (OSError, ValueError, RuntimeError) as exc:
        return None, f"unreadable ({type(exc).__name__})"
    rows = ds["sample"].values if "sample" in ds.coords else np.array([])
    if not np.array_equal(rows, np.arange(start, start + size)):
        return None, "holds other samples"
    return ds, ""


class _Progress:
    """A progress bar on a terminal; elsewhere (logs, CI) one plain line per finished chunk."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.total, self.done, self.enabled = total, done, enabled
        self._bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, unit="run", desc="ensemble")

    def update(self, runs: int) -> None:
        self.done += runs
        if self._bar is not None:
            self._bar.update(runs)
        elif self.enabled:
            print(f"ensemble: {self.done:,} of {self.total:,} runs done", file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _Executor:
    """Submit chunks to local processes, a Dask cluster or this process."""

    def __init__(self, backend: str, scheduler: str | None, workers: int, timeout: float):
        self.backend = backend
        self._pool: Any = None
        self._client: Any = None
        self._cluster: Any = None
        if backend == "local":
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=stop_with_parent,
                initargs=(os.getpid(),),
            )
        elif backend == "dask":
            try:
                from distributed import Client, LocalCluster
            except ImportError as exc:  # pragma: no cover
                raise HatinhInputError(
                    "the Dask backend needs 'dask[distributed]'", key="--scheduler"
                ) from exc
            if not scheduler or scheduler == "local":
                self._cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
                self._client = Client(self._cluster)
            else:
                try:
                    self._client = Client(scheduler, timeout=timeout)
                except (OSError, TimeoutError, ValueError) as exc:
                    raise HatinhInputError(
                        f"no Dask scheduler answers at '{scheduler}' ({type(exc).__name__}); "
                        "give tcp://HOST:PORT of a running scheduler or 'local'",
                        key="--scheduler",
                    ) from None
        elif backend != "inline":
            raise HatinhInputError(
                f"unknown backend '{backend}'; allowed: local, dask, inline", key="backend"
            )

    def map(self, spec: dict[str, Any], tasks: list[tuple[int, np.ndarray]]):
        """Yield results as chunks finish."""
        if self.backend == "inline":
            for index, sample in tasks:
                yield run_chunk(spec, index, sample)
        elif self.backend == "local":
            futures = [self._pool.submit(run_chunk, spec, i, s) for i, s in tasks]
            try:
                for fut in as_completed(futures):
                    yield fut.result()
            finally:
                for fut in futures:
                    fut.cancel()
        else:
            from distributed import as_completed as dask_completed

            futures = [self._client.submit(run_chunk, spec, i, s, pure=False) for i, s in tasks]
            try:
                for fut in dask_completed(futures):
                    yield fut.result()
            finally:
                self._client.cancel(futures)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def run_ensemble(
    sample: np.ndarray | pd.DataFrame,
    factors: Sequence[str],
    *,
    outputs: Iterable[str],
    model: Model | None = None,
    fixed: Mapping[str, float] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    backend: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    store: Path | str | None = None,
    final_time: float | None = None,
    checks_per_chunk: int = 2,
    annual: Iterable[str] = (),
    seed: int | None = None,
    progress: bool = True,
    max_chunks: int | None = None,
    timeout: float = 10.0,
) -> xr.Dataset:
    """Run the model for every row of ``sample`` and return the results.

    Parameters
    ----------
    sample : ndarray or DataFrame
        Factor values, one row per run, one column per factor (in the factors'
        own units).
    factors : sequence of str
        Model (or PySD) names of the constants the columns set.
    outputs : iterable of str
        Model variables to return (model or PySD names).
    model : Model, optional
        The scalar model (``load_model()``); its defaults (calibration applied)
        are the values of every constant not in ``factors`` or ``fixed``.
    fixed : mapping, optional
        Constants held at a value in every run (a scenario's levers).
    chunk_size : int
        Samples per PySD run (and per file in ``store``).
    backend : {"local", "dask", "inline"}
        Local process pool, a Dask cluster (``scheduler``: ``tcp://HOST:PORT``
        or ``local`` for a LocalCluster), or this process.
    workers : int, optional
        Processes of the local pool or the LocalCluster (CPU count by default).
    store : path, optional
        Folder where finished chunks are written; a sweep with the same
        description resumes from them.
    final_time : float, optional
        Last year simulated (the model's FINAL TIME by default).
    checks_per_chunk : int
        Samples of each chunk re-run with the scalar model and compared.
    annual : iterable of str
        Model variables also returned as calendar-year means (as annual statistics
        are defined): ``<name>_annual`` at time Y is the mean over [Y - 0.5, Y + 0.5)
        of model time (the calendar year Y), from the values at every time step.
    seed : int, optional
        Recorded in the result's attributes (the seed that drew ``sample``).
    max_chunks : int, optional
        Stop after this many new chunks (to test interruption); the result
        then holds only the finished chunks.

    Returns
    -------
    xarray.Dataset
        Each output with dims (sample, time); the factors' values as
        coordinates along ``sample``; ``stock_min`` (stock, sample); attributes
        with the model hash, seed, chunk size and the largest check difference.
    """
    model = model or load_model()
    factor_py = [model.py_name(f) for f in factors]
    values = np.asarray(sample, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(factor_py):
        raise ValueError(f"sample must have shape (n, {len(factor_py)}), got {values.shape}")
    out_py = [model.py_name(o) for o in outputs]
    fixed_py = model.resolve_params(fixed or {}, source="fixed")
    overlap = set(fixed_py) & set(factor_py)
    if overlap:
        raise ValueError(f"constants both fixed and varied: {sorted(overlap)}")
    if chunk_size < 1:
        raise HatinhInputError("chunk size must be at least 1", key="chunk_size")
    final = float(final_time if final_time is not None else model.final_time)
    spec: dict[str, Any] = {
        "mdl_path": str(model.mdl_path),
        "calibration_path": str(model.calibration_path) if model.calibration_path else None,
        "chunk_size": int(chunk_size),
        "factors": factor_py,
        "fixed": fixed_py,
        "outputs": out_py,
        "stocks": [model.py_name(s) for s in model.stocks],
        "final_time": final,
        "checks": int(checks_per_chunk),
        "invariants": [list(dataclasses.astuple(c)) for c in invariants(model)],
    }
    if annual:
        spec["annual"] = [model.py_name(a) for a in annual]
    n = values.shape[0]
    starts = list(range(0, n, chunk_size))
    manifest = {
        "model_sha256": model.hash,
        "calibration_sha256": model.calibration_hash,
        "spec": {k: v for k, v in spec.items() if k not in ("mdl_path", "calibration_path")},
        "n": n,
        "sample_sha256": hashlib.sha256(values.tobytes()).hexdigest(),
        "seed": seed,
    }
    chunks: dict[int, xr.Dataset] = {}
    folder = Path(store) if store is not None else None
    digests: dict[str, str] = {}  # chunk file -> SHA-256, recorded as chunks are written

    def save_manifest(folder: Path) -> None:
        from hatinh_sd.results import atomic_file

        with atomic_file(folder / "manifest.json") as tmp:
            tmp.write_text(json.dumps({**manifest, "chunks": digests}, indent=1))

    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        mpath = folder / "manifest.json"
        old = None
        announced = False
        if mpath.exists():
            try:
                old = json.loads(mpath.read_text(encoding="utf-8"))
                if not isinstance(old, dict) or not isinstance(old.get("chunks", {}), dict):
                    raise ValueError("not a manifest")
            except (OSError, ValueError) as exc:
                print(
                    f"hatinh-sd: {mpath}: unreadable ({type(exc).__name__}); every chunk is"
                    " recomputed",
                    file=sys.stderr,
                )
                old = {**manifest, "chunks": {}}
                announced = True
            recorded = {k: v for k, v in old.items() if k != "chunks"}
            if _digest(recorded) != _digest(manifest):
                raise HatinhInputError(
                    "the store holds chunks of a different sweep (model, factors, outputs, "
                    "sample or chunk size differ); remove it or choose another folder",
                    path=folder,
                )
        recorded_chunks = dict((old or {}).get("chunks", {}))
        redo = []
        for i, s in enumerate(starts):
            name = f"chunk-{i:05d}.nc"
            ds, why = _stored_chunk(
                folder / name, recorded_chunks.get(name), s, min(chunk_size, n - s)
            )
            if ds is not None:
                chunks[i] = ds
                digests[name] = recorded_chunks[name]
            elif why:
                redo.append(f"{name} ({why})")
        if redo and not announced:
            print(
                f"hatinh-sd: {folder}: recomputing {len(redo)} stored chunk(s): "
                + ", ".join(redo[:3])
                + (" ..." if len(redo) > 3 else ""),
                file=sys.stderr,
            )
        save_manifest(folder)
    todo = [(i, values[s : s + chunk_size]) for i, s in enumerate(starts) if i not in chunks]
    if max_chunks is not None:
        todo = todo[:max_chunks]
    if todo:
        bar = _Progress(n, sum(c.sizes["sample"] for c in chunks.values()), progress)
        executor = _Executor(backend, scheduler, workers or os.cpu_count() or 1, timeout)
        try:
            for res in executor.map(spec, todo):
                ds = _chunk_dataset(res, starts[res["index"]], spec)
                if folder is not None:
                    name = f"chunk-{res['index']:05d}.nc"
                    _write_chunk(ds, folder / name)
                    digests[name] = _file_sha256(folder / name)
                    save_manifest(folder)
                chunks[res["index"]] = ds
                bar.update(ds.sizes["sample"])
        finally:
            executor.close()
            bar.close()
    if not chunks:
        raise ValueError("empty sample")
    ds = xr.concat([chunks[i] for i in sorted(chunks)], dim="sample")
    rows = ds["sample"].values
    for j, py in enumerate(factor_py):  # the per-run factor values, kept with the outputs
        ds = ds.assign_coords(
            {py: ("sample", values[rows, j], {**model._attrs.get(py, {}), "role": "factor"})}
        )
    for py in out_py:
        ds[py].attrs = model._attrs[py]
    for py in spec.get("annual", ()):
        ds[f"{py}{ANNUAL_SUFFIX}"].attrs = {
            **model._attrs[py],
            "cell_methods": "time: mean over the calendar year",
        }
    ds.attrs = {
        "title": f"{current_project().title['en']} ensemble (hatinh-sd)",
        **fingerprint(model),
        "library_versions": json.dumps(library_versions()),
        "factors": json.dumps([model.real_name(p) for p in factor_py], ensure_ascii=False),
        "fixed": json.dumps({model.real_name(k): v for k, v in fixed_py.items()}),
        "seed": "none" if seed is None else int(seed),
        "chunk_size": int(chunk_size),
        "n_samples": int(n),
        "complete": int(len(chunks) == len(starts)),
        "check_max_rel_diff": float(
            max(float(chunks[i].attrs.get("check_max_rel_diff", 0.0)) for i in chunks)
        ),
    }
    return ds


def bad_runs(ds: xr.Dataset) -> pd.DataFrame:
    """Runs with a NaN or infinite output, a negative stock or a failed invariant.

    The invariants (:mod:`hatinh_sd.invariants`) are checked in every chunk at
    every saved time, whatever the outputs requested.

    Returns
    -------
    DataFrame
        One row per bad run: ``sample``, ``problem`` and each factor's value.
    """
    factors = [str(c) for c in ds.coords if ds[c].dims == ("sample",) and c != "sample"]
    problems: dict[int, list[str]] = {}
    for name, da in ds.data_vars.items():
        if name in ("stock_min", "invariant_first_violation"):
            continue
        bad = ~np.isfinite(da.values).all(axis=tuple(range(1, da.ndim)))
        for k in np.flatnonzero(bad):
            problems.setdefault(int(ds["sample"].values[k]), []).append(f"non-finite {name}")
    if "invariant_first_violation" in ds:
        first = ds["invariant_first_violation"].values
        names = ds["invariant"].values
        for i, k in zip(*np.nonzero(~np.isnan(first))):
            problems.setdefault(int(ds["sample"].values[k]), []).append(
                f"{names[i]} fails from {first[i, k]:g}"
            )
    if "stock_min" in ds:
        sm = ds["stock_min"].values
        for s, stock in enumerate(ds["stock"].values):
            for k in np.flatnonzero(~(sm[s] >= 0)):
                problems.setdefault(int(ds["sample"].values[k]), []).append(
                    f"negative stock {stock}"
                )
    rows = []
    pos = {int(s): i for i, s in enumerate(ds["sample"].values)}
    for sample, what in sorted(problems.items()):
        row: dict[str, Any] = {"sample": sample, "problem": "; ".join(what)}
        for f in factors:
            row[f] = float(ds[f].values[pos[sample]])
        rows.append(row)
    return pd.DataFrame(rows, columns=["sample", "problem", *factors])
