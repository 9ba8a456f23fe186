"""The model diagram is drawn from the model: every stock and flow, signs, levers, sectors."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from hatinh_sd.cli import main
from hatinh_sd.diagram import (
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
    assert ("hub_population", "hub_labour") in links
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
