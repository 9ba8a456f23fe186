"""What the explorer computes, kept apart from Dash so it can be tested without a browser.

Lever controls are derived from the model's own metadata (:meth:`Model.levers`:
range, unit, default, task group); lever settings become model parameters; the
model really runs for each exact setting (:class:`RunCache`, an LRU cache keyed
by the settings, never an interpolation); figures are plain Plotly figure
dictionaries built from the run, the baseline, observed history and the 2030
targets.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd import vocabulary
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import number, text
from hatinh_sd.model import Model, Parameter
from hatinh_sd.scenarios import Catalogue
from hatinh_sd.targets import (
    Target,
    indicator_series,
    indicator_variables,
    plan_targets,
    scorecard,
    target_label,
)

__all__ = [
    "LeverControl",
    "RunCache",
    "SCORE_COLUMNS",
    "scorecard_cells",
    "chart_values",
    "chart_figure",
    "chart_rows",
    "chart_traces",
    "charts_figure",
    "trace_index",
    "lever_controls",
    "params_from_values",
    "run_summary",
    "scorecard_rows",
]

#: Years shown on the charts.
CHART_YEARS = (2010, 2050)

COLOURS = {
    "baseline": "#7f7f7f",
    "current": "#c0392b",
    "observed": "#1f4e79",
    "target": "#e67e22",
    "band": "rgba(192, 57, 43, 0.18)",
}


#: Plotly's decimal and thousands marks of each language (vi: 1.729,4; en: 1,729.4).
SEPARATORS = {"vi": ",.", "en": ".,"}


@dataclasses.dataclass(frozen=True)
class LeverControl:
    """How one lever is shown: a switch (0/1), a year picker or a slider.

    Attributes
    ----------
    name : str
        The lever's model name (the key of :meth:`Model.levers`).
    kind : str
        ``switch`` for a yes/no decision, ``year`` for a start year, ``slider``
        otherwise (the lever catalogue's :meth:`~hatinh_sd.scenarios.Catalogue.control`).
    group : int
        Task group of the plan (the ``.mdl``'s ``lever gN``).
    label : dict
        The lever's name, ``{"vi": ..., "en": ...}`` (the lever catalogue).
    low, high, default, step : float
        Range and default from the model; ``step`` the slider's step
        (about a fiftieth of the range, rounded down to a power of ten).
    units : str
        The model's unit of the lever.
    """

    name: str
    kind: str
    group: int
    low: float
    high: float
    default: float
    step: float
    units: str
    label: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def decimals(self) -> int:
        """Decimal places of a slider value (from the step)."""
        return max(0, -int(math.floor(math.log10(self.step))))

    def to_value(self, raw: object) -> float:
        """The lever value (model units) of a control's raw value.

        A switch's raw value is a checklist value (``[]`` or ``[1]``); others
        are numbers. Raises ``HatinhInputError`` for anything else.
        """
        if self.kind == "switch":
            if isinstance(raw, list) and all(v in (0, 1) for v in raw):
                return 1.0 if 1 in raw else 0.0
            raise HatinhInputError(
                f"switch value {raw!r} is not [] or [1]", path="app", key=self.name
            )
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise HatinhInputError(f"value {raw!r} is not a number", path="app", key=self.name)
        value = float(raw)
        if self.kind == "slider" and math.isfinite(value) and value != self.default:
            value = round(value, self.decimals + 2)
        return value

    @staticmethod
    def switch_raw(value: float) -> list[int]:
        """A switch's checklist value showing lever value ``value`` (on from 0.5)."""
        return [1] if value >= 0.5 else []

    def to_raw(self, value: float) -> list[int] | int | float:
        """The control's raw value showing lever value ``value``."""
        if self.kind == "switch":
            return self.switch_raw(value)
        if self.kind == "year":
            return int(round(value))
        return value


def _control(p: Parameter, catalogue: Catalogue) -> LeverControl:
    kind = catalogue.control(p.name)
    if kind == "slider":
        step = 10.0 ** math.floor(math.log10((p.high - p.low) / 50))
    else:
        step = 1.0
    group = int(p.group or 0)
    return LeverControl(
        name=p.name,
        kind=kind,
        group=group,
        low=p.low,
        high=p.high,
        default=p.default,
        step=step,
        units=p.units,
        label={lang: catalogue.label(p.name, lang) for lang in ("vi", "en")},
    )


def lever_controls(model: Model, catalogue: Catalogue) -> list[LeverControl]:
    """Every lever of the model as a control, as the lever catalogue describes it, ordered
    by task group.

    Within a group, the levers' own levels come first (switches and sliders),
    then the timing parameters (year pickers and ramp-up sliders), each in the
    model's order.
    """
    levers = model.levers().values()
    order = sorted(levers, key=lambda p: (p.group or 0, p.name in catalogue.timing_of))
    return [_control(p, catalogue) for p in order]


def params_from_values(
    controls: Sequence[LeverControl], raw_values: Mapping[str, object], model: Model
) -> dict[str, float]:
    """Model parameters (model name -> value) of the controls' raw values.

    ``raw_values`` maps lever names to the controls' raw values; levers not
    given keep their default. Only levers that differ from their default are
    returned, so the baseline is ``{}``. Names and values are validated
    against the model (ranges from the ``.mdl``).

    Raises
    ------
    HatinhInputError
        For an unknown lever, a value that is not a number, or one outside
        the lever's range.
    """
    by_name = {c.name: c for c in controls}
    params = {}
    for name, raw in raw_values.items():
        control = by_name.get(name)
        if control is None:
            model.resolve_params({name: 0.0}, source="app")  # names the close matches
            raise HatinhInputError(f"'{name}' is not a lever", path="app", key=name)
        value = control.to_value(raw)
        if value != control.default:
            params[name] = value
    model.resolve_params(params, source="app")
    return params


def settings_key(params: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """Hashable key of exact settings (sorted name-value pairs)."""
    return tuple(sorted((k, float(v)) for k, v in params.items()))


class RunCache:
    """Model runs for exact settings, least recently used dropped first.

    The model is run under a lock: a PySD model is not safe to run from two
    threads at once, and Dash serves callbacks from several threads.

    Parameters
    ----------
    model : Model
    maxsize : int
        Number of runs kept.
    runner : callable, optional
        Makes the runs that name their outputs (the page's), with ``Model.run``'s
        signature (``params, *, outputs, scenario, source``): the explorer passes a
        :class:`hatinh_sd.fastengine.SimlinRunner` it has checked against PySD. Runs of
        every variable (the downloads) are always PySD's.
    """

    def __init__(self, model: Model, maxsize: int = 64, runner=None):
        self.model = model
        self.runner = runner or model.run
        self.maxsize = maxsize
        self._runs: OrderedDict[tuple, xr.Dataset] = OrderedDict()
        self._lock = threading.Lock()
        self.runs = 0  # model runs made (not served from the cache)

    def put(
        self, params: Mapping[str, float], outputs: Sequence[str] | None, ds: xr.Dataset
    ) -> None:
        """Keep a run made elsewhere (a stored run of the same settings and outputs)."""
        key = (settings_key(params), tuple(outputs) if outputs is not None else None)
        with self._lock:
            self._runs[key] = ds

    def get(self, params: Mapping[str, float], outputs: Sequence[str] | None = None) -> xr.Dataset:
        """The run for ``params`` (model name -> value), from the cache or computed.

        ``outputs`` limits the variables returned (all by default); runs of the
        same settings with different outputs are cached separately.
        """
        key = (settings_key(params), tuple(outputs) if outputs is not None else None)
        with self._lock:
            if key in self._runs:
                self._runs.move_to_end(key)
                return self._runs[key]
            run = self.model.run if outputs is None else self.runner
            ds = run(
                dict(params),
                outputs=outputs,
                scenario="app" if params else "baseline",
                source="app",
            )
            self.runs += 1
            self._runs[key] = ds
            while len(self._runs) > self.maxsize:
                self._runs.popitem(last=False)
            return ds


def target_rows(targets: pd.DataFrame) -> pd.DataFrame:
    """The plan's targets with their model variable (``targets.csv``'s rows)."""
    ids = plan_targets(targets)
    rows = targets.drop_duplicates("target_id").set_index("target_id")
    return rows.loc[ids]


def _in_chart(ds: xr.Dataset) -> np.ndarray:
    t = ds["time"].values
    return (t >= CHART_YEARS[0]) & (t <= CHART_YEARS[1])


def chart_values(ds: xr.Dataset, indicator: str) -> list[float | None]:
    """A target indicator's values over the charts' years (None where undefined), as plotted."""
    values = indicator_series(ds, indicator).values[_in_chart(ds)]
    return [None if not math.isfinite(v) else round(float(v), 6) for v in values]


def chart_figure(
    target_id: str,
    run: xr.Dataset,
    baseline: xr.Dataset,
    targets: pd.DataFrame,
    observed: pd.Series,
    lang: str,
    bands: Mapping[str, xr.DataArray] | None = None,
    band_label: tuple[float, float] | None = None,
) -> dict:
    """Plotly figure (a plain dict) of one target indicator, 2010-2050.

    Traces, in this order: baseline, current settings, observed history,
    the 2030 target, then the uncertainty band's lower and upper edges (empty
    unless ``bands`` holds the variable; :data:`BAND_TRACES`).

    Parameters
    ----------
    target_id : str
        ``T01`` ... ``T12``.
    run, baseline : Dataset
        Results of the current settings and of the baseline.
    targets : DataFrame
        :func:`target_rows`.
    observed : Series
        Observed values comparable with the target's variable, by model time
        (:func:`hatinh_sd.targets.observed_series`).
    lang : str
    bands : mapping, optional
        Variable -> DataArray with a ``percentile`` dimension of two values
        (low, high) over ``time``.
    band_label : (low, high), optional
        Percentiles of the band, for its legend entry.
    """
    t: dict[Any, Any] = targets.loc[target_id].to_dict()
    var = t["variable"]
    years = [int(y) for y in run["time"].values[_in_chart(run)]]
    obs = observed[(observed.index >= CHART_YEARS[0]) & (observed.index <= CHART_YEARS[1])]
    unit = str(run[var].attrs.get("units", ""))
    unit = vocabulary.unit(unit, lang) if unit else ""  # in planning terms, in the language
    data: list[dict] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": text("app.chart.baseline", lang),
            "x": years,
            "y": chart_values(baseline, t["indicator"]),
            "line": {"color": COLOURS["baseline"], "dash": "dash", "width": 1.5},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": text("app.chart.current", lang),
            "x": years,
            "y": chart_values(run, t["indicator"]),
            "line": {"color": COLOURS["current"], "width": 2.5},
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": text("app.chart.observed", lang),
            "x": [float(x) for x in obs.index],
            "y": [float(v) for v in obs.values],
            "marker": {"color": COLOURS["observed"], "size": 7},
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": text("app.chart.target", lang)
            + f" ({t['comparator']} {number(float(t['value']), lang)})",
            "x": [int(t["year"])],
            "y": [float(t["value"])],
            "marker": {
                "color": COLOURS["target"],
                "size": 13,
                "symbol": "star",
                "line": {"color": "#7a3e00", "width": 1},
            },
        },
    ]
    low, high = band_values(indicator=t["indicator"], years=years, bands=bands)
    label = (
        text("app.uncertainty.band", lang, low=f"{band_label[0]:g}", high=f"{band_label[1]:g}")
        if band_label and low["x"]
        else ""
    )
    data += [
        {
            "type": "scatter",
            "mode": "lines",
            **low,
            "line": {"width": 0},
            "showlegend": False,
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": label,
            **high,
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": COLOURS["band"],
        },
    ]
    return {
        "data": data,
        "layout": {
            "title": {
                "text": _wrap(f"{target_id}: {target_label(target_id, lang)}"),
                "font": {"size": 13},
                "x": 0.01,
                "xanchor": "left",
            },
            "margin": {"l": 50, "r": 10, "t": 44, "b": 30},
            "showlegend": False,
            "hovermode": "x unified",
            "xaxis": {"range": [CHART_YEARS[0] - 0.5, CHART_YEARS[1] + 0.5], "gridcolor": "#eee"},
            "yaxis": {"title": {"text": unit, "font": {"size": 11}}, "gridcolor": "#eee"},
            "separators": SEPARATORS.get(lang, ".,"),
            "plot_bgcolor": "white",
            "paper_bgcolor": "white",
            "uirevision": target_id,
        },
    }


#: Indices of the current-settings line and of the band's lower and upper edge in a chart
#: (:func:`chart_figure`), and the number of traces of a chart.
CURRENT_TRACE = 1
BAND_TRACES = (4, 5)
CHART_TRACES = 6
#: Charts per row of the explorer's figure, and the height of a row (pixels).
CHART_COLUMNS = 3
CHART_ROW_HEIGHT = 270


def charts_figure(charts: Sequence[dict], lang: str) -> dict:
    """One Plotly figure holding ``charts`` (:func:`chart_figure`'s) as subplots, in rows of
    :data:`CHART_COLUMNS`; trace ``j`` of chart ``k`` is trace ``k * CHART_TRACES + j``
    (:func:`trace_index`).

    One figure redraws in about two thirds of the time twelve figures take in the
    browser (0.18 against 0.25 s for a Dash page of nothing else, measured on the
    2-core machine of issue 13), and a change is one update of one component.
    """
    n = len(charts)
    cols = max(1, min(CHART_COLUMNS, n))
    rows = chart_rows(n)
    height = rows * CHART_ROW_HEIGHT
    gap_x = 0.15  # room (of a column) for the y axis's numbers and unit left of each chart
    top, bottom = 48 / CHART_ROW_HEIGHT, 26 / CHART_ROW_HEIGHT  # title above, years below
    data: list[dict] = []
    layout: dict[str, Any] = {}
    titles = []
    for k, chart in enumerate(charts):
        if len(chart["data"]) != CHART_TRACES:
            raise ValueError(f"chart {k} has {len(chart['data'])} traces, not {CHART_TRACES}")
        axis = "" if k == 0 else str(k + 1)
        row, col = divmod(k, cols)
        x0, x1 = (col + gap_x) / cols, (col + 1) / cols - 0.01
        y1 = 1 - (row + top) / rows
        y0 = 1 - (row + 1 - bottom) / rows
        data += [{**trace, "xaxis": f"x{axis}", "yaxis": f"y{axis}"} for trace in chart["data"]]
        own = chart["layout"]
        layout[f"xaxis{axis}"] = {**own["xaxis"], "domain": [x0, x1], "anchor": f"y{axis}"}
        layout[f"yaxis{axis}"] = {**own["yaxis"], "domain": [y0, y1], "anchor": f"x{axis}"}
        titles.append(
            {
                **own["title"],
                "xref": f"x{axis} domain",
                "yref": f"y{axis} domain",
                "x": 0,
                "y": 1.02,
                "yanchor": "bottom",
                "showarrow": False,
                "align": "left",
            }
        )
    first = charts[0]["layout"] if charts else {}
    layout.update(
        {
            "annotations": titles,
            "height": height,
            "margin": {"l": 10, "r": 10, "t": 4, "b": 4},
            "showlegend": False,
            "hovermode": "x unified",
            "separators": SEPARATORS.get(lang, ".,"),
            "plot_bgcolor": first.get("plot_bgcolor", "white"),
            "paper_bgcolor": first.get("paper_bgcolor", "white"),
            "uirevision": "charts",
        }
    )
    return {"data": data, "layout": layout}


def chart_rows(charts: int) -> int:
    """Rows of :func:`charts_figure`'s figure for ``charts`` charts."""
    return max(1, math.ceil(charts / max(1, min(CHART_COLUMNS, charts))))


def trace_index(chart: int, trace: int) -> int:
    """Index in :func:`charts_figure`'s figure of trace ``trace`` of chart number ``chart``."""
    return chart * CHART_TRACES + trace


def chart_traces(figure: dict, chart: int) -> list[dict]:
    """The traces of chart number ``chart`` in a :func:`charts_figure` figure."""
    return figure["data"][trace_index(chart, 0) : trace_index(chart + 1, 0)]


def band_values(
    indicator: str, years: Sequence[int], bands: Mapping[str, xr.DataArray] | None
) -> tuple[dict, dict]:
    """``{"x": ..., "y": ...}`` of the lower and upper edge of a target indicator's band.

    Over ``years`` where the band is defined; empty lists without a band of the
    indicator's variable. ``bands`` maps variables to DataArrays with a
    ``percentile`` dimension of two values (low, high) over ``time``.
    """
    var = indicator_variables()[indicator]
    if bands is None or var not in bands:
        return {"x": [], "y": []}, {"x": [], "y": []}
    band = indicator_series(bands, indicator).transpose("percentile", "time")
    times = band["time"].values
    values = band.values[:, np.isin(times, years)]
    times = times[np.isin(times, years)]
    kept = np.isfinite(values).all(axis=0)  # a year is drawn where every percentile is defined
    x = [int(y) for y in times[kept]]
    return (
        {"x": x, "y": [float(v) for v in values[0, kept]]},
        {"x": x, "y": [float(v) for v in values[-1, kept]]},
    )


def _wrap(title: str, width: int = 46) -> str:
    """Break a chart title into lines of at most ``width`` characters (Plotly does not wrap)."""
    lines: list[str] = []
    for word in title.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _fmt(value: float, lang: str = "en") -> str:
    if not math.isfinite(value):
        return "-"
    return number(value, lang, digits=1 if abs(value) >= 10 else 2)


def scorecard_rows(
    run: xr.Dataset,
    base: pd.DataFrame,
    targets: pd.DataFrame,
    target_list: Sequence[Target] | None = None,
) -> pd.DataFrame:
    """The scorecard of T01-T12 for the current run, with the baseline's 2030 value beside it.

    Parameters
    ----------
    run : Dataset
    base : DataFrame
        The baseline's scorecard (:func:`hatinh_sd.targets.scorecard`).
    targets : DataFrame
        Loaded ``targets.csv``.
    target_list : sequence of Target, optional
        Its targets as :func:`hatinh_sd.targets.plan_target_list` made them once (the
        explorer's, which scores every run).

    Returns
    -------
    DataFrame
        The columns of :func:`hatinh_sd.targets.scorecard` plus
        ``value_baseline`` and ``met_baseline``.
    """
    card = scorecard(run, targets=targets, target_list=target_list)
    card["value_baseline"] = base["value"].to_numpy()
    card["met_baseline"] = base["met"].to_numpy()
    return card


def run_summary(params: Mapping[str, float], card: pd.DataFrame) -> dict:
    """Key numbers of a run, carried in the page (hidden) for tests and tools."""
    return {
        "params": dict(sorted(params.items())),
        "scorecard": dict(zip(card["id"], card["value"])),
        "met": {tid: bool(met) for tid, met in zip(card["id"], card["met"])},
    }


#: Columns of the scorecard table, in order.
SCORE_COLUMNS = ("id", "indicator", "value", "baseline", "later", "target", "status")


def scorecard_cells(
    card: pd.DataFrame, lang: str
) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """Texts of the scorecard table and the class of each status cell.

    Returns
    -------
    cells : dict
        ``(row, column) -> text`` for the header (row ``"head"``) and each
        target's row (``"T01"`` ...), columns :data:`SCORE_COLUMNS`.
    status : dict
        Target id -> CSS class of its status cell (``hsd-met`` / ``hsd-missed``).
    """
    extra = [c for c in card.columns if c.startswith("value_") and c[6:].isdigit()][0]
    year = int(card["year"].iloc[0])
    cells = {
        ("head", "id"): text("scorecard.id", lang),
        ("head", "indicator"): text("scorecard.indicator", lang),
        ("head", "value"): text("scorecard.value", lang, year=year),
        ("head", "baseline"): text("app.scorecard.baseline", lang, year=year),
        ("head", "later"): text("scorecard.value", lang, year=extra[6:]),
        ("head", "target"): text("scorecard.target", lang),
        ("head", "status"): text("scorecard.status", lang),
    }
    status = {}
    for _, r in card.iterrows():
        tid = r["id"]
        cells.update(
            {
                (tid, "id"): tid,
                (tid, "indicator"): target_label(tid, lang),
                (tid, "value"): format_number(r["value"], lang),
                (tid, "baseline"): format_number(r["value_baseline"], lang),
                (tid, "later"): format_number(r[extra], lang),
                (tid, "target"): f"{r['comparator']} {number(r['target'], lang)}",
                (tid, "status"): text(f"scorecard.{r['status']}", lang),
            }
        )
        status[tid] = "hsd-met" if r["met"] else "hsd-missed"
    return cells, status


def format_number(value: float, lang: str = "en") -> str:
    """A value as shown in the scorecard, in ``lang``'s number format."""
    return _fmt(value, lang)
