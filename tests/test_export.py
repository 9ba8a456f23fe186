"""The calibrated model outside the project: plain PySD runs the exported .mdl as the project
does; a calibration fitted to other equations is refused by the CLI and warned about in Python."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hatinh_sd import model as model_module
from hatinh_sd.cli import main
from hatinh_sd.mdlexport import calibrated_mdl, changes_file
from hatinh_sd.translation import equations_hash


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    assert main(["export", "--out", str(out)]) == 0
    return out / "export"


@pytest.mark.slow
def test_plain_pysd_runs_the_exported_model_as_the_project_does(exported, model):
    import pysd

    plain = pysd.read_vensim(str(exported / "hatinh_calibrated.mdl")).run()
    ours = model.run()
    compared, worst = 0, 0.0
    for col in plain.columns:
        py = model.py_name(col)
        if py not in ours or "time" not in ours[py].dims:
            continue
        a = plain[col].to_numpy(dtype=float)
        b = ours[py].to_numpy().astype(float)
        both_nan = np.isnan(a) & np.isnan(b)
        rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-9)
        worst = max(worst, float(np.max(np.where(both_nan, 0.0, rel))))
        compared += 1
    print(f"{compared} series compared; largest relative difference {worst:.3g}")
    assert compared >= 450
    assert worst <= 1e-9


def test_export_writes_the_calibration_in(model):
    text = calibrated_mdl(model)
    for name, value in model.calibration.items():
        assert f"\n{name} = {float(value)!r}\n" in text
    assert "\ninitial GRDP = 17330.0\n" in text  # whole numbers as floats (SMOOTH states)
    assert equations_hash() != ""  # the original is untouched
    cin = changes_file(model).splitlines()
    assert len(cin) == len(model.calibration)


def test_equations_hash_ignores_comments_but_not_equations(tmp_path):
    src = model_module.current_project().model.read_text(encoding="utf-8")
    commented = tmp_path / "commented.mdl"
    commented.write_text(src.replace("base-year scale only", "base-year scale, nothing else"))
    assert equations_hash(commented) == equations_hash()
    changed = tmp_path / "changed.mdl"
    changed.write_text(src.replace("initial GRDP = 17330", "initial GRDP = 17331"))
    assert equations_hash(changed) != equations_hash()


def test_a_stale_calibration_is_refused_by_the_cli_and_warned_in_python(model, tmp_path, capsys):
    model.calibration_stale = "it was fitted to other equations (test)"
    try:
        rc = main(["run", "--out", str(tmp_path / "a")])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and len(err.splitlines()) == 1
        assert "calibration.yaml" in err and "--allow-stale-calibration" in err
        assert not (tmp_path / "a").exists()
        with pytest.warns(UserWarning, match="fitted to other equations"):
            model_module.load_model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            assert main(["--allow-stale-calibration", "run", "--out", str(tmp_path / "b")]) == 0
    finally:
        model.calibration_stale = ""
    assert model_module.STRICT_CALIBRATION is False


def test_export_to_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("a file, not a folder")
    assert main(["export", "--out", str(target)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert target.read_text() == "a file, not a folder"
