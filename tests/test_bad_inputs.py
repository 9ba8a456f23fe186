"""The bad-input catalogue (``tests/bad_inputs/*.yaml``): every case fails cleanly.

Each case writes its input files into a fresh folder, runs one ``hatinh-sd``
command line in-process (or uploads a file to the explorer) and checks that
it exits with the documented status (2 unless stated), prints exactly one
line that names the problem, writes nothing new, and leaves every existing
output and every input file (the case's and the project's own model,
scenario, sensitivity and data files) byte-identical.

A case is a mapping::

    id: scenario-unknown-lever          # unique
    argv: [run, --scenario, "{in}/plan.yaml", --out, "{out}"]
    files:                              # written in order, paths under {in}
      plan.yaml: "levers: {nope: 1}"    # text, or a mapping:
      # {copy: scenarios/baseline.yaml, replace: [[old, new]], append: text}
      # {copytree: model/data}  {folder: true}  {delete: true}  {hex: "e9ff"}
      # {repeat: "x", times: 100, before: "a: ", after: "\n"}  {alias_bomb: 9}  {fifo: true}
    env: {HATINH_SD_DATA_DIR: "{in}/data"}
    match: "unknown lever"              # regex (case-insensitive) the line must contain
    exit: 2                             # optional
    upload: plan.yaml                   # explorer cases: the file to upload (argv unused)
    upload_name: "plan.yaml"            # the name the browser sends (default: the file's)

Export cases with ``check: excel_safe`` succeed (exit 0); every CSV they
write must start with a UTF-8 byte-order mark and no text cell of a CSV or
Excel file may start with ``= + - @``, tab or carriage return (formula
injection).

Chunk-store cases (``store: true``) first run the command once (shared by the
cases with the same command line), then damage the sweep's store with
``damage`` (operations on files of the store: flip, copy, nan, truncate,
delete, folder, write, manifest) and run it again: the damaged chunks must
be recomputed with a one-line message and the results must be byte-identical
to the first run's.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = sorted((ROOT / "tests" / "bad_inputs").glob("*.yaml"))
#: The project's own inputs, which no failing command may touch.
PROJECT_INPUTS = ["model", "scenarios", "sensitivity", "project.yaml"]
CATEGORIES = {
    "scenario",
    "set",
    "cli",
    "data",
    "sensitivity",
    "calibration",
    "chunks",
    "upload",
    "exports",
    "project",
}


def _cases() -> list[dict]:
    cases = []
    for path in CATALOGUE:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            cases.append({"category": doc["category"], "file": path.name, **case})
    return cases


CASES = _cases()


def _fill(value: str, where: dict[str, str]) -> str:
    for key, repl in where.items():
        value = value.replace("{" + key + "}", repl)
    return value


def _write(base: Path, files: dict, where: dict[str, str]) -> None:
    for name, spec in (files or {}).items():
        path = base / _fill(name, where)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, str):
            path.write_text(_fill(spec, where), encoding="utf-8")
        elif "copytree" in spec:
            shutil.copytree(ROOT / spec["copytree"], path, dirs_exist_ok=True)
        elif spec.get("folder"):
            if path.is_file():
                path.unlink()
            path.mkdir(parents=True, exist_ok=True)
        elif spec.get("delete"):
            path.unlink()
        elif "hex" in spec:
            path.write_bytes(bytes.fromhex(spec["hex"]))
        elif "repeat" in spec:
            text = spec.get("before", "") + spec["repeat"] * spec["times"] + spec.get("after", "")
            path.write_text(text, encoding="utf-8")
        elif spec.get("fifo"):
            os.mkfifo(path)
        elif "alias_bomb" in spec:
            lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
            for i in range(1, spec["alias_bomb"]):
                lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        elif "copy" in spec:
            source = base / spec["copy"] if spec.get("from_inputs") else ROOT / spec["copy"]
            text = source.read_text(encoding="utf-8")
            for old, new in spec.get("replace", []):
                assert old in text, f"{name}: '{old}' not in {spec['copy']}"
                text = text.replace(old, _fill(new, where))
            text += _fill(spec.get("append", ""), where)
            path.write_text(text, encoding="utf-8")
        else:  # pragma: no cover - a catalogue error
            raise ValueError(f"unknown file spec {spec!r}")


def _snapshot(*folders: Path) -> dict[str, str]:
    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and "__pycache__" not in path.parts:
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                out[str(path)] = "folder"
    return out


def test_catalogue_covers_every_category():
    counts = {c: sum(1 for case in CASES if case["category"] == c) for c in CATEGORIES}
    assert counts == {c: n for c, n in counts.items() if n >= 10}, counts
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case, tmp_path, monkeypatch, capsys):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    (out / "earlier").mkdir(parents=True)
    (out / "earlier" / "results.csv").write_text("time,value\n2030,1\n", encoding="utf-8")
    where = {"in": str(inputs), "out": str(out), "repo": str(ROOT)}
    _write(inputs, case.get("files"), where)
    for key, value in (case.get("env") or {}).items():
        monkeypatch.setenv(key, _fill(str(value), where))
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path, *(ROOT / p for p in PROJECT_INPUTS))
    capsys.readouterr()
    if case.get("store"):
        _store_case(case, out, where, capsys)
        return
    if case["category"] == "upload":
        code, lines = _upload(case, inputs)
    else:
        code, lines = _cli([_fill(a, where) for a in case["argv"]], capsys)
    assert code == case.get("exit", 2), lines
    if case.get("check") == "excel_safe":  # a run that succeeds: its exports must be safe
        _assert_excel_safe(out)
        return
    assert len(lines) == 1, lines
    assert re.search(case["match"], lines[0], re.IGNORECASE), lines[0]
    assert len(lines[0]) <= 400, lines[0]
    assert _snapshot(tmp_path, *(ROOT / p for p in PROJECT_INPUTS)) == before


def _cli(argv: list[str], capsys) -> tuple[int, list[str]]:
    from hatinh_sd.cli import main

    try:
        code = main([*argv])
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 1
    err = capsys.readouterr().err
    return code, [ln for ln in err.splitlines() if ln.strip()]


_APP = {}


def _upload(case: dict, inputs: Path) -> tuple[int, list[str]]:
    """Upload through the explorer's HTTP endpoint (Flask test client)."""
    import base64
    import json

    from hatinh_sd.app import create_app

    if "app" not in _APP:
        _APP["app"] = create_app(lang="en")
    client = _APP["app"].server.test_client()
    raw = (inputs / case["upload"]).read_bytes() if case.get("upload") else b""
    contents = "data:application/x-yaml;base64," + base64.b64encode(raw).decode()
    if case.get("upload_contents") is not None:
        contents = case["upload_contents"]
    name = case.get("upload_name", case.get("upload", "plan.yaml"))
    payload = _upload_payload(_APP["app"], contents, name)
    resp = client.post(
        "/_dash-update-component",
        data=json.dumps(payload),
        content_type="application/json",
    )
    if resp.status_code == 413:
        return 2, ["HTTP 413: request larger than the upload limit"]
    assert resp.status_code == 200, resp.status_code
    message = _upload_message(resp.get_json())
    return (2 if message else 0), [message] if message else []


