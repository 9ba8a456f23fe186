"""Charts of sensitivity indices: ranked bars, heat maps over time, and grouped indices.

Drawn by ``hatinh-sd sensitivity``; :mod:`hatinh_sd.sensitivity` computes and draws nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hatinh_sd.sensitivity import METHODS, FactorGroup, group_shares, main_index, top_factors

__all__ = [
    "KIND_COLOURS",
    "TASK_GROUP_COLOURS",
    "group_colour",
    "plot_bars",
    "plot_group_bars",
    "plot_group_shares",
    "plot_heatmap",
]


def plot_bars(
    table: pd.DataFrame,
    method: str,
    output: str,
    path: Path,
    *,
    top: int = 15,
    title: str = "",
    xlabel: str = "",
) -> None:
    """Ranked horizontal bars of the main index with its confidence interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = main_index(method)
    conf = f"{key}_conf"
    t = top_factors(table, method, output, top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(t) + 1.5))
    colours = ["#1f77b4" if g == "lever" else "#ff7f0e" for g in t["group"]]
    ax.barh(t["factor"], t[key], xerr=t[conf], color=colours, capsize=3)
    from matplotlib.artist import Artist
    from matplotlib.patches import Patch

    handles: list[Artist] = [
        Patch(color="#1f77b4", label="lever"),
        Patch(color="#ff7f0e", label="uncertainty"),
    ]
    if METHODS[method].first_index != key:  # the first-order index beside the total
        handles.append(
            ax.scatter(t["S1"], t["factor"], color="black", marker="|", s=120, zorder=3, label="S1")
        )
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.set_xlabel(xlabel or key)
    ax.set_title(title or output, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_heatmap(
    table: pd.DataFrame, method: str, output: str, path: Path, *, top: int = 15, title: str = ""
) -> None:
    """Heatmap of first-order indices (Morris: normalised mu*) of an every-year output over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = METHODS[method].first_index
    t = table.loc[table["output"] == output]
    grid = t.pivot_table(index="factor", columns="year", values=key)
    if METHODS[method].normalised:
        grid = grid / grid.max(axis=0).replace(0, np.nan)
    order = grid.mean(axis=1).sort_values(ascending=False).index[:top]
    grid = grid.loc[order]
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(grid) + 1.8))
    im = ax.imshow(grid.values, aspect="auto", cmap="viridis", vmin=0)
    ax.set_yticks(range(len(grid)), grid.index)
    years = [int(y) for y in grid.columns]
    step = max(1, len(years) // 10)
    ax.set_xticks(range(0, len(years), step), [str(y) for y in years[::step]])
    fig.colorbar(im, ax=ax, label="mu* / max mu*" if METHODS[method].normalised else key)
    ax.set_title(title or output, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: Colours of the task groups 1-10 (no grey: grey is for the two other groups).
TASK_GROUP_COLOURS = (
    "#1f77b4",
    "#d62728",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#17becf",
    "#e377c2",
    "#8c564b",
    "#bcbd22",
    "#393b79",
)


KIND_COLOURS = {"calibrated_parameters": "#4d4d4d", "outside_world": "#b0b0b0"}


def group_colour(group: FactorGroup) -> str:
    if group.number is not None:
        return TASK_GROUP_COLOURS[(group.number - 1) % len(TASK_GROUP_COLOURS)]
    return KIND_COLOURS.get(group.kind, "#7f7f7f")


def _wrap(label: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(label, width)) or label


def plot_group_bars(
    table: pd.DataFrame,
    groups: tuple[FactorGroup, ...] | list[FactorGroup],
    output: str,
    path: Path,
    *,
    labels: dict[str, str] | None = None,
    title: str = "",
    xlabel: str = "",
) -> None:
    """Groups ranked by ST with its 95 % interval (| = S1), one bar per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = labels or {g.name: g.name for g in groups}
    by = {g.name: g for g in groups}
    t = table.loc[table["output"] == output].sort_values("ST").copy()
    names = [_wrap(labels.get(n, n), 40) for n in t["group"]]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(t) + 1.6))
    ax.barh(
        names,
        t["ST"],
        xerr=t["ST_conf"],
        color=[group_colour(by[n]) for n in t["group"]],
        capsize=3,
    )
    ax.scatter(t["S1"], names, color="black", marker="|", s=160, zorder=3, label="S1")
    ax.legend(loc="lower right", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel(xlabel or "ST")
    ax.set_title(title or output, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_group_shares(
    table: pd.DataFrame,
    groups: tuple[FactorGroup, ...] | list[FactorGroup],
    bars: list[tuple[str, int | None, str]],
    path: Path,
    *,
    labels: dict[str, str] | None = None,
    title: str = "",
    s1_title: str = "S1",
    st_title: str = "ST / sum ST",
    interactions: str = "interactions",
    ylabel: str = "",
) -> None:
    """Stacked bars of the groups' shares of an output's variance.

    ``bars`` are (output, year, bar label): one bar each, in two panels: the
    first-order indices with the interaction remainder on top (:func:`group_shares`),
    and the total-order indices normalised to sum to 1. A bar of an output that
    does not vary in that year (every index 0, e.g. an average from 2021 before 2021)
    is left out.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    labels = labels or {g.name: g.name for g in groups}
    shares = []
    for output, year, _ in bars:
        rows = table.loc[table["output"] == output]
        if year is not None:
            rows = rows.loc[rows["year"] == year]
        shares.append(group_shares(rows))
    kept = [i for i, sh in enumerate(shares) if sh[2].sum() > 0]
    bars, shares = [bars[i] for i in kept], [shares[i] for i in kept]
    xs = np.arange(len(bars))
    width = max(10.0, 0.8 * len(bars) + 5)
    right = 1 - 3.9 / width  # the legend takes about 3.9 inches on the right
    fig, axes = plt.subplots(1, 2, figsize=(width, 6.2), sharey=True, squeeze=False)
    panels = (
        (axes[0, 0], [sh[0] for sh in shares], s1_title, True),
        (axes[0, 1], [sh[2] for sh in shares], st_title, False),
    )
    for ax, part, head, first_order in panels:
        bottom = np.zeros(len(bars))
        for g in groups:
            h = np.array([float(p.get(g.name, 0.0)) for p in part])
            ax.bar(xs, h, bottom=bottom, color=group_colour(g), width=0.7, edgecolor="white")
            bottom += h
        if first_order:
            rest = np.array([sh[1] for sh in shares])
            ax.bar(
                xs, rest, bottom=bottom, color="white", hatch="///", edgecolor="#999999", width=0.7
            )
        ax.set_xticks(xs, [b[2] for b in bars], rotation=45 if len(bars) > 6 else 0)
        ax.set_ylim(0, 1.0)
        ax.set_title(head, fontsize=9)
    axes[0, 0].set_ylabel(ylabel)
    handles = [
        Patch(color=group_colour(g), label=_wrap(labels.get(g.name, g.name))) for g in groups
    ]
    handles.append(
        Patch(facecolor="white", hatch="///", edgecolor="#999999", label=_wrap(interactions))
    )
    fig.legend(
        handles=handles[::-1],
        loc="center left",
        bbox_to_anchor=(right + 0.01, 0.5),
        fontsize=7,
        frameon=False,
    )
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, right, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)
