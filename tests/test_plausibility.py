"""Plausible everywhere in the ranges: 3,000 runs with every ranged constant (levers,
uncertain and calibrated) drawn uniformly over its .mdl range keep shares in [0, 100],
unemployment and population non-negative (population positive) and every value finite."""

from __future__ import annotations

import numpy as np

from batch import run_batch

RUNS = 3000
SEED = 20261201


def _share_outputs(model):
    """Every output measured in per cent of a whole (shares and rates that are shares)."""
    out = []
    for py in model.outputs:
        name = model.real_name(py)
        units = model.units(py)
        if units == "percent" and (
            name.startswith("share ")
            or name.startswith("employment share ")
            or name
            in (
                "urbanisation rate",
                "trained labour share",
                "unemployment rate",
                "underemployment rate",
                "digital economy share",
            )
        ):
            out.append(py)
    return out


def test_random_ranged_constants_keep_every_share_a_share(model):
    rng = np.random.default_rng(SEED)
    params = {n: p for n, p in model.parameters.items()}
    assert len(params) >= 150
    samples = [
        {n: float(p.low + rng.random() * (p.high - p.low)) for n, p in params.items()}
        for _ in range(RUNS)
    ]
    shares = _share_outputs(model)
    assert len(shares) >= 10
    checks = ["unemployed", "total_population", "labour_force", "grdp", "grdp_current"]
    stocks = [model.py_name(s) for s in model.stocks]
    _times, out = run_batch(model, samples, sorted(set(shares + checks + stocks)))
    problems = []
    for name, arr in out.items():
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            problems.append(f"{name}: non-finite in {int(bad.sum())} runs")
    for name in shares:
        arr = out[name]
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if lo < -1e-9 or hi > 100 + 1e-9:
            problems.append(f"{name}: from {lo:.3g} to {hi:.3g}")
    if float(np.nanmin(out["unemployed"])) < -1e-9:
        problems.append(f"unemployed down to {float(np.nanmin(out['unemployed'])):.3g}")
    if float(np.nanmin(out["total_population"])) <= 0:
        problems.append("population not positive")
    for s in stocks:
        if float(np.nanmin(out[s])) < -1e-6:
            problems.append(f"stock {s} down to {float(np.nanmin(out[s])):.3g}")
    assert problems == []
