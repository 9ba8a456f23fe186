"""Loop dominance (Loops That Matter, pysimlin): a known shift, the README's named loops,
and ``hatinh-sd loops`` on the calibrated model."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hatinh_sd.cli import main
from hatinh_sd.loops import LoopScores, _name, dominance, loop_scores, named_loops
from hatinh_sd.model import repo_root
from vietnamese import english_left

LOGISTIC = Path(__file__).parent / "data" / "logistic.mdl"


def test_dominance_shifts_from_growth_to_crowding_at_half_the_capacity():
    """Logistic growth: births (R) dominate until the population reaches half the carrying
    capacity (the inflection point), crowding deaths (B) after it."""
    scores, model = loop_scores(LOGISTIC)
    assert sorted(scores.loops["polarity"]) == ["B", "R"] and scores.complete
    _, dominant = dominance(scores, ["population"])
    population = model.run(analyze_loops=False).results["population"]
    half = float(population.index[np.argmax(population.to_numpy() >= 500)])  # 70
    by_loop = dominant.groupby("polarity")["time"].agg(["min", "max"])
    assert by_loop.loc["R", "max"] == half - 1 and by_loop.loc["B", "min"] == half
    assert by_loop.loc["B", "max"] == 100 and by_loop.loc["R", "min"] <= 2
    # scores are relative: births' and crowding's shares add up to one in absolute value
    total = scores.scores.abs().sum(axis=1)
    assert np.allclose(total[total > 0], 1.0)


def test_named_loops_of_the_readme_and_matching():
    named = named_loops(repo_root() / "model" / "README.md")
    assert len(named) == 35 and named["R1"][0] == "FDI agglomeration"
    assert {"fdi_realised_capital", "agglomeration_index"} <= named["R1"][1]
    digital = "digital_adoption -> digital_adoption_flow"
    other = "a -> b -> c"
    scores = LoopScores(
        loops=pd.DataFrame(
            {
                "loop": ["r1", "r2"],
                "polarity": ["R", "R"],
                "named": ["", ""],
                "match": [0.0, 0.0],
                "length": [2, 3],
                "stocks": ["digital_adoption", ""],
                "variables": [digital, other],
            }
        ),
        scores=pd.DataFrame({"r1": [0.5], "r2": [0.5]}, index=[2010.0]),
        retained=2,
        found=2,
        complete=True,
    )
    _name(scores, named)
    assert list(scores.loops["named"]) == ["R12", ""]
    assert scores.loops["match"].iloc[0] == 1.0


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    out = tmp_path_factory.mktemp("loops")
    printed = {}
    for lang in ("en", "vi"):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["--lang", lang, "loops", "--top", "3", "--out", str(out / lang)])
        assert code == 0
        printed[lang] = buf.getvalue()
    return out, printed


def test_loops_command_checks_the_engine_and_writes_scores(ran):
    out, printed = ran
    worst = float(re.search(r"largest relative difference (\S+)", printed["en"]).group(1))
    assert worst <= 1e-9
    folder = out / "en" / "loops"
    assert sorted(p.name for p in folder.iterdir()) == [
        "about.json",
        "dominant.csv",
        "loops.csv",
        "loops.png",
        "scores.csv",
        "top.csv",
    ]
    loops = pd.read_csv(folder / "loops.csv", keep_default_na=False)
    assert len(loops) >= 100 and set(loops["polarity"]) == {"R", "B"}
    assert (loops["named"] != "").sum() >= 1
    scores = pd.read_csv(folder / "scores.csv")
    assert set(scores["time"]) == set(range(2010, 2051))
    assert set(scores["loop"]) == set(loops["loop"])
    top = pd.read_csv(folder / "top.csv", keep_default_na=False)
    assert {"GRDP", "T07", "FDI"} <= set(top["focus"]) and top.groupby("focus").size().max() <= 3
    dominant = pd.read_csv(folder / "dominant.csv", keep_default_na=False)
    assert (dominant["score"].abs() >= 0.01).all()
    for focus in ("GRDP", "T07", "FDI"):
        assert printed["en"].count(f"{focus}") >= 1


def test_vietnamese_loops_output_has_no_english(ran):
    _, printed = ran
    assert "chênh lệch tương đối lớn nhất" in printed["vi"]
    text = re.sub(r"\b[rb]\d+\b|[\w/.-]*/[\w/.-]+|\b[a-z]+(?:_[a-z0-9]+)+\b", " ", printed["vi"])
    assert english_left(text) == []


def test_bad_top_is_one_line_and_writes_nothing(tmp_path, capsys):
    assert main(["loops", "--top", "0", "--out", str(tmp_path / "o")]) == 2
    assert "must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
