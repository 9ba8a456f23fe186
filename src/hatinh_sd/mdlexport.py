"""The calibrated model as a Vensim file any engine runs as the project does.

``model/hatinh.mdl`` holds the evidence-based values; ``model/calibration.yaml``
the fitted ones, which :class:`hatinh_sd.model.Model` applies in Python (and a
fitted ``X historical`` also becomes lever ``X``'s default). A Vensim, Stella,
SDEverywhere or plain-PySD user who opens the ``.mdl`` would run another model.
:func:`calibrated_mdl` writes those values into a copy of the ``.mdl`` text, and
writes every whole-number constant with a decimal point, because PySD builds a
SMOOTH's state from its initial value: an integer (``initial GRDP = 17330``)
gives an integer state that truncates the first input, which the project avoids
by widening the states to floats (:func:`hatinh_sd.model.adapt_smooth_states`).
:func:`changes_file` writes the same values as a Vensim ``.cin`` changes file.
"""

from __future__ import annotations

import re
from pathlib import Path

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.model import Model
from hatinh_sd.results import atomic_dir

__all__ = ["calibrated_mdl", "changes_file", "write_export"]

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


def calibrated_mdl(model: Model) -> str:
    """The ``.mdl`` text with the calibration applied and whole-number constants as floats.

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
    return out


def changes_file(model: Model) -> str:
    """The calibration as a Vensim ``.cin`` changes file (``name = value`` per line)."""
    lines = [f"{name} = {_vensim(value)}" for name, value in sorted(model.calibration.items())]
    return "\n".join(lines) + "\n"


def write_export(model: Model, folder: Path | str) -> dict[str, Path]:
    """Write ``hatinh_calibrated.mdl`` and ``hatinh_calibration.cin`` as ``folder``
    (assembled aside and moved into place: both files or neither)."""
    folder = Path(folder)
    files = {
        "hatinh_calibrated.mdl": calibrated_mdl(model),
        "hatinh_calibration.cin": changes_file(model),
    }
    with atomic_dir(folder) as tmp:
        for name, content in files.items():
            (tmp / name).write_text(content, encoding="utf-8")
    return {name: folder / name for name in files}
