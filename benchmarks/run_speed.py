"""Speed of one scalar run and of one translation of model/hatinh.mdl, against version 1.

Run by hand (``python benchmarks/run_speed.py``); the figures go on the issue.
Targets (Model v2 issue): a full scalar run (all outputs, as the explorer needs)
at most 0.3 s median on the 2-core reference machine, and no more than 20 %
slower than version 1 of the model (``benchmarks/hatinh_v1.mdl``, kept for this
comparison) measured in the same run, interleaved so both see the same load.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--translations", type=int, default=3)
    args = parser.parse_args()

    from hatinh_sd.model import Model, load_model
    from hatinh_sd.translation import translate

    model = load_model()
    v1 = Model(Path(__file__).parent / "hatinh_v1.mdl", calibration_path=None)
    model.run()  # warm-up
    v1.run()
    run_times, v1_times = [], []
    for i in range(args.runs):
        for m, times in ((model, run_times), (v1, v1_times)):
            levers = list(m.levers().values())
            lever = levers[i % len(levers)]
            params = {lever.name: lever.low + (lever.high - lever.low) * ((i * 0.37) % 1)}
            t0 = time.perf_counter()
            m.run(params)
            times.append(time.perf_counter() - t0)

    translate_times = []
    for _ in range(args.translations):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["HATINH_SD_CACHE"] = tmp
            t0 = time.perf_counter()
            translate(model.mdl_path)
            translate_times.append(time.perf_counter() - t0)
    os.environ.pop("HATINH_SD_CACHE", None)

    load_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        Model(model.mdl_path)
        load_times.append(time.perf_counter() - t0)

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"model: {model.mdl_path.name} sha256 {model.hash[:12]}, {len(model.doc)} elements, time step {model.time_step} yr"
    )
    print(
        f"scalar run (all {len(model.outputs)} outputs, 2010-2050): median {statistics.median(run_times) * 1000:.0f} ms, "
        f"min {min(run_times) * 1000:.0f} ms, max {max(run_times) * 1000:.0f} ms over {args.runs} runs (target <= 300 ms)"
    )
    ratio = statistics.median(run_times) / statistics.median(v1_times)
    print(
        f"version 1 ({len(v1.doc)} elements, time step {v1.time_step} yr, all {len(v1.outputs)} outputs): "
        f"median {statistics.median(v1_times) * 1000:.0f} ms; v2 / v1 = {ratio:.2f} (target <= 1.20)"
    )
    print(
        f"translation (.mdl -> .py): median {statistics.median(translate_times):.2f} s over {args.translations}"
    )
    print(f"load of the cached translation: median {statistics.median(load_times):.2f} s")


if __name__ == "__main__":
    main()
