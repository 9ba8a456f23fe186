"""Translate, load and run the Hà Tĩnh model (``model/hatinh.mdl``) with PySD.

The ``.mdl`` file is the single source of the model. It is translated to Python
once per content hash and cached (:mod:`hatinh_sd.translation`); everything else
loads the cached translation, adapted to this package's runs
(:mod:`hatinh_sd.pysd_runtime`). :class:`Model` wraps a loaded PySD model so that every run
starts from the model's own defaults (PySD keeps parameter changes between runs),
checks parameter names and lever ranges, and returns an :class:`xarray.Dataset`
with units, long names and provenance.

The model's metadata (units, ranges, roles) come from the ``.mdl`` comments,
which follow the convention stated in the model's ``.Conventions`` group:
a comment starts with ``lever gN:``, ``uncertain:`` or ``calibrated:`` for
parameters that may be changed, and names a source key or says ``assumption:``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import hashlib
import json
import math
import re
import subprocess
import warnings
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.errors import HatinhInputError, did_you_mean, display_path, read_yaml
from hatinh_sd.project import FROM_PROJECT, FromProject, current_project, repo_root
from hatinh_sd.pysd_runtime import scalar_mode
from hatinh_sd.results import fingerprint
from hatinh_sd.translation import equation_line, equations_hash, model_hash, translate

__all__ = [
    "Model",
    "Parameter",
    "load_model",
    "repo_root",
]

_ROLE_RE = re.compile(r"^\s*(lever)\s+g(\d+)\s*:|^\s*(uncertain|calibrated)\s*:", re.IGNORECASE)


#: Whether a stale calibration is an error (the CLI) or a warning (the Python API).
STRICT_CALIBRATION = False


#: The libraries whose versions can change a result (recorded in every result file).
SCIENTIFIC_LIBRARIES = (
    "pysd",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "netCDF4",
    "SALib",
    "dask",
    "distributed",
    "pydantic",
)


def library_versions() -> dict[str, str]:
    """Installed versions of :data:`SCIENTIFIC_LIBRARIES` and Python (a new dict each call)."""
    return dict(_library_versions())


@functools.cache
def _library_versions() -> tuple[tuple[str, str], ...]:
    # read once per process: parsing the packages' metadata took about 70 ms, every run
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in SCIENTIFIC_LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return tuple(out.items())


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A constant of the model that users may change.

    Attributes
    ----------
    name : str
        The model's (Vensim) name.
    py_name : str
        PySD's Python name (also the variable name in result datasets).
    role : str
        ``lever``, ``uncertain`` or ``calibrated``.
    group : int or None
        Task group of Action Programme 26-CTr/TU, for levers.
    default, low, high : float
        Default value and the allowed range ``[low, high]`` stated in the ``.mdl``.
    units : str
    comment : str
    """

    name: str
    py_name: str
    role: str
    group: int | None
    default: float
    low: float
    high: float
    units: str
    comment: str


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


#: Errors of an equation that cannot be computed: division by zero, overflow (a function
#: PySD does not implement is refused when the model is translated).
_EQUATION_FAILURES = ArithmeticError
#: The control constants every model has (PySD's names -> Vensim's).
_CONTROL = {"initial_time": "INITIAL TIME", "final_time": "FINAL TIME", "time_step": "TIME STEP"}