def _lever_ids(component) -> list[dict]:
    found = []
    cid = getattr(component, "id", None)
    if isinstance(cid, dict) and cid.get("type") == "lever":
        found.append(cid)
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            found.extend(_lever_ids(child))
    return found


def _upload_payload(app, contents: str, name: str) -> dict:
    key = next(k for k in app.callback_map if k.endswith("scenario-message.children.."))
    layout = app.layout() if callable(app.layout) else app.layout
    return {
        "output": key,
        "outputs": [
            [{"id": i, "property": "value"} for i in _lever_ids(layout)],
            {"id": "scenario-message", "property": "children"},
        ],
        "inputs": [
            {"id": "scenario-load", "property": "n_clicks", "value": None},
            {"id": "scenario-upload", "property": "contents", "value": contents},
            {"id": "reset", "property": "n_clicks", "value": None},
        ],
        "state": [
            {"id": "scenario-choice", "property": "value", "value": None},
            {"id": "scenario-upload", "property": "filename", "value": name},
            {"id": "lang", "property": "value", "value": "en"},
        ],
        "changedPropIds": ["scenario-upload.contents"],
    }


def _upload_message(body: dict) -> str:
    """The error shown after an upload ('' when the upload was accepted)."""
    span = body["response"]["scenario-message"]["children"]
    props = span.get("props", {})
    return str(props.get("children", "")) if "hsd-error" in props.get("className", "") else ""


