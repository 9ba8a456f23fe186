"""Grouped Sobol indices: the analytical answer (Ishigami), groups from the lever
catalogue, configuration errors, a small run of the model configuration."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from SALib.test_functions import Ishigami

from hatinh_sd.charts.sensitivity import plot_group_bars, plot_group_shares
from hatinh_sd.cli import main
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.model import repo_root
from hatinh_sd.sensitivity import (
    CALIBRATED_GROUP,
    OUTSIDE_GROUP,
    POSTERIOR_FACTOR,
    analyse,
    config_problem,
    group_labels,
    group_shares,
    load_config,
    problem,
    run_analysis,
    sample,
    sample_size_problem,
)

CONFIG = repo_root() / "sensitivity" / "sobol_groups.yaml"


# ------------------------------------------------------------------ known answer
def test_grouped_ishigami_matches_analytic_group_indices():
    """Groups {x1, x3} and {x2}: S_{x2} = V2 / V and S_{x1,x3} = (V1 + V3 + V13) / V
    (V3 = 0); no interaction crosses the groups, so ST equals S1 for both."""
    a, b = 7.0, 0.1
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v3 = 0.0
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v3 + v13
    expected = np.array([(v1 + v3 + v13) / var, v2 / var])  # groups in order of first appearance

    prob = problem(["x1", "x2", "x3"], ["x1 and x3", "x2", "x1 and x3"])
    x = sample("sobol", prob, 4096, seed=11)
    assert x.shape == (4096 * (2 + 2), 3)  # N (groups + 2) runs, not N (factors + 2)
    y = Ishigami.evaluate(-np.pi + 2 * np.pi * x)  # the unit hypercube to [-pi, pi]^3
    res = analyse("sobol", prob, x, y, seed=11)
    assert res["S1"].shape == res["ST"].shape == (2,)
    assert np.allclose(res["S1"], expected, atol=0.02)
    assert np.allclose(res["ST"], expected, atol=0.02)
    assert np.all(res["S1_conf"] < 0.05) and np.all(res["ST_conf"] < 0.05)
    # the group's first-order index holds the x1-x3 interaction, the single factors' do not
    single = analyse("sobol", problem(["x1", "x2", "x3"]), *_ishigami_single(), seed=11)
    assert single["S1"][0] + single["S1"][2] < res["S1"][0] - 0.2


def test_grouped_indices_are_labelled_whatever_the_order_of_groups():
    """SALib orders groups as they first appear among the factors; the table names each
    index after its group even when the configuration lists the groups otherwise."""
    from types import SimpleNamespace

    from hatinh_sd.sensitivity import FactorGroup, OutputSpec, SensitivityConfig, indices_table

    a, b = 7.0, 0.1
    v1, v2 = 0.5 * (1 + b * np.pi**4 / 5) ** 2, a**2 / 8
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    cfg = SensitivityConfig(
        method="sobol",
        factors=[SimpleNamespace(name=n) for n in ("x1", "x2", "x3")],
        n=2048,
        seed=5,
        outputs=[OutputSpec(label="y", variable="y", year=2030)],
        groups=(
            FactorGroup("x2 alone", "task_groups", ("x2",), number=1),
            FactorGroup("x1 and x3", "outside_world", ("x1", "x3")),
        ),
    )
    assert cfg.units == ["x1 and x3", "x2 alone"]  # SALib's order
    x = sample("sobol", config_problem(cfg), cfg.n, cfg.seed)
    y = Ishigami.evaluate(-np.pi + 2 * np.pi * x)
    table, _, _ = indices_table(cfg, x, {"y": y}, np.array([2030]))
    assert list(table["group"]) == ["x2 alone", "x1 and x3"]  # the configuration's order
    got = table.set_index("group")
    assert got.loc["x2 alone", "ST"] == pytest.approx(v2 / var, abs=0.02)
    assert got.loc["x1 and x3", "ST"] == pytest.approx((v1 + v13) / var, abs=0.02)
    assert got.loc["x2 alone", "n_factors"] == 1 and got.loc["x1 and x3", "kind"] == "outside_world"


def _ishigami_single() -> tuple[np.ndarray, np.ndarray]:
    x = sample("sobol", problem(["x1", "x2", "x3"]), 4096, seed=11)
    return x, Ishigami.evaluate(-np.pi + 2 * np.pi * x)


def test_group_shares_add_up():
    rows = pd.DataFrame({"group": ["a", "b", "c"], "S1": [0.5, 0.3, -0.01], "ST": [0.6, 0.4, 0.0]})
    s1, rest, st = group_shares(rows)
    assert s1["c"] == 0 and rest == pytest.approx(0.2) and st.sum() == pytest.approx(1)
    s1, rest, _ = group_shares(rows.assign(S1=[0.8, 0.4, 0.0]))  # noise above 1: scaled
    assert s1.sum() == pytest.approx(1) and rest == 0
    s1, rest, st = group_shares(rows.assign(S1=0.0, ST=0.0))  # a constant output: no share
    assert s1.sum() == rest == st.sum() == 0


# ------------------------------------------------------------------ the model configuration
def test_groups_come_from_the_lever_catalogue(model):
    from hatinh_sd.scenarios import load_catalogue

    cat = load_catalogue(model=model)
    cfg = load_config(CONFIG, model)
    names = [f.name for f in cfg.factors]
    members = [m for g in cfg.groups for m in g.members]
    assert sorted(members) == sorted(names)  # every factor in exactly one group
    levers = {
        f.name: cat.parameters[f.variable].group
        for f in cfg.factors
        if f.variable in cat.parameters
    }
    for g in cfg.groups:
        if g.kind == "task_groups":
            assert set(g.members) == {n for n, tg in levers.items() if tg == g.number}
            assert g.title_en == cat.task_groups[g.number].title.en
            assert g.title_vi == cat.task_groups[g.number].title.vi
    task = [g.number for g in cfg.groups if g.kind == "task_groups"]
    with_lever = sorted({p.group for p in cat.parameters.values()})
    assert task == with_lever and 10 not in task
    assert [(n, r) for n, _, _, r in cfg.groups_left_out] == [(10, "no_lever_in_model")]
    by_name = {g.name: g for g in cfg.groups}
    assert by_name[CALIBRATED_GROUP].members == (POSTERIOR_FACTOR,)
    outside = set(by_name[OUTSIDE_GROUP].members)
    assert outside == {f.name for f in cfg.factors if f.group == "uncertainty"}
    assert not outside & set(levers)
    assert len(cfg.group_of()) == len(cfg.factors)
    # labels: the catalogue's titles in either language
    vi, en = group_labels(cfg.groups, "vi"), group_labels(cfg.groups, "en")
    assert cat.task_groups[3].title.vi in vi["task group 3"]
    assert cat.task_groups[3].title.en in en["task group 3"]
    assert vi[OUTSIDE_GROUP] != en[OUTSIDE_GROUP]


def test_model_design_resamples_each_group_alone(model):
    """An output of one task group's lever alone: that group has ST = S1 = 1, every other 0
    (task group 1 is not the first group among the factors, whose order SALib follows)."""
    from hatinh_sd.sensitivity import indices_table

    cfg = load_config(CONFIG, model)
    cfg = dataclasses.replace(cfg, n=64, outputs=[o for o in cfg.outputs if o.label == "T01_2030"])
    assert cfg.units[0] != "task group 1"
    x = sample("sobol", config_problem(cfg), cfg.n, cfg.seed)
    assert x.shape == (64 * (len(cfg.groups) + 2), len(cfg.factors))
    j = [f.name for f in cfg.factors].index("investment climate")
    table, _, _ = indices_table(cfg, x, {"T01_2030": x[:, j] ** 2}, np.array([2030]))
    st = table.set_index("group")["ST"]
    assert st["task group 1"] == pytest.approx(1, abs=0.05)
    assert st.drop("task group 1").abs().max() == 0
    assert list(st.index) == [g.name for g in cfg.groups]


def test_groups_follow_a_changed_catalogue(model):
    """Moving a lever to task group 10 in a copy of the catalogue moves it in the analysis."""
    from hatinh_sd.scenarios import load_catalogue

    cat = copy.copy(load_catalogue(model=model))
    lever = "logistics"
    assert cat.parameters[lever].group == 4
    cat.parameters = {
        **cat.parameters,
        lever: dataclasses.replace(cat.parameters[lever], group=10),
    }
    cfg = load_config(CONFIG, model, catalogue=cat)
    by_number = {g.number: g for g in cfg.groups if g.number is not None}
    assert by_number[10].members == (lever,)
    assert by_number[10].title_en == cat.task_groups[10].title.en
    assert lever not in by_number[4].members and by_number[4].members
    assert cfg.groups_left_out == ()


def test_lever_configuration_ranks_each_lever_with_the_uncertainties_drawn(model, tmp_path):
    from hatinh_sd.scenarios import load_catalogue

    cat = load_catalogue(model=model)
    cfg = load_config(CONFIG.parent / "sobol_levers.yaml", model)
    levers = [f for f in cfg.factors if f.variable in cat.parameters]
    by_kind = {}
    for g in cfg.groups:
        by_kind.setdefault(g.kind, []).append(g)
    # one group per lever (or timing parameter), numbered by its task group ...
    assert [g.members for g in by_kind["levers"]] == [(f.name,) for f in levers]
    for g, f in zip(by_kind["levers"], levers):
        assert g.number == cat.parameters[f.variable].group
    # ... against the posterior draw and the outside world, drawn (not fixed)
    assert [g.name for g in by_kind["calibrated_parameters"]] == [CALIBRATED_GROUP]
    assert len(by_kind["outside_world"]) == 1 and len(cfg.groups) == len(levers) + 2
    label = group_labels(cfg.groups, "vi")[levers[0].name]
    assert "nhóm nhiệm vụ" in label
    both = _config(tmp_path, "method: sobol\nn: 64\nposterior: true\nfactors: all\n"
                   "groups: [task_groups, levers, outside_world]\noutputs: [{target: T01}]\n")  # fmt: skip
    with pytest.raises(HatinhInputError, match="both group the levers"):
        load_config(both, model)


def test_shipped_grouped_configuration(model):
    cfg = load_config(CONFIG, model)
    assert cfg.method == "sobol" and cfg.every_year_step == 5
    labels = {o.label for o in cfg.outputs}
    for t in range(1, 13):
        assert {f"T{t:02d}_2030", f"T{t:02d}_2050", f"T{t:02d}_every_year"} <= labels
    # runs are counted by groups: n (groups + 2)
    assert sample_size_problem("sobol", cfg.n, len(cfg.factors), groups=len(cfg.groups)) is None
    assert sample_size_problem("sobol", 2**15, len(cfg.factors), groups=11) is None
    assert "runs" in sample_size_problem("sobol", 2**15, len(cfg.factors))


# ------------------------------------------------------------------ bad input
def _config(tmp_path, body: str):
    path = tmp_path / "g.yaml"
    path.write_text(body, encoding="utf-8")
    return path


GROUPS = "groups: [task_groups, calibrated_parameters, outside_world]\n"
OUT = "outputs: [{target: T01}]\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (  # the posterior-draw group is empty without the posterior draw
            "method: sobol\nn: 4\nfactors: all\n" + GROUPS + OUT,
            "group kind 'calibrated_parameters' has no member",
        ),
        (
            "method: sobol\nn: 4\nfactors: lever\n"
            + GROUPS.replace("calibrated_parameters, ", "")
            + OUT,
            "group kind 'outside_world' has no member",
        ),
        (
            "method: sobol\nn: 4\nfactors: uncertainty\ngroups: [task_groups, outside_world]\n"
            + OUT,
            "group kind 'task_groups' has no member",
        ),
        (
            "method: sobol\nn: 4\nposterior: true\ngroups: [task_groups, calibrated_parameter]\n"
            + OUT,
            "unknown group kind 'calibrated_parameter'; did you mean 'calibrated_parameters'?",
        ),
        (
            "method: sobol\nn: 4\ngroups: [task_groups, task_groups, outside_world]\n" + OUT,
            "group kind(s) task_groups listed twice",
        ),
        (
            "method: sobol\nn: 4\nposterior: true\ngroups: [task_groups, calibrated_parameters]\n"
            + OUT,
            "belong to no group",
        ),
        (
            "method: sobol\nn: 4\nfactors: [logistics, mechanisation rate]\ngroups: task_groups\n"
            + OUT,
            "at least two groups are needed, not 1 (task group 4)",
        ),
        ("method: morris\nn: 4\nfactors: all\n" + GROUPS + OUT, "analysed by Sobol only"),
        (
            "method: sobol\nn: 1048576\nfactors: all\nposterior: true\n" + GROUPS + OUT,
            "means 13,631,488 runs",
        ),
        (
            "method: sobol\nn: 4\ngroups: {task_groups: true}\n" + OUT,
            "line 3, key 'groups': groups is a list of group kinds (task_groups,",
        ),
    ],
)
def test_bad_groups_are_one_clear_error(model, tmp_path, body, message):
    with pytest.raises(HatinhInputError) as err:
        load_config(_config(tmp_path, body), model)
    msg = str(err.value)
    assert message in msg and "g.yaml" in msg
    assert "key 'groups'" in msg or "key 'n'" in msg
    assert len(msg.splitlines()) == 1


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ("[task_groups, calibrated_parameters, outside_world]", "has no member"),
        ("[task_groups, outside_world, nature]", "unknown group kind 'nature'"),
    ],
)
def test_cli_bad_groups_exit_2_and_write_nothing(tmp_path, capsys, groups, message):
    cfg = _config(tmp_path, f"method: sobol\nn: 4\nfactors: all\ngroups: {groups}\n" + OUT)
    out = tmp_path / "out"
    assert main(["sensitivity", "sobol", "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert message in err and "key 'groups'" in err
    assert not out.exists()


# ------------------------------------------------------------------ a small run
def test_small_grouped_run(model, tmp_path):
    cfg = load_config(CONFIG, model)
    cfg = dataclasses.replace(
        cfg,
        n=2,
        chunk_size=32,
        outputs=[o for o in cfg.outputs if o.base in ("T03", "T07") and not o.every_year]
        + [o for o in cfg.outputs if o.label == "T03_every_year"],
    )
    res = run_analysis(cfg, model=model, backend="inline", progress=False, checks_per_chunk=1)
    g = len(cfg.groups)
    assert res.x.shape == (2 * (g + 2), len(cfg.factors))
    table = res.table
    assert {"group", "kind", "n_factors", "S1", "S1_conf", "ST", "ST_conf"} <= set(table.columns)
    assert "factor" not in table.columns  # the report reads per-factor tables only
    scalar = table[~table["output"].str.endswith("_every_year")]
    assert set(scalar["output"]) == {"T03_2030", "T03_2050", "T07_2030", "T07_2050"}
    assert (
        scalar.groupby("output")["group"].apply(list) == [[gr.name for gr in cfg.groups]] * 4
    ).all()
    assert np.isfinite(scalar[["S1", "ST"]].to_numpy()).all()
    years = sorted(table.loc[table["output"] == "T03_every_year", "year"].unique())
    assert years == list(range(2015, 2051, 5))
    assert set(res.convergence.columns) >= {"output", "group", "ST_N", "ST_N2"}
    # the task groups' levers start in 2026: no share of 2015's variance
    early = table[(table["output"] == "T03_every_year") & (table["year"] == 2015)]
    assert early.loc[early["kind"] == "task_groups", "ST"].abs().max() == pytest.approx(
        0, abs=1e-12
    )
    labels = group_labels(cfg.groups, "vi")
    plot_group_bars(table, cfg.groups, "T03_2030", tmp_path / "b.png", labels=labels)
    bars = [("T03_every_year", y, str(y)) for y in years]
    plot_group_shares(table, cfg.groups, bars, tmp_path / "s.png", labels=labels, title="T03")
    assert (tmp_path / "b.png").stat().st_size > 1000 and (tmp_path / "s.png").stat().st_size > 1000
