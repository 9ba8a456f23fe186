"""Plausibility invariants: every violation of a 3,000-run sweep over every ranged
constant is reported, and a scalar run reports the same as the vectorised one."""

from __future__ import annotations

import numpy as np
import pytest

from hatinh_sd.cli import main
from hatinh_sd.ensemble import bad_runs, run_ensemble
from hatinh_sd.invariants import check_run, invariants


@pytest.fixture(scope="module")
def sweep(model):
    pars = list(model.parameters.values())
    rng = np.random.default_rng(20261201)
    n = 3000
    values = np.column_stack([rng.uniform(p.low, p.high, n) for p in pars])
    checks = invariants(model)
    outputs = list(dict.fromkeys(c.variable for c in checks))
    ds = run_ensemble(
        values,
        [p.name for p in pars],
        outputs=outputs,
        model=model,
        progress=False,
        workers=2,
        chunk_size=250,
    )
    return pars, values, checks, ds


def _independent(checks, ds) -> set[tuple[int, str]]:
    """Violations recomputed from the saved outputs with plain numpy."""
    found = set()
    t = ds["time"].values
    for c in checks:
        x = ds[c.variable].values  # (sample, time)
        if c.kind == "range":
            bad = np.isnan(x) | (x < c.low - 1e-9) | (x > c.high + 1e-9)
        elif c.kind == "positive":
            bad = np.isnan(x) | (x <= 0)
        elif c.kind == "finite":
            bad = ~np.isfinite(x)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                growth = (x[:, 1:] / x[:, :-1]) ** (1 / np.diff(t)) - 1
            bad = ~((growth >= c.low) & (growth <= c.high))
        for k in np.flatnonzero(bad.any(axis=1)):
            found.add((int(ds["sample"].values[k]), c.name))
    return found


def _reported(bad) -> set[tuple[int, str]]:
    out = set()
    for row in bad.itertuples():
        for problem in row.problem.split("; "):
            if " fails from " in problem:
                out.add((int(row.sample), problem.split(" fails from ")[0]))
    return out


def test_sweep_reports_every_invariant_violation(sweep):
    _pars, _values, checks, ds = sweep
    reported = _reported(bad_runs(ds))
    expected = _independent(checks, ds)
    print(f"{len(expected)} violations in {len({s for s, _ in expected})} of 3000 runs")
    assert reported == expected
    assert expected, "a sweep over every ranged constant finds at least one implausible run"


def test_scalar_run_reports_what_the_ensemble_reports(model, sweep):
    pars, values, _checks, ds = sweep
    bad = bad_runs(ds)
    by_sample = {}
    for s, name in _reported(bad):
        by_sample.setdefault(s, set()).add(name)
    for s in sorted(by_sample)[:3]:
        params = {p.name: float(values[s, j]) for j, p in enumerate(pars)}
        scalar = check_run(model.run(params), model)
        assert set(scalar["invariant"]) == by_sample[s]


def test_baseline_holds_every_invariant(model):
    assert check_run(model.run(), model).empty


def test_run_command_writes_the_failed_checks(model, sweep, tmp_path, capsys):
    pars, values, _checks, ds = sweep
    s = int(bad_runs(ds)["sample"].iloc[0])
    sets = [a for j, p in enumerate(pars) for a in ("--set", f"{p.name}={float(values[s, j])!r}")]
    assert main(["run", *sets, "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "plausibility check" in err and "bad_runs.csv" in err
    assert (tmp_path / "custom" / "bad_runs.csv").read_bytes().startswith(b"\xef\xbb\xbf")
