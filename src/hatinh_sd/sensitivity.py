"""Global sensitivity analysis (Morris elementary effects, Sobol indices) with SALib.

A configuration (``sensitivity/<name>.yaml``) names the method, the factors
(rows of ``sensitivity/factors.csv``), the sample size, the seed and the
outputs. Factors are sampled on the unit hypercube by SALib and mapped to
their values through each factor's distribution
(:meth:`hatinh_sd.factors.Factor.ppf`); indices are therefore per unit of
quantile, comparable across factors of different units.

Outputs are one of::

    {target: T01}  # the target's variable in its year
    {target: T01, year: 2050}
    {variable: grdp, year: 2030}
    {variable: grdp, mean: [2021, 2030]}  # average over the years
    {variable: share_industry, every_year: true}

A Sobol configuration may analyse groups of factors instead of single factors
(SALib's ``groups``: the factors of a group are re-sampled together, and S1/ST
are the group's)::

    groups: [task_groups, calibrated_parameters, outside_world]

names the groups by kind, never by listing factors: ``task_groups`` is one
group per task group of Action Programme 26-CTr/TU, its members the lever
factors (levers and their timing parameters) of that task group in the lever
catalogue (``scenarios/levers.yaml``, which reads it from the ``.mdl``); a task
group without a lever among the factors is left out and said so.
``calibrated_parameters`` is the posterior-draw factor (``posterior: true``) and
``outside_world`` every other factor (the uncertain constants: national and
world drivers, structural constants). Every factor must fall in a group and
every group named must have a member. ``every_year_step: 5`` analyses
``every_year`` outputs every fifth year.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from hatinh_sd.ensemble import DEFAULT_CHUNK_SIZE
from hatinh_sd.errors import MAX_SEED, HatinhInputError, did_you_mean, parse_yaml, validate

__all__ = [
    "GROUP_KINDS",
    "METHODS",
    "Method",
    "SensitivityResult",
    "FactorGroup",
    "OutputSpec",
    "SensitivityConfig",
    "analyse",
    "convergence",
    "evaluate_outputs",
    "factor_groups",
    "load_config",
    "sample",
]


def _sample_morris(prob: dict[str, Any], n: int, seed: int, num_levels: int, second_order: bool):
    from SALib.sample import morris

    return morris.sample(prob, n, num_levels=num_levels, seed=seed)


def _sample_sobol(prob: dict[str, Any], n: int, seed: int, num_levels: int, second_order: bool):
    from SALib.sample import sobol

    return sobol.sample(prob, n, calc_second_order=second_order, seed=seed)


def _analyse_morris(prob, x, y, *, seed, num_levels, second_order, num_resamples) -> dict:
    from SALib.analyze import morris

    r = morris.analyze(prob, x, y, num_levels=num_levels, num_resamples=num_resamples, seed=seed)
    return {k: np.asarray(r[k], dtype=float) for k in ("mu_star", "mu_star_conf", "sigma", "mu")}


def _analyse_sobol(prob, x, y, *, seed, num_levels, second_order, num_resamples) -> dict:
    from SALib.analyze import sobol

    r = sobol.analyze(
        prob, y, calc_second_order=second_order, num_resamples=num_resamples, seed=seed
    )
    keys = ["S1", "S1_conf", "ST", "ST_conf"] + (["S2", "S2_conf"] if second_order else [])
    return {k: np.asarray(r[k], dtype=float) for k in keys}


def _levels_problem_morris(num_levels: int) -> str | None:
    if num_levels < 2 or num_levels % 2:
        return f"num_levels = {num_levels}: Morris needs an even number >= 2"
    return None


def _n_problem_morris(n: int) -> str | None:
    return f"n = {n}: Morris needs at least 2 trajectories" if n < 2 else None


def _n_problem_sobol(n: int) -> str | None:
    if n < 2 or n & (n - 1):
        return f"n = {n}: Sobol sampling needs a power of two (e.g. 256, 512, 1024)"
    return None


@dataclasses.dataclass(frozen=True)
class Method:
    """A sensitivity method: SALib's sampler and analyser paired (as SALib pairs
    ``sample/x.py`` with ``analyze/x.py``), and what the project reads from its indices.

    ``main_index`` ranks factors; ``first_index`` is drawn over time; ``normalised``: the
    indices are shown and compared (N against N/2) as shares of each output's largest;
    ``runs(n, d, second_order)`` counts the runs of ``n`` base samples of ``d`` factors (or
    groups); ``n_problem(n)`` and ``levels_problem(num_levels)`` say what is wrong with those
    options (``None``: nothing); ``groups``: factor groups allowed.
    """

    name: str
    sample: Callable[..., np.ndarray]
    analyse: Callable[..., dict[str, np.ndarray]]
    n_problem: Callable[[int], str | None]
    runs: Callable[[int, int, bool], int]
    main_index: str
    first_index: str
    normalised: bool
    groups: bool
    levels_problem: Callable[[int], str | None] = lambda num_levels: None


#: The methods, by name (``method:`` of a configuration).
METHODS: dict[str, Method] = {
    "morris": Method(
        "morris",
        _sample_morris,
        _analyse_morris,
        _n_problem_morris,
        lambda n, d, second_order: n * (d + 1),
        main_index="mu_star",
        first_index="mu_star",
        normalised=True,
        groups=False,
        levels_problem=_levels_problem_morris,
    ),
    "sobol": Method(
        "sobol",
        _sample_sobol,
        _analyse_sobol,
        _n_problem_sobol,
        lambda n, d, second_order: n * (2 * d + 2 if second_order else d + 2),
        main_index="ST",
        first_index="S1",
        normalised=False,
        groups=True,
    ),
}

#: Kinds of factor groups a Sobol configuration may name (``groups:``).
GROUP_KINDS = ("task_groups", "levers", "calibrated_parameters", "outside_world")
#: Names of the two groups that are not task groups.
CALIBRATED_GROUP = "calibrated parameters"
OUTSIDE_GROUP = "outside world"


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    """One analysed output: a variable in a year, averaged over years, or every year."""

    label: str
    variable: str
    year: int | None = None
    mean: tuple[int, int] | None = None
    every_year: bool = False
    #: The target id or variable the label starts with (charts gather its years).
    base: str = ""
    #: The target id when the output is a target's indicator ("" otherwise): the tables say
    #: it in a column, so that nothing parses it back out of the label.
    target: str = ""

    def years(self) -> list[int]:
        if self.year is not None:
            return [self.year]
        if self.mean is not None:
            return list(range(self.mean[0], self.mean[1] + 1))
        return []


@dataclasses.dataclass(frozen=True)
class FactorGroup:
    """A group of factors analysed together (Sobol ``groups``).

    ``kind`` is one of :data:`GROUP_KINDS`; ``number`` and ``title_vi``/``title_en``
    are the Action Programme task group's (``None``/empty for the other kinds).
    """

    name: str
    kind: str
    members: tuple[str, ...]
    number: int | None = None
    title_vi: str = ""
    title_en: str = ""


@dataclasses.dataclass(frozen=True)
class SensitivityConfig:
    """A sensitivity run's settings (see the module docstring)."""

    method: str
    factors: list[Any]
    n: int
    seed: int
    outputs: list[OutputSpec]
    num_levels: int = 4
    second_order: bool = False
    num_resamples: int = 100
    chunk_size: int = DEFAULT_CHUNK_SIZE
    path: Path | None = None
    #: Path of the posterior draws when one factor is the posterior draw (``posterior: true``).
    posterior: Path | None = None
    #: Factors left out because the posterior draws them jointly.
    drawn_by_posterior: tuple[str, ...] = ()
    #: Groups of factors (Sobol only); empty: every factor on its own.
    groups: tuple[FactorGroup, ...] = ()
    #: Task groups left out of ``groups`` (number, title_vi, title_en, reason).
    groups_left_out: tuple[tuple[int, str, str, str], ...] = ()
    #: Analyse ``every_year`` outputs every this many years.
    every_year_step: int = 1

    @property
    def units(self) -> list[str]:
        """What the indices are of, in the order of SALib's results: factor names, or
        group names in the order the groups first appear among the factors (SALib
        orders groups so, in its design and in its results; not :attr:`groups`' order)."""
        if not self.groups:
            return [f.name for f in self.factors]
        return list(dict.fromkeys(self.group_of()))

    @property
    def unit(self) -> str:
        """Column of the indices table naming what an index is of: ``group`` or ``factor``."""
        return "group" if self.groups else "factor"

    def group_of(self) -> list[str]:
        """The group of each factor, in the order of :attr:`factors` (SALib's ``groups``)."""
        by = {m: g.name for g in self.groups for m in g.members}
        return [by[f.name] for f in self.factors]


