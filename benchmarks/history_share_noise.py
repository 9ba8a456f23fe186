"""Sampling error of the history-consistent share (Calibration v2 issue).

Run by hand (``python benchmarks/history_share_noise.py --seeds 1 2 3``): samples the
posterior again with each SMC seed (the committed settings of ``model/calibration_setup.yaml``
otherwise), draws the baseline ensemble from it as ``hatinh-sd uncertainty`` does (2,000 runs,
the same draw seed) and prints the share of runs passing each history check. The spread of
the shares tells whether a model change moved the share by more than the sampler's own
error. About 6 minutes per seed (16 moves) on the 2-core reference machine; writes nothing
into the repository.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--particles", type=int, default=None, help="default: the setup's")
    p.add_argument("--moves", type=float, default=None, help="default: the setup's")
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()

    from hatinh_sd.calibration import load_setup
    from hatinh_sd.ensemble import run_ensemble
    from hatinh_sd.factors import load_factors
    from hatinh_sd.model import load_model
    from hatinh_sd.posterior import posterior_draws, run_posterior, write_posterior
    from hatinh_sd.uncertainty import (
        draw_with_posterior,
        history_consistency,
        history_observations,
    )

    model = load_model()
    setup = load_setup(model)
    checks = history_observations()
    factors = [f for f in load_factors(model=model) if f.group == "uncertainty"]
    variables = list(dict.fromkeys(checks["variable"]))
    shares = []
    for seed in args.seeds:
        cfg = dataclasses.replace(
            setup.posterior,
            seed=seed,
            particles=args.particles or setup.posterior.particles,
            moves=args.moves or setup.posterior.moves,
        )
        t0 = time.perf_counter()
        result, _ = run_posterior(
            model, dataclasses.replace(setup, posterior=cfg), workers=args.workers
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "posterior.nc"
            write_posterior(result, model, path, max_draws=setup.posterior.draws)
            draws = posterior_draws(model, path)
        names, values = draw_with_posterior(factors, draws, args.runs, 20260301)
        ds = run_ensemble(
            values,
            names,
            outputs=variables,
            annual=variables,
            model=model,
            workers=args.workers,
            progress=False,
        )
        _, history = history_consistency(ds, checks)
        share = float(history["share"].iloc[-1])
        shares.append(share)
        each = ", ".join(
            f"{r.check}: {100 * r.share:.1f} %, run minus statistic {r.deviation_median:+.1f} "
            f"({r.deviation_p05:+.1f} to {r.deviation_p95:+.1f})"
            for r in history.iloc[:-1].itertuples()
        )
        last = result.stages.iloc[-1]
        each += (
            f"; SMC {len(result.stages)} stages, last acceptance {last['acceptance']:.2f}, "
            f"{int(last['unique_particles'])} unique particles"
        )
        print(
            f"seed {seed}: {100 * share:.1f} % of {args.runs} runs reproduce history ({each}); "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    if len(shares) > 1:
        lo, hi = min(shares), max(shares)
        mean = sum(shares) / len(shares)
        print(
            f"{len(shares)} seeds ({cfg.particles} particles, {cfg.moves:g} moves): mean {100 * mean:.1f} %, range {100 * lo:.1f}-{100 * hi:.1f} %"
        )


if __name__ == "__main__":
    main()
