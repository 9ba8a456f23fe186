"""The model run by an independent engine: pysimlin (Simlin) against PySD.

:func:`crosscheck` writes the calibrated model for the engine
(:func:`hatinh_sd.mdlexport.calibrated_mdl` with ``engine="simlin"``), runs the
baseline and parameter sets drawn uniformly over the factor table's low-high
ranges in both engines (PySD through :meth:`hatinh_sd.model.Model.run`), and
compares every time-varying variable both return, at every saved year:
``|simlin - pysd| / max(|pysd|, 1e-9)``, NaN in both counting as equal, and
values within :data:`ZERO` of zero in both engines too: a balance that nets
terms of thousands to zero is zero to rounding (``-2.2e-13`` in PySD,
``-2.17e-13`` in Simlin), and its relative difference says nothing. The
difference without that rule is reported as well (``strict``).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.model import Model

__all__ = ["ENGINES", "TOLERANCE", "CrossCheck", "crosscheck", "draw_parameter_sets"]

#: Engines the model is cross-checked with.
ENGINES = ("simlin",)
#: Largest relative difference accepted between the engines.
TOLERANCE = 1e-9
#: Values this close to zero in both engines are zero to rounding (counted equal).
ZERO = 1e-9
#: At least this many variables must be compared (the model has about 490).
MIN_COMPARED = 450


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

    @property
    def worst(self) -> float:
        return max(self.baseline_worst, self.sets_worst)


def _simlin() -> Any:
    try:
        import simlin
    except ImportError as exc:
        raise HatinhInputError(
            f"the cross-check needs pysimlin ({exc}); install it: pip install pysimlin",
            key="crosscheck",
        ) from None
    return simlin


def _simlin_name(name: str) -> str:
    """Simlin's name of a Vensim variable (lower case, spaces as underscores)."""
    return "_".join(name.lower().replace("_", " ").split())


def draw_parameter_sets(model: Model, n: int, seed: int) -> list[dict[str, float]]:
    """``n`` sets of every factor of the factor table, uniform over its low-high range."""
    from hatinh_sd.factors import load_factors

    factors = load_factors(model=model)
    rng = np.random.default_rng(seed)
    draws = rng.uniform([f.low for f in factors], [f.high for f in factors], size=(n, len(factors)))
    return [{f.variable: float(v) for f, v in zip(factors, row)} for row in draws]


def _compare(model: Model, ours: Any, theirs: Any) -> tuple[float, str, float, int, int, float]:
    """Largest relative difference, its variable and year, the number of variables
    compared, the number of values zero to rounding in both, and the strict largest."""
    names = {_simlin_name(real): real for real in model.doc["Real Name"]}
    times = ours["time"].to_numpy()
    worst, where, year, compared, zeros, strict = 0.0, "", float("nan"), 0, 0, 0.0
    for column in theirs.columns:
        real = names.get(column)
        if real is None:
            continue
        py = model.py_name(real)
        if py not in ours or "time" not in ours[py].dims:
            continue
        a = theirs[column].reindex(times).to_numpy(dtype=float)
        b = ours[py].to_numpy().astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-9)
        rel = np.where(np.isnan(a) & np.isnan(b), 0.0, rel)
        rel = np.where(np.isnan(rel), np.inf, rel)  # NaN in one engine only
        strict = max(strict, float(np.max(rel)))
        zero = (np.abs(a) <= ZERO) & (np.abs(b) <= ZERO) & (rel > 0)
        zeros += int(np.sum(zero))
        rel = np.where(zero, 0.0, rel)
        i = int(np.argmax(rel))
        if rel[i] > worst or not where:
            worst, where, year = float(rel[i]), real, float(times[i])
        compared += 1
    return worst, where, year, compared, zeros, strict


def crosscheck(
    model: Model, engine: str = "simlin", *, sets: int = 20, seed: int = 20240601
) -> CrossCheck:
    """Run the baseline and ``sets`` parameter sets in PySD and ``engine`` and compare.

    Raises
    ------
    HatinhInputError
        An unknown engine, pysimlin not installed, a factor the engine cannot
        set, or too few variables in common.
    """
    from importlib.metadata import version

    from hatinh_sd.mdlexport import calibrated_mdl

    if engine not in ENGINES:
        raise HatinhInputError(
            f"unknown engine '{engine}'; expected {', '.join(ENGINES)}", key="--engine"
        )
    simlin = _simlin()
    parameter_sets = [{}] + draw_parameter_sets(model, sets, seed)
    with tempfile.TemporaryDirectory(prefix="hatinh-crosscheck-") as tmp:
        path = Path(tmp) / "hatinh_simlin.mdl"
        path.write_text(calibrated_mdl(model, engine=engine), encoding="utf-8")
        other = simlin.load(path)
    settable = set(other.simulate().get_var_names())
    results: list[tuple[float, str, float]] = []
    pysd_seconds = engine_seconds = 0.0
    compared = zeros = 0
    strict = 0.0
    for params in parameter_sets:
        overrides = {_simlin_name(k): v for k, v in params.items()}
        unknown = sorted(k for k in overrides if k not in settable)
        if unknown:
            raise HatinhInputError(
                f"{engine} cannot set {', '.join(unknown)}", key="sensitivity/factors.csv"
            )
        t0 = time.perf_counter()
        ours = model.run(params)
        t1 = time.perf_counter()
        theirs = other.run(overrides=overrides, analyze_loops=False).results
        t2 = time.perf_counter()
        pysd_seconds += t1 - t0
        engine_seconds += t2 - t1
        worst, where, year, n, z, s = _compare(model, ours, theirs)
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
    return CrossCheck(
        engine=engine,
        version=version("pysimlin"),
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
        engine_seconds=engine_seconds,
    )