#: Name of the factor that picks one posterior draw (all fitted parameters and the
#: uncertain constants history informs, jointly): uniform on [0, 1), draw floor(u * n).
POSTERIOR_FACTOR = "posterior draw"


def posterior_factor(path: Path) -> Any:
    """The factor that indexes the committed posterior draws (correlated inputs enter
    Saltelli's and Morris's designs as one independent factor)."""
    from hatinh_sd.factors import Factor

    return Factor(
        POSTERIOR_FACTOR,
        POSTERIOR_FACTOR,
        "",
        "index (0-1)",
        0.5,
        0.0,
        1.0,
        "uniform",
        "posterior",
        f"{path.name}: posterior of the fitted parameters and history-informed constants",
    )


def expand_posterior(
    cfg: SensitivityConfig, values: np.ndarray, model: Any
) -> tuple[list[str], np.ndarray]:
    """The constants a design sets: the posterior-draw column becomes the draws' values."""
    names = [f.variable for f in cfg.factors]
    if cfg.posterior is None:
        return names, values
    from hatinh_sd.posterior import posterior_draws

    draws = posterior_draws(model, cfg.posterior)
    j = names.index(POSTERIOR_FACTOR)
    idx = np.minimum((values[:, j] * len(draws)).astype(int), len(draws) - 1)
    rest = [n for n in names if n != POSTERIOR_FACTOR]
    return rest + list(draws.columns), np.hstack(
        [np.delete(values, j, axis=1), draws.to_numpy(dtype=float)[idx]]
    )


