"""Goal seeking: what would it take to meet a target?

:func:`seek` looks for the lever settings, within the ranges stated in the
``.mdl``, that meet one or more targets with the smallest change from a
scenario. Changes are measured in range-normalised units: each lever's value
is mapped to ``(value - low) / (high - low)`` and the distance is the
Euclidean norm of the change, so a lever moved across its whole range counts 1.

Method:

1. each lever's favourable direction is the sign of the targets' response to
   a small move (one run per lever);
2. every lever at its favourable bound (the "corner") is run: if that setting
   misses, the answer is "not reachable within the ranges" with the values it
   reaches (the closest setting found);
3. otherwise the segment from the scenario to the corner is bisected for the
   first setting that meets the targets, and ``scipy.optimize.minimize``
   (SLSQP, small iteration budget) shortens the change from there; every
   answer is checked by a full run before it is returned.

With ``objective="cost"`` the answer is instead the cheapest setting: the public
cost of 2026-2030 (state investment, the lever programmes the budget pays and FDI
incentives, :func:`hatinh_sd.compare.public_cost`) is minimised subject to the
targets and to the model's own budget (at most
:data:`hatinh_sd.compare.BUDGET_SHORTFALL` of what the plan and the levers ask of it
in 2026-2030 left unpaid, :func:`hatinh_sd.compare.budget_shortfall`), from the first
setting on the segment to the corner that meets the targets. When no setting found
meets the targets within the budget, the answer says the budget is what makes them
unreachable (``limited_by == "budget"``; the CLI exits 3).

The result converts to a scenario file the planner can run and edit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from hatinh_sd.errors import HatinhInputError, did_you_mean
from hatinh_sd.i18n import text
from hatinh_sd.model import Model, load_model
from hatinh_sd.scenarios import (
    Bilingual,
    Catalogue,
    Ramp,
    Scenario,
    Step,
    dump_scenario,
    load_catalogue,
    load_scenario,
    resolve_scenario,
)
from hatinh_sd.targets import is_met, plan_targets

__all__ = ["OBJECTIVES", "SeekResult", "seek"]

#: What goal seeking minimises: the range-normalised change, or the public cost.
OBJECTIVES = ("distance", "cost")
#: The years whose public cost ``objective="cost"`` minimises and whose budget it respects.
COST_PERIOD = (2026, 2030)

#: Required margin of a met target, relative to the target value (keeps strict
#: comparisons met after rounding the lever values written to the scenario file).
MARGIN = 1e-4


@dataclasses.dataclass
class SeekResult:
    """The answer of :func:`seek`.

    Attributes
    ----------
    reachable : bool
        Whether a setting within the ranges meets every target.
    targets : dict
        Target id -> (comparator, threshold, year).
    base_values, values : dict
        Lever -> value in the scenario and in the answer (the closest setting
        found when not reachable).
    reached : dict
        Target id -> indicator value at ``values``.
    distance : float
        Change from the scenario in range-normalised units.
    scenario : Scenario
        The answer as a runnable scenario.
    runs : int
        Model runs used.
    objective : str
        What was minimised (:data:`OBJECTIVES`).
    cost, base_cost : float
        Public cost of :data:`COST_PERIOD` at the answer and in the scenario (trillion
        VND, current prices).
    state_share : float
        State investment over GRDP in :data:`COST_PERIOD` at the answer (%).
    budget_unpaid : float
        Share of what the answer asks of the budget in :data:`COST_PERIOD` that the
        model's budget cannot pay (0-1).
    limited_by : str
        Why the targets are not reachable: ``"ranges"`` (not even every lever at its
        favourable bound meets them) or ``"budget"`` (settings that meet them ask more
        than the model's budget pays); empty when reachable.
    """

    reachable: bool
    targets: dict[str, tuple[str, float, int]]
    base_values: dict[str, float]
    values: dict[str, float]
    reached: dict[str, float]
    distance: float
    scenario: Scenario
    runs: int
    objective: str = "distance"
    cost: float = float("nan")
    base_cost: float = float("nan")
    state_share: float = float("nan")
    budget_unpaid: float = float("nan")
    limited_by: str = ""

    def changed(self) -> dict[str, tuple[float, float]]:
        """Levers whose value changed: name -> (old, new)."""
        return {
            k: (self.base_values[k], v)
            for k, v in self.values.items()
            if not math.isclose(v, self.base_values[k], rel_tol=1e-9, abs_tol=1e-12)
        }

    def scenario_yaml(self) -> str:
        """The answer as the text of a scenario file."""
        return dump_scenario(self.scenario)


def _target_specs(
    ids: Sequence[str], thresholds: Mapping[str, float] | None, targets: pd.DataFrame
) -> dict[str, tuple[str, float, int, str]]:
    out = {}
    for tid in ids:
        if tid not in plan_targets():
            raise HatinhInputError(
                f"'{tid}' is not a target; choose from {', '.join(plan_targets())}", path="--target"
            )
        row = targets.loc[targets["target_id"] == tid].iloc[0]
        value = float((thresholds or {}).get(tid, row["value"]))
        out[tid] = (
            str(row["comparator"]),
            value,
            int(row["year"]),
            str(row["variable"]),
        )
    for tid in thresholds or {}:
        if tid not in out:
            raise HatinhInputError(
                f"threshold for '{tid}', which is not sought", path="--threshold"
            )
    return out


def _margin(value: float, comparator: str, target: float) -> float:
    """How far ``value`` is inside the target (relative to the target; < 0 if missed)."""
    scale = abs(target) or 1.0
    if comparator in (">", ">="):
        return (value - target) / scale
    if comparator in ("<", "<="):
        return (target - value) / scale
    return 0.1 - abs(value - target) / scale


def seek(
    target_ids: Sequence[str],
    scenario: str | Scenario = "baseline",
    *,
    levers: Sequence[str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    maxiter: int = 15,
    model: Model | None = None,
    catalogue: Catalogue | None = None,
    targets: pd.DataFrame | None = None,
    objective: str = "distance",
) -> SeekResult:
    """Find the smallest lever change from ``scenario`` that meets ``target_ids``.

    Parameters
    ----------
    target_ids : sequence of str
        Target ids (T01-T12), met together.
    scenario : str or Scenario
        The starting scenario (name, YAML path or loaded scenario).
    levers : sequence of str, optional
        Levers that may move (catalogue levers with ``seek: true`` by default).
    thresholds : mapping, optional
        Target id -> threshold replacing the plan's value (same comparator).
    maxiter : int
        Iteration budget of the optimiser.
    objective : {"distance", "cost"}
        Minimise the range-normalised change, or the public cost of 2026-2030 within
        the model's budget.

    Raises
    ------
    HatinhInputError
        Unknown target, lever or objective, or a lever that goal seeking may not move.
    """
    from hatinh_sd.compare import (
        BUDGET_SHORTFALL,
        PUBLIC_COST_VARIABLES,
        budget_shortfall,
        public_cost,
        state_share,
    )
    from hatinh_sd.data import load_targets

    if objective not in OBJECTIVES:
        raise HatinhInputError(
            f"unknown objective '{objective}'; choose from {', '.join(OBJECTIVES)}",
            path="--objective",
        )

    model = model or load_model()
    cat = catalogue or load_catalogue(model=model)
    targets = load_targets() if targets is None else targets
    scn = (
        scenario
        if isinstance(scenario, Scenario)
        else load_scenario(scenario, model=model, catalogue=cat)
    )
    specs = _target_specs(list(target_ids), thresholds, targets)
    allowed = [n for n, e in cat.levers.items() if e.seek]
    names = list(levers) if levers else allowed
    for n in names:
        if n not in allowed:
            raise HatinhInputError(
                f"'{n}' is not a lever goal seeking may move{did_you_mean(n, allowed)}",
                path="--levers",
                key=n,
            )
    params = {model.real_name(k): v for k, v in resolve_scenario(scn, model, cat).items()}
    pars = [cat.parameters[n] for n in names]
    low = np.array([p.low for p in pars])
    span = np.array([p.high - p.low for p in pars])
    base_values = {n: float(params.get(n, model.defaults[n])) for n in names}
    u0 = (np.array([base_values[n] for n in names]) - low) / span
    outputs = sorted({s[3] for s in specs.values()} | set(PUBLIC_COST_VARIABLES))
    count = 0
    memo: dict[bytes, tuple[np.ndarray, dict[str, float], float, float, float]] = {}

    def run_at(u: np.ndarray) -> tuple[np.ndarray, dict[str, float], float, float, float]:
        """Target margins, indicator values, public cost, state share and the share of the
        budget's asks unpaid at ``u``."""
        nonlocal count
        u = np.clip(u, 0.0, 1.0)
        key = u.round(12).tobytes()
        if key not in memo:
            run = {**params, **{n: float(v) for n, v in zip(names, low + u * span)}}
            ds = model.run(run, outputs=outputs, scenario="seek")
            count += 1
            reached = {
                tid: float(ds[var].sel(time=year)) for tid, (_, _, year, var) in specs.items()
            }
            margins = np.array(
                [_margin(reached[tid], comp, thr) for tid, (comp, thr, _, _) in specs.items()]
            )
            memo[key] = (
                margins,
                reached,
                public_cost(ds, *COST_PERIOD),
                state_share(ds, *COST_PERIOD),
                budget_shortfall(ds, *COST_PERIOD),
            )
        return memo[key]

    def evaluate(u: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        margins, reached, *_ = run_at(u)
        return margins, reached

    def ok(u: np.ndarray) -> bool:
        margins, reached = evaluate(u)
        return bool(np.all(margins >= MARGIN)) and all(
            is_met(reached[t], c, v) for t, (c, v, _, _) in specs.items()
        )

    if objective == "cost":
        values, limited_by = _cheapest(
            run_at, ok, evaluate, u0, names, low, span, BUDGET_SHORTFALL, maxiter
        )
        best_u = (np.array([values[n] for n in names]) - low) / span
        reachable = not limited_by
    else:
        values, reachable = _closest(ok, evaluate, u0, names, low, span, maxiter)
        best_u = (np.array([values[n] for n in names]) - low) / span
        limited_by = "" if reachable else "ranges"
    _, reached, cost, share, unpaid = run_at(best_u)
    return SeekResult(
        reachable=reachable,
        targets={t: (c, v, y) for t, (c, v, y, _) in specs.items()},
        base_values=base_values,
        values=values,
        reached=reached,
        distance=float(np.linalg.norm(best_u - u0)),
        scenario=_answer_scenario(scn, values, base_values, list(specs)),
        runs=count,
        objective=objective,
        cost=cost,
        base_cost=run_at(u0)[2],
        state_share=share,
        budget_unpaid=unpaid,
        limited_by=limited_by,
    )


def _closest(ok, evaluate, u0, names, low, span, maxiter) -> tuple[dict[str, float], bool]:
    """``seek(objective="distance")``: the smallest range-normalised change meeting the
    targets (lever values rounded for the scenario file), and whether it meets them."""
    from scipy.optimize import minimize

    best_u = u0.copy()
    reachable = ok(u0)
    if not reachable:
        # 1. favourable direction of each lever: a step toward the interior
        corner = _corner(evaluate, u0)
        # 2. the corner decides reachability
        if ok(corner):
            reachable = True
            best_u = _first_meeting(ok, u0, corner)
            res = minimize(
                lambda u: float(np.sum((u - u0) ** 2)),
                best_u,
                jac=lambda u: 2.0 * (u - u0),
                method="SLSQP",
                bounds=[(0.0, 1.0)] * len(names),
                constraints=[{"type": "ineq", "fun": lambda u: evaluate(u)[0] - 2 * MARGIN}],
                options={"maxiter": maxiter, "ftol": 1e-6, "eps": 1e-3},
            )
            cand = np.clip(res.x, 0.0, 1.0)
            if ok(cand) and np.linalg.norm(cand - u0) < np.linalg.norm(best_u - u0):
                best_u = cand
            # leave levers the optimiser barely moved where the scenario has them
            for i in np.argsort(np.abs(best_u - u0)):
                if 0 < abs(best_u[i] - u0[i]) < 0.02:
                    trial = best_u.copy()
                    trial[i] = u0[i]
                    if ok(trial):
                        best_u = trial
        else:
            best_u = corner
    values = {n: float(f"{v:.6g}") for n, v in zip(names, low + best_u * span)}
    # re-check the rounded values that go into the scenario file
    best_u = (np.array([values[n] for n in names]) - low) / span
    if reachable and not ok(best_u):  # pragma: no cover - rounding guard
        values = {n: float(v) for n, v in zip(names, low + best_u * span)}
    return values, reachable


def _corner(evaluate, u0: np.ndarray) -> np.ndarray:
    """Every lever at the bound toward which the targets' margins improve (one run each)."""
    m0 = evaluate(u0)[0]
    corner = u0.copy()
    for i in range(len(u0)):
        step = 0.1 if u0[i] <= 0.9 else -0.1
        u = u0.copy()
        u[i] += step
        gain = float(np.sum(np.minimum(evaluate(u)[0], 0.0) - np.minimum(m0, 0.0))) / step
        if gain == 0.0:
            gain = float(np.sum(evaluate(u)[0] - m0)) / step
        if gain != 0.0:
            corner[i] = 1.0 if gain > 0 else 0.0
    return corner


def _first_meeting(ok, u0: np.ndarray, corner: np.ndarray) -> np.ndarray:
    """The first setting on the segment from ``u0`` to ``corner`` that meets the targets
    (bisection, 14 steps; ``corner`` meets them)."""
    lo_t, hi_t = 0.0, 1.0
    for _ in range(14):
        mid = 0.5 * (lo_t + hi_t)
        if ok(u0 + mid * (corner - u0)):
            hi_t = mid
        else:
            lo_t = mid
    return u0 + hi_t * (corner - u0)


def _cheapest(
    run_at, ok, evaluate, u0, names, low, span, unpaid, maxiter
) -> tuple[dict[str, float], str]:
    """``seek(objective="cost")``: the cheapest setting meeting the targets that leaves at
    most ``unpaid`` of the budget's asks unpaid (lever values rounded for the scenario
    file), and why it is not reachable (``"ranges"``, ``"budget"``, or ``""``)."""
    from scipy.optimize import minimize

    def fits(u: np.ndarray) -> bool:
        return ok(u) and run_at(u)[4] <= unpaid

    start = u0.copy()
    limited_by = ""
    if not ok(u0):
        corner = _corner(evaluate, u0)
        if not ok(corner):
            start, limited_by = corner, "ranges"
        else:
            start = _first_meeting(ok, u0, corner)
    best = start
    if not limited_by:
        scale = max(abs(run_at(start)[2]), 1e-9)
        res = minimize(
            lambda u: run_at(u)[2] / scale,
            start,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * len(names),
            constraints=[
                {"type": "ineq", "fun": lambda u: run_at(u)[0] - 2 * MARGIN},
                {"type": "ineq", "fun": lambda u: (unpaid - run_at(u)[4]) / unpaid},
            ],
            options={"maxiter": maxiter, "ftol": 1e-6, "eps": 1e-3},
        )
        cand = np.clip(res.x, 0.0, 1.0)
        if fits(cand) and (not fits(best) or run_at(cand)[2] < run_at(best)[2]):
            best = cand
        if not fits(best):
            limited_by = "budget"
    best = np.where(best < 1e-9, 0.0, np.where(best > 1 - 1e-9, 1.0, best))  # at a bound
    rounded = np.array([float(f"{v:.6g}") for v in low + best * span])
    if not limited_by and not fits((rounded - low) / span):  # pragma: no cover - rounding guard
        rounded = low + best * span
    return dict(zip(names, rounded.tolist())), limited_by


def _answer_scenario(
    scn: Scenario, values: Mapping[str, float], base: Mapping[str, float], target_ids: list[str]
) -> Scenario:
    levers = dict(scn.levers)
    changed = [
        n for n, v in values.items() if not math.isclose(v, base[n], rel_tol=1e-9, abs_tol=1e-12)
    ]
    for n in changed:
        spec = levers.get(n)
        if isinstance(spec, Step | Ramp):
            levers[n] = spec.model_copy(update={"value": values[n]})
        else:
            levers[n] = values[n]
    fields = {
        "base": scn.name,
        "targets": ", ".join(target_ids),
        "levers": ", ".join(changed) or "-",
    }
    return Scenario(
        name=f"{scn.name}_seek_{'_'.join(target_ids)}",
        title=Bilingual(
            vi=text("seek.title", "vi", **fields), en=text("seek.title", "en", **fields)
        ),
        description=Bilingual(
            vi=text("seek.description", "vi", **fields), en=text("seek.description", "en", **fields)
        ),
        cites=scn.cites,
        levers=levers,
        expected=[],
    )


def write_answer(result: SeekResult, path: Path | str) -> Path:
    """Write the answer's scenario file atomically; return its path."""
    from hatinh_sd.results import atomic_file

    path = Path(path)
    header = (
        "# Written by hatinh-sd seek; edit and run with: hatinh-sd run --scenario "
        + str(path)
        + "\n"
    )
    body = result.scenario_yaml()
    yaml.safe_load(body)  # the file must parse back
    with atomic_file(path) as tmp:
        tmp.write_text(header + body, encoding="utf-8")
    return path
