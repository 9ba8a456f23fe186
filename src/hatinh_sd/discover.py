"""Scenario discovery: the ranges of levers and uncertainties in which a target is met.

An ensemble draws every policy lever of the factor table (group ``lever``)
uniformly over its range (Latin hypercube, a seeded stream of its own) and the
uncertain constants as :func:`hatinh_sd.uncertainty.draw_with_posterior` draws
them (the posterior's draws jointly, the other uncertain constants through their
own distributions). A run meets the target when the target indicator in the
target's year meets its comparator and value (:func:`hatinh_sd.targets.is_met`;
a run with NaN does not).

The Patient Rule Induction Method (PRIM, Friedman and Fisher 1999; Bryant and
Lempert 2010) then finds boxes, ranges of a few inputs, in which most runs meet
the target. PRIM is ema_workbench's implementation (``ema_workbench.analysis.prim``,
with its lenient objective, peeling and pasting alpha 0.05 and a smallest box of
5 % of the runs). Its peeling trajectory trades coverage (the share of all runs
meeting the target that lie in the box) against density (the share of the box's
runs that meet it); of each trajectory the box chosen is the one with the highest
coverage among those whose density reaches the threshold (the denser one on a
tie), i.e. the coverage end of the trajectory's Pareto front above the threshold.
Up to :data:`MAX_BOXES` boxes are found one after the other, each among the runs
the earlier boxes leave (ema_workbench's default).

PRIM is given the inputs whose distribution differs between the runs that meet
the target and those that do not (:func:`screen`: two-sample Kolmogorov-Smirnov
test, Bonferroni-corrected, family-wise level :data:`SCREEN_ALPHA`). Of the ~230
inputs (49 levers, ~180 uncertain constants) most do not matter for a given
target; ema_workbench's peeling costs about 0.04 s per input and box whatever the
number of runs (about 10 s a box with every input, here), and among hundreds of
inputs PRIM restricts some that matter only by chance (more so with few runs). The command
can give PRIM every input instead (``--no-screen``). ema_workbench's extra-trees
feature scores, computed over every input, are a cross-check that ranks the
inputs without boxes.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Collection, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from hatinh_sd.errors import HatinhInputError

__all__ = [
    "DEFAULT_THRESHOLD",
    "MAX_BOXES",
    "MAX_RUNS",
    "MIN_RUNS",
    "Box",
    "boxes_table",
    "describe_box",
    "draw_levers",
    "ema_analysis",
    "feature_scores",
    "find_boxes",
    "screen",
    "target_outcome",
]

#: Fewest runs of a discovery ensemble (PRIM's smallest box is 5 % of the runs).
MIN_RUNS = 50
#: Most runs of a discovery ensemble (``runs.csv`` takes about 2.5 MB per 1,000 runs).
MAX_RUNS = 100_000
#: Density (share of a box's runs that meet the target) a box must reach.
DEFAULT_THRESHOLD = 0.8
#: Most boxes looked for one after the other.
MAX_BOXES = 3
#: Family-wise significance of the screen of the inputs given to PRIM (:func:`screen`).
SCREEN_ALPHA = 0.01

#: The offset that gives the lever draws a random stream of their own (the
#: uncertainty draws use ``seed`` itself).
LEVER_STREAM = 1


def ema_analysis() -> tuple[ModuleType, ModuleType]:
    """ema_workbench's ``prim`` and ``feature_scoring`` modules.

    ema_workbench 2.5.3 warns on import about two optional extras that scenario
    discovery does not use; the warnings are silenced here, and only these two.
    """
    with warnings.catch_warnings():
        # ema_workbench.em_framework: "ipyparallel not installed - IpyparalleEvaluator
        # not available" (UserWarning); its parallel evaluator is not used here.
        warnings.filterwarnings("ignore", message="ipyparallel not installed", category=UserWarning)
        # ema_workbench.analysis.prim: "altair based interactive inspection not
        # available" (ImportWarning); boxes are inspected as data, not in a notebook.
        warnings.filterwarnings(
            "ignore", message="altair based interactive inspection", category=ImportWarning
        )
        from ema_workbench.analysis import feature_scoring, prim
    return prim, feature_scoring


def draw_levers(factors: Sequence[Any], n: int, seed: int) -> np.ndarray:
    """``n`` sets of the levers ``factors``, uniform over ``[low, high]`` (Latin hypercube).

    The stream is seeded with ``(seed, LEVER_STREAM)``, so the draws are independent
    of the uncertainty draws, which use ``seed`` alone.
    """
    from scipy.stats import qmc

    if n < 2:
        raise HatinhInputError(f"n = {n}: at least 2 runs are needed", key="--n")
    rng = np.random.default_rng([seed, LEVER_STREAM])
    u = qmc.LatinHypercube(d=len(factors), seed=rng).random(n)
    low = np.array([f.low for f in factors], dtype=float)
    high = np.array([f.high for f in factors], dtype=float)
    return np.clip(low + u * (high - low), low, high)


def target_outcome(values: np.ndarray, comparator: str, target: float) -> np.ndarray:
    """Whether each run's value meets ``comparator target`` (NaN does not)."""
    from hatinh_sd.targets import met

    return met(values, comparator, float(target))


