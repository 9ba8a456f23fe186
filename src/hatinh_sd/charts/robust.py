"""The chart of a robust search: each target's probability against the public cost of the
non-dominated lever mixes (drawn by ``hatinh-sd robust``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

__all__ = ["plot_front"]


def plot_front(
    front: pd.DataFrame,
    ids: Sequence[str],
    path: Path,
    *,
    xlabel: str,
    ylabels: Mapping[str, str],
) -> None:
    """One panel per target: ``front["cost"]`` against 100 x ``front["p_<target>"]``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ids), figsize=(4.2 * len(ids), 3.6), squeeze=False)
    try:
        for ax, tid in zip(axes[0], ids, strict=True):
            ax.scatter(front["cost"], 100 * front[f"p_{tid}"], color="tab:blue")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabels[tid])
            ax.set_title(tid)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
