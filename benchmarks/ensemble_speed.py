"""Ensemble speed: ema_workbench's PySD connector vs a loop of scalar runs vs our engine.

Same model, same samples (the factor table's Latin hypercube), same cores:

(a) ema_workbench's ``PysdModel`` with its ``MultiprocessingEvaluator``;
(b) a plain loop of scalar runs (:meth:`hatinh_sd.model.Model.run`);
(c) :func:`hatinh_sd.ensemble.run_ensemble` (PySD in array mode, local processes);

then a Sobol analysis end to end (sampling, runs, analysis) and the peak
memory of a sweep streamed to disk. Prints runs/s, ratios and a JSON summary.

Usage::

    python benchmarks/ensemble_speed.py --workers 2 --engine-runs 30000 --chunk-size 2500 \
        --sobol-n 1024 --sweep-runs 4096

``--sobol-n 1024`` with the 28 factors of ``sensitivity/sobol_targets.yaml``
gives 1024 x 30 = 30,720 runs (the issue's 30,000-run case); ``--sweep-runs 100000`` is the
issue's memory case. (a) uses ema_workbench, a dependency of the project (hatinh-sd discover).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

OUTPUTS = [
    "t01_average_grdp_growth_since_2020",
    "grdp_per_capita_current",
    "share_industry",
    "employment_share_agriculture",
    "urbanisation_rate",
]


class PeakMemory:
    """Peak resident memory of this process and its children (sampled every 0.2 s)."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            try:
                total = self._proc.memory_info().rss
                for c in self._proc.children(recursive=True):
                    try:
                        total += c.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bench_ema(model, factors, values, workers: int) -> dict:
    """(a) ema_workbench's PySD connector with its MultiprocessingEvaluator."""
    try:
        from ema_workbench import (
            MultiprocessingEvaluator,
            RealParameter,
            Scenario,
            TimeSeriesOutcome,
        )
        from ema_workbench.connectors.pysd_connector import PysdModel
    except ImportError as exc:
        return {"error": f"ema_workbench not installed ({exc}); pip install -e ."}
    out: dict = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            mdl = Path(tmp) / model.mdl_path.name
            mdl.write_bytes(model.mdl_path.read_bytes())
            em = PysdModel("hatinh", mdl_file=str(mdl))
            em.uncertainties = [RealParameter(f.variable, f.low, f.high) for f in factors]
            em.outcomes = [TimeSeriesOutcome(model.real_name(o)) for o in OUTPUTS[:2]]
            scenarios = [
                Scenario(
                    f"s{k}", **{f.variable: float(values[k, j]) for j, f in enumerate(factors)}
                )
                for k in range(values.shape[0])
            ]
            t0 = time.perf_counter()
            with MultiprocessingEvaluator(em, n_processes=workers) as ev:
                ev.perform_experiments(scenarios=scenarios)
            out["seconds"] = time.perf_counter() - t0
            out["runs"] = values.shape[0]
            out["runs_per_s"] = values.shape[0] / out["seconds"]
    except Exception as exc:  # report exactly what failed, measure the rest
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback_tail"] = traceback.format_exc().splitlines()[-6:]
    return out


def bench_scalar(model, factors, values) -> dict:
    """(b) a plain loop of scalar PySD runs in one process."""
    t0 = time.perf_counter()
    for k in range(values.shape[0]):
        model.run({f.variable: float(values[k, j]) for j, f in enumerate(factors)}, outputs=OUTPUTS)
    s = time.perf_counter() - t0
    return {"runs": values.shape[0], "seconds": s, "runs_per_s": values.shape[0] / s}


def bench_engine(model, factors, values, workers: int, chunk: int) -> dict:
    """(c) our engine with a local process pool (worker start-up included)."""
    from hatinh_sd.ensemble import run_ensemble

    t0 = time.perf_counter()
    run_ensemble(
        values,
        [f.variable for f in factors],
        outputs=OUTPUTS,
        model=model,
        chunk_size=chunk,
        workers=workers,
        progress=False,
    )
    s = time.perf_counter() - t0
    return {"runs": values.shape[0], "seconds": s, "runs_per_s": values.shape[0] / s}


