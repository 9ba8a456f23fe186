"""The model run by independent engines (pysimlin, SDEverywhere) against PySD.

:func:`crosscheck` (one engine) and :func:`crosscheck_engines` (several) write
the calibrated model for the engines (:func:`hatinh_sd.mdlexport.calibrated_mdl`
rewritten by :func:`hatinh_sd.mdlexport.for_other_engines`), run the baseline
and parameter sets drawn uniformly over the factor table's low-high ranges in
PySD (through :meth:`hatinh_sd.model.Model.run`, once for all engines) and in
each engine, and compare every time-varying variable both return, at every
saved year: ``|other - pysd| / max(|pysd|, 1e-9)``, NaN in both counting as
equal, and values within :data:`ZERO` of zero in both engines too: a balance
that nets terms of thousands to zero is zero to rounding (``-2.2e-13`` in PySD,
``-2.17e-13`` in Simlin), and its relative difference says nothing. The
difference without that rule is reported as well (``strict``).

Engines:

- ``simlin``: pysimlin (``pip install pysimlin``), run in this process.
- ``sdeverywhere``: SDEverywhere's compiler ``@sdeverywhere/compile`` generates
  the model as JavaScript (its JS target, with the factors as run-time inputs)
  and ``@sdeverywhere/runtime`` runs it, in Node.js, through the driver
  ``tools/sde/run.mjs``; the packages are installed by ``cd tools/sde && npm
  ci`` into ``tools/sde/node_modules`` (or the folder named by
  ``HATINH_SD_SDE_MODULES``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.fastengine import import_simlin, simlin_name
from hatinh_sd.model import Model

__all__ = [
    "ENGINES",
    "SDE_FOLDER",
    "TOLERANCE",
    "CrossCheck",
    "crosscheck",
    "crosscheck_engines",
    "draw_parameter_sets",
    "run_sdeverywhere",
    "sdeverywhere_modules",
]

#: Engines the model is cross-checked with.
ENGINES = ("simlin", "sdeverywhere")
#: Largest relative difference accepted between the engines.
TOLERANCE = 1e-9
#: Values this close to zero in both engines are zero to rounding (counted equal).
ZERO = 1e-9
#: At least this many variables must be compared (the model has about 490).
MIN_COMPARED = 450
#: The project's SDEverywhere folder: package.json, package-lock.json, the driver run.mjs.
SDE_FOLDER = Path(__file__).resolve().parents[2] / "tools" / "sde"
#: Environment variable naming another folder that holds the ``@sdeverywhere`` packages.
SDE_MODULES_ENV = "HATINH_SD_SDE_MODULES"
#: What installs SDEverywhere (said when it is missing).
SDE_INSTALL = "cd tools/sde && npm ci"
#: Longest a Node.js run of the SDEverywhere driver may take, in seconds.
SDE_TIMEOUT = 900


@dataclass
class CrossCheck:
    """The largest relative differences found (baseline and parameter sets)."""

    engine: str
    version: str
    compared: int
    sets: int
    zeros: int
    strict_worst: float
    baseline_worst: float
    baseline_variable: str
    baseline_year: float
    sets_worst: float
    sets_variable: str
    sets_year: float
    pysd_seconds: float
    engine_seconds: float
    #: SDEverywhere only: seconds to generate the JS model, and mean seconds a run.
    generate_seconds: float | None = None
    run_seconds: float | None = None

    @property
    def worst(self) -> float:
        return max(self.baseline_worst, self.sets_worst)


@dataclass
class _EngineRuns:
    """An engine's results: one frame per parameter set, indexed by time, one column
    per variable (its Vensim name)."""

    version: str
    frames: list[pd.DataFrame]
    seconds: float
    generate_seconds: float | None = None
    run_seconds: float | None = None


def sdeverywhere_modules() -> tuple[str, Path]:
    """Node.js and the folder holding ``@sdeverywhere/compile`` and ``runtime``.

    Raises
    ------
    HatinhInputError
        Node.js is not on PATH, or the packages are not installed (one line
        naming what is missing and the command that installs it).
    """
    node = shutil.which("node")
    if node is None:
        raise HatinhInputError(
            "the SDEverywhere cross-check needs Node.js (node is not on PATH); install it "
            f"(apt-get install nodejs npm), then the packages: {SDE_INSTALL}",
            key="crosscheck",
        )
    override = os.environ.get(SDE_MODULES_ENV)
    modules = Path(override) if override else SDE_FOLDER / "node_modules"
    missing = [
        f"@sdeverywhere/{name}"
        for name in ("compile", "runtime")
        if not (modules / "@sdeverywhere" / name / "package.json").is_file()
    ]
    if missing:
        raise HatinhInputError(
            f"the SDEverywhere cross-check needs {' and '.join(missing)}, not installed in "
            f"{modules}; install them: {SDE_INSTALL}",
            key=SDE_MODULES_ENV if override else "crosscheck",
        )
    return node, modules


def run_sdeverywhere(
    mdl_text: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    sets: Sequence[Sequence[float] | None],
    *,
    repeat: int = 1,
) -> dict[str, Any]:
    """Generate ``mdl_text`` with SDEverywhere (JS target) and run each of ``sets``
    (values of ``inputs`` in order, or ``None`` for the model's own values) in Node.js.

    Returns the driver's answer (``tools/sde/run.mjs``): ``compile`` and ``runtime``
    versions, ``generate_seconds``, ``run_seconds`` (per set, the mean of ``repeat``
    runs), ``time``, ``outputs`` and ``runs`` (per set, per output, per saved year).
    """
    node, modules = sdeverywhere_modules()
    with tempfile.TemporaryDirectory(prefix="hatinh-crosscheck-sde-") as tmp:
        mdl = Path(tmp) / "hatinh_sdeverywhere.mdl"
        mdl.write_text(mdl_text, encoding="utf-8")
        request = Path(tmp) / "request.json"
        request.write_text(
            json.dumps(
                {
                    "mdl": str(mdl),
                    "inputs": list(inputs),
                    "outputs": list(outputs),
                    "sets": [None if s is None else [float(v) for v in s] for s in sets],
                    "repeat": repeat,
                }
            ),
            encoding="utf-8",
        )
        try:
            done = subprocess.run(
                [node, str(SDE_FOLDER / "run.mjs"), str(request), str(modules)],
                capture_output=True,
                text=True,
                timeout=SDE_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HatinhInputError(
                f"SDEverywhere took more than {SDE_TIMEOUT} s on the exported model",
                key="crosscheck",
            ) from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if re.match(r"^\w*Error: ", line)]
        reason = errors[0] if errors else (lines[-1] if lines else "no message")
        raise HatinhInputError(
            f"SDEverywhere failed on the exported model (node exit {done.returncode}): {reason}",
            key="crosscheck",
        )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _run_sdeverywhere(
    model: Model, text: str, parameter_sets: list[dict[str, float]]
) -> _EngineRuns:
    real = {model.py_name(name): name for name in model.doc["Real Name"]}
    outputs = [real[py] for py in model.outputs if py in real]
    inputs = sorted({k for params in parameter_sets for k in params})
    sets: list[list[float] | None] = []
    for params in parameter_sets:
        if params and set(params) != set(inputs):
            raise ValueError("every parameter set must set the same constants, or none")
        sets.append([params[k] for k in inputs] if params else None)
    t0 = time.perf_counter()
    answer = run_sdeverywhere(text, inputs, outputs, sets)
    seconds = time.perf_counter() - t0
    times = np.asarray(answer["time"], dtype=float)
    frames = [
        pd.DataFrame(np.asarray(run, dtype=float).T, index=times, columns=answer["outputs"])
        for run in answer["runs"]
    ]
    run_seconds = answer["run_seconds"]
    return _EngineRuns(
        version=f"{answer['compile']} (runtime {answer['runtime']})",
        frames=frames,
        seconds=seconds,
        generate_seconds=float(answer["generate_seconds"]),
        run_seconds=float(np.mean(run_seconds)) if run_seconds else None,
    )


def _run_simlin(model: Model, text: str, parameter_sets: list[dict[str, float]]) -> _EngineRuns:
    from importlib.metadata import version

    simlin = import_simlin()
    with tempfile.TemporaryDirectory(prefix="hatinh-crosscheck-") as tmp:
        path = Path(tmp) / "hatinh_simlin.mdl"
        path.write_text(text, encoding="utf-8")
        other = simlin.load(path)
    settable = set(other.simulate().get_var_names())
    names = {simlin_name(real): real for real in model.doc["Real Name"]}
    frames, seconds = [], 0.0
    for params in parameter_sets:
        overrides = {simlin_name(k): v for k, v in params.items()}
        unknown = sorted(k for k in overrides if k not in settable)
        if unknown:
            raise HatinhInputError(
                f"simlin cannot set {', '.join(unknown)}", key="sensitivity/factors.csv"
            )
        t0 = time.perf_counter()
        results = other.run(overrides=overrides, analyze_loops=False).results
        seconds += time.perf_counter() - t0
        known = [c for c in results.columns if c in names]
        frames.append(results[known].rename(columns=names))
    return _EngineRuns(version=version("pysimlin"), frames=frames, seconds=seconds)


#: How each engine is checked for (raises when missing) and run.
_CHECKS: dict[str, Callable[[], Any]] = {
    "simlin": import_simlin,
    "sdeverywhere": sdeverywhere_modules,
}
_RUNNERS: dict[str, Callable[[Model, str, list[dict[str, float]]], _EngineRuns]] = {
    "simlin": _run_simlin,
    "sdeverywhere": _run_sdeverywhere,
}


def draw_parameter_sets(model: Model, n: int, seed: int) -> list[dict[str, float]]:
    """``n`` sets of every factor of the factor table, uniform over its low-high range."""
    from hatinh_sd.factors import load_factors

    factors = load_factors(model=model)
    rng = np.random.default_rng(seed)
    draws = rng.uniform([f.low for f in factors], [f.high for f in factors], size=(n, len(factors)))
    return [{f.variable: float(v) for f, v in zip(factors, row)} for row in draws]


def _compare(
    model: Model, ours: Any, theirs: pd.DataFrame
) -> tuple[float, str, float, int, int, float]:
    """Largest relative difference, its variable and year, the number of variables
    compared, the number of values zero to rounding in both, and the strict largest.

    ``theirs`` is indexed by time, one column per variable (its Vensim name)."""
    times = ours["time"].to_numpy()
    frame = theirs.reindex(times)
    columns, rows = [], []
    for real in frame.columns:
        py = model.py_name(real)
        if py not in ours.data_vars or ours.variables[py].dims != ("time",):
            continue
        columns.append(real)
        rows.append(np.asarray(ours.variables[py].values, dtype=float))
    if not columns:
        return 0.0, "", float("nan"), 0, 0, 0.0
    a = frame[columns].to_numpy(dtype=float).T  # one row per variable, one column per year
    b = np.vstack(rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-9)
    rel = np.where(np.isnan(a) & np.isnan(b), 0.0, rel)
    rel = np.where(np.isnan(rel), np.inf, rel)  # NaN in one engine only
    strict = float(np.max(rel))
    zero = (np.abs(a) <= ZERO) & (np.abs(b) <= ZERO) & (rel > 0)
    rel = np.where(zero, 0.0, rel)
    i, j = np.unravel_index(int(np.argmax(rel)), rel.shape)  # the first of the largest
    return float(rel[i, j]), columns[i], float(times[j]), len(columns), int(zero.sum()), strict


def crosscheck_engines(
    model: Model, engines: Sequence[str], *, sets: int = 20, seed: int = 20240601
) -> list[CrossCheck]:
    """Run the baseline and ``sets`` parameter sets in PySD (once) and in each of
    ``engines``, and compare; one :class:`CrossCheck` per engine, in order.

    Every engine is looked for before anything runs.

    Raises
    ------
    HatinhInputError
        An unknown engine, an engine not installed, a factor an engine cannot
        set, an engine failing on the model, or too few variables in common.
    """
    from hatinh_sd.mdlexport import calibrated_mdl, for_other_engines

    for engine in engines:
        if engine not in ENGINES:
            raise HatinhInputError(
                f"unknown engine '{engine}'; expected {', '.join(ENGINES)}", key="--engine"
            )
    for engine in engines:
        _CHECKS[engine]()
    parameter_sets: list[dict[str, float]] = [{}] + draw_parameter_sets(model, sets, seed)
    text = for_other_engines(calibrated_mdl(model))
    runs = {engine: _RUNNERS[engine](model, text, parameter_sets) for engine in engines}
    pysd_seconds = 0.0
    ours = []
    for params in parameter_sets:
        t0 = time.perf_counter()
        ours.append(model.run(params))
        pysd_seconds += time.perf_counter() - t0
    checks = []
    for engine in engines:
        other = runs[engine]
        results: list[tuple[float, str, float]] = []
        compared = zeros = 0
        strict = 0.0
        for mine, theirs in zip(ours, other.frames):
            worst, where, year, n, z, s = _compare(model, mine, theirs)
            zeros, strict = zeros + z, max(strict, s)
            if n < MIN_COMPARED:
                raise HatinhInputError(
                    f"only {n} variables in common between PySD and {engine} "
                    f"(at least {MIN_COMPARED} expected)",
                    key="crosscheck",
                )
            compared = max(compared, n)
            results.append((worst, where, year))
        base = results[0]
        rest = max(results[1:], key=lambda r: r[0]) if sets else (0.0, "", float("nan"))
        checks.append(
            CrossCheck(
                engine=engine,
                version=other.version,
                compared=compared,
                sets=sets,
                zeros=zeros,
                strict_worst=strict,
                baseline_worst=base[0],
                baseline_variable=base[1],
                baseline_year=base[2],
                sets_worst=rest[0],
                sets_variable=rest[1],
                sets_year=rest[2],
                pysd_seconds=pysd_seconds,
                engine_seconds=other.seconds,
                generate_seconds=other.generate_seconds,
                run_seconds=other.run_seconds,
            )
        )
    return checks


def crosscheck(
    model: Model, engine: str = "simlin", *, sets: int = 20, seed: int = 20240601
) -> CrossCheck:
    """Run the baseline and ``sets`` parameter sets in PySD and ``engine`` and compare.

    Raises
    ------
    HatinhInputError
        As :func:`crosscheck_engines`.
    """
    return crosscheck_engines(model, [engine], sets=sets, seed=seed)[0]
