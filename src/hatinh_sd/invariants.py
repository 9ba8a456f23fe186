"""Plausibility as a contract: invariants every run must satisfy at every saved time.

The list is derived from the model, so a new share or stock is covered
without a code change:

* every output in ``percent`` that is a share or a rate (not a growth rate)
  lies in [0, 100], every ``Dmnl`` output named ``... share`` (or a policy
  rate ``..._rate_now``, a fraction) in [0, 1];
* the population and its age groups are positive;
* every stock is finite;
* GRDP grows by between -30 % and +60 % a year between saved times.

:func:`violations` checks arrays (samples x times) of any run, scalar or
vectorised; :mod:`hatinh_sd.ensemble` applies it to every chunk and
:func:`hatinh_sd.ensemble.bad_runs` lists each violation. The model fixes
that make the invariants hold belong to the model; this module makes every
violation visible.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["GROWTH_RANGE", "Invariant", "check_run", "invariants", "violations"]

#: Annual GRDP growth outside this range is implausible for a province (fractions).
GROWTH_RANGE = (-0.30, 0.60)
#: Absolute slack for bounds: values are floats summed from several terms.
_SLACK = 1e-9


@dataclasses.dataclass(frozen=True)
class Invariant:
    """A condition on one variable of a run.

    Attributes
    ----------
    name : str
        Label used in ``bad_runs.csv`` (``share_agriculture in [0, 100]``).
    variable : str
        PySD name of the variable checked.
    kind : {"range", "positive", "finite", "growth"}
        ``range``: ``low <= value <= high``; ``positive``: ``value > 0``;
        ``finite``: not NaN or infinite; ``growth``: annual growth of the
        variable between saved times within ``[low, high]``.
    low, high : float
    """

    name: str
    variable: str
    kind: str
    low: float = -math.inf
    high: float = math.inf


def invariants(model: Any) -> list[Invariant]:
    """The invariants of ``model`` (a :class:`hatinh_sd.model.Model`)."""
    out: list[Invariant] = []
    for py in model.outputs:
        units = model.units(py)
        if units == "percent" and re.search(r"share|rate", py) and "growth" not in py:
            out.append(Invariant(f"{py} in [0, 100]", py, "range", 0.0, 100.0))
        elif units == "Dmnl" and re.search(r"(^|_)share(_now)?$|_rate_now$", py):
            out.append(Invariant(f"{py} in [0, 1]", py, "range", 0.0, 1.0))
        elif re.fullmatch(r"(total_)?population(_\w+)?|(urban|rural)_population", py):
            if py not in ("urban_population", "rural_population"):  # may be 0 by definition
                out.append(Invariant(f"{py} > 0", py, "positive"))
    for stock in model.stocks:
        py = model.py_name(stock)
        out.append(Invariant(f"{py} finite", py, "finite"))
    if "grdp" in model.outputs:  # a model of a region's economy names its GRDP so
        lo, hi = GROWTH_RANGE
        out.append(
            Invariant(f"grdp growth in [{lo:.0%}, {hi:.0%}] a year", "grdp", "growth", lo, hi)
        )
    return out


def violations(
    checks: Sequence[Invariant],
    values: Mapping[str, np.ndarray],
    times: np.ndarray,
) -> np.ndarray:
    """First time at which each invariant fails in each run (NaN where it holds).

    Parameters
    ----------
    checks : sequence of Invariant
    values : mapping
        PySD name -> array (samples, times) of the run(s).
    times : ndarray
        The saved times (the columns of ``values``).

    Returns
    -------
    ndarray
        Shape (len(checks), samples).
    """
    times = np.asarray(times, dtype=float)
    n = next(iter(values.values())).shape[0]
    first = np.full((len(checks), n), np.nan)
    for i, inv in enumerate(checks):
        x = np.asarray(values[inv.variable], dtype=float)
        at = times
        with np.errstate(invalid="ignore", divide="ignore"):
            if inv.kind == "range":
                bad = ~((x >= inv.low - _SLACK) & (x <= inv.high + _SLACK))
            elif inv.kind == "positive":
                bad = ~(x > 0)
            elif inv.kind == "finite":
                bad = ~np.isfinite(x)
            elif inv.kind == "growth":
                dt = np.diff(times)
                g = (x[:, 1:] / x[:, :-1]) ** (1.0 / dt) - 1.0
                bad = ~((g >= inv.low) & (g <= inv.high))
                at = times[1:]
            else:  # pragma: no cover - a programming error
                raise ValueError(f"unknown invariant kind {inv.kind!r}")
        hit = bad.any(axis=1)
        first[i, hit] = at[np.argmax(bad[hit], axis=1)]
    return first


def check_run(ds: Any, model: Any) -> pd.DataFrame:
    """The invariants a single run (a :meth:`Model.run` Dataset) fails: one row each.

    Columns: ``invariant``, ``variable``, ``first_time`` (first saved time it
    fails) and ``value`` there.
    """
    checks = [c for c in invariants(model) if c.variable in ds]
    times = ds["time"].values
    values = {c.variable: np.asarray(ds[c.variable].values, dtype=float)[None, :] for c in checks}
    first = violations(checks, values, times)[:, 0] if checks else np.array([])
    rows = [
        {
            "invariant": c.name,
            "variable": c.variable,
            "first_time": float(t),
            "value": float(ds[c.variable].sel(time=t)),
        }
        for c, t in zip(checks, first)
        if not np.isnan(t)
    ]
    return pd.DataFrame(rows, columns=["invariant", "variable", "first_time", "value"])