def _err(msg: str, path: Path, key: str) -> HatinhInputError:
    return HatinhInputError(msg, path=path, key=key)


#: Most model runs one analysis may ask for: the sample alone is
#: runs x factors x 8 bytes (about 300 MB for 75 factors), the results more.
MAX_RUNS = 500_000


def sample_size_problem(
    method: str, n: int, k: int, second_order: bool = False, groups: int | None = None
) -> str | None:
    """What is wrong with sample size ``n`` of ``k`` factors (``None`` when it can run).

    ``groups``: the number of factor groups of a grouped Sobol analysis (the runs
    are counted by groups, the memory of the sample by factors).
    """
    m = METHODS[method]
    if (problem := m.n_problem(n)) is not None:
        return problem
    runs = m.runs(n, groups or k, second_order)
    if runs > MAX_RUNS:
        what = f"{groups} groups of {k} factors" if groups else f"{k} factors"
        return (
            f"n = {n} with {what} means {runs:,} runs ({runs * k * 8 / 1e6:,.0f} MB of"
            f" samples alone); at most {MAX_RUNS:,} runs"
        )
    return None


def factor_groups(
    factors: list[Any], kinds: list[str], catalogue: Any
) -> tuple[list[FactorGroup], list[tuple[int, str, str, str]]]:
    """The groups of kinds ``kinds`` (see the module docstring) over ``factors``.

    A factor is in a task group when its variable is a lever (or timing parameter)
    of ``catalogue`` (:func:`hatinh_sd.scenarios.load_catalogue`), in the task group
    ``catalogue.parameters[variable].group``; the posterior-draw factor is the
    calibrated parameters; every other factor is the outside world.

    Returns
    -------
    groups : list of FactorGroup
        In the order of ``kinds``, task groups by number.
    left_out : list of (number, title_vi, title_en, reason)
        Task groups with no member; reason ``no_lever_in_model`` or ``no_lever_in_factors``.

    Raises
    ------
    HatinhInputError
        An unknown kind, a kind listed twice, a named group with no member, a
        factor in no group, or fewer than two groups (no key or path: the caller adds them).
    """
    for kind in kinds:
        if kind not in GROUP_KINDS:
            raise HatinhInputError(
                f"unknown group kind '{kind}'{did_you_mean(kind, GROUP_KINDS)} (allowed: "
                f"{', '.join(GROUP_KINDS)})"
            )
    twice = sorted({k for k in kinds if kinds.count(k) > 1})
    if twice:
        raise HatinhInputError(f"group kind(s) {', '.join(twice)} listed twice")
    if {"task_groups", "levers"} <= set(kinds):
        raise HatinhInputError(
            "group kinds 'task_groups' and 'levers' both group the levers; name one"
        )
    levers = catalogue.parameters
    lever_kind = "levers" if "levers" in kinds else "task_groups"

    def kind_of(f: Any) -> str:
        if f.name == POSTERIOR_FACTOR:
            return "calibrated_parameters"
        return lever_kind if f.variable in levers else "outside_world"

    groups: list[FactorGroup] = []
    left_out: list[tuple[int, str, str, str]] = []
    #: The single-group kinds: (group name, why it can be empty).
    single = {
        "calibrated_parameters": (
            CALIBRATED_GROUP,
            "it is the posterior draw, set 'posterior: true'",
        ),
        "outside_world": (
            OUTSIDE_GROUP,
            "no factor is an uncertain constant outside the posterior draw",
        ),
    }
    for kind in kinds:
        members = [f for f in factors if kind_of(f) == kind]
        if kind in single:
            name, why = single[kind]
            if not members:
                raise HatinhInputError(f"group kind '{kind}' has no member: {why}")
            groups.append(FactorGroup(name, kind, tuple(f.name for f in members)))
        elif kind == "levers":  # each lever (or timing parameter) on its own
            if not members:
                raise HatinhInputError("group kind 'levers' has no member: no factor is a lever")
            for f in members:
                tg = catalogue.task_groups.get(levers[f.variable].group)
                groups.append(
                    FactorGroup(
                        f.name,
                        kind,
                        (f.name,),
                        number=levers[f.variable].group,
                        title_vi=tg.title.vi if tg else "",
                        title_en=tg.title.en if tg else "",
                    )
                )
        else:
            if not members:
                raise HatinhInputError(
                    "group kind 'task_groups' has no member: no factor is a lever"
                )
            in_model = {p.group for p in levers.values()}
            for number, tg in catalogue.task_groups.items():
                these = [f.name for f in members if levers[f.variable].group == number]
                if not these:
                    reason = "no_lever_in_factors" if number in in_model else "no_lever_in_model"
                    left_out.append((number, tg.title.vi, tg.title.en, reason))
                    continue
                groups.append(
                    FactorGroup(
                        f"task group {number}",
                        kind,
                        tuple(these),
                        number=number,
                        title_vi=tg.title.vi,
                        title_en=tg.title.en,
                    )
                )
            stray = [
                f.name for f in members if levers[f.variable].group not in catalogue.task_groups
            ]
            if stray:
                raise HatinhInputError(
                    f"lever(s) {', '.join(stray)} have no task group of the catalogue"
                )
    loose = [f.name for f in factors if kind_of(f) not in kinds]
    if loose:
        need = sorted({kind_of(f) for f in factors if kind_of(f) not in kinds})
        raise HatinhInputError(
            f"{len(loose)} factor(s) belong to no group (e.g. '{loose[0]}'): add"
            f" {', '.join(need)} to groups or leave them out of factors"
        )
    if len(groups) < 2:
        raise HatinhInputError(
            f"at least two groups are needed, not {len(groups)}"
            + (f" ({groups[0].name})" if groups else "")
        )
    return groups, left_out


