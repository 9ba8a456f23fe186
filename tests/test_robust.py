"""Robust lever mixes: NSGA-II finds a known front; on the model, every point of the front
re-runs from its scenario file to the same objectives; bad input and an infeasible budget."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hatinh_sd.cli import main
from hatinh_sd.commands.robust import problem
from hatinh_sd.robust import SHORTFALL, pareto
from hatinh_sd.scenarios import load_scenario, resolve_scenario

LEVERS = "public investment rate,private investment rate,investment climate,manufacturing investment share"
ARGV = ["robust", "--targets", "T05", "T12", "--levers", LEVERS, "--n", "20"]
ARGV += ["--population", "12", "--evaluations", "72"]


def _zdt1(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ZDT1: minimise f1 = x1 and f2 = g (1 - sqrt(f1 / g)), g = 1 + 9 mean(x2..); the front
    is x2.. = 0, f2 = 1 - sqrt(f1)."""
    f1 = x[:, 0]
    g = 1 + 9 * x[:, 1:].mean(axis=1)
    return np.column_stack([f1, g * (1 - np.sqrt(f1 / g))]), np.zeros((len(x), 0))


def test_nsga2_finds_the_known_front_of_zdt1():
    x, y, nfe = pareto(_zdt1, [0] * 3, [1] * 3, [False, False], population=40, evaluations=4000)
    assert nfe >= 4000 and len(y) >= 20
    error = np.abs(y[:, 1] - (1 - np.sqrt(y[:, 0])))
    # every point but at most one extreme (f1 = 0 is the minimum whatever f2) on the front
    assert np.sort(error)[-2] < 0.05 and np.median(error) < 0.01
    assert y[:, 0].min() < 0.05 and y[:, 0].max() > 0.95
    # the same seed gives the same front
    x2, y2, _ = pareto(_zdt1, [0] * 3, [1] * 3, [False, False], population=40, evaluations=4000)
    np.testing.assert_array_equal(y, y2)


def test_a_constraint_keeps_the_front_feasible():
    def f(x):
        return np.column_stack([x[:, 0], 1 - x[:, 0]]), (0.5 - x[:, :1])  # x >= 0.5

    x, y, _ = pareto(f, [0], [1], [False, False], constraints=1, population=8, evaluations=160)
    assert len(x) and (x[:, 0] >= 0.5).all()


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    out = tmp_path_factory.mktemp("robust")
    assert main([*ARGV, "--out", str(out)]) == 0
    return out / "robust" / "baseline_T05_T12"


@pytest.mark.slow
def test_front_points_rerun_from_their_scenario_files(front, model):
    table = pd.read_csv(front / "front.csv")
    assert len(table) >= 5
    assert (table["shortfall"] <= SHORTFALL).all()
    # not dominated: no point is at least as good in all three objectives and better in one
    obj = np.column_stack([-table["p_T05"], -table["p_T12"], table["cost"]])
    for i in range(len(obj)):
        others = np.delete(obj, i, axis=0)
        assert not np.any(np.all(others <= obj[i], axis=1) & np.any(others < obj[i], axis=1))
    args = argparse.Namespace(
        targets=["T05", "T12"], levers=[LEVERS], n=20, seed=1, evaluations=72, scenario="baseline"
    )
    mix, _ = problem(args, model)
    x = []
    for point in table["point"]:
        settings = resolve_scenario(load_scenario(str(front / f"{point}.yaml"), model=model), model)
        x.append([settings[model.py_name(n)] for n in mix.levers])
    again = mix.scores(np.array(x))
    # every run of the front is kept with its lever and drawn values
    with xr.open_dataset(front / "runs.nc") as runs:
        assert runs.sizes["sample"] == len(table) * 20
        first = runs.isel(sample=runs["point"].values == table["point"][0])
        np.testing.assert_array_equal(first[model.py_name(mix.levers[0])].values, x[0][0])
        np.testing.assert_array_equal(first["draw"].values, np.arange(20))
    np.testing.assert_array_equal(again["p_T05"], table["p_T05"])
    np.testing.assert_array_equal(again["p_T12"], table["p_T12"])
    np.testing.assert_allclose(again["cost"], table["cost"], rtol=1e-9)
    # a front point runs as a scenario like any other
    assert main(["run", "--scenario", str(front / f"{table['point'][0]}.yaml"), "--out",
                 str(front.parent / "run")]) == 0  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--targets", "T99"], "unknown target 'T99'"),
        (["--levers", "public investment"], "not a lever the search may move"),
        (["--n", "1"], "at least 2 draws"),
        (["--evaluations", "0"], "between 1 and"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, change, message):
    argv = list(ARGV)
    flag = change[0]
    i = argv.index(flag) if flag in argv else None
    if i is not None:
        argv[i : i + (3 if flag == "--targets" else 2)] = change
    else:
        argv += change
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_budget_no_mix_fits_exits_3_and_writes_nothing(tmp_path, capsys, overspend):
    scn = overspend
    argv = ["robust", "--targets", "T12", "--scenario", str(scn), "--levers", "labour export"]
    argv += ["--n", "4", "--population", "4", "--evaluations", "8", "--out", str(tmp_path / "o")]
    assert main(argv) == 3
    assert "fits the model's budget" in capsys.readouterr().out
    assert not (tmp_path / "o").exists()
