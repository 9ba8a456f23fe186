"""Which feedback loops dominate: Loops That Matter with pysimlin.

:func:`loop_scores` runs pysimlin's loop discovery (``Model.analyze()``, the Loops That
Matter method: Eberlein and Schoenberg's link and loop scores, with the discovery search
of Schoenberg, Davidsen and Eberlein for large models) on a ``.mdl`` and returns every
loop it retains with its relative loop score in each saved year: the share of the change
in the model's behaviour that the loop explains, signed (positive for reinforcing
behaviour, negative for balancing), comparable across loops and years.

For the project's model, :func:`model_loops` analyses the calibrated export for other
engines (:func:`hatinh_sd.mdlexport.calibrated_mdl` with ``engine="simlin"``; pysimlin
does not read ``calibration.yaml``), after checking that pysimlin runs it as PySD does,
and names each loop after the named loops of ``model/README.md`` it matches.
:func:`dominance` then ranks, for one outcome, the loops that pass through it.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from hatinh_sd.errors import HatinhInputError, read_text

__all__ = [
    "FOCUS",
    "LoopScores",
    "dominance",
    "loop_scores",
    "model_loops",
    "named_loops",
]

#: Outcomes whose dominant loops are reported, and the model variables (pysimlin's names)
#: a loop must pass through to count for them.
FOCUS: dict[str, tuple[str, ...]] = {
    "GRDP": ("grdp", "grdp_current"),
    "T07": ("agricultural_employment", "employment_share_agriculture"),
    "T11": ("urban_population", "rural_population", "rural_urban_migration"),
    "FDI": ("fdi_pipeline", "fdi_realised_capital"),
}

#: A discovered loop takes a README loop's id when the two share at least this share of
#: their variables (Jaccard index of the variable sets).
MATCH = 0.6


def _key(name: str) -> str:
    """pysimlin's form of a Vensim name (lower case, words joined by underscores)."""
    return "_".join(name.lower().replace("_", " ").split())


@dataclasses.dataclass
class LoopScores:
    """Loops found by Loops That Matter and their scores.

    Attributes
    ----------
    loops : DataFrame
        One row per loop: ``loop`` (pysimlin's id), ``polarity`` (R or B),
        ``named`` (the README loop it matches, or empty), ``match`` (the Jaccard
        index of that match), ``length``, ``stocks`` (the stocks it passes, in order) and
        ``variables`` (" -> "-joined, pysimlin's names).
    scores : DataFrame
        Relative loop score by year (rows) and loop (columns).
    retained, found : int
        Loops retained for scoring and loops the search found in all.
    complete : bool
        Whether the search enumerated every loop (large models: usually not).
    """

    loops: pd.DataFrame
    scores: pd.DataFrame
    retained: int
    found: int
    complete: bool


def loop_scores(mdl: Path | str, *, timeout: float | None = 120.0) -> tuple[LoopScores, object]:
    """Run pysimlin's loop discovery on the ``.mdl`` at ``mdl``; also return the pysimlin model.

    Raises
    ------
    HatinhInputError
        The analysis failed.
    """
    import simlin

    model = simlin.load(Path(mdl))
    analysis = model.analyze(timeout=timeout)
    if analysis.analysis_error:
        raise HatinhInputError(
            f"pysimlin's loop analysis failed: {analysis.analysis_error}", path=mdl, key="loops"
        )
    times = model.run(analyze_loops=False).results.index.to_numpy(dtype=float)
    stocks = {v for part in analysis.partitions or () for v in part.stocks}
    rows, columns = [], {}
    for loop in analysis.loops:
        series = np.asarray(loop.behavior_time_series, dtype=float)
        if series.shape != times.shape:
            raise HatinhInputError(
                f"loop {loop.id}: {series.size} scores for {times.size} saved times",
                path=mdl,
                key="loops",
            )
        columns[loop.id] = series
        rows.append(
            {
                "loop": loop.id,
                "polarity": "R" if loop.polarity.name == "REINFORCING" else "B",
                "named": "",
                "match": 0.0,
                "length": len(loop.variables),
                "stocks": " -> ".join(v for v in loop.variables if v in stocks),
                "variables": " -> ".join(loop.variables),
            }
        )
    found = analysis.universe_loops
    return (
        LoopScores(
            loops=pd.DataFrame(rows),
            scores=pd.DataFrame(columns, index=pd.Index(times, name="time")),
            retained=len(rows),
            found=int(found) if found is not None else len(rows),
            complete=bool(analysis.enumeration_complete),
        ),
        model,
    )


