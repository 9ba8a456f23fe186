"""Interruption and concurrency: killed runs leave no workers and no temp folders,
concurrent runs into one folder never end in a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from hatinh_sd.results import read_results

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "hatinh_sd.cli"]


def _wait(predicate, limit: float) -> bool:
    """Poll ``predicate`` until it holds or ``limit`` seconds have passed (a bound, not a timing)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_kill_9_of_the_parent_leaves_no_worker(tmp_path):
    proc = subprocess.Popen(
        [*CLI, "uncertainty", "--n", "2000", "--chunk-size", "50", "--workers", "2"]
        + ["--no-progress", "--out", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parent = psutil.Process(proc.pid)
    workers: list[psutil.Process] = []
    try:
        assert _wait(lambda: len(parent.children(recursive=True)) >= 2, 120), "no workers started"
        workers = parent.children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"{len(alive)} worker(s) still running 10 s after the parent was killed"
    finally:  # only this test's processes (not pytest's own helpers)
        for p in [parent, *workers]:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass


def test_a_killed_write_leaves_no_temp_folder_after_the_next_run(tmp_path):
    finished = subprocess.Popen(["true"])  # a pid that no longer runs
    finished.wait()
    dead_pid = finished.pid
    stale = [
        tmp_path / f".baseline.tmp-{dead_pid}-abc123",
        tmp_path / f".baseline.old-{dead_pid}-def456",
    ]
    for folder in stale:
        folder.mkdir()
        (folder / "results.nc").write_bytes(b"half written")
    (tmp_path / f".baseline.tmp-{os.getpid()}-live").mkdir()  # a live process's: kept
    out = subprocess.run(
        [*CLI, "run", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert not any(f.exists() for f in stale)
    assert (tmp_path / f".baseline.tmp-{os.getpid()}-live").exists()
    assert (tmp_path / "baseline" / "results.nc").exists()


@pytest.mark.slow
def test_four_concurrent_runs_into_one_folder(tmp_path):
    procs = [
        subprocess.Popen(
            [*CLI, "run", "--out", str(tmp_path)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    for proc, err in zip(procs, errors):
        assert "Traceback" not in err, err
        assert proc.returncode == 0 or (proc.returncode == 2 and len(err.splitlines()) == 1), err
    assert any(p.returncode == 0 for p in procs)
    ds = read_results(tmp_path / "baseline" / "results.nc")
    assert float(ds["grdp"].sel(time=2030)) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline"]
