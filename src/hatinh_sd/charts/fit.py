"""Fitted against observed, one calibration series per chart (the report and the validation
dossier draw the same chart).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.i18n import text
from hatinh_sd.vocabulary import unit

__all__ = ["FIT_CHART_END", "fit_figure"]


#: Last calendar year of the fitted-vs-observed charts.
FIT_CHART_END = 2026.0


def fit_figure(
    setup, obs: pd.DataFrame, values: np.ndarray, ds: xr.Dataset, indicator: str, lang: str
):
    """Fitted against observed for one calibration series (a matplotlib Figure).

    ``obs`` and ``values`` are :func:`hatinh_sd.calibration.model_fit`'s
    output, ``ds`` a run at :func:`hatinh_sd.calibration.fine_times`. Levels
    and means are drawn as the model's line (calendar time, mid-year + 0.5);
    growth rates and cumulative sums as the model's values beside the
    observed points. Observed points are marked by status (R, D, E); points
    left out of the fit are grey crosses. The title names the source keys.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hatinh_sd.calibration import DERIVED

    spec = setup.series[indicator]
    rows = obs[obs.indicator == indicator]
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    if spec.kind in ("mean", "end"):
        da = DERIVED[spec.variable](ds) if spec.variable in DERIVED else ds[spec.variable]
        t_cal = ds["time"].values + 0.5
        seen = t_cal <= FIT_CHART_END  # history only: the y axis follows the data
        ax.plot(
            t_cal[seen],
            da.values[seen] * spec.factor,
            color="#1f5fa8",
            lw=1.8,
            label=text("report.fit.model", lang, variable=spec.variable),
        )
    pos = obs.index.get_indexer(rows.index)
    used = rows["used"].to_numpy()
    t = rows["year"].to_numpy() + (rows["t0"].to_numpy() + rows["t1"].to_numpy()) / 2 + 0.5
    t = t - rows["year"].to_numpy()
    for status, marker in (("R", "o"), ("D", "s"), ("E", "^")):
        sel = used & (rows["status"].to_numpy() == status)
        if sel.any():
            ax.scatter(
                t[sel],
                rows["observed"].to_numpy()[sel],
                marker=marker,
                color="#c0392b",
                zorder=3,
                label=text("report.fit.observed", lang, status=status),
            )
    if (~used).any():
        ax.scatter(
            t[~used],
            rows["observed"].to_numpy()[~used],
            marker="x",
            color="grey",
            zorder=3,
            label=text("report.fit.not_used", lang),
        )
    if spec.kind in ("growth", "cumulative"):
        ax.scatter(
            t[used],
            values[pos][used],
            marker="D",
            color="#1f5fa8",
            zorder=3,
            label=text("report.fit.model_points", lang),
        )
    sources = ", ".join(sorted(set(rows["source"])))
    ax.set_title(
        f"{text(f'series.{indicator}', lang)} [{unit(rows['unit'].iloc[0], lang)}]\n"
        f"{text('report.fit.sources', lang, sources=sources)}",
        fontsize=9,
    )
    ax.set_xlabel(text("chart.year", lang), fontsize=8)
    ax.set_xlim(2009, FIT_CHART_END)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig
