"""Calibration of the model to history, fit statistics and the hold-out test.

The parameters the model marks ``calibrated:`` are fitted to
``model/data/observed.csv`` by weighted least squares (:func:`scipy.optimize.least_squares`,
bounded, parameters scaled to their ranges). How each observed series is compared
with the model is data, in ``model/calibration_setup.yaml``: the model variable,
whether the observation is a period mean, an end-of-period stock, a growth rate or a
cumulative sum, the error that counts as one unit of misfit, and rows excluded
because of definitional breaks. Observations weigh by status (R > D > E); "over X"
values are lower bounds, penalised only when the model falls below them.

Model time marks mid-year (calendar time = Time + 0.5), so the calendar year Y is
the model interval [Y - 0.5, Y + 0.5); period means are taken over the model's
integration steps inside the period.

References
----------
Sterman, J. D. (1984). Appropriate summary statistics for evaluating the historical
fit of system dynamics models. Dynamica 10(2), 51-66.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, cast

import numpy as np
import pandas as pd
import xarray as xr
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from hatinh_sd.data import load_observed
from hatinh_sd.errors import (
    MAX_SEED,
    HatinhInputError,
    did_you_mean,
    line_of,
    parse_yaml,
    read_yaml,
    validate,
)
from hatinh_sd.model import Model
from hatinh_sd.project import current_project
from hatinh_sd.results import atomic_file

__all__ = [
    "check_fit_until",
    "comparable_observed",
    "project_setup",
    "CalibrationResult",
    "CalibrationSetup",
    "calibrate",
    "fit_point",
    "PointFit",
    "compare_with_observed",
    "evaluate",
    "fit_statistics",
    "fine_times",
    "fit_table",
    "fit_variables",
    "level_series",
    "HistoryCheck",
    "Likelihood",
    "load_setup",
    "model_fit",
    "naive_trend_benchmark",
    "observations",
    "write_calibration",
]


def fit_table_path() -> Path:
    """The fit table beside the active project's calibration file (``calibration_fit.csv``)."""
    return current_project().path("calibration").with_name("calibration_fit.csv")


@dataclasses.dataclass(frozen=True)
class Derived:
    """A quantity compared with data that is not a model variable: computed from model
    variables (``inputs``) of a Dataset or of a mapping of arrays."""

    inputs: tuple[str, ...]
    compute: Callable[[Mapping[Any, Any]], Any]

    def __call__(self, values: Mapping[Any, Any]) -> Any:
        return self.compute(values)


#: Quantities compared with data that are not model variables themselves.
DERIVED: dict[str, Derived] = {
    "share_services_and_product_taxes": Derived(
        ("share_services", "share_product_taxes"),
        lambda v: v["share_services"] + v["share_product_taxes"],
    ),
    "labour_force_participation_percent": Derived(
        ("labour_force", "population_15_plus"),
        lambda v: v["labour_force"] / v["population_15_plus"] * 100,
    ),
    # Formosa's value added is the model's steel value added (its power plant included)
    "grdp_without_formosa": Derived(
        ("grdp", "steel_value_added"), lambda v: v["grdp"] - v["steel_value_added"]
    ),
    # average growth (% a year, continuous) of the total factor productivity of manufacturing
    # and services since 2010: the exogenous trend and the endogenous productivity effects
    # together, the quantity growth accounting measures
    "tfp_growth_since_2010": Derived(
        ("services_tfp_index", "years_since_2010"),
        lambda v: 100 * np.log(v["services_tfp_index"]) / np.maximum(v["years_since_2010"], 0.5),
    ),
}


KINDS = ("mean", "end", "growth", "cumulative")
ERRORS = ("relative", "points")

#: Part of the calendar year each period covers: (start, end) in years from 1 January.
PERIOD_SPAN = {
    "year": (0.0, 1.0),
    "Q1": (0.0, 0.25),
    "Q2": (0.25, 0.5),
    "Q3": (0.5, 0.75),
    "Q4": (0.75, 1.0),
    "H1": (0.0, 0.5),
    "9M": (0.0, 0.75),
    "10M": (0.0, 10 / 12),
}