def screen(x: pd.DataFrame, met: np.ndarray, *, alpha: float = SCREEN_ALPHA) -> pd.DataFrame:
    """Which inputs differ between runs that meet the target and runs that do not.

    Two-sample Kolmogorov-Smirnov test of each input (asymptotic p-values);
    an input is kept when its p-value is below ``alpha`` divided by the number
    of inputs (Bonferroni). Returns ``factor``, ``ks_statistic``, ``ks_pvalue``
    and ``kept``, in the order of ``x``'s columns; nothing is kept when every
    run, or none, meets the target.
    """
    from scipy import stats

    met = np.asarray(met, dtype=bool)
    out = pd.DataFrame({"factor": [str(c) for c in x.columns]})
    if not met.any() or met.all():
        return out.assign(ks_statistic=np.nan, ks_pvalue=np.nan, kept=False)
    values = x.to_numpy(dtype=float)
    res = stats.ks_2samp(values[met], values[~met], axis=0, method="asymp")
    p = np.atleast_1d(res.pvalue)
    return out.assign(
        ks_statistic=np.atleast_1d(res.statistic), ks_pvalue=p, kept=p < alpha / x.shape[1]
    )


@dataclasses.dataclass(frozen=True)
class Box:
    """A box found by PRIM.

    Attributes
    ----------
    number : int
        1 for the first box found, 2 for the next (among the runs the first left)...
    trajectory_id : int
        The box's position on its peeling trajectory.
    coverage : float
        Share of all runs meeting the target that lie in the box.
    density : float
        Share of the box's runs that meet the target.
    mass : float
        Share of all runs that lie in the box.
    runs, runs_meeting : int
        Runs in the box, and those of them that meet the target.
    dense_enough : bool
        Whether the density reaches the threshold; ``False`` only for the densest
        box of a search that found none dense enough (reported as such).
    limits : DataFrame
        One row per restricted input, in the order of significance: ``dimension``,
        ``low``, ``high`` (the box's edges), ``restricted_low``, ``restricted_high``
        (whether that edge is inside the range of the runs) and ``qp_low``,
        ``qp_high`` (quasi-p values of the edges, Bryant and Lempert 2010; NaN for
        an edge that is not restricted).
    """

    number: int
    trajectory_id: int
    coverage: float
    density: float
    mass: float
    runs: int
    runs_meeting: int
    dense_enough: bool
    limits: pd.DataFrame


#: Columns of :attr:`Box.limits`.
LIMIT_COLUMNS = (
    "dimension",
    "low",
    "high",
    "restricted_low",
    "restricted_high",
    "qp_low",
    "qp_high",
)


def _choose(trajectory: pd.DataFrame, threshold: float) -> int | None:
    """Trajectory id of the box of highest coverage whose density reaches ``threshold``."""
    ok = trajectory[(trajectory["density"] >= threshold) & (trajectory["res_dim"] > 0)]
    if ok.empty:
        return None
    best = ok.sort_values(["coverage", "density"], ascending=False, kind="stable").iloc[0]
    return int(best["id"])


def _box(search: Any, box: Any, number: int, i: int, *, dense_enough: bool) -> Box:
    """Box ``i`` of the peeling trajectory of ema_workbench's ``box`` (its ``inspect`` data)."""
    stats, lims = box.inspect(i, style="data")[0]
    init = search.box_init
    rows = []
    for k, dim in enumerate(lims.index):
        low, high, qp_low, qp_high = (float(v) for v in lims.iloc[k, :4])
        rows.append(
            {
                "dimension": str(dim),
                "low": low,
                "high": high,
                "restricted_low": bool(low > float(init.at[0, dim])),
                "restricted_high": bool(high < float(init.at[1, dim])),
                "qp_low": qp_low,
                "qp_high": qp_high,
            }
        )
    limits = pd.DataFrame(rows, columns=list(LIMIT_COLUMNS))
    order = np.argsort(limits[["qp_low", "qp_high"]].min(axis=1).to_numpy(), kind="stable")
    return Box(
        number=number,
        trajectory_id=i,
        coverage=float(stats["coverage"]),
        density=float(stats["density"]),
        mass=float(stats["mass"]),
        runs=int(stats["n"]),
        runs_meeting=int(stats["k"]),
        dense_enough=dense_enough,
        limits=limits.iloc[order].reset_index(drop=True),
    )