_FIRST_RUNS: dict[tuple[str, ...], Path] = {}


def _results(out: Path) -> dict[str, str]:
    """Hashes of the result files (the store and the figures left out)."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".chunks" not in p.parts and p.suffix in (".csv", ".nc")
    }


def _damage(store: Path, op: dict) -> None:
    import json

    import numpy as np
    import xarray as xr

    ((kind, arg),) = op.items()
    if kind == "flip":
        data = bytearray((store / arg).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (store / arg).write_bytes(bytes(data))
    elif kind == "copy":
        shutil.copyfile(store / arg[0], store / arg[1])
    elif kind == "nan":
        with xr.open_dataset(store / arg, engine="netcdf4") as ds:
            ds = ds.load()
        var = next(v for v in ds.data_vars if ds[v].ndim == 2)
        values = ds[var].values.copy()
        values[0, -1] = np.nan
        ds[var].values = values
        ds.to_netcdf(store / arg, engine="netcdf4")
    elif kind == "truncate":
        data = (store / arg).read_bytes()
        (store / arg).write_bytes(data[: len(data) // 2])
    elif kind == "delete":
        (store / arg).unlink()
    elif kind == "folder":
        (store / arg).unlink()
        (store / arg).mkdir()
    elif kind == "write":
        (store / arg[0]).write_text(arg[1], encoding="utf-8")
    elif kind == "manifest":  # set a key of manifest.json (key or [key, key]), or delete it (null)
        doc = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
        *parents, last = arg[0] if isinstance(arg[0], list) else [arg[0]]
        node = doc
        for key in parents:
            node = node[key]
        if arg[1] is None:
            del node[last]
        else:
            node[last] = arg[1]
        (store / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")
    else:  # pragma: no cover - a catalogue error
        raise ValueError(f"unknown damage {op!r}")


def _store_case(case: dict, out: Path, where: dict[str, str], capsys) -> None:
    import json

    argv = tuple(_fill(a, {**where, "out": "{out}"}) for a in case["argv"])
    if argv not in _FIRST_RUNS:
        import tempfile

        first = Path(tempfile.mkdtemp(prefix="hsd-store-"))
        code, lines = _cli([a.replace("{out}", str(first)) for a in argv], capsys)
        assert code == 0, lines
        _FIRST_RUNS[argv] = first
    shutil.rmtree(out)
    shutil.copytree(_FIRST_RUNS[argv], out)
    before = _results(out)
    (store,) = list((out / ".chunks").iterdir())
    for op in case["damage"]:
        _damage(store, op)
    code, lines = _cli([a.replace("{out}", str(out)) for a in argv], capsys)
    lines = [ln for ln in lines if not ln.startswith(("ensemble", "  warn"))]
    assert code == case.get("exit", 0), lines
    assert len(lines) == 1, lines
    assert re.search(case["match"], lines[0], re.IGNORECASE), lines[0]
    if code == 0:
        assert _results(out) == before
        manifest = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["chunks"] and all(
            hashlib.sha256((store / name).read_bytes()).hexdigest() == digest
            for name, digest in manifest["chunks"].items()
        )


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _assert_excel_safe(out: Path) -> None:
    import csv

    import openpyxl

    files = [
        p for p in out.rglob("*") if p.suffix in (".csv", ".xlsx") and "earlier" not in p.parts
    ]
    assert files, "the command wrote no CSV or Excel file"
    for path in files:
        if path.suffix == ".csv":
            raw = path.read_bytes()
            assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no UTF-8 byte-order mark"
            for row in csv.reader(raw.decode("utf-8-sig").splitlines()):
                for cell in row:
                    assert not (cell.startswith(_FORMULA) and not _is_number(cell)), (
                        f"{path.name}: cell {cell!r} would be read as a formula"
                    )
        else:
            book = openpyxl.load_workbook(path)
            for sheet in book.worksheets:
                for row in sheet.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", f"{path.name}: formula {cell.value!r}"
                        if isinstance(cell.value, str):
                            assert not cell.value.startswith(_FORMULA), (
                                f"{path.name}: cell {cell.value!r} starts like a formula"
                            )
