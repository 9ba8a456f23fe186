"""Scenarios for planners: the lever catalogue, scenario files and their resolution.

The lever catalogue (``scenarios/levers.yaml``) says which policy levers the
model has, which model variables they set, how their timing works and which
task group of Action Programme 26-CTr/TU each implements. Units, defaults,
ranges and group numbers come from the model itself (:attr:`Model.parameters`,
read from the ``.mdl``); :func:`load_catalogue` checks the file against them.

A scenario file (``scenarios/<name>.yaml``) holds only what it changes from
``scenarios/baseline.yaml``; it is validated by a pydantic schema (unknown keys
are errors), merged over the baseline and converted into the model's scalar
parameters. A lever value is one of::

    vocational training: 15                              # constant (model's default timing)
    vocational training: {value: 15, year: 2028}         # step in 2028
    vocational training: {value: 15, from: 2026, to: 2030}  # linear ramp 2026-2030

A step sets ``X start year`` (and ``X ramp years`` = 0); a ramp sets both
start and ramp years, or the shared timing parameters of the lever's group
(``investment policy start year`` ...), so that scenarios are plain constants
that also run in vectorised ensembles.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    ValidationError,
    field_validator,
    model_validator,
)

from hatinh_sd.errors import (
    HatinhInputError,
    check_name,
    did_you_mean,
    line_of,
    parse_yaml,
    validation_error,
)
from hatinh_sd.model import Model, Parameter, load_model
from hatinh_sd.project import current_project

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

__all__ = [
    "Catalogue",
    "LeverEntry",
    "Ramp",
    "Scenario",
    "Step",
    "available_scenarios",
    "deep_merge",
    "dump_scenario",
    "load_catalogue",
    "load_scenario",
    "render_readme",
    "resolve_scenario",
    "run_scenario",
    "scenario_path",
]

#: Files in the scenario folder that are not scenarios.
RESERVED = {"levers"}


# --------------------------------------------------------------------- schemas
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Bilingual(_Strict):
    """A text in Vietnamese and English."""

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Timing(_Strict):
    """The scalar timing parameters a lever's effect depends on."""

    start: str
    ramp: str | None = None


class CostLine(_Strict):
    """One cost of a lever: ``variable`` = ``unit`` x ``quantity`` x the ``factors``."""

    variable: str
    unit: str | None
    quantity: str
    factors: list[str] = Field(default_factory=list)
    account: Literal["budget", "private", "outside"]


class EffectBound(_Strict):
    """The largest effect on 2030 GRDP (per cent) at the top of the lever's range, and why."""

    percent: float = Field(gt=0)
    basis: str = Field(min_length=1)


class LeverEntry(_Strict):
    """A lever of the catalogue (ranges and units come from the model): its label, how the
    explorer shows it (``control``: a slider, or a yes/no ``switch``), what it sets, its timing
    parameters, cost and effect bound."""

    label: Bilingual
    control: Literal["slider", "switch"] = "slider"
    sets: list[str] = Field(min_length=1)
    timing: Timing | None = None
    seek: bool = True
    cost: list[CostLine] | None = None
    no_cost: str | None = None
    effect_bound: EffectBound
    description: Bilingual

    @model_validator(mode="after")
    def _cost_or_reason(self) -> LeverEntry:
        if bool(self.cost) == bool(self.no_cost):
            raise ValueError("give either 'cost' (one or more lines) or 'no_cost' (the reason)")
        return self


class TaskGroup(_Strict):
    """A task group of the Action Programme and, if so, why it is outside the model."""

    title: Bilingual
    short: Bilingual  # the explorer's heading of the group's levers
    economic: bool = False  # an economic group must map to levers
    outside_boundary: Bilingual | None = None


class CatalogueFile(_Strict):
    task_groups: dict[int, TaskGroup]
    levers: dict[str, LeverEntry]
    timing_labels: dict[str, Bilingual] = Field(default_factory=dict)


def _whole_year(value: float) -> float:
    if not float(value).is_integer():
        raise ValueError(f"a year must be a whole calendar year such as 2030, not {value}")
    return value


