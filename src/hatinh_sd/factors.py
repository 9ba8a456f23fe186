"""The factor table of sensitivity and uncertainty analyses (``sensitivity/factors.csv``).

A factor is a model constant that an ensemble varies: every policy lever and a
selection of uncertain or calibrated constants. Each row names the model
variable, its unit, the range sampled, the distribution over that range and
why. Ranges must lie inside the range stated in the ``.mdl`` (the single
source of ranges); defaults are always taken from :attr:`Model.defaults`
(calibration applied), the ``default`` column only documents them.

Distributions map a unit-interval draw ``u`` to a value in ``[low, high]``:

``uniform``
    ``low + u (high - low)``.
``triangular``
    mode at the model's default.
``normal``
    normal with mean at the default and standard deviation ``(high - low) / 4``,
    truncated to ``[low, high]``.
``lognormal``
    lognormal with median at the default and log standard deviation
    ``ln(high / low) / 4``, truncated to ``[low, high]`` (``low > 0``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from pathlib import Path

import numpy as np
from scipy import stats

from hatinh_sd.errors import HatinhInputError, did_you_mean, read_text, separator_hint
from hatinh_sd.model import Model
from hatinh_sd.project import FROM_PROJECT, FromProject, current_project

__all__ = [
    "COLUMNS",
    "factor_rows",
    "write_factor_table",
    "DISTRIBUTIONS",
    "Factor",
    "load_factors",
    "to_values",
]

COLUMNS = ("name", "variable", "unit", "default", "low", "high", "distribution", "group", "source")
DISTRIBUTIONS = ("uniform", "triangular", "normal", "lognormal")
GROUPS = ("lever", "uncertainty")


@dataclasses.dataclass(frozen=True)
class Factor:
    """One row of the factor table.

    Attributes
    ----------
    name : str
        Label of the factor (usually the model variable's name).
    variable : str
        Model (Vensim) name of the constant it sets.
    py_name : str
        PySD name of that constant.
    unit : str
    default : float
        The model's default (calibration applied), in ``unit``.
    low, high : float
        Sampled range, in ``unit``.
    distribution : str
        One of :data:`DISTRIBUTIONS`.
    group : str
        ``lever`` or ``uncertainty``.
    source : str
        Source of, or reason for, the range.
    """

    name: str
    variable: str
    py_name: str
    unit: str
    default: float
    low: float
    high: float
    distribution: str
    group: str
    source: str

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values of the factor at unit-interval quantiles ``u`` (inverse CDF)."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        lo, hi = self.low, self.high
        if hi == lo:
            return np.full_like(u, lo)
        mode = min(max(self.default, lo), hi)
        # clipped: rounding must never step outside the range the .mdl allows
        if self.distribution == "uniform":
            return np.clip(lo + u * (hi - lo), lo, hi)
        if self.distribution == "triangular":
            c = (mode - lo) / (hi - lo)
            return np.clip(stats.triang.ppf(u, c, loc=lo, scale=hi - lo), lo, hi)
        if self.distribution == "normal":
            sd = (hi - lo) / 4
            a, b = (lo - mode) / sd, (hi - mode) / sd
            return np.clip(stats.truncnorm.ppf(u, a, b, loc=mode, scale=sd), lo, hi)
        # lognormal, truncated to [low, high]
        mu, s = math.log(mode), math.log(hi / lo) / 4
        a, b = stats.norm.cdf((math.log(lo) - mu) / s), stats.norm.cdf((math.log(hi) - mu) / s)
        z = stats.norm.ppf(a + u * (b - a))
        return np.clip(np.exp(mu + s * z), lo, hi)


def _float(value: str, path: Path, line: int, column: str) -> float:
    try:
        out = float(value)
    except ValueError:
        raise HatinhInputError(
            f"'{value}' is not a number", path=path, line=line, column=column
        ) from None
    if not math.isfinite(out):
        raise HatinhInputError(f"'{value}' is not finite", path=path, line=line, column=column)
    return out


def load_factors(
    path: Path | str | None = None,
    model: Model | None = None,
    *,
    names: list[str] | None = None,
) -> list[Factor]:
    """Read and check the factor table.

    Parameters
    ----------
    path : path
        The CSV file (``sensitivity/factors.csv``).
    model : Model, optional
        The loaded model (``load_model()`` by default).
    names : list of str, optional
        Keep only these factors, in this order (unknown names are errors).

    Raises
    ------
    HatinhInputError
        Missing columns, a duplicate factor, an unknown model variable (with
        close matches), an unknown distribution or group, ``low > high``, a
        range outside the ``.mdl`` range, or a lognormal range with ``low <= 0``.
    """
    from hatinh_sd.model import load_model

    path = Path(path) if path else current_project().factors
    model = model or load_model()
    text = read_text(path, missing="factor table not found")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise HatinhInputError(
                f"missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"
                + separator_hint(reader.fieldnames or []),
                path=path,
                line=1,
            )
        header = list(reader.fieldnames or [])
        twice = sorted({c for c in header if header.count(c) > 1})
        if twice:
            raise HatinhInputError(
                f"column(s) {', '.join(twice)} appear twice in the header", path=path, line=1
            )
        rows = list(reader)
    except csv.Error as exc:
        raise HatinhInputError(f"malformed CSV: {exc}", path=path) from None
    if not rows:
        raise HatinhInputError("no factors: the table has a header but no rows", path=path, line=1)
    factors: list[Factor] = []
    seen: dict[str, int] = {}
    seen_var: dict[str, int] = {}
    params = model.parameters
    for i, row in enumerate(rows):
        line = i + 2
        if None in row or any(v is None for v in row.values()):
            raise HatinhInputError(
                f"{len([v for v in row.values() if v is not None])} fields instead of"
                f" {len(reader.fieldnames or [])} ({', '.join(reader.fieldnames or [])})",
                path=path,
                line=line,
            )
        name = row["name"].strip()
        if name in seen:
            raise HatinhInputError(
                f"factor '{name}' appears twice (first on line {seen[name]})",
                path=path,
                line=line,
            )
        seen[name] = line
        var = row["variable"].strip()
        if var in seen_var:
            raise HatinhInputError(
                f"variable '{var}' has two factors (first on line {seen_var[var]});"
                " the later would silently override the earlier",
                path=path,
                line=line,
                column="variable",
            )
        seen_var[var] = line
        par = params.get(var)
        if par is None:
            hint = did_you_mean(var, params)
            raise HatinhInputError(
                f"'{var}' is not a lever, uncertain or calibrated constant of the model{hint}",
                path=path,
                line=line,
                column="variable",
            )
        dist = row["distribution"].strip()
        if dist not in DISTRIBUTIONS:
            raise HatinhInputError(
                f"unknown distribution '{dist}'; allowed: {', '.join(DISTRIBUTIONS)}",
                path=path,
                line=line,
                column="distribution",
            )
        group = row["group"].strip()
        if group not in GROUPS:
            raise HatinhInputError(
                f"unknown group '{group}'; allowed: {', '.join(GROUPS)}",
                path=path,
                line=line,
                column="group",
            )
        low = _float(row["low"], path, line, "low")
        high = _float(row["high"], path, line, "high")
        if low >= high:
            raise HatinhInputError(
                f"low {low:g} is not below high {high:g}; a factor needs a range to vary over"
                " (drop the row to keep the constant fixed)",
                path=path,
                line=line,
                column="low",
            )
        if low < par.low or high > par.high:
            raise HatinhInputError(
                f"range [{low:g}, {high:g}] of '{var}' leaves the model's range "
                f"[{par.low:g}, {par.high:g}] {par.units}",
                path=path,
                line=line,
                column="low" if low < par.low else "high",
            )
        if dist == "lognormal" and low <= 0:
            raise HatinhInputError(
                "a lognormal factor needs low > 0", path=path, line=line, column="low"
            )
        factors.append(
            Factor(
                name=name,
                variable=var,
                py_name=par.py_name,
                unit=row["unit"].strip() or par.units,
                default=float(model.defaults[var]),
                low=low,
                high=high,
                distribution=dist,
                group=group,
                source=row["source"].strip(),
            )
        )
    if names is not None:
        by_name = {f.name: f for f in factors}
        out = []
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise HatinhInputError(f"factor(s) {', '.join(twice)} listed twice", path=path)
        for n in names:
            if n not in by_name:
                hint = did_you_mean(n, by_name)
                raise HatinhInputError(f"no factor named '{n}' in the table{hint}", path=path)
            out.append(by_name[n])
        return out
    return factors


def to_values(factors: list[Factor], unit_sample: np.ndarray) -> np.ndarray:
    """Map a sample on the unit hypercube (rows x factors) to factor values."""
    unit_sample = np.asarray(unit_sample, dtype=float)
    if unit_sample.ndim != 2 or unit_sample.shape[1] != len(factors):
        raise ValueError(f"expected a (n, {len(factors)}) sample, got {unit_sample.shape}")
    return np.column_stack([f.ppf(unit_sample[:, j]) for j, f in enumerate(factors)])


# ---------------------------------------------------------------- the table from the .mdl
#: Lever start years are sampled over the Action Programme's term, started on time or up to
#: five years late (a start before 2026 would rewrite history, not test a plan).
POLICY_START = (2026.0, 2035.0)
#: Dated new projects: no investment decision by 2025 and two years of construction at least.
PROJECT_YEARS = ("formosa phase 2 year", "new coal year", "thach khe year")
PROJECT_WINDOW = (2028.0, 2045.0)


def factor_rows(
    model: Model, previous: Path | str | None | FromProject = FROM_PROJECT
) -> list[dict[str, str]]:
    """The factor table generated from the ``.mdl``: every lever and every uncertain constant.

    Ranges are the ``.mdl``'s, except lever start years (:data:`POLICY_START`) and the dates
    of new projects (:data:`PROJECT_WINDOW`); levers are uniform (a policy choice), uncertain
    constants keep the distribution chosen by hand in ``previous`` (triangular by default;
    lognormal only over positive ranges); sources come from the ``.mdl`` comments.
    """
    import re

    old: dict[str, dict[str, str]] = {}
    if previous is FROM_PROJECT:
        previous = current_project().factors
    if previous is not None and Path(previous).exists():
        with open(previous, encoding="utf-8", newline="") as f:
            old = {r["name"]: r for r in csv.DictReader(f)}
    rows = []
    for name, p in sorted(model.levers().items(), key=lambda kv: kv[0].lower()):
        low, high = p.low, p.high
        src = f"model range (lever g{p.group}); policy choice, sampled over its whole range"
        if name.endswith("start year") and name != "steel decarbonisation start year":
            low, high = max(p.low, POLICY_START[0]), min(p.high, POLICY_START[1])
            src = (
                f"policy timing within the model range (lever g{p.group}): the Action Programme's "
                "2026-2030 term, started on time or up to five years late; a start before 2026 "
                "would rewrite history, not test a plan"
            )
        if name in PROJECT_YEARS:
            low, high = PROJECT_WINDOW
            src = (
                f"project timing within the model range (lever g{p.group}): no investment decision "
                "by 2025 and at least two years of construction, so 2028 at the earliest"
            )
        rows.append(_row(name, p.units, p.default, low, high, "uniform", "lever", src))
    for name, p in sorted(model.parameters.items(), key=lambda kv: kv[0].lower()):
        if p.role != "uncertain":
            continue
        prev = old.get(name, {})
        dist = prev.get("distribution") if prev.get("group") == "uncertainty" else "triangular"
        if dist not in DISTRIBUTIONS or (dist == "lognormal" and p.low <= 0):
            dist = "triangular"
        comment = (
            re.sub(r"^\s*(uncertain|calibrated)\s*:\s*", "", p.comment).replace("\n", " ").strip()
        )
        rows.append(
            _row(
                name,
                p.units,
                p.default,
                p.low,
                p.high,
                dist,
                "uncertainty",
                "model range (uncertain); " + comment,
            )
        )
    return rows


def _row(name, unit, default, low, high, dist, group, source) -> dict[str, str]:
    return {
        "name": name,
        "variable": name,
        "unit": unit,
        "default": f"{default:g}",
        "low": f"{low:g}",
        "high": f"{high:g}",
        "distribution": dist,
        "group": group,
        "source": source,
    }


def factor_table_text(rows: list[dict[str, str]]) -> str:
    """The rows as the CSV text of ``sensitivity/factors.csv``."""
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def write_factor_table(model: Model, path: Path | str | None = None) -> Path:
    """Regenerate the factor table from the ``.mdl`` (atomically), keeping chosen distributions;
    the active project's table by default."""
    from hatinh_sd.results import atomic_file

    path = Path(path) if path else current_project().factors
    text = factor_table_text(factor_rows(model, path))
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