def _equation_failure(
    exc: BaseException, py_path: Path, mdl_path: Path, names: Mapping[str, str], time: float | None
) -> HatinhInputError:
    """One line for an equation of ``mdl_path`` that cannot be computed: the variable (the
    innermost function of the translated model ``py_path`` in the traceback; ``names`` maps
    its Python name to the model's), its line, and the time (None: the initial values)."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(py_path)]
    py = frames[-1].name if frames else None
    if py == "<lambda>":  # a stock's (or smooth's, delay's) argument: the object it builds
        lines = py_path.read_text(encoding="utf-8").splitlines()[: frames[-1].lineno or 0]
        assigned = (re.match(r"^_[a-z]+_(\w+) = ", text) for text in reversed(lines))
        py = next((m.group(1) for m in assigned if m), None)
    name = names.get(py, py.strip("_").replace("_", " ")) if py else None
    when = "in the initial values" if time is None else f"at time {time:g}"
    message = (
        f"the model's equations fail {when}"
        + (f" in '{name}'" if name else "")
        + f" ({exc}); check that equation and the values of the constants it uses"
    )
    return HatinhInputError(
        " ".join(message.split())[:300],
        path=mdl_path,
        line=equation_line(mdl_path, name) if name else None,
    )


class Model:
    """The Hà Tĩnh model loaded from its cached PySD translation.

    Parameters
    ----------
    mdl_path : path, optional
        The ``.mdl`` file; ``model/hatinh.mdl`` by default.

    Examples
    --------
    >>> m = Model()
    >>> ds = m.run({"vocational training": 15})
    >>> float(ds["trained_labour_share"].sel(time=2030))  # doctest: +SKIP
    """

    def __init__(
        self,
        mdl_path: Path | str | None = None,
        calibration_path: Path | str | None | FromProject = FROM_PROJECT,
    ):
        import pysd

        if calibration_path is FROM_PROJECT:
            calibration_path = current_project().calibration
        self.mdl_path = Path(mdl_path) if mdl_path else current_project().model
        self.hash = model_hash(self.mdl_path)
        self.py_path = translate(self.mdl_path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self._pysd = pysd.load(str(self.py_path))  # computes the initial values
        except _EQUATION_FAILURES as exc:
            raise _equation_failure(exc, self.py_path, self.mdl_path, {}, None) from None
        scalar_mode(self._pysd)
        self.doc: pd.DataFrame = self._pysd.doc.copy()
        self._real_to_py = dict(zip(self.doc["Real Name"], self.doc["Py Name"], strict=True))
        self._py_to_real = {v: k for k, v in self._real_to_py.items()}
        self._constant_defaults = {
            row["Py Name"]: float(getattr(self._pysd.components, row["Py Name"])())
            for _, row in self.doc.iterrows()
            if row["Type"] == "Constant" and row["Subtype"] == "Normal"
        }
        self._mdl_defaults = dict(self._constant_defaults)
        for py, vensim in _CONTROL.items():
            if py not in self._constant_defaults:
                raise HatinhInputError(
                    f"the control constant {vensim} is missing (or not a number)",
                    path=self.mdl_path,
                )
        self.time_step = self._constant_defaults["time_step"]
        self.initial_time = self._constant_defaults["initial_time"]
        self.final_time = self._constant_defaults["final_time"]
        self._changed: set[str] = set()
        self.git_commit = _git_commit(self.mdl_path.parent)
        self.calibration_path = Path(calibration_path) if calibration_path else None
        self.calibration: dict[str, float] = {}
        self.calibration_hash = ""
        self.equations_hash = equations_hash(self.mdl_path)
        #: Why the calibration file does not belong to these equations ("" when it does).
        self.calibration_stale = ""
        self._apply_calibration()
        _ = self.parameters  # every lever, uncertain and fitted constant has a range: checked
        self.outputs: list[str] = [
            row["Py Name"]
            for _, row in self.doc.iterrows()
            if row["Type"] in ("Auxiliary", "Stateful") and row["Py Name"] != "time"
        ]

    @cached_property
    def _attrs(self) -> dict[str, dict[str, str]]:
        """netCDF attributes of each variable: long name (English, the model's name, and
        Vietnamese, ``long_name_vi``), units (the ``.mdl``'s; :func:`hatinh_sd.results.write_netcdf`
        writes them in UDUNITS terms), comment."""
        from hatinh_sd import vocabulary  # imports this module

        def label(name: str, lang: str) -> str:
            try:
                return vocabulary.label(name, lang)
            except HatinhInputError:  # no readable translation file: the model's name
                return name

        return {
            r["Py Name"]: {
                "long_name": label(r["Real Name"], "en"),
                "long_name_vi": label(r["Real Name"], "vi"),
                "units": str(r["Units"]),
                "comment": r["Comment"] if isinstance(r["Comment"], str) else "",
            }
            for _, r in self.doc.iterrows()
        }

    def _apply_calibration(self) -> None:
        """Make the reviewed calibration file's values the model's defaults.

        A fitted ``X historical`` also becomes the default of lever ``X``, so
        that the baseline continues the fitted trend.
        """
        path = self.calibration_path
        if path is None:
            return
        if not path.exists():  # named (by the project) but not there: the .mdl's constants
            self.calibration_stale = "the calibration file is missing"
            return

        raw = path.read_bytes()
        doc = read_yaml(path) or {}
        resolved = self.fitted_values(doc, path)  # doc is a mapping: checked there
        if isinstance(doc, dict) and not self.made_from(doc):
            recorded = doc.get("equations_sha256")
            self.calibration_stale = (
                "it records another model file and no equation hash"
                if recorded is None
                else f"it was fitted to other equations ({str(recorded)[:12]}, "
                f"the model's are {self.equations_hash[:12]})"
            )
        tied = {}
        for py, value in resolved.items():
            lever = self._py_to_real[py].removesuffix(" historical")
            if lever != self._py_to_real[py] and lever in self._real_to_py:
                par = self.parameters.get(lever)
                if par is not None and not par.low <= value <= par.high:
                    raise HatinhInputError(
                        f"the fitted value {value:g} of '{self._py_to_real[py]}' is the default "
                        f"of lever '{lever}', but outside its range [{par.low:g}, {par.high:g}] "
                        f"{par.units} in {self.mdl_path.name}",
                        path=path,
                        key=f"parameters.{self._py_to_real[py]}",
                    )
                tied[self._real_to_py[lever]] = value
        resolved.update(tied)
        self._constant_defaults.update(resolved)
        self._pysd.set_components(resolved)
        self.calibration = {self._py_to_real[k]: v for k, v in resolved.items()}
        self.calibration_hash = hashlib.sha256(raw).hexdigest()
        self.__dict__.pop("parameters", None)

    def fitted_values(self, doc: object, path: Path) -> dict[str, float]:
        """The ``parameters`` of a file of fitted values (the calibration or a hold-out record,
        read into ``doc``), checked: a mapping of constants marked ``calibrated:`` to values
        in their ranges. Returns them by Python name (:meth:`resolve_params`)."""
        values = doc.get("parameters") if isinstance(doc, dict) else None
        if not isinstance(values, dict):
            raise HatinhInputError(
                "expected a mapping 'parameters: {name: value}'", path=path, key="parameters"
            )
        calibrated = [p.name for p in self.parameters.values() if p.role == "calibrated"]
        for name in values:
            if name not in calibrated:
                raise HatinhInputError(
                    f"'{name}' is not a parameter marked 'calibrated:' in the model"
                    + did_you_mean(name, calibrated),
                    path=path,
                    key=f"parameters.{name}",
                )
        return self.resolve_params(values, source=str(path))

    def made_from(self, record: Mapping[str, object]) -> bool:
        """Whether ``record`` (the attributes of a calibration, posterior or hold-out file) was
        made from this model's equations: its ``equations_sha256`` when it has one (comments,
        units and the sketch may change), else its ``model_sha256`` (the whole file)."""
        if record.get("equations_sha256") is not None:
            return record["equations_sha256"] == self.equations_hash
        return record.get("model_sha256") == self.hash

    @property
    def defaults(self) -> dict[str, float]:
        """Default value of every constant (model name), calibration applied."""
        return {self._py_to_real[k]: v for k, v in self._constant_defaults.items()}

    # ------------------------------------------------------------------ metadata
    @cached_property
    def parameters(self) -> dict[str, Parameter]:
        """Every constant marked as lever, uncertain or calibrated, by model name."""
        out: dict[str, Parameter] = {}
        for _, row in self.doc.iterrows():
            comment = row["Comment"] if isinstance(row["Comment"], str) else ""
            match = _ROLE_RE.match(comment)
            if not match or row["Type"] != "Constant":
                continue
            role = (match.group(1) or match.group(3)).lower()
            group = int(match.group(2)) if match.group(2) else None
            low, high = (list(row["Limits"]) + [None, None])[:2]
            default = self._constant_defaults[row["Py Name"]]
            own = self._mdl_defaults[row["Py Name"]]  # the .mdl's value, before calibration
            problem = (
                "its units have no range [low, high] with low < high (e.g. '~ Year [0.25, 1]')"
                if low is None or high is None or not low < high
                else f"its value {own:g} is outside its range [{low:g}, {high:g}]"
                if not low <= own <= high
                else ""
            )
            if problem:  # every lever, uncertainty and fitted constant is drawn from its range
                raise HatinhInputError(
                    f"'{row['Real Name']}' is marked '{role}:' but {problem}",
                    path=self.mdl_path,
                    line=equation_line(self.mdl_path, row["Real Name"]),
                )
            out[row["Real Name"]] = Parameter(
                name=row["Real Name"],
                py_name=row["Py Name"],
                role=role,
                group=group,
                default=default,
                low=float(low),
                high=float(high),
                units=str(row["Units"]),
                comment=comment,
            )
        return out

    def levers(self) -> dict[str, Parameter]:
        """The policy levers (role ``lever``)."""
        return {k: p for k, p in self.parameters.items() if p.role == "lever"}

    @cached_property
    def stocks(self) -> list[str]:
        """Model names of the stocks (INTEG)."""
        sel = (self.doc["Type"] == "Stateful") & (self.doc["Subtype"] == "Integ")
        return list(self.doc.loc[sel, "Real Name"])

    @cached_property
    def stock_flows(self) -> dict[str, list[tuple[str, int]]]:
        """Each stock's flows with their sign (+1 inflow, -1 outflow), from PySD's parse.

        A stock's INTEG argument must be a sum of named flows; anything else
        (an inline expression) raises ``ValueError`` naming the stock.
        """
        from pysd.translators.vensim.vensim_file import VensimFile

        vf = VensimFile(str(self.mdl_path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vf.parse()
            abstract = vf.get_abstract_model()
        out: dict[str, list[tuple[str, int]]] = {}
        for element in abstract.sections[0].elements:
            for component in element.components:
                ast = component.ast
                if type(ast).__name__ != "IntegStructure":
                    continue
                out[element.name] = self._signed_refs(element.name, ast.flow, +1)
        return out

    def _signed_refs(self, stock: str, node: object, sign: int) -> list[tuple[str, int]]:
        kind = type(node).__name__
        if kind == "ReferenceStructure":
            return [(self._py_to_real[node.reference], sign)]  # type: ignore[attr-defined]
        if kind == "ArithmeticStructure" and set(node.operators) <= {"+", "-"}:  # type: ignore[attr-defined]
            args = node.arguments  # type: ignore[attr-defined]
            ops = ["+"] + list(node.operators)  # type: ignore[attr-defined]
            out: list[tuple[str, int]] = []
            for op, arg in zip(ops, args):
                out += self._signed_refs(stock, arg, sign if op == "+" else -sign)
            return out
        if kind == "LogicStructure" and list(getattr(node, "operators", [])) == [":NOT:"]:
            raise ValueError(f"stock '{stock}': logical expression in INTEG")
        if kind == "ArithmeticStructure" and list(node.operators) == ["negative"]:  # type: ignore[attr-defined]
            return self._signed_refs(stock, node.arguments[0], -sign)  # type: ignore[attr-defined]
        if kind == "int" or kind == "float":
            if float(node) == 0:  # type: ignore[arg-type]
                return []
        raise ValueError(
            f"stock '{stock}': its INTEG must add and subtract named flows, found {node!r}"
        )

    def py_name(self, name: str) -> str:
        """PySD name of a model variable given its model or Python name."""
        if name in self._real_to_py:
            return self._real_to_py[name]
        if name in self._py_to_real:
            return name
        raise KeyError(name)

    def real_name(self, name: str) -> str:
        """Model (Vensim) name of a variable given its model or Python name."""
        return self._py_to_real[self.py_name(name)]

    def units(self, name: str) -> str:
        row = self.doc.loc[self.doc["Py Name"] == self.py_name(name)]
        return str(row["Units"].iloc[0])

    def dependency_graph(self) -> dict[str, set[str]]:
        """Map each variable (model name) to the variables its equation uses.

        Stateful elements (stocks, smooths, delays) are looked through: a stock
        depends on its flows, not on its initial value, so cycles in this graph
        are the model's feedback loops.
        """
        deps = self._pysd.dependencies

        def expand(name: str, seen: set[str]) -> set[str]:
            if not name.startswith("_"):
                return {name}
            if name in seen:
                return set()
            seen.add(name)
            entry = deps.get(name, {})
            step = entry.get("step", entry) if isinstance(entry, dict) else {}
            out: set[str] = set()
            for d in step:
                out |= expand(d, seen)
            return out

        graph: dict[str, set[str]] = {}
        for var, entry in deps.items():
            if var.startswith("_") or var not in self._py_to_real:
                continue
            out: set[str] = set()
            for d in entry or {}:
                if d in ("time",):
                    continue
                out |= expand(d, set())
            graph[self._py_to_real[var]] = {
                self._py_to_real[d] for d in out if d in self._py_to_real
            }
        return graph

    # ------------------------------------------------------------------ running
    def resolve_params(
        self,
        params: Mapping[str, float] | None,
        *,
        check_ranges: bool = True,
        source: str = "parameters",
        ranged_only: bool = False,
    ) -> dict[str, float]:
        """Check names (and, for levers and uncertain constants, ranges) of overrides.

        With ``ranged_only`` only constants with a range in the ``.mdl`` (levers,
        uncertain and calibrated constants) may be set; time controls never.

        Raises
        ------
        HatinhInputError
            For a name that is not a constant of the model (listing close names),
            a non-numeric value, or a value outside the range stated in the ``.mdl``.
        """
        resolved: dict[str, float] = {}
        for name, value in (params or {}).items():
            try:
                py = self.py_name(name)
            except KeyError:
                hint = did_you_mean(name, self._real_to_py)
                raise HatinhInputError(
                    f"'{name}' is not a parameter of the model{hint}", path=source, key=name
                ) from None
            if py not in self._constant_defaults:
                raise HatinhInputError(
                    f"'{name}' is computed by the model, not a constant that can be set",
                    path=source,
                    key=name,
                )
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.number))
                or not math.isfinite(value)
            ):
                raise HatinhInputError(
                    f"value {value!r} of '{name}' is not a finite number", path=source, key=name
                )
            real = self._py_to_real[py]
            par = self.parameters.get(real)
            if ranged_only and par is None:
                what = (
                    "a time control of the model"
                    if py in {"initial_time", "final_time", "time_step", "saveper"}
                    else "a constant without a stated range"
                )
                raise HatinhInputError(
                    f"'{real}' is {what}; only levers, uncertain and calibrated constants"
                    " (those with a [low, high] range in the .mdl) can be set",
                    path=source,
                    key=name,
                )
            if check_ranges and par is not None and not (par.low <= value <= par.high):
                raise HatinhInputError(
                    f"value {value} of '{real}' is outside its range [{par.low:g}, {par.high:g}] {par.units}",
                    path=source,
                    key=name,
                )
            resolved[py] = float(value)
        return resolved

    def run(
        self,
        params: Mapping[str, float] | None = None,
        *,
        time_step: float | None = None,
        outputs: Iterable[str] | None = None,
        check_ranges: bool = True,
        scenario: str = "custom",
        source: str = "parameters",
        times: Iterable[float] | None = None,
    ) -> xr.Dataset:
        """Run the model and return its results as a Dataset (dimension ``time``).

        Parameters
        ----------
        params : mapping, optional
            Overrides of constants, by model or Python name.
        time_step : float, optional
            Integration step in years (the ``.mdl``'s TIME STEP by default).
        outputs : iterable of str, optional
            Variables to return (model or Python names); all time-varying
            variables by default.
        check_ranges : bool
            Refuse lever and uncertain values outside their ``.mdl`` range
            (switched off only by extreme-condition tests).
        scenario : str
            Name stored in the results' attributes.
        times : iterable of float, optional
            Model times to return instead of the yearly saves (multiples of the
            time step between INITIAL and FINAL TIME), e.g. for annual means.
        """
        overrides = self.resolve_params(params, check_ranges=check_ranges, source=source)
        reset = {p: self._constant_defaults[p] for p in self._changed if p not in overrides}
        columns = [self.py_name(o) for o in outputs] if outputs is not None else self.outputs
        self._changed = set(self._changed) | set(overrides)  # to reset, even after a failure
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                df = self._pysd.run(
                    params={**reset, **overrides} or None,
                    return_columns=columns,
                    return_timestamps=list(times) if times is not None else None,
                    time_step=time_step or self.time_step,
                    saveper=1.0,
                    final_time=self.final_time,
                    cache_output=False,
                )
        except _EQUATION_FAILURES as exc:  # division by zero, overflow
            raise _equation_failure(
                exc, self.py_path, self.mdl_path, self._py_to_real, float(self._pysd.time())
            ) from None
        self._changed = set(overrides)
        return self.to_dataset(df, columns, overrides, time_step or self.time_step, scenario)

    def to_dataset(
        self,
        df: pd.DataFrame,
        columns: list[str],
        overrides: dict[str, float],
        time_step: float,
        scenario: str,
    ) -> xr.Dataset:
        """The Dataset of a run: ``df`` indexed by time, a column per variable of ``columns``
        (Python names, or their model names), with units, labels and provenance."""
        import pysd

        from hatinh_sd import __version__

        times = df.index.to_numpy(dtype=float)
        names = [py if py in df.columns else self._py_to_real[py] for py in columns]
        values = df[names].to_numpy(dtype=float)
        data_vars = {
            py: xr.Variable(("time",), values[:, i], attrs=self._attrs[py])
            for i, py in enumerate(columns)
        }
        ds = xr.Dataset(
            data_vars, coords={"time": ("time", times, {"units": "year", "long_name": "mid-year"})}
        )
        ds.attrs = {
            "title": f"{current_project().title['en']} (hatinh-sd) results",
            "disclaimer": "A planning model, not a forecast: results depend on stated assumptions.",
            "scenario": scenario,
            "parameter_overrides": json.dumps(
                {self._py_to_real[k]: v for k, v in overrides.items()}, ensure_ascii=False
            ),
            "model_file": self.mdl_path.name,
            **fingerprint(self),
            "git_commit": self.git_commit,
            "hatinh_sd_version": __version__,
            "pysd_version": pysd.__version__,
            "library_versions": json.dumps(library_versions()),
            "time_step": float(time_step),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        return ds


_MODEL_CACHE: dict[tuple[str, str, str], Model] = {}


def load_model(
    mdl_path: Path | str | None = None,
    calibration_path: Path | str | None | FromProject = FROM_PROJECT,
) -> Model:
    """Load the model once per process, model hash and calibration file (translation cached on
    disk); by default the active project's (:func:`hatinh_sd.project.current_project`)."""
    if mdl_path is None:
        mdl_path = current_project().model
    if calibration_path is FROM_PROJECT:
        calibration_path = current_project().calibration
    cal = Path(calibration_path) if calibration_path else None
    # a named but missing calibration file is not "no calibration" (it is reported)
    cal_key = (
        ""
        if cal is None
        else hashlib.sha256(cal.read_bytes()).hexdigest()
        if cal.exists()
        else f"missing:{cal}"
    )
    key = (str(Path(mdl_path).resolve()), model_hash(mdl_path), cal_key)
    if key not in _MODEL_CACHE:
        _MODEL_CACHE[key] = Model(mdl_path, cal)
    model = _MODEL_CACHE[key]
    if model.calibration_stale:
        if STRICT_CALIBRATION:
            raise HatinhInputError(
                f"{model.calibration_stale}: refit with hatinh-sd calibrate (or run with "
                "--allow-stale-calibration)",
                path=model.calibration_path,
            )
        fallback = (
            "the model's own constants"
            if model.calibration_stale.endswith("missing")
            else "values fitted to other equations"
        )
        warnings.warn(
            f"{display_path(model.calibration_path or '')}: {model.calibration_stale}; running with "
            f"{fallback} (refit with hatinh-sd calibrate)",
            UserWarning,
            stacklevel=2,
        )
    return model
