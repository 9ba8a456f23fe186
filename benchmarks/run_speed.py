"""Speed of one scalar run and of one translation of model/hatinh.mdl.

Run by hand (``python benchmarks/run_speed.py``); the figures go on the issue.
Target: a full scalar run (all outputs, as the explorer needs) in at most
0.25 s median on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--translations", type=int, default=3)
    args = parser.parse_args()

    from hatinh_sd.model import Model, load_model, translate

    model = load_model()
    model.run()  # warm-up
    levers = list(model.levers().values())
    run_times = []
    for i in range(args.runs):
        lever = levers[i % len(levers)]
        params = {lever.name: lever.low + (lever.high - lever.low) * ((i * 0.37) % 1)}
        t0 = time.perf_counter()
        model.run(params)
        run_times.append(time.perf_counter() - t0)

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
        f"min {min(run_times) * 1000:.0f} ms, max {max(run_times) * 1000:.0f} ms over {args.runs} runs (target <= 250 ms)"
    )
    print(
        f"translation (.mdl -> .py): median {statistics.median(translate_times):.2f} s over {args.translations}"
    )
    print(f"load of the cached translation: median {statistics.median(load_times):.2f} s")


if __name__ == "__main__":
    main()
