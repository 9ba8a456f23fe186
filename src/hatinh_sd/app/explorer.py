"""The explorer's state and callback logic, callable without Dash or a browser.

:class:`Explorer` holds the model, the baseline, the data and the run cache;
each method answers one user action (settings changed, scenario chosen or
uploaded, save, CSV or Excel download) with plain Python values that the Dash
callbacks (:mod:`hatinh_sd.app.callbacks`) put into the page.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as _dt
import json
import math
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr
import yaml

from hatinh_sd import vocabulary
from hatinh_sd.app import logic
from hatinh_sd.app.bands import LiveBands, LiveBandsUnavailable
from hatinh_sd.calibration import comparable_observed, project_setup
from hatinh_sd.compare import INVESTMENT_VARIABLES
from hatinh_sd.data import load_observed, load_targets
from hatinh_sd.errors import MAX_YAML_BYTES, HatinhInputError, did_you_mean
from hatinh_sd.i18n import number, text
from hatinh_sd.model import Model, load_model
from hatinh_sd.project import current_project
from hatinh_sd.results import csv_text, tidy, write_xlsx
from hatinh_sd.store import Store
from hatinh_sd.targets import (
    observed_series,
    plan_target_list,
    plan_targets,
    scorecard,
    target_label,
)

__all__ = ["Bands", "EffectsView", "Explorer", "RunView"]


#: Largest scenario file the explorer accepts (bytes; the YAML loader's limit).
MAX_UPLOAD_BYTES = MAX_YAML_BYTES


@dataclasses.dataclass
class Bands:
    """Percentile bands of an ensemble: variable -> DataArray (percentile, time).

    ``source`` is ``live`` for a band computed for the settings on screen
    (:class:`hatinh_sd.app.bands.LiveBands`; ``scenario`` and ``path`` then
    ``None`` / unused), ``file`` for a precomputed ``bands.nc``.
    """

    variables: dict[str, xr.DataArray]
    low: float
    high: float
    runs: int
    scenario: str | None
    path: Path | None
    current: bool = True  # computed with the current model (its .mdl's SHA-256)
    source: str = "file"
    seed: int | None = None


#: What the costs panel needs of a run (:meth:`Explorer.costs`); a project whose model lacks
#: one of them has no costs panel.
COST_OUTPUTS = (*INVESTMENT_VARIABLES, "fdi_incentives_cost")
#: Columns of the costs panel, as ``compare`` names them.
COST_COLUMNS = ("total", "state", "private", "fdi", "icor", "state_share_grdp", "budget_unpaid")


@dataclasses.dataclass
class EffectsView:
    """Lever effects under uncertainty on one target in one year, as ``hatinh-sd effects``
    stored them (``outputs/effects/<scenario>/``), for the lever-effects table.

    ``folder`` is ``None`` when no effects of the current model are stored; ``matches``
    says whether they were computed with every lever as on screen (each lever's effect
    depends on where the others stand); ``table`` holds the rows of ``effects.csv`` for
    the target and year, ranked (empty when that target and year were not computed);
    ``stale`` names folders computed with another model (named, never shown); ``stamp``
    the modification times of the files read (what the table shows changes with them).
    """

    target: str
    year: int
    folder: Path | None
    matches: bool
    table: pd.DataFrame
    stale: list[Path]
    stamp: tuple[float, ...] = ()

    @property
    def scenario(self) -> str | None:
        """The scenario the effects were computed for (their folder's name)."""
        return self.folder.name if self.folder else None


#: Engines of the page's runs, fastest first: the compiled kernel of the model
#: (:class:`hatinh_sd.compiled.CompiledModel`, about 1 ms a run), pysimlin (about 10 ms)
#: and PySD (the reference, about 150 ms). A fast engine is used only once it agrees with
#: PySD on the page's variables.
ENGINES = ("compiled", "simlin", "pysd")


def _fast_runner(name: str, model: Model) -> Any:
    """The runner of engine ``name`` (``compiled`` or ``simlin``) for ``model``."""
    if name == "compiled":
        from hatinh_sd.compiled import CompiledModel

        return CompiledModel(model)
    from hatinh_sd.fastengine import SimlinRunner

    return SimlinRunner(model)


@dataclasses.dataclass
class RunView:
    """What the page shows for one set of lever settings."""

    params: dict[str, float]
    figures: list[dict]  # empty when only the current lines were asked for
    current: list[list[float | None]]  # the current-settings line of each chart
    card: pd.DataFrame
    summary: dict
    bands_note: str
    bands: Bands | None = None  # the band drawn (with ``show_bands``), if any


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
    posterior : path or False, optional
        Posterior draws of the live bands (``model/posterior.nc`` by default);
        ``False`` switches live bands off (only precomputed bands are shown).
    live_engine : {"process", "inline"}
        Where the live bands' ensembles run (:class:`hatinh_sd.app.bands.LiveBands`).
    engine : {"compiled", "simlin", "pysd"}
        The engine of the page's runs (:data:`ENGINES`). A fast engine (the model's
        compiled kernel, or pysimlin's simulator) is used only when it agrees with PySD
        within :data:`hatinh_sd.fastengine.CHECK_RTOL` on the page's variables (checked at
        start on the baseline and every lever at the bottom and at the top of its
        range); otherwise the next engine is tried, and PySD runs them last. Downloads
        are always PySD's runs. ``engine_check`` keeps the largest difference found.
    """

    def __init__(
        self,
        model: Model | None = None,
        outputs: Path | str | None = None,
        cache_size: int = 64,
        posterior: Path | str | bool | None = None,
        live_engine: str = "process",
        engine: str = "compiled",
    ):
        self.model = model or load_model()
        self.outputs = Path(outputs) if outputs else current_project().root / "outputs"
        from hatinh_sd.scenarios import load_catalogue

        #: The lever catalogue: the levers' labels, controls and timing.
        self.catalogue = load_catalogue(model=self.model)
        self.controls = logic.lever_controls(self.model, self.catalogue)
        self.by_name = {c.name: c for c in self.controls}
        self.cache = logic.RunCache(self.model, maxsize=cache_size)
        self.targets = logic.target_rows(load_targets())
        self.targets_raw = load_targets()
        self.observed = comparable_observed(load_observed(), project_setup(self.model))
        #: Variables the page shows (charts and scorecard); the CSV has all.
        self.page_outputs = list(dict.fromkeys(self.targets["variable"]))
        #: Whether the model has the investment accounts the costs panel reads.
        self.has_costs = all(v in self.model.outputs for v in COST_OUTPUTS)
        costs = COST_OUTPUTS if self.has_costs else ()
        #: Variables a run of the page returns: the charts' and what the costs need.
        self.run_outputs = list(dict.fromkeys([*self.page_outputs, *costs]))
        # the baseline run of `hatinh-sd run`, when it is current, is not computed again
        stored = Store(self.outputs).run(self.model, "baseline", {})
        if stored is not None:
            self.cache.put({}, None, stored)
            self.cache.put({}, self.run_outputs, stored[self.run_outputs])
        self.baseline = self.cache.get({})
        self.baseline_card = scorecard(self.baseline, targets=self.targets_raw)
        #: The plan's targets, checked against the model once (every run is scored).
        self.target_list = plan_target_list(self.targets_raw)
        self.engine, self.engine_check = self._choose_engine(engine)
        self.observed_by_target = {
            tid: observed_series(self.observed, self.indicator(tid)).set_index("time")["value"]
            for tid in plan_targets()
        }
        #: Live bands of the settings on screen (:mod:`hatinh_sd.app.bands`).
        self.live = LiveBands(
            self.model, self.page_outputs, posterior=posterior, engine=live_engine
        )
        #: Bands read, by scenario: (modification time of bands.nc, bands or None).
        self._bands: dict[str, tuple[float, Bands | None]] = {}
        self._titles: dict[str, dict[str, str]] | None = None
        self._scenario_keys: dict[tuple, str] | None = None
        #: Stored lever effects read, by folder: (modification times, current, settings, table).
        self._effects: dict[
            Path, tuple[tuple[float, float], bool, dict[str, float], pd.DataFrame]
        ] = {}
        self._effect_choices: list[tuple[str, int]] | None = None
        self._pool: ThreadPoolExecutor | None = None

    def _choose_engine(self, engine: str) -> tuple[str, float | None]:
        """Put the engine of the page's runs into the run cache: the first of ``engine`` and
        the engines after it in :data:`ENGINES` that agrees with PySD on the page's variables
        (checked now); returns its name and the largest difference from PySD found (``None``
        for PySD itself)."""
        import logging

        from hatinh_sd.fastengine import CHECK_RTOL

        if engine not in ENGINES:
            raise HatinhInputError(
                f"unknown engine {engine!r}; allowed: {', '.join(ENGINES)}", key="engine"
            )
        log = logging.getLogger(__name__)
        ruled_out: float | None = None  # the difference of the last engine ruled out
        for name in ENGINES[ENGINES.index(engine) :]:
            if name == "pysd":
                return "pysd", ruled_out
            try:
                runner = _fast_runner(name, self.model)
                worst = runner.check_runs(self.model.run, self.run_outputs)
            except (HatinhInputError, ImportError, ValueError) as exc:
                log.warning("explorer: runs not by %s: %s", name, exc)
                continue
            if not worst <= CHECK_RTOL:
                log.warning(
                    "explorer: runs not by %s: it differs from PySD by %.3g (> %g)",
                    name,
                    worst,
                    CHECK_RTOL,
                )
                ruled_out = worst
                continue
            self.cache.runner = runner.run_dataset
            return name, worst
        return "pysd", ruled_out

    def indicator(self, target_id: str) -> str:
        """The indicator of target ``target_id`` (``targets.csv``'s ``indicator``)."""
        return str(self.targets.loc[target_id, "indicator"])

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
        computed (enough for an update that replaces just that line). With
        ``show_bands`` the band of these settings (:meth:`band_view`: live, or a
        precomputed one of the same scenario) is computed with the run and held by
        the view and its figures; ``bands_note`` says which band it is.

        Raises
        ------
        HatinhInputError
            For settings outside the model's ranges; nothing is run.
        """
        params = self.params(raw_values)
        # the band's ensemble (another process) runs while this thread runs the settings
        banding = self._band_pool().submit(self.band_view, params, lang) if show_bands else None
        run = self.cache.get(params, self.run_outputs)
        bands, note = banding.result() if banding else (None, "")
        current = [logic.chart_values(run, self.indicator(tid)) for tid in plan_targets()]
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
            for tid in plan_targets()
            if figures
        ]
        card = logic.scorecard_rows(run, self.baseline_card, self.targets_raw, self.target_list)
        return RunView(params, charts, current, card, logic.run_summary(params, card), note, bands)

    def _band_pool(self) -> ThreadPoolExecutor:
        """The thread that asks for bands beside the page's run (one at a time)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hatinh-sd-band")
        return self._pool

    def costs(self, raw_values: Mapping[str, object]) -> dict[str, float | bool]:
        """Investment and budget of 2026-2030 for the settings, as ``hatinh-sd compare``
        computes them (:func:`hatinh_sd.compare.investment_table`): by source, ICOR, state
        share of GRDP, the budget check, and the public cost
        (:func:`hatinh_sd.compare.public_cost`); the same run as the charts. Empty for a
        model without the investment accounts."""
        from hatinh_sd.compare import PERIODS, investment_table, public_cost

        if not self.has_costs:
            return {}
        run = self.cache.get(self.params(raw_values), self.run_outputs)
        start, end = PERIODS[0]
        row = investment_table({"page": run}, periods=PERIODS[:1]).iloc[0]
        return {
            **{k: row[k] for k in COST_COLUMNS},
            "over_budget": bool(row["over_budget"]),
            "public_cost": public_cost(run, start, end),
        }

    # ------------------------------------------------------------ lever effects
    def effect_choices(self) -> list[tuple[str, int]]:
        """The (target, year) rows the lever-effects table can show: every target in its
        own year, and in 2050 where its indicator has a value then (as ``hatinh-sd effects
        --year 2030 2050`` reads them)."""
        if self._effect_choices is None:  # the targets do not change while the page runs
            from hatinh_sd.effects import LATER_YEAR, target_rows

            years = sorted({*self.targets_raw["year"].astype(int), LATER_YEAR})
            rows = target_rows(self.targets_raw, plan_targets(), years)
            self._effect_choices = [
                (str(tid), int(year)) for tid, year in zip(rows["id"], rows["year"])
            ]
        return list(self._effect_choices)

    def _stored_effects(self, folder: Path):
        """(current, lever settings, table) of the effects stored in ``folder`` (cached by the
        files' modification times), or ``None`` when there are none."""
        from hatinh_sd.results import is_current

        csv, nc = folder / "effects.csv", folder / "effects.nc"
        try:
            stamp = (csv.stat().st_mtime, nc.stat().st_mtime)
        except OSError:
            return None
        cached = self._effects.get(folder)
        if cached is None or cached[0] != stamp:
            current = bool(is_current(self.model, nc))
            with xr.open_dataset(nc) as ds:
                settings = {
                    str(k): float(v)
                    for k, v in zip(ds["lever"].values, ds["lever_scenario_value"].values)
                }
            table = pd.read_csv(csv, encoding="utf-8-sig")
            cached = self._effects[folder] = (stamp, current, settings, table)
        return cached[1:]

    def effects(self, raw_values: Mapping[str, object], choice: str) -> EffectsView:
        """The stored lever effects on target and year ``choice`` (``"T07 2030"``, one of
        :meth:`effect_choices`) that fit the settings on screen best: those computed with
        every lever exactly as on screen (any scenario, a saved file included), else the
        baseline's, else any of the current model; effects of another model are named in
        ``stale``, never used.

        Raises
        ------
        HatinhInputError
            For an unknown target and year, or settings outside the model's ranges.
        """
        choices = {f"{t} {y}": (t, y) for t, y in self.effect_choices()}
        if choice not in choices:
            hint = did_you_mean(choice, choices)
            raise HatinhInputError(
                f"'{choice}' is not a target and year of the lever-effects table{hint} "
                f"(allowed: {', '.join(choices)})",
                path="app",
                key="effects",
            )
        target, year = choices[choice]
        params = self.params(raw_values)
        on_screen = {c.name: float(params.get(c.name, c.default)) for c in self.controls}
        root = self.outputs / "effects"
        folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        stale, current = [], []
        for folder in folders:
            stored = self._stored_effects(folder)
            if stored is None:
                continue
            if not stored[0]:
                stale.append(folder)
                continue
            settings = stored[1]
            same = all(
                math.isclose(settings.get(name, value), value, rel_tol=1e-9, abs_tol=1e-12)
                for name, value in on_screen.items()
            )
            current.append((not same, folder.name != "baseline", folder, same, stored[2]))
        if not current:
            return EffectsView(target, year, None, False, pd.DataFrame(), stale)
        *_, folder, same, table = min(current, key=lambda c: c[:3])
        rows = table[(table["target"] == target) & (table["year"] == year)]
        return EffectsView(
            target,
            year,
            folder,
            same,
            rows.sort_values("rank").reset_index(drop=True),
            stale,
            self._effects[folder][0],
        )

    # ------------------------------------------------------------ scenarios
    def titles(self) -> dict[str, dict[str, str]]:
        """Shipped scenario (``scenarios/*.yaml``) -> its title by language (``{}`` if unreadable)."""
        from hatinh_sd.scenarios import available_scenarios, load_scenario

        if self._titles is None:
            self._titles = {}
            for name in available_scenarios():
                try:
                    self._titles[name] = load_scenario(name, model=self.model).title.model_dump()
                except HatinhInputError:
                    self._titles[name] = {}  # listed; loading it shows the error
        return self._titles

    def scenario_title(self, name: str, lang: str) -> str:
        """The title of shipped scenario ``name`` in ``lang`` (its id if it has none)."""
        return self.titles().get(name, {}).get(lang) or name

    def scenario_options(self, lang: str) -> list[dict]:
        """Dropdown options of the shipped scenarios, labelled with their titles in ``lang``."""
        return [{"label": self.scenario_title(name, lang), "value": name} for name in self.titles()]

    def scenario_of(self, params: Mapping[str, float]) -> str | None:
        """The shipped scenario whose settings are exactly ``params`` (``baseline`` for ``{}``),
        or ``None`` for settings of no shipped scenario."""
        if self._scenario_keys is None:
            keys: dict[tuple, str] = {(): "baseline"}
            for name in self.titles():
                try:
                    key = logic.settings_key(self.params(self.scenario_values(name)))
                except (HatinhInputError, KeyError):
                    continue  # not loadable, or it sets more than the levers
                keys.setdefault(key, name)
            self._scenario_keys = keys
        return self._scenario_keys.get(logic.settings_key(params))

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

    def xlsx_sheets(self, raw_values: Mapping[str, object], lang: str) -> dict[str, pd.DataFrame]:
        """The tables of the Excel download, by sheet name, with headers and texts in ``lang``.

        A scorecard of T01-T12 (target, 2030 and 2050 values, status), the
        run's results in long form (every variable by its label and unit in
        planning terms) and the levers' settings beside the baseline's.
        """
        params = self.params(raw_values)
        run = self.cache.get(params)
        scenario = self.scenario_of(params)
        title = self.scenario_title(scenario, lang) if scenario else text("app.xlsx.custom", lang)
        card = scorecard(run, targets=self.targets_raw)
        year = int(card["year"].iloc[0])
        later = [c for c in card.columns if c.startswith("value_") and c[6:].isdigit()][0]
        score = pd.DataFrame(
            {
                text("scorecard.id", lang): card["id"],
                text("scorecard.indicator", lang): [target_label(i, lang) for i in card["id"]],
                text("scorecard.target", lang): [
                    f"{c} {number(float(v), lang)}"
                    for c, v in zip(card["comparator"], card["target"], strict=True)
                ],
                text("scorecard.value", lang, year=year): card["value"].astype(float),
                text("scorecard.value", lang, year=later[6:]): card[later].astype(float),
                text("scorecard.status", lang): [
                    text(f"scorecard.{s}", lang) for s in card["status"]
                ],
            }
        )
        long = tidy(run)
        labels = {n: vocabulary.label(n, lang) for n in long["long_name"].unique()}
        units = {u: vocabulary.unit(u, lang) if u else "" for u in long["units"].unique()}
        results = pd.DataFrame(
            {
                text("app.xlsx.scenario", lang): title,
                text("app.xlsx.year", lang): long["time"].astype(int),
                text("app.xlsx.variable", lang): long["long_name"].map(labels),
                text("app.xlsx.unit", lang): long["units"].map(units),
                text("app.xlsx.value", lang): long["value"].astype(float),
            }
        )
        levers = pd.DataFrame(
            {
                text("app.xlsx.lever", lang): [c.label[lang] for c in self.controls],
                text("app.xlsx.value", lang): [
                    float(params.get(c.name, c.default)) for c in self.controls
                ],
                text("app.chart.baseline", lang): [float(c.default) for c in self.controls],
                text("app.xlsx.unit", lang): [
                    vocabulary.unit(c.units, lang) for c in self.controls
                ],
            }
        )
        return {
            text("app.xlsx.sheet.scorecard", lang): score,
            text("app.xlsx.sheet.results", lang): results,
            text("app.xlsx.sheet.levers", lang): levers,
        }

    def xlsx(self, raw_values: Mapping[str, object], lang: str) -> bytes:
        """The Excel workbook of :meth:`xlsx_sheets` (:func:`hatinh_sd.results.write_xlsx`)."""
        sheets = self.xlsx_sheets(raw_values, lang)
        with tempfile.TemporaryDirectory(prefix="hatinh_sd_app_") as tmp:
            path = write_xlsx(sheets, Path(tmp) / f"hatinh_sd_app_run_{lang}.xlsx")
            return path.read_bytes()

    # ------------------------------------------------------------ uncertainty
    def bands(self, scenario: str) -> Bands | None:
        """Bands of the ensemble of shipped scenario ``scenario``
        (``outputs/uncertainty/<scenario>/bands.nc``), or ``None``; read again when the file changes."""
        path = self.outputs / "uncertainty" / scenario / "bands.nc"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            self._bands.pop(scenario, None)
            return None
        cached = self._bands.get(scenario)
        if cached is None or cached[0] != mtime:
            cached = (mtime, find_bands(self.outputs, scenario, self.model))
            self._bands[scenario] = cached
        return cached[1]

    def band_view(self, params: Mapping[str, float], lang: str) -> tuple[Bands | None, str]:
        """The band to draw for settings ``params`` and the note saying which, in ``lang``.

        The live band of these settings (:class:`hatinh_sd.app.bands.LiveBands`, from
        its cache or computed now).
        Without live bands (no posterior draws of this model, or the run failed),
        the precomputed band of the shipped scenario with exactly these settings
        and the current model, labelled as such; otherwise none, and the note
        says why.
        """
        why = ""
        if self.live.available:
            try:
                live = self.live.band(params)
            except LiveBandsUnavailable as exc:
                why = exc.why
            else:
                low, high = (float(p) for p in next(iter(live.variables.values()))["percentile"])
                bands = Bands(
                    live.variables,
                    low,
                    high,
                    live.runs,
                    None,  # the settings on screen, a shipped scenario's or not
                    None,
                    source="live",
                    seed=live.seed,
                )
                return bands, text(
                    "app.uncertainty.live",
                    lang,
                    low=number(low, lang),
                    high=number(high, lang),
                    runs=number(live.runs, lang),
                    seed=live.seed,
                )
        else:
            why = self.live.why()
        offline = text(
            "app.uncertainty.offline", lang, why=text(f"app.uncertainty.why.{why}", lang)
        )
        scenario = self.scenario_of(params)
        if scenario is None:
            return None, offline + " " + text("app.uncertainty.not_scenario", lang)
        title = self.scenario_title(scenario, lang)
        stored = self.bands(scenario)
        if stored is None:
            return None, offline + " " + text("app.uncertainty.unavailable", lang, scenario=title)
        if not stored.current:
            return None, offline + " " + text("app.uncertainty.stale", lang, scenario=title)
        path = stored.path
        assert path is not None  # a band read from a file (find_bands)
        try:
            path = path.resolve().relative_to(current_project().root)
        except ValueError:
            pass
        mtime = self._bands[scenario][0]  # when the file read was written
        date = _dt.datetime.fromtimestamp(mtime, _dt.UTC).date().isoformat()
        return stored, text(
            "app.uncertainty.precomputed",
            lang,
            why=text(f"app.uncertainty.why.{why}", lang),
            low=number(stored.low, lang),
            high=number(stored.high, lang),
            runs=number(stored.runs, lang),
            scenario=title,
            path=path.as_posix(),
            date=date,
        )


def find_bands(outputs: Path, scenario: str, model: Model) -> Bands | None:
    """Percentile bands of the ensemble of ``scenario`` under ``outputs``, or ``None``.

    Reads the ``bands.nc`` written by ``hatinh-sd uncertainty`` for that
    scenario (``outputs/uncertainty/<scenario>/bands.nc``; variables over
    ``percentile`` and ``time``, attributes ``scenario``, ``n_runs`` and the
    model's and calibration's hashes) through the results store. ``None`` when
    the file is missing, unreadable, holds no target variable or another
    scenario's ensemble. The result's ``current`` says whether it was computed
    with ``model`` and its calibration (the store's rule, the report's too).
    The outermost percentiles (5-95) are shown.
    """
    store = Store(outputs)
    stored = store.bands(model, scenario)
    if stored is None:
        return None
    ds, current = stored
    if str(ds.attrs.get("scenario", scenario)) != scenario:
        return None
    variables = [v for v in _target_variables() if v in ds and "percentile" in ds[v].dims]
    if not variables:
        return None
    pct = ds["percentile"].values
    low, high = float(pct.min()), float(pct.max())
    return Bands(
        variables={
            v: ds[v].sel(percentile=[low, high]).transpose("percentile", "time") for v in variables
        },
        low=low,
        high=high,
        runs=int(ds.attrs.get("n_runs", 0)),
        scenario=scenario,
        path=store.bands_path(scenario),
        current=current,
    )


def _target_variables() -> list[str]:
    from hatinh_sd.targets import indicator_variables

    return list(indicator_variables().values())


def summary_json(summary: dict) -> str:
    """The run summary as the JSON text carried in the page."""
    return json.dumps(summary, ensure_ascii=False, sort_keys=True)
