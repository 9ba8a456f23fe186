"""Lever effects under uncertainty: what moving each lever across its range does to each target.

For every lever of the factor table (group ``lever``) the same ``n`` draws of the
uncertain constants (:func:`hatinh_sd.uncertainty.draw_with_posterior`: posterior
draws jointly, the other uncertain constants by Latin hypercube) are run twice: with
the lever at the bottom of its range and at the top, every other lever as the
scenario sets it. The *effect* of a lever on a target in a draw is the target's
indicator at the top minus at the bottom, in the target's year (and in 2050 for the
targets with a value then). A lever *helps* in a draw when it moves the indicator
towards meeting the target: up for ``>``/``>=``, down for ``<``/``<=``, closer to
the target value for the "about" targets (``~``, ``=``); it *hurts* when it moves it
the other way; an effect of zero does neither.

All runs (2 x levers x draws) are one vectorised ensemble
(:func:`hatinh_sd.ensemble.run_ensemble`): every lever is a column of the sample,
set to the scenario's value except in the lever's own rows.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.errors import HatinhInputError, check_seed, did_you_mean
from hatinh_sd.targets import met

__all__ = [
    "EFFECT_RTOL",
    "EffectsSetup",
    "LATER_YEAR",
    "NO_LATER_VALUE",
    "PERCENTILES",
    "check_years",
    "effects_dataset",
    "effects_table",
    "helps",
    "hurts",
    "lever_sample",
    "met",
    "prepare",
    "run_effects",
    "target_rows",
]

#: Percentiles of the interval reported around the median effect (a 90 % interval).
PERCENTILES = (5.0, 95.0)
#: Relative change below which a lever's effect counts as none (neither helps nor hurts):
#: the engine's agreement with scalar runs (:data:`hatinh_sd.ensemble.CHECK_RTOL`).
EFFECT_RTOL = 1e-9
#: The later year in which targets are also read (as the scorecard does).
LATER_YEAR = 2050
#: Indicators that have no value after their target year: T01 is the average growth
#: over 2021-2030; the model's variable at 2050 is a growth over 2021-2050.
NO_LATER_VALUE = frozenset({"grdp_growth_average_2021_2030"})


def target_rows(targets: pd.DataFrame, ids: Sequence[str], years: Sequence[int]) -> pd.DataFrame:
    """One row per (target, year) read: the target's year, and ``LATER_YEAR`` if asked
    for and the indicator has a value then.

    Columns: ``id``, ``indicator``, ``variable``, ``year``, ``comparator``, ``target``.
    ``years`` holds target years and/or :data:`LATER_YEAR`; a target is read in a year
    of ``years`` that is its own year or :data:`LATER_YEAR`.
    """

    rows = []
    for tid in ids:
        t = targets.loc[targets["target_id"] == tid].iloc[0]
        own = int(t["year"])
        for year in sorted(set(int(y) for y in years)):
            if year == own or (year == LATER_YEAR and t["indicator"] not in NO_LATER_VALUE):
                rows.append(
                    {
                        "id": tid,
                        "indicator": str(t["indicator"]),
                        "variable": str(t["variable"]),
                        "year": year,
                        "comparator": str(t["comparator"]),
                        "target": float(t["value"]),
                    }
                )
    return pd.DataFrame(
        rows, columns=["id", "indicator", "variable", "year", "comparator", "target"]
    )


def lever_sample(
    levers: Sequence[Any],
    scenario_values: Mapping[str, float],
    draws: np.ndarray,
) -> np.ndarray:
    """The sample of the effect runs: rows ordered (lever, low/high, draw).

    Columns: the levers (each at its scenario value, except the lever of the row
    block at its range's ``low`` or ``high``), then the drawn constants ``draws``
    (draw x constant, the same draws in every block).
    """
    n = draws.shape[0]
    base = np.array([float(scenario_values[f.variable]) for f in levers], dtype=float)
    blocks = []
    for j, f in enumerate(levers):
        for end in (f.low, f.high):
            block = np.tile(base, (n, 1))
            block[:, j] = float(end)
            blocks.append(np.hstack([block, draws]))
    return np.vstack(blocks) if blocks else np.empty((0, len(levers) + draws.shape[1]))


def _closer(first: np.ndarray, second: np.ndarray, comparator: str, target: float) -> np.ndarray:
    """Whether ``second`` is nearer meeting ``comparator target`` than ``first`` (NaN: no).

    A change within :data:`EFFECT_RTOL` of the values (the ensemble engine's precision)
    is no change.
    """
    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    with np.errstate(invalid="ignore"):
        moved = np.abs(second - first) > EFFECT_RTOL * np.maximum(np.abs(first), np.abs(second))
        if comparator in (">", ">="):
            out = second > first
        elif comparator in ("<", "<="):
            out = second < first
        elif comparator in ("~", "="):
            out = np.abs(second - target) < np.abs(first - target)
        else:
            raise ValueError(f"unknown comparator {comparator!r}")
    return out & moved & np.isfinite(first) & np.isfinite(second)


def helps(low: np.ndarray, high: np.ndarray, comparator: str, target: float) -> np.ndarray:
    """Whether moving a lever from its bottom (indicator ``low``) to its top (``high``)
    moves the indicator towards meeting ``comparator target``."""
    return _closer(low, high, comparator, target)


def hurts(low: np.ndarray, high: np.ndarray, comparator: str, target: float) -> np.ndarray:
    """Whether it moves the indicator away from meeting the target."""
    return _closer(high, low, comparator, target)


def effects_dataset(
    ds: xr.Dataset,
    levers: Sequence[Any],
    rows: pd.DataFrame,
    n: int,
    *,
    drawn_names: Sequence[str],
    drawn_values: np.ndarray,
    scenario_values: Mapping[str, float],
    units: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Effects per (lever, target, year, draw) from an ensemble run on :func:`lever_sample`.

    ``ds`` is the ensemble (samples ordered as :func:`lever_sample` orders its rows);
    ``rows`` is :func:`target_rows`. Returns ``value_low``, ``value_high`` and
    ``effect`` (high minus low; NaN in a year a target is not read), ``helps``,
    ``hurts``, ``met_low`` and ``met_high`` (1 or 0), and the drawn constants
    (``drawn``, draw x constant).
    """
    units = units or {}
    n_levers = len(levers)
    ids = list(dict.fromkeys(rows["id"]))
    years = sorted(set(int(y) for y in rows["year"]))
    shape = (n_levers, len(ids), len(years), n)
    low = np.full(shape, np.nan)
    high = np.full(shape, np.nan)
    good = np.zeros(shape, dtype=np.int8)
    bad = np.zeros(shape, dtype=np.int8)
    met_low = np.zeros(shape, dtype=np.int8)
    met_high = np.zeros(shape, dtype=np.int8)
    read = np.zeros((len(ids), len(years)), dtype=bool)
    for r in rows.to_dict("records"):
        i, k = ids.index(r["id"]), years.index(int(r["year"]))
        comparator, target = str(r["comparator"]), float(r["target"])
        vals = ds[r["variable"]].sel(time=float(r["year"])).values.astype(float)
        vals = vals.reshape(n_levers, 2, n)
        low[:, i, k], high[:, i, k] = vals[:, 0], vals[:, 1]
        good[:, i, k] = helps(vals[:, 0], vals[:, 1], comparator, target)
        bad[:, i, k] = hurts(vals[:, 0], vals[:, 1], comparator, target)
        met_low[:, i, k] = met(vals[:, 0], comparator, target)
        met_high[:, i, k] = met(vals[:, 1], comparator, target)
        read[i, k] = True
    first = rows.drop_duplicates("id").set_index("id")
    dims = ("lever", "target", "year", "draw")
    lever_names = [f.variable for f in levers]
    out = xr.Dataset(
        {
            "value_low": (dims, low, {"long_name": "indicator with the lever at its low"}),
            "value_high": (dims, high, {"long_name": "indicator with the lever at its high"}),
            "effect": (
                dims,
                high - low,
                {"long_name": "effect of the lever: indicator at its high minus at its low"},
            ),
            "helps": (
                dims,
                good,
                {"long_name": "1 if the lever's effect moves the indicator towards the target"},
            ),
            "hurts": (
                dims,
                bad,
                {"long_name": "1 if the lever's effect moves the indicator away from the target"},
            ),
            "met_low": (dims, met_low, {"long_name": "1 if the target is met at the low"}),
            "met_high": (dims, met_high, {"long_name": "1 if the target is met at the high"}),
            "read": (
                ("target", "year"),
                read.astype(np.int8),
                {"long_name": "1 if the target is read in the year (T01 has no 2050 value)"},
            ),
            "drawn": (
                ("draw", "constant"),
                np.asarray(drawn_values, dtype=float),
                {"long_name": "values of the uncertain constants in each draw"},
            ),
        },
        coords={
            "lever": lever_names,
            "target": ids,
            "year": np.array(years, dtype=int),
            "draw": np.arange(n),
            "constant": list(drawn_names),
            "lever_low": ("lever", [float(f.low) for f in levers]),
            "lever_high": ("lever", [float(f.high) for f in levers]),
            "lever_scenario_value": (
                "lever",
                [float(scenario_values[f.variable]) for f in levers],
            ),
            "lever_unit": ("lever", [str(f.unit) for f in levers]),
            "variable": ("target", [str(first.loc[t, "variable"]) for t in ids]),
            "comparator": ("target", [str(first.loc[t, "comparator"]) for t in ids]),
            "target_value": ("target", [float(first.loc[t, "target"]) for t in ids]),
            "unit": ("target", [str(units.get(first.loc[t, "variable"], "")) for t in ids]),
        },
    )
    return out


def effects_table(eff: xr.Dataset) -> pd.DataFrame:
    """The long table: one row per (lever, target, year read).

    Median effect and its 5th and 95th percentiles over the draws (draws with a
    non-finite value left out; ``draws`` counts those kept), the share of all draws in
    which the lever helps and hurts, and the share in which the target is met with
    the lever at its low and at its high; ``rank`` orders the levers of a target and
    year by the size of their median effect (1: largest).
    """
    rows = []
    for i, tid in enumerate(eff["target"].values):
        for k, year in enumerate(eff["year"].values):
            if not eff["read"].values[i, k]:
                continue
            for j, lever in enumerate(eff["lever"].values):
                e = eff["effect"].values[j, i, k]
                ok = e[np.isfinite(e)]
                q = (
                    np.percentile(ok, [50.0, *PERCENTILES])
                    if ok.size
                    else np.full(1 + len(PERCENTILES), np.nan)
                )
                rows.append(
                    {
                        "target": str(tid),
                        "variable": str(eff["variable"].values[i]),
                        "year": int(year),
                        "comparator": str(eff["comparator"].values[i]),
                        "target_value": float(eff["target_value"].values[i]),
                        "unit": str(eff["unit"].values[i]),
                        "lever": str(lever),
                        "lever_unit": str(eff["lever_unit"].values[j]),
                        "lever_low": float(eff["lever_low"].values[j]),
                        "lever_high": float(eff["lever_high"].values[j]),
                        "lever_scenario_value": float(eff["lever_scenario_value"].values[j]),
                        "draws": int(ok.size),
                        "median_effect": float(q[0]),
                        "p05_effect": float(q[1]),
                        "p95_effect": float(q[2]),
                        "share_helps": float(eff["helps"].values[j, i, k].mean()),
                        "share_hurts": float(eff["hurts"].values[j, i, k].mean()),
                        "share_met_low": float(eff["met_low"].values[j, i, k].mean()),
                        "share_met_high": float(eff["met_high"].values[j, i, k].mean()),
                        "median_low": float(np.nanmedian(eff["value_low"].values[j, i, k]))
                        if ok.size
                        else np.nan,
                        "median_high": float(np.nanmedian(eff["value_high"].values[j, i, k]))
                        if ok.size
                        else np.nan,
                    }
                )
    table = pd.DataFrame(rows)
    if table.empty:
        return table.assign(rank=pd.Series(dtype=int))
    size = table["median_effect"].abs().fillna(-1.0)
    table["rank"] = (
        table.assign(_size=size)
        .groupby(["target", "year"], sort=False)["_size"]
        .rank(method="first", ascending=False)
        .astype(int)
    )
    table = table.sort_values(["target", "year", "rank"], kind="stable").reset_index(drop=True)
    first = ["target", "year", "rank", "lever"]
    return table[first + [c for c in table.columns if c not in first]]


def check_years(years: Sequence[int], targets: pd.DataFrame, ids: Sequence[str]) -> list[int]:
    """The years asked for, checked: each a target year of ``ids`` or :data:`LATER_YEAR`."""
    allowed = sorted(
        {int(y) for y in targets.loc[targets["target_id"].isin(ids), "year"]} | {LATER_YEAR}
    )
    unknown = [y for y in years if int(y) not in allowed]
    if unknown:
        raise HatinhInputError(
            f"year {', '.join(str(y) for y in unknown)}: the targets are read in "
            f"{' or '.join(str(y) for y in allowed)}",
            key="--year",
        )
    return sorted(set(int(y) for y in years))


@dataclasses.dataclass
class EffectsSetup:
    """Everything an effects ensemble needs, checked (nothing run, nothing written)."""

    model: Any
    scenario: str
    scenario_title: Any
    n: int
    seed: int
    years: list[int]
    levers: list[Any]
    scenario_values: dict[str, float]
    fixed: dict[str, float]
    drawn_names: list[str]
    drawn_values: np.ndarray
    rows: pd.DataFrame
    how: dict[str, Any]
    posterior_path: Path


def prepare(
    model: Any,
    *,
    scenario: str = "baseline",
    n: int = 200,
    seed: int = 20260301,
    years: Sequence[int] = (2030,),
    levers: Sequence[str] | None = None,
    factors_path: Path | str | None = None,
    posterior_path: Path | str | None = None,
    max_runs: int = 2_000_000,
) -> EffectsSetup:
    """Check the inputs of an effects ensemble and draw its uncertain constants.

    ``levers`` picks levers of the factor table by model name (all by default).
    Raises :class:`HatinhInputError` on an unknown scenario, lever or year, ``n``
    below 2 or too many runs, or a scenario that sets a drawn constant.
    """

    from hatinh_sd.data import load_targets
    from hatinh_sd.factors import load_factors
    from hatinh_sd.posterior import posterior_draws
    from hatinh_sd.scenarios import load_scenario, resolve_scenario
    from hatinh_sd.targets import indicator_variables, plan_targets
    from hatinh_sd.uncertainty import draw_with_posterior

    if n < 2:
        raise HatinhInputError(f"n = {n}: at least 2 draws are needed", key="--n")
    check_seed(seed)
    targets = load_targets()
    ids = [
        t
        for t in plan_targets()
        if t in set(targets["target_id"])
        and targets.set_index("target_id").loc[t, "indicator"] in indicator_variables()
    ]
    years = check_years(list(years), targets, ids)
    factors = load_factors(factors_path, model)
    table_levers = [f for f in factors if f.group == "lever"]
    if levers is not None:
        known = {f.variable: f for f in table_levers}
        unknown = [lv for lv in levers if lv not in known]
        if unknown:
            raise HatinhInputError(
                f"'{unknown[0]}' is not a lever of the factor table"
                + did_you_mean(unknown[0], known),
                key="--levers",
            )
        chosen = [known[lv] for lv in dict.fromkeys(levers)]
    else:
        chosen = table_levers
    if not chosen:
        raise HatinhInputError("no lever to vary", key="--levers")
    runs = 2 * len(chosen) * n
    if runs > max_runs:
        raise HatinhInputError(
            f"{runs:,} runs (2 x {len(chosen)} levers x {n} draws): at most {max_runs:,}",
            key="--n",
        )
    scn = load_scenario(scenario, model=model)
    settings = dict(resolve_scenario(scn, model))
    uncertain = [f for f in factors if f.group == "uncertainty"]
    from hatinh_sd.project import current_project

    post = Path(posterior_path) if posterior_path else current_project().path("posterior")
    draws = posterior_draws(model, post)
    names, values = draw_with_posterior(uncertain, draws, n, seed)
    drawn_py = {model.py_name(x) for x in names}
    clash = [model.real_name(k) for k in settings if k in drawn_py]
    if clash:
        raise HatinhInputError(
            f"scenario '{scn.name}' sets drawn constant(s) {', '.join(clash)}", key="--scenario"
        )
    lever_py = {f.py_name for f in chosen}
    scenario_values = {
        f.variable: float(settings.get(f.py_name, model.defaults[f.variable])) for f in chosen
    }
    fixed = {k: v for k, v in settings.items() if k not in lever_py}
    return EffectsSetup(
        model=model,
        scenario=scn.name,
        scenario_title=scn.title,
        n=n,
        seed=seed,
        years=years,
        levers=chosen,
        scenario_values=scenario_values,
        fixed=fixed,
        drawn_names=list(names),
        drawn_values=values,
        rows=target_rows(targets, ids, years),
        how={
            "draws_method": "posterior",
            "draws_posterior": len(draws),
            "draws_joint": draws.shape[1],
            "draws_other": len(names) - draws.shape[1],
        },
        posterior_path=post,
    )


def run_effects(setup: EffectsSetup, **engine: Any) -> tuple[xr.Dataset, pd.DataFrame]:
    """Run the 2 x levers x draws runs of ``setup`` as one ensemble.

    ``engine`` goes to :func:`hatinh_sd.ensemble.run_ensemble` (``chunk_size``,
    ``backend``, ``workers``, ``store``, ``progress``...). Returns the effects
    (:func:`effects_dataset`, with attributes saying how it was made) and the
    ensemble's bad runs (:func:`hatinh_sd.ensemble.bad_runs`).
    """
    import json

    from hatinh_sd.ensemble import bad_runs, run_ensemble

    model = setup.model
    sample = lever_sample(setup.levers, setup.scenario_values, setup.drawn_values)
    variables = list(dict.fromkeys(setup.rows["variable"]))
    t0 = time.perf_counter()
    ds = run_ensemble(
        sample,
        [f.variable for f in setup.levers] + setup.drawn_names,
        outputs=variables,
        model=model,
        fixed=setup.fixed,
        final_time=float(max(setup.years)),
        seed=setup.seed,
        **engine,
    )
    seconds = time.perf_counter() - t0
    units = {v: model.units(v) for v in variables}
    eff = effects_dataset(
        ds,
        setup.levers,
        setup.rows,
        setup.n,
        drawn_names=setup.drawn_names,
        drawn_values=setup.drawn_values,
        scenario_values=setup.scenario_values,
        units=units,
    )
    eff.attrs = {
        "title": "Lever effects under uncertainty (hatinh-sd effects)",
        "scenario": setup.scenario,
        "seed": int(setup.seed),
        "n_draws": int(setup.n),
        "n_runs": int(sample.shape[0]),
        "effect": "indicator with the lever at the high of its range minus at the low, "
        "the other levers as the scenario sets them",
        "helps": "the effect moves the indicator towards meeting the target: up for > and "
        ">=, down for < and <=, closer to the target value for ~ and =",
        **setup.how,
        "posterior": str(setup.posterior_path.name),
        "fixed_by_scenario": json.dumps(setup.fixed, ensure_ascii=False),
        "model_sha256": model.hash,
        "calibration_sha256": model.calibration_hash or "none",
        "library_versions": ds.attrs.get("library_versions", ""),
        "ensemble_seconds": float(seconds),
    }
    return eff, bad_runs(ds)
