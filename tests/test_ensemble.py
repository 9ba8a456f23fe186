"""The vectorised ensemble engine: equality with scalar runs, resume, backends, checks.

Runs are kept short (to 2014) so that each chunk takes little time; the
equations are the same for every horizon.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from hatinh_sd import ensemble
from hatinh_sd.ensemble import (
    EnsembleCheckError,
    bad_runs,
    run_ensemble,
)
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.factors import load_factors, to_values
from hatinh_sd.invariants import invariants

FINAL = 2014
OUTPUTS = [
    "grdp",
    "share_industry",
    "employment_share_agriculture",
    "urbanisation_rate",
    "trained_labour_share",
    "total_population",
]


@pytest.fixture(scope="module")
def factors(model):
    return load_factors(model=model)


@pytest.fixture(scope="module")
def sample(factors):
    rng = np.random.default_rng(7)
    u = rng.random((6, len(factors)))
    u[0] = 0.0  # every factor at its low bound
    u[1] = 1.0  # every factor at its high bound
    return to_values(factors, u)


@pytest.fixture(scope="module")
def inline(model, factors, sample):
    return run_ensemble(
        sample,
        [f.variable for f in factors],
        outputs=OUTPUTS,
        model=model,
        chunk_size=4,
        backend="inline",
        final_time=FINAL,
        checks_per_chunk=1,
        progress=False,
        seed=7,
    )


def test_vectorised_equals_scalar_runs_including_bounds(model, factors, sample, inline):
    assert inline.sizes == {
        "sample": 6,
        "time": FINAL - 2010 + 1,
        "stock": len(model.stocks),
        "invariant": len(invariants(model)),
    }
    worst = 0.0
    for k in range(sample.shape[0]):
        params = {f.variable: float(sample[k, j]) for j, f in enumerate(factors)}
        ref = model.run(params, outputs=OUTPUTS).sel(time=inline["time"])
        for v in OUTPUTS:
            a, b = inline[v].isel(sample=k).values, ref[v].values
            worst = max(worst, float(np.max(np.abs(a - b) / np.abs(b))))
    assert worst <= 1e-9
    # factor values are coordinates along 'sample'; seed recorded
    assert np.array_equal(inline[factors[0].py_name].values, sample[:, 0])
    assert inline.attrs["seed"] == 7
    assert inline.attrs["check_max_rel_diff"] <= 1e-9


def test_annual_means_equal_the_scalar_run_averaged_over_the_calendar_year(model, factors, sample):
    from hatinh_sd.calibration import fine_times

    ds = run_ensemble(
        sample[:3],
        [f.variable for f in factors],
        outputs=["grdp"],
        annual=["grdp"],
        model=model,
        backend="inline",
        final_time=FINAL,
        checks_per_chunk=1,
        progress=False,
    )
    assert ds.sizes["time"] == FINAL - 2010 + 1
    assert ds["grdp_annual"].attrs["cell_methods"] == "time: mean over the calendar year"
    t = fine_times(model)
    for k in range(3):
        params = {f.variable: float(sample[k, j]) for j, f in enumerate(factors)}
        ref = model.run(params, outputs=["grdp"], times=t[t <= FINAL])
        for year in (2012, 2013):
            window = ref["grdp"].sel(time=slice(year - 0.5, year + 0.5 - 1e-9)).values
            assert ds["grdp_annual"].sel(time=year).values[k] == pytest.approx(
                window.mean(), rel=1e-9
            )
            assert ds["grdp"].sel(time=year).values[k] == pytest.approx(
                float(ref["grdp"].sel(time=year)), rel=1e-9
            )


def test_array_mode_runs_the_scalar_translation_unchanged(model):
    before = model.py_path.read_bytes()
    array = ensemble.ArrayModel(model)
    assert Path(array.pysd.py_model_file) == model.py_path
    names = ["vocational_training_start_year", "vocational_training"]
    values = {
        "vocational_training_start_year": np.array([2012.0, 2045.0, 2026.0]),
        "vocational_training": np.array([30.0, 30.0, 15.0]),
    }
    times, out = array.run(values, {}, ["trained_labour_share", "grdp"], FINAL + 16)
    assert out.shape == (2, 3, FINAL + 16 - 2010 + 1)
    for k in range(3):
        params = {n: float(values[n][k]) for n in names}
        ref = model.run(params, outputs=["trained_labour_share", "grdp"]).sel(time=times)
        np.testing.assert_allclose(out[0, k], ref["trained_labour_share"].values, rtol=1e-12)
        np.testing.assert_allclose(out[1, k], ref["grdp"].values, rtol=1e-12)
    assert out[0, 0, -1] > out[0, 1, -1] * 1.05  # each sample's start year acts on it alone
    assert model.py_path.read_bytes() == before
    with pytest.raises(ValueError, match="different lengths"):
        array.run({n: values[n][: k + 1] for k, n in enumerate(names)}, {}, ["grdp"], FINAL)


def test_interrupted_and_resumed_sweep_equals_uninterrupted(
    model, factors, sample, inline, tmp_path
):
    kw = dict(
        outputs=OUTPUTS,
        model=model,
        chunk_size=4,
        backend="inline",
        final_time=FINAL,
        checks_per_chunk=1,
        progress=False,
        store=tmp_path / "store",
        seed=7,
    )
    names = [f.variable for f in factors]
    partial = run_ensemble(sample, names, max_chunks=1, **kw)
    assert partial.attrs["complete"] == 0 and partial.sizes["sample"] == 4
    assert sorted(p.name for p in (tmp_path / "store").glob("chunk-*.nc")) == ["chunk-00000.nc"]
    resumed = run_ensemble(sample, names, **kw)
    assert resumed.attrs["complete"] == 1
    for v in OUTPUTS:
        assert np.array_equal(resumed[v].values, inline[v].values)
    # a different sweep does not reuse the store
    with pytest.raises(HatinhInputError, match="different sweep"):
        run_ensemble(sample[:5], names, **kw)


def test_local_pool_and_dask_localcluster_agree(model, factors, sample, inline):
    names = [f.variable for f in factors]
    kw = dict(
        outputs=OUTPUTS,
        model=model,
        chunk_size=4,
        final_time=FINAL,
        checks_per_chunk=1,
        progress=False,
        workers=1,
    )
    local = run_ensemble(sample, names, backend="local", **kw)
    dask = run_ensemble(sample, names, backend="dask", scheduler="local", **kw)
    for v in OUTPUTS:
        assert np.array_equal(local[v].values, inline[v].values)
        assert np.array_equal(dask[v].values, local[v].values)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster():
    """A scheduler and one worker started as separate processes on 127.0.0.1."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        procs.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(1, timeout=30)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.mark.slow