def find_boxes(
    x: pd.DataFrame,
    met: np.ndarray,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_boxes: int = MAX_BOXES,
) -> tuple[list[Box], pd.DataFrame]:
    """PRIM boxes of ``x`` (runs x inputs) in which ``met`` is mostly true.

    Parameters
    ----------
    x : DataFrame
        The inputs of each run (numeric columns).
    met : array of bool
        Whether each run meets the target.
    threshold : float
        Density a box must reach (0 < threshold <= 1).
    max_boxes : int
        Most boxes looked for.

    Returns
    -------
    boxes : list of Box
        The boxes chosen, in the order found; when none is dense enough, the densest
        box of the first search (``dense_enough`` false), or none when every run or
        none meets the target.
    trajectories : DataFrame
        The peeling trajectory of each box: ``box`` (its number), ``id``, ``coverage``,
        ``density``, ``mass``, ``res_dim``, ``runs``, ``runs_meeting`` and ``chosen``.
    """
    if not 0 < threshold <= 1:
        raise HatinhInputError(
            f"must be above 0 and at most 1, not {threshold:g}", key="--threshold"
        )
    met = np.asarray(met, dtype=bool)
    if len(met) != len(x):
        raise ValueError(f"{len(met)} outcomes for {len(x)} runs")
    columns = ["box", "id", "coverage", "density", "mass", "res_dim", "runs", "runs_meeting"]
    if not met.any() or met.all() or x.shape[1] == 0:
        return [], pd.DataFrame(columns=[*columns, "chosen"])
    prim, _ = ema_analysis()
    x = x.astype(float).reset_index(drop=True)
    with warnings.catch_warnings():
        # ema_workbench 2.5.3's Prim() calls DataFrame.drop(..., inplace=True), deprecated
        # in pandas 3.1 (Pandas4Warning, a DeprecationWarning); the call is harmless.
        warnings.filterwarnings(
            "ignore",
            message="The inplace keyword in DataFrame.drop is deprecated",
            category=DeprecationWarning,
        )
        # With a binary outcome PRIM's threshold only decides whether find_box() returns
        # the box it peeled or a "dump box" without its trajectory: at the share of runs
        # meeting the target every trajectory is kept (for the chart and the densest box
        # found), and the box is chosen on it with the density threshold (_choose).
        search = prim.Prim(x, met.astype(int), threshold=float(met.mean()))
    boxes: list[Box] = []
    frames = []
    for number in range(1, max_boxes + 1):
        box = search.find_box()
        if box is None:  # no runs left
            break
        traj = box.peeling_trajectory
        frame = pd.DataFrame(
            {
                "box": number,
                "id": traj["id"].astype(int),
                "coverage": traj["coverage"].astype(float),
                "density": traj["density"].astype(float),
                "mass": traj["mass"].astype(float),
                "res_dim": traj["res_dim"].astype(int),
                "runs": traj["n"].astype(int),
                "runs_meeting": traj["k"].astype(int),
                "chosen": False,
            }
        )
        chosen = _choose(traj, threshold)
        if chosen is None:  # no box on this trajectory is dense enough: the search ends
            real = traj[traj["res_dim"] > 0]
            if not boxes and len(real):  # the densest box shows how close it came
                densest = real.sort_values(["density", "coverage"], ascending=False).iloc[0]
                box.select(int(densest["id"]))
                frame["chosen"] = frame["id"] == int(densest["id"])
                frames.append(frame)
                boxes.append(_box(search, box, number, int(densest["id"]), dense_enough=False))
            break
        box.select(chosen)
        frame["chosen"] = frame["id"] == chosen
        frames.append(frame)
        boxes.append(_box(search, box, number, chosen, dense_enough=True))
    trajectories = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=[*columns, "chosen"])
    )
    return boxes, trajectories


