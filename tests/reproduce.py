"""Pinned Morris indices of a small fixed configuration (tests/data/morris_small.yaml).

``python tests/reproduce.py`` rewrites tests/data/morris_small_indices.csv after an
intended change (a model change or a lock update), with a CHANGELOG line.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
CONFIG = HERE / "data" / "morris_small.yaml"
REFERENCE = HERE / "data" / "morris_small_indices.csv"


def morris_small_indices():
    from hatinh_sd.model import load_model
    from hatinh_sd.sensitivity import load_config, run_analysis

    model = load_model()
    res = run_analysis(load_config(CONFIG, model), model=model, backend="inline", progress=False)
    table = res.table
    return table[["output", "factor", "mu", "mu_star", "sigma", "mu_star_conf"]].sort_values(
        ["output", "factor"], ignore_index=True
    )


def main() -> int:
    table = morris_small_indices()
    table.to_csv(REFERENCE, index=False)  # shortest round-trip repr of every float
    print(f"wrote {REFERENCE} ({len(table)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