def named_loops(readme: Path | str) -> dict[str, tuple[str, frozenset[str]]]:
    """The named loops of the model's README table (``| R1 | name | a -> b -> ... |``):
    id -> (name, set of variables in pysimlin's form)."""
    out = {}
    for line in read_text(readme).splitlines():
        m = re.match(r"^\|\s*([RB]\d+)\s*\|\s*([^|]+?)\s*\|\s*([^|]+->[^|]+?)\s*\|$", line)
        if m:
            names = frozenset(_key(v) for v in m.group(3).split("->"))
            out[m.group(1)] = (m.group(2), names)
    if not out:
        raise HatinhInputError("no table of named loops (| R1 | name | a -> b |)", path=readme)
    return out


def _name(scores: LoopScores, named: Mapping[str, tuple[str, frozenset[str]]]) -> None:
    """Give each discovered loop the id of the named loop it matches best (Jaccard >= MATCH)."""
    for i, row in scores.loops.iterrows():
        variables = frozenset(row["variables"].split(" -> "))
        best, score = "", 0.0
        for lid, (_, vs) in named.items():
            jaccard = len(variables & vs) / len(variables | vs)
            if jaccard > score:
                best, score = lid, jaccard
        if score >= MATCH:
            scores.loops.at[i, "named"] = best
            scores.loops.at[i, "match"] = score


def model_loops(model, readme: Path | str | None = None, *, timeout: float | None = 120.0):
    """Loops That Matter on the calibrated model (the export for other engines), named
    after ``model/README.md``'s loops. Returns (:class:`LoopScores`, largest relative
    difference between pysimlin and PySD on the baseline)."""
    from hatinh_sd.crosscheck import crosscheck
    from hatinh_sd.mdlexport import calibrated_mdl
    from hatinh_sd.project import current_project

    check = crosscheck(model, "simlin", sets=0)
    with tempfile.TemporaryDirectory(prefix="hatinh-loops-") as tmp:
        path = Path(tmp) / "hatinh_simlin.mdl"
        path.write_text(calibrated_mdl(model, engine="simlin"), encoding="utf-8")
        scores, _ = loop_scores(path, timeout=timeout)
    _name(scores, named_loops(readme or current_project().path("readme")))
    return scores, check.worst


def dominance(
    scores: LoopScores, through: Iterable[str], *, top: int = 5, least: float = 0.01
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The loops through any of the variables ``through`` that matter most.

    Returns the ``top`` loops by mean absolute score (rows of ``scores.loops`` with
    ``mean_abs_score``) and, per year, the dominant one among all loops through the
    variables (``time``, ``loop``, ``named``, ``polarity``, ``score``; no row in a year
    in which no such loop's absolute score reaches ``least``).
    """
    through = set(through)
    mask = [bool(set(v.split(" -> ")) & through) for v in scores.loops["variables"]]
    chosen = scores.loops[mask]
    if chosen.empty:
        return chosen.assign(mean_abs_score=[]), pd.DataFrame(
            columns=["time", "loop", "named", "polarity", "score"]
        )
    s = scores.scores[list(chosen["loop"])]
    ranked = chosen.assign(mean_abs_score=s.abs().mean().to_numpy()).sort_values(
        "mean_abs_score", ascending=False
    )
    info = chosen.set_index("loop")
    rows = []
    for t, row in s.iterrows():
        lid = str(row.abs().idxmax())  # pysimlin's loop ids are strings
        if abs(row[lid]) < least:
            continue
        rows.append(
            {
                "time": float(cast(float, t)),  # the index holds the saved times
                "loop": lid,
                "named": info.at[lid, "named"],
                "polarity": info.at[lid, "polarity"],
                "score": float(row[lid]),
            }
        )
    return ranked.head(top).reset_index(drop=True), pd.DataFrame(rows)
