"""The calibrated model as a Vensim file any engine runs as the project does.

``model/hatinh.mdl`` holds the evidence-based values; ``model/calibration.yaml``
the fitted ones, which :class:`hatinh_sd.model.Model` applies in Python (and a
fitted ``X historical`` also becomes lever ``X``'s default). A Vensim, Stella,
SDEverywhere or plain-PySD user who opens the ``.mdl`` would run another model.
:func:`calibrated_mdl` writes those values into a copy of the ``.mdl`` text, and
writes every whole-number constant with a decimal point, because PySD builds a
SMOOTH's state from its initial value: an integer (``initial GRDP = 17330``)
gives an integer state that truncates the first input, which the project avoids
by widening the states to floats (:func:`hatinh_sd.pysd_runtime.adapt_smooth_states`).
:func:`changes_file` writes the same values as a Vensim ``.cin`` changes file.

Other engines: ``calibrated_mdl(model, engine="simlin")`` also applies
:func:`for_other_engines`, which rewrites each ``DELAY FIXED`` as an explicit
chain of one-step stocks (pysimlin 0.8 computes ``DELAY FIXED`` otherwise than
PySD's and Vensim's pipeline). PySD and the default export are not changed.
"""

from __future__ import annotations

import re
from pathlib import Path

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.model import Model
from hatinh_sd.results import atomic_dir

__all__ = [
    "ENGINES",
    "FORMATS",
    "calibrated_mdl",
    "changes_file",
    "for_other_engines",
    "write_export",
    "xmile",
]

#: Engines :func:`calibrated_mdl` writes for: ``pysd`` (as is) and ``simlin`` (rewritten).
ENGINES = ("pysd", "simlin")

#: A constant's equation: ``name = number`` alone on its line.
_CONSTANT = re.compile(
    r"^(?P<name>[A-Za-z][^=\n~|]*?)\s*=\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)[ \t]*$",
    re.M,
)


def _vensim(value: float) -> str:
    """A number as Vensim reads it, with a decimal point (``17330.0``, ``0.216832``)."""
    text = repr(float(value))
    return text if ("." in text or "e" in text or "inf" in text or "nan" in text) else text + ".0"


