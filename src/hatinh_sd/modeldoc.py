"""Documentation generated from the model itself (never written by hand).

:func:`render_assumptions` turns every constant of ``model/hatinh.mdl`` into a
Markdown table row (parameter, value, unit, range, role, source or reason);
:func:`render_effects` lists the saturating effect functions with their
elasticities, asymptotes and sources; :func:`render_levers` the levers' effects
and costs (:func:`hatinh_sd.scenarios.lever_effects`). :func:`update_readme`
writes them between the markers of ``model/README.md``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from hatinh_sd.errors import HatinhInputError, read_text
from hatinh_sd.model import Model
from hatinh_sd.project import current_project
from hatinh_sd.results import atomic_file

__all__ = [
    "EffectFunction",
    "effect_functions",
    "Assumption",
    "assumptions",
    "register_constants",
    "translation_problems",
    "render_assumptions",
    "render_effects",
    "render_levers",
    "update_readme",
]

START, END = "<!-- assumptions:start -->", "<!-- assumptions:end -->"


def _fmt(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:g}"


@dataclasses.dataclass(frozen=True)
class Assumption:
    """One constant of the assumptions register."""

    name: str
    value: float
    unit: str
    low: float | None
    high: float | None
    role: str  # lever, uncertain, calibrated or fixed
    group: int | None  # a lever's task group
    comment: str


def assumptions(model: Model) -> list[Assumption]:
    """The model's constants, in the order of the ``.mdl`` (the assumptions register)."""
    params = model.parameters
    rows = []
    for _, r in model.doc.iterrows():
        if (
            r["Type"] != "Constant"
            or r["Subtype"] != "Normal"
            or r["Real Name"] in ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")
        ):
            continue
        p = params.get(r["Real Name"])
        rows.append(
            Assumption(
                name=r["Real Name"],
                value=float(model._constant_defaults[r["Py Name"]]),
                unit=str(r["Units"]),
                low=p.low if p else None,
                high=p.high if p else None,
                role=p.role if p else "fixed",
                group=p.group if p and p.role == "lever" else None,
                comment=r["Comment"] if isinstance(r["Comment"], str) else "",
            )
        )
    return rows


def register_constants(model: Model) -> list[tuple[str, str]]:
    """(name, comment) of every constant of the assumptions register."""
    return [(a.name, a.comment) for a in assumptions(model)]


def render_assumptions(model: Model) -> str:
    """Markdown table of the model's constants, in the order of the ``.mdl``."""
    rows = [
        "| parameter | value | unit | range | role | source or reason |",
        "|---|---|---|---|---|---|",
    ]
    for a in assumptions(model):
        rng = f"[{_fmt(a.low)}, {_fmt(a.high)}]" if a.low is not None and a.high is not None else ""
        role = f"lever (group {a.group})" if a.role == "lever" else a.role
        comment = a.comment.replace("|", "/").replace("\n", " ")
        rows.append(f"| {a.name} | {a.value:g} | {a.unit} | {rng} | {role} | {comment} |")
    return "\n".join(rows)


#: The saturating form every effect of an index uses (see the .mdl's .Conventions):
#: effect = M / (1 + (M - 1) * index ^ (-e * M / (M - 1))).
_EFFECT = re.compile(
    r"^(?P<name>[^=\n]+?) = (?P<M>[^=\n/]+?) / \(1 \+ \((?P=M) - 1\) \* (?P<index>[^\^\n]+?) "
    r"\^ \(-(?P<e>[^*\n]+?) \* (?P=M) / \((?P=M) - 1\)\)\)\s*$",
    re.M,
)


@dataclasses.dataclass(frozen=True)
class EffectFunction:
    """A saturating effect of the model: its index, elasticity and asymptote constants."""

    name: str
    index: str
    elasticity: str
    asymptote: str

    def __call__(self, index: float | np.ndarray, elasticity: float, asymptote: float):
        """The effect at ``index`` (1 at index 1, local elasticity ``elasticity``)."""
        m, e = asymptote, elasticity
        return m / (1 + (m - 1) * index ** (-e * m / (m - 1)))


def effect_functions(model: Model) -> list[EffectFunction]:
    """Every equation of ``model/hatinh.mdl`` written in the saturating effect form."""
    text = model.mdl_path.read_text(encoding="utf-8")
    out = []
    for m in _EFFECT.finditer(text):
        out.append(
            EffectFunction(
                name=m.group("name").strip(),
                index=m.group("index").strip(),
                elasticity=m.group("e").strip(),
                asymptote=m.group("M").strip(),
            )
        )
    return out