@dataclasses.dataclass(frozen=True)
class SeriesSpec:
    """How one observed indicator is compared with the model."""

    indicator: str
    variable: str
    kind: str
    error: str
    tolerance: float
    weight: float = 1.0
    factor: float = 1.0
    from_year: int | None = None
    exclude: tuple[dict[str, str], ...] = ()
    #: Rows measured on another definition, compared with another model variable:
    #: ``{note_contains | source: ..., variable: ..., reason: ...}``.
    variants: tuple[dict[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class PriorSpec:
    """A prior narrower or other than the default, with its reason."""

    distribution: str
    low: float
    high: float
    reason: str


@dataclasses.dataclass(frozen=True)
class PosteriorConfig:
    """The ``posterior:`` section of the setup (``hatinh-sd calibrate --posterior``).

    Attributes
    ----------
    particles : int
        SMC particles (each stage evaluates all of them at once).
    draws : int
        Posterior draws kept in ``model/posterior.nc`` (thinned evenly).
    seed : int
    screen : float
        Uncertain constants whose whole range moves the log-likelihood at the point
        estimate by less than this (one at a time, linearised) are not informed by
        history: they keep their prior and are drawn independently.
    priors : dict
        Parameter -> :class:`PriorSpec` replacing the default prior (uniform over the
        search range for fitted parameters, the factor table's distribution for
        uncertain constants).
    max_minutes : float
        Stop tempering after this many minutes (the result then says beta < 1).
    moves : float
        Accepted Metropolis moves per particle (on average) after each resampling:
        more moves decorrelate the particles from their resampled parents.
    """

    particles: int = 2000
    draws: int = 2000
    seed: int = 20261201
    screen: float = 0.5
    priors: dict[str, PriorSpec] = dataclasses.field(default_factory=dict)
    max_minutes: float = 14.0
    moves: float = 2.0


@dataclasses.dataclass(frozen=True)
class HistoryCheck:
    """What "reproduces history" means for an ensemble run: within ``tolerance`` (relative,
    or in percentage points) of the observed ``indicator`` in ``year``."""

    variable: str
    indicator: str
    year: int
    error: str
    tolerance: float


@dataclasses.dataclass(frozen=True)
class CalibrationSetup:
    """The parsed ``calibration_setup.yaml``.

    Attributes
    ----------
    parameters : dict
        Fitted parameter (model name) -> (low, high) search range.
    status_weights : dict
        Weight of an observation by status (R, D, E).
    series : dict
        Indicator -> :class:`SeriesSpec`.
    not_used : dict
        Indicator -> reason it is not used.
    path : Path
    candidates : list
        Parameters ``--identify`` analyses (the fitted ones and the ranged
        constants that could be fitted instead).
    identify_threshold : float
        Largest collinearity index of an identifiable subset (Brun et al. 2001: 15).
    max_fitted : int
        Most parameters a fit may have.
    posterior : PosteriorConfig
    history_checks : tuple of HistoryCheck
        The checks an uncertainty ensemble's runs must pass to count as reproducing history.
    """

    parameters: dict[str, tuple[float, float]]
    status_weights: dict[str, float]
    series: dict[str, SeriesSpec]
    not_used: dict[str, str]
    path: Path
    candidates: tuple[str, ...] = ()
    identify_threshold: float = 15.0
    max_fitted: int = 12
    posterior: PosteriorConfig = dataclasses.field(default_factory=PosteriorConfig)
    history_checks: tuple[HistoryCheck, ...] = ()


# ------------------------------------------------------------ the setup file's shape
_Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class _Rule(_Strict):
    """Rows an ``exclude`` or ``variants`` rule selects, and why."""

    source: str | None = None
    note_contains: str | None = None
    years: tuple[StrictInt, StrictInt] | None = None
    variable: str | None = None
    tolerance: Annotated[_Finite, Field(gt=0)] | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _selects_rows(self) -> _Rule:
        if self.source is None and self.note_contains is None and self.years is None:
            raise ValueError("a rule selects rows by source, note_contains or years")
        if self.years is not None and self.years[0] > self.years[1]:
            raise ValueError("years must be [FIRST, LAST] with FIRST <= LAST")
        return self


class _Series(_Strict):
    variable: str
    kind: Literal[KINDS]  # type: ignore[valid-type]
    error: Literal[ERRORS]  # type: ignore[valid-type]
    tolerance: Annotated[_Finite, Field(gt=0)]
    weight: Annotated[_Finite, Field(ge=0)] = 1.0
    factor: _Finite = 1.0
    from_year: StrictInt | None = None
    exclude: list[_Rule] = Field(default_factory=list)
    variants: list[_Rule] = Field(default_factory=list)


class _Range(_Strict):
    range: tuple[_Finite, _Finite]
    reason: str


class _Identify(_Strict):
    candidates: list[str] = Field(default_factory=list)
    threshold: Annotated[_Finite, Field(gt=1)] = 15.0
    max_fitted: Annotated[StrictInt, Field(ge=1)] = 12


class _Prior(_Strict):
    distribution: Literal["uniform", "triangular"]
    range: tuple[_Finite, _Finite]
    reason: str


class _Posterior(_Strict):
    particles: Annotated[StrictInt, Field(ge=10)] = PosteriorConfig.particles
    draws: Annotated[StrictInt, Field(ge=1)] = PosteriorConfig.draws
    seed: Annotated[StrictInt, Field(ge=0, le=MAX_SEED)] = PosteriorConfig.seed
    screen: Annotated[_Finite, Field(ge=0)] = PosteriorConfig.screen
    max_minutes: Annotated[_Finite, Field(gt=0)] = PosteriorConfig.max_minutes
    moves: Annotated[_Finite, Field(gt=0, le=50)] = PosteriorConfig.moves
    priors: dict[str, _Prior] = Field(default_factory=dict)


_DEFAULT_STATUS_WEIGHTS: dict[Literal["R", "D", "E"], float] = {"R": 1.0, "D": 0.7, "E": 0.4}


class _HistoryCheck(_Strict):
    variable: str
    indicator: str
    year: StrictInt
    error: Literal["relative", "points"]
    tolerance: Annotated[_Finite, Field(gt=0)]


class _SetupFile(_Strict):
    """``model/calibration_setup.yaml``: shapes and types (names are checked against the model)."""

    status_weights: dict[Literal["R", "D", "E"], Annotated[_Finite, Field(ge=0)]] = Field(
        default_factory=lambda: _DEFAULT_STATUS_WEIGHTS.copy()
    )
    ranges: dict[str, _Range] = Field(default_factory=dict)
    series: dict[str, _Series] = Field(default_factory=dict)
    not_used: dict[str, str] = Field(default_factory=dict)
    identify: _Identify = Field(default_factory=_Identify)
    posterior: _Posterior = Field(default_factory=_Posterior)
    history_checks: list[_HistoryCheck] = Field(default_factory=list)


def _rule_dict(rule: _Rule) -> dict:
    """A rule as the mapping the row filters read (``years`` as a list)."""
    out = rule.model_dump(exclude_none=True)
    if "years" in out:
        out["years"] = list(out["years"])
    return out


def load_setup(model: Model, path: Path | str | None = None) -> CalibrationSetup:
    """Read and validate the calibration setup against the model.

    Raises
    ------
    HatinhInputError
        One line with the file, line and key: a wrong shape or type (pydantic
        model :class:`_SetupFile`), a parameter that is not marked
        ``calibrated:`` in the model, an empty or reversed range or one outside
        the model's range, an unknown model variable, R >= D >= E violated,
        more fitted parameters than allowed.
    """
    path = Path(path) if path else current_project().path("calibration_setup")
    doc, node = parse_yaml(path)
    if not isinstance(doc, dict):
        raise HatinhInputError("expected a mapping at the top level", path=path)
    cfg = validate(_SetupFile, doc, path, node)

    def error(message: str, *keys: object) -> HatinhInputError:
        return HatinhInputError(
            message, path=path, line=line_of(node, keys), key=".".join(map(str, keys))
        )

    calibrated = {n: p for n, p in model.parameters.items() if p.role == "calibrated"}
    params = {n: (p.low, p.high) for n, p in calibrated.items()}
    for name, spec in cfg.ranges.items():
        if name not in calibrated:
            hint = did_you_mean(name, calibrated)
            raise error(
                f"'{name}' is not a parameter marked 'calibrated:' in the model{hint}",
                "ranges",
                name,
            )
        low, high = spec.range
        if low >= high:
            raise error(
                f"range [{low:g}, {high:g}] is empty or reversed; fix the constant in the .mdl instead",
                "ranges",
                name,
            )
        p = calibrated[name]
        if low < p.low or high > p.high:
            raise error(
                f"range [{low:g}, {high:g}] leaves the model's range [{p.low:g}, {p.high:g}] {p.units}",
                "ranges",
                name,
            )
        params[name] = (low, high)
    weights = {k: float(v) for k, v in cfg.status_weights.items()}
    if not weights.get("R", 0) >= weights.get("D", 0) >= weights.get("E", 0):
        raise error("weights must satisfy R >= D >= E", "status_weights")
    known_vars = set(model.outputs) | set(DERIVED)

    def known(var: object, *keys: object) -> None:
        if var not in known_vars:
            hint = did_you_mean(var, sorted(known_vars))
            raise error(f"'{var}' is not a model variable{hint}", *keys)

    series: dict[str, SeriesSpec] = {}
    for indicator, spec in cfg.series.items():
        known(spec.variable, "series", indicator, "variable")
        for i, rule in enumerate(spec.variants):
            known(rule.variable, "series", indicator, "variants", i, "variable")
        series[indicator] = SeriesSpec(
            indicator=indicator,
            variable=spec.variable,
            kind=spec.kind,
            error=spec.error,
            tolerance=float(spec.tolerance),
            weight=float(spec.weight),
            factor=float(spec.factor),
            from_year=spec.from_year,
            exclude=tuple(_rule_dict(r) for r in spec.exclude),
            variants=tuple(_rule_dict(r) for r in spec.variants),
        )
    for i, check in enumerate(cfg.history_checks):
        known(check.variable, "history_checks", i, "variable")
    for i, name in enumerate(cfg.identify.candidates):
        _ranged(model, name, path, f"identify.candidates[{i}]")
    if len(params) > cfg.identify.max_fitted:
        raise error(
            f"{len(params)} parameters are marked 'calibrated:', more than the"
            f" {cfg.identify.max_fitted} allowed",
            "identify",
            "max_fitted",
        )
    post = cfg.posterior
    if post.draws > post.particles:
        raise error(
            f"draws ({post.draws}) cannot exceed particles ({post.particles})", "posterior", "draws"
        )
    priors: dict[str, PriorSpec] = {}
    for name, prior in post.priors.items():
        par = _ranged(model, name, path, f"posterior.priors.{name}")
        low, high = prior.range
        if not low < high:
            raise error(
                f"range [{low:g}, {high:g}] needs low < high", "posterior", "priors", name, "range"
            )
        if low < par.low or high > par.high:
            raise error(
                f"prior [{low:g}, {high:g}] leaves the model's range [{par.low:g}, {par.high:g}] {par.units}",
                "posterior",
                "priors",
                name,
                "range",
            )
        priors[str(name)] = PriorSpec(prior.distribution, low, high, prior.reason)
    return CalibrationSetup(
        parameters=params,
        status_weights=weights,
        series=series,
        not_used=dict(cfg.not_used),
        path=path,
        candidates=tuple(dict.fromkeys([*params, *cfg.identify.candidates])),
        identify_threshold=float(cfg.identify.threshold),
        max_fitted=cfg.identify.max_fitted,
        posterior=PosteriorConfig(
            post.particles,
            post.draws,
            post.seed,
            float(post.screen),
            priors,
            float(post.max_minutes),
            float(post.moves),
        ),
        history_checks=tuple(HistoryCheck(**c.model_dump()) for c in cfg.history_checks),
    )


def _ranged(model: Model, name: object, path: Path, key: str) -> Any:
    """The model's ranged constant ``name`` (calibrated, uncertain or lever), or a clear error."""
    par = model.parameters.get(str(name))
    if par is None or par.low is None or par.high is None:
        ranged = [n for n, p in model.parameters.items() if p.role in ("calibrated", "uncertain")]
        hint = did_you_mean(name, ranged)
        raise HatinhInputError(
            f"'{name}' is not a calibrated or uncertain constant of the model{hint}",
            path=path,
            key=key,
        )
    return par


def _matches(row: pd.Series, rule: dict) -> bool:
    """Whether ``row`` meets every condition of ``rule`` (source, note_contains, years)."""
    checks = []
    if "source" in rule:
        checks.append(row["source"] == rule["source"])
    if "note_contains" in rule:
        checks.append(str(rule["note_contains"]) in str(row["note"]))
    if "years" in rule:
        first, last = rule["years"]
        checks.append(first <= int(row["year"]) <= last)
    return bool(checks) and all(checks)


def _excluded(row: pd.Series, spec: SeriesSpec) -> str:
    """The reason an ``exclude`` rule of ``spec`` gives for leaving ``row`` out, or ''."""
    reason = ""
    for rule in spec.exclude:
        if _matches(row, rule):
            reason = rule.get("reason", "excluded")
    return reason


def _row_variable(row: pd.Series, spec: SeriesSpec) -> str:
    """The model variable ``row`` is compared with: a matching variant's, or the series'."""
    for rule in spec.variants:
        if _matches(row, rule):
            return rule["variable"]
    return spec.variable


def _row_tolerance(row: pd.Series, spec: SeriesSpec) -> float:
    """The tolerance of ``row``: a matching variant's own, or the series'."""
    for rule in spec.variants:
        if _matches(row, rule) and "tolerance" in rule:
            return float(rule["tolerance"])
    return spec.tolerance


def project_setup(model: Model) -> CalibrationSetup | None:
    """The active project's calibration setup (``None`` for a project without one)."""
    return load_setup(model) if current_project().calibration_setup else None


def comparable_observed(observed: pd.DataFrame, setup: CalibrationSetup | None) -> pd.DataFrame:
    """``observed`` without the rows the setup's ``exclude`` rules mark as not comparable.

    Those rows (an older survey definition, another vintage) measure something
    else than the model variable; charts that set observed history against
    the model leave them out, as the fit does. Without a setup, every row.
    """
    if setup is None:
        return observed
    keep = [
        r["indicator"] not in setup.series
        or not (
            _excluded(r, setup.series[r["indicator"]])
            or _row_variable(r, setup.series[r["indicator"]])
            != setup.series[r["indicator"]].variable
        )
        for _, r in observed.iterrows()
    ]
    return observed[np.array(keep, dtype=bool)]


def observations(
    observed: pd.DataFrame, setup: CalibrationSetup, *, source: Path | str | None = None
) -> pd.DataFrame:
    """Observed rows with how they are compared: weight, model window, use or reason.

    Raises
    ------
    HatinhInputError
        When no row of the file can be used.
    """
    rows = []
    for _, r in observed.iterrows():
        spec = setup.series.get(r["indicator"])
        if spec is None:
            reason = setup.not_used.get(
                r["indicator"], "no comparison defined in calibration_setup.yaml"
            )
            variable = ""
            tolerance = math.nan
        else:
            reason = _excluded(r, spec)
            variable = _row_variable(r, spec)
            tolerance = _row_tolerance(r, spec)
            if not reason and spec.error == "relative" and float(r["value"]) == 0:
                raise HatinhInputError(
                    f"0 cannot be compared with the model: series '{r['indicator']}' is "
                    "compared in relative terms (error: relative in calibration_setup.yaml)",
                    path=source or observed.attrs.get("path", "observed.csv"),
                    line=int(r["line"]),
                    column="value",
                )
        start, end = PERIOD_SPAN[r["period"]]
        # calendar [Y + start, Y + end) is model time [Y + start - 0.5, Y + end - 0.5)
        t0, t1 = r["year"] + start - 0.5, r["year"] + end - 0.5
        rows.append(
            {
                "indicator": r["indicator"],
                "year": int(r["year"]),
                "period": r["period"],
                "observed": float(r["value"]),
                "unit": r["unit"],
                "status": r["status"],
                "source": r["source"],
                "lower_bound": bool(r["lower_bound"]),
                "variable": variable,
                "tolerance": tolerance,
                "t0": t0,
                "t1": t1,
                "used": reason == "",
                "reason": reason,
                "line": int(r["line"]),
            }
        )
    obs = pd.DataFrame(rows)
    used = obs[obs["used"]] if rows else obs
    if used.empty:
        raise HatinhInputError(
            "no row can be compared with the model (no usable observations)",
            path=source or observed.attrs.get("path", "observed.csv"),
        )
    w = used["status"].map(setup.status_weights).fillna(0.0)
    series_w = used["indicator"].map(lambda i: setup.series[i].weight)
    obs.loc[used.index, "weight"] = w * series_w
    obs["weight"] = obs["weight"].fillna(0.0)
    return obs


class _Observation(Protocol):
    """A row of :func:`observations` as ``DataFrame.itertuples`` gives it (the columns used)."""

    indicator: str
    year: int
    period: str
    variable: str
    t0: float
    t1: float
    used: bool


def _observation_rows(obs: pd.DataFrame) -> Iterator[_Observation]:
    """The rows of :func:`observations`' frame ``obs``, typed."""
    return cast("Iterator[_Observation]", obs.itertuples())


def fine_times(model: Model) -> np.ndarray:
    """Every integration step of the model (the grid of period means)."""
    n = int(round((model.final_time - model.initial_time) / model.time_step))
    return model.initial_time + model.time_step * np.arange(n + 1)


def fit_variables(setup: CalibrationSetup) -> list[str]:
    """The model variables a run must return to compare every series of ``setup``
    (those of derived quantities replaced by their inputs)."""
    out: set[str] = set()
    for spec in setup.series.values():
        for var in [spec.variable] + [rule["variable"] for rule in spec.variants]:
            out |= set(DERIVED[var].inputs) if var in DERIVED else {var}
    return sorted(out)


def compare_with_observed(ds: xr.Dataset, obs: pd.DataFrame, setup: CalibrationSetup) -> np.ndarray:
    """The model value matching each observation row (NaN for unused rows).

    ``ds`` must hold the model at every integration step (:func:`fine_times`).
    """
    t = ds["time"].values
    cache: dict[str, np.ndarray] = {}

    def series(var: str) -> np.ndarray:
        if var not in cache:
            cache[var] = (DERIVED[var](ds) if var in DERIVED else ds[var]).values
        return cache[var]

    def mean(var: str, t0: float, t1: float) -> float:
        sel = (t >= t0 - 1e-9) & (t < t1 - 1e-9)
        if not sel.any():
            sel = np.abs(t - min(max(t0, t[0]), t[-1])) < 1e-9
        return float(series(var)[sel].mean())

    out = np.full(len(obs), np.nan)
    for i, r in enumerate(_observation_rows(obs)):
        if not r.used:
            continue
        spec = setup.series[r.indicator]
        var = r.variable
        if spec.kind == "mean":
            out[i] = mean(var, r.t0, r.t1)
        elif spec.kind == "end":
            out[i] = float(np.interp(min(r.t1, t[-1]), t, series(var)))
        elif spec.kind == "growth":
            now = mean(var, r.t0, r.t1)
            before = mean(var, r.t0 - 1, r.t1 - 1)
            out[i] = (now / before - 1) * 100
        elif spec.kind == "cumulative":
            out[i] = sum(
                mean(var, y - 0.5, y + 0.5)
                for y in range(int(spec.from_year or r.year), r.year + 1)
            )
        if spec.kind != "growth":
            out[i] *= spec.factor
    return out


def fit_statistics(observed: np.ndarray, simulated: np.ndarray) -> dict[str, float]:
    """n, MAPE (%), RMSE, R² and Theil's inequality decomposition of the MSE.

    U^M (bias), U^S (unequal variation) and U^C (unequal covariation) sum to 1
    (Sterman 1984). R² is 1 - SS_res / SS_tot; with fewer than two points R²
    and the Theil statistics are NaN.
    """
    a = np.asarray(observed, float)
    s = np.asarray(simulated, float)
    n = len(a)
    out = {
        "n": n,
        "mape": math.nan,
        "rmse": math.nan,
        "r2": math.nan,
        "um": math.nan,
        "us": math.nan,
        "uc": math.nan,
    }
    if n == 0:
        return out
    err = s - a
    out["mape"] = float(np.mean(np.abs(err / a)) * 100) if np.all(a != 0) else math.nan
    mse = float(np.mean(err**2))
    out["rmse"] = math.sqrt(mse)
    if n >= 2:
        ss_tot = float(np.sum((a - a.mean()) ** 2))
        out["r2"] = 1 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else math.nan
        if mse > 0:
            sd_s, sd_a = float(s.std()), float(a.std())
            r = float(np.corrcoef(s, a)[0, 1]) if sd_s > 0 and sd_a > 0 else 0.0
            out["um"] = (s.mean() - a.mean()) ** 2 / mse
            out["us"] = (sd_s - sd_a) ** 2 / mse
            out["uc"] = 2 * (1 - r) * sd_s * sd_a / mse
    return out


def fit_table(
    obs: pd.DataFrame, model_values: np.ndarray, mask: np.ndarray | None = None
) -> pd.DataFrame:
    """Fit statistics per series over the used rows (optionally a subset ``mask``)."""
    sel = obs["used"].to_numpy() & np.isfinite(model_values)
    if mask is not None:
        sel &= mask
    rows = []
    for indicator, idx in obs[sel].groupby("indicator").groups.items():
        pos = obs.index.get_indexer(idx)
        stats = fit_statistics(obs["observed"].to_numpy()[pos], model_values[pos])
        sources = ", ".join(sorted(set(obs.loc[idx, "source"])))
        years = obs.loc[idx, "year"]
        rows.append(
            {
                "series": indicator,
                "years": f"{years.min()}-{years.max()}",
                **stats,
                "sources": sources,
            }
        )
    return pd.DataFrame(
        rows, columns=["series", "years", "n", "mape", "rmse", "r2", "um", "us", "uc", "sources"]
    )


def naive_trend_benchmark(
    obs: pd.DataFrame, fit_until: int, first_year: int = 2012, *, log_levels: set[str] | None = None
) -> np.ndarray:
    """The naive forecast: each series' trend over ``first_year``-``fit_until``, extrapolated.

    The trend is an ordinary least-squares line through the annual observations
    of the window; for the series in ``log_levels`` (levels that grow
    exponentially, such as GRDP) it is fitted to their logarithm, i.e. a
    constant growth rate. Returns a value per observation row (NaN where a series
    has fewer than two annual points in the window or the row is not after
    ``fit_until``).
    """
    log_levels = log_levels or set()
    out = np.full(len(obs), np.nan)
    for indicator, group in obs[obs["used"]].groupby("indicator"):
        window = group[
            (group["year"] >= first_year)
            & (group["year"] <= fit_until)
            & (group["period"] == "year")
        ]
        if window["year"].nunique() < 2:
            continue
        log = indicator in log_levels and bool((window["observed"] > 0).all())
        y = np.log(window["observed"]) if log else window["observed"]
        slope, intercept = np.polyfit(window["year"], y, 1)
        later = group[group["year"] > fit_until]
        pos = obs.index.get_indexer(later.index)
        t = (later["t0"] + later["t1"]).to_numpy() / 2
        trend = slope * t + intercept
        out[pos] = np.exp(trend) if log else trend
    return out


def level_series(setup: CalibrationSetup) -> set[str]:
    """Series compared in relative error (levels), whose naive trend is log-linear."""
    return {i for i, s in setup.series.items() if s.error == "relative" and s.kind != "cumulative"}


@dataclasses.dataclass
class CalibrationResult:
    """Fitted values, fit statistics and, with ``fit_until``, the hold-out test."""

    values: dict[str, float]
    at_bound: list[str]
    observations: pd.DataFrame
    model_values: np.ndarray
    fit: pd.DataFrame
    fit_until: int | None
    holdout: pd.DataFrame | None
    benchmark: pd.DataFrame | None
    cost: float
    evaluations: int

    def holdout_tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The hold-out fit table and the naive benchmark's (a fit with ``fit_until``)."""
        if self.holdout is None or self.benchmark is None:
            raise ValueError("no hold-out test: this fit used every year (no fit_until)")
        return self.holdout, self.benchmark


def _run_fine(model: Model, params: dict[str, float], variables: list[str]) -> xr.Dataset:
    return model.run(params, outputs=variables, times=fine_times(model), check_ranges=False)


@dataclasses.dataclass
class PointFit:
    """A weighted least-squares fit (:func:`fit_point`)."""

    values: dict[str, float]
    #: Jacobian of the weighted residuals at the optimum, with respect to the
    #: parameters scaled to their search ranges (observations x parameters).
    jacobian: np.ndarray
    likelihood: Likelihood
    cost: float  # weighted sum of squares at the optimum
    runs: int  # model runs (each iteration runs the point and its neighbours at once)
    at_bound: list[str]


def fit_point(
    model: Model,
    setup: CalibrationSetup,
    observed: pd.DataFrame,
    fit_until: int | None = None,
    *,
    start: dict[str, float] | None = None,
    engine: Any = None,
    max_iterations: int = 60,
    progress: Callable[[int, float], None] | None = None,
) -> PointFit:
    """Bounded weighted least squares of the fitted parameters on the array engine.

    Parameters are scaled to their search ranges; each iteration runs the point
    and its forward-difference neighbours (steps of 0.001 of the range) in one call
    of :class:`hatinh_sd.ensemble.ArrayModel`, so the Jacobian comes with the
    residuals. ``progress(runs, cost)`` is called after each call.
    """
    from scipy.optimize import least_squares

    from hatinh_sd.ensemble import ArrayModel

    engine = engine or ArrayModel(model)
    lik = Likelihood(model, setup, observed, fit_until)
    if lik.obs.empty:
        raise HatinhInputError(f"no usable observation up to {fit_until}", path="observed.csv")
    names = list(setup.parameters)
    low = np.array([setup.parameters[n][0] for n in names])
    high = np.array([setup.parameters[n][1] for n in names])
    py = [model.py_name(n) for n in names]
    h = 1e-3
    cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
    runs = [0]

    def batch(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = x.tobytes()
        if key not in cache:
            steps = np.where(x + h <= 1, h, -h)
            X = np.vstack([x, x + np.diag(steps)])
            mv, _ = lik.run(
                engine, {p: low[j] + X[:, j] * (high[j] - low[j]) for j, p in enumerate(py)}
            )
            R = lik.residuals(mv)
            R = np.where(np.isfinite(R), R, 1e3)
            cache.clear()
            cache[key] = (R[0], ((R[1:] - R[0]) / steps[:, None]).T)
            runs[0] += len(X)
            if progress:
                progress(runs[0], float(np.sum(R[0] ** 2)))
        return cache[key]

    x0 = np.array([(start or {}).get(n, model.defaults[n]) for n in names])
    x0 = np.clip((x0 - low) / (high - low), 0, 1)
    sol = least_squares(
        lambda x: batch(x)[0],
        x0,
        jac=lambda x: batch(x)[1],
        bounds=(0, 1),
        method="trf",
        max_nfev=max_iterations,
    )
    r, J = batch(sol.x)
    return PointFit(
        values={n: float(v) for n, v in zip(names, low + sol.x * (high - low), strict=True)},
        jacobian=J,
        likelihood=lik,
        cost=float(np.sum(r**2)),
        runs=runs[0],
        at_bound=[n for n, x in zip(names, sol.x, strict=True) if x < 0.005 or x > 0.995],
    )


def check_fit_until(model: Model, observed: pd.DataFrame, year: int, option: str) -> None:
    """Refuse a hold-out year (``option``) without observations on both sides of it."""
    if observed.empty:
        raise HatinhInputError(
            "no observations to hold out", path=observed.attrs.get("path"), key=option
        )
    first, last = int(model.initial_time) + 2, int(observed["year"].astype(int).max()) - 1
    if not first <= year <= last:
        raise HatinhInputError(
            f"{year}: the hold-out needs observations on both sides; "
            f"choose a year in {first}-{last}",
            key=option,
        )


def calibrate(
    model: Model,
    setup: CalibrationSetup,
    observed: pd.DataFrame | None = None,
    *,
    fit_until: int | None = None,
    max_evaluations: int = 1000,
    start: dict[str, float] | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> CalibrationResult:
    """Fit the ``calibrated`` parameters by bounded weighted least squares (:func:`fit_point`).

    Parameters
    ----------
    model : Model
    setup : CalibrationSetup
    observed : DataFrame, optional
        ``load_observed()`` by default.
    fit_until : int, optional
        Fit only observations up to this year; the later ones are the hold-out.
    max_evaluations : int
        Approximate budget of model runs for the optimiser (each iteration
        costs one run per parameter plus one).
    start : dict, optional
        Starting values (model defaults by default).
    """
    observed = load_observed() if observed is None else observed
    iterations = max(1, max_evaluations // (len(setup.parameters) + 1))
    fit = fit_point(
        model,
        setup,
        observed,
        fit_until,
        start=start,
        max_iterations=iterations,
        progress=progress,
    )
    return evaluate(
        model,
        setup,
        fit.values,
        observed,
        fit_until=fit_until,
        at_bound=fit.at_bound,
        cost=fit.cost,
        evaluations=fit.runs,
    )


def evaluate(
    model: Model,
    setup: CalibrationSetup,
    values: dict[str, float],
    observed: pd.DataFrame | None = None,
    *,
    fit_until: int | None = None,
    at_bound: list[str] | None = None,
    cost: float = float("nan"),
    evaluations: int = 1,
) -> CalibrationResult:
    """Fit statistics (and, with ``fit_until``, hold-out and naive benchmark) of given parameter values."""
    observed = load_observed() if observed is None else observed
    obs = observations(observed, setup)
    fit_mask = (
        np.ones(len(obs), bool) if fit_until is None else (obs["year"] <= fit_until).to_numpy()
    )
    ds = _run_fine(model, values, fit_variables(setup))
    mv = compare_with_observed(ds, obs, setup)
    fit = fit_table(obs, mv, fit_mask)
    holdout = benchmark = None
    if fit_until is not None:
        later = ~fit_mask
        holdout = fit_table(obs, mv, later)
        naive = naive_trend_benchmark(obs, fit_until, log_levels=level_series(setup))
        ok = later & np.isfinite(naive)
        benchmark = fit_table(obs, naive, ok)
    return CalibrationResult(
        values, at_bound or [], obs, mv, fit, fit_until, holdout, benchmark, cost, evaluations
    )


def model_fit(
    model: Model, setup: CalibrationSetup, observed: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Observations and the current model's matching values (no fitting)."""
    observed = load_observed() if observed is None else observed
    obs = observations(observed, setup)
    ds = _run_fine(model, {}, fit_variables(setup))
    return obs, compare_with_observed(ds, obs, setup)


def write_calibration(
    result: CalibrationResult, model: Model, path: Path | str | None = None
) -> Path:
    """Write the fitted values as the reviewed calibration file (atomically; the active
    project's by default)."""
    path = Path(path) if path else current_project().path("calibration")
    header = (
        f"# Fitted values of the parameters marked 'calibrated:' in {model.mdl_path.name}.\n"
        "# Written by `hatinh-sd calibrate`; review the change (git diff) before committing.\n"
        + (
            "# Every run of the model reads this file.\n"
            if result.fit_until is None
            else f"# Hold-out record: fitted to data up to {result.fit_until} only. Runs do NOT read this file.\n"
        )
    )
    doc = {
        "model_sha256": model.hash,
        "equations_sha256": model.equations_hash,
        "fitted": _dt.date.today().isoformat(),
        "fit_until": result.fit_until,
        "weighted_sum_of_squares": round(result.cost, 6),
        "at_bound": result.at_bound,
        "parameters": {n: float(f"{v:.6g}") for n, v in result.values.items()},
    }
    if path.exists() and result.fit_until is None:  # keep the posterior's estimates of this model
        old = read_yaml(path) or {}
        est = old.get("estimates") if isinstance(old, dict) else None
        if isinstance(est, dict) and model.made_from(est):
            doc["estimates"] = est
    with atomic_file(path) as tmp:
        tmp.write_text(
            header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
    return path


# ---------------------------------------------------------------- vectorised likelihood
class Likelihood:
    """The calibration's weighted residuals, for many runs at once.

    Parameters
    ----------
    model : Model
    setup : CalibrationSetup
    observed : DataFrame
        ``load_observed()`` rows.
    fit_until : int, optional
        Use only observations up to this year.
    """

    def __init__(
        self,
        model: Model,
        setup: CalibrationSetup,
        observed: pd.DataFrame,
        fit_until: int | None = None,
    ):
        obs = observations(observed, setup)
        keep = obs["used"].to_numpy() & (obs["weight"].to_numpy() > 0)
        if fit_until is not None:
            keep &= (obs["year"] <= fit_until).to_numpy()
        self.obs = obs[keep].reset_index(drop=True)
        self.setup = setup
        self.times = fine_times(model)
        self.variables = fit_variables(setup)
        t = self.times
        rows = []
        for r in _observation_rows(self.obs):
            spec = setup.series[r.indicator]
            idx: list[Any]  # windows of time steps; for "end" one (step, weight) pair
            if spec.kind == "mean":
                idx = [self._window(r.t0, r.t1)]
            elif spec.kind == "growth":
                idx = [self._window(r.t0, r.t1), self._window(r.t0 - 1, r.t1 - 1)]
            elif spec.kind == "cumulative":
                idx = [
                    self._window(y - 0.5, y + 0.5)
                    for y in range(int(spec.from_year or r.year), r.year + 1)
                ]
            else:  # end: linear interpolation at t1
                x = min(r.t1, t[-1])
                j = int(np.searchsorted(t, x, side="right") - 1)
                j = min(max(j, 0), len(t) - 2)
                w = (x - t[j]) / (t[j + 1] - t[j])
                idx = [(j, w)]
            rows.append((spec.kind, r.variable, idx, spec.factor, spec.error))
        self._rows = rows
        self.observed = self.obs["observed"].to_numpy(dtype=float)
        self.lower = self.obs["lower_bound"].to_numpy(dtype=bool)
        self.sqrt_weight = np.sqrt(self.obs["weight"].to_numpy(dtype=float))
        self.tolerance = self.obs["tolerance"].to_numpy(dtype=float)
        self.relative = np.array([row[4] == "relative" for row in rows])
        #: Model time a run must reach to compare every observation.
        self.last_time = float(
            min(
                model.final_time, math.ceil(float(self.obs["t1"].max()) if len(self.obs) else 0) + 1
            )
        )

    def _window(self, t0: float, t1: float) -> np.ndarray:
        t = self.times
        sel = (t >= t0 - 1e-9) & (t < t1 - 1e-9)
        if not sel.any():
            sel = np.abs(t - min(max(t0, t[0]), t[-1])) < 1e-9
        return np.flatnonzero(sel)

    @property
    def outputs(self) -> list[str]:
        """Model variables (PySD names) a run must return."""
        return self.variables

    def _series(self, out: dict[str, np.ndarray], var: str) -> np.ndarray:
        return DERIVED[var](out) if var in DERIVED else out[var]

    def model_values(self, out: dict[str, np.ndarray]) -> np.ndarray:
        """Model value of each observation for every run: (runs, observations)."""
        n = next(iter(out.values())).shape[0]
        mv = np.empty((n, len(self._rows)))
        cache: dict[str, np.ndarray] = {}
        for i, (kind, var, idx, factor, _error) in enumerate(self._rows):
            if var not in cache:
                cache[var] = self._series(out, var)
            s = cache[var]
            if kind == "mean":
                mv[:, i] = s[:, idx[0]].mean(axis=1) * factor
            elif kind == "growth":
                mv[:, i] = (s[:, idx[0]].mean(axis=1) / s[:, idx[1]].mean(axis=1) - 1) * 100
            elif kind == "cumulative":
                mv[:, i] = sum(s[:, w].mean(axis=1) for w in idx) * factor
            else:
                j, w = idx[0]
                mv[:, i] = (s[:, j] * (1 - w) + s[:, j + 1] * w) * factor
        return mv

    def residuals(self, mv: np.ndarray) -> np.ndarray:
        """Weighted residuals (runs, observations): (model - observed) / tolerance x sqrt(weight),
        relative for levels, one-sided for lower bounds."""
        diff = mv - self.observed
        diff = np.where(self.lower, np.minimum(diff, 0.0), diff)
        err = np.where(self.relative, diff / np.abs(self.observed), diff)
        return self.sqrt_weight * err / self.tolerance

    def sigma(self) -> np.ndarray:
        """The measurement error scale of each observation, in its own unit."""
        scale = np.where(self.relative, np.abs(self.observed), 1.0)
        return self.tolerance * scale / self.sqrt_weight

    def loglik(self, mv: np.ndarray) -> np.ndarray:
        """Log-likelihood of each run from its model values (-inf where not finite)."""
        ll = -0.5 * np.sum(self.residuals(mv) ** 2, axis=1)
        return np.where(np.isfinite(ll), ll, -np.inf)

    def run(
        self,
        engine: Any,
        values: dict[str, np.ndarray],
        fixed: dict[str, float] | None = None,
        extra: Sequence[str] = (),
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Model values of the observations (runs, observations) for parameter arrays.

        ``engine`` is a :class:`hatinh_sd.ensemble.ArrayModel`; ``values`` and ``fixed``
        map PySD names to arrays (one value per run) and numbers. Also returns the
        series of the ``extra`` outputs (PySD names -> runs x time steps).
        """
        outputs = sorted(set(self.outputs) | set(extra))
        # the run stops a year after the last observation unless other outputs are wanted
        final = engine.model.final_time if extra else self.last_time
        with np.errstate(all="ignore"):
            _t, out = engine.run(
                values, fixed or {}, outputs, final, saveper=engine.model.time_step
            )
            series = {o: out[i] for i, o in enumerate(outputs)}
            return self.model_values(series), {e: series[e] for e in extra}


# ---------------------------------------------------------------- identifiability
@dataclasses.dataclass
class Identifiability:
    """Local identifiability of candidate parameters at given values.

    Follows Brun, Reichert and Künsch (2001, Water Resources Research 37(4)):
    the sensitivity of each weighted residual to each parameter, scaled by the
    parameter's range (``sensitivity``, observations x parameters); the
    importance of each parameter (root mean square of its column, ``importance``);
    the singular values of the scaled sensitivity matrix; the collinearity index
    gamma = 1 / sqrt(smallest eigenvalue of S~'S~) of subsets (S~: columns
    scaled to unit length); correlations of the linearised estimates; and the
    largest subset whose collinearity index stays at or below ``threshold``.
    """

    names: list[str]
    sensitivity: pd.DataFrame
    importance: pd.Series
    singular_values: np.ndarray
    collinearity_all: float
    correlation: pd.DataFrame
    proposed: list[str]
    proposed_index: float
    threshold: float
    series_sensitivity: pd.DataFrame
    residuals: pd.Series | None = None


def collinearity_index(S: np.ndarray) -> float:
    """Collinearity index of the columns of ``S`` (Brun et al. 2001)."""
    norms = np.linalg.norm(S, axis=0)
    if np.any(norms == 0):
        return math.inf
    Sn = S / norms
    lam = np.linalg.eigvalsh(Sn.T @ Sn)[0]
    return 1 / math.sqrt(lam) if lam > 0 else math.inf


def largest_identifiable_subset(
    S: np.ndarray, threshold: float = 15.0, max_size: int | None = None
) -> tuple[list[int], float]:
    """Indices of the largest column subset of ``S`` with collinearity index <= threshold.

    Among subsets of the largest feasible size, the one with the largest sum of
    column norms (the most important parameters) wins. Exhaustive over subsets
    (fine for up to about 20 candidates; beyond, a greedy pass by importance).
    """
    import itertools

    p = S.shape[1]
    norms = np.linalg.norm(S, axis=0)
    usable = [j for j in range(p) if norms[j] > 0]
    Sn = np.zeros_like(S)
    Sn[:, usable] = S[:, usable] / norms[usable]
    G = Sn.T @ Sn
    top = min(len(usable), max_size or len(usable))
    if len(usable) > 20:  # greedy by importance
        chosen: list[int] = []
        for j in sorted(usable, key=lambda j: -norms[j]):
            trial = chosen + [j]
            if len(chosen) < top and collinearity_index(S[:, trial]) <= threshold:
                chosen = trial
        return chosen, collinearity_index(S[:, chosen]) if chosen else math.nan
    for k in range(top, 0, -1):
        combos = np.array(list(itertools.combinations(usable, k)))
        sub = G[combos[:, :, None], combos[:, None, :]]
        lam = np.linalg.eigvalsh(sub)[:, 0]
        gamma = np.where(lam > 0, 1 / np.sqrt(np.maximum(lam, 1e-300)), np.inf)
        ok = gamma <= threshold
        if ok.any():
            score = norms[combos].sum(axis=1)
            best = int(np.argmax(np.where(ok, score, -np.inf)))
            return list(combos[best]), float(gamma[best])
    return [], math.nan


def identify(
    model: Model,
    setup: CalibrationSetup,
    values: dict[str, float],
    names: list[str] | None = None,
    observed: pd.DataFrame | None = None,
    *,
    threshold: float = 15.0,
    max_size: int = 12,
    step: float = 0.01,
    fit_until: int | None = None,
) -> Identifiability:
    """Sensitivities, singular values, collinearity and the proposed identifiable subset.

    ``values`` are the parameter values to linearise at (model defaults for the
    rest); ``names`` the candidate parameters (the setup's by default), fitted or
    ranged. The Jacobian of the weighted residuals is taken by forward differences
    of ``step`` times each range, all in one run of the array engine.
    """
    from hatinh_sd.ensemble import ArrayModel

    observed = load_observed() if observed is None else observed
    lik = Likelihood(model, setup, observed, fit_until)
    names = list(names or setup.parameters)
    ranges = {n: setup.parameters.get(n) or _range(model, n) for n in names}
    base = {**{n: model.defaults[n] for n in names}, **values}
    X = np.tile([base[n] for n in names], (len(names) + 1, 1)).astype(float)
    scaled_step = np.empty(len(names))
    for j, n in enumerate(names):
        low, high = ranges[n]
        h = step * (high - low)
        x = base[n] + h if base[n] + h <= high else base[n] - h
        X[j + 1, j] = x
        scaled_step[j] = (x - base[n]) / (high - low)
    fixed = {model.py_name(n): float(v) for n, v in values.items() if n not in names}
    arrays = {model.py_name(n): X[:, j] for j, n in enumerate(names)}
    mv, _ = lik.run(ArrayModel(model), arrays, fixed)
    R = lik.residuals(mv)
    J = ((R[1:] - R[0]) / scaled_step[:, None]).T
    obs = lik.obs
    labels = [f"{r.indicator} {r.year} {r.period}" for r in _observation_rows(obs)]
    S = pd.DataFrame(J, index=labels, columns=names)
    importance = pd.Series(np.sqrt((J**2).mean(axis=0)), index=names).sort_values(ascending=False)
    sv = np.linalg.svd(J, compute_uv=False)
    cov = np.linalg.pinv(J.T @ J)
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    subset, gamma = largest_identifiable_subset(J, threshold, max_size)
    series = obs["indicator"].to_numpy()
    by_series = pd.DataFrame(
        {n: pd.Series(np.abs(J[:, j])).groupby(series).max() for j, n in enumerate(names)}
    )
    return Identifiability(
        names=names,
        sensitivity=S,
        importance=importance,
        singular_values=sv,
        collinearity_all=collinearity_index(J),
        correlation=pd.DataFrame(corr, index=names, columns=names),
        proposed=[names[j] for j in subset],
        proposed_index=gamma,
        threshold=threshold,
        series_sensitivity=by_series,
        residuals=pd.Series(R[0], index=labels),
    )


def _range(model: Model, name: str) -> tuple[float, float]:
    par = model.parameters.get(name)
    if par is None:
        raise HatinhInputError(f"'{name}' is not a ranged parameter of the model", key=name)
    return par.low, par.high
