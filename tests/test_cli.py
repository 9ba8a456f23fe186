"""The run command: files, provenance, round trip, and bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hatinh_sd.cli import main
from hatinh_sd.model import repo_root
from hatinh_sd.results import read_results, write_netcdf

DATA = repo_root() / "model" / "data"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    assert main(["run", "--out", str(out)]) == 0
    return out / "baseline"


def test_run_writes_results(run_dir, model):
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "results.csv",
        "results.nc",
        "scorecard.csv",
    ]
    ds = read_results(run_dir / "results.nc")
    assert set(model.outputs) <= set(ds.data_vars)
    assert list(ds["time"].values) == list(range(2010, 2051))
    for name, da in ds.data_vars.items():
        assert da.attrs["units"], name
        assert da.attrs["long_name"], name
    for key in (
        "model_sha256",
        "git_commit",
        "hatinh_sd_version",
        "pysd_version",
        "parameter_overrides",
        "scenario",
    ):
        assert ds.attrs[key] != "", key
    assert ds.attrs["model_sha256"] == model.hash
    assert json.loads(ds.attrs["parameter_overrides"]) == {}
    csv = pd.read_csv(run_dir / "results.csv")
    assert set(csv["scenario"]) == {"baseline"}
    row = csv.query("variable == 'grdp' and time == 2030")
    assert float(row["value"].iloc[0]) == pytest.approx(float(ds["grdp"].sel(time=2030)), rel=1e-9)
    card = pd.read_csv(run_dir / "scorecard.csv")
    assert list(card["id"]) == [f"T{i:02d}" for i in range(1, 13)]


def test_scorecard_printed_in_both_languages(capsys, tmp_path):
    assert main(["--lang", "vi", "run", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Tỷ lệ đô thị hóa" in out and "không đạt" in out


def test_set_overrides_are_recorded(tmp_path, model):
    assert main(["run", "--out", str(tmp_path), "--set", "vocational training=20"]) == 0
    ds = read_results(tmp_path / "custom" / "results.nc")
    assert json.loads(ds.attrs["parameter_overrides"]) == {"vocational training": 20.0}
    assert float(ds["vocational_graduates"].sel(time=2040)) == pytest.approx(20)


def test_netcdf_round_trip(baseline, tmp_path):
    write_netcdf(baseline, tmp_path / "r.nc")
    xr.testing.assert_identical(read_results(tmp_path / "r.nc"), baseline)


def _broken_data(tmp_path, filename, edit):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    path = data / filename
    if edit is None:
        path.unlink()
    else:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        edit(lines)
        path.write_text("".join(lines), encoding="utf-8")
    return data


def _replace_line(n, old, new):
    def edit(lines):
        assert old in lines[n - 1], lines[n - 1]
        lines[n - 1] = lines[n - 1].replace(old, new, 1)

    return edit


@pytest.mark.parametrize(
    ("filename", "edit", "expected"),
    [
        (
            "observed.csv",
            _replace_line(4, "1242.09", "12x42"),
            ["observed.csv", "line 4", "value", "12x42"],
        ),
        (
            "observed.csv",
            _replace_line(6, "population_total", "populaton_total"),
            ["observed.csv", "line 6", "indicator", "population_total"],
        ),
        (
            "observed.csv",
            _replace_line(3, ",R,POP1,", ",R,POP1,extra,"),
            ["observed.csv", "line 3"],
        ),
        ("targets.csv", _replace_line(2, ",>,9,", ",>,nine,"), ["targets.csv", "line 2", "value"]),
        ("sources.csv", None, ["sources.csv"]),
    ],
    ids=["non-numeric", "unknown-indicator", "malformed", "target-value", "missing-file"],
)
def test_bad_data_exits_2_and_writes_nothing(
    tmp_path, monkeypatch, capsys, filename, edit, expected
):
    data = _broken_data(tmp_path, filename, edit)
    monkeypatch.setenv("HATINH_SD_DATA_DIR", str(data))
    out = tmp_path / "out"
    assert main(["run", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for fragment in expected:
        assert fragment in err, err
    assert not out.exists() or not any(out.iterdir())


def test_unknown_parameter_names_close_matches(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--out", str(out), "--set", "vocational trainin=12"]) == 2
    err = capsys.readouterr().err
    assert "'vocational training'" in err
    assert not out.exists()


def test_out_of_range_lever_names_the_range(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "o"), "--set", "labour export=99"]) == 2
    assert "[0, 25]" in capsys.readouterr().err


def test_failed_write_leaves_previous_results(tmp_path, baseline):
    from hatinh_sd.results import write_run

    folder = tmp_path / "baseline"
    write_run(baseline, folder)
    before = (folder / "results.nc").read_bytes()

    def boom(path):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_run(baseline, folder, extra={"x.csv": boom})
    assert (folder / "results.nc").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline"]
    assert np.isfinite(read_results(folder / "results.nc")["grdp"]).all()