def test_sweep_on_separate_scheduler_and_worker_processes(
    model, factors, sample, inline, dask_cluster
):
    ds = run_ensemble(
        sample,
        [f.variable for f in factors],
        outputs=OUTPUTS,
        model=model,
        chunk_size=4,
        backend="dask",
        scheduler=dask_cluster,
        final_time=FINAL,
        checks_per_chunk=1,
        progress=False,
    )
    for v in OUTPUTS:
        assert np.array_equal(ds[v].values, inline[v].values)


def test_scheduler_that_does_not_answer_is_a_clear_error(model, factors, sample):
    port = _free_port()  # nothing listens there
    with pytest.raises(HatinhInputError, match="no Dask scheduler answers"):
        run_ensemble(
            sample,
            [f.variable for f in factors],
            outputs=OUTPUTS,
            model=model,
            chunk_size=4,
            backend="dask",
            scheduler=f"tcp://127.0.0.1:{port}",
            final_time=FINAL,
            progress=False,
            timeout=2,
        )


def test_disagreement_with_scalar_run_fails_loudly(model, factors, sample, monkeypatch):
    real = ensemble.ArrayModel.run

    def perturbed(self, *args, **kw):
        times, out = real(self, *args, **kw)
        return times, out * (1 + 1e-6)

    monkeypatch.setattr(ensemble.ArrayModel, "run", perturbed)
    with pytest.raises(EnsembleCheckError, match="differs from the scalar run"):
        run_ensemble(
            sample[:2],
            [f.variable for f in factors],
            outputs=OUTPUTS,
            model=model,
            chunk_size=4,
            backend="inline",
            final_time=FINAL,
            checks_per_chunk=1,
            progress=False,
        )


def test_bad_runs_are_reported_with_factor_values():
    ds = xr.Dataset(
        {
            "grdp": (("sample", "time"), np.array([[1.0, 2.0], [1.0, np.nan], [1.0, np.inf]])),
            "stock_min": (("stock", "sample"), np.array([[0.0, 1.0, -1.0]])),
        },
        coords={
            "sample": [10, 11, 12],
            "time": [2010.0, 2011.0],
            "stock": ["trained_workers"],
            "hiring_delay": ("sample", [0.5, 1.0, 3.0]),
        },
    )
    bad = bad_runs(ds)
    assert list(bad["sample"]) == [11, 12]
    assert list(bad["hiring_delay"]) == [1.0, 3.0]
    assert bad.loc[bad["sample"] == 12, "problem"].item() == (
        "non-finite grdp; negative stock trained_workers"
    )
