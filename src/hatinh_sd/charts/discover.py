"""The chart of scenario discovery: coverage against density along the peeling trajectories
(drawn by ``hatinh-sd discover``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["plot_tradeoff"]


def plot_tradeoff(
    trajectories: pd.DataFrame,
    path: Any,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    box_label: str,
    colour_label: str,
    threshold: float,
) -> None:
    """Coverage against density along each peeling trajectory; the chosen boxes circled.

    ``box_label`` is formatted with ``{number}``; the colour of a point is the
    number of restricted inputs (``colour_label``); the dotted line is the threshold.
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    markers = "osD^v"
    scatter = None
    handles = []
    vmax = max(1, int(trajectories["res_dim"].max())) if len(trajectories) else 1
    for i, (number, traj) in enumerate(trajectories.groupby("box", sort=True)):
        marker = markers[i % len(markers)]
        ax.plot(100 * traj["coverage"], 100 * traj["density"], color="0.75", lw=0.8, zorder=1)
        scatter = ax.scatter(
            100 * traj["coverage"],
            100 * traj["density"],
            c=traj["res_dim"],
            cmap="viridis",
            vmin=0,
            vmax=vmax,
            s=18,
            marker=marker,
            zorder=2,
        )
        handles.append(
            Line2D([], [], ls="", marker=marker, color="0.4", label=box_label.format(number=number))
        )
        chosen = traj[traj["chosen"].astype(bool)]
        ax.scatter(
            100 * chosen["coverage"],
            100 * chosen["density"],
            s=180,
            facecolors="none",
            edgecolors="red",
            linewidths=1.5,
            zorder=3,
        )
    ax.axhline(100 * threshold, color="red", ls=":", lw=1)
    ax.set_xlim(0, 102)
    ax.set_ylim(0, 102)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(textwrap.fill(title, 80), fontsize=9)
    if scatter is not None:
        bar = fig.colorbar(scatter, ax=ax)
        bar.set_label(colour_label)
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
        ax.legend(handles=handles, fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
