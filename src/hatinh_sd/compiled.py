"""A compiled ensemble engine: PySD's own translation of the model, flattened into one numba kernel.

:class:`hatinh_sd.ensemble.ArrayModel` runs many parameter sets at once through PySD's
generated code with numpy arrays; every time step still costs the same Python overhead
(about 0.3 s of a run to 2050, however many samples). For ensembles that must come back
while a planner waits (the explorer's live band of 200 draws), :class:`CompiledModel`
compiles the same equations to machine code instead:

1. it reads PySD's translation of the ``.mdl`` (:attr:`hatinh_sd.model.Model.py_path`,
   the file PySD runs), one ``return`` expression per element;
2. it writes one Python function in which every element is a local variable computed in
   dependency order, each call of another element replaced by that variable, PySD's
   ``if_then_else(c, lambda: a, lambda: b)`` by ``a if c else b``, and the stateful
   objects (``Integ``, ``Initial``, ``DelayFixed``, ``SampleIfTrue``) by their state
   variables, initialised and updated as PySD's ``statefuls`` do (Euler: every rate
   is computed from the states of the step before any state changes);
3. numba compiles it (``error_model="numpy"``: a division by zero gives inf or NaN as
   numpy's does) with a loop over samples outside the loop over time steps.

The generated source is kept in the translation cache next to PySD's (named by the
translation's hash), and numba caches the machine code beside it, so a model is compiled
once per machine (about 20 s) and loaded in well under a second afterwards.

PySD stays the reference: :meth:`CompiledModel.check` compares the kernel with
:class:`~hatinh_sd.ensemble.ArrayModel` on given samples, and a caller (the explorer's
band) uses the kernel only after it agreed within :data:`CHECK_RTOL`. Only the element
kinds found in this project's translations are supported; any other construct is refused
with its name (:class:`UnsupportedModel`), never approximated.

Example
-------
>>> from hatinh_sd.model import load_model
>>> engine = CompiledModel(load_model())  # doctest: +SKIP
>>> times, out = engine.run(
...     {"tfp_growth_trend": np.full(200, 0.02)}, {}, ["grdp"], 2050
... )  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hatinh_sd.model import Model

__all__ = ["CHECK_RTOL", "CompiledModel", "UnsupportedModel", "checked_engine", "kernel_source"]

#: Largest relative difference from PySD's array engine (relative to max(|value|, 1e-9))
#: at which the kernel's runs are used.
CHECK_RTOL = 1e-9
#: PySD's rounding margin of a DELAY FIXED order (``pysd.py_backend.statefuls.SMALL_VENSIM``).
SMALL_VENSIM = 1e-6

_STATEFULS = ("Integ", "Initial", "DelayFixed", "SampleIfTrue")
#: PySD's time functions and the kernel's names for them.
_TIME = {
    "time": "t",
    "time_step": "DT",
    "initial_time": "T0",
    "final_time": "T1",
    "saveper": "SAVEPER",
}
_NUMPY_CALLS = {"np.maximum", "np.minimum", "np.exp", "np.logical_and", "np.interp", "float"}


class UnsupportedModel(ValueError):
    """The translation holds a construct the kernel generator does not handle."""


@dataclass
class _Element:
    """One element of the translation: a component (``kind`` "const" or "aux") or a
    stateful object (``kind`` one of :data:`_STATEFULS`, ``parts`` its lambdas)."""

    name: str
    kind: str
    expr: ast.expr | None = None
    parts: dict[str, ast.expr] = field(default_factory=dict)


def _lambda_body(node: ast.expr, where: str) -> ast.expr:
    if not isinstance(node, ast.Lambda):
        raise UnsupportedModel(f"{where}: expected a lambda, found {ast.unparse(node)[:80]}")
    return node.body


def _parse(source: str, constants: set[str]) -> tuple[dict[str, _Element], dict[str, float]]:
    """The elements of PySD's translation and its control variables."""
    tree = ast.parse(source)
    elements: dict[str, _Element] = {}
    control: dict[str, float] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if not isinstance(target, ast.Name):
                continue
            if target.id == "_control_vars" and isinstance(node.value, ast.Dict):
                for k, v in zip(node.value.keys, node.value.values, strict=True):
                    if k is None:  # a ** unpacking: not PySD's
                        raise UnsupportedModel("_control_vars: unexpected ** in the dict")
                    control[ast.literal_eval(k)] = float(
                        ast.literal_eval(_lambda_body(v, "control"))
                    )
                continue
            call = node.value
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                continue
            kind = call.func.id
            if kind not in _STATEFULS:
                if kind in ("Component", "Path"):
                    continue
                raise UnsupportedModel(f"{target.id}: PySD object {kind} is not supported")
            args = call.args
            if kind == "Integ":
                parts = {"ddt": args[0], "init": args[1]}
            elif kind == "Initial":
                parts = {"init": args[0]}
            elif kind == "DelayFixed":
                parts = {"input": args[0], "delay": args[1], "init": args[2]}
            else:  # SampleIfTrue
                parts = {"condition": args[0], "value": args[1], "init": args[2]}
            elements[target.id] = _Element(
                target.id, kind, parts={k: _lambda_body(v, target.id) for k, v in parts.items()}
            )
        elif isinstance(node, ast.FunctionDef):
            if node.name.startswith("_") or node.name in _TIME:  # the time is the kernel's
                continue
            body = [
                b
                for b in node.body
                if not (isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant))
            ]
            if node.args.args or len(body) != 1 or not isinstance(body[0], ast.Return):
                raise UnsupportedModel(
                    f"{node.name}: only elements of one return expression are supported"
                )
            expr = body[0].value
            assert expr is not None
            kind = "const" if node.name in constants else "aux"
            elements[node.name] = _Element(node.name, kind, expr)
    return elements, control


