"""Write and read run results: netCDF, tidy CSV and the scorecard, atomically.

A run's folder (``outputs/<scenario>/``) is assembled in a temporary folder
beside it and moved into place in one step, so a failed or interrupted run
never leaves partial or mixed files behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import xarray as xr

__all__ = ["atomic_dir", "atomic_file", "read_results", "tidy", "write_netcdf", "write_run"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``final`` when the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700 folders; results are for reading
    try:
        yield tmp
        old = None
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            final.rename(old)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path that replaces ``final`` when the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.tmp-")
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600 files; results are for reading
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_netcdf(ds: xr.Dataset, path: Path) -> None:
    """Write ``ds`` to netCDF (compressed) atomically."""
    encoding = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars}
    with atomic_file(Path(path)) as tmp:
        ds.to_netcdf(tmp, encoding=encoding, engine="netcdf4")


def read_results(path: Path) -> xr.Dataset:
    """Read a results file written by :func:`write_netcdf` (loaded into memory)."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()


def tidy(ds: xr.Dataset) -> pd.DataFrame:
    """Long table of a run: time, variable, long name, value, units."""
    frames = []
    for name, da in ds.data_vars.items():
        if da.dims != ("time",):
            continue
        frames.append(
            pd.DataFrame(
                {
                    "time": ds["time"].values.astype(int),
                    "variable": name,
                    "long_name": da.attrs.get("long_name", name),
                    "value": da.values,
                    "units": da.attrs.get("units", ""),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_run(
    ds: xr.Dataset,
    folder: Path,
    *,
    extra: dict[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Write a run's ``results.nc``, ``results.csv`` and extra files into ``folder`` atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        The run's results.
    folder : Path
        Final folder (``outputs/<scenario>``); replaced as a whole.
    extra : dict, optional
        File name -> function writing that file to the given path.
    """
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        write_netcdf(ds, tmp / "results.nc")
        tidy(ds).to_csv(tmp / "results.csv", index=False, float_format="%.10g")
        for name, writer in (extra or {}).items():
            writer(tmp / name)
    return folder