#: A calendar year (levers change at the start of a year).
Year = Annotated[StrictFloat, AfterValidator(_whole_year)]


class Step(_Strict):
    """A lever value reached in one step at the start of ``year`` (calendar year)."""

    value: StrictFloat
    year: Year


class Ramp(_Strict):
    """A lever value reached by a linear ramp from ``from`` to ``to`` (calendar years)."""

    value: StrictFloat
    from_: Year = Field(alias="from")
    to: Year


LeverValue = Annotated[StrictFloat | Step | Ramp, Field(union_mode="left_to_right")]


class Expected(_Strict):
    """An expected direction of a target indicator against the baseline."""

    indicator: str
    year: Literal[2030, 2050]
    direction: Literal["raise", "lower"]

    @field_validator("indicator")
    @classmethod
    def _known_target(cls, v: str) -> str:
        from hatinh_sd.targets import plan_targets

        if v not in plan_targets():
            raise ValueError(f"'{v}' is not a target id; use one of {', '.join(plan_targets())}")
        return v


class Scenario(_Strict):
    """A scenario file, merged over the baseline.

    Attributes
    ----------
    name : str
        File stem (``action_programme``).
    title, description : Bilingual
    cites : str
        The paragraph of Action Programme 26-CTr/TU the scenario implements.
    levers : dict
        Lever (or timing parameter) name -> constant, :class:`Step` or :class:`Ramp`.
    expected : list of Expected
        Directions against the baseline that the tests check.
    """

    name: str = ""
    title: Bilingual
    description: Bilingual
    cites: str = Field(min_length=1)
    levers: dict[str, LeverValue] = Field(default_factory=dict)
    expected: list[Expected] = Field(default_factory=list)
    path: str = ""


