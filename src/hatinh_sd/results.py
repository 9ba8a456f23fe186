"""Write and read run results: netCDF, tidy CSV and the scorecard, atomically.

A run's folder (``outputs/<scenario>/``) is assembled in a temporary folder
beside it and moved into place in one step, so a failed or interrupted run
never leaves partial or mixed files behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from hatinh_sd.errors import HatinhInputError, check_name

__all__ = [
    "write_about",
    "atomic_dir",
    "atomic_file",
    "check_writable",
    "CF_CONVENTIONS",
    "CF_TIME_ATTRS",
    "CF_TIME_ORIGIN",
    "csv_text",
    "from_cf",
    "is_current",
    "joined_name",
    "output_folder",
    "read_results",
    "safe_cells",
    "tidy",
    "to_cf",
    "write_csv",
    "write_netcdf",
    "write_run",
]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: Path, what: str) -> None:
    """Refuse ``path`` when its nearest existing folder (``path`` itself or a parent) is a
    file or cannot be written: checked before a command computes, not when it writes."""
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise HatinhInputError(f"{p} is a file; {what}", path=path)
            if not os.access(p, os.W_OK | os.X_OK):
                raise HatinhInputError(f"{p} is not writable", path=path)
            return


def output_folder(out: str | os.PathLike[str], *names: str) -> Path:
    """``out/name1/name2...``, each name checked (:func:`~hatinh_sd.errors.check_name`).

    The result lies strictly inside ``out`` whatever the names, so a run can
    never replace ``out`` itself, a folder beside it or a user's file.
    """
    root = Path(out)
    folder = root.joinpath(*(check_name(n) for n in names))
    check_writable(root, "--out must be a folder")
    inside = folder.resolve()
    if inside == root.resolve() or root.resolve() not in inside.parents:
        raise HatinhInputError(f"output folder {folder} is not inside {root}", path=root)
    return folder


def joined_name(prefix: str, names: Sequence[str], limit: int = 64) -> str:
    """``prefix_a_b_c``, or a readable head plus a hash when longer than ``limit``."""
    full = "_".join([prefix, *names])
    if len(full) <= limit:
        return full
    digest = hashlib.sha256("\0".join(names).encode()).hexdigest()[:10]
    return f"{full[: limit - 11].rstrip('_-')}-{digest}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(final: Path) -> None:
    """Remove temporary folders of ``final`` left by processes that no longer run."""
    for prefix in (f".{final.name}.tmp-", f".{final.name}.old-"):
        for left in final.parent.glob(glob.escape(prefix) + "*"):
            pid = left.name[len(prefix) :].split("-", 1)[0]
            if not pid.isdigit() or not _alive(int(pid)):
                if left.is_dir() and not left.is_symlink():
                    shutil.rmtree(left, ignore_errors=True)
                else:
                    left.unlink(missing_ok=True)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (the parent of a swapped folder)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``final`` when the block succeeds.

    The folder is written beside ``final`` and swapped in under a lock on the
    parent folder, so concurrent runs into one folder each leave a complete
    folder and never see a half-swapped one. Temporary folders left by killed
    processes are removed on the next run. ``final`` must be a folder (or not
    exist): a file there is an error, never replaced.
    """
    final = Path(final)
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise HatinhInputError("exists and is not a results folder; not replaced", path=final)
    final.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(final)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-{os.getpid()}-"))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700 folders; results are for reading
    try:
        yield tmp
        old = None
        with _folder_lock(final.parent):
            if final.exists():
                old = Path(
                    tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.old-{os.getpid()}-")
                )
                final.rename(old / final.name)
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
    if final.is_dir():
        raise HatinhInputError("is a folder; not replaced by a file", path=final)
    final.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(final)
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.tmp-{os.getpid()}-")
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600 files; results are for reading
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