def bench_sobol(model, workers: int, chunk: int, n: int) -> dict:
    """Sobol analysis end to end with the factors of sensitivity/sobol_targets.yaml."""
    from hatinh_sd.model import repo_root
    from hatinh_sd.sensitivity import load_config, run_analysis

    cfg = load_config(repo_root() / "sensitivity" / "sobol_targets.yaml", model)
    import dataclasses

    cfg = dataclasses.replace(cfg, n=n, chunk_size=chunk)
    t0 = time.perf_counter()
    res = run_analysis(cfg, model=model, workers=workers, progress=False)
    s = time.perf_counter() - t0
    runs = res["values"].shape[0]
    return {"runs": runs, "factors": len(cfg.factors), "seconds": s, "runs_per_s": runs / s}


def bench_sweep_memory(model, factors, workers: int, chunk: int, n: int) -> dict:
    """Peak memory (this process + workers) of an n-run sweep written chunk by chunk."""
    from hatinh_sd.ensemble import run_ensemble
    from hatinh_sd.uncertainty import draw_uncertainties

    values = draw_uncertainties(factors, n, 3)
    with tempfile.TemporaryDirectory() as tmp, PeakMemory() as pm:
        t0 = time.perf_counter()
        ds = run_ensemble(
            values,
            [f.variable for f in factors],
            outputs=OUTPUTS,
            model=model,
            chunk_size=chunk,
            workers=workers,
            store=Path(tmp) / "store",
            progress=False,
        )
        s = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in (Path(tmp) / "store").glob("*.nc"))
        del ds
    return {
        "runs": n,
        "seconds": s,
        "runs_per_s": n / s,
        "peak_rss_gb": pm.peak / 1e9,
        "store_mb": size / 1e6,
        "parent_maxrss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--ema-runs", type=int, default=40)
    p.add_argument("--scalar-runs", type=int, default=40)
    p.add_argument("--engine-runs", type=int, default=1024)
    p.add_argument("--chunk-size", type=int, default=2500)
    p.add_argument("--sobol-n", type=int, default=0, help="Sobol base sample (0: skip)")
    p.add_argument("--sweep-runs", type=int, default=0, help="memory sweep size (0: skip)")
    p.add_argument("--skip", nargs="*", default=[], choices=["ema", "scalar", "engine"])
    p.add_argument("--json", default=None, help="write the summary here")
    args = p.parse_args(argv)

    from hatinh_sd.factors import load_factors
    from hatinh_sd.model import load_model
    from hatinh_sd.uncertainty import draw_uncertainties

    model = load_model()
    factors = load_factors(model=model)
    n_max = max(args.ema_runs, args.scalar_runs, args.engine_runs)
    values = draw_uncertainties(factors, n_max, 1)
    summary: dict = {
        "cores": os.cpu_count(),
        "workers": args.workers,
        "python": sys.version.split()[0],
    }
    if "ema" not in args.skip:
        summary["ema_workbench"] = bench_ema(model, factors, values[: args.ema_runs], args.workers)
        print("(a) ema_workbench:", summary["ema_workbench"], flush=True)
    if "scalar" not in args.skip:
        summary["scalar_loop"] = bench_scalar(model, factors, values[: args.scalar_runs])
        print("(b) scalar loop:", summary["scalar_loop"], flush=True)
    if "engine" not in args.skip:
        summary["engine"] = bench_engine(
            model, factors, values[: args.engine_runs], args.workers, args.chunk_size
        )
        print("(c) engine:", summary["engine"], flush=True)
    if args.sobol_n:
        summary["sobol"] = bench_sobol(model, args.workers, args.chunk_size, args.sobol_n)
        print("Sobol end to end:", summary["sobol"], flush=True)
    if args.sweep_runs:
        unc = [f for f in factors if f.group == "uncertainty"]
        summary["sweep"] = bench_sweep_memory(
            model, unc, args.workers, args.chunk_size, args.sweep_runs
        )
        print("sweep streamed to disk:", summary["sweep"], flush=True)
    # the engine's speed: its own measurement, else the (same engine's) streamed sweep
    eng = summary.get("engine", summary.get("sweep", {})).get("runs_per_s")
    for key in ("ema_workbench", "scalar_loop"):
        other = summary.get(key, {}).get("runs_per_s")
        if eng and other:
            summary[f"ratio_engine_to_{key}"] = eng / other
            print(f"engine / {key}: {eng / other:.2f}x")
    text = json.dumps(summary, indent=1, default=str)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
