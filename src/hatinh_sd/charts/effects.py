"""Charts of the levers' effects on the targets (drawn by ``hatinh-sd effects``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_effects", "plot_helps"]


def plot_effects(
    table: pd.DataFrame,
    path: Any,
    *,
    year: int,
    target_titles: Mapping[str, str],
    lever_labels: Mapping[str, str],
    axis_labels: Mapping[str, str],
    title: str,
    top: int = 8,
) -> None:
    """Per target, the ``top`` levers by size of median effect in ``year``: the median
    (bar) and the 90 % interval (error bar), the largest at the top."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = table[table["year"] == year]
    ids = list(dict.fromkeys(sel["target"]))
    ncol = 3
    nrow = max(1, -(-len(ids) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(16, 3.0 * nrow + 0.8), squeeze=False)
    for ax, tid in zip(axes.flat, ids):
        t = sel[sel["target"] == tid].sort_values("rank").head(top)[::-1]
        med = t["median_effect"].to_numpy(float)
        err = np.vstack(
            [
                np.clip(med - t["p05_effect"].to_numpy(float), 0, None),
                np.clip(t["p95_effect"].to_numpy(float) - med, 0, None),
            ]
        )
        colours = [
            "#2171b5" if h >= 0.5 else "#cb181d" if u >= 0.5 else "#969696"
            for h, u in zip(t["share_helps"], t["share_hurts"])
        ]
        names = [
            textwrap.shorten(lever_labels.get(lv, lv), 38, placeholder="…") for lv in t["lever"]
        ]
        ax.barh(names, med, xerr=err, color=colours, ecolor="0.2", capsize=2)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_title(textwrap.shorten(target_titles.get(tid, tid), 60, placeholder="…"), fontsize=9)
        ax.set_xlabel(axis_labels.get(tid, ""), fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(ids) :]:
        ax.axis("off")
    fig.suptitle(textwrap.fill(title, 150), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_helps(
    table: pd.DataFrame,
    path: Any,
    *,
    year: int,
    target_labels: Mapping[str, str],
    lever_labels: Mapping[str, str],
    title: str,
    colour_label: str,
) -> None:
    """Heat map (lever x target) of the share of draws in which the lever helps minus
    the share in which it hurts, in ``year``; levers with no effect anywhere left out."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = table[table["year"] == year]
    net = sel.assign(net=100 * (sel["share_helps"] - sel["share_hurts"])).pivot(
        index="lever", columns="target", values="net"
    )
    moved = sel.groupby("lever")[["share_helps", "share_hurts"]].sum().sum(axis=1) > 0
    order = [lv for lv in dict.fromkeys(sel["lever"]) if moved.get(lv, False)]
    net = net.loc[order] if order else net.iloc[:0]
    fig, ax = plt.subplots(figsize=(2.2 + 0.55 * max(1, net.shape[1]), 1.5 + 0.24 * len(net)))
    image = ax.imshow(net.to_numpy(float), cmap="RdBu", vmin=-100, vmax=100, aspect="auto")
    ax.set_yticks(range(len(net)))
    ax.set_yticklabels(
        [textwrap.shorten(lever_labels.get(lv, lv), 45, placeholder="…") for lv in net.index],
        fontsize=7,
    )
    ax.set_xticks(range(net.shape[1]))
    ax.set_xticklabels([target_labels.get(t, t) for t in net.columns], fontsize=8)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(colour_label, fontsize=8)
    ax.set_title(textwrap.fill(title, 70), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