class _OutputEntry(BaseModel):
    """One output of a configuration (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    target: str | None = None
    variable: str | None = None
    year: StrictInt | None = None
    mean: tuple[StrictInt, StrictInt] | None = None
    every_year: StrictBool = False


class _ConfigFile(BaseModel):
    """The file's shape and types; what needs the model (factors, targets, variables,
    sample size against the number of factors) is checked by :func:`load_config`."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["morris", "sobol"]
    description: str = ""
    factors: Literal["all", "lever", "uncertainty"] | list[str] = "all"
    factor_table: str | None = None
    posterior: StrictBool | str = False
    n: StrictInt
    seed: StrictInt = Field(12345, ge=0, le=MAX_SEED)
    num_levels: StrictInt = Field(4, ge=2, le=100)
    second_order: StrictBool = False
    num_resamples: StrictInt = Field(100, ge=1, le=10_000)
    chunk_size: StrictInt = Field(DEFAULT_CHUNK_SIZE, ge=1)
    groups: str | list[str] | None = None
    every_year_step: StrictInt = Field(1, ge=1)
    outputs: list[_OutputEntry] = Field(min_length=1)

    @field_validator("groups", mode="before")
    @classmethod
    def _kinds(cls, value: object) -> object:
        if value is None or isinstance(value, str):
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"groups is a list of group kinds ({', '.join(GROUP_KINDS)})")
        return value

    @field_validator("factors")
    @classmethod
    def _each_once(cls, value: object) -> object:
        if isinstance(value, list):
            twice = sorted({n for n in value if value.count(n) > 1})
            if twice:
                raise ValueError(f"factor(s) {', '.join(twice)} listed twice")
        return value


