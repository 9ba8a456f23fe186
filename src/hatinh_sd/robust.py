"""A lever mix that holds up under uncertainty, at what public cost: many-objective search.

:func:`pareto` runs NSGA-II (platypus, the library behind the EMA Workbench's robust
optimisation) with a batch evaluator: each generation's candidates are evaluated together
by one call, so on the model one vectorised ensemble runs every candidate with every draw.

:class:`LeverMix` is that evaluation on the model. A candidate is a setting of the levers
searched (the others as the scenario sets them); it is run with a fixed set of draws of
the uncertain constants (the posterior jointly, the rest by Latin hypercube, as
``hatinh-sd uncertainty`` draws them, seeded), and scored by

* the share of draws that meet each chosen target (maximised),
* the mean public cost of 2026-2030 (:func:`hatinh_sd.compare.public_cost`, minimised),

subject to one fiscal constraint, the model's own budget and debt limit: the mean share of
what the plan and the levers ask of the budget in 2026-2030 that the budget cannot pay
(:func:`hatinh_sd.compare.budget_shortfall`) is at most :data:`SHORTFALL`.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hatinh_sd.compare import BUDGET_SHORTFALL
from hatinh_sd.errors import HatinhInputError

__all__ = ["SHORTFALL", "LeverMix", "pareto"]

#: Largest mean share of the budget's asks in 2026-2030 it may leave unpaid (the one fiscal
#: constraint of the project, :data:`hatinh_sd.compare.BUDGET_SHORTFALL`).
SHORTFALL = BUDGET_SHORTFALL
#: Years of the public cost and the budget constraint.
COST_PERIOD = (2026, 2030)

#: ``evaluate(X) -> (objectives, constraints)`` for a candidates x variables array;
#: constraints are satisfied at <= 0.
Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def pareto(
    evaluate: Evaluate,
    low: Sequence[float],
    high: Sequence[float],
    maximise: Sequence[bool],
    *,
    constraints: int = 0,
    population: int = 24,
    evaluations: int = 480,
    seed: int = 1,
    seconds: float | None = None,
    start: Sequence[Sequence[float]] = (),
) -> tuple[np.ndarray, np.ndarray, int]:
    """NSGA-II over the box ``low``-``high``; the feasible non-dominated candidates found.

    Returns the front's variables, its objectives (as ``evaluate`` gives them) and the
    number of candidates evaluated. ``seconds`` stops the search after the generation
    that passes it; ``start`` candidates join the first population (the rest is random).
    """
    import platypus

    if population < 4:
        raise HatinhInputError(f"population {population}: at least 4", key="--population")
    if evaluations < population:
        raise HatinhInputError(
            f"evaluations {evaluations}: at least the population ({population})",
            key="--evaluations",
        )
    problem = platypus.Problem(len(low), len(maximise), constraints)
    problem.types[:] = [platypus.Real(lo, hi) for lo, hi in zip(low, high)]
    problem.directions[:] = [
        platypus.Direction.MAXIMIZE if m else platypus.Direction.MINIMIZE for m in maximise
    ]
    if constraints:
        problem.constraints[:] = "<=0"

    class Batch(platypus.Evaluator):
        """Evaluates a generation's candidates with one call of ``evaluate``."""

        def evaluate_all(self, jobs, **kwargs):
            jobs = list(jobs)
            if not jobs:
                return jobs
            x = np.array([[float(v) for v in job.solution.variables] for job in jobs])
            objectives, violations = evaluate(x)
            for job, obj, con in zip(jobs, objectives, violations):
                s = job.solution
                s.objectives[:] = [float(v) for v in obj]
                s.constraints[:] = [float(v) for v in con]
                s.constraint_violation = sum(
                    abs(f(c)) for f, c in zip(problem.constraints, s.constraints)
                )
                s.feasible = s.constraint_violation == 0.0
                s.evaluated = True
            return jobs

    state = random.getstate()
    random.seed(seed)
    try:
        injected = []
        for values in start:
            solution = platypus.Solution(problem)
            solution.variables[:] = [
                t.encode(float(np.clip(v, lo, hi)))
                for t, v, lo, hi in zip(problem.types, values, low, high)
            ]
            injected.append(solution)
        algorithm = platypus.NSGAII(
            problem,
            population_size=population,
            evaluator=Batch(),
            generator=platypus.InjectedPopulation(injected),
        )
        began = time.perf_counter()
        while algorithm.nfe < evaluations:
            algorithm.step()
            if seconds is not None and time.perf_counter() - began > seconds:
                break
        front = [s for s in platypus.nondominated(algorithm.result) if s.feasible]
    finally:
        random.setstate(state)
    unique: dict[tuple[float, ...], Any] = {}
    for s in front:
        unique.setdefault(tuple(float(v) for v in s.variables), s)
    x = np.array(list(unique), dtype=float).reshape(len(unique), len(low))
    y = np.array([list(s.objectives) for s in unique.values()], dtype=float).reshape(
        len(unique), len(maximise)
    )
    return x, y, int(algorithm.nfe)