def _sources(comment: str) -> str:
    keys = re.findall(r"source: ([A-Za-z0-9_,\s-]+?)(?: \(|;|\.|$)", comment)
    return ", ".join(k.strip() for k in keys) if keys else "assumption"


def _reference(model: Model, index: str) -> str:
    """How the index is normalised (its equation), for the effects table."""
    text = model.mdl_path.read_text(encoding="utf-8")
    m = re.search(rf"^{re.escape(index)} = ([^\n]+)$", text, re.M)
    return m.group(1).strip() if m else index


def render_effects(model: Model) -> str:
    """Markdown table of the effect functions: index, elasticity, asymptote, source."""
    rows = [
        "| effect | index (1 at the reference) | elasticity at the reference | range | asymptote | range | source of the elasticity |",
        "|---|---|---|---|---|---|---|",
    ]
    params = model.parameters
    defaults = model.defaults
    for f in effect_functions(model):
        e, a = params.get(f.elasticity), params.get(f.asymptote)
        erng = f"[{_fmt(e.low)}, {_fmt(e.high)}]" if e else "fixed"
        arng = f"[{_fmt(a.low)}, {_fmt(a.high)}]" if a else "fixed"
        src = _sources(e.comment if e else "")
        rows.append(
            f"| `{f.name}` | `{f.index}` = {_reference(model, f.index)} | {defaults[f.elasticity]:g} | {erng} "
            f"| {defaults[f.asymptote]:g} | {arng} | {src} |"
        )
    return "\n".join(rows)


def render_levers(table: pd.DataFrame) -> str:
    """Markdown table of :func:`hatinh_sd.scenarios.lever_effects`."""
    rows = [
        "| lever | group | at | GRDP 2030 | T01 | T03 | T07 | cost 2026-2030, budget | private | outside | bound on the GRDP effect | basis |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        rows.append(
            f"| {r.lever} | {r.group} | {r.value:g} {r.units} | {r.grdp_2030:+.2f} % | {r.t01:+.2f} pts "
            f"| {r.t03:+.2f} pts | {r.t07:+.2f} pts | {r.cost_budget:,.0f} | {r.cost_private:,.0f} "
            f"| {r.cost_outside:,.0f} | {r.bound:g} % | {r.basis} |"
        )
    return "\n".join(rows)


def _write_section(text: str, name: str, content: str, path: Path) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise HatinhInputError(
            f"the generated section '{name}' needs the markers {start} and {end}", path=path
        )
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}\n{end}{tail}"


def update_readme(
    model: Model, path: Path | None = None, *, levers: pd.DataFrame | None = None
) -> Path:
    """Rewrite the generated tables of ``model/README.md`` (atomically).

    The assumptions and effects tables always; the lever table when ``levers``
    (from :func:`hatinh_sd.scenarios.lever_effects`) is given.
    """
    path = Path(path) if path else current_project().path("readme")
    text = read_text(path)
    text = _write_section(text, "assumptions", render_assumptions(model), path)
    text = _write_section(text, "effects", render_effects(model), path)
    if levers is not None:
        text = _write_section(text, "levers", render_levers(levers), path)
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def translation_problems(model: Model) -> list[str]:
    """What the Vietnamese lacks: names without a label, units without planning terms,
    register notes that are missing or stale, limitations out of date."""
    from hatinh_sd import vocabulary as v

    doc = v.translations()
    names, units = doc["names"], doc["units"]
    out = []
    for _, r in model.doc.iterrows():
        name = str(r["Real Name"])
        if name in ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"):
            continue
        entry = names.get(name)
        if not isinstance(entry, dict) or not entry.get("vi"):
            out.append(f"name '{name}' has no Vietnamese label")
        u = r["Units"]
        if isinstance(u, str) and not {"vi", "en"} <= set(units.get(u) or {}):
            out.append(f"unit '{u}' (of '{name}') has no planning terms in vi and en")
    for name, comment in register_constants(model):
        if v.note(name, comment, "vi") is None:
            out.append(f"the note of '{name}' is untranslated or translates an older comment")
    lim = doc["limitations"]
    english = v.english_limitations()
    if not isinstance(lim, dict) or lim.get("of") != v.digest(english):
        out.append("the known limitations changed in model/README.md since their translation")
    elif len(v.limitations("vi")) != len(v.limitations("en")):
        out.append("the translated known limitations have another number of bullets")
    extra = sorted(set(names) - set(model.doc["Real Name"]))
    out += [f"'{n}' is translated but not in the model" for n in extra]
    return out
