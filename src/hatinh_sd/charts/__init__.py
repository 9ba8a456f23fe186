"""Charts of the target indicators over 2010-2050 for several scenarios.

One figure per target T01-T12: a line per scenario, the observed history as
points (where ``model/data/observed.csv`` has the indicator, or the urban and
total population for the urbanisation rate), and the target as a marker at its
year with its comparator. Labels come from the locale files (Vietnamese or
English). Written as PNG and SVG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from hatinh_sd.i18n import number, text  # noqa: E402
from hatinh_sd.targets import (  # noqa: E402
    indicator_series,
    observed_series,
    plan_targets,
    target_label,
)

__all__ = ["png_base64", "target_figure", "write_charts"]

#: Unit label key (locale ``unit.*``) of each target's unit in targets.csv.
_UNIT_KEYS = {
    "% per year": "unit.percent_per_year",
    "million VND": "unit.million_vnd",
    "ratio": "unit.ratio",
    "students per 10000 people": "unit.per10000",
}


def unit_label(unit: object, lang: str) -> str:
    """A unit of ``targets.csv`` as charts and tables label it in ``lang``: the catalogue's
    words for the plan's units, ``%`` for a percentage, else the project's translation."""
    from hatinh_sd.vocabulary import unit as translated

    u = str(unit)
    if u in _UNIT_KEYS:
        return text(_UNIT_KEYS[u], lang)
    if u.startswith("%"):
        return text("unit.percent", lang)
    return translated(u, lang)


def png_base64(fig, *, dpi: int = 100, tight: bool = False) -> str:
    """The figure as a base64 PNG (for ``data:`` URLs in HTML pages); closes the figure."""
    import base64
    import io

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    finally:
        plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


_COLOURS = ["#333333", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]


def target_figure(
    runs: Mapping[str, xr.Dataset],
    target_id: str,
    *,
    lang: str = "en",
    targets: pd.DataFrame,
    observed: pd.DataFrame,
    titles: Mapping[str, str] | None = None,
) -> plt.Figure:
    """Figure of target ``target_id``'s indicator for every scenario in ``runs``
    (legend: ``titles`` of the scenarios where given, else their names)."""
    t = targets.loc[targets["target_id"] == target_id].iloc[0]
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    for i, (name, ds) in enumerate(runs.items()):
        da = indicator_series(ds, t["indicator"])
        ax.plot(
            ds["time"].values,
            da.values,
            color=_COLOURS[i % len(_COLOURS)],
            lw=1.8,
            # the first scenario (the reference) is dashed and on top, so that
            # it stays visible where another scenario coincides with it
            ls=(0, (5, 3)) if i == 0 else ("-" if i < len(_COLOURS) else ":"),
            label=(titles or {}).get(name, name),
            zorder=4 if i == 0 else 3,
        )
    obs = observed_series(observed, t["indicator"])
    if not obs.empty:
        ax.scatter(
            obs["time"],
            obs["value"],
            s=36,
            marker="o",
            facecolor="white",
            edgecolor="black",
            linewidth=1.4,
            zorder=5,
            label=text("chart.observed", lang),
        )
    value = float(t["value"])
    comparator = str(t["comparator"])
    year = int(t["year"])
    ax.scatter(
        [year],
        [value],
        s=160,
        marker="*",
        color="#e6a700",
        edgecolor="black",
        zorder=6,
        label=text(
            "chart.target", lang, comparator=comparator, value=number(value, lang), year=year
        ),
    )
    if comparator == "~":
        ax.errorbar(
            [year],
            [value],
            yerr=[[0.1 * value], [0.1 * value]],
            color="#e6a700",
            capsize=6,
            lw=1.5,
            zorder=5,
        )
    ax.axvline(year, color="#bbbbbb", lw=0.8, ls=":", zorder=1)
    ax.axvspan(ax.get_xlim()[0], 2025.5, color="#f2f2f2", zorder=0)
    ax.set_xlim(min(2008, float(obs["time"].min()) - 1 if not obs.empty else 2008), 2051)
    ax.set_title(f"{target_id}: {target_label(target_id, lang)}", fontsize=12)
    label = unit_label(t["unit"], lang)
    if _UNIT_KEYS.get(str(t["unit"])) == "unit.million_vnd":
        # current-price values grow ~40-fold by 2050: a log scale keeps history and target legible
        ax.set_yscale("log")
        label = f"{label} ({text('chart.log_scale', lang)})"
    ax.set_ylabel(label)
    # tick labels as the language writes numbers (vi: 1.729,4); years stay plain
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, lang)))
    if ax.get_yscale() == "log":  # label the minor ticks at 2 and 5 of each decade

        def minor(v: float, _pos: object) -> str:
            lead = v / 10 ** math.floor(math.log10(v)) if v > 0 else 0
            return number(v, lang) if round(lead, 6) in (2.0, 5.0) else ""

        ax.yaxis.set_minor_formatter(FuncFormatter(minor))
    ax.set_xlabel(text("chart.year", lang))
    ax.grid(True, color="#e0e0e0", lw=0.6)
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    fig.text(0.01, 0.01, text("chart.footer", lang), fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def write_charts(
    runs: Mapping[str, xr.Dataset],
    folder: Path | str,
    *,
    lang: str = "en",
    targets: pd.DataFrame | None = None,
    observed: pd.DataFrame | None = None,
    ids: list[str] | None = None,
) -> list[Path]:
    """Write ``<id>.png`` and ``<id>.svg`` for every target into ``folder``; return the PNG paths."""
    from hatinh_sd.data import load_observed, load_targets

    targets = load_targets() if targets is None else targets
    observed = load_observed() if observed is None else observed
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for tid in ids or plan_targets():
        fig = target_figure(runs, tid, lang=lang, targets=targets, observed=observed)
        try:
            fig.savefig(folder / f"{tid}.png")
            fig.savefig(folder / f"{tid}.svg")
        finally:
            plt.close(fig)
        paths.append(folder / f"{tid}.png")
    return paths