# --------------------------------------------------------------------- YAML
def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse ``path``; return the data and the node tree (for line numbers)."""
    return parse_yaml(path)


def _validation_error(exc: ValidationError, path: Path, node: yaml.Node | None) -> HatinhInputError:
    """The first pydantic error as a one-line :class:`HatinhInputError`.

    For a lever value written as a mapping, the error of the union branch
    (Step or Ramp) with the fewest errors is the one reported.
    """
    errors = exc.errors()
    err = errors[0]

    def branch(e: ErrorDetails) -> str | None:
        return next((k for k in e["loc"] if k in ("Step", "Ramp")), None)

    per_branch: dict[str, list[ErrorDetails]] = {}
    for e in errors:
        b = branch(e)
        if e["loc"][: len(err["loc"]) - 1] == err["loc"][:-1] and b:
            per_branch.setdefault(b, []).append(e)
    if per_branch and isinstance(err.get("input"), dict):
        fewest = min(per_branch.values(), key=len)
        # a key no form of lever value has ('unit') is the mistake, not the key it lacks
        err = min(fewest, key=lambda e: e["type"] != "extra_forbidden")
    lever = any(isinstance(k, str) and (k[:1].isupper() or k == "float") for k in err["loc"])
    hint = (
        "; a lever value is a number, {value: V, year: Y} (a step) or"
        " {value: V, from: Y1, to: Y2} (a ramp)"
        if lever
        else ""
    )
    return validation_error(exc, path, node, err=err, hint=hint)


# --------------------------------------------------------------------- catalogue
class Catalogue:
    """The lever catalogue checked against a model.

    Attributes
    ----------
    path : Path
    task_groups : dict[int, TaskGroup]
    levers : dict[str, LeverEntry]
        Primary levers by model name (timing parameters excluded).
    parameters : dict[str, Parameter]
        The model's metadata of every lever and timing parameter.
    timing_of : dict[str, str]
        Timing parameter -> the first lever using it (for messages).
    timing_labels : dict[str, Bilingual]
        Timing parameter -> its label.
    """

    def __init__(self, path: Path, data: CatalogueFile, model: Model):
        self.path = path
        self.task_groups = dict(sorted(data.task_groups.items()))
        self.levers = data.levers
        self.timing_labels = data.timing_labels
        self.model = model
        self.parameters: dict[str, Parameter] = model.levers()
        self.timing_of: dict[str, str] = {}
        for name, entry in self.levers.items():
            if entry.timing:
                for t in (entry.timing.start, entry.timing.ramp):
                    if t:
                        self.timing_of.setdefault(t, name)

    def group(self, lever: str) -> int:
        """Task group of a lever (from the ``.mdl``)."""
        group = self.parameters[lever].group
        assert group is not None
        return group

    def levers_of(self, group: int) -> list[str]:
        """Levers implementing task group ``group``."""
        return [n for n in self.levers if self.group(n) == group]

    def names(self) -> list[str]:
        """Every name a scenario may set: levers and their timing parameters."""
        return list(self.levers) + list(self.timing_of)

    def label(self, name: str, lang: str) -> str:
        """The label of a lever or timing parameter in ``lang``."""
        entry = self.levers.get(name)
        labels = entry.label if entry is not None else self.timing_labels[name]
        return str(getattr(labels, lang))

    def control(self, name: str) -> str:
        """How the explorer shows a lever or timing parameter: ``slider`` or ``switch`` (the
        lever's ``control``), ``year`` for a start year, ``slider`` for a ramp."""
        entry = self.levers.get(name)
        if entry is not None:
            return entry.control
        starts = {e.timing.start for e in self.levers.values() if e.timing}
        return "year" if name in starts else "slider"

    def value_problem(self, name: str, value: float) -> str | None:
        """What is wrong with ``value`` for lever or timing parameter ``name`` besides its
        range (checked by the model): a switch takes only its two values, a start year is a
        whole year. ``None`` when nothing is, or ``name`` is not the catalogue's."""
        par = self.parameters.get(name)
        if par is None:
            return None
        control = self.control(name)
        if control == "switch" and value not in (par.low, par.high):
            return f"'{name}' is a switch: {par.low:g} (no) or {par.high:g} (yes), not {value:g}"
        if control == "year" and math.isfinite(value) and not float(value).is_integer():
            return f"a start year must be a whole calendar year such as 2030, not {value:g}"
        return None

    def group_label(self, group: int, lang: str) -> str:
        """The explorer's short heading of a task group in ``lang``."""
        return str(getattr(self.task_groups[group].short, lang))


def _check_catalogue(cat: Catalogue, node: yaml.Node | None) -> None:
    path, model = cat.path, cat.model
    levers = cat.parameters
    graph = model.dependency_graph()

    def fail(msg: str, keys: tuple[Any, ...]) -> HatinhInputError:
        return HatinhInputError(
            msg, path=path, line=line_of(node, keys), key=".".join(map(str, keys))
        )

    for name, entry in cat.levers.items():
        if name not in levers:
            hint = did_you_mean(name, levers)
            raise fail(
                f"'{name}' is not a lever of the model (no 'lever gN:' comment){hint}",
                ("levers", name),
            )
        group = levers[name].group
        if group not in cat.task_groups:
            raise fail(
                f"lever '{name}' has task group {group}, not listed in task_groups",
                ("levers", name),
            )
        for var in entry.sets:
            if var not in graph or name not in graph[var]:
                raise fail(
                    f"'{var}' is not a model variable whose equation uses '{name}'",
                    ("levers", name, "sets"),
                )
        for i, line in enumerate(entry.cost or []):
            for field in ("variable", "unit", "quantity"):
                var = getattr(line, field)
                if var is not None and var not in model._real_to_py:
                    raise fail(
                        f"'{var}' is not a model variable", ("levers", name, "cost", i, field)
                    )
            for var in line.factors:
                if var not in model._real_to_py:
                    raise fail(
                        f"'{var}' is not a model variable", ("levers", name, "cost", i, "factors")
                    )
        if entry.timing:
            reach = set(entry.sets).union(*(graph[v] for v in entry.sets))
            for t in (entry.timing.start, entry.timing.ramp):
                if t is None:
                    continue
                if t not in levers:
                    raise fail(
                        f"timing parameter '{t}' is not a lever of the model",
                        ("levers", name, "timing"),
                    )
                users = {v for v, deps in graph.items() if t in deps}
                if not users & reach:
                    raise fail(
                        f"timing parameter '{t}' does not act on {entry.sets}",
                        ("levers", name, "timing"),
                    )
    listed = set(cat.levers) | set(cat.timing_of)
    for name in levers:
        if name not in listed:
            raise fail(f"model lever '{name}' is missing from the catalogue", ("levers",))
    for name in cat.timing_of:
        if name not in cat.timing_labels:
            raise fail(f"timing parameter '{name}' has no label", ("timing_labels",))
    for name in cat.timing_labels:
        if name not in cat.timing_of:
            raise fail(
                f"'{name}' is not a timing parameter of a lever{did_you_mean(name, cat.timing_of)}",
                ("timing_labels", name),
            )
    for name, entry in cat.levers.items():
        p = levers[name]
        if entry.control == "switch" and (p.low, p.high) != (0, 1):
            raise fail(
                f"a switch needs the range [0, 1], not [{p.low:g}, {p.high:g}]",
                ("levers", name, "control"),
            )
    for g, tg in cat.task_groups.items():
        mapped = cat.levers_of(g)
        if not mapped and tg.outside_boundary is None:
            raise fail(
                f"task group {g} has no lever: map one or state 'outside_boundary'",
                ("task_groups", g),
            )
        if mapped and tg.outside_boundary is not None:
            raise fail(
                f"task group {g} has levers {mapped} but is declared outside the boundary",
                ("task_groups", g),
            )
        if tg.economic and not mapped:
            raise fail(f"economic task group {g} must map to levers", ("task_groups", g))
    if sorted(cat.task_groups) != list(range(1, len(cat.task_groups) + 1)):
        raise fail(
            f"task_groups must be numbered 1 to {len(cat.task_groups)} without gaps",
            ("task_groups",),
        )


def load_catalogue(path: Path | str | None = None, model: Model | None = None) -> Catalogue:
    """Load ``scenarios/levers.yaml`` and check it against the model.

    Raises
    ------
    HatinhInputError
        Malformed YAML, unknown keys, a lever the model does not have, a model
        lever missing from the file, a ``sets`` variable that does not use the
        lever, or a task group neither mapped nor declared outside the boundary.
    """
    path = Path(path) if path else current_project().scenarios / "levers.yaml"
    model = model or load_model()
    return _load_catalogue_cached(
        str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0, id(model), model
    )


@cache
def _load_catalogue_cached(path_s: str, _mtime: int, _mid: int, model: Model) -> Catalogue:
    path = Path(path_s)
    data, node = _read_yaml(path)
    try:
        parsed = CatalogueFile.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, path, node) from None
    cat = Catalogue(path, parsed, model)
    _check_catalogue(cat, node)
    return cat


