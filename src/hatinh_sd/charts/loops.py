"""The chart of loop dominance: each focus variable's leading loops' scores over time
(drawn by ``hatinh-sd loops``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

__all__ = ["plot_loop_scores"]


def plot_loop_scores(
    panels: Sequence[tuple[str, Mapping[str, pd.Series]]],
    path: Path,
    *,
    xlabel: str,
    ylabel: str,
) -> None:
    """One panel per (title, {loop label: scores over time}), stacked, sharing the time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, 3.2 * len(panels)), sharex=True, squeeze=False
    )
    try:
        for ax, (title, lines) in zip(axes[:, 0], panels, strict=True):
            for label, series in lines.items():
                ax.plot(series.index, series.to_numpy(), label=label)
            ax.axhline(0, color="grey", lw=0.5)
            ax.set_title(title, fontsize=10)
            ax.set_ylabel(ylabel)
            if lines:
                ax.legend(fontsize=7, loc="best")
        axes[-1, 0].set_xlabel(xlabel)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
