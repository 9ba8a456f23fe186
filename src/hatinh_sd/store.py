"""The results store: where results live under ``outputs/`` and when they are current.

Commands write results here and the report and the explorer read them back instead of
running the model again. The layout (``root`` is ``outputs/`` by default):

=========================================  =============================================
``<scenario>/results.nc``                  a scenario's run (``hatinh-sd run``)
``uncertainty/<scenario>/bands.nc``        percentile bands (``hatinh-sd uncertainty``)
``sensitivity/<name>/indices.csv``         sensitivity indices (``hatinh-sd sensitivity``;
                                           ``ensemble.nc`` beside it says of which model)
``.store/<key>.nc``                        runs the report derives (the calibration fit's)
=========================================  =============================================

One rule says whether stored results are current (:func:`hatinh_sd.results.current_attrs`): they were computed
with this model file and this calibration (the SHA-256 of each, recorded in the results'
attributes). A run must also have the settings asked for. Results that are not current are
never shown as current: the report and the explorer compute again or say they are stale.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.results import (
    atomic_file,
    current_attrs,
    fingerprint,
    read_results,
    write_netcdf,
)

__all__ = ["Store"]


def _read(path: Path) -> xr.Dataset | None:
    """A stored run with its times as the model makes them (exact binary fractions of a year
    survive the CF round trip to within 1e-12; rounding restores them)."""
    try:
        ds = read_results(path)
    except (OSError, ValueError):
        return None
    return ds.assign_coords(time=("time", np.round(ds["time"].values, 9), ds["time"].attrs))


def _settings(model: Any, params: Mapping[str, float]) -> dict[str, float]:
    """Settings (model names) that differ from the model's values: what makes two runs differ."""
    defaults = model.defaults
    out = {}
    for name, value in params.items():
        real = model.real_name(name)
        default = defaults.get(real)
        if default is None or not math.isclose(float(value), float(default), rel_tol=1e-12):
            out[real] = float(value)
    return out


class Store:
    """The results under ``root`` (see the module's docstring).

    Parameters
    ----------
    root : path
        The output folder (``outputs``).
    """

    def __init__(self, root: Path | str = "outputs"):
        self.root = Path(root)
        #: Runs read from the store (for tests and messages).
        self.hits = 0

    def run_path(self, scenario: str) -> Path:
        """The ``results.nc`` of a scenario's run."""
        return self.root / scenario / "results.nc"

    def bands_path(self, scenario: str) -> Path:
        """The ``bands.nc`` of a scenario's uncertainty ensemble."""
        return self.root / "uncertainty" / scenario / "bands.nc"

    def run(
        self,
        model: Any,
        scenario: str,
        params: Mapping[str, float],
        outputs: list[str] | None = None,
    ) -> xr.Dataset | None:
        """The stored run of ``scenario`` if it is current and has the settings ``params``
        (model or Python names; settings equal to the model's values do not count) and the
        ``outputs`` asked for (every variable by default); otherwise ``None``."""
        path = self.run_path(scenario)
        ds = _read(path) if path.exists() else None
        if ds is None or not current_attrs(model, ds.attrs):
            return None
        try:
            stored = json.loads(str(ds.attrs["parameter_overrides"]))
        except (KeyError, ValueError):
            return None
        if _settings(model, stored) != _settings(model, params):
            return None
        wanted = model.outputs if outputs is None else [model.py_name(o) for o in outputs]
        if any(v not in ds for v in wanted):
            return None
        self.hits += 1
        return ds[wanted] if outputs is not None else ds

    def bands(self, model: Any, scenario: str) -> tuple[xr.Dataset, bool] | None:
        """The percentile bands of ``scenario`` and whether they are current (the same rule
        as runs), or ``None`` when there are none (or the file is unreadable)."""
        path = self.bands_path(scenario)
        try:
            with xr.open_dataset(path) as f:
                ds = f.load()
        except (OSError, ValueError):
            return None
        return ds, current_attrs(model, ds.attrs)

    def sensitivity(self, model: Any) -> list[tuple[Path, bool, str, pd.DataFrame]]:
        """Every sensitivity result under ``sensitivity/``: its ``indices.csv``, whether it is
        current (by its ``ensemble.nc``'s attributes, the same rule as runs), the model hash it
        was computed with ("" when unknown) and the table."""
        found = []
        for path in sorted((self.root / "sensitivity").glob("*/indices.csv")):
            attrs: dict[str, Any] = {}
            ensemble = path.parent / "ensemble.nc"
            if ensemble.exists():
                with xr.open_dataset(ensemble) as ds:
                    attrs = dict(ds.attrs)
            table = pd.read_csv(path, encoding="utf-8-sig")
            found.append(
                (path, current_attrs(model, attrs), str(attrs.get("model_sha256", "")), table)
            )
        return found

    def derived(
        self, model: Any, key: str, compute: Callable[[], xr.Dataset], **inputs: str
    ) -> xr.Dataset:
        """A run the report derives (``key``), read from ``.store/<key>.nc`` when it is current
        and was computed from the same ``inputs`` (names -> hashes, e.g. a setup file's);
        otherwise computed and stored (atomically)."""
        path = self.root / ".store" / f"{key}.nc"
        if path.exists():
            ds = _read(path)
            if (
                ds is not None
                and current_attrs(model, ds.attrs)
                and all(ds.attrs.get(f"input_{k}") == v for k, v in inputs.items())
            ):
                self.hits += 1
                return ds
        ds = compute()
        ds.attrs.update(fingerprint(model))
        ds.attrs.update({f"input_{k}": v for k, v in inputs.items()})
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as tmp:
            write_netcdf(ds, tmp)
        return ds