# --------------------------------------------------------------------- scenarios
def available_scenarios(folder: Path | str | None = None) -> list[str]:
    """Names of the scenario files in ``folder`` (``scenarios/``), baseline first."""
    folder = Path(folder) if folder else current_project().scenarios
    names = sorted(p.stem for p in folder.glob("*.yaml") if p.stem not in RESERVED)
    return sorted(names, key=lambda n: n != "baseline")


def scenario_path(name: str, folder: Path | str | None = None) -> Path:
    """The file of scenario ``name`` (or ``name`` itself if it is a YAML path)."""
    folder = Path(folder) if folder else current_project().scenarios
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        check_name(path.stem, what="scenario file name", path=path)
        return path
    path = folder / f"{name}.yaml"
    if name in RESERVED or not path.exists():
        names = available_scenarios(folder)
        raise HatinhInputError(
            f"no scenario named '{name}'{did_you_mean(name, names)} (available: "
            f"{', '.join(names)})",
            path=folder,
        )
    return path


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into a copy of ``base``: mappings merge key by key, other values replace.

    A lever's value is a leaf: a scenario's ``{value, year}`` replaces the
    baseline's entry for that lever as a whole.
    """
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if key != "levers" and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        elif key == "levers" and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **copy.deepcopy(dict(value))}
        else:
            out[key] = copy.deepcopy(value)
    return out


def _parse(path: Path) -> tuple[Scenario, yaml.Node | None, dict[str, Any]]:
    data, node = _read_yaml(path)
    if not isinstance(data, dict):
        raise HatinhInputError(
            "a scenario file must be a mapping (title, description, cites, levers, expected)",
            path=path,
        )
    try:
        scn = Scenario.model_validate({**data, "name": path.stem, "path": str(path)})
    except ValidationError as exc:
        raise _validation_error(exc, path, node) from None
    return scn, node, data


def load_scenario(
    name: str,
    folder: Path | str | None = None,
    *,
    model: Model | None = None,
    catalogue: Catalogue | None = None,
) -> Scenario:
    """Load scenario ``name`` (or a YAML path), merged over the baseline, and check its levers.

    The scenario file may omit ``expected`` and any lever it does not change;
    ``title``, ``description`` and ``cites`` are its own. Every lever value is
    resolved once (:func:`resolve_scenario`) so that all errors surface before
    any run starts.
    """
    folder = Path(folder) if folder else current_project().scenarios
    path = scenario_path(name, folder)
    scn, node, data = _parse(path)
    model = model or load_model()
    catalogue = catalogue or load_catalogue(model=model)
    _check_levers(scn, node, catalogue)
    base_path = folder / "baseline.yaml"
    if path.resolve() != base_path.resolve() and base_path.exists():
        base, base_node, base_data = _parse(base_path)
        _check_levers(base, base_node, catalogue)
        merged = deep_merge(
            {"levers": base_data.get("levers") or {}},
            {k: v for k, v in data.items()},
        )
        scn = Scenario.model_validate({**merged, "name": path.stem, "path": str(path)})
    resolve_scenario(scn, model, catalogue, node=node)
    return scn


def _check_levers(scn: Scenario, node: yaml.Node | None, cat: Catalogue) -> None:
    valid = cat.names()
    for name in scn.levers:
        if name not in valid:
            raise HatinhInputError(
                f"unknown lever '{name}'{did_you_mean(name, valid)}",
                path=scn.path,
                line=line_of(node, ("levers", name)),
                key=f"levers.{name}",
            )


def resolve_scenario(
    scn: Scenario,
    model: Model | None = None,
    catalogue: Catalogue | None = None,
    *,
    node: yaml.Node | None = None,
) -> dict[str, float]:
    """Convert a scenario's lever values into the model's scalar parameters.

    Returns
    -------
    dict
        Model name -> value, checked by :meth:`Model.resolve_params` (ranges
        from the ``.mdl``).

    Raises
    ------
    HatinhInputError
        Unknown lever, wrong type, value or timing out of range, a year outside
        the model's time, a ramp for a lever the model switches on in one step,
        or two levers setting a shared timing parameter differently.
    """
    model = model or load_model()
    cat = catalogue or load_catalogue(model=model)
    _check_levers(scn, node, cat)
    out: dict[str, float] = {}
    origin: dict[str, str] = {}
    t0, t1 = model.initial_time, model.final_time

    def fail(msg: str, name: str, sub: str | None = None) -> HatinhInputError:
        keys = ("levers", name) + ((sub,) if sub else ())
        return HatinhInputError(
            msg, path=scn.path or "scenario", line=line_of(node, keys), key=".".join(keys)
        )

    def put(param: str, value: float, name: str, sub: str | None = None) -> None:
        if param in out and out[param] != value:
            raise fail(
                f"'{param}' is set to {out[param]:g} by '{origin[param]}' and to {value:g} here; "
                "levers sharing a timing parameter must share their timing",
                name,
                sub,
            )
        par = cat.parameters[param]
        if not (par.low <= value <= par.high):
            raise fail(
                f"value {value:g} of '{param}' is outside its range [{par.low:g}, {par.high:g}] {par.units}",
                name,
                sub,
            )
        problem = cat.value_problem(param, value)
        if problem:
            raise fail(problem, name, sub)
        out[param] = float(value)
        origin[param] = name

    for name, spec in scn.levers.items():
        if isinstance(spec, float | int):
            put(name, float(spec), name)
            continue
        entry = cat.levers.get(name)
        if entry is None or entry.timing is None:
            raise fail(
                f"'{name}' takes a plain number (it has no timing parameter in the model)", name
            )
        for sub, year in (
            ("year", getattr(spec, "year", None)),
            ("from", getattr(spec, "from_", None)),
            ("to", getattr(spec, "to", None)),
        ):
            if year is not None and not (t0 <= year <= t1):
                raise fail(f"year {year:g} is outside the model's time {t0:g}-{t1:g}", name, sub)
        put(name, spec.value, name, "value")
        if isinstance(spec, Step):
            put(entry.timing.start, spec.year, name, "year")
            if entry.timing.ramp:
                put(entry.timing.ramp, 0.0, name, "year")
        else:
            if spec.to < spec.from_:
                raise fail(f"ramp ends ({spec.to:g}) before it starts ({spec.from_:g})", name, "to")
            if entry.timing.ramp is None:
                raise fail(
                    f"'{name}' has no ramp in the model ({entry.timing.start} switches it on); "
                    "use a step {value: V, year: Y}",
                    name,
                )
            put(entry.timing.start, spec.from_, name, "from")
            put(entry.timing.ramp, spec.to - spec.from_, name, "to")
    return model.resolve_params(out, source=scn.path or "scenario")


def dump_scenario(scn: Scenario) -> str:
    """The scenario as YAML text (the merged, resolved form written beside results)."""
    doc: dict[str, Any] = {
        "title": scn.title.model_dump(),
        "description": scn.description.model_dump(),
        "cites": scn.cites,
        "levers": {
            k: (v if isinstance(v, float | int) else v.model_dump(by_alias=True))
            for k, v in scn.levers.items()
        },
        "expected": [e.model_dump() for e in scn.expected],
    }
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


def run_scenario(scn: Scenario | str, model: Model | None = None, **run_kwargs: Any):
    """Run a scenario; the merged scenario is stored in the results' attributes.

    Returns
    -------
    xarray.Dataset
        As :meth:`Model.run`, with attributes ``scenario`` (its name),
        ``scenario_yaml`` (the merged scenario, as its file says it); the settings it
        resolves to are the run's ``parameter_overrides``, stored once.
    """
    model = model or load_model()
    if isinstance(scn, str):
        scn = load_scenario(scn, model=model)
    params = resolve_scenario(scn, model)
    ds = model.run(params, scenario=scn.name, source=scn.path, **run_kwargs)
    ds.attrs["scenario_yaml"] = dump_scenario(scn)
    return ds


# --------------------------------------------------------------------- README
def render_readme(cat: Catalogue, folder: Path | str | None = None) -> str:
    """Markdown of the catalogue and the shipped scenarios (``scenarios/README.md``)."""
    folder = Path(folder) if folder else current_project().scenarios
    lines = [
        "# Scenarios and the lever catalogue",
        "",
        "<!-- Rendered from scenarios/levers.yaml and the scenario files by "
        "`hatinh-sd scenarios --readme`; do not edit by hand. -->",
        "",
        "Units and allowed ranges are read from `model/hatinh.mdl`; defaults are the calibrated historical levels (`model/calibration.yaml`, see `hatinh-sd docs`). "
        "A scenario file holds only what it changes from `baseline.yaml`. "
        "A lever value is a constant (`vocational training: 15`, the model's default timing), "
        "a step (`{value: 15, year: 2028}`) or a ramp (`{value: 15, from: 2026, to: 2030}`); "
        "years are calendar years, and levers of one group share the group's timing.",
        "",
        "## Task groups of Action Programme 26-CTr/TU",
        "",
        "| group | task group | levers |",
        "|---|---|---|",
    ]
    for g, tg in cat.task_groups.items():
        levers = ", ".join(f"`{n}`" for n in cat.levers_of(g))
        if tg.outside_boundary:
            levers = f"outside the model's boundary: {tg.outside_boundary.en}"
        lines.append(f"| {g} | {tg.title.en} / {tg.title.vi} | {levers} |")
    lines += [
        "",
        "## Levers",
        "",
        "| lever | group | unit | range | timing | sets | description (en / vi) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in sorted(cat.levers.items(), key=lambda kv: (cat.group(kv[0]), kv[0])):
        p = cat.parameters[name]
        timing = "constant"
        if entry.timing:
            timing = f"start: `{entry.timing.start}`"
            if entry.timing.ramp:
                timing += f", ramp: `{entry.timing.ramp}`"
            else:
                timing += " (step only)"
        lines.append(
            f"| `{name}` | {p.group} | {p.units} | [{p.low:g}, {p.high:g}] | "
            f"{timing} | {', '.join(entry.sets)} | {entry.description.en} / {entry.description.vi} |"
        )
    lines += [
        "",
        "## Timing parameters",
        "",
        "| parameter | range | used by |",
        "|---|---|---|---|",
    ]
    for t in sorted(cat.timing_of):
        p = cat.parameters[t]
        users = [
            n for n, e in cat.levers.items() if e.timing and t in (e.timing.start, e.timing.ramp)
        ]
        lines.append(f"| `{t}` | [{p.low:g}, {p.high:g}] {p.units} | {', '.join(users)} |")
    lines += [
        "",
        "## Scenarios",
        "",
        "| name | title (en / vi) | cites | levers changed |",
        "|---|---|---|---|",
    ]
    for name in available_scenarios(folder):
        scn, _, data = _parse(folder / f"{name}.yaml")
        changed = ", ".join(f"`{k}`" for k in (data.get("levers") or {}))
        lines.append(
            f"| `{name}` | {scn.title.en} / {scn.title.vi} | {scn.cites} | {changed or '-'} |"
        )
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------- lever effects and costs
#: Outputs the lever table reports: 2030 GRDP (per cent change), targets (point changes).
LEVER_TABLE_YEAR = 2030
LEVER_COST_YEARS = (2026, 2030)


def lever_effects(model: Model | None = None, cat: Catalogue | None = None):
    """Each primary lever at the top of its range against the baseline.

    Returns a DataFrame with, per lever: the value tried, the change of 2030 GRDP
    (per cent) and of T01, T03 and T07 (points), the extra cost over 2026-2030
    (bn VND at current prices, summed over the catalogue's cost lines by account:
    budget, private, outside) and the lever's effect bound.
    """
    import pandas as pd

    model = model or load_model()
    cat = cat or load_catalogue(model=model)
    variables = [
        "grdp",
        "t01_average_grdp_growth_since_2020",
        "share_industry",
        "employment_share_agriculture",
    ]
    costs = sorted({line.variable for e in cat.levers.values() for line in (e.cost or [])})
    outputs = variables + ["exchange_rate"] + [model.py_name(c) for c in costs]
    base = model.run(outputs=outputs)
    years = slice(*LEVER_COST_YEARS)
    rows = []
    for name, entry in cat.levers.items():
        par = cat.parameters[name]
        value = par.high
        params = {name: value}
        if name == "formosa total capacity":
            params["formosa phase 2"] = 1.0  # the capacity matters only with phase 2
        ds = model.run(params, outputs=outputs)
        at = lambda d, v: float(d[v].sel(time=LEVER_TABLE_YEAR))  # noqa: E731
        row = {
            "lever": name,
            "group": par.group,
            "value": value,
            "units": par.units,
            "grdp_2030": (at(ds, "grdp") / at(base, "grdp") - 1) * 100,
            "t01": at(ds, variables[1]) - at(base, variables[1]),
            "t03": at(ds, variables[2]) - at(base, variables[2]),
            "t07": at(ds, variables[3]) - at(base, variables[3]),
            "bound": entry.effect_bound.percent,
            "basis": entry.effect_bound.basis,
        }
        for account in ("budget", "private", "outside"):
            lines = {line.variable for line in entry.cost or [] if line.account == account}
            # a lever's cost lines are its own; a cost shared by two lines counts once
            extra = 0.0
            for var in lines:
                py = model.py_name(var)
                in_usd = model.units(var).startswith("MUSD")  # million USD: at the exchange rate
                now = ds[py] * (ds["exchange_rate"] if in_usd else 1)
                then = base[py] * (base["exchange_rate"] if in_usd else 1)
                extra += float(now.sel(time=years).sum() - then.sel(time=years).sum())
            row[f"cost_{account}"] = extra
        rows.append(row)
    return pd.DataFrame(rows)