def load_config(path: Path | str, model: Any = None, catalogue: Any = None) -> SensitivityConfig:
    """Read and check a sensitivity configuration.

    ``catalogue`` is the lever catalogue that assigns levers to task groups
    (``groups: [task_groups, ...]``; :func:`hatinh_sd.scenarios.load_catalogue` by default).

    Raises
    ------
    HatinhInputError
        Unknown keys or method, unknown factors or outputs, or a sample size
        SALib cannot use (Sobol: a power of two; Morris: at least 2 trajectories
        and an even number of levels); groups of a Morris configuration, an
        unknown group kind, a group with no member or a factor in no group.
    """
    from hatinh_sd.data import load_targets
    from hatinh_sd.factors import load_factors
    from hatinh_sd.model import load_model
    from hatinh_sd.project import current_project
    from hatinh_sd.targets import indicator_variables

    path = Path(path)
    doc, node = parse_yaml(path, missing="configuration file not found")
    if not isinstance(doc, dict):
        raise _err("expected a mapping (method, factors, n, outputs, ...)", path, "")
    cfg = validate(_ConfigFile, doc, path, node)
    doc = cfg.model_dump(exclude_unset=True)
    doc["outputs"] = [o.model_dump(exclude_unset=True) for o in cfg.outputs]
    method = cfg.method
    model = model or load_model()
    table = doc.get("factor_table")
    project = current_project()
    table_path = (project.root / table) if table else project.factors
    sel = doc.get("factors", "all")
    if sel == "all":
        factors = load_factors(table_path, model)
    elif sel in ("lever", "uncertainty"):
        factors = [f for f in load_factors(table_path, model) if f.group == sel]
    else:
        try:
            factors = load_factors(table_path, model, names=sel)
        except HatinhInputError as exc:
            raise _err(exc.message, path, "factors") from None
    post = cfg.posterior
    posterior_path = None
    dropped: list[str] = []
    if post:
        from hatinh_sd.posterior import posterior_draws

        try:
            posterior_path = project.path("posterior") if post is True else project.root / str(post)
            columns = set(posterior_draws(model, posterior_path).columns)
        except HatinhInputError as exc:
            raise _err(exc.message, path, "posterior") from None
        dropped = [f.name for f in factors if f.variable in columns]
        factors = [f for f in factors if f.variable not in columns] + [
            posterior_factor(posterior_path)
        ]
    if len(factors) < 2:
        raise _err("at least two factors are needed", path, "factors")
    groups: list[FactorGroup] = []
    left_out: list[tuple[int, str, str, str]] = []
    if cfg.groups is not None:
        if not METHODS[method].groups:
            raise _err("groups are analysed by Sobol only; use method: sobol", path, "groups")
        kinds = [cfg.groups] if isinstance(cfg.groups, str) else list(cfg.groups)
        if catalogue is None:
            from hatinh_sd.scenarios import load_catalogue

            catalogue = load_catalogue(model=model)
        try:
            groups, left_out = factor_groups(factors, kinds, catalogue)
        except HatinhInputError as exc:
            raise _err(exc.message, path, "groups") from None

    second, n, seed = cfg.second_order, cfg.n, cfg.seed
    num_levels, chunk_size, num_resamples = cfg.num_levels, cfg.chunk_size, cfg.num_resamples
    n_groups = len(groups) or None
    if (problem_n := sample_size_problem(method, n, len(factors), second, n_groups)) is not None:
        raise _err(problem_n, path, "n")
    if (problem_levels := METHODS[method].levels_problem(num_levels)) is not None:
        raise _err(problem_levels, path, "num_levels")

    targets = load_targets()
    specs: list[OutputSpec] = []
    first, last = int(model.initial_time), int(model.final_time)
    for i, item in enumerate(doc["outputs"]):
        key = f"outputs.{i}"
        if "target" in item:
            tid = str(item["target"])
            row = targets.loc[targets["target_id"] == tid]
            if row.empty or row.iloc[0]["indicator"] not in indicator_variables():
                ok = [
                    t
                    for t in targets["target_id"]
                    if targets.set_index("target_id").loc[t, "indicator"] in indicator_variables()
                ]
                raise _err(f"unknown target '{tid}'; allowed: {', '.join(ok)}", path, key)
            var = str(row.iloc[0]["variable"])
            year = item.get("year", int(row.iloc[0]["year"]))
            label_base = target = tid
        elif "variable" in item:
            try:
                var = model.py_name(str(item["variable"]))
            except KeyError:
                raise _err(
                    f"'{item['variable']}' is not a model variable"
                    + did_you_mean(item["variable"], model.outputs),
                    path,
                    key,
                ) from None
            if var not in model.outputs:
                raise _err(f"'{item['variable']}' does not vary over time", path, key)
            year = item.get("year")
            label_base, target = var, ""
        else:
            raise _err("an output needs 'target' or 'variable'", path, key)
        if item.get("every_year"):
            specs.append(
                OutputSpec(
                    label=f"{label_base}_every_year",
                    variable=var,
                    every_year=True,
                    base=label_base,
                    target=target,
                )
            )
            continue
        if "mean" in item:
            span = item["mean"]
            if not first <= span[0] <= span[1] <= last:
                raise _err(f"mean must be [FIRST, LAST] years within {first}-{last}", path, key)
            specs.append(
                OutputSpec(
                    label=f"{label_base}_mean_{span[0]}_{span[1]}",
                    variable=var,
                    mean=(span[0], span[1]),
                    base=label_base,
                    target=target,
                )
            )
            continue
        if year is None or not first <= year <= last:
            raise _err(f"year must be a year within {first}-{last}, not {year}", path, key)
        specs.append(
            OutputSpec(
                label=f"{label_base}_{year}",
                variable=var,
                year=int(year),
                base=label_base,
                target=target,
            )
        )
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise _err("an output is listed twice", path, "outputs")
    return SensitivityConfig(
        method=method,
        factors=factors,
        n=n,
        seed=seed,
        outputs=specs,
        num_levels=num_levels,
        second_order=second,
        num_resamples=num_resamples,
        chunk_size=chunk_size,
        path=path,
        posterior=posterior_path,
        drawn_by_posterior=tuple(dropped),
        groups=tuple(groups),
        groups_left_out=tuple(left_out),
        every_year_step=cfg.every_year_step,
    )


