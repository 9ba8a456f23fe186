"""Scenario discovery: PRIM recovers a known box; the command's files, sentences and bad input."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hatinh_sd.cli import main
from hatinh_sd.discover import describe_box, find_boxes, screen
from vietnamese import english_left


@pytest.fixture(scope="module")
def toy():
    """x1, x2 uniform on [0, 1] (2000 runs); the target is met where x1 > 0.7 and x2 < 0.3."""
    rng = np.random.default_rng(20260301)
    x = pd.DataFrame(rng.random((2000, 2)), columns=["x1", "x2"])
    met = ((x["x1"] > 0.7) & (x["x2"] < 0.3)).to_numpy()
    return x, met


def test_prim_recovers_a_known_box(toy):
    x, met = toy
    boxes, trajectories = find_boxes(x, met, threshold=0.8)
    assert len(boxes) >= 1
    box = boxes[0]
    lim = box.limits.set_index("dimension")
    assert set(lim.index) == {"x1", "x2"}
    assert lim.at["x1", "restricted_low"] and not lim.at["x1", "restricted_high"]
    assert lim.at["x2", "restricted_high"] and not lim.at["x2", "restricted_low"]
    assert lim.at["x1", "low"] == pytest.approx(0.7, abs=0.05)
    assert lim.at["x2", "high"] == pytest.approx(0.3, abs=0.05)
    assert box.density >= 0.8 and box.coverage >= 0.9
    assert box.mass == pytest.approx(0.09, abs=0.02)
    # the chosen box is marked on its peeling trajectory, which trades coverage for density
    first = trajectories[trajectories["box"] == 1]
    assert first["chosen"].sum() == 1
    assert int(first.loc[first["chosen"], "id"].iloc[0]) == box.trajectory_id
    assert first["coverage"].iloc[0] == 1 and first["density"].iloc[0] == pytest.approx(met.mean())


def test_screen_keeps_the_inputs_that_matter(toy):
    x, met = toy
    noise = np.random.default_rng(1).random(len(x))
    result = screen(x.assign(x3=noise), met).set_index("factor")
    assert list(result.index[result["kept"]]) == ["x1", "x2"]
    assert result.at["x3", "ks_pvalue"] > 0.01
    assert not screen(x, np.zeros(len(x), dtype=bool))["kept"].any()


def test_box_sentence_in_both_languages(toy):
    x, met = toy
    box = find_boxes(x, met, threshold=0.8)[0][0]
    en = describe_box(box, "T99", "en", labels={"x1": "first", "x2": "second"})
    assert en.startswith("Box 1: T99 is met in ")
    assert "first is above 0.7" in en and "second is below 0.3" in en and " and " in en
    vi = describe_box(box, "T99", "vi", labels={"x1": "thứ nhất", "x2": "thứ hai"})
    assert vi.startswith("Vùng 1: T99 đạt trong ")
    assert "thứ nhất trên 0,7" in vi and "thứ hai dưới 0,3" in vi and "độ bao phủ" in vi


def test_densest_box_when_none_is_dense_enough(toy):
    x, _ = toy
    met = (x["x1"] > 0.99).to_numpy()  # 1 % of the runs; PRIM's smallest box holds 5 %
    boxes, trajectories = find_boxes(x, met, threshold=0.8)
    assert len(boxes) == 1 and not boxes[0].dense_enough
    assert boxes[0].density < 0.8 and boxes[0].coverage == 1
    lim = boxes[0].limits.set_index("dimension")
    assert lim.at["x1", "restricted_low"] and lim.at["x1", "low"] > 0.9
    assert trajectories["chosen"].sum() == 1
    assert describe_box(boxes[0], "T99").startswith("  T99 is met in ")


def test_nothing_to_find_when_every_run_or_none_meets_the_target(toy):
    x, _ = toy
    for met in (np.zeros(len(x), dtype=bool), np.ones(len(x), dtype=bool)):
        boxes, trajectories = find_boxes(x, met)
        assert boxes == [] and trajectories.empty


@pytest.fixture(scope="module")
def discovered(tmp_path_factory):
    """``discover --target T12`` at 800 runs in each language (T12 is met in about 34 %; with
    300 runs the densest range PRIM finds holds 71 % of runs meeting it, below the 80 % a box
    needs)."""
    out = tmp_path_factory.mktemp("discover")
    printed = {}
    for lang in ("en", "vi"):
        argv = ["--lang", lang, "discover", "--target", "T12", "--n", "800", "--seed", "11"]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main([*argv, "--out", str(out / lang), "--workers", "0", "--no-progress"])
        assert code == 0
        printed[lang] = buf.getvalue()
    return out, printed


def test_command_writes_runs_boxes_chart_and_scores(discovered):
    out, _ = discovered
    folder = out / "en" / "discover" / "baseline_T12"
    assert sorted(p.name for p in folder.iterdir()) == [
        "boxes.csv",
        "feature_scores.csv",
        "peeling.csv",
        "peeling.png",
        "runs.csv",
        "runs.nc",
        "summary.txt",
    ]
    with xr.open_dataset(folder / "runs.nc") as ds:
        assert ds.sizes["sample"] == 800
        assert ds.attrs["target"] == "T12" and ds.attrs["scenario"] == "baseline"
        met = ds["met"].values.astype(bool)
        value = ds["grdp_ratio_to_20th_province"].values
        assert np.array_equal(met, value >= 1)
        assert ds["vocational_training"].attrs["group"] == "lever"
    runs = pd.read_csv(folder / "runs.csv")
    assert len(runs) == 800 and "vocational training" in runs and runs["met"].sum() == met.sum()
    boxes = pd.read_csv(folder / "boxes.csv")
    assert len(boxes) >= 1
    assert {"coverage", "density", "mass", "dimension", "low", "high"} <= set(boxes.columns)
    assert boxes["dense_enough"].all() and (boxes["density"] >= 0.8).all()
    assert boxes["coverage"].between(0, 1).all()
    assert set(boxes["group"]) <= {"lever", "uncertainty"}
    scores = pd.read_csv(folder / "feature_scores.csv")
    assert len(scores) == len(runs.columns) - 3  # every input (not sample, outcome, met)
    assert scores["score"].sum() == pytest.approx(1)
    assert set(boxes["dimension"]) <= set(scores.loc[scores["given_to_prim"], "factor"])
    assert (folder / "peeling.png").stat().st_size > 1000


def test_command_prints_a_sentence_per_box_in_both_languages(discovered):
    out, printed = discovered
    assert "Box 1: T12 is met in " in printed["en"]
    assert "(coverage " in printed["en"]
    assert "Vùng 1: T12 đạt trong " in printed["vi"] and "độ bao phủ" in printed["vi"]
    assert english_left(printed["vi"]) == []
    # the same draws in both languages: the same boxes
    en = pd.read_csv(out / "en" / "discover" / "baseline_T12" / "boxes.csv")
    vi = pd.read_csv(out / "vi" / "discover" / "baseline_T12" / "boxes.csv")
    pd.testing.assert_frame_equal(en, vi)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "T1"], "unknown target 'T1' (did you mean T01"),
        (["--target", "T13"], "unknown target 'T13'"),
        (["--target", "T01", "--n", "49"], "at least 50 and at most 100,000 runs"),
        (["--target", "T01", "--n", "100001"], "at least 50 and at most 100,000 runs"),
        (["--target", "T01", "--scenario", "basline"], "no scenario named 'basline'"),
        (["--target", "T01", "--threshold", "1.5"], "a density between 0 and 1"),
        (["--target", "T01", "--seed", "-1"], "a seed is a whole number from 0"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["discover", *argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert "\n" not in err and message in err, err
    assert not out.exists()