class _Flatten(ast.NodeTransformer):
    """Rewrite one expression of the translation for the kernel."""

    def __init__(self, elements: Mapping[str, _Element], lookups: list[tuple[str, list[float]]]):
        self.elements = elements
        self.lookups = lookups
        self.deps: set[str] = set()

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "if_then_else":
            cond = self.visit(node.args[0])
            yes = self.visit(_lambda_body(node.args[1], "if_then_else"))
            no = self.visit(_lambda_body(node.args[2], "if_then_else"))
            return ast.IfExp(test=cond, body=yes, orelse=no)
        if isinstance(func, ast.Name) and not node.args and not node.keywords:
            if func.id in _TIME:
                return ast.Name(_TIME[func.id], ast.Load())
            if func.id in self.elements:
                self.deps.add(func.id)
                return ast.Name(_var(func.id), ast.Load())
            raise UnsupportedModel(f"call of unknown element {func.id}()")
        name = ast.unparse(func)
        if name not in _NUMPY_CALLS:
            raise UnsupportedModel(f"function {name} is not supported")
        node = self.generic_visit(node)  # type: ignore[assignment]
        if name == "np.interp":  # literal tables become module arrays
            for i in (1, 2):
                arg = node.args[i]
                if isinstance(arg, ast.List):
                    values = [float(ast.literal_eval(e)) for e in arg.elts]
                    table = f"TABLE_{len(self.lookups)}"
                    self.lookups.append((table, values))
                    node.args[i] = ast.Name(table, ast.Load())
        return node


def _var(name: str) -> str:
    return f"v_{name}"


