"""The explorer's state and callback logic, callable without Dash or a browser.

:class:`Explorer` holds the model, the baseline, the data and the run cache;
each method answers one user action (settings changed, scenario chosen or
uploaded, save, CSV download) with plain Python values that the Dash
callbacks (:mod:`hatinh_sd.app.callbacks`) put into the page.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import xarray as xr
import yaml

from hatinh_sd.app import logic
from hatinh_sd.calibration import comparable_observed, load_setup
from hatinh_sd.data import load_observed, load_targets
from hatinh_sd.errors import MAX_YAML_BYTES, HatinhInputError
from hatinh_sd.i18n import text
from hatinh_sd.model import Model, load_model, repo_root
from hatinh_sd.results import csv_text, tidy
from hatinh_sd.targets import PLAN_TARGETS, observed_series, scorecard

__all__ = ["Bands", "Explorer", "RunView"]


#: Largest scenario file the explorer accepts (bytes; the YAML loader's limit).
MAX_UPLOAD_BYTES = MAX_YAML_BYTES


@dataclasses.dataclass
class Bands:
    """Percentile bands of a precomputed ensemble: variable -> DataArray (percentile, time)."""

    variables: dict[str, xr.DataArray]
    low: float
    high: float
    runs: int
    scenario: str
    path: Path


@dataclasses.dataclass
class RunView:
    """What the page shows for one set of lever settings."""

    params: dict[str, float]
    figures: list[dict]  # empty when only the current lines were asked for
    current: list[list[float | None]]  # the current-settings line of each chart
    card: pd.DataFrame
    summary: dict
    bands_note: str


class Explorer:
    """State and logic of the interactive explorer.

    Parameters
    ----------
    model : Model, optional
        The loaded model (``load_model()`` by default).
    outputs : path, optional
        Folder searched for precomputed uncertainty results (``outputs/``).
    cache_size : int
        Number of runs kept by the run cache.
    """

    def __init__(
        self,
        model: Model | None = None,
        outputs: Path | str | None = None,
        cache_size: int = 64,
    ):
        self.model = model or load_model()
        self.outputs = Path(outputs) if outputs else repo_root() / "outputs"
        self.controls = logic.lever_controls(self.model)
        self.by_name = {c.name: c for c in self.controls}
        self.cache = logic.RunCache(self.model, maxsize=cache_size)
        self.targets = logic.target_rows(load_targets())
        self.targets_raw = load_targets()
        self.observed = comparable_observed(load_observed(), load_setup(self.model))
        self.baseline = self.cache.get({})
        self.baseline_card = scorecard(self.baseline, targets=self.targets_raw)
        #: Variables the page shows (charts and scorecard); the CSV has all.
        self.page_outputs = list(dict.fromkeys(self.targets["variable"]))
        self.observed_by_target = {
            tid: observed_series(self.observed, self.targets.loc[tid, "indicator"]).set_index(
                "time"
            )["value"]
            for tid in PLAN_TARGETS
        }
        self._bands: Bands | None | bool = False  # False: not looked for yet
        self._titles: dict[str, dict[str, str]] | None = None

    # ------------------------------------------------------------ settings
    def default_values(self) -> dict[str, object]:
        """Raw control values of the baseline, by lever name."""
        return {c.name: c.to_raw(c.default) for c in self.controls}

    def params(self, raw_values: Mapping[str, object]) -> dict[str, float]:
        """Validated model parameters of raw control values (see :func:`logic.params_from_values`)."""
        return logic.params_from_values(self.controls, raw_values, self.model)

    def view(
        self,
        raw_values: Mapping[str, object],
        lang: str,
        show_bands: bool,
        *,
        figures: bool = True,
    ) -> RunView:
        """Run the model for the settings (or take the cached run) and build what the page shows.

        With ``figures=False`` only the current-settings line of each chart is
        computed (enough for an update that replaces just that line).

        Raises
        ------
        HatinhInputError
            For settings outside the model's ranges; nothing is run.
        """
        params = self.params(raw_values)
        run = self.cache.get(params, self.page_outputs)
        bands = self.bands() if show_bands else None
        current = [
            logic.chart_values(run, self.targets.loc[tid, "indicator"]) for tid in PLAN_TARGETS
        ]
        charts = [
            logic.chart_figure(
                tid,
                run,
                self.baseline,
                self.targets,
                self.observed_by_target[tid],
                lang,
                bands=bands.variables if bands else None,
                band_label=(bands.low, bands.high) if bands else None,
            )
            for tid in PLAN_TARGETS
            if figures
        ]
        card = logic.scorecard_rows(run, self.baseline_card, self.targets_raw)
        note = ""
        if show_bands:
            note = (
                text(
                    "app.uncertainty.shown",
                    lang,
                    low=f"{bands.low:g}",
                    high=f"{bands.high:g}",
                    runs=bands.runs,
                    scenario=bands.scenario,
                )
                if bands
                else text("app.uncertainty.unavailable", lang)
            )
        return RunView(params, charts, current, card, logic.run_summary(params, card), note)

    # ------------------------------------------------------------ scenarios
    def scenario_options(self, lang: str) -> list[dict]:
        """Dropdown options of the shipped scenarios (``scenarios/*.yaml``) with their titles."""
        from hatinh_sd.scenarios import available_scenarios, load_scenario

        if self._titles is None:
            self._titles = {}
            for name in available_scenarios():
                try:
                    self._titles[name] = load_scenario(name, model=self.model).title.model_dump()
                except HatinhInputError:
                    self._titles[name] = {}  # listed; loading it shows the error
        return [
            {"label": f"{t.get(lang, name)} ({name})" if t else name, "value": name}
            for name, t in self._titles.items()
        ]

    def values_from_params(self, params: Mapping[str, float]) -> dict[str, object]:
        """Raw control values showing ``params`` (model or Python names); other levers at default."""
        values = {c.name: c.default for c in self.controls}
        for name, value in params.items():
            values[self.model.real_name(name)] = float(value)
        return {n: self.by_name[n].to_raw(v) for n, v in values.items()}

    def scenario_values(self, name: str) -> dict[str, object]:
        """Raw control values of shipped scenario ``name`` (validated and resolved by :mod:`hatinh_sd.scenarios`)."""
        from hatinh_sd.scenarios import load_scenario, resolve_scenario

        scn = load_scenario(name, model=self.model)
        return self.values_from_params(resolve_scenario(scn, self.model))

    def upload_values(self, contents: str, filename: str) -> dict[str, object]:
        """Raw control values of an uploaded scenario file (a ``data:...;base64,`` URL).

        Raises
        ------
        HatinhInputError
            For a file that is not UTF-8 YAML or not a valid scenario; the
            message names the uploaded file, the line and the key.
        """
        from hatinh_sd.scenarios import load_scenario, resolve_scenario

        # the uploaded name is only shown, never used as a path
        name = "".join(c for c in Path(str(filename or "upload.yaml")).name if c.isprintable())
        name = name if len(name) <= 80 else name[:77] + "..."
        if not name.endswith((".yaml", ".yml")):
            raise HatinhInputError("a scenario file must end in .yaml", path=name or "upload")
        if len(contents or "") > MAX_UPLOAD_BYTES * 4 // 3 + 100:
            raise HatinhInputError(
                f"larger than {MAX_UPLOAD_BYTES:,} bytes; a scenario file is a few kB", path=name
            )
        try:
            raw = base64.b64decode(contents.split(",", 1)[1], validate=True)
            body = raw.decode("utf-8")
        except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
            raise HatinhInputError("not a UTF-8 text file", path=name) from None
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "upload.yaml"
            path.write_text(body, encoding="utf-8")
            try:
                scn = load_scenario(str(path), model=self.model)
                params = resolve_scenario(scn, self.model)
            except HatinhInputError as exc:
                raise HatinhInputError(str(exc).replace(str(path), name)) from None
        return self.values_from_params(params)

    def scenario_yaml(self, raw_values: Mapping[str, object], lang: str = "en") -> str:
        """A scenario file (YAML) of the current settings: every lever that differs from the baseline.

        Levers and timing parameters are written as plain numbers, which
        :mod:`hatinh_sd.scenarios` resolves to exactly these parameters.
        """
        params = self.params(raw_values)
        changes = ", ".join(f"{k} = {v:g}" for k, v in params.items()) or "-"
        doc = {
            "title": {lang: text("app.saved.title", lang) for lang in ("vi", "en")},
            "description": {
                lang: text("app.saved.description", lang, changes=changes) for lang in ("vi", "en")
            },
            "cites": text("app.saved.cites", lang),
            "levers": {k: (int(v) if float(v).is_integer() else v) for k, v in params.items()},
        }
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)

    # ------------------------------------------------------------ downloads
    def csv(self, raw_values: Mapping[str, object]) -> str:
        """The current run as a long CSV table (time, variable, long_name, value, units)."""
        return csv_text(tidy(self.cache.get(self.params(raw_values))), index=False)

    # ------------------------------------------------------------ uncertainty
    def bands(self) -> Bands | None:
        """Percentile bands of a precomputed ensemble under ``outputs/``, or ``None``."""
        if self._bands is False:
            self._bands = find_bands(self.outputs)
        return self._bands if isinstance(self._bands, Bands) else None


def find_bands(outputs: Path) -> Bands | None:
    """Percentile bands of a precomputed ensemble under ``outputs``, or ``None``.

    Reads the ``bands.nc`` written by ``hatinh-sd uncertainty`` (folder
    ``outputs/uncertainty/<scenario>/``; variables over ``percentile`` and
    ``time``, attributes ``scenario`` and ``n_runs``), preferring the
    baseline's, else the newest. The outermost percentiles (5-95) are shown.
    """
    found = sorted(outputs.glob("**/bands.nc"), key=lambda p: p.stat().st_mtime, reverse=True)
    found.sort(key=lambda p: p.parent.name != "baseline")
    for path in found:
        try:
            ds = xr.open_dataset(path).load()
        except (OSError, ValueError):
            continue
        variables = [v for v in _target_variables() if v in ds and "percentile" in ds[v].dims]
        if not variables:
            continue
        pct = ds["percentile"].values
        low, high = float(pct.min()), float(pct.max())
        return Bands(
            variables={
                v: ds[v].sel(percentile=[low, high]).transpose("percentile", "time")
                for v in variables
            },
            low=low,
            high=high,
            runs=int(ds.attrs.get("n_runs", 0)),
            scenario=str(ds.attrs.get("scenario", path.parent.name)),
            path=path,
        )
    return None


def _target_variables() -> list[str]:
    from hatinh_sd.targets import INDICATOR_VARIABLES

    return list(INDICATOR_VARIABLES.values())


def summary_json(summary: dict) -> str:
    """The run summary as the JSON text carried in the page."""
    return json.dumps(summary, ensure_ascii=False, sort_keys=True)
