"""The exported .mdl carries a Vensim sketch: one view per group, every variable placed once,
arrows for every dependency; PySD (split_views) and pysimlin read it and run the same model."""

from __future__ import annotations

import json
import shutil
import time
import warnings
from collections import Counter

import numpy as np
import pytest

from hatinh_sd.mdlexport import calibrated_mdl, write_export
from hatinh_sd.sketch import SKETCH_START, groups, parse_equations, read_sketch, with_sketch

#: PySD keeps these in its main module, not in a view's module (and warns that the
#: Control view shows them); pysimlin reads them as the simulation's time settings.
CONTROL = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("sketch") / "export"
    t0 = time.perf_counter()
    write_export(model, out)
    print(f"export with sketch: {time.perf_counter() - t0:.2f} s")
    path = out / "hatinh_calibrated.mdl"
    return path, path.read_text(encoding="utf-8")


def test_one_view_per_group_and_every_variable_placed_once(exported, model):
    from hatinh_sd.diagram import node_kinds

    _, text = exported
    views = read_sketch(text)
    assert text.count(SKETCH_START) == len(views)
    assert [v.name for v in views] == groups(model.mdl_path.read_text(encoding="utf-8"))
    # every variable of the model (PySD's list, less Time, which no equation defines) is
    # drawn exactly once, as its kind, in the view of its group
    kinds = node_kinds(model)
    placed = Counter(n for v in views for n in v.variables)
    assert set(placed) == set(model.doc["Real Name"]) - {"Time"}
    assert max(placed.values()) == 1
    assert {n for v in views for n in v.stocks} == set(model.stock_flows)
    assert {n for v in views for n in v.flows} == {k for k, kind in kinds.items() if kind == "flow"}
    equations = parse_equations(text)
    for v in views:
        assert {equations[n].group for n in v.variables} <= {v.name}
        assert v.valves == len(v.flows) and v.dangling == 0
        assert v.pipes >= 2 * len(v.flows)  # a pipe from each valve to a stock or a cloud, each end
        assert all(s in equations or s == "Time" for s in v.shadows)
        assert not set(v.shadows) & set(v.variables)
    # an arrow for every cause of every variable PySD knows (and those it looks through:
    # INITIAL and DELAY FIXED arguments), a stock's flows being its pipes
    graph = model.dependency_graph()
    for name, eq in equations.items():
        if eq.kind != "stock":
            assert set(graph.get(name, ())) <= set(eq.causes), name
    counts = Counter()
    for v in views:
        counts.update(
            stocks=len(v.stocks),
            flows=len(v.flows),
            aux=len(v.aux),
            shadows=len(v.shadows),
            arrows=v.arrows,
            pipes=v.pipes,
            clouds=v.clouds,
        )
    print(f"{len(views)} views: {dict(counts)}")
    assert counts["arrows"] == sum(
        len(set(eq.causes) | {f for f, _ in eq.flows if equations[f].group != eq.group})
        for eq in equations.values()
    )


@pytest.mark.slow
def test_pysd_split_views_reads_one_module_per_group(exported, model, tmp_path):
    import pysd

    path, text = exported
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        split = pysd.read_vensim(str(copy), split_views=True)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "not declared as a workbench variable" in m]
    assert sorted(m for m in messages if "Control variable" in m) == sorted(
        m for m in messages if "Control variable" in m and any(f"'{c}'" in m for c in CONTROL)
    )
    modules = json.loads((tmp_path / "modules_hatinh_calibrated" / "_modules.json").read_text())
    equations = parse_equations(text)
    expected = {
        g: {n for n, eq in equations.items() if eq.group == g and n not in CONTROL}
        for g in groups(text)
    }
    expected = {g: names for g, names in expected.items() if names}
    assert len(modules) == len(expected) == len(groups(text)) - 2  # not Conventions, Control
    clean = {g.lower().replace(" ", "_"): names for g, names in expected.items()}
    assert set(modules) == set(clean)
    for module, members in modules.items():
        assert {model.real_name(m) for m in members} == clean[module]
    # the split model runs as the project does
    ours = model.run()
    theirs = split.run()
    worst, compared = 0.0, 0
    for col in theirs.columns:
        py = model.py_name(col) if col in model.doc["Real Name"].values else None
        if py is None or py not in ours or "time" not in ours[py].dims:
            continue
        a, b = theirs[col].to_numpy(dtype=float), ours[py].to_numpy().astype(float)
        rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-9)
        worst = max(worst, float(np.max(np.where(np.isnan(a) & np.isnan(b), 0.0, rel))))
        compared += 1
    assert compared >= 450 and worst <= 1e-9


def _simlin_model(path):
    simlin = pytest.importorskip("simlin")
    return simlin.load(path)


def test_pysimlin_reads_the_views_and_runs_the_same_baseline(exported, model, tmp_path):
    path, text = exported
    loaded = _simlin_model(path)
    project = json.loads(loaded.project.serialize_json())
    (main,) = project["models"]
    elements = [e for view in main["views"] for e in view["elements"]]
    kinds = Counter(e["type"] for e in elements)
    marked = [e["name"] for e in elements if e["type"] == "group" and e.get("isMdlViewMarker")]
    assert marked == groups(text)  # the views, in order
    views = read_sketch(text)
    assert kinds["stock"] == sum(len(v.stocks) for v in views)
    assert kinds["flow"] == sum(len(v.flows) for v in views)
    assert kinds["aux"] == sum(len(v.aux) for v in views) - len(CONTROL)  # time settings
    assert kinds["alias"] > 0 and kinds["link"] > 0 and kinds["cloud"] > 0
    # the sketch changes nothing pysimlin computes ...
    plain = tmp_path / "no_sketch.mdl"
    plain.write_text(calibrated_mdl(model), encoding="utf-8")
    with_views = loaded.run(analyze_loops=False).results
    without = _simlin_model(plain).run(analyze_loops=False).results
    assert list(with_views.columns) == list(without.columns)
    assert np.array_equal(with_views.to_numpy(), without.to_numpy(), equal_nan=True)
    # ... and the export for other engines, with its sketch, runs the project's baseline
    other = tmp_path / "simlin.mdl"
    other.write_text(with_sketch(calibrated_mdl(model, engine="simlin")), encoding="utf-8")
    theirs = _simlin_model(other).run(analyze_loops=False).results
    ours = model.run()
    names = {"_".join(r.lower().replace("_", " ").split()): r for r in model.doc["Real Name"]}
    times = ours["time"].to_numpy()
    worst, compared = 0.0, 0
    for column in theirs.columns:
        real = names.get(column)
        py = model.py_name(real) if real else None
        if py is None or py not in ours or "time" not in ours[py].dims:
            continue
        a = theirs[column].reindex(times).to_numpy(dtype=float)
        b = ours[py].to_numpy().astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-9)
        rel = np.where(
            (np.isnan(a) & np.isnan(b)) | ((np.abs(a) <= 1e-9) & (np.abs(b) <= 1e-9)), 0, rel
        )
        worst = max(worst, float(np.max(np.where(np.isnan(rel), np.inf, rel))))
        compared += 1
    print(f"pysimlin against PySD: {compared} series, largest relative difference {worst:.3g}")
    assert compared >= 450 and worst <= 1e-9


def test_a_model_with_a_sketch_keeps_it():
    text = "{UTF-8}\n*****\n\t.G\n*****~\n\t|\n\na = 1\n\t~\t\n\t~\t\n\t|\n\n"
    once = with_sketch(text)
    assert with_sketch(once) == once
    (view,) = read_sketch(once)
    assert view.name == "G" and view.aux == ["a"]
