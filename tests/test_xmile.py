"""``hatinh-sd export --format xmile``: the calibrated model as XMILE, read back by pysimlin.

Stella and other XMILE tools open the file; pysimlin reading it back must run the
project's baseline (PySD with the calibration) to 1e-9 relative on every variable
both return (values within 1e-9 of zero in both count equal).
"""

from __future__ import annotations

import numpy as np
import pytest
import simlin

from hatinh_sd.cli import main


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    assert main(["export", "--format", "vensim", "xmile", "--out", str(out)]) == 0
    return out / "export"


def test_export_writes_both_formats(exported):
    assert sorted(p.name for p in exported.iterdir()) == [
        "hatinh_calibrated.mdl",
        "hatinh_calibrated.xmile",
        "hatinh_calibration.cin",
    ]
    head = (exported / "hatinh_calibrated.xmile").read_text(encoding="utf-8")[:400]
    assert "<xmile" in head and "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0" in head


def test_xmile_runs_the_projects_baseline(exported, model):
    theirs = simlin.load(exported / "hatinh_calibrated.xmile").run(analyze_loops=False).results
    ours = model.run()
    times = ours["time"].to_numpy()
    names = {"_".join(r.lower().replace("_", " ").split()): r for r in model.doc["Real Name"]}
    compared, worst = 0, 0.0
    for column in theirs.columns:
        real = names.get(column)
        if real is None or model.py_name(real) not in ours:
            continue
        b = ours[model.py_name(real)]
        if "time" not in b.dims:
            continue
        a = theirs[column].reindex(times).to_numpy(dtype=float)
        b = b.to_numpy().astype(float)
        rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-9)
        rel = np.where((np.abs(a) <= 1e-9) & (np.abs(b) <= 1e-9), 0.0, rel)
        worst = max(worst, float(np.max(rel)))
        compared += 1
    assert compared >= 450  # the model saves about 490 time series
    assert worst <= 1e-9


def test_unknown_format_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["export", "--format", "stella", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    assert "invalid choice: 'stella'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
