"""Speed of the cross-check engines on the calibrated model: SDEverywhere's generation of the
JS model and its time a run in Node.js, pysimlin's and PySD's time a run.

Run by hand (``python benchmarks/crosscheck_speed.py``, after ``cd tools/sde && npm ci``); the
figures go on the issue. Each of ``--processes`` Node.js processes generates the model once
(the generation figure) and runs the baseline and ``--sets`` parameter sets ``--repeat`` times
each (after one warm-up run of each, JIT compilation included in the first-run figure).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--sets", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pysd-runs", type=int, default=5)
    args = parser.parse_args()

    from hatinh_sd.crosscheck import (
        _simlin,
        _simlin_name,
        draw_parameter_sets,
        run_sdeverywhere,
    )
    from hatinh_sd.mdlexport import calibrated_mdl, for_other_engines
    from hatinh_sd.model import load_model

    model = load_model()
    text = for_other_engines(calibrated_mdl(model))
    sets = draw_parameter_sets(model, args.sets, 20240601)
    inputs = sorted(sets[0]) if sets else []
    real = {model.py_name(name): name for name in model.doc["Real Name"]}
    outputs = [real[py] for py in model.outputs if py in real]
    values = [None] + [[s[k] for k in inputs] for s in sets]

    generate, first, steady, wall = [], [], [], []
    for _ in range(args.processes):
        t0 = time.perf_counter()
        cold = run_sdeverywhere(text, inputs, outputs, values, repeat=1)
        wall.append(time.perf_counter() - t0)
        generate.append(cold["generate_seconds"])
        first.append(cold["run_seconds"][0])
        warm = run_sdeverywhere(text, inputs, outputs, values * 2, repeat=args.repeat)
        steady.extend(warm["run_seconds"][len(values) :])  # the second pass over the sets

    import tempfile
    from pathlib import Path

    simlin = _simlin()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hatinh_simlin.mdl"
        path.write_text(text, encoding="utf-8")
        other = simlin.load(path)
    other.run(analyze_loops=False)
    simlin_times = []
    for params in [{}] + sets:
        overrides = {_simlin_name(k): v for k, v in params.items()}
        t0 = time.perf_counter()
        other.run(overrides=overrides, analyze_loops=False)
        simlin_times.append(time.perf_counter() - t0)

    model.run()
    pysd_times = []
    for params in ([{}] + sets)[: args.pysd_runs]:
        t0 = time.perf_counter()
        model.run(params)
        pysd_times.append(time.perf_counter() - t0)

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SDEverywhere compile {cold['compile']}, "
        f"runtime {cold['runtime']}"
    )
    print(
        f"SDEverywhere: generation {statistics.median(generate):.2f} s (median of "
        f"{len(generate)}), first run {1000 * statistics.median(first):.1f} ms, then "
        f"{1000 * statistics.median(steady):.2f} ms a run (median of {len(steady)} sets x "
        f"{args.repeat}); node process for {len(values)} runs {statistics.median(wall):.2f} s"
    )
    print(f"pysimlin: {1000 * statistics.median(simlin_times):.1f} ms a run")
    print(f"PySD: {1000 * statistics.median(pysd_times):.0f} ms a run")


if __name__ == "__main__":
    main()