def _order(nodes: Mapping[str, set[str]], what: str) -> list[str]:
    """Topological order of ``nodes`` (name -> names it needs, among ``nodes``)."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        mark = state.get(n, 0)
        if mark == 2:
            return
        if mark == 1:
            raise UnsupportedModel(f"{what}: a loop without a stock: {' -> '.join(path + [n])}")
        state[n] = 1
        for d in sorted(nodes[n]):
            if d in nodes:
                visit(d, path + [n])
        state[n] = 2
        order.append(n)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(nodes) + 100))
    for n in sorted(nodes):
        visit(n, [])
    return order


def kernel_source(source: str, constants: Sequence[str], outputs: Sequence[str]) -> str:
    """Python source of the kernel for PySD's translation ``source``.

    ``constants`` are the PySD names of the constants a run may set (the columns of the
    kernel's parameter matrix, in this order); ``outputs`` the components it can save
    (its ``select`` argument picks them by their place in this order).
    """
    elements, control = _parse(source, set(constants))
    lookups: list[tuple[str, list[float]]] = []
    code: dict[str, str] = {}  # element or part -> expression source
    deps: dict[str, set[str]] = {}

    def flat(key: str, expr: ast.expr) -> None:
        f = _Flatten(elements, lookups)
        code[key] = ast.unparse(f.visit(ast.fix_missing_locations(expr)))
        deps[key] = f.deps

    for e in elements.values():
        if e.kind == "aux":
            assert e.expr is not None
            flat(e.name, e.expr)
        elif e.kind != "const":
            for part, expr in e.parts.items():
                flat(f"{e.name}.{part}", expr)
    stateful = [e for e in elements.values() if e.kind in _STATEFULS]
    auxes = [e.name for e in elements.values() if e.kind == "aux"]
    missing = [c for c in constants if c not in elements]
    if missing:
        raise UnsupportedModel(f"constants not in the translation: {missing[:5]}")

    # in a step: states are given, auxiliaries follow in dependency order; a SAMPLE IF
    # TRUE's value (the sample when its condition holds, else its state) is one of them
    step_nodes: dict[str, set[str]] = {a: deps[a] for a in auxes}
    for e in stateful:
        if e.kind == "SampleIfTrue":
            step_nodes[e.name] = deps[f"{e.name}.condition"] | deps[f"{e.name}.value"]
    step_order = [n for n in _order(step_nodes, "step") if n in step_nodes]

    # at the initial time: a stateful's value needs its initial value's elements
    init_nodes: dict[str, set[str]] = {a: deps[a] for a in auxes}
    for e in stateful:
        need = set(deps[f"{e.name}.init"])
        if e.kind == "DelayFixed":
            need |= deps[f"{e.name}.delay"]
        if e.kind == "SampleIfTrue":
            need |= deps[f"{e.name}.condition"] | deps[f"{e.name}.value"]
        init_nodes[e.name] = need
    init_order = _order(init_nodes, "initial values")

    def value_of_sample(e: _Element) -> str:
        return f"(({code[e.name + '.value']}) if ({code[e.name + '.condition']}) else s_{e.name})"

    lines = [
        "# Generated by hatinh_sd.compiled from PySD's translation; do not edit.",
        "import math",
        "import numpy as np",
        "from numba import njit",
        "",
        f"T0 = {control['initial_time']!r}",
        f"T1 = {control['final_time']!r}",
        f"DT = {control['time_step']!r}",
        f"SAVEPER = {control['saveper']!r}",
    ]
    for table, values in lookups:
        lines.append(f"{table} = np.array({values!r})")
    lines += [
        "",
        "",
        '@njit(cache=True, nogil=True, error_model="numpy")',
        "def kernel(P, select, n_steps, save_every, out):",
        f"    row = np.empty({len(outputs)})",
        "    for smp in range(P.shape[0]):",
    ]
    body: list[str] = []
    for j, c in enumerate(constants):
        body.append(f"{_var(c)} = P[smp, {j}]")
    body.append("t = T0")
    for n in init_order:
        e = elements[n]
        if e.kind == "aux":
            body.append(f"{_var(n)} = {code[n]}")
            continue
        body.append(f"s_{n} = {code[n + '.init']}")
        if e.kind == "DelayFixed":
            body += [
                f"o_{n} = round(max(({code[n + '.delay']}) / DT, 1.0) + {SMALL_VENSIM!r})",
                f"pipe_{n} = np.full(o_{n}, s_{n})",
                f"ptr_{n} = 0",
            ]
        body.append(f"{_var(n)} = {value_of_sample(e) if e.kind == 'SampleIfTrue' else 's_' + n}")
    body += ["j = 0", "k = 0", "while True:"]
    loop = [f"{_var(e.name)} = s_{e.name}" for e in stateful if e.kind != "SampleIfTrue"]
    for n in step_order:
        e = elements[n]
        loop.append(f"{_var(n)} = {value_of_sample(e) if e.kind == 'SampleIfTrue' else code[n]}")
    loop.append("if k % save_every == 0:")  # every component into a row, the chosen out
    for i, o in enumerate(outputs):
        loop.append(f"    row[{i}] = {_var(o)}")
    loop += [
        "    for i in range(select.shape[0]):",
        "        out[smp, i, j] = row[select[i]]",
        "    j += 1",
        "if k == n_steps:",
        "    break",
    ]
    # every rate and update from the states of this step, then the new states
    for e in stateful:
        if e.kind == "Integ":
            loop.append(f"r_{e.name} = {code[e.name + '.ddt']}")
        elif e.kind == "DelayFixed":
            loop.append(f"in_{e.name} = {code[e.name + '.input']}")
        elif e.kind == "SampleIfTrue":
            loop.append(f"new_{e.name} = s_{e.name} * 0.0 + {value_of_sample(e)}")
    for e in stateful:
        n = e.name
        if e.kind == "Integ":
            loop.append(f"s_{n} = s_{n} + r_{n} * DT")
        elif e.kind == "DelayFixed":
            loop += [
                f"pipe_{n}[ptr_{n}] = in_{n}",
                f"ptr_{n} = (ptr_{n} + 1) % o_{n}",
                f"s_{n} = pipe_{n}[ptr_{n}]",
            ]
        elif e.kind == "SampleIfTrue":
            loop.append(f"s_{n} = new_{n}")
    loop += ["t = t + DT", "k += 1"]
    body += ["    " + ln for ln in loop]
    lines += ["        " + ln for ln in body]
    return "\n".join(lines) + "\n"


def _cache_dir(model: Model) -> Path:
    """Where the kernel of ``model``'s translation is kept (beside PySD's translation)."""
    return Path(model.py_path).parent


class CompiledModel:
    """Many parameter sets of ``model`` at once in one compiled kernel.

    :meth:`run` takes and returns what :meth:`hatinh_sd.ensemble.ArrayModel.run` does.
    Every constant of the model (:attr:`Model._constant_defaults`, the calibration
    applied) is a column of the kernel's parameter matrix; every component can be saved.
    ``threads`` splits the samples of a run over that many threads.
    """

    def __init__(self, model: Model, threads: int = 1):
        self.model = model
        #: Threads a run of many samples is split over (the kernel runs without the GIL).
        self.threads = max(1, int(threads))
        self.constants = sorted(c for c in model._constant_defaults if c not in _TIME)
        source = Path(model.py_path).read_text(encoding="utf-8")
        tree = ast.parse(source)
        self.outputs = sorted(
            n.name
            for n in tree.body
            if isinstance(n, ast.FunctionDef) and not n.name.startswith("_") and n.name not in _TIME
        )
        self._index = {c: j for j, c in enumerate(self.constants)}
        self._slots = {o: i for i, o in enumerate(self.outputs)}
        # named by what it is made of: the translation, the constants and this generator
        key = hashlib.sha256(
            Path(__file__).read_bytes() + (source + "\n".join(self.constants)).encode()
        ).hexdigest()[:16]
        path = _cache_dir(model) / f"kernel_{key}.py"
        if not path.exists():
            text = kernel_source(source, self.constants, self.outputs)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        spec = importlib.util.spec_from_file_location(f"hatinh_sd_kernel_{key}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # numba's cache imports the module by name
        spec.loader.exec_module(module)
        self._kernel = module.kernel
        self.path = path

    def run(
        self,
        values: Mapping[str, np.ndarray],
        fixed: Mapping[str, float],
        outputs: Sequence[str],
        final_time: float,
        saveper: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the samples; return times and an array (output, sample, time).

        ``values`` maps PySD names of constants to arrays of equal length (one value per
        sample), ``fixed`` PySD names to numbers; ``saveper`` is the saving interval (a
        multiple of the time step).
        """
        lengths = {len(v) for v in values.values()}
        if len(lengths) > 1:
            raise ValueError(f"factor arrays of different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else 1
        defaults = self.model._constant_defaults
        P = np.empty((n, len(self.constants)))
        P[:] = np.array([defaults[c] for c in self.constants])
        settings: dict[str, Any] = {**fixed, **values}
        for name, v in settings.items():
            if name not in self._index:
                raise KeyError(f"{name} is not a constant of the model")
            P[:, self._index[name]] = np.asarray(v, dtype=float)
        unknown = [o for o in outputs if o not in self._slots]
        if unknown:
            raise KeyError(f"{unknown[0]} is not a component of the model")
        select = np.array([self._slots[o] for o in outputs], dtype=np.int64)
        dt = self.model.time_step
        t0 = self.model.initial_time
        n_steps = int(round((final_time - t0) / dt))
        every = int(round(saveper / dt))
        if every < 1 or not math.isclose(every * dt, saveper):
            raise ValueError(f"saveper {saveper} is not a multiple of the time step {dt}")
        times = t0 + dt * np.arange(0, n_steps + 1, every)
        out = np.full((n, len(outputs), len(times)), np.nan)
        chunks = np.array_split(np.arange(n), max(1, min(self.threads, n)))
        if len(chunks) == 1:
            self._kernel(P, select, n_steps, every, out)
        else:  # the kernel releases the GIL: each thread runs its samples on a core of its own
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(len(chunks)) as pool:
                list(
                    pool.map(
                        lambda c: self._kernel(
                            P[c[0] : c[-1] + 1], select, n_steps, every, out[c[0] : c[-1] + 1]
                        ),
                        chunks,
                    )
                )
        return times, np.ascontiguousarray(out.transpose(1, 0, 2))

    def run_dataset(
        self,
        params: Mapping[str, float] | None = None,
        *,
        outputs: Iterable[str],
        scenario: str = "custom",
        source: str = "parameters",
    ) -> Any:
        """One run of settings ``params`` (model or Python names, checked against the model's
        ranges as :meth:`Model.run` checks them), returned as :meth:`Model.run` returns it:
        a Dataset of ``outputs`` over the saved years, ``engine`` attribute naming the kernel.
        """
        import pandas as pd
        from numba import __version__ as numba_version

        overrides = self.model.resolve_params(params, source=source)
        columns = [self.model.py_name(o) for o in outputs]
        times, out = self.run({}, overrides, columns, self.model.final_time)
        df = pd.DataFrame(
            {c: out[i, 0] for i, c in enumerate(columns)}, index=pd.Index(times, name="time")
        )
        ds = self.model.to_dataset(df, columns, overrides, self.model.time_step, scenario)
        ds.attrs["engine"] = f"compiled kernel (numba {numba_version})"
        return ds

    def check_runs(self, reference: Any, outputs: Iterable[str]) -> float:
        """Largest relative difference from ``reference`` (``Model.run``) over ``outputs`` and
        every year, on :func:`hatinh_sd.fastengine.check_sets` (the baseline and every lever
        at the bottom and at the top of its range); NaN in both counts as equal."""
        from hatinh_sd.fastengine import check_runner

        return check_runner(self.run_dataset, reference, self.model, outputs)

    def check(
        self,
        other: Any,
        values: Mapping[str, np.ndarray],
        fixed: Mapping[str, float],
        outputs: Sequence[str],
    ) -> float:
        """Largest relative difference from ``other`` (an
        :class:`~hatinh_sd.ensemble.ArrayModel`) on the same samples, over ``outputs`` and
        every year (relative to max(|value|, 1e-9); NaN in both counts as equal)."""
        final = self.model.final_time
        _, a = self.run(values, fixed, outputs, final)
        _, b = other.run(values, fixed, outputs, final)
        from hatinh_sd.fastengine import largest_difference

        return largest_difference(a, b)


def checked_engine(
    reference: Any,
    values: Mapping[str, np.ndarray],
    outputs: Sequence[str],
    *,
    check_runs: int = 20,
    threads: int = 1,
) -> tuple[Any, str, float]:
    """The engine to run ``values`` with: the compiled kernel of ``reference``'s model if it
    agrees with ``reference`` (an :class:`~hatinh_sd.ensemble.ArrayModel`) within
    :data:`CHECK_RTOL` on the first ``check_runs`` samples of ``values`` over ``outputs``,
    else ``reference`` itself. The kernel splits its runs over ``threads`` threads.

    Returns the engine, its name (``"compiled"`` or ``"pysd"``) and the difference found
    (NaN when the kernel could not be built: numba missing, or a construct it does not
    handle; the reason is logged).
    """
    import logging

    log = logging.getLogger(__name__)
    first = {k: np.asarray(v)[:check_runs] for k, v in values.items()}
    try:
        compiled = CompiledModel(reference.model, threads=threads)
        diff = compiled.check(reference, first, {}, outputs)
    except (ImportError, UnsupportedModel) as exc:
        log.warning("compiled engine not used: %s", exc)
        return reference, "pysd", float("nan")
    if not diff <= CHECK_RTOL:
        log.warning("compiled engine not used: it differs from PySD by %.3g", diff)
        return reference, "pysd", diff
    return compiled, "compiled", diff