def problem(names: list[str], groups: list[str] | None = None) -> dict[str, Any]:
    """SALib problem on the unit hypercube for factors ``names``.

    ``groups``: the group of each factor (SALib's ``groups``: Sobol sampling
    re-samples a group's factors together and the indices are the groups').
    """
    prob = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    if groups is not None:
        if len(groups) != len(names):
            raise ValueError(f"{len(groups)} group labels for {len(names)} factors")
        prob["groups"] = list(groups)
    return prob


def config_problem(cfg: SensitivityConfig) -> dict[str, Any]:
    """The SALib problem of a configuration (with ``groups`` when it has groups)."""
    names = [f.name for f in cfg.factors]
    return problem(names, cfg.group_of() if cfg.groups else None)


def sample(
    method: str,
    prob: dict[str, Any],
    n: int,
    seed: int,
    *,
    num_levels: int = 4,
    second_order: bool = False,
) -> np.ndarray:
    """Draw SALib's design (unit hypercube) for ``method``."""
    return METHODS[method].sample(prob, n, seed, num_levels, second_order)


def analyse(
    method: str,
    prob: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    num_levels: int = 4,
    second_order: bool = False,
    num_resamples: int = 100,
) -> dict[str, Any]:
    """Indices of one output ``y`` (one value per row of ``x``).

    Returns
    -------
    dict
        Morris: ``mu_star``, ``mu_star_conf``, ``sigma``, ``mu``; Sobol: ``S1``,
        ``S1_conf``, ``ST``, ``ST_conf`` (and ``S2``, ``S2_conf``); arrays by factor,
        or by group (in order of first appearance) when ``prob`` has ``groups``.
    """
    y = np.asarray(y, dtype=float)
    if not np.isfinite(y).all():
        raise ValueError("output has NaN or infinite values; see the bad-runs report")
    return METHODS[method].analyse(
        prob,
        x,
        y,
        seed=seed,
        num_levels=num_levels,
        second_order=second_order,
        num_resamples=num_resamples,
    )


def evaluate_outputs(ds: xr.Dataset, specs: list[OutputSpec]) -> dict[str, np.ndarray]:
    """Scalar outputs (label -> one value per sample), and every-year outputs (label -> sample x time)."""
    out: dict[str, np.ndarray] = {}
    for s in specs:
        da = ds[s.variable]
        if s.every_year:
            out[s.label] = da.transpose("sample", "time").values
        elif s.mean is not None:
            out[s.label] = da.sel(time=s.years()).mean("time").values
        else:
            out[s.label] = da.sel(time=s.year).values
    return out


