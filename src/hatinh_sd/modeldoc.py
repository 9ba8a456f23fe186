"""Documentation generated from the model itself (never written by hand).

:func:`render_assumptions` turns every constant of ``model/hatinh.mdl`` into a
Markdown table row (parameter, value, unit, range, role, source or reason);
:func:`update_readme` writes it between the markers of ``model/README.md``.
"""

from __future__ import annotations

import math
from pathlib import Path

from hatinh_sd.model import Model, repo_root
from hatinh_sd.results import atomic_file

__all__ = ["render_assumptions", "update_readme"]

START, END = "<!-- assumptions:start -->", "<!-- assumptions:end -->"


def _fmt(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:g}"


def render_assumptions(model: Model) -> str:
    """Markdown table of the model's constants, in the order of the ``.mdl``."""
    rows = [
        "| parameter | value | unit | range | role | source or reason |",
        "|---|---|---|---|---|---|",
    ]
    params = model.parameters
    for _, r in model.doc.iterrows():
        if (
            r["Type"] != "Constant"
            or r["Subtype"] != "Normal"
            or r["Real Name"] in ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")
        ):
            continue
        name = r["Real Name"]
        p = params.get(name)
        value = model._constant_defaults[r["Py Name"]]
        rng = f"[{_fmt(p.low)}, {_fmt(p.high)}]" if p else ""
        role = (f"lever (group {p.group})" if p.role == "lever" else p.role) if p else "fixed"
        comment = (
            (r["Comment"] if isinstance(r["Comment"], str) else "")
            .replace("|", "/")
            .replace("\n", " ")
        )
        rows.append(f"| {name} | {value:g} | {r['Units']} | {rng} | {role} | {comment} |")
    return "\n".join(rows)


def update_readme(model: Model, path: Path | None = None) -> Path:
    """Rewrite the assumptions table of ``model/README.md`` (atomically)."""
    path = Path(path or repo_root() / "model" / "README.md")
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{path}: markers {START} and {END} not found")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{render_assumptions(model)}\n{END}{tail}"
    with atomic_file(path) as tmp:
        tmp.write_text(new, encoding="utf-8")
    return path
