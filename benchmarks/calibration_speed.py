"""Time of the full posterior and the rolling-origin backtests (Calibration v2 issue).

Run by hand (``python benchmarks/calibration_speed.py``); the figures go on the issue.
Targets: the posterior (``hatinh-sd calibrate --posterior`` with the committed settings of
``model/calibration_setup.yaml``) in under 15 minutes, posterior and backtests together in
under 20 minutes, on the 2-core reference machine. Writes nothing into the repository.
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()

    from hatinh_sd.backtest import run_backtest
    from hatinh_sd.calibration import load_setup
    from hatinh_sd.data import load_observed
    from hatinh_sd.model import load_model
    from hatinh_sd.posterior import run_posterior

    model = load_model()
    setup = load_setup(model)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.workers} workers"
    )
    t0 = time.perf_counter()
    result, screen = run_posterior(model, setup, workers=args.workers)
    t_post = time.perf_counter() - t0
    last = result.stages.iloc[-1]
    print(
        f"posterior: {t_post:.0f} s ({t_post / 60:.1f} min; target < 15 min): {len(result.stages)} stages, "
        f"final beta {result.beta:.3g}, {result.values.shape[0]} particles over {result.values.shape[1]} "
        f"constants ({int(screen['informed'].sum())} uncertain ones informed by history), "
        f"ESS at the last reweighting {last['ess_before_resampling']:.0f}, mean acceptance "
        f"{result.stages['acceptance'].mean():.2f}, {result.evaluations} model runs "
        f"({result.evaluations / t_post:.0f} runs/s)"
    )
    t0 = time.perf_counter()
    bt = run_backtest(model, setup, load_observed())
    t_bt = time.perf_counter() - t0
    print(f"backtests (origins {sorted(set(bt.forecasts['origin']))}): {t_bt:.0f} s")
    total = t_post + t_bt
    print(f"together: {total:.0f} s ({total / 60:.1f} min; target < 20 min)")


if __name__ == "__main__":
    main()
