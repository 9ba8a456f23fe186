"""The package's layers: a module imports only modules of its own layer or lower ones.

Data flows one way, model -> runs -> analyses -> presentation -> command line; the core
knows no chart and the engine no report. The map below is the architecture the README
describes; a new module is placed in it, and an import against it fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "hatinh_sd"

#: Layers, lowest first.
LAYERS: dict[str, set[str]] = {
    "foundation": {"errors", "project", "units", "i18n", "workers"},
    "inputs": {"translation", "pysd_runtime", "results", "store", "data", "vocabulary"},
    "model": {"model", "targets"},
    "model description": {"modeldoc", "factors", "scenarios", "invariants"},
    "engines and exports": {
        "ensemble",
        "compiled",
        "fastengine",
        "mdlexport",
        "sketch",
        "diagram",
        "crosscheck",
    },
    "analyses": {
        "calibration",
        "posterior",
        "backtest",
        "validation",
        "sensitivity",
        "uncertainty",
        "effects",
        "seek",
        "discover",
        "robust",
        "compare",
        "loops",
    },
    "presentation": {"charts", "templating", "report", "dossier", "documents", "app"},
    "command line": {"cli", "commands"},
}

#: Imports against the layers that are known and still to be removed, with the reason.
KNOWN = {
    (
        "compare",
        "charts",
    ): "issue 16: compare still draws its charts (analyses should draw nothing)",
}


def _modules() -> set[str]:
    """The package's modules and subpackages (``app``, ``commands``)."""
    return {
        f.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for f in PACKAGE.rglob("*.py")
        if f.relative_to(PACKAGE).parts[0] not in ("__init__.py", "__main__.py")
    }


def _imports() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in PACKAGE.rglob("*.py"):
        top = f.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if top == "__init__" or top == "__main__":
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if node.module.startswith("hatinh_sd."):
                targets = {node.module.split(".")[1]}
            elif node.module == "hatinh_sd":  # from hatinh_sd import model
                targets = {a.name for a in node.names if a.name in _modules()}
            else:
                continue
            out.setdefault(top, set()).update(targets - {top})
    return out


def _layer(module: str) -> int:
    for i, members in enumerate(LAYERS.values()):
        if module in members:
            return i
    raise AssertionError(f"module '{module}' is in no layer of tests/test_layers.py")


def test_every_module_has_a_layer():
    modules = _modules()
    placed = set().union(*LAYERS.values())
    assert modules - placed == set(), "place the new module in LAYERS"
    assert placed - modules == set(), "a module in LAYERS no longer exists"


def test_no_module_imports_a_higher_layer():
    upward = sorted(
        (module, target)
        for module, targets in _imports().items()
        for target in targets
        if _layer(target) > _layer(module) and (module, target) not in KNOWN
    )
    assert upward == []


@pytest.mark.parametrize("pair", sorted(KNOWN))
def test_known_exceptions_still_exist(pair):
    """An exception that is gone is taken off the list (the list only shrinks)."""
    module, target = pair
    assert target in _imports().get(module, set())


#: Modules outside the presentation layer that may import matplotlib, with the reason.
MATPLOTLIB_OUTSIDE_PRESENTATION = {
    "diagram": "reads the DejaVu fonts matplotlib ships (it draws with graphviz)",
}


def test_only_the_presentation_draws():
    """No analysis, engine or command imports matplotlib: the charts are in hatinh_sd.charts
    (and the report and dossier), which the commands call."""
    drawing = set()
    for f in PACKAGE.rglob("*.py"):
        top = f.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if top in ("__init__", "__main__"):
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "matplotlib" for n in names):
                drawing.add(top)
    outside = drawing - LAYERS["presentation"]
    assert outside - set(MATPLOTLIB_OUTSIDE_PRESENTATION) == set()
    assert set(MATPLOTLIB_OUTSIDE_PRESENTATION) <= outside  # the list only shrinks