#: First characters that make a spreadsheet read a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _neutral(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_cells(table: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """A copy of ``table`` whose text cells, labels and headers no spreadsheet reads as formulas.

    Text starting with ``= + - @``, tab or carriage return gets a leading
    apostrophe (OWASP's advice for CSV injection); numbers are untouched.
    """
    frame = table.to_frame() if isinstance(table, pd.Series) else table.copy()
    text = pd.api.types.is_string_dtype
    for col in frame.columns:
        if text(frame[col].dtype):
            frame[col] = frame[col].map(_neutral)
    frame.columns = frame.columns.map(_neutral)
    if text(frame.index.dtype):
        frame.index = frame.index.map(_neutral)
    return frame


def csv_text(table: pd.DataFrame | pd.Series, **kwargs: Any) -> str:
    """``table`` as CSV text for Excel: a UTF-8 byte-order mark and neutralised cells."""
    return "\ufeff" + safe_cells(table).to_csv(**kwargs)


def write_csv(table: pd.DataFrame | pd.Series, path: Path, **kwargs: Any) -> None:
    """Write ``table`` as CSV that Excel opens right (:func:`csv_text`)."""
    Path(path).write_text(csv_text(table, **kwargs), encoding="utf-8", newline="")


#: The ``Conventions`` global attribute of a results file.
CF_CONVENTIONS = "CF-1.11"

#: Model time on file (CF): ``Time`` t, a calendar year number (2010.0, 2010.125, ...) that
#: marks the middle of its year (the model's ``mid year offset``), is stored as
#: (t - 2010) * 365 days since 2010-07-02 12:00 (the middle of 2010) in a 365-day calendar,
#: so CF tools read mid-year dates. In memory it stays t, with ``units: year``.
CF_TIME_ORIGIN = 2010.0
CF_TIME_ATTRS = {
    "units": "days since 2010-07-02 12:00:00",
    "calendar": "noleap",
    "standard_name": "time",
    "axis": "T",
    "comment": "model Time t (a calendar year; the state in the middle of that year) is "
    "stored as (t - 2010) * 365 days since 2010-07-02 12:00 in the 365-day calendar",
}
_DAYS_PER_YEAR = 365.0


def _is_model_run(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is a model run: a ``time`` coordinate in calendar years (``units: year``)."""
    return "time" in ds.coords and ds["time"].attrs.get("units") == "year"


def _history(attrs: Mapping[str, object]) -> str:
    """The ``history`` of a results file, from its ``created`` and version attributes."""
    return (
        f"{attrs.get('created', '')} written by hatinh-sd {attrs.get('hatinh_sd_version', '')} "
        f"(PySD {attrs.get('pysd_version', '')})"
    ).strip()


def _cf_variable_attrs(attrs: Mapping[str, object]) -> dict[str, object]:
    """A variable's attributes on file: UDUNITS ``units``, the model's in ``vensim_units``."""
    from hatinh_sd.units import UnitError, udunits

    out = dict(attrs)
    vensim = attrs.get("units")
    if not isinstance(vensim, str) or "vensim_units" in attrs:
        return out
    try:
        text, extra = udunits(vensim)
    except UnitError as err:
        warnings.warn(f"units kept as in the model: {err}", UserWarning, stacklevel=3)
        return out
    out["units"] = text
    out["vensim_units"] = vensim
    for key, value in extra.items():
        out.setdefault(key, value)
    return out


def _model_variable_attrs(attrs: Mapping[str, object]) -> dict[str, object]:
    """Undo :func:`_cf_variable_attrs`: the model's units back in ``units``."""
    from hatinh_sd.units import UnitError, udunits

    out = dict(attrs)
    vensim = out.pop("vensim_units", None)
    if not isinstance(vensim, str):
        return dict(attrs)
    try:
        text, extra = udunits(vensim)
    except UnitError:
        text, extra = str(attrs.get("units")), {}
    if attrs.get("units") != text:
        return dict(attrs)  # not written by this version's mapping: left as on file
    out["units"] = vensim
    for key, value in extra.items():
        if out.get(key) == value:
            del out[key]
    return out


def to_cf(ds: xr.Dataset) -> xr.Dataset:
    """A model run with the metadata of the CF conventions (the values untouched).

    - global ``Conventions`` (:data:`CF_CONVENTIONS`) and ``history``, before the run's
      own attributes (kept);
    - each variable's ``units`` in UDUNITS terms (:func:`hatinh_sd.units.udunits`), the
      model's unit string in ``vensim_units``, and ``currency``, ``price_basis`` and
      ``units_note`` where they apply;
    - ``time``, when in calendar years (``units: year``), in days (:data:`CF_TIME_ATTRS`).

    :func:`from_cf` undoes it.
    """
    out = ds.copy()
    out.attrs = {
        "Conventions": ds.attrs.get("Conventions", CF_CONVENTIONS),
        "history": ds.attrs.get("history", _history(ds.attrs)),
        **ds.attrs,
    }
    for name in out.data_vars:
        out[name].attrs = _cf_variable_attrs(ds[name].attrs)
    for name in out.coords:
        if name != "time":
            out[name].attrs = _cf_variable_attrs(ds[name].attrs)
    if not _is_model_run(ds):
        return out
    days = (ds["time"].values.astype(float) - CF_TIME_ORIGIN) * _DAYS_PER_YEAR
    return out.assign_coords(time=("time", days, {**ds["time"].attrs, **CF_TIME_ATTRS}))


def from_cf(ds: xr.Dataset) -> xr.Dataset:
    """Undo :func:`to_cf`: ``time`` in calendar years (``units: year``), the model's units."""
    if "time" not in ds.coords or ds["time"].attrs.get("units") != CF_TIME_ATTRS["units"]:
        return ds
    out = ds.copy()
    attrs = dict(ds.attrs)
    if attrs.get("Conventions") == CF_CONVENTIONS:
        del attrs["Conventions"]
    if attrs.get("history") == _history(attrs):
        del attrs["history"]
    out.attrs = attrs
    for name in out.variables:
        if name != "time":
            out[name].attrs = _model_variable_attrs(ds[name].attrs)
    time_attrs = {k: v for k, v in ds["time"].attrs.items() if k not in CF_TIME_ATTRS}
    years = CF_TIME_ORIGIN + ds["time"].values.astype(float) / _DAYS_PER_YEAR
    return out.assign_coords(time=("time", years, {"units": "year", **time_attrs}))


def write_netcdf(ds: xr.Dataset, path: Path, *, cf: bool | None = None) -> None:
    """Write ``ds`` to netCDF (compressed) atomically.

    A model run (``time`` in calendar years, as :meth:`hatinh_sd.model.Model.run` makes it;
    or any dataset with ``cf=True``) is written with the metadata of the CF conventions
    (:func:`to_cf`), and its coordinates without ``_FillValue``; :func:`read_results`
    reads it back as it was. Other datasets (ensemble chunks, bands) are written as they are.
    """
    if cf is None:
        cf = _is_model_run(ds)
    encoding: dict[Hashable, dict[str, object]] = {
        v: {"zlib": True, "complevel": 4} for v in ds.data_vars
    }
    if cf:
        ds = to_cf(ds)
        encoding.update({c: {"_FillValue": None} for c in ds.coords})
    with atomic_file(Path(path)) as tmp:
        ds.to_netcdf(tmp, encoding=encoding, engine="netcdf4")


def read_results(path: Path) -> xr.Dataset:
    """Read a results file written by :func:`write_netcdf` (loaded into memory).

    ``time`` comes back as float calendar years and ``units`` as the model's unit
    strings (:func:`from_cf`), whatever a CF reader would make of them.
    """
    with xr.open_dataset(path, engine="netcdf4", decode_times=False) as ds:
        return from_cf(ds.load())


def tidy(ds: xr.Dataset) -> pd.DataFrame:
    """Long table of a run: scenario, time, variable, long name, value, units.

    The scenario column (the run's ``scenario`` attribute) lets tables of
    several runs be stacked in a spreadsheet without losing which is which.
    """
    scenario = str(ds.attrs.get("scenario", ""))
    frames = []
    for name, da in ds.data_vars.items():
        if da.dims != ("time",):
            continue
        frames.append(
            pd.DataFrame(
                {
                    "scenario": scenario,
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
        write_csv(tidy(ds), tmp / "results.csv", index=False, float_format="%.10g")
        for name, writer in (extra or {}).items():
            writer(tmp / name)
    return folder


#: The calibration hash recorded for results of a model without a calibration file.
UNCALIBRATED = "none (uncalibrated defaults of the .mdl)"


def fingerprint(model: Any) -> dict[str, str]:
    """What makes stored results current: the SHA-256 of the model file and of the
    calibration, as results record them in their attributes (or ``about.json``)."""
    return {
        "model_sha256": model.hash,
        "calibration_sha256": model.calibration_hash or UNCALIBRATED,
    }


def current_attrs(model: Any, attrs: Mapping[str, Any]) -> bool:
    """Whether results with attributes ``attrs`` were computed with ``model``: the same model
    file and the same calibration (the one staleness rule of the report and the explorer)."""
    return all(str(attrs.get(k, "")) == v for k, v in fingerprint(model).items())


def write_about(path: Path, model: Any, **fields: object) -> None:
    """``about.json`` of a result folder: the model and calibration it was computed with (the
    report shows only results of the current model) and ``fields``."""
    import json

    about = {**fingerprint(model), **fields}
    Path(path).write_text(json.dumps(about, ensure_ascii=False), encoding="utf-8")


def is_current(model: Any, about: Path) -> bool | None:
    """Whether the results described by ``about`` (an ``about.json`` of :func:`write_about`, or
    a netCDF file whose attributes carry the hashes) were computed with ``model``
    (:func:`current_attrs`); ``None`` when there are none. Results of another model or
    calibration are named, never shown."""
    import json

    about = Path(about)
    if not about.exists():
        return None
    if about.suffix == ".json":
        meta = json.loads(about.read_text(encoding="utf-8"))
    else:
        with xr.open_dataset(about) as ds:
            meta = dict(ds.attrs)
    return current_attrs(model, meta)


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: Path | str) -> Path:
    """One workbook, a sheet per table, that opens right in Excel: no cell read as a formula,
    floats with thousands separators and 2 decimals (``#,##0.00``; Excel shows its own
    locale's marks), column widths to fit, the header frozen and filters on."""
    from openpyxl.utils import get_column_letter

    path = Path(path)
    with atomic_file(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        for sheet, df in sheets.items():
            df = safe_cells(df)  # noqa: PLW2901 - no formula from a scenario name
            df.to_excel(xl, sheet_name=sheet[:31], index=False)
            ws = xl.sheets[sheet[:31]]
            for i, col in enumerate(df.columns, start=1):
                width = max(
                    [len(str(col))]
                    + [len(f"{v:.4g}" if isinstance(v, float) else str(v)) for v in df[col]]
                )
                ws.column_dimensions[get_column_letter(i)].width = min(60, width + 2)
                if pd.api.types.is_float_dtype(df[col]):
                    for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                        cell.number_format = "#,##0.00"
            ws.freeze_panes = "A2"  # the header stays in view
            ws.auto_filter.ref = ws.dimensions
    return path
