"""Charts of an uncertainty ensemble: fan charts of the target variables and the probability
of meeting each target (drawn by ``hatinh-sd uncertainty``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import xarray as xr

from hatinh_sd.uncertainty import probability_rows

__all__ = ["plot_bands", "plot_probabilities"]


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

    names = [str(v) for v in bands.data_vars]
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
    names = [f"{r.id} {labels.get(r.id, r.indicator)}"[:60] for r in probability_rows(prob)]
    ax.barh(names[::-1], prob["probability"].to_numpy()[::-1] * 100, color="#2171b5")
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
