"""Uncertainty bands and the probability of meeting the plan's targets.

The uncertainties of the factor table (group ``uncertainty``) are drawn by
Latin hypercube sampling (seeded) through each factor's distribution; the
scenario's levers are held fixed. The ensemble gives, for every target
indicator, percentile bands over time and the share of runs that meet each
2030 target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.errors import HatinhInputError

__all__ = [
    "PERCENTILES",
    "draw_uncertainties",
    "percentile_bands",
    "probabilities",
    "scenario_overrides",
]

PERCENTILES = (5, 25, 50, 75, 95)


def scenario_overrides(name: str, model: Any) -> dict[str, float]:
    """Constants a scenario sets (model name -> value).

    Uses :mod:`hatinh_sd.scenarios` (``load_scenario`` and
    ``resolve_scenario``) when it is installed; without it only ``baseline``
    (the model's defaults, no overrides) is known.
    """
    try:
        from hatinh_sd import scenarios
    except ImportError:  # pragma: no cover - the scenarios module is part of the package now
        if name != "baseline":
            raise HatinhInputError(
                f"unknown scenario '{name}'; available: baseline", key="--scenario"
            ) from None
        return {}
    scn = scenarios.load_scenario(name, model=model)
    return dict(scenarios.resolve_scenario(scn, model))


def draw_uncertainties(factors: list[Any], n: int, seed: int) -> np.ndarray:
    """Latin hypercube draw of ``n`` sets of ``factors`` (values in their units)."""
    from scipy.stats import qmc

    from hatinh_sd.factors import to_values

    if n < 2:
        raise HatinhInputError(f"n = {n}: at least 2 runs are needed", key="--n")
    u = qmc.LatinHypercube(d=len(factors), seed=np.random.default_rng(seed)).random(n)
    return to_values(factors, u)


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
    is_met: Callable[[float, str, float], bool],
) -> pd.DataFrame:
    """Share of runs that meet each target in its year.

    A run with a non-finite value counts as not meeting the target
    (``is_met`` says so); such runs are reported separately.
    """
    from hatinh_sd.targets import INDICATOR_VARIABLES

    rows = []
    for tid in ids:
        t = targets.loc[targets["target_id"] == tid].iloc[0]
        var = INDICATOR_VARIABLES[t["indicator"]]
        year = int(t["year"])
        vals = ds[var].sel(time=year).values
        met = np.array([is_met(float(v), t["comparator"], float(t["value"])) for v in vals])
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


def plot_bands(
    bands: xr.Dataset,
    labels: dict[str, str],
    path: Any,
    *,
    year_label: str,
    targets: dict[str, tuple[int, float]] | None = None,
) -> None:
    """Fan charts (5-95 %, 25-75 %, median) of every variable in one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(bands.data_vars)
    ncol = 3
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(13, 3.1 * nrow), squeeze=False)
    t = bands["time"].values
    for ax, v in zip(axes.flat, names):
        b = bands[v]
        ax.fill_between(
            t, b.sel(percentile=5), b.sel(percentile=95), color="#9ecae1", label="5-95 %"
        )
        ax.fill_between(
            t, b.sel(percentile=25), b.sel(percentile=75), color="#4292c6", label="25-75 %"
        )
        ax.plot(t, b.sel(percentile=50), color="#08306b", label="50 %")
        if targets and v in targets:
            yr, val = targets[v]
            ax.plot([yr], [val], marker="*", color="red", markersize=10)
        ax.set_title(labels.get(v, v), fontsize=9)
        ax.set_xlabel(year_label, fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_probabilities(
    prob: pd.DataFrame, labels: dict[str, str], path: Any, *, title: str
) -> None:
    """Bars of the probability of meeting each target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.4 * len(prob) + 1.5))
    names = [f"{r.id} {labels.get(r.id, r.indicator)}"[:60] for r in prob.itertuples()]
    ax.barh(names[::-1], prob["probability"].values[::-1] * 100, color="#2171b5")
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
