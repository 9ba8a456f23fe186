"""Uncertainty bands and the probability of meeting the plan's targets.

Each run draws the fitted parameters and the uncertain constants that history
informs jointly, as one draw of the committed posterior (``model/posterior.nc``,
``hatinh-sd calibrate --posterior``), and the other uncertain constants of the
factor table (group ``uncertainty``) by Latin hypercube sampling (seeded) through
their own distributions, not narrowed. The scenario's levers are held fixed. The
ensemble gives, for every target indicator, percentile bands over time, the share
of runs that meet each target, and the share of runs that reproduce history
(the calibration setup's ``history_checks``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.results import fingerprint

if TYPE_CHECKING:
    from hatinh_sd.calibration import HistoryCheck

__all__ = [
    "ScenarioEnsemble",
    "analyse_scenario",
    "target_variables",
    "PERCENTILES",
    "describe_draws",
    "describe_deviations",
    "draw_with_posterior",
    "draw_uncertainties",
    "history_consistency",
    "history_observations",
    "check_labels",
    "percentile_bands",
    "probabilities",
    "probability_rows",
    "scenario_overrides",
    "TargetProbability",
]

PERCENTILES = (5, 25, 50, 75, 95)


def scenario_overrides(name: str, model: Any) -> tuple[str, dict[str, float]]:
    """A scenario's checked name and the constants it sets (model name -> value).

    ``name`` is a scenario of ``scenarios/`` or a YAML path; the returned name
    is the file's stem, checked to be a safe folder name.
    """
    from hatinh_sd import scenarios

    scn = scenarios.load_scenario(name, model=model)
    return scn.name, dict(scenarios.resolve_scenario(scn, model))


def draw_uncertainties(factors: list[Any], n: int, seed: int) -> np.ndarray:
    """Latin hypercube draw of ``n`` sets of ``factors`` (values in their units)."""
    from scipy.stats import qmc

    from hatinh_sd.factors import to_values

    if n < 2:
        raise HatinhInputError(f"n = {n}: at least 2 runs are needed", key="--n")
    u = qmc.LatinHypercube(d=len(factors), seed=np.random.default_rng(seed)).random(n)
    return to_values(factors, u)


def draw_with_posterior(
    factors: list[Any],
    draws: pd.DataFrame,
    n: int,
    seed: int,
) -> tuple[list[str], np.ndarray]:
    """``n`` runs: posterior draws (jointly) plus Latin hypercube draws of the rest.

    ``draws`` is :func:`hatinh_sd.posterior.posterior_draws` (draw x parameter). The
    runs use the draws in a seeded random order, each equally often (to within one);
    the uncertain ``factors`` the posterior does not hold are drawn by Latin
    hypercube through their own distributions. Returns the constants' model names
    (the posterior's columns, then the other factors) and the values (runs x names).
    """
    if n < 2:
        raise HatinhInputError(f"n = {n}: at least 2 runs are needed", key="--n")
    if draws.empty:
        raise HatinhInputError("the posterior holds no draws", key="draws")
    rng = np.random.default_rng(seed)
    k = len(draws)
    order = np.concatenate([rng.permutation(k) for _ in range(-(-n // k))])[:n]
    post = draws.to_numpy(dtype=float)[order]
    rest = [f for f in factors if f.variable not in set(draws.columns)]
    names = list(draws.columns) + [f.variable for f in rest]
    if rest:
        post = np.hstack([post, draw_uncertainties(rest, n, seed)])
    return names, post


def history_observations(
    observed: pd.DataFrame | None = None, checks: Sequence[HistoryCheck] | None = None
) -> pd.DataFrame:
    """The observed values of the history ``checks`` (the project's calibration setup's
    ``history_checks`` by default; none for a project without a setup): the mean of a
    year's rows, status R first."""
    from hatinh_sd.data import load_observed

    if checks is None:
        from hatinh_sd.calibration import project_setup
        from hatinh_sd.model import load_model

        setup = project_setup(load_model())
        checks = setup.history_checks if setup else ()
    observed = load_observed() if observed is None else observed
    rows = []
    for c in checks:
        sel = observed[(observed["indicator"] == c.indicator) & (observed["year"] == c.year)]
        if (sel["status"] == "R").any():
            sel = sel[sel["status"] == "R"]
        if sel.empty:
            raise HatinhInputError(
                f"no observation of '{c.indicator}' in {c.year} for the history check",
                key=c.indicator,
            )
        rows.append(
            {
                "variable": c.variable,
                "indicator": c.indicator,
                "year": c.year,
                "observed": float(sel["value"].astype(float).mean()),
                "error": c.error,
                "tolerance": c.tolerance,
            }
        )
    columns = ["variable", "indicator", "year", "observed", "error", "tolerance"]
    return pd.DataFrame(rows, columns=columns)


class _HistoryCheck(Protocol):
    """A row of :func:`history_observations` as ``DataFrame.itertuples`` gives it."""

    variable: str
    indicator: str
    year: int
    observed: float
    error: str
    tolerance: float


def history_consistency(ds: xr.Dataset, checks: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Which runs reproduce history: a mask over samples, and per check the share of runs
    meeting it and how far the runs are from the statistic.

    Uses the calendar-year means (``<variable>_annual``, as the statistics are annual
    totals and averages) where the ensemble has them, else the mid-year values. The
    deviation (model minus statistic, in % of the statistic or in points, as the check's
    tolerance) is summarised over the finite runs by its median and its 5th and 95th
    percentiles: a median far from 0 means the runs are biased, a wide 5-95 range that
    they are spread, which tells why runs fail a check.
    """
    from hatinh_sd.ensemble import ANNUAL_SUFFIX

    ok_all = np.ones(ds.sizes["sample"], dtype=bool)
    rows = []
    for c in cast("Iterator[_HistoryCheck]", checks.itertuples()):
        annual = f"{c.variable}{ANNUAL_SUFFIX}"
        vals = ds[annual if annual in ds else c.variable].sel(time=c.year).values
        relative = c.error == "relative"
        dev = vals / c.observed - 1 if relative else vals - c.observed
        ok = np.isfinite(dev) & (np.abs(dev) <= c.tolerance)
        ok_all &= ok
        unit = "%" if relative else " points"
        scale = 100 if relative else 1
        finite = dev[np.isfinite(dev)] * scale
        p05, median, p95 = np.percentile(finite, [5, 50, 95]) if finite.size else (np.nan,) * 3
        rows.append(
            {
                "check": f"{c.variable} {c.year} within {c.tolerance * scale:g}{unit} "
                f"of {c.observed:g}",
                "share": float(ok.mean()),
                "variable": c.variable,
                "year": int(c.year),
                "unit": unit.strip(),
                "deviation_median": float(median),
                "deviation_p05": float(p05),
                "deviation_p95": float(p95),
            }
        )
    # without checks (a project with no history to reproduce) the share is undefined
    rows.append({"check": "all", "share": float(ok_all.mean()) if rows else float("nan")})
    columns = ["check", "share", "variable", "year", "unit"]
    columns += ["deviation_median", "deviation_p05", "deviation_p95"]
    return ok_all, pd.DataFrame(rows, columns=columns)


def check_labels(checks: Sequence[Mapping[str, Any]], model: Any, lang: str = "en") -> str:
    """The history checks (rows of :func:`history_observations`, or the ``history_checks``
    attribute of ``bands.nc``) in words, in ``lang``: "GRDP 2021 within 5 %; ..."."""
    from hatinh_sd.i18n import number, text

    parts = []
    for c in checks:
        relative = c["error"] == "relative"
        tol = float(c["tolerance"]) * (100 if relative else 1)
        parts.append(
            text(
                "uncertainty.check_relative" if relative else "uncertainty.check_points",
                lang,
                variable=_variable_label(str(c["variable"]), model, lang),
                year=int(c["year"]),
                tolerance=number(tol, lang, significant=3),
            )
        )
    return "; ".join(parts)


def _variable_label(variable: str, model: Any, lang: str) -> str:
    from hatinh_sd.vocabulary import label

    try:
        return label(model.real_name(variable), lang)
    except KeyError:
        return variable


def describe_deviations(history: Sequence[Mapping[Any, Any]], model: Any, lang: str = "en") -> str:
    """How far the runs are from each history check's statistic, in ``lang``: "GRDP 2021:
    median deviation +1.4 %, 90 % of runs between -3.3 and +5.8 %; ..." (rows of the table
    of :func:`history_consistency`, or the ``history_deviations`` attribute of ``bands.nc``)."""
    from hatinh_sd.i18n import number, text

    def signed(value: float | None) -> str:  # a dash for a missing value
        return ("+" if value is not None and value > 0 else "") + number(value, lang, digits=1)

    parts = []
    for r in history:
        median = r.get("deviation_median")
        if r.get("check") == "all" or median is None or not np.isfinite(float(median)):
            continue
        parts.append(
            text(
                "uncertainty.deviation_relative"
                if r["unit"] == "%"
                else "uncertainty.deviation_points",
                lang,
                variable=_variable_label(str(r["variable"]), model, lang),
                year=int(r["year"]),
                median=signed(float(median)),
                low=signed(r["deviation_p05"]),
                high=signed(r["deviation_p95"]),
            )
        )
    return "; ".join(parts)


def describe_draws(attrs: dict[str, Any], lang: str = "en") -> str:
    """One sentence on how an ensemble's runs were drawn (from ``bands.nc`` attributes)."""
    from hatinh_sd.i18n import text

    if attrs.get("draws_method") == "posterior":
        return text(
            "uncertainty.how_posterior",
            lang,
            draws=int(attrs["draws_posterior"]),
            joint=int(attrs["draws_joint"]),
            rest=int(attrs["draws_other"]),
        )
    if attrs.get("draws_method") == "independent":
        return text("uncertainty.how_independent", lang, factors=int(attrs["draws_other"]))
    return text("uncertainty.how_unknown", lang)


def percentile_bands(ds: xr.Dataset, variables: list[str]) -> xr.Dataset:
    """Percentiles :data:`PERCENTILES` over samples of each variable, by time."""
    q = np.array(PERCENTILES, dtype=float)
    out = {}
    for v in variables:
        vals = ds[v].transpose("sample", "time").values
        out[v] = xr.DataArray(
            np.percentile(vals, q, axis=0),
            dims=("percentile", "time"),
            coords={"percentile": q, "time": ds["time"].values},
            attrs=ds[v].attrs,
        )
    return xr.Dataset(out)


def probabilities(
    ds: xr.Dataset,
    targets: pd.DataFrame,
    ids: list[str],
) -> pd.DataFrame:
    """Share of runs that meet each target in its year.

    A run with a non-finite value counts as not meeting the target
    (:func:`hatinh_sd.targets.met` says so); such runs are reported separately.
    """
    from hatinh_sd.targets import met as target_met

    rows = []
    for tid in ids:
        t = targets.loc[targets["target_id"] == tid].iloc[0]
        var = str(t["variable"])
        year = int(t["year"])
        vals = ds[var].sel(time=year).values
        met = target_met(vals, t["comparator"], float(t["value"]))
        rows.append(
            {
                "id": tid,
                "indicator": t["indicator"],
                "variable": var,
                "year": year,
                "comparator": t["comparator"],
                "target": float(t["value"]),
                "runs": int(len(vals)),
                "runs_meeting": int(met.sum()),
                "probability": float(met.mean()),
                "median": float(np.median(vals)),
                "p05": float(np.percentile(vals, 5)),
                "p95": float(np.percentile(vals, 95)),
            }
        )
    return pd.DataFrame(rows)


class TargetProbability(Protocol):
    """A row of :func:`probabilities` as ``DataFrame.itertuples`` gives it."""

    id: str
    indicator: str
    variable: str
    year: int
    comparator: str
    target: float
    runs: int
    runs_meeting: int
    probability: float
    median: float
    p05: float
    p95: float


def probability_rows(prob: pd.DataFrame) -> Iterator[TargetProbability]:
    """``prob.itertuples()`` for a table of :func:`probabilities`, typed."""
    return cast("Iterator[TargetProbability]", prob.itertuples())


def target_variables(targets: pd.DataFrame, ids: Sequence[str]) -> list[str]:
    """The model variables of targets ``ids`` (each once, in the targets' order)."""
    variable = targets.drop_duplicates("target_id").set_index("target_id")["variable"]
    return list(dict.fromkeys(str(variable.loc[tid]) for tid in ids))


@dataclasses.dataclass
class ScenarioEnsemble:
    """One scenario's uncertainty ensemble, analysed (:func:`analyse_scenario`)."""

    runs: xr.Dataset  #: every run: drawn constants (``sample`` coordinates) and outputs
    bad: pd.DataFrame  #: runs with NaN, infinite values or negative stocks
    consistent: np.ndarray  #: per run, whether it reproduces history (``checks``)
    history: pd.DataFrame  #: the share of runs passing each history check, and all of them
    bands: xr.Dataset  #: percentile bands of the target variables, with provenance
    probabilities: pd.DataFrame  #: the share of runs meeting each target (:func:`probabilities`)

    @property
    def history_share(self) -> float:
        """The share of runs that pass every history check."""
        return float(self.history["share"].iloc[-1])


def analyse_scenario(
    model: Any,
    name: str,
    names: list[str],
    values: np.ndarray,
    fixed: Mapping[str, float],
    targets: pd.DataFrame,
    ids: Sequence[str],
    checks: pd.DataFrame,
    *,
    seed: int,
    how: Mapping[str, Any],
    **engine: Any,
) -> ScenarioEnsemble:
    """Run scenario ``name`` (its settings ``fixed``) over the drawn constants ``names`` x
    ``values`` (:func:`draw_with_posterior` or :func:`draw_uncertainties`, described by
    ``how``) as one vectorised ensemble (:func:`hatinh_sd.ensemble.run_ensemble`, with
    ``engine``'s options), then the history checks, the bands of the target variables and
    the probability of meeting each target of ``ids``."""
    from hatinh_sd.ensemble import bad_runs, run_ensemble

    variables = target_variables(targets, ids)
    ds = run_ensemble(
        values,
        names,
        outputs=variables,
        annual=list(dict.fromkeys(checks["variable"])),
        model=model,
        fixed=dict(fixed),
        seed=seed,
        **engine,
    )
    consistent, history = history_consistency(ds, checks)
    bands = percentile_bands(ds, variables)
    result = ScenarioEnsemble(
        ds, bad_runs(ds), consistent, history, bands, probabilities(ds, targets, list(ids))
    )
    bands.attrs = {
        "scenario": name,
        "seed": int(seed),
        "n_runs": int(values.shape[0]),
        "uncertainties": json.dumps(names, ensure_ascii=False),
        "fixed_by_scenario": json.dumps(dict(fixed), ensure_ascii=False),
        **fingerprint(model),
        "library_versions": ds.attrs["library_versions"],
        **how,
        "history_consistent_share": result.history_share,
        "history_checks": json.dumps(checks.to_dict("records")),
        # per check: the share of runs passing it and the runs' deviation (median, 5-95 %)
        "history_deviations": json.dumps(
            [
                {
                    k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                    for k, v in r.items()
                }
                for r in history[history["check"] != "all"].to_dict("records")
            ],
            ensure_ascii=False,
        ),
    }
    return result