def _key(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").split())


def calibrated_mdl(model: Model, engine: str = "pysd") -> str:
    """The ``.mdl`` text with the calibration applied and whole-number constants as floats.

    ``engine="simlin"`` also applies :func:`for_other_engines`; ``"pysd"`` (the
    default, and what ``hatinh-sd export`` writes) leaves the equations as they are.

    Raises
    ------
    HatinhInputError
        A calibrated constant whose equation is not ``name = number`` on one line.
    """
    text = model.mdl_path.read_text(encoding="utf-8")
    values = {_key(k): v for k, v in model.calibration.items()}
    seen: set[str] = set()

    def replace(m: re.Match[str]) -> str:
        key = _key(m.group("name"))
        if key in values:
            seen.add(key)
            return f"{m.group('name')} = {_vensim(values[key])}"
        number = m.group("value")
        if re.fullmatch(r"[-+]?\d+", number):
            return f"{m.group('name')} = {number}.0"
        return m.group(0)

    out = _CONSTANT.sub(replace, text)
    missing = sorted(set(values) - seen)
    if missing:
        raise HatinhInputError(
            f"calibrated constant(s) {', '.join(missing)} have no 'name = number' equation "
            "to write the value into",
            path=model.mdl_path,
        )
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    return out if engine == "pysd" else for_other_engines(out)


#: ``name = DELAY FIXED(input, delay time, initial value)`` on one line, then its units line.
_DELAY_FIXED = re.compile(
    r"^(?P<name>[A-Za-z][^=\n~|]*?)\s*=\s*DELAY FIXED\s*\((?P<args>[^\n]*)\)[ \t]*\n"
    r"(?P<units>[ \t]*~[^\n]*)$",
    re.M | re.I,
)


def _split_arguments(args: str) -> list[str]:
    """Top-level comma-separated arguments of a function call."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(args):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
    parts.append(args[start:].strip())
    return parts


def _number(expression: str, constants: dict[str, float]) -> float | None:
    try:
        return float(expression)
    except ValueError:
        return constants.get(_key(expression))


def for_other_engines(text: str) -> str:
    """Rewrite the ``.mdl`` text so engines other than PySD (pysimlin, SDEverywhere)
    run it as PySD does (``hatinh-sd crosscheck``).

    Each ``X = DELAY FIXED(input, delay, init)`` becomes ``X = X delay stage n``
    fed by ``n = delay / TIME STEP`` stocks ``X delay stage k = INTEG((previous -
    X delay stage k) / TIME STEP, init)``: under Euler integration each stage
    takes its predecessor's value of the previous step, so stage ``n`` is the
    input ``n`` steps (``delay`` years) earlier and ``init`` before, exactly
    PySD's pipeline (to rounding: ``s + (x - s)``). The delay and TIME STEP must
    be numbers or constants, and the delay a whole number of steps.

    Raises
    ------
    HatinhInputError
        A DELAY FIXED whose delay is not a constant whole number of time steps.
    """
    constants = {_key(m.group("name")): float(m.group("value")) for m in _CONSTANT.finditer(text)}
    dt = constants.get("time step")

    def chain(m: re.Match[str]) -> str:
        name = m.group("name").strip()
        args = _split_arguments(m.group("args"))
        delay = _number(args[1], constants) if len(args) == 3 else None
        steps = delay / dt if delay is not None and dt else float("nan")
        if not (steps == steps and steps >= 1 and abs(steps - round(steps)) < 1e-9):
            raise HatinhInputError(
                f"DELAY FIXED of {name!r}: the delay must be a constant whole number of "
                "TIME STEPs to write it as a chain of stocks"
            )
        n = round(steps)
        source, delay_expr, init = args
        blocks = []
        previous = f"({source})"
        for k in range(1, n + 1):
            stage = f"{name} delay stage {k}"
            blocks.append(
                f"{stage} = INTEG(({previous} - {stage}) / TIME STEP, {init})\n"
                f"{m.group('units')}\n"
                f"\t~\tcross-engine rewrite: stage {k} of {n} of DELAY FIXED({source}, "
                f"{delay_expr}, {init}) as a chain of one-step stocks.\n\t|\n\n"
            )
            previous = stage
        return "".join(blocks) + f"{name} = {previous}\n{m.group('units')}"

    return _DELAY_FIXED.sub(chain, text)


def changes_file(model: Model) -> str:
    """The calibration as a Vensim ``.cin`` changes file (``name = value`` per line)."""
    lines = [f"{name} = {_vensim(value)}" for name, value in sorted(model.calibration.items())]
    return "\n".join(lines) + "\n"


#: Formats :func:`write_export` writes.
FORMATS = ("vensim", "xmile")


def write_export(
    model: Model, folder: Path | str, formats: tuple[str, ...] | list[str] = ("vensim",)
) -> dict[str, Path]:
    """Write the calibrated model as ``folder`` (assembled aside and moved into place:
    every file or none): ``vensim`` gives ``hatinh_calibrated.mdl`` and
    ``hatinh_calibration.cin``, ``xmile`` gives ``hatinh_calibrated.xmile``."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise HatinhInputError(
            f"unknown format(s) {', '.join(unknown)}; expected {', '.join(FORMATS)}",
            key="--format",
        )
    folder = Path(folder)
    files: dict[str, str | bytes] = {}
    if "vensim" in formats:
        from hatinh_sd.sketch import with_sketch  # one view per group, for Vensim

        files["hatinh_calibrated.mdl"] = with_sketch(calibrated_mdl(model))
        files["hatinh_calibration.cin"] = changes_file(model)
    if "xmile" in formats:
        files["hatinh_calibrated.xmile"] = xmile(model)
    with atomic_dir(folder) as tmp:
        for name, content in files.items():
            if isinstance(content, bytes):
                (tmp / name).write_bytes(content)
            else:
                (tmp / name).write_text(content, encoding="utf-8")
    return {name: folder / name for name in files}


def xmile(model: Model) -> bytes:
    """The calibrated model as XMILE (for Stella and other XMILE tools), written by pysimlin.

    pysimlin reads :func:`calibrated_mdl` for other engines (``engine="simlin"``) and
    writes it with its XMILE exporter; pysimlin reading that XMILE back runs the same
    model (tested against PySD).
    """
    import tempfile

    try:
        import simlin
    except ImportError as exc:
        raise HatinhInputError(
            f"the XMILE export needs pysimlin ({exc}); install it: pip install pysimlin",
            key="--format",
        ) from None
    with tempfile.TemporaryDirectory(prefix="hatinh-xmile-") as tmp:
        path = Path(tmp) / "hatinh_calibrated.mdl"
        path.write_text(calibrated_mdl(model, engine="simlin"), encoding="utf-8")
        project = simlin.load(path).project
        if project is None:  # simlin.load always gives the model its project
            raise RuntimeError("pysimlin loaded the model without its project")
        return bytes(project.to_xmile())