def _rows_for_half(method: str, n_rows: int, n: int) -> int:
    """Rows of the design that form the same design at half the size."""
    return (n_rows // n) * (n // 2)


def indices_table(
    cfg: SensitivityConfig,
    x: np.ndarray,
    values: dict[str, np.ndarray],
    times: np.ndarray,
    *,
    rows: int | None = None,
    every_year_step: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Indices of every output as a long table, S2 (Sobol, if asked), and skipped outputs.

    An output (or year) with a NaN or infinite value in any run is not
    analysed: it is listed in the third table with the number of such runs
    (the runs themselves are reported by :func:`hatinh_sd.ensemble.bad_runs`).

    ``rows`` restricts the analysis to the first rows of the design (convergence).

    With groups, the rows are per group (column ``group``, with its ``kind`` and
    number of factors ``n_factors``) instead of per factor.
    """
    names = cfg.units
    by_name = {g.name: g for g in cfg.groups}
    prob = config_problem(cfg)
    every_year_step = every_year_step or cfg.every_year_step
    rows = rows or x.shape[0]
    recs: list[dict[str, Any]] = []
    s2recs: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    kw = dict(
        seed=cfg.seed,
        num_levels=cfg.num_levels,
        second_order=cfg.second_order,
        num_resamples=cfg.num_resamples,
    )
    for s in cfg.outputs:
        y = values[s.label]
        series: list[tuple[int | None, np.ndarray]]
        if s.every_year:
            steps = [(int(t), y[:rows, j]) for j, t in enumerate(times)][::every_year_step]
            series = [(t, v) for t, v in steps if t > int(times[0])]
        else:
            series = [(s.year if s.year is not None else None, y[:rows])]
        for year, v in series:
            n_bad = int((~np.isfinite(v)).sum())
            if n_bad:
                skipped.append({"output": s.label, "year": year, "non_finite_runs": n_bad})
                continue
            res = analyse(cfg.method, prob, x[:rows], v, **kw)  # type: ignore[arg-type]
            # rows of a grouped table in the configuration's order of groups
            pairs = [(names.index(g.name), g.name) for g in cfg.groups] or enumerate(names)
            for i, name in pairs:
                rec: dict[str, Any]
                if cfg.groups:
                    g = by_name[name]
                    rec = {
                        "output": s.label,
                        "target": s.target,
                        "variable": s.variable,
                        "year": year,
                        "group": name,
                        "kind": g.kind,
                        "n_factors": len(g.members),
                    }
                else:
                    rec = {
                        "output": s.label,
                        "target": s.target,
                        "variable": s.variable,
                        "year": year,
                        "factor": name,
                        "group": cfg.factors[i].group,
                    }
                for k, arr in res.items():
                    if k in ("S2", "S2_conf"):
                        continue
                    rec[k] = float(arr[i])
                recs.append(rec)
            if "S2" in res:
                for i in range(len(names)):
                    for j in range(i + 1, len(names)):
                        s2recs.append(
                            {
                                "output": s.label,
                                "year": year,
                                f"{cfg.unit}_i": names[i],
                                f"{cfg.unit}_j": names[j],
                                "S2": float(res["S2"][i, j]),
                                "S2_conf": float(res["S2_conf"][i, j]),
                            }
                        )
    return (
        pd.DataFrame(recs),
        pd.DataFrame(s2recs),
        pd.DataFrame(skipped, columns=["output", "year", "non_finite_runs"]),
    )


def main_index(method: str) -> str:
    """The index that ranks factors: ``mu_star`` (Morris) or ``ST`` (Sobol)."""
    return METHODS[method].main_index


def convergence(
    full: pd.DataFrame, half: pd.DataFrame, method: str, unit: str = "factor"
) -> pd.DataFrame:
    """Indices at N and N/2 side by side, per scalar output and factor (or ``unit``: group).

    Morris mu* is normalised by the output's largest mu* so that differences
    read as shares of the leading factor's effect.
    """
    key = main_index(method)
    cols = ["output", unit]
    a = full.loc[~full["output"].str.endswith("_every_year"), cols + [key]].copy()
    b = half.loc[~half["output"].str.endswith("_every_year"), cols + [key]].copy()
    if METHODS[method].normalised:
        for df in (a, b):
            df[key] = df[key] / df.groupby("output")[key].transform("max").replace(0, np.nan)
    m = a.merge(b, on=cols, suffixes=("_N", "_N2"))
    m["abs_diff"] = (m[f"{key}_N"] - m[f"{key}_N2"]).abs()
    return m


def top_factors(table: pd.DataFrame, method: str, output: str, k: int = 5) -> pd.DataFrame:
    """The ``k`` factors with the largest main index for ``output``."""
    key = main_index(method)
    t = table.loc[table["output"] == output].sort_values(key, ascending=False)
    return t.head(k)


# ------------------------------------------------------------------- charts
def group_labels(groups: tuple[FactorGroup, ...] | list[FactorGroup], lang: str) -> dict[str, str]:
    """Display label of each group in ``lang`` (task groups: the catalogue's title)."""
    from hatinh_sd.i18n import text

    out = {}
    from hatinh_sd.vocabulary import label

    for g in groups:
        if g.kind == "levers":  # the lever's label, coloured by its task group
            out[g.name] = text(
                "sensitivity.group_lever", lang, number=g.number, lever=label(g.name, lang)
            )
        elif g.number is not None:
            title = g.title_vi if lang == "vi" else g.title_en
            out[g.name] = text("sensitivity.group_task", lang, number=g.number, title=title)
        elif g.kind == "calibrated_parameters":
            out[g.name] = text("sensitivity.group_calibrated", lang)
        else:
            out[g.name] = text("sensitivity.group_outside", lang)
    return out


def group_shares(rows: pd.DataFrame) -> tuple[pd.Series, float, pd.Series]:
    """Variance shares of the groups of one output (rows: its grouped indices).

    Returns first-order shares (S1, negative estimates as 0, scaled down when
    their sum passes 1), the interaction remainder ``1 - sum`` and the total-order
    indices normalised to sum to 1 (a group's interactions count in every group
    taking part). An output that does not vary (every index 0) has no share at all.
    """
    s1 = rows.set_index("group")["S1"].clip(lower=0)
    if s1.sum() > 1:
        s1 = s1 / s1.sum()
    st = rows.set_index("group")["ST"].clip(lower=0)
    if st.sum() <= 0:
        return s1 * 0, 0.0, st * 0
    return s1, float(max(0.0, 1 - s1.sum())), st / st.sum()


@dataclasses.dataclass
class SensitivityResult:
    """What :func:`run_analysis` returns: the design, the runs and the tables."""

    x: np.ndarray  #: SALib's design (unit hypercube), one row a run
    values: np.ndarray  #: the factors' values of each run, in their units
    ensemble: xr.Dataset  #: the runs' outputs, with the factor values as coordinates
    bad: pd.DataFrame  #: runs with NaN, infinite or negative stocks (:func:`bad_runs`)
    table: pd.DataFrame  #: indices of every output (:func:`indices_table`)
    s2: pd.DataFrame  #: Sobol second-order indices, if asked for
    skipped: pd.DataFrame  #: outputs not analysed (non-finite runs)
    convergence: pd.DataFrame  #: the main index at N and N/2 (:func:`convergence`)


def run_analysis(
    cfg: SensitivityConfig,
    *,
    model: Any = None,
    run: Callable[..., xr.Dataset] | None = None,
    **ensemble_kw: Any,
) -> SensitivityResult:
    """Sample, run the ensemble, analyse; return the design, results and tables."""
    from hatinh_sd.ensemble import bad_runs, run_ensemble
    from hatinh_sd.factors import to_values
    from hatinh_sd.model import load_model

    model = model or load_model()
    prob = config_problem(cfg)
    x = sample(
        cfg.method, prob, cfg.n, cfg.seed, num_levels=cfg.num_levels, second_order=cfg.second_order
    )
    values = to_values(cfg.factors, x)
    constants, run_values = expand_posterior(cfg, values, model)
    outputs = sorted({s.variable for s in cfg.outputs})
    ds = (run or run_ensemble)(
        run_values,
        constants,
        outputs=outputs,
        model=model,
        chunk_size=cfg.chunk_size,
        seed=cfg.seed,
        **ensemble_kw,
    )
    bad = bad_runs(ds)
    ys = evaluate_outputs(ds, cfg.outputs)
    times = ds["time"].values
    table, s2, skipped = indices_table(cfg, x, ys, times)
    half_rows = _rows_for_half(cfg.method, x.shape[0], cfg.n)
    half, _, _ = indices_table(
        dataclasses.replace(
            cfg, outputs=[s for s in cfg.outputs if not s.every_year], n=cfg.n // 2
        ),
        x,
        ys,
        times,
        rows=half_rows,
    )
    conv = convergence(table, half, cfg.method, cfg.unit)
    return SensitivityResult(x, values, ds, bad, table, s2, skipped, conv)