@dataclasses.dataclass
class LeverMix:
    """Scores lever settings on the model across fixed draws of the uncertain constants.

    Attributes
    ----------
    model : Model
    levers : list of str
        Model names of the levers searched.
    low, high : ndarray
        Their ranges (the factor table's).
    targets : list of tuple
        (id, variable, year, comparator, value) of each target scored.
    draw_names : list of str
        The uncertain constants drawn.
    draws : ndarray
        Their values, draws x constants.
    fixed : dict
        The scenario's other settings (PySD names).
    base : ndarray, optional
        The scenario's values of the levers searched (a first candidate of the search).
    chunk_size : int
    runs : int
        Model runs made so far.
    """

    model: Any
    levers: list[str]
    low: np.ndarray
    high: np.ndarray
    targets: list[tuple[str, str, int, str, float]]
    draw_names: list[str]
    draws: np.ndarray
    fixed: dict[str, float]
    base: np.ndarray | None = None
    chunk_size: int = 256
    runs: int = 0

    def outputs(self) -> list[str]:
        from hatinh_sd.compare import PUBLIC_COST_VARIABLES

        return sorted({t[1] for t in self.targets} | set(PUBLIC_COST_VARIABLES))

    def scores(self, x: np.ndarray) -> pd.DataFrame:
        """Per candidate (rows of ``x``): the share of draws meeting each target, the mean
        public cost, budget shortfall and state share of 2026-2030."""
        return self.runs_and_scores(x)[0]

    def runs_and_scores(self, x: np.ndarray) -> tuple[pd.DataFrame, Any]:
        """:meth:`scores` and the ensemble they come from (candidate-major ``sample``: run
        ``i * draws + j`` is candidate ``i`` with draw ``j``; every run's lever and drawn
        values as coordinates)."""
        from hatinh_sd.compare import budget_shortfall, public_cost, state_share
        from hatinh_sd.ensemble import run_ensemble
        from hatinh_sd.targets import met as target_met

        x = np.atleast_2d(np.asarray(x, dtype=float))
        k, n = len(x), len(self.draws)
        sample = np.hstack([np.repeat(x, n, axis=0), np.tile(self.draws, (k, 1))])
        ds = run_ensemble(
            sample,
            self.levers + self.draw_names,
            outputs=self.outputs(),
            model=self.model,
            fixed=self.fixed,
            chunk_size=self.chunk_size,
            backend="inline",  # in this process: the vectorised model stays loaded
            checks_per_chunk=0,  # the engine is checked against scalar runs by its own tests
            progress=False,
        )
        self.runs += len(sample)
        out: dict[str, np.ndarray] = {}
        for tid, var, year, comparator, value in self.targets:
            vals = ds[var].sel(time=year).values.reshape(k, n)
            met = target_met(vals, comparator, value)
            out[f"p_{tid}"] = met.mean(axis=1)
        out["cost"] = np.asarray(public_cost(ds, *COST_PERIOD)).reshape(k, n).mean(axis=1)
        out["shortfall"] = np.asarray(budget_shortfall(ds, *COST_PERIOD)).reshape(k, n).mean(1)
        out["state_share"] = np.asarray(state_share(ds, *COST_PERIOD)).reshape(k, n).mean(1)
        return pd.DataFrame(out), ds

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`pareto`'s evaluation: objectives (P(met) per target, cost) and the
        budget constraint (shortfall - :data:`SHORTFALL` <= 0)."""
        s = self.scores(x)
        objectives = s[[f"p_{t[0]}" for t in self.targets] + ["cost"]].to_numpy()
        return objectives, (s[["shortfall"]].to_numpy() - SHORTFALL)