def feature_scores(
    x: pd.DataFrame, met: np.ndarray, *, seed: int = 0, workers: int | None = None
) -> pd.DataFrame:
    """ema_workbench's extra-trees feature scores of ``met`` (a cross-check of the boxes).

    Returns ``factor``, ``score`` (importance, summing to 1) and ``rank``, highest
    first; empty when every run, or none, meets the target. ``workers`` processes
    grow the trees (all CPUs by default; 0 or 1: this process).
    """
    met = np.asarray(met, dtype=bool)
    if not met.any() or met.all():
        return pd.DataFrame(columns=["rank", "factor", "score"])
    import joblib

    _, scoring = ema_analysis()
    from ema_workbench.analysis.scenario_discovery_util import RuleInductionType

    jobs = -1 if workers is None else max(1, workers)
    with joblib.parallel_config(n_jobs=jobs):
        scores, _ = scoring.get_ex_feature_scores(
            x.astype(float),
            met.astype(int),
            mode=RuleInductionType.CLASSIFICATION,
            random_state=int(seed) % 2**32,
        )
    out = pd.DataFrame({"factor": [str(i) for i in scores.index], "score": scores.iloc[:, 0]})
    out = out.reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def boxes_table(
    boxes: Sequence[Box], info: pd.DataFrame | None = None, *, threshold: float
) -> pd.DataFrame:
    """The boxes as one table: one row per restricted input of each box.

    ``info`` (indexed by input name) adds its columns (``group``, ``unit``,
    ``scenario_value``...) to each input's row.
    """
    columns = [
        "box",
        "coverage",
        "density",
        "mass",
        "runs",
        "runs_meeting",
        "threshold",
        "dense_enough",
        "res_dim",
        *LIMIT_COLUMNS,
    ]
    rows = []
    for b in boxes:
        for lim in b.limits.to_dict("records"):
            rows.append(
                {
                    "box": b.number,
                    "coverage": b.coverage,
                    "density": b.density,
                    "mass": b.mass,
                    "runs": b.runs,
                    "runs_meeting": b.runs_meeting,
                    "threshold": threshold,
                    "dense_enough": b.dense_enough,
                    "res_dim": len(b.limits),
                    **lim,
                }
            )
    table = pd.DataFrame(rows, columns=columns)
    if info is not None:
        extra = info.reindex(table["dimension"]).reset_index(drop=True)
        table = pd.concat([table, extra], axis=1)
    return table


def _plain(value: float, lang: str, *, year: bool = False) -> str:
    """A box edge as ``lang`` writes it: three significant digits; a year to 0.1 without
    grouping (2031,4 in Vietnamese, not 2.031)."""
    from babel.numbers import format_decimal

    from hatinh_sd.i18n import LOCALES, number

    if year:
        return format_decimal(round(value, 1), format="0.#", locale=LOCALES[lang])
    return number(value, lang, significant=3)


def describe_box(
    box: Box,
    target: str,
    lang: str = "en",
    *,
    labels: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    order: Sequence[str] | None = None,
    years: Collection[str] = (),
) -> str:
    """One plain-language sentence on ``box`` in ``lang`` (on the densest box found when
    none is dense enough, ``box.dense_enough`` false).

    ``labels`` and ``units`` give each input's name and unit in ``lang`` (the
    input's own name and no unit by default); ``order`` lists the inputs in the
    order they are named (the box's order, most significant first, by default);
    the inputs in ``years`` are calendar years.
    """
    from hatinh_sd.i18n import number, text

    labels, units = labels or {}, units or {}
    lims = {str(r["dimension"]): r for r in box.limits.to_dict("records")}
    names = [d for d in (order or list(lims)) if d in lims]
    parts = []
    for dim in names:
        r = lims[dim]
        unit = units.get(dim, "")
        fields = {
            "name": labels.get(dim, dim),
            "low": _plain(float(r["low"]), lang, year=dim in years),
            "high": _plain(float(r["high"]), lang, year=dim in years),
            "unit": f" {unit}" if unit else "",
        }
        if r["restricted_low"] and r["restricted_high"]:
            parts.append(text("discover.between", lang, **fields))
        elif r["restricted_low"]:
            parts.append(text("discover.above", lang, **fields))
        else:
            parts.append(text("discover.below", lang, **fields))
    if len(parts) > 1:
        conditions = text("discover.list", lang, first=", ".join(parts[:-1]), last=parts[-1])
    else:
        conditions = parts[0] if parts else ""
    return text(
        "discover.box" if box.dense_enough else "discover.densest",
        lang,
        number=box.number,
        target=target,
        density=number(100 * box.density, lang, digits=0),
        conditions=conditions,
        coverage=number(100 * box.coverage, lang, digits=0),
        mass=number(100 * box.mass, lang, digits=0),
        runs=box.runs,
    )
