"""The plan's targets and the scorecard.

Targets come from the project's ``targets.csv`` (``model/data``); its ``variable``
column names the model variable that computes each indicator. The scorecard reads a
result Dataset at the target year and at 2050 and says whether each target is
met: ``>``, ``>=``, ``<``, ``<=`` literally, and ``~`` ("about") within
+-10 % of the target value, as the data README defines it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.data import TARGETS_FILE, load_targets
from hatinh_sd.errors import HatinhInputError, did_you_mean

__all__ = [
    "DERIVED_OBSERVED",
    "check_targets",
    "status",
    "met",
    "Target",
    "plan_target_list",
    "target_label",
    "INDICATOR_FIRST_YEAR",
    "indicator_variables",
    "plan_targets",
    "indicator_series",
    "is_met",
    "observed_series",
    "scorecard",
]


@dataclasses.dataclass(frozen=True)
class Target:
    """A target of the plan: an indicator, the model variable that computes it, the year, and
    the comparison a value must pass (a row of ``targets.csv``).

    >>> t = Target(
    ...     "T07",
    ...     "employment_share_agriculture",
    ...     "employment_share_agriculture",
    ...     2030,
    ...     "<",
    ...     21.0,
    ...     "% of employed",
    ...     {"en": "Agricultural share of employment"},
    ... )
    >>> t.is_met(20.5), round(t.gap(24.3), 6), round(t.margin(24.3), 6), t.margin(20.0)
    (True, -3.3, -3.3, 1.0)
    """

    id: str
    indicator: str
    variable: str
    year: int
    comparator: str
    value: float
    unit: str
    label: dict[str, str] = dataclasses.field(default_factory=dict, compare=False)

    def is_met(self, x: float) -> bool:
        """Whether ``x`` meets the target (:func:`is_met`)."""
        return is_met(x, self.comparator, self.value)

    def met(self, values: Any) -> np.ndarray:
        """Whether each of ``values`` (an ensemble's) meets the target (:func:`met`)."""
        return met(values, self.comparator, self.value)

    def status(self, x: float) -> str:
        """``met``, ``missed`` or ``exceeded`` (:func:`status`)."""
        return status(x, self.comparator, self.value)

    def gap(self, x: float) -> float:
        """How far ``x`` must move to meet the target (0 when met; :func:`gap`)."""
        return gap(x, self.comparator, self.value)

    def margin(self, x: float) -> float:
        """How far ``x`` is inside the target (positive, met) or outside it (negative), in the
        indicator's unit: for "about" targets, the distance to the nearer edge of the band."""
        if not math.isfinite(x):
            return math.nan
        if self.comparator in (">", ">="):
            return x - self.value
        if self.comparator in ("<", "<="):
            return self.value - x
        return ABOUT_TOLERANCE * abs(self.value) - abs(x - self.value)

    def at(self, ds: Mapping[Any, xr.DataArray], year: int | None = None) -> xr.DataArray:
        """The indicator in a run or ensemble in the target's year (or ``year``)."""
        return ds[self.variable].sel(time=self.year if year is None else year)


def plan_target_list(
    targets: pd.DataFrame | None = None, ids: list[str] | None = None
) -> list[Target]:
    """The :class:`Target` s of ``ids`` (the plan's targets by default), from ``targets.csv``
    (the first row of each id)."""
    t = _project_targets() if targets is None else targets
    ids = plan_targets(t) if ids is None else ids
    rows = {str(r["target_id"]): r for r in reversed(t.to_dict("records"))}
    return [
        Target(
            id=tid,
            indicator=str(rows[tid]["indicator"]),
            variable=str(rows[tid]["variable"]),
            year=int(rows[tid]["year"]),
            comparator=str(rows[tid]["comparator"]),
            value=float(rows[tid]["value"]),
            unit=str(rows[tid]["unit"]),
            label={lang: _row_label(rows[tid], lang) for lang in ("vi", "en")},
        )
        for tid in ids
    ]


_CACHE: dict[tuple[str, int, int], pd.DataFrame] = {}
#: The first row of each target id of the cached ``targets.csv`` (what labels are read from).
_FIRST_ROWS: dict[tuple[str, int, int], dict[str, dict]] = {}
#: Indicator -> model variable of the cached ``targets.csv``.
_VARIABLES: dict[tuple[str, int, int], dict[str, str]] = {}


def _project_key() -> tuple[str, int, int]:
    from hatinh_sd.data import TARGETS_FILE, data_dir

    path = data_dir() / TARGETS_FILE
    st = path.stat() if path.exists() else None
    return (str(path), st.st_mtime_ns if st else 0, st.st_size if st else 0)


def _project_targets() -> pd.DataFrame:
    """The active project's ``targets.csv``, read again only when the file changes."""
    key = _project_key()
    if key not in _CACHE:
        _CACHE.clear()
        _FIRST_ROWS.clear()
        _VARIABLES.clear()
        _CACHE[key] = load_targets(key[0])
        _FIRST_ROWS[key] = {
            str(r["target_id"]): r for r in reversed(_CACHE[key].to_dict("records"))
        }
    return _CACHE[key]


def _row_label(row: Mapping[Any, Any], lang: str) -> str:
    return str(row.get(f"label_{lang}") or row.get("label_en") or row["indicator"])


def plan_targets(targets: pd.DataFrame | None = None) -> list[str]:
    """The plan's targets the model computes, in file order: the rows of ``targets.csv``
    whose id starts with ``T`` and that name a model ``variable`` (T13, outside the model's
    boundary, names none)."""
    t = _project_targets() if targets is None else targets
    return [str(i) for i, g, v in zip(t["target_id"], t["group"], t["variable"]) if g == "T" and v]


def target_label(target_id: str, lang: str = "en", targets: pd.DataFrame | None = None) -> str:
    """The name of a target in ``lang`` (``label_en``/``label_vi`` of ``targets.csv``; the
    indicator's name when the row gives none)."""
    if targets is None:  # the project's file: its rows are at hand, by id
        _project_targets()
        row = _FIRST_ROWS[_project_key()].get(str(target_id))
        return str(target_id) if row is None else _row_label(row, lang)
    rows = targets[targets["target_id"] == target_id]
    if rows.empty:
        return str(target_id)
    return _row_label(rows.iloc[0].to_dict(), lang)


def indicator_variables(targets: pd.DataFrame | None = None) -> dict[str, str]:
    """Indicator of ``targets.csv`` -> the model variable (Python name) that computes it."""
    if targets is None:  # the project's file: worked out once per version of it
        t = _project_targets()
        return dict(_VARIABLES.setdefault(_project_key(), _variables(t)))
    return _variables(targets)


def _variables(t: pd.DataFrame) -> dict[str, str]:
    return {str(i): str(v) for i, v in zip(t["indicator"], t["variable"]) if v}


#: Relative tolerance of an "about" (``~``) target.
ABOUT_TOLERANCE = 0.10


def status(value: float, comparator: str, target: float) -> str:
    """``met``, ``missed``, or ``exceeded`` for an "about" target (``~``, ``=``) overshot.

    A planner says a value above an approximate target has gone beyond it
    ("vượt"), not that it failed; it still does not count as met.
    """
    if is_met(value, comparator, target):
        return "met"
    if comparator in ("~", "=") and math.isfinite(value) and value > target:
        return "exceeded"
    return "missed"


def is_met(value: float, comparator: str, target: float) -> bool:
    """Whether ``value`` meets ``comparator target``.

    ``~`` means within +-10 % of the target; ``=`` is treated like ``~``
    (the 2012 plan's point expectations).
    """
    if not math.isfinite(value):
        return False
    if comparator == ">":
        return value > target
    if comparator == ">=":
        return value >= target
    if comparator == "<":
        return value < target
    if comparator == "<=":
        return value <= target
    if comparator in ("~", "="):
        return abs(value - target) <= ABOUT_TOLERANCE * abs(target)
    raise ValueError(f"unknown comparator {comparator!r}")


def met(values: Any, comparator: str, target: float) -> np.ndarray:
    """:func:`is_met` for an array of values (an ensemble's): a boolean array of its shape.

    >>> met(np.array([8.9, 9.0, 9.1, np.nan]), ">", 9).tolist()
    [False, False, True, False]
    >>> met(np.array([29.0, 33.0, 37.0]), "~", 33).tolist()
    [False, True, False]
    """
    v = np.asarray(values, dtype=float)
    finite = np.isfinite(v)
    with np.errstate(invalid="ignore"):
        if comparator == ">":
            ok = v > target
        elif comparator == ">=":
            ok = v >= target
        elif comparator == "<":
            ok = v < target
        elif comparator == "<=":
            ok = v <= target
        elif comparator in ("~", "="):
            ok = np.abs(v - target) <= ABOUT_TOLERANCE * abs(target)
        else:
            raise ValueError(f"unknown comparator {comparator!r}")
    return ok & finite


def gap(value: float, comparator: str, target: float) -> float:
    """Signed distance to meeting the target, in the indicator's unit (0 if met).

    Positive means the value must rise, negative that it must fall.
    """
    if is_met(value, comparator, target):
        return 0.0
    if comparator in (">", ">="):
        return target - value
    if comparator in ("<", "<="):
        return target - value
    lo, hi = target * (1 - ABOUT_TOLERANCE), target * (1 + ABOUT_TOLERANCE)
    return lo - value if value < lo else hi - value


#: First model year in which an indicator is defined (an average over a period
#: that starts later); earlier years are left blank in charts.
INDICATOR_FIRST_YEAR: dict[str, int] = {"grdp_growth_average_2021_2030": 2021}


def indicator_series(ds: Mapping[Any, xr.DataArray], indicator: str) -> xr.DataArray:
    """A target indicator over time from a run: NaN before :data:`INDICATOR_FIRST_YEAR`."""
    da = ds[indicator_variables()[indicator]]
    first = INDICATOR_FIRST_YEAR.get(indicator)
    return da.where(da["time"] >= first) if first is not None else da


#: Target indicators observed as the ratio of two observed series:
#: indicator -> (numerator, denominator, factor).
DERIVED_OBSERVED: dict[str, tuple[str, str, float]] = {
    "urbanisation_rate": ("population_urban", "population_total", 100.0),
    "grdp_ratio_to_20th_province": ("grdp_current", "grdp_current_20th_ranked_province", 1.0),
}


def observed_series(observed: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """Observed points (``time``, ``value``, ``status``) of a target indicator.

    Ratios (:data:`DERIVED_OBSERVED`) are derived where both series are
    observed for the same period (status ``D``); other indicators are taken
    as they are. Where a period has several rows (revisions) the last listed
    is kept. ``observed`` is :func:`hatinh_sd.data.load_observed`, or a part
    of it (e.g. without the rows that are not comparable with the model).
    Empty when nothing is observed.
    """

    def rows(name: str) -> pd.DataFrame:
        r = observed[observed["indicator"] == name]
        return r.groupby("time", sort=True)[["value", "status"]].last()

    if indicator in DERIVED_OBSERVED:
        num, den, factor = DERIVED_OBSERVED[indicator]
        a, b = rows(num), rows(den)
        times = a.index.intersection(b.index)
        out = pd.DataFrame(
            {
                "time": times.astype(float),
                "value": factor
                * a.loc[times, "value"].to_numpy()
                / b.loc[times, "value"].to_numpy(),
                "status": "D",
            }
        )
    else:
        out = rows(indicator).reset_index()[["time", "value", "status"]]
    return out.reset_index(drop=True)


def check_targets(
    targets: pd.DataFrame,
    ids: list[str] | None = None,
    variables: Collection[str] | None = None,
) -> None:
    """Check that ``targets`` (``targets.csv``) has a row for each of ``ids`` (the plan's
    targets by default) naming the model variable that computes it (one of ``variables``,
    the model's, when given).

    Raises
    ------
    HatinhInputError
        Naming the file, the missing target ids, or the row and column whose variable
        is empty or not the model's (with the closest names).
    """
    ids = plan_targets(targets) if ids is None else ids
    path = targets.attrs.get("path", TARGETS_FILE)
    present = set(targets["target_id"])
    missing = [t for t in ids if t not in present]
    if missing:
        raise HatinhInputError(
            f"no row for target(s) {', '.join(missing)}; the plan's targets are"
            f" {', '.join(plan_targets(targets))}",
            path=path,
        )
    wanted = set(ids)
    for row in targets.itertuples():
        if row.target_id not in wanted:
            continue
        if not row.variable:
            raise HatinhInputError(
                f"target {row.target_id!s} names no model variable that computes {row.indicator!r}",
                path=path,
                line=getattr(row, "line", None),
                column="variable",
            )
        if variables is not None and row.variable not in variables:
            raise HatinhInputError(
                f"variable {row.variable!r} of {row.target_id!s} is not a model variable"
                + did_you_mean(row.variable, variables),
                path=path,
                line=getattr(row, "line", None),
                column="variable",
            )


def scorecard(
    ds: xr.Dataset,
    *,
    ids: list[str] | None = None,
    targets: pd.DataFrame | None = None,
    extra_year: int = 2050,
    target_list: Sequence[Target] | None = None,
) -> pd.DataFrame:
    """Score a model run against the plan's targets.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of :meth:`hatinh_sd.model.Model.run`.
    ids : list of str, optional
        Target ids to score (T01-T12 by default).
    targets : DataFrame, optional
        Loaded ``targets.csv`` (read from ``model/data`` by default).
    extra_year : int
        A second year whose value is reported beside the target year's.
    target_list : sequence of Target, optional
        The targets, as :func:`plan_target_list` made them (and checked) once, instead of
        ``ids`` and ``targets``: for a caller that scores many runs.

    Returns
    -------
    DataFrame
        One row per target: id, indicator, variable, year, value, comparator,
        target, unit, met, gap and the value in ``extra_year``.
    """
    if target_list is None:
        targets = _project_targets() if targets is None else targets
        ids = plan_targets(targets) if ids is None else ids
        check_targets(targets, ids, variables=set(map(str, ds.data_vars)) or None)
        target_list = plan_target_list(targets, ids)
    rows = []
    times = ds["time"].values

    def at(var: str, year: int) -> float:
        where = np.flatnonzero(times == year)
        if not where.size:
            raise KeyError(
                f"{var} has no value in {year} (the run's years are {times[0]:g}-{times[-1]:g})"
            )
        return float(ds[var].values[where[0]])

    for t in target_list:
        value = at(t.variable, t.year)
        later = at(t.variable, extra_year) if extra_year in times else math.nan
        rows.append(
            {
                "id": t.id,
                "indicator": t.indicator,
                "variable": t.variable,
                "year": t.year,
                "value": value,
                f"value_{extra_year}": later,
                "comparator": t.comparator,
                "target": t.value,
                "unit": t.unit,
                "met": t.is_met(value),
                "status": t.status(value),
                "gap": t.gap(value),
            }
        )
    return pd.DataFrame(rows)
